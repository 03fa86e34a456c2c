/*
 * mqtt: the MQTT codec mqgate needs to look at a client's first packet: an
 * incremental CONNECT parser for MQTT 3.1, 3.1.1 and 5.0, a re-encoder that
 * replaces or removes the username and password and keeps every other byte,
 * and the CONNACK a refusal sends. Pure: bytes in, bytes and slices out; no
 * I/O, no allocation, no logging. The glue (conn.c) owns the buffers.
 */
#ifndef MQGATE_MQTT_H
#define MQGATE_MQTT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MQTT_V31 3  /* protocol level of MQTT 3.1 ("MQIsdp") */
#define MQTT_V311 4 /* MQTT 3.1.1 ("MQTT") */
#define MQTT_V5 5   /* MQTT 5.0 ("MQTT") */

#define MQTT_STR_MAX 65535	     /* a UTF-8 string or binary field */
#define MQTT_REMAINING_MAX 268435455 /* largest Remaining Length */

/* Connect flags (MQTT 3.1.1 3.1.2.3, MQTT 5.0 3.1.2.3). */
#define MQTT_CF_RESERVED 0x01
#define MQTT_CF_CLEAN 0x02
#define MQTT_CF_WILL 0x04
#define MQTT_CF_WILL_QOS 0x18 /* two bits */
#define MQTT_CF_WILL_RETAIN 0x20
#define MQTT_CF_PASSWORD 0x40
#define MQTT_CF_USERNAME 0x80

/* MQTT 5 CONNACK reason codes a proxy sends (MQTT 5.0 3.2.2.2). */
enum mqtt_reason {
	MQTT_RC_SUCCESS = 0x00,
	MQTT_RC_UNSPECIFIED = 0x80,
	MQTT_RC_MALFORMED = 0x81,
	MQTT_RC_PROTOCOL_ERROR = 0x82,
	MQTT_RC_UNSUPPORTED_VERSION = 0x84,
	MQTT_RC_CLIENT_ID = 0x85, /* Client Identifier not valid */
	MQTT_RC_BAD_USER_PASS = 0x86,
	MQTT_RC_NOT_AUTHORIZED = 0x87,
	MQTT_RC_SERVER_UNAVAILABLE = 0x88,
	MQTT_RC_PACKET_TOO_LARGE = 0x95,
};

enum mqtt_err {
	MQTT_OK = 0,
	MQTT_ERR_PACKET_TYPE = -1,     /* first packet is not a CONNECT */
	MQTT_ERR_HEADER_FLAGS = -2,    /* fixed header flags other than 0 */
	MQTT_ERR_VARINT = -3,	       /* variable byte integer > 4 bytes */
	MQTT_ERR_TOO_BIG = -4,	       /* packet larger than max */
	MQTT_ERR_PROTO_NAME = -5,      /* neither "MQTT" nor "MQIsdp" */
	MQTT_ERR_PROTO_LEVEL = -6,     /* level not 3 (MQIsdp) or 4, 5 (MQTT) */
	MQTT_ERR_RESERVED_FLAG = -7,   /* connect flag bit 0 set */
	MQTT_ERR_WILL_QOS = -8,	       /* will QoS 3 */
	MQTT_ERR_WILL_FLAGS = -9,      /* will QoS/retain without will flag */
	MQTT_ERR_PASSWORD_FLAG = -10,  /* password without username (< 5) */
	MQTT_ERR_PROPERTY = -11,       /* property id unknown or not allowed */
	MQTT_ERR_PROPERTY_DUP = -12,   /* property given twice */
	MQTT_ERR_PROPERTY_VALUE = -13, /* property value out of range */
	MQTT_ERR_UTF8 = -14,	       /* ill-formed UTF-8 string */
	MQTT_ERR_NUL = -15,	       /* U+0000 in a UTF-8 string */
	MQTT_ERR_WILL_TOPIC = -16,     /* empty will topic or wildcards */
	MQTT_ERR_SHORT = -17,	       /* a field runs past the packet end */
	MQTT_ERR_TRAILING = -18,       /* bytes left after the last field */
};

/* Static text for an enum mqtt_err. */
const char *mqtt_strerror(int err);

/*
 * The MQTT 5 CONNACK reason code for a parse error (0x81 Malformed Packet,
 * 0x82 Protocol Error, 0x84 Unsupported Protocol Version or 0x95 Packet
 * too large), as MQTT 5.0 section 4.13 classifies it.
 */
enum mqtt_reason mqtt_err_reason(int err);

/* A borrowed byte range; p is NULL when the field is absent. */
struct mqtt_slice {
	const uint8_t *p;
	size_t len;
};

/*
 * A parsed CONNECT. Every slice and pkt point into the buffer given to
 * mqtt_connect_parse and are valid as long as it is. String slices hold
 * the bytes after the two-byte length; props and will_props the bytes
 * after the property length.
 */
struct mqtt_connect {
	const uint8_t *pkt;	 /* the whole packet */
	size_t pkt_len;		 /* fixed header + Remaining Length */
	size_t hdr_len;		 /* fixed header: 2..5 bytes */
	int version;		 /* MQTT_V31, MQTT_V311, MQTT_V5; 0 = not known
				    yet (set as soon as parsed, also on error) */
	uint8_t flags;		 /* connect flags, MQTT_CF_* */
	uint16_t keepalive;	 /* seconds */
	struct mqtt_slice props; /* MQTT 5 CONNECT properties */
	struct mqtt_slice client_id;	/* may be empty, any length */
	struct mqtt_slice will_props;	/* MQTT 5, with MQTT_CF_WILL */
	struct mqtt_slice will_topic;	/* with MQTT_CF_WILL */
	struct mqtt_slice will_payload; /* with MQTT_CF_WILL */
	struct mqtt_slice username;	/* with MQTT_CF_USERNAME */
	struct mqtt_slice password;	/* with MQTT_CF_PASSWORD */
	/* for re-encoding: offsets into pkt */
	size_t flags_off; /* the connect flags byte */
	size_t auth_off;  /* where the username (or password, or the end of
			     the packet) starts */
};

/*
 * Parse the CONNECT at the start of buf (len bytes; the stream may go on
 * after it). max bounds the whole packet: MQTT_ERR_TOO_BIG as soon as the
 * Remaining Length says it is bigger. Errors are reported as soon as the
 * bytes showing them have arrived, so a prefix may already fail.
 * Returns 0 when more bytes are needed, the packet's length (> 0) once it
 * is complete and valid (*out filled in), or a negative enum mqtt_err
 * (out->version set if parsing got that far, for the refusal's CONNACK;
 * for MQTT_ERR_TOO_BIG, if the protocol name and level are in buf).
 * A non-minimal Remaining Length is accepted (mqtt_connect_encode writes
 * the minimal one). Semantic checks (an empty client id with clean session
 * off in 3.1.1, 3.1's 23-character limit) are the caller's: see client_id.
 */
int mqtt_connect_parse(
    const uint8_t *buf, size_t len, size_t max, struct mqtt_connect *out);

/*
 * The whole length of the CONNECT at the start of buf, from its fixed
 * header alone: 0 when the header is not complete yet, the length (fixed
 * header included) when it is, or MQTT_ERR_PACKET_TYPE, _HEADER_FLAGS,
 * _VARINT or _TOO_BIG (over max), as mqtt_connect_parse would report.
 */
int mqtt_connect_total(const uint8_t *buf, size_t len, size_t max);

/* Pass &mqtt_keep to mqtt_connect_encode to keep a field as it was. */
extern const struct mqtt_slice mqtt_keep;

/*
 * The length of c re-encoded with username and password each either
 * &mqtt_keep (as parsed, present or absent), NULL (removed) or a new value
 * (p may be NULL only when len is 0; a username must be UTF-8 without
 * U+0000). Returns the length or -EINVAL when a value is longer than
 * MQTT_STR_MAX, a username is not valid UTF-8, MQTT 3.1/3.1.1 would get a
 * password without a username, or the packet would be too long.
 */
int mqtt_connect_encoded_len(const struct mqtt_connect *c,
    const struct mqtt_slice *username, const struct mqtt_slice *password);

/*
 * Write c (from a successful mqtt_connect_parse; its buffer still alive)
 * to buf with username and password replaced, kept or removed as in
 * mqtt_connect_encoded_len, the username/password connect flags and the
 * Remaining Length (minimal encoding) fixed, every other byte unchanged.
 * buf must not overlap c->pkt. Returns the bytes written, -ENOSPC when
 * cap is too small (nothing written), or -EINVAL as above.
 */
int mqtt_connect_encode(const struct mqtt_connect *c,
    const struct mqtt_slice *username, const struct mqtt_slice *password,
    uint8_t *buf, size_t cap);

/* What a client's stream holds, for a client that ended it early. */
enum mqtt_tail {
	MQTT_TAIL_OPEN,	      /* nothing, packets not ending with DISCONNECT,
				 or a packet cut short */
	MQTT_TAIL_DISCONNECT, /* whole packets, the last a DISCONNECT */
	MQTT_TAIL_NOT_MQTT,   /* a fixed header no MQTT packet has */
};

/*
 * Walk the packets at the start of buf by their fixed headers alone (type
 * and Remaining Length; bodies are not looked at). A fixed header with the
 * reserved type 0, or a Remaining Length over 4 bytes, is NOT_MQTT; so is
 * a first packet other than CONNECT when first_is_connect.
 */
enum mqtt_tail mqtt_stream_tail(const uint8_t *buf, size_t len,
    bool first_is_connect);

/*
 * Write a CONNACK refusing (or accepting) a client of protocol level
 * version. reason is an enum mqtt_reason: MQTT 5 gets it with session
 * present 0 and no properties (5 bytes); 3.1 and 3.1.1 get the matching
 * return code (4 bytes): 0x84 -> 1, 0x85 -> 2, 0x88 -> 3, 0x86 -> 4,
 * 0x87 -> 5, 0 -> 0. Returns the bytes written, -ENOSPC (nothing
 * written), or -EINVAL for an unknown version or a reason that is no
 * CONNACK reason code of that version (e.g. 0x81 for 3.1.1, which just
 * closes the connection).
 */
int mqtt_connack_encode(int version, uint8_t reason, uint8_t *buf, size_t cap);

#endif
