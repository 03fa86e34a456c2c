/*
 * check_text.c: unit tests for text.c: UTF-8 well-formedness at every
 * boundary RFC 3629 draws, cut-short characters, and hexadecimal.
 */
#include "build_config.h"

#include <stdbool.h>
#include <string.h>

#include "compat.h"
#include "text.h"
#include "unit.h"

static const struct {
	const char *name;
	uint8_t b[5];
	size_t len, want;
} utf8_vec[] = {
	{ "NUL is a character", { 0x00 }, 1, 1 },
	{ "ASCII", { 'a', 'b' }, 2, 1 },
	{ "DEL", { 0x7f }, 1, 1 },
	{ "U+0080", { 0xc2, 0x80 }, 2, 2 },
	{ "U+07FF", { 0xdf, 0xbf }, 2, 2 },
	{ "U+0800", { 0xe0, 0xa0, 0x80 }, 3, 3 },
	{ "U+D7FF", { 0xed, 0x9f, 0xbf }, 3, 3 },
	{ "U+E000", { 0xee, 0x80, 0x80 }, 3, 3 },
	{ "U+FFFF", { 0xef, 0xbf, 0xbf }, 3, 3 },
	{ "U+10000", { 0xf0, 0x90, 0x80, 0x80 }, 4, 4 },
	{ "U+10FFFF", { 0xf4, 0x8f, 0xbf, 0xbf }, 4, 4 },
	{ "a character, then more", { 0xc3, 0xa9, 'x' }, 3, 2 },
	{ "nothing", { 0 }, 0, 0 },
	{ "lone continuation", { 0x80 }, 1, 0 },
	{ "overlong 2 (0xc0)", { 0xc0, 0xaf }, 2, 0 },
	{ "overlong 2 (0xc1)", { 0xc1, 0xbf }, 2, 0 },
	{ "overlong 3", { 0xe0, 0x9f, 0xbf }, 3, 0 },
	{ "surrogate U+D800", { 0xed, 0xa0, 0x80 }, 3, 0 },
	{ "surrogate U+DFFF", { 0xed, 0xbf, 0xbf }, 3, 0 },
	{ "overlong 4", { 0xf0, 0x8f, 0xbf, 0xbf }, 4, 0 },
	{ "above U+10FFFF", { 0xf4, 0x90, 0x80, 0x80 }, 4, 0 },
	{ "0xf5", { 0xf5, 0x80, 0x80, 0x80 }, 4, 0 },
	{ "0xff", { 0xff }, 1, 0 },
	{ "cut short 2", { 0xc3 }, 1, 0 },
	{ "cut short 3", { 0xe2, 0x82 }, 2, 0 },
	{ "cut short 4", { 0xf0, 0x9f, 0x98 }, 3, 0 },
	{ "bad second byte", { 0xc3, 0x28 }, 2, 0 },
	{ "bad third byte", { 0xe2, 0x82, 0x28 }, 3, 0 },
	{ "bad fourth byte", { 0xf0, 0x9f, 0x98, 0xc0 }, 4, 0 },
};

START_TEST(test_utf8)
{
	ck_assert_msg(text_utf8_len(utf8_vec[_i].b, utf8_vec[_i].len) ==
		utf8_vec[_i].want,
	    "%s", utf8_vec[_i].name);
}
END_TEST

/* Every code point encodes to what text_utf8_len accepts whole, and no
 * prefix of it is accepted. */
START_TEST(test_utf8_all)
{
	uint32_t cp;
	uint8_t b[4];
	size_t n, k;

	for (cp = 0; cp <= 0x10ffff; cp++) {
		if (cp >= 0xd800 && cp <= 0xdfff)
			continue;
		if (cp < 0x80) {
			b[0] = (uint8_t)cp;
			n = 1;
		} else if (cp < 0x800) {
			b[0] = (uint8_t)(0xc0 | cp >> 6);
			b[1] = (uint8_t)(0x80 | (cp & 0x3f));
			n = 2;
		} else if (cp < 0x10000) {
			b[0] = (uint8_t)(0xe0 | cp >> 12);
			b[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
			b[2] = (uint8_t)(0x80 | (cp & 0x3f));
			n = 3;
		} else {
			b[0] = (uint8_t)(0xf0 | cp >> 18);
			b[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3f));
			b[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
			b[3] = (uint8_t)(0x80 | (cp & 0x3f));
			n = 4;
		}
		UNIT_HOT_CMP(text_utf8_len(b, n), ==, n);
		for (k = 1; k < n; k++)
			UNIT_HOT_CMP(text_utf8_len(b, k), ==, 0);
	}
}
END_TEST

START_TEST(test_hex)
{
	static const uint8_t b[] = { 0x00, 0x01, 0x9a, 0xff, 0x10 };
	char out[2 * sizeof(b) + 1];

	memset(out, 'X', sizeof(out));
	text_hex(b, sizeof(b), out);
	ck_assert_str_eq(out, "00019aff10");
	text_hex(b, 0, out);
	ck_assert_str_eq(out, "");
}
END_TEST

static Suite *
text_suite(void)
{
	Suite *s = suite_create("text");
	TCase *tc = tcase_create("text");

	tcase_add_loop_test(tc, test_utf8, 0, (int)nitems(utf8_vec));
	tcase_add_test(tc, test_utf8_all);
	tcase_add_test(tc, test_hex);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return unit_run(text_suite());
}
