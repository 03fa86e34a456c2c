/*
 * resolve: DNS for servers named by host name, with evdns on the main
 * thread's event loop (never blocking it). Each named server is resolved at
 * start and then every resolve_interval; the first address returned (IPv4
 * or IPv6, as the resolver orders them) becomes the server's address via
 * pool_server_set_addr, and a change is logged. A failed lookup keeps the
 * last good address and is logged (once per failure streak).
 */
#ifndef MQGATE_RESOLVE_H
#define MQGATE_RESOLVE_H

struct event_base;
struct pool_set;

/* Start resolving every named server; names in /etc/hosts resolve at
 * once, before it returns. Returns 0, or -1 when the resolver cannot be
 * set up (out of memory). No usable /etc/resolv.conf is not an error: it
 * is logged, and names are looked up in /etc/hosts and at 127.0.0.1, as
 * the C library would. /etc/hosts is read again when it changes. */
int resolve_start(struct pool_set *ps, struct event_base *base);

/*
 * Cancel lookups and free state (main thread, before pool_set_free and
 * event_base_free). Meant for after the loop has ended: evdns completes a
 * cancelled lookup from the loop, so when one is in flight resolve_stop
 * runs the loop once more without blocking (event_base_loop with
 * EVLOOP_NONBLOCK) to let evdns return its memory; the caller's other
 * events on the base should be gone by then. Called from inside the loop,
 * it leaves the rest to the loop (and libevent warns about the nested run).
 */
void resolve_stop(struct pool_set *ps);

#endif
