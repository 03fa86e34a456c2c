/*
 * check_addr.c: unit tests for addr.c: every accepted address form with its
 * canonical printout, every refusal with its reason, and the printer on
 * odd inputs (unset, unknown family, zone id, small buffers).
 */
#include "build_config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
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
	struct sockaddr_un sun;
	struct sockaddr_in sin;
	char buf[ADDR_STRLEN];

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	addr_format_sa((struct sockaddr *)&sun, sizeof(sun), buf, sizeof(buf));
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
	return s;
}

int
main(void)
{
	return unit_run(addr_suite());
}
