/*
 * check_proxyv2.c: unit tests for proxyv2.c: CRC-32C check vector, hand
 * computed v2 headers for IPv4, IPv6, UNIX and LOCAL and for every TLV,
 * v1 lines, round trips through the parser, the broker profiles and the
 * max_len drop order, -ENOSPC at every short cap, every parser error and
 * partial input at every split point.
 */
#include "build_config.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compat.h"
#include "proxyv2.h"
#include "unit.h"

Suite *proxyv2_suite(void);

#define SIG                                                                    \
	0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A

static const char *const SAN_URI[] = { "u:a", "u:b" };
static const char *const SAN_DNS[] = { "a.b", "", "c" };
static const uint8_t CERT[] = { 0x30, 0x03, 0x02, 0x01, 0x01 };
static const uint8_t SHA[32] = { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13,
	14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30,
	31 };
static const uint8_t UID[] = { 1, 2, 3 };

static const struct proxyv2_tls TLS = {
	.ssl = true,
	.cert_conn = true,
	.verify = 0,
	.version = "TLSv1.3",
	.cipher = "C1",
	.sig_alg = "S1",
	.key_alg = "K1",
	.group = "G1",
	.sig_scheme = "X1",
	.cn = "dev1",
	.dn = "CN=dev1",
	.serial = "0A1B",
	.san_uri = SAN_URI,
	.n_san_uri = 2,
	.san_dns = SAN_DNS,
	.n_san_dns = 3,
	.cert = CERT,
	.cert_len = sizeof(CERT),
	.cert_sha256 = SHA,
	.psk_identity = (const uint8_t *)"id",
	.psk_identity_len = 2,
	.authority = "mq",
	.alpn = (const uint8_t *)"mqtt",
	.alpn_len = 4,
	.unique_id = UID,
	.unique_id_len = sizeof(UID),
};

static const struct proxy_addr A4 = { .family = PROXY_AF_INET,
	.src = { 192, 0, 2, 1 },
	.dst = { 198, 51, 100, 2 },
	.sport = 54321,
	.dport = 1883 };
static const struct proxy_addr A6 = { .family = PROXY_AF_INET6,
	.src = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 },
	.dst = { 0x20, 0x01, 0x0d, 0xb8, [15] = 2 },
	.sport = 443,
	.dport = 8883 };
static const struct proxy_addr AU = {
	.family = PROXY_AF_UNIX, .src = { '/', 'a' }, .dst = { '/', 'b' }
};
static const struct proxy_addr A0 = { .family = PROXY_AF_UNSPEC };

static const struct proxy_addr *const ADDRS[] = { &A4, &A6, &AU, &A0 };

static const uint8_t G_V4[] = { SIG, 0x21, 0x11, 0x00, 0x0C, 192, 0, 2, 1, 198,
	51, 100, 2, 0xD4, 0x31, 0x07, 0x5B };
static const uint8_t G_V6[] = { SIG, 0x21, 0x21, 0x00, 0x24, 0x20, 0x01, 0x0d,
	0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0x20, 0x01, 0x0d, 0xb8, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0x01, 0xBB, 0x22, 0xB3 };
static const uint8_t G_LOCAL[] = { SIG, 0x20, 0x00, 0x00, 0x00 };
static const uint8_t G_NOLOCAL[] = { SIG, 0x21, 0x00, 0x00, 0x00 };
/* CRC values from an independent bitwise implementation (Python). */
static const uint8_t G_LOCAL_CRC[] = { SIG, 0x20, 0x00, 0x00, 0x07, 0x03, 0x00,
	0x04, 0xa9, 0xb8, 0x7e, 0x8f };
static const uint8_t G_V4_CRC[] = { SIG, 0x21, 0x11, 0x00, 0x13, 192, 0, 2, 1,
	198, 51, 100, 2, 0xD4, 0x31, 0x07, 0x5B, 0x03, 0x00, 0x04, 0xe7, 0x84,
	0xd2, 0xef };

struct gold_vec {
	const char *name;
	const struct proxy_addr *addr;
	uint32_t tlvs;
	unsigned flags;
	const uint8_t *exp;
	size_t len;
};

static const struct gold_vec gold_vec[] = {
	{ "ipv4", &A4, 0, 0, G_V4, sizeof(G_V4) },
	{ "ipv6", &A6, 0, 0, G_V6, sizeof(G_V6) },
	{ "local", &A0, 0, 0, G_LOCAL, sizeof(G_LOCAL) },
	{ "never local", &A0, 0, PROXYV2_F_NEVER_LOCAL, G_NOLOCAL,
	    sizeof(G_NOLOCAL) },
	{ "local crc", &A0, PROXYV2_T_CRC32C, 0, G_LOCAL_CRC,
	    sizeof(G_LOCAL_CRC) },
	{ "ipv4 crc", &A4, PROXYV2_T_CRC32C, 0, G_V4_CRC, sizeof(G_V4_CRC) },
};

START_TEST(test_gold)
{
	const struct gold_vec *v = &gold_vec[_i];
	struct proxyv2_in in = { .addr = *v->addr,
		.tls = &TLS,
		.tlvs = v->tlvs,
		.flags = v->flags };
	uint8_t buf[512];
	int n = proxyv2_encode(&in, buf, sizeof(buf));

	ck_assert_msg(n == (int)v->len, "%s: %d", v->name, n);
	ck_assert_msg(memcmp(buf, v->exp, v->len) == 0, "%s", v->name);
}
END_TEST

START_TEST(test_unix)
{
	static const uint8_t head[] = { SIG, 0x21, 0x31, 0x00, 0xD8 };
	struct proxyv2_in in = { .addr = AU };
	uint8_t buf[512], exp[16 + 216];

	memset(exp, 0, sizeof(exp));
	memcpy(exp, head, sizeof(head));
	exp[16] = '/';
	exp[17] = 'a';
	exp[16 + 108] = '/';
	exp[16 + 109] = 'b';
	ck_assert_int_eq(proxyv2_encode(&in, buf, sizeof(buf)), sizeof(exp));
	ck_assert_mem_eq(buf, exp, sizeof(exp));
}
END_TEST

/* Each TLV alone after the IPv4 addresses, hand-encoded. */
struct tlv_vec {
	const char *name;
	uint32_t bit;
	uint8_t base;
	uint8_t exp[48];
	size_t len;
};

#define SSL0 0x03, 0, 0, 0, 0 /* client SSL|CERT_CONN, verify 0 */
static const struct tlv_vec tlv_vec[] = {
	{ "alpn", PROXYV2_T_ALPN, 0, { 0x01, 0, 4, 'm', 'q', 't', 't' }, 7 },
	{ "authority", PROXYV2_T_AUTHORITY, 0, { 0x02, 0, 2, 'm', 'q' }, 5 },
	{ "unique_id", PROXYV2_T_UNIQUE_ID, 0, { 0x05, 0, 3, 1, 2, 3 }, 6 },
	{ "ssl", PROXYV2_T_SSL, 0,
	    { 0x20, 0, 15, SSL0, 0x21, 0, 7, 'T', 'L', 'S', 'v', '1', '.',
		'3' },
	    18 },
	{ "cn", PROXYV2_T_CN, 0,
	    { 0x20, 0, 12, SSL0, 0x22, 0, 4, 'd', 'e', 'v', '1' }, 15 },
	{ "cipher", PROXYV2_T_CIPHER, 0,
	    { 0x20, 0, 10, SSL0, 0x23, 0, 2, 'C', '1' }, 13 },
	{ "sig_alg", PROXYV2_T_SIG_ALG, 0,
	    { 0x20, 0, 10, SSL0, 0x24, 0, 2, 'S', '1' }, 13 },
	{ "key_alg", PROXYV2_T_KEY_ALG, 0,
	    { 0x20, 0, 10, SSL0, 0x25, 0, 2, 'K', '1' }, 13 },
	{ "group", PROXYV2_T_GROUP, 0,
	    { 0x20, 0, 10, SSL0, 0x26, 0, 2, 'G', '1' }, 13 },
	{ "sig_scheme", PROXYV2_T_SIG_SCHEME, 0,
	    { 0x20, 0, 10, SSL0, 0x27, 0, 2, 'X', '1' }, 13 },
	{ "client_cert", PROXYV2_T_CLIENT_CERT, 0,
	    { 0x20, 0, 13, SSL0, 0x28, 0, 5, 0x30, 0x03, 0x02, 0x01, 0x01 },
	    16 },
	{ "dn", PROXYV2_T_DN, 0,
	    { 0xE0, 0, 7, 'C', 'N', '=', 'd', 'e', 'v', '1' }, 10 },
	{ "dn base f0", PROXYV2_T_DN, 0xF0,
	    { 0xF0, 0, 7, 'C', 'N', '=', 'd', 'e', 'v', '1' }, 10 },
	{ "san_uri", PROXYV2_T_SAN_URI, 0,
	    { 0xE1, 0, 7, 'u', ':', 'a', ',', 'u', ':', 'b' }, 10 },
	{ "san_dns", PROXYV2_T_SAN_DNS, 0,
	    { 0xE2, 0, 5, 'a', '.', 'b', ',', 'c' }, 8 },
	{ "cert_sha256", PROXYV2_T_CERT_SHA256, 0,
	    { 0xE3, 0, 32, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15,
		16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30,
		31 },
	    35 },
	{ "serial", PROXYV2_T_SERIAL, 0, { 0xE4, 0, 4, '0', 'A', '1', 'B' },
	    7 },
	{ "serial base e8", PROXYV2_T_SERIAL, 0xE8,
	    { 0xEC, 0, 4, '0', 'A', '1', 'B' }, 7 },
	{ "psk_identity", PROXYV2_T_PSK_IDENTITY, 0, { 0xE5, 0, 2, 'i', 'd' },
	    5 },
};

START_TEST(test_tlv)
{
	const struct tlv_vec *v = &tlv_vec[_i];
	struct proxyv2_in in = {
		.addr = A4, .tls = &TLS, .tlvs = v->bit, .custom_base = v->base
	};
	uint8_t buf[512];
	int n = proxyv2_encode(&in, buf, sizeof(buf));

	ck_assert_msg(n == (int)(sizeof(G_V4) + v->len), "%s: %d", v->name, n);
	ck_assert_mem_eq(buf, G_V4, 14);
	ck_assert_int_eq(buf[14] << 8 | buf[15], 12 + v->len);
	ck_assert_mem_eq(buf + 16, G_V4 + 16, 12);
	ck_assert_msg(memcmp(buf + 28, v->exp, v->len) == 0, "%s", v->name);
}
END_TEST

START_TEST(test_tlv_absent)
{
	struct proxyv2_tls none = { 0 }, big = TLS;
	uint8_t buf[512], uid[129];
	struct proxyv2_in in = { .addr = A4,
		.tls = &none,
		.tlvs = PROXYV2_T_ALL & ~(PROXYV2_T_SSL | PROXYV2_T_SSL_SUBS) };

	/* Nothing present: the bare IPv4 header plus nothing (not even CRC
	 * when it is not selected). */
	ck_assert_int_eq(
	    proxyv2_encode(&in, buf, sizeof(buf)), sizeof(G_V4) + 7);
	in.tls = NULL;
	in.tlvs = PROXYV2_T_ALL & ~PROXYV2_T_CRC32C;
	ck_assert_int_eq(proxyv2_encode(&in, buf, sizeof(buf)), sizeof(G_V4));
	/* A unique id over 128 bytes is not sent. */
	memset(uid, 7, sizeof(uid));
	big.unique_id = uid;
	big.unique_id_len = sizeof(uid);
	in.tls = &big;
	in.tlvs = PROXYV2_T_UNIQUE_ID;
	ck_assert_int_eq(proxyv2_encode(&in, buf, sizeof(buf)), sizeof(G_V4));
	big.unique_id_len = 128;
	ck_assert_int_eq(
	    proxyv2_encode(&in, buf, sizeof(buf)), sizeof(G_V4) + 3 + 128);
	/* SSL client flags and verify. */
	big = TLS;
	big.cert_conn = false;
	big.cert_sess = true;
	big.verify = 0x01020304;
	in.tlvs = PROXYV2_T_SSL;
	ck_assert_int_eq(
	    proxyv2_encode(&in, buf, sizeof(buf)), sizeof(G_V4) + 18);
	ck_assert_int_eq(buf[31], PP2_CLIENT_SSL | PP2_CLIENT_CERT_SESS);
	ck_assert_int_eq(buf[32], 1);
	ck_assert_int_eq(buf[35], 4);
}
END_TEST

START_TEST(test_crc32c)
{
	ck_assert_uint_eq(proxyv2_crc32c(0, "123456789", 9), 0xE3069283u);
	ck_assert_uint_eq(proxyv2_crc32c(0, "", 0), 0);
	ck_assert_uint_eq(
	    proxyv2_crc32c(proxyv2_crc32c(0, "1234", 4), "56789", 5),
	    0xE3069283u);
}
END_TEST

/* Round trip: every address family with many TLV sets. */
static const uint32_t RT_MASKS[] = { 0, PROXYV2_T_ALL,
	PROXYV2_T_ALL & ~PROXYV2_T_CRC32C, PROXYV2_T_SSL, PROXYV2_T_CN,
	PROXYV2_T_CRC32C | PROXYV2_T_CN, PROXYV2_T_DN | PROXYV2_T_SAN_DNS,
	PROXYV2_T_CLIENT_CERT | PROXYV2_T_CRC32C,
	PROXYV2_T_ALPN | PROXYV2_T_AUTHORITY | PROXYV2_T_UNIQUE_ID,
	PROXYV2_T_CERT_SHA256 | PROXYV2_T_SERIAL | PROXYV2_T_PSK_IDENTITY };

static void
expect_tlv(const struct proxyv2_hdr *h, bool on, uint8_t type, const void *val,
    size_t len)
{
	struct proxyv2_tlv t;

	if (!on) {
		ck_assert_msg(!proxyv2_find(h, type, &t), "type %#x", type);
		return;
	}
	ck_assert_msg(proxyv2_find(h, type, &t), "type %#x missing", type);
	ck_assert_uint_eq(t.len, len);
	ck_assert_mem_eq(t.val, val, len);
}

START_TEST(test_round_trip)
{
	const struct proxy_addr *a = ADDRS[_i / (int)nitems(RT_MASKS)];
	uint32_t m = RT_MASKS[_i % (int)nitems(RT_MASKS)];
	struct proxyv2_in in = { .addr = *a, .tls = &TLS, .tlvs = m };
	struct proxyv2_hdr h;
	uint8_t buf[1024];
	int n = proxyv2_encode(&in, buf, sizeof(buf));
	size_t al = a->family == PROXY_AF_INET	  ? 4
		    : a->family == PROXY_AF_INET6 ? 16
						  : 108;

	ck_assert_int_gt(n, 0);
	memset(buf + n, 'x', 10); /* trailing client bytes are not eaten */
	ck_assert_int_eq(proxyv2_parse(buf, (size_t)n + 10, 0, &h), n);
	ck_assert_int_eq(h.version, 2);
	ck_assert_int_eq(h.local, a->family == PROXY_AF_UNSPEC);
	ck_assert_int_eq(h.addr.family, a->family);
	if (a->family != PROXY_AF_UNSPEC) {
		ck_assert_int_eq(h.transport, 1);
		ck_assert_mem_eq(h.addr.src, a->src, al);
		ck_assert_mem_eq(h.addr.dst, a->dst, al);
		ck_assert_uint_eq(h.addr.sport, a->sport);
		ck_assert_uint_eq(h.addr.dport, a->dport);
	}
	ck_assert_int_eq(h.crc_checked, (m & PROXYV2_T_CRC32C) != 0);
	ck_assert_int_eq(
	    h.has_ssl, (m & (PROXYV2_T_SSL | PROXYV2_T_SSL_SUBS)) != 0);
	if (h.has_ssl) {
		ck_assert_uint_eq(h.ssl_client, 0x03);
		ck_assert_uint_eq(h.ssl_verify, 0);
	}
	expect_tlv(&h, m & PROXYV2_T_ALPN, PP2_TYPE_ALPN, "mqtt", 4);
	expect_tlv(&h, m & PROXYV2_T_AUTHORITY, PP2_TYPE_AUTHORITY, "mq", 2);
	expect_tlv(&h, m & PROXYV2_T_UNIQUE_ID, PP2_TYPE_UNIQUE_ID, UID, 3);
	expect_tlv(
	    &h, m & PROXYV2_T_SSL, PP2_SUBTYPE_SSL_VERSION, "TLSv1.3", 7);
	expect_tlv(&h, m & PROXYV2_T_CN, PP2_SUBTYPE_SSL_CN, "dev1", 4);
	expect_tlv(&h, m & PROXYV2_T_CIPHER, PP2_SUBTYPE_SSL_CIPHER, "C1", 2);
	expect_tlv(&h, m & PROXYV2_T_SIG_ALG, PP2_SUBTYPE_SSL_SIG_ALG, "S1", 2);
	expect_tlv(&h, m & PROXYV2_T_KEY_ALG, PP2_SUBTYPE_SSL_KEY_ALG, "K1", 2);
	expect_tlv(&h, m & PROXYV2_T_GROUP, PP2_SUBTYPE_SSL_GROUP, "G1", 2);
	expect_tlv(
	    &h, m & PROXYV2_T_SIG_SCHEME, PP2_SUBTYPE_SSL_SIG_SCHEME, "X1", 2);
	expect_tlv(&h, m & PROXYV2_T_CLIENT_CERT, PP2_SUBTYPE_SSL_CLIENT_CERT,
	    CERT, sizeof(CERT));
	expect_tlv(&h, m & PROXYV2_T_DN, 0xE0, "CN=dev1", 7);
	expect_tlv(&h, m & PROXYV2_T_SAN_URI, 0xE1, "u:a,u:b", 7);
	expect_tlv(&h, m & PROXYV2_T_SAN_DNS, 0xE2, "a.b,c", 5);
	expect_tlv(&h, m & PROXYV2_T_CERT_SHA256, 0xE3, SHA, 32);
	expect_tlv(&h, m & PROXYV2_T_SERIAL, 0xE4, "0A1B", 4);
	expect_tlv(&h, m & PROXYV2_T_PSK_IDENTITY, 0xE5, "id", 2);
}
END_TEST

/* -ENOSPC at every cap below the size, with nothing written. */
START_TEST(test_enospc)
{
	const struct proxy_addr *a = ADDRS[_i / 2];
	struct proxyv2_in in = {
		.addr = *a, .tls = &TLS, .tlvs = _i % 2 ? PROXYV2_T_ALL : 0
	};
	uint8_t buf[1024], ref[1024];
	int need = proxyv2_encode(&in, ref, sizeof(ref)), n;
	size_t cap;

	ck_assert_int_gt(need, 0);
	for (cap = 0; cap < (size_t)need; cap++) {
		memset(buf, 0xAA, sizeof(buf));
		ck_assert_int_eq(proxyv2_encode(&in, buf, cap), -ENOSPC);
		ck_assert_uint_eq(buf[0], 0xAA);
		ck_assert_uint_eq(buf[cap > 0 ? cap - 1 : 0], 0xAA);
	}
	ck_assert_int_eq(proxyv2_encode(&in, buf, (size_t)need), need);
	ck_assert_mem_eq(buf, ref, (size_t)need);

	need = proxyv1_encode(a, ref, sizeof(ref));
	ck_assert_int_gt(need, 0);
	for (cap = 0; cap < (size_t)need; cap++) {
		memset(buf, 0xAA, sizeof(buf));
		n = proxyv1_encode(a, buf, cap);
		ck_assert_int_eq(n, -ENOSPC);
		ck_assert_uint_eq(buf[0], 0xAA);
	}
}
END_TEST

/* Documented drop order, copied from proxyv2.h. */
static const uint32_t DROP_ORDER[] = { PROXYV2_T_CLIENT_CERT, PROXYV2_T_SAN_DNS,
	PROXYV2_T_SAN_URI, PROXYV2_T_DN, PROXYV2_T_UNIQUE_ID,
	PROXYV2_T_PSK_IDENTITY, PROXYV2_T_SERIAL, PROXYV2_T_CERT_SHA256,
	PROXYV2_T_SIG_SCHEME, PROXYV2_T_GROUP, PROXYV2_T_KEY_ALG,
	PROXYV2_T_SIG_ALG, PROXYV2_T_ALPN, PROXYV2_T_AUTHORITY,
	PROXYV2_T_CIPHER, PROXYV2_T_CRC32C, PROXYV2_T_CN, PROXYV2_T_SSL };

/* Received TLVs (proxy_pass_tlvs) go out as they came, inside the CRC,
 * and are the first to go when the header is too long. */
START_TEST(test_passed)
{
	static const uint8_t passed[] = { 0xEA, 0, 3, 'a', 'b', 'c', 0xEE, 0,
		0 };
	struct proxyv2_in in = { .addr = A4,
		.tls = &TLS,
		.tlvs = PROXYV2_T_SSL | PROXYV2_T_CRC32C,
		.passed = passed,
		.passed_len = sizeof(passed) };
	uint8_t buf[1024];
	struct proxyv2_hdr h;
	struct proxyv2_tlv t;
	uint32_t dropped = 99;
	int n, without;

	in.dropped = &dropped;
	n = proxyv2_encode(&in, buf, sizeof(buf));
	ck_assert_int_gt(n, 0);
	ck_assert_uint_eq(dropped, 0);
	ck_assert_mem_eq(buf + n - sizeof(passed), passed, sizeof(passed));
	ck_assert_int_eq(proxyv2_parse(buf, (size_t)n, 0, &h), n);
	ck_assert(h.crc_checked);
	ck_assert(proxyv2_find(&h, 0xEA, &t));
	ck_assert_uint_eq(t.len, 3);
	ck_assert_mem_eq(t.val, "abc", 3);
	ck_assert(proxyv2_find(&h, 0xEE, &t));
	ck_assert_uint_eq(t.len, 0);

	in.max_len = (uint16_t)(n - 16 - 1);
	without = proxyv2_encode(&in, buf, sizeof(buf));
	ck_assert_int_eq(without, n - (int)sizeof(passed));
	ck_assert_uint_eq(dropped, PROXYV2_T_PASSED);
	ck_assert_int_eq(proxyv2_parse(buf, (size_t)without, 0, &h), without);
	ck_assert(h.crc_checked);
	ck_assert(!proxyv2_find(&h, 0xEA, &t));
}
END_TEST

START_TEST(test_drop_order)
{
	struct proxyv2_in in = {
		.addr = A4, .tls = &TLS, .tlvs = PROXYV2_T_ALL
	};
	uint8_t buf[1024];
	uint32_t dropped, prev = 0;
	int full = proxyv2_encode(&in, buf, sizeof(buf)), n;
	size_t lim, i;
	bool gap;

	in.dropped = &dropped;
	for (lim = (size_t)full - 16; lim >= 12; lim--) {
		struct proxyv2_hdr h;

		in.max_len = (uint16_t)lim;
		n = proxyv2_encode(&in, buf, sizeof(buf));
		ck_assert_int_gt(n, 0);
		ck_assert_uint_le((size_t)n - 16, lim);
		ck_assert_int_eq(proxyv2_parse(buf, (size_t)n, 0, &h), n);
		/* The dropped set only grows, and is a prefix of the order
		 * (every TLV of TLS is present). */
		ck_assert_uint_eq(dropped & prev, prev);
		prev = dropped;
		gap = false;
		for (i = 0; i < nitems(DROP_ORDER); i++) {
			if (!(dropped & DROP_ORDER[i]))
				gap = true;
			else
				ck_assert_msg(!gap, "lim %zu: %#x", lim,
				    (unsigned)dropped);
		}
	}
	ck_assert_uint_eq(dropped, PROXYV2_T_ALL);
	in.max_len = 11;
	ck_assert_int_eq(proxyv2_encode(&in, buf, sizeof(buf)), -EMSGSIZE);
	in.max_len = 0;
	ck_assert_int_eq(proxyv2_encode(&in, buf, sizeof(buf)), full);
	ck_assert_uint_eq(dropped, 0);
}
END_TEST

START_TEST(test_oversize_tlv)
{
	/* A certificate too big for the 16-bit length field is dropped. */
	static uint8_t cert[70000];
	struct proxyv2_tls t = TLS;
	struct proxyv2_in in = { .addr = A4, .tls = &t, .tlvs = PROXYV2_T_ALL };
	static uint8_t buf[70000];
	uint32_t dropped;
	int n;

	t.cert = cert;
	t.cert_len = sizeof(cert);
	in.dropped = &dropped;
	n = proxyv2_encode(&in, buf, sizeof(buf));
	ck_assert_int_gt(n, 0);
	ck_assert_uint_eq(dropped, PROXYV2_T_CLIENT_CERT);
	t.cert_len = 65000;
	n = proxyv2_encode(&in, buf, sizeof(buf));
	ck_assert_int_gt(n, 65000);
	ck_assert_uint_eq(dropped, 0);
}
END_TEST

START_TEST(test_profiles)
{
	static const char *const names[] = { "generic", "emqx", "mosquitto",
		"vernemq", "hivemq" };
	const uint32_t generic = PROXYV2_T_SSL | PROXYV2_T_CN |
				 PROXYV2_T_CIPHER | PROXYV2_T_AUTHORITY |
				 PROXYV2_T_ALPN | PROXYV2_T_CRC32C;
	struct proxyv2_in in = { 0 };
	int p;

	for (p = 0; p < PROXYV2_PROFILE_COUNT; p++) {
		ck_assert_str_eq(proxyv2_profile_info(p)->name, names[p]);
		ck_assert_uint_eq(proxyv2_profile_tlvs(p) & generic, generic);
	}
	ck_assert_uint_eq(
	    proxyv2_profile_tlvs(PROXYV2_PROFILE_GENERIC), generic);
	ck_assert_uint_eq(
	    proxyv2_profile_tlvs(PROXYV2_PROFILE_EMQX), generic | PROXYV2_T_DN);
	ck_assert_uint_eq(
	    proxyv2_profile_info(PROXYV2_PROFILE_MOSQUITTO)->max_len, 500);
	ck_assert_ptr_null(proxyv2_profile_info(PROXYV2_PROFILE_COUNT));
	ck_assert_uint_eq(proxyv2_profile_tlvs(PROXYV2_PROFILE_COUNT), 0);
	ck_assert_int_eq(
	    proxyv2_in_profile(&in, PROXYV2_PROFILE_COUNT, 0, 0), -1);
	ck_assert_int_eq(
	    proxyv2_in_profile(&in, PROXYV2_PROFILE_HIVEMQ, 0, 0), 0);
	ck_assert_uint_eq(in.tlvs & (PROXYV2_T_DN | PROXYV2_T_SAN_URI),
	    PROXYV2_T_DN | PROXYV2_T_SAN_URI);
	ck_assert_uint_eq(in.max_len, 0);
	ck_assert_int_eq(
	    proxyv2_in_profile(&in, PROXYV2_PROFILE_MOSQUITTO, 0, 900), 0);
	ck_assert_uint_eq(in.max_len, 500);
	ck_assert_int_eq(
	    proxyv2_in_profile(&in, PROXYV2_PROFILE_MOSQUITTO, 0, 300), 0);
	ck_assert_uint_eq(in.max_len, 300);
	ck_assert_int_eq(
	    proxyv2_in_profile(&in, PROXYV2_PROFILE_GENERIC, 0, 300), 0);
	ck_assert_uint_eq(in.max_len, 300);
}
END_TEST

START_TEST(test_mosquitto)
{
	static char dn[601];
	static uint8_t cert[300];
	struct proxyv2_tls t = TLS;
	struct proxyv2_in in = { .addr = A6, .tls = &t };
	struct proxyv2_hdr h;
	struct proxyv2_tlv tv;
	uint8_t buf[2048];
	uint32_t dropped;
	int n;

	memset(dn, 'd', sizeof(dn) - 1);
	t.dn = dn;
	t.cert = cert;
	t.cert_len = sizeof(cert);
	in.dropped = &dropped;
	ck_assert_int_eq(proxyv2_in_profile(
			     &in, PROXYV2_PROFILE_MOSQUITTO, PROXYV2_T_ALL, 0),
	    0);
	n = proxyv2_encode(&in, buf, sizeof(buf));
	ck_assert_int_gt(n, 0);
	ck_assert_uint_le(buf[14] << 8 | buf[15], 500);
	ck_assert_uint_eq(dropped, PROXYV2_T_CLIENT_CERT | PROXYV2_T_SAN_DNS |
				       PROXYV2_T_SAN_URI | PROXYV2_T_DN);
	ck_assert_int_eq(proxyv2_parse(buf, (size_t)n, 0, &h), n);
	ck_assert(!proxyv2_find(&h, PP2_SUBTYPE_SSL_CLIENT_CERT, &tv));
	ck_assert(!proxyv2_find(&h, 0xE0, &tv));
	ck_assert(proxyv2_find(&h, PP2_SUBTYPE_SSL_CN, &tv));
	ck_assert(h.crc_checked);
	/* A verified certificate: both flags. */
	ck_assert_uint_eq(h.ssl_client, 0x07);
	/* Not verified: as given. */
	t.verify = 18;
	n = proxyv2_encode(&in, buf, sizeof(buf));
	ck_assert_int_eq(proxyv2_parse(buf, (size_t)n, 0, &h), n);
	ck_assert_uint_eq(h.ssl_client, 0x03);
	/* Never LOCAL. */
	in.addr = A0;
	n = proxyv2_encode(&in, buf, sizeof(buf));
	ck_assert_int_gt(n, 0);
	ck_assert_uint_eq(buf[12], 0x21);
	ck_assert_uint_eq(buf[13], 0x00);
	ck_assert_int_eq(proxyv2_parse(buf, (size_t)n, 0, &h), n);
	ck_assert(!h.local);
}
END_TEST

START_TEST(test_vernemq)
{
	struct proxyv2_in in = { .addr = A4, .tls = &TLS };
	struct proxyv2_hdr h;
	struct proxyv2_tlv tv;
	const uint8_t *p;
	size_t len;
	uint8_t buf[1024];
	int n;

	ck_assert_int_eq(
	    proxyv2_in_profile(&in, PROXYV2_PROFILE_VERNEMQ, PROXYV2_T_ALL, 0),
	    0);
	n = proxyv2_encode(&in, buf, sizeof(buf));
	ck_assert_int_eq(proxyv2_parse(buf, (size_t)n, 0, &h), n);
	ck_assert(h.has_ssl);
	p = h.ssl_sub;
	len = h.ssl_sub_len;
	while (proxyv2_tlv_next(&p, &len, &tv) == 1)
		ck_assert_uint_le(tv.type, 0x25);
	ck_assert(proxyv2_find(&h, PP2_SUBTYPE_SSL_CN, &tv));
	ck_assert(proxyv2_find(&h, PP2_SUBTYPE_SSL_KEY_ALG, &tv));
	ck_assert(!proxyv2_find(&h, PP2_SUBTYPE_SSL_GROUP, &tv));
	/* Default set: CN is in it. */
	ck_assert_int_eq(
	    proxyv2_in_profile(&in, PROXYV2_PROFILE_VERNEMQ, 0, 0), 0);
	ck_assert(in.tlvs & PROXYV2_T_CN);
}
END_TEST

START_TEST(test_emqx_hivemq)
{
	struct proxyv2_in in = { .addr = A4, .tls = &TLS };
	struct proxyv2_hdr h;
	struct proxyv2_tlv tv;
	uint8_t buf[1024];
	int n;

	proxyv2_in_profile(&in, PROXYV2_PROFILE_EMQX, 0, 0);
	n = proxyv2_encode(&in, buf, sizeof(buf));
	ck_assert_int_eq(proxyv2_parse(buf, (size_t)n, 0, &h), n);
	ck_assert(proxyv2_find(&h, PP2_SUBTYPE_SSL_CN, &tv));
	ck_assert(proxyv2_find(&h, 0xE0, &tv));
	ck_assert(!proxyv2_find(&h, 0xE1, &tv));
	proxyv2_in_profile(&in, PROXYV2_PROFILE_HIVEMQ, 0, 0);
	n = proxyv2_encode(&in, buf, sizeof(buf));
	ck_assert_int_eq(proxyv2_parse(buf, (size_t)n, 0, &h), n);
	ck_assert(proxyv2_find(&h, 0xE1, &tv));
	ck_assert(proxyv2_find(&h, 0xE3, &tv));
	ck_assert(proxyv2_find(&h, PP2_SUBTYPE_SSL_SIG_ALG, &tv));
}
END_TEST

/* v1 encoding. */
struct v1_vec {
	const struct proxy_addr *addr;
	const char *exp;
};

static const struct v1_vec v1_vec[] = {
	{ &A4, "PROXY TCP4 192.0.2.1 198.51.100.2 54321 1883\r\n" },
	{ &A6, "PROXY TCP6 2001:db8::1 2001:db8::2 443 8883\r\n" },
	{ &AU, "PROXY UNKNOWN\r\n" },
	{ &A0, "PROXY UNKNOWN\r\n" },
};

START_TEST(test_v1_encode)
{
	const struct v1_vec *v = &v1_vec[_i];
	uint8_t buf[PROXYV1_LINE_MAX];
	struct proxyv2_hdr h;
	size_t len = strlen(v->exp);
	int n = proxyv1_encode(v->addr, buf, sizeof(buf));

	ck_assert_int_eq(n, len);
	ck_assert_mem_eq(buf, v->exp, len);
	ck_assert_int_eq(proxyv2_parse(buf, len, 0, &h), n);
	ck_assert_int_eq(h.version, 1);
	if (v->addr->family == PROXY_AF_INET ||
	    v->addr->family == PROXY_AF_INET6) {
		ck_assert(!h.local);
		ck_assert_int_eq(h.addr.family, v->addr->family);
		ck_assert_mem_eq(h.addr.src, v->addr->src, 16);
		ck_assert_mem_eq(h.addr.dst, v->addr->dst, 16);
		ck_assert_uint_eq(h.addr.sport, v->addr->sport);
		ck_assert_uint_eq(h.addr.dport, v->addr->dport);
	} else {
		ck_assert(h.local);
	}
}
END_TEST

/* Good inputs for the parser, each also cut at every split point. */
struct good_vec {
	const char *name;
	const uint8_t *buf;
	size_t len;
	bool local;
};

#define S(s) (const uint8_t *)(s), sizeof(s) - 1
static const uint8_t G_LOCAL_FAM[] = { SIG, 0x20, 0x11, 0x00, 0x0C, 1, 2, 3, 4,
	5, 6, 7, 8, 9, 10, 11, 12 };
static const uint8_t G_TLV_NOOP[] = { SIG, 0x21, 0x00, 0x00, 0x06, 0x04, 0x00,
	0x00, 0xEE, 0x00, 0x00 };

static const struct good_vec good_vec[] = {
	{ "v2 ipv4", G_V4, sizeof(G_V4), false },
	{ "v2 ipv6", G_V6, sizeof(G_V6), false },
	{ "v2 local", G_LOCAL, sizeof(G_LOCAL), true },
	{ "v2 local crc", G_LOCAL_CRC, sizeof(G_LOCAL_CRC), true },
	{ "v2 ipv4 crc", G_V4_CRC, sizeof(G_V4_CRC), false },
	{ "v2 local with addresses", G_LOCAL_FAM, sizeof(G_LOCAL_FAM), true },
	{ "v2 empty tlvs", G_TLV_NOOP, sizeof(G_TLV_NOOP), false },
	{ "v1 tcp4", S("PROXY TCP4 192.0.2.1 198.51.100.2 54321 1883\r\n"),
	    false },
	{ "v1 ports 0", S("PROXY TCP4 0.0.0.0 255.255.255.255 0 65535\r\n"),
	    false },
	{ "v1 tcp6 max",
	    S("PROXY TCP6 ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff "
	      "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n"),
	    false },
	{ "v1 unknown", S("PROXY UNKNOWN\r\n"), true },
	{ "v1 unknown 107",
	    S("PROXY UNKNOWN "
	      "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	      "x"
	      "xxxxxxxxxxxxxxxxxxxxxxxxxx\r\n"),
	    true },
};

START_TEST(test_parse_good)
{
	const struct good_vec *v = &good_vec[_i];
	struct proxyv2_hdr h;
	uint8_t *copy;
	size_t k;

	ck_assert_uint_le(v->len, 107 + (v->buf[0] == 0x0D ? 1000 : 0));
	ck_assert_msg(proxyv2_parse(v->buf, v->len, 0, &h) == (int)v->len,
	    "%s: %d", v->name, proxyv2_parse(v->buf, v->len, 0, &h));
	ck_assert_int_eq(h.local, v->local);
	/* Each prefix in its own allocation so ASan sees any overread. */
	for (k = 0; k < v->len; k++) {
		copy = malloc(k + 1);
		ck_assert_ptr_nonnull(copy);
		memcpy(copy, v->buf, k);
		ck_assert_msg(proxyv2_parse(copy, k, 0, &h) == 0, "%s at %zu",
		    v->name, k);
		free(copy);
	}
}
END_TEST

/* Bad inputs: each with the error it must give. */
struct bad_vec {
	const char *name;
	const uint8_t *buf;
	size_t len;
	size_t max;
	int err;
};

static const uint8_t B_SIG2[] = { 0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A,
	0x52 };
static const uint8_t B_VER[] = { SIG, 0x11, 0x11, 0x00, 0x0C };
static const uint8_t B_VER3[] = { SIG, 0x31, 0x11, 0x00, 0x0C };
static const uint8_t B_CMD[] = { SIG, 0x22, 0x11, 0x00, 0x0C };
static const uint8_t B_CMD_F[] = { SIG, 0x2F, 0x00, 0x00, 0x00 };
static const uint8_t B_FAM4[] = { SIG, 0x21, 0x41, 0x00, 0x00 };
static const uint8_t B_FAM13[] = { SIG, 0x21, 0x13, 0x00, 0x0C };
static const uint8_t B_FAM10[] = { SIG, 0x21, 0x10, 0x00, 0x0C };
static const uint8_t B_FAM01[] = { SIG, 0x21, 0x01, 0x00, 0x00 };
static const uint8_t B_FAML[] = { SIG, 0x20, 0x51, 0x00, 0x00 };
static const uint8_t B_SHORT4[] = { SIG, 0x21, 0x11, 0x00, 0x0B };
static const uint8_t B_SHORT6[] = { SIG, 0x21, 0x21, 0x00, 0x0C };
static const uint8_t B_SHORTU[] = { SIG, 0x21, 0x31, 0x00, 0xD7 };
static const uint8_t B_SHORTL[] = { SIG, 0x20, 0x21, 0x00, 0x00 };
static const uint8_t B_OVER[] = { SIG, 0x21, 0x00, 0x01, 0x00 };
static const uint8_t B_TLV1[] = { SIG, 0x21, 0x00, 0x00, 0x02, 0x01, 0x00 };
static const uint8_t B_TLV2[] = { SIG, 0x21, 0x00, 0x00, 0x04, 0x01, 0x00, 0x05,
	'x' };
static const uint8_t B_TLV3[] = { SIG, 0x21, 0x11, 0x00, 0x0D, 1, 2, 3, 4, 5, 6,
	7, 8, 9, 10, 11, 12, 0x02 };
static const uint8_t B_SSL1[] = { SIG, 0x21, 0x00, 0x00, 0x07, 0x20, 0x00, 0x04,
	0x01, 0, 0, 0 };
static const uint8_t B_SSL2[] = { SIG, 0x21, 0x00, 0x00, 0x0B, 0x20, 0x00, 0x08,
	0x01, 0, 0, 0, 0, 0x21, 0x00, 0x05 };
static const uint8_t B_SSL3[] = { SIG, 0x21, 0x00, 0x00, 0x0A, 0x20, 0x00, 0x07,
	0x01, 0, 0, 0, 0, 0x21, 0x00 };
static const uint8_t B_CRC1[] = { SIG, 0x20, 0x00, 0x00, 0x07, 0x03, 0x00, 0x04,
	0xa9, 0xb8, 0x7e, 0x8e };
static const uint8_t B_CRC2[] = { SIG, 0x20, 0x00, 0x00, 0x06, 0x03, 0x00, 0x03,
	0xa9, 0xb8, 0x7e };
static const uint8_t B_CRC3[] = { SIG, 0x20, 0x00, 0x00, 0x07, 0x03, 0x00, 0x04,
	0, 0, 0, 0 };

static const struct bad_vec bad_vec[] = {
	{ "http", S("GET / HTTP/1.1\r\n"), 0, PROXYV2_ERR_SIGNATURE },
	{ "one byte", S("G"), 0, PROXYV2_ERR_SIGNATURE },
	{ "PROXX", S("PROXX"), 0, PROXYV2_ERR_SIGNATURE },
	{ "PROXY without space", S("PROXYTCP4"), 0, PROXYV2_ERR_SIGNATURE },
	{ "lowercase", S("proxy TCP4"), 0, PROXYV2_ERR_SIGNATURE },
	{ "v2 sig byte 8", B_SIG2, sizeof(B_SIG2), 0, PROXYV2_ERR_SIGNATURE },
	{ "tls hello", S("\x16\x03\x01"), 0, PROXYV2_ERR_SIGNATURE },
	{ "version 1", B_VER, sizeof(B_VER), 0, PROXYV2_ERR_VERSION },
	{ "version 3", B_VER3, sizeof(B_VER3), 0, PROXYV2_ERR_VERSION },
	{ "command 2", B_CMD, sizeof(B_CMD), 0, PROXYV2_ERR_COMMAND },
	{ "command f", B_CMD_F, sizeof(B_CMD_F), 0, PROXYV2_ERR_COMMAND },
	{ "family 4", B_FAM4, sizeof(B_FAM4), 0, PROXYV2_ERR_FAMILY },
	{ "transport 3", B_FAM13, sizeof(B_FAM13), 0, PROXYV2_ERR_FAMILY },
	{ "inet unspec transport", B_FAM10, sizeof(B_FAM10), 0,
	    PROXYV2_ERR_FAMILY },
	{ "unspec with stream", B_FAM01, sizeof(B_FAM01), 0,
	    PROXYV2_ERR_FAMILY },
	{ "local family 5", B_FAML, sizeof(B_FAML), 0, PROXYV2_ERR_FAMILY },
	{ "short ipv4", B_SHORT4, sizeof(B_SHORT4), 0, PROXYV2_ERR_SHORT },
	{ "short ipv6", B_SHORT6, sizeof(B_SHORT6), 0, PROXYV2_ERR_SHORT },
	{ "short unix", B_SHORTU, sizeof(B_SHORTU), 0, PROXYV2_ERR_SHORT },
	{ "short local ipv6", B_SHORTL, sizeof(B_SHORTL), 0,
	    PROXYV2_ERR_SHORT },
	{ "oversize", B_OVER, sizeof(B_OVER), 200, PROXYV2_ERR_OVERSIZE },
	{ "oversize by one", G_V4, sizeof(G_V4), sizeof(G_V4) - 1,
	    PROXYV2_ERR_OVERSIZE },
	{ "tlv header cut", B_TLV1, sizeof(B_TLV1), 0, PROXYV2_ERR_TLV },
	{ "tlv value overruns", B_TLV2, sizeof(B_TLV2), 0, PROXYV2_ERR_TLV },
	{ "tlv one byte after addresses", B_TLV3, sizeof(B_TLV3), 0,
	    PROXYV2_ERR_TLV },
	{ "ssl too short", B_SSL1, sizeof(B_SSL1), 0, PROXYV2_ERR_SSL },
	{ "ssl sub overruns", B_SSL2, sizeof(B_SSL2), 0, PROXYV2_ERR_SSL },
	{ "ssl sub header cut", B_SSL3, sizeof(B_SSL3), 0, PROXYV2_ERR_SSL },
	{ "crc mismatch", B_CRC1, sizeof(B_CRC1), 0, PROXYV2_ERR_CRC },
	{ "crc 3 bytes", B_CRC2, sizeof(B_CRC2), 0, PROXYV2_ERR_CRC },
	{ "crc zero", B_CRC3, sizeof(B_CRC3), 0, PROXYV2_ERR_CRC },
	{ "v1 no crlf",
	    S("PROXY UNKNOWN "
	      "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	      "x"
	      "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"),
	    0, PROXYV1_ERR_TOO_LONG },
	{ "v1 108 bytes",
	    S("PROXY UNKNOWN "
	      "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	      "x"
	      "xxxxxxxxxxxxxxxxxxxxxxxxxxx\r\n"),
	    0, PROXYV1_ERR_TOO_LONG },
	{ "v1 tcp5", S("PROXY TCP5 1.2.3.4 5.6.7.8 1 2\r\n"), 0,
	    PROXYV1_ERR_SYNTAX },
	{ "v1 udp4", S("PROXY UDP4 1.2.3.4 5.6.7.8 1 2\r\n"), 0,
	    PROXYV1_ERR_SYNTAX },
	{ "v1 empty proto", S("PROXY \r\n"), 0, PROXYV1_ERR_SYNTAX },
	{ "v1 unknownx", S("PROXY UNKNOWNX\r\n"), 0, PROXYV1_ERR_SYNTAX },
	{ "v1 extra field", S("PROXY TCP4 1.2.3.4 5.6.7.8 1 2 3\r\n"), 0,
	    PROXYV1_ERR_SYNTAX },
	{ "v1 trailing space", S("PROXY TCP4 1.2.3.4 5.6.7.8 1 2 \r\n"), 0,
	    PROXYV1_ERR_SYNTAX },
	{ "v1 double space", S("PROXY TCP4  1.2.3.4 5.6.7.8 1 2\r\n"), 0,
	    PROXYV1_ERR_SYNTAX },
	{ "v1 missing ports", S("PROXY TCP4 1.2.3.4 5.6.7.8\r\n"), 0,
	    PROXYV1_ERR_SYNTAX },
	{ "v1 cr without lf", S("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\rX"), 0,
	    PROXYV1_ERR_SYNTAX },
	{ "v1 lf only", S("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n"), 0,
	    PROXYV1_ERR_SYNTAX },
	{ "v1 short ipv4", S("PROXY TCP4 1.2.3 5.6.7.8 1 2\r\n"), 0,
	    PROXYV1_ERR_ADDR },
	{ "v1 ipv4 octet", S("PROXY TCP4 1.2.3.4 5.6.7.256 1 2\r\n"), 0,
	    PROXYV1_ERR_ADDR },
	{ "v1 ipv6 in tcp4", S("PROXY TCP4 ::1 ::2 1 2\r\n"), 0,
	    PROXYV1_ERR_ADDR },
	{ "v1 ipv4 in tcp6", S("PROXY TCP6 1.2.3.4 5.6.7.8 1 2\r\n"), 0,
	    PROXYV1_ERR_ADDR },
	{ "v1 name", S("PROXY TCP4 localhost 5.6.7.8 1 2\r\n"), 0,
	    PROXYV1_ERR_ADDR },
	{ "v1 too long address",
	    S("PROXY TCP6 ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff ::1 1 "
	      "2\r\n"),
	    0, PROXYV1_ERR_ADDR },
	{ "v1 port 65536", S("PROXY TCP4 1.2.3.4 5.6.7.8 65536 2\r\n"), 0,
	    PROXYV1_ERR_PORT },
	{ "v1 port leading zero", S("PROXY TCP4 1.2.3.4 5.6.7.8 1 02\r\n"), 0,
	    PROXYV1_ERR_PORT },
	{ "v1 port sign", S("PROXY TCP4 1.2.3.4 5.6.7.8 -1 2\r\n"), 0,
	    PROXYV1_ERR_PORT },
	{ "v1 port letter", S("PROXY TCP4 1.2.3.4 5.6.7.8 1a 2\r\n"), 0,
	    PROXYV1_ERR_PORT },
	{ "v1 port six digits", S("PROXY TCP4 1.2.3.4 5.6.7.8 1 000001\r\n"), 0,
	    PROXYV1_ERR_PORT },
};

START_TEST(test_parse_bad)
{
	const struct bad_vec *v = &bad_vec[_i];
	struct proxyv2_hdr h;
	uint8_t *copy = malloc(v->len);
	int r;

	ck_assert_ptr_nonnull(copy);
	memcpy(copy, v->buf, v->len);
	r = proxyv2_parse(copy, v->len, v->max, &h);
	ck_assert_msg(r == v->err, "%s: %d (%s), want %d", v->name, r,
	    proxyv2_strerror(r), v->err);
	ck_assert_int_eq(h.version, 0);
	free(copy);
}
END_TEST

START_TEST(test_strerror)
{
	const char *unknown = proxyv2_strerror(0);
	int e, f;

	ck_assert_str_eq(proxyv2_strerror(-99), unknown);
	for (e = PROXYV1_ERR_PORT; e <= PROXYV2_ERR_SIGNATURE; e++) {
		ck_assert_str_ne(proxyv2_strerror(e), unknown);
		for (f = e + 1; f <= PROXYV2_ERR_SIGNATURE; f++)
			ck_assert_str_ne(
			    proxyv2_strerror(e), proxyv2_strerror(f));
	}
}
END_TEST

START_TEST(test_tlv_iter)
{
	static const uint8_t area[] = { 0x04, 0x00, 0x00, 0xE0, 0x00, 0x01, 'z',
		0x01, 0x00 };
	const uint8_t *p = area;
	size_t len = sizeof(area);
	struct proxyv2_tlv t;

	ck_assert_int_eq(proxyv2_tlv_next(&p, &len, &t), 1);
	ck_assert_uint_eq(t.type, 0x04);
	ck_assert_uint_eq(t.len, 0);
	ck_assert_int_eq(proxyv2_tlv_next(&p, &len, &t), 1);
	ck_assert_uint_eq(t.type, 0xE0);
	ck_assert_uint_eq(t.len, 1);
	ck_assert_uint_eq(t.val[0], 'z');
	ck_assert_int_eq(proxyv2_tlv_next(&p, &len, &t), -1);
	len = 0;
	ck_assert_int_eq(proxyv2_tlv_next(&p, &len, &t), 0);
}
END_TEST

START_TEST(test_tlv_cap)
{
	/* 40 NOOP TLVs: 32 recorded, the rest flagged, all validated. */
	uint8_t buf[16 + 40 * 3];
	struct proxyv2_hdr h;
	static const uint8_t head[] = { SIG, 0x21, 0x00 };

	memset(buf, 0, sizeof(buf));
	memcpy(buf, head, sizeof(head));
	buf[15] = 120;
	for (int i = 0; i < 40; i++)
		buf[16 + 3 * i] = PP2_TYPE_NOOP;
	ck_assert_int_eq(proxyv2_parse(buf, sizeof(buf), 0, &h), sizeof(buf));
	ck_assert_uint_eq(h.ntlv, PROXYV2_TLV_CAP);
	ck_assert(h.tlv_overflow);
	ck_assert_uint_eq(h.tlvs_len, 120);
}
END_TEST

/*
 * proxy_tlvs' words: every bit 0..17 has a name that maps back to it, the
 * names are distinct, and anything else has no name or bit.
 */
START_TEST(test_tlv_names)
{
	static const struct {
		const char *name;
		uint32_t bit;
	} known[] = {
		{ "alpn", PROXYV2_T_ALPN },
		{ "authority", PROXYV2_T_AUTHORITY },
		{ "crc32c", PROXYV2_T_CRC32C },
		{ "unique_id", PROXYV2_T_UNIQUE_ID },
		{ "ssl", PROXYV2_T_SSL },
		{ "cn", PROXYV2_T_CN },
		{ "cipher", PROXYV2_T_CIPHER },
		{ "sig_alg", PROXYV2_T_SIG_ALG },
		{ "key_alg", PROXYV2_T_KEY_ALG },
		{ "group", PROXYV2_T_GROUP },
		{ "sig_scheme", PROXYV2_T_SIG_SCHEME },
		{ "client_cert", PROXYV2_T_CLIENT_CERT },
		{ "dn", PROXYV2_T_DN },
		{ "san_uri", PROXYV2_T_SAN_URI },
		{ "san_dns", PROXYV2_T_SAN_DNS },
		{ "cert_sha256", PROXYV2_T_CERT_SHA256 },
		{ "serial", PROXYV2_T_SERIAL },
		{ "psk_identity", PROXYV2_T_PSK_IDENTITY },
	};
	static const uint32_t no_bit[] = { 0, 1u << 18, PROXYV2_T_PASSED,
		1u << 31, 3, PROXYV2_T_ALL, PROXYV2_T_CN | PROXYV2_T_DN,
		0xffffffffu };
	static const char *const no_name[] = { "", "bogus", "c", "cnx", "cn ",
		" cn", "passed", "psk", "san", "alpn,cn" };
	const char *names[18];
	size_t i, j;

	ck_assert_uint_eq(nitems(known), 18);
	ck_assert_uint_eq(PROXYV2_T_ALL, (1u << 18) - 1);
	for (i = 0; i < 18; i++) {
		names[i] = proxyv2_tlv_name(1u << i);
		ck_assert_ptr_nonnull(names[i]);
		ck_assert_uint_gt(strlen(names[i]), 0);
		ck_assert_uint_eq(proxyv2_tlv_bit(names[i]), 1u << i);
		for (j = 0; j < i; j++)
			ck_assert_str_ne(names[i], names[j]);
	}
	for (i = 0; i < nitems(known); i++) {
		ck_assert_str_eq(proxyv2_tlv_name(known[i].bit), known[i].name);
		ck_assert_uint_eq(proxyv2_tlv_bit(known[i].name), known[i].bit);
	}
	for (i = 0; i < nitems(no_bit); i++)
		ck_assert_ptr_null(proxyv2_tlv_name(no_bit[i]));
	for (i = 0; i < nitems(no_name); i++)
		ck_assert_uint_eq(proxyv2_tlv_bit(no_name[i]), 0);
}
END_TEST

Suite *
proxyv2_suite(void)
{
	Suite *s = suite_create("proxyv2");
	TCase *tc;

	tc = tcase_create("encode");
	tcase_add_test(tc, test_crc32c);
	tcase_add_loop_test(tc, test_gold, 0, (int)nitems(gold_vec));
	tcase_add_test(tc, test_unix);
	tcase_add_loop_test(tc, test_tlv, 0, (int)nitems(tlv_vec));
	tcase_add_test(tc, test_tlv_absent);
	tcase_add_loop_test(tc, test_enospc, 0, 2 * (int)nitems(ADDRS));
	tcase_add_test(tc, test_drop_order);
	tcase_add_test(tc, test_passed);
	tcase_add_test(tc, test_oversize_tlv);
	tcase_add_loop_test(tc, test_v1_encode, 0, (int)nitems(v1_vec));
	suite_add_tcase(s, tc);

	tc = tcase_create("round trip");
	tcase_add_loop_test(
	    tc, test_round_trip, 0, (int)(nitems(ADDRS) * nitems(RT_MASKS)));
	suite_add_tcase(s, tc);

	tc = tcase_create("profiles");
	tcase_add_test(tc, test_profiles);
	tcase_add_test(tc, test_mosquitto);
	tcase_add_test(tc, test_vernemq);
	tcase_add_test(tc, test_emqx_hivemq);
	suite_add_tcase(s, tc);

	tc = tcase_create("parse");
	tcase_add_loop_test(tc, test_parse_good, 0, (int)nitems(good_vec));
	tcase_add_loop_test(tc, test_parse_bad, 0, (int)nitems(bad_vec));
	tcase_add_test(tc, test_strerror);
	tcase_add_test(tc, test_tlv_iter);
	tcase_add_test(tc, test_tlv_cap);
	suite_add_tcase(s, tc);

	tc = tcase_create("tlv names");
	tcase_add_test(tc, test_tlv_names);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return unit_run(proxyv2_suite());
}
