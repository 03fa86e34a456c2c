/*
 * ocsp: OCSP stapling, the per-certificate side. Owns one state per served
 * certificate (hung off its SSL_CTX as ex_data, refcounted so that a fetch
 * thread can hold it while the context goes away): the attach-time checks
 * that build it, the cached response (written by ocsp_publish, copied out
 * by the status callback on worker threads under a short per-state
 * mutex). Judging a response is ocsp_verify.c's; fetching and scheduling
 * are ocsp_refresh.c's. Nothing here does network I/O or waits on an
 * event loop.
 */
#include "build_config.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/http.h>
#include <openssl/ocsp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "compat.h"
#include "log.h"
#include "ocsp.h"
#include "ocsp_priv.h"
#include "ocsp_refresh.h"
#include "ocsp_verify.h"
#include "tls_ctx.h"
#include "tls_load.h"

static const long DEFAULT_REFRESH_MS = 300000;
static const long DEFAULT_TIMEOUT_MS = 10000;

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static int ex_index = -1;
static bool refresh_ok;

/* ---------------------------------------------------------------- helpers */

const char *
ocsp_fmt_time(time_t t, char *buf, size_t cap)
{
	struct tm tm;

	if (t == 0 || gmtime_r(&t, &tm) == NULL ||
	    strftime(buf, cap, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, cap, "%s", t == 0 ? "none given" : "?");
	return buf;
}

/* ---------------------------------------------------------------- state */

static void
state_free(struct ocsp_state *st)
{
	free(st->label);
	free(st->src);
	X509_free(st->leaf);
	X509_free(st->issuer);
	sk_X509_pop_free(st->signers, X509_free);
	X509_STORE_free(st->store);
	OCSP_CERTID_free(st->id);
	OPENSSL_free(st->der);
	pthread_mutex_destroy(&st->mu);
	free(st);
}

void
ocsp_state_ref(struct ocsp_state *st)
{
	atomic_fetch_add_explicit(&st->refs, 1, memory_order_relaxed);
}

void
ocsp_state_unref(struct ocsp_state *st)
{
	if (st == NULL)
		return;
	if (atomic_fetch_sub_explicit(&st->refs, 1, memory_order_acq_rel) != 1)
		return;
	state_free(st);
}

static struct ocsp_state *
state_new(const struct ocsp_params *p)
{
	struct ocsp_state *st = calloc(1, sizeof(*st));

	if (st == NULL)
		return NULL;
	if (pthread_mutex_init(&st->mu, NULL) != 0) {
		free(st);
		return NULL;
	}
	atomic_init(&st->refs, 1);
	atomic_init(&st->listed, false);
	st->fetch = p->fetch;
	st->refresh_ms = p->refresh_ms > 0 ? p->refresh_ms : DEFAULT_REFRESH_MS;
	st->timeout_ms = p->timeout_ms > 0 ? p->timeout_ms : DEFAULT_TIMEOUT_MS;
	st->label = strdup(p->label != NULL ? p->label : "-");
	if (st->label == NULL) {
		state_free(st);
		return NULL;
	}
	return st;
}

struct ocsp_state *
ocsp_ctx_state(SSL_CTX *ctx)
{
	if (ex_index < 0)
		return NULL;
	return SSL_CTX_get_ex_data(ctx, ex_index);
}

static void
ex_free_cb(
    void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl, void *argp)
{
	(void)parent;
	(void)ad;
	(void)idx;
	(void)argl;
	(void)argp;
	ocsp_state_unref(ptr);
}

static void
init(void)
{
	ex_index = CRYPTO_get_ex_new_index(
	    CRYPTO_EX_INDEX_SSL_CTX, 0, NULL, NULL, NULL, ex_free_cb);
	refresh_ok = ocsp_refresh_init();
}

void
ocsp_init(void)
{
	pthread_once(&init_once, init);
}

/* ---------------------------------------------------------------- cache */

void
ocsp_publish(struct ocsp_state *st, const struct ocsp_verdict *v,
    unsigned char **der, size_t len, time_t now, long next_fetch_ms)
{
	enum ocsp_outcome kind = v->kind;
	char nu[32], rt[32];
	const char *why = v->why;
	bool changed;
	time_t keep_until = 0;

	pthread_mutex_lock(&st->mu);
	if (kind == OCSP_OUT_GOOD || kind == OCSP_OUT_REVOKED) {
		OPENSSL_free(st->der);
		st->der = *der;
		st->der_len = len;
		st->next_update = v->next_update;
		st->expiry_logged = false;
		*der = NULL;
	} else if (st->der != NULL &&
		   (st->next_update == 0 || now < st->next_update)) {
		kind = OCSP_OUT_STALE;
		keep_until = st->next_update;
	} else {
		OPENSSL_free(st->der);
		st->der = NULL;
		st->der_len = 0;
		st->next_update = 0;
	}
	changed = kind != st->logged || strcmp(why, st->logged_why) != 0;
	st->logged = kind;
	snprintf(st->logged_why, sizeof(st->logged_why), "%s", why);
	pthread_mutex_unlock(&st->mu);

	/* A state dropped from the set while it was being fetched says
	 * nothing: its context is gone. */
	if (st->fetch && !atomic_load(&st->listed))
		return;
	ocsp_fmt_time(v->next_update, nu, sizeof(nu));
	if (!changed) {
		if (next_fetch_ms >= 0)
			log_debug("ocsp: %s: refreshed from %s: %s (next "
				  "update %s, next fetch in %ld s)",
			    st->label, st->src,
			    kind == OCSP_OUT_GOOD      ? "good"
			    : kind == OCSP_OUT_REVOKED ? "revoked"
						       : why,
			    nu, next_fetch_ms / 1000);
		return;
	}
	switch (kind) {
	case OCSP_OUT_GOOD:
		log_info("ocsp: %s: stapling good response from %s (next "
			 "update %s)",
		    st->label, st->src, nu);
		break;
	case OCSP_OUT_REVOKED:
		log_warn("ocsp: %s: stapling revoked response from %s "
			 "(revoked %s, reason %s, next update %s)",
		    st->label, st->src,
		    ocsp_fmt_time(v->revoked_at, rt, sizeof(rt)),
		    v->reason >= 0 ? OCSP_crl_reason_str(v->reason)
				   : "none given",
		    nu);
		break;
	case OCSP_OUT_STALE:
		if (keep_until != 0)
			log_warn("ocsp: %s: refresh failed: %s; stapling the "
				 "previous response until %s",
			    st->label, why,
			    ocsp_fmt_time(keep_until, rt, sizeof(rt)));
		else
			log_warn("ocsp: %s: refresh failed: %s; stapling the "
				 "previous response (it gives no next update)",
			    st->label, why);
		break;
	default:
		log_warn("ocsp: %s: not stapling: %s", st->label, why);
		break;
	}
}

/*
 * Worker threads, during a handshake whose client asked for a status: hand
 * OpenSSL a copy of the cached response, unless there is none or it is
 * past its nextUpdate.
 */
static int
status_cb(SSL *ssl, void *arg)
{
	struct ocsp_state *st = arg;
	unsigned char *copy = NULL;
	size_t len = 0;
	time_t now = time(NULL), expired = 0;
	X509 *x = SSL_get_certificate(ssl);

	if (st == NULL ||
	    (x != st->leaf && (x == NULL || X509_cmp(x, st->leaf) != 0)))
		return SSL_TLSEXT_ERR_NOACK;
	pthread_mutex_lock(&st->mu);
	if (st->der != NULL && st->next_update != 0 && now >= st->next_update) {
		if (!st->expiry_logged) {
			st->expiry_logged = true;
			expired = st->next_update;
		}
	} else if (st->der != NULL && st->der_len <= LONG_MAX) {
		copy = OPENSSL_malloc(st->der_len);
		if (copy != NULL) {
			memcpy(copy, st->der, st->der_len);
			len = st->der_len;
		}
	}
	pthread_mutex_unlock(&st->mu);
	if (expired != 0) {
		char nu[32];

		log_warn("ocsp: %s: not stapling: response expired: next "
			 "update was %s (from %s)",
		    st->label, ocsp_fmt_time(expired, nu, sizeof(nu)), st->src);
	}
	if (copy == NULL)
		return SSL_TLSEXT_ERR_NOACK;
	if (SSL_set_tlsext_status_ocsp_resp(ssl, copy, (long)len) != 1) {
		OPENSSL_free(copy);
		return SSL_TLSEXT_ERR_NOACK;
	}
	return SSL_TLSEXT_ERR_OK;
}

/* ---------------------------------------------------------------- attach */

static void attach_fail(struct diag *d, const struct ocsp_params *p, int line,
    const char *key, const char *fmt, ...) MQ_PRINTF(5, 6);

static void
attach_fail(struct diag *d, const struct ocsp_params *p, int line,
    const char *key, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	diag_add(d, p->cfg_path, line, "%s: %s", key, msg);
}

/* The key and line blamed for a problem of the mode itself. */
static const char *
mode_key(const struct ocsp_params *p, int *line)
{
	if (p->fetch) {
		*line = p->line;
		return "ocsp_stapling";
	}
	*line = p->staple_file_line > 0 ? p->staple_file_line : p->line;
	return "ocsp_staple_file";
}

static bool
issued_by(X509 *leaf, X509 *issuer)
{
	EVP_PKEY *pk = X509_get0_pubkey(issuer);
	bool ok;

	ERR_clear_error();
	ok = X509_check_issued(issuer, leaf) == X509_V_OK && pk != NULL &&
	     X509_verify(leaf, pk) == 1;
	ERR_clear_error();
	return ok;
}

/* Sets st->issuer from ocsp_issuer_file or from ctx's chain. */
static void
find_issuer(SSL_CTX *ctx, struct ocsp_state *st, const struct ocsp_params *p,
    struct diag *d)
{
	int line = p->issuer_line > 0 ? p->issuer_line : p->line;
	STACK_OF(X509) *chain = NULL;
	char err[512];
	const char *key;
	int i, mline;
	BIO *bio;

	if (p->issuer_file != NULL) {
		ERR_clear_error();
		errno = 0;
		bio = BIO_new_file(p->issuer_file, "r");
		if (bio == NULL) {
			attach_fail(d, p, line, "ocsp_issuer_file",
			    "cannot open '%s': %s", p->issuer_file,
			    errno != 0 ? strerror(errno)
				       : tls_errors_str(err, sizeof(err)));
			ERR_clear_error();
			return;
		}
		st->issuer = PEM_read_bio_X509(bio, NULL, NULL, NULL);
		BIO_free(bio);
		if (st->issuer == NULL) {
			attach_fail(d, p, line, "ocsp_issuer_file",
			    "no PEM certificate in '%s': %s", p->issuer_file,
			    tls_errors_str(err, sizeof(err)));
			return;
		}
		ERR_clear_error();
		if (!issued_by(st->leaf, st->issuer))
			attach_fail(d, p, line, "ocsp_issuer_file",
			    "'%s' is not the issuer of the server certificate",
			    p->issuer_file);
		return;
	}
	SSL_CTX_get0_chain_certs(ctx, &chain);
	if (chain == NULL || sk_X509_num(chain) == 0)
		SSL_CTX_get_extra_chain_certs_only(ctx, &chain);
	for (i = 0; chain != NULL && i < sk_X509_num(chain); i++) {
		X509 *c = sk_X509_value(chain, i);

		if (issued_by(st->leaf, c) && X509_up_ref(c) == 1) {
			st->issuer = c;
			return;
		}
	}
	key = mode_key(p, &mline);
	attach_fail(d, p, mline, key,
	    "no issuer certificate to check OCSP responses with: the "
	    "certificate file has no issuer after the server certificate; "
	    "set ocsp_issuer_file");
}

/* Sets st->src from the configured URL or the AIA, once it parses. */
static void
find_responder(
    struct ocsp_state *st, const struct ocsp_params *p, struct diag *d)
{
	const char *key =
	    p->responder_url != NULL ? "ocsp_responder_url" : "ocsp_stapling";
	STACK_OF(OPENSSL_STRING) *aia = NULL;
	const char *u = p->responder_url;
	char err[512];
	int ssl = 0, i;

	if (u == NULL) {
		aia = X509_get1_ocsp(st->leaf);
		for (i = 0; aia != NULL && i < sk_OPENSSL_STRING_num(aia);
		     i++) {
			const char *a = sk_OPENSSL_STRING_value(aia, i);

			if (u == NULL)
				u = a;
			if (strncmp(a, "http://", 7) == 0) {
				u = a;
				break;
			}
		}
		if (u == NULL) {
			attach_fail(d, p, p->line, key,
			    "the certificate names no OCSP responder (no "
			    "AIA OCSP URL); set ocsp_responder_url");
			goto out;
		}
	}
	if (strncmp(u, "http://", 7) != 0) {
		attach_fail(d, p, p->line, key,
		    "OCSP responder '%s' is not an http:// URL%s", u,
		    p->responder_url == NULL ? "; set ocsp_responder_url" : "");
		goto out;
	}
	ERR_clear_error();
	/* http_get_fetch parses it again for each fetch. */
	if (OSSL_HTTP_parse_url(
		u, &ssl, NULL, NULL, NULL, NULL, NULL, NULL, NULL) != 1) {
		attach_fail(d, p, p->line, key, "cannot parse '%s': %s", u,
		    tls_errors_str(err, sizeof(err)));
		goto out;
	}
	st->src = strdup(u);
	if (st->src == NULL)
		attach_fail(d, p, p->line, key, "out of memory");
out:
	X509_email_free(aia);
}

/* Read the staple file; on success *der (malloc'd by OpenSSL) and *len. */
static int
read_staple_file(const struct ocsp_params *p, unsigned char **der, size_t *len,
    struct diag *d)
{
	int line = p->staple_file_line > 0 ? p->staple_file_line : p->line;
	unsigned char *buf = NULL;
	const unsigned char *q;
	OCSP_RESPONSE *resp;
	size_t n = 0;

	switch (tls_read_file(p->staple_file, OCSP_MAX_RESPONSE, &buf, &n)) {
	case TLS_READ_OK:
		break;
	case TLS_READ_OPEN:
		attach_fail(d, p, line, "ocsp_staple_file",
		    "cannot open '%s': %s", p->staple_file, strerror(errno));
		return -1;
	case TLS_READ_TOO_BIG:
		attach_fail(d, p, line, "ocsp_staple_file",
		    "'%s' is too large for an OCSP response", p->staple_file);
		return -1;
	case TLS_READ_NOMEM:
		attach_fail(d, p, line, "ocsp_staple_file", "out of memory");
		return -1;
	case TLS_READ_IO:
		attach_fail(d, p, line, "ocsp_staple_file",
		    "cannot read '%s': %s", p->staple_file, strerror(errno));
		return -1;
	}
	q = buf;
	resp = n > 0 ? d2i_OCSP_RESPONSE(NULL, &q, (long)n) : NULL;
	ERR_clear_error();
	if (resp == NULL || q != buf + n) {
		OCSP_RESPONSE_free(resp);
		attach_fail(d, p, line, "ocsp_staple_file",
		    "'%s' is not a DER OCSP response%s", p->staple_file,
		    n == 0 ? " (empty file)" : "");
		goto fail;
	}
	OCSP_RESPONSE_free(resp);
	*der = buf;
	*len = n;
	return 0;
fail:
	OPENSSL_free(buf);
	return -1;
}

int
ocsp_attach(SSL_CTX *ctx, const struct ocsp_params *p, struct diag *d)
{
	size_t before = diag_count(d);
	struct ocsp_state *st, *old;
	unsigned char *der = NULL;
	size_t der_len = 0;
	const char *key;
	int line;
	X509 *leaf;

	if (!p->fetch && p->staple_file == NULL)
		return 0;
	key = mode_key(p, &line);
	if (p->fetch && p->staple_file != NULL) {
		/* config_validate refuses this already; st->src is one. */
		attach_fail(d, p,
		    p->staple_file_line > 0 ? p->staple_file_line : line,
		    "ocsp_staple_file",
		    "set either ocsp_stapling = on or ocsp_staple_file, "
		    "not both");
		return -1;
	}
	ocsp_init();
	if (ex_index < 0 || !refresh_ok) {
		attach_fail(d, p, line, key,
		    "cannot set up OCSP stapling (OpenSSL ex_data or "
		    "pthread setup failed)");
		return -1;
	}
	st = state_new(p);
	if (st == NULL) {
		attach_fail(d, p, line, key, "out of memory");
		return -1;
	}
	leaf = SSL_CTX_get0_certificate(ctx);
	if (leaf == NULL || X509_up_ref(leaf) != 1) {
		attach_fail(d, p, line, key, "no server certificate loaded");
		goto fail;
	}
	st->leaf = leaf;
	find_issuer(ctx, st, p, d);
	if (p->fetch)
		find_responder(st, p, d);
	if (p->staple_file != NULL)
		read_staple_file(p, &der, &der_len, d);
	if (diag_count(d) != before)
		goto fail;

	if (p->staple_file != NULL) {
		size_t n = strlen(p->staple_file) + sizeof("file ");

		free(st->src);
		st->src = malloc(n);
		if (st->src != NULL)
			snprintf(st->src, n, "file %s", p->staple_file);
	}
	ERR_clear_error();
	st->id = OCSP_cert_to_id(EVP_sha1(), st->leaf, st->issuer);
	st->store = X509_STORE_new();
	st->signers = sk_X509_new_null();
	if (st->src == NULL || st->id == NULL || st->store == NULL ||
	    st->signers == NULL ||
	    X509_STORE_add_cert(st->store, st->issuer) != 1 ||
	    X509_STORE_set_flags(st->store, X509_V_FLAG_PARTIAL_CHAIN) != 1 ||
	    X509_up_ref(st->issuer) != 1) {
		attach_fail(d, p, line, key,
		    "cannot set up OCSP checks: out of memory");
		ERR_clear_error();
		goto fail;
	}
	if (sk_X509_push(st->signers, st->issuer) <= 0) {
		X509_free(st->issuer);
		attach_fail(d, p, line, key, "out of memory");
		goto fail;
	}

	if (der != NULL) {
		struct ocsp_verdict v;
		time_t now = time(NULL);

		ocsp_verify_response(st, der, der_len, now, &v);
		ocsp_publish(st, &v, &der, der_len, now, -1);
	}
	OPENSSL_free(der);
	der = NULL;

	old = SSL_CTX_get_ex_data(ctx, ex_index);
	if (SSL_CTX_set_ex_data(ctx, ex_index, st) != 1) {
		attach_fail(d, p, line, key, "out of memory");
		goto fail;
	}
	ocsp_state_unref(old);
	SSL_CTX_set_tlsext_status_cb(ctx, status_cb);
	SSL_CTX_set_tlsext_status_arg(ctx, st);
	return 0;
fail:
	OPENSSL_free(der);
	ocsp_state_unref(st);
	return -1;
}
