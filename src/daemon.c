/*
 * daemon: owns the workers and the main event loop. Shutdown: stop
 * accepting everywhere, give open connections drain_timeout, then close
 * them, and leave when every worker's loop has ended. Reload: build a new
 * TLS generation here, validate it fully, and only then post it to the
 * workers; a failed build changes nothing and is not retried until the
 * files change again.
 */
#include "build_config.h"

#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <event2/event.h>
#include <openssl/rand.h>

#include "addr.h"
#include "clock.h"
#include "crl_fetch.h"
#include "daemon.h"
#include "diag.h"
#include "health.h"
#include "listener.h"
#include "log.h"
#include "ocsp.h"
#include "pool.h"
#include "resolve.h"
#include "text.h"
#include "tls_ctx.h"
#include "worker.h"

/* Descriptors kept back from the connection budget: stdio, event loops,
 * listeners, files opened on reload, some slack. */
#define NOFILE_RESERVE 64

struct daemon {
	const struct config *cfg;
	struct event_base *base;
	struct worker **workers;
	int nworkers;
	struct worker_shared shared;
	struct tls_gen *gen; /* main's reference to the current generation */
	uint64_t files_fp;   /* fingerprint the current generation was built from */
	uint64_t failed_fp;  /* fingerprint of the last failed build, or 0 */
	struct event *sig_term, *sig_int, *sig_hup;
	struct event *reload_ev, *drain_ev, *exited_ev;
	atomic_int exited;
	int stopping; /* 0, 1 = draining, 2 = closing everything */
};

int
daemon_nworkers(const struct config *cfg)
{
	cpu_set_t set;
	int n;

	if (cfg->global.workers > 0)
		return cfg->global.workers;
	if (sched_getaffinity(0, sizeof(set), &set) == 0) {
		n = CPU_COUNT(&set);
		if (n > 0)
			return n;
	}
	n = (int)sysconf(_SC_NPROCESSORS_ONLN);
	return n > 0 ? n : 1;
}

long
daemon_fit_nofile(const struct config *cfg, int nworkers)
{
	struct rlimit rl;
	long want = cfg->global.max_connections;
	long reserve = NOFILE_RESERVE;
	long fit;
	size_t i;

	for (i = 0; i < cfg->nlisteners; i++)
		reserve += (long)cfg->listeners[i].nbinds * nworkers;
	reserve += 4L * nworkers;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return want;
	if (rl.rlim_cur < rl.rlim_max) {
		rlim_t old = rl.rlim_cur;

		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
			rl.rlim_cur = old;
	}
	if (rl.rlim_cur == RLIM_INFINITY)
		return want;
	fit = ((long)rl.rlim_cur - reserve) / 2;
	if (fit < 1)
		fit = 1;
	if (fit < want) {
		log_warn("max_connections = %ld needs %ld file descriptors but "
			 "RLIMIT_NOFILE is %ld: enforcing max_connections = %ld",
		    want, want * 2 + reserve, (long)rl.rlim_cur, fit);
		return fit;
	}
	return want;
}

static void
post_all(struct daemon *d, unsigned cmd)
{
	int i;

	for (i = 0; i < d->nworkers; i++)
		worker_post_cmd(d->workers[i], cmd);
}

static long
open_connections(struct daemon *d)
{
	return atomic_load_explicit(&d->shared.active, memory_order_relaxed);
}

static void
drain_cb(evutil_socket_t fd, short what, void *arg)
{
	struct daemon *d = arg;

	(void)fd;
	(void)what;
	if (d->stopping >= 2)
		return;
	d->stopping = 2;
	log_info("drain time over: closing %ld open connections",
	    open_connections(d));
	post_all(d, WORKER_CMD_CLOSE_ALL);
}

static void
stop_cb(evutil_socket_t sig, short what, void *arg)
{
	struct daemon *d = arg;
	long ms = d->cfg->global.drain_timeout_ms;
	struct timeval tv;

	(void)what;
	if (d->stopping) {
		/* A second signal: don't wait any longer. */
		log_info("%s received again: closing every connection now",
		    sig == SIGINT ? "SIGINT" : "SIGTERM");
		drain_cb(-1, 0, d);
		return;
	}
	d->stopping = 1;
	log_info("shutting down on %s: %ld connections open, draining up to "
		 "%ld ms",
	    sig == SIGINT ? "SIGINT" : "SIGTERM", open_connections(d), ms);
	if (d->reload_ev != NULL)
		event_del(d->reload_ev);
	post_all(d, WORKER_CMD_STOP_ACCEPTING);
	if (ms == 0) {
		drain_cb(-1, 0, d);
		return;
	}
	tv = clock_tv(ms);
	event_add(d->drain_ev, &tv);
}

/* Called on a worker thread when its loop has ended. */
static void
worker_exited(void *arg)
{
	struct daemon *d = arg;

	atomic_fetch_add(&d->exited, 1);
	event_active(d->exited_ev, EV_READ, 0);
}

static void
exited_cb(evutil_socket_t fd, short what, void *arg)
{
	struct daemon *d = arg;

	(void)fd;
	(void)what;
	if (atomic_load(&d->exited) >= d->nworkers)
		event_base_loopexit(d->base, NULL);
}

/* Hand every certificate context of a published generation to the OCSP
 * refresher (it skips the ones without stapling). */
static void
activate_ocsp(const struct tls_gen *g)
{
	SSL_CTX **v = NULL;
	size_t n = 0, i, k;

	for (i = 0; i < g->n; i++)
		n += tls_ctx_sites(g->ctx[i], NULL, 0);
	if (n > 0 && (v = calloc(n, sizeof(*v))) == NULL) {
		log_error("out of memory: OCSP responses are not refreshed");
		return;
	}
	for (i = 0, k = 0; i < g->n; i++)
		k += tls_ctx_sites(g->ctx[i], v + k, n - k);
	ocsp_activate(v, k);
	free(v);
}

static void
reload(struct daemon *d, uint64_t fp, const char *why)
{
	struct diag dg;
	struct tls_gen *gen;
	char line[2048];
	size_t i;
	int k;

	diag_init(&dg);
	gen = tls_gen_build(d->cfg, d->gen->serial + 1, &dg);
	if (gen == NULL) {
		for (i = 0; i < diag_count(&dg); i++) {
			diag_format(&dg, i, line, sizeof(line));
			log_error("%s (keeping previous certificate)", line);
		}
		if (diag_count(&dg) == 0)
			log_error("certificate reload failed (keeping previous "
				  "certificate)");
		d->failed_fp = fp;
		diag_clear(&dg);
		return;
	}
	diag_clear(&dg);
	for (k = 0; k < d->nworkers; k++)
		worker_post_gen(d->workers[k], gen);
	tls_gen_unref(d->gen);
	d->gen = gen;
	activate_ocsp(gen);
	d->files_fp = fp;
	d->failed_fp = 0;
	log_info("certificates reloaded generation=%lu (%s)", gen->serial, why);
}

static void
reload_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct daemon *d = arg;
	uint64_t fp;

	(void)fd;
	(void)what;
	fp = tls_files_fingerprint(d->cfg);
	if (fp == d->files_fp || fp == d->failed_fp)
		return;
	reload(d, fp, "files changed");
}

static void
hup_cb(evutil_socket_t sig, short what, void *arg)
{
	struct daemon *d = arg;

	(void)sig;
	(void)what;
	if (d->stopping)
		return;
	log_info("SIGHUP received: reloading certificates");
	reload(d, tls_files_fingerprint(d->cfg), "SIGHUP");
}

static int
bind_all(struct daemon *d)
{
	const struct config *cfg = d->cfg;
	size_t per_worker = 0, i, j;
	int k;

	for (i = 0; i < cfg->nlisteners; i++)
		per_worker += cfg->listeners[i].nbinds;
	for (k = 0; k < d->nworkers; k++) {
		struct worker *w = d->workers[k];

		w->socks = calloc(per_worker, sizeof(*w->socks));
		if (w->socks == NULL) {
			log_error("out of memory");
			return -1;
		}
		for (i = 0; i < cfg->nlisteners; i++) {
			const struct listener_conf *l = &cfg->listeners[i];

			for (j = 0; j < l->nbinds; j++) {
				struct listener_sock *ls = &w->socks[w->nsocks];
				char err[256], as[ADDR_STRLEN];

				ls->w = w;
				ls->conf = l;
				ls->listener_idx = i;
				ls->bound = l->binds[j];
				ls->fd = listener_bind(&l->binds[j], err,
				    sizeof(err));
				if (ls->fd < 0) {
					addr_format(&l->binds[j], as,
					    sizeof(as));
					log_error("%s:%d: bind: cannot listen on "
						  "%s: %s",
					    cfg->path, l->bind_lines[j], as, err);
					return -1;
				}
				w->nsocks++;
				if (listener_attach(ls) < 0) {
					log_error("listener %s: cannot set up "
						  "accepting",
					    l->name);
					return -1;
				}
			}
		}
	}
	return 0;
}

static void
daemon_cleanup(struct daemon *d)
{
	int k;

	for (k = 0; d->workers != NULL && k < d->nworkers; k++) {
		if (d->workers[k] == NULL)
			continue;
		worker_join(d->workers[k]);
		worker_free(d->workers[k]);
	}
	free(d->workers);
	if (d->sig_term != NULL)
		event_free(d->sig_term);
	if (d->sig_int != NULL)
		event_free(d->sig_int);
	if (d->sig_hup != NULL)
		event_free(d->sig_hup);
	if (d->reload_ev != NULL)
		event_free(d->reload_ev);
	if (d->drain_ev != NULL)
		event_free(d->drain_ev);
	if (d->exited_ev != NULL)
		event_free(d->exited_ev);
	if (d->shared.pools != NULL) {
		health_stop(d->shared.pools);
		resolve_stop(d->shared.pools);
	}
	if (d->base != NULL)
		event_base_free(d->base);
	pool_set_free(d->shared.pools);
	ocsp_shutdown();
	crl_fetch_shutdown();
	tls_gen_unref(d->gen);
}



/* 16 lowercase hex digits from the CSPRNG into out[17]. */
static int
daemon_instance_id(char out[17])
{
	unsigned char b[8];

	if (RAND_bytes(b, sizeof(b)) != 1)
		return -1;
	text_hex(b, sizeof(b), out);
	return 0;
}

int
daemon_run(const struct config *cfg, struct tls_gen *gen)
{
	struct daemon d;
	sigset_t block, old;
	size_t i, j;
	int k, rc = 1;

	memset(&d, 0, sizeof(d));
	d.cfg = cfg;
	d.gen = gen;
	d.files_fp = tls_files_fingerprint(cfg);
	d.nworkers = daemon_nworkers(cfg);
	d.shared.cfg = cfg;
	d.shared.max_conns = daemon_fit_nofile(cfg, d.nworkers);
	d.shared.pools = pool_set_new(cfg);
	if (d.shared.pools == NULL) {
		log_error("out of memory");
		goto out;
	}
	atomic_init(&d.shared.active, 0);
	atomic_init(&d.shared.next_conn_id, 1);
	if (daemon_instance_id(d.shared.instance) < 0) {
		log_error("cannot draw random bytes for the instance id");
		goto out;
	}
	atomic_init(&d.exited, 0);
	d.shared.exited_cb = worker_exited;
	d.shared.exited_arg = &d;

	/* Writes to a closed peer must be errors, not a process kill. */
	signal(SIGPIPE, SIG_IGN);

	d.base = event_base_new();
	if (d.base == NULL) {
		log_error("cannot create the main event loop");
		goto out;
	}
	d.workers = calloc((size_t)d.nworkers, sizeof(*d.workers));
	if (d.workers == NULL) {
		log_error("out of memory");
		goto out;
	}
	for (k = 0; k < d.nworkers; k++) {
		d.workers[k] = worker_new(k, &d.shared, gen);
		if (d.workers[k] == NULL) {
			log_error("cannot create worker %d", k);
			goto out;
		}
	}
	if (bind_all(&d) < 0)
		goto out;

	d.sig_term = evsignal_new(d.base, SIGTERM, stop_cb, &d);
	d.sig_int = evsignal_new(d.base, SIGINT, stop_cb, &d);
	d.sig_hup = evsignal_new(d.base, SIGHUP, hup_cb, &d);
	d.drain_ev = evtimer_new(d.base, drain_cb, &d);
	d.exited_ev = event_new(d.base, -1, 0, exited_cb, &d);
	if (d.sig_term == NULL || d.sig_int == NULL || d.sig_hup == NULL ||
	    d.drain_ev == NULL || d.exited_ev == NULL ||
	    event_add(d.sig_term, NULL) < 0 || event_add(d.sig_int, NULL) < 0 ||
	    event_add(d.sig_hup, NULL) < 0) {
		log_error("cannot set up signal handling");
		goto out;
	}
	if (cfg->global.reload_interval_ms > 0) {
		struct timeval tv;

		tv = clock_tv(cfg->global.reload_interval_ms);
		d.reload_ev = event_new(d.base, -1, EV_PERSIST, reload_timer_cb,
		    &d);
		if (d.reload_ev == NULL || event_add(d.reload_ev, &tv) < 0) {
			log_error("cannot set up the reload timer");
			goto out;
		}
	}

	/* Before the workers accept: names in /etc/hosts resolve at once. */
	if (resolve_start(d.shared.pools, d.base) < 0) {
		log_error("cannot start the pools' resolver");
		goto out;
	}

	/* Workers inherit a mask that keeps the signals on this thread. */
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &block, &old);
	for (k = 0; k < d.nworkers; k++) {
		if (worker_start(d.workers[k]) < 0) {
			log_error("cannot start worker %d: %s", k,
			    strerror(errno));
			pthread_sigmask(SIG_SETMASK, &old, NULL);
			/* Those already running must be stopped first. */
			post_all(&d, WORKER_CMD_CLOSE_ALL);
			goto out;
		}
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);

	for (i = 0; i < cfg->nlisteners; i++) {
		const struct listener_conf *l = &cfg->listeners[i];

		for (j = 0; j < l->nbinds; j++) {
			char as[ADDR_STRLEN];

			addr_format(&l->binds[j], as, sizeof(as));
			log_info("listening listener=%s addr=%s", l->name, as);
		}
	}
	activate_ocsp(d.gen);
	if (health_start(d.shared.pools, d.base) < 0) {
		log_error("cannot start the pools' health checks");
		post_all(&d, WORKER_CMD_CLOSE_ALL);
		goto out;
	}
	log_info("instance=%s (PROXY unique_id: instance-conn)",
	    d.shared.instance);
	log_info("ready workers=%d max_connections=%ld", d.nworkers,
	    d.shared.max_conns);

	event_base_dispatch(d.base);
	rc = 0;
	log_info("exiting");
out:
	daemon_cleanup(&d);
	return rc;
}
