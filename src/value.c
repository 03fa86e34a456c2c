/*
 * value.c: typed parsers for configuration values. Each takes a trimmed
 * string and either stores a number or returns -1 with a static reason. It
 * owns no memory and must not allocate, log or know about config keys: the
 * key table adds the key name and the accepted range to the message.
 */
#include "build_config.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "compat.h"
#include "value.h"

static int
fail(const char **why, const char *reason)
{
	if (why != NULL)
		*why = reason;
	return -1;
}

int
value_bool(const char *s, bool *out, const char **why)
{
	static const char *const yes[] = { "true", "yes", "on", "1" };
	static const char *const no[] = { "false", "no", "off", "0" };
	size_t i;

	for (i = 0; i < nitems(yes); i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*out = true;
			return 0;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*out = false;
			return 0;
		}
	}
	return fail(why, "expected true or false (or yes/no, on/off, 1/0)");
}

/*
 * Accumulate the decimal digits at *sp into *out, stopping at the first
 * non-digit. Returns the number of digits read, or -1 if the value does not
 * fit in an unsigned long.
 */
static int
digits(const char **sp, unsigned long *out)
{
	const char *s = *sp;
	unsigned long n = 0;
	int nd = 0;

	while (*s >= '0' && *s <= '9') {
		unsigned d = (unsigned)(*s - '0');

		if (n > (ULONG_MAX - d) / 10)
			return -1;
		n = n * 10 + d;
		s++;
		nd++;
	}
	*sp = s;
	*out = n;
	return nd;
}

int
value_long(const char *s, long min, long max, long *out, const char **why)
{
	unsigned long mag;
	bool neg = false;
	long v;
	int nd;

	if (*s == '\0')
		return fail(why, "empty value");
	if (*s == '-' && min < 0) {
		neg = true;
		s++;
	}
	nd = digits(&s, &mag);
	if (nd == 0 || (nd > 0 && *s != '\0'))
		return fail(why, "expected a decimal integer");
	if (nd < 0)
		return fail(why, "number out of range");
	if (neg) {
		/* -(LONG_MIN) does not fit in a long: compare magnitudes. */
		if (mag > (unsigned long)LONG_MAX + 1)
			return fail(why, "number out of range");
		v = mag == (unsigned long)LONG_MAX + 1 ? LONG_MIN : -(long)mag;
	} else {
		if (mag > (unsigned long)LONG_MAX)
			return fail(why, "number out of range");
		v = (long)mag;
	}
	if (v < min || v > max)
		return fail(why, "number out of range");
	*out = v;
	return 0;
}

int
value_duration_ms(const char *s, long min_ms, long max_ms, long *out,
    const char **why)
{
	static const struct {
		const char *suffix;
		unsigned long ms;
	} units[] = {
		{ "", 1000 }, /* a bare number means seconds */
		{ "ms", 1 },
		{ "s", 1000 },
		{ "m", 60 * 1000 },
		{ "h", 60 * 60 * 1000 },
	};
	unsigned long n;
	size_t i;
	int nd;

	if (*s == '\0')
		return fail(why, "empty value");
	if (*s == '-')
		return fail(why, "negative durations are not allowed");
	nd = digits(&s, &n);
	if (nd < 0)
		return fail(why, "duration out of range");
	if (nd == 0)
		return fail(why,
		    "expected a duration such as 10 (seconds), 500ms, 30s, "
		    "2m or 1h");
	for (i = 0; i < nitems(units); i++)
		if (strcmp(s, units[i].suffix) == 0)
			break;
	if (i == nitems(units))
		return fail(why, "unknown duration unit (use ms, s, m or h)");
	if (max_ms < 0 || n > (unsigned long)max_ms / units[i].ms)
		return fail(why, "duration out of range");
	n *= units[i].ms;
	if ((long)n < min_ms)
		return fail(why, "duration out of range");
	*out = (long)n;
	return 0;
}

int
value_enum(const char *s, const char *const *names, int *out,
    const char **why)
{
	int i;

	for (i = 0; names[i] != NULL; i++) {
		if (strcmp(s, names[i]) == 0) {
			*out = i;
			return 0;
		}
	}
	return fail(why, "unknown value");
}

static const struct {
	const char *name;
	unsigned bit;
} tls_versions[] = {
	{ "tlsv1.3", TLS_VER_1_3 },
	{ "tlsv1.2", TLS_VER_1_2 },
	{ "tlsv1.1", TLS_VER_1_1 },
	{ "tlsv1", TLS_VER_1_0 },
};

static int
is_blank(char ch)
{
	return ch == ' ' || ch == '\t';
}

int
value_tls_versions(const char *s, unsigned *out, const char **why)
{
	unsigned bits = 0;
	const char *p = s;

	for (;;) {
		const char *start, *end;
		size_t len, i;

		while (is_blank(*p))
			p++;
		start = p;
		while (*p != '\0' && *p != ',')
			p++;
		end = p;
		while (end > start && is_blank(end[-1]))
			end--;
		len = (size_t)(end - start);
		if (len == 0)
			return fail(why, *s == '\0' ? "empty list of TLS versions"
			    : "empty item in list of TLS versions");
		for (i = 0; i < nitems(tls_versions); i++)
			if (strlen(tls_versions[i].name) == len &&
			    strncmp(start, tls_versions[i].name, len) == 0)
				break;
		if (i == nitems(tls_versions))
			return fail(why,
			    "unknown TLS version (expected tlsv1.3, tlsv1.2, "
			    "tlsv1.1 or tlsv1)");
		bits |= tls_versions[i].bit;
		if (*p == '\0')
			break;
		p++; /* the comma */
	}
	*out = bits;
	return 0;
}

void
value_tls_versions_str(unsigned bits, char *buf, size_t cap)
{
	size_t i, used = 0;

	if (cap == 0)
		return;
	buf[0] = '\0';
	for (i = 0; i < nitems(tls_versions); i++) {
		int n;

		if ((bits & tls_versions[i].bit) == 0)
			continue;
		n = snprintf(buf + used, cap - used, "%s%s",
		    used > 0 ? "," : "", tls_versions[i].name);
		if (n < 0 || (size_t)n >= cap - used)
			return; /* truncated, still NUL-terminated */
		used += (size_t)n;
	}
}
