/*
 * ocsp_refresh: the background fetch threads that keep the responses of
 * the activated contexts fresh, and their schedule. Its public entry
 * points are ocsp_activate and ocsp_shutdown (declared in ocsp.h); this
 * header is private to src/ocsp*.c.
 */
#ifndef MQGATE_OCSP_REFRESH_H
#define MQGATE_OCSP_REFRESH_H

#include <stdbool.h>

/*
 * Set up the scheduler's condition variable (on CLOCK_MONOTONIC). Called
 * once, from ocsp_init. Returns false when that failed: then no fetch
 * thread is ever started and ocsp_attach refuses to set up stapling.
 */
bool ocsp_refresh_init(void);

#endif
