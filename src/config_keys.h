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
struct upstream_conf;

enum config_section_kind {
	CONFIG_SECTION_GLOBAL,
	CONFIG_SECTION_LISTENER,
	CONFIG_SECTION_CERT,
	CONFIG_SECTION_UPSTREAM,
};

/*
 * Where a setter stores its value: global keys get only c; keys of
 * [listener NAME] get l and t = &l->tls; keys of [cert NAME] get b and
 * t = &b->tls (l is NULL there); keys of [upstream NAME] get u. msg (cap
 * bytes, may be NULL) is where a setter may format a reason that names
 * the part of the value at fault.
 */
struct config_target {
	struct listener_conf *l;
	struct cert_conf *b;
	struct tls_conf *t;
	struct upstream_conf *u;
	char *msg;
	size_t msgcap;
};

/* The longest reason a setter formats into config_target.msg. */
#define CONFIG_MSG_MAX 512

/*
 * Store value. Returns 0; or -1 with *why set to a reason (config.c prints
 * it after the value: "key: invalid value 'v': why"); or -3 with *why a
 * message that names the fault itself and is printed as "key: why"; or -2
 * on allocation failure. *why is static or points into to->msg.
 */
typedef int config_setter_fn(struct config *c, const struct config_target *to,
    const char *value, const char **why);

struct config_key {
	enum config_section_kind section; /* where it belongs first */
	bool in_cert; /* a listener key that a [cert] section may also set */
	const char *name;
	int id;		      /* enum global_key, listener_key or upstream_key */
	const char *def;      /* default as written in a config file; NULL = none */
	bool repeatable;      /* may appear more than once (bind, server) */
	config_setter_fn *set;
	const char *doc;      /* one line */
	/*
	 * Must be set in every section of its kind (bind, upstream, server).
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

/* Longest section NAME ([listener NAME], [cert NAME], [upstream NAME]),
 * and longest host name of a server (not counting a final '.'). */
#define CONFIG_NAME_MAX 64
#define CONFIG_HOST_MAX 253

/* A section name: 1 to CONFIG_NAME_MAX letters, digits, '_', '.', '-'. */
bool config_section_name_ok(const char *s);

/* Free an array of n owned strings (a parsed list value); NULL is fine. */
void config_strv_free(char **v, size_t n);

/* The key named name in section kind (for CONFIG_SECTION_CERT: the cert
 * keys and the listener keys with in_cert), or NULL. */
const struct config_key *config_key_find(enum config_section_kind section,
    const char *name);

#endif
