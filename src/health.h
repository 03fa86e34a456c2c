/*
 * health: the pools' health checks, on the main thread's event loop,
 * never blocking it. Each server is checked on its own timer (the first
 * ones staggered over health_interval so that a pool is not probed all at
 * once): `tcp` connects and closes; `mqtt` connects, sends a CONNECT (client
 * id mqgate-health-<hostname>-<n>, clean session, MQTT 3.1.1), expects a
 * CONNACK with return code 0 within health_timeout, then sends DISCONNECT
 * and closes. health_rise consecutive successes mark a server up,
 * health_fall consecutive failures mark it down (pool_server_set_up logs
 * the change with the last failure's reason).
 */
#ifndef MQGATE_HEALTH_H
#define MQGATE_HEALTH_H

struct event_base;
struct pool_set;

/* Start checking every server of every pool whose health_check is not
 * none. Returns 0 or -1 (out of memory). */
int health_start(struct pool_set *ps, struct event_base *base);

/* Stop every check and free its state (main thread, before
 * pool_set_free). */
void health_stop(struct pool_set *ps);

#endif
