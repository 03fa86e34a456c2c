/*
 * tls_info: copies what a finished handshake established (version, cipher,
 * SNI, client certificate subject, verification result) out of a live SSL
 * into a plain struct, so that logging (and later PROXY v2) never touch
 * OpenSSL objects. The only module that reads X509 data.
 */
#ifndef MQGATE_TLS_INFO_H
#define MQGATE_TLS_INFO_H

#include <openssl/ssl.h>

struct tls_info {
	const char *version; /* static string, or NULL before the handshake */
	const char *cipher;  /* static string, or NULL */
	char sni[256];	     /* "" when the client sent none */
	char subject[512];   /* RFC 2253 subject of the client cert, or "" */
	long verify_result;  /* X509_V_OK or the verification error */
};

/*
 * Fill *out from ssl (which may be mid-handshake or NULL: then the fields
 * are empty). Meant for a stack struct at the moment it is needed; nothing
 * in it needs freeing.
 */
void tls_info_get(SSL *ssl, int handshake_done, struct tls_info *out);

#endif
