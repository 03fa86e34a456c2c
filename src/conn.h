/*
 * conn: one proxied connection, from the accepted TCP socket through the
 * TLS handshake and the upstream connect to the two-way splice, and its one
 * teardown with one log line. A connection never leaves its worker.
 */
#ifndef MQGATE_CONN_H
#define MQGATE_CONN_H

#include <sys/socket.h>

struct worker;
struct listener_sock;

enum conn_reason {
	CONN_R_CLIENT_CLOSED,
	CONN_R_UPSTREAM_CLOSED,
	CONN_R_HANDSHAKE_FAILED,
	CONN_R_HANDSHAKE_TIMEOUT,
	CONN_R_UPSTREAM_CONNECT_FAILED,
	CONN_R_UPSTREAM_ERROR,
	CONN_R_CLIENT_ERROR,
	CONN_R_IDLE_TIMEOUT,
	CONN_R_MAX_CONNECTIONS,
	CONN_R_SHUTDOWN,
	CONN_R_PROXY_REFUSED,  /* PROXY input: untrusted peer, bad header */
	CONN_R_PROXY_TIMEOUT,  /* PROXY input: no whole header in time */
	CONN_R_MQTT_REFUSED,   /* identity binding said no (CONNACK sent) */
	CONN_R_MQTT_MALFORMED, /* the first packet is no valid CONNECT */
	CONN_R_MQTT_TIMEOUT,   /* no whole CONNECT in time */
	CONN_R_COUNT
};

const char *conn_reason_str(enum conn_reason r);

/*
 * Take over an accepted client socket fd on listener ls of worker w: start
 * the TLS handshake. Takes ownership of fd (closed on failure). The caller
 * has already counted the connection in shared->active; on failure it is
 * uncounted here. Returns 0 or -1.
 */
int conn_accept(struct worker *w, struct listener_sock *ls, int fd,
    const struct sockaddr *sa, socklen_t salen);

/* Log the one line of a connection refused at accept time (no conn object
 * exists). detail may be NULL. */
void conn_log_refused(struct worker *w, struct listener_sock *ls,
    const struct sockaddr *sa, socklen_t salen, enum conn_reason r,
    const char *detail);

/* Close every connection of w with reason r (shutdown). */
void conn_close_all(struct worker *w, enum conn_reason r);

#endif
