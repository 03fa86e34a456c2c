/*
 * config: the configuration model (struct config and its listeners), the
 * inih glue that fills it from a file or a string with exact line numbers,
 * and cross-field validation. Pure: it reads the config text, but never
 * opens certificates, binds sockets or logs; problems go into a struct diag.
 */
#ifndef MQGATE_CONFIG_H
#define MQGATE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "addr.h"
#include "diag.h"

enum log_level {
	LOG_LEVEL_ERROR,
	LOG_LEVEL_WARN,
	LOG_LEVEL_INFO,
	LOG_LEVEL_DEBUG,
};

enum tls_verify {
	TLS_VERIFY_NONE,
	TLS_VERIFY_PEER,
};

/* Keys of [global]; indexes into struct global_conf.line[]. */
enum global_key {
	GKEY_WORKERS,
	GKEY_MAX_CONNECTIONS,
	GKEY_HANDSHAKE_TIMEOUT,
	GKEY_CONNECT_TIMEOUT,
	GKEY_IDLE_TIMEOUT,
	GKEY_DRAIN_TIMEOUT,
	GKEY_RELOAD_INTERVAL,
	GKEY_LOG_LEVEL,
	GKEY_COUNT
};

/* Keys of [listener NAME]; indexes into struct listener_conf.line[]. */
enum listener_key {
	LKEY_BIND,
	LKEY_UPSTREAM,
	LKEY_CERTFILE,
	LKEY_KEYFILE,
	LKEY_KEY_PASSWORD,
	LKEY_CACERTFILE,
	LKEY_VERIFY,
	LKEY_FAIL_IF_NO_PEER_CERT,
	LKEY_DEPTH,
	LKEY_VERSIONS,
	LKEY_CIPHERS,
	LKEY_CIPHERSUITES,
	LKEY_GROUPS,
	LKEY_COUNT
};

struct global_conf {
	int workers;		   /* 0 = auto (number of CPUs) */
	long max_connections;	   /* across all listeners */
	long handshake_timeout_ms; /* > 0 */
	long connect_timeout_ms;   /* > 0 */
	long idle_timeout_ms;	   /* 0 = never */
	long drain_timeout_ms;	   /* 0 = close at once on SIGTERM */
	long reload_interval_ms;   /* 0 = only on SIGHUP */
	enum log_level log_level;
	int line[GKEY_COUNT]; /* line each key was set on; 0 = default */
};

/* TLS settings of a listener (later also of a [cert] bundle). */
struct tls_conf {
	char *certfile;	    /* owned; leaf first, then the chain */
	char *keyfile;	    /* owned */
	char *key_password; /* owned; NULL or "" = none */
	char *cacertfile;   /* owned; NULL = none */
	enum tls_verify verify;
	bool fail_if_no_peer_cert;
	int depth;
	unsigned versions; /* TLS_VER_* bits from value.h */
	char *ciphers;	   /* owned; NULL = OpenSSL default */
	char *ciphersuites; /* owned; NULL = OpenSSL default */
	char *groups;	   /* owned; NULL = OpenSSL default */
};

struct listener_conf {
	char *name;	 /* owned; the NAME of [listener NAME] */
	int header_line; /* line of the [listener NAME] header */
	struct addr *binds; /* owned array of nbinds */
	size_t nbinds;
	int *bind_lines; /* owned array of nbinds: line of each bind */
	struct addr upstream;
	struct tls_conf tls;
	int line[LKEY_COUNT]; /* line each key was (last) set on; 0 = default */
};

struct config {
	char *path; /* owned; the file name used in diagnostics */
	struct global_conf global;
	struct listener_conf *listeners; /* owned array of nlisteners */
	size_t nlisteners;
};

/*
 * Parse the file at path into a new config. Every problem (syntax, unknown
 * section or key, duplicate key, bad value, failed cross-field rule) is added
 * to d as "path:line: key: message"; parsing goes on after each so all are
 * reported. Returns the config, or NULL when anything was wrong (then d has
 * at least one entry) or the file cannot be read. Caller frees the result
 * with config_free(). Checks no certificate files: see tls_ctx.
 */
struct config *config_load_file(const char *path, struct diag *d);

/*
 * As config_load_file, but when the problems found still leave a config
 * (anything but an unreadable file or running out of memory), return it
 * anyway, with every key that parsed set and the rest at its default. The
 * caller must look at d: this is for reporting, so that `mqgate -t` can
 * also load the certificates of a config that has other errors.
 */
struct config *config_load_file_partial(const char *path, struct diag *d);

/* As config_load_file, but from a NUL-terminated string; name is the file
 * name used in diagnostics. */
struct config *config_load_string(const char *text, const char *name,
    struct diag *d);

/* Free a config and everything it owns; NULL is a no-op. */
void config_free(struct config *c);

/* Look up a listener by name; NULL if none. */
const struct listener_conf *config_listener(const struct config *c,
    const char *name);

/* Names of enum values, for printing and for the key table. */
extern const char *const config_log_level_names[];  /* NULL-terminated */
extern const char *const config_verify_names[];	    /* NULL-terminated */

/* Longest accepted line, after inline comments and trailing blanks are
 * stripped (the packaged inih reads lines of at most 199 bytes). */
#define CONFIG_MAX_LINE 197

#endif
