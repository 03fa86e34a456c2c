/*
 * check_sni.c: unit tests for sni.c: normalisation vectors (case, trailing
 * dot, limits, IDNs, wildcards, every enum sni_err), exact and one-label
 * wildcard lookups, duplicates, 100000 names, random garbage, and each
 * allocation failing in turn. Link with
 * -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc for the last one.
 */
#include "build_config.h"

#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compat.h"
#include "sni.h"
#include "unit.h"

Suite *sni_suite(void);

/*
 * Allocation failure injection. With --wrap, every malloc, calloc and
 * realloc call made by sni.c (and by this file and the static libcheck)
 * comes here; while armed, call number fail_at (from 0) returns NULL. Arm
 * only around calls into sni.c. The __real_ symbols are weak so that the
 * binary still links without --wrap: then test_nomem fails and says why.
 */
void *__real_malloc(size_t size) __attribute__((weak));
void *__real_calloc(size_t n, size_t size) __attribute__((weak));
void *__real_realloc(void *p, size_t size) __attribute__((weak));
void *__wrap_malloc(size_t size);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t size);

static bool armed;
static long fail_at = -1, ncalls;

static bool
inject(void)
{
	return armed && ncalls++ == fail_at;
}

void *
__wrap_malloc(size_t size)
{
	return inject() ? NULL : __real_malloc(size);
}

void *
__wrap_calloc(size_t n, size_t size)
{
	return inject() ? NULL : __real_calloc(n, size);
}

void *
__wrap_realloc(void *p, size_t size)
{
	return inject() ? NULL : __real_realloc(p, size);
}

/* Fail allocation number at of the armed ones from now on. */
static void
inject_at(long at)
{
	ncalls = 0;
	fail_at = at;
}

static void
arm(void)
{
	armed = true;
}

static void
disarm(void)
{
	armed = false;
}

#define STRLEN ((size_t)-1) /* pass strlen(s) */
#define RSA 6		    /* EVP_PKEY_RSA, opaque to sni.c */
#define EC 408		    /* EVP_PKEY_EC */

/*
 * len bytes of s (strlen for STRLEN) in a heap block of exactly that size,
 * so that ASan catches any read past len.
 */
static char *
exact_copy(const char *s, size_t *len)
{
	char *p;

	if (*len == STRLEN)
		*len = strlen(s);
	p = malloc(*len > 0 ? *len : 1);
	ck_assert_ptr_nonnull(p);
	memcpy(p, s, *len);
	return p;
}

/*
 * A name of total bytes (plus a trailing dot if dot): a first label of
 * label bytes, more of the same, and a shorter last one to fit. Letters
 * cycle through the alphabet, in upper case when upper. Caller frees.
 */
static char *
make_name(size_t total, size_t label, bool dot, bool upper)
{
	char *s = malloc(total + 2);
	size_t i, left;

	ck_assert_ptr_nonnull(s);
	for (i = 0; i < total; i++)
		s[i] = (char)((upper ? 'A' : 'a') + i % 26);
	for (i = label; i < total; i += label + 1) {
		left = total - i;
		ck_assert_msg(
		    left != 1, "make_name(%zu, %zu): bad shape", total, label);
		s[i] = '.';
	}
	if (dot)
		s[total++] = '.';
	s[total] = '\0';
	return s;
}

/* Lower-case copy of s without its trailing dot. Caller frees. */
static char *
lower_nodot(const char *s)
{
	char *p = strdup(s);
	size_t i, len;

	ck_assert_ptr_nonnull(p);
	len = strlen(p);
	if (len > 0 && p[len - 1] == '.')
		p[--len] = '\0';
	for (i = 0; i < len; i++)
		if (p[i] >= 'A' && p[i] <= 'Z')
			p[i] = (char)(p[i] - 'A' + 'a');
	return p;
}

/* Normalisation: out is the result when accepted, else NULL. */
static const struct {
	const char *s;
	size_t len;
	bool wild;
	const char *out;
	int err;
} norm_vec[] = {
	{ "example.com", STRLEN, false, "example.com", 0 },
	{ "Example.COM", STRLEN, false, "example.com", 0 },
	{ "EXAMPLE.COM", STRLEN, true, "example.com", 0 },
	{ "example.com.", STRLEN, false, "example.com", 0 },
	{ "ExAmPlE.cOm.", STRLEN, false, "example.com", 0 },
	{ "a", STRLEN, false, "a", 0 },
	{ "a.", STRLEN, false, "a", 0 },
	{ "localhost", STRLEN, false, "localhost", 0 },
	{ "a.b.c.d.e.f", STRLEN, false, "a.b.c.d.e.f", 0 },
	{ "under_score.example", STRLEN, false, "under_score.example", 0 },
	{ "my-host.example", STRLEN, false, "my-host.example", 0 },
	{ "-lax-.example", STRLEN, false, "-lax-.example", 0 },
	{ "0123456789.example", STRLEN, false, "0123456789.example", 0 },
	{ "1.2.3.4", STRLEN, false, "1.2.3.4", 0 },
	{ "xn--bcher-kva.example", STRLEN, false, "xn--bcher-kva.example", 0 },
	{ "XN--BCHER-KVA.Example.", STRLEN, false, "xn--bcher-kva.example", 0 },
	{ "www.xn--80ak6aa92e.com", STRLEN, false, "www.xn--80ak6aa92e.com",
	    0 },
	/* len shorter than the string: the rest is never read */
	{ "example.comXYZ", 11, false, "example.com", 0 },
	{ "example.com.evil", 12, false, "example.com", 0 },
	{ "example.com", 7, false, "example", 0 },
	{ "ab", 1, false, "a", 0 },
	{ "xyz", 0, false, NULL, SNI_ERR_EMPTY },
	/* empty */
	{ "", STRLEN, false, NULL, SNI_ERR_EMPTY },
	{ "", STRLEN, true, NULL, SNI_ERR_EMPTY },
	{ ".", STRLEN, false, NULL, SNI_ERR_EMPTY },
	{ ".", STRLEN, true, NULL, SNI_ERR_EMPTY },
	/* empty labels */
	{ "..", STRLEN, false, NULL, SNI_ERR_EMPTY_LABEL },
	{ "a..b", STRLEN, false, NULL, SNI_ERR_EMPTY_LABEL },
	{ ".a", STRLEN, false, NULL, SNI_ERR_EMPTY_LABEL },
	{ ".example.com", STRLEN, false, NULL, SNI_ERR_EMPTY_LABEL },
	{ "example.com..", STRLEN, false, NULL, SNI_ERR_EMPTY_LABEL },
	{ "a.b..", STRLEN, false, NULL, SNI_ERR_EMPTY_LABEL },
	{ "*..example.com", STRLEN, true, NULL, SNI_ERR_EMPTY_LABEL },
	/* bad characters, U-labels (\303\274 is UTF-8 u-umlaut), NUL */
	{ "a b.example", STRLEN, false, NULL, SNI_ERR_BAD_CHAR },
	{ " example.com", STRLEN, false, NULL, SNI_ERR_BAD_CHAR },
	{ "example.com ", STRLEN, false, NULL, SNI_ERR_BAD_CHAR },
	{ "example.com:8883", STRLEN, false, NULL, SNI_ERR_BAD_CHAR },
	{ "user@example.com", STRLEN, false, NULL, SNI_ERR_BAD_CHAR },
	{ "a/b.example", STRLEN, false, NULL, SNI_ERR_BAD_CHAR },
	{ "a\\b.example", STRLEN, false, NULL, SNI_ERR_BAD_CHAR },
	{ "a%2eb.example", STRLEN, false, NULL, SNI_ERR_BAD_CHAR },
	{ "a+b.example", STRLEN, false, NULL, SNI_ERR_BAD_CHAR },
	{ "[::1]", STRLEN, false, NULL, SNI_ERR_BAD_CHAR },
	{ "a\tb", STRLEN, false, NULL, SNI_ERR_BAD_CHAR },
	{ "a\nb", STRLEN, false, NULL, SNI_ERR_BAD_CHAR },
	{ "a\x7f", STRLEN, false, NULL, SNI_ERR_BAD_CHAR },
	{ "b\303\274cher.example", STRLEN, false, NULL, SNI_ERR_BAD_CHAR },
	{ "B\303\234CHER.example", STRLEN, false, NULL, SNI_ERR_BAD_CHAR },
	{ "\xd0\xbf\xd1\x80\xd0\xb8\xd0\xbc\xd0\xb5\xd1\x80.com", STRLEN, false,
	    NULL, SNI_ERR_BAD_CHAR },
	{ "\x80", STRLEN, false, NULL, SNI_ERR_BAD_CHAR },
	{ "\xff.example", STRLEN, false, NULL, SNI_ERR_BAD_CHAR },
	{ "a\0b.example", 11, false, NULL, SNI_ERR_BAD_CHAR },
	{ "example.com\0", 12, false, NULL, SNI_ERR_BAD_CHAR },
	{ "\0", 1, false, NULL, SNI_ERR_BAD_CHAR },
	/* wildcards */
	{ "*.example.com", STRLEN, true, "*.example.com", 0 },
	{ "*.Example.COM.", STRLEN, true, "*.example.com", 0 },
	{ "*.a.b", STRLEN, true, "*.a.b", 0 },
	{ "*.xn--bcher-kva.example", STRLEN, true, "*.xn--bcher-kva.example",
	    0 },
	{ "*.example.com", STRLEN, false, NULL, SNI_ERR_BAD_WILDCARD },
	{ "*", STRLEN, false, NULL, SNI_ERR_BAD_WILDCARD },
	{ "*", STRLEN, true, NULL, SNI_ERR_BAD_WILDCARD },
	{ "*.", STRLEN, true, NULL, SNI_ERR_BAD_WILDCARD },
	{ "*.com", STRLEN, true, NULL, SNI_ERR_BAD_WILDCARD },
	{ "*.com.", STRLEN, true, NULL, SNI_ERR_BAD_WILDCARD },
	{ "a*.example.com", STRLEN, true, NULL, SNI_ERR_BAD_WILDCARD },
	{ "*a.example.com", STRLEN, true, NULL, SNI_ERR_BAD_WILDCARD },
	{ "**.example.com", STRLEN, true, NULL, SNI_ERR_BAD_WILDCARD },
	{ "a.*.example.com", STRLEN, true, NULL, SNI_ERR_BAD_WILDCARD },
	{ "*.*.example.com", STRLEN, true, NULL, SNI_ERR_BAD_WILDCARD },
	{ "example.*", STRLEN, true, NULL, SNI_ERR_BAD_WILDCARD },
	{ "example.com*", STRLEN, true, NULL, SNI_ERR_BAD_WILDCARD },
	{ "*.example.comXYZ", 5, true, NULL, SNI_ERR_BAD_WILDCARD },
};

START_TEST(test_normalize)
{
	size_t len = norm_vec[_i].len;
	char *in = exact_copy(norm_vec[_i].s, &len);
	char out[SNI_NAME_MAX + 8];
	int r;

	memset(out, 'X', sizeof(out));
	r = sni_normalize(in, len, norm_vec[_i].wild, out, sizeof(out));
	if (norm_vec[_i].out != NULL) {
		ck_assert_msg(
		    r > 0, "vector %d refused: %s", _i, sni_strerror(r));
		ck_assert_str_eq(out, norm_vec[_i].out);
		ck_assert_int_eq(r, (int)strlen(norm_vec[_i].out));
	} else {
		ck_assert_msg(r == norm_vec[_i].err,
		    "vector %d: got %d (%s), want %d", _i, r, sni_strerror(r),
		    norm_vec[_i].err);
		ck_assert_str_eq(out, "");
	}
	free(in);
}
END_TEST

/* Generated names at and around the limits. */
static const struct {
	size_t total; /* bytes without the trailing dot */
	size_t label; /* longest label */
	bool dot, upper;
	int err; /* 0 = accepted */
} long_vec[] = {
	{ 253, 63, false, false, 0 },
	{ 253, 63, true, false, 0 },
	{ 253, 63, true, true, 0 },
	{ 252, 63, false, true, 0 },
	{ 253, 1, false, false, 0 },
	{ 253, 1, true, false, 0 },
	{ 63, 63, false, false, 0 },
	{ 63, 63, true, true, 0 },
	{ 127, 63, false, false, 0 },
	{ 254, 63, false, false, SNI_ERR_TOO_LONG },
	{ 254, 63, true, false, SNI_ERR_TOO_LONG },
	{ 255, 1, false, false, SNI_ERR_TOO_LONG },
	{ 1000, 63, false, false, SNI_ERR_TOO_LONG },
	{ 100000, 63, false, false, SNI_ERR_TOO_LONG },
	{ 64, 64, false, false, SNI_ERR_LABEL_TOO_LONG },
	{ 64, 64, true, false, SNI_ERR_LABEL_TOO_LONG },
	{ 200, 64, false, false, SNI_ERR_LABEL_TOO_LONG },
	{ 253, 64, false, false, SNI_ERR_LABEL_TOO_LONG },
	{ 253, 200, false, false, SNI_ERR_LABEL_TOO_LONG },
};

START_TEST(test_normalize_long)
{
	char *s = make_name(long_vec[_i].total, long_vec[_i].label,
	    long_vec[_i].dot, long_vec[_i].upper);
	size_t len = strlen(s);
	char *in = exact_copy(s, &len);
	char out[SNI_NAME_MAX + 16]; /* the limit is not just the room */
	int r;

	r = sni_normalize(in, len, false, out, sizeof(out));
	if (long_vec[_i].err == 0) {
		char *want = lower_nodot(s);

		ck_assert_msg(
		    r > 0, "vector %d refused: %s", _i, sni_strerror(r));
		ck_assert_int_eq(r, (int)long_vec[_i].total);
		ck_assert_str_eq(out, want);
		free(want);
	} else {
		ck_assert_msg(r == long_vec[_i].err,
		    "vector %d: got %d (%s), want %d", _i, r, sni_strerror(r),
		    long_vec[_i].err);
	}
	free(in);
	free(s);
}
END_TEST

/* A result that does not fit in cap is refused as too long. */
static const struct {
	const char *s;
	size_t cap;
	int want; /* length or error */
} cap_vec[] = {
	{ "example.com", 12, 11 },
	{ "example.com.", 12, 11 },
	{ "example.com", 11, SNI_ERR_TOO_LONG },
	{ "example.com", 1, SNI_ERR_TOO_LONG },
	{ "a", 2, 1 },
	{ "a", 1, SNI_ERR_TOO_LONG },
	{ "a", 0, SNI_ERR_TOO_LONG },
	{ "", 0, SNI_ERR_EMPTY },
};

START_TEST(test_normalize_cap)
{
	char out[16];

	memset(out, 'X', sizeof(out));
	ck_assert_int_eq(sni_normalize(cap_vec[_i].s, strlen(cap_vec[_i].s),
			     false, out, cap_vec[_i].cap),
	    cap_vec[_i].want);
	if (cap_vec[_i].cap == 0)
		ck_assert_int_eq(out[0], 'X');
	else if (cap_vec[_i].want < 0)
		ck_assert_int_eq(out[0], '\0');
	ck_assert_int_eq(out[cap_vec[_i].cap], 'X');
}
END_TEST

/*
 * The table every lookup vector runs against. other is the *other wanted
 * for SNI_ERR_DUPLICATE; for any other result *other stays untouched.
 */
static const struct {
	const char *name;
	int idx, kt;
	int err;
	int other;
} add_vec[] = {
	{ "example.com", 0, RSA, SNI_OK, -1 },
	{ "Example.COM.", 1, EC, SNI_OK, -1 },
	{ "example.com", 2, RSA, SNI_ERR_DUPLICATE, 0 },
	{ "EXAMPLE.COM", 0, RSA, SNI_OK, -1 }, /* same triple: no-op */
	{ "example.com.", 1, EC, SNI_OK, -1 }, /* same triple: no-op */
	{ "*.example.com", 3, RSA, SNI_OK, -1 },
	{ "*.EXAMPLE.com.", 4, EC, SNI_OK, -1 },
	{ "*.example.com", 5, EC, SNI_ERR_DUPLICATE, 4 },
	{ "www.example.com", 6, RSA, SNI_OK, -1 },
	{ "xn--bcher-kva.example", 7, RSA, SNI_OK, -1 },
	{ "*.xn--bcher-kva.example", 8, RSA, SNI_OK, -1 },
	{ "a.b.c", 9, RSA, SNI_OK, -1 },
	{ "*.b.c", 10, EC, SNI_OK, -1 },
	{ "multi.test", 11, RSA, SNI_OK, -1 },
	{ "multi.test", 11, EC, SNI_OK, -1 }, /* same bundle, other kt */
	{ "MULTI.test", 12, 0, SNI_OK, -1 },
	{ "multi.test", 13, 0, SNI_ERR_DUPLICATE, 12 },
	{ "localhost", 14, RSA, SNI_OK, -1 },
	{ "under_score.example", 15, RSA, SNI_OK, -1 },
	{ "b\303\274cher.example", 16, RSA, SNI_ERR_BAD_CHAR, -1 },
	{ "*.com", 17, RSA, SNI_ERR_BAD_WILDCARD, -1 },
	{ "*", 17, RSA, SNI_ERR_BAD_WILDCARD, -1 },
	{ "a.*.example.com", 17, RSA, SNI_ERR_BAD_WILDCARD, -1 },
	{ "", 17, RSA, SNI_ERR_EMPTY, -1 },
	{ ".", 17, RSA, SNI_ERR_EMPTY, -1 },
	{ "a..b", 17, RSA, SNI_ERR_EMPTY_LABEL, -1 },
	{ "a b.example", 17, RSA, SNI_ERR_BAD_CHAR, -1 },
};
#define ADD_COUNT 14 /* (name, idx, kt) entries add_vec leaves */

static struct sni_table *
build(void)
{
	struct sni_table *t = sni_table_new();
	size_t i;

	ck_assert_ptr_nonnull(t);
	for (i = 0; i < nitems(add_vec); i++) {
		int other = -1;
		int r = sni_table_add(
		    t, add_vec[i].name, add_vec[i].idx, add_vec[i].kt, &other);

		ck_assert_msg(r == add_vec[i].err,
		    "add %zu '%s': got %d (%s), want %d", i, add_vec[i].name, r,
		    sni_strerror(r), add_vec[i].err);
		ck_assert_int_eq(other, add_vec[i].other);
	}
	ck_assert_uint_eq(sni_table_count(t), ADD_COUNT);
	return t;
}

#define MAXM 4

static const struct {
	const char *host;
	size_t len;
	size_t n;
	struct sni_match m[MAXM];
} look_vec[] = {
	{ "example.com", STRLEN, 2, { { 0, RSA }, { 1, EC } } },
	{ "EXAMPLE.Com", STRLEN, 2, { { 0, RSA }, { 1, EC } } },
	{ "example.com.", STRLEN, 2, { { 0, RSA }, { 1, EC } } },
	{ "Example.Com.", STRLEN, 2, { { 0, RSA }, { 1, EC } } },
	{ "example.comXYZ", 11, 2, { { 0, RSA }, { 1, EC } } },
	{ "example.com.evil", 12, 2, { { 0, RSA }, { 1, EC } } },
	{ "example.com..", STRLEN, 0, { { 0, 0 } } },
	{ "example.com ", STRLEN, 0, { { 0, 0 } } },
	{ "example.com\0", 12, 0, { { 0, 0 } } },
	{ "example.co", STRLEN, 0, { { 0, 0 } } },
	{ "xample.com", STRLEN, 0, { { 0, 0 } } },
	{ "example.com", 7, 0, { { 0, 0 } } },
	{ "com", STRLEN, 0, { { 0, 0 } } },
	{ ".example.com", STRLEN, 0, { { 0, 0 } } },
	/* exact beats wildcard; the wildcard covers one label only */
	{ "www.example.com", STRLEN, 1, { { 6, RSA } } },
	{ "WWW.EXAMPLE.COM.", STRLEN, 1, { { 6, RSA } } },
	{ "a.example.com", STRLEN, 2, { { 3, RSA }, { 4, EC } } },
	{ "A.Example.COM.", STRLEN, 2, { { 3, RSA }, { 4, EC } } },
	{ "a.example.com.evil", 13, 2, { { 3, RSA }, { 4, EC } } },
	{ "-.example.com", STRLEN, 2, { { 3, RSA }, { 4, EC } } },
	{ "xn--x.example.com", STRLEN, 2, { { 3, RSA }, { 4, EC } } },
	{ "a.b.example.com", STRLEN, 0, { { 0, 0 } } },
	{ "www.www.example.com", STRLEN, 0, { { 0, 0 } } },
	{ "aexample.com", STRLEN, 0, { { 0, 0 } } },
	{ "a.example.com\0", 14, 0, { { 0, 0 } } },
	{ "a\0.example.com", 15, 0, { { 0, 0 } } },
	{ "a b.example.com", STRLEN, 0, { { 0, 0 } } },
	{ "\xc3\xa4.example.com", STRLEN, 0, { { 0, 0 } } },
	/* the client may not send a wildcard */
	{ "*.example.com", STRLEN, 0, { { 0, 0 } } },
	{ "*.b.c", STRLEN, 0, { { 0, 0 } } },
	{ "*", STRLEN, 0, { { 0, 0 } } },
	/* IDNs */
	{ "xn--bcher-kva.example", STRLEN, 1, { { 7, RSA } } },
	{ "XN--BCHER-KVA.EXAMPLE.", STRLEN, 1, { { 7, RSA } } },
	{ "www.xn--bcher-kva.example", STRLEN, 1, { { 8, RSA } } },
	{ "b\303\274cher.example", STRLEN, 0, { { 0, 0 } } },
	{ "www.b\303\274cher.example", STRLEN, 0, { { 0, 0 } } },
	/* short names */
	{ "a.b.c", STRLEN, 1, { { 9, RSA } } },
	{ "x.b.c", STRLEN, 1, { { 10, EC } } },
	{ "b.c", STRLEN, 0, { { 0, 0 } } },
	{ "c", STRLEN, 0, { { 0, 0 } } },
	{ "x.y.b.c", STRLEN, 0, { { 0, 0 } } },
	{ "multi.test", STRLEN, 3, { { 11, RSA }, { 11, EC }, { 12, 0 } } },
	{ "localhost", STRLEN, 1, { { 14, RSA } } },
	{ "localhost.", STRLEN, 1, { { 14, RSA } } },
	{ "x.localhost", STRLEN, 0, { { 0, 0 } } },
	{ "Under_Score.example", STRLEN, 1, { { 15, RSA } } },
	/* refused outright */
	{ "", STRLEN, 0, { { 0, 0 } } },
	{ ".", STRLEN, 0, { { 0, 0 } } },
	{ "..", STRLEN, 0, { { 0, 0 } } },
	{ "\xff\xfe", STRLEN, 0, { { 0, 0 } } },
	{ "\0", 1, 0, { { 0, 0 } } },
};

START_TEST(test_lookup)
{
	struct sni_table *t = build();
	struct sni_match out[MAXM + 1];
	size_t len = look_vec[_i].len, n, i;
	char *in = exact_copy(look_vec[_i].host, &len);

	for (i = 0; i < nitems(out); i++)
		out[i].idx = out[i].kt = -7;
	n = sni_table_lookup(t, in, len, out, MAXM);
	ck_assert_msg(n == look_vec[_i].n, "vector %d: %zu matches, want %zu",
	    _i, n, look_vec[_i].n);
	for (i = 0; i < n; i++) {
		ck_assert_int_eq(out[i].idx, look_vec[_i].m[i].idx);
		ck_assert_int_eq(out[i].kt, look_vec[_i].m[i].kt);
	}
	for (; i < nitems(out); i++) {
		ck_assert_int_eq(out[i].idx, -7);
		ck_assert_int_eq(out[i].kt, -7);
	}
	free(in);
	sni_table_free(t);
}
END_TEST

/* cap smaller than the matches: the first cap, in insertion order. */
START_TEST(test_lookup_cap)
{
	struct sni_table *t = build();
	struct sni_match out[4];
	size_t cap = (size_t)_i, i;

	for (i = 0; i < nitems(out); i++)
		out[i].idx = out[i].kt = -7;
	ck_assert_uint_eq(
	    sni_table_lookup(t, "multi.test", 10, out, cap), cap < 3 ? cap : 3);
	if (cap > 0) {
		ck_assert_int_eq(out[0].idx, 11);
		ck_assert_int_eq(out[0].kt, RSA);
	}
	if (cap > 1) {
		ck_assert_int_eq(out[1].idx, 11);
		ck_assert_int_eq(out[1].kt, EC);
	}
	if (cap > 2) {
		ck_assert_int_eq(out[2].idx, 12);
		ck_assert_int_eq(out[2].kt, 0);
	}
	for (i = cap < 3 ? cap : 3; i < nitems(out); i++)
		ck_assert_int_eq(out[i].idx, -7);
	/* cap 0 writes nothing, so out may be NULL */
	ck_assert_uint_eq(sni_table_lookup(t, "multi.test", 10, NULL, 0), 0);
	sni_table_free(t);
}
END_TEST

START_TEST(test_duplicate)
{
	struct sni_table *t = sni_table_new();
	struct sni_match out[4];
	int other = -1;

	ck_assert_ptr_nonnull(t);
	ck_assert_int_eq(sni_table_add(t, "Dup.Example", 1, RSA, &other), 0);
	ck_assert_int_eq(other, -1);
	/* other may be NULL */
	ck_assert_int_eq(
	    sni_table_add(t, "dup.example.", 2, RSA, NULL), SNI_ERR_DUPLICATE);
	ck_assert_int_eq(
	    sni_table_add(t, "dup.example", 2, RSA, &other), SNI_ERR_DUPLICATE);
	ck_assert_int_eq(other, 1);
	ck_assert_uint_eq(sni_table_count(t), 1);
	/* the same triple again: no-op, *other untouched */
	other = -1;
	ck_assert_int_eq(sni_table_add(t, "DUP.EXAMPLE", 1, RSA, &other), 0);
	ck_assert_int_eq(other, -1);
	ck_assert_uint_eq(sni_table_count(t), 1);
	/* same bundle, another key type; then a third bundle */
	ck_assert_int_eq(sni_table_add(t, "dup.example", 1, EC, &other), 0);
	ck_assert_int_eq(sni_table_add(t, "dup.example", 3, 0, &other), 0);
	ck_assert_int_eq(
	    sni_table_add(t, "dup.example", 4, EC, &other), SNI_ERR_DUPLICATE);
	ck_assert_int_eq(other, 1);
	ck_assert_int_eq(
	    sni_table_add(t, "dup.example", 4, 0, &other), SNI_ERR_DUPLICATE);
	ck_assert_int_eq(other, 3);
	ck_assert_uint_eq(sni_table_count(t), 3);
	/* a wildcard is a name of its own */
	ck_assert_int_eq(sni_table_add(t, "*.dup.example", 2, RSA, &other), 0);
	ck_assert_int_eq(sni_table_add(t, "*.dup.example", 1, RSA, &other),
	    SNI_ERR_DUPLICATE);
	ck_assert_int_eq(other, 2);
	ck_assert_uint_eq(sni_table_count(t), 4);

	ck_assert_uint_eq(sni_table_lookup(t, "dup.example", 11, out, 4), 3);
	ck_assert_int_eq(out[0].idx, 1);
	ck_assert_int_eq(out[0].kt, RSA);
	ck_assert_int_eq(out[1].idx, 1);
	ck_assert_int_eq(out[1].kt, EC);
	ck_assert_int_eq(out[2].idx, 3);
	ck_assert_int_eq(out[2].kt, 0);
	ck_assert_uint_eq(sni_table_lookup(t, "x.dup.example", 13, out, 4), 1);
	ck_assert_int_eq(out[0].idx, 2);
	sni_table_free(t);
}
END_TEST

/* Many key types on one name come back in the order they were added. */
START_TEST(test_order)
{
	struct sni_table *t = sni_table_new();
	struct sni_match out[101];
	int k;

	ck_assert_ptr_nonnull(t);
	for (k = 0; k < 100; k++) {
		ck_assert_int_eq(
		    sni_table_add(t, "many.example", 1000 - k, k, NULL), 0);
		ck_assert_int_eq(
		    sni_table_add(t, "*.many.example", k, k, NULL), 0);
	}
	ck_assert_uint_eq(sni_table_count(t), 200);
	ck_assert_uint_eq(
	    sni_table_lookup(t, "many.example", 12, out, 101), 100);
	for (k = 0; k < 100; k++) {
		ck_assert_int_eq(out[k].idx, 1000 - k);
		ck_assert_int_eq(out[k].kt, k);
	}
	ck_assert_uint_eq(
	    sni_table_lookup(t, "x.many.example", 14, out, 101), 100);
	for (k = 0; k < 100; k++) {
		ck_assert_int_eq(out[k].idx, k);
		ck_assert_int_eq(out[k].kt, k);
	}
	sni_table_free(t);
}
END_TEST

/* Names and wildcards exactly at the length limits. */
START_TEST(test_table_limits)
{
	struct sni_table *t = sni_table_new();
	char *full = make_name(SNI_NAME_MAX, SNI_LABEL_MAX, false, false);
	char *upper = make_name(SNI_NAME_MAX, SNI_LABEL_MAX, true, true);
	char *over = make_name(SNI_NAME_MAX + 1, SNI_LABEL_MAX, false, false);
	char *rest = make_name(SNI_NAME_MAX - 2, SNI_LABEL_MAX, false, false);
	char *label =
	    make_name(SNI_LABEL_MAX + 1, SNI_LABEL_MAX + 1, false, false);
	char wild[SNI_NAME_MAX + 8], host[SNI_NAME_MAX + 8];
	struct sni_match out[2];

	ck_assert_ptr_nonnull(t);
	ck_assert_int_eq(sni_table_add(t, full, 1, RSA, NULL), 0);
	ck_assert_int_eq(
	    sni_table_add(t, over, 2, RSA, NULL), SNI_ERR_TOO_LONG);
	ck_assert_int_eq(
	    sni_table_add(t, label, 2, RSA, NULL), SNI_ERR_LABEL_TOO_LONG);
	snprintf(wild, sizeof(wild), "*.%s", rest);
	ck_assert_uint_eq(strlen(wild), SNI_NAME_MAX);
	ck_assert_int_eq(sni_table_add(t, wild, 3, RSA, NULL), 0);
	ck_assert_uint_eq(sni_table_count(t), 2);

	ck_assert_uint_eq(sni_table_lookup(t, full, strlen(full), out, 2), 1);
	ck_assert_int_eq(out[0].idx, 1);
	ck_assert_uint_eq(sni_table_lookup(t, upper, strlen(upper), out, 2), 1);
	ck_assert_int_eq(out[0].idx, 1);
	ck_assert_uint_eq(sni_table_lookup(t, over, strlen(over), out, 2), 0);

	snprintf(host, sizeof(host), "Q.%s.", rest);
	ck_assert_uint_eq(sni_table_lookup(t, host, strlen(host), out, 2), 1);
	ck_assert_int_eq(out[0].idx, 3);
	/* one byte more and the client's name is too long */
	snprintf(host, sizeof(host), "qq.%s", rest);
	ck_assert_uint_eq(sni_table_lookup(t, host, strlen(host), out, 2), 0);
	/* a first label of 63 bytes gives way to the "*" */
	ck_assert_int_eq(sni_table_add(t, "*.limits.example", 4, EC, NULL), 0);
	snprintf(host, sizeof(host), "%s.limits.example", label + 1);
	ck_assert_uint_eq(strcspn(host, "."), SNI_LABEL_MAX);
	ck_assert_uint_eq(sni_table_lookup(t, host, strlen(host), out, 2), 1);
	ck_assert_int_eq(out[0].idx, 4);
	ck_assert_uint_eq(sni_table_lookup(t, "limits.example", 14, out, 2), 0);
	snprintf(host, sizeof(host), "%s.limits.example", label);
	ck_assert_uint_eq(sni_table_lookup(t, host, strlen(host), out, 2), 0);
	/* the rest of the name alone does not match its own wildcard */
	ck_assert_uint_eq(sni_table_lookup(t, rest, strlen(rest), out, 2), 0);
	free(full);
	free(upper);
	free(over);
	free(rest);
	free(label);
	sni_table_free(t);
}
END_TEST

START_TEST(test_empty_and_null)
{
	struct sni_table *t = sni_table_new();
	struct sni_match out[1];

	ck_assert_ptr_nonnull(t);
	ck_assert_uint_eq(sni_table_count(t), 0);
	ck_assert_uint_eq(sni_table_lookup(t, "example.com", 11, out, 1), 0);
	ck_assert_uint_eq(sni_table_lookup(t, "a.example.com", 13, out, 1), 0);
	ck_assert_uint_eq(sni_table_lookup(t, "", 0, out, 1), 0);
	ck_assert_uint_eq(sni_table_lookup(NULL, "example.com", 11, out, 1), 0);
	ck_assert_uint_eq(sni_table_count(NULL), 0);
	sni_table_free(t);
	sni_table_free(NULL);
}
END_TEST

#define BIG 100000

static void
big_name(char *buf, size_t cap, unsigned i)
{
	snprintf(buf, cap, "h%u.z%u.example", i, i % 97);
}

/* 100000 names and 1000 wildcards: all found, and nothing else. */
START_TEST(test_big)
{
	struct sni_table *t = sni_table_new();
	struct sni_match out[2];
	char name[64];
	unsigned i;

	ck_assert_ptr_nonnull(t);
	for (i = 0; i < BIG; i++) {
		big_name(name, sizeof(name), i);
		UNIT_HOT_CMP(sni_table_add(t, name, (int)i, (int)(i % 3), NULL),
		    ==, 0);
	}
	for (i = 0; i < 1000; i++) {
		snprintf(name, sizeof(name), "*.w%u.example", i);
		UNIT_HOT_CMP(sni_table_add(t, name, (int)(BIG + i), 1, NULL),
		    ==, 0);
	}
	ck_assert_uint_eq(sni_table_count(t), BIG + 1000);
	for (i = 0; i < BIG; i++) {
		big_name(name, sizeof(name), i);
		UNIT_HOT_CMP(sni_table_lookup(t, name, strlen(name), out, 2),
		    ==, 1);
		UNIT_HOT_CMP(out[0].idx, ==, (int)i);
		UNIT_HOT_CMP(out[0].kt, ==, (int)(i % 3));
		/* wrong zone, and one label more: absent */
		snprintf(name, sizeof(name), "h%u.z%u.example", i, i % 97 + 1);
		UNIT_HOT_CMP(sni_table_lookup(t, name, strlen(name), out, 2),
		    ==, 0);
		snprintf(name, sizeof(name), "x.h%u.z%u.example", i, i % 97);
		UNIT_HOT_CMP(sni_table_lookup(t, name, strlen(name), out, 2),
		    ==, 0);
	}
	for (i = BIG; i < 2 * BIG; i++) {
		big_name(name, sizeof(name), i);
		UNIT_HOT_CMP(sni_table_lookup(t, name, strlen(name), out, 2),
		    ==, 0);
	}
	for (i = 0; i < 2000; i++) {
		snprintf(name, sizeof(name), "host%u.W%u.Example.", i, i);
		UNIT_HOT_CMP(sni_table_lookup(t, name, strlen(name), out, 2),
		    ==, i < 1000 ? 1 : 0);
		if (i < 1000)
			UNIT_HOT_CMP(out[0].idx, ==, (int)(BIG + i));
	}
	sni_table_free(t);
}
END_TEST

static uint32_t
xorshift(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

/*
 * Random bytes, mostly from the interesting ones: never a crash or an
 * overread, and whatever is accepted is a valid name that normalises to
 * itself.
 */
START_TEST(test_garbage)
{
	static const char alphabet[] = "aZ09-_.*.\0\x80\xff .Aa";
	struct sni_table *t = build();
	struct sni_match out[MAXM];
	char buf[512], norm[SNI_NAME_MAX + 1], again[SNI_NAME_MAX + 1];
	uint32_t seed = 2463534242u;
	size_t len, i, accepted = 0;
	int n;

	for (n = 0; n < 20000; n++) {
		bool wild = n % 2 == 0;
		char *in;
		int r;

		len = xorshift(&seed) % (n % 4 == 0 ? 300 : 20);
		for (i = 0; i < len; i++) {
			uint32_t rnd = xorshift(&seed);

			buf[i] =
			    rnd % 8 == 0
				? (char)(rnd >> 8)
				: alphabet[(rnd >> 8) % (sizeof(alphabet) - 1)];
		}
		in = exact_copy(buf, &len);
		r = sni_normalize(in, len, wild, norm, sizeof(norm));

		ck_assert_uint_le(
		    sni_table_lookup(t, in, len, out, MAXM), MAXM);
		free(in);
		if (r < 0) {
			ck_assert_int_ge(r, SNI_ERR_BAD_WILDCARD);
			ck_assert_str_eq(norm, "");
			continue;
		}
		accepted++;
		ck_assert_int_le(r, SNI_NAME_MAX);
		ck_assert_uint_eq(strlen(norm), (size_t)r);
		ck_assert_int_ne(norm[0], '.');
		ck_assert_int_ne(norm[r - 1], '.');
		ck_assert_ptr_null(strstr(norm, ".."));
		ck_assert_uint_eq(
		    strspn(norm, "abcdefghijklmnopqrstuvwxyz0123456789-_.*"),
		    (size_t)r);
		ck_assert_int_eq(
		    sni_normalize(norm, (size_t)r, wild, again, sizeof(again)),
		    r);
		ck_assert_str_eq(again, norm);
	}
	ck_assert_uint_gt(accepted, 100);
	sni_table_free(t);
}
END_TEST

/* Each enum sni_err, and what sni_table_add call produces it. */
static const struct {
	int err;
	const char *name; /* NULL: a generated name of total/label bytes */
	size_t total, label;
} err_vec[] = {
	{ SNI_OK, "new.example.com", 0, 0 },
	{ SNI_ERR_EMPTY, ".", 0, 0 },
	{ SNI_ERR_TOO_LONG, NULL, SNI_NAME_MAX + 1, SNI_LABEL_MAX },
	{ SNI_ERR_LABEL_TOO_LONG, NULL, SNI_LABEL_MAX + 1, SNI_LABEL_MAX + 1 },
	{ SNI_ERR_BAD_CHAR, "bad!.example.com", 0, 0 },
	{ SNI_ERR_EMPTY_LABEL, "a..example.com", 0, 0 },
	{ SNI_ERR_BAD_WILDCARD, "*.com", 0, 0 },
	{ SNI_ERR_NOMEM, "nomem.example.com", 0, 0 },
	{ SNI_ERR_DUPLICATE, "EXAMPLE.com", 0, 0 },
};

START_TEST(test_errors)
{
	struct sni_table *t = build();
	char *gen = NULL;
	const char *name = err_vec[_i].name, *msg;
	size_t i;
	int r;

	if (name == NULL)
		name = gen = make_name(
		    err_vec[_i].total, err_vec[_i].label, false, false);
	if (err_vec[_i].err == SNI_ERR_NOMEM) {
		ck_assert_msg(__real_malloc != NULL,
		    "link with -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc");
		inject_at(0);
		arm();
	}
	r = sni_table_add(t, name, 99, RSA, NULL);
	disarm();
	ck_assert_msg(r == err_vec[_i].err, "'%s': got %d, want %d", name, r,
	    err_vec[_i].err);
	ck_assert_uint_eq(sni_table_count(t), ADD_COUNT + (r == SNI_OK));

	msg = sni_strerror(err_vec[_i].err);
	ck_assert_ptr_nonnull(msg);
	ck_assert_uint_gt(strlen(msg), 0);
	ck_assert_str_ne(msg, sni_strerror(INT_MIN));
	for (i = 0; i < nitems(err_vec); i++)
		if ((int)i != _i)
			ck_assert_str_ne(msg, sni_strerror(err_vec[i].err));
	free(gen);
	sni_table_free(t);
}
END_TEST

static const int unknown_err[] = { 1, 2, -9, -100, INT_MIN, INT_MAX };

START_TEST(test_strerror_unknown)
{
	ck_assert_str_eq(sni_strerror(unknown_err[_i]), "unknown SNI error");
}
END_TEST

/*
 * Fail each allocation of a table's life in turn (creation, slot growth,
 * a new name, a name's match list growing) until a run needs no failure.
 * Every failure is reported as NULL or SNI_ERR_NOMEM and leaves the table
 * as it was, and nothing leaks (ASan).
 */
START_TEST(test_nomem)
{
	char name[32];
	long at;
	int nomem = 0;

	ck_assert_msg(__real_malloc != NULL,
	    "link with -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc");
	for (at = 0;; at++) {
		struct sni_table *t;
		struct sni_match out[16];
		bool failed = false;
		int i, r;

		inject_at(at);
		arm();
		t = sni_table_new();
		disarm();
		if (t == NULL) {
			nomem++;
			continue;
		}
		for (i = 0; i < 40; i++) {
			size_t count = sni_table_count(t);

			snprintf(name, sizeof(name), "n%d.example", i);
			arm();
			r = sni_table_add(t, name, i, RSA, NULL);
			disarm();
			if (r == SNI_ERR_NOMEM) {
				ck_assert(!failed);
				failed = true;
				nomem++;
				ck_assert_uint_eq(sni_table_count(t), count);
				ck_assert_uint_eq(sni_table_lookup(t, name,
						      strlen(name), out, 16),
				    0);
				r = sni_table_add(t, name, i, RSA, NULL);
			}
			ck_assert_int_eq(r, SNI_OK);
		}
		for (i = 0; i < 10; i++) {
			size_t count = sni_table_count(t);

			arm();
			r = sni_table_add(
			    t, "n0.example", 100 + i, 1000 + i, NULL);
			disarm();
			if (r == SNI_ERR_NOMEM) {
				ck_assert(!failed);
				failed = true;
				nomem++;
				ck_assert_uint_eq(sni_table_count(t), count);
				ck_assert_uint_eq(
				    sni_table_lookup(
					t, "n0.example", 10, out, 16),
				    (size_t)i + 1);
				r = sni_table_add(
				    t, "n0.example", 100 + i, 1000 + i, NULL);
			}
			ck_assert_int_eq(r, SNI_OK);
		}
		ck_assert_uint_eq(sni_table_count(t), 50);
		for (i = 0; i < 40; i++) {
			snprintf(name, sizeof(name), "N%d.Example.", i);
			ck_assert_uint_eq(
			    sni_table_lookup(t, name, strlen(name), out, 16),
			    i == 0 ? 11 : 1);
			ck_assert_int_eq(out[0].idx, i);
		}
		sni_table_free(t);
		if (!failed)
			break;
	}
	/* each run failed exactly once, but the last, which needed none */
	ck_assert_int_eq(nomem, at);
	ck_assert_int_gt(nomem, 8);
}
END_TEST

Suite *
sni_suite(void)
{
	Suite *s = suite_create("sni");
	TCase *tc;

	tc = tcase_create("normalize");
	tcase_add_loop_test(tc, test_normalize, 0, (int)nitems(norm_vec));
	tcase_add_loop_test(tc, test_normalize_long, 0, (int)nitems(long_vec));
	tcase_add_loop_test(tc, test_normalize_cap, 0, (int)nitems(cap_vec));
	suite_add_tcase(s, tc);

	tc = tcase_create("table");
	tcase_add_loop_test(tc, test_lookup, 0, (int)nitems(look_vec));
	tcase_add_loop_test(tc, test_lookup_cap, 0, 5);
	tcase_add_test(tc, test_duplicate);
	tcase_add_test(tc, test_order);
	tcase_add_test(tc, test_table_limits);
	tcase_add_test(tc, test_empty_and_null);
	suite_add_tcase(s, tc);

	tc = tcase_create("errors");
	tcase_add_loop_test(tc, test_errors, 0, (int)nitems(err_vec));
	tcase_add_loop_test(
	    tc, test_strerror_unknown, 0, (int)nitems(unknown_err));
	tcase_add_test(tc, test_nomem);
	suite_add_tcase(s, tc);

	tc = tcase_create("stress");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_big);
	tcase_add_test(tc, test_garbage);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return unit_run(sni_suite());
}
