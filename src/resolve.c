/*
 * resolve: DNS for the pool servers named by host name. Owns the evdns
 * base (nameservers from /etc/resolv.conf, names from /etc/hosts), one
 * struct resolve_state per named server (its timer and its lookup in
 * flight) and the log lines about resolution. Runs on the main thread's
 * event loop and never blocks it; it only writes a server's address
 * through pool_server_set_addr.
 */
#include "build_config.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <event2/dns.h>
#include <event2/event.h>
#include <event2/util.h>

#include "addr.h"
#include "clock.h"
#include "log.h"
#include "pool.h"
#include "resolve.h"

/* The evdns base of one pool set, shared by its servers' states. */
struct resolver {
	struct evdns_base *dns;
	struct event_base *base;
	size_t inflight;   /* lookups that have not called back yet */
	bool orphaned;	   /* resolve_stop left it to the last lookup_cb */
	struct stat hosts; /* /etc/hosts as loaded (st_ino 0: none) */
};

#define HOSTS_PATH "/etc/hosts"

/* How often a never-resolved name is retried with resolve_interval = 0. */
#define RESOLVE_RETRY_MS 5000

struct resolve_state {
	struct resolver *r;
	struct pool *p;			       /* NULL once stopped */
	struct pool_server *s;		       /* NULL once stopped */
	struct event *timer;		       /* the next lookup */
	struct evdns_getaddrinfo_request *req; /* the lookup in flight */
	bool inflight;
	bool failing; /* in a failure streak (logged once) */
	char port[8];
};

static void
resolver_free(struct resolver *r)
{
	if (r == NULL)
		return;
	if (r->dns != NULL)
		evdns_base_free(r->dns, 0);
	free(r);
}

static void
arm(struct resolve_state *st)
{
	long ms = st->p->conf->resolve_interval_ms;
	struct timeval tv;

	/* A name that has never resolved (DNS down at start) is retried
	 * every RESOLVE_RETRY_MS until it does, whatever resolve_interval
	 * says (0 resolves once, and it may be days). */
	if (!atomic_load(&st->s->resolved) &&
	    (ms <= 0 || ms > RESOLVE_RETRY_MS))
		ms = RESOLVE_RETRY_MS;
	if (ms <= 0)
		return;
	tv = clock_tv(ms);
	evtimer_add(st->timer, &tv);
}

static bool
addr_same(const struct addr *a, const struct addr *b)
{
	return a->len == b->len && memcmp(&a->ss, &b->ss, a->len) == 0;
}

static void
got_result(struct resolve_state *st, int err, struct evutil_addrinfo *res)
{
	const char *pool = st->p->conf->name;
	const char *name = st->s->conf->text;
	struct evutil_addrinfo *ai;
	struct addr a, cur;
	char as[ADDR_STRLEN];
	bool changed;

	for (ai = res; err == 0 && ai != NULL; ai = ai->ai_next)
		if ((ai->ai_family == AF_INET || ai->ai_family == AF_INET6) &&
		    ai->ai_addrlen <= sizeof(a.ss))
			break;
	if (err != 0 || ai == NULL) {
		if (!st->failing)
			log_warn("server %s/%s: cannot resolve: %s", pool, name,
			    err != 0 ? evutil_gai_strerror(err)
				     : "no IPv4 or IPv6 address");
		st->failing = true;
		return;
	}
	memset(&a, 0, sizeof(a));
	memcpy(&a.ss, ai->ai_addr, ai->ai_addrlen);
	a.len = (socklen_t)ai->ai_addrlen;
	changed = !pool_server_addr(st->s, &cur) || !addr_same(&a, &cur);
	if (changed)
		pool_server_set_addr(st->s, &a);
	/* The first address, a new one, or the end of a logged failure
	 * streak. */
	if (changed || st->failing) {
		addr_format(&a, as, sizeof(as));
		log_info("server %s/%s resolves to %s", pool, name, as);
	}
	st->failing = false;
}

/* evdns calls this once per lookup: from inside evdns_getaddrinfo when it
 * can answer at once (/etc/hosts), else from the loop, with
 * EVUTIL_EAI_CANCEL after resolve_stop cancelled it. */
static void
lookup_cb(int err, struct evutil_addrinfo *res, void *arg)
{
	struct resolve_state *st = arg;
	struct resolver *r = st->r;

	st->inflight = false;
	st->req = NULL;
	r->inflight--;
	if (st->s == NULL) {
		/* Stopped: nothing to report to, only memory to return. */
		if (res != NULL)
			evutil_freeaddrinfo(res);
		free(st);
		if (r->orphaned && r->inflight == 0)
			resolver_free(r);
		return;
	}
	got_result(st, err, res);
	atomic_store(&st->s->looked_up, true);
	if (res != NULL)
		evutil_freeaddrinfo(res);
	arm(st);
}

static void
lookup_start(struct resolve_state *st)
{
	struct evutil_addrinfo hints;
	struct evdns_getaddrinfo_request *req;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_protocol = IPPROTO_TCP;
	st->inflight = true;
	st->r->inflight++;
	req = evdns_getaddrinfo(
	    st->r->dns, st->s->conf->host, st->port, &hints, lookup_cb, st);
	/* NULL when lookup_cb has already run (or failed at once, and ran
	 * too). */
	if (req != NULL && st->inflight)
		st->req = req;
}

static void
hosts_stamp(struct stat *out)
{
	if (stat(HOSTS_PATH, out) < 0)
		memset(out, 0, sizeof(*out));
}

/* evdns reads /etc/hosts once: load it again when it has changed (a
 * stat, and rarely a read of a small local file). */
static void
hosts_refresh(struct resolver *r)
{
	struct stat now;

	hosts_stamp(&now);
	if (now.st_ino == r->hosts.st_ino && now.st_dev == r->hosts.st_dev &&
	    now.st_size == r->hosts.st_size &&
	    now.st_mtim.tv_sec == r->hosts.st_mtim.tv_sec &&
	    now.st_mtim.tv_nsec == r->hosts.st_mtim.tv_nsec)
		return;
	r->hosts = now;
	evdns_base_clear_host_addresses(r->dns);
	if (evdns_base_load_hosts(r->dns, HOSTS_PATH) != 0)
		log_debug("dns: %s: cannot read it", HOSTS_PATH);
}

static void
timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct resolve_state *st = arg;

	(void)fd;
	(void)what;
	if (st->inflight)
		return;
	hosts_refresh(st->r);
	lookup_start(st);
}

static const char *
resolv_conf_error(int rc)
{
	switch (rc) {
	case 1:
		return "cannot open it";
	case 2:
		return "cannot read it";
	case 3:
		return "too large";
	case 4:
		return "out of memory";
	case 5:
		return "short read";
	case 6:
		return "no nameserver in it";
	default:
		return "cannot parse it";
	}
}

/* evdns's own messages, into our log rather than libevent's stderr lines
 * (its notes on nameservers failing and coming back are debug: the
 * "cannot resolve" line is what an operator needs). */
static void
evdns_log_cb(int is_warn, const char *msg)
{
	if (is_warn)
		log_warn("dns: %s", msg);
	else
		log_debug("dns: %s", msg);
}

static struct resolver *
resolver_new(struct event_base *base)
{
	struct resolver *r;
	int rc;

	r = calloc(1, sizeof(*r));
	if (r == NULL)
		return NULL;
	r->base = base;
	evdns_set_log_fn(evdns_log_cb);
	/* The nameservers' sockets leave the loop while nothing is being
	 * looked up, so that they never keep it running. */
	r->dns = evdns_base_new(base, EVDNS_BASE_DISABLE_WHEN_INACTIVE);
	if (r->dns == NULL) {
		free(r);
		return NULL;
	}
	/* DNS_OPTIONS_ALL includes DNS_OPTION_HOSTSFILE: this also loads
	 * /etc/hosts (or, without one, localhost). */
	rc = evdns_base_resolv_conf_parse(
	    r->dns, DNS_OPTIONS_ALL, "/etc/resolv.conf");
	if (rc != 0)
		log_warn("/etc/resolv.conf: %s: resolving with /etc/hosts "
			 "and the nameserver at 127.0.0.1",
		    resolv_conf_error(rc));
	/* Without a nameserver evdns would queue lookups for ever; the
	 * libc's default is 127.0.0.1, and so is ours. */
	if (evdns_base_count_nameservers(r->dns) == 0)
		evdns_base_nameserver_ip_add(r->dns, "127.0.0.1");
	hosts_stamp(&r->hosts);
	return r;
}

int
resolve_start(struct pool_set *ps, struct event_base *base)
{
	struct resolver *r = NULL;
	size_t i, j, nstates = 0;

	for (i = 0; i < ps->n; i++) {
		struct pool *p = &ps->v[i];

		for (j = 0; j < p->n; j++) {
			struct pool_server *s = &p->servers[j];
			struct resolve_state *st;

			if (s->conf->addr.len > 0)
				continue; /* a numeric address */
			if (r == NULL && (r = resolver_new(base)) == NULL)
				goto fail;
			st = calloc(1, sizeof(*st));
			if (st == NULL)
				goto fail;
			st->r = r;
			st->p = p;
			st->s = s;
			snprintf(
			    st->port, sizeof(st->port), "%u", s->conf->port);
			st->timer = evtimer_new(base, timer_cb, st);
			if (st->timer == NULL) {
				free(st);
				goto fail;
			}
			s->resolve = st;
			nstates++;
		}
	}
	/* Only now: a lookup may answer at once and log. */
	for (i = 0; i < ps->n; i++)
		for (j = 0; j < ps->v[i].n; j++)
			if (ps->v[i].servers[j].resolve != NULL)
				lookup_start(ps->v[i].servers[j].resolve);
	return 0;
fail:
	/* With states attached, resolve_stop finds r and frees it (no
	 * lookup has started). */
	if (nstates == 0)
		resolver_free(r);
	resolve_stop(ps);
	return -1;
}

void
resolve_stop(struct pool_set *ps)
{
	struct event_base *base;
	struct resolver *r = NULL;
	size_t i, j;

	if (ps == NULL)
		return;
	for (i = 0; i < ps->n; i++) {
		for (j = 0; j < ps->v[i].n; j++) {
			struct pool_server *s = &ps->v[i].servers[j];
			struct resolve_state *st = s->resolve;

			if (st == NULL)
				continue;
			s->resolve = NULL;
			r = st->r;
			event_free(st->timer);
			if (!st->inflight) {
				free(st);
				continue;
			}
			/* lookup_cb frees it when evdns calls back with
			 * EVUTIL_EAI_CANCEL (from the loop). */
			st->p = NULL;
			st->s = NULL;
			evdns_getaddrinfo_cancel(st->req);
		}
	}
	if (r == NULL)
		return;
	/* evdns reports a cancelled lookup from the loop (a deferred
	 * callback, which needs the evdns base): after the loop has ended,
	 * run it once more, without blocking, so that the lookups return
	 * their memory. Inside the loop (a nested run is refused) the loop
	 * does that later and the last lookup_cb frees the rest. */
	if (r->inflight > 0)
		event_base_loop(r->base, EVLOOP_NONBLOCK);
	if (r->inflight > 0) {
		r->orphaned = true;
		return;
	}
	base = r->base;
	resolver_free(r);
	/* Freeing the base cancels a probe of a nameserver it took for down,
	 * again by a deferred callback (that touches nothing freed). */
	event_base_loop(base, EVLOOP_NONBLOCK);
}
