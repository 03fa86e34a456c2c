/*
 * health: the pools' health checks. Owns one struct health_state per
 * checked server (its timer, the connection of the check under way and
 * the consecutive success/failure counts) and the few bytes of MQTT a
 * check speaks. Runs on the main thread's event loop and never blocks it;
 * it only reads a server's address (pool_server_addr) and reports up/down
 * through pool_server_set_up, which logs the change.
 */
#include "build_config.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "addr.h"
#include "clock.h"
#include "compat.h"
#include "health.h"
#include "log.h"
#include "pool.h"

enum hc_phase {
	HC_IDLE,       /* waiting for the next check */
	HC_CONNECTING, /* connect under way */
	HC_CONNACK,    /* CONNECT sent, waiting for the CONNACK */
};

struct health_state {
	struct pool *p;
	struct pool_server *s;
	struct event_base *base;
	struct event *timer; /* HC_IDLE: the next check; else its deadline */
	struct bufferevent *bev; /* the check's connection, or NULL */
	enum hc_phase phase;
	int good; /* consecutive successful checks */
	int bad;  /* consecutive failed checks */
	uint64_t started_ms; /* when the check under way began */
};

static const uint8_t mqtt_disconnect[] = { 0xE0, 0x00 };

/* Client ids are mqgate-health-<hostname>-<n>, n counting every MQTT
 * check of the process (main thread only, so no atomics). */
static unsigned long health_seq;

#define HOST_MAX 64 /* of the hostname in a client id */

static bool
id_char(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') ||
	       (c >= 'a' && c <= 'z') || c == '.' || c == '-' || c == '_';
}

/* The hostname part of a client id: [0-9A-Za-z.-_] (what every broker
 * takes), at most HOST_MAX bytes. */
static void
client_host(char *buf, size_t cap)
{
	char h[256];
	size_t i, n;

	if (gethostname(h, sizeof(h)) < 0 || h[0] == '\0')
		snprintf(h, sizeof(h), "unknown");
	h[sizeof(h) - 1] = '\0';
	n = strlen(h);
	if (n > HOST_MAX)
		n = HOST_MAX;
	if (n >= cap)
		n = cap - 1;
	for (i = 0; i < n; i++)
		buf[i] = id_char(h[i]) ? h[i] : '_';
	buf[n] = '\0';
}

/*
 * An MQTT 3.1.1 CONNECT: clean session, keepalive 30 s, client id id, no
 * will, username or password. Returns its length, or -ENOSPC when it does
 * not fit cap or its Remaining Length would need more than one byte.
 */
static int
connect_packet(const char *id, uint8_t *buf, size_t cap)
{
	static const uint8_t vh[] = {
		0x00, 0x04, 'M', 'Q', 'T', 'T',
		0x04,	    /* protocol level 4: MQTT 3.1.1 */
		0x02,	    /* connect flags: clean session */
		0x00, 0x1E, /* keepalive 30 s */
	};
	size_t idlen = strlen(id);
	size_t rem = sizeof(vh) + 2 + idlen;

	if (rem > 127 || cap < 2 + rem)
		return -ENOSPC;
	buf[0] = 0x10;
	buf[1] = (uint8_t)rem;
	memcpy(buf + 2, vh, sizeof(vh));
	buf[2 + sizeof(vh)] = (uint8_t)(idlen >> 8);
	buf[3 + sizeof(vh)] = (uint8_t)(idlen & 0xff);
	memcpy(buf + 4 + sizeof(vh), id, idlen);
	return (int)(2 + rem);
}

static void
arm(struct health_state *st, long ms)
{
	struct timeval tv = clock_tv(ms);

	evtimer_add(st->timer, &tv);
}

/* The next check: health_interval after the start of this one, so that
 * a slow check does not stretch the period. */
static void
arm_next(struct health_state *st)
{
	long iv = st->p->conf->health_interval_ms;
	uint64_t spent = (uint64_t)clock_mono_ms() - st->started_ms;

	arm(st, spent >= (uint64_t)iv ? 1 : iv - (long)spent);
}

/* Close the check's connection and its deadline: idle again. */
static void
check_end(struct health_state *st)
{
	if (st->bev != NULL) {
		bufferevent_free(st->bev);
		st->bev = NULL;
	}
	st->phase = HC_IDLE;
	event_del(st->timer);
}

/* A check that says nothing about the server (mqgate itself is out of
 * descriptors or memory, or the name's first lookup is still under way):
 * counted neither way. */
static void
no_result(struct health_state *st, const char *why)
{
	check_end(st);
	log_debug("health check %s/%s: no result: %s", st->p->conf->name,
	    st->s->conf->text, why);
	arm_next(st);
}

/*
 * End the check under way (or one that could not start): close its
 * connection, count the result, mark the server up or down when rise or
 * fall is reached, and schedule the next check. why (printf format) is the
 * failure's reason; ignored on success.
 */
static void check_done(struct health_state *st, bool ok, const char *fmt, ...)
    MQ_PRINTF(3, 4);

static void
check_done(struct health_state *st, bool ok, const char *fmt, ...)
{
	const struct upstream_conf *u = st->p->conf;
	bool up = atomic_load(&st->s->up);
	char why[256], line[320];
	va_list ap;

	check_end(st);
	if (ok) {
		st->bad = 0;
		if (st->good < INT_MAX)
			st->good++;
		log_debug("health check %s/%s: ok", u->name, st->s->conf->text);
		if (!up && st->good >= u->health_rise) {
			snprintf(line, sizeof(line), "%d good check%s",
			    st->good, st->good == 1 ? "" : "s");
			pool_server_set_up(st->p, st->s, true, line);
		}
	} else {
		va_start(ap, fmt);
		vsnprintf(why, sizeof(why), fmt, ap);
		va_end(ap);
		st->good = 0;
		if (st->bad < INT_MAX)
			st->bad++;
		log_debug("health check %s/%s: failed: %s", u->name,
		    st->s->conf->text, why);
		if (up && st->bad >= u->health_fall) {
			snprintf(line, sizeof(line), "%s (%d failed check%s)",
			    why, st->bad, st->bad == 1 ? "" : "s");
			pool_server_set_up(st->p, st->s, false, line);
		}
	}
	arm_next(st);
}

static void
send_connect(struct health_state *st)
{
	char host[HOST_MAX + 1], id[128];
	uint8_t pkt[160];
	int n;

	client_host(host, sizeof(host));
	/* n starts at pid * 10^6, so that two mqgate processes on one host
	 * never take over each other's check sessions at the broker. */
	if (health_seq == 0)
		health_seq = (unsigned long)getpid() * 1000000UL;
	snprintf(id, sizeof(id), "mqgate-health-%s-%lu", host, ++health_seq);
	n = connect_packet(id, pkt, sizeof(pkt));
	if (n < 0 || bufferevent_write(st->bev, pkt, (size_t)n) < 0 ||
	    bufferevent_enable(st->bev, EV_READ) < 0) {
		no_result(st, "out of memory");
		return;
	}
	st->phase = HC_CONNACK;
}

static void
read_cb(struct bufferevent *bev, void *arg)
{
	struct health_state *st = arg;
	uint8_t b[4];
	ev_ssize_t n;

	if (st->phase != HC_CONNACK)
		return;
	n = evbuffer_copyout(bufferevent_get_input(bev), b, sizeof(b));
	if (n >= 1 && b[0] != 0x20) {
		check_done(st, false, "not a CONNACK");
		return;
	}
	if (n >= 2 && b[1] != 0x02) {
		check_done(st, false, "not a CONNACK");
		return;
	}
	if (n < 4)
		return;
	if (b[3] != 0) {
		check_done(st, false, "CONNACK return code %u", (unsigned)b[3]);
		return;
	}
	/* The broker answered our CONNECT, so it has left the output
	 * buffer: two bytes straight into an empty socket buffer cannot
	 * block, and a failure here changes nothing about the result. */
	(void)send(bufferevent_getfd(bev), mqtt_disconnect,
	    sizeof(mqtt_disconnect), MSG_NOSIGNAL | MSG_DONTWAIT);
	check_done(st, true, NULL);
}

static void
event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct health_state *st = arg;
	int err = EVUTIL_SOCKET_ERROR();

	(void)bev;
	if (st->phase == HC_CONNECTING) {
		if (what & BEV_EVENT_CONNECTED) {
			if (st->p->conf->health_check == HEALTH_TCP)
				check_done(st, true, NULL);
			else
				send_connect(st);
			return;
		}
		if (what & BEV_EVENT_ERROR)
			check_done(st, false, "connect: %s",
			    err != 0 ? strerror(err) : "failed");
		else
			check_done(st, false, "connect: closed");
		return;
	}
	if (st->phase != HC_CONNACK)
		return;
	if (!(what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)))
		return;
	/* A reset counts as a close: the documented reasons are few. */
	if ((what & BEV_EVENT_ERROR) && err != 0)
		log_debug("health check %s/%s: %s", st->p->conf->name,
		    st->s->conf->text, strerror(err));
	check_done(st, false, "closed before CONNACK");
}

static void
check_start(struct health_state *st)
{
	struct addr a;

	st->started_ms = (uint64_t)clock_mono_ms();
	if (!pool_server_addr(st->s, &a)) {
		if (!atomic_load(&st->s->looked_up))
			no_result(st, "first lookup under way");
		else
			check_done(st, false, "not resolved");
		return;
	}
	st->bev = bufferevent_socket_new(st->base, -1, BEV_OPT_CLOSE_ON_FREE);
	if (st->bev == NULL) {
		no_result(st, "out of memory");
		return;
	}
	bufferevent_setcb(st->bev, read_cb, NULL, event_cb, st);
	/* The phase and the deadline belong to a connect under way; one
	 * that fails at once (no descriptor, no route: -1 here, with no
	 * callback in libevent 2.1) is counted right here, and an event for
	 * it, should a libevent ever send one, finds HC_IDLE and is
	 * ignored. */
	if (bufferevent_socket_connect(
		st->bev, (struct sockaddr *)&a.ss, (int)a.len) < 0) {
		int err = EVUTIL_SOCKET_ERROR();

		if (err == EMFILE || err == ENFILE || err == ENOBUFS ||
		    err == ENOMEM)
			no_result(st, strerror(err));
		else
			check_done(st, false, "connect: %s",
			    err != 0 ? strerror(err) : "failed");
		return;
	}
	st->phase = HC_CONNECTING;
	arm(st, st->p->conf->health_timeout_ms);
}

static void
timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct health_state *st = arg;

	(void)fd;
	(void)what;
	switch (st->phase) {
	case HC_IDLE:
		check_start(st);
		break;
	case HC_CONNECTING:
		check_done(st, false,
		    "timed out after %ld ms waiting for connect",
		    st->p->conf->health_timeout_ms);
		break;
	case HC_CONNACK:
		check_done(st, false,
		    "timed out after %ld ms waiting for CONNACK",
		    st->p->conf->health_timeout_ms);
		break;
	}
}

static void
state_free(struct health_state *st)
{
	if (st == NULL)
		return;
	if (st->bev != NULL)
		bufferevent_free(st->bev);
	if (st->timer != NULL)
		event_free(st->timer);
	free(st);
}

int
health_start(struct pool_set *ps, struct event_base *base)
{
	size_t i, j;

	for (i = 0; i < ps->n; i++) {
		struct pool *p = &ps->v[i];
		long interval = p->conf->health_interval_ms;

		if (p->conf->health_check == HEALTH_NONE)
			continue;
		for (j = 0; j < p->n; j++) {
			struct health_state *st;

			st = calloc(1, sizeof(*st));
			if (st == NULL)
				goto fail;
			st->p = p;
			st->s = &p->servers[j];
			st->base = base;
			st->phase = HC_IDLE;
			st->timer = evtimer_new(base, timer_cb, st);
			if (st->timer == NULL) {
				free(st);
				goto fail;
			}
			p->servers[j].health = st;
			/* Spread the first checks over one interval. */
			arm(st, (long)((long long)interval * (long long)j /
				       (long long)p->n));
		}
	}
	return 0;
fail:
	health_stop(ps);
	return -1;
}

void
health_stop(struct pool_set *ps)
{
	size_t i, j;

	if (ps == NULL)
		return;
	for (i = 0; i < ps->n; i++) {
		for (j = 0; j < ps->v[i].n; j++) {
			state_free(ps->v[i].servers[j].health);
			ps->v[i].servers[j].health = NULL;
		}
	}
}
