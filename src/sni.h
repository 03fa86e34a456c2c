/*
 * sni: host-name normalisation and the table that maps a client's SNI to
 * the certificate bundles serving it (exact names first, then "*.domain"
 * wildcards covering exactly one label). Pure: strings in, indexes out; no
 * OpenSSL, no I/O. The TLS glue (tls_ctx.c) builds one table per listener
 * and looks names up from the ClientHello callback.
 */
#ifndef MQGATE_SNI_H
#define MQGATE_SNI_H

#include <stdbool.h>
#include <stddef.h>

#define SNI_NAME_MAX 253 /* longest DNS name, without the trailing dot */
#define SNI_LABEL_MAX 63

enum sni_err {
	SNI_OK = 0,
	SNI_ERR_EMPTY = -1,	       /* "" or "." */
	SNI_ERR_TOO_LONG = -2,	       /* more than SNI_NAME_MAX */
	SNI_ERR_LABEL_TOO_LONG = -3,   /* a label over SNI_LABEL_MAX */
	SNI_ERR_BAD_CHAR = -4,	       /* not letter, digit, '-' or '_' */
	SNI_ERR_EMPTY_LABEL = -5,      /* "a..b", ".a" */
	SNI_ERR_BAD_WILDCARD = -6,     /* '*' other than a whole first label
					  of at least "*.x.y", or not allowed */
	SNI_ERR_NOMEM = -7,
	SNI_ERR_DUPLICATE = -8,	       /* same name and key type twice */
};

/* Static text for an enum sni_err. */
const char *sni_strerror(int err);

/*
 * Normalise a host name of len bytes (not necessarily NUL-terminated):
 * ASCII lower case, one trailing dot dropped; then validate it (letters,
 * digits, '-', '_'; IDNs only in A-label "xn--" form). With allow_wildcard
 * a first label of exactly "*" is accepted when at least two labels follow.
 * Writes the NUL-terminated result to out (cap >= SNI_NAME_MAX + 1).
 * Returns its length (> 0) or a negative enum sni_err.
 */
int sni_normalize(const char *name, size_t len, bool allow_wildcard, char *out,
    size_t cap);

struct sni_match {
	int idx; /* bundle index given to sni_table_add */
	int kt;	 /* key type given to sni_table_add */
};

struct sni_table;

/* A new empty table, or NULL when out of memory. */
struct sni_table *sni_table_new(void);

/* Free t and everything it owns; NULL is a no-op. */
void sni_table_free(struct sni_table *t);

/*
 * Add name (normalised here; wildcards allowed) served by bundle idx whose
 * key has type kt (an opaque small integer such as EVP_PKEY_RSA). The same
 * name may be added for several bundles only with different key types:
 * when the same normalised name with the same kt is already there, returns
 * SNI_ERR_DUPLICATE and sets *other (if not NULL) to the idx holding it.
 * Adding the same (name, idx, kt) twice is a no-op returning SNI_OK.
 * Returns SNI_OK or a negative enum sni_err.
 */
int sni_table_add(struct sni_table *t, const char *name, int idx, int kt,
    int *other);

/*
 * Look up a host name as a client sent it (len bytes, not NUL-terminated;
 * anything sni_normalize refuses, or that has a wildcard, matches nothing).
 * Exact matches win; only when there is none, the wildcard "*." + (host
 * minus its first label) is tried. Writes at most cap matches, in the
 * order they were added, to out and returns how many were written
 * (0 = no match). Safe to call from several threads at once once the
 * table is no longer being added to. O(1) expected (hash), no allocation.
 */
size_t sni_table_lookup(const struct sni_table *t, const char *host,
    size_t len, struct sni_match *out, size_t cap);

/* Number of (name, idx, kt) entries in t. */
size_t sni_table_count(const struct sni_table *t);

#endif
