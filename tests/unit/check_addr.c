/*
 * check_addr.c: unit tests for addr.c: every accepted address form with its
 * canonical printout, every refusal with its reason, UNIX socket paths, the
 * printer on odd inputs (unset, unknown family, zone id, unnamed and
 * abstract UNIX sockets, small buffers), and address prefixes: parsing
 * with every refusal, and matching at the edge prefixes and across IPv4
 * and IPv4-mapped IPv6.
 */
#include "build_config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stddef.h>
#include <string.h>
#include <sys/un.h>

#include "addr.h"
#include "compat.h"
#include "unit.h"

static const struct {
	const char *s;
	int family;
	unsigned port;
	const char *fmt; /* canonical form */
} ok_vec[] = {
	{ "1.2.3.4:1883", AF_INET, 1883, "1.2.3.4:1883" },
	{ "0.0.0.0:8883", AF_INET, 8883, "0.0.0.0:8883" },
	{ "127.0.0.1:1", AF_INET, 1, "127.0.0.1:1" },
	{ "255.255.255.255:65535", AF_INET, 65535, "255.255.255.255:65535" },
	{ "10.0.0.1:01883", AF_INET, 1883, "10.0.0.1:1883" },
	{ "[::]:8883", AF_INET6, 8883, "[::]:8883" },
	{ "[::1]:1883", AF_INET6, 1883, "[::1]:1883" },
	{ "[2001:db8::1]:65535", AF_INET6, 65535, "[2001:db8::1]:65535" },
	{ "[2001:DB8:0:0:0:0:0:1]:80", AF_INET6, 80, "[2001:db8::1]:80" },
	{ "[::ffff:1.2.3.4]:80", AF_INET6, 80, "[::ffff:1.2.3.4]:80" },
	{ "[fe80::1]:8883", AF_INET6, 8883, "[fe80::1]:8883" },
};

START_TEST(test_parse_ok)
{
	struct addr a;
	const char *why = "untouched";
	char buf[ADDR_STRLEN];

	memset(&a, 0xA5, sizeof(a));
	ck_assert_msg(addr_parse(ok_vec[_i].s, &a, &why) == 0, "%s: %s",
	    ok_vec[_i].s, why);
	ck_assert_str_eq(why, "untouched");
	ck_assert_int_eq(a.ss.ss_family, ok_vec[_i].family);
	if (ok_vec[_i].family == AF_INET) {
		const struct sockaddr_in *sin = (struct sockaddr_in *)&a.ss;

		ck_assert_uint_eq(a.len, sizeof(struct sockaddr_in));
		ck_assert_uint_eq(ntohs(sin->sin_port), ok_vec[_i].port);
	} else {
		const struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&a.ss;

		ck_assert_uint_eq(a.len, sizeof(struct sockaddr_in6));
		ck_assert_uint_eq(ntohs(sin6->sin6_port), ok_vec[_i].port);
		ck_assert_uint_eq(sin6->sin6_scope_id, 0);
		ck_assert_uint_eq(sin6->sin6_flowinfo, 0);
	}
	addr_format(&a, buf, sizeof(buf));
	ck_assert_str_eq(buf, ok_vec[_i].fmt);
	addr_format_sa((struct sockaddr *)&a.ss, a.len, buf, sizeof(buf));
	ck_assert_str_eq(buf, ok_vec[_i].fmt);
}
END_TEST

/* The canonical form parses back to the very same bytes. */
START_TEST(test_roundtrip)
{
	struct addr a, b;
	char buf[ADDR_STRLEN];

	ck_assert_int_eq(addr_parse(ok_vec[_i].s, &a, NULL), 0);
	addr_format(&a, buf, sizeof(buf));
	memset(&b, 0x5A, sizeof(b));
	ck_assert_int_eq(addr_parse(buf, &b, NULL), 0);
	ck_assert_uint_eq(a.len, b.len);
	ck_assert_int_eq(memcmp(&a.ss, &b.ss, a.len), 0);
}
END_TEST

#define E_EMPTY "expected host:port"
#define E_NOPORT "missing port (expected host:port)"
#define E_NOPORT6 "missing port (expected [v6]:port)"
#define E_PORTEMPTY "missing port after ':'"
#define E_PORT "port must be a number from 1 to 65535"
#define E_HOST "missing host (use 0.0.0.0 or [::] for any)"
#define E_NAME \
	"host names are not supported yet, use a numeric IPv4 or [IPv6] address"
#define E_V4 "invalid IPv4 address"
#define E_V6 "invalid IPv6 address"
#define E_BRACKETS "IPv6 addresses must be in brackets, e.g. [::1]:1883"
#define E_CLOSE "missing ']' after IPv6 address"
#define E_AFTER "expected ':' and a port after ']'"
#define E_ZONE "IPv6 zone ids (%...) are not supported"

#define LONG_DIGITS \
	"1111111111111111111111111111111111111111111111111111111111111111"
#define LONG_NAME \
	"mqtt-broker-with-a-very-long-name-that-does-not-fit.example.com"

static const struct {
	const char *s;
	const char *why;
} bad_vec[] = {
	{ "", E_EMPTY },
	{ "1.2.3.4", E_NOPORT },
	{ "localhost", E_NOPORT },
	{ "1.2.3.4:", E_PORTEMPTY },
	{ "1.2.3.4:0", E_PORT },
	{ "1.2.3.4:00", E_PORT },
	{ "1.2.3.4:65536", E_PORT },
	{ "1.2.3.4:99999999999999999999", E_PORT },
	{ "1.2.3.4:abc", E_PORT },
	{ "1.2.3.4:-1", E_PORT },
	{ "1.2.3.4:+1", E_PORT },
	{ "1.2.3.4:18 83", E_PORT },
	{ "1.2.3.4:1883 ", E_PORT },
	{ ":1883", E_HOST },
	{ "[]:1883", E_HOST },
	{ "localhost:1883", E_NAME },
	{ "mqtt.example.com:1883", E_NAME },
	{ LONG_NAME ":1883", E_NAME },
	{ "1.2.3:80", E_V4 },
	{ "1.2.3.256:80", E_V4 },
	{ "1.2.3.4.5:80", E_V4 },
	{ " 1.2.3.4:80", E_V4 },
	{ "1.2.3.4 :80", E_V4 },
	{ LONG_DIGITS ":80", E_V4 },
	{ "::1:1883", E_BRACKETS },
	{ "::1", E_BRACKETS },
	{ "[::1", E_CLOSE },
	{ "[::1]", E_NOPORT6 },
	{ "[::1]1883", E_AFTER },
	{ "[::1]:", E_PORTEMPTY },
	{ "[::1]:0", E_PORT },
	{ "[::1]:65536", E_PORT },
	{ "[1.2.3.4]:80", E_V6 },
	{ "[gggg::1]:80", E_V6 },
	{ "[localhost]:80", E_V6 },
	{ "[:::]:80", E_V6 },
	{ "[" LONG_DIGITS "]:80", E_V6 },
	{ "[fe80::1%eth0]:80", E_ZONE },
	{ "[fe80::1%1]:80", E_ZONE },
};

START_TEST(test_parse_bad)
{
	struct addr a;
	const char *why = "untouched";

	ck_assert_msg(addr_parse(bad_vec[_i].s, &a, &why) == -1,
	    "'%s' accepted", bad_vec[_i].s);
	ck_assert_str_eq(why, bad_vec[_i].why);
	ck_assert_int_eq(addr_parse(bad_vec[_i].s, &a, NULL), -1);
}
END_TEST

START_TEST(test_format_unset)
{
	struct addr a;
	char buf[ADDR_STRLEN];

	memset(&a, 0, sizeof(a));
	addr_format(&a, buf, sizeof(buf));
	ck_assert_str_eq(buf, "(unset)");
	addr_format(NULL, buf, sizeof(buf));
	ck_assert_str_eq(buf, "(unset)");
	addr_format_sa(NULL, 16, buf, sizeof(buf));
	ck_assert_str_eq(buf, "(unset)");
}
END_TEST

START_TEST(test_format_unknown_family)
{
	struct sockaddr_storage ss;
	struct sockaddr_un sun;
	struct sockaddr_in sin;
	char buf[ADDR_STRLEN];

	memset(&ss, 0, sizeof(ss));
	ss.ss_family = AF_PACKET;
	addr_format_sa((struct sockaddr *)&ss, sizeof(ss), buf, sizeof(buf));
	ck_assert_str_eq(buf, "(unknown address family 17)");

	/* A UNIX address longer than a struct sockaddr_un, or shorter than
	 * its family field. */
	memset(&ss, 0, sizeof(ss));
	ss.ss_family = AF_UNIX;
	addr_format_sa((struct sockaddr *)&ss, sizeof(struct sockaddr_un) + 1,
	    buf, sizeof(buf));
	ck_assert_str_eq(buf, "(unknown address family 1)");
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	addr_format_sa((struct sockaddr *)&sun,
	    offsetof(struct sockaddr_un, sun_path) - 1, buf, sizeof(buf));
	ck_assert_str_eq(buf, "(unknown address family 1)");

	/* Too short for its family. */
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	addr_format_sa((struct sockaddr *)&sin, sizeof(sin) - 1, buf,
	    sizeof(buf));
	ck_assert_str_eq(buf, "(unknown address family 2)");
}
END_TEST

START_TEST(test_format_scope)
{
	struct sockaddr_in6 sin6;
	char buf[ADDR_STRLEN];

	memset(&sin6, 0, sizeof(sin6));
	sin6.sin6_family = AF_INET6;
	sin6.sin6_port = htons(8883);
	sin6.sin6_scope_id = 3;
	ck_assert_int_eq(inet_pton(AF_INET6, "fe80::1", &sin6.sin6_addr), 1);
	addr_format_sa((struct sockaddr *)&sin6, sizeof(sin6), buf,
	    sizeof(buf));
	ck_assert_str_eq(buf, "[fe80::1%3]:8883");
}
END_TEST

/* The longest address there is still fits in ADDR_STRLEN. */
START_TEST(test_format_longest)
{
	struct sockaddr_in6 sin6;
	char buf[ADDR_STRLEN];

	memset(&sin6, 0, sizeof(sin6));
	sin6.sin6_family = AF_INET6;
	sin6.sin6_port = htons(65535);
	sin6.sin6_scope_id = 4294967295u;
	ck_assert_int_eq(inet_pton(AF_INET6, "ffff:ffff:ffff:ffff:ffff:ffff:"
					     "255.255.255.255",
			     &sin6.sin6_addr),
	    1);
	addr_format_sa((struct sockaddr *)&sin6, sizeof(sin6), buf,
	    sizeof(buf));
	ck_assert_str_eq(buf,
	    "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff%4294967295]:65535");
}
END_TEST

START_TEST(test_format_small_buffer)
{
	struct addr a;
	char buf[16];

	ck_assert_int_eq(addr_parse("[2001:db8::1]:1883", &a, NULL), 0);
	memset(buf, 'X', sizeof(buf));
	addr_format(&a, buf, 6);
	ck_assert_str_eq(buf, "[2001");
	ck_assert_int_eq(buf[6], 'X');

	memset(buf, 'X', sizeof(buf));
	addr_format(&a, buf, 0);
	ck_assert_int_eq(buf[0], 'X');
	addr_format(NULL, buf, 0);
	ck_assert_int_eq(buf[0], 'X');

	addr_format(&a, buf, 1);
	ck_assert_str_eq(buf, "");
}
END_TEST

/* --- UNIX sockets: "unix:/absolute/path" --- */

/* A path of n bytes: "/" and then 'a' .. 'z' over and over. */
static const char *
long_path(size_t n)
{
	static char buf[256];
	size_t i;

	ck_assert_uint_lt(n, sizeof(buf));
	buf[0] = '/';
	for (i = 1; i < n; i++)
		buf[i] = (char)('a' + (i - 1) % 26);
	buf[n] = '\0';
	return buf;
}

static const char *const unix_ok_vec[] = {
	"/run/mosquitto/mqtt.sock",
	"/",
	"/a b;c:1883",
	"/tmp/[::1]:1883",
	"//double//slash/",
};

START_TEST(test_unix_ok)
{
	const char *path = _i < (int)nitems(unix_ok_vec) ? unix_ok_vec[_i]
							 : long_path(107);
	char in[256], buf[ADDR_STRLEN];
	const struct sockaddr_un *sun;
	const char *why = "untouched";
	struct addr a, b;

	snprintf(in, sizeof(in), "unix:%s", path);
	memset(&a, 0xA5, sizeof(a));
	ck_assert_msg(addr_parse(in, &a, &why) == 0, "%s: %s", in, why);
	ck_assert_str_eq(why, "untouched");
	sun = (const struct sockaddr_un *)&a.ss;
	ck_assert_int_eq(sun->sun_family, AF_UNIX);
	ck_assert_uint_eq(a.len,
	    offsetof(struct sockaddr_un, sun_path) + strlen(path) + 1);
	ck_assert_uint_le(a.len, sizeof(struct sockaddr_un));
	ck_assert_str_eq(sun->sun_path, path);
	addr_format(&a, buf, sizeof(buf));
	ck_assert_str_eq(buf, in);
	/* and back */
	memset(&b, 0x5A, sizeof(b));
	ck_assert_int_eq(addr_parse(buf, &b, NULL), 0);
	ck_assert_uint_eq(a.len, b.len);
	ck_assert_int_eq(memcmp(&a.ss, &b.ss, a.len), 0);
}
END_TEST

#define E_UNIX_REL \
	"a UNIX socket path must be absolute, as in " \
	"unix:/run/mosquitto/mqtt.sock"
#define E_UNIX_LONG "a UNIX socket path is longer than 107 bytes"

static const struct {
	const char *s;
	const char *why;
} unix_bad_vec[] = {
	{ "unix:", E_UNIX_REL },
	{ "unix:mqtt.sock", E_UNIX_REL },
	{ "unix:./mqtt.sock", E_UNIX_REL },
	{ "unix:~/mqtt.sock", E_UNIX_REL },
	{ "unix: /run/mqtt.sock", E_UNIX_REL },
	{ "unix:@abstract", E_UNIX_REL },
	/* the prefix is lower case; otherwise it is a host:port */
	{ "UNIX:/run/mqtt.sock", E_PORT },
	{ "unix", E_NOPORT },
	{ "unix/run/mqtt.sock", E_NOPORT },
};

START_TEST(test_unix_bad)
{
	struct addr a;
	const char *why = "untouched";

	ck_assert_msg(addr_parse(unix_bad_vec[_i].s, &a, &why) == -1,
	    "'%s' accepted", unix_bad_vec[_i].s);
	ck_assert_str_eq(why, unix_bad_vec[_i].why);
	ck_assert_int_eq(addr_parse(unix_bad_vec[_i].s, &a, NULL), -1);
}
END_TEST

/* 107 bytes fit sun_path with the NUL; 108 do not. */
START_TEST(test_unix_too_long)
{
	char in[256];
	struct addr a;
	const char *why = "untouched";

	snprintf(in, sizeof(in), "unix:%s", long_path(108));
	ck_assert_int_eq(addr_parse(in, &a, &why), -1);
	ck_assert_str_eq(why, E_UNIX_LONG);
	snprintf(in, sizeof(in), "unix:%s", long_path(200));
	ck_assert_int_eq(addr_parse(in, &a, &why), -1);
	ck_assert_str_eq(why, E_UNIX_LONG);
	snprintf(in, sizeof(in), "unix:%s", long_path(107));
	ck_assert_int_eq(addr_parse(in, &a, &why), 0);
	ck_assert_uint_eq(a.len, sizeof(struct sockaddr_un));
}
END_TEST

/* What accept(2) or getpeername(2) may give: unnamed and abstract
 * sockets, and a path that fills sun_path without a NUL. */
START_TEST(test_unix_format)
{
	struct sockaddr_un sun;
	char buf[ADDR_STRLEN];
	const socklen_t off = offsetof(struct sockaddr_un, sun_path);

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	addr_format_sa((struct sockaddr *)&sun, off, buf, sizeof(buf));
	ck_assert_str_eq(buf, "unix:");

	memcpy(sun.sun_path, "\0mqgate", 7);
	addr_format_sa((struct sockaddr *)&sun, off + 7, buf, sizeof(buf));
	ck_assert_str_eq(buf, "unix:@mqgate");

	/* A named path, its length with or without the NUL. */
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, "/run/x.sock", 11);
	addr_format_sa((struct sockaddr *)&sun, off + 11, buf, sizeof(buf));
	ck_assert_str_eq(buf, "unix:/run/x.sock");
	addr_format_sa((struct sockaddr *)&sun, off + 12, buf, sizeof(buf));
	ck_assert_str_eq(buf, "unix:/run/x.sock");
	addr_format_sa((struct sockaddr *)&sun, sizeof(sun), buf, sizeof(buf));
	ck_assert_str_eq(buf, "unix:/run/x.sock");

	/* sun_path full, no NUL: the longest printout still fits. */
	memset(sun.sun_path, 'p', sizeof(sun.sun_path));
	sun.sun_path[0] = '/';
	addr_format_sa((struct sockaddr *)&sun, sizeof(sun), buf, sizeof(buf));
	ck_assert_uint_eq(strlen(buf), 5 + sizeof(sun.sun_path));
	ck_assert_int_eq(strncmp(buf, "unix:/ppp", 9), 0);
	sun.sun_path[0] = '\0';
	addr_format_sa((struct sockaddr *)&sun, sizeof(sun), buf, sizeof(buf));
	ck_assert_uint_eq(strlen(buf), 6 + sizeof(sun.sun_path) - 1);
	ck_assert_uint_lt(strlen(buf), ADDR_STRLEN);

	/* A small buffer cuts the printout. */
	addr_format_sa((struct sockaddr *)&sun, sizeof(sun), buf, 4);
	ck_assert_str_eq(buf, "uni");
}
END_TEST

/* --- address prefixes (trusted_proxies) --- */

static const struct {
	const char *s;
	int family;
	const char *addr; /* the network address, as inet_ntop prints it */
	int prefix;
} cidr_ok_vec[] = {
	{ "10.0.0.0/8", AF_INET, "10.0.0.0", 8 },
	{ "0.0.0.0/0", AF_INET, "0.0.0.0", 0 },
	{ "1.2.3.4/32", AF_INET, "1.2.3.4", 32 },
	{ "1.2.3.4", AF_INET, "1.2.3.4", 32 },
	{ "255.255.255.255/32", AF_INET, "255.255.255.255", 32 },
	{ "128.0.0.0/1", AF_INET, "128.0.0.0", 1 },
	{ "10.0.0.128/25", AF_INET, "10.0.0.128", 25 },
	{ "192.168.0.0/016", AF_INET, "192.168.0.0", 16 },
	{ "::/0", AF_INET6, "::", 0 },
	{ "::1", AF_INET6, "::1", 128 },
	{ "::1/128", AF_INET6, "::1", 128 },
	{ "2001:db8::/32", AF_INET6, "2001:db8::", 32 },
	{ "2001:DB8::/32", AF_INET6, "2001:db8::", 32 },
	{ "fe80::/10", AF_INET6, "fe80::", 10 },
	{ "8000::/1", AF_INET6, "8000::", 1 },
	{ "::ffff:0:0/96", AF_INET6, "::ffff:0.0.0.0", 96 },
	{ "::ffff:10.0.0.0/104", AF_INET6, "::ffff:10.0.0.0", 104 },
	{ "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", AF_INET6,
	    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 128 },
};

START_TEST(test_cidr_ok)
{
	char buf[INET6_ADDRSTRLEN];
	const char *why = "untouched";
	struct cidr c;

	memset(&c, 0xA5, sizeof(c));
	ck_assert_msg(addr_cidr_parse(cidr_ok_vec[_i].s, &c, &why) == 0,
	    "%s: %s", cidr_ok_vec[_i].s, why);
	ck_assert_str_eq(why, "untouched");
	ck_assert_int_eq(c.family, cidr_ok_vec[_i].family);
	ck_assert_int_eq(c.prefix, cidr_ok_vec[_i].prefix);
	ck_assert_ptr_nonnull(inet_ntop(c.family, c.addr, buf, sizeof(buf)));
	ck_assert_str_eq(buf, cidr_ok_vec[_i].addr);
	if (c.family == AF_INET) /* the rest is zero */
		ck_assert_mem_eq(c.addr + 4,
		    "\0\0\0\0\0\0\0\0\0\0\0\0", 12);
}
END_TEST

#define C_EMPTY "expected an address or a prefix such as 10.0.0.0/8"
#define C_NOADDR "missing address before '/'"
#define C_NOPREFIX "missing prefix length after '/'"
#define C_P4 "prefix length must be a number from 0 to 32"
#define C_P6 "prefix length must be a number from 0 to 128"
#define C_HOST \
	"host bits set below the prefix length (write the network address, " \
	"as in 10.0.0.0/8)"
#define C_NAME "host names are not supported, use a numeric address"

static const struct {
	const char *s;
	const char *why;
} cidr_bad_vec[] = {
	{ "", C_EMPTY },
	{ "/8", C_NOADDR },
	{ "/", C_NOADDR },
	{ "10.0.0.0/", C_NOPREFIX },
	{ "::/", C_NOPREFIX },
	{ "10.0.0.0/33", C_P4 },
	{ "10.0.0.0/-1", C_P4 },
	{ "10.0.0.0/+8", C_P4 },
	{ "10.0.0.0/8/8", C_P4 },
	{ "10.0.0.0/ 8", C_P4 },
	{ "10.0.0.0/8 ", C_P4 },
	{ "10.0.0.0/0x8", C_P4 },
	{ "10.0.0.0/99999999999", C_P4 },
	{ "::/129", C_P6 },
	{ "::/1000", C_P6 },
	{ "::1/12a", C_P6 },
	{ "10.0.0.1/8", C_HOST },
	{ "0.0.0.1/0", C_HOST },
	{ "10.0.0.64/25", C_HOST },
	{ "10.0.0.1/31", C_HOST },
	{ "::1/127", C_HOST },
	{ "::1/0", C_HOST },
	{ "fe80::1/64", C_HOST },
	{ "fec0::/9", C_HOST },
	{ "localhost", C_NAME },
	{ "proxy.example.com/32", C_NAME },
	{ "10.0.0", "invalid IPv4 address" },
	{ "1.2.3.256", "invalid IPv4 address" },
	{ " 10.0.0.0/8", "invalid IPv4 address" },
	{ "10.0.0.0 /8", "invalid IPv4 address" },
	{ "1111111111111111111111111111111111111111111111111/8",
	    "invalid IPv4 address" },
	{ "gggg::/16", "invalid IPv6 address" },
	{ "[::1]/128", "invalid IPv6 address" },
	{ "[::1]", "invalid IPv6 address" },
	{ "1.2.3.4:80", "invalid IPv6 address" },
	{ ":::/0", "invalid IPv6 address" },
	{ "fe80::1%eth0", "IPv6 zone ids (%...) are not supported" },
	{ "fe80::%1/64", "IPv6 zone ids (%...) are not supported" },
};

START_TEST(test_cidr_bad)
{
	struct cidr c, before;
	const char *why = "untouched";

	memset(&c, 0xA5, sizeof(c));
	before = c;
	ck_assert_msg(addr_cidr_parse(cidr_bad_vec[_i].s, &c, &why) == -1,
	    "'%s' accepted", cidr_bad_vec[_i].s);
	ck_assert_str_eq(why, cidr_bad_vec[_i].why);
	ck_assert_mem_eq(&c, &before, sizeof(c)); /* untouched */
	ck_assert_int_eq(addr_cidr_parse(cidr_bad_vec[_i].s, &c, NULL), -1);
}
END_TEST

/* A peer address as accept(2) gives it. */
static const struct sockaddr *
peer(const char *ip, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (strchr(ip, ':') != NULL) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(40000);
		ck_assert_int_eq(inet_pton(AF_INET6, ip, &sin6->sin6_addr), 1);
	} else {
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;

		sin->sin_family = AF_INET;
		sin->sin_port = htons(40000);
		ck_assert_int_eq(inet_pton(AF_INET, ip, &sin->sin_addr), 1);
	}
	return (const struct sockaddr *)ss;
}

static const struct {
	const char *prefixes; /* ';'-separated */
	const char *peer;
	bool match;
} match_vec[] = {
	/* IPv4 */
	{ "10.0.0.0/8", "10.1.2.3", true },
	{ "10.0.0.0/8", "10.255.255.255", true },
	{ "10.0.0.0/8", "11.0.0.0", false },
	{ "10.0.0.0/8", "9.255.255.255", false },
	{ "0.0.0.0/0", "0.0.0.0", true },
	{ "0.0.0.0/0", "255.255.255.255", true },
	{ "0.0.0.0/0", "::1", false },
	{ "0.0.0.0/0", "::", false },
	{ "127.0.0.1/32", "127.0.0.1", true },
	{ "127.0.0.1", "127.0.0.1", true },
	{ "127.0.0.1/32", "127.0.0.2", false },
	{ "127.0.0.1/32", "127.0.0.0", false },
	{ "10.0.0.128/25", "10.0.0.128", true },
	{ "10.0.0.128/25", "10.0.0.255", true },
	{ "10.0.0.128/25", "10.0.0.127", false },
	{ "128.0.0.0/1", "200.1.1.1", true },
	{ "128.0.0.0/1", "127.255.255.255", false },
	{ "10.0.0.0/31", "10.0.0.1", true },
	{ "10.0.0.0/31", "10.0.0.2", false },
	/* IPv6 */
	{ "::1/128", "::1", true },
	{ "::1", "::1", true },
	{ "::1/128", "::2", false },
	{ "::1/128", "::", false },
	{ "::/0", "::", true },
	{ "::/0", "2001:db8::1", true },
	{ "::/0", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", true },
	{ "2001:db8::/32", "2001:db8:ffff::1", true },
	{ "2001:db8::/32", "2001:db9::1", false },
	{ "fe80::/10", "febf::1", true },
	{ "fe80::/10", "fec0::1", false },
	{ "fe80::/10", "fe7f::1", false },
	{ "::1/128", "127.0.0.1", false },
	/* IPv4-mapped peers match IPv4 prefixes */
	{ "10.0.0.0/8", "::ffff:10.1.2.3", true },
	{ "10.0.0.0/8", "::ffff:11.1.2.3", false },
	{ "127.0.0.1/32", "::ffff:127.0.0.1", true },
	{ "0.0.0.0/0", "::ffff:1.2.3.4", true },
	/* ... and IPv6 prefixes as themselves */
	{ "::ffff:10.0.0.0/104", "::ffff:10.9.9.9", true },
	{ "::ffff:0:0/96", "::ffff:1.2.3.4", true },
	{ "::/0", "::ffff:1.2.3.4", true },
	/* IPv4 peers match IPv6 prefixes as mapped addresses */
	{ "::ffff:10.0.0.0/104", "10.9.9.9", true },
	{ "::ffff:10.0.0.0/104", "11.9.9.9", false },
	{ "::ffff:0:0/96", "192.0.2.1", true },
	{ "::/0", "192.0.2.1", true },
	{ "2001:db8::/32", "192.0.2.1", false },
	/* not mapped: IPv4-compatible and 6to4 addresses stay IPv6 */
	{ "10.0.0.0/8", "::10.1.2.3", false },
	{ "10.0.0.0/8", "::fffe:10.1.2.3", false },
	{ "10.0.0.0/8", "2002:a01:203::1", false },
	{ "0.0.0.0/0", "::1", false },
	/* any of several */
	{ "127.0.0.1/32;::1/128", "127.0.0.1", true },
	{ "127.0.0.1/32;::1/128", "::1", true },
	{ "127.0.0.1/32;::1/128", "::ffff:127.0.0.1", true },
	{ "127.0.0.1/32;::1/128", "10.0.0.1", false },
	{ "10.0.0.0/8;192.168.0.0/16;2001:db8::/32", "192.168.7.7", true },
	{ "10.0.0.0/8;192.168.0.0/16;2001:db8::/32", "2001:db8::7", true },
	{ "10.0.0.0/8;192.168.0.0/16;2001:db8::/32", "172.16.0.1", false },
	{ "", "127.0.0.1", false },
	{ "", "::1", false },
};

START_TEST(test_cidr_match)
{
	struct cidr v[8];
	struct sockaddr_storage ss;
	char buf[256], *item, *save = NULL;
	size_t n = 0;

	snprintf(buf, sizeof(buf), "%s", match_vec[_i].prefixes);
	for (item = strtok_r(buf, ";", &save); item != NULL;
	     item = strtok_r(NULL, ";", &save)) {
		ck_assert_uint_lt(n, nitems(v));
		ck_assert_int_eq(addr_cidr_parse(item, &v[n++], NULL), 0);
	}
	ck_assert_msg(addr_cidr_match(v, n, peer(match_vec[_i].peer, &ss)) ==
		match_vec[_i].match,
	    "%s in %s: expected %d", match_vec[_i].peer,
	    match_vec[_i].prefixes, match_vec[_i].match);
}
END_TEST

/* Nothing but IPv4 and IPv6 ever matches, not even ::/0 and 0.0.0.0/0. */
START_TEST(test_cidr_match_other)
{
	struct cidr v[2];
	struct sockaddr_un sun;
	struct sockaddr_storage ss;

	ck_assert_int_eq(addr_cidr_parse("0.0.0.0/0", &v[0], NULL), 0);
	ck_assert_int_eq(addr_cidr_parse("::/0", &v[1], NULL), 0);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	ck_assert(!addr_cidr_match(v, 2, (struct sockaddr *)&sun));
	ck_assert(!addr_cidr_match(v, 2, NULL));
	memset(&ss, 0, sizeof(ss));
	ss.ss_family = AF_UNSPEC;
	ck_assert(!addr_cidr_match(v, 2, (struct sockaddr *)&ss));
	ck_assert(!addr_cidr_match(NULL, 0, peer("1.2.3.4", &ss)));
	ck_assert(addr_cidr_match(v, 2, peer("1.2.3.4", &ss)));
	ck_assert(addr_cidr_match(v + 1, 1, peer("1.2.3.4", &ss)));
}
END_TEST

/* ---- addr_same_endpoint ---- */

static const struct {
	const char *a, *b;
	bool same;
} same_vec[] = {
	{ "127.0.0.2:1883", "127.0.0.2:1883", true },
	{ "127.0.0.2:1883", "[::ffff:127.0.0.2]:1883", true },
	{ "[::ffff:7f00:2]:1883", "127.0.0.2:1883", true },
	{ "[2001:db8::13]:1883", "[2001:db8:0::13]:1883", true },
	{ "127.0.0.2:1883", "127.0.0.2:1884", false },
	{ "127.0.0.2:1883", "[::ffff:127.0.0.2]:1884", false },
	{ "127.0.0.2:1883", "127.0.0.3:1883", false },
	{ "127.0.0.1:1883", "[::1]:1883", false },
	/* the IPv4-compatible form (::a.b.c.d) is another address */
	{ "127.0.0.2:1883", "[::127.0.0.2]:1883", false },
	{ "unix:/run/a.sock", "unix:/run/a.sock", true },
	{ "unix:/run/a.sock", "unix:/run/b.sock", false },
	{ "unix:/run/a.sock", "127.0.0.1:1883", false },
};

START_TEST(test_same_endpoint)
{
	struct addr a, b;
	const char *why;

	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	ck_assert_int_eq(addr_parse(same_vec[_i].a, &a, &why), 0);
	ck_assert_int_eq(addr_parse(same_vec[_i].b, &b, &why), 0);
	ck_assert_msg(addr_same_endpoint(&a, &b) == same_vec[_i].same,
	    "%s vs %s", same_vec[_i].a, same_vec[_i].b);
	ck_assert(addr_same_endpoint(&b, &a) == same_vec[_i].same);
}
END_TEST

/* An unset address is the same as nothing, itself included. */
START_TEST(test_same_endpoint_unset)
{
	struct addr a, none;
	const char *why;

	memset(&a, 0, sizeof(a));
	memset(&none, 0, sizeof(none));
	ck_assert_int_eq(addr_parse("127.0.0.1:1883", &a, &why), 0);
	ck_assert(!addr_same_endpoint(&a, &none));
	ck_assert(!addr_same_endpoint(&none, &a));
	ck_assert(!addr_same_endpoint(&none, &none));
}
END_TEST

Suite *
addr_suite(void)
{
	Suite *s = suite_create("addr");
	TCase *tc;

	tc = tcase_create("parse");
	tcase_add_loop_test(tc, test_parse_ok, 0, (int)nitems(ok_vec));
	tcase_add_loop_test(tc, test_roundtrip, 0, (int)nitems(ok_vec));
	tcase_add_loop_test(tc, test_parse_bad, 0, (int)nitems(bad_vec));
	suite_add_tcase(s, tc);

	tc = tcase_create("format");
	tcase_add_test(tc, test_format_unset);
	tcase_add_test(tc, test_format_unknown_family);
	tcase_add_test(tc, test_format_scope);
	tcase_add_test(tc, test_format_longest);
	tcase_add_test(tc, test_format_small_buffer);
	suite_add_tcase(s, tc);

	tc = tcase_create("unix");
	tcase_add_loop_test(tc, test_unix_ok, 0, (int)nitems(unix_ok_vec) + 1);
	tcase_add_loop_test(tc, test_unix_bad, 0, (int)nitems(unix_bad_vec));
	tcase_add_test(tc, test_unix_too_long);
	tcase_add_test(tc, test_unix_format);
	suite_add_tcase(s, tc);

	tc = tcase_create("cidr");
	tcase_add_loop_test(tc, test_cidr_ok, 0, (int)nitems(cidr_ok_vec));
	tcase_add_loop_test(tc, test_cidr_bad, 0, (int)nitems(cidr_bad_vec));
	tcase_add_loop_test(tc, test_cidr_match, 0, (int)nitems(match_vec));
	tcase_add_test(tc, test_cidr_match_other);
	suite_add_tcase(s, tc);

	tc = tcase_create("same_endpoint");
	tcase_add_loop_test(tc, test_same_endpoint, 0, (int)nitems(same_vec));
	tcase_add_test(tc, test_same_endpoint_unset);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return unit_run(addr_suite());
}
