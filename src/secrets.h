/*
 * secrets: parsers for the two secret files mqgate reads besides
 * certificates: psk_file ("identity:hexkey" lines) and ticket_key_file
 * (one base64 key of 80 bytes per line). Pure: they take the file's bytes
 * and its path, and report every bad line as "path:line: message" into a
 * struct diag. The I/O glue (tls_ctx.c) reads the files and installs the
 * results. Key material is wiped when freed.
 */
#ifndef MQGATE_SECRETS_H
#define MQGATE_SECRETS_H

#include <stddef.h>

#include "diag.h"

#define PSK_IDENTITY_MAX 128 /* bytes */
#define PSK_KEY_MAX 64	     /* bytes (128 hex digits) */

struct psk_entry {
	char *identity; /* owned, NUL-terminated, 1..PSK_IDENTITY_MAX bytes */
	unsigned char key[PSK_KEY_MAX];
	size_t key_len; /* 1..PSK_KEY_MAX */
};

struct psk_table {
	struct psk_entry *v; /* owned array of n, in file order */
	size_t n;
};

/*
 * Parse a psk_file of len bytes. Lines are "identity:hexkey": the
 * identity is everything before the last ':' (so it may itself contain
 * ':'), blanks around both parts are trimmed, the key is an even number
 * of hex digits (either case). Blank lines and lines whose first non-blank
 * character is '#' are skipped; a last line without '\n' counts; "\r\n"
 * is accepted. Errors (each "path:line: message", parsing goes on): no
 * ':', empty identity, identity too long or with control bytes/NUL, empty
 * key, odd length, non-hex digit, key too long, duplicate identity (naming
 * the first line). A file with no entry at all is an error at line 0.
 * Returns the table (caller frees) or NULL when anything was wrong or on
 * out of memory (then d says so).
 */
struct psk_table *psk_parse(const char *text, size_t len, const char *path,
    struct diag *d);

/* The entry whose identity is exactly the len bytes at identity, or NULL.
 * Thread-safe on a table no longer being changed. */
const struct psk_entry *psk_find(const struct psk_table *t,
    const char *identity, size_t len);

/* Wipe the keys and free t; NULL is a no-op. */
void psk_table_free(struct psk_table *t);

#define TICKET_KEY_NAME_LEN 16
#define TICKET_KEY_HMAC_LEN 32
#define TICKET_KEY_AES_LEN 32
#define TICKET_KEY_LEN \
	(TICKET_KEY_NAME_LEN + TICKET_KEY_HMAC_LEN + TICKET_KEY_AES_LEN)

struct ticket_key {
	unsigned char name[TICKET_KEY_NAME_LEN];
	unsigned char hmac[TICKET_KEY_HMAC_LEN];
	unsigned char aes[TICKET_KEY_AES_LEN];
};

struct ticket_keys {
	size_t n;		  /* >= 1; k[0] encrypts, all decrypt */
	struct ticket_key k[];
};

/*
 * Parse a ticket_key_file of len bytes: one key per line, standard base64
 * (RFC 4648, '=' padding required, blanks around the line trimmed) of
 * exactly TICKET_KEY_LEN bytes: name, HMAC key, AES key in that order.
 * Blank and '#' lines are skipped. Errors ("path:line: message"): bad
 * base64, wrong decoded length, a key name used twice (naming the first
 * line); no key at all is an error at line 0. Returns the keys (caller
 * frees) or NULL (then d says why).
 */
struct ticket_keys *ticket_keys_parse(const char *text, size_t len,
    const char *path, struct diag *d);

/* The key whose name is the TICKET_KEY_NAME_LEN bytes at name, or NULL;
 * *index (if not NULL) gets its position (0 = the encrypting key). */
const struct ticket_key *ticket_keys_find(const struct ticket_keys *t,
    const unsigned char *name, size_t *index);

/* Wipe and free t; NULL is a no-op. */
void ticket_keys_free(struct ticket_keys *t);

#endif
