/*
 * clock: monotonic milliseconds, and the struct timeval an event timer
 * wants for a delay in milliseconds. Header only, no state.
 */
#ifndef MQGATE_CLOCK_H
#define MQGATE_CLOCK_H

#include <stdint.h>
#include <sys/time.h>
#include <time.h>

/* Milliseconds on CLOCK_MONOTONIC. */
static inline int64_t
clock_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The same from the coarse clock (a few ms of resolution, no syscall):
 * for the per-connection path. */
static inline uint64_t
clock_coarse_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* A delay of ms milliseconds as a timeval. */
static inline struct timeval
clock_tv(long ms)
{
	struct timeval tv;

	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	return tv;
}

#endif
