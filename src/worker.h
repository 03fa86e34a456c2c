/*
 * worker: one thread with its own event_base. It owns its listening
 * sockets (one per bind address, SO_REUSEPORT), the connections accepted on
 * them, and a reference to the current TLS generation. Other threads talk to
 * it only through its inbox (mutex + event_active).
 */
#ifndef MQGATE_WORKER_H
#define MQGATE_WORKER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "config.h"

struct event;
struct event_base;
struct tls_gen;
struct listener_sock;
struct conn;
struct pool_set;
struct pool_rr;

/* Read-mostly state every worker sees, owned by the daemon. The counters
 * are the only fields written after start, and only atomically. */
struct worker_shared {
	const struct config *cfg;
	struct pool_set *pools; /* see pool.h for what workers may touch */
	long max_conns; /* effective max_connections */
	atomic_long active;
	atomic_uint_fast64_t next_conn_id;
	/* 16 random hex digits drawn at start: with the connection id, the
	 * PROXY unique_id, unique across restarts and machines. */
	char instance[17];
	/* Called from a worker thread when its loop has ended. */
	void (*exited_cb)(void *arg);
	void *exited_arg;
};

#define WORKER_CMD_STOP_ACCEPTING 0x1u /* close listeners, drain */
#define WORKER_CMD_CLOSE_ALL 0x2u      /* close every connection, exit */

struct worker {
	int idx;
	pthread_t thread;
	bool started;
	struct event_base *base;
	struct worker_shared *shared;
	struct tls_gen *gen; /* owned reference */
	struct pool_rr *rr;  /* owned: this worker's round-robin state */

	struct listener_sock *socks; /* owned array */
	size_t nsocks;

	struct conn *conns; /* intrusive list of live connections */
	size_t nconns;
	bool draining;

	/* Inbox: written by other threads under mu. */
	pthread_mutex_t mu;
	struct event *inbox_ev;
	struct tls_gen *pending_gen; /* owned reference until taken */
	unsigned pending_cmds;

	/* Rate limit for max_connections refusals. */
	time_t refuse_log_sec;
	unsigned long refuse_suppressed;
};

/*
 * Create worker idx with a new event_base and a reference to gen. Returns
 * NULL on failure. Binding is separate: see worker_add_socket.
 */
struct worker *worker_new(int idx, struct worker_shared *shared,
    struct tls_gen *gen);

/* Free a worker that is not running (never started, or joined). Closes its
 * listening sockets and drops its generation reference. NULL is a no-op. */
void worker_free(struct worker *w);

/* Start the thread. Returns 0 or -1 (errno set). */
int worker_start(struct worker *w);

/* Wait for the thread to end. */
void worker_join(struct worker *w);

/* Inbox, callable from any thread. worker_post_gen takes a new reference
 * to gen (the caller keeps its own). */
void worker_post_gen(struct worker *w, struct tls_gen *gen);
void worker_post_cmd(struct worker *w, unsigned cmd);

/* Called by conn.c when a connection of w is gone (in w's thread). */
void worker_conn_gone(struct worker *w);

#endif
