/*
 * conn_priv: the connection object shared by the three files that drive it:
 * conn.c (life cycle, TLS, splice, the log line), conn_proxy.c (PROXY
 * header in, before TLS, and out, to the upstream) and conn_mqtt.c (the
 * client's CONNECT when identity binding is on). Nothing outside them
 * includes this.
 */
#ifndef MQGATE_CONN_PRIV_H
#define MQGATE_CONN_PRIV_H

#include <stdbool.h>
#include <stdint.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <event2/event_struct.h>
#include <openssl/ssl.h>

#include "conn.h"

struct bufferevent;
struct tls_facts;
struct conn_pin;
struct conn_pp;
struct conn_try;
struct pool;
struct pool_server;

enum conn_state {
	CONN_PROXY_IN,	/* reading the PROXY header, before TLS */
	CONN_HANDSHAKE,
	CONN_MQTT,	/* reading the client's CONNECT */
	CONN_CONNECTING,
	CONN_SPLICE,
	CONN_REFUSING,	/* a CONNACK refusal drains, then close */
};

union conn_sockaddr {
	struct sockaddr sa;
	struct sockaddr_in sin;
	struct sockaddr_in6 sin6;
	struct sockaddr_un sun; /* a UNIX source received by PROXY input */
};

struct conn {
	struct conn *next, *prev; /* worker's list */
	struct worker *w;
	struct listener_sock *ls;
	struct bufferevent *cbev; /* client, owns fd and SSL */
	struct bufferevent *ubev; /* upstream, owns fd; NULL before connect */
	SSL_CTX *lctx;	  /* the listener context ssl started on (ssl keeps
			     it alive) */
	struct event timer; /* proxy header/handshake/mqtt/connect/idle/linger */
	uint64_t id;
	uint64_t in;  /* plaintext bytes client -> upstream */
	uint64_t out; /* plaintext bytes upstream -> client */
	uint64_t start_ms;
	uint64_t active_ms; /* last traffic, kept only with idle_timeout */
	union conn_sockaddr peer; /* the client: the socket's peer, or the
				     source a PROXY header gave */
	socklen_t peerlen;
	uint16_t flags;
	uint8_t state;	/* enum conn_state */
	uint8_t reason; /* enum conn_reason, once F_ENDING */

	/* Only while they are needed, so that an idle connection keeps none
	 * of them (but mqtt_ids, which the log line needs). */
	struct conn_pin *pin;	 /* CONN_PROXY_IN: the header so far */
	struct conn_pp *pp;	 /* received header, until written upstream */
	struct tls_facts *facts; /* after the handshake, until written */
	uint8_t *connect;	 /* rewritten CONNECT, until written */
	size_t connect_len;
	char *mqtt_ids; /* "username\0client id\0", for the log line */
	char *detail;	/* CONN_REFUSING: why, for the log line */

	/* A pool upstream: the server in use (counted in its active), the
	 * candidates while connecting, and the balance key. */
	struct pool_server *srv;
	struct conn_try *tries;
	uint64_t key;	/* balance_hash of the client id (clientid) */
	bool have_key;
	uint8_t mqtt_version; /* the CONNECT's protocol level once mqgate
				 has read it, else 0 */
};

/* The pool the listener forwards to, or NULL for a plain address. */
struct pool *conn_pool(const struct conn *c);

/* conn.c */
void conn_close(struct conn *c, enum conn_reason r, const char *detail);
void conn_timer_arm(struct conn *c, long ms);
/* The header (if any) is in: start the TLS handshake on fd. */
void conn_tls_start(struct conn *c, int fd);
/* The client may go upstream now. */
void conn_start_upstream(struct conn *c);
/* Send bytes (a CONNACK) to the client, then close with r and detail;
 * close at once when len is 0. */
void conn_refuse(struct conn *c, const uint8_t *bytes, size_t len,
    enum conn_reason r, const char *detail);
/* The same with the CONNACK carrying rc (an enum mqtt_reason) for protocol
 * level version; closed without one when the level has no such code (or
 * version is 0: not known). */
void conn_refuse_connack(struct conn *c, int version, uint8_t rc,
    enum conn_reason r, const char *detail);

/* conn.c: a bufferevent for the upstream side with c's callbacks. */
struct bufferevent *conn_new_upstream_bev(struct conn *c);

/* conn_upstream.c */
/* Connect to the listener's upstream: its address, or the pool's
 * candidates in turn. May close c. */
void conn_upstream_connect(struct conn *c);
/* The connect in progress failed (why): try the next candidate or close. */
void conn_upstream_failed(struct conn *c, const char *why);
/* Connected: drop the candidate list. */
void conn_upstream_connected(struct conn *c);
/* No longer count c on its pool server. */
void conn_upstream_release(struct conn *c);
/* "pool/server", "pool" or the address, for the log line. */
void conn_upstream_name(const struct conn *c, char *buf, size_t cap);

/* conn_proxy.c */
/* Start reading the PROXY header on fd (owned by c from now on). */
int conn_proxy_in_start(struct conn *c, int fd);
/* Free the PROXY input state (pin and pp); NULL fields are fine. */
void conn_proxy_free(struct conn *c);
/* Write the PROXY header to the freshly connected upstream. -1 when it
 * cannot be built or sent (c is not closed; detail says why). */
int conn_proxy_out(struct conn *c, char *detail, size_t cap);

/* conn_mqtt.c */
/* Look at what the client has sent so far; may go upstream or refuse. */
void conn_mqtt_read(struct conn *c);

#endif
