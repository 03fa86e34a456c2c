/*
 * check_value.c: unit tests for value.c, one vector table per parser, every
 * accepted form and every reason for refusing a value.
 */
#include "build_config.h"

#include <limits.h>
#include <string.h>

#include "compat.h"
#include "unit.h"
#include "value.h"

#define OK NULL /* expected reason of an accepted value */

static const struct {
	const char *s;
	const char *why; /* OK, or the expected reason */
	bool val;
} bool_vec[] = {
	{ "true", OK, true },
	{ "TRUE", OK, true },
	{ "True", OK, true },
	{ "yes", OK, true },
	{ "YES", OK, true },
	{ "on", OK, true },
	{ "On", OK, true },
	{ "1", OK, true },
	{ "false", OK, false },
	{ "FALSE", OK, false },
	{ "no", OK, false },
	{ "No", OK, false },
	{ "off", OK, false },
	{ "OFF", OK, false },
	{ "0", OK, false },
	{ "", "expected true or false (or yes/no, on/off, 1/0)", false },
	{ "2", "expected true or false (or yes/no, on/off, 1/0)", false },
	{ "tru", "expected true or false (or yes/no, on/off, 1/0)", false },
	{ "truex", "expected true or false (or yes/no, on/off, 1/0)", false },
	{ " true", "expected true or false (or yes/no, on/off, 1/0)", false },
	{ "true ", "expected true or false (or yes/no, on/off, 1/0)", false },
	{ "y", "expected true or false (or yes/no, on/off, 1/0)", false },
	{ "01", "expected true or false (or yes/no, on/off, 1/0)", false },
};

START_TEST(test_bool)
{
	const char *why = "untouched";
	bool out = !bool_vec[_i].val;
	int r = value_bool(bool_vec[_i].s, &out, &why);

	if (bool_vec[_i].why == OK) {
		ck_assert_msg(r == 0, "'%s' refused", bool_vec[_i].s);
		ck_assert_int_eq(out, bool_vec[_i].val);
		ck_assert_str_eq(why, "untouched");
	} else {
		ck_assert_msg(r == -1, "'%s' accepted", bool_vec[_i].s);
		ck_assert_str_eq(why, bool_vec[_i].why);
		ck_assert_int_eq(out, !bool_vec[_i].val); /* untouched */
		/* why may be NULL */
		ck_assert_int_eq(value_bool(bool_vec[_i].s, &out, NULL), -1);
	}
}
END_TEST

#define E_EMPTY "empty value"
#define E_INT "expected a decimal integer"
#define E_RANGE "number out of range"

static const struct {
	const char *s;
	long min, max;
	const char *why;
	long val;
} long_vec[] = {
	{ "0", 0, 10, OK, 0 },
	{ "10", 0, 10, OK, 10 },
	{ "5", 5, 5, OK, 5 },
	{ "007", 0, 10, OK, 7 },
	{ "-1", -5, 5, OK, -1 },
	{ "-5", -5, 5, OK, -5 },
	{ "-0", -5, 5, OK, 0 },
	{ "9223372036854775807", 0, LONG_MAX, OK, LONG_MAX },
	{ "-9223372036854775808", LONG_MIN, 0, OK, LONG_MIN },
	{ "-9223372036854775807", LONG_MIN, 0, OK, -LONG_MAX },
	{ "", 0, 10, E_EMPTY, 0 },
	{ "", -10, 10, E_EMPTY, 0 },
	{ "11", 0, 10, E_RANGE, 0 },
	{ "4", 5, 10, E_RANGE, 0 },
	{ "-6", -5, 5, E_RANGE, 0 },
	{ "6", -5, 5, E_RANGE, 0 },
	{ "-1", 0, 10, E_INT, 0 }, /* no sign when min >= 0 */
	{ "+1", 0, 10, E_INT, 0 },
	{ "+1", -10, 10, E_INT, 0 },
	{ "-", -10, 10, E_INT, 0 },
	{ "--1", -10, 10, E_INT, 0 },
	{ "1x", 0, 10, E_INT, 0 },
	{ "x1", 0, 10, E_INT, 0 },
	{ " 1", 0, 10, E_INT, 0 },
	{ "1 ", 0, 10, E_INT, 0 },
	{ "0x10", 0, 100, E_INT, 0 },
	{ "1.0", 0, 100, E_INT, 0 },
	{ "1e3", 0, 10000, E_INT, 0 },
	{ "9223372036854775808", 0, LONG_MAX, E_RANGE, 0 },
	{ "-9223372036854775809", LONG_MIN, 0, E_RANGE, 0 },
	{ "18446744073709551615", 0, LONG_MAX, E_RANGE, 0 },
	{ "18446744073709551616", 0, LONG_MAX, E_RANGE, 0 },
	{ "99999999999999999999999", 0, LONG_MAX, E_RANGE, 0 },
	{ "-99999999999999999999999", LONG_MIN, 0, E_RANGE, 0 },
};

START_TEST(test_long)
{
	const char *why = "untouched";
	long out = 4242;
	int r = value_long(long_vec[_i].s, long_vec[_i].min, long_vec[_i].max,
	    &out, &why);

	if (long_vec[_i].why == OK) {
		ck_assert_msg(r == 0, "'%s' refused: %s", long_vec[_i].s, why);
		ck_assert_int_eq(out, long_vec[_i].val);
	} else {
		ck_assert_msg(r == -1, "'%s' accepted", long_vec[_i].s);
		ck_assert_str_eq(why, long_vec[_i].why);
		ck_assert_int_eq(out, 4242);
		ck_assert_int_eq(value_long(long_vec[_i].s, long_vec[_i].min,
				     long_vec[_i].max, &out, NULL),
		    -1);
	}
}
END_TEST

#define D_EMPTY "empty value"
#define D_NEG "negative durations are not allowed"
#define D_FMT "expected a duration such as 10 (seconds), 500ms, 30s, 2m or 1h"
#define D_UNIT "unknown duration unit (use ms, s, m or h)"
#define D_RANGE "duration out of range"
#define WEEK (7L * 24 * 3600 * 1000)

static const struct {
	const char *s;
	long min, max;
	const char *why;
	long val;
} dur_vec[] = {
	{ "10", 0, WEEK, OK, 10000 },
	{ "0", 0, WEEK, OK, 0 },
	{ "10s", 0, WEEK, OK, 10000 },
	{ "500ms", 0, WEEK, OK, 500 },
	{ "0ms", 0, WEEK, OK, 0 },
	{ "2m", 0, WEEK, OK, 120000 },
	{ "1h", 0, WEEK, OK, 3600000 },
	{ "168h", 0, WEEK, OK, WEEK },
	{ "010", 0, WEEK, OK, 10000 },
	{ "1ms", 1, 10, OK, 1 },
	{ "10ms", 1, 10, OK, 10 },
	{ "9223372036854775807ms", 0, LONG_MAX, OK, LONG_MAX },
	{ "", 0, WEEK, D_EMPTY, 0 },
	{ "-1", 0, WEEK, D_NEG, 0 },
	{ "-1s", -1000, WEEK, D_NEG, 0 },
	{ "+1", 0, WEEK, D_FMT, 0 },
	{ "s", 0, WEEK, D_FMT, 0 },
	{ "ms", 0, WEEK, D_FMT, 0 },
	{ " 1", 0, WEEK, D_FMT, 0 },
	{ ".5s", 0, WEEK, D_FMT, 0 },
	{ "1.5s", 0, WEEK, D_UNIT, 0 },
	{ "10x", 0, WEEK, D_UNIT, 0 },
	{ "10 s", 0, WEEK, D_UNIT, 0 },
	{ "10s ", 0, WEEK, D_UNIT, 0 },
	{ "10S", 0, WEEK, D_UNIT, 0 },
	{ "10MS", 0, WEEK, D_UNIT, 0 },
	{ "1d", 0, WEEK, D_UNIT, 0 },
	{ "1us", 0, WEEK, D_UNIT, 0 },
	{ "1sm", 0, WEEK, D_UNIT, 0 },
	{ "169h", 0, WEEK, D_RANGE, 0 },
	{ "11ms", 1, 10, D_RANGE, 0 },
	{ "0", 1, 10, D_RANGE, 0 },
	{ "0ms", 1, 10, D_RANGE, 0 },
	{ "1", 1, 10, D_RANGE, 0 },
	{ "1", 0, -1, D_RANGE, 0 },
	{ "9223372036854775807s", 0, LONG_MAX, D_RANGE, 0 },
	{ "9223372036854775808ms", 0, LONG_MAX, D_RANGE, 0 },
	{ "99999999999999999999999", 0, LONG_MAX, D_RANGE, 0 },
	{ "5124095576030432h", 0, LONG_MAX, D_RANGE, 0 },
};

START_TEST(test_duration)
{
	const char *why = "untouched";
	long out = 4242;
	int r = value_duration_ms(dur_vec[_i].s, dur_vec[_i].min,
	    dur_vec[_i].max, &out, &why);

	if (dur_vec[_i].why == OK) {
		ck_assert_msg(r == 0, "'%s' refused: %s", dur_vec[_i].s, why);
		ck_assert_int_eq(out, dur_vec[_i].val);
	} else {
		ck_assert_msg(r == -1, "'%s' accepted", dur_vec[_i].s);
		ck_assert_str_eq(why, dur_vec[_i].why);
		ck_assert_int_eq(out, 4242);
		ck_assert_int_eq(value_duration_ms(dur_vec[_i].s,
				     dur_vec[_i].min, dur_vec[_i].max, &out,
				     NULL),
		    -1);
	}
}
END_TEST

static const char *const enum_names[] = { "alpha", "beta", "gamma", NULL };

static const struct {
	const char *s;
	int val; /* -1 = refused */
} enum_vec[] = {
	{ "alpha", 0 },
	{ "beta", 1 },
	{ "gamma", 2 },
	{ "Alpha", -1 },
	{ "", -1 },
	{ "delta", -1 },
	{ "alph", -1 },
	{ "alphaa", -1 },
	{ " beta", -1 },
};

START_TEST(test_enum)
{
	const char *why = "untouched";
	int out = 42;
	int r = value_enum(enum_vec[_i].s, enum_names, &out, &why);

	if (enum_vec[_i].val >= 0) {
		ck_assert_int_eq(r, 0);
		ck_assert_int_eq(out, enum_vec[_i].val);
	} else {
		ck_assert_int_eq(r, -1);
		ck_assert_str_eq(why, "unknown value");
		ck_assert_int_eq(out, 42);
		ck_assert_int_eq(value_enum(enum_vec[_i].s, enum_names, &out,
				     NULL),
		    -1);
	}
}
END_TEST

#define V_EMPTY "empty list of TLS versions"
#define V_ITEM "empty item in list of TLS versions"
#define V_UNKNOWN \
	"unknown TLS version (expected tlsv1.3, tlsv1.2, tlsv1.1 or tlsv1)"
#define V_ALL (TLS_VER_1_0 | TLS_VER_1_1 | TLS_VER_1_2 | TLS_VER_1_3)

static const struct {
	const char *s;
	const char *why;
	unsigned val;
} ver_vec[] = {
	{ "tlsv1.3", OK, TLS_VER_1_3 },
	{ "tlsv1.2", OK, TLS_VER_1_2 },
	{ "tlsv1.1", OK, TLS_VER_1_1 },
	{ "tlsv1", OK, TLS_VER_1_0 },
	{ "tlsv1.3,tlsv1.2", OK, TLS_VER_1_3 | TLS_VER_1_2 },
	{ "tlsv1.2,tlsv1.3", OK, TLS_VER_1_3 | TLS_VER_1_2 },
	{ " tlsv1.2 ,\ttlsv1.3 ", OK, TLS_VER_1_3 | TLS_VER_1_2 },
	{ "tlsv1,tlsv1.1,tlsv1.2,tlsv1.3", OK, V_ALL },
	{ "tlsv1.3,tlsv1.3", OK, TLS_VER_1_3 },
	{ "", V_EMPTY, 0 },
	{ " ", V_ITEM, 0 },
	{ ",", V_ITEM, 0 },
	{ "tlsv1.3,", V_ITEM, 0 },
	{ ",tlsv1.3", V_ITEM, 0 },
	{ "tlsv1.3,,tlsv1.2", V_ITEM, 0 },
	{ "tlsv1.3, ,tlsv1.2", V_ITEM, 0 },
	{ "sslv3", V_UNKNOWN, 0 },
	{ "tlsv1.4", V_UNKNOWN, 0 },
	{ "TLSv1.3", V_UNKNOWN, 0 }, /* lower case, like every enum */
	{ "tlsv1.", V_UNKNOWN, 0 },
	{ "tls", V_UNKNOWN, 0 },
	{ "tlsv1.3 tlsv1.2", V_UNKNOWN, 0 },
	{ "tlsv1.3;tlsv1.2", V_UNKNOWN, 0 },
	{ "tlsv1.3,bogus", V_UNKNOWN, 0 },
};

START_TEST(test_versions)
{
	const char *why = "untouched";
	unsigned out = 0x4242;
	int r = value_tls_versions(ver_vec[_i].s, &out, &why);

	if (ver_vec[_i].why == OK) {
		ck_assert_msg(r == 0, "'%s' refused: %s", ver_vec[_i].s, why);
		ck_assert_uint_eq(out, ver_vec[_i].val);
	} else {
		ck_assert_msg(r == -1, "'%s' accepted", ver_vec[_i].s);
		ck_assert_str_eq(why, ver_vec[_i].why);
		ck_assert_uint_eq(out, 0x4242);
		ck_assert_int_eq(value_tls_versions(ver_vec[_i].s, &out, NULL),
		    -1);
	}
}
END_TEST

static const struct {
	unsigned bits;
	size_t cap;
	const char *s;
} verstr_vec[] = {
	{ 0, 64, "" },
	{ TLS_VER_1_3, 64, "tlsv1.3" },
	{ TLS_VER_1_0, 64, "tlsv1" },
	{ TLS_VER_1_2 | TLS_VER_1_0, 64, "tlsv1.2,tlsv1" },
	{ V_ALL, 64, "tlsv1.3,tlsv1.2,tlsv1.1,tlsv1" },
	{ 0x10, 64, "" },		       /* unknown bits are ignored */
	{ TLS_VER_1_3 | 0x100, 64, "tlsv1.3" },
	{ V_ALL, 30, "tlsv1.3,tlsv1.2,tlsv1.1,tlsv1" }, /* exact fit */
	{ V_ALL, 29, "tlsv1.3,tlsv1.2,tlsv1.1,tlsv" },  /* truncated */
	{ TLS_VER_1_3, 5, "tlsv" },
	{ TLS_VER_1_3 | TLS_VER_1_2, 10, "tlsv1.3,t" },
	{ TLS_VER_1_3, 1, "" },
};

START_TEST(test_versions_str)
{
	char buf[64];

	memset(buf, 'X', sizeof(buf));
	value_tls_versions_str(verstr_vec[_i].bits, buf, verstr_vec[_i].cap);
	ck_assert_str_eq(buf, verstr_vec[_i].s);
	/* Nothing written past cap. */
	if (verstr_vec[_i].cap < sizeof(buf))
		ck_assert_int_eq(buf[verstr_vec[_i].cap], 'X');
}
END_TEST

START_TEST(test_versions_str_cap0)
{
	char buf[4] = "abc";

	value_tls_versions_str(V_ALL, buf, 0);
	ck_assert_str_eq(buf, "abc");
}
END_TEST

/* Every non-empty set survives printing and parsing again. */
START_TEST(test_versions_roundtrip)
{
	unsigned bits = (unsigned)_i, out = 0;
	const char *why = NULL;
	char buf[64];

	value_tls_versions_str(bits, buf, sizeof(buf));
	ck_assert_int_eq(value_tls_versions(buf, &out, &why), 0);
	ck_assert_uint_eq(out, bits);
}
END_TEST

Suite *
value_suite(void)
{
	Suite *s = suite_create("value");
	TCase *tc;

	tc = tcase_create("bool");
	tcase_add_loop_test(tc, test_bool, 0, (int)nitems(bool_vec));
	suite_add_tcase(s, tc);

	tc = tcase_create("long");
	tcase_add_loop_test(tc, test_long, 0, (int)nitems(long_vec));
	suite_add_tcase(s, tc);

	tc = tcase_create("duration");
	tcase_add_loop_test(tc, test_duration, 0, (int)nitems(dur_vec));
	suite_add_tcase(s, tc);

	tc = tcase_create("enum");
	tcase_add_loop_test(tc, test_enum, 0, (int)nitems(enum_vec));
	suite_add_tcase(s, tc);

	tc = tcase_create("tls_versions");
	tcase_add_loop_test(tc, test_versions, 0, (int)nitems(ver_vec));
	tcase_add_loop_test(tc, test_versions_str, 0, (int)nitems(verstr_vec));
	tcase_add_test(tc, test_versions_str_cap0);
	tcase_add_loop_test(tc, test_versions_roundtrip, 1, (int)V_ALL + 1);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return unit_run(value_suite());
}
