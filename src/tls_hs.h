/*
 * tls_hs: what runs while a handshake is in progress, on the worker
 * threads: choosing the certificate by SNI and key type (ClientHello
 * callback), client-certificate checks beyond OpenSSL's (allowlists, CRLs
 * still being fetched), ALPN, PSK, session ticket keys. It reads only the
 * immutable per-listener state that tls_ctx.c built and hangs off the
 * SSL_CTXs; what it learns about one connection goes into that SSL's
 * ex_data for the log line.
 */
#ifndef MQGATE_TLS_HS_H
#define MQGATE_TLS_HS_H

#include <stdbool.h>
#include <stddef.h>

#include <openssl/ssl.h>

#include "config.h"

struct tls_listener;
struct sni_table;
struct psk_table;
struct ticket_keys;

/* One certificate as served on one listener. */
struct tls_site {
	struct tls_listener *owner;
	SSL_CTX *ctx;	/* the listener's own site borrows owner->ctx */
	char *name;	/* bundle name; NULL for the listener's certfile */
	int line;	/* config line that defines it, for diagnostics */
	bool from_dir;	/* a certdir entry */
	int kt;		/* EVP_PKEY_RSA, EVP_PKEY_EC, ... */
	int verify_mode;
	struct allow_list *allow[ALLOW_KIND_COUNT]; /* borrowed from config */
	const char *cacertfile;	/* borrowed from config; for comparing */
	const char *crlfile;	/* the client-certificate settings of */
	bool crl_chain;		/* sites that share a name */
	bool has_allow;
};

/* Everything a listener's connections need; owned by the listener's
 * SSL_CTX (ex_data) and freed with it. */
struct tls_listener {
	const struct listener_conf *conf; /* borrowed; the config outlives
					     every connection */
	SSL_CTX *ctx;			  /* not a reference */
	struct tls_site *sites;		  /* owned array of nsites */
	size_t nsites;
	size_t default_site;		  /* SIZE_MAX: none (PSK only) */
	struct sni_table *sni;		  /* owned */
	struct psk_table *psk;		  /* owned; NULL = no PSK */
	struct ticket_keys *tickets;	  /* owned; NULL = OpenSSL's own */
	unsigned char *mqtt_password;	  /* owned; mqtt_password = file: */
	size_t mqtt_password_len;
};

/*
 * Create the ex_data indexes. Main thread, before the first context is
 * built (and so before any worker runs); later calls do nothing. Returns
 * 0 or -1.
 */
int tls_hs_init(void);

/* Attach a site to a context (not owned), or a listener's state to its
 * context (owned: freed with it by tls_listener_free). 1 on success. */
int tls_hs_set_site(SSL_CTX *ctx, struct tls_site *site);
int tls_hs_set_listener(SSL_CTX *ctx, struct tls_listener *tl);
struct tls_listener *tls_hs_listener(SSL_CTX *ctx);

/* Free a listener's state: its sites' contexts, tables and keys. In
 * tls_ctx.c; NULL is a no-op. */
void tls_listener_free(struct tls_listener *tl);

/* The callbacks tls_ctx.c installs. */
int tls_hs_verify_cb(int ok, X509_STORE_CTX *sctx);
int tls_hs_client_hello_cb(SSL *ssl, int *al, void *arg);
int tls_hs_servername_cb(SSL *ssl, int *al, void *arg);
int tls_hs_alpn_cb(SSL *ssl, const unsigned char **out,
    unsigned char *outlen, const unsigned char *in, unsigned int inlen,
    void *arg);
unsigned int tls_hs_psk_server_cb(SSL *ssl, const char *identity,
    unsigned char *psk, unsigned int max_psk_len);
int tls_hs_psk_find_session_cb(SSL *ssl, const unsigned char *identity,
    size_t identity_len, SSL_SESSION **sess);
int tls_hs_ticket_cb(SSL *ssl, unsigned char *key_name, unsigned char *iv,
    EVP_CIPHER_CTX *cctx, EVP_MAC_CTX *hctx, int enc);
void tls_hs_keylog_cb(const SSL *ssl, const char *line);
int tls_hs_ticket_gen_cb(SSL *ssl, void *arg);
SSL_TICKET_RETURN tls_hs_ticket_dec_cb(SSL *ssl, SSL_SESSION *sess,
    const unsigned char *keyname, size_t keyname_len,
    SSL_TICKET_STATUS status, void *arg);

#endif
