/*
 * check_secrets.c: unit tests for secrets.c: every accepted psk_file and
 * ticket_key_file form, every reason for refusing a line with its exact
 * line number (and that parsing goes on after it), the identity index at
 * sizes either side of the linear-scan limit, base64 round trips, and that
 * no message quotes key material.
 */
#include "build_config.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compat.h"
#include "diag.h"
#include "secrets.h"
#include "fault.h"
#include "unit.h"

Suite *secrets_suite(void);

#define PATH "secrets.txt"

static struct diag d;

static void
setup(void)
{
	diag_init(&d);
}

static void
teardown(void)
{
	diag_clear(&d);
}

/* All entries, for failure messages. */
static const char *
dump(void)
{
	static char buf[16384];
	size_t i, used = 0;

	buf[0] = '\0';
	for (i = 0; i < diag_count(&d) && used < sizeof(buf) - 2; i++) {
		int n = diag_format(&d, i, buf + used, sizeof(buf) - used - 1);

		if (n < 0)
			break;
		used += (size_t)n < sizeof(buf) - used - 1
			    ? (size_t)n
			    : sizeof(buf) - used - 2;
		buf[used++] = '\n';
		buf[used] = '\0';
	}
	return buf;
}

struct want_err {
	int line;
	const char *msg; /* NULL ends the list */
};

/* d holds exactly the entries in want (from index first on), in order. */
static void
expect_errors(size_t first, const struct want_err *want, size_t max)
{
	size_t n = 0, i;

	while (n < max && want[n].msg != NULL)
		n++;
	ck_assert_msg(diag_count(&d) == first + n,
	    "expected %zu problems, got:\n%s", n, dump());
	for (i = 0; i < n; i++) {
		const struct diag_entry *e = &d.v[first + i];

		ck_assert_ptr_nonnull(e->file);
		ck_assert_str_eq(e->file, PATH);
		ck_assert_msg(e->line == want[i].line,
		    "problem %zu at line %d, not %d:\n%s", i, e->line,
		    want[i].line, dump());
		ck_assert_msg(strcmp(e->msg, want[i].msg) == 0,
		    "problem %zu is \"%s\", not \"%s\"", i, e->msg,
		    want[i].msg);
	}
}

static void
tohex(const unsigned char *p, size_t len, char *out)
{
	size_t i;

	for (i = 0; i < len; i++)
		sprintf(out + 2 * i, "%02x", p[i]);
	out[2 * len] = '\0';
}

/* --- psk_file --- */

#define H16 "0123456789abcdef"
#define H128 H16 H16 H16 H16 H16 H16 H16 H16 /* 64 bytes */
#define X16 "abcdefghijklmnop"
#define X128 X16 X16 X16 X16 X16 X16 X16 X16

#define E_SHAPE "expected 'identity:hexkey'"
#define E_EMPTY_ID "empty identity (expected 'identity:hexkey')"
#define E_NONE "no psk entries (expected lines 'identity:hexkey')"

struct want_psk {
	const char *id;
	const char *hex; /* lower case */
};

static const struct {
	const char *text;
	size_t len;		/* 0: strlen(text) */
	struct want_psk ok[4];	/* entries, in file order, when no errors */
	struct want_err err[6]; /* expected problems; none: success */
} psk_vec[] = {
	/* accepted forms */
	{ "dev1:00ff\n", 0, { { "dev1", "00ff" } }, { { 0 } } },
	{ "dev1:ABcdEF\n", 0, { { "dev1", "abcdef" } }, { { 0 } } },
	{ "dev1:0123456789ABCDEFabcdef", 0,
	    { { "dev1", "0123456789abcdefabcdef" } }, { { 0 } } },
	{ "# comment\n\n  \t\n  # indented: comment\r\n\r\ndev1:0011\r\n"
	  "dev2 : 2233\n\t dev3\t:\t4455 \t",
	    0, { { "dev1", "0011" }, { "dev2", "2233" }, { "dev3", "4455" } },
	    { { 0 } } },
	{ "urn:dev:1:abcd\n", 0, { { "urn:dev:1", "abcd" } }, { { 0 } } },
	{ "a::00\n", 0, { { "a:", "00" } }, { { 0 } } },
	{ "my device #1:00\n", 0, { { "my device #1", "00" } }, { { 0 } } },
	{ "d\xc3\xa9v:01\n", 0, { { "d\xc3\xa9v", "01" } }, { { 0 } } },
	{ X128 ":01\n", 0, { { X128, "01" } }, { { 0 } } },
	{ "dev1:" H128 "\n", 0, { { "dev1", H128 } }, { { 0 } } },
	{ "A:00\na:11\n", 0, { { "A", "00" }, { "a", "11" } }, { { 0 } } },
	{ "a:00\n\n\n", 0, { { "a", "00" } }, { { 0 } } },

	/* one bad line each */
	{ "dev1\n", 0, { { 0 } }, { { 1, E_SHAPE } } },
	{ "dev1 00ff", 0, { { 0 } }, { { 1, E_SHAPE } } },
	{ ":abcd\n", 0, { { 0 } }, { { 1, E_EMPTY_ID } } },
	{ " \t :abcd\n", 0, { { 0 } }, { { 1, E_EMPTY_ID } } },
	{ ":\n", 0, { { 0 } }, { { 1, E_EMPTY_ID } } },
	{ X128 "y:01\n", 0, { { 0 } },
	    { { 1, "identity is 129 bytes, longest allowed is 128" } } },
	{ "de\x01v:00\n", 0, { { 0 } },
	    { { 1, "identity contains a control character (byte 0x01 at "
		   "offset 2)" } } },
	{ "de\0v:00\n", 8, { { 0 } },
	    { { 1, "identity contains a control character (byte 0x00 at "
		   "offset 2)" } } },
	{ "a\tb:00\n", 0, { { 0 } },
	    { { 1, "identity contains a control character (byte 0x09 at "
		   "offset 1)" } } },
	{ "ab\x7f:00\n", 0, { { 0 } },
	    { { 1, "identity contains a control character (byte 0x7f at "
		   "offset 2)" } } },
	{ "a\rb:00\r\n", 0, { { 0 } },
	    { { 1, "identity contains a control character (byte 0x0d at "
		   "offset 1)" } } },
	{ "dev1:\n", 0, { { 0 } }, { { 1, "psk key for 'dev1' is empty" } } },
	{ "dev1: \t \r\n", 0, { { 0 } },
	    { { 1, "psk key for 'dev1' is empty" } } },
	{ "dev1:abc\n", 0, { { 0 } },
	    { { 1, "psk key for 'dev1' has an odd number of hex digits "
		   "(3)" } } },
	{ "dev1:0g\n", 0, { { 0 } },
	    { { 1, "psk key for 'dev1' is not hex (bad digit 'g')" } } },
	{ "dev1:0x00\n", 0, { { 0 } },
	    { { 1, "psk key for 'dev1' is not hex (bad digit 'x')" } } },
	{ "dev1:00 11\n", 0, { { 0 } },
	    { { 1, "psk key for 'dev1' is not hex (bad digit ' ')" } } },
	{ "dev1:00\x01\x31\n", 0, { { 0 } },
	    { { 1, "psk key for 'dev1' is not hex (bad digit byte 0x01)" } } },
	{ "dev1:0\0", 7, { { 0 } },
	    { { 1, "psk key for 'dev1' is not hex (bad digit byte 0x00)" } } },
	{ "dev1:" H128 "00\n", 0, { { 0 } },
	    { { 1, "psk key for 'dev1' is 65 bytes, longest allowed is 64 "
		   "(128 hex digits)" } } },
	{ "dev1:" H128 "0\n", 0, { { 0 } },
	    { { 1, "psk key for 'dev1' has an odd number of hex digits "
		   "(129)" } } },
	{ "a:00\nb:11\n\ndev1:22\na:33\n", 0, { { 0 } },
	    { { 5, "duplicate identity 'a' (first on line 1)" } } },
	{ "a b:00\na b :11", 0, { { 0 } },
	    { { 2, "duplicate identity 'a b' (first on line 1)" } } },
	/* a bad first occurrence is not an entry, so no duplicate */
	{ "dev1:zz\ndev1:00\n", 0, { { 0 } },
	    { { 1, "psk key for 'dev1' is not hex (bad digit 'z')" } } },

	/* parsing goes on: every bad line, in order, with its number */
	{ "bad\ndev1:00\ndev2:zz\n# c\ndev1:11\n:00\r\nx:1\r\ndev3:22", 0,
	    { { 0 } },
	    { { 1, E_SHAPE },
		{ 3, "psk key for 'dev2' is not hex (bad digit 'z')" },
		{ 5, "duplicate identity 'dev1' (first on line 2)" },
		{ 6, E_EMPTY_ID },
		{ 7,
		    "psk key for 'x' has an odd number of hex digits (1)" } } },
	{ "\n\n\nnocolon", 0, { { 0 } }, { { 4, E_SHAPE } } },
	{ "a:00\r\n\r\n#\r\nb", 0, { { 0 } }, { { 4, E_SHAPE } } },

	/* nothing at all */
	{ "", 0, { { 0 } }, { { 0, E_NONE } } },
	{ "\n\n", 0, { { 0 } }, { { 0, E_NONE } } },
	{ "# only\n  # comments\r\n\t\n", 0, { { 0 } }, { { 0, E_NONE } } },
	{ "#", 0, { { 0 } }, { { 0, E_NONE } } },
};

START_TEST(test_psk_vec)
{
	const char *text = psk_vec[_i].text;
	size_t len = psk_vec[_i].len ? psk_vec[_i].len : strlen(text);
	const struct want_psk *ok = psk_vec[_i].ok;
	struct psk_table *t = psk_parse(text, len, PATH, &d);
	char hex[2 * PSK_KEY_MAX + 1];
	size_t n = 0, i;

	if (psk_vec[_i].err[0].msg != NULL) {
		ck_assert_ptr_null(t);
		expect_errors(0, psk_vec[_i].err, nitems(psk_vec[_i].err));
		return;
	}
	ck_assert_msg(t != NULL, "refused:\n%s", dump());
	ck_assert_uint_eq(diag_count(&d), 0);
	while (n < nitems(psk_vec[_i].ok) && ok[n].id != NULL)
		n++;
	ck_assert_uint_eq(t->n, n);
	for (i = 0; i < n; i++) {
		const struct psk_entry *e = &t->v[i];

		ck_assert_str_eq(e->identity, ok[i].id);
		ck_assert_uint_eq(e->key_len, strlen(ok[i].hex) / 2);
		tohex(e->key, e->key_len, hex);
		ck_assert_str_eq(hex, ok[i].hex);
		ck_assert_ptr_eq(psk_find(t, ok[i].id, strlen(ok[i].id)), e);
	}
	psk_table_free(t);
}
END_TEST

/* One entry per device, "device-NNNNN", with a key derived from i. */
static char *
psk_text(size_t n, size_t *lenp)
{
	size_t cap = n * 64 + 1, len = 0, i;
	char *s = malloc(cap);

	ck_assert_ptr_nonnull(s);
	for (i = 0; i < n; i++)
		len += (size_t)snprintf(s + len, cap - len,
		    "device-%05zu:%08zx%s\n", i, i * 2654435761u % 0xffffffffu,
		    i % 2 ? "AB" : "cd");
	*lenp = len;
	return s;
}

static const size_t psk_sizes[] = { 1, 2, 15, 16, 17, 100, 5000 };

/* psk_find, scanning or through the index, finds every identity and
 * nothing else. */
START_TEST(test_psk_find)
{
	size_t n = psk_sizes[_i], len, i;
	char *text = psk_text(n, &len), id[32], hex[16];
	struct psk_table *t = psk_parse(text, len, PATH, &d);

	ck_assert_msg(t != NULL, "refused:\n%s", dump());
	ck_assert_uint_eq(t->n, n);
	for (i = 0; i < n; i++) {
		const struct psk_entry *e;
		char want[16];

		snprintf(id, sizeof(id), "device-%05zu", i);
		e = psk_find(t, id, strlen(id));
		ck_assert_ptr_eq(e, &t->v[i]);
		ck_assert_str_eq(e->identity, id);
		ck_assert_uint_eq(e->key_len, 5);
		tohex(e->key, e->key_len, hex);
		snprintf(want, sizeof(want), "%08zx%s",
		    i * 2654435761u % 0xffffffffu, i % 2 ? "ab" : "cd");
		ck_assert_str_eq(hex, want);
	}
	snprintf(id, sizeof(id), "device-%05zu", n);
	ck_assert_ptr_null(psk_find(t, id, strlen(id)));
	/* Exactly len bytes: a prefix, a longer string, an embedded NUL. */
	ck_assert_ptr_null(psk_find(t, "device-00000", 11));
	ck_assert_ptr_nonnull(psk_find(t, "device-00000", 12));
	ck_assert_ptr_nonnull(psk_find(t, "device-00000xyz", 12));
	ck_assert_ptr_null(psk_find(t, "device-00000x", 13));
	ck_assert_ptr_null(psk_find(t, "device-00000\0", 13));
	ck_assert_ptr_null(psk_find(t, "device-0000\00", 12));
	ck_assert_ptr_null(psk_find(t, "DEVICE-00000", 12));
	ck_assert_ptr_null(psk_find(t, "", 0));
	ck_assert_ptr_null(psk_find(t, X128 "y", PSK_IDENTITY_MAX + 1));
	psk_table_free(t);
	free(text);
}
END_TEST

/* Duplicates are found (with the right first line) at every size. */
START_TEST(test_psk_duplicate_many)
{
	size_t n = psk_sizes[_i], len, mid = n / 2;
	char *text = psk_text(n, &len), msg[96];
	struct want_err want[3] = { { 0 } };
	struct psk_table *t;

	text = realloc(text, len + 64);
	ck_assert_ptr_nonnull(text);
	len += (size_t)sprintf(text + len, "device-%05zu:00\nbad\n", mid);
	t = psk_parse(text, len, PATH, &d);
	ck_assert_ptr_null(t);
	snprintf(msg, sizeof(msg),
	    "duplicate identity 'device-%05zu' (first on line %zu)", mid,
	    mid + 1);
	want[0] = (struct want_err){ (int)n + 1, msg };
	want[1] = (struct want_err){ (int)n + 2, E_SHAPE };
	expect_errors(0, want, nitems(want));
	free(text);
}
END_TEST

/* Keys of every length, both cases, round-trip through the hex decoder. */
START_TEST(test_psk_key_lengths)
{
	char text[64 * 200], want[2 * PSK_KEY_MAX + 1],
	    hex[2 * PSK_KEY_MAX + 1];
	size_t len = 0, klen, j;
	struct psk_table *t;
	uint32_t x = 12345;

	for (klen = 1; klen <= PSK_KEY_MAX; klen++) {
		len += (size_t)sprintf(text + len, "k%zu:", klen);
		for (j = 0; j < klen; j++) {
			x = x * 1103515245u + 12345u;
			len += (size_t)sprintf(text + len,
			    klen % 2 ? "%02X" : "%02x", (x >> 16) & 0xff);
		}
		text[len++] = '\n';
	}
	t = psk_parse(text, len, PATH, &d);
	ck_assert_msg(t != NULL, "refused:\n%s", dump());
	ck_assert_uint_eq(t->n, PSK_KEY_MAX);
	x = 12345;
	for (klen = 1; klen <= PSK_KEY_MAX; klen++) {
		const struct psk_entry *e = &t->v[klen - 1];

		for (j = 0; j < klen; j++) {
			x = x * 1103515245u + 12345u;
			sprintf(want + 2 * j, "%02x", (x >> 16) & 0xff);
		}
		ck_assert_uint_eq(e->key_len, klen);
		tohex(e->key, e->key_len, hex);
		ck_assert_str_eq(hex, want);
	}
	psk_table_free(t);
}
END_TEST

/* No message shows a key, or even part of one. */
START_TEST(test_psk_no_key_in_messages)
{
	static const char text[] = "c0ffee\n"
				   "dev1:c0ffeec0ffeeg\ndev2:c0ffeec0ffee0\n"
				   "dev3:c0ffee" H128 "\n"
				   "dev4:00\ndev4:c0ffeec0ffee\n:c0ffee\n";
	size_t i;

	ck_assert_ptr_null(psk_parse(text, strlen(text), PATH, &d));
	ck_assert_uint_eq(diag_count(&d), 6);
	for (i = 0; i < d.n; i++) {
		ck_assert_ptr_null(strstr(d.v[i].msg, "c0f"));
		ck_assert_ptr_null(strstr(d.v[i].msg, "0123"));
	}
}
END_TEST

/* Problems already in d are not this file's: it still parses. */
START_TEST(test_psk_diag_not_empty)
{
	struct psk_table *t;

	diag_add(&d, "other.ini", 3, "earlier problem");
	t = psk_parse("a:00\n", 5, PATH, &d);
	ck_assert_ptr_nonnull(t);
	ck_assert_uint_eq(diag_count(&d), 1);
	psk_table_free(t);
	ck_assert_ptr_null(psk_parse("a:0\n", 4, PATH, &d));
	ck_assert_uint_eq(diag_count(&d), 2);
	ck_assert_int_eq(d.v[1].line, 1);
}
END_TEST

START_TEST(test_psk_null)
{
	ck_assert_ptr_null(psk_parse(NULL, 0, PATH, &d));
	ck_assert_uint_eq(diag_count(&d), 1);
	ck_assert_str_eq(d.v[0].msg, E_NONE);
	psk_table_free(NULL);
	ck_assert_ptr_null(psk_find(NULL, "a", 1));
}
END_TEST

/* --- ticket_key_file --- */

/* bytes 0..79 */
#define KEY_A                                                                  \
	"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMDEy" \
	"MzQ1Njc4OTo7PD0+P0BBQkNERUZHSElKS0xNTk8="
/* bytes 0x80..0xcf */
#define KEY_B                                                                  \
	"gIGCg4SFhoeIiYqLjI2Oj5CRkpOUlZaXmJmam5ydnp+goaKjpKWmp6ipqqusra6vsLGy" \
	"s7S1tre4ubq7vL2+v8DBwsPExcbHyMnKy8zNzs8="
/* the name of KEY_A (bytes 0..15), then 64 bytes of 0xee */
#define KEY_A2                                                                 \
	"AAECAwQFBgcICQoLDA0OD+7u7u7u7u7u7u7u7u7u7u7u7u7u7u7u7u7u7u7u7u7u7u7u" \
	"7u7u7u7u7u7u7u7u7u7u7u7u7u7u7u7u7u7u7u4="
/* bytes 0..78 and 0..80 */
#define KEY_79                                                                 \
	"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMDEy" \
	"MzQ1Njc4OTo7PD0+P0BBQkNERUZHSElKS0xNTg=="
#define KEY_81                                                                 \
	"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMDEy" \
	"MzQ1Njc4OTo7PD0+P0BBQkNERUZHSElKS0xNTk9Q"
/* KEY_A without its padding, and with non-zero bits under it */
#define KEY_A_NOPAD                                                            \
	"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMDEy" \
	"MzQ1Njc4OTo7PD0+P0BBQkNERUZHSElKS0xNTk8"
#define KEY_A_BITS                                                             \
	"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMDEy" \
	"MzQ1Njc4OTo7PD0+P0BBQkNERUZHSElKS0xNTk9="
#define KEY_79_BITS                                                            \
	"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMDEy" \
	"MzQ1Njc4OTo7PD0+P0BBQkNERUZHSElKS0xNTh=="
/* 80 bytes in the URL-safe alphabet */
#define KEY_URL                                                                \
	"-__7__v_-__7__v_-__7__v_-__7__v_-__7__v_-__7__v_-__7__v_-__7__v_-__7" \
	"__v_-__7__v_-__7__v_-__7__v_-__7__v_-_8="

#define E_B64(why) "not valid base64 (" why ")"
#define E_LEN(n) "ticket key is " #n " bytes after base64 decoding, expected 80"
#define E_TK_NONE                                                              \
	"no ticket keys (expected one base64 key of 80 bytes per line)"

static const struct {
	const char *text;
	size_t len;		/* 0: strlen(text) */
	unsigned char first[4]; /* first byte of each key, in order */
	size_t n;		/* keys when no errors */
	struct want_err err[6];
} tk_vec[] = {
	{ KEY_A "\n", 0, { 0x00 }, 1, { { 0 } } },
	{ KEY_A, 0, { 0x00 }, 1, { { 0 } } },
	{ KEY_B "\n" KEY_A "\n", 0, { 0x80, 0x00 }, 2, { { 0 } } },
	{ "# ticket keys, newest first\r\n\r\n \t" KEY_A " \t\r\n"
	  "  # old:\n\n\t" KEY_B,
	    0, { 0x00, 0x80 }, 2, { { 0 } } },

	{ "AAEC!wQF\n", 0, { 0 }, 0, { { 1, E_B64("bad character '!'") } } },
	{ KEY_URL "\n", 0, { 0 }, 0, { { 1, E_B64("bad character '-'") } } },
	{ "AAEC AwQF\n", 0, { 0 }, 0, { { 1, E_B64("bad character ' '") } } },
	{ "AAEC\x01wQF\n", 0, { 0 }, 0,
	    { { 1, E_B64("bad character byte 0x01") } } },
	{ "AAEC\0wQF\n", 9, { 0 }, 0,
	    { { 1, E_B64("bad character byte 0x00") } } },
	{ "AAEC\xc3\xa9QF\n", 0, { 0 }, 0,
	    { { 1, E_B64("bad character byte 0xc3") } } },
	{ KEY_A_NOPAD "\n", 0, { 0 }, 0,
	    { { 1, E_B64("length 107 is not a multiple of 4; '=' padding is "
			 "required") } } },
	{ "QUJD=\n", 0, { 0 }, 0,
	    { { 1, E_B64("length 5 is not a multiple of 4; '=' padding is "
			 "required") } } },
	{ "QU=D\n", 0, { 0 }, 0, { { 1, E_B64("'=' before the end") } } },
	{ "Q===\n", 0, { 0 }, 0, { { 1, E_B64("'=' before the end") } } },
	{ "====\n", 0, { 0 }, 0, { { 1, E_B64("'=' before the end") } } },
	{ "QQ==QUJD\n", 0, { 0 }, 0, { { 1, E_B64("'=' before the end") } } },
	{ KEY_A_BITS "\n", 0, { 0 }, 0,
	    { { 1, E_B64("non-zero padding bits") } } },
	{ KEY_79_BITS "\n", 0, { 0 }, 0,
	    { { 1, E_B64("non-zero padding bits") } } },
	{ KEY_79 "\n", 0, { 0 }, 0, { { 1, E_LEN(79) } } },
	{ KEY_81 "\n", 0, { 0 }, 0, { { 1, E_LEN(81) } } },
	{ "QUJD\n", 0, { 0 }, 0, { { 1, E_LEN(3) } } },
	{ KEY_81 KEY_81 "\n", 0, { 0 }, 0, { { 1, E_LEN(162) } } },
	{ KEY_A "\n" KEY_B "\n" KEY_A2 "\n", 0, { 0 }, 0,
	    { { 3, "duplicate ticket key name (first on line 1)" } } },
	{ KEY_A "\n\n" KEY_A "\n", 0, { 0 }, 0,
	    { { 3, "duplicate ticket key name (first on line 1)" } } },
	/* a refused line names no key, so what follows is no duplicate */
	{ KEY_A_BITS "\n" KEY_A "\n", 0, { 0 }, 0,
	    { { 1, E_B64("non-zero padding bits") } } },

	{ "x\n" KEY_A "\r\n# c\r\n" KEY_79 "\r\n" KEY_A2 "\n\n" KEY_B
	  "\nQU=D\n" KEY_81,
	    0, { 0 }, 0,
	    { { 1, E_B64("length 1 is not a multiple of 4; '=' padding is "
			 "required") },
		{ 4, E_LEN(79) },
		{ 5, "duplicate ticket key name (first on line 2)" },
		{ 8, E_B64("'=' before the end") }, { 9, E_LEN(81) } } },

	{ "", 0, { 0 }, 0, { { 0, E_TK_NONE } } },
	{ "\r\n\n", 0, { 0 }, 0, { { 0, E_TK_NONE } } },
	{ "# none yet\n", 0, { 0 }, 0, { { 0, E_TK_NONE } } },
};

START_TEST(test_tk_vec)
{
	const char *text = tk_vec[_i].text;
	size_t len = tk_vec[_i].len ? tk_vec[_i].len : strlen(text), i, j;
	struct ticket_keys *t = ticket_keys_parse(text, len, PATH, &d);

	if (tk_vec[_i].err[0].msg != NULL) {
		ck_assert_ptr_null(t);
		expect_errors(0, tk_vec[_i].err, nitems(tk_vec[_i].err));
		return;
	}
	ck_assert_msg(t != NULL, "refused:\n%s", dump());
	ck_assert_uint_eq(diag_count(&d), 0);
	ck_assert_uint_eq(t->n, tk_vec[_i].n);
	for (i = 0; i < t->n; i++) {
		unsigned char f = tk_vec[_i].first[i];

		/* The test keys count up from their first byte. */
		for (j = 0; j < TICKET_KEY_NAME_LEN; j++)
			ck_assert_uint_eq(t->k[i].name[j], f + j);
		for (j = 0; j < TICKET_KEY_HMAC_LEN; j++)
			ck_assert_uint_eq(
			    t->k[i].hmac[j], f + TICKET_KEY_NAME_LEN + j);
		for (j = 0; j < TICKET_KEY_AES_LEN; j++)
			ck_assert_uint_eq(t->k[i].aes[j],
			    f + TICKET_KEY_NAME_LEN + TICKET_KEY_HMAC_LEN + j);
	}
	ticket_keys_free(t);
}
END_TEST

START_TEST(test_tk_find)
{
	static const char text[] = KEY_B "\n" KEY_A2 "\n";
	struct ticket_keys *t = ticket_keys_parse(text, strlen(text), PATH, &d);
	unsigned char name[TICKET_KEY_NAME_LEN];
	size_t idx = 99, j;

	ck_assert_msg(t != NULL, "refused:\n%s", dump());
	ck_assert_uint_eq(t->n, 2);
	for (j = 0; j < sizeof(name); j++)
		name[j] = (unsigned char)(0x80 + j);
	ck_assert_ptr_eq(ticket_keys_find(t, name, &idx), &t->k[0]);
	ck_assert_uint_eq(idx, 0);
	for (j = 0; j < sizeof(name); j++)
		name[j] = (unsigned char)j;
	ck_assert_ptr_eq(ticket_keys_find(t, name, &idx), &t->k[1]);
	ck_assert_uint_eq(idx, 1);
	ck_assert_ptr_eq(ticket_keys_find(t, name, NULL), &t->k[1]);
	for (j = 0; j < TICKET_KEY_HMAC_LEN; j++)
		ck_assert_uint_eq(t->k[1].hmac[j], 0xee);
	name[15] ^= 1;
	idx = 99;
	ck_assert_ptr_null(ticket_keys_find(t, name, &idx));
	ck_assert_uint_eq(idx, 99);
	memset(name, 0, sizeof(name));
	ck_assert_ptr_null(ticket_keys_find(t, name, &idx));
	ck_assert_ptr_null(ticket_keys_find(NULL, name, &idx));
	ck_assert_uint_eq(idx, 99);
	ticket_keys_free(t);
}
END_TEST

/* A plain RFC 4648 encoder, only to feed the decoder. */
static void
b64_encode(const unsigned char *p, size_t len, char *out)
{
	static const char al[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrs"
				 "tuvwxyz0123456789+/";
	size_t i;

	for (i = 0; i + 2 < len; i += 3) {
		*out++ = al[p[i] >> 2];
		*out++ = al[(p[i] & 3) << 4 | p[i + 1] >> 4];
		*out++ = al[(p[i + 1] & 15) << 2 | p[i + 2] >> 6];
		*out++ = al[p[i + 2] & 63];
	}
	if (len - i == 1) {
		*out++ = al[p[i] >> 2];
		*out++ = al[(p[i] & 3) << 4];
		*out++ = '=';
		*out++ = '=';
	} else if (len - i == 2) {
		*out++ = al[p[i] >> 2];
		*out++ = al[(p[i] & 3) << 4 | p[i + 1] >> 4];
		*out++ = al[(p[i + 1] & 15) << 2];
		*out++ = '=';
	}
	*out = '\0';
}

/* Many pseudo-random keys round-trip, and come back in file order. */
START_TEST(test_tk_roundtrip)
{
	enum { NKEYS = 64 };
	static unsigned char raw[NKEYS][TICKET_KEY_LEN];
	static char text[NKEYS * 120];
	struct ticket_keys *t;
	size_t len = 0, i, j;
	uint32_t x = 1;

	for (i = 0; i < NKEYS; i++) {
		for (j = 0; j < TICKET_KEY_LEN; j++) {
			x = x * 1103515245u + 12345u;
			raw[i][j] = (unsigned char)(x >> 16);
		}
		b64_encode(raw[i], TICKET_KEY_LEN, text + len);
		len += strlen(text + len);
		text[len++] = '\n';
	}
	t = ticket_keys_parse(text, len, PATH, &d);
	ck_assert_msg(t != NULL, "refused:\n%s", dump());
	ck_assert_uint_eq(t->n, NKEYS);
	for (i = 0; i < NKEYS; i++) {
		size_t idx = 999;

		ck_assert_mem_eq(t->k[i].name, raw[i], TICKET_KEY_NAME_LEN);
		ck_assert_mem_eq(t->k[i].hmac, raw[i] + TICKET_KEY_NAME_LEN,
		    TICKET_KEY_HMAC_LEN);
		ck_assert_mem_eq(t->k[i].aes,
		    raw[i] + TICKET_KEY_NAME_LEN + TICKET_KEY_HMAC_LEN,
		    TICKET_KEY_AES_LEN);
		ck_assert_ptr_eq(ticket_keys_find(t, raw[i], &idx), &t->k[i]);
		ck_assert_uint_eq(idx, i);
	}
	ticket_keys_free(t);
}
END_TEST

/* Every decoded length from 0 to 81 bytes is reported as such. */
START_TEST(test_tk_lengths)
{
	unsigned char raw[81];
	char line[120], want[80];
	struct ticket_keys *t;
	size_t i;

	for (i = 0; i < sizeof(raw); i++)
		raw[i] = (unsigned char)(0xff - i);
	b64_encode(raw, (size_t)_i, line);
	if (_i == 0)
		strcpy(line, "# empty");
	t = ticket_keys_parse(line, strlen(line), PATH, &d);
	if (_i == TICKET_KEY_LEN) {
		ck_assert_msg(t != NULL, "refused:\n%s", dump());
		ck_assert_mem_eq(t->k[0].name, raw, TICKET_KEY_NAME_LEN);
		ticket_keys_free(t);
		return;
	}
	ck_assert_ptr_null(t);
	ck_assert_uint_eq(diag_count(&d), 1);
	if (_i == 0) {
		ck_assert_int_eq(d.v[0].line, 0);
		ck_assert_str_eq(d.v[0].msg, E_TK_NONE);
		return;
	}
	snprintf(want, sizeof(want),
	    "ticket key is %d bytes after base64 decoding, expected 80", _i);
	ck_assert_int_eq(d.v[0].line, 1);
	ck_assert_str_eq(d.v[0].msg, want);
}
END_TEST

START_TEST(test_tk_no_key_in_messages)
{
	static const char text[] =
	    KEY_A "!\n" KEY_79 "\n" KEY_A "\n" KEY_A "\n" KEY_A_BITS "\n";
	size_t i;

	ck_assert_ptr_null(ticket_keys_parse(text, strlen(text), PATH, &d));
	ck_assert_uint_eq(diag_count(&d), 4);
	for (i = 0; i < d.n; i++)
		ck_assert_ptr_null(strstr(d.v[i].msg, "AAEC"));
}
END_TEST

START_TEST(test_tk_diag_not_empty)
{
	struct ticket_keys *t;

	diag_add(&d, NULL, 0, "earlier problem");
	t = ticket_keys_parse(KEY_A, strlen(KEY_A), PATH, &d);
	ck_assert_ptr_nonnull(t);
	ck_assert_uint_eq(diag_count(&d), 1);
	ticket_keys_free(t);
}
END_TEST

START_TEST(test_tk_null)
{
	ck_assert_ptr_null(ticket_keys_parse(NULL, 0, PATH, &d));
	ck_assert_uint_eq(diag_count(&d), 1);
	ck_assert_str_eq(d.v[0].msg, E_TK_NONE);
	ticket_keys_free(NULL);
}
END_TEST

/* --- allocation failures --- */

/* Outside sanitizer builds, every allocation of a parse fails in turn
 * (fault.c) and leaks show. */
#if defined(UNIT_FAULTS)

/* Good files: 40 entries grow the entry array and the index twice. */
static const char *const oom_vec[] = {
	"a0:00\na1:01\na2:02\na3:03\na4:04\na5:05\na6:06\na7:07\na8:08\n"
	"a9:09\nb0:10\nb1:11\nb2:12\nb3:13\nb4:14\nb5:15\nb6:16\nb7:17\n"
	"b8:18\nb9:19\nc0:20\nc1:21\nc2:22\nc3:23\nc4:24\nc5:25\nc6:26\n"
	"c7:27\nc8:28\nc9:29\nd0:30\nd1:31\nd2:32\nd3:33\nd4:34\nd5:35\n"
	"d6:36\nd7:37\nd8:38\nd9:39\n",
	"bad\na:00\nb:zz\na:11\nc:22\n",
	KEY_B "\n" KEY_A "\n",
	KEY_B "\n" KEY_79 "\nx\n" KEY_B "\n",
};

/* Parse oom_vec[v] with allocation k failing. Returns false once k is past
 * the last allocation. */
static bool
parse_failing(int v, long k)
{
	const char *text = oom_vec[v];
	struct psk_table *p = NULL;
	struct ticket_keys *t = NULL;
	bool hit, good = v == 0 || v == 2, ok, said;
	long before;

	before = live_blocks;
	fault_countdown = k;
	if (v < 2)
		p = psk_parse(text, strlen(text), PATH, &d);
	else
		t = ticket_keys_parse(text, strlen(text), PATH, &d);
	hit = fault_countdown < 0;
	fault_countdown = -1;
	ok = p != NULL || t != NULL;
	ck_assert_msg(ok == (good && !hit), "allocation %ld: %s", k,
	    ok ? "parsed" : "refused");
	ck_assert_int_eq(ok, diag_count(&d) == 0);
	/* The parse says it ran out, unless the failure hit the recording of
	 * a problem, which diag counts. */
	said = d.n > 0 && strcmp(d.v[d.n - 1].msg, "out of memory") == 0;
	if (hit)
		ck_assert_msg(
		    said || d.oom > 0, "allocation %ld: not reported", k);
	psk_table_free(p);
	ticket_keys_free(t);
	diag_clear(&d);
	ck_assert_msg(live_blocks == before,
	    "allocation %ld: %ld blocks leaked", k, live_blocks - before);
	return hit;
}

START_TEST(test_oom)
{
	static void *volatile probe;
	long k;

	/* Under valgrind its own malloc wins: nothing to test then. */
	fault_countdown = 0;
	probe = malloc(1);
	fault_countdown = -1;
	if (probe != NULL) {
		free(probe);
		return;
	}
	for (k = 0; parse_failing(_i, k); k++)
		;
	ck_assert_int_ge(k, 2);
}
END_TEST
#endif

Suite *
secrets_suite(void)
{
	Suite *s = suite_create("secrets");
	TCase *tc;

	tc = tcase_create("psk");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_loop_test(tc, test_psk_vec, 0, (int)nitems(psk_vec));
	tcase_add_loop_test(tc, test_psk_find, 0, (int)nitems(psk_sizes));
	tcase_add_loop_test(
	    tc, test_psk_duplicate_many, 0, (int)nitems(psk_sizes));
	tcase_add_test(tc, test_psk_key_lengths);
	tcase_add_test(tc, test_psk_no_key_in_messages);
	tcase_add_test(tc, test_psk_diag_not_empty);
	tcase_add_test(tc, test_psk_null);
	suite_add_tcase(s, tc);

	tc = tcase_create("ticket");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_loop_test(tc, test_tk_vec, 0, (int)nitems(tk_vec));
	tcase_add_test(tc, test_tk_find);
	tcase_add_test(tc, test_tk_roundtrip);
	tcase_add_loop_test(tc, test_tk_lengths, 0, 82);
	tcase_add_test(tc, test_tk_no_key_in_messages);
	tcase_add_test(tc, test_tk_diag_not_empty);
	tcase_add_test(tc, test_tk_null);
	suite_add_tcase(s, tc);

#if defined(UNIT_FAULTS)
	tc = tcase_create("oom");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_loop_test(tc, test_oom, 0, (int)nitems(oom_vec));
	suite_add_tcase(s, tc);
#endif
	return s;
}

int
main(void)
{
	return unit_run(secrets_suite());
}
