/*
 * ocsp: OCSP stapling for the server certificates mqgate serves. Either
 * fetches the response from the responder (the certificate's AIA or a
 * configured URL) on a background thread, verifies it against the issuer,
 * caches it and refreshes it before it goes stale; or loads a DER response
 * file that the operator refreshes. Workers only read the cached response
 * in the status callback (a short mutex); fetching never runs on an event
 * loop. The state of one certificate hangs off its SSL_CTX (ex_data) and
 * is freed with it.
 */
#ifndef MQGATE_OCSP_H
#define MQGATE_OCSP_H

#include <stdbool.h>
#include <stddef.h>

#include <openssl/ssl.h>

#include "diag.h"

struct ocsp_params {
	const char *label;	   /* e.g. "listener default cert tenant-a",
				      for log lines */
	const char *cfg_path;	   /* config file name, for diagnostics */
	int line;		   /* line to blame for stapling problems */
	int issuer_line;	   /* line of ocsp_issuer_file (or `line`) */
	int staple_file_line;	   /* line of ocsp_staple_file (or `line`) */
	bool fetch;		   /* ocsp_stapling = on */
	const char *responder_url; /* NULL = the leaf's AIA OCSP URL */
	const char *issuer_file;   /* NULL = the certificate after the leaf
				      in ctx's chain */
	const char *staple_file;   /* DER response to staple; NULL = none */
	long refresh_ms;	   /* ocsp_refresh_interval */
	long timeout_ms;	   /* per fetch */
};

/*
 * Set up stapling for ctx, whose certificate chain and key are already
 * loaded (main thread, at build time; never fetches here). Checks what can
 * be checked now and reports each problem to d as "cfg_path:line: key:
 * message": no issuer (neither a chain certificate nor ocsp_issuer_file),
 * unreadable issuer file, fetch wanted but no responder URL (no AIA and no
 * ocsp_responder_url), unreadable or unparsable staple_file. A staple file
 * that parses but is expired or does not verify is not an error: it is
 * logged (warn) and not stapled. On success installs the status callback
 * on ctx, which then owns the state (freed with ctx), and returns 0;
 * returns -1 otherwise (ctx unchanged apart from that).
 */
int ocsp_attach(SSL_CTX *ctx, const struct ocsp_params *p, struct diag *d);

/*
 * Main thread, after a generation has been published: keep the responses
 * of these contexts fresh (those without fetch stapling are skipped), and
 * stop refreshing the ones given in the previous call. Takes its own
 * SSL_CTX references and drops the previous ones. Starts the background
 * thread on first use; the first fetch of a new context starts at once.
 * A context carried over from the previous set keeps its cached response.
 */
void ocsp_activate(SSL_CTX *const *v, size_t n);

/* Stop the background thread and drop every reference (at exit). */
void ocsp_shutdown(void);

#endif
