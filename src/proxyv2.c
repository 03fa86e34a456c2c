/*
 * proxyv2.c: PROXY protocol v2 and v1 encoders, the parser for both, the
 * bitwise CRC-32C, and the broker profile table. Pure: bytes and plain
 * structs in and out, no sockets, no OpenSSL, no log. The encoder builds
 * the header with one routine run twice (measure, then write) so that the
 * size checks and the bytes written can never disagree.
 */
#include "build_config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "proxyv2.h"

static const uint8_t PP2_SIG[PROXYV2_SIG_LEN] = { 0x0D, 0x0A, 0x0D, 0x0A, 0x00,
	0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A };
static const char V1_PREFIX[] = "PROXY ";

/* The order in which TLVs go when the header is over max_len. */
static const uint32_t DROP_ORDER[] = { PROXYV2_T_PASSED, PROXYV2_T_CLIENT_CERT, PROXYV2_T_SAN_DNS,
	PROXYV2_T_SAN_URI, PROXYV2_T_DN, PROXYV2_T_UNIQUE_ID,
	PROXYV2_T_PSK_IDENTITY, PROXYV2_T_SERIAL, PROXYV2_T_CERT_SHA256,
	PROXYV2_T_SIG_SCHEME, PROXYV2_T_GROUP, PROXYV2_T_KEY_ALG,
	PROXYV2_T_SIG_ALG, PROXYV2_T_ALPN, PROXYV2_T_AUTHORITY,
	PROXYV2_T_CIPHER, PROXYV2_T_CRC32C, PROXYV2_T_CN, PROXYV2_T_SSL };

#define GENERIC_TLVS                                                           \
	(PROXYV2_T_SSL | PROXYV2_T_CN | PROXYV2_T_CIPHER |                     \
	    PROXYV2_T_AUTHORITY | PROXYV2_T_ALPN | PROXYV2_T_CRC32C)

/*
 * What each receiver accepts. mosquitto (>= 2.1) refuses a length field
 * over 500 and LOCAL, and wants both certificate flags for a verified
 * certificate; VerneMQ knows SSL sub-types up to 0x25 only and uses the
 * CN; EMQX reads the CN and takes the DN from a custom TLV; HiveMQ reads
 * the standard TLVs and custom ones.
 */
static const struct proxyv2_profile_info PROFILES[PROXYV2_PROFILE_COUNT] = {
	[PROXYV2_PROFILE_GENERIC] = { "generic", GENERIC_TLVS, PROXYV2_T_ALL, 0,
	    0 },
	[PROXYV2_PROFILE_EMQX] = { "emqx", GENERIC_TLVS | PROXYV2_T_DN,
	    PROXYV2_T_ALL, 0, 0 },
	[PROXYV2_PROFILE_MOSQUITTO] = { "mosquitto", GENERIC_TLVS,
	    PROXYV2_T_ALL, 500, PROXYV2_F_NEVER_LOCAL | PROXYV2_F_CERT_BOTH },
	[PROXYV2_PROFILE_VERNEMQ] = { "vernemq", GENERIC_TLVS,
	    PROXYV2_T_ALL & ~(PROXYV2_T_GROUP | PROXYV2_T_SIG_SCHEME |
				PROXYV2_T_CLIENT_CERT),
	    0, 0 },
	[PROXYV2_PROFILE_HIVEMQ] = { "hivemq",
	    GENERIC_TLVS | PROXYV2_T_SIG_ALG | PROXYV2_T_KEY_ALG |
		PROXYV2_T_DN | PROXYV2_T_SAN_URI | PROXYV2_T_SAN_DNS |
		PROXYV2_T_CERT_SHA256 | PROXYV2_T_SERIAL,
	    PROXYV2_T_ALL, 0, 0 },
};

const struct proxyv2_tlv_word proxyv2_tlv_words[] = {
	{ "ssl", PROXYV2_T_SSL, PP2_TYPE_SSL, false },
	{ "cn", PROXYV2_T_CN, PP2_SUBTYPE_SSL_CN, false },
	{ "cipher", PROXYV2_T_CIPHER, PP2_SUBTYPE_SSL_CIPHER, false },
	{ "sig_alg", PROXYV2_T_SIG_ALG, PP2_SUBTYPE_SSL_SIG_ALG, false },
	{ "key_alg", PROXYV2_T_KEY_ALG, PP2_SUBTYPE_SSL_KEY_ALG, false },
	{ "group", PROXYV2_T_GROUP, PP2_SUBTYPE_SSL_GROUP, false },
	{ "sig_scheme", PROXYV2_T_SIG_SCHEME, PP2_SUBTYPE_SSL_SIG_SCHEME,
	    false },
	{ "client_cert", PROXYV2_T_CLIENT_CERT, PP2_SUBTYPE_SSL_CLIENT_CERT,
	    false },
	{ "authority", PROXYV2_T_AUTHORITY, PP2_TYPE_AUTHORITY, false },
	{ "alpn", PROXYV2_T_ALPN, PP2_TYPE_ALPN, false },
	{ "crc32c", PROXYV2_T_CRC32C, PP2_TYPE_CRC32C, false },
	{ "unique_id", PROXYV2_T_UNIQUE_ID, PP2_TYPE_UNIQUE_ID, false },
	{ "dn", PROXYV2_T_DN, PP2_CUSTOM_DN, true },
	{ "san_uri", PROXYV2_T_SAN_URI, PP2_CUSTOM_SAN_URI, true },
	{ "san_dns", PROXYV2_T_SAN_DNS, PP2_CUSTOM_SAN_DNS, true },
	{ "cert_sha256", PROXYV2_T_CERT_SHA256, PP2_CUSTOM_CERT_SHA256, true },
	{ "serial", PROXYV2_T_SERIAL, PP2_CUSTOM_SERIAL, true },
	{ "psk_identity", PROXYV2_T_PSK_IDENTITY, PP2_CUSTOM_PSK_IDENTITY,
	    true },
};
const size_t proxyv2_ntlv_words =
    sizeof(proxyv2_tlv_words) / sizeof(proxyv2_tlv_words[0]);

const char *
proxyv2_tlv_name(uint32_t bit)
{
	size_t i;

	for (i = 0; i < proxyv2_ntlv_words; i++)
		if (bit == proxyv2_tlv_words[i].bit)
			return proxyv2_tlv_words[i].name;
	return NULL;
}

uint32_t
proxyv2_tlv_bit(const char *name)
{
	size_t i;

	for (i = 0; i < proxyv2_ntlv_words; i++)
		if (strcmp(name, proxyv2_tlv_words[i].name) == 0)
			return proxyv2_tlv_words[i].bit;
	return 0;
}

uint32_t
proxyv2_crc32c(uint32_t crc, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	int k;

	crc = ~crc;
	while (len-- > 0) {
		crc ^= *p++;
		for (k = 0; k < 8; k++)
			crc = (crc >> 1) ^ (0x82F63B78u & (0u - (crc & 1u)));
	}
	return ~crc;
}

/* A writer that only counts when buf is NULL. */
struct wr {
	uint8_t *buf;
	size_t n;
};

static void
put(struct wr *w, const void *p, size_t len)
{
	if (w->buf != NULL && len > 0)
		memcpy(w->buf + w->n, p, len);
	w->n += len;
}

static void
put8(struct wr *w, uint8_t v)
{
	put(w, &v, 1);
}

static void
put16(struct wr *w, size_t v)
{
	uint8_t b[2] = { (uint8_t)(v >> 8), (uint8_t)v };

	put(w, b, 2);
}

static void
put32(struct wr *w, uint32_t v)
{
	uint8_t b[4] = { (uint8_t)(v >> 24), (uint8_t)(v >> 16),
		(uint8_t)(v >> 8), (uint8_t)v };

	put(w, b, 4);
}

static void
set16(uint8_t *p, size_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static bool
has(const char *s)
{
	return s != NULL && *s != '\0';
}

static void
tlv(struct wr *w, uint8_t type, const void *val, size_t len)
{
	put8(w, type);
	put16(w, len);
	put(w, val, len);
}

static void
tlv_str(struct wr *w, bool on, uint8_t type, const char *s)
{
	if (on && has(s))
		tlv(w, type, s, strlen(s));
}

static void
tlv_bytes(struct wr *w, bool on, uint8_t type, const uint8_t *p, size_t len)
{
	if (on && p != NULL && len > 0)
		tlv(w, type, p, len);
}

/* The non-empty entries of v joined by ','; nothing when there is none. */
static void
tlv_list(struct wr *w, bool on, uint8_t type, const char *const *v, size_t n)
{
	size_t i, len = 0, cnt = 0;

	if (!on || v == NULL)
		return;
	for (i = 0; i < n; i++)
		if (has(v[i])) {
			len += strlen(v[i]) + (cnt > 0);
			cnt++;
		}
	if (cnt == 0)
		return;
	put8(w, type);
	put16(w, len);
	cnt = 0;
	for (i = 0; i < n; i++)
		if (has(v[i])) {
			if (cnt++ > 0)
				put8(w, ',');
			put(w, v[i], strlen(v[i]));
		}
}

static void
ssl_subs(struct wr *w, const struct proxyv2_tls *t, uint32_t m)
{
	tlv_str(w, m & PROXYV2_T_SSL, PP2_SUBTYPE_SSL_VERSION, t->version);
	tlv_str(w, m & PROXYV2_T_CN, PP2_SUBTYPE_SSL_CN, t->cn);
	tlv_str(w, m & PROXYV2_T_CIPHER, PP2_SUBTYPE_SSL_CIPHER, t->cipher);
	tlv_str(w, m & PROXYV2_T_SIG_ALG, PP2_SUBTYPE_SSL_SIG_ALG, t->sig_alg);
	tlv_str(w, m & PROXYV2_T_KEY_ALG, PP2_SUBTYPE_SSL_KEY_ALG, t->key_alg);
	tlv_str(w, m & PROXYV2_T_GROUP, PP2_SUBTYPE_SSL_GROUP, t->group);
	tlv_str(w, m & PROXYV2_T_SIG_SCHEME, PP2_SUBTYPE_SSL_SIG_SCHEME,
	    t->sig_scheme);
	tlv_bytes(w, m & PROXYV2_T_CLIENT_CERT, PP2_SUBTYPE_SSL_CLIENT_CERT,
	    t->cert, t->cert_len);
}

static size_t
addr_len(enum proxy_family f)
{
	switch (f) {
	case PROXY_AF_INET:
		return 12;
	case PROXY_AF_INET6:
		return 36;
	case PROXY_AF_UNIX:
		return 2 * PROXYV2_UNIX_LEN;
	default:
		return 0;
	}
}

/*
 * Build the header for TLV set m into buf (or only measure it when buf is
 * NULL). Returns its total length; when writing, the caller has checked
 * that it fits and that the length field is at most 65535.
 */
static size_t
build(const struct proxyv2_in *in, uint32_t m, uint8_t *buf)
{
	const struct proxy_addr *a = &in->addr;
	const struct proxyv2_tls *t = in->tls;
	static const struct proxyv2_tls none;
	struct wr w = { buf, 0 };
	uint8_t base = in->custom_base ? in->custom_base : PROXYV2_CUSTOM_BASE;
	size_t crc_at = 0, alen = addr_len(a->family);
	bool local = a->family != PROXY_AF_INET &&
		     a->family != PROXY_AF_INET6 && a->family != PROXY_AF_UNIX;
	static const uint8_t fam[] = { 0x00, 0x11, 0x21, 0x31 };

	if (t == NULL)
		t = &none;
	put(&w, PP2_SIG, sizeof(PP2_SIG));
	put8(&w, (uint8_t)(0x20 | (local && !(in->flags & PROXYV2_F_NEVER_LOCAL)
					  ? PP2_CMD_LOCAL
					  : PP2_CMD_PROXY)));
	put8(&w, local ? 0x00 : fam[a->family]);
	put16(&w, 0); /* set below */
	if (!local) {
		put(&w, a->src, alen == 12 ? 4 : alen == 36 ? 16 : 108);
		put(&w, a->dst, alen == 12 ? 4 : alen == 36 ? 16 : 108);
		if (a->family != PROXY_AF_UNIX) {
			put16(&w, a->sport);
			put16(&w, a->dport);
		}
	}
	tlv_bytes(&w, m & PROXYV2_T_ALPN, PP2_TYPE_ALPN, t->alpn, t->alpn_len);
	tlv_str(&w, m & PROXYV2_T_AUTHORITY, PP2_TYPE_AUTHORITY, t->authority);
	if (m & PROXYV2_T_CRC32C) {
		put8(&w, PP2_TYPE_CRC32C);
		put16(&w, 4);
		crc_at = w.n;
		put32(&w, 0);
	}
	tlv_bytes(&w, m & PROXYV2_T_UNIQUE_ID, PP2_TYPE_UNIQUE_ID, t->unique_id,
	    t->unique_id_len <= PROXYV2_UNIQUE_ID_MAX ? t->unique_id_len : 0);
	if (in->tls != NULL && (m & (PROXYV2_T_SSL | PROXYV2_T_SSL_SUBS))) {
		struct wr sub = { NULL, 0 };
		uint8_t client = t->ssl ? PP2_CLIENT_SSL : 0;

		if (t->cert_conn)
			client |= PP2_CLIENT_CERT_CONN;
		if (t->cert_sess)
			client |= PP2_CLIENT_CERT_SESS;
		if ((in->flags & PROXYV2_F_CERT_BOTH) && t->verify == 0 &&
		    (t->cert_conn || t->cert_sess))
			client |= PP2_CLIENT_CERT_CONN | PP2_CLIENT_CERT_SESS;
		ssl_subs(&sub, t, m);
		put8(&w, PP2_TYPE_SSL);
		put16(&w, 5 + sub.n);
		put8(&w, client);
		put32(&w, t->verify);
		ssl_subs(&w, t, m);
	}
	tlv_str(&w, m & PROXYV2_T_DN, (uint8_t)(base + PP2_CUSTOM_DN), t->dn);
	tlv_list(&w, m & PROXYV2_T_SAN_URI,
	    (uint8_t)(base + PP2_CUSTOM_SAN_URI), t->san_uri, t->n_san_uri);
	tlv_list(&w, m & PROXYV2_T_SAN_DNS,
	    (uint8_t)(base + PP2_CUSTOM_SAN_DNS), t->san_dns, t->n_san_dns);
	tlv_bytes(&w, m & PROXYV2_T_CERT_SHA256,
	    (uint8_t)(base + PP2_CUSTOM_CERT_SHA256), t->cert_sha256,
	    t->cert_sha256 != NULL ? PROXYV2_SHA256_LEN : 0);
	tlv_str(&w, m & PROXYV2_T_SERIAL, (uint8_t)(base + PP2_CUSTOM_SERIAL),
	    t->serial);
	tlv_bytes(&w, m & PROXYV2_T_PSK_IDENTITY,
	    (uint8_t)(base + PP2_CUSTOM_PSK_IDENTITY), t->psk_identity,
	    t->psk_identity_len);
	if (m & PROXYV2_T_PASSED)
		put(&w, in->passed, in->passed_len);
	if (buf != NULL) {
		set16(buf + 14, w.n - PROXYV2_FIXED_LEN);
		if (crc_at > 0) {
			uint32_t crc = proxyv2_crc32c(0, buf, w.n);
			struct wr c = { buf + crc_at, 0 };

			put32(&c, crc);
		}
	}
	return w.n;
}

int
proxyv2_encode(const struct proxyv2_in *in, uint8_t *buf, size_t cap)
{
	size_t limit = in->max_len ? in->max_len : PROXYV2_LEN_MAX;
	uint32_t m = in->tlvs & PROXYV2_T_ALL, dropped = 0;
	size_t size, i, s2;

	if (in->passed != NULL && in->passed_len > 0)
		m |= PROXYV2_T_PASSED;
	size = build(in, m, NULL);

	for (i = 0; i < sizeof(DROP_ORDER) / sizeof(DROP_ORDER[0]) &&
		    size - PROXYV2_FIXED_LEN > limit;
	     i++) {
		if (!(m & DROP_ORDER[i]))
			continue;
		m &= ~DROP_ORDER[i];
		s2 = build(in, m, NULL);
		if (s2 < size)
			dropped |= DROP_ORDER[i];
		size = s2;
	}
	if (in->dropped != NULL)
		*in->dropped = dropped;
	if (size - PROXYV2_FIXED_LEN > limit)
		return -EMSGSIZE;
	if (size > cap)
		return -ENOSPC;
	return (int)build(in, m, buf);
}

int
proxyv1_encode(const struct proxy_addr *addr, uint8_t *buf, size_t cap)
{
	char line[PROXYV1_LINE_MAX + 1], src[INET6_ADDRSTRLEN],
	    dst[INET6_ADDRSTRLEN];
	int af = addr->family == PROXY_AF_INET ? AF_INET : AF_INET6, n;
	size_t len;

	if (addr->family != PROXY_AF_INET && addr->family != PROXY_AF_INET6) {
		n = snprintf(line, sizeof(line), "PROXY UNKNOWN\r\n");
	} else {
		/* Cannot fail: the families and buffer sizes are right. */
		inet_ntop(af, addr->src, src, sizeof(src));
		inet_ntop(af, addr->dst, dst, sizeof(dst));
		n = snprintf(line, sizeof(line), "PROXY %s %s %s %u %u\r\n",
		    af == AF_INET ? "TCP4" : "TCP6", src, dst,
		    (unsigned)addr->sport, (unsigned)addr->dport);
	}
	len = (size_t)n;
	if (len > cap)
		return -ENOSPC;
	memcpy(buf, line, len);
	return n;
}

const char *
proxyv2_strerror(int err)
{
	switch (err) {
	case PROXYV2_ERR_SIGNATURE:
		return "not a PROXY protocol header";
	case PROXYV2_ERR_VERSION:
		return "PROXY v2 header with a version other than 2";
	case PROXYV2_ERR_COMMAND:
		return "PROXY v2 command neither LOCAL nor PROXY";
	case PROXYV2_ERR_FAMILY:
		return "PROXY v2 unknown address family or transport";
	case PROXYV2_ERR_SHORT:
		return "PROXY v2 length too short for the address family";
	case PROXYV2_ERR_OVERSIZE:
		return "PROXY v2 header longer than allowed";
	case PROXYV2_ERR_TLV:
		return "PROXY v2 TLV overruns the header";
	case PROXYV2_ERR_SSL:
		return "PROXY v2 malformed SSL TLV";
	case PROXYV2_ERR_CRC:
		return "PROXY v2 CRC32C mismatch";
	case PROXYV1_ERR_TOO_LONG:
		return "PROXY v1 line longer than 107 bytes";
	case PROXYV1_ERR_SYNTAX:
		return "PROXY v1 malformed line";
	case PROXYV1_ERR_ADDR:
		return "PROXY v1 bad address";
	case PROXYV1_ERR_PORT:
		return "PROXY v1 bad port";
	}
	return "unknown PROXY protocol error";
}

int
proxyv2_tlv_next(const uint8_t **p, size_t *len, struct proxyv2_tlv *out)
{
	size_t vlen;

	if (*len == 0)
		return 0;
	if (*len < 3)
		return -1;
	vlen = (size_t)(*p)[1] << 8 | (*p)[2];
	if (vlen > *len - 3)
		return -1;
	out->type = (*p)[0];
	out->len = (uint16_t)vlen;
	out->val = *p + 3;
	*p += 3 + vlen;
	*len -= 3 + vlen;
	return 1;
}

bool
proxyv2_find(
    const struct proxyv2_hdr *hdr, uint8_t type, struct proxyv2_tlv *out)
{
	const uint8_t *p = hdr->tlvs;
	size_t len = hdr->tlvs_len;

	if (type >= 0x21 && type <= 0x2F) {
		if (!hdr->has_ssl)
			return false;
		p = hdr->ssl_sub;
		len = hdr->ssl_sub_len;
	}
	while (proxyv2_tlv_next(&p, &len, out) == 1)
		if (out->type == type)
			return true;
	return false;
}

static int
parse_tlvs(
    const uint8_t *buf, size_t total, size_t off, struct proxyv2_hdr *out)
{
	static const uint8_t zero[4];
	const uint8_t *p = buf + off;
	size_t len = total - off;
	struct proxyv2_tlv t;
	int r;

	out->tlvs = p;
	out->tlvs_len = len;
	while ((r = proxyv2_tlv_next(&p, &len, &t)) == 1) {
		if (out->ntlv < PROXYV2_TLV_CAP)
			out->tlv[out->ntlv++] = t;
		else
			out->tlv_overflow = true;
		if (t.type == PP2_TYPE_SSL && !out->has_ssl) {
			const uint8_t *sp;
			size_t slen;
			struct proxyv2_tlv st;

			if (t.len < 5)
				return PROXYV2_ERR_SSL;
			sp = t.val + 5;
			slen = t.len - 5u;
			out->has_ssl = true;
			out->ssl_client = t.val[0];
			out->ssl_verify = (uint32_t)t.val[1] << 24 |
					  (uint32_t)t.val[2] << 16 |
					  (uint32_t)t.val[3] << 8 | t.val[4];
			out->ssl_sub = sp;
			out->ssl_sub_len = slen;
			while ((r = proxyv2_tlv_next(&sp, &slen, &st)) == 1)
				;
			if (r < 0)
				return PROXYV2_ERR_SSL;
		} else if (t.type == PP2_TYPE_CRC32C) {
			size_t at = (size_t)(t.val - buf);
			uint32_t got, crc;

			if (t.len != 4)
				return PROXYV2_ERR_CRC;
			got = (uint32_t)t.val[0] << 24 |
			      (uint32_t)t.val[1] << 16 |
			      (uint32_t)t.val[2] << 8 | t.val[3];
			crc = proxyv2_crc32c(0, buf, at);
			crc = proxyv2_crc32c(crc, zero, 4);
			crc = proxyv2_crc32c(crc, buf + at + 4, total - at - 4);
			if (crc != got)
				return PROXYV2_ERR_CRC;
			out->crc_checked = true;
		}
	}
	return r < 0 ? PROXYV2_ERR_TLV : 0;
}

static int
parse_v2(const uint8_t *buf, size_t len, size_t max, struct proxyv2_hdr *out)
{
	size_t total, alen, n;
	uint8_t cmd, fam;
	int r;

	if (len < PROXYV2_FIXED_LEN)
		return 0;
	if ((buf[12] >> 4) != 2)
		return PROXYV2_ERR_VERSION;
	cmd = buf[12] & 0x0F;
	if (cmd != PP2_CMD_LOCAL && cmd != PP2_CMD_PROXY)
		return PROXYV2_ERR_COMMAND;
	total = PROXYV2_FIXED_LEN + ((size_t)buf[14] << 8 | buf[15]);
	if (total > max)
		return PROXYV2_ERR_OVERSIZE;
	fam = buf[13];
	switch (fam) {
	case 0x00:
	case 0x11:
	case 0x12:
	case 0x21:
	case 0x22:
	case 0x31:
	case 0x32:
		break;
	default:
		return PROXYV2_ERR_FAMILY;
	}
	alen = addr_len((enum proxy_family)(fam >> 4));
	if (total - PROXYV2_FIXED_LEN < alen)
		return PROXYV2_ERR_SHORT;
	if (len < total)
		return 0;
	out->version = 2;
	out->local = cmd == PP2_CMD_LOCAL;
	out->transport = fam & 0x0F;
	if (!out->local && alen > 0) {
		const uint8_t *a = buf + PROXYV2_FIXED_LEN;

		out->addr.family = (enum proxy_family)(fam >> 4);
		n = alen == 12 ? 4 : alen == 36 ? 16 : PROXYV2_UNIX_LEN;
		memcpy(out->addr.src, a, n);
		memcpy(out->addr.dst, a + n, n);
		if (out->addr.family != PROXY_AF_UNIX) {
			out->addr.sport =
			    (uint16_t)(a[2 * n] << 8 | a[2 * n + 1]);
			out->addr.dport =
			    (uint16_t)(a[2 * n + 2] << 8 | a[2 * n + 3]);
		}
	}
	r = parse_tlvs(buf, total, PROXYV2_FIXED_LEN + alen, out);
	return r < 0 ? r : (int)total;
}

/* Decimal 0..65535 without sign or leading zeros, n bytes. */
static int
v1_port(const uint8_t *s, size_t n, uint16_t *out)
{
	unsigned long v = 0;
	size_t i;

	if (n == 0 || n > 5 || (n > 1 && s[0] == '0'))
		return -1;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (v > 65535)
		return -1;
	*out = (uint16_t)v;
	return 0;
}

static int
v1_addr(int af, const uint8_t *s, size_t n, uint8_t *out)
{
	char tmp[INET6_ADDRSTRLEN];

	if (n == 0 || n >= sizeof(tmp))
		return -1;
	memcpy(tmp, s, n);
	tmp[n] = '\0';
	return inet_pton(af, tmp, out) == 1 ? 0 : -1;
}

static int
parse_v1(const uint8_t *buf, size_t len, struct proxyv2_hdr *out)
{
	const uint8_t *tok[6];
	size_t tlen[6], end, i, ntok = 0, start;
	int af;

	/* The CR may be at index PROXYV1_LINE_MAX - 2 at the latest. */
	for (end = 0; end < len && end < PROXYV1_LINE_MAX - 1; end++)
		if (buf[end] == '\r' || buf[end] == '\n')
			break;
	if (end == PROXYV1_LINE_MAX - 1)
		return PROXYV1_ERR_TOO_LONG;
	if (end == len)
		return 0;
	if (buf[end] != '\r')
		return PROXYV1_ERR_SYNTAX;
	if (end + 1 == len)
		return 0;
	if (buf[end + 1] != '\n')
		return PROXYV1_ERR_SYNTAX;
	/* Split on single spaces; "PROXY" is tok[0]. */
	for (start = 0, i = 0; i <= end; i++) {
		if (i < end && buf[i] != ' ')
			continue;
		if (ntok == 6)
			return PROXYV1_ERR_SYNTAX;
		tok[ntok] = buf + start;
		tlen[ntok++] = i - start;
		start = i + 1;
		if (ntok == 2 && tlen[1] == 7 &&
		    memcmp(tok[1], "UNKNOWN", 7) == 0)
			break;
	}
	out->version = 1;
	if (ntok >= 2 && tlen[1] == 7 && memcmp(tok[1], "UNKNOWN", 7) == 0) {
		out->local = true;
		return (int)end + 2;
	}
	if (ntok < 2 || tlen[1] != 4 ||
	    (memcmp(tok[1], "TCP4", 4) != 0 && memcmp(tok[1], "TCP6", 4) != 0))
		return PROXYV1_ERR_SYNTAX;
	if (ntok != 6)
		return PROXYV1_ERR_SYNTAX;
	for (i = 2; i < 6; i++)
		if (tlen[i] == 0)
			return PROXYV1_ERR_SYNTAX;
	af = tok[1][3] == '4' ? AF_INET : AF_INET6;
	out->addr.family = af == AF_INET ? PROXY_AF_INET : PROXY_AF_INET6;
	out->transport = 1;
	if (v1_addr(af, tok[2], tlen[2], out->addr.src) < 0 ||
	    v1_addr(af, tok[3], tlen[3], out->addr.dst) < 0)
		return PROXYV1_ERR_ADDR;
	if (v1_port(tok[4], tlen[4], &out->addr.sport) < 0 ||
	    v1_port(tok[5], tlen[5], &out->addr.dport) < 0)
		return PROXYV1_ERR_PORT;
	return (int)end + 2;
}

int
proxyv2_parse(
    const uint8_t *buf, size_t len, size_t max, struct proxyv2_hdr *out)
{
	size_t n;
	int r;

	memset(out, 0, sizeof(*out));
	if (max == 0 || max > PROXYV2_FIXED_LEN + PROXYV2_LEN_MAX)
		max = PROXYV2_FIXED_LEN + PROXYV2_LEN_MAX;
	if (len == 0)
		return 0;
	if (buf[0] == PP2_SIG[0]) {
		n = len < PROXYV2_SIG_LEN ? len : PROXYV2_SIG_LEN;
		if (memcmp(buf, PP2_SIG, n) != 0)
			return PROXYV2_ERR_SIGNATURE;
		r = parse_v2(buf, len, max, out);
	} else {
		n = len < 6 ? len : 6;
		if (memcmp(buf, V1_PREFIX, n) != 0)
			return PROXYV2_ERR_SIGNATURE;
		r = len < 6 ? 0 : parse_v1(buf, len, out);
	}
	if (r <= 0)
		memset(out, 0, sizeof(*out));
	return r;
}

const struct proxyv2_profile_info *
proxyv2_profile_info(enum proxyv2_profile p)
{
	if ((unsigned)p >= PROXYV2_PROFILE_COUNT)
		return NULL;
	return &PROFILES[p];
}

uint32_t
proxyv2_profile_tlvs(enum proxyv2_profile p)
{
	const struct proxyv2_profile_info *pi = proxyv2_profile_info(p);

	return pi != NULL ? pi->tlvs : 0;
}

int
proxyv2_in_profile(struct proxyv2_in *in, enum proxyv2_profile p, uint32_t tlvs,
    uint16_t max_len)
{
	const struct proxyv2_profile_info *pi = proxyv2_profile_info(p);

	if (pi == NULL)
		return -1;
	in->tlvs = (tlvs != 0 ? tlvs : pi->tlvs) & pi->allowed;
	in->flags = pi->flags;
	in->max_len = max_len;
	if (pi->max_len != 0 && (max_len == 0 || pi->max_len < max_len))
		in->max_len = pi->max_len;
	return 0;
}
