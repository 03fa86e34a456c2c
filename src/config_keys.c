/*
 * config_keys.c: the table of every configuration key with its default, its
 * setter and a one-line doc, and the setters themselves. A setter parses one
 * value (through value.c or addr.c) and stores it; it knows nothing about
 * lines, files or diagnostics, which config.c adds around it.
 */
#include "build_config.h"

#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "compat.h"
#include "config.h"
#include "config_keys.h"
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
set_workers(struct config *c, struct listener_conf *l MQ_UNUSED,
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
set_max_connections(struct config *c, struct listener_conf *l MQ_UNUSED,
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
set_handshake_timeout(struct config *c, struct listener_conf *l MQ_UNUSED,
    const char *value, const char **why)
{
	return set_duration(value, 1, TIMEOUT_MAX_MS,
	    &c->global.handshake_timeout_ms, why, TIMEOUT_REASON);
}

static int
set_connect_timeout(struct config *c, struct listener_conf *l MQ_UNUSED,
    const char *value, const char **why)
{
	return set_duration(value, 1, TIMEOUT_MAX_MS,
	    &c->global.connect_timeout_ms, why, TIMEOUT_REASON);
}

static int
set_idle_timeout(struct config *c, struct listener_conf *l MQ_UNUSED,
    const char *value, const char **why)
{
	return set_duration(value, 0, DURATION_MAX_MS,
	    &c->global.idle_timeout_ms, why, INTERVAL_REASON);
}

static int
set_drain_timeout(struct config *c, struct listener_conf *l MQ_UNUSED,
    const char *value, const char **why)
{
	return set_duration(value, 0, DURATION_MAX_MS,
	    &c->global.drain_timeout_ms, why, INTERVAL_REASON);
}

static int
set_reload_interval(struct config *c, struct listener_conf *l MQ_UNUSED,
    const char *value, const char **why)
{
	return set_duration(value, 0, DURATION_MAX_MS,
	    &c->global.reload_interval_ms, why, INTERVAL_REASON);
}

static int
set_log_level(struct config *c, struct listener_conf *l MQ_UNUSED,
    const char *value, const char **why)
{
	int v;

	if (value_enum(value, config_log_level_names, &v, NULL) == -1)
		return bad(why, "expected error, warn, info or debug");
	c->global.log_level = (enum log_level)v;
	return 0;
}

/* [listener NAME] */

static int
set_bind(struct config *c MQ_UNUSED, struct listener_conf *l,
    const char *value, const char **why)
{
	struct addr a, *binds;
	int *lines;

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

static int
set_upstream(struct config *c MQ_UNUSED, struct listener_conf *l,
    const char *value, const char **why)
{
	return addr_parse(value, &l->upstream, why);
}

static int
set_certfile(struct config *c, struct listener_conf *l, const char *value,
    const char **why)
{
	return set_str(c, &l->tls.certfile, value, true, false, why);
}

static int
set_keyfile(struct config *c, struct listener_conf *l, const char *value,
    const char **why)
{
	return set_str(c, &l->tls.keyfile, value, true, false, why);
}

static int
set_key_password(struct config *c, struct listener_conf *l,
    const char *value, const char **why)
{
	return set_str(c, &l->tls.key_password, value, false, true, why);
}

static int
set_cacertfile(struct config *c, struct listener_conf *l, const char *value,
    const char **why)
{
	return set_str(c, &l->tls.cacertfile, value, true, true, why);
}

static int
set_verify(struct config *c MQ_UNUSED, struct listener_conf *l,
    const char *value, const char **why)
{
	int v;

	if (value_enum(value, config_verify_names, &v, NULL) == -1)
		return bad(why, "expected verify_none or verify_peer");
	l->tls.verify = (enum tls_verify)v;
	return 0;
}

static int
set_fail_if_no_peer_cert(struct config *c MQ_UNUSED, struct listener_conf *l,
    const char *value, const char **why)
{
	return value_bool(value, &l->tls.fail_if_no_peer_cert, why);
}

static int
set_depth(struct config *c MQ_UNUSED, struct listener_conf *l,
    const char *value, const char **why)
{
	long v;

	if (set_long(value, 0, 100, &v, why,
	    "expected an integer from 0 to 100") == -1)
		return -1;
	l->tls.depth = (int)v;
	return 0;
}

static int
set_versions(struct config *c MQ_UNUSED, struct listener_conf *l,
    const char *value, const char **why)
{
	if (*value == '\0')
		return bad(why, "expected a list such as tlsv1.3,tlsv1.2");
	return value_tls_versions(value, &l->tls.versions, why);
}

static int
set_ciphers(struct config *c, struct listener_conf *l, const char *value,
    const char **why)
{
	return set_str(c, &l->tls.ciphers, value, false, true, why);
}

static int
set_ciphersuites(struct config *c, struct listener_conf *l,
    const char *value, const char **why)
{
	return set_str(c, &l->tls.ciphersuites, value, false, true, why);
}

static int
set_groups(struct config *c, struct listener_conf *l, const char *value,
    const char **why)
{
	return set_str(c, &l->tls.groups, value, false, true, why);
}

#define G CONFIG_SECTION_GLOBAL
#define L CONFIG_SECTION_LISTENER

const struct config_key config_keys[] = {
	{ G, "workers", GKEY_WORKERS, "auto", false, set_workers,
	    "event-loop threads: auto (one per CPU) or 1..256", false },
	{ G, "max_connections", GKEY_MAX_CONNECTIONS, "512000", false,
	    set_max_connections,
	    "connections open at once across all listeners, 1..10000000",
	    false },
	{ G, "handshake_timeout", GKEY_HANDSHAKE_TIMEOUT, "10", false,
	    set_handshake_timeout,
	    "time a client gets to finish the TLS handshake, 1ms..1h", false },
	{ G, "connect_timeout", GKEY_CONNECT_TIMEOUT, "5", false,
	    set_connect_timeout,
	    "time allowed to connect to the upstream broker, 1ms..1h", false },
	{ G, "idle_timeout", GKEY_IDLE_TIMEOUT, "0", false, set_idle_timeout,
	    "close a connection idle this long in both directions; 0 = never",
	    false },
	{ G, "drain_timeout", GKEY_DRAIN_TIMEOUT, "30", false,
	    set_drain_timeout,
	    "how long open connections may go on after SIGTERM; 0 = close now",
	    false },
	{ G, "reload_interval", GKEY_RELOAD_INTERVAL, "120", false,
	    set_reload_interval,
	    "how often to check certificate files for changes; 0 = SIGHUP only",
	    false },
	{ G, "log_level", GKEY_LOG_LEVEL, "info", false, set_log_level,
	    "error, warn, info or debug", false },

	{ L, "bind", LKEY_BIND, NULL, true, set_bind,
	    "numeric address to accept TLS clients on, e.g. [::]:8883; "
	    "repeatable",
	    true },
	{ L, "upstream", LKEY_UPSTREAM, NULL, false, set_upstream,
	    "numeric address of the plaintext MQTT broker, e.g. 127.0.0.1:1883",
	    true },
	{ L, "certfile", LKEY_CERTFILE, NULL, false, set_certfile,
	    "PEM certificate chain, leaf first; relative to the config file",
	    true },
	{ L, "keyfile", LKEY_KEYFILE, NULL, false, set_keyfile,
	    "PEM private key; defaults to certfile (combined PEM)", false },
	{ L, "key_password", LKEY_KEY_PASSWORD, "", false, set_key_password,
	    "pass phrase of an encrypted keyfile; empty = none", false },
	{ L, "cacertfile", LKEY_CACERTFILE, "", false, set_cacertfile,
	    "PEM CAs trusted for client certificates; empty = none", false },
	{ L, "verify", LKEY_VERIFY, "verify_none", false, set_verify,
	    "verify_none or verify_peer (request client certificates)", false },
	{ L, "fail_if_no_peer_cert", LKEY_FAIL_IF_NO_PEER_CERT, "false", false,
	    set_fail_if_no_peer_cert,
	    "with verify_peer, refuse clients without a certificate", false },
	{ L, "depth", LKEY_DEPTH, "10", false, set_depth,
	    "longest client certificate chain accepted, 0..100", false },
	{ L, "versions", LKEY_VERSIONS, "tlsv1.3,tlsv1.2", false, set_versions,
	    "TLS versions offered: tlsv1.3, tlsv1.2, tlsv1.1, tlsv1", false },
	{ L, "ciphers", LKEY_CIPHERS, "", false, set_ciphers,
	    "TLS 1.2 and older cipher list; empty = OpenSSL default", false },
	{ L, "ciphersuites", LKEY_CIPHERSUITES, "", false, set_ciphersuites,
	    "TLS 1.3 cipher suites; empty = OpenSSL default", false },
	{ L, "groups", LKEY_GROUPS, "", false, set_groups,
	    "key-exchange groups in order of preference; empty = default",
	    false },
};

#undef G
#undef L

const size_t config_nkeys = nitems(config_keys);

const struct config_key *
config_key_find(enum config_section_kind section, const char *name)
{
	size_t i;

	for (i = 0; i < config_nkeys; i++)
		if (config_keys[i].section == section &&
		    strcmp(config_keys[i].name, name) == 0)
			return &config_keys[i];
	return NULL;
}
