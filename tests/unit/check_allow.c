/*
 * check_allow.c: unit tests for allow.c: how lists are split and trimmed,
 * every reason a list is refused, fnmatch matching with and without case
 * folding, and the accessors.
 */
#include "build_config.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "allow.h"
#include "compat.h"
#include "unit.h"

Suite *allow_suite(void);

#define OK NULL

#define E_LIST "empty list"
#define E_ITEM                                                                 \
	"empty pattern (two commas in a row, or a leading or trailing comma)"
#define E_LONG "pattern longer than 255 bytes"
#define E_BRACKET "unterminated '[' class (write \\[ for a literal '[')"
#define E_BSLASH "trailing '\\' escapes nothing"
#define E_CLASS "unknown character class name in '[:name:]'"

#define X16 "abcdefghijklmnop"
#define X240 X16 X16 X16 X16 X16 X16 X16 X16 X16 X16 X16 X16 X16 X16 X16
#define X255 X240 "abcdefghijklmno" /* ALLOW_PATTERN_MAX bytes */

static const struct {
	const char *s;
	const char *why;    /* OK, or the reason */
	const char *pat[4]; /* the patterns when OK */
} parse_vec[] = {
	{ "a", OK, { "a" } },
	{ "*.example.com", OK, { "*.example.com" } },
	{ " a , b ,c ", OK, { "a", "b", "c" } },
	{ "\t*.example.com\t,\tdev-*", OK, { "*.example.com", "dev-*" } },
	{ "my device, other  one", OK, { "my device", "other  one" } },
	{ X255, OK, { X255 } },
	{ "x," X255 ",y", OK, { "x", X255, "y" } },
	/* '\' keeps a comma or a trailing blank in the pattern */
	{ "a\\,b", OK, { "a\\,b" } },
	{ "a\\,b,c", OK, { "a\\,b", "c" } },
	{ "a\\ , b", OK, { "a\\ ", "b" } },
	{ "a\\\\ , b", OK, { "a\\\\", "b" } },
	{ "\\[literal\\]", OK, { "\\[literal\\]" } },
	{ "a]", OK, { "a]" } },
	{ "dev[0-9]", OK, { "dev[0-9]" } },
	{ "[!a-z]x,[^a-z]y", OK, { "[!a-z]x", "[^a-z]y" } },
	{ "[]]", OK, { "[]]" } },
	{ "[!]]", OK, { "[!]]" } },
	{ "[]a]", OK, { "[]a]" } },
	{ "[\\]]", OK, { "[\\]]" } },
	{ "[a\\-z]", OK, { "[a\\-z]" } },
	{ "[[:alpha:]][[:digit:][:xdigit:]]", OK,
	    { "[[:alpha:]][[:digit:][:xdigit:]]" } },
	{ "[[=a=]],[[.-.]]", OK, { "[[=a=]]", "[[.-.]]" } },
	{ "[[]", OK, { "[[]" } },
	{ "[a[\\:]", OK, { "[a[\\:]" } },

	{ "", E_LIST, { NULL } },
	{ " \t ", E_LIST, { NULL } },
	{ "a,,b", E_ITEM, { NULL } },
	{ "a, ,b", E_ITEM, { NULL } },
	{ "a,", E_ITEM, { NULL } },
	{ "a, ", E_ITEM, { NULL } },
	{ ",a", E_ITEM, { NULL } },
	{ ",", E_ITEM, { NULL } },
	{ X255 "p", E_LONG, { NULL } },
	{ "a, " X255 "p ,b", E_LONG, { NULL } },
	{ "[abc", E_BRACKET, { NULL } },
	{ "dev[0-9", E_BRACKET, { NULL } },
	{ "a,[b", E_BRACKET, { NULL } },
	{ "[]", E_BRACKET, { NULL } },
	{ "[!]", E_BRACKET, { NULL } },
	{ "[^]", E_BRACKET, { NULL } },
	{ "[[:alpha:]", E_BRACKET, { NULL } },
	{ "[[:alpha]]", E_BRACKET, { NULL } },
	{ "[[=a]", E_BRACKET, { NULL } },
	/* glibc would read this as the class "a[:"; write "[a[\\:]" */
	{ "[a[:]", E_BRACKET, { NULL } },
	{ "[\\]", E_BRACKET, { NULL } },
	{ "[a\\", E_BSLASH, { NULL } },
	{ "abc\\", E_BSLASH, { NULL } },
	{ "a\\, b\\", E_BSLASH, { NULL } },
	{ "ok, abc\\", E_BSLASH, { NULL } },
	{ "abc\\ ", OK, { "abc\\ " } },
	{ "[[:foo:]]", E_CLASS, { NULL } },
	{ "[[:ALPHA:]]", E_CLASS, { NULL } },
	{ "[[::]]", E_CLASS, { NULL } },
};

START_TEST(test_parse)
{
	static char sentinel;
	struct allow_list *const before = (struct allow_list *)&sentinel;
	struct allow_list *l = before; /* must survive a refusal */
	const char *why = "untouched";
	const char *const *pat = parse_vec[_i].pat;
	int r = allow_list_parse(parse_vec[_i].s, &l, &why);
	size_t n = 0, i;

	if (parse_vec[_i].why != OK) {
		ck_assert_msg(r == -1, "'%s' accepted", parse_vec[_i].s);
		ck_assert_str_eq(why, parse_vec[_i].why);
		ck_assert_ptr_eq(l, before); /* untouched */
		/* why may be NULL */
		ck_assert_int_eq(
		    allow_list_parse(parse_vec[_i].s, &l, NULL), -1);
		return;
	}
	ck_assert_msg(r == 0, "'%s' refused: %s", parse_vec[_i].s, why);
	ck_assert_str_eq(why, "untouched");
	while (n < nitems(parse_vec[_i].pat) && pat[n] != NULL)
		n++;
	ck_assert_uint_eq(allow_list_count(l), n);
	for (i = 0; i < n; i++)
		ck_assert_str_eq(allow_list_pattern(l, i), pat[i]);
	ck_assert_ptr_null(allow_list_pattern(l, n));
	ck_assert_ptr_null(allow_list_pattern(l, (size_t)-1));
	allow_list_free(l);
}
END_TEST

START_TEST(test_parse_null)
{
	struct allow_list *l = NULL;
	const char *why = NULL;

	ck_assert_int_eq(allow_list_parse(NULL, &l, &why), -1);
	ck_assert_str_eq(why, E_LIST);
	ck_assert_ptr_null(l);
}
END_TEST

/* A long list of many patterns. */
START_TEST(test_parse_many)
{
	char s[1000 * 12], want[16];
	struct allow_list *l;
	size_t len = 0, i;

	for (i = 0; i < 1000; i++)
		len +=
		    (size_t)sprintf(s + len, "%sdev%04zu*", i ? ", " : "", i);
	ck_assert_int_eq(allow_list_parse(s, &l, NULL), 0);
	ck_assert_uint_eq(allow_list_count(l), 1000);
	for (i = 0; i < 1000; i++) {
		snprintf(want, sizeof(want), "dev%04zu*", i);
		ck_assert_str_eq(allow_list_pattern(l, i), want);
	}
	ck_assert(allow_list_match(l, "dev0999-x", false));
	ck_assert(!allow_list_match(l, "dev1000", false));
	allow_list_free(l);
}
END_TEST

static const struct {
	const char *list;
	const char *value;
	bool casefold;
	bool match;
} match_vec[] = {
	{ "*", "anything", false, true },
	{ "*", "", false, true },
	{ "*", ".hidden/with/slashes", false, true },
	{ "a", "a", false, true },
	{ "a", "A", false, false },
	{ "a", "A", true, true },
	{ "a", "ab", false, false },
	{ "a", "", false, false },
	{ "*.example.com", "a.example.com", false, true },
	{ "*.example.com", "a.b.example.com", false, true },
	{ "*.example.com", "example.com", false, false },
	{ "*.example.com", "a.example.com.evil", false, false },
	{ "*.example.com", "A.EXAMPLE.COM", false, false },
	{ "*.example.com", "A.EXAMPLE.COM", true, true },
	{ "*.Example.COM", "a.example.com", true, true },
	{ "*.Example.COM", "a.example.com", false, false },
	{ "dev?", "dev1", false, true },
	{ "dev?", "dev", false, false },
	{ "dev?", "dev12", false, false },
	{ "dev[0-9]", "dev7", false, true },
	{ "dev[0-9]", "devx", false, false },
	{ "dev[!0-9]", "devx", false, true },
	{ "dev[!0-9]", "dev7", false, false },
	{ "dev[^0-9]", "devx", false, true },
	{ "DEV[a-c]", "devB", true, true },
	{ "DEV[a-c]", "devB", false, false },
	{ "[[:digit:]]*", "1abc", false, true },
	{ "[[:digit:]]*", "abc1", false, false },
	{ "[]]", "]", false, true },
	{ "[]a]", "a", false, true },
	{ "a\\*b", "a*b", false, true },
	{ "a\\*b", "axb", false, false },
	{ "a\\?", "a?", false, true },
	{ "a\\?", "ab", false, false },
	{ "\\[x\\]", "[x]", false, true },
	{ "a\\,b", "a,b", false, true },
	{ "a\\,b", "a\\,b", false, false },
	{ "a\\ ", "a ", false, true },
	{ "a\\\\", "a\\", false, true },
	{ "spiffe://example.org/*", "spiffe://example.org/ns/a", false, true },
	{ "spiffe://example.org/*", "spiffe://example.net/ns/a", false, false },
	{ "my device", "my device", false, true },
	{ "a, b, c*", "cat", false, true },
	{ "a, b, c*", "b", false, true },
	{ "a, b, c*", "d", false, false },
	{ "a, b, c*", "B", true, true },
	{ "client1", "client10", false, false },
};

START_TEST(test_match)
{
	struct allow_list *l;
	const char *why = NULL;

	ck_assert_msg(allow_list_parse(match_vec[_i].list, &l, &why) == 0,
	    "'%s' refused: %s", match_vec[_i].list, why);
	ck_assert_msg(allow_list_match(l, match_vec[_i].value,
			  match_vec[_i].casefold) == match_vec[_i].match,
	    "'%s' %s '%s' (casefold %d)", match_vec[_i].list,
	    match_vec[_i].match ? "does not match" : "matches",
	    match_vec[_i].value, match_vec[_i].casefold);
	allow_list_free(l);
}
END_TEST

START_TEST(test_null)
{
	struct allow_list *l;

	ck_assert(!allow_list_match(NULL, "x", false));
	ck_assert(!allow_list_match(NULL, "", true));
	ck_assert_uint_eq(allow_list_count(NULL), 0);
	ck_assert_ptr_null(allow_list_pattern(NULL, 0));
	allow_list_free(NULL);

	ck_assert_int_eq(allow_list_parse("*", &l, NULL), 0);
	ck_assert(!allow_list_match(l, NULL, false));
	allow_list_free(l);
}
END_TEST

Suite *
allow_suite(void)
{
	Suite *s = suite_create("allow");
	TCase *tc;

	tc = tcase_create("parse");
	tcase_add_loop_test(tc, test_parse, 0, (int)nitems(parse_vec));
	tcase_add_test(tc, test_parse_null);
	tcase_add_test(tc, test_parse_many);
	suite_add_tcase(s, tc);

	tc = tcase_create("match");
	tcase_add_loop_test(tc, test_match, 0, (int)nitems(match_vec));
	tcase_add_test(tc, test_null);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return unit_run(allow_suite());
}
