/*
 * addr.c: converts numeric "host:port" and "[v6]:port" strings to socket
 * addresses and back. It never resolves names, opens sockets or allocates;
 * a host name is refused with a reason rather than looked up.
 */
#include "build_config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

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

int
addr_parse(const char *s, struct addr *out, const char **why)
{
	char host[INET6_ADDRSTRLEN];
	const char *hs, *he, *colon;
	unsigned port;
	bool v6;

	if (*s == '\0')
		return fail(why, "expected host:port");
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
