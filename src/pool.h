/*
 * pool: the run-time state of the [upstream] pools, shared by the main
 * thread (health checks, DNS) and the workers (choosing a server for a
 * connection). The sharing mechanism, explicitly:
 *   - up: an atomic flag, written by the health checker, read by workers;
 *   - active: an atomic count of live connections to the server (workers
 *     add and subtract; leastconn reads);
 *   - addr: the resolved address, written by the resolver and copied out
 *     by workers, under the server's mutex (held for a 128-byte copy);
 *   - everything else is either immutable after pool_set_new or touched by
 *     one thread only (health and resolver state: main thread; round-robin
 *     state: struct pool_rr, one per worker).
 * The pools live from before the workers start until after they are
 * joined.
 */
#ifndef MQGATE_POOL_H
#define MQGATE_POOL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "config.h"

struct health_state; /* health.c's, per server */
struct resolve_state; /* resolve.c's, per server */

struct pool_server {
	const struct server_conf *conf; /* borrowed from the config */
	atomic_bool up;			/* health: may take connections */
	atomic_bool resolved;		/* addr is set */
	atomic_bool looked_up;		/* a first lookup has ended (or the
					   host is numeric) */
	atomic_long active;		/* connections to it now */
	pthread_mutex_t mu;		/* guards addr */
	struct addr addr;		/* len 0: not resolved (yet) */
	struct health_state *health;	/* main thread only */
	struct resolve_state *resolve;	/* main thread only */
};

struct pool {
	const struct upstream_conf *conf; /* borrowed */
	size_t idx;			  /* in config->upstreams */
	struct pool_server *servers;	  /* owned array of conf->nservers */
	size_t n;
	int *weight;			  /* owned: the servers' weights */
	uint64_t *hash;			  /* owned: balance_hash of their text */
};

struct pool_set {
	struct pool *v; /* owned array, one per config->upstreams */
	size_t n;
};

/* Build the pools of c: numeric servers get their address at once, named
 * ones wait for the resolver; every server starts up. NULL on out of
 * memory. */
struct pool_set *pool_set_new(const struct config *c);
void pool_set_free(struct pool_set *ps);

/* A worker's round-robin state for every pool. */
struct pool_rr;
struct pool_rr *pool_rr_new(const struct pool_set *ps);
void pool_rr_free(struct pool_rr *rr);

#define POOL_MAX_TRIES 16 /* candidates considered for one connection */

/*
 * The servers to try for a new connection, best first, at most max
 * (<= POOL_MAX_TRIES): by the pool's balance (key: balance_hash of the
 * client id, or of the client address bytes, for source/clientid; ignored
 * otherwise), among the servers that are up and resolved, the backups only
 * when no other server is. Writes indexes into p->servers. Returns how
 * many (0: no server can take a connection now). rr is the calling
 * worker's.
 */
size_t pool_candidates(struct pool *p, struct pool_rr *rr, uint64_t key,
    size_t *order, size_t max);

/*
 * When pool_candidates gave servers without backup: the backups that are
 * up and resolved, to try after those (connect_retries reach them when
 * every up server fails to connect). Ordered by the same balance: the
 * key's rendezvous order, fewest connections, or line order for
 * roundrobin. 0 when the backups already were the candidates, or none is
 * up.
 */
size_t pool_backup_candidates(struct pool *p, struct pool_rr *rr,
    uint64_t key, size_t *order, size_t max);

/* Copy server s's current address; false when it has none. */
bool pool_server_addr(struct pool_server *s, struct addr *out);

/* Set from the main thread. They log the change ("server cluster/b1:1883
 * is down: why"), once per change. */
void pool_server_set_up(struct pool *p, struct pool_server *s, bool up,
    const char *why);
void pool_server_set_addr(struct pool_server *s, const struct addr *a);

#endif
