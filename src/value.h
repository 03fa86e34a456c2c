/*
 * value: typed parsers for configuration values (bool, bounded integer,
 * duration, enum, comma list, TLS version set). Pure: strings in, numbers
 * out, and on failure a static human-readable reason.
 */
#ifndef MQGATE_VALUE_H
#define MQGATE_VALUE_H

#include <stdbool.h>
#include <stddef.h>

/*
 * Each parser returns 0 on success and -1 on failure; on failure *why (if
 * why is not NULL) points to a static string describing the problem, e.g.
 * "expected true or false". Leading/trailing blanks are not accepted here:
 * inih has already trimmed values.
 */

/* true/false, yes/no, on/off, 1/0 (case-insensitive). */
int value_bool(const char *s, bool *out, const char **why);

/* Decimal integer in [min, max]; no sign for min >= 0, no trailing junk. */
int value_long(const char *s, long min, long max, long *out,
    const char **why);

/*
 * Duration in milliseconds: "10" (seconds), "10s", "500ms", "2m", "1h";
 * result in [min_ms, max_ms].
 */
int value_duration_ms(const char *s, long min_ms, long max_ms, long *out,
    const char **why);

/* Index of s in the NULL-terminated names list (case-sensitive). */
int value_enum(const char *s, const char *const *names, int *out,
    const char **why);

/* TLS protocol version bits, see TLS_VER_* below. */
#define TLS_VER_1_0 0x1u
#define TLS_VER_1_1 0x2u
#define TLS_VER_1_2 0x4u
#define TLS_VER_1_3 0x8u

/*
 * Comma-separated list of tlsv1.3, tlsv1.2, tlsv1.1, tlsv1 (blanks around
 * items allowed, duplicates allowed, empty list refused) -> bitmask.
 */
int value_tls_versions(const char *s, unsigned *out, const char **why);

/* Render a version bitmask as "tlsv1.3,tlsv1.2" into buf. */
void value_tls_versions_str(unsigned bits, char *buf, size_t cap);

#endif
