/*
 * tls_ctx: builds server SSL_CTXs from struct tls_conf (chain, key, CA,
 * verification, versions, ciphers) and bundles them into a refcounted
 * generation that workers swap in on reload. Also fingerprints the files a
 * config names so that the reload check can tell when they changed.
 * Builds are done by the main thread only; workers only take references.
 */
#ifndef MQGATE_TLS_CTX_H
#define MQGATE_TLS_CTX_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/ssl.h>

#include "config.h"
#include "diag.h"

/*
 * One immutable set of SSL_CTXs, one per listener (same order as
 * config->listeners). Shared by all workers; freed when the last reference
 * goes. Live SSL objects hold their own SSL_CTX references, so connections
 * outlive the generation they were accepted under.
 */
struct tls_gen {
	atomic_uint refs;
	unsigned long serial;
	size_t n;
	SSL_CTX *ctx[]; /* n entries */
};

/*
 * Build the SSL_CTX every connection of listener l starts on, with the
 * contexts of the certificates it serves (its certfile, its [cert]
 * bundles, its certdir entries), its SNI table, PSK and ticket keys all
 * owned by it. Every problem is added to d as "config-file:line: key:
 * message" (the line of the key at fault; for a bad line inside a psk_file
 * or ticket_key_file, that file and line). Returns a new SSL_CTX (caller
 * owns it) or NULL. May log warnings (old TLS versions).
 */
SSL_CTX *tls_ctx_build(const struct config *c, const struct listener_conf *l,
    struct diag *d);

/*
 * Build a whole generation (refs = 1) for every listener of c, collecting
 * all problems in d. Returns NULL when anything failed; nothing is leaked.
 */
struct tls_gen *tls_gen_build(const struct config *c, unsigned long serial,
    struct diag *d);

/* Take a reference; returns g. Thread-safe. */
struct tls_gen *tls_gen_ref(struct tls_gen *g);

/* Drop a reference; the last one frees g. NULL is a no-op. Thread-safe. */
void tls_gen_unref(struct tls_gen *g);

/*
 * Fingerprint of every file c's TLS settings name (path, inode, size,
 * mtime, ctime, or the stat error): equal fingerprints mean nothing
 * changed. Does blocking stat(2) calls: main thread only.
 */
uint64_t tls_files_fingerprint(const struct config *c);

/*
 * The certificate contexts of a listener context built by tls_ctx_build
 * (possibly itself): writes up to cap of them to v (borrowed) and returns
 * how many there are.
 */
size_t tls_ctx_sites(SSL_CTX *ctx, SSL_CTX **v, size_t cap);

/* For the connection log line, from a live SSL (NULL when not known): why
 * mqgate itself refused the handshake (SNI, allowlist, CRL, PSK, ALPN);
 * the name of the bundle serving it (NULL for the listener's certfile).
 * Valid while ssl lives. */
const char *tls_ctx_refusal(const SSL *ssl);

/* Drop what only the handshake needed (worker thread, once connected). */
void tls_ctx_handshake_done(SSL *ssl);
const char *tls_ctx_site_name(const SSL *ssl);

/* The PSK identity ssl's TLS 1.3 session was established with, copied
 * into buf (cap bytes, NUL-terminated); false if it is not a PSK session.
 * *fresh: this connection's own PSK handshake, not a resumption. */
bool tls_ctx_session_psk(const SSL *ssl, char *buf, size_t cap, bool *fresh);

/*
 * The secret of mqtt_password = file: of the listener whose context is ctx
 * (the one its connections start on), valid as long as ctx. False when
 * the listener has none (or its file is empty).
 */
bool tls_ctx_mqtt_password(SSL_CTX *ctx, const unsigned char **p,
    size_t *len);

/* Drain OpenSSL's error queue into buf as "reason; reason" (empty if none).
 * Returns buf. */
const char *tls_errors_str(char *buf, size_t cap);

#endif
