/*
 * tls_info: copies what a finished handshake established (version, cipher,
 * SNI, client certificate subject, verification result) out of a live SSL
 * into a plain struct, so that logging (and later PROXY v2) never touch
 * OpenSSL objects. The only module that reads X509 data.
 */
#ifndef MQGATE_TLS_INFO_H
#define MQGATE_TLS_INFO_H

#include <stdbool.h>

#include <openssl/ssl.h>

#include "allow.h"
#include "config.h"

struct tls_info {
	const char *version; /* static string, or NULL before the handshake */
	const char *cipher;  /* static string, or NULL */
	char sni[256];	     /* "" when the client sent none */
	char subject[512];   /* RFC 2253 subject of the client cert, or "" */
	long verify_result;  /* X509_V_OK or the verification error */
	char cert[72];	     /* bundle served, "" for the listener's own */
	char psk[132];	     /* PSK identity, or "" */
	char alpn[64];	     /* negotiated ALPN protocol, or "" */
	bool resumed;	     /* the session was resumed */
};

/*
 * Fill *out from ssl (which may be mid-handshake or NULL: then the fields
 * are empty). Meant for a stack struct at the moment it is needed; nothing
 * in it needs freeing.
 */
void tls_info_get(SSL *ssl, int handshake_done, struct tls_info *out);

/* The RFC 2253 subject of cert into buf ("" when it cannot be printed). */
void tls_info_subject(X509 *cert, char *buf, size_t cap);

/*
 * Whether cert passes the allowlists (allow[kind] NULL = not set): it must
 * match at least one pattern of every list that is set (CN, any OU, any
 * DNS SAN, any URI SAN). When not, why says which rule failed, e.g.
 * "CN 'dev9' matches no allow_cn pattern".
 */
bool tls_info_allowed(X509 *cert, struct allow_list *const *allow,
    char *why, size_t cap);

/* Call fn with each DNS name of cert: its DNS SANs, or its CN when it has
 * none. */
void tls_info_cert_names(X509 *cert, void (*fn)(const char *name, void *arg),
    void *arg);

#endif
