/*
 * ocsp_refresh: the fetch threads and their schedule. Owns the set of
 * contexts whose responses are kept fresh (with an SSL_CTX reference
 * each), up to FETCH_THREADS threads, and when each certificate is
 * fetched next. A fetch POSTs to the responder, has ocsp_verify judge the
 * answer and ocsp_publish (ocsp.c) make it the staple. Nothing here runs
 * on an event loop; it never touches a state's cache except to carry it
 * over to a reloaded context.
 */
#include "build_config.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ocsp.h>
#include <openssl/ssl.h>

#include "clock.h"
#include "compat.h"
#include "http_get.h"
#include "log.h"
#include "ocsp.h"
#include "ocsp_priv.h"
#include "ocsp_refresh.h"
#include "ocsp_verify.h"
#include "tls_ctx.h"

/* After a failed fetch, try again this soon (or at the refresh interval
 * when that is shorter). */
static const long RETRY_MS = 30000;
/* Never refetch sooner than this after a success, whatever nextUpdate. */
static const long MIN_REFRESH_MS = 5000;

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

static bool cv_ok;

/* ---------------------------------------------------------------- helpers */

bool
ocsp_refresh_init(void)
{
	pthread_condattr_t ca;

	if (pthread_condattr_init(&ca) != 0)
		return false;
	if (pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) == 0 &&
	    pthread_cond_init(&fetcher.cv, &ca) == 0)
		cv_ok = true;
	pthread_condattr_destroy(&ca);
	return cv_ok;
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
	int64_t deadline = clock_mono_ms() + st->timeout_ms;
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
	hr.max_len = OCSP_MAX_RESPONSE;
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
	struct ocsp_verdict v;
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
		v.kind = OCSP_OUT_FAILED;
		snprintf(v.why, sizeof(v.why), "responder %s %s: %s", st->src,
		    rc == FETCH_UNREACHABLE ? "unreachable" : "failed", why);
	} else {
		ocsp_verify_response(st, der, len, time(NULL), &v);
	}
	now = time(NULL);
	delay = st->refresh_ms;
	if (v.kind == OCSP_OUT_FAILED) {
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
	ocsp_publish(st, &v, &der, len, now, delay);
	OPENSSL_free(der);
	return delay;
}

static void *
fetch_main(void *arg MQ_UNUSED)
{
	pthread_mutex_lock(&fetcher.mu);
	while (!stopping()) {
		struct ocsp_state *st = NULL;
		int64_t now = clock_mono_ms(), due = INT64_MAX;
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
		ocsp_state_ref(st);
		pthread_mutex_unlock(&fetcher.mu);
		delay = refresh(st);
		pthread_mutex_lock(&fetcher.mu);
		st->busy = false;
		st->due_ms = clock_mono_ms() + delay;
		ocsp_state_unref(st);
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
	enum ocsp_outcome logged = OCSP_OUT_NONE;
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
		due = o->busy ? clock_mono_ms() : o->due_ms;
		if (due > clock_mono_ms() + st->refresh_ms)
			due = clock_mono_ms() + st->refresh_ms;
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

	ocsp_init();
	nv = calloc(n > 0 ? n : 1, sizeof(*nv));
	if (nv == NULL) {
		log_error("ocsp: out of memory: OCSP responses of the new "
			  "certificates are not fetched");
		return;
	}
	pthread_mutex_lock(&fetcher.mu);
	fetcher.gen++;
	for (i = 0; i < n; i++) {
		struct ocsp_state *st = ocsp_ctx_state(v[i]);

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
				st->due_ms = clock_mono_ms();
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
