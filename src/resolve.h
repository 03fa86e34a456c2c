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

/* Start resolving every named server. Returns 0, or -1 when the resolver
 * cannot be set up (no usable /etc/resolv.conf is not an error: names
 * then stay unresolved and are logged). */
int resolve_start(struct pool_set *ps, struct event_base *base);

/* Cancel lookups and free state (main thread, before pool_set_free). */
void resolve_stop(struct pool_set *ps);

#endif
