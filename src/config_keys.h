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

struct config;
struct listener_conf;

enum config_section_kind {
	CONFIG_SECTION_GLOBAL,
	CONFIG_SECTION_LISTENER,
};

/*
 * Store value into the config (global keys) or into the listener (listener
 * keys; l is NULL for global keys). Returns 0, or -1 with *why set to a
 * static reason, or -2 on allocation failure.
 */
typedef int config_setter_fn(struct config *c, struct listener_conf *l,
    const char *value, const char **why);

struct config_key {
	enum config_section_kind section;
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

/* The key named name in section kind, or NULL. */
const struct config_key *config_key_find(enum config_section_kind section,
    const char *name);

#endif
