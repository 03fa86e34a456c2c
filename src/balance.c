/*
 * balance.c: the choice of a server within a pool, as pure functions over
 * the arrays pool.c snapshots: the key hash, weighted rendezvous hashing,
 * smooth weighted round robin and least connections. It must not allocate,
 * lock, log, read the clock or touch any I/O: everything it needs comes in
 * through its arguments, and all its state is the caller's.
 */
#include "build_config.h"

#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "balance.h"

static const uint64_t FNV_OFFSET = 0xcbf29ce484222325ULL;
static const uint64_t FNV_PRIME = 0x100000001b3ULL;

/* Scores of the first RDV_CACHE places of order[] are kept on the stack;
 * past them (very large pools) they are computed again when compared. */
#define RDV_CACHE 64

/* splitmix64's finaliser: a bijection of 64-bit words. */
static uint64_t
mix64(uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

uint64_t
balance_hash(const void *p, size_t n)
{
	const unsigned char *b = p;
	uint64_t h = FNV_OFFSET;
	size_t i;

	for (i = 0; i < n; i++) {
		h ^= b[i];
		h *= FNV_PRIME;
	}
	return mix64(h);
}

static int
weight_of(const int *weight, size_t i)
{
	return weight[i] < 1 ? 1 : weight[i];
}

/*
 * -w / ln(u), u in (0, 1) from the top 52 bits of the mixed hash: (x + 0.5)
 * / 2^52 is exact in a double and never 0 or 1, so ln(u) is finite and
 * negative and the score finite and positive.
 */
static double
score(uint64_t server_hash, int w, uint64_t key)
{
	uint64_t x = mix64(server_hash ^ key) >> 12;
	double u = ((double)x + 0.5) / 4503599627370496.0; /* 2^52 */

	return -(double)w / log(u);
}

/* Whether server a (score sa) ranks before server b (score sb). */
static bool
ranks_before(
    const uint64_t *server_hash, size_t a, double sa, size_t b, double sb)
{
	if (sa != sb)
		return sa > sb;
	if (server_hash[a] != server_hash[b])
		return server_hash[a] < server_hash[b];
	return a < b;
}

size_t
balance_rendezvous(const uint64_t *server_hash, const int *weight,
    const bool *eligible, size_t n, uint64_t key, size_t *order)
{
	double cache[RDV_CACHE];
	size_t i, j, k = 0;

	/* Insertion sort: pools are small, and it needs no heap. */
	for (i = 0; i < n; i++) {
		double s;

		if (!eligible[i])
			continue;
		s = score(server_hash[i], weight_of(weight, i), key);
		for (j = k; j > 0; j--) {
			size_t o = order[j - 1];
			double so;

			if (j - 1 < RDV_CACHE)
				so = cache[j - 1];
			else
				so = score(
				    server_hash[o], weight_of(weight, o), key);

			if (!ranks_before(server_hash, i, s, o, so))
				break;
			order[j] = o;
			if (j < RDV_CACHE)
				cache[j] = so;
		}
		order[j] = i;
		if (j < RDV_CACHE)
			cache[j] = s;
		k++;
	}
	return k;
}

size_t
balance_wrr(int *cur, const int *weight, const bool *eligible, size_t n)
{
	size_t i, best = SIZE_MAX;
	int total = 0;

	for (i = 0; i < n; i++) {
		if (!eligible[i])
			continue;
		cur[i] += weight_of(weight, i);
		total += weight_of(weight, i);
		if (best == SIZE_MAX || cur[i] > cur[best])
			best = i;
	}
	if (best != SIZE_MAX)
		cur[best] -= total;
	return best;
}

/*
 * Whether a/wa < b/wb for a, b >= 0 and 1 <= wa, wb: quotients first, then
 * the remainders cross-multiplied, which are below the weights and so
 * cannot overflow whatever the counts.
 */
static int
cmp_ratio(long a, int wa, long b, int wb)
{
	long qa = a / wa, qb = b / wb;
	long long ra, rb;

	if (qa != qb)
		return qa < qb ? -1 : 1;
	ra = (long long)(a % wa) * wb;
	rb = (long long)(b % wb) * wa;
	return ra < rb ? -1 : ra > rb;
}

size_t
balance_leastconn(const long *active, const int *weight, const bool *eligible,
    size_t n, size_t start, size_t *order)
{
	size_t i, j, k = 0;

	if (n == 0)
		return 0;
	start %= n;
	/* Insertion in turn order start, start + 1, ..., so that a stable
	 * sort by load leaves equal servers in that order. */
	for (i = 0; i < n; i++) {
		size_t s = (start + i) % n;
		long as = active[s] < 0 ? 0 : active[s];

		if (!eligible[s])
			continue;
		for (j = k; j > 0; j--) {
			size_t o = order[j - 1];
			long ao = active[o] < 0 ? 0 : active[o];

			if (cmp_ratio(as, weight_of(weight, s), ao,
				weight_of(weight, o)) >= 0)
				break;
			order[j] = o;
		}
		order[j] = s;
		k++;
	}
	return k;
}
