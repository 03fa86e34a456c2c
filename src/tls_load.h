/*
 * tls_load: reads the files a listener's TLS settings name (certificate
 * chain, private key, CA file, CRL file, small secret files) into an
 * SSL_CTX or into memory, and reports every problem as "config-file:line:
 * key: message" through a struct tls_load. Main thread only. It never
 * prompts for a password and never builds, switches or publishes contexts
 * (tls_ctx.c does that).
 */
#ifndef MQGATE_TLS_LOAD_H
#define MQGATE_TLS_LOAD_H

#include <stdbool.h>
#include <stddef.h>

#include <openssl/ssl.h>

#include "compat.h"
#include "config.h"
#include "diag.h"

/* What a build needs to report problems: where they go, and where the
 * config lines come from. Everything is borrowed. */
struct tls_load {
	const struct config *c;
	const struct listener_conf *l;
	struct diag *d;
	const int *lines; /* the line to blame for each LKEY_* */
	const char *key_as; /* report every key as this one (certdir
			       entries: "certdir"); NULL = as named */
};

/*
 * Add "c->path:lines[k]: key: message" to b->d, with key replaced by
 * b->key_as when that is set. Never fails from the caller's point of view
 * (see diag_add).
 */
void tls_load_fail(const struct tls_load *b, enum listener_key k,
    const char *key, const char *fmt, ...) MQ_PRINTF(4, 5);

/*
 * Load t->certfile's chain and t->keyfile's private key (decrypted with
 * t->key_password, never by prompting) into ctx and check that they match.
 * keyfile_set: keyfile was set on its own line (else problems with the key
 * blame certfile). Returns 0, or -1 with the problems added to b->d.
 */
int tls_load_cert(SSL_CTX *ctx, const struct tls_load *b,
    const struct tls_conf *t, bool keyfile_set);

/*
 * Load the CA certificates in path into ctx's store for client
 * verification, and make them the client CA list sent in the certificate
 * request. Returns 0, or -1 with the problem added to b->d.
 */
int tls_load_ca(SSL_CTX *ctx, const struct tls_load *b, const char *path);

/*
 * Load the CRLs in t->crlfile into ctx's store, attach fetched CRLs when
 * l->crl_fetch, and set the store's CRL-check flags (crl_check = chain
 * checks the whole chain). Does nothing when there is neither. Returns 0,
 * or -1 with the problem added to b->d.
 */
int tls_load_crl(SSL_CTX *ctx, const struct tls_load *b,
    const struct tls_conf *t, const struct listener_conf *l);

enum tls_read_err {
	TLS_READ_OK,
	TLS_READ_OPEN,	  /* cannot open it (errno says why) */
	TLS_READ_TOO_BIG, /* max bytes or more */
	TLS_READ_NOMEM,
	TLS_READ_IO,	  /* a read failed (errno says why) */
};

/*
 * Read the whole of a file of less than max bytes into a new buffer
 * (OPENSSL_malloc, NUL-terminated one past *len); the caller frees it
 * with OPENSSL_clear_free(*out, *len). Grown buffers are wiped before
 * they are freed, so the file may hold a secret. Nothing is allocated on
 * failure. Main thread (blocking).
 */
enum tls_read_err tls_read_file(const char *path, size_t max,
    unsigned char **out, size_t *len);

/*
 * tls_read_file for a secret file (psk_file, ticket_key_file; less than
 * 16 MiB) that reports a problem, blaming lines[k] and key. Returns 0, or
 * -1 with the problem added to b->d and nothing allocated.
 */
int tls_load_file(const struct tls_load *b, enum listener_key k,
    const char *key, const char *path, char **out, size_t *len);

#endif
