/*
 * conn_proxy: the PROXY protocol on a connection. In: the header an L4
 * balancer puts in front of the client's bytes, read off the raw socket
 * before TLS starts, without taking a byte of the ClientHello that may
 * follow it. Out: the header written to the upstream before any client
 * byte. The encoding and parsing themselves are proxyv2.c's.
 */
#include "build_config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "addr.h"
#include "compat.h"
#include "conn_priv.h"
#include "listener.h"
#include "log.h"
#include "proxyv2.h"
#include "tls_info.h"
#include "worker.h"

/* The longest PROXY header accepted (v2 allows 16 + 65535 bytes; no
 * balancer sends more than a few hundred). */
#define PIN_MAX 16384

/* The header as read so far: only bytes known to belong to it. */
struct conn_pin {
	struct event ev;
	int fd;
	uint8_t *buf; /* owned, len bytes */
	size_t len;
};

/* What a received header says, kept until it is written upstream. */
struct conn_pp {
	struct proxy_addr addr; /* UNSPEC: LOCAL/UNKNOWN, the socket's own */
	size_t passed_len;	/* received TLVs in proxy_pass_tlvs */
	uint8_t passed[];
};

/* Drop the header reading state; its socket too, unless pin->fd was
 * handed on (-1). */
static void
pin_free(struct conn *c)
{
	if (c->pin == NULL)
		return;
	event_del(&c->pin->ev);
	if (c->pin->fd >= 0)
		close(c->pin->fd);
	free(c->pin->buf);
	free(c->pin);
	c->pin = NULL;
}

void
conn_proxy_free(struct conn *c)
{
	pin_free(c);
	free(c->pp);
	c->pp = NULL;
}

static void
refuse(struct conn *c, enum conn_reason r, const char *fmt, ...)
    MQ_PRINTF(3, 4);

static void
refuse(struct conn *c, enum conn_reason r, const char *fmt, ...)
{
	char detail[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	conn_close(c, r, detail);
}

/* The client address becomes the header's source. */
static void
take_source(struct conn *c, const struct proxy_addr *a)
{
	union conn_sockaddr *p = &c->peer;

	memset(p, 0, sizeof(*p));
	switch (a->family) {
	case PROXY_AF_INET:
		p->sin.sin_family = AF_INET;
		memcpy(&p->sin.sin_addr, a->src, 4);
		p->sin.sin_port = htons(a->sport);
		c->peerlen = sizeof(p->sin);
		break;
	case PROXY_AF_INET6:
		p->sin6.sin6_family = AF_INET6;
		memcpy(&p->sin6.sin6_addr, a->src, 16);
		p->sin6.sin6_port = htons(a->sport);
		c->peerlen = sizeof(p->sin6);
		break;
	case PROXY_AF_UNIX:
		p->sun.sun_family = AF_UNIX;
		memcpy(p->sun.sun_path, a->src, sizeof(p->sun.sun_path) - 1);
		c->peerlen = sizeof(p->sun);
		break;
	default:
		break;
	}
}

/* Keep what the PROXY header out needs: the addresses and the TLVs to
 * pass on. Returns -1 on out of memory. */
static int
keep_header(struct conn *c, const struct proxyv2_hdr *h)
{
	const struct listener_conf *l = c->ls->conf;
	const uint8_t *p = h->tlvs;
	size_t left = h->tlvs_len, n = 0;
	struct proxyv2_tlv t;
	struct conn_pp *pp;

	if (l->proxy_protocol == PROXY_OUT_OFF)
		return 0;
	if (l->proxy_protocol == PROXY_OUT_V2)
		while (proxyv2_tlv_next(&p, &left, &t) == 1)
			if (listener_passes_tlv(l, t.type))
				n += 3 + (size_t)t.len;
	pp = calloc(1, sizeof(*pp) + n);
	if (pp == NULL)
		return -1;
	if (!h->local)
		pp->addr = h->addr;
	p = h->tlvs;
	left = h->tlvs_len;
	if (n > 0)
		while (proxyv2_tlv_next(&p, &left, &t) == 1) {
			if (!listener_passes_tlv(l, t.type))
				continue;
			pp->passed[pp->passed_len++] = t.type;
			pp->passed[pp->passed_len++] = (uint8_t)(t.len >> 8);
			pp->passed[pp->passed_len++] = (uint8_t)t.len;
			if (t.len > 0)
				memcpy(pp->passed + pp->passed_len, t.val,
				    t.len);
			pp->passed_len += t.len;
		}
	c->pp = pp;
	return 0;
}

/* A whole header of hlen bytes is at the start of the socket's data:
 * take exactly those bytes and go on with TLS. */
static void
header_done(struct conn *c, const struct proxyv2_hdr *h, size_t hlen)
{
	struct conn_pin *pin = c->pin;
	uint8_t sink[512];
	size_t left = hlen - pin->len;
	int fd = pin->fd;

	if (h->version == 2 && !h->local && h->transport == 2) {
		refuse(c, CONN_R_PROXY_REFUSED,
		    "PROXY header for a datagram connection (transport %u)",
		    (unsigned)h->transport);
		return;
	}
	if (keep_header(c, h) < 0) {
		conn_close(c, CONN_R_CLIENT_ERROR, "out of memory");
		return;
	}
	/* LOCAL, v1 UNKNOWN, and PROXY with family UNSPEC: the balancer
	 * speaks for itself, and the socket's peer stays the client. */
	if (!h->local && h->addr.family != PROXY_AF_UNSPEC)
		take_source(c, &h->addr);
	while (left > 0) {
		ssize_t k = recv(fd, sink,
		    left < sizeof(sink) ? left : sizeof(sink), 0);

		if (k <= 0) { /* the kernel showed them to MSG_PEEK */
			refuse(c, CONN_R_CLIENT_ERROR,
			    "lost the PROXY header's bytes: %s",
			    k < 0 ? strerror(errno) : "closed");
			return;
		}
		left -= (size_t)k;
	}
	pin->fd = -1; /* the TLS side owns it now */
	pin_free(c);
	conn_tls_start(c, fd);
}

static void
pin_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;
	struct conn_pin *pin = c->pin;
	unsigned accept = c->ls->conf->accept_proxy;
	uint8_t tmp[PIN_MAX];
	struct proxyv2_hdr h;
	ssize_t n;
	size_t total;
	uint8_t *nb;
	int r;

	(void)what;
	if (pin->len > 0)
		memcpy(tmp, pin->buf, pin->len);
	n = recv(fd, tmp + pin->len, sizeof(tmp) - pin->len, MSG_PEEK);
	if (n < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			return;
		refuse(c, CONN_R_CLIENT_ERROR, "%s", strerror(errno));
		return;
	}
	if (n == 0) {
		if (pin->len == 0)
			refuse(c, CONN_R_PROXY_REFUSED,
			    "closed before sending a PROXY header");
		else
			refuse(c, CONN_R_PROXY_REFUSED,
			    "closed after %zu bytes of a PROXY header",
			    pin->len);
		return;
	}
	total = pin->len + (size_t)n;
	if (tmp[0] == 'P' && !(accept & PROXY_IN_V1)) {
		refuse(c, CONN_R_PROXY_REFUSED,
		    "PROXY v1 header, but accept_proxy = v2");
		return;
	}
	if (tmp[0] == 0x0D && !(accept & PROXY_IN_V2)) {
		refuse(c, CONN_R_PROXY_REFUSED,
		    "PROXY v2 header, but accept_proxy = v1");
		return;
	}
	r = proxyv2_parse(tmp, total, PIN_MAX, &h);
	if (r < 0) {
		if (r == PROXYV2_ERR_SIGNATURE && tmp[0] == 0x16)
			refuse(c, CONN_R_PROXY_REFUSED,
			    "no PROXY header: a TLS ClientHello came first");
		else
			refuse(c, CONN_R_PROXY_REFUSED, "bad PROXY header: %s",
			    proxyv2_strerror(r));
		return;
	}
	if (r > 0) {
		header_done(c, &h, (size_t)r);
		return;
	}
	if (total >= PIN_MAX) {
		refuse(c, CONN_R_PROXY_REFUSED,
		    "PROXY header longer than %d bytes", PIN_MAX);
		return;
	}
	/* Incomplete: every byte seen belongs to the header, so take them,
	 * or the socket stays readable and this callback spins. */
	nb = realloc(pin->buf, total);
	if (nb == NULL) {
		conn_close(c, CONN_R_CLIENT_ERROR, "out of memory");
		return;
	}
	pin->buf = nb;
	n = recv(fd, pin->buf + pin->len, (size_t)n, 0);
	if (n <= 0) {
		refuse(c, CONN_R_CLIENT_ERROR, "%s",
		    n < 0 ? strerror(errno) : "connection closed");
		return;
	}
	pin->len += (size_t)n;
}

int
conn_proxy_in_start(struct conn *c, int fd)
{
	struct conn_pin *pin = calloc(1, sizeof(*pin));

	if (pin == NULL) {
		close(fd);
		conn_close(c, CONN_R_CLIENT_ERROR, "out of memory");
		return -1;
	}
	pin->fd = fd;
	c->pin = pin;
	event_assign(&pin->ev, c->w->base, fd, EV_READ | EV_PERSIST,
	    pin_read_cb, c);
	if (event_add(&pin->ev, NULL) < 0) {
		conn_close(c, CONN_R_CLIENT_ERROR, "cannot watch the socket");
		return -1;
	}
	conn_timer_arm(c, c->ls->conf->proxy_header_timeout_ms);
	return 0;
}

/* The two ends of the client's connection, as the header describes them:
 * received ones, or the socket's. */
static void
client_ends(struct conn *c, struct proxy_addr *a)
{
	union conn_sockaddr local;
	socklen_t len = sizeof(local);
	int fd = bufferevent_getfd(c->cbev);

	memset(a, 0, sizeof(*a));
	if (c->pp != NULL && c->pp->addr.family != PROXY_AF_UNSPEC) {
		*a = c->pp->addr;
		return;
	}
	memset(&local, 0, sizeof(local));
	if (getsockname(fd, &local.sa, &len) < 0)
		return; /* UNSPEC: LOCAL, or UNKNOWN in v1 */
	if (c->peer.sa.sa_family == AF_INET && local.sa.sa_family == AF_INET) {
		a->family = PROXY_AF_INET;
		memcpy(a->src, &c->peer.sin.sin_addr, 4);
		memcpy(a->dst, &local.sin.sin_addr, 4);
		a->sport = ntohs(c->peer.sin.sin_port);
		a->dport = ntohs(local.sin.sin_port);
	} else if (c->peer.sa.sa_family == AF_INET6 &&
	    local.sa.sa_family == AF_INET6) {
		a->family = PROXY_AF_INET6;
		memcpy(a->src, &c->peer.sin6.sin6_addr, 16);
		memcpy(a->dst, &local.sin6.sin6_addr, 16);
		a->sport = ntohs(c->peer.sin6.sin6_port);
		a->dport = ntohs(local.sin6.sin6_port);
	}
}

/* Name the TLVs dropped to meet proxy_max_header. */
static void
log_dropped(struct conn *c, uint32_t dropped, size_t limit)
{
	char names[400];
	size_t n = 0;
	uint32_t bit;

	names[0] = '\0';
	for (bit = 1; bit != 0 && bit <= PROXYV2_T_PASSED; bit <<= 1) {
		const char *name;
		int k;

		if (!(dropped & bit))
			continue;
		name = bit == PROXYV2_T_PASSED ? "passed TLVs"
					       : proxyv2_tlv_name(bit);
		k = snprintf(names + n, sizeof(names) - n, "%s%s",
		    n > 0 ? ", " : "", name != NULL ? name : "?");
		if (k < 0 || (size_t)k >= sizeof(names) - n)
			break;
		n += (size_t)k;
	}
	log_warn("conn=%llu: PROXY header over %zu bytes (proxy_max_header or "
		 "proxy_profile): dropped %s",
	    (unsigned long long)c->id, limit, names);
}

/* Headers fit here, a client certificate's DER (client_cert, typically
 * 0.5 to 2 KiB) included; only a bigger certificate or many passed TLVs
 * need the heap, so that mutual TLS does not cost every connection a
 * 64 KiB allocation and a second encoding. */
#define PROXY_OUT_STACK 4096

/* Encode c's v2 header into small, or else a heap buffer (*heap, which
 * the caller frees). Returns its length or a negative errno. */
static int
encode_v2(struct conn *c, const struct proxy_addr *a, uint8_t *small,
    uint8_t **heap)
{
	const struct listener_conf *l = c->ls->conf;
	struct proxyv2_tls t;
	struct proxyv2_in in;
	uint32_t dropped = 0;
	char uid[40]; /* "16 hex digits-conn id" */
	int n;

	memset(&in, 0, sizeof(in));
	in.addr = *a;
	if (c->facts != NULL) {
		tls_facts_proxy(c->facts, &t);
		in.tls = &t;
	}
	in.custom_base = (uint8_t)l->proxy_custom_base;
	if (c->pp != NULL) {
		in.passed = c->pp->passed;
		in.passed_len = c->pp->passed_len;
	}
	in.dropped = &dropped;
	proxyv2_in_profile(&in, (enum proxyv2_profile)l->proxy_profile,
	    l->proxy_tlvs & PROXYV2_T_ALL,
	    (uint16_t)(l->proxy_max_header > 0
		    ? l->proxy_max_header - PROXYV2_FIXED_LEN
		    : 0));
	if (l->proxy_tlvs != 0 && (l->proxy_tlvs & PROXYV2_T_ALL) == 0)
		in.tlvs = 0; /* proxy_tlvs = none */
	if ((in.tlvs & PROXYV2_T_UNIQUE_ID) && in.tls != NULL) {
		/* The same id as the log line's conn=, behind the
		 * instance's, so that a broker's record finds mqgate's. */
		n = snprintf(uid, sizeof(uid), "%s-%llu",
		    c->w->shared->instance, (unsigned long long)c->id);
		t.unique_id = (const uint8_t *)uid;
		t.unique_id_len = n > 0 ? (size_t)n : 0;
	}
	n = proxyv2_encode(&in, small, PROXY_OUT_STACK);
	if (n == -ENOSPC) {
		*heap = malloc(PROXYV2_FIXED_LEN + PROXYV2_LEN_MAX);
		if (*heap == NULL)
			return -ENOMEM;
		n = proxyv2_encode(&in, *heap, PROXYV2_FIXED_LEN + PROXYV2_LEN_MAX);
	}
	if (n > 0 && dropped != 0)
		log_dropped(c, dropped,
		    (size_t)(in.max_len ? in.max_len : PROXYV2_LEN_MAX) +
			PROXYV2_FIXED_LEN);
	return n;
}

int
conn_proxy_out(struct conn *c, char *detail, size_t cap)
{
	struct proxy_addr a;
	uint8_t small[PROXY_OUT_STACK], *heap = NULL, *buf;
	int n, rc = -1, fd = bufferevent_getfd(c->ubev);
	ssize_t k;

	client_ends(c, &a);
	if (c->ls->conf->proxy_protocol == PROXY_OUT_V1)
		n = proxyv1_encode(&a, small, sizeof(small));
	else
		n = encode_v2(c, &a, small, &heap);
	buf = heap != NULL ? heap : small;
	if (n < 0) {
		snprintf(detail, cap, "cannot build the PROXY header: %s",
		    strerror(-n));
		goto out;
	}
	/* One write, so that no receiver sees a header cut in two. A new
	 * connection's send buffer always has room; if not, the rest goes
	 * first in the output buffer. */
	k = send(fd, buf, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT);
	if (k < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
		snprintf(detail, cap, "sending the PROXY header: %s",
		    strerror(errno));
		goto out;
	}
	if (k < 0)
		k = 0;
	if (k < n && bufferevent_write(c->ubev, buf + k, (size_t)(n - k)) < 0) {
		snprintf(detail, cap, "out of memory");
		goto out;
	}
	free(c->pp);
	c->pp = NULL;
	rc = 0;
out:
	free(heap);
	return rc;
}
