/*
 * check_config.c: unit tests for config.c and config_keys.c: every key set,
 * read back and defaulted; every error path with its exact line and key;
 * line counting through long lines, CRLF, BOM, NUL bytes and a missing last
 * newline; path resolution; the key table against the man page and the
 * example config; and, outside sanitizer builds, every allocation failing.
 */
#include "build_config.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "compat.h"
#include "config.h"
#include "config_keys.h"
#include "diag.h"
#include "unit.h"
#include "value.h"

#define NAME "t.ini"

/* A complete listener; its keys are on lines 1 to 4 when it comes first. */
#define BASE_BIND "bind = 127.0.0.1:8883\n"
#define BASE_UPSTREAM "upstream = 127.0.0.1:1883\n"
#define BASE_CERT "certfile = /c.pem\n"
#define MIN_L "[listener a]\n" BASE_BIND BASE_UPSTREAM BASE_CERT

static struct diag d;
static struct config *cfg;

static void
setup(void)
{
	diag_init(&d);
	cfg = NULL;
}

static void
teardown(void)
{
	config_free(cfg);
	cfg = NULL;
	diag_clear(&d);
}

static struct config *
load(const char *text)
{
	config_free(cfg);
	cfg = config_load_string(text, NAME, &d);
	return cfg;
}

/* All entries, for failure messages. */
static const char *
dump(void)
{
	static char buf[16384];
	size_t i, used = 0;

	buf[0] = '\0';
	for (i = 0; i < diag_count(&d) && used < sizeof(buf) - 1; i++) {
		int n = diag_format(&d, i, buf + used, sizeof(buf) - used - 1);

		if (n < 0)
			break;
		used += (size_t)n < sizeof(buf) - used - 1
		    ? (size_t)n : sizeof(buf) - used - 2;
		buf[used++] = '\n';
		buf[used] = '\0';
	}
	return buf;
}

/* Entry i is at line and mentions sub1 and sub2 (either may be NULL). */
static void
expect_entry(size_t i, int line, const char *sub1, const char *sub2)
{
	const struct diag_entry *e;

	ck_assert_msg(i < d.n, "no entry %zu in:\n%s", i, dump());
	e = &d.v[i];
	ck_assert_msg(e->line == line, "entry %zu at line %d, not %d:\n%s", i,
	    e->line, line, dump());
	ck_assert_ptr_nonnull(e->file);
	ck_assert_str_eq(e->file, NAME);
	if (sub1 != NULL)
		ck_assert_msg(strstr(e->msg, sub1) != NULL,
		    "entry %zu lacks \"%s\":\n%s", i, sub1, dump());
	if (sub2 != NULL)
		ck_assert_msg(strstr(e->msg, sub2) != NULL,
		    "entry %zu lacks \"%s\":\n%s", i, sub2, dump());
}

static void
expect_ok(void)
{
	ck_assert_msg(diag_count(&d) == 0, "unexpected problems:\n%s", dump());
	ck_assert_ptr_nonnull(cfg);
}

static void
expect_errors(size_t n)
{
	ck_assert_msg(diag_count(&d) == n, "expected %zu problems, got:\n%s",
	    n, dump());
	ck_assert_ptr_null(cfg);
}

static const struct config_key *
key_named(const char *name)
{
	size_t i;

	for (i = 0; i < config_nkeys; i++)
		if (strcmp(config_keys[i].name, name) == 0)
			return &config_keys[i];
	ck_abort_msg("no key %s", name);
	return NULL;
}

/*
 * A listener section whose line 2 is "key = value", followed by whichever
 * of the required keys that is not.
 */
static void
listener_with(char *buf, size_t cap, const char *key, const char *value)
{
	snprintf(buf, cap, "[listener a]\n%s = %s\n%s%s%s", key, value,
	    strcmp(key, "bind") == 0 ? "" : BASE_BIND,
	    strcmp(key, "upstream") == 0 ? "" : BASE_UPSTREAM,
	    strcmp(key, "certfile") == 0 ? "" : BASE_CERT);
}

/* --- the key table --- */

START_TEST(test_table)
{
	bool gseen[GKEY_COUNT] = { false }, lseen[LKEY_COUNT] = { false };
	size_t i;

	for (i = 0; i < config_nkeys; i++) {
		const struct config_key *k = &config_keys[i];

		ck_assert_ptr_nonnull(k->name);
		ck_assert_ptr_nonnull(k->set);
		ck_assert_ptr_nonnull(k->doc);
		ck_assert_msg(strlen(k->doc) > 10 && strlen(k->doc) < 80,
		    "%s: doc must be one line", k->name);
		ck_assert_ptr_eq(config_key_find(k->section, k->name), k);
		/* No default means required, except keyfile (certfile's). */
		ck_assert_int_eq(k->required,
		    k->def == NULL && strcmp(k->name, "keyfile") != 0);
		ck_assert_int_eq(k->repeatable, strcmp(k->name, "bind") == 0);
		if (k->section == CONFIG_SECTION_GLOBAL) {
			ck_assert(k->id >= 0 && k->id < GKEY_COUNT);
			ck_assert_msg(!gseen[k->id], "%s: id reused", k->name);
			gseen[k->id] = true;
			ck_assert_ptr_nonnull(k->def);
		} else {
			ck_assert_int_eq(k->section, CONFIG_SECTION_LISTENER);
			ck_assert(k->id >= 0 && k->id < LKEY_COUNT);
			ck_assert_msg(!lseen[k->id], "%s: id reused", k->name);
			lseen[k->id] = true;
		}
	}
	for (i = 0; i < GKEY_COUNT; i++)
		ck_assert_msg(gseen[i], "global key %zu not in the table", i);
	for (i = 0; i < LKEY_COUNT; i++)
		ck_assert_msg(lseen[i], "listener key %zu not in the table", i);
	ck_assert_uint_eq(config_nkeys, GKEY_COUNT + LKEY_COUNT);

	ck_assert_ptr_null(config_key_find(CONFIG_SECTION_GLOBAL, "bind"));
	ck_assert_ptr_null(config_key_find(CONFIG_SECTION_LISTENER, "workers"));
	ck_assert_ptr_null(config_key_find(CONFIG_SECTION_GLOBAL, "Workers"));
	ck_assert_ptr_null(config_key_find(CONFIG_SECTION_GLOBAL, ""));
	ck_assert_str_eq(config_log_level_names[LOG_LEVEL_DEBUG], "debug");
	ck_assert_ptr_null(config_log_level_names[LOG_LEVEL_DEBUG + 1]);
	ck_assert_str_eq(config_verify_names[TLS_VERIFY_PEER], "verify_peer");
	ck_assert_ptr_null(config_verify_names[TLS_VERIFY_PEER + 1]);
}
END_TEST

/* --- defaults --- */

START_TEST(test_defaults)
{
	const struct global_conf *g;
	const struct listener_conf *l;
	char buf[ADDR_STRLEN];
	size_t i;

	load(MIN_L);
	expect_ok();
	ck_assert_str_eq(cfg->path, NAME);
	g = &cfg->global;
	ck_assert_int_eq(g->workers, 0);
	ck_assert_int_eq(g->max_connections, 512000);
	ck_assert_int_eq(g->handshake_timeout_ms, 10000);
	ck_assert_int_eq(g->connect_timeout_ms, 5000);
	ck_assert_int_eq(g->idle_timeout_ms, 0);
	ck_assert_int_eq(g->drain_timeout_ms, 30000);
	ck_assert_int_eq(g->reload_interval_ms, 120000);
	ck_assert_int_eq(g->log_level, LOG_LEVEL_INFO);
	for (i = 0; i < GKEY_COUNT; i++)
		ck_assert_int_eq(g->line[i], 0);

	ck_assert_uint_eq(cfg->nlisteners, 1);
	l = &cfg->listeners[0];
	ck_assert_str_eq(l->name, "a");
	ck_assert_int_eq(l->header_line, 1);
	ck_assert_uint_eq(l->nbinds, 1);
	ck_assert_int_eq(l->bind_lines[0], 2);
	addr_format(&l->binds[0], buf, sizeof(buf));
	ck_assert_str_eq(buf, "127.0.0.1:8883");
	addr_format(&l->upstream, buf, sizeof(buf));
	ck_assert_str_eq(buf, "127.0.0.1:1883");
	ck_assert_str_eq(l->tls.certfile, "/c.pem");
	ck_assert_str_eq(l->tls.keyfile, "/c.pem"); /* combined PEM */
	ck_assert_ptr_null(l->tls.key_password);
	ck_assert_ptr_null(l->tls.cacertfile);
	ck_assert_int_eq(l->tls.verify, TLS_VERIFY_NONE);
	ck_assert_int_eq(l->tls.fail_if_no_peer_cert, false);
	ck_assert_int_eq(l->tls.depth, 10);
	ck_assert_uint_eq(l->tls.versions, TLS_VER_1_3 | TLS_VER_1_2);
	ck_assert_ptr_null(l->tls.ciphers);
	ck_assert_ptr_null(l->tls.ciphersuites);
	ck_assert_ptr_null(l->tls.groups);
	ck_assert_int_eq(l->line[LKEY_BIND], 2);
	ck_assert_int_eq(l->line[LKEY_UPSTREAM], 3);
	ck_assert_int_eq(l->line[LKEY_CERTFILE], 4);
	for (i = 0; i < LKEY_COUNT; i++)
		if (i != LKEY_BIND && i != LKEY_UPSTREAM && i != LKEY_CERTFILE)
			ck_assert_int_eq(l->line[i], 0);
}
END_TEST

/* --- every key, set and read back --- */

static const struct {
	const char *key;
	const char *value;
	long num;
} global_vec[] = {
	{ "workers", "auto", 0 },
	{ "workers", "1", 1 },
	{ "workers", "256", 256 },
	{ "max_connections", "1", 1 },
	{ "max_connections", "10000000", 10000000 },
	{ "handshake_timeout", "1ms", 1 },
	{ "handshake_timeout", "3", 3000 },
	{ "handshake_timeout", "1h", 3600000 },
	{ "connect_timeout", "500ms", 500 },
	{ "connect_timeout", "60m", 3600000 },
	{ "idle_timeout", "0", 0 },
	{ "idle_timeout", "2m", 120000 },
	{ "idle_timeout", "168h", 604800000 },
	{ "drain_timeout", "0", 0 },
	{ "drain_timeout", "45s", 45000 },
	{ "reload_interval", "0", 0 },
	{ "reload_interval", "1h", 3600000 },
	{ "log_level", "error", LOG_LEVEL_ERROR },
	{ "log_level", "warn", LOG_LEVEL_WARN },
	{ "log_level", "info", LOG_LEVEL_INFO },
	{ "log_level", "debug", LOG_LEVEL_DEBUG },
};

static long
global_num(const struct global_conf *g, int id)
{
	switch (id) {
	case GKEY_WORKERS:
		return g->workers;
	case GKEY_MAX_CONNECTIONS:
		return g->max_connections;
	case GKEY_HANDSHAKE_TIMEOUT:
		return g->handshake_timeout_ms;
	case GKEY_CONNECT_TIMEOUT:
		return g->connect_timeout_ms;
	case GKEY_IDLE_TIMEOUT:
		return g->idle_timeout_ms;
	case GKEY_DRAIN_TIMEOUT:
		return g->drain_timeout_ms;
	case GKEY_RELOAD_INTERVAL:
		return g->reload_interval_ms;
	case GKEY_LOG_LEVEL:
		return (long)g->log_level;
	}
	ck_abort_msg("bad global id %d", id);
	return 0;
}

START_TEST(test_global_key)
{
	const struct config_key *k = key_named(global_vec[_i].key);
	char text[512];
	int i;

	snprintf(text, sizeof(text), "[global]\n%s = %s\n" MIN_L,
	    global_vec[_i].key, global_vec[_i].value);
	load(text);
	expect_ok();
	ck_assert_int_eq(global_num(&cfg->global, k->id), global_vec[_i].num);
	for (i = 0; i < GKEY_COUNT; i++)
		ck_assert_int_eq(cfg->global.line[i], i == k->id ? 2 : 0);
}
END_TEST

static const struct {
	const char *key;
	const char *value;
	const char *str; /* expected string, or NULL to compare num */
	long num;
} listener_vec[] = {
	{ "bind", "[::]:8883", "[::]:8883", 0 },
	{ "bind", "10.1.2.3:1", "10.1.2.3:1", 0 },
	{ "upstream", "[::1]:1883", "[::1]:1883", 0 },
	{ "upstream", "192.0.2.1:65535", "192.0.2.1:65535", 0 },
	{ "certfile", "/etc/mqgate/server.pem", "/etc/mqgate/server.pem", 0 },
	{ "keyfile", "/etc/mqgate/server.key", "/etc/mqgate/server.key", 0 },
	{ "key_password", "correct horse battery staple",
	    "correct horse battery staple", 0 },
	{ "key_password", "p;ss#w=rd:x", "p;ss#w=rd:x", 0 },
	{ "cacertfile", "/etc/mqgate/ca.pem", "/etc/mqgate/ca.pem", 0 },
	{ "verify", "verify_none", NULL, TLS_VERIFY_NONE },
	{ "fail_if_no_peer_cert", "true", NULL, 1 },
	{ "fail_if_no_peer_cert", "Yes", NULL, 1 },
	{ "fail_if_no_peer_cert", "off", NULL, 0 },
	{ "fail_if_no_peer_cert", "0", NULL, 0 },
	{ "depth", "0", NULL, 0 },
	{ "depth", "100", NULL, 100 },
	{ "versions", "tlsv1.3", NULL, TLS_VER_1_3 },
	{ "versions", "tlsv1.3, tlsv1.2,tlsv1.1,tlsv1", NULL,
	    TLS_VER_1_3 | TLS_VER_1_2 | TLS_VER_1_1 | TLS_VER_1_0 },
	{ "ciphers", "ECDHE+AESGCM:ECDHE+CHACHA20", "ECDHE+AESGCM:ECDHE+CHACHA20",
	    0 },
	{ "ciphersuites", "TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256",
	    "TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256", 0 },
	{ "groups", "X25519:P-256", "X25519:P-256", 0 },
	/* empty means unset for these */
	{ "key_password", "", NULL, 0 },
	{ "cacertfile", "", NULL, 0 },
	{ "ciphers", "", NULL, 0 },
	{ "ciphersuites", "", NULL, 0 },
	{ "groups", "", NULL, 0 },
};

static const char *
listener_str(const struct listener_conf *l, int id, char *buf, size_t cap)
{
	switch (id) {
	case LKEY_BIND:
		ck_assert_uint_eq(l->nbinds, 1);
		addr_format(&l->binds[0], buf, cap);
		return buf;
	case LKEY_UPSTREAM:
		addr_format(&l->upstream, buf, cap);
		return buf;
	case LKEY_CERTFILE:
		return l->tls.certfile;
	case LKEY_KEYFILE:
		return l->tls.keyfile;
	case LKEY_KEY_PASSWORD:
		return l->tls.key_password;
	case LKEY_CACERTFILE:
		return l->tls.cacertfile;
	case LKEY_CIPHERS:
		return l->tls.ciphers;
	case LKEY_CIPHERSUITES:
		return l->tls.ciphersuites;
	case LKEY_GROUPS:
		return l->tls.groups;
	}
	ck_abort_msg("no string for listener id %d", id);
	return NULL;
}

static long
listener_num(const struct listener_conf *l, int id)
{
	switch (id) {
	case LKEY_VERIFY:
		return (long)l->tls.verify;
	case LKEY_FAIL_IF_NO_PEER_CERT:
		return l->tls.fail_if_no_peer_cert;
	case LKEY_DEPTH:
		return l->tls.depth;
	case LKEY_VERSIONS:
		return (long)l->tls.versions;
	}
	ck_abort_msg("no number for listener id %d", id);
	return 0;
}

START_TEST(test_listener_key)
{
	const struct config_key *k = key_named(listener_vec[_i].key);
	const struct listener_conf *l;
	char text[512], buf[ADDR_STRLEN];

	listener_with(text, sizeof(text), listener_vec[_i].key,
	    listener_vec[_i].value);
	load(text);
	expect_ok();
	l = config_listener(cfg, "a");
	ck_assert_ptr_nonnull(l);
	ck_assert_int_eq(l->line[k->id], 2);
	if (k->id == LKEY_BIND)
		ck_assert_int_eq(l->bind_lines[0], 2);
	if (listener_vec[_i].str != NULL)
		ck_assert_str_eq(listener_str(l, k->id, buf, sizeof(buf)),
		    listener_vec[_i].str);
	else if (*listener_vec[_i].value == '\0')
		ck_assert_ptr_null(listener_str(l, k->id, buf, sizeof(buf)));
	else
		ck_assert_int_eq(listener_num(l, k->id), listener_vec[_i].num);
}
END_TEST

START_TEST(test_verify_peer)
{
	const struct listener_conf *l;

	load(MIN_L "cacertfile = /ca.pem\nverify = verify_peer\n"
		   "fail_if_no_peer_cert = true\n");
	expect_ok();
	l = config_listener(cfg, "a");
	ck_assert_int_eq(l->tls.verify, TLS_VERIFY_PEER);
	ck_assert_str_eq(l->tls.cacertfile, "/ca.pem");
	ck_assert_int_eq(l->tls.fail_if_no_peer_cert, true);
	ck_assert_int_eq(l->line[LKEY_CACERTFILE], 5);
	ck_assert_int_eq(l->line[LKEY_VERIFY], 6);
	ck_assert_int_eq(l->line[LKEY_FAIL_IF_NO_PEER_CERT], 7);
}
END_TEST

START_TEST(test_bind_repeated)
{
	const struct listener_conf *l;
	char buf[ADDR_STRLEN];

	load("[listener a]\nbind = 0.0.0.0:8883\n; comment\nbind = [::]:8883\n"
	     "bind = 0.0.0.0:8884\n" BASE_UPSTREAM BASE_CERT);
	expect_ok();
	l = config_listener(cfg, "a");
	ck_assert_uint_eq(l->nbinds, 3);
	ck_assert_int_eq(l->bind_lines[0], 2);
	ck_assert_int_eq(l->bind_lines[1], 4);
	ck_assert_int_eq(l->bind_lines[2], 5);
	ck_assert_int_eq(l->line[LKEY_BIND], 5);
	addr_format(&l->binds[1], buf, sizeof(buf));
	ck_assert_str_eq(buf, "[::]:8883");
}
END_TEST

/* Same port on different addresses, same address on different ports, and
 * the IPv4 and IPv6 wildcards are all distinct. */
START_TEST(test_bind_distinct)
{
	load("[listener a]\nbind = 0.0.0.0:8883\nbind = [::]:8883\n"
	     "bind = 127.0.0.1:8883\n" BASE_UPSTREAM BASE_CERT
	     "[listener b]\nbind = 0.0.0.0:8884\nbind = [::1]:8883\n"
	     BASE_UPSTREAM BASE_CERT);
	expect_ok();
	ck_assert_uint_eq(cfg->nlisteners, 2);
}
END_TEST

START_TEST(test_colon_and_comments)
{
	load("; a comment\n# another\n\n[global]   ; inline\n"
	     "workers: 4 ; four\n"
	     "log_level=debug\n"
	     "   ; indented comment after a key\n"
	     "\t\n" MIN_L "key_password = a;b # c\n");
	expect_ok();
	ck_assert_int_eq(cfg->global.workers, 4);
	ck_assert_int_eq(cfg->global.line[GKEY_WORKERS], 5);
	ck_assert_int_eq(cfg->global.log_level, LOG_LEVEL_DEBUG);
	ck_assert_int_eq(cfg->listeners[0].header_line, 9);
	ck_assert_str_eq(cfg->listeners[0].tls.key_password, "a;b # c");
}
END_TEST

START_TEST(test_indented_first_key_and_header)
{
	load("[global]\n\tworkers = 4\n  [listener a]\n" BASE_BIND
	     BASE_UPSTREAM BASE_CERT);
	expect_ok();
	ck_assert_int_eq(cfg->global.workers, 4);
	ck_assert_int_eq(cfg->listeners[0].header_line, 3);
}
END_TEST

/* Two [global] sections merge. */
START_TEST(test_global_twice)
{
	load("[global]\nworkers = 2\n" MIN_L "[global]\nlog_level = warn\n");
	expect_ok();
	ck_assert_int_eq(cfg->global.workers, 2);
	ck_assert_int_eq(cfg->global.log_level, LOG_LEVEL_WARN);
	ck_assert_int_eq(cfg->global.line[GKEY_LOG_LEVEL], 8);
}
END_TEST

/* inih keeps only 49 bytes of a section name; we do not depend on it. */
START_TEST(test_long_listener_name)
{
	const char *name =
	    "abcdefghijklmnopqrstuvwxyz.ABCDEFGHIJKLMNOPQRSTUVWXYZ-012345678_";
	char text[512];

	ck_assert_uint_eq(strlen(name), 64);
	snprintf(text, sizeof(text),
	    "[listener %s]\n" BASE_BIND BASE_UPSTREAM BASE_CERT
	    "[listener %.49s]\nbind = 127.0.0.1:8884\n" BASE_UPSTREAM
	    BASE_CERT "depth = 3\n",
	    name, name);
	load(text);
	expect_ok();
	ck_assert_uint_eq(cfg->nlisteners, 2);
	ck_assert_str_eq(cfg->listeners[0].name, name);
	ck_assert_int_eq(cfg->listeners[0].tls.depth, 10);
	ck_assert_int_eq(cfg->listeners[1].tls.depth, 3);
	ck_assert_ptr_eq(config_listener(cfg, name), &cfg->listeners[0]);
}
END_TEST

START_TEST(test_many_listeners)
{
	char *text = malloc(100 * 160), *p = text, name[16];
	size_t i;

	ck_assert_ptr_nonnull(text);
	for (i = 0; i < 100; i++)
		p += sprintf(p,
		    "[listener l%zu]\nbind = 127.0.0.1:%zu\n" BASE_UPSTREAM
		    BASE_CERT,
		    i, 10000 + i);
	load(text);
	free(text);
	expect_ok();
	ck_assert_uint_eq(cfg->nlisteners, 100);
	for (i = 0; i < 100; i++) {
		snprintf(name, sizeof(name), "l%zu", i);
		ck_assert_ptr_eq(config_listener(cfg, name),
		    &cfg->listeners[i]);
		ck_assert_int_eq(cfg->listeners[i].header_line,
		    (int)(4 * i + 1));
	}
}
END_TEST

START_TEST(test_config_listener)
{
	load(MIN_L "[listener b]\nbind = 127.0.0.1:8884\n" BASE_UPSTREAM
		   BASE_CERT);
	expect_ok();
	ck_assert_ptr_eq(config_listener(cfg, "a"), &cfg->listeners[0]);
	ck_assert_ptr_eq(config_listener(cfg, "b"), &cfg->listeners[1]);
	ck_assert_ptr_null(config_listener(cfg, "c"));
	ck_assert_ptr_null(config_listener(cfg, "A"));
	ck_assert_ptr_null(config_listener(cfg, ""));
	ck_assert_ptr_null(config_listener(cfg, NULL));
	ck_assert_ptr_null(config_listener(NULL, "a"));
	config_free(NULL);
}
END_TEST

/* --- bad values: one problem, on the key's line, naming key and value --- */

static const struct {
	const char *key;
	const char *value;
	const char *why;
} bad_vec[] = {
	{ "workers", "0", "expected auto or an integer from 1 to 256" },
	{ "workers", "257", "expected auto or an integer from 1 to 256" },
	{ "workers", "-1", "expected auto or an integer from 1 to 256" },
	{ "workers", "Auto", "expected auto or an integer from 1 to 256" },
	{ "workers", "", "expected auto or an integer from 1 to 256" },
	{ "max_connections", "0", "from 1 to 10000000" },
	{ "max_connections", "10000001", "from 1 to 10000000" },
	{ "max_connections", "1k", "from 1 to 10000000" },
	{ "handshake_timeout", "0", "from 1ms to 1h" },
	{ "handshake_timeout", "0ms", "from 1ms to 1h" },
	{ "handshake_timeout", "61m", "from 1ms to 1h" },
	{ "handshake_timeout", "-1", "from 1ms to 1h" },
	{ "handshake_timeout", "5x", "from 1ms to 1h" },
	{ "handshake_timeout", "", "from 1ms to 1h" },
	{ "connect_timeout", "0", "from 1ms to 1h" },
	{ "connect_timeout", "3601s", "from 1ms to 1h" },
	{ "idle_timeout", "169h", "from 0 to 7 days" },
	{ "idle_timeout", "-1", "from 0 to 7 days" },
	{ "idle_timeout", "1d", "from 0 to 7 days" },
	{ "drain_timeout", "soon", "from 0 to 7 days" },
	{ "drain_timeout", "99999999999999999999", "from 0 to 7 days" },
	{ "reload_interval", "-5", "from 0 to 7 days" },
	{ "reload_interval", "10 s", "from 0 to 7 days" },
	{ "log_level", "verbose", "expected error, warn, info or debug" },
	{ "log_level", "INFO", "expected error, warn, info or debug" },
	{ "log_level", "", "expected error, warn, info or debug" },
	{ "bind", "localhost:8883", "host names are not supported yet" },
	{ "bind", "1.2.3.4:0", "port must be a number from 1 to 65535" },
	{ "bind", "1.2.3.4:65536", "port must be a number from 1 to 65535" },
	{ "bind", "1.2.3.4:mqtt", "port must be a number from 1 to 65535" },
	{ "bind", "1.2.3.4", "missing port" },
	{ "bind", "::1:8883", "must be in brackets" },
	{ "bind", "", "expected host:port" },
	{ "upstream", "broker.local:1883", "host names are not supported yet" },
	{ "upstream", "127.0.0.1:0", "port must be a number from 1 to 65535" },
	{ "upstream", "[::1]", "missing port" },
	{ "upstream", "", "expected host:port" },
	{ "certfile", "", "expected a file name" },
	{ "keyfile", "", "expected a file name" },
	{ "verify", "peer", "expected verify_none or verify_peer" },
	{ "verify", "VERIFY_PEER", "expected verify_none or verify_peer" },
	{ "verify", "", "expected verify_none or verify_peer" },
	{ "fail_if_no_peer_cert", "maybe", "expected true or false" },
	{ "fail_if_no_peer_cert", "", "expected true or false" },
	{ "depth", "101", "expected an integer from 0 to 100" },
	{ "depth", "-1", "expected an integer from 0 to 100" },
	{ "depth", "ten", "expected an integer from 0 to 100" },
	{ "depth", "", "expected an integer from 0 to 100" },
	{ "versions", "sslv3", "unknown TLS version" },
	{ "versions", "tlsv1.3,", "empty item" },
	{ "versions", "tlsv1.3 tlsv1.2", "unknown TLS version" },
	{ "versions", "", "expected a list such as tlsv1.3,tlsv1.2" },
};

START_TEST(test_bad_value)
{
	const struct config_key *k = key_named(bad_vec[_i].key);
	char text[512], want[256];

	if (k->section == CONFIG_SECTION_GLOBAL)
		snprintf(text, sizeof(text), "[global]\n%s = %s\n" MIN_L,
		    bad_vec[_i].key, bad_vec[_i].value);
	else
		listener_with(text, sizeof(text), bad_vec[_i].key,
		    bad_vec[_i].value);
	load(text);
	expect_errors(1);
	if (*bad_vec[_i].value == '\0')
		snprintf(want, sizeof(want), "%s: empty value (",
		    bad_vec[_i].key);
	else
		snprintf(want, sizeof(want), "%s: invalid value '%s': ",
		    bad_vec[_i].key, bad_vec[_i].value);
	expect_entry(0, 2, want, bad_vec[_i].why);
	ck_assert_msg(strncmp(d.v[0].msg, want, strlen(want)) == 0,
	    "message does not start with the key: %s", d.v[0].msg);
}
END_TEST

/* --- duplicates: every key but bind, at the second line --- */

static const char *
valid_value(const struct config_key *k)
{
	if (k->def != NULL)
		return k->def;
	if (k->id == LKEY_UPSTREAM)
		return "127.0.0.1:1883";
	if (k->id == LKEY_CERTFILE)
		return "/c.pem";
	if (k->id == LKEY_KEYFILE)
		return "/k.pem";
	ck_abort_msg("no valid value for %s", k->name);
	return NULL;
}

START_TEST(test_duplicate_key)
{
	const struct config_key *k = &config_keys[_i];
	char text[512], want[128];

	if (k->repeatable)
		return;
	if (k->section == CONFIG_SECTION_GLOBAL)
		snprintf(text, sizeof(text), "[global]\n%s = %s\n%s = %s\n" MIN_L,
		    k->name, valid_value(k), k->name, valid_value(k));
	else
		snprintf(text, sizeof(text),
		    "[listener a]\n%s = %s\n%s = %s\n%s%s%s", k->name,
		    valid_value(k), k->name, valid_value(k), BASE_BIND,
		    k->id == LKEY_UPSTREAM ? "" : BASE_UPSTREAM,
		    k->id == LKEY_CERTFILE ? "" : BASE_CERT);
	load(text);
	expect_errors(1);
	snprintf(want, sizeof(want), "%s: duplicate key", k->name);
	expect_entry(0, 3, want, "(first set on line 2)");
}
END_TEST

/* A bad first value still counts as set. */
START_TEST(test_duplicate_after_bad_value)
{
	load("[global]\ndepth = 1\n" MIN_L "depth = x\ndepth = 5\n");
	expect_errors(3);
	expect_entry(0, 2, "unknown key 'depth' in [global]",
	    "(it belongs in a [listener NAME] section)");
	expect_entry(1, 7, "depth: invalid value 'x'", NULL);
	expect_entry(2, 8, "depth: duplicate key", "line 7");
}
END_TEST

/* --- structural errors: count, then the first entry's line and text --- */

#define L65 "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijklm"

static const struct {
	const char *text;
	size_t n;
	int line;
	const char *sub1, *sub2;
} err_vec[] = {
	/* unknown keys */
	{ "[global]\nfoo = 1\n" MIN_L, 1, 2, "unknown key 'foo' in [global]",
	    NULL },
	{ "[global]\nbind = 1.2.3.4:1\n" MIN_L, 1, 2,
	    "unknown key 'bind' in [global]",
	    "(it belongs in a [listener NAME] section)" },
	{ MIN_L "workers = 4\n", 1, 5, "unknown key 'workers' in [listener a]",
	    "(it belongs in [global])" },
	{ MIN_L "Depth = 4\n", 1, 5, "unknown key 'Depth' in [listener a]",
	    NULL },
	{ MIN_L "max connections = 4\n", 1, 5,
	    "unknown key 'max connections' in [listener a]", NULL },
	{ "workers = 4\n[global]\n" MIN_L, 1, 1,
	    "workers: key outside any section", NULL },
	{ "\n; c\nfoo = 4\n" MIN_L, 1, 3, "foo: key outside any section", NULL },
	/* sections */
	{ "[listener]\n" BASE_BIND BASE_UPSTREAM BASE_CERT, 1, 1,
	    "[listener] needs a name", NULL },
	{ "[listener a b]\n" BASE_BIND BASE_UPSTREAM BASE_CERT, 1, 1,
	    "invalid listener name 'a b'", NULL },
	{ "[listener a/b]\n" BASE_BIND BASE_UPSTREAM BASE_CERT, 1, 1,
	    "invalid listener name 'a/b'", NULL },
	{ "[listener " L65 "]\n" BASE_BIND BASE_UPSTREAM BASE_CERT, 1, 1,
	    "invalid listener name '" L65 "'", NULL },
	{ MIN_L "[listener a]\nbind = 127.0.0.2:8883\n" BASE_UPSTREAM BASE_CERT,
	    1, 5, "duplicate listener name 'a'", "(first on line 1)" },
	{ "[listenr x]\n" MIN_L, 1, 1, "unknown section kind 'listenr'", NULL },
	{ "[upstream x]\n" MIN_L, 1, 1, "unknown section kind 'upstream'",
	    NULL },
	{ MIN_L "[cert x]\ncertfile = /x.pem\nbogus = 1\n", 1, 5,
	    "unknown section kind 'cert'", NULL },
	{ "[Global]\n" MIN_L, 1, 1, "unknown section kind 'Global'", NULL },
	{ "[global x]\n" MIN_L, 1, 1, "[global] takes no name, not 'x'", NULL },
	{ "[]\n" MIN_L, 1, 1, "empty section header", NULL },
	{ "[ \t]\n" MIN_L, 1, 1, "empty section header", NULL },
	/* syntax */
	{ "[global\n" MIN_L, 1, 1, "syntax error: missing ']'", NULL },
	{ "[global ; ]\n" MIN_L, 1, 1, "syntax error: missing ']'", NULL },
	{ "[global]junk\n" MIN_L, 1, 1, "syntax error: unexpected text after ']'",
	    NULL },
	{ "[global] ]\n" MIN_L, 1, 1, "syntax error: unexpected text after ']'",
	    NULL },
	{ "[global]\ngarbage\n" MIN_L, 1, 2,
	    "syntax error: expected 'key = value', '[section]' or a comment",
	    NULL },
	{ "[global]\nworkers ; = 4\n" MIN_L, 1, 2, "syntax error: expected",
	    NULL },
	{ "[global]\n= 4\n" MIN_L, 1, 2, "syntax error: missing key name before '='",
	    NULL },
	{ "[global]\n : 4\n" MIN_L, 1, 2,
	    "syntax error: missing key name before ':'", NULL },
	{ "[global]\n\xEF\xBB\xBFworkers = 4\n" MIN_L, 1, 2,
	    "unknown key '\xEF\xBB\xBFworkers'", NULL },
	/* continuation lines */
	{ "[global]\nworkers = 4\n  8\n" MIN_L, 1, 3,
	    "workers: continuation lines are not supported",
	    "after the key on line 2" },
	{ "[global]\nworkers = 4\n\n\t log_level = debug\n" MIN_L, 1, 4,
	    "workers: continuation lines are not supported", "line 2" },
	{ "[global]\nfoo = 1\n bar\n" MIN_L, 2, 2, "unknown key 'foo'", NULL },
	{ "[upstream x]\nfoo = 1\n  bar\n" MIN_L, 1, 1, "unknown section kind",
	    NULL },
	{ "foo = 1\n  bar\n" MIN_L, 2, 1, "foo: key outside any section",
	    NULL },
	/* inline comments need a blank before ';' */
	{ "[global]\nworkers = 4;x\n" MIN_L, 1, 2, "workers: invalid value '4;x'",
	    NULL },
	{ "[global]\nworkers = 4 # four\n" MIN_L, 1, 2,
	    "workers: invalid value '4 # four'", NULL },
	/* cross-field rules */
	{ "", 1, 0, "no [listener] section", NULL },
	{ "[global]\nworkers = 2\n", 1, 0, "no [listener] section", NULL },
	{ "[listener a]\n" BASE_UPSTREAM BASE_CERT, 1, 1,
	    "bind: required key missing in [listener a]", NULL },
	{ "[listener a]\n" BASE_BIND BASE_CERT, 1, 1,
	    "upstream: required key missing in [listener a]", NULL },
	{ "[listener a]\n" BASE_BIND BASE_UPSTREAM, 1, 1,
	    "certfile: required key missing in [listener a]", NULL },
	{ MIN_L "[listener b]\n; nothing\n", 3, 5,
	    "bind: required key missing in [listener b]", NULL },
	{ MIN_L "verify = verify_peer\n", 1, 5,
	    "verify: verify_peer requires cacertfile", NULL },
	{ MIN_L "cacertfile =\nverify = verify_peer\n", 1, 6,
	    "verify: verify_peer requires cacertfile", NULL },
	{ MIN_L "[listener b]\nbind = 127.0.0.1:8883\n" BASE_UPSTREAM BASE_CERT,
	    1, 6, "bind: 127.0.0.1:8883 is already bound on line 2",
	    "([listener a])" },
	{ "[listener a]\nbind = [::1]:8883\nbind = [::1]:8883\n" BASE_UPSTREAM
	  BASE_CERT,
	    1, 3, "bind: [::1]:8883 is already bound on line 2", NULL },
	/* a missing key in a listener with a bad name is reported too */
	{ "[listener]\n", 4, 1, "[listener] needs a name", NULL },
};

START_TEST(test_error)
{
	load(err_vec[_i].text);
	expect_errors(err_vec[_i].n);
	expect_entry(0, err_vec[_i].line, err_vec[_i].sub1, err_vec[_i].sub2);
}
END_TEST

START_TEST(test_missing_all_required)
{
	load("[listener a]\ndepth = 3\n");
	expect_errors(3);
	expect_entry(0, 1, "bind: required key missing in [listener a]", NULL);
	expect_entry(1, 1, "upstream: required key missing", NULL);
	expect_entry(2, 1, "certfile: required key missing", NULL);
}
END_TEST

/* Every problem is reported, each on its own line, in order. */
START_TEST(test_many_errors)
{
	load("workers = 1\n"		       /* 1: outside a section */
	     "[global]\n"		       /* 2 */
	     "workers = 0\n"		       /* 3: range */
	     "workers = 2\n"		       /* 4: duplicate */
	     "foo = bar\n"		       /* 5: unknown key */
	     "this is not a setting\n"	       /* 6: syntax */
	     "[listenr x]\n"		       /* 7: unknown section */
	     "depth = 1000\n"		       /* 8: skipped */
	     "[listener a]\n"		       /* 9 */
	     "bind = localhost:8883\n"	       /* 10: host name */
	     "upstream = 127.0.0.1:99999\n"    /* 11: port */
	     "certfile =\n"		       /* 12: empty */
	     "verify = verify_peer\n"	       /* 13: needs cacertfile */
	     "depth = 101\n"		       /* 14: range */
	     "  102\n"			       /* 15: continuation */
	     "versions = sslv3\n"	       /* 16: bad version */
	     "[listener b\n"		       /* 17: unterminated */
	     "[listener b]\n"		       /* 18 */
	     "bind = 127.0.0.1:8883\n"	       /* 19 */
	     "bind = 127.0.0.1:8883\n"	       /* 20: same address */
	     "certfile = b.pem\n");	       /* 21; no upstream: at 18 */
	expect_errors(16);
	expect_entry(0, 1, "workers: key outside any section", NULL);
	expect_entry(1, 3, "workers: invalid value '0'", NULL);
	expect_entry(2, 4, "workers: duplicate key", "line 3");
	expect_entry(3, 5, "unknown key 'foo' in [global]", NULL);
	expect_entry(4, 6, "syntax error", NULL);
	expect_entry(5, 7, "unknown section kind 'listenr'", NULL);
	expect_entry(6, 10, "bind: invalid value 'localhost:8883'",
	    "host names are not supported yet");
	expect_entry(7, 11, "upstream: invalid value '127.0.0.1:99999'", NULL);
	expect_entry(8, 12, "certfile: empty value", NULL);
	expect_entry(9, 14, "depth: invalid value '101'", NULL);
	expect_entry(10, 15, "depth: continuation lines are not supported",
	    NULL);
	expect_entry(11, 16, "versions: invalid value 'sslv3'", NULL);
	expect_entry(12, 17, "syntax error: missing ']'", NULL);
	/* then the cross-field rules, listener by listener */
	expect_entry(13, 13, "verify: verify_peer requires cacertfile", NULL);
	expect_entry(14, 18, "upstream: required key missing in [listener b]",
	    NULL);
	expect_entry(15, 20, "bind: 127.0.0.1:8883 is already bound on line 19",
	    NULL);
}
END_TEST

/* --- line handling --- */

static char *
repeat(char ch, size_t n)
{
	char *s = malloc(n + 1);

	ck_assert_ptr_nonnull(s);
	memset(s, ch, n);
	s[n] = '\0';
	return s;
}

/* A 300-byte line is one error at its own line, and later lines keep their
 * numbers (the packaged inih would cut it into two lines). */
START_TEST(test_long_line)
{
	char *x = repeat('x', 290), text[1024];

	snprintf(text, sizeof(text),
	    "[listener a]\n" BASE_BIND "ciphers = %s\n" BASE_UPSTREAM BASE_CERT
	    "bogus = 1\n",
	    x);
	free(x);
	load(text);
	expect_errors(2);
	expect_entry(0, 3, "line too long (300 bytes, at most 197)", NULL);
	expect_entry(1, 6, "unknown key 'bogus'", NULL);
}
END_TEST

static void
load_line_of(size_t indent, size_t vlen, const char *tail)
{
	char *sp = repeat(' ', indent), *x = repeat('c', vlen), text[2048];

	snprintf(text, sizeof(text),
	    MIN_L "%sciphers = %s%s\n", sp, x, tail);
	free(sp);
	free(x);
	load(text);
}

START_TEST(test_line_limit)
{
	/* "ciphers = " is 10 bytes: 187 more make 197. */
	load_line_of(0, 187, "");
	expect_ok();
	ck_assert_uint_eq(strlen(cfg->listeners[0].tls.ciphers), 187);

	diag_clear(&d);
	load_line_of(0, 188, "");
	expect_errors(1);
	expect_entry(0, 5, "line too long (198 bytes, at most 197)", NULL);

	/* Trailing blanks and an inline comment do not count ... */
	diag_clear(&d);
	load_line_of(0, 187, "   \t ; a long comment that goes on and on and "
			     "on and on and on and on and on and on and on");
	expect_ok();
	ck_assert_uint_eq(strlen(cfg->listeners[0].tls.ciphers), 187);

	/* ... but indentation does. */
	diag_clear(&d);
	load_line_of(3, 187, "");
	expect_errors(1);
	expect_entry(0, 5, "line too long (200 bytes, at most 197)", NULL);
}
END_TEST

START_TEST(test_long_comment)
{
	char *x = repeat('-', 5000), *text;

	ck_assert_int_ge(asprintf(&text, ";%s\n#%s\n   ;%s\n" MIN_L
					 "depth = 7\n",
			     x, x, x),
	    0);
	free(x);
	load(text);
	free(text);
	expect_ok();
	ck_assert_int_eq(cfg->listeners[0].line[LKEY_DEPTH], 8);
}
END_TEST

START_TEST(test_long_header)
{
	char *x = repeat('n', 200), text[1024];

	snprintf(text, sizeof(text), "[listener %s]\n" MIN_L "bogus = 1\n", x);
	free(x);
	load(text);
	expect_errors(2);
	expect_entry(0, 1, "line too long (211 bytes", NULL);
	expect_entry(1, 6, "unknown key 'bogus' in [listener a]", NULL);
}
END_TEST

START_TEST(test_crlf)
{
	load("[global]\r\nworkers = 3\r\n\r\n[listener a]\r\n"
	     "bind = 127.0.0.1:8883\r\nupstream = 127.0.0.1:1883\r\n"
	     "certfile = /c.pem\r\nciphers = HIGH ; comment\r\n");
	expect_ok();
	ck_assert_int_eq(cfg->global.workers, 3);
	ck_assert_str_eq(cfg->listeners[0].tls.certfile, "/c.pem");
	ck_assert_str_eq(cfg->listeners[0].tls.ciphers, "HIGH");
	ck_assert_int_eq(cfg->listeners[0].line[LKEY_CIPHERS], 8);

	diag_clear(&d);
	load("[global]\r\n\r\nfoo = 1\r\n" MIN_L);
	expect_errors(1);
	expect_entry(0, 3, "unknown key 'foo'", NULL);
}
END_TEST

START_TEST(test_bom)
{
	load("\xEF\xBB\xBF[global]\nworkers = 5\n" MIN_L);
	expect_ok();
	ck_assert_int_eq(cfg->global.workers, 5);
	ck_assert_int_eq(cfg->global.line[GKEY_WORKERS], 2);

	diag_clear(&d);
	load("\xEF\xBB\xBF" MIN_L);
	expect_ok();
	ck_assert_int_eq(cfg->listeners[0].header_line, 1);
}
END_TEST

START_TEST(test_no_final_newline)
{
	load(MIN_L "depth = 4");
	expect_ok();
	ck_assert_int_eq(cfg->listeners[0].tls.depth, 4);
	ck_assert_int_eq(cfg->listeners[0].line[LKEY_DEPTH], 5);

	diag_clear(&d);
	load("[listener a]\n" BASE_BIND BASE_UPSTREAM "certfile = /c.pem");
	expect_ok();
	ck_assert_str_eq(cfg->listeners[0].tls.certfile, "/c.pem");

	diag_clear(&d);
	load(MIN_L "depth = 400");
	expect_errors(1);
	expect_entry(0, 5, "depth: invalid value '400'", NULL);
}
END_TEST

/* --- files --- */

static struct config *
load_file_bytes(const char *data, size_t len, char **pathp)
{
	char *path = unit_temp_file(data, len);

	config_free(cfg);
	cfg = config_load_file(path, &d);
	*pathp = path;
	return cfg;
}

START_TEST(test_file)
{
	static const char text[] = "[global]\nworkers = 7\n" MIN_L
				   "keyfile = k.pem\n";
	char *path;

	load_file_bytes(text, sizeof(text) - 1, &path);
	ck_assert_msg(diag_count(&d) == 0, "%s", dump());
	ck_assert_ptr_nonnull(cfg);
	ck_assert_str_eq(cfg->path, path);
	ck_assert_int_eq(cfg->global.workers, 7);
	/* relative to the directory of the file */
	ck_assert_str_eq(cfg->listeners[0].tls.keyfile, "/tmp/k.pem");
	unlink(path);
	free(path);
}
END_TEST

START_TEST(test_file_errors_name_the_file)
{
	static const char text[] = "[global]\nworkers = x\n" MIN_L;
	char *path;

	load_file_bytes(text, sizeof(text) - 1, &path);
	ck_assert_ptr_null(cfg);
	ck_assert_uint_eq(diag_count(&d), 1);
	ck_assert_str_eq(d.v[0].file, path);
	ck_assert_int_eq(d.v[0].line, 2);
	unlink(path);
	free(path);
}
END_TEST

START_TEST(test_file_nul)
{
	static const char text[] = "[global]\nworkers = 4\nlog_\0level = info\n"
				   "log_level = warn\n" MIN_L;
	char *path;

	load_file_bytes(text, sizeof(text) - 1, &path);
	ck_assert_ptr_null(cfg);
	ck_assert_msg(diag_count(&d) == 1, "%s", dump());
	ck_assert_int_eq(d.v[0].line, 3);
	ck_assert_str_eq(d.v[0].msg, "line contains a NUL byte");
	unlink(path);
	free(path);
}
END_TEST

START_TEST(test_file_long_line)
{
	char *x = repeat('y', 100000), *text, *path;
	size_t len;

	ck_assert_int_ge(asprintf(&text,
			     "[global]\n; %s\nworkers = %s\n" MIN_L "bad = 1\n",
			     x, x),
	    0);
	free(x);
	len = strlen(text);
	load_file_bytes(text, len, &path);
	free(text);
	ck_assert_ptr_null(cfg);
	ck_assert_msg(diag_count(&d) == 2, "%s", dump());
	ck_assert_int_eq(d.v[0].line, 3);
	ck_assert_str_eq(d.v[0].msg, "line too long (100010 bytes, at most 197)");
	ck_assert_int_eq(d.v[1].line, 8);
	unlink(path);
	free(path);
}
END_TEST

START_TEST(test_file_missing)
{
	cfg = config_load_file("/nonexistent/mqgate.ini", &d);
	ck_assert_ptr_null(cfg);
	ck_assert_uint_eq(diag_count(&d), 1);
	ck_assert_str_eq(d.v[0].file, "/nonexistent/mqgate.ini");
	ck_assert_int_eq(d.v[0].line, 0);
	ck_assert_str_eq(d.v[0].msg, "cannot open: No such file or directory");
}
END_TEST

START_TEST(test_file_is_directory)
{
	char buf[256];

	cfg = config_load_file("/tmp", &d);
	ck_assert_ptr_null(cfg);
	ck_assert_uint_eq(diag_count(&d), 1);
	diag_format(&d, 0, buf, sizeof(buf));
	ck_assert_str_eq(buf, "/tmp: cannot read: Is a directory");
}
END_TEST

START_TEST(test_file_relative_dir)
{
	char dir[] = "/tmp/mqgate-unit-XXXXXX", path[64], *text;
	FILE *fp;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/mqgate.ini", dir);
	fp = fopen(path, "w");
	ck_assert_ptr_nonnull(fp);
	fputs("[listener a]\n" BASE_BIND BASE_UPSTREAM
	      "certfile = certs/server.pem\ncacertfile = ../ca.pem\n", fp);
	ck_assert_int_eq(fclose(fp), 0);

	cfg = config_load_file(path, &d);
	expect_ok();
	ck_assert_int_ge(asprintf(&text, "%s/certs/server.pem", dir), 0);
	ck_assert_str_eq(cfg->listeners[0].tls.certfile, text);
	ck_assert_str_eq(cfg->listeners[0].tls.keyfile, text);
	free(text);
	ck_assert_int_ge(asprintf(&text, "%s/../ca.pem", dir), 0);
	ck_assert_str_eq(cfg->listeners[0].tls.cacertfile, text);
	free(text);
	unlink(path);
	rmdir(dir);
}
END_TEST

/* --- relative paths from the name given to config_load_string --- */

static const struct {
	const char *name;
	const char *value;
	const char *path;
} path_vec[] = {
	{ "/etc/mqgate/mqgate.ini", "certs/server.pem",
	    "/etc/mqgate/certs/server.pem" },
	{ "/etc/mqgate/mqgate.ini", "/abs/server.pem", "/abs/server.pem" },
	{ "/etc/mqgate/mqgate.ini", "./x.pem", "/etc/mqgate/./x.pem" },
	{ "/etc/mqgate//mqgate.ini", "x.pem", "/etc/mqgate/x.pem" },
	{ "/mqgate.ini", "x.pem", "/x.pem" },
	{ "//mqgate.ini", "x.pem", "/x.pem" },
	{ "conf/mqgate.ini", "certs/x.pem", "conf/certs/x.pem" },
	{ "mqgate.ini", "x.pem", "./x.pem" },
	{ "", "x.pem", "./x.pem" },
	{ NULL, "x.pem", "./x.pem" },
};

START_TEST(test_relative_path)
{
	char text[512];
	const struct tls_conf *t;

	snprintf(text, sizeof(text),
	    "[listener a]\n" BASE_BIND BASE_UPSTREAM
	    "certfile = %s\nkeyfile = %s\ncacertfile = %s\n"
	    "key_password = %s\n",
	    path_vec[_i].value, path_vec[_i].value, path_vec[_i].value,
	    path_vec[_i].value);
	cfg = config_load_string(text, path_vec[_i].name, &d);
	expect_ok();
	t = &cfg->listeners[0].tls;
	ck_assert_str_eq(t->certfile, path_vec[_i].path);
	ck_assert_str_eq(t->keyfile, path_vec[_i].path);
	ck_assert_str_eq(t->cacertfile, path_vec[_i].path);
	/* not a path */
	ck_assert_str_eq(t->key_password, path_vec[_i].value);
	if (path_vec[_i].name == NULL)
		ck_assert_ptr_null(cfg->path);
}
END_TEST

/* Without a name, problems carry no file. */
START_TEST(test_no_name)
{
	char buf[128];

	cfg = config_load_string("[global]\nfoo = 1\n" MIN_L, NULL, &d);
	ck_assert_ptr_null(cfg);
	ck_assert_uint_eq(diag_count(&d), 1);
	ck_assert_ptr_null(d.v[0].file);
	diag_format(&d, 0, buf, sizeof(buf));
	ck_assert_str_eq(buf, "unknown key 'foo' in [global]");
}
END_TEST

START_TEST(test_null_diag)
{
	cfg = config_load_string(MIN_L, NAME, NULL);
	ck_assert_ptr_nonnull(cfg);
	config_free(cfg);
	cfg = config_load_string("[global]\nfoo = 1\n" MIN_L, NAME, NULL);
	ck_assert_ptr_null(cfg);
	ck_assert_ptr_null(config_load_file("/nonexistent", NULL));
}
END_TEST

/* Problems already in d do not make a good file fail. */
START_TEST(test_diag_not_empty)
{
	diag_add(&d, "other", 1, "earlier problem");
	load(MIN_L);
	ck_assert_ptr_nonnull(cfg);
	ck_assert_uint_eq(diag_count(&d), 1);
	load("[global]\nfoo = 1\n" MIN_L);
	ck_assert_ptr_null(cfg);
	ck_assert_uint_eq(diag_count(&d), 2);
}
END_TEST

/* --- the example in the brief, every key set --- */

static const char example[] =
    "[global]\n"
    "workers = auto              ; event-loop threads\n"
    "max_connections = 512000    ; 1..10000000\n"
    "handshake_timeout = 10      ; duration, > 0\n"
    "connect_timeout = 5         ; duration, > 0\n"
    "idle_timeout = 0            ; duration, 0 = never\n"
    "drain_timeout = 30          ; duration, 0 allowed\n"
    "reload_interval = 120       ; duration, 0 = only on SIGHUP\n"
    "log_level = info            ; error|warn|info|debug\n"
    "\n"
    "[listener default]          ; one or more\n"
    "bind = 0.0.0.0:8883         ; repeatable\n"
    "bind = [::]:8883\n"
    "upstream = 127.0.0.1:1883   ; required; numeric host:port\n"
    "certfile = /etc/mqgate/certs/server.pem   ; required\n"
    "keyfile  = /etc/mqgate/certs/server.key   ; defaults to certfile\n"
    "key_password =              ; empty = none\n"
    "cacertfile =                ; empty = none\n"
    "verify = verify_none        ; verify_none | verify_peer\n"
    "fail_if_no_peer_cert = false\n"
    "depth = 10                  ; 0..100\n"
    "versions = tlsv1.3,tlsv1.2  ; any of tlsv1.3 tlsv1.2 tlsv1.1 tlsv1\n"
    "ciphers =                   ; empty = OpenSSL default (store NULL)\n"
    "ciphersuites =              ; empty = default (NULL)\n"
    "groups =                    ; empty = default (NULL)\n";

START_TEST(test_example)
{
	const struct listener_conf *l;
	char buf[ADDR_STRLEN];
	size_t i;

	cfg = config_load_string(example, "/etc/mqgate/mqgate.ini", &d);
	expect_ok();
	ck_assert_int_eq(cfg->global.workers, 0);
	ck_assert_int_eq(cfg->global.max_connections, 512000);
	ck_assert_int_eq(cfg->global.handshake_timeout_ms, 10000);
	ck_assert_int_eq(cfg->global.connect_timeout_ms, 5000);
	ck_assert_int_eq(cfg->global.idle_timeout_ms, 0);
	ck_assert_int_eq(cfg->global.drain_timeout_ms, 30000);
	ck_assert_int_eq(cfg->global.reload_interval_ms, 120000);
	ck_assert_int_eq(cfg->global.log_level, LOG_LEVEL_INFO);
	for (i = 0; i < GKEY_COUNT; i++)
		ck_assert_int_eq(cfg->global.line[i], (int)i + 2);

	l = config_listener(cfg, "default");
	ck_assert_ptr_nonnull(l);
	ck_assert_int_eq(l->header_line, 11);
	ck_assert_uint_eq(l->nbinds, 2);
	addr_format(&l->binds[1], buf, sizeof(buf));
	ck_assert_str_eq(buf, "[::]:8883");
	ck_assert_int_eq(l->bind_lines[0], 12);
	ck_assert_int_eq(l->bind_lines[1], 13);
	addr_format(&l->upstream, buf, sizeof(buf));
	ck_assert_str_eq(buf, "127.0.0.1:1883");
	ck_assert_str_eq(l->tls.certfile, "/etc/mqgate/certs/server.pem");
	ck_assert_str_eq(l->tls.keyfile, "/etc/mqgate/certs/server.key");
	ck_assert_ptr_null(l->tls.key_password);
	ck_assert_ptr_null(l->tls.cacertfile);
	ck_assert_int_eq(l->tls.verify, TLS_VERIFY_NONE);
	ck_assert_int_eq(l->tls.fail_if_no_peer_cert, false);
	ck_assert_int_eq(l->tls.depth, 10);
	ck_assert_uint_eq(l->tls.versions, TLS_VER_1_3 | TLS_VER_1_2);
	ck_assert_ptr_null(l->tls.ciphers);
	ck_assert_ptr_null(l->tls.ciphersuites);
	ck_assert_ptr_null(l->tls.groups);
	ck_assert_int_eq(l->line[LKEY_BIND], 13);
	for (i = LKEY_UPSTREAM; i < LKEY_COUNT; i++)
		ck_assert_int_eq(l->line[i], (int)i + 13);
}
END_TEST

/* --- docs drift: the table against the man page and the example --- */

static bool
is_ident(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
	    ch == '_';
}

/* name appears as a word of its own (roff font escapes may precede it). */
static bool
mentions(const char *text, const char *name)
{
	size_t len = strlen(name);
	const char *p;

	for (p = strstr(text, name); p != NULL; p = strstr(p + 1, name))
		if ((p == text || !is_ident(p[-1])) && !is_ident(p[len]))
			return true;
	return false;
}

/* Some line reads "key =", maybe commented out with ';' or '#'. */
static bool
has_setting(const char *text, const char *name)
{
	size_t len = strlen(name);
	const char *line;

	for (line = text; line != NULL && *line != '\0';
	     line = strchr(line, '\n'), line = line ? line + 1 : NULL) {
		const char *p = line;

		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == ';' || *p == '#')
			p++;
		while (*p == ' ' || *p == '\t')
			p++;
		if (strncmp(p, name, len) != 0)
			continue;
		p += len;
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '=')
			return true;
	}
	return false;
}

START_TEST(test_docs_man)
{
	char *man = unit_read_file(TOP_SRCDIR "/man/mqgate.ini.5");
	size_t i;

	ck_assert_msg(man != NULL, "cannot read man/mqgate.ini.5");
	for (i = 0; i < config_nkeys; i++)
		ck_assert_msg(mentions(man, config_keys[i].name),
		    "key %s is not in man/mqgate.ini.5", config_keys[i].name);
	free(man);
}
END_TEST

START_TEST(test_docs_example)
{
	char *conf = unit_read_file(TOP_SRCDIR "/conf/mqgate.ini");
	size_t i;

	ck_assert_msg(conf != NULL, "cannot read conf/mqgate.ini");
	for (i = 0; i < config_nkeys; i++)
		ck_assert_msg(has_setting(conf, config_keys[i].name),
		    "key %s is not set or shown in conf/mqgate.ini",
		    config_keys[i].name);
	free(conf);
}
END_TEST

/* The shipped example must load as it is. */
START_TEST(test_docs_example_loads)
{
	cfg = config_load_file(TOP_SRCDIR "/conf/mqgate.ini", &d);
	ck_assert_msg(cfg != NULL, "conf/mqgate.ini:\n%s", dump());
	ck_assert_uint_ge(cfg->nlisteners, 1);
	ck_assert_msg(strncmp(cfg->listeners[0].tls.certfile,
			  TOP_SRCDIR "/conf/", strlen(TOP_SRCDIR "/conf/")) == 0,
	    "certfile %s not under conf/", cfg->listeners[0].tls.certfile);
}
END_TEST

/* --- allocation failures --- */

/*
 * Outside sanitizer builds the test binary replaces malloc, calloc and
 * realloc to fail one chosen call and to count live blocks, so that every
 * allocation in a load can be made to fail in turn and leaks show up.
 */
#if !defined(__SANITIZE_ADDRESS__)
#define UNIT_FAULTS 1

void *__libc_malloc(size_t size);
void *__libc_calloc(size_t n, size_t size);
void *__libc_realloc(void *ptr, size_t size);
void __libc_free(void *ptr);

static long fault_countdown = -1; /* fail when it reaches 0; -1 = never */
static long live_blocks;

static bool
fault_now(void)
{
	if (fault_countdown < 0)
		return false;
	return fault_countdown-- == 0;
}

void *
malloc(size_t size)
{
	void *p;

	if (fault_now()) {
		errno = ENOMEM;
		return NULL;
	}
	if ((p = __libc_malloc(size)) != NULL)
		live_blocks++;
	return p;
}

void *
calloc(size_t n, size_t size)
{
	void *p;

	if (fault_now()) {
		errno = ENOMEM;
		return NULL;
	}
	if ((p = __libc_calloc(n, size)) != NULL)
		live_blocks++;
	return p;
}

void *
realloc(void *ptr, size_t size)
{
	void *p;

	if (fault_now()) {
		errno = ENOMEM;
		return NULL;
	}
	p = __libc_realloc(ptr, size);
	if (ptr == NULL && p != NULL)
		live_blocks++;
	return p;
}

void
free(void *ptr)
{
	if (ptr != NULL)
		live_blocks--;
	__libc_free(ptr);
}

static const char oom_errors[] = "workers = 1\n[global]\nfoo = 1\n"
				 "depth = 2\n[listenr x]\n" MIN_L
				 "bind = 127.0.0.1:8883\nverify = verify_peer\n";

/* Load text (or a file of it) with allocation k failing. Returns false once
 * k is past the last allocation. */
static bool
load_failing(const char *text, bool file, long k)
{
	struct diag dd;
	struct config *c;
	long before;
	bool hit;
	char *path = NULL;

	if (file)
		path = unit_temp_file(text, strlen(text));
	diag_init(&dd);
	before = live_blocks;
	fault_countdown = k;
	if (file)
		c = config_load_file(path, &dd);
	else
		c = config_load_string(text, "/etc/mqgate/mqgate.ini", &dd);
	hit = fault_countdown < 0;
	fault_countdown = -1;
	/* A good text loads unless an allocation of ours failed; stdio may
	 * cope with a failed buffer allocation on its own. */
	if (text == example && !file)
		ck_assert_msg((c == NULL) == hit, "allocation %ld: %s", k,
		    hit ? "failure went unnoticed" : "load failed");
	if (text == oom_errors)
		ck_assert_ptr_null(c);
	ck_assert_int_eq(c == NULL, diag_count(&dd) > 0);
	config_free(c);
	diag_clear(&dd);
	ck_assert_msg(live_blocks == before, "allocation %ld: %ld blocks leaked",
	    k, live_blocks - before);
	if (path != NULL) {
		unlink(path);
		free(path);
	}
	return hit;
}

START_TEST(test_oom_string)
{
	long k;

	for (k = 0; load_failing(example, false, k); k++)
		;
	ck_assert_int_ge(k, 10);
}
END_TEST

START_TEST(test_oom_string_reports)
{
	struct diag dd;
	struct config *c;

	/* The first allocation of a load is the config itself. */
	diag_init(&dd);
	fault_countdown = 0;
	c = config_load_string(example, NAME, &dd);
	fault_countdown = -1;
	ck_assert_ptr_null(c);
	ck_assert_uint_eq(diag_count(&dd), 1);
	ck_assert_str_eq(dd.v[0].msg, "out of memory");
	diag_clear(&dd);
}
END_TEST

START_TEST(test_oom_file)
{
	long k;

	for (k = 0; load_failing(example, true, k); k++)
		;
	ck_assert_int_ge(k, 10);
}
END_TEST

START_TEST(test_oom_with_errors)
{
	long k;

	for (k = 0; load_failing(oom_errors, false, k); k++)
		;
	ck_assert_int_ge(k, 10);
}
END_TEST
#endif

Suite *
config_suite(void)
{
	Suite *s = suite_create("config");
	TCase *tc;

	tc = tcase_create("keys");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_table);
	tcase_add_test(tc, test_defaults);
	tcase_add_loop_test(tc, test_global_key, 0, (int)nitems(global_vec));
	tcase_add_loop_test(tc, test_listener_key, 0,
	    (int)nitems(listener_vec));
	tcase_add_test(tc, test_verify_peer);
	tcase_add_test(tc, test_bind_repeated);
	tcase_add_test(tc, test_bind_distinct);
	tcase_add_test(tc, test_colon_and_comments);
	tcase_add_test(tc, test_indented_first_key_and_header);
	tcase_add_test(tc, test_global_twice);
	tcase_add_test(tc, test_long_listener_name);
	tcase_add_test(tc, test_many_listeners);
	tcase_add_test(tc, test_config_listener);
	tcase_add_test(tc, test_example);
	suite_add_tcase(s, tc);

	tc = tcase_create("errors");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_loop_test(tc, test_bad_value, 0, (int)nitems(bad_vec));
	tcase_add_loop_test(tc, test_duplicate_key, 0, (int)config_nkeys);
	tcase_add_test(tc, test_duplicate_after_bad_value);
	tcase_add_loop_test(tc, test_error, 0, (int)nitems(err_vec));
	tcase_add_test(tc, test_missing_all_required);
	tcase_add_test(tc, test_many_errors);
	suite_add_tcase(s, tc);

	tc = tcase_create("lines");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_long_line);
	tcase_add_test(tc, test_line_limit);
	tcase_add_test(tc, test_long_comment);
	tcase_add_test(tc, test_long_header);
	tcase_add_test(tc, test_crlf);
	tcase_add_test(tc, test_bom);
	tcase_add_test(tc, test_no_final_newline);
	suite_add_tcase(s, tc);

	tc = tcase_create("files");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_file);
	tcase_add_test(tc, test_file_errors_name_the_file);
	tcase_add_test(tc, test_file_nul);
	tcase_add_test(tc, test_file_long_line);
	tcase_add_test(tc, test_file_missing);
	tcase_add_test(tc, test_file_is_directory);
	tcase_add_test(tc, test_file_relative_dir);
	tcase_add_loop_test(tc, test_relative_path, 0, (int)nitems(path_vec));
	tcase_add_test(tc, test_no_name);
	tcase_add_test(tc, test_null_diag);
	tcase_add_test(tc, test_diag_not_empty);
	suite_add_tcase(s, tc);

	tc = tcase_create("docs");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_docs_man);
	tcase_add_test(tc, test_docs_example);
	tcase_add_test(tc, test_docs_example_loads);
	suite_add_tcase(s, tc);

#ifdef UNIT_FAULTS
	tc = tcase_create("oom");
	tcase_add_test(tc, test_oom_string);
	tcase_add_test(tc, test_oom_string_reports);
	tcase_add_test(tc, test_oom_file);
	tcase_add_test(tc, test_oom_with_errors);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
#endif
	return s;
}

int
main(void)
{
	return unit_run(config_suite());
}
