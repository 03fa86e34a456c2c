/*
 * ocsp: OCSP stapling. Owns one state per served certificate (hung off its
 * SSL_CTX as ex_data, refcounted so that a fetch thread can hold it while
 * the context goes away) and the few background threads that fetch,
 * verify and cache responses. Worker threads only copy the cached DER in
 * the status callback under a short per-state mutex; nothing here ever
 * does network I/O or a blocking wait on an event loop.
 */
#include "build_config.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
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

#include "http_get.h"
#include "log.h"
#include "ocsp.h"
#include "tls_ctx.h"

/* Clock skew allowed on thisUpdate (and by OpenSSL on nextUpdate). */
static const long VALIDITY_LEEWAY_S = 300;
/* After a failed fetch, try again this soon (or at the refresh interval
 * when that is shorter). */
static const long RETRY_MS = 30000;
/* Never refetch sooner than this after a success, whatever nextUpdate. */
static const long MIN_REFRESH_MS = 5000;
static const long DEFAULT_REFRESH_MS = 300000;
static const long DEFAULT_TIMEOUT_MS = 10000;
/* Bigger staple files or HTTP answers are refused; real ones are ~2 KiB. */
static const size_t MAX_RESPONSE = 1024 * 1024;

enum outcome {
	OUT_NONE,    /* nothing known yet */
	OUT_GOOD,    /* stapling a good response */
	OUT_REVOKED, /* stapling a revoked response */
	OUT_STALE,   /* refresh failed, previous response still stapled */
	OUT_FAILED,  /* nothing stapled */
};

struct ocsp_state {
	atomic_uint refs;

	/* Set by ocsp_attach, read-only afterwards. */
	char *label;
	char *src; /* "http://..." or "file PATH", for log lines */
	bool fetch;
	X509 *leaf;
	X509 *issuer;
	STACK_OF(X509) *signers; /* the issuer alone: trusted as signer */
	X509_STORE *store;	  /* the issuer as trust anchor */
	OCSP_CERTID *id;
	long refresh_ms;
	long timeout_ms;

	/* Under mu: what clients get, and what was logged last. */
	pthread_mutex_t mu;
	unsigned char *der; /* NULL = nothing to staple */
	size_t der_len;
	time_t next_update; /* of der; 0 = the response gives none */
	bool expiry_logged;
	enum outcome logged;
	char logged_why[1024];

	/* Under fetcher.mu. */
	int64_t due_ms;	    /* next fetch, CLOCK_MONOTONIC */
	bool scheduled;	    /* has been in an activated set */
	bool busy;	    /* being fetched right now */
	unsigned stamp;	    /* fetcher.gen of the set it is in */
	atomic_bool listed; /* in the current set (logging only) */
};

struct entry {
	SSL_CTX *ctx; /* our reference */
	struct ocsp_state *st;
};

/*
 * At most this many fetches run at once, so that a responder that never
 * answers holds up one thread for its timeout, not every other
 * certificate's refresh.
 */
enum { FETCH_THREADS = 4 };

/* The fetch threads and the set of contexts they keep fresh. */
static struct {
	pthread_mutex_t mu;
	pthread_cond_t cv; /* CLOCK_MONOTONIC */
	pthread_t thread[FETCH_THREADS];
	int nthreads;
	atomic_bool stop;
	struct http_get_cancel *cancel; /* from the first thread on */
	unsigned gen;
	struct entry *v;
	size_t n;
} fetcher = {
	.mu = PTHREAD_MUTEX_INITIALIZER,
};

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static int ex_index = -1;
static bool cv_ok;

struct verdict {
	enum outcome kind; /* OUT_GOOD, OUT_REVOKED or OUT_FAILED */
	time_t next_update;
	time_t revoked_at;
	int reason;
	char why[1024];
};

static void state_unref(struct ocsp_state *st);

/* ---------------------------------------------------------------- helpers */

static int64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static const char *
fmt_time(time_t t, char *buf, size_t cap)
{
	struct tm tm;

	if (t == 0 || gmtime_r(&t, &tm) == NULL ||
	    strftime(buf, cap, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, cap, "%s", t == 0 ? "none given" : "?");
	return buf;
}

/* 0 when t is NULL or unreadable. */
static time_t
asn1_time(const ASN1_GENERALIZEDTIME *t)
{
	struct tm tm;

	if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1)
		return 0;
	return timegm(&tm);
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
	state_unref(ptr);
}

static void
init(void)
{
	pthread_condattr_t ca;

	ex_index = CRYPTO_get_ex_new_index(
	    CRYPTO_EX_INDEX_SSL_CTX, 0, NULL, NULL, NULL, ex_free_cb);
	if (pthread_condattr_init(&ca) != 0)
		return;
	if (pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) == 0 &&
	    pthread_cond_init(&fetcher.cv, &ca) == 0)
		cv_ok = true;
	pthread_condattr_destroy(&ca);
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

static void
state_ref(struct ocsp_state *st)
{
	atomic_fetch_add_explicit(&st->refs, 1, memory_order_relaxed);
}

static void
state_unref(struct ocsp_state *st)
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

static struct ocsp_state *
ctx_state(SSL_CTX *ctx)
{
	if (ex_index < 0)
		return NULL;
	return SSL_CTX_get_ex_data(ctx, ex_index);
}

/* ---------------------------------------------------------------- verify */

static void verdict_fail(struct verdict *v, const struct ocsp_state *st,
    const char *fmt, ...) MQ_PRINTF(3, 4);

static void
verdict_fail(
    struct verdict *v, const struct ocsp_state *st, const char *fmt, ...)
{
	va_list ap;
	int n;

	v->kind = OUT_FAILED;
	va_start(ap, fmt);
	n = vsnprintf(v->why, sizeof(v->why), fmt, ap);
	va_end(ap);
	if (n >= 0 && (size_t)n < sizeof(v->why))
		snprintf(v->why + n, sizeof(v->why) - (size_t)n, " (from %s)",
		    st->src);
}

/*
 * Drain the error queue of a failed OCSP_basic_verify into buf. The reason
 * alone says "certificate verify error"; why the signer's chain failed is
 * only in the error data ("Verify error:unable to get local issuer
 * certificate"), so prefer that.
 */
static const char *
verify_why(char *buf, size_t cap)
{
	const char *data = NULL, *r;
	unsigned long e;
	int flags = 0;

	snprintf(buf, cap, "bad signature");
	while ((e = ERR_get_error_all(NULL, NULL, NULL, &data, &flags)) != 0) {
		if ((flags & ERR_TXT_STRING) != 0 && data != NULL &&
		    strncmp(data, "Verify error:", 13) == 0) {
			data += 13;
			while (*data == ' ')
				data++;
			snprintf(buf, cap, "%s", data);
			break;
		}
		r = ERR_reason_error_string(e);
		if (r != NULL)
			snprintf(buf, cap, "%s", r);
	}
	ERR_clear_error();
	return buf;
}

/*
 * Judge one DER response for st's certificate at time now: it must be a
 * successful basic response, signed by the issuer or by a responder the
 * issuer delegated to, cover our certificate id and be current. Fills v;
 * v->kind is OUT_GOOD, OUT_REVOKED (both stapled) or OUT_FAILED with the
 * reason in v->why.
 */
static void
check_response(const struct ocsp_state *st, const unsigned char *der,
    size_t len, time_t now, struct verdict *v)
{
	const unsigned char *p = der;
	OCSP_RESPONSE *resp = NULL;
	OCSP_BASICRESP *bs = NULL;
	ASN1_GENERALIZEDTIME *thisupd = NULL, *nextupd = NULL, *revtime = NULL;
	char err[256], tbuf[32];
	int rs, status = -1, reason = -1;
	unsigned long e;

	memset(v, 0, sizeof(*v));
	v->kind = OUT_FAILED;
	ERR_clear_error();
	if (len == 0 || len > MAX_RESPONSE)
		goto unparsable;
	resp = d2i_OCSP_RESPONSE(NULL, &p, (long)len);
	if (resp == NULL || p != der + len)
		goto unparsable;
	rs = OCSP_response_status(resp);
	if (rs != OCSP_RESPONSE_STATUS_SUCCESSFUL) {
		verdict_fail(v, st, "responder answered '%s'",
		    OCSP_response_status_str(rs));
		goto done;
	}
	bs = OCSP_response_get1_basic(resp);
	if (bs == NULL) {
		verdict_fail(v, st, "response has no basic response: %s",
		    tls_errors_str(err, sizeof(err)));
		goto done;
	}
	ERR_clear_error();
	/* The issuer is trusted as a signer outright; a delegated responder
	 * needs a chain to it and the OCSP signing purpose. */
	if (OCSP_basic_verify(bs, st->signers, st->store, OCSP_TRUSTOTHER) <=
	    0) {
		verdict_fail(v, st, "response does not verify: %s",
		    verify_why(err, sizeof(err)));
		goto done;
	}
	if (OCSP_resp_find_status(bs, st->id, &status, &reason, &revtime,
		&thisupd, &nextupd) != 1) {
		verdict_fail(v, st, "response does not cover this certificate");
		goto done;
	}
	v->next_update = asn1_time(nextupd);
	ERR_clear_error();
	if (OCSP_check_validity(thisupd, nextupd, VALIDITY_LEEWAY_S, -1) != 1) {
		e = ERR_peek_last_error();
		if (ERR_GET_REASON(e) == OCSP_R_STATUS_EXPIRED)
			verdict_fail(v, st,
			    "response expired: next update was %s",
			    fmt_time(v->next_update, tbuf, sizeof(tbuf)));
		else if (ERR_GET_REASON(e) == OCSP_R_STATUS_NOT_YET_VALID)
			verdict_fail(v, st,
			    "response not yet valid: this update is %s",
			    fmt_time(asn1_time(thisupd), tbuf, sizeof(tbuf)));
		else
			verdict_fail(v, st, "response has bad times: %s",
			    tls_errors_str(err, sizeof(err)));
		goto done;
	}
	/* OpenSSL allows the leeway past nextUpdate too; clients do not. */
	if (v->next_update != 0 && v->next_update <= now) {
		verdict_fail(v, st, "response expired: next update was %s",
		    fmt_time(v->next_update, tbuf, sizeof(tbuf)));
		goto done;
	}
	switch (status) {
	case V_OCSP_CERTSTATUS_GOOD:
		v->kind = OUT_GOOD;
		break;
	case V_OCSP_CERTSTATUS_REVOKED:
		v->kind = OUT_REVOKED;
		v->revoked_at = asn1_time(revtime);
		v->reason = reason;
		break;
	default:
		verdict_fail(v, st,
		    "responder does not know the certificate "
		    "(status unknown)");
		break;
	}
	goto done;
unparsable:
	verdict_fail(v, st, "response is not a DER OCSP response%s",
	    len > MAX_RESPONSE ? " (too large)" : "");
done:
	OCSP_BASICRESP_free(bs);
	OCSP_RESPONSE_free(resp);
	ERR_clear_error();
}

/*
 * Make v the state of st. A good or revoked response replaces the cached
 * one (ownership of *der moves to st, *der becomes NULL); a failure keeps
 * the previous response while it is current, else drops it. Logs when the
 * outcome (or its reason) changed since the last line, at debug otherwise.
 */
static void
publish(struct ocsp_state *st, const struct verdict *v, unsigned char **der,
    size_t len, time_t now, long next_fetch_ms)
{
	enum outcome kind = v->kind;
	char nu[32], rt[32];
	const char *why = v->why;
	bool changed;
	time_t keep_until = 0;

	pthread_mutex_lock(&st->mu);
	if (kind == OUT_GOOD || kind == OUT_REVOKED) {
		OPENSSL_free(st->der);
		st->der = *der;
		st->der_len = len;
		st->next_update = v->next_update;
		st->expiry_logged = false;
		*der = NULL;
	} else if (st->der != NULL &&
		   (st->next_update == 0 || now < st->next_update)) {
		kind = OUT_STALE;
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
	fmt_time(v->next_update, nu, sizeof(nu));
	if (!changed) {
		if (next_fetch_ms >= 0)
			log_debug("ocsp: %s: refreshed from %s: %s (next "
				  "update %s, next fetch in %ld s)",
			    st->label, st->src,
			    kind == OUT_GOOD	  ? "good"
			    : kind == OUT_REVOKED ? "revoked"
						  : why,
			    nu, next_fetch_ms / 1000);
		return;
	}
	switch (kind) {
	case OUT_GOOD:
		log_info("ocsp: %s: stapling good response from %s (next "
			 "update %s)",
		    st->label, st->src, nu);
		break;
	case OUT_REVOKED:
		log_warn("ocsp: %s: stapling revoked response from %s "
			 "(revoked %s, reason %s, next update %s)",
		    st->label, st->src, fmt_time(v->revoked_at, rt, sizeof(rt)),
		    v->reason >= 0 ? OCSP_crl_reason_str(v->reason)
				   : "none given",
		    nu);
		break;
	case OUT_STALE:
		if (keep_until != 0)
			log_warn("ocsp: %s: refresh failed: %s; stapling the "
				 "previous response until %s",
			    st->label, why,
			    fmt_time(keep_until, rt, sizeof(rt)));
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

/* ---------------------------------------------------------------- status cb */

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
		    st->label, fmt_time(expired, nu, sizeof(nu)), st->src);
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
	size_t n = 0, cap = 0;
	FILE *fp;

	fp = fopen(p->staple_file, "rb");
	if (fp == NULL) {
		attach_fail(d, p, line, "ocsp_staple_file",
		    "cannot open '%s': %s", p->staple_file, strerror(errno));
		return -1;
	}
	for (;;) {
		size_t r;

		if (n == cap) {
			unsigned char *nb;

			if (cap >= MAX_RESPONSE) {
				attach_fail(d, p, line, "ocsp_staple_file",
				    "'%s' is too large for an OCSP response",
				    p->staple_file);
				goto fail;
			}
			cap = cap == 0 ? 4096 : cap * 2;
			nb = OPENSSL_realloc(buf, cap);
			if (nb == NULL) {
				attach_fail(d, p, line, "ocsp_staple_file",
				    "out of memory");
				goto fail;
			}
			buf = nb;
		}
		r = fread(buf + n, 1, cap - n, fp);
		n += r;
		if (r == 0)
			break;
	}
	if (ferror(fp)) {
		attach_fail(d, p, line, "ocsp_staple_file",
		    "cannot read '%s': %s", p->staple_file, strerror(errno));
		goto fail;
	}
	fclose(fp);
	fp = NULL;
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
	if (fp != NULL)
		fclose(fp);
	OPENSSL_free(buf);
	return -1;
}

static void
once(void)
{
	pthread_once(&init_once, init);
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
	once();
	if (ex_index < 0 || !cv_ok) {
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
		struct verdict v;
		time_t now = time(NULL);

		check_response(st, der, der_len, now, &v);
		publish(st, &v, &der, der_len, now, -1);
	}
	OPENSSL_free(der);
	der = NULL;

	old = SSL_CTX_get_ex_data(ctx, ex_index);
	if (SSL_CTX_set_ex_data(ctx, ex_index, st) != 1) {
		attach_fail(d, p, line, key, "out of memory");
		goto fail;
	}
	state_unref(old);
	SSL_CTX_set_tlsext_status_cb(ctx, status_cb);
	SSL_CTX_set_tlsext_status_arg(ctx, st);
	return 0;
fail:
	OPENSSL_free(der);
	state_unref(st);
	return -1;
}

/* ---------------------------------------------------------------- fetch */

static bool
stopping(void)
{
	return atomic_load(&fetcher.stop);
}

/* Error classes of fetch_response. */
enum {
	FETCH_UNREACHABLE = -1, /* no connection, or no answer in time */
	FETCH_FAILED = -2,	/* the responder answered, but not with one */
};

/* OpenSSL's reasons for a failed exchange, as http_get_errors_fn. */
static const char *
exchange_errors(char *buf, size_t cap)
{
	tls_errors_str(buf, cap);
	if (buf[0] == '\0')
		snprintf(buf, cap, "no response");
	return buf;
}

/* Append " (via proxy HOST:PORT)" to why when res went through one. */
static void
add_via(const struct http_get_result *res, char *why, size_t cap)
{
	size_t n = strlen(why);

	if (res->proxy[0] != '\0' && n < cap)
		snprintf(why + n, cap - n, " (via proxy %s)", res->proxy);
}

/*
 * The reason of a failed http_get_fetch in the words of the OCSP log
 * lines, into why, with the proxy it went through. Returns its class.
 */
static int
fetch_why(const struct ocsp_state *st, const struct http_get_result *res,
    char *why, size_t cap)
{
	const char *where = res->addr[0] != '\0' ? res->addr : res->host;
	unsigned long e = res->ssl_err;
	int rc = FETCH_FAILED;

	switch (res->err) {
	case HTTP_GET_ERR_RESOLVE:
		snprintf(why, cap, "cannot resolve '%s': %s", res->host,
		    res->detail);
		rc = FETCH_UNREACHABLE;
		break;
	case HTTP_GET_ERR_CONNECT:
		snprintf(why, cap, "connect to %s port %s: %s", where,
		    res->port, res->detail);
		rc = FETCH_UNREACHABLE;
		break;
	case HTTP_GET_ERR_CONNECT_TIMEOUT:
		snprintf(why, cap, "connect to %s port %s: timed out", where,
		    res->port);
		rc = FETCH_UNREACHABLE;
		break;
	case HTTP_GET_ERR_PROTO:
		if (ERR_GET_LIB(e) != ERR_LIB_BIO ||
		    ERR_GET_REASON(e) != BIO_R_TRANSFER_TIMEOUT) {
			snprintf(why, cap, "%s", res->detail);
			break;
		}
		/* FALLTHROUGH */
	case HTTP_GET_ERR_TIMEOUT:
		snprintf(why, cap, "no answer within %ld s",
		    (st->timeout_ms + 999) / 1000);
		rc = FETCH_UNREACHABLE;
		break;
	case HTTP_GET_ERR_STATUS:
		/* "code=404, reason=Not Found" */
		snprintf(why, cap, "HTTP error %s", res->detail);
		break;
	case HTTP_GET_ERR_REQUEST:
		snprintf(why, cap, "%s", res->detail);
		break;
	case HTTP_GET_ERR_PROXY:
		snprintf(why, cap, "cannot parse http_proxy '%s'", res->detail);
		return rc;
	default:
		snprintf(why, cap, "%s", res->why);
		break;
	}
	add_via(res, why, cap);
	return rc;
}

/*
 * POST an OCSP request for st's certificate and read the DER answer,
 * through the proxy in http_proxy unless no_proxy exempts the responder
 * (as curl, wget and crl_fetch read them). Blocking, bounded by
 * st->timeout_ms; ocsp_shutdown cuts it short through cancel. Returns 0
 * with *der (OpenSSL heap) and *len, or FETCH_UNREACHABLE / FETCH_FAILED
 * with the reason in why.
 */
static int
fetch_response(const struct ocsp_state *st, struct http_get_cancel *cancel,
    unsigned char **der, size_t *len, char *why, size_t cap)
{
	int64_t deadline = mono_ms() + st->timeout_ms;
	struct http_get_result res;
	struct http_get_req hr;
	OCSP_REQUEST *req = NULL;
	unsigned char *reqder = NULL;
	int reqlen, rc = FETCH_FAILED;
	OCSP_CERTID *id;
	char err[256];

	*der = NULL;
	*len = 0;
	memset(&res, 0, sizeof(res));
	ERR_clear_error();
	req = OCSP_REQUEST_new();
	id = OCSP_CERTID_dup(st->id);
	if (req == NULL || id == NULL ||
	    OCSP_request_add0_id(req, id) == NULL) {
		OCSP_CERTID_free(id);
		snprintf(why, cap, "cannot build the request: out of memory");
		goto out;
	}
	reqlen = i2d_OCSP_REQUEST(req, &reqder);
	if (reqlen <= 0) {
		snprintf(why, cap, "cannot encode the request: %s",
		    tls_errors_str(err, sizeof(err)));
		goto out;
	}
	memset(&hr, 0, sizeof(hr));
	hr.url = st->src;
	hr.content_type = "application/ocsp-request";
	hr.body = reqder;
	hr.body_len = (size_t)reqlen;
	hr.expected_type = "application/ocsp-response";
	hr.asn1 = true;
	hr.max_len = MAX_RESPONSE;
	hr.deadline_ms = deadline;
	hr.cancel = cancel;
	hr.errors = exchange_errors;
	if (http_get_fetch(&hr, &res) != 0) {
		rc = fetch_why(st, &res, why, cap);
		goto out;
	}
	if (res.body_len == 0) {
		snprintf(why, cap, "empty answer");
		add_via(&res, why, cap);
		goto out;
	}
	*der = res.body;
	*len = res.body_len;
	res.body = NULL;
	rc = 0;
out:
	http_get_result_clear(&res);
	OPENSSL_free(reqder);
	OCSP_REQUEST_free(req);
	ERR_clear_error();
	return rc;
}

/* One fetch for st (fetch thread, no lock held). Returns the delay until
 * the next one, in ms. */
static long
refresh(struct ocsp_state *st)
{
	unsigned char *der = NULL;
	struct verdict v;
	char why[768];
	size_t len = 0;
	time_t now;
	long delay;
	int rc;

	memset(&v, 0, sizeof(v));
	rc = fetch_response(st, fetcher.cancel, &der, &len, why, sizeof(why));
	if (rc != 0) {
		if (stopping())
			return 0;
		v.kind = OUT_FAILED;
		snprintf(v.why, sizeof(v.why), "responder %s %s: %s", st->src,
		    rc == FETCH_UNREACHABLE ? "unreachable" : "failed", why);
	} else {
		check_response(st, der, len, time(NULL), &v);
	}
	now = time(NULL);
	delay = st->refresh_ms;
	if (v.kind == OUT_FAILED) {
		if (delay > RETRY_MS)
			delay = RETRY_MS;
	} else if (v.next_update != 0) {
		/* Refetch when 3/4 of the remaining validity has passed. */
		double left = difftime(v.next_update, now) * 1000.0 * 0.75;

		if (left < (double)delay)
			delay = (long)left;
		if (delay < MIN_REFRESH_MS)
			delay = st->refresh_ms < MIN_REFRESH_MS
				    ? st->refresh_ms
				    : MIN_REFRESH_MS;
	}
	publish(st, &v, &der, len, now, delay);
	OPENSSL_free(der);
	return delay;
}

static void *
fetch_main(void *arg MQ_UNUSED)
{
	pthread_mutex_lock(&fetcher.mu);
	while (!stopping()) {
		struct ocsp_state *st = NULL;
		int64_t now = mono_ms(), due = INT64_MAX;
		size_t i;
		long delay;

		for (i = 0; i < fetcher.n; i++) {
			struct ocsp_state *s = fetcher.v[i].st;

			if (!s->busy && s->due_ms < due) {
				due = s->due_ms;
				st = s;
			}
		}
		if (st == NULL) {
			pthread_cond_wait(&fetcher.cv, &fetcher.mu);
			continue;
		}
		if (due > now) {
			struct timespec ts;

			ts.tv_sec = (time_t)(due / 1000);
			ts.tv_nsec = (long)(due % 1000) * 1000000;
			pthread_cond_timedwait(&fetcher.cv, &fetcher.mu, &ts);
			continue;
		}
		st->busy = true;
		state_ref(st);
		pthread_mutex_unlock(&fetcher.mu);
		delay = refresh(st);
		pthread_mutex_lock(&fetcher.mu);
		st->busy = false;
		st->due_ms = mono_ms() + delay;
		state_unref(st);
	}
	pthread_mutex_unlock(&fetcher.mu);
	return NULL;
}

/* ---------------------------------------------------------------- activate */

/*
 * A new context for the same certificate and responder as one of the old
 * set (a reload) starts with the old one's response and schedule, so that
 * a reload does not leave a gap without a staple. fetcher.mu held.
 */
static bool
adopt(struct ocsp_state *st, const struct entry *old, size_t n)
{
	unsigned char *der = NULL;
	time_t next_update = 0;
	enum outcome logged = OUT_NONE;
	char why[sizeof(st->logged_why)];
	size_t i, len = 0;
	int64_t due = 0;

	for (i = 0; i < n; i++) {
		struct ocsp_state *o = old[i].st;

		if (o == st || OCSP_id_cmp(o->id, st->id) != 0 ||
		    strcmp(o->src, st->src) != 0)
			continue;
		pthread_mutex_lock(&o->mu);
		if (o->der != NULL) {
			der = OPENSSL_malloc(o->der_len);
			if (der != NULL) {
				memcpy(der, o->der, o->der_len);
				len = o->der_len;
			}
		}
		next_update = o->next_update;
		logged = o->logged;
		memcpy(why, o->logged_why, sizeof(why));
		pthread_mutex_unlock(&o->mu);
		due = o->busy ? mono_ms() : o->due_ms;
		if (due > mono_ms() + st->refresh_ms)
			due = mono_ms() + st->refresh_ms;
		break;
	}
	if (i == n)
		return false;
	pthread_mutex_lock(&st->mu);
	OPENSSL_free(st->der);
	st->der = der;
	st->der_len = len;
	st->next_update = next_update;
	st->logged = logged;
	memcpy(st->logged_why, why, sizeof(why));
	pthread_mutex_unlock(&st->mu);
	st->due_ms = due;
	return true;
}

/* Start fetch threads up to want, at most FETCH_THREADS. fetcher.mu held. */
static void
start_threads(size_t want)
{
	sigset_t all, old;
	int rc;

	if (want > FETCH_THREADS)
		want = FETCH_THREADS;
	/* ocsp_shutdown cuts the fetches short through it. */
	if (want > 0 && fetcher.cancel == NULL &&
	    (fetcher.cancel = http_get_cancel_new()) == NULL) {
		log_error("ocsp: cannot start a fetch thread: %s; OCSP "
			  "responses are not fetched",
		    strerror(errno));
		return;
	}
	/* Signals belong to the main thread. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	while ((size_t)fetcher.nthreads < want) {
		rc = pthread_create(
		    &fetcher.thread[fetcher.nthreads], NULL, fetch_main, NULL);
		if (rc != 0) {
			if (fetcher.nthreads == 0)
				log_error("ocsp: cannot start a fetch thread: "
					  "%s; OCSP responses are not fetched",
				    strerror(rc));
			break;
		}
		fetcher.nthreads++;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
}

void
ocsp_activate(SSL_CTX *const *v, size_t n)
{
	struct entry *nv, *ov;
	size_t i, nn = 0, on;

	once();
	nv = calloc(n > 0 ? n : 1, sizeof(*nv));
	if (nv == NULL) {
		log_error("ocsp: out of memory: OCSP responses of the new "
			  "certificates are not fetched");
		return;
	}
	pthread_mutex_lock(&fetcher.mu);
	fetcher.gen++;
	for (i = 0; i < n; i++) {
		struct ocsp_state *st = ctx_state(v[i]);

		if (st == NULL || !st->fetch || st->stamp == fetcher.gen ||
		    SSL_CTX_up_ref(v[i]) != 1)
			continue;
		st->stamp = fetcher.gen;
		atomic_store(&st->listed, true);
		nv[nn].ctx = v[i];
		nv[nn].st = st;
		nn++;
		if (!st->scheduled) {
			st->scheduled = true;
			if (!adopt(st, fetcher.v, fetcher.n))
				st->due_ms = mono_ms();
		}
	}
	for (i = 0; i < fetcher.n; i++)
		if (fetcher.v[i].st->stamp != fetcher.gen)
			atomic_store(&fetcher.v[i].st->listed, false);
	ov = fetcher.v;
	on = fetcher.n;
	fetcher.v = nv;
	fetcher.n = nn;
	if (cv_ok)
		start_threads(nn);
	pthread_cond_broadcast(&fetcher.cv);
	pthread_mutex_unlock(&fetcher.mu);

	for (i = 0; i < on; i++)
		SSL_CTX_free(ov[i].ctx);
	free(ov);
}

void
ocsp_shutdown(void)
{
	struct entry *ov;
	size_t i, on;
	int t, nthreads;

	pthread_mutex_lock(&fetcher.mu);
	atomic_store(&fetcher.stop, true);
	/* Wakes a fetch connecting or waiting for its responder's answer. */
	http_get_cancel_fire(fetcher.cancel);
	if (cv_ok)
		pthread_cond_broadcast(&fetcher.cv);
	nthreads = fetcher.nthreads;
	pthread_mutex_unlock(&fetcher.mu);
	for (t = 0; t < nthreads; t++)
		pthread_join(fetcher.thread[t], NULL);

	pthread_mutex_lock(&fetcher.mu);
	fetcher.nthreads = 0;
	http_get_cancel_free(fetcher.cancel);
	fetcher.cancel = NULL;
	atomic_store(&fetcher.stop, false);
	ov = fetcher.v;
	on = fetcher.n;
	fetcher.v = NULL;
	fetcher.n = 0;
	for (i = 0; i < on; i++)
		atomic_store(&ov[i].st->listed, false);
	pthread_mutex_unlock(&fetcher.mu);
	for (i = 0; i < on; i++)
		SSL_CTX_free(ov[i].ctx);
	free(ov);
}
