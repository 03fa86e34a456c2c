/*
 * tls_load: reads the certificate chain, private key, CA file, CRL file and
 * small secret files that a listener's TLS settings name, into an SSL_CTX
 * or into memory, blaming the config line of the key at fault for every
 * problem. It must not prompt (key_password or nothing), build or switch
 * contexts, or touch generations: tls_ctx.c owns those.
 */
#include "build_config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include "crl_fetch.h"
#include "tls_ctx.h"
#include "tls_load.h"

#define SECRET_FILE_MAX (16L * 1024 * 1024)

void
tls_load_fail(const struct tls_load *b, enum listener_key k, const char *key,
    const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	diag_add(b->d, b->c->path, b->lines[k], "%s: %s",
	    b->key_as != NULL ? b->key_as : key, msg);
}

/* Open-check a file so that "missing" and "unreadable" read as such rather
 * than as an OpenSSL parse error. */
static int
check_readable(const struct tls_load *b, enum listener_key k, const char *key,
    const char *path)
{
	FILE *fp = fopen(path, "r");

	if (fp == NULL) {
		tls_load_fail(b, k, key, "cannot open '%s': %s", path,
		    strerror(errno));
		return -1;
	}
	fclose(fp);
	return 0;
}

enum tls_read_err
tls_read_file(const char *path, size_t max, unsigned char **out,
    size_t *len)
{
	FILE *fp = fopen(path, "rb");
	unsigned char *buf = NULL;
	size_t cap = 0, n = 0;
	enum tls_read_err rc;
	int saved;

	if (fp == NULL)
		return TLS_READ_OPEN;
	for (;;) {
		size_t r;

		if (n == cap) {
			unsigned char *nb;

			if (cap >= max) {
				rc = TLS_READ_TOO_BIG;
				goto err;
			}
			cap = cap == 0 ? 4096 : cap * 2;
			if ((nb = OPENSSL_malloc(cap + 1)) == NULL) {
				rc = TLS_READ_NOMEM;
				goto err;
			}
			/* Not realloc: the old block may hold a secret, and
			 * is wiped before it goes. */
			if (buf != NULL)
				memcpy(nb, buf, n);
			OPENSSL_clear_free(buf, n);
			buf = nb;
		}
		r = fread(buf + n, 1, cap - n, fp);
		n += r;
		if (r == 0)
			break;
	}
	if (ferror(fp)) {
		rc = TLS_READ_IO;
		goto err;
	}
	fclose(fp);
	if (buf == NULL && (buf = OPENSSL_malloc(1)) == NULL)
		return TLS_READ_NOMEM;
	buf[n] = '\0';
	*out = buf;
	*len = n;
	return TLS_READ_OK;
err:
	saved = errno;
	OPENSSL_clear_free(buf, n);
	fclose(fp);
	errno = saved;
	return rc;
}

int
tls_load_file(const struct tls_load *b, enum listener_key k, const char *key,
    const char *path, char **out, size_t *len)
{
	unsigned char *buf = NULL;

	switch (tls_read_file(path, (size_t)SECRET_FILE_MAX, &buf, len)) {
	case TLS_READ_OK:
		*out = (char *)buf;
		return 0;
	case TLS_READ_OPEN:
		tls_load_fail(b, k, key, "cannot open '%s': %s", path,
		    strerror(errno));
		break;
	case TLS_READ_TOO_BIG:
		tls_load_fail(b, k, key, "'%s' is larger than %ld bytes", path,
		    (long)SECRET_FILE_MAX);
		break;
	case TLS_READ_NOMEM:
		tls_load_fail(b, k, key, "out of memory reading '%s'", path);
		break;
	case TLS_READ_IO:
		tls_load_fail(b, k, key, "cannot read '%s': %s", path,
		    strerror(errno));
		break;
	}
	return -1;
}

struct pw_state {
	const char *password;
	int asked;
};

/* OpenSSL's default would prompt on the terminal: never do that. */
static int
pw_cb(char *buf, int size, int rwflag, void *u)
{
	struct pw_state *st = u;
	size_t len;

	(void)rwflag;
	st->asked = 1;
	if (st->password == NULL || st->password[0] == '\0')
		return -1;
	len = strlen(st->password);
	if (len > (size_t)size)
		return -1;
	memcpy(buf, st->password, len);
	return (int)len;
}

static int
load_key(SSL_CTX *ctx, const struct tls_load *b, const struct tls_conf *t,
    bool keyfile_set)
{
	enum listener_key k = keyfile_set ? LKEY_KEYFILE : LKEY_CERTFILE;
	const char *kname = keyfile_set ? "keyfile" : "certfile";
	struct pw_state st = { t->key_password, 0 };
	char err[512];
	EVP_PKEY *pk;
	BIO *bio;

	if (check_readable(b, k, kname, t->keyfile) < 0)
		return -1;
	ERR_clear_error();
	bio = BIO_new_file(t->keyfile, "r");
	if (bio == NULL) {
		tls_load_fail(b, k, kname, "cannot open '%s': %s", t->keyfile,
		    tls_errors_str(err, sizeof(err)));
		return -1;
	}
	pk = PEM_read_bio_PrivateKey(bio, NULL, pw_cb, &st);
	BIO_free(bio);
	if (pk == NULL) {
		tls_errors_str(err, sizeof(err));
		if (st.asked && (t->key_password == NULL ||
				    t->key_password[0] == '\0'))
			tls_load_fail(b, k, kname,
			    "'%s' is encrypted and no key_password is set",
			    t->keyfile);
		else if (st.asked)
			tls_load_fail(b, LKEY_KEY_PASSWORD, "key_password",
			    "cannot decrypt '%s' (wrong password?)",
			    t->keyfile);
		else
			tls_load_fail(b, k, kname,
			    "no usable private key in '%s': %s", t->keyfile,
			    err[0] ? err : "no PEM private key found");
		return -1;
	}
	ERR_clear_error();
	if (SSL_CTX_use_PrivateKey(ctx, pk) != 1) {
		tls_load_fail(b, k, kname, "cannot use the key in '%s': %s",
		    t->keyfile, tls_errors_str(err, sizeof(err)));
		EVP_PKEY_free(pk);
		return -1;
	}
	EVP_PKEY_free(pk);
	ERR_clear_error();
	if (SSL_CTX_check_private_key(ctx) != 1) {
		ERR_clear_error();
		tls_load_fail(b, k, kname,
		    "the key in '%s' does not match the certificate in '%s'",
		    t->keyfile, t->certfile);
		return -1;
	}
	return 0;
}

int
tls_load_cert(SSL_CTX *ctx, const struct tls_load *b, const struct tls_conf *t,
    bool keyfile_set)
{
	char err[512];

	if (check_readable(b, LKEY_CERTFILE, "certfile", t->certfile) < 0) {
		/* Still report a missing key file along with the cert. */
		if (keyfile_set && strcmp(t->keyfile, t->certfile) != 0)
			check_readable(b, LKEY_KEYFILE, "keyfile", t->keyfile);
		return -1;
	}
	ERR_clear_error();
	if (SSL_CTX_use_certificate_chain_file(ctx, t->certfile) != 1) {
		tls_load_fail(b, LKEY_CERTFILE, "certfile",
		    "cannot load certificate chain from '%s': %s", t->certfile,
		    tls_errors_str(err, sizeof(err)));
		return -1;
	}
	return load_key(ctx, b, t, keyfile_set);
}

int
tls_load_ca(SSL_CTX *ctx, const struct tls_load *b, const char *path)
{
	STACK_OF(X509_NAME) *names;
	char err[512];

	if (check_readable(b, LKEY_CACERTFILE, "cacertfile", path) < 0)
		return -1;
	ERR_clear_error();
	if (SSL_CTX_load_verify_file(ctx, path) != 1) {
		tls_load_fail(b, LKEY_CACERTFILE, "cacertfile",
		    "cannot load CA certificates from '%s': %s", path,
		    tls_errors_str(err, sizeof(err)));
		return -1;
	}
	/* The names sent in the certificate request, so that clients with
	 * several certificates pick one this listener trusts. */
	names = SSL_load_client_CA_file(path);
	if (names == NULL) {
		tls_load_fail(b, LKEY_CACERTFILE, "cacertfile",
		    "no CA certificate found in '%s': %s", path,
		    tls_errors_str(err, sizeof(err)));
		return -1;
	}
	SSL_CTX_set_client_CA_list(ctx, names);
	return 0;
}

/* CRLs from crlfile into the context's store, and the check flags. */
int
tls_load_crl(SSL_CTX *ctx, const struct tls_load *b, const struct tls_conf *t,
    const struct listener_conf *l)
{
	X509_STORE *store = SSL_CTX_get_cert_store(ctx);
	unsigned long flags;
	char err[512];

	if (t->crlfile == NULL && !l->crl_fetch)
		return 0;
	if (t->crlfile != NULL) {
		X509_LOOKUP *lu;
		int n;

		if (check_readable(b, LKEY_CRLFILE, "crlfile", t->crlfile) < 0)
			return -1;
		ERR_clear_error();
		lu = X509_STORE_add_lookup(store, X509_LOOKUP_file());
		n = lu != NULL ? X509_load_crl_file(lu, t->crlfile,
				     X509_FILETYPE_PEM)
			       : 0;
		if (n <= 0) {
			tls_errors_str(err, sizeof(err));
			tls_load_fail(b, LKEY_CRLFILE, "crlfile",
			    "no usable CRL in '%s'%s%s", t->crlfile,
			    err[0] ? ": " : "", err);
			return -1;
		}
	}
	if (l->crl_fetch) {
		struct crl_fetch_params fp = { l->crl_refresh_ms,
			l->crl_fetch_timeout_ms };

		if (crl_fetch_attach(store, &fp) != 0) {
			tls_load_fail(b, LKEY_CRL_FETCH, "crl_fetch",
			    "out of memory");
			return -1;
		}
	}
	flags = X509_V_FLAG_CRL_CHECK;
	if (t->crl_chain)
		flags |= X509_V_FLAG_CRL_CHECK_ALL;
	X509_STORE_set_flags(store, flags);
	return 0;
}
