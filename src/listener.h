/*
 * listener: listening sockets. Binding happens on the main thread before
 * any worker starts (so a busy port is a startup error); each worker gets
 * its own SO_REUSEPORT socket per bind address and an evconnlistener on its
 * own base. The accept path enforces max_connections.
 */
#ifndef MQGATE_LISTENER_H
#define MQGATE_LISTENER_H

#include <stddef.h>

#include "addr.h"
#include "config.h"

struct evconnlistener;
struct event;
struct worker;

struct listener_sock {
	struct worker *w;
	const struct listener_conf *conf;
	size_t listener_idx; /* index in config->listeners and tls_gen->ctx */
	struct addr bound;
	int fd; /* owned until evl takes it */
	struct evconnlistener *evl;
	struct event *resume_ev; /* re-enables accepting after EMFILE */
};

/*
 * Create a listening socket for a (SO_REUSEADDR, SO_REUSEPORT, IPv6-only
 * for v6, non-blocking, close-on-exec). Returns the fd, or -1 with a reason
 * in err.
 */
int listener_bind(const struct addr *a, char *err, size_t cap);

/* Hook ls (fd already set) into its worker's base. Returns 0 or -1. */
int listener_attach(struct listener_sock *ls);

/* Stop accepting and close the socket; safe to call twice. */
void listener_close(struct listener_sock *ls);

#endif
