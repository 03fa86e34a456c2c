/*
 * crl_fetch: CRLs fetched over HTTP from the client certificates' CRL
 * Distribution Points. A process-wide cache (URL -> CRL, under a mutex) is
 * filled and refreshed by a background thread; verification on the worker
 * threads only looks the cache up and never waits for the network. The
 * first handshake that names an unknown distribution point queues its
 * fetch; until the CRL is cached, the verify callback (tls_ctx.c) asks
 * crl_fetch_missing() and applies crl_missing.
 */
#ifndef MQGATE_CRL_FETCH_H
#define MQGATE_CRL_FETCH_H

#include <stdbool.h>
#include <stddef.h>

#include <openssl/x509.h>

struct crl_fetch_params {
	long refresh_ms; /* crl_refresh_interval */
	long timeout_ms; /* crl_fetch_timeout */
};

/*
 * Make verification through store also look up CRLs fetched from the
 * certificates' http:// distribution points, besides the CRLs loaded into
 * the store (crlfile). The store keeps a copy of p. Does no I/O. The
 * caller sets the CRL-check flags on the store. Returns 0, or -1 when out
 * of memory.
 */
int crl_fetch_attach(X509_STORE *store, const struct crl_fetch_params *p);

/*
 * For the verify callback, when the error at ctx is
 * X509_V_ERR_UNABLE_TO_GET_CRL or X509_V_ERR_CRL_HAS_EXPIRED: true if the
 * current certificate names an http:// distribution point whose CRL is
 * not cached or is past its next update (its fetch is queued, running, or
 * failed); then url gets that URL (cut at cap) and *state a static word:
 * "pending", "expired" or "failed: <short reason>". False when the CRL is
 * simply not there for another reason: no distribution point, or one that
 * was never queued because the certificate's signatures do not verify up
 * to the trust store (a forged certificate gets nothing fetched).
 */
bool crl_fetch_missing(X509_STORE_CTX *ctx, char *url, size_t cap,
    const char **state);

/* Stop the background thread and free the cache (at exit). */
void crl_fetch_shutdown(void);

#endif
