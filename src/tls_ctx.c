/*
 * tls_ctx: turns a listener's TLS settings into a server SSL_CTX and a set
 * of them into a refcounted generation. All file loading happens here, on
 * the main thread, before anything is published to workers; a failed build
 * reports every problem with the config line of the key at fault and leaves
 * nothing behind.
 */
#include "build_config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "log.h"
#include "tls_ctx.h"
#include "value.h"

const char *
tls_errors_str(char *buf, size_t cap)
{
	unsigned long e;
	size_t n = 0;

	if (cap == 0)
		return buf;
	buf[0] = '\0';
	while ((e = ERR_get_error()) != 0) {
		const char *r = ERR_reason_error_string(e);
		char tmp[256];
		int w;

		if (r == NULL) {
			ERR_error_string_n(e, tmp, sizeof(tmp));
			r = tmp;
		}
		/* Skip repeats: OpenSSL often queues the same reason twice. */
		if (n > 0 && strstr(buf, r) != NULL)
			continue;
		w = snprintf(buf + n, cap - n, "%s%s", n > 0 ? "; " : "", r);
		if (w < 0 || (size_t)w >= cap - n)
			break;
		n += (size_t)w;
	}
	ERR_clear_error();
	return buf;
}

/* The line to blame for a key: its own line, or the listener header when
 * the key was defaulted. */
static int
key_line(const struct listener_conf *l, enum listener_key k)
{
	return l->line[k] > 0 ? l->line[k] : l->header_line;
}

static void
tls_fail(struct diag *d, const struct config *c, const struct listener_conf *l,
    enum listener_key k, const char *key, const char *fmt, ...)
    MQ_PRINTF(6, 7);

static void
tls_fail(struct diag *d, const struct config *c, const struct listener_conf *l,
    enum listener_key k, const char *key, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	diag_add(d, c->path, key_line(l, k), "%s: %s", key, msg);
}

/* Open-check a file so that "missing" and "unreadable" read as such rather
 * than as an OpenSSL parse error. */
static int
check_readable(struct diag *d, const struct config *c,
    const struct listener_conf *l, enum listener_key k, const char *key,
    const char *path)
{
	FILE *fp = fopen(path, "r");

	if (fp == NULL) {
		tls_fail(d, c, l, k, key, "cannot open '%s': %s", path,
		    strerror(errno));
		return -1;
	}
	fclose(fp);
	return 0;
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
load_key(SSL_CTX *ctx, struct diag *d, const struct config *c,
    const struct listener_conf *l)
{
	const struct tls_conf *t = &l->tls;
	enum listener_key k = l->line[LKEY_KEYFILE] > 0 ? LKEY_KEYFILE
						      : LKEY_CERTFILE;
	const char *kname = k == LKEY_KEYFILE ? "keyfile" : "certfile";
	struct pw_state st = { t->key_password, 0 };
	char err[512];
	EVP_PKEY *pk;
	BIO *bio;

	if (check_readable(d, c, l, k, kname, t->keyfile) < 0)
		return -1;
	ERR_clear_error();
	bio = BIO_new_file(t->keyfile, "r");
	if (bio == NULL) {
		tls_fail(d, c, l, k, kname, "cannot open '%s': %s",
		    t->keyfile, tls_errors_str(err, sizeof(err)));
		return -1;
	}
	pk = PEM_read_bio_PrivateKey(bio, NULL, pw_cb, &st);
	BIO_free(bio);
	if (pk == NULL) {
		tls_errors_str(err, sizeof(err));
		if (st.asked && (t->key_password == NULL ||
				    t->key_password[0] == '\0'))
			tls_fail(d, c, l, k, kname,
			    "'%s' is encrypted and no key_password is set",
			    t->keyfile);
		else if (st.asked)
			tls_fail(d, c, l, LKEY_KEY_PASSWORD, "key_password",
			    "cannot decrypt '%s' (wrong password?)",
			    t->keyfile);
		else
			tls_fail(d, c, l, k, kname,
			    "no usable private key in '%s': %s", t->keyfile,
			    err[0] ? err : "no PEM private key found");
		return -1;
	}
	ERR_clear_error();
	if (SSL_CTX_use_PrivateKey(ctx, pk) != 1) {
		tls_fail(d, c, l, k, kname, "cannot use the key in '%s': %s",
		    t->keyfile, tls_errors_str(err, sizeof(err)));
		EVP_PKEY_free(pk);
		return -1;
	}
	EVP_PKEY_free(pk);
	ERR_clear_error();
	if (SSL_CTX_check_private_key(ctx) != 1) {
		ERR_clear_error();
		tls_fail(d, c, l, k, kname,
		    "the key in '%s' does not match the certificate in '%s'",
		    t->keyfile, t->certfile);
		return -1;
	}
	return 0;
}

static int
load_ca(SSL_CTX *ctx, struct diag *d, const struct config *c,
    const struct listener_conf *l)
{
	const char *path = l->tls.cacertfile;
	STACK_OF(X509_NAME) *names;
	char err[512];

	if (check_readable(d, c, l, LKEY_CACERTFILE, "cacertfile", path) < 0)
		return -1;
	ERR_clear_error();
	if (SSL_CTX_load_verify_file(ctx, path) != 1) {
		tls_fail(d, c, l, LKEY_CACERTFILE, "cacertfile",
		    "cannot load CA certificates from '%s': %s", path,
		    tls_errors_str(err, sizeof(err)));
		return -1;
	}
	/* The names sent in the certificate request, so that clients with
	 * several certificates pick one this listener trusts. */
	names = SSL_load_client_CA_file(path);
	if (names == NULL) {
		tls_fail(d, c, l, LKEY_CACERTFILE, "cacertfile",
		    "no CA certificate found in '%s': %s", path,
		    tls_errors_str(err, sizeof(err)));
		return -1;
	}
	SSL_CTX_set_client_CA_list(ctx, names);
	return 0;
}

static const struct {
	unsigned bit;
	int version;
	uint64_t no_option;
} versions[] = {
	{ TLS_VER_1_0, TLS1_VERSION, SSL_OP_NO_TLSv1 },
	{ TLS_VER_1_1, TLS1_1_VERSION, SSL_OP_NO_TLSv1_1 },
	{ TLS_VER_1_2, TLS1_2_VERSION, SSL_OP_NO_TLSv1_2 },
	{ TLS_VER_1_3, TLS1_3_VERSION, SSL_OP_NO_TLSv1_3 },
};

static int
set_versions(SSL_CTX *ctx, struct diag *d, const struct config *c,
    const struct listener_conf *l)
{
	unsigned bits = l->tls.versions;
	int lo = 0, hi = 0;
	size_t i;

	for (i = 0; i < nitems(versions); i++) {
		if ((bits & versions[i].bit) == 0)
			continue;
		if (lo == 0)
			lo = versions[i].version;
		hi = versions[i].version;
	}
	if (lo == 0) {
		tls_fail(d, c, l, LKEY_VERSIONS, "versions",
		    "no TLS version enabled");
		return -1;
	}
	if (SSL_CTX_set_min_proto_version(ctx, lo) != 1 ||
	    SSL_CTX_set_max_proto_version(ctx, hi) != 1) {
		tls_fail(d, c, l, LKEY_VERSIONS, "versions",
		    "this OpenSSL cannot enable them");
		return -1;
	}
	/* A gap inside [lo, hi] ("tlsv1.3,tlsv1.1") is switched off. */
	for (i = 0; i < nitems(versions); i++)
		if (versions[i].version > lo && versions[i].version < hi &&
		    (bits & versions[i].bit) == 0)
			SSL_CTX_set_options(ctx, versions[i].no_option);
	return 0;
}

static int
set_ciphers(SSL_CTX *ctx, struct diag *d, const struct config *c,
    const struct listener_conf *l)
{
	const struct tls_conf *t = &l->tls;
	char err[512];
	int rc = 0;

	ERR_clear_error();
	if (t->ciphers != NULL && SSL_CTX_set_cipher_list(ctx, t->ciphers) != 1) {
		tls_fail(d, c, l, LKEY_CIPHERS, "ciphers",
		    "no usable cipher in '%s': %s", t->ciphers,
		    tls_errors_str(err, sizeof(err)));
		rc = -1;
	}
	ERR_clear_error();
	if (t->ciphersuites != NULL &&
	    SSL_CTX_set_ciphersuites(ctx, t->ciphersuites) != 1) {
		tls_fail(d, c, l, LKEY_CIPHERSUITES, "ciphersuites",
		    "invalid TLS 1.3 cipher suites '%s': %s", t->ciphersuites,
		    tls_errors_str(err, sizeof(err)));
		rc = -1;
	}
	ERR_clear_error();
	if (t->groups != NULL && SSL_CTX_set1_groups_list(ctx, t->groups) != 1) {
		tls_fail(d, c, l, LKEY_GROUPS, "groups",
		    "invalid key-exchange groups '%s': %s", t->groups,
		    tls_errors_str(err, sizeof(err)));
		rc = -1;
	}
	/* OpenSSL 3 only negotiates TLS 1.0/1.1 at security level 0. This
	 * comes after the cipher list because "@SECLEVEL=n" there resets it. */
	if (rc == 0 && (t->versions & (TLS_VER_1_0 | TLS_VER_1_1)) != 0 &&
	    SSL_CTX_get_security_level(ctx) > 0) {
		char vs[64];

		value_tls_versions_str(t->versions, vs, sizeof(vs));
		log_warn("listener %s: versions = %s enables TLS older than "
			 "1.2: OpenSSL security level lowered to 0 for this "
			 "listener",
		    l->name, vs);
		SSL_CTX_set_security_level(ctx, 0);
	}
	return rc;
}

SSL_CTX *
tls_ctx_build(const struct config *c, const struct listener_conf *l,
    struct diag *d)
{
	const struct tls_conf *t = &l->tls;
	size_t before = diag_count(d);
	unsigned char sid[SSL_MAX_SID_CTX_LENGTH];
	char err[512];
	SSL_CTX *ctx;
	int mode;

	ERR_clear_error();
	ctx = SSL_CTX_new(TLS_server_method());
	if (ctx == NULL) {
		diag_add(d, c->path, l->header_line,
		    "listener %s: cannot create a TLS context: %s", l->name,
		    tls_errors_str(err, sizeof(err)));
		return NULL;
	}
	/*
	 * No renegotiation, no compression; a peer that drops TCP without
	 * close_notify is an EOF, not an error (libevent 2.1 + OpenSSL 3);
	 * OpenSSL buffers are released while a connection is idle.
	 */
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION |
				     SSL_OP_NO_COMPRESSION |
				     SSL_OP_IGNORE_UNEXPECTED_EOF |
				     SSL_OP_CIPHER_SERVER_PREFERENCE);
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS |
				  SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
				  SSL_MODE_ENABLE_PARTIAL_WRITE);
	/* One TLS 1.3 ticket is enough for one reconnect. */
	SSL_CTX_set_num_tickets(ctx, 1);
	/* Session resumption with client certificates needs an id context;
	 * derive it from the listener name so listeners don't share. */
	memset(sid, 0, sizeof(sid));
	{
		unsigned int len = 0;
		unsigned char md[EVP_MAX_MD_SIZE];

		if (EVP_Digest(l->name, strlen(l->name), md, &len,
			EVP_sha256(), NULL) == 1 && len >= sizeof(sid))
			memcpy(sid, md, sizeof(sid));
		SSL_CTX_set_session_id_context(ctx, sid, sizeof(sid));
	}

	if (check_readable(d, c, l, LKEY_CERTFILE, "certfile", t->certfile) ==
	    0) {
		ERR_clear_error();
		if (SSL_CTX_use_certificate_chain_file(ctx, t->certfile) != 1)
			tls_fail(d, c, l, LKEY_CERTFILE, "certfile",
			    "cannot load certificate chain from '%s': %s",
			    t->certfile, tls_errors_str(err, sizeof(err)));
		else
			load_key(ctx, d, c, l);
	} else if (t->keyfile != NULL && strcmp(t->keyfile, t->certfile) != 0) {
		/* Still report a missing key file along with the cert. */
		check_readable(d, c, l, LKEY_KEYFILE, "keyfile", t->keyfile);
	}
	if (t->cacertfile != NULL)
		load_ca(ctx, d, c, l);

	mode = SSL_VERIFY_NONE;
	if (t->verify == TLS_VERIFY_PEER) {
		mode = SSL_VERIFY_PEER;
		if (t->fail_if_no_peer_cert)
			mode |= SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
	}
	SSL_CTX_set_verify(ctx, mode, NULL);
	SSL_CTX_set_verify_depth(ctx, t->depth);

	set_versions(ctx, d, c, l);
	set_ciphers(ctx, d, c, l);

	if (diag_count(d) != before) {
		SSL_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

struct tls_gen *
tls_gen_build(const struct config *c, unsigned long serial, struct diag *d)
{
	struct tls_gen *g;
	size_t i;
	int failed = 0;

	g = calloc(1, sizeof(*g) + c->nlisteners * sizeof(g->ctx[0]));
	if (g == NULL) {
		diag_add(d, c->path, 0, "out of memory");
		return NULL;
	}
	atomic_init(&g->refs, 1);
	g->serial = serial;
	g->n = c->nlisteners;
	for (i = 0; i < c->nlisteners; i++) {
		g->ctx[i] = tls_ctx_build(c, &c->listeners[i], d);
		if (g->ctx[i] == NULL)
			failed = 1;
	}
	if (failed) {
		tls_gen_unref(g);
		return NULL;
	}
	return g;
}

struct tls_gen *
tls_gen_ref(struct tls_gen *g)
{
	atomic_fetch_add_explicit(&g->refs, 1, memory_order_relaxed);
	return g;
}

void
tls_gen_unref(struct tls_gen *g)
{
	size_t i;

	if (g == NULL)
		return;
	if (atomic_fetch_sub_explicit(&g->refs, 1, memory_order_acq_rel) != 1)
		return;
	for (i = 0; i < g->n; i++)
		SSL_CTX_free(g->ctx[i]);
	free(g);
}

static uint64_t
fnv1a(uint64_t h, const void *p, size_t n)
{
	const unsigned char *b = p;

	while (n-- > 0) {
		h ^= *b++;
		h *= 0x100000001b3ULL;
	}
	return h;
}

static uint64_t
fingerprint_file(uint64_t h, const char *path)
{
	struct stat st;
	int64_t v[7];

	if (path == NULL)
		return h;
	h = fnv1a(h, path, strlen(path) + 1);
	memset(v, 0, sizeof(v));
	if (stat(path, &st) < 0) {
		v[0] = -errno;
	} else {
		v[0] = (int64_t)st.st_dev;
		v[1] = (int64_t)st.st_ino;
		v[2] = (int64_t)st.st_size;
		v[3] = (int64_t)st.st_mtim.tv_sec;
		v[4] = (int64_t)st.st_mtim.tv_nsec;
		v[5] = (int64_t)st.st_ctim.tv_sec;
		v[6] = (int64_t)st.st_ctim.tv_nsec;
	}
	return fnv1a(h, v, sizeof(v));
}

uint64_t
tls_files_fingerprint(const struct config *c)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	size_t i;

	for (i = 0; i < c->nlisteners; i++) {
		const struct tls_conf *t = &c->listeners[i].tls;

		h = fingerprint_file(h, t->certfile);
		h = fingerprint_file(h, t->keyfile);
		h = fingerprint_file(h, t->cacertfile);
	}
	return h;
}
