/*
 * balance: choosing a server of a pool, as pure functions over plain
 * arrays: the key hash, rendezvous (highest random weight) hashing, smooth
 * weighted round robin, and least connections. No locks, no I/O: pool.c
 * gathers a snapshot of the servers' state and calls these.
 */
#ifndef MQGATE_BALANCE_H
#define MQGATE_BALANCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * A 64-bit hash of n bytes, the same on every machine and every version of
 * mqgate (a fleet must agree): FNV-1a 64 followed by the splitmix64
 * finaliser (its mixing steps only, no increment). balance_hash("", 0) and
 * the values for "a" and longer inputs are pinned by the unit tests. p may
 * be NULL when n is 0.
 */
uint64_t balance_hash(const void *p, size_t n);

/*
 * Rendezvous hashing: write to order[] the indexes i (0 <= i < n) with
 * eligible[i] true, best first, for the key whose balance_hash is key. A
 * server's score depends only on (server_hash[i], weight[i], key): with
 * weights w, score = -w / ln(u), u = (x + 0.5) / 2^52 in (0, 1), x the
 * top 52 bits of splitmix64(server_hash[i] ^ key) (weighted rendezvous: a
 * server of weight 2 gets twice the share); the ordering is pinned by the
 * unit tests, as a fleet must agree on it. A weight below 1 counts as 1.
 * Ties (equal scores) go to the lower server_hash, then the lower index.
 * So removing a server moves only the keys that ranked it first, and
 * adding one moves only the keys it now ranks first.
 * Returns the number written (the count of eligible servers); order[] must
 * have room for n.
 */
size_t balance_rendezvous(const uint64_t *server_hash, const int *weight,
    const bool *eligible, size_t n, uint64_t key, size_t *order);

/*
 * Smooth weighted round robin (as nginx): cur[] is the caller's state, n
 * ints, zero at start. Each call adds weight[i] to cur[i] of every eligible
 * server, picks the largest cur (the lowest index on ties), subtracts the
 * eligible total from it and returns its index; SIZE_MAX when none is
 * eligible. Over sum(weight) calls each server is picked weight[i] times,
 * spread out (weights 5,1,1 give a a b a c a a, not a a a a a b c). The
 * cur[i] of an ineligible server is left as it is, so one that comes back
 * resumes its share; cur stays bounded whatever the eligibility does. A
 * weight below 1 counts as 1.
 */
size_t balance_wrr(int *cur, const int *weight, const bool *eligible, size_t n);

/*
 * Least connections: write to order[] the eligible indexes by ascending
 * active[i] / weight[i] (compared exactly in integers, no overflow); ties go
 * in index order starting at start % n, so that equal servers take turns. A
 * weight below 1 counts as 1, a negative count as 0. Returns the number
 * written; order[] must have room for n.
 */
size_t balance_leastconn(const long *active, const int *weight,
    const bool *eligible, size_t n, size_t start, size_t *order);

#endif
