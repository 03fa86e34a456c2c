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
#include "proxyv2.h"

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
 * Everything about an established session that goes upstream: the PROXY v2
 * TLS facts and the identities MQTT binding may put into the CONNECT.
 * Taken once per connection, just before the upstream is written to, and
 * freed right after: an idle connection keeps none of it.
 */
struct tls_facts {
	struct tls_info info;
	bool cert;	  /* the session carries a client certificate */
	bool verified;	  /* ... and it was verified */
	bool cert_conn;	  /* presented on this connection (not resumed) */
	uint32_t verify;  /* PP2 verify: 0 only for a verified certificate */
	char cn[256];	  /* first CN, UTF-8, "" when none */
	int n_cn;	  /* how many CNs the subject has */
	char *dn;	  /* owned: RFC 4514 subject, whole; NULL when none */
	char serial[100]; /* uppercase hex */
	char **san_uri;	  /* owned, n_san_uri entries */
	size_t n_san_uri;
	char **san_dns; /* owned, n_san_dns entries */
	size_t n_san_dns;
	unsigned char *der; /* owned DER of the leaf, der_len bytes */
	size_t der_len;
	unsigned char sha256[32];
	char sha256_hex[65]; /* lowercase */
	char sig_alg[48];    /* of mqgate's own certificate, as HAProxy */
	char key_alg[48];    /* "RSA2048", "EC256", ... */
	char sig_scheme[48]; /* e.g. rsa_pss_rsae_sha256 */
	const char *group;   /* static; NULL when unknown */
};

/* Take the facts of an established ssl. Returns NULL on out of memory;
 * free with tls_facts_free (NULL is a no-op). */
struct tls_facts *tls_facts_get(SSL *ssl);
void tls_facts_free(struct tls_facts *f);

/* The PROXY v2 view of f (borrowed pointers into f). */
void tls_facts_proxy(const struct tls_facts *f, struct proxyv2_tls *out);

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
