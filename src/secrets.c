/*
 * secrets.c: the psk_file and ticket_key_file parsers, with their own strict
 * hex and base64 decoders, and the identity index psk_find uses. Pure: bytes
 * and a path in, a table and diag entries out; no I/O, no OpenSSL, no log.
 * Messages name lines and identities but never contain key material, and
 * every buffer that held a key is wiped before it is freed.
 */
#include "build_config.h"

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compat.h"
#include "diag.h"
#include "secrets.h"

/* Up to this many entries psk_find scans; beyond it, it probes the index. */
#define PSK_LINEAR_MAX 16

/*
 * What psk_parse really allocates: the public table followed by an
 * open-addressing index of identities (power-of-two slots, linear probing).
 * Every struct psk_table handed out comes from psk_parse, so psk_find and
 * psk_table_free may convert back.
 */
struct psk_slot {
	size_t hash;
	size_t idx; /* into v; SLOT_EMPTY when free */
};

#define SLOT_EMPTY SIZE_MAX

struct psk_impl {
	struct psk_table pub; /* first, so &impl->pub converts back */
	struct psk_slot *slots;
	size_t nslots;
	size_t cap; /* of pub.v */
	int *lines; /* while parsing: the line of each entry */
};

/* memset through a volatile pointer, so the compiler cannot drop it. */
static void *(*const volatile wipe_fn)(void *, int, size_t) = memset;

static void
wipe(void *p, size_t n)
{
	wipe_fn(p, 0, n);
}

/* --- lines --- */

struct line_iter {
	const char *p, *end;
	int no;
};

/*
 * The next line with the "\n" (and a '\r' before it) removed and blanks
 * around it trimmed. Returns false at the end of the text. A last line
 * without '\n' counts; an empty text has no lines.
 */
static bool
next_line(struct line_iter *it, const char **sp, size_t *lenp)
{
	const char *s, *e, *nl;

	if (it->p >= it->end)
		return false;
	s = it->p;
	nl = memchr(s, '\n', (size_t)(it->end - s));
	e = nl != NULL ? nl : it->end;
	it->p = nl != NULL ? nl + 1 : it->end;
	if (it->no < INT_MAX)
		it->no++;
	if (e > s && e[-1] == '\r')
		e--;
	while (s < e && (*s == ' ' || *s == '\t'))
		s++;
	while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
		e--;
	*sp = s;
	*lenp = (size_t)(e - s);
	return true;
}

static bool
skip_line(const char *s, size_t len)
{
	return len == 0 || s[0] == '#';
}

/* --- hex --- */

static int
hex_digit(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* "'c'" for a printable byte, "byte 0xNN" for any other, into buf. */
static const char *
show_byte(unsigned char c, char *buf, size_t cap)
{
	if (c >= 0x20 && c < 0x7f)
		snprintf(buf, cap, "'%c'", c);
	else
		snprintf(buf, cap, "byte 0x%02x", c);
	return buf;
}

/* --- psk_file --- */

static size_t
identity_hash(const char *s, size_t len)
{
	uint64_t h = 0xcbf29ce484222325u; /* FNV-1a */
	size_t i;

	for (i = 0; i < len; i++) {
		h ^= (unsigned char)s[i];
		h *= 0x100000001b3u;
	}
	return (size_t)(h ^ (h >> 32));
}

/* s (len bytes, perhaps with a NUL from a client) is e's identity. */
static bool
identity_eq(const struct psk_entry *e, const char *s, size_t len)
{
	return strnlen(e->identity, len + 1) == len &&
	       memcmp(e->identity, s, len) == 0;
}

/* The index of the entry called s in im, or SLOT_EMPTY; *slot gets the
 * slot where it is or would go. */
static size_t
index_lookup(const struct psk_impl *im, const char *s, size_t len, size_t hash,
    size_t *slot)
{
	size_t mask = im->nslots - 1, i;

	for (i = hash & mask;; i = (i + 1) & mask) {
		const struct psk_slot *sl = &im->slots[i];

		if (sl->idx == SLOT_EMPTY)
			break;
		if (sl->hash == hash &&
		    identity_eq(&im->pub.v[sl->idx], s, len))
			break;
	}
	if (slot != NULL)
		*slot = i;
	return im->slots[i].idx;
}

/* The first free slot on hash's probe path. */
static size_t
index_free_slot(const struct psk_impl *im, size_t hash)
{
	size_t mask = im->nslots - 1, i;

	for (i = hash & mask; im->slots[i].idx != SLOT_EMPTY;
	     i = (i + 1) & mask)
		;
	return i;
}

/* Double the index (or create it) and re-insert every entry. */
static int
index_grow(struct psk_impl *im)
{
	struct psk_slot *old = im->slots;
	size_t oldn = im->nslots, n = oldn == 0 ? 32 : oldn * 2, i;

	if (n > SIZE_MAX / sizeof(*im->slots))
		return -1;
	if ((im->slots = malloc(n * sizeof(*im->slots))) == NULL) {
		im->slots = old;
		return -1;
	}
	im->nslots = n;
	for (i = 0; i < n; i++)
		im->slots[i].idx = SLOT_EMPTY;
	for (i = 0; i < oldn; i++) {
		if (old[i].idx == SLOT_EMPTY)
			continue;
		im->slots[index_free_slot(im, old[i].hash)] = old[i];
	}
	free(old);
	return 0;
}

/*
 * Room for one more entry. realloc could leave keys behind in the old
 * block, so the array is copied and the old one wiped.
 */
static int
entries_grow(struct psk_impl *im)
{
	struct psk_entry *v;
	int *lines;
	size_t cap;

	if (im->pub.n < im->cap)
		return 0;
	cap = im->cap == 0 ? 16 : im->cap * 2;
	if (cap > SIZE_MAX / sizeof(*v) || cap > SIZE_MAX / sizeof(*lines))
		return -1;
	if ((lines = realloc(im->lines, cap * sizeof(*lines))) == NULL)
		return -1;
	im->lines = lines;
	if ((v = malloc(cap * sizeof(*v))) == NULL)
		return -1;
	if (im->pub.n > 0) {
		memcpy(v, im->pub.v, im->pub.n * sizeof(*v));
		wipe(im->pub.v, im->pub.n * sizeof(*v));
	}
	free(im->pub.v);
	im->pub.v = v;
	im->cap = cap;
	return 0;
}

/*
 * Check the identity of line no; 0 if usable, else -1 after reporting it.
 * The identity itself is shown only once it is known to be printable.
 */
static int
check_identity(
    const char *id, size_t len, const char *path, int no, struct diag *d)
{
	char b[16];
	size_t i;

	if (len == 0) {
		diag_add(
		    d, path, no, "empty identity (expected 'identity:hexkey')");
		return -1;
	}
	if (len > PSK_IDENTITY_MAX) {
		diag_add(d, path, no,
		    "identity is %zu bytes, longest allowed is %d", len,
		    PSK_IDENTITY_MAX);
		return -1;
	}
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)id[i];

		if (c < 0x20 || c == 0x7f) {
			diag_add(d, path, no,
			    "identity contains a control "
			    "character (%s at offset %zu)",
			    show_byte(c, b, sizeof(b)), i);
			return -1;
		}
	}
	return 0;
}

/*
 * Check the hex key of identity id (printable, NUL-terminated copy) on line
 * no; 0 if usable, else -1 after reporting it without any of its digits.
 */
static int
check_key(const char *key, size_t len, const char *id, const char *path, int no,
    struct diag *d)
{
	char b[16];
	size_t i;

	if (len == 0) {
		diag_add(d, path, no, "psk key for '%s' is empty", id);
		return -1;
	}
	for (i = 0; i < len; i++) {
		if (hex_digit((unsigned char)key[i]) < 0) {
			diag_add(d, path, no,
			    "psk key for '%s' is not hex (bad digit %s)", id,
			    show_byte((unsigned char)key[i], b, sizeof(b)));
			return -1;
		}
	}
	if (len % 2 != 0) {
		diag_add(d, path, no,
		    "psk key for '%s' has an odd number of hex digits (%zu)",
		    id, len);
		return -1;
	}
	if (len / 2 > PSK_KEY_MAX) {
		diag_add(d, path, no,
		    "psk key for '%s' is %zu bytes, longest "
		    "allowed is %d (%d hex digits)",
		    id, len / 2, PSK_KEY_MAX, 2 * PSK_KEY_MAX);
		return -1;
	}
	return 0;
}

/* One non-blank, non-comment line. Returns -1 only when out of memory. */
static int
psk_line(struct psk_impl *im, const char *s, size_t len, const char *path,
    int no, struct diag *d)
{
	const char *colon = NULL, *id, *key;
	size_t idlen, keylen, i, at, first;
	struct psk_entry *e;
	char idbuf[PSK_IDENTITY_MAX + 1];
	size_t hash;

	for (i = len; i > 0; i--) {
		if (s[i - 1] == ':') {
			colon = s + i - 1;
			break;
		}
	}
	if (colon == NULL) {
		diag_add(d, path, no, "expected 'identity:hexkey'");
		return 0;
	}
	id = s;
	idlen = (size_t)(colon - s);
	while (idlen > 0 && (id[idlen - 1] == ' ' || id[idlen - 1] == '\t'))
		idlen--;
	key = colon + 1;
	keylen = len - (size_t)(key - s);
	while (keylen > 0 && (*key == ' ' || *key == '\t')) {
		key++;
		keylen--;
	}
	if (check_identity(id, idlen, path, no, d) != 0)
		return 0;
	memcpy(idbuf, id, idlen);
	idbuf[idlen] = '\0';
	if (check_key(key, keylen, idbuf, path, no, d) != 0)
		return 0;

	hash = identity_hash(id, idlen);
	if (im->nslots == 0 && index_grow(im) != 0)
		return -1;
	first = index_lookup(im, id, idlen, hash, &at);
	if (first != SLOT_EMPTY) {
		diag_add(d, path, no,
		    "duplicate identity '%s' (first on line %d)", idbuf,
		    im->lines[first]);
		return 0;
	}
	/* Keep the index at most half full. */
	if (im->pub.n + 1 > im->nslots / 2) {
		if (index_grow(im) != 0)
			return -1;
		at = index_free_slot(im, hash);
	}
	if (entries_grow(im) != 0)
		return -1;
	e = &im->pub.v[im->pub.n];
	if ((e->identity = strdup(idbuf)) == NULL)
		return -1;
	for (i = 0; i < keylen / 2; i++)
		e->key[i] =
		    (unsigned char)(hex_digit((unsigned char)key[2 * i]) << 4 |
				    hex_digit((unsigned char)key[2 * i + 1]));
	e->key_len = keylen / 2;
	im->lines[im->pub.n] = no;
	im->slots[at].hash = hash;
	im->slots[at].idx = im->pub.n;
	im->pub.n++;
	return 0;
}

struct psk_table *
psk_parse(const char *text, size_t len, const char *path, struct diag *d)
{
	struct line_iter it;
	size_t before = diag_count(d), slen;
	struct psk_impl *im;
	const char *s;

	if (text == NULL)
		text = "", len = 0;
	it = (struct line_iter){ text, text + len, 0 };
	if ((im = calloc(1, sizeof(*im))) == NULL) {
		diag_add(d, path, 0, "out of memory");
		return NULL;
	}
	while (next_line(&it, &s, &slen)) {
		if (skip_line(s, slen))
			continue;
		if (psk_line(im, s, slen, path, it.no, d) != 0) {
			diag_add(d, path, it.no, "out of memory");
			goto fail;
		}
	}
	if (im->pub.n == 0 && diag_count(d) == before)
		diag_add(d, path, 0,
		    "no psk entries (expected lines 'identity:hexkey')");
	if (diag_count(d) != before)
		goto fail;
	free(im->lines);
	im->lines = NULL;
	if (im->pub.n <= PSK_LINEAR_MAX) {
		free(im->slots);
		im->slots = NULL;
		im->nslots = 0;
	}
	return &im->pub;
fail:
	psk_table_free(&im->pub);
	return NULL;
}

const struct psk_entry *
psk_find(const struct psk_table *t, const char *identity, size_t len)
{
	const struct psk_impl *im = (const struct psk_impl *)t;
	size_t i;

	if (t == NULL || len == 0 || len > PSK_IDENTITY_MAX)
		return NULL;
	if (im->slots == NULL) {
		for (i = 0; i < t->n; i++)
			if (identity_eq(&t->v[i], identity, len))
				return &t->v[i];
		return NULL;
	}
	i = index_lookup(im, identity, len, identity_hash(identity, len), NULL);
	return i == SLOT_EMPTY ? NULL : &t->v[i];
}

void
psk_table_free(struct psk_table *t)
{
	struct psk_impl *im = (struct psk_impl *)t;
	size_t i;

	if (t == NULL)
		return;
	for (i = 0; i < t->n; i++)
		free(t->v[i].identity);
	if (t->v != NULL)
		wipe(t->v, im->cap * sizeof(*t->v));
	free(t->v);
	free(im->slots);
	free(im->lines);
	free(im);
}

/* --- base64 --- */

static int
b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/*
 * Check that s is canonical RFC 4648 base64 with '=' padding: a multiple of
 * 4 characters from the standard alphabet, at most two '=' and only at the
 * end, and zero bits in the last character before them. Returns the decoded
 * length, or -1 with a reason in why (never quoting a valid character).
 */
static long
b64_check(const char *s, size_t len, char *why, size_t cap)
{
	size_t i, pad = 0;
	char b[16];

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '=') {
			if (pad == 0 && i + 2 < len) {
				snprintf(why, cap, "'=' before the end");
				return -1;
			}
			pad++;
		} else if (b64_value(c) < 0) {
			snprintf(why, cap, "bad character %s",
			    show_byte(c, b, sizeof(b)));
			return -1;
		} else if (pad > 0) {
			snprintf(why, cap, "'=' before the end");
			return -1;
		}
	}
	if (len % 4 != 0) {
		snprintf(why, cap,
		    "length %zu is not a multiple of 4; '=' "
		    "padding is required",
		    len);
		return -1;
	}
	if (len / 4 > LONG_MAX / 3) {
		snprintf(why, cap, "too long");
		return -1;
	}
	/* The bits '=' stands in for must be zero in a canonical encoding. */
	if ((pad == 1 && (b64_value((unsigned char)s[len - 2]) & 0x3) != 0) ||
	    (pad == 2 && (b64_value((unsigned char)s[len - 3]) & 0xf) != 0)) {
		snprintf(why, cap, "non-zero padding bits");
		return -1;
	}
	return (long)(len / 4 * 3 - pad);
}

/* Decode what b64_check accepted into out (room for its result). */
static void
b64_decode(const char *s, size_t len, unsigned char *out)
{
	uint32_t acc = 0;
	size_t i, o = 0;
	int bits = 0;

	for (i = 0; i < len && s[i] != '='; i++) {
		acc = (acc << 6) | (uint32_t)b64_value((unsigned char)s[i]);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (unsigned char)(acc >> bits);
		}
	}
}

/* --- ticket_key_file --- */

struct ticket_keys *
ticket_keys_parse(
    const char *text, size_t len, const char *path, struct diag *d)
{
	struct line_iter it;
	size_t before = diag_count(d), cap = 0, slen, i;
	unsigned char buf[TICKET_KEY_LEN];
	struct ticket_keys *t = NULL;
	int *lines = NULL;
	char why[80];
	const char *s;
	long n;

	if (text == NULL)
		text = "", len = 0;
	/* Every key line is a candidate; count them to size the array. */
	it = (struct line_iter){ text, text + len, 0 };
	while (next_line(&it, &s, &slen))
		if (!skip_line(s, slen))
			cap++;
	if (cap > (SIZE_MAX - sizeof(*t)) / sizeof(t->k[0]) ||
	    cap > SIZE_MAX / sizeof(*lines))
		goto oom;
	if ((t = calloc(1, sizeof(*t) + cap * sizeof(t->k[0]))) == NULL)
		goto oom;
	if (cap > 0 && (lines = calloc(cap, sizeof(*lines))) == NULL)
		goto oom;

	it = (struct line_iter){ text, text + len, 0 };
	while (next_line(&it, &s, &slen)) {
		if (skip_line(s, slen))
			continue;
		if ((n = b64_check(s, slen, why, sizeof(why))) < 0) {
			diag_add(d, path, it.no, "not valid base64 (%s)", why);
			continue;
		}
		if (n != TICKET_KEY_LEN) {
			diag_add(d, path, it.no,
			    "ticket key is %ld bytes after "
			    "base64 decoding, expected %d",
			    n, TICKET_KEY_LEN);
			continue;
		}
		b64_decode(s, slen, buf);
		for (i = 0; i < t->n; i++)
			if (memcmp(t->k[i].name, buf, TICKET_KEY_NAME_LEN) == 0)
				break;
		if (i < t->n) {
			diag_add(d, path, it.no,
			    "duplicate ticket key name (first on line %d)",
			    lines[i]);
			continue;
		}
		memcpy(t->k[t->n].name, buf, TICKET_KEY_NAME_LEN);
		memcpy(t->k[t->n].hmac, buf + TICKET_KEY_NAME_LEN,
		    TICKET_KEY_HMAC_LEN);
		memcpy(t->k[t->n].aes,
		    buf + TICKET_KEY_NAME_LEN + TICKET_KEY_HMAC_LEN,
		    TICKET_KEY_AES_LEN);
		lines[t->n++] = it.no;
	}
	wipe(buf, sizeof(buf));
	free(lines);
	if (t->n == 0 && diag_count(d) == before)
		diag_add(d, path, 0,
		    "no ticket keys (expected one base64 key "
		    "of %d bytes per line)",
		    TICKET_KEY_LEN);
	if (diag_count(d) != before) {
		ticket_keys_free(t);
		return NULL;
	}
	return t;
oom:
	diag_add(d, path, 0, "out of memory");
	free(lines);
	ticket_keys_free(t);
	return NULL;
}

const struct ticket_key *
ticket_keys_find(
    const struct ticket_keys *t, const unsigned char *name, size_t *index)
{
	size_t i;

	if (t == NULL)
		return NULL;
	for (i = 0; i < t->n; i++) {
		if (memcmp(t->k[i].name, name, TICKET_KEY_NAME_LEN) == 0) {
			if (index != NULL)
				*index = i;
			return &t->k[i];
		}
	}
	return NULL;
}

void
ticket_keys_free(struct ticket_keys *t)
{
	if (t == NULL)
		return;
	wipe(t->k, t->n * sizeof(t->k[0]));
	free(t);
}
