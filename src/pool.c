/*
 * pool: see pool.h for what is shared and how. The choice itself is
 * balance.c's; this file takes the snapshot it works on.
 */
#include "build_config.h"

#include <stdlib.h>
#include <string.h>

#include "balance.h"
#include "log.h"
#include "pool.h"

/* A worker's scratch and round-robin state: one cur[] per pool, and
 * arrays as long as the largest pool for the snapshot. */
struct pool_rr {
	size_t npools;
	int **cur;	 /* cur[pool][server] */
	size_t maxn;
	bool *eligible;	 /* maxn */
	long *active;	 /* maxn */
	size_t *order;	 /* maxn */
	size_t *lc_start; /* per pool: leastconn tie rotation */
};

static void
pool_free_one(struct pool *p)
{
	size_t i;

	if (p->servers != NULL)
		for (i = 0; i < p->n; i++)
			pthread_mutex_destroy(&p->servers[i].mu);
	free(p->servers);
	free(p->weight);
	free(p->hash);
}

static int
pool_init_one(struct pool *p, const struct upstream_conf *u, size_t idx)
{
	size_t i, n = u->nservers;

	p->conf = u;
	p->idx = idx;
	p->servers = calloc(n ? n : 1, sizeof(*p->servers));
	p->weight = calloc(n ? n : 1, sizeof(*p->weight));
	p->hash = calloc(n ? n : 1, sizeof(*p->hash));
	if (p->servers == NULL || p->weight == NULL || p->hash == NULL)
		return -1; /* p->n is 0: no mutex to destroy */
	p->n = n;
	for (i = 0; i < p->n; i++) {
		struct pool_server *s = &p->servers[i];
		const struct server_conf *sc = &u->servers[i];

		s->conf = sc;
		p->weight[i] = sc->weight > 0 ? sc->weight : 1;
		p->hash[i] = balance_hash(sc->text, strlen(sc->text));
		atomic_init(&s->up, true);
		atomic_init(&s->active, 0);
		atomic_init(&s->resolved, sc->addr.len > 0);
		atomic_init(&s->looked_up, sc->addr.len > 0);
		pthread_mutex_init(&s->mu, NULL);
		if (sc->addr.len > 0)
			s->addr = sc->addr;
	}
	return 0;
}

struct pool_set *
pool_set_new(const struct config *c)
{
	struct pool_set *ps = calloc(1, sizeof(*ps));
	size_t i;

	if (ps == NULL)
		return NULL;
	ps->n = c->nupstreams;
	ps->v = calloc(ps->n ? ps->n : 1, sizeof(*ps->v));
	if (ps->v == NULL) {
		free(ps);
		return NULL;
	}
	for (i = 0; i < ps->n; i++)
		if (pool_init_one(&ps->v[i], &c->upstreams[i], i) < 0) {
			pool_set_free(ps);
			return NULL;
		}
	return ps;
}

void
pool_set_free(struct pool_set *ps)
{
	size_t i;

	if (ps == NULL)
		return;
	for (i = 0; i < ps->n; i++)
		pool_free_one(&ps->v[i]);
	free(ps->v);
	free(ps);
}

struct pool_rr *
pool_rr_new(const struct pool_set *ps)
{
	struct pool_rr *rr = calloc(1, sizeof(*rr));
	size_t i, maxn = 1;

	if (rr == NULL)
		return NULL;
	rr->npools = ps != NULL ? ps->n : 0;
	for (i = 0; i < rr->npools; i++)
		if (ps->v[i].n > maxn)
			maxn = ps->v[i].n;
	rr->maxn = maxn;
	rr->cur = calloc(rr->npools ? rr->npools : 1, sizeof(*rr->cur));
	rr->eligible = calloc(maxn, sizeof(*rr->eligible));
	rr->active = calloc(maxn, sizeof(*rr->active));
	rr->order = calloc(maxn, sizeof(*rr->order));
	rr->lc_start = calloc(rr->npools ? rr->npools : 1,
	    sizeof(*rr->lc_start));
	if (rr->cur == NULL || rr->eligible == NULL || rr->active == NULL ||
	    rr->order == NULL || rr->lc_start == NULL) {
		pool_rr_free(rr);
		return NULL;
	}
	for (i = 0; i < rr->npools; i++)
		if ((rr->cur[i] = calloc(ps->v[i].n ? ps->v[i].n : 1,
			 sizeof(int))) == NULL) {
			pool_rr_free(rr);
			return NULL;
		}
	return rr;
}

void
pool_rr_free(struct pool_rr *rr)
{
	size_t i;

	if (rr == NULL)
		return;
	for (i = 0; rr->cur != NULL && i < rr->npools; i++)
		free(rr->cur[i]);
	free(rr->cur);
	free(rr->eligible);
	free(rr->active);
	free(rr->order);
	free(rr->lc_start);
	free(rr);
}

/* Mark the servers of one tier (backup or not) that may take a
 * connection: up and resolved. Returns how many. */
static size_t
mark_tier(const struct pool *p, bool backup, bool *eligible)
{
	size_t i, k = 0;

	for (i = 0; i < p->n; i++) {
		const struct pool_server *s = &p->servers[i];

		eligible[i] = s->conf->backup == backup &&
		    atomic_load_explicit(&s->up, memory_order_relaxed) &&
		    atomic_load_explicit(&s->resolved, memory_order_acquire);
		k += eligible[i];
	}
	return k;
}

/*
 * Order the servers marked in rr->eligible (k of them) into rr->order by
 * the pool's balance; returns how many. A fallback list (the backups
 * after the others) takes no turn: roundrobin leaves the rotation, and
 * leastconn the tie-breaking start, to the first choice, and lists the
 * backups in line order, or from the first, instead.
 */
static size_t
order_tier(struct pool *p, struct pool_rr *rr, uint64_t key, size_t k,
    bool fallback)
{
	bool *el = rr->eligible;
	size_t i, first, total = 0, start;

	switch (p->conf->balance) {
	case BALANCE_SOURCE:
	case BALANCE_CLIENTID:
		/* Stable per key, the fallback too, so that a client that
		 * cannot reach its node reaches the same backup from every
		 * mqgate. */
		return balance_rendezvous(p->hash, p->weight, el, p->n, key,
		    rr->order);
	case BALANCE_LEASTCONN:
		for (i = 0; i < p->n; i++)
			rr->active[i] = atomic_load_explicit(
			    &p->servers[i].active, memory_order_relaxed);
		/* Ties take turns among the eligible servers only: start
		 * at the (lc_start % k)-th of them. */
		start = fallback ? 0 : rr->lc_start[p->idx]++ % k;
		for (i = 0; i < p->n; i++)
			if (el[i] && start-- == 0)
				break;
		return balance_leastconn(rr->active, p->weight, el, p->n, i,
		    rr->order);
	case BALANCE_ROUNDROBIN:
	default:
		/* The weighted pick first, then the others in turn. */
		first = fallback ? 0 : balance_wrr(rr->cur[p->idx], p->weight, el,
		    p->n);
		if (first == SIZE_MAX)
			return 0;
		for (i = 0; i < p->n; i++)
			if (el[(first + i) % p->n])
				rr->order[total++] = (first + i) % p->n;
		return total;
	}
}

static size_t
copy_order(const struct pool_rr *rr, size_t total, size_t *order,
    size_t max)
{
	size_t n;

	for (n = 0; n < total && n < max; n++)
		order[n] = rr->order[n];
	return n;
}

size_t
pool_candidates(struct pool *p, struct pool_rr *rr, uint64_t key,
    size_t *order, size_t max)
{
	size_t k;

	if (max > POOL_MAX_TRIES)
		max = POOL_MAX_TRIES;
	if (p->n == 0 || max == 0)
		return 0;
	if ((k = mark_tier(p, false, rr->eligible)) == 0 &&
	    (k = mark_tier(p, true, rr->eligible)) == 0)
		return 0;
	return copy_order(rr, order_tier(p, rr, key, k, false), order, max);
}

size_t
pool_backup_candidates(struct pool *p, struct pool_rr *rr, uint64_t key,
    size_t *order, size_t max)
{
	size_t k;

	if (max > POOL_MAX_TRIES)
		max = POOL_MAX_TRIES;
	/* With no other server up, pool_candidates gave the backups. */
	if (p->n == 0 || max == 0 || mark_tier(p, false, rr->eligible) == 0 ||
	    (k = mark_tier(p, true, rr->eligible)) == 0)
		return 0;
	return copy_order(rr, order_tier(p, rr, key, k, true), order, max);
}

bool
pool_server_addr(struct pool_server *s, struct addr *out)
{
	bool ok;

	pthread_mutex_lock(&s->mu);
	ok = s->addr.len > 0;
	if (ok)
		*out = s->addr;
	pthread_mutex_unlock(&s->mu);
	return ok;
}

void
pool_server_set_addr(struct pool_server *s, const struct addr *a)
{
	pthread_mutex_lock(&s->mu);
	s->addr = *a;
	pthread_mutex_unlock(&s->mu);
	atomic_store_explicit(&s->resolved, a->len > 0, memory_order_release);
}

void
pool_server_set_up(struct pool *p, struct pool_server *s, bool up,
    const char *why)
{
	bool was = atomic_exchange(&s->up, up);

	if (was == up)
		return;
	if (up)
		log_info("server %s/%s is up%s%s%s", p->conf->name,
		    s->conf->text, why != NULL ? " (" : "",
		    why != NULL ? why : "", why != NULL ? ")" : "");
	else
		log_warn("server %s/%s is down: %s", p->conf->name,
		    s->conf->text, why != NULL ? why : "unknown");
}
