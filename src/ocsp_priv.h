/*
 * ocsp_priv: what ocsp.c shares with its siblings ocsp_verify.c and
 * ocsp_refresh.c, and with nobody else: the per-certificate state, its
 * refcount and the cache of the response being stapled. ocsp.c owns the
 * state (creates it, frees it, writes the cache through ocsp_publish);
 * the siblings only read its set-up fields and the refresh scheduler's own
 * fields. Not for use outside src/ocsp*.c.
 */
#ifndef MQGATE_OCSP_PRIV_H
#define MQGATE_OCSP_PRIV_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <openssl/ocsp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

/* Bigger staple files or HTTP answers are refused; real ones are ~2 KiB. */
#define OCSP_MAX_RESPONSE ((size_t)1024 * 1024)

enum ocsp_outcome {
	OCSP_OUT_NONE,	  /* nothing known yet */
	OCSP_OUT_GOOD,	  /* stapling a good response */
	OCSP_OUT_REVOKED, /* stapling a revoked response */
	OCSP_OUT_STALE,	  /* refresh failed, previous response still stapled */
	OCSP_OUT_FAILED,  /* nothing stapled */
};

struct ocsp_verdict;

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
	enum ocsp_outcome logged;
	char logged_why[1024];

	/* Under the fetch scheduler's mutex (ocsp_refresh.c). */
	int64_t due_ms;	    /* next fetch, CLOCK_MONOTONIC */
	bool scheduled;	    /* has been in an activated set */
	bool busy;	    /* being fetched right now */
	unsigned stamp;	    /* fetcher.gen of the set it is in */
	atomic_bool listed; /* in the current set (logging only) */
};

/*
 * Set up what every entry point needs first (the SSL_CTX ex_data index
 * and, through ocsp_refresh_init, the scheduler's condition variable).
 * Runs once per process; any thread may call it any number of times.
 */
void ocsp_init(void);

/* Take one more reference to st (for a fetch thread holding it). */
void ocsp_state_ref(struct ocsp_state *st);

/* Drop one reference; the last one frees st. NULL is a no-op. */
void ocsp_state_unref(struct ocsp_state *st);

/* The state ocsp_attach hung off ctx (borrowed), or NULL. */
struct ocsp_state *ocsp_ctx_state(SSL_CTX *ctx);

/*
 * Format t as "YYYY-MM-DDTHH:MM:SSZ" into buf, or "none given" for 0 (and
 * "?" when it cannot be formatted). Returns buf.
 */
const char *ocsp_fmt_time(time_t t, char *buf, size_t cap);

/*
 * Make v the state of st. A good or revoked response replaces the cached
 * one (ownership of *der moves to st, *der becomes NULL); a failure keeps
 * the previous response while it is current, else drops it. Logs when the
 * outcome (or its reason) changed since the last line, at debug otherwise
 * (naming next_fetch_ms; negative = loaded, not fetched: no debug line).
 * Takes st->mu; any thread.
 */
void ocsp_publish(struct ocsp_state *st, const struct ocsp_verdict *v,
    unsigned char **der, size_t len, time_t now, long next_fetch_ms);

#endif
