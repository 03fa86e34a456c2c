/*
 * check_balance.c: unit tests for balance.c: pinned hash values, rendezvous
 * shares, stability and minimal movement (remove one of 5 servers, add a
 * sixth), ties, smooth weighted round robin sequences and ratios under
 * changing eligibility, and least-connections order with rotating ties.
 */
#include "build_config.h"

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "balance.h"
#include "compat.h"
#include "unit.h"

Suite *balance_suite(void);

#define NKEYS 10000
#define MAXS 128

/* ---- helpers ---- */

static uint64_t
hash_str(const char *s)
{
	return balance_hash(s, strlen(s));
}

/* The hash of server "10.0.0.<i + 1>:1883", as pool.c computes it. */
static uint64_t
server_hash(size_t i)
{
	char buf[64];

	snprintf(buf, sizeof(buf), "10.0.0.%zu:1883", i + 1);
	return hash_str(buf);
}

static uint64_t
key_hash(int k)
{
	char buf[64];

	snprintf(buf, sizeof(buf), "client-%d", k);
	return hash_str(buf);
}

static void
servers(uint64_t *sh, int *w, bool *el, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		sh[i] = server_hash(i);
		w[i] = 1;
		el[i] = true;
	}
}

/* order[] (k entries) is a permutation of the indexes eligible in el. */
static void
assert_permutation(const size_t *order, size_t k, const bool *el, size_t n)
{
	bool seen[MAXS] = { false };
	size_t i, want = 0;

	for (i = 0; i < n; i++)
		want += el[i];
	ck_assert_uint_eq(k, want);
	for (i = 0; i < k; i++) {
		ck_assert_uint_lt(order[i], n);
		ck_assert(el[order[i]]);
		ck_assert(!seen[order[i]]);
		seen[order[i]] = true;
	}
}

/* Copy order[] without entry x; returns the new count. */
static size_t
without(const size_t *order, size_t k, size_t x, size_t *out)
{
	size_t i, m = 0;

	for (i = 0; i < k; i++)
		if (order[i] != x)
			out[m++] = order[i];
	return m;
}

/* splitmix64's finaliser and its inverse, to build exact score ties. */
static uint64_t
mix64(uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static uint64_t
mul_inverse(uint64_t c)
{
	uint64_t x = c;
	int i;

	for (i = 0; i < 6; i++)
		x *= 2 - c * x;
	return x;
}

static uint64_t
unxorshift(uint64_t z, int s)
{
	uint64_t x = z;
	int i;

	for (i = 0; i < 64 / s + 1; i++)
		x = z ^ (x >> s);
	return x;
}

static uint64_t
unmix64(uint64_t z)
{
	z = unxorshift(z, 31);
	z *= mul_inverse(0x94d049bb133111ebULL);
	z = unxorshift(z, 27);
	z *= mul_inverse(0xbf58476d1ce4e5b9ULL);
	return unxorshift(z, 30);
}

/* ---- balance_hash ---- */

static const struct {
	const char *s;
	uint64_t h;
} hash_vec[] = {
	{ "", 0xf52a15e9a9b5e89bULL },
	{ "a", 0x02c0bdbf481420f8ULL },
	{ "foobar", 0x404da9e3b74078c2ULL },
	{ "broker-1.example.net:1883", 0xa5670afe230d4b68ULL },
};

START_TEST(test_hash_pinned)
{
	const char *s = hash_vec[_i].s;

	ck_assert_uint_eq(balance_hash(s, strlen(s)), hash_vec[_i].h);
}
END_TEST

/* 1024 bytes: 0, 1, ..., 255, four times. */
START_TEST(test_hash_long)
{
	unsigned char buf[1024];
	size_t i;

	for (i = 0; i < sizeof(buf); i++)
		buf[i] = (unsigned char)i;
	ck_assert_uint_eq(
	    balance_hash(buf, sizeof(buf)), 0xc251d37a045b1519ULL);
}
END_TEST

START_TEST(test_hash_deterministic)
{
	char a[] = "client-42", b[] = "client-42";
	uint8_t v4[4] = { 192, 0, 2, 1 }, v4b[4] = { 192, 0, 2, 2 };

	ck_assert_uint_eq(balance_hash(a, 9), balance_hash(b, 9));
	ck_assert_uint_eq(balance_hash(a, 9), balance_hash(a, 9));
	ck_assert_uint_ne(balance_hash(a, 9), balance_hash(a, 8));
	ck_assert_uint_ne(balance_hash(v4, 4), balance_hash(v4b, 4));
	/* The empty key needs no buffer. */
	ck_assert_uint_eq(balance_hash(NULL, 0), 0xf52a15e9a9b5e89bULL);
	/* A NUL byte is part of the key. */
	ck_assert_uint_ne(balance_hash("a\0", 2), balance_hash("a", 1));
}
END_TEST

/* ---- balance_rendezvous ---- */

/* Orders for servers 10.0.0.1..5:1883, computed independently. */
static const struct {
	const char *key;
	int w[5];
	size_t order[5];
} rdv_vec[] = {
	{ "client-0", { 1, 1, 1, 1, 1 }, { 0, 2, 1, 3, 4 } },
	{ "client-1", { 1, 1, 1, 1, 1 }, { 4, 0, 1, 3, 2 } },
	{ "client-2", { 1, 1, 1, 1, 1 }, { 0, 1, 3, 4, 2 } },
	{ "client-3", { 1, 1, 1, 1, 1 }, { 3, 4, 0, 1, 2 } },
	{ "", { 1, 1, 1, 1, 1 }, { 3, 0, 2, 1, 4 } },
	{ "mqgate", { 1, 1, 1, 1, 1 }, { 3, 0, 1, 2, 4 } },
	{ "client-1", { 3, 1, 2, 1, 1 }, { 0, 4, 2, 1, 3 } },
	{ "client-2", { 3, 1, 2, 1, 1 }, { 0, 1, 3, 2, 4 } },
	{ "client-3", { 3, 1, 2, 1, 1 }, { 3, 0, 4, 1, 2 } },
	{ "mqgate", { 3, 1, 2, 1, 1 }, { 0, 3, 2, 1, 4 } },
};

START_TEST(test_rdv_pinned)
{
	uint64_t sh[5];
	int w[5];
	bool el[5];
	size_t order[5], k, i;

	servers(sh, w, el, 5);
	k = balance_rendezvous(
	    sh, rdv_vec[_i].w, el, 5, hash_str(rdv_vec[_i].key), order);
	ck_assert_uint_eq(k, 5);
	for (i = 0; i < 5; i++)
		ck_assert_uint_eq(order[i], rdv_vec[_i].order[i]);
}
END_TEST

START_TEST(test_rdv_deterministic)
{
	uint64_t sh[5];
	int w[5];
	bool el[5];
	size_t a[5], b[5];
	int k;

	servers(sh, w, el, 5);
	for (k = 0; k < 100; k++) {
		ck_assert_uint_eq(
		    balance_rendezvous(sh, w, el, 5, key_hash(k), a), 5);
		ck_assert_uint_eq(
		    balance_rendezvous(sh, w, el, 5, key_hash(k), b), 5);
		ck_assert_mem_eq(a, b, sizeof(a));
	}
}
END_TEST

static void
count_first(const int *w, size_t n, int *cnt)
{
	uint64_t sh[MAXS];
	int unused[MAXS];
	bool el[MAXS];
	size_t order[MAXS], i;
	int k;

	servers(sh, unused, el, n);
	for (i = 0; i < n; i++)
		cnt[i] = 0;
	for (k = 0; k < NKEYS; k++) {
		ck_assert_uint_eq(
		    balance_rendezvous(sh, w, el, n, key_hash(k), order), n);
		cnt[order[0]]++;
	}
}

/* 10000 keys over 5 servers: 20% each, +-3 points. */
START_TEST(test_rdv_share_equal)
{
	int w[5] = { 1, 1, 1, 1, 1 }, cnt[5];
	size_t i;

	count_first(w, 5, cnt);
	for (i = 0; i < 5; i++) {
		ck_assert_int_ge(cnt[i], 1700);
		ck_assert_int_le(cnt[i], 2300);
	}
}
END_TEST

/* Weights 2:1:1: 50/25/25%, +-3 points. */
START_TEST(test_rdv_share_weighted)
{
	int w[3] = { 2, 1, 1 }, cnt[3];

	count_first(w, 3, cnt);
	ck_assert_int_ge(cnt[0], 4700);
	ck_assert_int_le(cnt[0], 5300);
	ck_assert_int_ge(cnt[1], 2200);
	ck_assert_int_le(cnt[1], 2800);
	ck_assert_int_ge(cnt[2], 2200);
	ck_assert_int_le(cnt[2], 2800);
}
END_TEST

/*
 * Remove server _i of 5 (eligible false): every key's order is its old
 * order without that server, so exactly the keys that ranked it first move,
 * each to its previous second choice.
 */
START_TEST(test_rdv_remove)
{
	uint64_t sh[5];
	int w[5];
	bool el[5];
	size_t gone = (size_t)_i, before[5], after[5], want[5], k, m;
	int key, moved = 0, first = 0;

	servers(sh, w, el, 5);
	w[1] = 3; /* weights do not change the property */
	for (key = 0; key < NKEYS; key++) {
		uint64_t h = key_hash(key);

		el[gone] = true;
		k = balance_rendezvous(sh, w, el, 5, h, before);
		el[gone] = false;
		m = balance_rendezvous(sh, w, el, 5, h, after);
		ck_assert_uint_eq(k, 5);
		ck_assert_uint_eq(m, 4);
		ck_assert_uint_eq(without(before, k, gone, want), m);
		ck_assert_mem_eq(after, want, m * sizeof(*after));
		if (before[0] == gone) {
			first++;
			ck_assert_uint_eq(after[0], before[1]);
		}
		if (after[0] != before[0])
			moved++;
	}
	ck_assert_int_eq(moved, first);
	ck_assert_int_gt(moved, 0);
}
END_TEST

/*
 * Add a sixth server (n 5 -> 6): only the keys whose new first is the
 * sixth move, and every key's order without it is unchanged.
 */
START_TEST(test_rdv_add)
{
	uint64_t sh[6];
	int w[6];
	bool el[6];
	size_t before[6], after[6], want[6], k, m;
	int key, moved = 0;

	servers(sh, w, el, 6);
	for (key = 0; key < NKEYS; key++) {
		uint64_t h = key_hash(key);

		k = balance_rendezvous(sh, w, el, 5, h, before);
		m = balance_rendezvous(sh, w, el, 6, h, after);
		ck_assert_uint_eq(k, 5);
		ck_assert_uint_eq(m, 6);
		ck_assert_uint_eq(without(after, m, 5, want), k);
		ck_assert_mem_eq(before, want, k * sizeof(*before));
		if (after[0] != before[0]) {
			ck_assert_uint_eq(after[0], 5);
			moved++;
		} else {
			ck_assert_uint_ne(after[0], 5);
		}
	}
	/* about 1/6 of the keys: 1667 */
	ck_assert_int_ge(moved, 1367);
	ck_assert_int_le(moved, 1967);
}
END_TEST

/*
 * Every subset of 5 servers: order[] is a permutation of the eligible set,
 * in the order the full set ranks them; ineligible servers never appear.
 */
START_TEST(test_rdv_subsets)
{
	uint64_t sh[5];
	int w[5] = { 1, 2, 1, 4, 1 }, unused[5];
	bool all[5], el[5];
	size_t full[5], order[5], want[5], k, m, i, j;
	unsigned mask;
	int key;

	servers(sh, unused, all, 5);
	for (key = 0; key < 200; key++) {
		uint64_t h = key_hash(key);

		ck_assert_uint_eq(
		    balance_rendezvous(sh, w, all, 5, h, full), 5);
		assert_permutation(full, 5, all, 5);
		for (mask = 0; mask < 32; mask++) {
			for (i = 0; i < 5; i++)
				el[i] = (mask >> i) & 1;
			k = balance_rendezvous(sh, w, el, 5, h, order);
			assert_permutation(order, k, el, 5);
			for (i = m = 0; i < 5; i++)
				if (el[full[i]])
					want[m++] = full[i];
			ck_assert_uint_eq(k, m);
			for (j = 0; j < k; j++)
				ck_assert_uint_eq(order[j], want[j]);
		}
	}
}
END_TEST

/*
 * 100 servers, past the scores balance.c keeps on the stack: still a
 * permutation, each neighbouring pair in the order the two alone give, and
 * removing the first shifts the rest up.
 */
START_TEST(test_rdv_large)
{
	uint64_t sh[100];
	int w[100];
	bool el[100], two[100];
	size_t order[100], rest[100], pair[2], i, k;
	int key;

	servers(sh, w, el, 100);
	for (i = 0; i < 100; i++) {
		w[i] = 1 + (int)(i % 5);
		two[i] = false;
	}
	for (key = 0; key < 50; key++) {
		uint64_t h = key_hash(key);

		k = balance_rendezvous(sh, w, el, 100, h, order);
		assert_permutation(order, k, el, 100);
		for (i = 0; i + 1 < k; i++) {
			two[order[i]] = two[order[i + 1]] = true;
			ck_assert_uint_eq(
			    balance_rendezvous(sh, w, two, 100, h, pair), 2);
			ck_assert_uint_eq(pair[0], order[i]);
			ck_assert_uint_eq(pair[1], order[i + 1]);
			two[order[i]] = two[order[i + 1]] = false;
		}
		el[order[0]] = false;
		ck_assert_uint_eq(
		    balance_rendezvous(sh, w, el, 100, h, rest), 99);
		ck_assert_mem_eq(rest, order + 1, 99 * sizeof(*rest));
		el[order[0]] = true;
	}
}
END_TEST

/*
 * Ties. Two servers with the same hash and weight score the same for every
 * key: the lower index goes first. Two different hashes whose mixed values
 * share their top 52 bits also score the same: the lower hash goes first,
 * whatever the indexes.
 */
START_TEST(test_rdv_ties)
{
	uint64_t sh[5], key, x, lo, hi;
	int w[5];
	bool el[5];
	size_t order[5], i, pos1, pos3;
	int k;

	servers(sh, w, el, 5);
	sh[3] = sh[1];
	for (k = 0; k < 1000; k++) {
		ck_assert_uint_eq(
		    balance_rendezvous(sh, w, el, 5, key_hash(k), order), 5);
		pos1 = pos3 = 5;
		for (i = 0; i < 5; i++) {
			if (order[i] == 1)
				pos1 = i;
			if (order[i] == 3)
				pos3 = i;
		}
		ck_assert_uint_eq(pos3, pos1 + 1);
	}

	key = key_hash(7);
	x = mix64(server_hash(0) ^ key);
	lo = server_hash(0);
	hi = unmix64(x ^ 1) ^ key; /* same x >> 12, another server hash */
	ck_assert_uint_eq(mix64(hi ^ key) >> 12, x >> 12);
	if (hi < lo) {
		uint64_t t = hi;

		hi = lo;
		lo = t;
	}
	sh[0] = hi;
	sh[1] = lo;
	ck_assert_uint_eq(balance_rendezvous(sh, w, el, 2, key, order), 2);
	ck_assert_uint_eq(order[0], 1);
	ck_assert_uint_eq(order[1], 0);
	sh[0] = lo;
	sh[1] = hi;
	ck_assert_uint_eq(balance_rendezvous(sh, w, el, 2, key, order), 2);
	ck_assert_uint_eq(order[0], 0);
	ck_assert_uint_eq(order[1], 1);
}
END_TEST

START_TEST(test_rdv_small)
{
	uint64_t sh[1] = { 1 };
	int w[1] = { 1 };
	bool yes[1] = { true }, no[1] = { false };
	size_t order[2] = { 77, 77 };

	ck_assert_uint_eq(balance_rendezvous(sh, w, yes, 0, 5, order), 0);
	ck_assert_uint_eq(order[0], 77);
	ck_assert_uint_eq(balance_rendezvous(NULL, NULL, NULL, 0, 5, NULL), 0);
	ck_assert_uint_eq(balance_rendezvous(sh, w, no, 1, 5, order), 0);
	ck_assert_uint_eq(order[0], 77);
	ck_assert_uint_eq(balance_rendezvous(sh, w, yes, 1, 5, order), 1);
	ck_assert_uint_eq(order[0], 0);
	ck_assert_uint_eq(order[1], 77);
}
END_TEST

/* A weight below 1 counts as 1. */
START_TEST(test_rdv_weight_floor)
{
	uint64_t sh[3];
	int one[3] = { 1, 1, 1 }, low[3] = { 0, -3, INT_MIN };
	bool el[3];
	size_t a[3], b[3];
	int k;

	servers(sh, one, el, 3);
	for (k = 0; k < 100; k++) {
		balance_rendezvous(sh, one, el, 3, key_hash(k), a);
		balance_rendezvous(sh, low, el, 3, key_hash(k), b);
		ck_assert_mem_eq(a, b, sizeof(a));
	}
}
END_TEST

/* ---- balance_wrr ---- */

START_TEST(test_wrr_sequence)
{
	static const char want[] = "aabacaa"
				   "aabacaa";
	int cur[3] = { 0 }, w[3] = { 5, 1, 1 };
	bool el[3] = { true, true, true };
	char got[sizeof(want)];
	size_t i;

	for (i = 0; i + 1 < sizeof(want); i++) {
		got[i] = (char)('a' + balance_wrr(cur, w, el, 3));
		if (i % 7 == 6) {
			ck_assert_int_eq(cur[0], 0);
			ck_assert_int_eq(cur[1], 0);
			ck_assert_int_eq(cur[2], 0);
		}
	}
	got[i] = '\0';
	ck_assert_str_eq(got, want);
}
END_TEST

/* Equal weights: plain round robin from index 0. */
START_TEST(test_wrr_equal)
{
	int cur[4] = { 0 }, w[4] = { 2, 2, 2, 2 };
	bool el[4] = { true, true, true, true };
	size_t i;

	for (i = 0; i < 20; i++)
		ck_assert_uint_eq(balance_wrr(cur, w, el, 4), i % 4);
}
END_TEST

START_TEST(test_wrr_ratios)
{
	int cur[3] = { 0 }, w[3] = { 5, 1, 1 }, cnt[3] = { 0 };
	bool el[3] = { true, true, true };
	int i;

	for (i = 0; i < 7000; i++) {
		size_t p = balance_wrr(cur, w, el, 3);

		ck_assert_uint_lt(p, 3);
		cnt[p]++;
	}
	ck_assert_int_eq(cnt[0], 5000);
	ck_assert_int_eq(cnt[1], 1000);
	ck_assert_int_eq(cnt[2], 1000);
}
END_TEST

/* An ineligible server is skipped, its state left alone, and the others
 * keep their ratios exactly. */
START_TEST(test_wrr_ineligible)
{
	int cur[4] = { 0 }, w[4] = { 5, 1, 1, 3 }, cnt[4] = { 0 };
	bool el[4] = { true, false, true, true };
	int i;

	for (i = 0; i < 9000; i++)
		cnt[balance_wrr(cur, w, el, 4)]++;
	ck_assert_int_eq(cnt[0], 5000);
	ck_assert_int_eq(cnt[1], 0);
	ck_assert_int_eq(cnt[2], 1000);
	ck_assert_int_eq(cnt[3], 3000);
	ck_assert_int_eq(cur[1], 0);
}
END_TEST

START_TEST(test_wrr_none)
{
	int cur[3] = { 4, -2, -2 }, w[3] = { 5, 1, 1 };
	bool el[3] = { false, false, false };

	ck_assert_uint_eq(balance_wrr(cur, w, el, 3), SIZE_MAX);
	ck_assert_int_eq(cur[0], 4);
	ck_assert_int_eq(cur[1], -2);
	ck_assert_int_eq(cur[2], -2);
	ck_assert_uint_eq(balance_wrr(cur, w, el, 0), SIZE_MAX);
	ck_assert_uint_eq(balance_wrr(NULL, NULL, NULL, 0), SIZE_MAX);
}
END_TEST

/* A weight below 1 counts as 1. */
START_TEST(test_wrr_weight_floor)
{
	int cur[3] = { 0 }, w[3] = { 0, -5, 2 }, cnt[3] = { 0 };
	bool el[3] = { true, true, true };
	int i;

	for (i = 0; i < 400; i++)
		cnt[balance_wrr(cur, w, el, 3)]++;
	ck_assert_int_eq(cnt[0], 100);
	ck_assert_int_eq(cnt[1], 100);
	ck_assert_int_eq(cnt[2], 200);
}
END_TEST

/*
 * Bounds on cur[] under every possible eligibility sequence, found by an
 * exhaustive search of the reachable states (a breadth-first search over
 * every eligible subset at every call, from all zeros): weights 5,1,1 keep
 * each cur in [-5, 5]; weights 5,1,1,3,2 in [-13, 12]. Over L calls with a
 * fixed eligible set of total T, a server's cur changes by w * L - T *
 * picks, so its picks are within (max - min) / T of w * L / T; and a server
 * eligible for L calls in a row without a pick has w * L <= max - min.
 */
#define SPREAD_511 10	/* 5 - -5 */
#define SPREAD_51132 25 /* 12 - -13 */

/*
 * A server that leaves and comes back: while it is out, the others share
 * its picks by their weights; once back, it is picked soon, and the
 * ratios resume.
 */
START_TEST(test_wrr_comeback)
{
	int cur[3] = { 0 }, w[3] = { 5, 1, 1 }, cnt[3] = { 0 };
	bool el[3] = { true, true, true };
	size_t out = (size_t)_i % 3, p;
	int i, first = -1, rest = 7 - w[out];

	/* _i / 3 picks before it leaves: every phase of the cycle */
	for (i = 0; i < _i / 3; i++)
		balance_wrr(cur, w, el, 3);
	el[out] = false;
	for (i = 0; i < 1200; i++) {
		p = balance_wrr(cur, w, el, 3);
		ck_assert_uint_ne(p, out);
		cnt[p]++;
	}
	for (i = 0; i < 3; i++) {
		if ((size_t)i == out)
			continue;
		ck_assert_int_le(cnt[i] * rest - 1200 * w[i], SPREAD_511);
		ck_assert_int_ge(cnt[i] * rest - 1200 * w[i], -SPREAD_511);
	}
	el[out] = true;
	cnt[0] = cnt[1] = cnt[2] = 0;
	for (i = 0; i < 7000; i++) {
		p = balance_wrr(cur, w, el, 3);
		if (p == out && first < 0)
			first = i;
		cnt[p]++;
	}
	ck_assert_int_ge(first, 0);
	ck_assert_int_le(first * w[out], SPREAD_511);
	for (i = 0; i < 3; i++) {
		ck_assert_int_le(cnt[i] * 7 - 7000 * w[i], SPREAD_511);
		ck_assert_int_ge(cnt[i] * 7 - 7000 * w[i], -SPREAD_511);
	}
}
END_TEST

/*
 * Eligibility flapping at random (a fixed LCG), from every few calls to
 * every other call: cur stays within its bounds, and no server eligible for
 * L calls in a row with w * L > SPREAD_51132 goes unpicked.
 */
START_TEST(test_wrr_flapping)
{
	enum { N = 5, CALLS = 100000 };
	int cur[N] = { 0 }, w[N] = { 5, 1, 1, 3, 2 }, streak[N] = { 0 };
	bool el[N] = { true, true, true, true, true };
	int flip = 2 << _i; /* one flip per 2, 4, 8, 16 calls on average */
	uint32_t rng = 12345;
	size_t p, i;
	int c;

	for (c = 0; c < CALLS; c++) {
		rng = rng * 1103515245u + 12345u;
		if ((int)((rng >> 16) % (uint32_t)flip) == 0)
			el[(rng >> 8) % N] ^= true;
		p = balance_wrr(cur, w, el, N);
		if (!el[0] && !el[1] && !el[2] && !el[3] && !el[4]) {
			UNIT_HOT(p == SIZE_MAX);
			continue;
		}
		UNIT_HOT_CMP(p, <, N);
		UNIT_HOT(el[p]);
		for (i = 0; i < N; i++) {
			streak[i] = el[i] && i != p ? streak[i] + 1 : 0;
			UNIT_HOT_CMP(streak[i] * w[i], <=, SPREAD_51132);
			UNIT_HOT_CMP(cur[i], >=, -13);
			UNIT_HOT_CMP(cur[i], <=, 12);
		}
	}
}
END_TEST

/* ---- balance_leastconn ---- */

static const struct {
	long active[5];
	int w[5];
	bool el[5];
	size_t n, start;
	size_t k, order[5];
} lc_vec[] = {
	/* by active */
	{ { 3, 1, 2 }, { 1, 1, 1 }, { 1, 1, 1 }, 3, 0, 3, { 1, 2, 0 } },
	/* by active / weight: 4/4 = 1, 3/1 = 3, 1/1 = 1 */
	{ { 4, 3, 1 }, { 4, 1, 1 }, { 1, 1, 1 }, 3, 0, 3, { 0, 2, 1 } },
	{ { 4, 3, 1 }, { 4, 1, 1 }, { 1, 1, 1 }, 3, 1, 3, { 2, 0, 1 } },
	{ { 4, 3, 1 }, { 4, 1, 1 }, { 1, 1, 1 }, 3, 2, 3, { 2, 0, 1 } },
	{ { 4, 3, 1 }, { 4, 1, 1 }, { 1, 1, 1 }, 3, 3, 3, { 0, 2, 1 } },
	/* 10/4 = 2.5 < 3/1 = 3 > 5/2 = 2.5: exact, no rounding */
	{ { 10, 3, 5 }, { 4, 1, 2 }, { 1, 1, 1 }, 3, 0, 3, { 0, 2, 1 } },
	{ { 11, 3, 5 }, { 4, 1, 2 }, { 1, 1, 1 }, 3, 0, 3, { 2, 0, 1 } },
	{ { 9, 3, 5 }, { 4, 1, 2 }, { 1, 1, 1 }, 3, 1, 3, { 0, 2, 1 } },
	/* ineligible excluded, even the least loaded */
	{ { 3, 0, 2, 1 }, { 1, 1, 1, 1 }, { 1, 0, 1, 1 }, 4, 0, 3,
	    { 3, 2, 0 } },
	{ { 3, 0, 2, 1 }, { 1, 1, 1, 1 }, { 0, 0, 0, 0 }, 4, 0, 0, { 0 } },
	/* ties rotate: all idle */
	{ { 0, 0, 0, 0, 0 }, { 1, 2, 3, 4, 5 }, { 1, 1, 1, 1, 1 }, 5, 3, 5,
	    { 3, 4, 0, 1, 2 } },
	{ { 0, 0, 0, 0, 0 }, { 1, 2, 3, 4, 5 }, { 1, 0, 1, 1, 1 }, 5, 1, 4,
	    { 2, 3, 4, 0 } },
	/* a negative count (never expected) counts as 0 */
	{ { 2, -5, 0 }, { 1, 1, 1 }, { 1, 1, 1 }, 3, 0, 3, { 1, 2, 0 } },
	{ { 2, -5, 0 }, { 1, 1, 1 }, { 1, 1, 1 }, 3, 2, 3, { 2, 1, 0 } },
	/* a weight below 1 counts as 1 */
	{ { 2, 1, 2 }, { 0, -1, 2 }, { 1, 1, 1 }, 3, 0, 3, { 1, 2, 0 } },
	/* huge counts do not overflow */
	{ { LONG_MAX, LONG_MAX - 1000, LONG_MAX }, { 256, 255, 255 },
	    { 1, 1, 1 }, 3, 0, 3, { 0, 1, 2 } },
	/* equal quotients (1): the remainders decide, exactly */
	{ { 255, 257 }, { 255, 256 }, { 1, 1 }, 2, 0, 2, { 0, 1 } },
	{ { 256, 257 }, { 255, 256 }, { 1, 1 }, 2, 0, 2, { 1, 0 } },
	{ { 1, 0 }, { 1, 1 }, { 1, 1 }, 1, 0, 1, { 0 } },
	{ { 1, 0 }, { 1, 1 }, { 1, 1 }, 0, 0, 0, { 0 } },
};

START_TEST(test_lc_order)
{
	size_t order[5] = { 99, 99, 99, 99, 99 }, k, i;

	k = balance_leastconn(lc_vec[_i].active, lc_vec[_i].w, lc_vec[_i].el,
	    lc_vec[_i].n, lc_vec[_i].start, order);
	ck_assert_uint_eq(k, lc_vec[_i].k);
	for (i = 0; i < k; i++)
		ck_assert_uint_eq(order[i], lc_vec[_i].order[i]);
	for (; i < 5; i++)
		ck_assert_uint_eq(order[i], 99);
}
END_TEST

/* Equal servers take turns: over n consecutive starts each is first once;
 * a less loaded one is first whatever the start. */
START_TEST(test_lc_rotation)
{
	long active[4] = { 2, 2, 2, 2 };
	int w[4] = { 1, 1, 1, 1 }, firsts[4] = { 0 };
	bool el[4] = { true, true, true, true };
	size_t order[4], start, i;

	for (start = 0; start < 400; start++) {
		ck_assert_uint_eq(
		    balance_leastconn(active, w, el, 4, start, order), 4);
		for (i = 0; i < 4; i++)
			ck_assert_uint_eq(order[i], (start + i) % 4);
		firsts[order[0]]++;
	}
	for (i = 0; i < 4; i++)
		ck_assert_int_eq(firsts[i], 100);
	active[2] = 1;
	for (start = 0; start < 8; start++) {
		ck_assert_uint_eq(
		    balance_leastconn(active, w, el, 4, start, order), 4);
		ck_assert_uint_eq(order[0], 2);
	}
	ck_assert_uint_eq(
	    balance_leastconn(active, w, el, 4, SIZE_MAX, order), 4);
	ck_assert_uint_eq(order[0], 2);
	ck_assert_uint_eq(order[1], SIZE_MAX % 4);
}
END_TEST

Suite *
balance_suite(void)
{
	Suite *s = suite_create("balance");
	TCase *tc;

	tc = tcase_create("hash");
	tcase_add_loop_test(tc, test_hash_pinned, 0, (int)nitems(hash_vec));
	tcase_add_test(tc, test_hash_long);
	tcase_add_test(tc, test_hash_deterministic);
	suite_add_tcase(s, tc);

	tc = tcase_create("rendezvous");
	tcase_add_loop_test(tc, test_rdv_pinned, 0, (int)nitems(rdv_vec));
	tcase_add_test(tc, test_rdv_deterministic);
	tcase_add_test(tc, test_rdv_share_equal);
	tcase_add_test(tc, test_rdv_share_weighted);
	tcase_add_loop_test(tc, test_rdv_remove, 0, 5);
	tcase_add_test(tc, test_rdv_add);
	tcase_add_test(tc, test_rdv_subsets);
	tcase_add_test(tc, test_rdv_large);
	tcase_add_test(tc, test_rdv_ties);
	tcase_add_test(tc, test_rdv_small);
	tcase_add_test(tc, test_rdv_weight_floor);
	suite_add_tcase(s, tc);

	tc = tcase_create("wrr");
	tcase_add_test(tc, test_wrr_sequence);
	tcase_add_test(tc, test_wrr_equal);
	tcase_add_test(tc, test_wrr_ratios);
	tcase_add_test(tc, test_wrr_ineligible);
	tcase_add_test(tc, test_wrr_none);
	tcase_add_test(tc, test_wrr_weight_floor);
	tcase_add_loop_test(tc, test_wrr_comeback, 0, 3 * 7);
	tcase_add_loop_test(tc, test_wrr_flapping, 0, 4);
	suite_add_tcase(s, tc);

	tc = tcase_create("leastconn");
	tcase_add_loop_test(tc, test_lc_order, 0, (int)nitems(lc_vec));
	tcase_add_test(tc, test_lc_rotation);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return unit_run(balance_suite());
}
