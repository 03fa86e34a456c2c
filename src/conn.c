/*
 * conn: the per-connection state machine.
 *
 *   [PROXY_IN] -> HANDSHAKE -> [MQTT] -> CONNECTING -> SPLICE -> (closed)
 *                                 \-> REFUSING -> (closed)
 *
 * PROXY_IN (accept_proxy, conn_proxy.c) reads the PROXY header off the raw
 * socket before TLS starts; MQTT (identity binding, conn_mqtt.c) holds the
 * decrypted stream until the client's CONNECT is complete and judged.
 *
 * The client side is a bufferevent_openssl over the accepted socket, the
 * upstream side a plain socket bufferevent. Bytes move between them with
 * evbuffer_add_buffer (chains are handed over, not copied); a side stops
 * reading while the other side's output holds CONN_BUF_HIGH bytes. When one
 * side ends, the other side gets what is still buffered and then the end is
 * passed on (close_notify <-> FIN); the connection goes away when both
 * directions are finished or the linger timer fires. conn_close() is the
 * only teardown; after any call that may close, callers return at once.
 */
#include "build_config.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/event_struct.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "addr.h"
#include "clock.h"
#include "conn.h"
#include "conn_priv.h"
#include "pool.h"
#include "listener.h"
#include "log.h"
#include "mqtt.h"
#include "tls_ctx.h"
#include "tls_info.h"
#include "worker.h"

/* Per direction: stop reading the source above this many buffered bytes,
 * resume below half of it. */
#define CONN_BUF_HIGH (128 * 1024)
/* How long a connection may stay half-closed (one side ended, the other
 * still open) before it is closed. */
#define CONN_LINGER_MS 30000
/* While the upstream connects, read at most this much of the client (a
 * CONNECT and what it pipelines fit): enough to see it leave. */
#define CONN_CONNECTING_MAX (16 * 1024)
/* How long a refused client has to take its CONNACK. */
#define CONN_REFUSE_MS 5000

/* Flags: C = client side, U = upstream side. */
#define F_C_EOF 0x0001	     /* client will send no more */
#define F_U_EOF 0x0002	     /* upstream will send no more */
#define F_C_DEAD 0x0004	     /* client side failed: nothing more either way */
#define F_U_DEAD 0x0008	     /* upstream side failed */
#define F_C_SHUT 0x0010	     /* close_notify sent to the client */
#define F_U_SHUT 0x0020	     /* FIN sent to the upstream */
#define F_C_THROTTLED 0x0040 /* client reads paused: upstream output full */
#define F_U_THROTTLED 0x0080 /* upstream reads paused: client output full */
#define F_ENDING 0x0100	     /* a side has ended; reason is set */

static const char *const reason_names[CONN_R_COUNT] = {
	[CONN_R_CLIENT_CLOSED] = "client_closed",
	[CONN_R_UPSTREAM_CLOSED] = "upstream_closed",
	[CONN_R_HANDSHAKE_FAILED] = "handshake_failed",
	[CONN_R_HANDSHAKE_TIMEOUT] = "handshake_timeout",
	[CONN_R_UPSTREAM_CONNECT_FAILED] = "upstream_connect_failed",
	[CONN_R_UPSTREAM_ERROR] = "upstream_error",
	[CONN_R_CLIENT_ERROR] = "client_error",
	[CONN_R_IDLE_TIMEOUT] = "idle_timeout",
	[CONN_R_MAX_CONNECTIONS] = "max_connections",
	[CONN_R_SHUTDOWN] = "shutdown",
	[CONN_R_PROXY_REFUSED] = "proxy_refused",
	[CONN_R_PROXY_TIMEOUT] = "proxy_timeout",
	[CONN_R_MQTT_REFUSED] = "mqtt_refused",
	[CONN_R_MQTT_MALFORMED] = "mqtt_malformed",
	[CONN_R_MQTT_TIMEOUT] = "mqtt_timeout",
};

const char *
conn_reason_str(enum conn_reason r)
{
	return (unsigned)r < CONN_R_COUNT ? reason_names[r] : "unknown";
}

void
conn_timer_arm(struct conn *c, long ms)
{
	struct timeval tv = clock_tv(ms);

	event_add(&c->timer, &tv);
}

static const struct global_conf *
gconf(const struct conn *c)
{
	return &c->w->shared->cfg->global;
}

static SSL *
conn_ssl(const struct conn *c)
{
	return c->cbev != NULL ? bufferevent_openssl_get_ssl(c->cbev) : NULL;
}

static size_t out_len(struct bufferevent *bev);

/* Write the connection's one log line. */
static void
log_line(struct worker *w, struct listener_sock *ls, uint64_t id,
    const struct sockaddr *sa, socklen_t salen, SSL *ssl, int hs_done,
    const char *upstream_name, const char *mqtt_ids, uint64_t in,
    uint64_t out, uint64_t ms, enum conn_reason r, const char *detail)
{
	/* A UNIX source path from a PROXY header is the peer's bytes: quoted
	 * like every other field a peer chooses (4 bytes per escaped one). */
	char addr[ADDR_STRLEN], client[4 * ADDR_STRLEN + 3], upstream[400];
	char name[160], sni[300], subject[600], det[2200];
	char cert[160], psk[300], alpn[140], muser[300], mclient[300];
	struct tls_info ti;

	tls_info_get(ssl, hs_done, &ti);
	addr_format_sa(sa, salen, addr, sizeof(addr));
	log_quote(addr, client, sizeof(client));
	log_quote(upstream_name, upstream, sizeof(upstream));
	log_quote(ls->conf->name, name, sizeof(name));
	log_quote(ti.sni, sni, sizeof(sni));
	log_quote(ti.subject, subject, sizeof(subject));
	log_quote(ti.cert, cert, sizeof(cert));
	log_quote(ti.psk, psk, sizeof(psk));
	log_quote(ti.alpn, alpn, sizeof(alpn));
	log_quote(mqtt_ids, muser, sizeof(muser));
	log_quote(mqtt_ids != NULL ? mqtt_ids + strlen(mqtt_ids) + 1 : NULL,
	    mclient, sizeof(mclient));
	if (detail != NULL && detail[0] != '\0') {
		/* Always quoted, so that tools can find where it ends. */
		char q[2150];

		log_quote(detail, q, sizeof(q));
		if (q[0] == '"')
			snprintf(det, sizeof(det), " detail=%s", q);
		else
			snprintf(det, sizeof(det), " detail=\"%s\"", q);
	} else {
		det[0] = '\0';
	}
	(void)w;
	log_info("conn=%llu client=%s listener=%s sni=%s cert=%s subject=%s "
		 "psk=%s alpn=%s resumed=%s tls=%s cipher=%s mqtt_user=%s "
		 "mqtt_client=%s upstream=%s in=%llu out=%llu ms=%llu "
		 "reason=%s%s",
	    (unsigned long long)id, client, name, sni, cert, subject, psk,
	    alpn, ti.version == NULL ? "-" : ti.resumed ? "yes" : "no",
	    ti.version != NULL ? ti.version : "-",
	    ti.cipher != NULL ? ti.cipher : "-", muser, mclient, upstream,
	    (unsigned long long)in, (unsigned long long)out,
	    (unsigned long long)ms, conn_reason_str(r), det);
}

void
conn_log_refused(struct worker *w, struct listener_sock *ls,
    const struct sockaddr *sa, socklen_t salen, enum conn_reason r,
    const char *detail)
{
	uint64_t id = atomic_fetch_add_explicit(&w->shared->next_conn_id, 1,
	    memory_order_relaxed);

	log_line(w, ls, id, sa, salen, NULL, 0, NULL, NULL, 0, 0, 0, r, detail);
}

/*
 * The one teardown: log, free both sides (closing their sockets and the
 * SSL), unlink, free. Safe from any callback of c as long as the caller
 * returns right after.
 */
void
conn_close(struct conn *c, enum conn_reason r, const char *detail)
{
	struct worker *w = c->w;
	SSL *ssl = conn_ssl(c);
	int hs_done = c->state != CONN_PROXY_IN && c->state != CONN_HANDSHAKE;
	char upstream[400];

	/* A refusal because no server took it names them too. */
	bool went_upstream = c->state == CONN_CONNECTING ||
	    c->state == CONN_SPLICE ||
	    (c->state == CONN_REFUSING &&
		r == CONN_R_UPSTREAM_CONNECT_FAILED);

	if (went_upstream)
		conn_upstream_name(c, upstream, sizeof(upstream));
	log_line(w, c->ls, c->id, &c->peer.sa, c->peerlen, ssl, hs_done,
	    went_upstream ? upstream : NULL,
	    c->mqtt_ids, c->in, c->out, clock_coarse_ms() - c->start_ms, r, detail);

	/*
	 * An orderly close by us (idle, shutdown, nothing left unsent) gets a
	 * close_notify; a cut-off stream or an upstream failure does not, so
	 * that the client can tell it lost data.
	 */
	if (ssl != NULL && hs_done && (c->flags & (F_C_SHUT | F_C_DEAD)) == 0 &&
	    (c->flags & F_U_DEAD) == 0 && out_len(c->cbev) == 0) {
		ERR_clear_error();
		if (SSL_shutdown(ssl) < 0)
			ERR_clear_error();
	}
	event_del(&c->timer);
	if (c->cbev != NULL)
		bufferevent_free(c->cbev);
	if (c->ubev != NULL)
		bufferevent_free(c->ubev);
	conn_proxy_free(c);
	conn_upstream_release(c);
	free(c->tries);
	tls_facts_free(c->facts);
	free(c->connect);
	free(c->mqtt_ids);
	free(c->detail);

	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		w->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	w->nconns--;
	atomic_fetch_sub_explicit(&w->shared->active, 1, memory_order_relaxed);
	free(c);
	worker_conn_gone(w);
}

/* Describe why a handshake failed, from OpenSSL's queue (as recorded by
 * libevent), the verification result, or the socket error. */
static void
handshake_detail(struct conn *c, short what, char *buf, size_t cap)
{
	SSL *ssl = conn_ssl(c);
	unsigned long e;
	size_t n = 0;
	long vr;
	int err = EVUTIL_SOCKET_ERROR();
	int syscall_failed = 0;

	buf[0] = '\0';
	/* Our own reason for refusing comes first: it names the rule. */
	if (ssl != NULL && tls_ctx_refusal(ssl) != NULL) {
		int k = snprintf(buf, cap, "%s", tls_ctx_refusal(ssl));

		if (k > 0)
			n = (size_t)k < cap ? (size_t)k : cap - 1;
	}
	while ((e = bufferevent_get_openssl_error(c->cbev)) != 0) {
		const char *r;
		char tmp[256];
		int k;

		/* libevent records a bare SSL_get_error() code (no library)
		 * for SSL_ERROR_SYSCALL: the socket error below says more. */
		if (ERR_GET_LIB(e) == 0) {
			if (ERR_GET_REASON(e) == SSL_ERROR_SYSCALL)
				syscall_failed = 1;
			continue;
		}
		r = ERR_reason_error_string(e);
		if (r == NULL) {
			ERR_error_string_n(e, tmp, sizeof(tmp));
			r = tmp;
		}
		if (n > 0 && strstr(buf, r) != NULL)
			continue;
		k = snprintf(buf + n, cap - n, "%s%s", n ? "; " : "", r);
		if (k < 0 || (size_t)k >= cap - n)
			return;
		n += (size_t)k;
	}
	vr = ssl != NULL ? SSL_get_verify_result(ssl) : X509_V_OK;
	if (vr != X509_V_OK) {
		snprintf(buf + n, cap - n, "%s%s", n ? ": " : "",
		    X509_verify_cert_error_string(vr));
		return;
	}
	if (n > 0)
		return;
	if (syscall_failed && err != 0 && err != EAGAIN)
		snprintf(buf, cap, "%s", strerror(err));
	else if (syscall_failed)
		snprintf(buf, cap, "connection lost");
	else if (what & BEV_EVENT_EOF)
		snprintf(buf, cap, "client closed the connection");
	else if (err != 0)
		snprintf(buf, cap, "%s", strerror(err));
	else
		snprintf(buf, cap, "connection failed");
}

static size_t
out_len(struct bufferevent *bev)
{
	return bev != NULL ? evbuffer_get_length(bufferevent_get_output(bev))
			   : 0;
}

/*
 * Move what src has read to dst. A dead destination swallows the bytes.
 * Pauses src when dst's output reaches CONN_BUF_HIGH; dst's write callback
 * resumes it.
 */
static void
pump(struct conn *c, struct bufferevent *src, struct bufferevent *dst,
    int dst_dead, uint64_t *count, uint16_t throttle_flag)
{
	struct evbuffer *in = bufferevent_get_input(src);
	size_t n = evbuffer_get_length(in);

	if (n == 0)
		return;
	if (dst == NULL || dst_dead) {
		evbuffer_drain(in, n);
		return;
	}
	*count += n;
	if (evbuffer_add_buffer(bufferevent_get_output(dst), in) < 0) {
		/* Out of memory: leave the bytes and stop reading; the
		 * linger or idle timer ends this connection. */
		bufferevent_disable(src, EV_READ);
		return;
	}
	if (out_len(dst) >= CONN_BUF_HIGH && (c->flags & throttle_flag) == 0) {
		c->flags |= throttle_flag;
		bufferevent_disable(src, EV_READ);
		bufferevent_setwatermark(dst, EV_WRITE, CONN_BUF_HIGH / 2, 0);
	}
}

/*
 * Pass ends on once the output toward that side is empty, and close when
 * both directions are done. May close c.
 */
static void
progress(struct conn *c)
{
	uint16_t f;

	if ((c->flags & (F_C_EOF | F_C_DEAD)) &&
	    !(c->flags & (F_U_SHUT | F_U_DEAD)) && out_len(c->ubev) == 0) {
		shutdown(bufferevent_getfd(c->ubev), SHUT_WR);
		c->flags |= F_U_SHUT;
	}
	if ((c->flags & (F_U_EOF | F_U_DEAD)) &&
	    !(c->flags & (F_C_SHUT | F_C_DEAD)) && out_len(c->cbev) == 0) {
		/* An upstream that failed ends the client without a
		 * close_notify (in conn_close), so it is not mistaken for an
		 * orderly end. */
		if (!(c->flags & F_U_DEAD)) {
			SSL *ssl = conn_ssl(c);

			ERR_clear_error();
			if (SSL_shutdown(ssl) < 0)
				ERR_clear_error();
		}
		c->flags |= F_C_SHUT;
	}
	f = c->flags;
	if ((f & (F_C_EOF | F_C_DEAD)) && (f & (F_U_SHUT | F_U_DEAD)) &&
	    (f & (F_U_EOF | F_U_DEAD)) && (f & (F_C_SHUT | F_C_DEAD)))
		conn_close(c, (enum conn_reason)c->reason, NULL);
	else if ((f & F_U_DEAD) && (f & F_C_SHUT))
		/* The client got all there was; without a close_notify it
		 * would wait for us, so end it now. */
		conn_close(c, (enum conn_reason)c->reason, NULL);
}

/* One side of a spliced connection has ended (EOF, or an error). May
 * close c. */
static void
side_ended(struct conn *c, int client_side, int error)
{
	if (!(c->flags & F_ENDING)) {
		c->flags |= F_ENDING;
		if (client_side)
			c->reason = error ? CONN_R_CLIENT_ERROR
					  : CONN_R_CLIENT_CLOSED;
		else
			c->reason = error ? CONN_R_UPSTREAM_ERROR
					  : CONN_R_UPSTREAM_CLOSED;
		conn_timer_arm(c, CONN_LINGER_MS);
	}
	if (client_side) {
		pump(c, c->cbev, c->ubev, c->flags & F_U_DEAD, &c->in,
		    F_C_THROTTLED);
		c->flags |= F_C_EOF;
		/* libevent 2.1 stops writing as well as reading when the client
		 * ends; output already queued would never be re-armed. */
		if (!error && out_len(c->cbev) > 0)
			bufferevent_enable(c->cbev, EV_WRITE);
		if (error) {
			c->flags |= F_C_DEAD;
			bufferevent_disable(c->cbev, EV_READ | EV_WRITE);
			evbuffer_drain(bufferevent_get_output(c->cbev),
			    out_len(c->cbev));
			/* Upstream bytes now go nowhere: keep reading them
			 * so that the upstream sees its data consumed. */
			if (c->flags & F_U_THROTTLED) {
				c->flags &= ~F_U_THROTTLED;
				if (!(c->flags & (F_U_EOF | F_U_DEAD)))
					bufferevent_enable(c->ubev, EV_READ);
			}
			pump(c, c->ubev, c->cbev, 1, &c->out, F_U_THROTTLED);
		}
	} else {
		pump(c, c->ubev, c->cbev, c->flags & F_C_DEAD, &c->out,
		    F_U_THROTTLED);
		c->flags |= F_U_EOF;
		if (error) {
			c->flags |= F_U_DEAD;
			bufferevent_disable(c->ubev, EV_READ | EV_WRITE);
			evbuffer_drain(bufferevent_get_output(c->ubev),
			    out_len(c->ubev));
			if (c->flags & F_C_THROTTLED) {
				c->flags &= ~F_C_THROTTLED;
				if (!(c->flags & (F_C_EOF | F_C_DEAD)))
					bufferevent_enable(c->cbev, EV_READ);
			}
			pump(c, c->cbev, c->ubev, 1, &c->in, F_C_THROTTLED);
		}
	}
	progress(c);
}

static void
touch(struct conn *c)
{
	if (gconf(c)->idle_timeout_ms > 0)
		c->active_ms = clock_coarse_ms();
}

static void
client_read_cb(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;

	if (c->state == CONN_MQTT) {
		conn_mqtt_read(c);
		return;
	}
	if (c->state == CONN_CONNECTING) {
		/* Kept in the input until the upstream is there; past the
		 * bound the kernel keeps the rest. */
		if (evbuffer_get_length(bufferevent_get_input(bev)) >=
		    CONN_CONNECTING_MAX)
			bufferevent_disable(bev, EV_READ);
		return;
	}
	if (c->state != CONN_SPLICE)
		return;
	touch(c);
	pump(c, c->cbev, c->ubev, c->flags & F_U_DEAD, &c->in, F_C_THROTTLED);
}

static void
upstream_read_cb(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;

	(void)bev;
	touch(c);
	pump(c, c->ubev, c->cbev, c->flags & F_C_DEAD, &c->out, F_U_THROTTLED);
}

/* The client's output drained (below the write watermark). */
static void
client_write_cb(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;

	if (c->state == CONN_REFUSING && out_len(bev) == 0) {
		conn_close(c, (enum conn_reason)c->reason, c->detail);
		return;
	}
	if (c->state != CONN_SPLICE)
		return;
	touch(c);
	if (c->flags & F_U_THROTTLED) {
		c->flags &= ~F_U_THROTTLED;
		bufferevent_setwatermark(bev, EV_WRITE, 0, 0);
		if (!(c->flags & (F_U_EOF | F_U_DEAD)))
			bufferevent_enable(c->ubev, EV_READ);
	}
	if (c->flags & F_ENDING)
		progress(c);
}

static void
upstream_write_cb(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;

	touch(c);
	if (c->flags & F_C_THROTTLED) {
		c->flags &= ~F_C_THROTTLED;
		bufferevent_setwatermark(bev, EV_WRITE, 0, 0);
		if (!(c->flags & (F_C_EOF | F_C_DEAD)))
			bufferevent_enable(c->cbev, EV_READ);
	}
	if (c->flags & F_ENDING)
		progress(c);
}

static void upstream_event_cb(struct bufferevent *bev, short what, void *arg);

void
conn_start_upstream(struct conn *c)
{
	c->state = CONN_CONNECTING;
	event_del(&c->timer);
	/* The facts go upstream in the PROXY header: take them while the
	 * handshake's state is fresh (conn_mqtt.c may have already). */
	if (c->ls->conf->proxy_protocol == PROXY_OUT_V2 && c->facts == NULL &&
	    (c->facts = tls_facts_get(conn_ssl(c))) == NULL) {
		conn_close(c, CONN_R_UPSTREAM_CONNECT_FAILED, "out of memory");
		return;
	}
	/* The client stays read (bounded by CONN_CONNECTING_MAX) so that
	 * its leaving is seen while connecting; see client_left_early(). */
	conn_upstream_connect(c);
}

struct bufferevent *
conn_new_upstream_bev(struct conn *c)
{
	struct bufferevent *bev = bufferevent_socket_new(c->w->base, -1,
	    BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);

	if (bev == NULL)
		return NULL;
	bufferevent_setcb(bev, upstream_read_cb, upstream_write_cb,
	    upstream_event_cb, c);
	bufferevent_setwatermark(bev, EV_READ, 0, CONN_BUF_HIGH);
	return bev;
}

static void
upstream_connected(struct conn *c)
{
	int one = 1;
	long idle = gconf(c)->idle_timeout_ms;
	char detail[256];

	c->state = CONN_SPLICE;
	event_del(&c->timer);
	conn_upstream_connected(c);
	/* A UNIX socket upstream refuses it (EOPNOTSUPP): nothing to do. */
	(void)setsockopt(bufferevent_getfd(c->ubev), IPPROTO_TCP, TCP_NODELAY,
	    &one, sizeof(one));
	/* Before any byte of the client: the PROXY header, then the CONNECT
	 * as identity binding rewrote it. */
	if (c->ls->conf->proxy_protocol != PROXY_OUT_OFF &&
	    conn_proxy_out(c, detail, sizeof(detail)) < 0) {
		conn_close(c, CONN_R_UPSTREAM_CONNECT_FAILED, detail);
		return;
	}
	tls_facts_free(c->facts);
	c->facts = NULL;
	if (c->connect != NULL) {
		if (bufferevent_write(c->ubev, c->connect, c->connect_len) < 0) {
			conn_close(c, CONN_R_UPSTREAM_ERROR, "out of memory");
			return;
		}
		c->in += c->connect_len;
		free(c->connect);
		c->connect = NULL;
	}
	bufferevent_enable(c->ubev, EV_READ | EV_WRITE);
	if (c->flags & F_C_EOF) {
		/* The client ended while we were connecting. */
		bufferevent_enable(c->cbev, EV_WRITE);
		conn_timer_arm(c, CONN_LINGER_MS);
		pump(c, c->cbev, c->ubev, 0, &c->in, F_C_THROTTLED);
		progress(c);
		return;
	}
	bufferevent_enable(c->cbev, EV_READ | EV_WRITE);
	if (idle > 0) {
		c->active_ms = clock_coarse_ms();
		conn_timer_arm(c, idle);
	}
	/* Whatever the client sent while we were connecting. */
	pump(c, c->cbev, c->ubev, 0, &c->in, F_C_THROTTLED);
}

static void
upstream_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct conn *c = arg;
	char detail[256];

	(void)bev;
	if (c->state == CONN_CONNECTING) {
		if (what & BEV_EVENT_CONNECTED) {
			upstream_connected(c);
			return;
		}
		if (what & BEV_EVENT_ERROR) {
			int err = EVUTIL_SOCKET_ERROR();
			snprintf(detail, sizeof(detail), "%s",
			    err ? strerror(err) : "connect failed");
		} else {
			snprintf(detail, sizeof(detail),
			    "connection closed while connecting");
		}
		conn_upstream_failed(c, detail);
		return;
	}
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))
		side_ended(c, 0, (what & BEV_EVENT_ERROR) != 0);
}

/*
 * With dirty shutdowns allowed, libevent reports a reset client as EOF, but
 * it records SSL_ERROR_SYSCALL (a bare code with no library) when the
 * socket failed, while a plain FIN is a zero return. Drains the queue.
 */
static int
client_io_failed(struct conn *c)
{
	unsigned long e;
	int failed = 0;

	while ((e = bufferevent_get_openssl_error(c->cbev)) != 0)
		if (ERR_GET_LIB(e) == 0 && ERR_GET_REASON(e) == SSL_ERROR_SYSCALL)
			failed = 1;
	return failed;
}

static void mqtt_start(struct conn *c);

/*
 * The client ended its side while the upstream was still connecting. An
 * MQTT client that stops without a DISCONNECT has given up (MQTT has no
 * half-close): its CONNECT must not reach a broker later, where it would
 * take over the session of the same client id, reconnected meanwhile,
 * and its will could be published. So unless what it sent ends with a
 * DISCONNECT (a client done with its business), or is no MQTT at all
 * (a plain stream: half-closed, it still goes), the attempt is dropped
 * and nothing is sent upstream. May close c.
 */
static void
client_left_early(struct conn *c)
{
	struct evbuffer *in = bufferevent_get_input(c->cbev);
	size_t n = evbuffer_get_length(in);
	const uint8_t *p = NULL;

	if (n > 0 && (p = evbuffer_pullup(in, -1)) == NULL) {
		conn_close(c, CONN_R_CLIENT_ERROR, "out of memory");
		return;
	}
	/* No CONNECT read yet: the stream must start with one to be MQTT. */
	if (mqtt_stream_tail(p, n, c->mqtt_version == 0) == MQTT_TAIL_OPEN) {
		conn_close(c, CONN_R_CLIENT_CLOSED,
		    "left before the upstream connected, without DISCONNECT; "
		    "nothing was sent upstream");
		return;
	}
	/* What it sent still goes upstream once connected; see
	 * upstream_connected(). */
	c->flags |= F_C_EOF | F_ENDING;
	c->reason = CONN_R_CLIENT_CLOSED;
}

/* balance = clientid needs the CONNECT before choosing a server. */
static bool
conn_reads_connect_for_pool(const struct conn *c)
{
	const struct pool *p = conn_pool(c);

	return p != NULL && p->conf->balance == BALANCE_CLIENTID;
}

static void
client_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct conn *c = arg;
	char detail[512];

	(void)bev;
	switch (c->state) {
	case CONN_PROXY_IN:
		return; /* no bufferevent yet */
	case CONN_HANDSHAKE:
		if (what & BEV_EVENT_CONNECTED) {
			tls_ctx_handshake_done(conn_ssl(c));
			if (listener_binds_mqtt(c->ls->conf) ||
			    conn_reads_connect_for_pool(c))
				mqtt_start(c);
			else
				conn_start_upstream(c);
			return;
		}
		handshake_detail(c, what, detail, sizeof(detail));
		conn_close(c, CONN_R_HANDSHAKE_FAILED, detail);
		return;
	case CONN_MQTT:
		if ((what & BEV_EVENT_ERROR) || client_io_failed(c))
			conn_close(c, CONN_R_CLIENT_ERROR, NULL);
		else if (what & BEV_EVENT_EOF)
			conn_close(c, CONN_R_CLIENT_CLOSED,
			    "closed before a complete CONNECT");
		return;
	case CONN_REFUSING:
		/* It went away before reading the refusal: close now. */
		if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))
			conn_close(c, (enum conn_reason)c->reason, c->detail);
		return;
	case CONN_CONNECTING:
		if ((what & BEV_EVENT_ERROR) || client_io_failed(c))
			conn_close(c, CONN_R_CLIENT_ERROR,
			    "reset before the upstream connected");
		else if (what & BEV_EVENT_EOF)
			client_left_early(c);
		return;
	case CONN_SPLICE:
		if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))
			side_ended(c, 1,
			    (what & BEV_EVENT_ERROR) != 0 || client_io_failed(c));
		return;
	}
}

static void
timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;
	char detail[64];
	long idle;
	uint64_t now, quiet;

	(void)fd;
	(void)what;
	switch (c->state) {
	case CONN_PROXY_IN:
		snprintf(detail, sizeof(detail),
		    "no complete PROXY header within %ld ms",
		    c->ls->conf->proxy_header_timeout_ms);
		conn_close(c, CONN_R_PROXY_TIMEOUT, detail);
		return;
	case CONN_HANDSHAKE:
		conn_close(c, CONN_R_HANDSHAKE_TIMEOUT, NULL);
		return;
	case CONN_MQTT:
		snprintf(detail, sizeof(detail),
		    "no complete CONNECT within %ld ms",
		    c->ls->conf->mqtt_connect_timeout_ms);
		conn_close(c, CONN_R_MQTT_TIMEOUT, detail);
		return;
	case CONN_REFUSING:
		conn_close(c, (enum conn_reason)c->reason, c->detail);
		return;
	case CONN_CONNECTING:
		snprintf(detail, sizeof(detail), "timed out after %ld ms",
		    gconf(c)->connect_timeout_ms);
		conn_upstream_failed(c, detail);
		return;
	case CONN_SPLICE:
		if (c->flags & F_ENDING) {
			conn_close(c, (enum conn_reason)c->reason,
			    "half-closed for too long");
			return;
		}
		idle = gconf(c)->idle_timeout_ms;
		now = clock_coarse_ms();
		quiet = now - c->active_ms;
		if (quiet + 5 >= (uint64_t)idle) {
			conn_close(c, CONN_R_IDLE_TIMEOUT, NULL);
			return;
		}
		conn_timer_arm(c, idle - (long)quiet);
		return;
	}
}

/* Reading the CONNECT: bounded in time and size. No read watermark: a
 * TLS bufferevent stopped by one mid-record leaves the record's rest in
 * OpenSSL, where re-enabling reads never looks; conn_mqtt_read refuses
 * as soon as more than mqtt_max_connect bytes wait. */
static void
mqtt_start(struct conn *c)
{
	const struct listener_conf *l = c->ls->conf;

	c->state = CONN_MQTT;
	event_del(&c->timer);
	conn_timer_arm(c, l->mqtt_connect_timeout_ms);
	conn_mqtt_read(c);
}

void
conn_refuse(struct conn *c, const uint8_t *bytes, size_t len,
    enum conn_reason r, const char *detail)
{
	c->reason = (uint8_t)r;
	free(c->detail);
	c->detail = detail != NULL ? strdup(detail) : NULL;
	if (len == 0 || bufferevent_write(c->cbev, bytes, len) < 0) {
		conn_close(c, r, detail);
		return;
	}
	/* Whatever else it sends is not read; the CONNACK goes out, and the
	 * write callback closes once it has. */
	c->state = CONN_REFUSING;
	bufferevent_disable(c->cbev, EV_READ);
	bufferevent_enable(c->cbev, EV_WRITE);
	event_del(&c->timer);
	conn_timer_arm(c, CONN_REFUSE_MS);
}

void
conn_refuse_connack(struct conn *c, int version, uint8_t rc,
    enum conn_reason r, const char *detail)
{
	uint8_t ack[8];
	int n = version != 0
	    ? mqtt_connack_encode(version, rc, ack, sizeof(ack))
	    : -1;

	conn_refuse(c, ack, n > 0 ? (size_t)n : 0, r, detail);
}

void
conn_tls_start(struct conn *c, int fd)
{
	struct worker *w = c->w;
	SSL *ssl;

	c->state = CONN_HANDSHAKE;
	event_del(&c->timer);
	ERR_clear_error();
	c->lctx = w->gen->ctx[c->ls->listener_idx];
	ssl = SSL_new(c->lctx);
	if (ssl == NULL) {
		close(fd);
		conn_close(c, CONN_R_CLIENT_ERROR, "out of memory");
		return;
	}
	/* With CLOSE_ON_FREE the bufferevent owns ssl and fd from here on,
	 * even if it fails. */
	c->cbev = bufferevent_openssl_socket_new(w->base, fd, ssl,
	    BUFFEREVENT_SSL_ACCEPTING,
	    BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
	if (c->cbev == NULL) {
		/* Not closed here: a half-built bufferevent may have closed
		 * it already, and a second close could hit another
		 * connection's descriptor. At worst it leaks, out of
		 * memory only. */
		conn_close(c, CONN_R_CLIENT_ERROR, "out of memory");
		return;
	}
	bufferevent_openssl_set_allow_dirty_shutdown(c->cbev, 1);
	bufferevent_setcb(c->cbev, client_read_cb, client_write_cb,
	    client_event_cb, c);
	if (bufferevent_enable(c->cbev, EV_READ | EV_WRITE) < 0) {
		conn_close(c, CONN_R_CLIENT_ERROR, "cannot watch the socket");
		return;
	}
	conn_timer_arm(c, gconf(c)->handshake_timeout_ms);
}

/* Close an accepted socket that gets no connection: logged, uncounted.
 * Returns -1 for conn_accept. */
static int
refuse_accepted(struct worker *w, struct listener_sock *ls, int fd,
    const struct sockaddr *sa, socklen_t salen, enum conn_reason r,
    const char *detail)
{
	conn_log_refused(w, ls, sa, salen, r, detail);
	close(fd);
	atomic_fetch_sub_explicit(&w->shared->active, 1, memory_order_relaxed);
	return -1;
}

int
conn_accept(struct worker *w, struct listener_sock *ls, int fd,
    const struct sockaddr *sa, socklen_t salen)
{
	const struct listener_conf *l = ls->conf;
	struct conn *c;

	if (l->accept_proxy != PROXY_IN_OFF &&
	    !addr_cidr_match(l->trusted, l->ntrusted, sa)) {
		char peer[ADDR_STRLEN], detail[ADDR_STRLEN + 64];

		addr_format_sa(sa, salen, peer, sizeof(peer));
		snprintf(detail, sizeof(detail),
		    "peer %s is not in trusted_proxies", peer);
		return refuse_accepted(w, ls, fd, sa, salen,
		    CONN_R_PROXY_REFUSED, detail);
	}
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return refuse_accepted(w, ls, fd, sa, salen,
		    CONN_R_CLIENT_ERROR, "out of memory");
	c->w = w;
	c->ls = ls;
	c->id = atomic_fetch_add_explicit(&w->shared->next_conn_id, 1,
	    memory_order_relaxed);
	c->start_ms = clock_coarse_ms();
	c->state = CONN_HANDSHAKE;
	if (salen > (socklen_t)sizeof(c->peer))
		salen = sizeof(c->peer);
	memcpy(&c->peer, sa, salen);
	c->peerlen = salen;
	event_assign(&c->timer, w->base, -1, 0, timer_cb, c);

	c->next = w->conns;
	if (w->conns != NULL)
		w->conns->prev = c;
	w->conns = c;
	w->nconns++;

	if (l->accept_proxy != PROXY_IN_OFF) {
		c->state = CONN_PROXY_IN;
		if (conn_proxy_in_start(c, fd) < 0)
			return -1;
		return 0;
	}
	conn_tls_start(c, fd);
	return 0;
}

void
conn_close_all(struct worker *w, enum conn_reason r)
{
	while (w->conns != NULL)
		conn_close(w->conns, r, NULL);
}
