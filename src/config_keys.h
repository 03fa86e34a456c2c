/*
 * config_keys: the one table of configuration keys: section, name, type,
 * range or enum, default, the setter that stores a parsed value, and a
 * one-line doc. config.c drives parsing from it; the unit tests check the
 * man page and the example config against it.
 */
#ifndef MQGATE_CONFIG_KEYS_H
#define MQGATE_CONFIG_KEYS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct config;
struct listener_conf;
struct cert_conf;
struct tls_conf;

enum config_section_kind {
	CONFIG_SECTION_GLOBAL,
	CONFIG_SECTION_LISTENER,
	CONFIG_SECTION_CERT,
};

/*
 * Where a setter stores its value: global keys get only c; keys of
 * [listener NAME] get l and t = &l->tls; keys of [cert NAME] get b and
 * t = &b->tls (l is NULL there).
 */
struct config_target {
	struct listener_conf *l;
	struct cert_conf *b;
	struct tls_conf *t;
};

/*
 * Store value. Returns 0, or -1 with *why set to a static reason, or -2 on
 * allocation failure.
 */
typedef int config_setter_fn(struct config *c, const struct config_target *to,
    const char *value, const char **why);

struct config_key {
	enum config_section_kind section; /* where it belongs first */
	bool in_cert; /* a listener key that a [cert] section may also set */
	const char *name;
	int id;		      /* enum global_key or enum listener_key */
	const char *def;      /* default as written in a config file; NULL = none */
	bool repeatable;      /* may appear more than once (bind) */
	config_setter_fn *set;
	const char *doc;      /* one line */
	/*
	 * Must be set in every section of its kind (bind, upstream, certfile).
	 * A key with def == NULL that is not required takes its default from
	 * another key after parsing (keyfile from certfile).
	 */
	bool required;
};

extern const struct config_key config_keys[];
extern const size_t config_nkeys;

/* Ranges of proxy_custom_tlv_base (the six custom TLVs stay within
 * 0xE0..0xEF) and of a non-zero proxy_max_header (the 16-byte fixed part
 * and a UNIX address block, up to 16 + 65535). */
#define CONFIG_CUSTOM_BASE_MIN 0xE0
#define CONFIG_CUSTOM_BASE_MAX 0xEA
#define CONFIG_PROXY_HEADER_MIN 232
#define CONFIG_PROXY_HEADER_MAX 65551

/* Free an array of n owned strings (a parsed list value); NULL is fine. */
void config_strv_free(char **v, size_t n);

/* The key named name in section kind (for CONFIG_SECTION_CERT: the cert
 * keys and the listener keys with in_cert), or NULL. */
const struct config_key *config_key_find(enum config_section_kind section,
    const char *name);

#endif
