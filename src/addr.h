/*
 * addr: numeric "host:port" / "[v6]:port" <-> sockaddr conversion and
 * printing. Pure: no name resolution, no sockets.
 */
#ifndef MQGATE_ADDR_H
#define MQGATE_ADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

struct addr {
	struct sockaddr_storage ss;
	socklen_t len; /* 0 = unset */
};

/* An address prefix (trusted_proxies). */
struct cidr {
	int family;		/* AF_INET or AF_INET6 */
	unsigned char addr[16]; /* network byte order, host bits zero */
	int prefix;		/* 0..32 or 0..128 */
};

/* Long enough for "[ffff:...:255.255.255.255%ifname]:65535" and for
 * "unix:" and a 107-byte socket path. */
#define ADDR_STRLEN 120

/* A UNIX socket address is written "unix:/absolute/path"; the path fits
 * sun_path with its NUL. */
#define ADDR_UNIX_PREFIX "unix:"
#define ADDR_UNIX_PATH_MAX 107

/*
 * Parse "1.2.3.4:1883" or "[::1]:1883" (numeric addresses only, port
 * 1..65535; port 0 refused), or "unix:/absolute/path" (AF_UNIX, len =
 * offsetof(sun_path) + path + NUL). Returns 0 or -1 with *why set to a
 * static reason. Callers that cannot use a UNIX socket (bind) refuse one.
 */
int addr_parse(const char *s, struct addr *out, const char **why);

/* Format a sockaddr as "1.2.3.4:1883" / "[::1]:1883" / "unix:/path" into
 * buf (an unnamed UNIX socket prints "unix:", an abstract one "unix:@name"). */
void addr_format_sa(const struct sockaddr *sa, socklen_t len, char *buf,
    size_t cap);
void addr_format(const struct addr *a, char *buf, size_t cap);

/*
 * Whether a and b reach the same socket: the same IP address and port, an
 * IPv4 address counting the same as its IPv4-mapped IPv6 form (Linux
 * connects to ::ffff:a.b.c.d over IPv4), or the same UNIX path. An empty
 * address (len 0) is the same as nothing.
 */
bool addr_same_endpoint(const struct addr *a, const struct addr *b);

/*
 * Parse "10.0.0.0/8", "::1/128" or a bare address (a host prefix). Host
 * bits set below the prefix are an error ("10.0.0.1/8" is a typo more often
 * than not). Returns 0 or -1 with *why set to a static reason.
 */
int addr_cidr_parse(const char *s, struct cidr *out, const char **why);

/*
 * Whether sa falls in any of the n prefixes. An IPv4-mapped IPv6 address
 * (::ffff:a.b.c.d) matches IPv4 prefixes as a.b.c.d, and an IPv4 address
 * matches IPv6 prefixes as ::ffff:a.b.c.d (as HAProxy's ACLs do), so that
 * a peer matches alike on a dual-stack socket and an IPv4 one. Other
 * families (and NULL) match nothing.
 */
bool addr_cidr_match(const struct cidr *v, size_t n, const struct sockaddr *sa);

#endif
