/*
 * log: formats each line in a stack buffer and writes it with one write(2)
 * to stderr, which keeps lines from several worker threads whole. Never
 * allocates, never fails the caller: a line that cannot be written is lost.
 */
#include "build_config.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "text.h"

static _Atomic int log_level = LOG_LEVEL_INFO;

static const char *const level_names[] = {
	[LOG_LEVEL_ERROR] = "error",
	[LOG_LEVEL_WARN] = "warn",
	[LOG_LEVEL_INFO] = "info",
	[LOG_LEVEL_DEBUG] = "debug",
};

void
log_set_level(enum log_level level)
{
	atomic_store_explicit(&log_level, (int)level, memory_order_relaxed);
}

bool
log_enabled(enum log_level level)
{
	return (int)level <=
	    atomic_load_explicit(&log_level, memory_order_relaxed);
}

void
log_vmsg(enum log_level level, const char *fmt, va_list ap)
{
	char line[4096];
	struct timespec ts;
	struct tm tm;
	size_t n;
	int r;

	if (!log_enabled(level))
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = strftime(line, sizeof(line), "%Y-%m-%dT%H:%M:%S", &tm);
	r = snprintf(line + n, sizeof(line) - n, ".%03ldZ %s ",
	    ts.tv_nsec / 1000000, level_names[level]);
	if (r > 0)
		n += (size_t)r;
	r = vsnprintf(line + n, sizeof(line) - n, fmt, ap);
	if (r < 0)
		r = 0;
	if ((size_t)r >= sizeof(line) - n - 1) {
		/* Cut, and say so, leaving room for the newline. */
		n = sizeof(line) - 5;
		memcpy(line + n, "...", 3);
		n += 3;
	} else {
		n += (size_t)r;
	}
	line[n++] = '\n';
	while (write(STDERR_FILENO, line, n) < 0 && errno == EINTR)
		;
}

void
log_msg(enum log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(level, fmt, ap);
	va_end(ap);
}

/* The length of the well-formed UTF-8 character at s, in a NUL-terminated
 * string; 0 when there is none. */
static size_t
utf8_seq(const unsigned char *s)
{
	return text_utf8_len(s, strnlen((const char *)s, 4));
}

static bool
needs_quotes(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n;

	while (*p != '\0') {
		if (*p <= ' ' || *p == '"' || *p == '\\' || *p == '=' ||
		    *p == 0x7f)
			return true;
		if (*p < 0x80) {
			p++;
			continue;
		}
		if ((n = utf8_seq(p)) == 0)
			return true;
		p += n;
	}
	return false;
}

const char *
log_quote(const char *s, char *buf, size_t cap)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)s;
	size_t n = 0, k = 1;

	if (cap == 0)
		return buf;
	if (s == NULL || *s == '\0') {
		snprintf(buf, cap, "-");
		return buf;
	}
	if (!needs_quotes(s)) {
		snprintf(buf, cap, "%s", s);
		return buf;
	}
	/* Reserve room for the closing quote and the NUL. */
	if (cap < 3) {
		buf[0] = '\0';
		return buf;
	}
	buf[n++] = '"';
	while (*p != '\0') {
		if (*p == '"' || *p == '\\') {
			if (n + 2 > cap - 2)
				break;
			buf[n++] = '\\';
			buf[n++] = (char)*p++;
		} else if (*p < ' ' || *p == 0x7f ||
		    (*p >= 0x80 && (k = utf8_seq(p)) == 0)) {
			/* Control bytes, and bytes that are no UTF-8 (a raw
			 * PSK identity, say), so that the log stays text. */
			if (n + 4 > cap - 2)
				break;
			buf[n++] = '\\';
			buf[n++] = 'x';
			buf[n++] = hex[*p >> 4];
			buf[n++] = hex[*p & 0xf];
			p++;
		} else {
			if (*p < 0x80)
				k = 1;
			if (n + k > cap - 2)
				break;
			memcpy(buf + n, p, k);
			n += k;
			p += k;
		}
	}
	buf[n++] = '"';
	buf[n] = '\0';
	return buf;
}
