/*
 * conn_upstream: where a connection goes. A plain address is tried once;
 * a pool gives an ordered list of candidates (pool.c, balance.c), the
 * up backups after the others, and a failed connect moves on to the next
 * one, up to connect_retries more, before the client is closed with every
 * server tried named in the log.
 */
#include "build_config.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/bufferevent.h>
#include <event2/event.h>

#include "balance.h"
#include "conn_priv.h"
#include "listener.h"
#include "log.h"
#include "mqtt.h"
#include "pool.h"
#include "worker.h"

/* The candidates of one connection, while it connects. */
struct conn_try {
	struct pool_server *last; /* the last one tried, for the log line */
	size_t n, next;
	size_t order[POOL_MAX_TRIES];
	char tried[2048]; /* "pool/a:1883 (why), pool/b:1883 (why)": room
			     for POOL_MAX_TRIES long names */
	size_t tried_len;
};

struct pool *
conn_pool(const struct conn *c)
{
	const struct listener_conf *l = c->ls->conf;

	if (l->upstream_pool == NULL || c->w->shared->pools == NULL)
		return NULL;
	return &c->w->shared->pools->v[l->pool_idx];
}

void
conn_upstream_name(const struct conn *c, char *buf, size_t cap)
{
	struct pool *p = conn_pool(c);

	if (p == NULL)
		addr_format(&c->ls->conf->upstream, buf, cap);
	else if (c->srv != NULL)
		snprintf(buf, cap, "%s/%s", p->conf->name, c->srv->conf->text);
	else if (c->tries != NULL && c->tries->last != NULL)
		snprintf(buf, cap, "%s/%s", p->conf->name,
		    c->tries->last->conf->text);
	else
		snprintf(buf, cap, "%s", p->conf->name);
}

/* The key source and clientid hash: the client's address bytes (the
 * PROXY source when there was one). */
static uint64_t
source_key(const struct conn *c)
{
	switch (c->peer.sa.sa_family) {
	case AF_INET:
		return balance_hash(&c->peer.sin.sin_addr, 4);
	case AF_INET6:
		return balance_hash(&c->peer.sin6.sin6_addr, 16);
	case AF_UNIX:
		return balance_hash(c->peer.sun.sun_path,
		    strnlen(c->peer.sun.sun_path, sizeof(c->peer.sun.sun_path)));
	default:
		return 0;
	}
}

static void
note_tried(struct conn_try *t, const char *who, const char *why)
{
	int k;

	if (t->tried_len >= sizeof(t->tried) - 1)
		return;
	k = snprintf(t->tried + t->tried_len, sizeof(t->tried) - t->tried_len,
	    "%s%s (%s)", t->tried_len > 0 ? ", " : "", who, why);
	if (k > 0)
		t->tried_len += (size_t)k;
	if (t->tried_len >= sizeof(t->tried))
		t->tried_len = sizeof(t->tried) - 1;
}

/*
 * No server takes the client. One whose CONNECT mqgate has read hears it
 * as a broker would say it: CONNACK 0x88 Server unavailable (MQTT 5), or
 * return code 3 (3.1, 3.1.1), so that it can tell this from a network
 * failure; then it is closed.
 */
static void
give_up(struct conn *c, const char *detail)
{
	conn_refuse_connack(c, c->mqtt_version, MQTT_RC_SERVER_UNAVAILABLE,
	    CONN_R_UPSTREAM_CONNECT_FAILED, detail);
}

/* Start connecting to a; -1 with why filled when it cannot even start. */
static int
connect_to(struct conn *c, const struct addr *a, char *why, size_t cap)
{
	c->ubev = conn_new_upstream_bev(c);
	if (c->ubev == NULL) {
		snprintf(why, cap, "out of memory");
		return -1;
	}
	if (bufferevent_socket_connect(c->ubev, (const struct sockaddr *)&a->ss,
		(int)a->len) < 0) {
		snprintf(why, cap, "%s", strerror(EVUTIL_SOCKET_ERROR()));
		bufferevent_free(c->ubev);
		c->ubev = NULL;
		return -1;
	}
	conn_timer_arm(c, c->w->shared->cfg->global.connect_timeout_ms);
	return 0;
}

/* Try the next candidate of a pool, or close when none is left. */
static void
try_next(struct conn *c)
{
	struct pool *p = conn_pool(c);
	struct conn_try *t = c->tries;
	char why[256], who[400], detail[sizeof(t->tried) + 8];

	while (t->next < t->n) {
		struct pool_server *s = &p->servers[t->order[t->next++]];
		struct addr a;

		snprintf(who, sizeof(who), "%s/%s", p->conf->name,
		    s->conf->text);
		t->last = s;
		if (!pool_server_addr(s, &a)) {
			note_tried(t, who, "not resolved");
			continue;
		}
		c->srv = s;
		atomic_fetch_add_explicit(&s->active, 1, memory_order_relaxed);
		if (connect_to(c, &a, why, sizeof(why)) == 0)
			return;
		conn_upstream_release(c);
		note_tried(t, who, why);
	}
	if (t->tried_len == 0)
		snprintf(detail, sizeof(detail), "no server up in pool %s",
		    p->conf->name);
	else
		snprintf(detail, sizeof(detail), "tried %s", t->tried);
	give_up(c, detail);
}

void
conn_upstream_release(struct conn *c)
{
	if (c->srv != NULL) {
		atomic_fetch_sub_explicit(&c->srv->active, 1,
		    memory_order_relaxed);
		c->srv = NULL;
	}
}

void
conn_upstream_connect(struct conn *c)
{
	struct pool *p = conn_pool(c);
	char why[256];
	uint64_t key;
	size_t max, n;

	if (p == NULL) {
		if (connect_to(c, &c->ls->conf->upstream, why, sizeof(why)) < 0)
			give_up(c, why);
		return;
	}
	c->tries = calloc(1, sizeof(*c->tries));
	if (c->tries == NULL) {
		conn_close(c, CONN_R_UPSTREAM_CONNECT_FAILED, "out of memory");
		return;
	}
	/* clientid hashes the id (an empty one, the address); source always
	 * the address, even when identity binding has read the CONNECT. */
	key = p->conf->balance == BALANCE_CLIENTID && c->have_key
	    ? c->key
	    : source_key(c);
	max = 1 + (size_t)p->conf->connect_retries;
	if (max > POOL_MAX_TRIES)
		max = POOL_MAX_TRIES;
	n = pool_candidates(p, c->w->rr, key, c->tries->order, max);
	/* A server still marked up may be dead: the retries go on to the
	 * backups rather than closing a client one of them could take. */
	n += pool_backup_candidates(p, c->w->rr, key, c->tries->order + n,
	    max - n);
	c->tries->n = n;
	try_next(c);
}

void
conn_upstream_failed(struct conn *c, const char *why)
{
	char who[400];

	if (c->ubev != NULL) {
		bufferevent_free(c->ubev);
		c->ubev = NULL;
	}
	if (c->tries == NULL) { /* a plain address: nothing else to try */
		give_up(c, why);
		return;
	}
	conn_upstream_name(c, who, sizeof(who));
	note_tried(c->tries, who, why);
	conn_upstream_release(c);
	event_del(&c->timer);
	try_next(c);
}

void
conn_upstream_connected(struct conn *c)
{
	char who[400];

	if (c->tries != NULL && c->tries->tried_len > 0) {
		conn_upstream_name(c, who, sizeof(who));
		log_warn("conn=%llu: connected to %s after %s",
		    (unsigned long long)c->id, who, c->tries->tried);
	}
	free(c->tries);
	c->tries = NULL;
}
