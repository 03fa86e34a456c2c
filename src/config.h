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
#include <stdint.h>
#include <stdio.h>

#include "addr.h"
#include "allow.h"
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
	/* issue 3: bundles, SNI, revocation, OCSP, PSK, resumption, ALPN */
	LKEY_CERTS,
	LKEY_SNI_STRICT,
	LKEY_CERTDIR,
	LKEY_SNI, /* [cert] only */
	LKEY_CRLFILE,
	LKEY_CRL_CHECK,
	LKEY_CRL_FETCH,
	LKEY_CRL_REFRESH_INTERVAL,
	LKEY_CRL_FETCH_TIMEOUT,
	LKEY_CRL_MISSING,
	LKEY_OCSP_STAPLING,
	LKEY_OCSP_RESPONDER_URL,
	LKEY_OCSP_ISSUER_FILE,
	LKEY_OCSP_REFRESH_INTERVAL,
	LKEY_OCSP_STAPLE_FILE,
	LKEY_PSK_FILE,
	LKEY_SESSION_TICKETS,
	LKEY_SESSION_CACHE_SIZE,
	LKEY_SESSION_TIMEOUT,
	LKEY_TICKET_KEY_FILE,
	LKEY_ALLOW_CN,
	LKEY_ALLOW_OU,
	LKEY_ALLOW_SAN_DNS,
	LKEY_ALLOW_SAN_URI,
	LKEY_ALPN,
	LKEY_ALPN_STRICT,
	/* issue 4: PROXY protocol out and in, MQTT identity binding */
	LKEY_PROXY_PROTOCOL,
	LKEY_PROXY_PROFILE,
	LKEY_PROXY_TLVS,
	LKEY_PROXY_CUSTOM_TLV_BASE,
	LKEY_PROXY_MAX_HEADER,
	LKEY_ACCEPT_PROXY,
	LKEY_TRUSTED_PROXIES,
	LKEY_PROXY_HEADER_TIMEOUT,
	LKEY_PROXY_PASS_TLVS,
	LKEY_MQTT_USERNAME,
	LKEY_MQTT_PASSWORD,
	LKEY_MQTT_CLIENTID_MUST_MATCH,
	LKEY_MQTT_CONNECT_TIMEOUT,
	LKEY_MQTT_MAX_CONNECT,
	LKEY_COUNT
};

/* Keys of [upstream NAME]; indexes into struct upstream_conf.line[]. */
enum upstream_key {
	UKEY_SERVER,
	UKEY_BALANCE,
	UKEY_HASH,
	UKEY_HEALTH_CHECK,
	UKEY_HEALTH_INTERVAL,
	UKEY_HEALTH_TIMEOUT,
	UKEY_HEALTH_RISE,
	UKEY_HEALTH_FALL,
	UKEY_CONNECT_RETRIES,
	UKEY_RESOLVE_INTERVAL,
	UKEY_COUNT
};

/* balance */
enum balance_mode {
	BALANCE_ROUNDROBIN,
	BALANCE_LEASTCONN,
	BALANCE_SOURCE,
	BALANCE_CLIENTID,
};

/* hash (for source and clientid) */
enum hash_mode {
	HASH_RENDEZVOUS,
};

/* health_check */
enum health_mode {
	HEALTH_NONE,
	HEALTH_TCP,
	HEALTH_MQTT,
};

/* The allowlists, in the order of their keys (LKEY_ALLOW_CN + i). */
enum allow_kind {
	ALLOW_CN,
	ALLOW_OU,
	ALLOW_SAN_DNS,
	ALLOW_SAN_URI,
	ALLOW_KIND_COUNT
};

/* proxy_protocol: the header sent to the upstream. */
enum proxy_out {
	PROXY_OUT_OFF,
	PROXY_OUT_V1,
	PROXY_OUT_V2,
};

/* proxy_tlvs = none: no TLV bits, yet not 0 (the profile's set); mask it
 * away before use. */
#define PROXYV2_T_NONE_SET 0x80000000u

/* accept_proxy: the header expected from the peer (bit set: v1, v2). */
enum proxy_in {
	PROXY_IN_OFF = 0,
	PROXY_IN_V1 = 1,
	PROXY_IN_V2 = 2,
	PROXY_IN_ANY = 3,
};

/* mqtt_username: what replaces the CONNECT's username. */
enum mqtt_user_src {
	MQTT_USER_KEEP,
	MQTT_USER_CN,
	MQTT_USER_DN,
	MQTT_USER_SAN_URI,
	MQTT_USER_SAN_DNS,
	MQTT_USER_CERT_SHA256,
	MQTT_USER_PSK_IDENTITY,
};

/* mqtt_password. */
enum mqtt_pass_mode {
	MQTT_PASS_KEEP,
	MQTT_PASS_DROP,
	MQTT_PASS_FILE,
};

/* mqtt_clientid_must_match. */
enum mqtt_cid_match {
	MQTT_CID_OFF,
	MQTT_CID_CN,
	MQTT_CID_SAN_URI,
	MQTT_CID_USERNAME,
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

/*
 * TLS settings of a listener or of a [cert] bundle. A bundle takes the
 * listener's value of every key it does not set itself (see
 * config_cert_effective); depth, versions, ciphers, ciphersuites and
 * groups are the listener's only.
 */
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
	char *crlfile;	   /* owned; NULL = none */
	bool crl_chain;	   /* crl_check = chain (else leaf) */
	struct allow_list *allow[ALLOW_KIND_COUNT]; /* owned; NULL = unset */
	bool ocsp_stapling;
	char *ocsp_responder_url; /* owned; NULL = from the certificate */
	char *ocsp_issuer_file;	  /* owned; NULL = next in the chain */
	char *ocsp_staple_file;	  /* owned; NULL = none */
	long ocsp_refresh_ms;
};

/* A [cert NAME] section: a reusable certificate bundle. */
struct cert_conf {
	char *name;	 /* owned */
	int header_line;
	struct tls_conf tls; /* only the keys set in the section are valid */
	char **sni;	 /* owned, normalised; NULL = from the certificate */
	size_t nsni;
	int line[LKEY_COUNT]; /* line each key was set on; 0 = not set */
};

/* One `server = host:port [weight=N] [backup]` line of a pool. */
struct server_conf {
	char *text; /* owned: "host:port" exactly as written (the hash key,
		       and the server's name in logs) */
	char *host; /* owned: the host, without [] around an IPv6 literal */
	unsigned port;
	struct addr addr; /* a numeric host, parsed; len 0 for a DNS name */
	int weight;	  /* 1..256; default 1 */
	bool backup;	  /* used only when no non-backup server is up */
	int line;
};

/* An [upstream NAME] section: a pool of brokers. */
struct upstream_conf {
	char *name; /* owned */
	int header_line;
	struct server_conf *servers; /* owned array of nservers */
	size_t nservers;
	enum balance_mode balance;
	enum hash_mode hash;
	enum health_mode health_check;
	long health_interval_ms;
	long health_timeout_ms;
	int health_rise;
	int health_fall;
	int connect_retries;
	long resolve_interval_ms; /* 0 = resolve only at start */
	int line[UKEY_COUNT];	  /* line each key was (last) set on */
	int bad_servers;	  /* server lines that did not parse */
};

struct listener_conf {
	char *name;	 /* owned; the NAME of [listener NAME] */
	int header_line; /* line of the [listener NAME] header */
	struct addr *binds; /* owned array of nbinds */
	size_t nbinds;
	int *bind_lines; /* owned array of nbinds: line of each bind */
	struct addr upstream; /* when upstream is an address (len > 0) */
	char *upstream_pool;  /* owned: the pool it names, or NULL */
	size_t pool_idx;      /* its index into config->upstreams (SIZE_MAX
				 in a partial config that lacks the pool) */
	struct tls_conf tls;
	char **certs;	  /* owned: names of the [cert] bundles served */
	size_t ncerts;
	size_t *cert_idx; /* owned: their indexes into config->certs */
	bool sni_strict;
	char *certdir;	  /* owned; NULL = none */
	bool crl_fetch;
	long crl_refresh_ms;
	long crl_fetch_timeout_ms;
	bool crl_missing_accept; /* crl_missing = accept (else reject) */
	char *psk_file;		 /* owned; NULL = none */
	bool session_tickets;
	long session_cache_size; /* 0 = no server-side cache */
	long session_timeout_ms;
	char *ticket_key_file; /* owned; NULL = random keys per generation */
	unsigned char *alpn;   /* owned ALPN wire format; NULL = off */
	size_t alpn_len;
	bool alpn_strict;

	/* PROXY protocol out */
	enum proxy_out proxy_protocol;
	int proxy_profile;	    /* enum proxyv2_profile */
	uint32_t proxy_tlvs;	    /* PROXYV2_T_* bits; 0 = the profile's;
				       PROXYV2_T_NONE_SET alone = none */
	unsigned proxy_custom_base; /* 0xE0..0xEA */
	long proxy_max_header;	    /* whole header, bytes; 0 = no limit */
	/* PROXY protocol in */
	unsigned accept_proxy;	  /* enum proxy_in bits */
	struct cidr *trusted;	  /* owned array of ntrusted */
	size_t ntrusted;
	long proxy_header_timeout_ms;
	uint8_t pass_tlvs[32];	  /* bitmap of TLV types passed on */
	/* MQTT identity binding */
	enum mqtt_user_src mqtt_username;
	enum mqtt_pass_mode mqtt_password;
	char *mqtt_password_file; /* owned; with MQTT_PASS_FILE */
	enum mqtt_cid_match mqtt_clientid_must_match;
	long mqtt_connect_timeout_ms;
	long mqtt_max_connect; /* bytes */
	int line[LKEY_COUNT]; /* line each key was (last) set on; 0 = default */
};

/* Whether a listener parses the client's CONNECT at all. */
static inline bool
listener_binds_mqtt(const struct listener_conf *l)
{
	return l->mqtt_username != MQTT_USER_KEEP ||
	    l->mqtt_password != MQTT_PASS_KEEP ||
	    l->mqtt_clientid_must_match != MQTT_CID_OFF;
}

/* Whether TLV type t is in proxy_pass_tlvs. */
static inline bool
listener_passes_tlv(const struct listener_conf *l, unsigned t)
{
	return t < 256 && (l->pass_tlvs[t / 8] >> (t % 8)) & 1;
}

struct config {
	char *path; /* owned; the file name used in diagnostics */
	struct global_conf global;
	struct listener_conf *listeners; /* owned array of nlisteners */
	size_t nlisteners;
	struct cert_conf *certs; /* owned array of ncerts */
	size_t ncerts;
	struct upstream_conf *upstreams; /* owned array of nupstreams */
	size_t nupstreams;
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

/*
 * The settings of bundle b as served on listener l: every key b does not
 * set comes from l (certfile, keyfile, key_password and the OCSP issuer
 * and staple files never do). Fills *out with borrowed pointers (valid as
 * long as c) and *lines with the line to blame for each key (b's or l's;
 * for a key set nowhere, b's header line).
 */
void config_cert_effective(const struct listener_conf *l,
    const struct cert_conf *b, struct tls_conf *out, int lines[LKEY_COUNT]);

/* Look up a bundle by name; NULL if none. */
const struct cert_conf *config_cert(const struct config *c, const char *name);

/* Look up an [upstream NAME] pool by name; NULL if none. */
const struct upstream_conf *config_upstream(const struct config *c,
    const char *name);

/* Names of enum values, for printing and for the key table. */
extern const char *const config_log_level_names[];  /* NULL-terminated */
extern const char *const config_verify_names[];	    /* NULL-terminated */
extern const char *const config_allow_keys[]; /* "allow_cn", ...; by kind */
extern const char *const config_balance_names[]; /* by enum balance_mode */
extern const char *const config_hash_names[];	 /* by enum hash_mode */
extern const char *const config_health_names[];	 /* by enum health_mode */

/* Longest accepted line, after inline comments and trailing blanks are
 * stripped (the packaged inih reads lines of at most 199 bytes). */
#define CONFIG_MAX_LINE 197

#endif
