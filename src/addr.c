/*
 * addr.c: converts numeric "host:port", "[v6]:port" and "unix:/path"
 * strings to socket addresses and back, and parses and matches address
 * prefixes (trusted_proxies). It never resolves names, opens sockets or
 * allocates; a host name is refused with a reason rather than looked up.
 */
#include "build_config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/un.h>

#include "addr.h"

static int
fail(const char **why, const char *reason)
{
	if (why != NULL)
		*why = reason;
	return -1;
}

/* Port 1..65535, decimal digits only. */
static int
parse_port(const char *s, unsigned *out)
{
	unsigned long n = 0;

	if (*s == '\0')
		return -1;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		n = n * 10 + (unsigned long)(*s - '0');
		if (n > 65535)
			return -1;
	}
	if (n == 0)
		return -1;
	*out = (unsigned)n;
	return 0;
}

static bool
looks_like_name(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if ((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z'))
			return true;
	return false;
}

/* "unix:/path": an absolute path that fits sun_path with its NUL. */
static int
parse_unix(const char *path, struct addr *out, const char **why)
{
	struct sockaddr_un *sun = (struct sockaddr_un *)&out->ss;
	size_t n = strlen(path);

	if (*path != '/')
		return fail(why, "a UNIX socket path must be absolute, as in "
		    "unix:/run/mosquitto/mqtt.sock");
	if (n > ADDR_UNIX_PATH_MAX)
		return fail(why, "a UNIX socket path is longer than 107 bytes");
	memset(out, 0, sizeof(*out));
	sun->sun_family = AF_UNIX;
	memcpy(sun->sun_path, path, n + 1);
	out->len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + 1);
	return 0;
}

int
addr_parse(const char *s, struct addr *out, const char **why)
{
	char host[INET6_ADDRSTRLEN];
	const char *hs, *he, *colon;
	unsigned port;
	bool v6;

	if (*s == '\0')
		return fail(why, "expected host:port");
	if (strncmp(s, ADDR_UNIX_PREFIX, strlen(ADDR_UNIX_PREFIX)) == 0)
		return parse_unix(s + strlen(ADDR_UNIX_PREFIX), out, why);
	if (*s == '[') {
		v6 = true;
		hs = s + 1;
		he = strchr(hs, ']');
		if (he == NULL)
			return fail(why, "missing ']' after IPv6 address");
		if (he[1] != ':')
			return fail(why, he[1] == '\0'
			    ? "missing port (expected [v6]:port)"
			    : "expected ':' and a port after ']'");
		colon = he + 1;
	} else {
		v6 = false;
		hs = s;
		colon = strrchr(s, ':');
		if (colon == NULL)
			return fail(why, "missing port (expected host:port)");
		if (memchr(s, ':', (size_t)(colon - s)) != NULL)
			return fail(why,
			    "IPv6 addresses must be in brackets, e.g. [::1]:1883");
		he = colon;
	}
	if (he == hs)
		return fail(why, "missing host (use 0.0.0.0 or [::] for any)");
	if (parse_port(colon + 1, &port) == -1)
		return fail(why, colon[1] == '\0' ? "missing port after ':'"
		    : "port must be a number from 1 to 65535");
	if ((size_t)(he - hs) >= sizeof(host)) {
		if (!v6 && looks_like_name(hs, (size_t)(he - hs)))
			return fail(why, "host names are not supported yet, use a "
			    "numeric IPv4 or [IPv6] address");
		return fail(why, v6 ? "invalid IPv6 address"
		    : "invalid IPv4 address");
	}
	memcpy(host, hs, (size_t)(he - hs));
	host[he - hs] = '\0';

	memset(out, 0, sizeof(*out));
	if (v6) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&out->ss;

		if (strchr(host, '%') != NULL)
			return fail(why, "IPv6 zone ids (%...) are not supported");
		if (inet_pton(AF_INET6, host, &sin6->sin6_addr) != 1)
			return fail(why, "invalid IPv6 address");
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((unsigned short)port);
		out->len = sizeof(*sin6);
	} else {
		struct sockaddr_in *sin = (struct sockaddr_in *)&out->ss;

		if (inet_pton(AF_INET, host, &sin->sin_addr) != 1) {
			if (looks_like_name(host, strlen(host)))
				return fail(why, "host names are not supported "
				    "yet, use a numeric IPv4 or [IPv6] address");
			return fail(why, "invalid IPv4 address");
		}
		sin->sin_family = AF_INET;
		sin->sin_port = htons((unsigned short)port);
		out->len = sizeof(*sin);
	}
	return 0;
}

void
addr_format_sa(const struct sockaddr *sa, socklen_t len, char *buf, size_t cap)
{
	char host[INET6_ADDRSTRLEN];

	if (cap == 0)
		return;
	if (sa == NULL || len == 0) {
		snprintf(buf, cap, "(unset)");
		return;
	}
	if (sa->sa_family == AF_INET && len >= sizeof(struct sockaddr_in)) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;

		if (inet_ntop(AF_INET, &sin->sin_addr, host, sizeof(host)) ==
		    NULL)
			goto bad;
		snprintf(buf, cap, "%s:%u", host, ntohs(sin->sin_port));
		return;
	}
	if (sa->sa_family == AF_INET6 && len >= sizeof(struct sockaddr_in6)) {
		const struct sockaddr_in6 *sin6 =
		    (const struct sockaddr_in6 *)sa;

		if (inet_ntop(AF_INET6, &sin6->sin6_addr, host, sizeof(host)) ==
		    NULL)
			goto bad;
		/* A zone id is printed numerically: no interface lookup. */
		if (sin6->sin6_scope_id != 0)
			snprintf(buf, cap, "[%s%%%u]:%u", host,
			    (unsigned)sin6->sin6_scope_id,
			    ntohs(sin6->sin6_port));
		else
			snprintf(buf, cap, "[%s]:%u", host,
			    ntohs(sin6->sin6_port));
		return;
	}
	if (sa->sa_family == AF_UNIX &&
	    len >= offsetof(struct sockaddr_un, sun_path) &&
	    len <= sizeof(struct sockaddr_un)) {
		const struct sockaddr_un *sun = (const struct sockaddr_un *)sa;
		size_t n = len - offsetof(struct sockaddr_un, sun_path);

		/* Unnamed: "unix:"; abstract (Linux): "unix:@name". */
		if (n > 0 && sun->sun_path[0] == '\0')
			snprintf(buf, cap, ADDR_UNIX_PREFIX "@%.*s",
			    (int)(n - 1), sun->sun_path + 1);
		else
			snprintf(buf, cap, ADDR_UNIX_PREFIX "%.*s",
			    (int)strnlen(sun->sun_path, n), sun->sun_path);
		return;
	}
bad:
	snprintf(buf, cap, "(unknown address family %d)", (int)sa->sa_family);
}

void
addr_format(const struct addr *a, char *buf, size_t cap)
{
	if (a == NULL) {
		addr_format_sa(NULL, 0, buf, cap);
		return;
	}
	addr_format_sa((const struct sockaddr *)&a->ss, a->len, buf, cap);
}

/* The prefix length after '/': decimal, 0..max. */
static int
parse_prefix(const char *s, int max, int *out)
{
	int n = 0;

	if (*s == '\0')
		return -1;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		n = n * 10 + (*s - '0');
		if (n > max)
			return -1;
	}
	*out = n;
	return 0;
}

/* Whether the first bits bits of a and b are equal. */
static bool
prefix_eq(const unsigned char *a, const unsigned char *b, int bits)
{
	int whole = bits / 8, rest = bits % 8;

	if (memcmp(a, b, (size_t)whole) != 0)
		return false;
	if (rest == 0)
		return true;
	return ((a[whole] ^ b[whole]) & (0xFF00u >> rest) & 0xFF) == 0;
}

int
addr_cidr_parse(const char *s, struct cidr *out, const char **why)
{
	char host[INET6_ADDRSTRLEN];
	const char *slash = strchr(s, '/');
	size_t hlen = slash != NULL ? (size_t)(slash - s) : strlen(s);
	struct cidr c;
	int max;

	memset(&c, 0, sizeof(c));
	if (hlen == 0)
		return fail(why, slash == NULL
		    ? "expected an address or a prefix such as 10.0.0.0/8"
		    : "missing address before '/'");
	c.family = memchr(s, ':', hlen) != NULL ? AF_INET6 : AF_INET;
	max = c.family == AF_INET ? 32 : 128;
	if (memchr(s, '%', hlen) != NULL)
		return fail(why, "IPv6 zone ids (%...) are not supported");
	if (hlen >= sizeof(host))
		goto badaddr;
	memcpy(host, s, hlen);
	host[hlen] = '\0';
	if (inet_pton(c.family, host, c.addr) != 1)
		goto badaddr;
	if (slash == NULL)
		c.prefix = max;
	else if (parse_prefix(slash + 1, max, &c.prefix) == -1)
		return fail(why, slash[1] == '\0'
		    ? "missing prefix length after '/'"
		    : c.family == AF_INET
		    ? "prefix length must be a number from 0 to 32"
		    : "prefix length must be a number from 0 to 128");
	/* Every bit below the prefix must be zero. */
	{
		unsigned char masked[16];
		int i;

		memcpy(masked, c.addr, sizeof(masked));
		for (i = c.prefix; i < max; i++)
			masked[i / 8] &= (unsigned char)~(0x80u >> (i % 8));
		if (memcmp(masked, c.addr, (size_t)max / 8) != 0)
			return fail(why, "host bits set below the prefix "
			    "length (write the network address, as in "
			    "10.0.0.0/8)");
	}
	*out = c;
	return 0;
badaddr:
	if (looks_like_name(s, hlen) && c.family == AF_INET)
		return fail(why, "host names are not supported, use a numeric "
		    "address");
	return fail(why, c.family == AF_INET ? "invalid IPv4 address"
	    : "invalid IPv6 address");
}

/* ::ffff:0:0/96, the IPv4-mapped IPv6 addresses. */
static const unsigned char v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0xFF, 0xFF };

/* The IPv6 form of an IP socket address (IPv4 as ::ffff:a.b.c.d) and, if
 * port is not NULL, its port; false for other families. */
static bool
ip_as_v6(const struct sockaddr *sa, unsigned char v6[16], uint16_t *port)
{
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;

		memcpy(v6, v4mapped, sizeof(v4mapped));
		memcpy(v6 + 12, &in->sin_addr, 4);
		if (port != NULL)
			*port = in->sin_port;
		return true;
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;

		memcpy(v6, &in6->sin6_addr, 16);
		if (port != NULL)
			*port = in6->sin6_port;
		return true;
	}
	return false;
}

bool
addr_same_endpoint(const struct addr *a, const struct addr *b)
{
	unsigned char va[16], vb[16];
	uint16_t pa, pb;

	if (a->len > 0 && b->len > 0 &&
	    ip_as_v6((const struct sockaddr *)&a->ss, va, &pa) &&
	    ip_as_v6((const struct sockaddr *)&b->ss, vb, &pb))
		return pa == pb && memcmp(va, vb, 16) == 0;
	return a->len == b->len && a->len > 0 &&
	    memcmp(&a->ss, &b->ss, a->len) == 0;
}

bool
addr_cidr_match(const struct cidr *v, size_t n, const struct sockaddr *sa)
{
	unsigned char v4[4], v6[16];
	bool has4 = false;
	size_t i;

	if (sa == NULL || !ip_as_v6(sa, v6, NULL))
		return false;
	if (memcmp(v6, v4mapped, sizeof(v4mapped)) == 0) {
		memcpy(v4, v6 + 12, 4);
		has4 = true;
	}
	for (i = 0; i < n; i++) {
		if (v[i].family == AF_INET6 &&
		    prefix_eq(v[i].addr, v6, v[i].prefix))
			return true;
		if (v[i].family == AF_INET && has4 &&
		    prefix_eq(v[i].addr, v4, v[i].prefix))
			return true;
	}
	return false;
}
