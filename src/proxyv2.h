/*
 * proxyv2: the PROXY protocol (HAProxy's doc/proxy-protocol.txt) as pure
 * code: the v2 binary header and the v1 text line, encoded from plain
 * structs and parsed from bytes, the CRC-32C the v2 checksum TLV uses, and
 * the broker profiles as a data table. No sockets, no OpenSSL, no logging:
 * conn.c copies addresses and struct tls_info into these structs first.
 */
#ifndef MQGATE_PROXYV2_H
#define MQGATE_PROXYV2_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PROXYV2_SIG_LEN 12
#define PROXYV2_FIXED_LEN 16	 /* signature, ver/cmd, family, length */
#define PROXYV2_UNIX_LEN 108	 /* one AF_UNIX address in the header */
#define PROXYV2_LEN_MAX 65535	 /* the v2 length field */
#define PROXYV1_LINE_MAX 107	 /* longest v1 line, CRLF included */
#define PROXYV2_CUSTOM_BASE 0xE0 /* default proxy_custom_tlv_base */
#define PROXYV2_SHA256_LEN 32
#define PROXYV2_UNIQUE_ID_MAX 128
#define PROXYV2_TLV_CAP 32 /* top-level TLVs proxyv2_parse records */

/* Wire values. */
#define PP2_CMD_LOCAL 0x0
#define PP2_CMD_PROXY 0x1
#define PP2_TYPE_ALPN 0x01
#define PP2_TYPE_AUTHORITY 0x02
#define PP2_TYPE_CRC32C 0x03
#define PP2_TYPE_NOOP 0x04
#define PP2_TYPE_UNIQUE_ID 0x05
#define PP2_TYPE_SSL 0x20
#define PP2_TYPE_NETNS 0x30
#define PP2_SUBTYPE_SSL_VERSION 0x21
#define PP2_SUBTYPE_SSL_CN 0x22
#define PP2_SUBTYPE_SSL_CIPHER 0x23
#define PP2_SUBTYPE_SSL_SIG_ALG 0x24
#define PP2_SUBTYPE_SSL_KEY_ALG 0x25
#define PP2_SUBTYPE_SSL_GROUP 0x26
#define PP2_SUBTYPE_SSL_SIG_SCHEME 0x27
#define PP2_SUBTYPE_SSL_CLIENT_CERT 0x28
#define PP2_CLIENT_SSL 0x01
#define PP2_CLIENT_CERT_CONN 0x02
#define PP2_CLIENT_CERT_SESS 0x04
/* Custom TLVs, as offsets from the custom base. */
#define PP2_CUSTOM_DN 0
#define PP2_CUSTOM_SAN_URI 1
#define PP2_CUSTOM_SAN_DNS 2
#define PP2_CUSTOM_CERT_SHA256 3
#define PP2_CUSTOM_SERIAL 4
#define PP2_CUSTOM_PSK_IDENTITY 5

enum proxy_family {
	PROXY_AF_UNSPEC = 0, /* v2 LOCAL (or UNSPEC), v1 UNKNOWN */
	PROXY_AF_INET = 1,
	PROXY_AF_INET6 = 2,
	PROXY_AF_UNIX = 3,
};

/*
 * One connection's two ends. Addresses are in network byte order: 4 bytes
 * (INET), 16 (INET6) or 108 (UNIX, the sun_path bytes, NUL padded) of src
 * and dst are used; ports are in host byte order and unused for UNIX.
 */
struct proxy_addr {
	enum proxy_family family;
	uint8_t src[PROXYV2_UNIX_LEN];
	uint8_t dst[PROXYV2_UNIX_LEN];
	uint16_t sport, dport;
};

/*
 * What the TLS layer established, as plain data (borrowed pointers, valid
 * for the call). A NULL or "" string, or a NULL/zero-length byte field,
 * means "absent": its TLV is not sent.
 */
struct proxyv2_tls {
	bool ssl;	 /* the client connected over TLS */
	bool cert_conn;	 /* it presented a certificate on this connection */
	bool cert_sess;	 /* its TLS session carries one (resumed or not) */
	uint32_t verify; /* 0 only when a certificate was presented and
			    verified; else the X509 result or non-zero
			    (HAProxy sends 0 when none was presented; the
			    spec, and mqgate, do not) */
	const char *version, *cipher, *sig_alg, *key_alg, *group, *sig_scheme;
	const char *cn, *dn, *serial; /* serial: uppercase hex */
	const char *const *san_uri;   /* n_san_uri strings */
	size_t n_san_uri;
	const char *const *san_dns; /* n_san_dns strings */
	size_t n_san_dns;
	const uint8_t *cert; /* DER of the client's leaf certificate */
	size_t cert_len;
	const uint8_t *cert_sha256; /* PROXYV2_SHA256_LEN bytes, or NULL */
	const uint8_t *psk_identity;
	size_t psk_identity_len;
	const char *authority; /* SNI */
	const uint8_t *alpn;   /* negotiated protocol */
	size_t alpn_len;
	const uint8_t *unique_id; /* at most PROXYV2_UNIQUE_ID_MAX bytes */
	size_t unique_id_len;
};

/* TLV selection bits (proxy_tlvs); their names are proxy_tlvs' words. */
enum proxyv2_tlv_bit {
	PROXYV2_T_ALPN = 1u << 0,
	PROXYV2_T_AUTHORITY = 1u << 1,
	PROXYV2_T_CRC32C = 1u << 2,
	PROXYV2_T_UNIQUE_ID = 1u << 3,
	PROXYV2_T_SSL = 1u << 4, /* PP2_TYPE_SSL with its VERSION sub-TLV */
	PROXYV2_T_CN = 1u << 5,
	PROXYV2_T_CIPHER = 1u << 6,
	PROXYV2_T_SIG_ALG = 1u << 7,
	PROXYV2_T_KEY_ALG = 1u << 8,
	PROXYV2_T_GROUP = 1u << 9,
	PROXYV2_T_SIG_SCHEME = 1u << 10,
	PROXYV2_T_CLIENT_CERT = 1u << 11,
	PROXYV2_T_DN = 1u << 12,
	PROXYV2_T_SAN_URI = 1u << 13,
	PROXYV2_T_SAN_DNS = 1u << 14,
	PROXYV2_T_CERT_SHA256 = 1u << 15,
	PROXYV2_T_SERIAL = 1u << 16,
	PROXYV2_T_PSK_IDENTITY = 1u << 17,
};
#define PROXYV2_T_ALL ((1u << 18) - 1)
/* Not selectable: reported in *dropped for in->passed (proxy_pass_tlvs). */
#define PROXYV2_T_PASSED (1u << 18)
/* The SSL sub-TLVs: any of them brings the PP2_TYPE_SSL container. */
#define PROXYV2_T_SSL_SUBS                                                     \
	(PROXYV2_T_CN | PROXYV2_T_CIPHER | PROXYV2_T_SIG_ALG |                 \
	    PROXYV2_T_KEY_ALG | PROXYV2_T_GROUP | PROXYV2_T_SIG_SCHEME |       \
	    PROXYV2_T_CLIENT_CERT)

/*
 * The proxy_tlvs words, in the order the documentation lists them: each
 * with its PROXYV2_T_* bit and TLV type (for a custom TLV, the offset from
 * the custom base).
 */
struct proxyv2_tlv_word {
	const char *name;
	uint32_t bit;
	unsigned type;
	bool custom;
};
extern const struct proxyv2_tlv_word proxyv2_tlv_words[];
extern const size_t proxyv2_ntlv_words;

/* The proxy_tlvs name of one PROXYV2_T_* bit ("cn", ...), or NULL. */
const char *proxyv2_tlv_name(uint32_t bit);

/* The PROXYV2_T_* bit named name (as proxy_tlvs spells it), or 0. */
uint32_t proxyv2_tlv_bit(const char *name);

/* Encoder behaviour flags (struct proxyv2_in.flags). */
#define PROXYV2_F_NEVER_LOCAL 0x1 /* UNSPEC goes out as PROXY, not LOCAL */
#define PROXYV2_F_CERT_BOTH                                                    \
	0x2 /* a verified certificate sets both                                \
	       CERT_CONN and CERT_SESS */

struct proxyv2_in {
	struct proxy_addr addr;	       /* family UNSPEC = the LOCAL command */
	const struct proxyv2_tls *tls; /* NULL: no TLS facts to send */
	uint32_t tlvs;		       /* PROXYV2_T_* to send when present */
	unsigned flags;		       /* PROXYV2_F_* */
	uint16_t max_len;    /* limit on the length field; 0 = 65535 */
	uint8_t custom_base; /* 0 = PROXYV2_CUSTOM_BASE; <= 0xFA */
	const uint8_t *passed; /* received TLVs passed on as they came */
	size_t passed_len;     /* (type, length, value)..., or 0 */
	uint32_t *dropped;   /* if not NULL: receives the PROXYV2_T_*
				bits dropped to meet max_len */
};

/*
 * CRC-32C (Castagnoli, reflected 0x82F63B78, RFC 4960 appendix B) of len
 * bytes, continuing from crc (start with 0): proxyv2_crc32c(0, "123456789",
 * 9) is 0xE3069283, and crc32c(crc32c(0, a), b) == crc32c(0, a || b).
 */
uint32_t proxyv2_crc32c(uint32_t crc, const void *buf, size_t len);

/*
 * Encode a PROXY v2 header into buf. Layout: signature, 0x21 (PROXY) or
 * 0x20 (LOCAL: family UNSPEC without PROXYV2_F_NEVER_LOCAL; with it, PROXY
 * with family 0x00), family/transport (0x11 TCP4, 0x21 TCP6, 0x31 UNIX
 * stream, 0x00), length, addresses, then TLVs in ascending type order:
 * ALPN 0x01, AUTHORITY 0x02, CRC32C 0x03 (4 bytes, network order, over
 * the whole header with the field zeroed), UNIQUE_ID 0x05, SSL 0x20
 * (client flags, 4-byte verify, sub-TLVs 0x21..0x28), then the customs at
 * custom_base + 0 dn, +1 san_uri, +2 san_dns (entries comma-joined), +3
 * cert_sha256 (32 raw bytes), +4 serial, +5 psk_identity, then the
 * passed TLVs as given (the caller has checked they are well formed). A
 * selected TLV
 * whose data is absent is not sent (nor a UNIQUE_ID over 128 bytes); SSL is
 * sent when tls is not NULL and PROXYV2_T_SSL or any sub-TLV bit is selected
 * (VERSION only with PROXYV2_T_SSL). The client byte is PP2_CLIENT_SSL if
 * tls->ssl, plus CERT_CONN/CERT_SESS as given, or both when PROXYV2_F_CERT_BOTH
 * and a certificate was presented and verified (verify == 0).
 *
 * When the length field would exceed max_len (or 65535), TLVs are dropped
 * whole, one at a time, in this fixed order until it fits: the passed
 * TLVs (all together, reported as PROXYV2_T_PASSED), client_cert,
 * san_dns, san_uri, dn, unique_id, psk_identity, serial, cert_sha256,
 * sig_scheme, group, key_alg, sig_alg, alpn, authority, cipher, crc32c,
 * cn, ssl (the container last). Only bits whose removal shrank the header
 * are reported in *in->dropped. If the addresses alone exceed max_len,
 * returns -EMSGSIZE.
 *
 * Returns the bytes written, or -ENOSPC when cap is too small (nothing
 * written then). Never a partial header, never 0.
 */
int proxyv2_encode(const struct proxyv2_in *in, uint8_t *buf, size_t cap);

/*
 * Encode the v1 line "PROXY TCP4|TCP6 src dst sport dport\r\n", or
 * "PROXY UNKNOWN\r\n" for UNSPEC and UNIX. No NUL is written. Returns the
 * bytes written (at most PROXYV1_LINE_MAX) or -ENOSPC (nothing written).
 */
int proxyv1_encode(const struct proxy_addr *addr, uint8_t *buf, size_t cap);

enum proxyv2_err {
	PROXYV2_ERR_SIGNATURE = -1, /* neither the v2 signature nor "PROXY " */
	PROXYV2_ERR_VERSION = -2,   /* v2 signature, version nibble not 2 */
	PROXYV2_ERR_COMMAND = -3,   /* command neither LOCAL nor PROXY */
	PROXYV2_ERR_FAMILY = -4,    /* family/transport byte not in the spec */
	PROXYV2_ERR_SHORT = -5,	    /* length below the family's addresses */
	PROXYV2_ERR_OVERSIZE = -6,  /* header longer than the caller's max */
	PROXYV2_ERR_TLV = -7,	    /* a TLV overruns the header */
	PROXYV2_ERR_SSL = -8,	    /* PP2_TYPE_SSL too short or its sub-TLVs
				       overrun it */
	PROXYV2_ERR_CRC = -9,	    /* CRC32C TLV not 4 bytes or mismatch */
	PROXYV1_ERR_TOO_LONG = -10, /* no CRLF within 107 bytes */
	PROXYV1_ERR_SYNTAX = -11,   /* protocol word, spaces, stray CR */
	PROXYV1_ERR_ADDR = -12,	    /* address not a TCP4/TCP6 literal */
	PROXYV1_ERR_PORT = -13,	    /* port not 0..65535 in decimal */
};

/* Static text for an enum proxyv2_err. */
const char *proxyv2_strerror(int err);

/* One TLV, a slice of the parsed buffer. */
struct proxyv2_tlv {
	uint8_t type;
	uint16_t len;
	const uint8_t *val;
};

struct proxyv2_hdr {
	int version;		/* 1 or 2 */
	bool local;		/* v2 LOCAL, or v1 UNKNOWN: ignore addr */
	uint8_t transport;	/* v2 low nibble: 0 unspec, 1 stream, 2 dgram */
	struct proxy_addr addr; /* family UNSPEC when unknown */
	const uint8_t *tlvs;	/* the raw TLV area (v2), tlvs_len bytes */
	size_t tlvs_len;
	struct proxyv2_tlv tlv[PROXYV2_TLV_CAP]; /* first ntlv top-level */
	size_t ntlv;
	bool tlv_overflow; /* more than PROXYV2_TLV_CAP: see tlvs */
	bool crc_checked;  /* a CRC32C TLV was present and matched */
	bool has_ssl;	   /* a PP2_TYPE_SSL TLV was present: */
	uint8_t ssl_client;
	uint32_t ssl_verify;
	const uint8_t *ssl_sub; /* its sub-TLVs, ssl_sub_len bytes */
	size_t ssl_sub_len;
};

/*
 * Parse a PROXY header (v2 or v1, told apart by the first byte) at the
 * start of buf. max bounds the v2 header (16 + length; 0 = 65535 + 16).
 * Checks in order: signature (as far as len allows), then with 16 bytes:
 * version, command, oversize, family (one of 0x00, 0x11, 0x12, 0x21, 0x22,
 * 0x31, 0x32, for LOCAL too, whose addresses are then skipped), length
 * against the family; with the whole header: TLVs, the SSL TLV, CRC32C.
 * v1: CRLF within 107 bytes, syntax, addresses, ports ("PROXY UNKNOWN"
 * ignores the rest of its line). *out is zeroed first; its slices point
 * into buf.
 * Returns 0 (need more), the header's length, or an enum proxyv2_err.
 */
int proxyv2_parse(
    const uint8_t *buf, size_t len, size_t max, struct proxyv2_hdr *out);

/*
 * Iterate over a TLV area (hdr->tlvs or hdr->ssl_sub): on 1, *out is the
 * next TLV and *p, *len have advanced past it; 0 at the end; -1 when a
 * TLV overruns (never after proxyv2_parse accepted the area).
 */
int proxyv2_tlv_next(const uint8_t **p, size_t *len, struct proxyv2_tlv *out);

/*
 * The first TLV of type in a parsed header: top level, or for 0x21..0x2F
 * inside PP2_TYPE_SSL. Returns true and fills *out when found.
 */
bool proxyv2_find(
    const struct proxyv2_hdr *hdr, uint8_t type, struct proxyv2_tlv *out);

enum proxyv2_profile {
	PROXYV2_PROFILE_GENERIC = 0,
	PROXYV2_PROFILE_EMQX,
	PROXYV2_PROFILE_MOSQUITTO,
	PROXYV2_PROFILE_VERNEMQ,
	PROXYV2_PROFILE_HIVEMQ,
	PROXYV2_PROFILE_COUNT
};

/* What one receiver accepts. */
struct proxyv2_profile_info {
	const char *name; /* the proxy_profile value */
	uint32_t tlvs;	  /* default proxy_tlvs */
	uint32_t allowed; /* TLVs it may be sent at all (proxy_tlvs is
			     intersected with this) */
	uint16_t max_len; /* limit on the length field, 0 = none */
	unsigned flags;	  /* PROXYV2_F_* */
};

/* The table row of p, or NULL when p is out of range. */
const struct proxyv2_profile_info *proxyv2_profile_info(enum proxyv2_profile p);

/* The default TLV set of p (0 when p is out of range). */
uint32_t proxyv2_profile_tlvs(enum proxyv2_profile p);

/*
 * Set in->tlvs, in->flags and in->max_len from profile p: tlvs is the
 * override (0 = the profile's default) within the profile's allowed set;
 * max_len is the smaller non-zero of the argument and the profile's.
 * Returns 0, or -1 when p is out of range (in unchanged).
 */
int proxyv2_in_profile(struct proxyv2_in *in, enum proxyv2_profile p,
    uint32_t tlvs, uint16_t max_len);

#endif
