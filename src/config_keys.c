/*
 * config_keys.c: the table of every configuration key with its default, its
 * setter and a one-line doc, and the setters themselves. A setter parses one
 * value (through value.c or addr.c) and stores it; it knows nothing about
 * lines, files or diagnostics, which config.c adds around it.
 */
#include "build_config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "addr.h"
#include "compat.h"
#include "config.h"
#include "config_keys.h"
#include "proxyv2.h"
#include "sni.h"
#include "value.h"

#define DURATION_MAX_MS (7L * 24 * 60 * 60 * 1000)
#define TIMEOUT_MAX_MS (60L * 60 * 1000)

static int
bad(const char **why, const char *reason)
{
	*why = reason;
	return -1;
}

/*
 * The directory part of path in the manner of dirname(3), without modifying
 * path: sets *len and returns where it starts ("." when there is none).
 */
static const char *
dir_of(const char *path, size_t *len)
{
	size_t n;

	if (path == NULL)
		goto dot;
	n = strlen(path);
	while (n > 1 && path[n - 1] == '/')
		n--;
	while (n > 0 && path[n - 1] != '/')
		n--;
	if (n == 0)
		goto dot;
	while (n > 1 && path[n - 1] == '/')
		n--;
	*len = n;
	return path;
dot:
	*len = 1;
	return ".";
}

/*
 * A file name from the config, made relative to the directory of the config
 * file so that the daemon finds it whatever its working directory is.
 */
static char *
resolve_path(const struct config *c, const char *value)
{
	const char *dir;
	size_t dlen, vlen;
	char *p;

	if (value[0] == '/')
		return strdup(value);
	dir = dir_of(c->path, &dlen);
	vlen = strlen(value);
	if ((p = malloc(dlen + 1 + vlen + 1)) == NULL)
		return NULL;
	memcpy(p, dir, dlen);
	if (dir[dlen - 1] != '/')
		p[dlen++] = '/';
	memcpy(p + dlen, value, vlen + 1);
	return p;
}

/* Replace *dst with a copy of value (a resolved path if is_path); an empty
 * value stores NULL when allowed and is refused otherwise. */
static int
set_str(const struct config *c, char **dst, const char *value, bool is_path,
    bool empty_ok, const char **why)
{
	char *s = NULL;

	if (*value == '\0') {
		if (!empty_ok)
			return bad(why, "expected a file name");
	} else {
		s = is_path ? resolve_path(c, value) : strdup(value);
		if (s == NULL)
			return -2;
	}
	free(*dst);
	*dst = s;
	return 0;
}

static int
set_long(const char *value, long min, long max, long *out, const char **why,
    const char *reason)
{
	if (value_long(value, min, max, out, NULL) == -1)
		return bad(why, reason);
	return 0;
}

static int
set_duration(const char *value, long min, long max, long *out,
    const char **why, const char *reason)
{
	if (value_duration_ms(value, min, max, out, NULL) == -1)
		return bad(why, reason);
	return 0;
}

/* [global] */

static int
set_workers(struct config *c, const struct config_target *to MQ_UNUSED,
    const char *value, const char **why)
{
	long v;

	if (strcmp(value, "auto") == 0) {
		c->global.workers = 0;
		return 0;
	}
	if (set_long(value, 1, 256, &v, why,
	    "expected auto or an integer from 1 to 256") == -1)
		return -1;
	c->global.workers = (int)v;
	return 0;
}

static int
set_max_connections(struct config *c, const struct config_target *to MQ_UNUSED,
    const char *value, const char **why)
{
	return set_long(value, 1, 10000000, &c->global.max_connections, why,
	    "expected an integer from 1 to 10000000");
}

#define TIMEOUT_REASON \
	"expected a duration from 1ms to 1h, such as 10 (seconds), 500ms or 2m"
#define INTERVAL_REASON \
	"expected a duration from 0 to 7 days, such as 0, 90 (seconds), " \
	"500ms, 2m or 1h"

static int
set_handshake_timeout(struct config *c, const struct config_target *to MQ_UNUSED,
    const char *value, const char **why)
{
	return set_duration(value, 1, TIMEOUT_MAX_MS,
	    &c->global.handshake_timeout_ms, why, TIMEOUT_REASON);
}

static int
set_connect_timeout(struct config *c, const struct config_target *to MQ_UNUSED,
    const char *value, const char **why)
{
	return set_duration(value, 1, TIMEOUT_MAX_MS,
	    &c->global.connect_timeout_ms, why, TIMEOUT_REASON);
}

static int
set_idle_timeout(struct config *c, const struct config_target *to MQ_UNUSED,
    const char *value, const char **why)
{
	return set_duration(value, 0, DURATION_MAX_MS,
	    &c->global.idle_timeout_ms, why, INTERVAL_REASON);
}

static int
set_drain_timeout(struct config *c, const struct config_target *to MQ_UNUSED,
    const char *value, const char **why)
{
	return set_duration(value, 0, DURATION_MAX_MS,
	    &c->global.drain_timeout_ms, why, INTERVAL_REASON);
}

static int
set_reload_interval(struct config *c, const struct config_target *to MQ_UNUSED,
    const char *value, const char **why)
{
	return set_duration(value, 0, DURATION_MAX_MS,
	    &c->global.reload_interval_ms, why, INTERVAL_REASON);
}

static int
set_log_level(struct config *c, const struct config_target *to MQ_UNUSED,
    const char *value, const char **why)
{
	int v;

	if (value_enum(value, config_log_level_names, &v, NULL) == -1)
		return bad(why, "expected error, warn, info or debug");
	c->global.log_level = (enum log_level)v;
	return 0;
}

/* [listener NAME] and [cert NAME] */

static int
set_bind(struct config *c MQ_UNUSED, const struct config_target *to,
    const char *value, const char **why)
{
	struct listener_conf *l = to->l;
	struct addr a, *binds;
	int *lines;

	if (strncmp(value, ADDR_UNIX_PREFIX, strlen(ADDR_UNIX_PREFIX)) == 0)
		return bad(why, "a UNIX socket cannot be bound; bind takes "
				"host:port");
	if (addr_parse(value, &a, why) == -1)
		return -1;
	/* Grow both arrays before counting the new entry, so that a failure
	 * in between leaves a consistent listener for config_free(). */
	binds = realloc(l->binds, (l->nbinds + 1) * sizeof(*binds));
	if (binds == NULL)
		return -2;
	l->binds = binds;
	lines = realloc(l->bind_lines, (l->nbinds + 1) * sizeof(*lines));
	if (lines == NULL)
		return -2;
	l->bind_lines = lines;
	l->binds[l->nbinds] = a;
	l->bind_lines[l->nbinds] = 0; /* config.c fills in the line */
	l->nbinds++;
	return 0;
}

bool
config_section_name_ok(const char *s)
{
	size_t n;

	for (n = 0; s[n] != '\0'; n++)
		if (!((s[n] >= 'a' && s[n] <= 'z') ||
		    (s[n] >= 'A' && s[n] <= 'Z') ||
		    (s[n] >= '0' && s[n] <= '9') || s[n] == '_' ||
		    s[n] == '.' || s[n] == '-'))
			return false;
	return n >= 1 && n <= CONFIG_NAME_MAX;
}

/*
 * An address as before ("1.2.3.4:1883", "[::1]:1883", "unix:/path": anything
 * with a ':' or a '['), or the name of an [upstream NAME] pool, which
 * config.c looks up once every section is read.
 */
static int
set_upstream(struct config *c MQ_UNUSED, const struct config_target *to,
    const char *value, const char **why)
{
	struct listener_conf *l = to->l;
	struct addr a;
	char *pool;

	if (*value == '\0' || strchr(value, ':') != NULL ||
	    strchr(value, '[') != NULL) {
		if (addr_parse(value, &a, why) == -1)
			return -1;
		free(l->upstream_pool);
		l->upstream_pool = NULL;
		l->upstream = a;
		return 0;
	}
	if (!config_section_name_ok(value))
		return bad(why, "expected the name of an [upstream NAME] "
				"section, or an address such as "
				"127.0.0.1:1883");
	if ((pool = strdup(value)) == NULL)
		return -2;
	free(l->upstream_pool);
	l->upstream_pool = pool;
	memset(&l->upstream, 0, sizeof(l->upstream));
	return 0;
}

/* Setters that only store a string (a resolved path when is_path). */
#define STRING_SETTER(fn, field, is_path, empty_ok)                         \
	static int fn(struct config *c, const struct config_target *to,        \
	    const char *value, const char **why)                               \
	{                                                                      \
		return set_str(c, &to->t->field, value, is_path, empty_ok,     \
		    why);                                                      \
	}
#define LISTENER_STRING_SETTER(fn, field, is_path, empty_ok)                \
	static int fn(struct config *c, const struct config_target *to,        \
	    const char *value, const char **why)                               \
	{                                                                      \
		return set_str(c, &to->l->field, value, is_path, empty_ok,     \
		    why);                                                      \
	}

STRING_SETTER(set_certfile, certfile, true, false)
STRING_SETTER(set_keyfile, keyfile, true, false)
STRING_SETTER(set_key_password, key_password, false, true)
STRING_SETTER(set_cacertfile, cacertfile, true, true)
STRING_SETTER(set_ciphers, ciphers, false, true)
STRING_SETTER(set_ciphersuites, ciphersuites, false, true)
STRING_SETTER(set_groups, groups, false, true)
STRING_SETTER(set_crlfile, crlfile, true, true)
STRING_SETTER(set_ocsp_issuer_file, ocsp_issuer_file, true, true)
STRING_SETTER(set_ocsp_staple_file, ocsp_staple_file, true, true)
LISTENER_STRING_SETTER(set_certdir, certdir, true, true)
LISTENER_STRING_SETTER(set_psk_file, psk_file, true, true)
LISTENER_STRING_SETTER(set_ticket_key_file, ticket_key_file, true, true)

static int
set_verify(struct config *c MQ_UNUSED, const struct config_target *to,
    const char *value, const char **why)
{
	int v;

	if (value_enum(value, config_verify_names, &v, NULL) == -1)
		return bad(why, "expected verify_none or verify_peer");
	to->t->verify = (enum tls_verify)v;
	return 0;
}

static int
set_fail_if_no_peer_cert(struct config *c MQ_UNUSED,
    const struct config_target *to, const char *value, const char **why)
{
	return value_bool(value, &to->t->fail_if_no_peer_cert, why);
}

static int
set_depth(struct config *c MQ_UNUSED, const struct config_target *to,
    const char *value, const char **why)
{
	long v;

	if (set_long(value, 0, 100, &v, why,
	    "expected an integer from 0 to 100") == -1)
		return -1;
	to->t->depth = (int)v;
	return 0;
}

static int
set_versions(struct config *c MQ_UNUSED, const struct config_target *to,
    const char *value, const char **why)
{
	if (*value == '\0')
		return bad(why, "expected a list such as tlsv1.3,tlsv1.2");
	return value_tls_versions(value, &to->t->versions, why);
}

void
config_strv_free(char **v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/*
 * Split a comma-separated list into trimmed items, checking each with ok
 * (which may rewrite it in place, at most as long). Empty items are refused.
 */
static int
split_list(const char *value, char ***out, size_t *nout,
    int (*ok)(char *item, const char **why), const char **why)
{
	char **v = NULL, **nv;
	size_t n = 0;
	const char *p = value;

	if (*value == '\0')
		return bad(why, "expected a comma-separated list");
	for (;;) {
		const char *e = strchr(p, ',');
		const char *a = p, *z = e != NULL ? e : p + strlen(p);
		char *item;

		while (a < z && (*a == ' ' || *a == '\t'))
			a++;
		while (z > a && (z[-1] == ' ' || z[-1] == '\t'))
			z--;
		if (a == z) {
			config_strv_free(v, n);
			return bad(why, "empty item in the list");
		}
		if ((item = strndup(a, (size_t)(z - a))) == NULL ||
		    (nv = realloc(v, (n + 1) * sizeof(*v))) == NULL) {
			free(item);
			config_strv_free(v, n);
			return -2;
		}
		v = nv;
		v[n++] = item;
		if (ok != NULL && ok(item, why) == -1) {
			config_strv_free(v, n);
			return -1;
		}
		if (e == NULL)
			break;
		p = e + 1;
	}
	*out = v;
	*nout = n;
	return 0;
}

static int
section_name_ok(char *item, const char **why)
{
	size_t i;

	for (i = 0; item[i] != '\0'; i++)
		if (!((item[i] >= 'a' && item[i] <= 'z') ||
		    (item[i] >= 'A' && item[i] <= 'Z') ||
		    (item[i] >= '0' && item[i] <= '9') || item[i] == '_' ||
		    item[i] == '.' || item[i] == '-'))
			return bad(why, "not a [cert NAME] name");
	return 0;
}

static int
set_certs(struct config *c MQ_UNUSED, const struct config_target *to,
    const char *value, const char **why)
{
	struct listener_conf *l = to->l;
	char **v;
	size_t n, i, j;
	int r;

	if (*value == '\0') {
		v = NULL;
		n = 0;
	} else if ((r = split_list(value, &v, &n, section_name_ok, why)) !=
	    0) {
		return r;
	}
	for (i = 0; i < n; i++)
		for (j = 0; j < i; j++)
			if (strcmp(v[i], v[j]) == 0) {
				config_strv_free(v, n);
				return bad(why, "a bundle is named twice");
			}
	config_strv_free(l->certs, l->ncerts);
	free(l->cert_idx);
	l->cert_idx = NULL;
	l->certs = v;
	l->ncerts = n;
	return 0;
}

static int
sni_name_ok(char *item, const char **why)
{
	char norm[SNI_NAME_MAX + 1];
	int r = sni_normalize(item, strlen(item), true, norm, sizeof(norm));

	if (r < 0)
		return bad(why, sni_strerror(r));
	memcpy(item, norm, (size_t)r + 1);
	return 0;
}

static int
set_sni(struct config *c MQ_UNUSED, const struct config_target *to,
    const char *value, const char **why)
{
	struct cert_conf *b = to->b;
	char **v;
	size_t n;
	int r;

	if (*value == '\0') {
		v = NULL;
		n = 0;
	} else if ((r = split_list(value, &v, &n, sni_name_ok, why)) != 0) {
		return r;
	}
	config_strv_free(b->sni, b->nsni);
	b->sni = v;
	b->nsni = n;
	return 0;
}

#define BOOL_SETTER(fn, obj, field)                                          \
	static int fn(struct config *c MQ_UNUSED,                              \
	    const struct config_target *to, const char *value,                 \
	    const char **why)                                                  \
	{                                                                      \
		return value_bool(value, &to->obj->field, why);                \
	}

BOOL_SETTER(set_sni_strict, l, sni_strict)
BOOL_SETTER(set_crl_fetch, l, crl_fetch)
BOOL_SETTER(set_ocsp_stapling, t, ocsp_stapling)
BOOL_SETTER(set_session_tickets, l, session_tickets)
BOOL_SETTER(set_alpn_strict, l, alpn_strict)

static const char *const crl_check_names[] = { "leaf", "chain", NULL };
static const char *const crl_missing_names[] = { "reject", "accept", NULL };

static int
set_crl_check(struct config *c MQ_UNUSED, const struct config_target *to,
    const char *value, const char **why)
{
	int v;

	if (value_enum(value, crl_check_names, &v, NULL) == -1)
		return bad(why, "expected leaf or chain");
	to->t->crl_chain = v == 1;
	return 0;
}

static int
set_crl_missing(struct config *c MQ_UNUSED, const struct config_target *to,
    const char *value, const char **why)
{
	int v;

	if (value_enum(value, crl_missing_names, &v, NULL) == -1)
		return bad(why, "expected reject or accept");
	to->l->crl_missing_accept = v == 1;
	return 0;
}

#define REFRESH_REASON \
	"expected a duration from 1s to 7 days, such as 900 (seconds) or 15m"

static int
set_crl_refresh_interval(struct config *c MQ_UNUSED,
    const struct config_target *to, const char *value, const char **why)
{
	return set_duration(value, 1000, DURATION_MAX_MS,
	    &to->l->crl_refresh_ms, why, REFRESH_REASON);
}

static int
set_crl_fetch_timeout(struct config *c MQ_UNUSED,
    const struct config_target *to, const char *value, const char **why)
{
	return set_duration(value, 1, TIMEOUT_MAX_MS,
	    &to->l->crl_fetch_timeout_ms, why, TIMEOUT_REASON);
}

static int
set_ocsp_refresh_interval(struct config *c MQ_UNUSED,
    const struct config_target *to, const char *value, const char **why)
{
	return set_duration(value, 1000, DURATION_MAX_MS,
	    &to->t->ocsp_refresh_ms, why, REFRESH_REASON);
}

static int
set_ocsp_responder_url(struct config *c, const struct config_target *to,
    const char *value, const char **why)
{
	if (*value != '\0' && strncmp(value, "http://", 7) != 0)
		return bad(why, "expected an http:// URL");
	return set_str(c, &to->t->ocsp_responder_url, value, false, true,
	    why);
}

static int
set_session_cache_size(struct config *c MQ_UNUSED,
    const struct config_target *to, const char *value, const char **why)
{
	return set_long(value, 0, 10000000, &to->l->session_cache_size, why,
	    "expected an integer from 0 (off) to 10000000");
}

static int
set_session_timeout(struct config *c MQ_UNUSED,
    const struct config_target *to, const char *value, const char **why)
{
	return set_duration(value, 1000, DURATION_MAX_MS,
	    &to->l->session_timeout_ms, why, REFRESH_REASON);
}

static int
set_allow(const struct config_target *to, enum allow_kind kind,
    const char *value, const char **why)
{
	struct allow_list *a = NULL;
	int r;

	if (*value != '\0' && (r = allow_list_parse(value, &a, why)) != 0)
		return r;
	allow_list_free(to->t->allow[kind]);
	to->t->allow[kind] = a;
	return 0;
}

#define ALLOW_SETTER(fn, kind)                                               \
	static int fn(struct config *c MQ_UNUSED,                              \
	    const struct config_target *to, const char *value,                 \
	    const char **why)                                                  \
	{                                                                      \
		return set_allow(to, kind, value, why);                        \
	}

ALLOW_SETTER(set_allow_cn, ALLOW_CN)
ALLOW_SETTER(set_allow_ou, ALLOW_OU)
ALLOW_SETTER(set_allow_san_dns, ALLOW_SAN_DNS)
ALLOW_SETTER(set_allow_san_uri, ALLOW_SAN_URI)

static int
alpn_name_ok(char *item, const char **why)
{
	size_t i, n = strlen(item);

	if (n > 255)
		return bad(why, "a protocol name is longer than 255 bytes");
	for (i = 0; i < n; i++)
		if ((unsigned char)item[i] <= ' ' || (unsigned char)item[i] > '~')
			return bad(why, "a protocol name has a blank or a "
					"non-printable character");
	return 0;
}

static int
set_alpn(struct config *c MQ_UNUSED, const struct config_target *to,
    const char *value, const char **why)
{
	struct listener_conf *l = to->l;
	unsigned char *wire = NULL;
	size_t n = 0, i, len = 0;
	char **v = NULL;
	int r;

	if (*value != '\0') {
		if ((r = split_list(value, &v, &n, alpn_name_ok, why)) != 0)
			return r;
		for (i = 0; i < n; i++)
			len += 1 + strlen(v[i]);
		if (len > 65535) {
			config_strv_free(v, n);
			return bad(why, "the list is longer than 65535 bytes");
		}
		if ((wire = malloc(len)) == NULL) {
			config_strv_free(v, n);
			return -2;
		}
		len = 0;
		for (i = 0; i < n; i++) {
			size_t k = strlen(v[i]);

			wire[len++] = (unsigned char)k;
			memcpy(wire + len, v[i], k);
			len += k;
		}
		config_strv_free(v, n);
	}
	free(l->alpn);
	l->alpn = wire;
	l->alpn_len = len;
	return 0;
}

/* PROXY protocol out and in, MQTT identity binding */

/* Set and test bit t (a TLV type) of a 256-bit map. */
#define TLV_SET(map, t) ((map)[(t) / 8] |= (uint8_t)(1u << ((t) % 8)))
#define TLV_ISSET(map, t) (((map)[(t) / 8] >> ((t) % 8)) & 1u)

static const char *const proxy_out_names[] = { "off", "v1", "v2", NULL };
/* Indexed by enum proxy_in. */
static const char *const proxy_in_names[] = { "off", "v1", "v2", "any",
	NULL };
static const char *const mqtt_user_names[] = { "keep", "cn", "dn",
	"san_uri", "san_dns", "cert_sha256", "psk_identity", NULL };
static const char *const mqtt_cid_names[] = { "off", "cn", "san_uri",
	"username", NULL };


static int
set_proxy_protocol(struct config *c MQ_UNUSED, const struct config_target *to,
    const char *value, const char **why)
{
	int v;

	if (value_enum(value, proxy_out_names, &v, NULL) == -1)
		return bad(why, "expected off, v1 or v2");
	to->l->proxy_protocol = (enum proxy_out)v;
	return 0;
}

static int
set_proxy_profile(struct config *c MQ_UNUSED, const struct config_target *to,
    const char *value, const char **why)
{
	int p;

	for (p = 0; p < PROXYV2_PROFILE_COUNT; p++)
		if (strcmp(value,
			proxyv2_profile_info((enum proxyv2_profile)p)->name) ==
		    0) {
			to->l->proxy_profile = p;
			return 0;
		}
	return bad(why, "expected generic, emqx, mosquitto, vernemq or hivemq");
}

static int
tlv_name_ok(char *item, const char **why)
{
	if (strcmp(item, "none") == 0 || proxyv2_tlv_bit(item) != 0)
		return 0;
	return bad(why, "unknown TLV (expected ssl, cn, cipher, sig_alg, "
			"key_alg, group, sig_scheme, client_cert, authority, "
			"alpn, crc32c, unique_id, dn, san_uri, san_dns, "
			"cert_sha256, serial, psk_identity, or none alone)");
}

static int
set_proxy_tlvs(struct config *c MQ_UNUSED, const struct config_target *to,
    const char *value, const char **why)
{
	uint32_t bits = 0;
	char **v;
	size_t n, i;
	int r;

	if (*value == '\0') {
		to->l->proxy_tlvs = 0;
		return 0;
	}
	if ((r = split_list(value, &v, &n, tlv_name_ok, why)) != 0)
		return r;
	for (i = 0; i < n; i++) {
		/* tlv_name_ok let through a TLV name or "none" */
		uint32_t bit = proxyv2_tlv_bit(v[i]);

		if (bit == 0)
			bit = PROXYV2_T_NONE_SET;
		if ((bits & bit) != 0) {
			config_strv_free(v, n);
			return bad(why, "a TLV is named twice");
		}
		bits |= bit;
	}
	config_strv_free(v, n);
	if ((bits & PROXYV2_T_NONE_SET) != 0 && bits != PROXYV2_T_NONE_SET)
		return bad(why, "none cannot be combined with TLV names");
	to->l->proxy_tlvs = bits;
	return 0;
}

/* A TLV type: 0x hex or decimal, in [min, max]. */
static int
tlv_type(const char *s, unsigned min, unsigned max, unsigned *out)
{
	unsigned long n = 0;
	int base = 10, nd = 0;

	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s += 2;
	}
	for (; *s != '\0'; s++, nd++) {
		int dv;

		if (*s >= '0' && *s <= '9')
			dv = *s - '0';
		else if (base == 16 && *s >= 'a' && *s <= 'f')
			dv = *s - 'a' + 10;
		else if (base == 16 && *s >= 'A' && *s <= 'F')
			dv = *s - 'A' + 10;
		else
			return -1;
		n = n * (unsigned long)base + (unsigned long)dv;
		if (n > max)
			return -1;
	}
	if (nd == 0 || n < min)
		return -1;
	*out = (unsigned)n;
	return 0;
}

static int
set_proxy_custom_tlv_base(struct config *c MQ_UNUSED,
    const struct config_target *to, const char *value, const char **why)
{
	if (tlv_type(value, CONFIG_CUSTOM_BASE_MIN, CONFIG_CUSTOM_BASE_MAX,
		&to->l->proxy_custom_base) == -1)
		return bad(why, "expected a TLV type from 0xE0 to 0xEA (224 to "
				"234)");
	return 0;
}

static int
set_proxy_max_header(struct config *c MQ_UNUSED,
    const struct config_target *to, const char *value, const char **why)
{
	long v;

	if (value_long(value, 0, CONFIG_PROXY_HEADER_MAX, &v, NULL) == -1 ||
	    (v != 0 && v < CONFIG_PROXY_HEADER_MIN))
		return bad(why, "expected 0 (no limit) or a size from 232 to "
				"65551 bytes");
	to->l->proxy_max_header = v;
	return 0;
}

static int
set_accept_proxy(struct config *c MQ_UNUSED, const struct config_target *to,
    const char *value, const char **why)
{
	int v;

	if (value_enum(value, proxy_in_names, &v, NULL) == -1)
		return bad(why, "expected off, v1, v2 or any");
	to->l->accept_proxy = (unsigned)v;
	return 0;
}

static int
cidr_ok(char *item, const char **why)
{
	struct cidr cd;

	return addr_cidr_parse(item, &cd, why);
}

static int
set_trusted_proxies(struct config *c MQ_UNUSED,
    const struct config_target *to, const char *value, const char **why)
{
	struct listener_conf *l = to->l;
	struct cidr *cv = NULL;
	char **v = NULL;
	size_t n = 0, i;
	int r;

	if (*value != '\0') {
		if ((r = split_list(value, &v, &n, cidr_ok, why)) != 0)
			return r;
		if ((cv = calloc(n, sizeof(*cv))) == NULL) {
			config_strv_free(v, n);
			return -2;
		}
		for (i = 0; i < n; i++)
			(void)addr_cidr_parse(v[i], &cv[i], NULL);
		config_strv_free(v, n);
	}
	free(l->trusted);
	l->trusted = cv;
	l->ntrusted = n;
	return 0;
}

static int
set_proxy_header_timeout(struct config *c MQ_UNUSED,
    const struct config_target *to, const char *value, const char **why)
{
	return set_duration(value, 1, TIMEOUT_MAX_MS,
	    &to->l->proxy_header_timeout_ms, why, TIMEOUT_REASON);
}

static int
tlv_type_ok(char *item, const char **why)
{
	unsigned t;

	if (tlv_type(item, 0x01, 0xFF, &t) == -1)
		return bad(why, "expected TLV types from 0x01 to 0xFF, such as "
				"0xEA or 234");
	return 0;
}

static int
set_proxy_pass_tlvs(struct config *c MQ_UNUSED,
    const struct config_target *to, const char *value, const char **why)
{
	uint8_t map[sizeof(to->l->pass_tlvs)];
	char **v;
	size_t n, i;
	unsigned t;
	int r;

	memset(map, 0, sizeof(map));
	if (*value != '\0') {
		if ((r = split_list(value, &v, &n, tlv_type_ok, why)) != 0)
			return r;
		for (i = 0; i < n; i++) {
			(void)tlv_type(v[i], 0x01, 0xFF, &t); /* checked */
			if (TLV_ISSET(map, t)) {
				config_strv_free(v, n);
				return bad(why, "a TLV type is given twice");
			}
			/* The sender's network namespace means nothing on
			 * the broker's host. */
			if (t == PP2_TYPE_NETNS) {
				config_strv_free(v, n);
				return bad(why, "0x30 (NETNS) names a network "
						"namespace of the sender's host; "
						"it is not passed on");
			}
			TLV_SET(map, t);
		}
		config_strv_free(v, n);
	}
	memcpy(to->l->pass_tlvs, map, sizeof(map));
	return 0;
}

static int
set_mqtt_username(struct config *c MQ_UNUSED, const struct config_target *to,
    const char *value, const char **why)
{
	int v;

	if (value_enum(value, mqtt_user_names, &v, NULL) == -1)
		return bad(why, "expected keep, cn, dn, san_uri, san_dns, "
				"cert_sha256 or psk_identity");
	to->l->mqtt_username = (enum mqtt_user_src)v;
	return 0;
}

#define MQTT_PASSWORD_FILE "file:"

static int
set_mqtt_password(struct config *c, const struct config_target *to,
    const char *value, const char **why)
{
	struct listener_conf *l = to->l;
	const char *path;
	char *file = NULL;

	if (strcmp(value, "keep") == 0) {
		l->mqtt_password = MQTT_PASS_KEEP;
	} else if (strcmp(value, "drop") == 0) {
		l->mqtt_password = MQTT_PASS_DROP;
	} else if (strncmp(value, MQTT_PASSWORD_FILE,
		       strlen(MQTT_PASSWORD_FILE)) == 0) {
		path = value + strlen(MQTT_PASSWORD_FILE);
		while (*path == ' ' || *path == '\t')
			path++;
		if (*path == '\0')
			return bad(why, "file: needs the path of the "
					"password file, as in "
					"file:/etc/mqgate/broker.pass");
		if ((file = resolve_path(c, path)) == NULL)
			return -2;
		l->mqtt_password = MQTT_PASS_FILE;
	} else {
		return bad(why, "expected keep, drop or file:PATH");
	}
	free(l->mqtt_password_file);
	l->mqtt_password_file = file;
	return 0;
}

static int
set_mqtt_clientid_must_match(struct config *c MQ_UNUSED,
    const struct config_target *to, const char *value, const char **why)
{
	int v;

	if (value_enum(value, mqtt_cid_names, &v, NULL) == -1)
		return bad(why, "expected off, cn, san_uri or username");
	to->l->mqtt_clientid_must_match = (enum mqtt_cid_match)v;
	return 0;
}

static int
set_mqtt_connect_timeout(struct config *c MQ_UNUSED,
    const struct config_target *to, const char *value, const char **why)
{
	return set_duration(value, 1, TIMEOUT_MAX_MS,
	    &to->l->mqtt_connect_timeout_ms, why, TIMEOUT_REASON);
}

static int
set_mqtt_max_connect(struct config *c MQ_UNUSED,
    const struct config_target *to, const char *value, const char **why)
{
	return set_long(value, 128, 16777216, &to->l->mqtt_max_connect, why,
	    "expected a size from 128 to 16777216 bytes");
}

/* [upstream NAME] */

#define SERVER_SYNTAX "expected host:port [weight=N] [backup]"

/* A reason of its own for -3 (see config_setter_fn), formatted into
 * to->msg; a static fallback when there is no room. */
static int say(const struct config_target *to, const char **why,
    const char *fmt, ...) MQ_PRINTF(3, 4);

static int
say(const struct config_target *to, const char **why, const char *fmt, ...)
{
	va_list ap;

	if (to->msg == NULL || to->msgcap == 0) {
		*why = "invalid server";
		return -3;
	}
	va_start(ap, fmt);
	vsnprintf(to->msg, to->msgcap, fmt, ap);
	va_end(ap);
	*why = to->msg;
	return -3;
}

static bool
is_digit(char ch)
{
	return ch >= '0' && ch <= '9';
}

static bool
is_alnum(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
	    is_digit(ch);
}

/*
 * Whether s is a plausible DNS host name: letters, digits, '-', '_' and
 * '.' ('_' is no RFC 1123 host name character, but Docker and Compose
 * service names have it and resolvers look such names up), labels of 1 to
 * 63 bytes that neither start nor end with '-', at most 253
 * bytes besides one final '.', and not all digits and dots (that would be
 * an IPv4 address). Sets *why otherwise.
 */
static bool
host_name_ok(const char *s, const char **why)
{
	size_t n = strlen(s), i, label = 0;
	bool alpha = false;

	if (n > 0 && s[n - 1] == '.')
		n--;
	if (n == 0) {
		*why = "missing host";
		return false;
	}
	if (n > CONFIG_HOST_MAX) {
		*why = "a host name is longer than 253 bytes";
		return false;
	}
	for (i = 0; i < n; i++) {
		if (s[i] == '.') {
			if (label == 0) {
				*why = "a host name has an empty label "
				       "(\"..\" or a leading '.')";
				return false;
			}
			if (s[i - 1] == '-') {
				*why = "a label of a host name ends with '-'";
				return false;
			}
			label = 0;
			continue;
		}
		if (!is_alnum(s[i]) && s[i] != '-' && s[i] != '_') {
			*why = "a host name has only letters, digits, '-', '_' "
			       "and '.'";
			return false;
		}
		if (label == 0 && s[i] == '-') {
			*why = "a label of a host name starts with '-'";
			return false;
		}
		if (++label > 63) {
			*why = "a label of a host name is longer than 63 bytes";
			return false;
		}
		if (!is_digit(s[i]))
			alpha = true;
	}
	if (label == 0) {
		*why = "a host name has an empty label (\"..\" or a leading "
		       "'.')";
		return false;
	}
	if (s[n - 1] == '-') {
		*why = "a label of a host name ends with '-'";
		return false;
	}
	if (!alpha) {
		*why = "invalid IPv4 address";
		return false;
	}
	return true;
}

/*
 * Split "host:port" (host a name, an IPv4 or an [IPv6] literal: digits and
 * dots are an IPv4 address or nothing) into sc:
 * host without brackets, port, and the address of a literal. Returns 0, or
 * -1 with *why set to a static reason.
 */
static int
parse_server_addr(const char *text, struct server_conf *sc, const char **why)
{
	const char *hs, *he, *colon;
	unsigned long port = 0;
	const char *p;

	if (strncmp(text, ADDR_UNIX_PREFIX, strlen(ADDR_UNIX_PREFIX)) == 0) {
		*why = "a pool takes host:port servers, not UNIX sockets";
		return -1;
	}
	if (*text == '[') {
		hs = text + 1;
		if ((he = strchr(hs, ']')) == NULL) {
			*why = "missing ']' after IPv6 address";
			return -1;
		}
		colon = he[1] == ':' ? he + 1 : NULL;
		if (colon == NULL && he[1] != '\0') {
			*why = "expected ':' and a port after ']'";
			return -1;
		}
	} else {
		hs = text;
		colon = strrchr(text, ':');
		if (colon != NULL &&
		    memchr(text, ':', (size_t)(colon - text)) != NULL) {
			*why = "IPv6 addresses must be in brackets, e.g. "
			       "[2001:db8::13]:1883";
			return -1;
		}
		he = colon != NULL ? colon : text + strlen(text);
	}
	if (he == hs) {
		*why = "missing host";
		return -1;
	}
	if (colon == NULL) {
		*why = "missing port (expected host:port)";
		return -1;
	}
	if (colon[1] == '\0') {
		*why = "missing port after ':'";
		return -1;
	}
	for (p = colon + 1; *p != '\0'; p++) {
		if (!is_digit(*p) || port > 65535) {
			port = 0;
			break;
		}
		port = port * 10 + (unsigned long)(*p - '0');
	}
	if (port == 0 || port > 65535) {
		*why = "port must be a number from 1 to 65535";
		return -1;
	}
	if ((sc->host = strndup(hs, (size_t)(he - hs))) == NULL)
		return -2;
	sc->port = (unsigned)port;
	memset(&sc->addr, 0, sizeof(sc->addr));
	/* A literal (any [v6], or digits and dots) must parse as one; the
	 * rest must look like a host name. */
	if (*text == '[' ||
	    (strspn(sc->host, "0123456789.") == strlen(sc->host) &&
		strpbrk(sc->host, "0123456789") != NULL)) {
		if (addr_parse(text, &sc->addr, why) == -1)
			goto fail;
	} else if (!host_name_ok(sc->host, why)) {
		goto fail;
	}
	return 0;
fail:
	free(sc->host);
	sc->host = NULL;
	return -1;
}

/* Whether a and b are one server: the same text, the same host name in
 * another case, or the same literal address (an IPv4 one and its
 * IPv4-mapped IPv6 form included). */
static bool
same_server(const struct server_conf *a, const struct server_conf *b)
{
	if (a->port != b->port)
		return false;
	if (a->addr.len != 0 || b->addr.len != 0)
		return addr_same_endpoint(&a->addr, &b->addr);
	return strcasecmp(a->host, b->host) == 0;
}

static void
server_clear(struct server_conf *sc)
{
	free(sc->text);
	free(sc->host);
}

/*
 * server = host:port [weight=N] [backup]; repeatable. The text is the first
 * word exactly as written. config.c sets the line of the new server.
 */
static int
set_server(struct config *c MQ_UNUSED, const struct config_target *to,
    const char *value, const char **why)
{
	struct upstream_conf *u = to->u;
	struct server_conf sc, *v;
	const char *p = value, *w;
	bool weight_seen = false;
	size_t n, i;
	long weight;
	int r;

	memset(&sc, 0, sizeof(sc));
	sc.weight = 1;
	n = strcspn(p, " \t");
	if (n == 0)
		return bad(why, SERVER_SYNTAX);
	if ((sc.text = strndup(p, n)) == NULL)
		return -2;
	if ((r = parse_server_addr(sc.text, &sc, why)) != 0) {
		if (r == -1)
			r = say(to, why, "invalid address '%s': %s", sc.text,
			    *why);
		goto fail;
	}
	for (p += n;; p += n) {
		char opt[CONFIG_MSG_MAX / 2];

		p += strspn(p, " \t");
		if (*p == '\0')
			break;
		n = strcspn(p, " \t");
		snprintf(opt, sizeof(opt), "%.*s", (int)n, p);
		if (strcmp(opt, "backup") == 0) {
			if (sc.backup) {
				r = say(to, why, "backup is given twice");
				goto fail;
			}
			sc.backup = true;
		} else if (strncmp(opt, "weight=", 7) == 0) {
			w = opt + 7;
			if (weight_seen) {
				r = say(to, why, "weight is given twice");
				goto fail;
			}
			if (value_long(w, 1, 256, &weight, NULL) == -1) {
				r = say(to, why, "weight must be 1..256");
				goto fail;
			}
			weight_seen = true;
			sc.weight = (int)weight;
		} else {
			r = say(to, why,
			    "unknown option '%s' (weight=N or backup)", opt);
			goto fail;
		}
	}
	for (i = 0; i < u->nservers; i++) {
		const struct server_conf *o = &u->servers[i];

		if (!same_server(o, &sc))
			continue;
		if (strcmp(o->text, sc.text) == 0)
			r = say(to, why, "duplicate server '%s' (first on "
			    "line %d)", sc.text, o->line);
		else
			r = say(to, why, "'%s' is the same server as '%s' on "
			    "line %d", sc.text, o->text, o->line);
		goto fail;
	}
	if ((v = realloc(u->servers, (u->nservers + 1) * sizeof(*v))) == NULL) {
		r = -2;
		goto fail;
	}
	u->servers = v;
	u->servers[u->nservers++] = sc;
	return 0;
fail:
	server_clear(&sc);
	return r;
}

static const char *const balance_reason =
    "expected roundrobin, leastconn, source or clientid";

static int
set_balance(struct config *c MQ_UNUSED, const struct config_target *to,
    const char *value, const char **why)
{
	int v;

	if (value_enum(value, config_balance_names, &v, NULL) == -1)
		return bad(why, balance_reason);
	to->u->balance = (enum balance_mode)v;
	return 0;
}

static int
set_hash(struct config *c MQ_UNUSED, const struct config_target *to,
    const char *value, const char **why)
{
	int v;

	if (value_enum(value, config_hash_names, &v, NULL) == -1)
		return bad(why, "expected rendezvous");
	to->u->hash = (enum hash_mode)v;
	return 0;
}

static int
set_health_check(struct config *c MQ_UNUSED, const struct config_target *to,
    const char *value, const char **why)
{
	int v;

	if (value_enum(value, config_health_names, &v, NULL) == -1)
		return bad(why, "expected none, tcp or mqtt");
	to->u->health_check = (enum health_mode)v;
	return 0;
}

static int
set_health_interval(struct config *c MQ_UNUSED,
    const struct config_target *to, const char *value, const char **why)
{
	return set_duration(value, 100, TIMEOUT_MAX_MS,
	    &to->u->health_interval_ms, why,
	    "expected a duration from 100ms to 1h, such as 5 (seconds) or "
	    "500ms");
}

static int
set_health_timeout(struct config *c MQ_UNUSED, const struct config_target *to,
    const char *value, const char **why)
{
	return set_duration(value, 1, TIMEOUT_MAX_MS, &to->u->health_timeout_ms,
	    why, TIMEOUT_REASON);
}

static int
set_count(const char *value, long min, long max, int *out, const char **why,
    const char *reason)
{
	long v;

	if (set_long(value, min, max, &v, why, reason) == -1)
		return -1;
	*out = (int)v;
	return 0;
}

static int
set_health_rise(struct config *c MQ_UNUSED, const struct config_target *to,
    const char *value, const char **why)
{
	return set_count(value, 1, 100, &to->u->health_rise, why,
	    "expected an integer from 1 to 100");
}

static int
set_health_fall(struct config *c MQ_UNUSED, const struct config_target *to,
    const char *value, const char **why)
{
	return set_count(value, 1, 100, &to->u->health_fall, why,
	    "expected an integer from 1 to 100");
}

static int
set_connect_retries(struct config *c MQ_UNUSED,
    const struct config_target *to, const char *value, const char **why)
{
	return set_count(value, 0, 15, &to->u->connect_retries, why,
	    "expected an integer from 0 to 15");
}

static int
set_resolve_interval(struct config *c MQ_UNUSED,
    const struct config_target *to, const char *value, const char **why)
{
	long v;

	if (value_duration_ms(value, 0, DURATION_MAX_MS, &v, NULL) == -1 ||
	    (v != 0 && v < 1000))
		return bad(why, "expected 0 (only at start) or a duration from "
				"1s to 7 days, such as 30 (seconds) or 5m");
	to->u->resolve_interval_ms = v;
	return 0;
}

#define G CONFIG_SECTION_GLOBAL
#define L CONFIG_SECTION_LISTENER
#define C CONFIG_SECTION_CERT
#define U CONFIG_SECTION_UPSTREAM, false

/* Listener keys a [cert] section may set too: the ones marked BC. */
#define LO L, false
#define BC L, true

const struct config_key config_keys[] = {
	{ G, false, "workers", GKEY_WORKERS, "auto", false, set_workers,
	    "event-loop threads: auto (one per CPU) or 1..256", false },
	{ G, false, "max_connections", GKEY_MAX_CONNECTIONS, "512000", false,
	    set_max_connections,
	    "connections open at once across all listeners, 1..10000000",
	    false },
	{ G, false, "handshake_timeout", GKEY_HANDSHAKE_TIMEOUT, "10", false,
	    set_handshake_timeout,
	    "time a client gets to finish the TLS handshake, 1ms..1h", false },
	{ G, false, "connect_timeout", GKEY_CONNECT_TIMEOUT, "5", false,
	    set_connect_timeout,
	    "time allowed to connect to the upstream broker, 1ms..1h", false },
	{ G, false, "idle_timeout", GKEY_IDLE_TIMEOUT, "0", false,
	    set_idle_timeout,
	    "close a connection idle this long in both directions; 0 = never",
	    false },
	{ G, false, "drain_timeout", GKEY_DRAIN_TIMEOUT, "30", false,
	    set_drain_timeout,
	    "how long open connections may go on after SIGTERM; 0 = close now",
	    false },
	{ G, false, "reload_interval", GKEY_RELOAD_INTERVAL, "120", false,
	    set_reload_interval,
	    "how often to check certificate files for changes; 0 = SIGHUP only",
	    false },
	{ G, false, "log_level", GKEY_LOG_LEVEL, "info", false, set_log_level,
	    "error, warn, info or debug", false },

	{ LO, "bind", LKEY_BIND, NULL, true, set_bind,
	    "numeric address to accept TLS clients on, e.g. [::]:8883; "
	    "repeatable",
	    true },
	{ LO, "upstream", LKEY_UPSTREAM, NULL, false, set_upstream,
	    "[upstream NAME] pool, or the broker's address, e.g. 127.0.0.1:1883",
	    true },
	{ BC, "certfile", LKEY_CERTFILE, NULL, false, set_certfile,
	    "PEM certificate chain, leaf first; relative to the config file",
	    false },
	{ BC, "keyfile", LKEY_KEYFILE, NULL, false, set_keyfile,
	    "PEM private key; defaults to certfile (combined PEM)", false },
	{ BC, "key_password", LKEY_KEY_PASSWORD, "", false, set_key_password,
	    "pass phrase of an encrypted keyfile; empty = none", false },
	{ BC, "cacertfile", LKEY_CACERTFILE, "", false, set_cacertfile,
	    "PEM CAs trusted for client certificates; empty = none", false },
	{ BC, "verify", LKEY_VERIFY, "verify_none", false, set_verify,
	    "verify_none or verify_peer (request client certificates)", false },
	{ BC, "fail_if_no_peer_cert", LKEY_FAIL_IF_NO_PEER_CERT, "false",
	    false, set_fail_if_no_peer_cert,
	    "with verify_peer, refuse clients without a certificate", false },
	{ LO, "depth", LKEY_DEPTH, "10", false, set_depth,
	    "longest client certificate chain accepted, 0..100", false },
	{ LO, "versions", LKEY_VERSIONS, "tlsv1.3,tlsv1.2", false,
	    set_versions,
	    "TLS versions offered: tlsv1.3, tlsv1.2, tlsv1.1, tlsv1", false },
	{ LO, "ciphers", LKEY_CIPHERS, "", false, set_ciphers,
	    "TLS 1.2 and older cipher list; empty = OpenSSL default", false },
	{ LO, "ciphersuites", LKEY_CIPHERSUITES, "", false, set_ciphersuites,
	    "TLS 1.3 cipher suites; empty = OpenSSL default", false },
	{ LO, "groups", LKEY_GROUPS, "", false, set_groups,
	    "key-exchange groups in order of preference; empty = default",
	    false },
	{ LO, "certs", LKEY_CERTS, "", false, set_certs,
	    "[cert NAME] bundles this listener serves, in order", false },
	{ LO, "sni_strict", LKEY_SNI_STRICT, "false", false, set_sni_strict,
	    "refuse clients whose SNI is missing or matches no certificate",
	    false },
	{ LO, "certdir", LKEY_CERTDIR, "", false, set_certdir,
	    "directory of PEM bundles served by SNI; empty = none", false },
	{ C, false, "sni", LKEY_SNI, "", false, set_sni,
	    "names this bundle serves; empty = from the certificate", false },
	{ BC, "crlfile", LKEY_CRLFILE, "", false, set_crlfile,
	    "PEM CRLs checked against client certificates; empty = none",
	    false },
	{ BC, "crl_check", LKEY_CRL_CHECK, "leaf", false, set_crl_check,
	    "leaf (client certificate only) or chain (every CA too)", false },
	{ LO, "crl_fetch", LKEY_CRL_FETCH, "off", false, set_crl_fetch,
	    "also fetch CRLs from the certificates' distribution points",
	    false },
	{ LO, "crl_refresh_interval", LKEY_CRL_REFRESH_INTERVAL, "900", false,
	    set_crl_refresh_interval,
	    "how often fetched CRLs are fetched again, 1s..7d", false },
	{ LO, "crl_fetch_timeout", LKEY_CRL_FETCH_TIMEOUT, "15", false,
	    set_crl_fetch_timeout, "time allowed for one CRL fetch, 1ms..1h",
	    false },
	{ LO, "crl_missing", LKEY_CRL_MISSING, "reject", false,
	    set_crl_missing,
	    "reject or accept a client while its CRL is not fetched yet",
	    false },
	{ BC, "ocsp_stapling", LKEY_OCSP_STAPLING, "off", false,
	    set_ocsp_stapling,
	    "fetch, cache and staple the certificate's OCSP response", false },
	{ BC, "ocsp_responder_url", LKEY_OCSP_RESPONDER_URL, "", false,
	    set_ocsp_responder_url,
	    "http:// OCSP responder; empty = from the certificate's AIA",
	    false },
	{ BC, "ocsp_issuer_file", LKEY_OCSP_ISSUER_FILE, "", false,
	    set_ocsp_issuer_file,
	    "PEM issuer of the certificate; empty = next in the chain", false },
	{ BC, "ocsp_refresh_interval", LKEY_OCSP_REFRESH_INTERVAL, "300",
	    false, set_ocsp_refresh_interval,
	    "how often the OCSP response is fetched again, 1s..7d", false },
	{ BC, "ocsp_staple_file", LKEY_OCSP_STAPLE_FILE, "", false,
	    set_ocsp_staple_file,
	    "DER OCSP response to staple, refreshed by you; empty = none",
	    false },
	{ LO, "psk_file", LKEY_PSK_FILE, "", false, set_psk_file,
	    "file of identity:hexkey lines for TLS-PSK; empty = none", false },
	{ LO, "session_tickets", LKEY_SESSION_TICKETS, "on", false,
	    set_session_tickets, "resume sessions with stateless tickets",
	    false },
	{ LO, "session_cache_size", LKEY_SESSION_CACHE_SIZE, "20480", false,
	    set_session_cache_size,
	    "sessions cached for resumption by id; 0 = no cache", false },
	{ LO, "session_timeout", LKEY_SESSION_TIMEOUT, "7200", false,
	    set_session_timeout, "how long a session can be resumed, 1s..7d",
	    false },
	{ LO, "ticket_key_file", LKEY_TICKET_KEY_FILE, "", false,
	    set_ticket_key_file,
	    "ticket keys shared by a fleet; empty = random per process",
	    false },
	{ BC, "allow_cn", LKEY_ALLOW_CN, "", false, set_allow_cn,
	    "glob patterns a client certificate's CN must match", false },
	{ BC, "allow_ou", LKEY_ALLOW_OU, "", false, set_allow_ou,
	    "glob patterns one of the certificate's OUs must match", false },
	{ BC, "allow_san_dns", LKEY_ALLOW_SAN_DNS, "", false,
	    set_allow_san_dns,
	    "glob patterns one of the certificate's DNS SANs must match",
	    false },
	{ BC, "allow_san_uri", LKEY_ALLOW_SAN_URI, "", false,
	    set_allow_san_uri,
	    "glob patterns one of the certificate's URI SANs must match",
	    false },
	{ LO, "alpn", LKEY_ALPN, "", false, set_alpn,
	    "ALPN protocols offered, e.g. mqtt; empty = no ALPN", false },
	{ LO, "alpn_strict", LKEY_ALPN_STRICT, "false", false,
	    set_alpn_strict,
	    "refuse clients whose ALPN protocols match none of alpn", false },
	{ LO, "proxy_protocol", LKEY_PROXY_PROTOCOL, "off", false,
	    set_proxy_protocol,
	    "PROXY header sent to the upstream: off, v1 or v2", false },
	{ LO, "proxy_profile", LKEY_PROXY_PROFILE, "generic", false,
	    set_proxy_profile,
	    "v2 receiver: generic, emqx, mosquitto, vernemq or hivemq", false },
	{ LO, "proxy_tlvs", LKEY_PROXY_TLVS, "", false, set_proxy_tlvs,
	    "v2 TLVs sent, or none; empty = the profile's set", false },
	{ LO, "proxy_custom_tlv_base", LKEY_PROXY_CUSTOM_TLV_BASE, "0xE0",
	    false, set_proxy_custom_tlv_base,
	    "type of the first custom v2 TLV (dn), 0xE0..0xEA", false },
	{ LO, "proxy_max_header", LKEY_PROXY_MAX_HEADER, "0", false,
	    set_proxy_max_header,
	    "largest v2 header in bytes, 232..65551; 0 = no limit", false },
	{ LO, "accept_proxy", LKEY_ACCEPT_PROXY, "off", false,
	    set_accept_proxy,
	    "PROXY header required from clients: off, v1, v2 or any", false },
	{ LO, "trusted_proxies", LKEY_TRUSTED_PROXIES, "127.0.0.1/32, ::1/128",
	    false, set_trusted_proxies,
	    "address prefixes allowed to send a PROXY header", false },
	{ LO, "proxy_header_timeout", LKEY_PROXY_HEADER_TIMEOUT, "3", false,
	    set_proxy_header_timeout,
	    "time a client gets to send its PROXY header, 1ms..1h", false },
	{ LO, "proxy_pass_tlvs", LKEY_PROXY_PASS_TLVS, "", false,
	    set_proxy_pass_tlvs,
	    "received TLV types passed on upstream, e.g. 0xEA", false },
	{ LO, "mqtt_username", LKEY_MQTT_USERNAME, "keep", false,
	    set_mqtt_username,
	    "CONNECT username: keep, or the client's cn, dn, ... identity",
	    false },
	{ LO, "mqtt_password", LKEY_MQTT_PASSWORD, "keep", false,
	    set_mqtt_password, "CONNECT password: keep, drop or file:PATH",
	    false },
	{ LO, "mqtt_clientid_must_match", LKEY_MQTT_CLIENTID_MUST_MATCH, "off",
	    false, set_mqtt_clientid_must_match,
	    "client id must equal: off, cn, san_uri or username", false },
	{ LO, "mqtt_connect_timeout", LKEY_MQTT_CONNECT_TIMEOUT, "10", false,
	    set_mqtt_connect_timeout,
	    "time a client gets to send its CONNECT, 1ms..1h", false },
	{ LO, "mqtt_max_connect", LKEY_MQTT_MAX_CONNECT, "65536", false,
	    set_mqtt_max_connect,
	    "largest CONNECT packet accepted, 128..16777216 bytes", false },

	{ U, "server", UKEY_SERVER, NULL, true, set_server,
	    "a broker: host:port [weight=N] [backup]; repeatable", true },
	{ U, "balance", UKEY_BALANCE, "roundrobin", false, set_balance,
	    "roundrobin, leastconn, source or clientid", false },
	{ U, "hash", UKEY_HASH, "rendezvous", false, set_hash,
	    "how source and clientid map keys to servers: rendezvous", false },
	{ U, "health_check", UKEY_HEALTH_CHECK, "tcp", false,
	    set_health_check, "none, tcp (connect) or mqtt (CONNECT/CONNACK)",
	    false },
	{ U, "health_interval", UKEY_HEALTH_INTERVAL, "5", false,
	    set_health_interval, "time between checks of a server, 100ms..1h",
	    false },
	{ U, "health_timeout", UKEY_HEALTH_TIMEOUT, "2", false,
	    set_health_timeout,
	    "time one check may take; less than health_interval", false },
	{ U, "health_rise", UKEY_HEALTH_RISE, "2", false, set_health_rise,
	    "good checks in a row that mark a server up, 1..100", false },
	{ U, "health_fall", UKEY_HEALTH_FALL, "3", false, set_health_fall,
	    "failed checks in a row that mark a server down, 1..100", false },
	{ U, "connect_retries", UKEY_CONNECT_RETRIES, "2", false,
	    set_connect_retries,
	    "other servers tried when a connect fails, 0..15", false },
	{ U, "resolve_interval", UKEY_RESOLVE_INTERVAL, "30", false,
	    set_resolve_interval,
	    "how often host names are resolved again; 0 = only at start",
	    false },
};

#undef G
#undef L
#undef C
#undef U
#undef LO
#undef BC

const size_t config_nkeys = nitems(config_keys);

const struct config_key *
config_key_find(enum config_section_kind section, const char *name)
{
	size_t i;

	for (i = 0; i < config_nkeys; i++) {
		const struct config_key *k = &config_keys[i];

		if (strcmp(k->name, name) != 0)
			continue;
		if (k->section == section ||
		    (section == CONFIG_SECTION_CERT && k->in_cert))
			return k;
	}
	return NULL;
}
