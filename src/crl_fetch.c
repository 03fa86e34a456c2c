/*
 * crl_fetch: the process-wide cache of CRLs fetched over HTTP from the
 * client certificates' CRL Distribution Points, the fetcher threads that
 * fill and refresh it, and the X509_STORE lookup that hands its CRLs to
 * verification. Worker threads only take the cache mutex to look up or
 * queue a URL; they never wait for the network. This file reads no
 * configuration and builds no SSL_CTX (tls_ctx.c does both).
 */
#include "build_config.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "clock.h"
#include "compat.h"
#include "crl_fetch.h"
#include "http_get.h"
#include "log.h"

/* At most this many distribution points are cached; more are not fetched. */
static const size_t CACHE_MAX = 1024;
/* Largest CRL body accepted. */
static const size_t BODY_MAX = 64u << 20;
/* A failed fetch is retried after this long (or crl_refresh_interval when
 * that is shorter); so is a CRL whose next update has already passed. */
static const long RETRY_MS = 30000;
static const int REDIRECTS_MAX = 5;
/* Longest URL taken from a certificate or a redirect. */
enum { URL_MAX = 1024 };
/* Distribution point URIs looked at per certificate. */
enum { DPS_MAX = 8 };
/* Fetches that run at the same time (one thread each, started on demand). */
enum { FETCHERS = 4 };

static const long DEFAULT_REFRESH_MS = 900000;
static const long DEFAULT_TIMEOUT_MS = 15000;

/*
 * Static states for crl_fetch_missing(); the full reason goes to the log.
 */
static const char ST_PENDING[] = "pending";
static const char ST_EXPIRED[] = "expired";
static const char ST_BAD_URL[] = "failed: bad URL";
static const char ST_RESOLVE[] = "failed: cannot resolve host";
static const char ST_CONNECT[] = "failed: cannot connect";
static const char ST_TIMEOUT[] = "failed: timeout";
static const char ST_HTTP[] = "failed: HTTP error";
static const char ST_STATUS[] = "failed: HTTP error status";
static const char ST_REDIRECT[] = "failed: bad redirect";
static const char ST_TOO_LARGE[] = "failed: response too large";
static const char ST_NOT_CRL[] = "failed: not a CRL";
static const char ST_NOMEM[] = "failed: out of memory";
static const char ST_STOPPING[] = "failed: shutting down";
static const char ST_FULL[] = "failed: cache full";

/* One distribution point. Entries are only removed by crl_fetch_shutdown,
 * after the fetchers have stopped, so a fetcher may use one unlocked while
 * it is busy. */
struct entry {
	char *url;	   /* owned; immutable */
	X509_NAME *issuer; /* owned; of the first certificate naming url */
	X509_CRL *crl;	   /* owned; the last good CRL, NULL before one */
	unsigned char md[EVP_MAX_MD_SIZE]; /* SHA-256 of crl, zero-padded */
	const char *state; /* NULL = fine; else why the last fetch failed */
	bool busy;	   /* a fetcher has it */
	int64_t due_ms;	   /* monotonic time of the next fetch */
	long refresh_ms;   /* shortest crl_refresh_interval naming it */
	long timeout_ms;   /* longest crl_fetch_timeout naming it */
	time_t fetched_at; /* when crl was fetched */
	time_t expires_at; /* crl's next update; 0 = none */
};

/* Everything below is guarded by mu, except cancel which fetchers use
 * unlocked (it is made before the first and freed after the last), and
 * ex_idx which is set once. */
static struct {
	pthread_mutex_t mu;
	pthread_cond_t cv; /* on CLOCK_MONOTONIC */
	struct entry **v;
	size_t n, cap;
	pthread_t tid[FETCHERS];
	size_t nthreads;
	size_t nidle;
	struct http_get_cancel *cancel; /* cuts every fetch for shutdown */
	bool stopping;
	bool full_logged;
	bool spawn_logged;
} cache = {
	.mu = PTHREAD_MUTEX_INITIALIZER,
};

static pthread_once_t once = PTHREAD_ONCE_INIT;
static bool init_ok;
static int ex_idx = -1;	    /* X509_STORE: a struct crl_fetch_params */
static int ctx_ex_idx = -1; /* X509_STORE_CTX: a struct seen */

struct fetch_result {
	X509_CRL *crl;	   /* owned; set on success */
	const char *state; /* static; set on failure */
	char why[320];	   /* the failure in full */
};

struct dp {
	const char *p; /* into the certificate's decoded extension */
	size_t len;
};

/*
 * What the last CRL lookup of a verification found missing, kept on its
 * X509_STORE_CTX: crl_fetch_missing runs just after the lookup and must
 * not be misled by a fetch that completed in between.
 */
struct seen {
	const X509 *cert;  /* the certificate looked up for */
	int depth;	   /* at this depth */
	const char *state; /* static; NULL = no CRL was missing */
	char url[URL_MAX + 1];
};

static void
params_free_cb(void *parent MQ_UNUSED, void *ptr, CRYPTO_EX_DATA *ad MQ_UNUSED,
    int idx MQ_UNUSED, long argl MQ_UNUSED, void *argp MQ_UNUSED)
{
	free(ptr);
}

static void
seen_free_cb(void *parent MQ_UNUSED, void *ptr, CRYPTO_EX_DATA *ad MQ_UNUSED,
    int idx MQ_UNUSED, long argl MQ_UNUSED, void *argp MQ_UNUSED)
{
	free(ptr);
}

static void
init_once(void)
{
	pthread_condattr_t ca;

	if (pthread_condattr_init(&ca) != 0)
		return;
	if (pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) != 0 ||
	    pthread_cond_init(&cache.cv, &ca) != 0) {
		pthread_condattr_destroy(&ca);
		return;
	}
	pthread_condattr_destroy(&ca);
	ex_idx =
	    X509_STORE_get_ex_new_index(0, NULL, NULL, NULL, params_free_cb);
	ctx_ex_idx =
	    X509_STORE_CTX_get_ex_new_index(0, NULL, NULL, NULL, seen_free_cb);
	init_ok = ex_idx >= 0 && ctx_ex_idx >= 0;
}

static const char *
tm_str(const struct tm *tm, char *buf, size_t cap)
{
	if (strftime(buf, cap, "%Y-%m-%dT%H:%M:%SZ", tm) == 0)
		snprintf(buf, cap, "?");
	return buf;
}

static const char *
asn1_time_str(const ASN1_TIME *t, char *buf, size_t cap)
{
	struct tm tm;

	if (t == NULL) {
		snprintf(buf, cap, "none");
		return buf;
	}
	if (ASN1_TIME_to_tm(t, &tm) != 1) {
		ERR_clear_error();
		snprintf(buf, cap, "?");
		return buf;
	}
	return tm_str(&tm, buf, cap);
}

static const char *
time_str(time_t t, char *buf, size_t cap)
{
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL) {
		snprintf(buf, cap, "?");
		return buf;
	}
	return tm_str(&tm, buf, cap);
}

/* t as a time_t; 0 when absent or unreadable. */
static time_t
asn1_time_t(const ASN1_TIME *t)
{
	struct tm tm;

	if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1) {
		ERR_clear_error();
		return 0;
	}
	return timegm(&tm);
}

/* What crl_fetch_missing says of e, or NULL when e has a current CRL. */
static const char *
missing_state_locked(const struct entry *e, time_t now)
{
	if (e->crl == NULL)
		return e->state != NULL ? e->state : ST_PENDING;
	if (e->expires_at != 0 && e->expires_at <= now)
		return e->state != NULL ? e->state : ST_EXPIRED;
	return NULL;
}

/* --- the cache (mu held) --- */

static struct entry *
find_locked(const char *url, size_t len)
{
	size_t i;

	for (i = 0; i < cache.n; i++) {
		struct entry *e = cache.v[i];

		if (strlen(e->url) == len && memcmp(e->url, url, len) == 0)
			return e;
	}
	return NULL;
}

static void
entry_free(struct entry *e)
{
	if (e == NULL)
		return;
	X509_CRL_free(e->crl);
	X509_NAME_free(e->issuer);
	free(e->url);
	free(e);
}

static void *fetcher_main(void *arg);

/* Start one more fetcher. Signals stay with the main thread. */
static void
spawn_locked(void)
{
	sigset_t all, old;
	size_t i = cache.nthreads;
	int rc;

	if (i >= FETCHERS || cache.stopping)
		return;
	if (cache.cancel == NULL &&
	    (cache.cancel = http_get_cancel_new()) == NULL) {
		rc = errno;
		goto failed;
	}
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&cache.tid[i], NULL, fetcher_main, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc == 0) {
		cache.nthreads++;
		return;
	}
failed:
	if (!cache.spawn_logged)
		log_error("crl: cannot start a CRL fetch thread: %s "
			  "(will try again with the next new distribution "
			  "point)",
		    strerror(rc));
	cache.spawn_logged = true;
}

/* Wake a fetcher for newly due work, starting one if none is idle. */
static void
kick_locked(void)
{
	int64_t now = clock_mono_ms();
	size_t i, due = 0;

	for (i = 0; i < cache.n; i++)
		if (!cache.v[i]->busy && cache.v[i]->due_ms <= now)
			due++;
	if (due > cache.nidle)
		spawn_locked();
	pthread_cond_broadcast(&cache.cv);
}

/* Add url (len bytes) to the cache, due now. */
static void
queue_locked(const char *url, size_t len, const X509_NAME *issuer,
    const struct crl_fetch_params *p)
{
	struct entry *e;

	if (cache.stopping)
		return;
	if (cache.n >= CACHE_MAX) {
		if (!cache.full_logged)
			log_warn("crl: cache full (%zu distribution points): "
				 "not fetching %.*s; further ones are not "
				 "logged",
			    CACHE_MAX, (int)len, url);
		cache.full_logged = true;
		return;
	}
	if (cache.n == cache.cap) {
		size_t cap = cache.cap > 0 ? cache.cap * 2 : 16;
		struct entry **v = realloc(cache.v, cap * sizeof(*v));

		if (v == NULL)
			return;
		cache.v = v;
		cache.cap = cap;
	}
	e = calloc(1, sizeof(*e));
	if (e == NULL)
		return;
	e->url = strndup(url, len);
	e->issuer = X509_NAME_dup(issuer);
	if (e->url == NULL || e->issuer == NULL) {
		ERR_clear_error();
		entry_free(e);
		return;
	}
	e->due_ms = clock_mono_ms();
	e->refresh_ms = p->refresh_ms > 0 ? p->refresh_ms : DEFAULT_REFRESH_MS;
	e->timeout_ms = p->timeout_ms > 0 ? p->timeout_ms : DEFAULT_TIMEOUT_MS;
	cache.v[cache.n++] = e;
	log_debug("crl: queued the first fetch of %s", e->url);
	kick_locked();
}

/* A listener with a shorter refresh interval or a longer timeout also uses
 * e: the shortest interval and the longest timeout apply. */
static void
adopt_params_locked(struct entry *e, const struct crl_fetch_params *p)
{
	if (p->timeout_ms > e->timeout_ms)
		e->timeout_ms = p->timeout_ms;
	if (p->refresh_ms > 0 && p->refresh_ms < e->refresh_ms) {
		int64_t due = clock_mono_ms() + p->refresh_ms;

		e->refresh_ms = p->refresh_ms;
		if (!e->busy && e->crl != NULL && e->due_ms > due) {
			e->due_ms = due;
			pthread_cond_broadcast(&cache.cv);
		}
	}
}

/* --- certificates --- */

/*
 * The http:// URIs among the full names of x's CRL distribution points,
 * without repeats, at most DPS_MAX. The slices point into *dps, which the
 * caller frees with CRL_DIST_POINTS_free (NULL when x has none).
 */
static size_t
http_dps(X509 *x, CRL_DIST_POINTS **dps, struct dp out[DPS_MAX])
{
	size_t n = 0, k;
	int i, j;

	ERR_set_mark();
	*dps = X509_get_ext_d2i(x, NID_crl_distribution_points, NULL, NULL);
	ERR_pop_to_mark();
	for (i = 0; i < sk_DIST_POINT_num(*dps) && n < DPS_MAX; i++) {
		const DIST_POINT *dp = sk_DIST_POINT_value(*dps, i);
		GENERAL_NAMES *names;

		if (dp->distpoint == NULL || dp->distpoint->type != 0)
			continue;
		names = dp->distpoint->name.fullname;
		for (j = 0; j < sk_GENERAL_NAME_num(names) && n < DPS_MAX;
		     j++) {
			const ASN1_IA5STRING *s;
			const unsigned char *d;
			int type, len;
			bool clean = true;

			s = GENERAL_NAME_get0_value(
			    sk_GENERAL_NAME_value(names, j), &type);
			if (type != GEN_URI || s == NULL)
				continue;
			d = ASN1_STRING_get0_data(s);
			len = ASN1_STRING_length(s);
			if (len <= 7 || (size_t)len > URL_MAX ||
			    memcmp(d, "http://", 7) != 0)
				continue;
			/* It goes into a request line and the log. */
			for (k = 0; k < (size_t)len; k++)
				if (d[k] <= 0x20 || d[k] >= 0x7f)
					clean = false;
			for (k = 0; k < n && clean; k++)
				if (out[k].len == (size_t)len &&
				    memcmp(out[k].p, d, (size_t)len) == 0)
					clean = false;
			if (!clean)
				continue;
			out[n].p = (const char *)d;
			out[n].len = (size_t)len;
			n++;
		}
	}
	return n;
}

/*
 * True when every signature from chain[i] up to a certificate from the
 * trust store verifies. Revocation is checked before the chain's
 * signatures are, so without this any client could make us fetch URLs of
 * its choosing and fill the cache.
 */
static bool
path_trusted(const X509_STORE_CTX *ctx, int i)
{
	STACK_OF(X509) *chain = X509_STORE_CTX_get0_chain(ctx);
	int n = sk_X509_num(chain);
	int untrusted = X509_STORE_CTX_get_num_untrusted(ctx);
	bool ok = true;

	if (i < 0 || i >= n || untrusted >= n)
		return false;
	ERR_set_mark();
	for (; i < untrusted && ok; i++) {
		EVP_PKEY *k = X509_get0_pubkey(sk_X509_value(chain, i + 1));

		ok = k != NULL && X509_verify(sk_X509_value(chain, i), k) == 1;
	}
	ERR_pop_to_mark();
	return ok;
}

/*
 * Queue the fetch of chain[i]'s distribution points dp[0..n) that are not
 * in the cache; those that are adopt p.
 */
static void
queue_points(const X509_STORE_CTX *ctx, int i, const X509 *x,
    const struct dp *dp, size_t n, const struct crl_fetch_params *p)
{
	size_t k, nnew = 0;

	pthread_mutex_lock(&cache.mu);
	for (k = 0; k < n; k++) {
		struct entry *e = find_locked(dp[k].p, dp[k].len);

		if (e != NULL)
			adopt_params_locked(e, p);
		else
			nnew++;
	}
	pthread_mutex_unlock(&cache.mu);
	/* Verify outside the lock, and only for points not seen yet. */
	if (nnew > 0 && path_trusted(ctx, i)) {
		pthread_mutex_lock(&cache.mu);
		for (k = 0; k < n; k++)
			if (find_locked(dp[k].p, dp[k].len) == NULL)
				queue_locked(dp[k].p, dp[k].len,
				    X509_get_issuer_name(x), p);
		pthread_mutex_unlock(&cache.mu);
	}
}

/* queue_points for chain[i], its points read here. */
static void
queue_dps(const X509_STORE_CTX *ctx, int i, const struct crl_fetch_params *p)
{
	X509 *x = sk_X509_value(X509_STORE_CTX_get0_chain(ctx), i);
	CRL_DIST_POINTS *dps = NULL;
	struct dp dp[DPS_MAX];
	size_t n;

	if (x == NULL)
		return;
	n = http_dps(x, &dps, dp);
	queue_points(ctx, i, x, dp, n, p);
	CRL_DIST_POINTS_free(dps);
}

/*
 * The state of the first of x's points dp[0..n) without a current CRL
 * (its URL into url), or, when x names none (a root, under crl_check =
 * chain), of a point expected to serve x's issuer, fetched for another
 * certificate. NULL when nothing is missing.
 */
static const char *
missing_locked(
    const X509 *x, const struct dp *dp, size_t n, char *url, size_t cap)
{
	time_t now = time(NULL);
	const char *st;
	size_t i;

	for (i = 0; i < n; i++) {
		const struct entry *e = find_locked(dp[i].p, dp[i].len);

		if (e == NULL && cache.n >= CACHE_MAX) {
			snprintf(url, cap, "%.*s", (int)dp[i].len, dp[i].p);
			return ST_FULL;
		}
		if (e != NULL && (st = missing_state_locked(e, now)) != NULL) {
			snprintf(url, cap, "%s", e->url);
			return st;
		}
	}
	for (i = 0; n == 0 && i < cache.n; i++) {
		const struct entry *e = cache.v[i];

		if (X509_NAME_cmp(e->issuer, X509_get_issuer_name(x)) == 0 &&
		    (st = missing_state_locked(e, now)) != NULL) {
			snprintf(url, cap, "%s", e->url);
			return st;
		}
	}
	return NULL;
}

/* --- verification (worker threads) --- */

/*
 * The store's own CRLs for issuer, plus every cached CRL from that issuer.
 * Queues the fetch of the current certificate's distribution points that
 * are not cached yet; with crl_check = chain, at the leaf, those of the
 * whole chain, so that one handshake starts every fetch it will need.
 * Notes on ctx what is missing, for crl_fetch_missing. Returns NULL when
 * there is no CRL.
 */
static STACK_OF(X509_CRL) *
    lookup_crls_cb(const X509_STORE_CTX *ctx, const X509_NAME *issuer)
{
	STACK_OF(X509_CRL) *sk = X509_STORE_CTX_get1_crls(ctx, issuer);
	X509_STORE *store = X509_STORE_CTX_get0_store(ctx);
	const struct crl_fetch_params *p = NULL;
	STACK_OF(X509) *chain = X509_STORE_CTX_get0_chain(ctx);
	int depth = X509_STORE_CTX_get_error_depth(ctx), d, last = depth;
	/* OpenSSL hands lookups a const context, but its ex_data is ours
	 * to set: only this thread uses it. */
	X509_STORE_CTX *wctx = (X509_STORE_CTX *)(uintptr_t)ctx;
	CRL_DIST_POINTS *dps = NULL;
	struct dp dp[DPS_MAX];
	struct seen *seen;
	X509 *x;
	size_t i, n;

	if (store != NULL && ex_idx >= 0)
		p = X509_STORE_get_ex_data(store, ex_idx);
	x = sk_X509_value(chain, depth);
	if (p == NULL || x == NULL || x != X509_STORE_CTX_get_current_cert(ctx))
		return sk;
	if (sk == NULL && (sk = sk_X509_CRL_new_null()) == NULL)
		return NULL;
	seen = X509_STORE_CTX_get_ex_data(ctx, ctx_ex_idx);
	if (seen == NULL && (seen = calloc(1, sizeof(*seen))) != NULL &&
	    X509_STORE_CTX_set_ex_data(wctx, ctx_ex_idx, seen) != 1) {
		ERR_clear_error();
		free(seen);
		seen = NULL;
	}

	n = http_dps(x, &dps, dp);
	queue_points(ctx, depth, x, dp, n, p);
	if (depth == 0 &&
	    (X509_VERIFY_PARAM_get_flags(X509_STORE_CTX_get0_param(ctx)) &
		X509_V_FLAG_CRL_CHECK_ALL) != 0)
		last = sk_X509_num(chain) - 1;
	for (d = depth + 1; d <= last; d++)
		queue_dps(ctx, d, p);

	pthread_mutex_lock(&cache.mu);
	for (i = 0; i < cache.n; i++) {
		X509_CRL *crl = cache.v[i]->crl;

		if (crl == NULL ||
		    X509_NAME_cmp(X509_CRL_get_issuer(crl), issuer) != 0)
			continue;
		if (!X509_CRL_up_ref(crl))
			continue;
		if (sk_X509_CRL_push(sk, crl) <= 0)
			X509_CRL_free(crl);
	}
	if (seen != NULL) {
		seen->cert = x;
		seen->depth = depth;
		seen->state =
		    missing_locked(x, dp, n, seen->url, sizeof(seen->url));
	}
	pthread_mutex_unlock(&cache.mu);
	CRL_DIST_POINTS_free(dps);

	if (sk_X509_CRL_num(sk) <= 0) {
		sk_X509_CRL_free(sk);
		return NULL;
	}
	return sk;
}

int
crl_fetch_attach(X509_STORE *store, const struct crl_fetch_params *p)
{
	struct crl_fetch_params *copy, *old;

	if (pthread_once(&once, init_once) != 0 || !init_ok)
		return -1;
	copy = malloc(sizeof(*copy));
	if (copy == NULL)
		return -1;
	*copy = *p;
	old = X509_STORE_get_ex_data(store, ex_idx);
	if (X509_STORE_set_ex_data(store, ex_idx, copy) != 1) {
		ERR_clear_error();
		free(copy);
		return -1;
	}
	free(old);
	X509_STORE_set_lookup_crls(store, lookup_crls_cb);
	return 0;
}

bool
crl_fetch_missing(
    X509_STORE_CTX *ctx, char *url, size_t cap, const char **state)
{
	X509 *x = X509_STORE_CTX_get_current_cert(ctx);
	const struct seen *seen;
	CRL_DIST_POINTS *dps = NULL;
	struct dp dp[DPS_MAX];
	const char *st;
	size_t n;

	if (x == NULL || pthread_once(&once, init_once) != 0 || !init_ok)
		return false;
	/* What the lookup saw, when it was about this certificate. */
	seen = X509_STORE_CTX_get_ex_data(ctx, ctx_ex_idx);
	if (seen != NULL && seen->cert == x &&
	    seen->depth == X509_STORE_CTX_get_error_depth(ctx)) {
		if (seen->state == NULL)
			return false;
		snprintf(url, cap, "%s", seen->url);
		*state = seen->state;
		return true;
	}
	n = http_dps(x, &dps, dp);
	pthread_mutex_lock(&cache.mu);
	st = missing_locked(x, dp, n, url, cap);
	pthread_mutex_unlock(&cache.mu);
	CRL_DIST_POINTS_free(dps);
	if (st == NULL)
		return false;
	*state = st;
	return true;
}

/* --- fetching (fetcher threads, mu not held) --- */

static int
no_password_cb(char *buf MQ_UNUSED, int size MQ_UNUSED, int rwflag MQ_UNUSED,
    void *u MQ_UNUSED)
{
	return -1;
}

/* A CRL in DER, or the first one in PEM. */
static X509_CRL *
parse_crl(const unsigned char *buf, size_t len)
{
	const unsigned char *p = buf;
	X509_CRL *crl;
	BIO *b;

	if (len == 0 || len > INT_MAX)
		return NULL;
	ERR_set_mark();
	crl = d2i_X509_CRL(NULL, &p, (long)len);
	if (crl == NULL && (b = BIO_new_mem_buf(buf, (int)len)) != NULL) {
		crl = PEM_read_bio_X509_CRL(b, NULL, no_password_cb, NULL);
		BIO_free(b);
	}
	ERR_pop_to_mark();
	return crl;
}

/* The crl_fetch_missing word for a failed http_get_fetch. */
static const char *
fetch_state(enum http_get_err err)
{
	switch (err) {
	case HTTP_GET_ERR_URL:
	case HTTP_GET_ERR_PROXY:
		return ST_BAD_URL;
	case HTTP_GET_ERR_RESOLVE:
		return ST_RESOLVE;
	case HTTP_GET_ERR_CONNECT:
		return ST_CONNECT;
	case HTTP_GET_ERR_CONNECT_TIMEOUT:
	case HTTP_GET_ERR_TIMEOUT:
		return ST_TIMEOUT;
	case HTTP_GET_ERR_STATUS:
		return ST_STATUS;
	case HTTP_GET_ERR_REDIRECT:
		return ST_REDIRECT;
	case HTTP_GET_ERR_TOO_LARGE:
		return ST_TOO_LARGE;
	case HTTP_GET_ERR_NOMEM:
		return ST_NOMEM;
	case HTTP_GET_ERR_CANCELED:
		return ST_STOPPING;
	default:
		return ST_HTTP;
	}
}

/*
 * GET url within timeout_ms, following up to REDIRECTS_MAX redirects,
 * through http_proxy unless no_proxy exempts it. On success r->crl is
 * set; otherwise r tells why it failed.
 */
static void
fetch(const char *url, long timeout_ms, struct fetch_result *r)
{
	struct http_get_result res;
	struct http_get_req req;

	memset(&req, 0, sizeof(req));
	req.url = url;
	req.max_len = BODY_MAX;
	req.deadline_ms = clock_mono_ms() + timeout_ms;
	req.max_redirects = REDIRECTS_MAX;
	req.cancel = cache.cancel;
	if (http_get_fetch(&req, &res) != 0) {
		r->state = fetch_state(res.err);
		snprintf(r->why, sizeof(r->why), "%s", res.why);
	} else if ((r->crl = parse_crl(res.body, res.body_len)) == NULL) {
		r->state = ST_NOT_CRL;
		snprintf(r->why, sizeof(r->why),
		    "the response (%zu bytes) is not a CRL in DER or PEM",
		    res.body_len);
	}
	http_get_result_clear(&res);
}

/* How long to keep a CRL: the refresh interval, or less when its next
 * update comes sooner (but not less than the retry delay). */
static long
keep_ms(const X509_CRL *crl, long refresh_ms)
{
	const ASN1_TIME *nu = X509_CRL_get0_nextUpdate(crl);
	long floor_ms = refresh_ms < RETRY_MS ? refresh_ms : RETRY_MS;
	int days, secs;
	int64_t until;

	if (nu == NULL || ASN1_TIME_diff(&days, &secs, NULL, nu) != 1) {
		ERR_clear_error();
		return refresh_ms;
	}
	until = ((int64_t)days * 86400 + secs) * 1000;
	if (until >= refresh_ms)
		return refresh_ms;
	return until > floor_ms ? (long)until : floor_ms;
}

/* A fetched CRL into e (mu held); fills the log line to write once
 * unlocked and returns its level. */
static enum log_level
took_crl_locked(struct entry *e, struct fetch_result *r, char *msg, size_t cap)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	bool changed, was_failing = e->state != NULL;
	STACK_OF(X509_REVOKED) *rev = X509_CRL_get_REVOKED(r->crl);
	const ASN1_TIME *nu = X509_CRL_get0_nextUpdate(r->crl);
	bool stale = nu != NULL && X509_cmp_current_time(nu) < 0;
	bool other = X509_NAME_cmp(X509_CRL_get_issuer(r->crl), e->issuer) != 0;
	char t[40], is[160], want[160], note[400] = "";

	memset(md, 0, sizeof(md));
	if (X509_CRL_digest(r->crl, EVP_sha256(), md, &mdlen) != 1)
		memset(md, 0, sizeof(md));
	ERR_clear_error();
	changed = e->crl == NULL || memcmp(md, e->md, sizeof(md)) != 0;
	X509_CRL_free(e->crl);
	e->crl = r->crl;
	r->crl = NULL;
	memcpy(e->md, md, sizeof(md));
	e->state = NULL;
	e->fetched_at = time(NULL);
	e->expires_at = asn1_time_t(nu);
	e->due_ms = clock_mono_ms() + keep_ms(e->crl, e->refresh_ms);
	asn1_time_str(nu, t, sizeof(t));
	if (!changed && !was_failing) {
		snprintf(msg, cap,
		    "crl: refreshed %s (unchanged, next update %s)", e->url, t);
		return LOG_LEVEL_DEBUG;
	}
	if (stale)
		snprintf(
		    note, sizeof(note), "; already past: the CRL is stale");
	/* Verification only uses a CRL from the certificate's issuer. */
	if (other) {
		const char *a = X509_NAME_oneline(
		    X509_CRL_get_issuer(e->crl), is, sizeof(is));
		const char *b =
		    X509_NAME_oneline(e->issuer, want, sizeof(want));

		ERR_clear_error();
		snprintf(note + strlen(note), sizeof(note) - strlen(note),
		    "; issued by %s, not by %s, the issuer of the certificate "
		    "naming it",
		    a != NULL ? a : "?", b != NULL ? b : "?");
	}
	snprintf(msg, cap, "crl: fetched %s (%d revoked, next update %s%s)",
	    e->url, rev != NULL ? sk_X509_REVOKED_num(rev) : 0, t, note);
	return stale || other ? LOG_LEVEL_WARN : LOG_LEVEL_INFO;
}

/* A failed fetch into e (mu held), as took_crl_locked. The first failure,
 * or one for another reason, is a warning; repeats are debug. */
static enum log_level
failed_locked(
    struct entry *e, const struct fetch_result *r, char *msg, size_t cap)
{
	long retry = e->refresh_ms < RETRY_MS ? e->refresh_ms : RETRY_MS;
	bool repeat = e->state == r->state;
	char t[40];

	e->state = r->state;
	e->due_ms = clock_mono_ms() + retry;
	if (e->crl != NULL)
		snprintf(msg, cap,
		    "crl: fetch of %s failed: %s (keeping the CRL fetched %s; "
		    "next try in %ld s)",
		    e->url, r->why, time_str(e->fetched_at, t, sizeof(t)),
		    (retry + 999) / 1000);
	else
		snprintf(msg, cap,
		    "crl: fetch of %s failed: %s (next try in %ld s)", e->url,
		    r->why, (retry + 999) / 1000);
	return repeat ? LOG_LEVEL_DEBUG : LOG_LEVEL_WARN;
}

/* The due entry with the earliest time, or NULL (mu held). */
static struct entry *
next_locked(void)
{
	struct entry *best = NULL;
	size_t i;

	for (i = 0; i < cache.n; i++) {
		struct entry *e = cache.v[i];

		if (!e->busy && (best == NULL || e->due_ms < best->due_ms))
			best = e;
	}
	return best;
}

static void *
fetcher_main(void *arg MQ_UNUSED)
{
	char msg[1024];

	pthread_mutex_lock(&cache.mu);
	while (!cache.stopping) {
		struct entry *e = next_locked();
		struct fetch_result r;
		enum log_level lv;
		long timeout_ms;

		if (e == NULL || e->due_ms > clock_mono_ms()) {
			cache.nidle++;
			if (e == NULL) {
				pthread_cond_wait(&cache.cv, &cache.mu);
			} else {
				struct timespec ts;

				ts.tv_sec = (time_t)(e->due_ms / 1000);
				ts.tv_nsec = (long)(e->due_ms % 1000) * 1000000;
				pthread_cond_timedwait(
				    &cache.cv, &cache.mu, &ts);
			}
			cache.nidle--;
			continue;
		}
		e->busy = true;
		timeout_ms = e->timeout_ms;
		pthread_mutex_unlock(&cache.mu);

		memset(&r, 0, sizeof(r));
		log_debug("crl: fetching %s", e->url);
		fetch(e->url, timeout_ms, &r);

		pthread_mutex_lock(&cache.mu);
		e->busy = false;
		if (r.state == ST_STOPPING && cache.stopping) {
			X509_CRL_free(r.crl);
			break;
		}
		if (r.crl != NULL)
			lv = took_crl_locked(e, &r, msg, sizeof(msg));
		else
			lv = failed_locked(e, &r, msg, sizeof(msg));
		X509_CRL_free(r.crl);
		pthread_mutex_unlock(&cache.mu);
		if (lv != LOG_LEVEL_DEBUG)
			log_msg(lv, "%s", msg);
		else
			log_debug("%s", msg);
		pthread_mutex_lock(&cache.mu);
	}
	pthread_mutex_unlock(&cache.mu);
	return NULL;
}

void
crl_fetch_shutdown(void)
{
	size_t i, n;

	if (pthread_once(&once, init_once) != 0 || !init_ok)
		return;
	pthread_mutex_lock(&cache.mu);
	cache.stopping = true;
	pthread_cond_broadcast(&cache.cv);
	http_get_cancel_fire(cache.cancel);
	n = cache.nthreads;
	pthread_mutex_unlock(&cache.mu);

	for (i = 0; i < n; i++)
		pthread_join(cache.tid[i], NULL);

	pthread_mutex_lock(&cache.mu);
	for (i = 0; i < cache.n; i++)
		entry_free(cache.v[i]);
	free(cache.v);
	cache.v = NULL;
	cache.n = cache.cap = 0;
	cache.nthreads = cache.nidle = 0;
	http_get_cancel_free(cache.cancel);
	cache.cancel = NULL;
	cache.full_logged = cache.spawn_logged = false;
	cache.stopping = false;
	pthread_mutex_unlock(&cache.mu);
}
