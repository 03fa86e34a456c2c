/*
 * check_pool.c: unit tests for pool.c's run-time choice: which servers are
 * eligible (down, unresolved, backups), the candidate order of each balance
 * (weighted round robin then line order, rendezvous for source/clientid
 * with fleet agreement and minimal movement, leastconn by active/weight),
 * max, per-worker round-robin state, the address and up setters with their
 * log lines, and every allocation failure of pool_set_new / pool_rr_new.
 */
#include "build_config.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "addr.h"
#include "balance.h"
#include "compat.h"
#include "config.h"
#include "diag.h"
#include "fault.h"
#include "log.h"
#include "pool.h"
#include "unit.h"

Suite *pool_suite(void);

#define NKEYS 1000
#define MAXS 32

/* A listener so that the config validates; the pools follow it. */
#define LISTENER                                                               \
	"[listener a]\nbind = 127.0.0.1:8883\nupstream = cluster\n"            \
	"certfile = /c.pem\n"

static struct config *cfg;
static struct pool_set *ps;
static struct pool_rr *rr;

/* Load text into cfg (it must be valid) and build ps and rr from it. */
static void
load(const char *text)
{
	struct diag d;
	size_t i;

	/* the setters' log lines: test_set_up_logs looks at them */
	log_set_level(LOG_LEVEL_ERROR);
	diag_init(&d);
	cfg = config_load_string(text, "t.ini", &d);
	for (i = 0; i < d.n; i++)
		fprintf(stderr, "%s:%d: %s\n", d.v[i].file, d.v[i].line,
		    d.v[i].msg);
	ck_assert_uint_eq(diag_count(&d), 0);
	ck_assert_ptr_nonnull(cfg);
	diag_clear(&d);
	ps = pool_set_new(cfg);
	ck_assert_ptr_nonnull(ps);
	rr = pool_rr_new(ps);
	ck_assert_ptr_nonnull(rr);
}

static void
teardown(void)
{
	pool_rr_free(rr);
	pool_set_free(ps);
	config_free(cfg);
	rr = NULL;
	ps = NULL;
	cfg = NULL;
}

/* The pool named name in ps. */
static struct pool *
pool_named(struct pool_set *set, const char *name)
{
	size_t i;

	for (i = 0; i < set->n; i++)
		if (strcmp(set->v[i].conf->name, name) == 0)
			return &set->v[i];
	ck_abort_msg("no pool %s", name);
	return NULL;
}

static uint64_t
key_hash(int k)
{
	char buf[64];

	snprintf(buf, sizeof(buf), "client-%d", k);
	return balance_hash(buf, strlen(buf));
}

static struct addr
parse_addr(const char *s)
{
	struct addr a;
	const char *why;

	memset(&a, 0, sizeof(a));
	ck_assert_int_eq(addr_parse(s, &a, &why), 0);
	return a;
}

/* Candidates with room for max, checking that nothing past the count
 * returned was written and that no index repeats. */
static size_t
cands(
    struct pool *p, struct pool_rr *r, uint64_t key, size_t *order, size_t max)
{
	size_t buf[MAXS + 1], i, j, n;

	ck_assert_uint_le(max, MAXS);
	for (i = 0; i <= MAXS; i++)
		buf[i] = SIZE_MAX - 1;
	n = pool_candidates(p, r, key, buf, max);
	ck_assert_uint_le(n, max);
	for (i = n; i <= MAXS; i++)
		ck_assert_uint_eq(buf[i], SIZE_MAX - 1);
	for (i = 0; i < n; i++) {
		ck_assert_uint_lt(buf[i], p->n);
		for (j = 0; j < i; j++)
			ck_assert_uint_ne(buf[i], buf[j]);
		order[i] = buf[i];
	}
	return n;
}

/* The candidates are exactly the servers of mask (bit i: server i), in
 * whatever order. */
static void
assert_set(struct pool *p, unsigned mask)
{
	size_t order[MAXS], n, i;
	unsigned got = 0;

	n = cands(p, rr, key_hash(7), order, POOL_MAX_TRIES);
	for (i = 0; i < n; i++)
		got |= 1u << order[i];
	ck_assert_msg(got == mask, "candidates 0x%x, expected 0x%x", got, mask);
	ck_assert_uint_eq(n, (size_t)__builtin_popcount(mask));
}

static void
assert_order(const size_t *got, size_t n, const size_t *want, size_t wn)
{
	size_t i;

	ck_assert_uint_eq(n, wn);
	for (i = 0; i < n; i++)
		ck_assert_msg(got[i] == want[i],
		    "order[%zu] = %zu, expected %zu", i, got[i], want[i]);
}

static const char *const balances[] = { "roundrobin", "leastconn", "source",
	"clientid" };

/* ---- construction ---- */

START_TEST(test_new)
{
	static const char text[] = LISTENER
	    "[upstream cluster]\nserver = 10.0.0.1:1883 weight=3\n"
	    "server = [2001:db8::2]:1883\nserver = broker.example:1883\n"
	    "server = 10.0.0.4:1883 backup\n"
	    "[upstream other]\nserver = 10.0.1.1:1\n";
	struct pool *p;
	struct addr a;
	char buf[ADDR_STRLEN];
	size_t i;

	load(text);
	ck_assert_uint_eq(ps->n, 2);
	for (i = 0; i < ps->n; i++) {
		ck_assert_ptr_eq(ps->v[i].conf, &cfg->upstreams[i]);
		ck_assert_uint_eq(ps->v[i].idx, i);
	}
	p = pool_named(ps, "cluster");
	ck_assert_uint_eq(p->n, 4);
	for (i = 0; i < p->n; i++) {
		struct pool_server *s = &p->servers[i];
		const char *t = cfg->upstreams[0].servers[i].text;

		ck_assert_ptr_eq(s->conf, &cfg->upstreams[0].servers[i]);
		/* the hash key is the text as written, brackets and all */
		ck_assert(p->hash[i] == balance_hash(t, strlen(t)));
		ck_assert(atomic_load(&s->up));
		ck_assert_int_eq(atomic_load(&s->active), 0);
		ck_assert_int_eq(p->weight[i], i == 0 ? 3 : 1);
	}
	ck_assert_str_eq(p->servers[1].conf->text, "[2001:db8::2]:1883");
	/* numeric hosts have their address at once, names wait */
	ck_assert(atomic_load(&p->servers[0].resolved));
	ck_assert(pool_server_addr(&p->servers[1], &a));
	addr_format(&a, buf, sizeof(buf));
	ck_assert_str_eq(buf, "[2001:db8::2]:1883");
	ck_assert(!atomic_load(&p->servers[2].resolved));
	ck_assert(!pool_server_addr(&p->servers[2], &a));
	ck_assert(atomic_load(&p->servers[3].resolved));
}
END_TEST

/* Hand-built configs: no pool at all, an empty pool, a weight below 1. */
START_TEST(test_hand_built)
{
	struct server_conf sv[1];
	struct upstream_conf u[2];
	struct config c;
	struct pool_set *set;
	struct pool_rr *r;
	struct addr a = parse_addr("10.0.0.1:1");
	size_t order[MAXS];

	memset(&c, 0, sizeof(c));
	set = pool_set_new(&c);
	ck_assert_ptr_nonnull(set);
	ck_assert_uint_eq(set->n, 0);
	r = pool_rr_new(set);
	ck_assert_ptr_nonnull(r);
	pool_rr_free(r);
	pool_set_free(set);
	r = pool_rr_new(NULL);
	ck_assert_ptr_nonnull(r);
	pool_rr_free(r);
	pool_rr_free(NULL);
	pool_set_free(NULL);

	memset(sv, 0, sizeof(sv));
	memset(u, 0, sizeof(u));
	sv[0].text = (char *)(uintptr_t) "h.example:1";
	sv[0].weight = 0;
	u[0].name = (char *)(uintptr_t) "empty";
	u[1].name = (char *)(uintptr_t) "one";
	u[1].servers = sv;
	u[1].nservers = 1;
	u[1].balance = BALANCE_SOURCE;
	c.upstreams = u;
	c.nupstreams = 2;
	set = pool_set_new(&c);
	ck_assert_ptr_nonnull(set);
	r = pool_rr_new(set);
	ck_assert_ptr_nonnull(r);
	ck_assert_uint_eq(set->v[0].n, 0);
	ck_assert_uint_eq(pool_candidates(&set->v[0], r, 1, order, 4), 0);
	ck_assert_int_eq(set->v[1].weight[0], 1);
	ck_assert_uint_eq(pool_candidates(&set->v[1], r, 1, order, 4), 0);
	pool_server_set_addr(&set->v[1].servers[0], &(struct addr){ .len = 0 });
	ck_assert_uint_eq(pool_candidates(&set->v[1], r, 1, order, 4), 0);
	pool_server_set_addr(&set->v[1].servers[0], &a);
	ck_assert_uint_eq(pool_candidates(&set->v[1], r, 1, order, 4), 1);
	ck_assert_uint_eq(order[0], 0);
	pool_rr_free(r);
	pool_set_free(set);
}
END_TEST

/* ---- eligibility, for every balance ---- */

START_TEST(test_eligible)
{
	char text[1024];
	struct pool *p;
	struct addr a = parse_addr("10.9.9.9:1883"), none;
	size_t order[MAXS];

	snprintf(text, sizeof(text),
	    LISTENER "[upstream cluster]\n"
		     "server = 10.0.0.1:1883\n"		     /* 0 */
		     "server = broker.example:1883\n"	     /* 1, unresolved */
		     "server = 10.0.0.3:1883 weight=2\n"     /* 2 */
		     "server = 10.0.0.4:1883 backup\n"	     /* 3 */
		     "server = backup.example:1883 backup\n" /* 4, unresolved */
		     "server = 10.0.0.6:1883 backup\n"	     /* 5 */
		     "balance = %s\n",
	    balances[_i]);
	load(text);
	p = &ps->v[0];
	ck_assert_int_eq(p->conf->balance, _i);

	assert_set(p, 0x05);
	pool_server_set_addr(&p->servers[1], &a);
	assert_set(p, 0x07);
	pool_server_set_up(p, &p->servers[0], false, "x");
	assert_set(p, 0x06);
	pool_server_set_up(p, &p->servers[2], false, "x");
	assert_set(p, 0x02);
	/* the last non-backup goes: the resolved backups take over */
	pool_server_set_up(p, &p->servers[1], false, "x");
	assert_set(p, 0x28);
	pool_server_set_addr(&p->servers[4], &a);
	assert_set(p, 0x38);
	pool_server_set_up(p, &p->servers[3], false, "x");
	assert_set(p, 0x30);
	/* one non-backup back: the backups step aside */
	pool_server_set_up(p, &p->servers[1], true, "x");
	assert_set(p, 0x02);
	/* up but no longer resolved is not eligible either */
	memset(&none, 0, sizeof(none));
	pool_server_set_addr(&p->servers[1], &none);
	assert_set(p, 0x30);
	pool_server_set_up(p, &p->servers[4], false, "x");
	pool_server_set_up(p, &p->servers[5], false, "x");
	/* nothing eligible */
	ck_assert_uint_eq(cands(p, rr, key_hash(1), order, POOL_MAX_TRIES), 0);
	/* a down backup that is up again */
	pool_server_set_up(p, &p->servers[3], true, "x");
	assert_set(p, 0x08);
	/* max 0 */
	ck_assert_uint_eq(cands(p, rr, key_hash(1), order, 0), 0);
	pool_server_set_up(p, &p->servers[0], true, "x");
	assert_set(p, 0x01);
	ck_assert_uint_eq(cands(p, rr, key_hash(1), order, 0), 0);
}
END_TEST

/* Only the up and resolved backups, even when a down backup is resolved
 * and an up one is not; every non-backup unresolved counts as none up. */
START_TEST(test_backup_unresolved_primaries)
{
	char text[1024];
	struct pool *p;
	struct addr a = parse_addr("10.9.9.9:1883");

	snprintf(text, sizeof(text),
	    LISTENER "[upstream cluster]\n"
		     "server = a.example:1883\n"
		     "server = b.example:1883\n"
		     "server = 10.0.0.3:1883 backup\n"
		     "server = c.example:1883 backup\n"
		     "balance = %s\n",
	    balances[_i]);
	load(text);
	p = &ps->v[0];
	assert_set(p, 0x04);
	pool_server_set_addr(&p->servers[3], &a);
	assert_set(p, 0x0c);
	pool_server_set_up(p, &p->servers[2], false, "x");
	assert_set(p, 0x08);
	pool_server_set_addr(&p->servers[1], &a);
	assert_set(p, 0x02);
}
END_TEST

/* ---- roundrobin ---- */

START_TEST(test_rr_pattern)
{
	static const char text[] =
	    LISTENER "[upstream cluster]\nserver = 10.0.0.1:1883 weight=2\n"
		     "server = 10.0.0.2:1883\n";
	static const size_t want[][2] = { { 0, 1 }, { 1, 0 }, { 0, 1 } };
	size_t order[MAXS], n, i;
	struct pool *p;

	load(text);
	p = &ps->v[0];
	for (i = 0; i < 9; i++) {
		/* the key is ignored */
		n = cands(p, rr, key_hash((int)i), order, POOL_MAX_TRIES);
		assert_order(order, n, want[i % 3], 2);
	}
}
END_TEST

/* After the weighted pick, the other eligible servers in line order,
 * wrapping around. */
START_TEST(test_rr_rest)
{
	static const char text[] =
	    LISTENER "[upstream cluster]\nserver = 10.0.0.1:1883\n"
		     "server = 10.0.0.2:1883\nserver = 10.0.0.3:1883\n"
		     "server = 10.0.0.4:1883\nserver = 10.0.0.5:1883 backup\n";
	static const size_t all[][4] = {
		{ 0, 1, 2, 3 },
		{ 1, 2, 3, 0 },
		{ 2, 3, 0, 1 },
		{ 3, 0, 1, 2 },
	};
	static const size_t some[][3] = { { 0, 1, 3 }, { 1, 3, 0 },
		{ 3, 0, 1 } };
	size_t order[MAXS], n, i;
	struct pool *p;

	load(text);
	p = &ps->v[0];
	for (i = 0; i < 8; i++) {
		n = cands(p, rr, 0, order, POOL_MAX_TRIES);
		assert_order(order, n, all[i % 4], 4);
	}
	pool_server_set_up(p, &p->servers[2], false, "x");
	for (i = 0; i < 6; i++) {
		n = cands(p, rr, 0, order, POOL_MAX_TRIES);
		assert_order(order, n, some[i % 3], 3);
	}
}
END_TEST

/* max truncates the list; each call is still one turn of the rotation. */
START_TEST(test_rr_max)
{
	static const char text[] =
	    LISTENER "[upstream cluster]\nserver = 10.0.0.1:1883 weight=2\n"
		     "server = 10.0.0.2:1883\nserver = 10.0.0.3:1883\n";
	/* weights 2,1,1: a b c a | a b c a ... (smooth WRR) */
	static const size_t firsts[] = { 0, 1, 2, 0 };
	size_t order[MAXS], n, i;
	struct pool *p;

	load(text);
	p = &ps->v[0];
	for (i = 0; i < 8; i++) {
		size_t max = i % 3 + 1;

		n = cands(p, rr, 0, order, max);
		ck_assert_uint_eq(n, max);
		ck_assert_uint_eq(order[0], firsts[i % 4]);
		if (n > 1)
			ck_assert_uint_eq(order[1], (firsts[i % 4] + 1) % 3);
	}
}
END_TEST

/* At most POOL_MAX_TRIES, whatever max says; for every balance. */
START_TEST(test_max_tries)
{
	char text[4096];
	size_t order[MAXS], n, i, len;
	struct pool *p;

	len = (size_t)snprintf(text, sizeof(text),
	    LISTENER "[upstream cluster]\nbalance = %s\n", balances[_i]);
	for (i = 0; i < 20; i++)
		len += (size_t)snprintf(text + len, sizeof(text) - len,
		    "server = 10.0.0.%zu:1883\n", i + 1);
	ck_assert_uint_lt(len, sizeof(text));
	load(text);
	p = &ps->v[0];
	ck_assert_uint_eq(p->n, 20);
	n = cands(p, rr, key_hash(3), order, MAXS);
	ck_assert_uint_eq(n, POOL_MAX_TRIES);
	n = cands(p, rr, key_hash(3), order, POOL_MAX_TRIES + 1);
	ck_assert_uint_eq(n, POOL_MAX_TRIES);
	n = cands(p, rr, key_hash(3), order, 5);
	ck_assert_uint_eq(n, 5);
}
END_TEST

/* Two workers' round robins do not disturb each other, and neither do
 * the pools within one. */
START_TEST(test_rr_independent)
{
	static const char text[] =
	    LISTENER "[upstream cluster]\nserver = 10.0.0.1:1883 weight=2\n"
		     "server = 10.0.0.2:1883\n"
		     "[upstream other]\nserver = 10.0.1.1:1883\n"
		     "server = 10.0.1.2:1883\nserver = 10.0.1.3:1883\n";
	static const size_t wrr[] = { 0, 1, 0 };
	struct pool_rr *rr2;
	struct pool *p, *q;
	size_t order[MAXS], i;

	load(text);
	p = pool_named(ps, "cluster");
	q = pool_named(ps, "other");
	rr2 = pool_rr_new(ps);
	ck_assert_ptr_nonnull(rr2);
	for (i = 0; i < 6; i++) {
		/* rr advances twice per step, rr2 once, other once */
		ck_assert_uint_eq(cands(p, rr, 0, order, 1), 1);
		ck_assert_uint_eq(order[0], wrr[(2 * i) % 3]);
		ck_assert_uint_eq(cands(p, rr, 0, order, 1), 1);
		ck_assert_uint_eq(order[0], wrr[(2 * i + 1) % 3]);
		ck_assert_uint_eq(cands(p, rr2, 0, order, 1), 1);
		ck_assert_uint_eq(order[0], wrr[i % 3]);
		ck_assert_uint_eq(cands(q, rr, 0, order, 1), 1);
		ck_assert_uint_eq(order[0], i % 3);
	}
	pool_rr_free(rr2);
}
END_TEST

/* ---- source and clientid ---- */

/* The hash pool: weights, an IPv6 server, a backup. */
static const char hash_fmt[] = LISTENER "[upstream cluster]\nbalance = %s\n"
					"server = 10.0.0.1:1883\n"
					"server = 10.0.0.2:1883 weight=2\n"
					"server = [2001:db8::3]:1883\n"
					"server = 10.0.0.4:1883 weight=3\n"
					"server = broker-5.example:1883\n"
					"server = 10.0.0.6:1883\n"
					"server = 10.0.0.7:1883 backup\n";

static void
load_hash(int mode)
{
	char text[1024];

	snprintf(text, sizeof(text), hash_fmt, balances[mode]);
	load(text);
}

/* What balance_rendezvous says for key over the servers with el set,
 * from the config's texts and weights alone. */
static size_t
expected_rdv(
    const struct upstream_conf *u, const bool *el, uint64_t key, size_t *order)
{
	uint64_t h[MAXS];
	int w[MAXS];
	size_t i;

	for (i = 0; i < u->nservers; i++) {
		h[i] = balance_hash(
		    u->servers[i].text, strlen(u->servers[i].text));
		w[i] = u->servers[i].weight;
	}
	return balance_rendezvous(h, w, el, u->nservers, key, order);
}

START_TEST(test_hash_order)
{
	bool el[MAXS] = { true, true, true, true, false, true, false };
	size_t order[MAXS], want[MAXS], n, wn;
	struct pool *p;
	struct addr a = parse_addr("10.0.0.5:1883");
	int k;

	load_hash(_i);
	p = &ps->v[0];
	for (k = 0; k < NKEYS; k++) {
		n = cands(p, rr, key_hash(k), order, POOL_MAX_TRIES);
		wn = expected_rdv(p->conf, el, key_hash(k), want);
		ck_assert_uint_eq(wn, 5);
		assert_order(order, n, want, wn);
		/* no state: the same again */
		n = cands(p, rr, key_hash(k), order, POOL_MAX_TRIES);
		assert_order(order, n, want, wn);
		/* max cuts the same list */
		n = cands(p, rr, key_hash(k), order, 2);
		assert_order(order, n, want, 2);
	}
	/* the named server resolves and a numeric one goes down */
	pool_server_set_addr(&p->servers[4], &a);
	pool_server_set_up(p, &p->servers[0], false, "x");
	el[4] = true;
	el[0] = false;
	for (k = 0; k < NKEYS; k++) {
		n = cands(p, rr, key_hash(k), order, POOL_MAX_TRIES);
		wn = expected_rdv(p->conf, el, key_hash(k), want);
		assert_order(order, n, want, wn);
	}
}
END_TEST

/* Two pool sets from one config, and from two loads of the same text (two
 * mqgates of a fleet), agree on every key; the rr state plays no part. */
START_TEST(test_hash_fleet)
{
	char text[1024];
	struct config *cfg2;
	struct pool_set *ps2, *ps3;
	struct pool_rr *rr2, *rr3;
	struct diag d;
	size_t o1[MAXS], o2[MAXS], o3[MAXS], n1, n2, n3;
	int k;

	snprintf(text, sizeof(text), hash_fmt, balances[_i]);
	load(text);
	diag_init(&d);
	cfg2 = config_load_string(text, "other.ini", &d);
	ck_assert_ptr_nonnull(cfg2);
	diag_clear(&d);
	ps2 = pool_set_new(cfg);
	ps3 = pool_set_new(cfg2);
	ck_assert_ptr_nonnull(ps2);
	ck_assert_ptr_nonnull(ps3);
	rr2 = pool_rr_new(ps2);
	rr3 = pool_rr_new(ps3);
	ck_assert_ptr_nonnull(rr2);
	ck_assert_ptr_nonnull(rr3);
	for (k = 0; k < NKEYS; k++) {
		n1 = cands(&ps->v[0], rr, key_hash(k), o1, POOL_MAX_TRIES);
		n2 = cands(&ps2->v[0], rr2, key_hash(k), o2, POOL_MAX_TRIES);
		n3 = cands(&ps3->v[0], rr3, key_hash(k), o3, POOL_MAX_TRIES);
		assert_order(o2, n2, o1, n1);
		assert_order(o3, n3, o1, n1);
	}
	pool_rr_free(rr2);
	pool_rr_free(rr3);
	pool_set_free(ps2);
	pool_set_free(ps3);
	config_free(cfg2);
}
END_TEST

/* A server going down moves only the keys that ranked it first, each to
 * its former second choice; the rest of every list keeps its order. Back
 * up, every key returns to where it was. Tried for each server. */
START_TEST(test_hash_down_moves_few)
{
	/* the servers that are candidates: not the unresolved one (4), not
	 * the backup (6) */
	static const size_t xs[] = { 0, 1, 2, 3, 5 };
	static size_t before[NKEYS][MAXS], nb[NKEYS];
	size_t order[MAXS], n, i, j, x;
	size_t moved = 0;
	struct pool *p;
	int k;

	load_hash(_i / (int)nitems(xs));
	p = &ps->v[0];
	x = xs[_i % (int)nitems(xs)];
	for (k = 0; k < NKEYS; k++)
		nb[k] = cands(p, rr, key_hash(k), before[k], POOL_MAX_TRIES);
	pool_server_set_up(p, &p->servers[x], false, "x");
	for (k = 0; k < NKEYS; k++) {
		n = cands(p, rr, key_hash(k), order, POOL_MAX_TRIES);
		ck_assert_uint_eq(n, nb[k] - 1);
		if (before[k][0] == x) {
			moved++;
			ck_assert_uint_eq(order[0], before[k][1]);
		} else {
			ck_assert_uint_eq(order[0], before[k][0]);
		}
		for (i = 0, j = 0; i < nb[k]; i++)
			if (before[k][i] != x)
				ck_assert_uint_eq(order[j++], before[k][i]);
	}
	/* a share of the keys, roughly weight/total (1..3 of 8) */
	ck_assert_uint_gt(moved, NKEYS / 30);
	ck_assert_uint_lt(moved, NKEYS / 2);
	pool_server_set_up(p, &p->servers[x], true, "x");
	for (k = 0; k < NKEYS; k++) {
		n = cands(p, rr, key_hash(k), order, POOL_MAX_TRIES);
		assert_order(order, n, before[k], nb[k]);
	}
}
END_TEST

/* source and clientid are the same choice over a key. */
START_TEST(test_hash_source_is_clientid)
{
	struct pool_set *ps2;
	struct pool_rr *rr2;
	struct config *cfg2;
	struct diag d;
	char text[1024];
	size_t o1[MAXS], o2[MAXS], n1, n2;
	int k;

	load_hash(2);
	snprintf(text, sizeof(text), hash_fmt, balances[3]);
	diag_init(&d);
	cfg2 = config_load_string(text, "t.ini", &d);
	ck_assert_ptr_nonnull(cfg2);
	diag_clear(&d);
	ck_assert_int_eq(cfg->upstreams[0].balance, BALANCE_SOURCE);
	ck_assert_int_eq(cfg2->upstreams[0].balance, BALANCE_CLIENTID);
	ps2 = pool_set_new(cfg2);
	ck_assert_ptr_nonnull(ps2);
	rr2 = pool_rr_new(ps2);
	ck_assert_ptr_nonnull(rr2);
	for (k = 0; k < NKEYS; k++) {
		n1 = cands(&ps->v[0], rr, key_hash(k), o1, POOL_MAX_TRIES);
		n2 = cands(&ps2->v[0], rr2, key_hash(k), o2, POOL_MAX_TRIES);
		assert_order(o2, n2, o1, n1);
	}
	pool_rr_free(rr2);
	pool_set_free(ps2);
	config_free(cfg2);
}
END_TEST

/* With only the backups left, rendezvous runs over them. */
START_TEST(test_hash_backups)
{
	static const char text[] = LISTENER
	    "[upstream cluster]\nbalance = source\n"
	    "server = 10.0.0.1:1883\nserver = 10.0.0.2:1883 backup\n"
	    "server = 10.0.0.3:1883 backup\nserver = 10.0.0.4:1883 backup\n";
	bool el[MAXS] = { false, true, true, true };
	size_t order[MAXS], want[MAXS], n, wn;
	struct pool *p;
	int k;

	load(text);
	p = &ps->v[0];
	pool_server_set_up(p, &p->servers[0], false, "x");
	for (k = 0; k < NKEYS; k++) {
		n = cands(p, rr, key_hash(k), order, POOL_MAX_TRIES);
		wn = expected_rdv(p->conf, el, key_hash(k), want);
		assert_order(order, n, want, wn);
	}
}
END_TEST

/* ---- leastconn ---- */

static const struct {
	int w[4];
	long active[4];
	unsigned down; /* mask */
	size_t want[4];
	size_t nwant;
} lc_vec[] = {
	/* active/weight 3, 2, 1, 0 */
	{ { 1, 2, 1, 1 }, { 3, 4, 1, 0 }, 0, { 3, 2, 1, 0 }, 4 },
	/* the least loaded is down */
	{ { 1, 2, 1, 1 }, { 3, 4, 1, 0 }, 0x8, { 2, 1, 0 }, 3 },
	/* 10/4 = 2.5 < 3/1 < 7/2 = 3.5 < 4/1 */
	{ { 4, 1, 2, 1 }, { 10, 3, 7, 4 }, 0, { 0, 1, 2, 3 }, 4 },
	/* weight counts: 5/5 = 1 < 2/1 */
	{ { 1, 5, 1, 1 }, { 2, 5, 9, 8 }, 0x5, { 1, 3 }, 2 },
	/* close ratios: 3906.25, 3907, 3906, 3906.5 */
	{ { 256, 1, 3, 2 }, { 1000000, 3907, 11718, 7813 }, 0, { 2, 0, 3, 1 },
	    4 },
};

START_TEST(test_lc_order)
{
	char text[1024];
	size_t order[MAXS], n, i;
	struct pool *p;

	snprintf(text, sizeof(text),
	    LISTENER "[upstream cluster]\nbalance = leastconn\n"
		     "server = 10.0.0.1:1883 weight=%d\n"
		     "server = 10.0.0.2:1883 weight=%d\n"
		     "server = 10.0.0.3:1883 weight=%d\n"
		     "server = 10.0.0.4:1883 weight=%d\n",
	    lc_vec[_i].w[0], lc_vec[_i].w[1], lc_vec[_i].w[2], lc_vec[_i].w[3]);
	load(text);
	p = &ps->v[0];
	for (i = 0; i < 4; i++) {
		atomic_store(&p->servers[i].active, lc_vec[_i].active[i]);
		if (lc_vec[_i].down & (1u << i))
			pool_server_set_up(p, &p->servers[i], false, "x");
	}
	/* no ties: the same order every time */
	for (i = 0; i < 5; i++) {
		n = cands(p, rr, 0, order, POOL_MAX_TRIES);
		assert_order(order, n, lc_vec[_i].want, lc_vec[_i].nwant);
	}
	n = cands(p, rr, 0, order, 1);
	assert_order(order, n, lc_vec[_i].want, 1);
}
END_TEST

/* Equal servers take turns first; the order follows changes in active. */
START_TEST(test_lc_ties_and_changes)
{
	static const char text[] =
	    LISTENER "[upstream cluster]\nbalance = leastconn\n"
		     "server = 10.0.0.1:1883\nserver = 10.0.0.2:1883\n"
		     "server = 10.0.0.3:1883\n";
	size_t order[MAXS], n, i;
	unsigned firsts = 0;
	struct pool *p;

	load(text);
	p = &ps->v[0];
	for (i = 0; i < 3; i++) {
		n = cands(p, rr, 0, order, POOL_MAX_TRIES);
		ck_assert_uint_eq(n, 3);
		firsts |= 1u << order[0];
	}
	ck_assert_uint_eq(firsts, 0x7);
	/* as a worker would: count a connection on the first choice */
	for (i = 0; i < 30; i++) {
		n = cands(p, rr, 0, order, 1);
		ck_assert_uint_eq(n, 1);
		atomic_fetch_add(&p->servers[order[0]].active, 1);
	}
	for (i = 0; i < 3; i++)
		ck_assert_int_eq(atomic_load(&p->servers[i].active), 10);
	atomic_fetch_sub(&p->servers[1].active, 5);
	n = cands(p, rr, 0, order, POOL_MAX_TRIES);
	ck_assert_uint_eq(n, 3);
	ck_assert_uint_eq(order[0], 1);
}
END_TEST

/* Each pool rotates its own ties: a worker alternating between two
 * leastconn pools still gives every server of each a turn. */
START_TEST(test_lc_ties_per_pool)
{
	static const char text[] =
	    "[listener a]\nbind = 127.0.0.1:8883\nupstream = x\n"
	    "certfile = /c.pem\n"
	    "[listener b]\nbind = 127.0.0.1:8884\nupstream = y\n"
	    "certfile = /c.pem\n"
	    "[upstream x]\nbalance = leastconn\n"
	    "server = 10.0.0.1:1883\nserver = 10.0.0.2:1883\n"
	    "[upstream y]\nbalance = leastconn\n"
	    "server = 10.0.1.1:1883\nserver = 10.0.1.2:1883\n";
	size_t order[MAXS], i;
	unsigned fx = 0, fy = 0;

	load(text);
	for (i = 0; i < 4; i++) {
		ck_assert_uint_eq(cands(pool_named(ps, "x"), rr, 0, order, 1), 1);
		fx |= 1u << order[0];
		ck_assert_uint_eq(cands(pool_named(ps, "y"), rr, 0, order, 1), 1);
		fy |= 1u << order[0];
	}
	ck_assert_uint_eq(fx, 0x3);
	ck_assert_uint_eq(fy, 0x3);
}
END_TEST

/* ---- backups after the others, for retries ---- */

/* The backups pool_backup_candidates gives, checking like cands(). */
static size_t
backup_cands(struct pool *p, uint64_t key, size_t *order, size_t max)
{
	size_t buf[MAXS + 1], i, j, n;

	for (i = 0; i <= MAXS; i++)
		buf[i] = SIZE_MAX - 1;
	n = pool_backup_candidates(p, rr, key, buf, max);
	ck_assert_uint_le(n, max);
	for (i = n; i <= MAXS; i++)
		ck_assert_uint_eq(buf[i], SIZE_MAX - 1);
	for (i = 0; i < n; i++) {
		ck_assert_uint_lt(buf[i], p->n);
		ck_assert(p->servers[buf[i]].conf->backup);
		for (j = 0; j < i; j++)
			ck_assert_uint_ne(buf[i], buf[j]);
		order[i] = buf[i];
	}
	return n;
}

/*
 * While a server without backup is up, the up and resolved backups come
 * as the fallback, in the balance's order; once none is up they are
 * pool_candidates' own answer and the fallback is empty. For every
 * balance.
 */
START_TEST(test_backup_fallback)
{
	char text[1024];
	struct pool *p;
	struct addr a = parse_addr("10.9.9.9:1883");
	bool el[MAXS] = { false, false, true, false, true };
	size_t order[MAXS], want[MAXS], n, wn, i;
	long act;
	int k;

	snprintf(text, sizeof(text),
	    LISTENER "[upstream cluster]\n"
		     "server = 10.0.0.1:1883\n"		     /* 0 */
		     "server = 10.0.0.2:1883\n"		     /* 1 */
		     "server = 10.0.0.3:1883 backup weight=3\n" /* 2 */
		     "server = b.example:1883 backup\n"     /* 3, unresolved */
		     "server = 10.0.0.5:1883 backup\n"	     /* 4 */
		     "balance = %s\n",
	    balances[_i]);
	load(text);
	p = &ps->v[0];
	for (k = 0; k < 200; k++) {
		n = backup_cands(p, key_hash(k), order, POOL_MAX_TRIES);
		ck_assert_uint_eq(n, 2);
		switch (_i) {
		case BALANCE_SOURCE:
		case BALANCE_CLIENTID:
			/* the key's own order over the backups */
			wn = expected_rdv(p->conf, el, key_hash(k), want);
			assert_order(order, n, want, wn);
			break;
		case BALANCE_ROUNDROBIN:
			want[0] = 2;
			want[1] = 4;
			assert_order(order, n, want, 2);
			break;
		default:
			break;
		}
	}
	/* leastconn: fewest for the weight first (4 of weight 3 < 2 of 1) */
	if (_i == BALANCE_LEASTCONN) {
		atomic_store(&p->servers[2].active, 4);
		atomic_store(&p->servers[4].active, 2);
		n = backup_cands(p, 0, order, POOL_MAX_TRIES);
		want[0] = 2;
		want[1] = 4;
		assert_order(order, n, want, 2);
		act = 7;
		atomic_store(&p->servers[2].active, act);
		n = backup_cands(p, 0, order, POOL_MAX_TRIES);
		want[0] = 4;
		want[1] = 2;
		assert_order(order, n, want, 2);
	}
	/* max bounds it; 0 gives none */
	ck_assert_uint_eq(backup_cands(p, key_hash(1), order, 1), 1);
	ck_assert_uint_eq(backup_cands(p, key_hash(1), order, 0), 0);
	/* a resolved backup joins, a down one leaves */
	pool_server_set_addr(&p->servers[3], &a);
	ck_assert_uint_eq(backup_cands(p, key_hash(1), order, MAXS), 3);
	pool_server_set_up(p, &p->servers[4], false, "x");
	n = backup_cands(p, key_hash(1), order, MAXS);
	ck_assert_uint_eq(n, 2);
	for (i = 0; i < n; i++)
		ck_assert_uint_ne(order[i], 4);
	/* one server without backup is enough to keep the fallback */
	pool_server_set_up(p, &p->servers[0], false, "x");
	ck_assert_uint_eq(backup_cands(p, key_hash(1), order, MAXS), 2);
	ck_assert_uint_eq(cands(p, rr, key_hash(1), order, MAXS), 1);
	ck_assert_uint_eq(order[0], 1);
	/* none up: the backups are the candidates, the fallback is empty */
	pool_server_set_up(p, &p->servers[1], false, "x");
	ck_assert_uint_eq(backup_cands(p, key_hash(1), order, MAXS), 0);
	ck_assert_uint_eq(cands(p, rr, key_hash(1), order, MAXS), 2);
	/* and no backup up either */
	pool_server_set_up(p, &p->servers[2], false, "x");
	pool_server_set_up(p, &p->servers[3], false, "x");
	ck_assert_uint_eq(backup_cands(p, key_hash(1), order, MAXS), 0);
	ck_assert_uint_eq(cands(p, rr, key_hash(1), order, MAXS), 0);
}
END_TEST

/* A pool without backups has no fallback, whatever is up. */
START_TEST(test_backup_fallback_none)
{
	static const char text[] = LISTENER "[upstream cluster]\n"
					    "server = 10.0.0.1:1883\n"
					    "server = 10.0.0.2:1883\n";
	size_t order[MAXS];
	struct pool *p;

	load(text);
	p = &ps->v[0];
	ck_assert_uint_eq(backup_cands(p, key_hash(1), order, MAXS), 0);
	pool_server_set_up(p, &p->servers[0], false, "x");
	ck_assert_uint_eq(backup_cands(p, key_hash(1), order, MAXS), 0);
}
END_TEST

/* ---- setters ---- */

START_TEST(test_addr_round_trip)
{
	static const char text[] =
	    LISTENER "[upstream cluster]\nserver = 10.0.0.1:1883\n"
		     "server = broker.example:1883\n";
	static const char *const addrs[] = { "192.0.2.7:1883",
		"[2001:db8::7]:8883", "198.51.100.1:1",
		"unix:/run/broker.sock" };
	struct pool_server *s;
	struct addr a, got, none;
	char buf[ADDR_STRLEN];
	size_t i;

	load(text);
	s = &ps->v[0].servers[0];
	ck_assert(pool_server_addr(s, &got));
	ck_assert_uint_eq(got.len, s->conf->addr.len);
	ck_assert_int_eq(memcmp(&got.ss, &s->conf->addr.ss, got.len), 0);

	s = &ps->v[0].servers[1];
	memset(&got, 0xa5, sizeof(got));
	ck_assert(!pool_server_addr(s, &got));
	/* out is left alone when there is no address */
	ck_assert_uint_eq(got.len, (socklen_t)0xa5a5a5a5u);
	for (i = 0; i < nitems(addrs); i++) {
		a = parse_addr(addrs[i]);
		pool_server_set_addr(s, &a);
		ck_assert(atomic_load(&s->resolved));
		memset(&got, 0, sizeof(got));
		ck_assert(pool_server_addr(s, &got));
		ck_assert_uint_eq(got.len, a.len);
		ck_assert_int_eq(memcmp(&got.ss, &a.ss, a.len), 0);
		addr_format(&got, buf, sizeof(buf));
		ck_assert_str_eq(buf, addrs[i]);
	}
	memset(&none, 0, sizeof(none));
	pool_server_set_addr(s, &none);
	ck_assert(!atomic_load(&s->resolved));
	ck_assert(!pool_server_addr(s, &got));
	/* the config's address is not touched */
	ck_assert_uint_eq(s->conf->addr.len, 0);
}
END_TEST

static struct pool *log_pool;

static void
flip(void)
{
	struct pool *p = log_pool;
	struct pool_server *s = &p->servers[1];

	log_set_level(LOG_LEVEL_INFO);
	pool_server_set_up(p, s, true, "already"); /* no change */
	pool_server_set_up(p, s, false, "connection refused");
	pool_server_set_up(p, s, false, "connection refused"); /* again */
	pool_server_set_up(p, s, false, "timeout");	       /* no change */
	pool_server_set_up(p, s, true, "2 checks passed");
	pool_server_set_up(p, s, true, NULL);
	pool_server_set_up(p, s, false, NULL);
	pool_server_set_up(p, s, true, NULL);
}

static size_t
count_lines(const char *s)
{
	size_t n = 0;

	for (; *s != '\0'; s++)
		n += *s == '\n';
	return n;
}

START_TEST(test_set_up_logs)
{
	static const char text[] =
	    LISTENER "[upstream cluster]\nserver = 10.0.0.1:1883\n"
		     "server = b1.example:1883\n";
	static const char *const want[] = {
		"Z warn server cluster/b1.example:1883 is down: connection "
		"refused\n",
		"Z info server cluster/b1.example:1883 is up (2 checks "
		"passed)\n",
		"Z warn server cluster/b1.example:1883 is down: unknown\n",
		"Z info server cluster/b1.example:1883 is up\n",
	};
	char *out, *line;
	size_t i;

	load(text);
	log_pool = &ps->v[0];
	out = unit_capture_stderr(flip);
	log_set_level(LOG_LEVEL_ERROR);
	ck_assert_uint_eq(count_lines(out), nitems(want));
	line = out;
	for (i = 0; i < nitems(want); i++) {
		char *nl = strchr(line, '\n'), *at = strstr(line, want[i]);

		ck_assert_msg(at != NULL && at + strlen(want[i]) == nl + 1,
		    "line %zu: %.*s", i, (int)(nl - line + 1), line);
		line = nl + 1;
	}
	free(out);
	ck_assert(atomic_load(&log_pool->servers[1].up));
	ck_assert(atomic_load(&log_pool->servers[0].up));
	pool_server_set_up(log_pool, &log_pool->servers[1], false, "x");
	ck_assert(!atomic_load(&log_pool->servers[1].up));
}
END_TEST

/* ---- allocation failures ---- */

#if defined(UNIT_FAULTS)

static const char oom_text[] = LISTENER
    "[upstream cluster]\nserver = 10.0.0.1:1883\nserver = b.example:1\n"
    "server = 10.0.0.3:1883 backup\n"
    "[upstream two]\nserver = 10.0.1.1:1883\n"
    "[upstream three]\nbalance = source\nserver = 10.0.2.1:1883\n"
    "server = 10.0.2.2:1883\nserver = 10.0.2.3:1883\n"
    "server = 10.0.2.4:1883\n";

/* Build a pool set (or, with rr_only, a pool_rr over ps) with allocation
 * k failing. Returns false once k is past the last allocation. */
static bool
new_failing(bool rr_only, long k)
{
	struct pool_set *set = NULL;
	struct pool_rr *r = NULL;
	long before = live_blocks;
	size_t order[MAXS];
	bool hit;

	fault_countdown = k;
	if (rr_only)
		r = pool_rr_new(ps);
	else
		set = pool_set_new(cfg);
	hit = fault_countdown < 0;
	fault_countdown = -1;
	if (rr_only) {
		ck_assert_msg((r == NULL) == hit, "allocation %ld: %s", k,
		    hit ? "failure went unnoticed" : "failed");
		if (r != NULL)
			ck_assert_uint_eq(pool_candidates(&ps->v[2], r, 1,
					      order, POOL_MAX_TRIES),
			    4);
		pool_rr_free(r);
	} else {
		ck_assert_msg((set == NULL) == hit, "allocation %ld: %s", k,
		    hit ? "failure went unnoticed" : "failed");
		if (set != NULL)
			ck_assert_uint_eq(set->v[2].n, 4);
		pool_set_free(set);
	}
	ck_assert_msg(live_blocks == before,
	    "allocation %ld: %ld blocks leaked", k, live_blocks - before);
	return hit;
}

START_TEST(test_oom_set)
{
	long k;

	load(oom_text);
	for (k = 0; new_failing(false, k); k++)
		;
	/* the set, its array, three arrays per pool */
	ck_assert_int_ge(k, 2 + 3 * 3);
}
END_TEST

START_TEST(test_oom_rr)
{
	long k;

	load(oom_text);
	for (k = 0; new_failing(true, k); k++)
		;
	/* the rr, cur, three scratch arrays, one cur[] per pool */
	ck_assert_int_ge(k, 5 + 3);
}
END_TEST

#endif

Suite *
pool_suite(void)
{
	Suite *s = suite_create("pool");
	TCase *tc;

	tc = tcase_create("new");
	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_add_test(tc, test_new);
	tcase_add_test(tc, test_hand_built);
	suite_add_tcase(s, tc);

	tc = tcase_create("eligible");
	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_add_loop_test(tc, test_eligible, 0, (int)nitems(balances));
	tcase_add_loop_test(
	    tc, test_backup_unresolved_primaries, 0, (int)nitems(balances));
	tcase_add_loop_test(tc, test_max_tries, 0, (int)nitems(balances));
	suite_add_tcase(s, tc);

	tc = tcase_create("roundrobin");
	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_add_test(tc, test_rr_pattern);
	tcase_add_test(tc, test_rr_rest);
	tcase_add_test(tc, test_rr_max);
	tcase_add_test(tc, test_rr_independent);
	suite_add_tcase(s, tc);

	tc = tcase_create("hash");
	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_add_loop_test(tc, test_hash_order, 2, 4);
	tcase_add_loop_test(tc, test_hash_fleet, 2, 4);
	tcase_add_loop_test(tc, test_hash_down_moves_few, 2 * 5, 4 * 5);
	tcase_add_test(tc, test_hash_source_is_clientid);
	tcase_add_test(tc, test_hash_backups);
	suite_add_tcase(s, tc);

	tc = tcase_create("leastconn");
	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_add_loop_test(tc, test_lc_order, 0, (int)nitems(lc_vec));
	tcase_add_test(tc, test_lc_ties_and_changes);
	tcase_add_test(tc, test_lc_ties_per_pool);
	suite_add_tcase(s, tc);

	tc = tcase_create("backup_fallback");
	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_add_loop_test(tc, test_backup_fallback, 0, (int)nitems(balances));
	tcase_add_test(tc, test_backup_fallback_none);
	suite_add_tcase(s, tc);

	tc = tcase_create("setters");
	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_add_test(tc, test_addr_round_trip);
	tcase_add_test(tc, test_set_up_logs);
	suite_add_tcase(s, tc);

#if defined(UNIT_FAULTS)
	tc = tcase_create("oom");
	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_add_test(tc, test_oom_set);
	tcase_add_test(tc, test_oom_rr);
	suite_add_tcase(s, tc);
#endif
	return s;
}

int
main(void)
{
	return unit_run(pool_suite());
}
