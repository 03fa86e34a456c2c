/*
 * allow.c: comma-separated glob allowlists. It splits and validates the list
 * once at config time (fnmatch(3) reports no syntax errors, so a typo would
 * otherwise silently match nothing, or a literal '['), and matches values
 * with fnmatch at handshake time. Pure: no OpenSSL, no I/O, no log.
 */
#include "build_config.h"

#include <fnmatch.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "allow.h"
#include "compat.h"

struct allow_list {
	size_t n;
	char *pat[]; /* n NUL-terminated copies, stored after the array */
};

static const char E_EMPTY_LIST[] = "empty list";
static const char E_EMPTY_ITEM[] =
    "empty pattern (two commas in a row, or a leading or trailing comma)";
#define STR(x) STR_(x)
#define STR_(x) #x
static const char E_TOO_LONG[] =
    "pattern longer than " STR(ALLOW_PATTERN_MAX) " bytes";
static const char E_BRACKET[] =
    "unterminated '[' class (write \\[ for a literal '[')";
static const char E_BACKSLASH[] = "trailing '\\' escapes nothing";
static const char E_CLASS[] = "unknown character class name in '[:name:]'";

static int
fail(const char **why, const char *reason, int r)
{
	if (why != NULL)
		*why = reason;
	return r;
}

static bool
blank(char c)
{
	return c == ' ' || c == '\t';
}

/*
 * The next item of the list at *sp: leading blanks skipped, trailing ones
 * dropped, ended by a ',' that no '\' escapes. *sp moves past that comma;
 * returns false when the list is used up.
 */
static bool
next_item(const char **sp, bool *more, const char **start, size_t *len)
{
	const char *s = *sp, *end;

	if (!*more)
		return false;
	while (blank(*s))
		s++;
	*start = end = s;
	while (*s != '\0' && *s != ',') {
		/* An escaped comma or blank is part of the item. */
		bool esc = *s == '\\' && s[1] != '\0';

		s += esc ? 2 : 1;
		if (esc || !blank(s[-1]))
			end = s;
	}
	*len = (size_t)(end - *start);
	*more = *s == ',';
	*sp = *more ? s + 1 : s;
	return true;
}

/* The character class name in "[:name:]" is one fnmatch knows. */
static bool
known_class(const char *name, size_t len)
{
	static const char *const names[] = { "alnum", "alpha", "blank", "cntrl",
		"digit", "graph", "lower", "print", "punct", "space", "upper",
		"xdigit" };
	size_t i;

	for (i = 0; i < nitems(names); i++)
		if (strlen(names[i]) == len && memcmp(names[i], name, len) == 0)
			return true;
	return false;
}

/*
 * Check the syntax of one pattern of len bytes the way glibc's fnmatch reads
 * it: '\' escapes the next byte (inside a class too), "[" opens a class
 * that may start with '!' or '^' and a literal ']', and may hold "[:name:]",
 * "[=c=]" and "[.c.]". Returns NULL or the reason it is refused.
 */
static const char *
check_pattern(const char *p, size_t len)
{
	size_t i = 0, j;

	while (i < len) {
		if (p[i] == '\\') {
			if (i + 1 == len)
				return E_BACKSLASH;
			i += 2;
			continue;
		}
		if (p[i] != '[') {
			i++;
			continue;
		}
		j = i + 1;
		if (j < len && (p[j] == '!' || p[j] == '^'))
			j++;
		if (j < len && p[j] == ']')
			j++;
		for (;;) {
			if (j >= len)
				return E_BRACKET;
			if (p[j] == ']')
				break;
			if (p[j] == '\\') {
				if (j + 1 == len)
					return E_BACKSLASH;
				j += 2;
			} else if (p[j] == '[' && j + 1 < len &&
				   (p[j + 1] == ':' || p[j + 1] == '=' ||
				       p[j + 1] == '.')) {
				char kind = p[j + 1];
				size_t k = j + 2;

				while (k + 1 < len &&
				       !(p[k] == kind && p[k + 1] == ']'))
					k++;
				if (k + 1 >= len)
					return E_BRACKET;
				if (kind == ':' &&
				    !known_class(p + j + 2, k - (j + 2)))
					return E_CLASS;
				j = k + 2;
			} else {
				j++;
			}
		}
		i = j + 1;
	}
	return NULL;
}

int
allow_list_parse(const char *s, struct allow_list **out, const char **why)
{
	struct allow_list *l;
	size_t n = 0, bytes = 0, len, i;
	const char *p, *start, *reason;
	bool more;
	char *dst;

	if (s == NULL)
		return fail(why, E_EMPTY_LIST, -1);
	for (p = s; blank(*p); p++)
		;
	if (*p == '\0')
		return fail(why, E_EMPTY_LIST, -1);
	for (p = s, more = true; next_item(&p, &more, &start, &len);) {
		if (len == 0)
			return fail(why, E_EMPTY_ITEM, -1);
		if (len > ALLOW_PATTERN_MAX)
			return fail(why, E_TOO_LONG, -1);
		if ((reason = check_pattern(start, len)) != NULL)
			return fail(why, reason, -1);
		n++;
		bytes += len + 1;
	}
	/* bytes <= strlen(s) + 1, so the subtraction cannot wrap. */
	if (n > (SIZE_MAX - sizeof(*l) - bytes) / sizeof(l->pat[0]))
		return fail(why, "out of memory", -2);
	if ((l = malloc(sizeof(*l) + n * sizeof(l->pat[0]) + bytes)) == NULL)
		return fail(why, "out of memory", -2);
	l->n = n;
	dst = (char *)&l->pat[n];
	for (p = s, more = true, i = 0; next_item(&p, &more, &start, &len);
	     i++) {
		l->pat[i] = dst;
		memcpy(dst, start, len);
		dst[len] = '\0';
		dst += len + 1;
	}
	*out = l;
	return 0;
}

bool
allow_list_match(const struct allow_list *l, const char *value, bool casefold)
{
	int flags = casefold ? FNM_CASEFOLD : 0;
	size_t i;

	if (l == NULL || value == NULL)
		return false;
	for (i = 0; i < l->n; i++)
		if (fnmatch(l->pat[i], value, flags) == 0)
			return true;
	return false;
}

size_t
allow_list_count(const struct allow_list *l)
{
	return l == NULL ? 0 : l->n;
}

const char *
allow_list_pattern(const struct allow_list *l, size_t i)
{
	if (l == NULL || i >= l->n)
		return NULL;
	return l->pat[i];
}

void
allow_list_free(struct allow_list *l)
{
	free(l);
}
