/*
 * log: leveled log lines to stderr, one write(2) per line so that lines from
 * worker threads never interleave. Also the key=value quoting used by the
 * per-connection line. The level is the only state: a process-wide atomic
 * set by the main thread.
 */
#ifndef MQGATE_LOG_H
#define MQGATE_LOG_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

#include "compat.h"
#include "config.h"

void log_set_level(enum log_level level);
bool log_enabled(enum log_level level);

/* Format and write one line: "<UTC timestamp> <level> <message>\n". Lines
 * longer than the internal buffer are cut and end in "...". */
void log_msg(enum log_level level, const char *fmt, ...) MQ_PRINTF(2, 3);
void log_vmsg(enum log_level level, const char *fmt, va_list ap)
    MQ_PRINTF(2, 0);

#define log_error(...) log_msg(LOG_LEVEL_ERROR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_LEVEL_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_LEVEL_INFO, __VA_ARGS__)
#define log_debug(...)                                                         \
	do {                                                                   \
		if (log_enabled(LOG_LEVEL_DEBUG))                              \
			log_msg(LOG_LEVEL_DEBUG, __VA_ARGS__);                 \
	} while (0)

/*
 * Copy s into buf as a key=value value: unchanged when it is non-empty
 * UTF-8 with no blank, quote, backslash, '=' or control character;
 * otherwise in double quotes with '"' and '\' escaped, and control bytes
 * and bytes that are no well-formed UTF-8 as \xNN (well-formed UTF-8 stays
 * as it is). NULL or "" becomes "-" (the log's "not applicable"). Always
 * NUL-terminates; cuts at cap, never inside a character. Returns buf.
 */
const char *log_quote(const char *s, char *buf, size_t cap);

#endif
