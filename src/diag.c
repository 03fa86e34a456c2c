/*
 * diag.c: the list of configuration and load problems, each an owned
 * "file:line: message" entry, kept in the order they were found so that all
 * of them can be printed at once. It never aborts on allocation failure: a
 * problem that cannot be stored is still counted.
 */
#include "build_config.h"

#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "diag.h"

void
diag_init(struct diag *d)
{
	memset(d, 0, sizeof(*d));
}

void
diag_clear(struct diag *d)
{
	size_t i;

	for (i = 0; i < d->n; i++) {
		free(d->v[i].file);
		free(d->v[i].msg);
	}
	free(d->v);
	diag_init(d);
}

void
diag_vadd(struct diag *d, const char *file, int line, const char *fmt,
    va_list ap)
{
	struct diag_entry *e;
	char *msg = NULL, *fcopy = NULL;
	va_list aq;
	int len;

	va_copy(aq, ap);
	len = vsnprintf(NULL, 0, fmt, aq);
	va_end(aq);
	if (len < 0)
		goto fail;
	if ((msg = malloc((size_t)len + 1)) == NULL)
		goto fail;
	vsnprintf(msg, (size_t)len + 1, fmt, ap);
	if (file != NULL && (fcopy = strdup(file)) == NULL)
		goto fail;
	if (d->n == d->cap) {
		size_t ncap = d->cap == 0 ? 8 : d->cap * 2;

		if (ncap > SIZE_MAX / sizeof(*d->v))
			goto fail;
		e = realloc(d->v, ncap * sizeof(*d->v));
		if (e == NULL)
			goto fail;
		d->v = e;
		d->cap = ncap;
	}
	e = &d->v[d->n++];
	e->file = fcopy;
	e->line = line;
	e->msg = msg;
	return;
fail:
	free(msg);
	free(fcopy);
	if (d->oom < INT_MAX)
		d->oom++;
}

void
diag_add(struct diag *d, const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	diag_vadd(d, file, line, fmt, ap);
	va_end(ap);
}

size_t
diag_count(const struct diag *d)
{
	return d->n + (size_t)d->oom;
}

int
diag_format(const struct diag *d, size_t i, char *buf, size_t cap)
{
	const struct diag_entry *e;

	if (i >= diag_count(d)) {
		if (cap > 0)
			buf[0] = '\0';
		return -1;
	}
	/* Entries past the stored ones are the problems lost to OOM. */
	if (i >= d->n)
		return snprintf(buf, cap,
		    "out of memory: a problem could not be recorded");
	e = &d->v[i];
	if (e->file == NULL)
		return snprintf(buf, cap, "%s", e->msg);
	if (e->line == 0)
		return snprintf(buf, cap, "%s: %s", e->file, e->msg);
	return snprintf(buf, cap, "%s:%d: %s", e->file, e->line, e->msg);
}

void
diag_print(const struct diag *d, FILE *fp)
{
	size_t i;

	for (i = 0; i < d->n; i++) {
		const struct diag_entry *e = &d->v[i];

		if (e->file == NULL)
			fprintf(fp, "%s\n", e->msg);
		else if (e->line == 0)
			fprintf(fp, "%s: %s\n", e->file, e->msg);
		else
			fprintf(fp, "%s:%d: %s\n", e->file, e->line, e->msg);
	}
	if (d->oom > 0)
		fprintf(fp, "out of memory: %d more problem%s could not be "
		    "recorded\n", d->oom, d->oom == 1 ? "" : "s");
}
