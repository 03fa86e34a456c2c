/*
 * mqtt.c: the CONNECT parser, its re-encoder and the refusal CONNACK,
 * written from the MQTT 3.1, 3.1.1 and 5.0 specifications. Pure: no I/O,
 * no allocation, no logging. The parser re-reads the packet from its start
 * on every call (a CONNECT is small and arrives in few pieces), reading no
 * byte past len or past the packet's own end.
 */
#include "build_config.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "mqtt.h"
#include "text.h"

const struct mqtt_slice mqtt_keep = { NULL, 0 };

/* Internal "need more bytes" result of the readers; never returned. */
#define NEED 1

enum ptype { P_BYTE, P_U16, P_U32, P_STR, P_BIN, P_PAIR };

#define IN_CONNECT 0x01
#define IN_WILL 0x02

/* MQTT 5.0 section 2.2.2.2: properties a CONNECT or its will may hold. */
static const struct {
	uint8_t id;
	uint8_t type;
	uint8_t where;
} props[] = {
	{ 0x01, P_BYTE, IN_WILL },    /* Payload Format Indicator */
	{ 0x02, P_U32, IN_WILL },     /* Message Expiry Interval */
	{ 0x03, P_STR, IN_WILL },     /* Content Type */
	{ 0x08, P_STR, IN_WILL },     /* Response Topic */
	{ 0x09, P_BIN, IN_WILL },     /* Correlation Data */
	{ 0x11, P_U32, IN_CONNECT },  /* Session Expiry Interval */
	{ 0x15, P_STR, IN_CONNECT },  /* Authentication Method */
	{ 0x16, P_BIN, IN_CONNECT },  /* Authentication Data */
	{ 0x17, P_BYTE, IN_CONNECT }, /* Request Problem Information */
	{ 0x18, P_U32, IN_WILL },     /* Will Delay Interval */
	{ 0x19, P_BYTE, IN_CONNECT }, /* Request Response Information */
	{ 0x21, P_U16, IN_CONNECT },  /* Receive Maximum */
	{ 0x22, P_U16, IN_CONNECT },  /* Topic Alias Maximum */
	{ 0x26, P_PAIR, IN_CONNECT | IN_WILL }, /* User Property */
	{ 0x27, P_U32, IN_CONNECT },		/* Maximum Packet Size */
};

/* A reader over buf[pos..end); complete = no more bytes can come. */
struct rd {
	const uint8_t *buf;
	size_t pos, end;
	bool complete;
};

const char *
mqtt_strerror(int err)
{
	switch (err) {
	case MQTT_OK:
		return "no error";
	case MQTT_ERR_PACKET_TYPE:
		return "first packet is not a CONNECT";
	case MQTT_ERR_HEADER_FLAGS:
		return "CONNECT fixed header flags are not 0";
	case MQTT_ERR_VARINT:
		return "variable byte integer longer than 4 bytes";
	case MQTT_ERR_TOO_BIG:
		return "CONNECT larger than mqtt_max_connect";
	case MQTT_ERR_PROTO_NAME:
		return "protocol name is neither MQTT nor MQIsdp";
	case MQTT_ERR_PROTO_LEVEL:
		return "unsupported protocol level";
	case MQTT_ERR_RESERVED_FLAG:
		return "reserved connect flag set";
	case MQTT_ERR_WILL_QOS:
		return "will QoS 3";
	case MQTT_ERR_WILL_FLAGS:
		return "will QoS or retain without the will flag";
	case MQTT_ERR_PASSWORD_FLAG:
		return "password flag without the username flag";
	case MQTT_ERR_PROPERTY:
		return "property not allowed in CONNECT";
	case MQTT_ERR_PROPERTY_DUP:
		return "property given more than once";
	case MQTT_ERR_PROPERTY_VALUE:
		return "invalid property value";
	case MQTT_ERR_UTF8:
		return "ill-formed UTF-8 string";
	case MQTT_ERR_NUL:
		return "U+0000 in a UTF-8 string";
	case MQTT_ERR_WILL_TOPIC:
		return "will topic empty or with wildcards";
	case MQTT_ERR_SHORT:
		return "field runs past the end of the CONNECT";
	case MQTT_ERR_TRAILING:
		return "bytes after the last field of the CONNECT";
	}
	return "unknown MQTT error";
}

enum mqtt_reason
mqtt_err_reason(int err)
{
	switch (err) {
	case MQTT_ERR_TOO_BIG:
		return MQTT_RC_PACKET_TOO_LARGE;
	case MQTT_ERR_PROTO_NAME:
	case MQTT_ERR_PROTO_LEVEL:
		return MQTT_RC_UNSUPPORTED_VERSION;
	case MQTT_ERR_PROPERTY_DUP:
	case MQTT_ERR_PROPERTY_VALUE:
	case MQTT_ERR_PASSWORD_FLAG:
	case MQTT_ERR_WILL_TOPIC:
		return MQTT_RC_PROTOCOL_ERROR;
	}
	return MQTT_RC_MALFORMED;
}

/* 0 when n more bytes are there, else NEED or MQTT_ERR_SHORT. */
static int
need(const struct rd *r, size_t n)
{
	if (r->end - r->pos >= n)
		return 0;
	return r->complete ? MQTT_ERR_SHORT : NEED;
}

static int
rd_u8(struct rd *r, uint8_t *v)
{
	int e = need(r, 1);

	if (e == 0)
		*v = r->buf[r->pos++];
	return e;
}

static int
rd_u16(struct rd *r, uint16_t *v)
{
	int e = need(r, 2);

	if (e == 0) {
		*v = (uint16_t)(r->buf[r->pos] << 8 | r->buf[r->pos + 1]);
		r->pos += 2;
	}
	return e;
}

static int
rd_u32(struct rd *r, uint32_t *v)
{
	int e = need(r, 4);
	const uint8_t *p = r->buf + r->pos;

	if (e == 0) {
		*v = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
		     (uint32_t)p[2] << 8 | p[3];
		r->pos += 4;
	}
	return e;
}

/* MQTT 5.0 1.5.5 Variable Byte Integer, at most 4 bytes. */
static int
rd_varint(struct rd *r, uint32_t *v)
{
	uint32_t val = 0;
	uint8_t b;
	int i, e;

	for (i = 0; i < 4; i++) {
		if ((e = rd_u8(r, &b)) != 0)
			return e;
		val |= (uint32_t)(b & 0x7f) << (7 * i);
		if ((b & 0x80) == 0) {
			*v = val;
			return 0;
		}
	}
	return MQTT_ERR_VARINT;
}

/* Two-byte length and that many bytes: binary data. */
static int
rd_bin(struct rd *r, struct mqtt_slice *s)
{
	uint16_t n;
	int e;

	if ((e = rd_u16(r, &n)) != 0 || (e = need(r, n)) != 0)
		return e;
	s->p = r->buf + r->pos;
	s->len = n;
	r->pos += n;
	return 0;
}

/*
 * Well-formed UTF-8 (RFC 3629: no overlong forms, no surrogates, nothing
 * above U+10FFFF) without U+0000, as MQTT 5.0 1.5.4 and 3.1.1 1.5.3 say.
 */
static int
utf8_check(const uint8_t *p, size_t len)
{
	size_t i = 0, n;

	while (i < len) {
		if (p[i] == 0)
			return MQTT_ERR_NUL;
		if ((n = text_utf8_len(p + i, len - i)) == 0)
			return MQTT_ERR_UTF8;
		i += n;
	}
	return 0;
}

static int
rd_str(struct rd *r, struct mqtt_slice *s)
{
	int e;

	if ((e = rd_bin(r, s)) != 0)
		return e;
	return utf8_check(s->p, s->len);
}

static bool
has_wildcard(const struct mqtt_slice *s)
{
	return memchr(s->p, '+', s->len) != NULL ||
	       memchr(s->p, '#', s->len) != NULL;
}

/*
 * A property length and the properties of one set (IN_CONNECT or
 * IN_WILL), each id allowed there, well encoded, at most once (but User
 * Property) and in range. Sets *out to the bytes after the length.
 */
static int
rd_props(struct rd *r, int where, struct mqtt_slice *out)
{
	struct rd pr;
	struct mqtt_slice s, s2;
	uint64_t seen = 0;
	uint32_t plen, u32;
	uint16_t u16;
	uint8_t id, u8;
	size_t i;
	int e;

	if ((e = rd_varint(r, &plen)) != 0 || (e = need(r, plen)) != 0)
		return e;
	out->p = r->buf + r->pos;
	out->len = plen;
	pr.buf = r->buf;
	pr.pos = r->pos;
	pr.end = r->pos + plen;
	pr.complete = true;
	r->pos += plen;
	while (pr.pos < pr.end) {
		id = pr.buf[pr.pos++];
		for (i = 0; i < sizeof(props) / sizeof(props[0]); i++)
			if (props[i].id == id)
				break;
		/* ids are variable byte integers, but all defined ones < 128 */
		if (i == sizeof(props) / sizeof(props[0]) ||
		    (props[i].where & where) == 0)
			return MQTT_ERR_PROPERTY;
		if (id != 0x26 && (seen & (UINT64_C(1) << id)) != 0)
			return MQTT_ERR_PROPERTY_DUP;
		seen |= UINT64_C(1) << id;
		switch (props[i].type) {
		case P_BYTE:
			if ((e = rd_u8(&pr, &u8)) != 0)
				return e;
			/* all byte properties of CONNECT are 0 or 1 */
			if (u8 > 1)
				return MQTT_ERR_PROPERTY_VALUE;
			break;
		case P_U16:
			if ((e = rd_u16(&pr, &u16)) != 0)
				return e;
			if (id == 0x21 && u16 == 0) /* Receive Maximum */
				return MQTT_ERR_PROPERTY_VALUE;
			break;
		case P_U32:
			if ((e = rd_u32(&pr, &u32)) != 0)
				return e;
			if (id == 0x27 && u32 == 0) /* Maximum Packet Size */
				return MQTT_ERR_PROPERTY_VALUE;
			break;
		case P_STR:
			if ((e = rd_str(&pr, &s)) != 0)
				return e;
			if (id == 0x08 && (s.len == 0 || has_wildcard(&s)))
				return MQTT_ERR_PROPERTY_VALUE;
			break;
		case P_BIN:
			if ((e = rd_bin(&pr, &s)) != 0)
				return e;
			break;
		case P_PAIR:
			if ((e = rd_str(&pr, &s)) != 0 ||
			    (e = rd_str(&pr, &s2)) != 0)
				return e;
			break;
		}
	}
	/* Authentication Data without Authentication Method */
	if ((seen & (UINT64_C(1) << 0x16)) != 0 &&
	    (seen & (UINT64_C(1) << 0x15)) == 0)
		return MQTT_ERR_PROPERTY_VALUE;
	return 0;
}

/* The fixed header: *rl = Remaining Length, r->pos after it. */
static int
rd_fixed(struct rd *r, uint32_t *rl)
{
	uint8_t b;
	int e;

	if ((e = rd_u8(r, &b)) != 0)
		return e;
	if (b >> 4 != 1)
		return MQTT_ERR_PACKET_TYPE;
	if ((b & 0x0f) != 0)
		return MQTT_ERR_HEADER_FLAGS;
	return rd_varint(r, rl);
}

static int
rd_connect(struct rd *r, struct mqtt_connect *c)
{
	struct mqtt_slice name;
	uint8_t level, f;
	int e;

	if ((e = rd_bin(r, &name)) != 0)
		return e;
	if (name.len == 4 && memcmp(name.p, "MQTT", 4) == 0)
		level = 0;
	else if (name.len == 6 && memcmp(name.p, "MQIsdp", 6) == 0)
		level = MQTT_V31;
	else
		return MQTT_ERR_PROTO_NAME;
	if ((e = rd_u8(r, &f)) != 0)
		return e;
	if (level == MQTT_V31 ? f != MQTT_V31 : f != MQTT_V311 && f != MQTT_V5)
		return MQTT_ERR_PROTO_LEVEL;
	c->version = f;
	c->flags_off = r->pos;
	if ((e = rd_u8(r, &c->flags)) != 0)
		return e;
	f = c->flags;
	/* 3.1 has no reserved-bit rule; mosquitto does not check it either */
	if (c->version != MQTT_V31 && (f & MQTT_CF_RESERVED) != 0)
		return MQTT_ERR_RESERVED_FLAG;
	if ((f & MQTT_CF_WILL) == 0 &&
	    (f & (MQTT_CF_WILL_QOS | MQTT_CF_WILL_RETAIN)) != 0)
		return MQTT_ERR_WILL_FLAGS;
	if ((f & MQTT_CF_WILL_QOS) == MQTT_CF_WILL_QOS)
		return MQTT_ERR_WILL_QOS;
	if (c->version != MQTT_V5 && (f & MQTT_CF_PASSWORD) != 0 &&
	    (f & MQTT_CF_USERNAME) == 0)
		return MQTT_ERR_PASSWORD_FLAG;
	if ((e = rd_u16(r, &c->keepalive)) != 0)
		return e;
	if (c->version == MQTT_V5 &&
	    (e = rd_props(r, IN_CONNECT, &c->props)) != 0)
		return e;
	if ((e = rd_str(r, &c->client_id)) != 0)
		return e;
	if ((f & MQTT_CF_WILL) != 0) {
		if (c->version == MQTT_V5 &&
		    (e = rd_props(r, IN_WILL, &c->will_props)) != 0)
			return e;
		if ((e = rd_str(r, &c->will_topic)) != 0)
			return e;
		if (c->will_topic.len == 0 || has_wildcard(&c->will_topic))
			return MQTT_ERR_WILL_TOPIC;
		if ((e = rd_bin(r, &c->will_payload)) != 0)
			return e;
	}
	c->auth_off = r->pos;
	if ((f & MQTT_CF_USERNAME) != 0 && (e = rd_str(r, &c->username)) != 0)
		return e;
	if ((f & MQTT_CF_PASSWORD) != 0 && (e = rd_bin(r, &c->password)) != 0)
		return e;
	if (!r->complete)
		return NEED;
	return r->pos == r->end ? 0 : MQTT_ERR_TRAILING;
}

int
mqtt_connect_total(const uint8_t *buf, size_t len, size_t max)
{
	struct rd r = { buf, 0, len, false };
	uint32_t rl;
	size_t total;
	int e;

	if ((e = rd_fixed(&r, &rl)) != 0)
		return e == NEED ? 0 : e;
	total = r.pos + rl;
	if (total > max)
		return MQTT_ERR_TOO_BIG;
	return (int)total;
}

int
mqtt_connect_parse(
    const uint8_t *buf, size_t len, size_t max, struct mqtt_connect *out)
{
	struct rd r = { buf, 0, len, false };
	uint32_t rl;
	size_t total;
	int e;

	memset(out, 0, sizeof(*out));
	if ((e = rd_fixed(&r, &rl)) != 0)
		return e == NEED ? 0 : e;
	total = r.pos + rl;
	if (total > max) {
		struct mqtt_slice name;
		uint8_t lv;

		/* Learn the level if it is there, so that an MQTT 5 client
		 * can be told 0x95 Packet too large. */
		if (rd_bin(&r, &name) == 0 && rd_u8(&r, &lv) == 0 &&
		    ((name.len == 4 && memcmp(name.p, "MQTT", 4) == 0 &&
			 (lv == MQTT_V311 || lv == MQTT_V5)) ||
			(name.len == 6 && memcmp(name.p, "MQIsdp", 6) == 0 &&
			    lv == MQTT_V31)))
			out->version = lv;
		return MQTT_ERR_TOO_BIG;
	}
	out->pkt = buf;
	out->pkt_len = total;
	out->hdr_len = r.pos;
	/* parse what is there, so errors show before the packet is whole */
	if (len >= total) {
		r.end = total;
		r.complete = true;
	}
	if ((e = rd_connect(&r, out)) != 0)
		return e == NEED ? 0 : e;
	return (int)total;
}

static size_t
varint_len(size_t v)
{
	return v < 128 ? 1 : v < 16384 ? 2 : v < 2097152 ? 3 : 4;
}

/* The field to write for one of username/password, or NULL for none. */
static const struct mqtt_slice *
pick(const struct mqtt_slice *want, const struct mqtt_slice *orig, bool had)
{
	if (want == &mqtt_keep)
		return had ? orig : NULL;
	return want;
}

int
mqtt_connect_encoded_len(const struct mqtt_connect *c,
    const struct mqtt_slice *username, const struct mqtt_slice *password)
{
	const struct mqtt_slice *u, *p;
	size_t rl;

	u = pick(username, &c->username, (c->flags & MQTT_CF_USERNAME) != 0);
	p = pick(password, &c->password, (c->flags & MQTT_CF_PASSWORD) != 0);
	rl = c->auth_off - c->hdr_len;
	if (u != NULL) {
		if (u->len > MQTT_STR_MAX || (u->len > 0 && u->p == NULL) ||
		    (u->len > 0 && utf8_check(u->p, u->len) != 0))
			return -EINVAL;
		rl += 2 + u->len;
	}
	if (p != NULL) {
		if (p->len > MQTT_STR_MAX || (p->len > 0 && p->p == NULL))
			return -EINVAL;
		if (u == NULL && c->version != MQTT_V5)
			return -EINVAL;
		rl += 2 + p->len;
	}
	if (rl > MQTT_REMAINING_MAX)
		return -EINVAL;
	return (int)(1 + varint_len(rl) + rl);
}

static uint8_t *
put_field(uint8_t *o, const struct mqtt_slice *s)
{
	*o++ = (uint8_t)(s->len >> 8);
	*o++ = (uint8_t)s->len;
	if (s->len > 0)
		memcpy(o, s->p, s->len);
	return o + s->len;
}

int
mqtt_connect_encode(const struct mqtt_connect *c,
    const struct mqtt_slice *username, const struct mqtt_slice *password,
    uint8_t *buf, size_t cap)
{
	const struct mqtt_slice *u, *p;
	size_t rl, mid;
	uint8_t *o = buf, f;
	int n;

	if ((n = mqtt_connect_encoded_len(c, username, password)) < 0)
		return n;
	if ((size_t)n > cap)
		return -ENOSPC;
	u = pick(username, &c->username, (c->flags & MQTT_CF_USERNAME) != 0);
	p = pick(password, &c->password, (c->flags & MQTT_CF_PASSWORD) != 0);
	rl = c->auth_off - c->hdr_len + (u ? 2 + u->len : 0) +
	     (p ? 2 + p->len : 0);
	*o++ = c->pkt[0];
	do {
		*o = (uint8_t)(rl & 0x7f);
		rl >>= 7;
		if (rl > 0)
			*o |= 0x80;
		o++;
	} while (rl > 0);
	mid = c->flags_off - c->hdr_len;
	memcpy(o, c->pkt + c->hdr_len, mid);
	o += mid;
	f = (uint8_t)(c->flags & ~(MQTT_CF_USERNAME | MQTT_CF_PASSWORD));
	if (u != NULL)
		f |= MQTT_CF_USERNAME;
	if (p != NULL)
		f |= MQTT_CF_PASSWORD;
	*o++ = f;
	mid = c->auth_off - c->flags_off - 1;
	memcpy(o, c->pkt + c->flags_off + 1, mid);
	o += mid;
	if (u != NULL)
		o = put_field(o, u);
	if (p != NULL)
		o = put_field(o, p);
	return (int)(o - buf);
}

enum mqtt_tail
mqtt_stream_tail(const uint8_t *buf, size_t len, bool first_is_connect)
{
	struct rd r = { buf, 0, len, false };
	uint32_t rl;
	uint8_t type = 0;
	int e;

	while (r.pos < r.end) {
		type = buf[r.pos++] >> 4;
		if (type == 0 || (first_is_connect && type != 1))
			return MQTT_TAIL_NOT_MQTT;
		first_is_connect = false;
		if ((e = rd_varint(&r, &rl)) == NEED)
			return MQTT_TAIL_OPEN;
		if (e != 0)
			return MQTT_TAIL_NOT_MQTT;
		if (rl > r.end - r.pos)
			return MQTT_TAIL_OPEN;
		r.pos += rl;
	}
	return type == 14 ? MQTT_TAIL_DISCONNECT : MQTT_TAIL_OPEN;
}

int
mqtt_connack_encode(int version, uint8_t reason, uint8_t *buf, size_t cap)
{
	static const uint8_t v5[] = { 0x00, 0x80, 0x81, 0x82, 0x83, 0x84, 0x85,
		0x86, 0x87, 0x88, 0x89, 0x8a, 0x8c, 0x90, 0x95, 0x97, 0x99,
		0x9a, 0x9b, 0x9c, 0x9d, 0x9f };
	/* MQTT 3.1.1 3.2.2.3 return codes 0..5, as MQTT 5 reason codes */
	static const uint8_t v3[] = { 0x00, 0x84, 0x85, 0x88, 0x86, 0x87 };
	size_t i;

	if (version == MQTT_V5) {
		if (memchr(v5, reason, sizeof(v5)) == NULL)
			return -EINVAL;
		if (cap < 5)
			return -ENOSPC;
		buf[0] = 0x20;
		buf[1] = 3;
		buf[2] = 0; /* session present */
		buf[3] = reason;
		buf[4] = 0; /* property length */
		return 5;
	}
	if (version != MQTT_V31 && version != MQTT_V311)
		return -EINVAL;
	for (i = 0; i < sizeof(v3); i++)
		if (v3[i] == reason)
			break;
	if (i == sizeof(v3))
		return -EINVAL;
	if (cap < 4)
		return -ENOSPC;
	buf[0] = 0x20;
	buf[1] = 2;
	buf[2] = 0;
	buf[3] = (uint8_t)i;
	return 4;
}
