/*
 * check_diag.c: unit tests for diag.c: the three output shapes, order and
 * growth, copies of the file name, truncation, printing, clearing, and the
 * count that must go up even when an entry cannot be stored.
 */
#include "build_config.h"

#include <limits.h>
#include <stdarg.h>
#include <string.h>
#include <wchar.h>

#include "compat.h"
#include "diag.h"
#include "unit.h"

static const struct {
	const char *file;
	int line;
	const char *msg;
	const char *out;
} fmt_vec[] = {
	{ "mqgate.ini", 7, "depth: bad", "mqgate.ini:7: depth: bad" },
	{ "mqgate.ini", 0, "no [listener] section",
	    "mqgate.ini: no [listener] section" },
	{ NULL, 0, "out of memory", "out of memory" },
	{ NULL, 12, "no file, so no line", "no file, so no line" },
	{ "/etc/mqgate/mqgate.ini", 123456, "x",
	    "/etc/mqgate/mqgate.ini:123456: x" },
	{ "", 3, "empty file name", ":3: empty file name" },
	{ "f", 1, "", "f:1: " },
};

START_TEST(test_format)
{
	struct diag d;
	char buf[256];
	int n;

	diag_init(&d);
	diag_add(&d, fmt_vec[_i].file, fmt_vec[_i].line, "%s",
	    fmt_vec[_i].msg);
	ck_assert_uint_eq(diag_count(&d), 1);
	ck_assert_int_eq(d.oom, 0);
	n = diag_format(&d, 0, buf, sizeof(buf));
	ck_assert_str_eq(buf, fmt_vec[_i].out);
	ck_assert_int_eq(n, (int)strlen(fmt_vec[_i].out));
	ck_assert_int_eq(d.v[0].line, fmt_vec[_i].line);
	diag_clear(&d);
}
END_TEST

START_TEST(test_printf_args)
{
	struct diag d;
	char buf[128];

	diag_init(&d);
	diag_add(&d, "a.ini", 3, "%s: %s '%d'", "depth", "bad value", 101);
	diag_format(&d, 0, buf, sizeof(buf));
	ck_assert_str_eq(buf, "a.ini:3: depth: bad value '101'");
	diag_clear(&d);
}
END_TEST

static void MQ_PRINTF(4, 5)
add_via_vadd(struct diag *d, const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	diag_vadd(d, file, line, fmt, ap);
	va_end(ap);
}

START_TEST(test_vadd)
{
	struct diag d;
	char buf[128];

	diag_init(&d);
	add_via_vadd(&d, "v.ini", 9, "%s=%u", "k", 42u);
	ck_assert_uint_eq(diag_count(&d), 1);
	diag_format(&d, 0, buf, sizeof(buf));
	ck_assert_str_eq(buf, "v.ini:9: k=42");
	diag_clear(&d);
}
END_TEST

/* A zeroed struct is ready without diag_init, and clear leaves it so. */
START_TEST(test_zeroed)
{
	struct diag d = { 0 };

	ck_assert_uint_eq(diag_count(&d), 0);
	diag_clear(&d);
	diag_add(&d, NULL, 0, "one");
	ck_assert_uint_eq(diag_count(&d), 1);
	diag_clear(&d);
	ck_assert_uint_eq(diag_count(&d), 0);
	ck_assert_ptr_null(d.v);
	ck_assert_uint_eq(d.cap, 0);
	/* Usable again after clear. */
	diag_add(&d, "f", 1, "two");
	ck_assert_uint_eq(diag_count(&d), 1);
	ck_assert_str_eq(d.v[0].msg, "two");
	diag_clear(&d);
}
END_TEST

START_TEST(test_order_and_growth)
{
	struct diag d;
	char buf[64], want[64];
	size_t i;

	diag_init(&d);
	for (i = 0; i < 1000; i++)
		diag_add(&d, "f", (int)i + 1, "entry %zu", i);
	ck_assert_uint_eq(diag_count(&d), 1000);
	ck_assert_uint_ge(d.cap, 1000);
	for (i = 0; i < 1000; i++) {
		diag_format(&d, i, buf, sizeof(buf));
		snprintf(want, sizeof(want), "f:%zu: entry %zu", i + 1, i);
		ck_assert_str_eq(buf, want);
	}
	diag_clear(&d);
}
END_TEST

/* The entry owns a copy of the file name. */
START_TEST(test_file_copied)
{
	struct diag d;
	char file[] = "orig.ini";
	char buf[64];

	diag_init(&d);
	diag_add(&d, file, 2, "m");
	memcpy(file, "XXXX", 4);
	diag_format(&d, 0, buf, sizeof(buf));
	ck_assert_str_eq(buf, "orig.ini:2: m");
	diag_clear(&d);
}
END_TEST

START_TEST(test_format_out_of_range)
{
	struct diag d;
	char buf[8] = "junk";

	diag_init(&d);
	ck_assert_int_eq(diag_format(&d, 0, buf, sizeof(buf)), -1);
	ck_assert_str_eq(buf, "");
	diag_add(&d, "f", 1, "m");
	memcpy(buf, "junk", 5);
	ck_assert_int_eq(diag_format(&d, 1, buf, sizeof(buf)), -1);
	ck_assert_str_eq(buf, "");
	ck_assert_int_eq(diag_format(&d, 5, NULL, 0), -1);
	diag_clear(&d);
}
END_TEST

START_TEST(test_format_truncated)
{
	struct diag d;
	char buf[8];

	diag_init(&d);
	diag_add(&d, "file.ini", 10, "a long message");
	memset(buf, 'X', sizeof(buf));
	ck_assert_int_eq(diag_format(&d, 0, buf, 6),
	    (int)strlen("file.ini:10: a long message"));
	ck_assert_str_eq(buf, "file.");
	ck_assert_int_eq(buf[6], 'X');
	/* cap 0 only measures. */
	ck_assert_int_eq(diag_format(&d, 0, NULL, 0),
	    (int)strlen("file.ini:10: a long message"));
	diag_clear(&d);
}
END_TEST

static char *
print_to_string(const struct diag *d)
{
	char *path = unit_temp_file("", 0), *out;
	FILE *fp = fopen(path, "w");

	ck_assert_ptr_nonnull(fp);
	diag_print(d, fp);
	ck_assert_int_eq(fclose(fp), 0);
	out = unit_read_file(path);
	ck_assert_ptr_nonnull(out);
	unlink(path);
	free(path);
	return out;
}

START_TEST(test_print)
{
	struct diag d;
	char *out;

	diag_init(&d);
	out = print_to_string(&d);
	ck_assert_str_eq(out, "");
	free(out);

	diag_add(&d, "m.ini", 3, "unknown key 'foo' in [global]");
	diag_add(&d, "m.ini", 0, "no [listener] section");
	diag_add(&d, NULL, 0, "plain");
	out = print_to_string(&d);
	ck_assert_str_eq(out, "m.ini:3: unknown key 'foo' in [global]\n"
			      "m.ini: no [listener] section\n"
			      "plain\n");
	free(out);
	diag_clear(&d);
}
END_TEST

/*
 * An entry that cannot be formatted (here: a wide string the C locale cannot
 * convert, which fails like an allocation would) is lost, but counted.
 */
START_TEST(test_lost_entry_counted)
{
	static const wchar_t bad[] = { 0x20AC, 0 };
	struct diag d;
	char buf[128], *out;

	diag_init(&d);
	diag_add(&d, "f.ini", 1, "first");
	diag_add(&d, "f.ini", 2, "%ls", bad);
	ck_assert_int_eq(d.oom, 1);
	ck_assert_uint_eq(d.n, 1);
	ck_assert_uint_eq(diag_count(&d), 2);

	diag_add(&d, NULL, 0, "%ls", bad);
	ck_assert_uint_eq(diag_count(&d), 3);
	diag_add(&d, "f.ini", 4, "fourth");
	ck_assert_uint_eq(diag_count(&d), 4);
	ck_assert_int_eq(d.oom, 2);

	diag_format(&d, 0, buf, sizeof(buf));
	ck_assert_str_eq(buf, "f.ini:1: first");
	diag_format(&d, 1, buf, sizeof(buf));
	ck_assert_str_eq(buf, "f.ini:4: fourth");
	diag_format(&d, 2, buf, sizeof(buf));
	ck_assert_str_eq(buf, "out of memory: a problem could not be recorded");
	diag_format(&d, 3, buf, sizeof(buf));
	ck_assert_str_eq(buf, "out of memory: a problem could not be recorded");
	ck_assert_int_eq(diag_format(&d, 4, buf, sizeof(buf)), -1);

	out = print_to_string(&d);
	ck_assert_str_eq(out, "f.ini:1: first\n"
			      "f.ini:4: fourth\n"
			      "out of memory: 2 more problems could not be "
			      "recorded\n");
	free(out);

	diag_clear(&d);
	ck_assert_uint_eq(diag_count(&d), 0);
	ck_assert_int_eq(d.oom, 0);

	diag_add(&d, NULL, 0, "%ls", bad);
	out = print_to_string(&d);
	ck_assert_str_eq(out,
	    "out of memory: 1 more problem could not be recorded\n");
	free(out);
	diag_clear(&d);
}
END_TEST

START_TEST(test_lost_count_saturates)
{
	struct diag d;

	diag_init(&d);
	d.oom = INT_MAX - 1;
	diag_add(&d, NULL, 0, "%ls", L"\x20AC");
	ck_assert_int_eq(d.oom, INT_MAX);
	diag_add(&d, NULL, 0, "%ls", L"\x20AC");
	ck_assert_int_eq(d.oom, INT_MAX);
	ck_assert_uint_eq(diag_count(&d), (size_t)INT_MAX);
	diag_clear(&d);
}
END_TEST

Suite *
diag_suite(void)
{
	Suite *s = suite_create("diag");
	TCase *tc;

	tc = tcase_create("add");
	tcase_add_loop_test(tc, test_format, 0, (int)nitems(fmt_vec));
	tcase_add_test(tc, test_printf_args);
	tcase_add_test(tc, test_vadd);
	tcase_add_test(tc, test_zeroed);
	tcase_add_test(tc, test_order_and_growth);
	tcase_add_test(tc, test_file_copied);
	suite_add_tcase(s, tc);

	tc = tcase_create("output");
	tcase_add_test(tc, test_format_out_of_range);
	tcase_add_test(tc, test_format_truncated);
	tcase_add_test(tc, test_print);
	suite_add_tcase(s, tc);

	tc = tcase_create("oom");
	tcase_add_test(tc, test_lost_entry_counted);
	tcase_add_test(tc, test_lost_count_saturates);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return unit_run(diag_suite());
}
