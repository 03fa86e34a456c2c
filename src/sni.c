/*
 * sni.c: host-name normalisation and the SNI table, an open-addressing hash
 * of normalised names, each holding the (bundle, key type) pairs that serve
 * it in the order they were added. Pure: no OpenSSL, no I/O, no logging;
 * key types are opaque integers. Lookups run on the handshake path of every
 * worker at once, so they only read the table and never allocate.
 */
#include "build_config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sni.h"

/* One normalised name and the bundles serving it. */
struct sni_name {
	uint64_t hash;
	size_t len;
	size_t n, cap; /* matches used, allocated */
	struct sni_match *m;
	char name[]; /* normalised, NUL-terminated */
};

struct sni_table {
	struct sni_name **slot; /* nslot of them; NULL = free */
	size_t nslot;		/* a power of two, at least twice nname */
	size_t nname;		/* distinct names */
	size_t count;		/* (name, idx, kt) entries */
};

static const size_t SLOTS_MIN = 16;

const char *
sni_strerror(int err)
{
	switch (err) {
	case SNI_OK:
		return "no error";
	case SNI_ERR_EMPTY:
		return "empty host name";
	case SNI_ERR_TOO_LONG:
		return "host name longer than 253 characters";
	case SNI_ERR_LABEL_TOO_LONG:
		return "host name label longer than 63 characters";
	case SNI_ERR_BAD_CHAR:
		return "host name character other than a letter, digit, '-' "
		       "or '_' (write IDNs in xn-- form)";
	case SNI_ERR_EMPTY_LABEL:
		return "empty label in host name";
	case SNI_ERR_BAD_WILDCARD:
		return "wildcard other than a whole first label \"*\" followed "
		       "by at least two labels";
	case SNI_ERR_NOMEM:
		return "out of memory";
	case SNI_ERR_DUPLICATE:
		return "host name already served by another certificate with "
		       "the same key type";
	}
	return "unknown SNI error";
}

/*
 * Checks run in this order: empty, too long (or not fitting in cap), then
 * left to right per byte: empty label, label too long, wildcard, character;
 * last, a wildcard's label count. On error out (if cap > 0) is "".
 */
int
sni_normalize(const char *name, size_t len, bool allow_wildcard, char *out,
    size_t cap)
{
	size_t i, label = 0, nlabel = 1;
	bool wild = false;
	int err;

	if (cap > 0)
		out[0] = '\0';
	if (len > 0 && name[len - 1] == '.')
		len--;
	if (len == 0)
		return SNI_ERR_EMPTY;
	if (len > SNI_NAME_MAX || len >= cap)
		return SNI_ERR_TOO_LONG;
	for (i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)name[i];

		if (ch == '.') {
			if (label == 0) {
				err = SNI_ERR_EMPTY_LABEL;
				goto fail;
			}
			label = 0;
			nlabel++;
		} else if (++label > SNI_LABEL_MAX) {
			err = SNI_ERR_LABEL_TOO_LONG;
			goto fail;
		} else if (ch >= 'A' && ch <= 'Z') {
			ch = (unsigned char)(ch - 'A' + 'a');
		} else if (ch == '*') {
			if (!allow_wildcard || i != 0 ||
			    (len > 1 && name[1] != '.')) {
				err = SNI_ERR_BAD_WILDCARD;
				goto fail;
			}
			wild = true;
		} else if (!((ch >= 'a' && ch <= 'z') ||
			       (ch >= '0' && ch <= '9') || ch == '-' ||
			       ch == '_')) {
			/* Also NUL and every non-ASCII byte (U-labels). */
			err = SNI_ERR_BAD_CHAR;
			goto fail;
		}
		out[i] = (char)ch;
	}
	if (label == 0) {
		err = SNI_ERR_EMPTY_LABEL; /* "a.." lost one dot, not two */
		goto fail;
	}
	if (wild && nlabel < 3) {
		err = SNI_ERR_BAD_WILDCARD;
		goto fail;
	}
	out[len] = '\0';
	return (int)len;
fail:
	out[0] = '\0';
	return err;
}

/*
 * FNV-1a, then a 64-bit finaliser so that the low bits used for the slot
 * depend on every byte. Client names cannot add entries, so a flood of
 * colliding names is only possible from the configuration.
 */
static uint64_t
hash(const char *s, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	size_t i;

	for (i = 0; i < len; i++) {
		h ^= (unsigned char)s[i];
		h *= 0x100000001b3ULL;
	}
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	return h;
}

/* The slot holding name, or the free slot where it would go. */
static size_t
probe(const struct sni_table *t, const char *name, size_t len, uint64_t h)
{
	size_t mask = t->nslot - 1, i = (size_t)h & mask;
	const struct sni_name *e;

	while ((e = t->slot[i]) != NULL) {
		if (e->hash == h && e->len == len &&
		    memcmp(e->name, name, len) == 0)
			break;
		i = (i + 1) & mask;
	}
	return i;
}

static const struct sni_name *
find(const struct sni_table *t, const char *name, size_t len)
{
	return t->slot[probe(t, name, len, hash(name, len))];
}

/* Double the slot array; on failure t is unchanged. */
static int
grow(struct sni_table *t)
{
	size_t n = t->nslot * 2, mask = n - 1, i, j;
	struct sni_name **slot;

	if (n / 2 != t->nslot)
		return SNI_ERR_NOMEM;
	slot = calloc(n, sizeof(*slot));
	if (slot == NULL)
		return SNI_ERR_NOMEM;
	for (i = 0; i < t->nslot; i++) {
		if (t->slot[i] == NULL)
			continue;
		j = (size_t)t->slot[i]->hash & mask;
		while (slot[j] != NULL)
			j = (j + 1) & mask;
		slot[j] = t->slot[i];
	}
	free(t->slot);
	t->slot = slot;
	t->nslot = n;
	return SNI_OK;
}

/* Append (idx, kt) to e; on failure e is unchanged. */
static int
push(struct sni_name *e, int idx, int kt)
{
	if (e->n == e->cap) {
		size_t cap = e->cap == 0 ? 1 : e->cap * 2;
		struct sni_match *m;

		if (cap > SIZE_MAX / sizeof(*m))
			return SNI_ERR_NOMEM;
		m = realloc(e->m, cap * sizeof(*m));
		if (m == NULL)
			return SNI_ERR_NOMEM;
		e->m = m;
		e->cap = cap;
	}
	e->m[e->n].idx = idx;
	e->m[e->n].kt = kt;
	e->n++;
	return SNI_OK;
}

struct sni_table *
sni_table_new(void)
{
	struct sni_table *t;

	t = calloc(1, sizeof(*t));
	if (t == NULL)
		return NULL;
	t->slot = calloc(SLOTS_MIN, sizeof(*t->slot));
	if (t->slot == NULL) {
		sni_table_free(t);
		return NULL;
	}
	t->nslot = SLOTS_MIN;
	return t;
}

void
sni_table_free(struct sni_table *t)
{
	size_t i;

	if (t == NULL)
		return;
	for (i = 0; i < t->nslot; i++) {
		if (t->slot[i] == NULL)
			continue;
		free(t->slot[i]->m);
		free(t->slot[i]);
	}
	free(t->slot);
	free(t);
}

/* On any error the table is left as it was. */
int
sni_table_add(struct sni_table *t, const char *name, int idx, int kt,
    int *other)
{
	char buf[SNI_NAME_MAX + 1];
	struct sni_name *e;
	size_t i, len, slot;
	uint64_t h;
	int n, err;

	n = sni_normalize(name, strlen(name), true, buf, sizeof(buf));
	if (n < 0)
		return n;
	len = (size_t)n;
	h = hash(buf, len);
	slot = probe(t, buf, len, h);
	if ((e = t->slot[slot]) != NULL) {
		for (i = 0; i < e->n; i++) {
			if (e->m[i].kt != kt)
				continue;
			if (e->m[i].idx == idx)
				return SNI_OK;
			if (other != NULL)
				*other = e->m[i].idx;
			return SNI_ERR_DUPLICATE;
		}
		if ((err = push(e, idx, kt)) != SNI_OK)
			return err;
		t->count++;
		return SNI_OK;
	}

	/* A load factor of at most 1/2 keeps linear probes short. */
	if ((t->nname + 1) * 2 > t->nslot) {
		if ((err = grow(t)) != SNI_OK)
			return err;
		slot = probe(t, buf, len, h);
	}
	e = malloc(sizeof(*e) + len + 1);
	if (e == NULL)
		return SNI_ERR_NOMEM;
	e->hash = h;
	e->len = len;
	e->n = e->cap = 0;
	e->m = NULL;
	memcpy(e->name, buf, len + 1);
	if ((err = push(e, idx, kt)) != SNI_OK) {
		free(e);
		return err;
	}
	t->slot[slot] = e;
	t->nname++;
	t->count++;
	return SNI_OK;
}

/* A NULL table matches nothing, so does cap 0 (out may then be NULL). */
size_t
sni_table_lookup(const struct sni_table *t, const char *host, size_t len,
    struct sni_match *out, size_t cap)
{
	char buf[SNI_NAME_MAX + 1];
	const struct sni_name *e;
	char *dot;
	size_t n;
	int r;

	if (t == NULL || cap == 0)
		return 0;
	r = sni_normalize(host, len, false, buf, sizeof(buf));
	if (r < 0)
		return 0;
	n = (size_t)r;
	e = find(t, buf, n);
	if (e == NULL && (dot = memchr(buf, '.', n)) != NULL) {
		/*
		 * "a.example.com" -> "*.example.com", written over the end of
		 * the first label. "example.com" gives "*.com", which
		 * sni_table_add refuses, so it is simply not found.
		 */
		dot[-1] = '*';
		e = find(t, dot - 1, n - (size_t)(dot - 1 - buf));
	}
	if (e == NULL)
		return 0;
	n = e->n < cap ? e->n : cap;
	memcpy(out, e->m, n * sizeof(*out));
	return n;
}

size_t
sni_table_count(const struct sni_table *t)
{
	return t == NULL ? 0 : t->count;
}
