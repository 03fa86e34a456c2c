/*
 * listener: binds listening sockets and accepts on them. The accept
 * callback is the one place that enforces max_connections (an atomic count
 * shared by all workers) and that backs off when the process runs out of
 * file descriptors, instead of spinning on a readable listen socket.
 */
#include "build_config.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/listener.h>

#include "conn.h"
#include "listener.h"
#include "log.h"
#include "worker.h"

/* How long to stop accepting after EMFILE/ENFILE. */
#define ACCEPT_BACKOFF_MS 100

int
listener_bind(const struct addr *a, char *err, size_t cap)
{
	int fd, one = 1;
	int family = a->ss.ss_family;

	fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, cap, "socket: %s", strerror(errno));
		return -1;
	}
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0) {
		snprintf(err, cap, "setsockopt: %s", strerror(errno));
		goto fail;
	}
	/* [::] and 0.0.0.0 are separate binds, as the operator wrote them. */
	if (family == AF_INET6 &&
	    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) < 0) {
		snprintf(err, cap, "setsockopt IPV6_V6ONLY: %s",
		    strerror(errno));
		goto fail;
	}
	if (bind(fd, (const struct sockaddr *)&a->ss, a->len) < 0) {
		snprintf(err, cap, "bind: %s", strerror(errno));
		goto fail;
	}
	if (listen(fd, 4096) < 0) {
		snprintf(err, cap, "listen: %s", strerror(errno));
		goto fail;
	}
	return fd;
fail:
	close(fd);
	return -1;
}

static void
refuse_max(struct listener_sock *ls, const struct sockaddr *sa, int salen)
{
	struct worker *w = ls->w;
	time_t now = time(NULL);
	char detail[96];

	/* One line per second per worker, saying how many were not logged. */
	if (now == w->refuse_log_sec) {
		w->refuse_suppressed++;
		return;
	}
	detail[0] = '\0';
	if (w->refuse_suppressed > 0)
		snprintf(detail, sizeof(detail),
		    "%lu more refused without a log line",
		    w->refuse_suppressed);
	w->refuse_log_sec = now;
	w->refuse_suppressed = 0;
	conn_log_refused(w, ls, sa, (socklen_t)salen, CONN_R_MAX_CONNECTIONS,
	    detail[0] ? detail : NULL);
}

static void
accept_cb(struct evconnlistener *evl, evutil_socket_t fd, struct sockaddr *sa,
    int salen, void *arg)
{
	struct listener_sock *ls = arg;
	struct worker_shared *sh = ls->w->shared;
	int one = 1;

	(void)evl;
	if (atomic_fetch_add_explicit(&sh->active, 1, memory_order_relaxed) >=
	    sh->max_conns) {
		atomic_fetch_sub_explicit(&sh->active, 1, memory_order_relaxed);
		close(fd);
		refuse_max(ls, sa, salen);
		return;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	conn_accept(ls->w, ls, fd, sa, (socklen_t)salen);
}

static void
resume_cb(evutil_socket_t fd, short what, void *arg)
{
	struct listener_sock *ls = arg;

	(void)fd;
	(void)what;
	if (ls->evl != NULL)
		evconnlistener_enable(ls->evl);
}

static void
accept_error_cb(struct evconnlistener *evl, void *arg)
{
	struct listener_sock *ls = arg;
	int err = EVUTIL_SOCKET_ERROR();
	struct timeval tv = { 0, ACCEPT_BACKOFF_MS * 1000 };
	time_t now = time(NULL);

	if (err == EMFILE || err == ENFILE || err == ENOBUFS ||
	    err == ENOMEM) {
		/* Back off rather than spin; log at most once a second. */
		if (now != ls->w->refuse_log_sec) {
			ls->w->refuse_log_sec = now;
			log_warn("listener %s: accept: %s: pausing accepts for "
				 "%d ms",
			    ls->conf->name, strerror(err), ACCEPT_BACKOFF_MS);
		}
		evconnlistener_disable(evl);
		event_add(ls->resume_ev, &tv);
		return;
	}
	if (err != EAGAIN && err != EINTR && err != ECONNABORTED)
		log_warn("listener %s: accept: %s", ls->conf->name,
		    strerror(err));
}

int
listener_attach(struct listener_sock *ls)
{
	ls->resume_ev = evtimer_new(ls->w->base, resume_cb, ls);
	if (ls->resume_ev == NULL)
		return -1;
	ls->evl = evconnlistener_new(ls->w->base, accept_cb, ls,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, -1, ls->fd);
	if (ls->evl == NULL)
		return -1;
	ls->fd = -1; /* owned by evl now */
	evconnlistener_set_error_cb(ls->evl, accept_error_cb);
	return 0;
}

void
listener_close(struct listener_sock *ls)
{
	if (ls->evl != NULL) {
		evconnlistener_free(ls->evl);
		ls->evl = NULL;
	}
	if (ls->fd >= 0) {
		close(ls->fd);
		ls->fd = -1;
	}
	if (ls->resume_ev != NULL) {
		event_free(ls->resume_ev);
		ls->resume_ev = NULL;
	}
}
