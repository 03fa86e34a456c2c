/*
 * diag: collects configuration and load errors as "file:line: message"
 * entries so that every problem is reported at once, not just the first.
 * Pure: it formats into memory and prints only when asked to.
 */
#ifndef MQGATE_DIAG_H
#define MQGATE_DIAG_H

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

#include "compat.h"

struct diag_entry {
	char *file; /* owned copy; NULL when the problem has no file */
	int line;   /* 0 when the problem has no line */
	char *msg;  /* owned */
};

struct diag {
	struct diag_entry *v;
	size_t n;
	size_t cap;
	int oom; /* set when an entry could not be recorded */
};

/* Zero-initialised struct diag is valid; diag_clear frees every entry. */
void diag_init(struct diag *d);
void diag_clear(struct diag *d);

/*
 * Record one problem. file may be NULL, line may be 0. Never fails from the
 * caller's point of view: on allocation failure d->oom is set and the count
 * still goes up, so diag_count() > 0 stays true.
 */
void diag_add(struct diag *d, const char *file, int line, const char *fmt,
    ...) MQ_PRINTF(4, 5);
void diag_vadd(struct diag *d, const char *file, int line, const char *fmt,
    va_list ap) MQ_PRINTF(4, 0);

size_t diag_count(const struct diag *d);

/*
 * Format entry i as "file:line: msg" ("file: msg" without a line, "msg"
 * without a file) into buf; returns what snprintf returns.
 */
int diag_format(const struct diag *d, size_t i, char *buf, size_t cap);

/* Print every entry, one per line, to fp. */
void diag_print(const struct diag *d, FILE *fp);

#endif
