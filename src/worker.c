/*
 * worker: runs one event loop on its own thread. The inbox is the only way
 * in from other threads: the main thread posts a new TLS generation or a
 * command under the mutex and activates inbox_ev; the worker takes them in
 * its own thread, so nothing else it owns needs a lock.
 */
#include "build_config.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <event2/thread.h>

#include "conn.h"
#include "listener.h"
#include "log.h"
#include "tls_ctx.h"
#include "pool.h"
#include "worker.h"

static void
inbox_cb(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;
	struct tls_gen *gen;
	unsigned cmds;
	size_t i;

	(void)fd;
	(void)what;
	pthread_mutex_lock(&w->mu);
	gen = w->pending_gen;
	w->pending_gen = NULL;
	cmds = w->pending_cmds;
	w->pending_cmds = 0;
	pthread_mutex_unlock(&w->mu);

	if (gen != NULL) {
		tls_gen_unref(w->gen);
		w->gen = gen;
	}
	if (cmds & WORKER_CMD_STOP_ACCEPTING) {
		for (i = 0; i < w->nsocks; i++)
			listener_close(&w->socks[i]);
		w->draining = true;
		if (w->nconns == 0)
			event_base_loopexit(w->base, NULL);
	}
	if (cmds & WORKER_CMD_CLOSE_ALL) {
		w->draining = true;
		conn_close_all(w, CONN_R_SHUTDOWN);
		event_base_loopexit(w->base, NULL);
	}
}

struct worker *
worker_new(int idx, struct worker_shared *shared, struct tls_gen *gen)
{
	struct worker *w;

	w = calloc(1, sizeof(*w));
	if (w == NULL)
		return NULL;
	w->idx = idx;
	w->shared = shared;
	if (pthread_mutex_init(&w->mu, NULL) != 0) {
		free(w);
		return NULL;
	}
	w->base = event_base_new();
	if (w->base == NULL)
		goto fail;
	w->inbox_ev = event_new(w->base, -1, EV_PERSIST, inbox_cb, w);
	if (w->inbox_ev == NULL)
		goto fail;
	w->rr = pool_rr_new(shared->pools);
	if (w->rr == NULL)
		goto fail;
	w->gen = tls_gen_ref(gen);
	return w;
fail:
	worker_free(w);
	return NULL;
}

void
worker_free(struct worker *w)
{
	size_t i;

	if (w == NULL)
		return;
	conn_close_all(w, CONN_R_SHUTDOWN);
	for (i = 0; i < w->nsocks; i++)
		listener_close(&w->socks[i]);
	free(w->socks);
	if (w->inbox_ev != NULL)
		event_free(w->inbox_ev);
	if (w->base != NULL)
		event_base_free(w->base);
	tls_gen_unref(w->pending_gen);
	tls_gen_unref(w->gen);
	pool_rr_free(w->rr);
	pthread_mutex_destroy(&w->mu);
	free(w);
}

static void *
worker_main(void *arg)
{
	struct worker *w = arg;

	event_base_loop(w->base, EVLOOP_NO_EXIT_ON_EMPTY);
	/* Whatever is left (a loop ended by CLOSE_ALL leaves nothing). */
	conn_close_all(w, CONN_R_SHUTDOWN);
	if (w->shared->exited_cb != NULL)
		w->shared->exited_cb(w->shared->exited_arg);
	return NULL;
}

int
worker_start(struct worker *w)
{
	int err;

	err = pthread_create(&w->thread, NULL, worker_main, w);
	if (err != 0) {
		errno = err;
		return -1;
	}
	w->started = true;
	return 0;
}

void
worker_join(struct worker *w)
{
	if (w->started) {
		pthread_join(w->thread, NULL);
		w->started = false;
	}
}

void
worker_post_gen(struct worker *w, struct tls_gen *gen)
{
	struct tls_gen *old;

	tls_gen_ref(gen);
	pthread_mutex_lock(&w->mu);
	old = w->pending_gen;
	w->pending_gen = gen;
	pthread_mutex_unlock(&w->mu);
	tls_gen_unref(old);
	event_active(w->inbox_ev, EV_READ, 0);
}

void
worker_post_cmd(struct worker *w, unsigned cmd)
{
	pthread_mutex_lock(&w->mu);
	w->pending_cmds |= cmd;
	pthread_mutex_unlock(&w->mu);
	event_active(w->inbox_ev, EV_READ, 0);
}

void
worker_conn_gone(struct worker *w)
{
	if (w->draining && w->nconns == 0)
		event_base_loopexit(w->base, NULL);
}
