/*
 * allow: client-identity allowlists (allow_cn, allow_ou, allow_san_dns,
 * allow_san_uri): a comma-separated list of glob patterns, parsed once and
 * matched against certificate fields at handshake time. Pure: no OpenSSL,
 * no I/O; the caller extracts the values (tls_info.c) and decides.
 */
#ifndef MQGATE_ALLOW_H
#define MQGATE_ALLOW_H

#include <stdbool.h>
#include <stddef.h>

#define ALLOW_PATTERN_MAX 255

struct allow_list;

/*
 * Parse "pat, pat, ..." (blanks around items are trimmed). Patterns use
 * fnmatch(3) syntax without flags: '*' and '?' match any characters
 * (including '.' and '/'), "[...]" a class, '\' escapes. Returns 0 and a
 * new list in *out (free with allow_list_free), or -1 with *why set to a
 * static reason (empty list, empty item, item over ALLOW_PATTERN_MAX
 * bytes, unterminated '[' class, trailing '\'), or -2 when out of memory.
 */
int allow_list_parse(const char *s, struct allow_list **out,
    const char **why);

/* True if value matches at least one pattern. casefold: ASCII
 * case-insensitive (for DNS names). A NULL list matches nothing. */
bool allow_list_match(const struct allow_list *l, const char *value,
    bool casefold);

/* Number of patterns, and the i-th one as written (for log lines). */
size_t allow_list_count(const struct allow_list *l);
const char *allow_list_pattern(const struct allow_list *l, size_t i);

/* Free l; NULL is a no-op. */
void allow_list_free(struct allow_list *l);

#endif
