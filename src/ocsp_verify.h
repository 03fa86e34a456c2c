/*
 * ocsp_verify: judges one DER OCSP response for one certificate: parsed,
 * successful, signed by the issuer or a responder it delegated to, about
 * this certificate, current. Reads only the read-only part of an
 * ocsp_state; takes no lock, does no I/O, logs nothing and reads no clock
 * (the caller passes the time). Private to src/ocsp*.c.
 */
#ifndef MQGATE_OCSP_VERIFY_H
#define MQGATE_OCSP_VERIFY_H

#include <stddef.h>
#include <time.h>

#include "ocsp_priv.h"

struct ocsp_verdict {
	enum ocsp_outcome kind; /* OCSP_OUT_GOOD, _REVOKED or _FAILED */
	time_t next_update;
	time_t revoked_at;
	int reason;
	char why[1024];
};

/*
 * Judge the len bytes at der for st's certificate at time now: it must be
 * a successful basic response, signed by the issuer or by a responder the
 * issuer delegated to, cover our certificate id and be current. Fills v;
 * v->kind is OCSP_OUT_GOOD, OCSP_OUT_REVOKED (both stapled) or
 * OCSP_OUT_FAILED with the reason in v->why (naming st->src). Borrows der;
 * leaves the OpenSSL error queue empty.
 */
void ocsp_verify_response(const struct ocsp_state *st, const unsigned char *der,
    size_t len, time_t now, struct ocsp_verdict *v);

#endif
