/*
 * ocsp_verify: the verdict on one DER OCSP response for one certificate.
 * Owns nothing: it reads the read-only part of an ocsp_state (issuer,
 * trust store, certificate id, source) and fills a struct ocsp_verdict.
 * It must not lock, log, do I/O or read the clock; whoever fetched or
 * loaded the response publishes the verdict (ocsp_publish in ocsp.c).
 */
#include "build_config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/ocsp.h>
#include <openssl/x509.h>

#include "compat.h"
#include "ocsp_priv.h"
#include "ocsp_verify.h"
#include "tls_ctx.h"

/* Clock skew allowed on thisUpdate (and by OpenSSL on nextUpdate). */
static const long VALIDITY_LEEWAY_S = 300;

/* 0 when t is NULL or unreadable. */
static time_t
asn1_time(const ASN1_GENERALIZEDTIME *t)
{
	struct tm tm;

	if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1)
		return 0;
	return timegm(&tm);
}

static void verdict_fail(struct ocsp_verdict *v, const struct ocsp_state *st,
    const char *fmt, ...) MQ_PRINTF(3, 4);

static void
verdict_fail(
    struct ocsp_verdict *v, const struct ocsp_state *st, const char *fmt, ...)
{
	va_list ap;
	int n;

	v->kind = OCSP_OUT_FAILED;
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

void
ocsp_verify_response(const struct ocsp_state *st, const unsigned char *der,
    size_t len, time_t now, struct ocsp_verdict *v)
{
	const unsigned char *p = der;
	OCSP_RESPONSE *resp = NULL;
	OCSP_BASICRESP *bs = NULL;
	ASN1_GENERALIZEDTIME *thisupd = NULL, *nextupd = NULL, *revtime = NULL;
	char err[256], tbuf[32];
	int rs, status = -1, reason = -1;
	unsigned long e;

	memset(v, 0, sizeof(*v));
	v->kind = OCSP_OUT_FAILED;
	ERR_clear_error();
	if (len == 0 || len > OCSP_MAX_RESPONSE)
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
			    ocsp_fmt_time(v->next_update, tbuf, sizeof(tbuf)));
		else if (ERR_GET_REASON(e) == OCSP_R_STATUS_NOT_YET_VALID)
			verdict_fail(v, st,
			    "response not yet valid: this update is %s",
			    ocsp_fmt_time(
				asn1_time(thisupd), tbuf, sizeof(tbuf)));
		else
			verdict_fail(v, st, "response has bad times: %s",
			    tls_errors_str(err, sizeof(err)));
		goto done;
	}
	/* OpenSSL allows the leeway past nextUpdate too; clients do not. */
	if (v->next_update != 0 && v->next_update <= now) {
		verdict_fail(v, st, "response expired: next update was %s",
		    ocsp_fmt_time(v->next_update, tbuf, sizeof(tbuf)));
		goto done;
	}
	switch (status) {
	case V_OCSP_CERTSTATUS_GOOD:
		v->kind = OCSP_OUT_GOOD;
		break;
	case V_OCSP_CERTSTATUS_REVOKED:
		v->kind = OCSP_OUT_REVOKED;
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
	    len > OCSP_MAX_RESPONSE ? " (too large)" : "");
done:
	OCSP_BASICRESP_free(bs);
	OCSP_RESPONSE_free(resp);
	ERR_clear_error();
}
