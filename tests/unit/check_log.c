/*
 * check_log.c: unit tests for log.c: key=value quoting of every kind of
 * character, the line format (timestamp, level, message, newline), level
 * filtering and the cut of over-long lines.
 */
#include "build_config.h"

#include <fcntl.h>
#include <regex.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "unit.h"

static const struct {
	const char *in;
	size_t cap;
	const char *out;
} quote_vec[] = {
	{ NULL, 64, "-" },
	{ "", 64, "-" },
	{ "plain", 64, "plain" },
	{ "TLSv1.3", 64, "TLSv1.3" },
	{ "two words", 64, "\"two words\"" },
	{ "CN=client1", 64, "\"CN=client1\"" },
	{ "say \"hi\"", 64, "\"say \\\"hi\\\"\"" },
	{ "back\\slash", 64, "\"back\\\\slash\"" },
	{ "tab\there", 64, "\"tab\\x09here\"" },
	{ "nl\n", 64, "\"nl\\x0a\"" },
	{ "del\x7f", 64, "\"del\\x7f\"" },
	/* Well-formed UTF-8 stays; bytes that are none are escaped. */
	{ "caf\xc3\xa9", 64, "caf\xc3\xa9" },
	{ "\xe2\x82\xac 5", 64, "\"\xe2\x82\xac 5\"" },
	{ "\xf0\x9f\x98\x80", 64, "\xf0\x9f\x98\x80" },
	{ "bad\xff\xfeid", 64, "\"bad\\xff\\xfeid\"" },
	/* overlong, surrogate, above U+10FFFF, cut short, lone continuation */
	{ "\xc0\xaf", 64, "\"\\xc0\\xaf\"" },
	{ "\xe0\x80\xaf", 64, "\"\\xe0\\x80\\xaf\"" },
	{ "\xed\xa0\x80", 64, "\"\\xed\\xa0\\x80\"" },
	{ "\xf4\x90\x80\x80", 64, "\"\\xf4\\x90\\x80\\x80\"" },
	{ "\xf5\x80\x80\x80", 64, "\"\\xf5\\x80\\x80\\x80\"" },
	{ "a\xc3", 64, "\"a\\xc3\"" },
	{ "\xe2\x82", 64, "\"\\xe2\\x82\"" },
	{ "\x80x", 64, "\"\\x80x\"" },
	/* the last valid forms of each length */
	{ "\xdf\xbf\xef\xbf\xbf\xf4\x8f\xbf\xbf", 64,
	    "\xdf\xbf\xef\xbf\xbf\xf4\x8f\xbf\xbf" },
	/* a character is never cut: with 8 bytes, no room for the euro sign */
	{ "ab \xe2\x82\xac", 8, "\"ab \"" },
	{ "ab \xe2\x82\xac", 9, "\"ab \xe2\x82\xac\"" },
	/* Cut inside the quotes, still closed and NUL-terminated. */
	{ "a b c d e f", 8, "\"a b c\"" },
	{ "a b", 2, "" },
	{ "abcdef", 4, "abc" },
};

START_TEST(test_quote)
{
	char buf[64];

	memset(buf, 'X', sizeof(buf));
	log_quote(quote_vec[_i].in, buf, quote_vec[_i].cap);
	ck_assert_str_eq(buf, quote_vec[_i].out);
	ck_assert_uint_lt(strlen(buf), quote_vec[_i].cap);
}
END_TEST

START_TEST(test_quote_zero_cap)
{
	char buf[4] = "abc";

	ck_assert_ptr_eq(log_quote("x y", buf, 0), buf);
	ck_assert_str_eq(buf, "abc");
}
END_TEST

static void
emit_info(void)
{
	log_set_level(LOG_LEVEL_INFO);
	log_info("hello %s=%d", "n", 42);
	log_debug("hidden");
	log_warn("warned");
}

START_TEST(test_format_and_levels)
{
	char *out = unit_capture_stderr(emit_info);
	regex_t re;

	ck_assert_int_eq(regcomp(&re,
			     "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:"
			     "[0-9]{2}\\.[0-9]{3}Z info hello n=42\n"
			     "[0-9T:.-]+Z warn warned\n$",
			     REG_EXTENDED),
	    0);
	ck_assert_msg(regexec(&re, out, 0, NULL, 0) == 0, "got: %s", out);
	regfree(&re);
	free(out);
}
END_TEST

static void
emit_error_only(void)
{
	log_set_level(LOG_LEVEL_ERROR);
	log_warn("no");
	log_info("no");
	log_error("yes");
	ck_assert(!log_enabled(LOG_LEVEL_WARN));
	ck_assert(log_enabled(LOG_LEVEL_ERROR));
}

START_TEST(test_error_level)
{
	char *out = unit_capture_stderr(emit_error_only);

	ck_assert_ptr_nonnull(strstr(out, " error yes\n"));
	ck_assert_ptr_null(strstr(out, "no"));
	free(out);
}
END_TEST

static void
emit_debug(void)
{
	log_set_level(LOG_LEVEL_DEBUG);
	log_debug("visible %d", 1);
}

START_TEST(test_debug_level)
{
	char *out = unit_capture_stderr(emit_debug);

	ck_assert_ptr_nonnull(strstr(out, " debug visible 1\n"));
	free(out);
}
END_TEST

static void
emit_long(void)
{
	static char big[10000];

	memset(big, 'x', sizeof(big) - 1);
	log_set_level(LOG_LEVEL_INFO);
	log_info("%s", big);
}

START_TEST(test_long_line_cut)
{
	char *out = unit_capture_stderr(emit_long);
	size_t n = strlen(out);

	ck_assert_uint_le(n, 4096);
	ck_assert_str_eq(out + n - 4, "...\n");
	ck_assert_ptr_eq(strchr(out, '\n'), out + n - 1);
	free(out);
}
END_TEST

static Suite *
log_suite(void)
{
	Suite *s = suite_create("log");
	TCase *tc = tcase_create("log");

	tcase_add_loop_test(tc, test_quote, 0, (int)nitems(quote_vec));
	tcase_add_test(tc, test_quote_zero_cap);
	tcase_add_test(tc, test_format_and_levels);
	tcase_add_test(tc, test_error_level);
	tcase_add_test(tc, test_debug_level);
	tcase_add_test(tc, test_long_line_cut);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return unit_run(log_suite());
}
