/*
 * check_mqtt.c: unit tests for mqtt.c: valid CONNECTs of MQTT 3.1, 3.1.1
 * and 5.0 (hand-written bytes, as mosquitto_pub sends them), every prefix
 * of each, every malformed case and every enum mqtt_err, the re-encoder's
 * round trip, replacement, removal and -ENOSPC, and the CONNACKs.
 */
#include "build_config.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "compat.h"
#include "mqtt.h"
#include "unit.h"

Suite *mqtt_suite(void);

#define B(s) (const uint8_t *)(s), sizeof(s) - 1
#define MAX 65536

/* Complete packets, fixed header included. */
static const struct {
	const char *name;
	const uint8_t *b;
	size_t len;
	int version;
	uint8_t flags;
	uint16_t keepalive;
	const char *cid, *user, *pass, *wtopic;
	size_t props_len, wprops_len;
} ok_vec[] = {
	{ "3.1.1 minimal",
	    B("\x10\x0f\x00\x04MQTT\x04\x02\x00\x3c\x00\x03"
	      "cid"),
	    4, 0x02, 60, "cid", NULL, NULL, NULL, 0, 0 },
	{ "3.1 minimal",
	    B("\x10\x11\x00\x06MQIsdp\x03\x02\x00\x3c\x00\x03"
	      "cid"),
	    3, 0x02, 60, "cid", NULL, NULL, NULL, 0, 0 },
	{ "3.1 reserved bit (not checked)",
	    B("\x10\x11\x00\x06MQIsdp\x03\x03\x00\x3c\x00\x03"
	      "cid"),
	    3, 0x03, 60, "cid", NULL, NULL, NULL, 0, 0 },
	{ "3.1.1 will user pass",
	    B("\x10\x24\x00\x04MQTT\x04\xee\x00\x3c\x00\x03"
	      "cid\x00\x03t/w\x00\x04"
	      "bye!\x00\x04user\x00\x02pw"),
	    4, 0xee, 60, "cid", "user", "pw", "t/w", 0, 0 },
	{ "3.1 user pass",
	    B("\x10\x15\x00\x06MQIsdp\x03\xc2\x00\x0a\x00\x01"
	      "a\x00\x01u\x00\x01p"),
	    3, 0xc2, 10, "a", "u", "p", NULL, 0, 0 },
	{ "3.1.1 empty client id, user only",
	    B("\x10\x13\x00\x04MQTT\x04\x82\x00\x00\x00\x00\x00\x05"
	      "alice"),
	    4, 0x82, 0, "", "alice", NULL, NULL, 0, 0 },
	{ "5.0 minimal",
	    B("\x10\x10\x00\x04MQTT\x05\x02\x00\x3c\x00\x00\x03"
	      "cid"),
	    5, 0x02, 60, "cid", NULL, NULL, NULL, 0, 0 },
	{ "5.0 properties will user pass",
	    B("\x10\x43\x00\x04MQTT\x05\xd6\x00\x3c"
	      "\x0f\x11\x00\x00\x0e\x10\x21\x00\x14\x26\x00\x01k\x00\x01v"
	      "\x00\x03"
	      "cid"
	      "\x15\x18\x00\x00\x00\x05\x01\x01\x03\x00\x04text"
	      "\x26\x00\x01"
	      "a\x00\x01"
	      "b"
	      "\x00\x01t\x00\x00"
	      "\x00\x03u\xc3\xa9"
	      "\x00\x02\x00\xff"),
	    5, 0xd6, 60, "cid", "u\xc3\xa9", "\x00\xff", "t", 15, 21 },
	{ "5.0 password without username",
	    B("\x10\x10\x00\x04MQTT\x05\x42\x00\x3c\x00\x00\x00\x00\x01x"), 5,
	    0x42, 60, "", NULL, "x", NULL, 0, 0 },
	{ "5.0 auth method and data, user properties twice",
	    B("\x10\x27\x00\x04MQTT\x05\x00\xff\xff"
	      "\x19\x15\x00\x05PLAIN\x16\x00\x02\x01\x02"
	      "\x26\x00\x01k\x00\x00\x26\x00\x01k\x00\x00"
	      "\x00\x01"
	      "c"),
	    5, 0x00, 65535, "c", NULL, NULL, NULL, 25, 0 },
	{ "5.0 every CONNECT property",
	    B("\x10\x29\x00\x04MQTT\x05\x02\x00\x3c"
	      "\x1b\x11\x00\x00\x00\x00\x17\x01\x19\x00\x21\xff\xff"
	      "\x22\x00\x0a\x27\x00\x00\x10\x00\x15\x00\x01m\x16\x00\x00"
	      "\x00\x01"
	      "c"),
	    5, 0x02, 60, "c", NULL, NULL, NULL, 27, 0 },
	{ "5.0 every will property",
	    B("\x10\x3a\x00\x04MQTT\x05\x06\x00\x3c\x00\x00\x00"
	      "\x26\x01\x00\x02\x00\x00\x00\x3c\x03\x00\x00"
	      "\x08\x00\x05reply\x09\x00\x03\x01\x02\x03"
	      "\x18\x00\x00\x00\x00\x26\x00\x01k\x00\x03\xe2\x82\xac"
	      "\x00\x01t\x00\x01p"),
	    5, 0x06, 60, "", NULL, NULL, "t", 0, 38 },
};

static uint8_t *
exact_copy(const uint8_t *b, size_t len)
{
	uint8_t *p = malloc(len > 0 ? len : 1);

	ck_assert_ptr_nonnull(p);
	if (len > 0)
		memcpy(p, b, len);
	return p;
}

static void
assert_slice(struct mqtt_slice s, const char *want, size_t wlen)
{
	if (want == NULL) {
		ck_assert_ptr_null(s.p);
		ck_assert_uint_eq(s.len, 0);
		return;
	}
	ck_assert_ptr_nonnull(s.p);
	ck_assert_uint_eq(s.len, wlen);
	ck_assert_mem_eq(s.p, want, wlen);
}

/* Password bytes may hold NUL: their length comes from the packet. */
static size_t
pass_len(int i)
{
	return ok_vec[i].pass == NULL	   ? 0
	       : ok_vec[i].pass[0] == '\0' ? 2
					   : strlen(ok_vec[i].pass);
}

START_TEST(test_ok)
{
	struct mqtt_connect c;
	size_t len = ok_vec[_i].len;
	uint8_t *b = exact_copy(ok_vec[_i].b, len);
	int n;

	n = mqtt_connect_parse(b, len, MAX, &c);
	ck_assert_msg(n == (int)len, "%s: %d (%s)", ok_vec[_i].name, n,
	    n < 0 ? mqtt_strerror(n) : "");
	ck_assert_ptr_eq(c.pkt, b);
	ck_assert_uint_eq(c.pkt_len, len);
	ck_assert_uint_eq(c.hdr_len, 2);
	ck_assert_int_eq(c.version, ok_vec[_i].version);
	ck_assert_uint_eq(c.flags, ok_vec[_i].flags);
	ck_assert_uint_eq(c.keepalive, ok_vec[_i].keepalive);
	assert_slice(c.client_id, ok_vec[_i].cid, strlen(ok_vec[_i].cid));
	assert_slice(c.username, ok_vec[_i].user,
	    ok_vec[_i].user ? strlen(ok_vec[_i].user) : 0);
	assert_slice(c.password, ok_vec[_i].pass, pass_len(_i));
	assert_slice(c.will_topic, ok_vec[_i].wtopic,
	    ok_vec[_i].wtopic ? strlen(ok_vec[_i].wtopic) : 0);
	ck_assert_uint_eq(c.props.len, ok_vec[_i].props_len);
	ck_assert_uint_eq(c.will_props.len, ok_vec[_i].wprops_len);
	ck_assert_int_eq(c.props.p != NULL, ok_vec[_i].version == 5);
	ck_assert_int_eq(c.will_payload.p != NULL, ok_vec[_i].wtopic != NULL);
	ck_assert_uint_eq(b[c.flags_off], c.flags);
	/* the same with max exactly the size, and one less */
	ck_assert_int_eq(mqtt_connect_parse(b, len, len, &c), (int)len);
	ck_assert_int_eq(
	    mqtt_connect_parse(b, len, len - 1, &c), MQTT_ERR_TOO_BIG);
	/* too big, but the level is known: MQTT 5 hears 0x95 */
	ck_assert_int_eq(c.version, ok_vec[_i].version);
	free(b);
}
END_TEST

/* The fixed header alone gives the length, or the early errors. */
START_TEST(test_total)
{
	static const uint8_t c311[] = { 0x10, 0x0c, 0x00, 0x04, 'M', 'Q', 'T',
		'T', 0x04, 0x02, 0x00, 0x3c, 0x00, 0x00 };
	static const uint8_t big[] = { 0x10, 0xff, 0xff, 0x03 };
	static const uint8_t v5[] = { 0x10, 0x80, 0x80, 0x80, 0x80, 0x01 };

	ck_assert_int_eq(mqtt_connect_total(c311, 0, 100), 0);
	ck_assert_int_eq(mqtt_connect_total(c311, 1, 100), 0);
	ck_assert_int_eq(mqtt_connect_total(c311, 2, 100), 14);
	ck_assert_int_eq(mqtt_connect_total(c311, sizeof(c311), 100), 14);
	ck_assert_int_eq(mqtt_connect_total(c311, 2, 14), 14);
	ck_assert_int_eq(mqtt_connect_total(c311, 2, 13), MQTT_ERR_TOO_BIG);
	ck_assert_int_eq(mqtt_connect_total(big, 3, 100000), 0);
	ck_assert_int_eq(mqtt_connect_total(big, 4, 100000), 65535 + 4);
	ck_assert_int_eq(mqtt_connect_total(big, 4, 65538), MQTT_ERR_TOO_BIG);
	ck_assert_int_eq(mqtt_connect_total(v5, sizeof(v5), 1000),
	    MQTT_ERR_VARINT);
	ck_assert_int_eq(mqtt_connect_total((const uint8_t *)"\x30\x00", 2,
			     100),
	    MQTT_ERR_PACKET_TYPE);
	ck_assert_int_eq(mqtt_connect_total((const uint8_t *)"\x12\x00", 2,
			     100),
	    MQTT_ERR_HEADER_FLAGS);
}
END_TEST

/* Every prefix needs more; the packet followed by more stream parses. */
START_TEST(test_prefix)
{
	struct mqtt_connect c;
	size_t len = ok_vec[_i].len, k;
	uint8_t *b, *more;

	for (k = 0; k < len; k++) {
		b = exact_copy(ok_vec[_i].b, k);
		ck_assert_msg(mqtt_connect_parse(b, k, MAX, &c) == 0,
		    "%s: prefix %zu", ok_vec[_i].name, k);
		free(b);
	}
	more = malloc(len + 2);
	ck_assert_ptr_nonnull(more);
	memcpy(more, ok_vec[_i].b, len);
	more[len] = 0xc0; /* PINGREQ */
	more[len + 1] = 0x00;
	ck_assert_int_eq(mqtt_connect_parse(more, len + 2, MAX, &c), (int)len);
	free(more);
}
END_TEST

/*
 * Truncated at every point: the body cut to k bytes with the Remaining
 * Length saying k. Every field is required by the flags, so all fail.
 */
START_TEST(test_truncated)
{
	struct mqtt_connect c;
	const uint8_t *body = ok_vec[_i].b + 2;
	size_t blen = ok_vec[_i].len - 2, k;
	uint8_t *b;
	int n;

	for (k = 0; k < blen; k++) {
		b = malloc(k + 2);
		ck_assert_ptr_nonnull(b);
		b[0] = 0x10;
		b[1] = (uint8_t)k;
		memcpy(b + 2, body, k);
		n = mqtt_connect_parse(b, k + 2, MAX, &c);
		ck_assert_msg(n == MQTT_ERR_SHORT, "%s: cut at %zu: %d",
		    ok_vec[_i].name, k, n);
		free(b);
	}
}
END_TEST

/*
 * Malformed packets. raw: the bytes as they are; otherwise the body, to
 * which the test prepends 0x10 and the Remaining Length.
 */
static const struct {
	const char *name;
	const uint8_t *b;
	size_t len;
	bool raw;
	int err;
	int version;
} bad_vec[] = {
	{ "CONNACK", B("\x20\x02\x00\x00"), true, MQTT_ERR_PACKET_TYPE, 0 },
	{ "PUBLISH", B("\x30\x00"), true, MQTT_ERR_PACKET_TYPE, 0 },
	{ "type 0", B("\x00"), true, MQTT_ERR_PACKET_TYPE, 0 },
	{ "type 15", B("\xf0"), true, MQTT_ERR_PACKET_TYPE, 0 },
	{ "flags 2", B("\x12\x00"), true, MQTT_ERR_HEADER_FLAGS, 0 },
	{ "flags 1", B("\x11"), true, MQTT_ERR_HEADER_FLAGS, 0 },
	{ "flags 8", B("\x18\x0f"), true, MQTT_ERR_HEADER_FLAGS, 0 },
	{ "remaining length 5 bytes", B("\x10\xff\xff\xff\xff\x01"), true,
	    MQTT_ERR_VARINT, 0 },
	{ "remaining length 5 bytes, 0", B("\x10\x80\x80\x80\x80\x00"), true,
	    MQTT_ERR_VARINT, 0 },
	{ "remaining length max", B("\x10\xff\xff\xff\x7f"), true,
	    MQTT_ERR_TOO_BIG, 0 },
	{ "remaining length 65535", B("\x10\xff\xff\x03"), true,
	    MQTT_ERR_TOO_BIG, 0 },
	{ "name MQTX", B("\x00\x04MQTX\x04\x02\x00\x00\x00\x00"), false,
	    MQTT_ERR_PROTO_NAME, 0 },
	{ "name mqtt", B("\x00\x04mqtt\x04\x02\x00\x00\x00\x00"), false,
	    MQTT_ERR_PROTO_NAME, 0 },
	{ "name MQT", B("\x00\x03MQT\x04\x02\x00\x00\x00\x00"), false,
	    MQTT_ERR_PROTO_NAME, 0 },
	{ "name MQTTxx", B("\x00\x06MQTTxx\x04\x02\x00\x00\x00\x00"), false,
	    MQTT_ERR_PROTO_NAME, 0 },
	{ "name empty", B("\x00\x00\x04\x02\x00\x00\x00\x00"), false,
	    MQTT_ERR_PROTO_NAME, 0 },
	{ "MQTT level 3", B("\x00\x04MQTT\x03\x02\x00\x00\x00\x00"), false,
	    MQTT_ERR_PROTO_LEVEL, 0 },
	{ "MQTT level 6", B("\x00\x04MQTT\x06\x02\x00\x00\x00\x00"), false,
	    MQTT_ERR_PROTO_LEVEL, 0 },
	{ "MQTT level 0", B("\x00\x04MQTT\x00\x02\x00\x00\x00\x00"), false,
	    MQTT_ERR_PROTO_LEVEL, 0 },
	{ "MQIsdp level 4", B("\x00\x06MQIsdp\x04\x02\x00\x00\x00\x00"), false,
	    MQTT_ERR_PROTO_LEVEL, 0 },
	{ "reserved 3.1.1", B("\x00\x04MQTT\x04\x03\x00\x00\x00\x00"), false,
	    MQTT_ERR_RESERVED_FLAG, 4 },
	{ "reserved 5", B("\x00\x04MQTT\x05\x01\x00\x00\x00\x00\x00"), false,
	    MQTT_ERR_RESERVED_FLAG, 5 },
	{ "will QoS 3", B("\x00\x04MQTT\x04\x1e\x00\x00\x00\x00"), false,
	    MQTT_ERR_WILL_QOS, 4 },
	{ "will QoS 3 (3.1)", B("\x00\x06MQIsdp\x03\x1c\x00\x00\x00\x00"),
	    false, MQTT_ERR_WILL_QOS, 3 },
	{ "will retain without will", B("\x00\x04MQTT\x04\x22\x00\x00\x00\x00"),
	    false, MQTT_ERR_WILL_FLAGS, 4 },
	{ "will QoS 1 without will", B("\x00\x04MQTT\x05\x08\x00\x00\x00"),
	    false, MQTT_ERR_WILL_FLAGS, 5 },
	{ "will QoS 3 without will", B("\x00\x04MQTT\x04\x18\x00\x00"), false,
	    MQTT_ERR_WILL_FLAGS, 4 },
	{ "password without username 3.1.1",
	    B("\x00\x04MQTT\x04\x42\x00\x00\x00\x00\x00\x00"), false,
	    MQTT_ERR_PASSWORD_FLAG, 4 },
	{ "password without username 3.1",
	    B("\x00\x06MQIsdp\x03\x40\x00\x00\x00\x00\x00\x00"), false,
	    MQTT_ERR_PASSWORD_FLAG, 3 },
	{ "property 0x12 assigned client id",
	    B("\x00\x04MQTT\x05\x02\x00\x00\x04\x12\x00\x01x\x00\x00"), false,
	    MQTT_ERR_PROPERTY, 5 },
	{ "will property in CONNECT",
	    B("\x00\x04MQTT\x05\x02\x00\x00\x02\x01\x00\x00\x00"), false,
	    MQTT_ERR_PROPERTY, 5 },
	{ "CONNECT property in will",
	    B("\x00\x04MQTT\x05\x06\x00\x00\x00\x00\x00"
	      "\x05\x11\x00\x00\x00\x00\x00\x01t\x00\x00"),
	    false, MQTT_ERR_PROPERTY, 5 },
	{ "property 0", B("\x00\x04MQTT\x05\x02\x00\x00\x01\x00\x00\x00"),
	    false, MQTT_ERR_PROPERTY, 5 },
	{ "property id two bytes",
	    B("\x00\x04MQTT\x05\x02\x00\x00\x02\x91\x00\x00\x00"), false,
	    MQTT_ERR_PROPERTY, 5 },
	{ "session expiry twice",
	    B("\x00\x04MQTT\x05\x02\x00\x00\x0a\x11\x00\x00\x00\x01"
	      "\x11\x00\x00\x00\x01\x00\x00"),
	    false, MQTT_ERR_PROPERTY_DUP, 5 },
	{ "auth method twice",
	    B("\x00\x04MQTT\x05\x02\x00\x00\x08\x15\x00\x01m\x15\x00\x01m"
	      "\x00\x00"),
	    false, MQTT_ERR_PROPERTY_DUP, 5 },
	{ "will delay twice",
	    B("\x00\x04MQTT\x05\x06\x00\x00\x00\x00\x00"
	      "\x0a\x18\x00\x00\x00\x01\x18\x00\x00\x00\x01\x00\x01t\x00\x00"),
	    false, MQTT_ERR_PROPERTY_DUP, 5 },
	{ "receive maximum 0",
	    B("\x00\x04MQTT\x05\x02\x00\x00\x03\x21\x00\x00\x00\x00"), false,
	    MQTT_ERR_PROPERTY_VALUE, 5 },
	{ "maximum packet size 0",
	    B("\x00\x04MQTT\x05\x02\x00\x00\x05\x27\x00\x00\x00\x00\x00\x00"),
	    false, MQTT_ERR_PROPERTY_VALUE, 5 },
	{ "request problem information 2",
	    B("\x00\x04MQTT\x05\x02\x00\x00\x02\x17\x02\x00\x00"), false,
	    MQTT_ERR_PROPERTY_VALUE, 5 },
	{ "request response information 2",
	    B("\x00\x04MQTT\x05\x02\x00\x00\x02\x19\x02\x00\x00"), false,
	    MQTT_ERR_PROPERTY_VALUE, 5 },
	{ "auth data without method",
	    B("\x00\x04MQTT\x05\x02\x00\x00\x03\x16\x00\x00\x00\x00"), false,
	    MQTT_ERR_PROPERTY_VALUE, 5 },
	{ "payload format 2",
	    B("\x00\x04MQTT\x05\x06\x00\x00\x00\x00\x00"
	      "\x02\x01\x02\x00\x01t\x00\x00"),
	    false, MQTT_ERR_PROPERTY_VALUE, 5 },
	{ "response topic wildcard",
	    B("\x00\x04MQTT\x05\x06\x00\x00\x00\x00\x00"
	      "\x04\x08\x00\x01#\x00\x01t\x00\x00"),
	    false, MQTT_ERR_PROPERTY_VALUE, 5 },
	{ "response topic empty",
	    B("\x00\x04MQTT\x05\x06\x00\x00\x00\x00\x00"
	      "\x03\x08\x00\x00\x00\x01t\x00\x00"),
	    false, MQTT_ERR_PROPERTY_VALUE, 5 },
	{ "property value cut",
	    B("\x00\x04MQTT\x05\x02\x00\x00\x03\x11\x00\x00\x00\x00"), false,
	    MQTT_ERR_SHORT, 5 },
	{ "user property value missing",
	    B("\x00\x04MQTT\x05\x02\x00\x00\x04\x26\x00\x01k\x00\x00"), false,
	    MQTT_ERR_SHORT, 5 },
	{ "property length past the packet",
	    B("\x00\x04MQTT\x05\x02\x00\x00\x20\x00\x00"), false,
	    MQTT_ERR_SHORT, 5 },
	{ "property length 5 bytes",
	    B("\x00\x04MQTT\x05\x02\x00\x00\x80\x80\x80\x80\x00\x00\x00"),
	    false, MQTT_ERR_VARINT, 5 },
	{ "user property bad UTF-8",
	    B("\x00\x04MQTT\x05\x02\x00\x00\x07\x26\x00\x01\xc3\x00\x01v"
	      "\x00\x00"),
	    false, MQTT_ERR_UTF8, 5 },
	{ "content type NUL",
	    B("\x00\x04MQTT\x05\x06\x00\x00\x00\x00\x00"
	      "\x04\x03\x00\x01\x00\x00\x01t\x00\x00"),
	    false, MQTT_ERR_NUL, 5 },
	{ "client id truncated UTF-8",
	    B("\x00\x04MQTT\x04\x02\x00\x00\x00\x01\xc3"), false, MQTT_ERR_UTF8,
	    4 },
	{ "client id overlong NUL",
	    B("\x00\x04MQTT\x04\x02\x00\x00\x00\x02\xc0\x80"), false,
	    MQTT_ERR_UTF8, 4 },
	{ "client id overlong 3 bytes",
	    B("\x00\x04MQTT\x04\x02\x00\x00\x00\x03\xe0\x80\xaf"), false,
	    MQTT_ERR_UTF8, 4 },
	{ "client id surrogate",
	    B("\x00\x04MQTT\x04\x02\x00\x00\x00\x03\xed\xa0\x80"), false,
	    MQTT_ERR_UTF8, 4 },
	{ "client id above U+10FFFF",
	    B("\x00\x04MQTT\x04\x02\x00\x00\x00\x04\xf4\x90\x80\x80"), false,
	    MQTT_ERR_UTF8, 4 },
	{ "client id 0xff", B("\x00\x04MQTT\x04\x02\x00\x00\x00\x01\xff"),
	    false, MQTT_ERR_UTF8, 4 },
	{ "client id 5-byte form",
	    B("\x00\x04MQTT\x04\x02\x00\x00\x00\x05\xf8\x88\x80\x80\x80"),
	    false, MQTT_ERR_UTF8, 4 },
	{ "client id lone continuation",
	    B("\x00\x04MQTT\x04\x02\x00\x00\x00\x02"
	      "a\x80"),
	    false, MQTT_ERR_UTF8, 4 },
	{ "client id bad continuation",
	    B("\x00\x04MQTT\x04\x02\x00\x00\x00\x02\xc3"
	      "a"),
	    false, MQTT_ERR_UTF8, 4 },
	{ "client id NUL",
	    B("\x00\x04MQTT\x04\x02\x00\x00\x00\x03"
	      "a\x00"
	      "b"),
	    false, MQTT_ERR_NUL, 4 },
	{ "username NUL", B("\x00\x04MQTT\x04\x82\x00\x00\x00\x00\x00\x01\x00"),
	    false, MQTT_ERR_NUL, 4 },
	{ "will topic bad UTF-8",
	    B("\x00\x04MQTT\x04\x06\x00\x00\x00\x00\x00\x01\xe2\x00\x00"),
	    false, MQTT_ERR_UTF8, 4 },
	{ "will topic empty",
	    B("\x00\x04MQTT\x04\x06\x00\x00\x00\x00\x00\x00\x00\x00"), false,
	    MQTT_ERR_WILL_TOPIC, 4 },
	{ "will topic #",
	    B("\x00\x04MQTT\x04\x06\x00\x00\x00\x00\x00\x03"
	      "a/#\x00\x00"),
	    false, MQTT_ERR_WILL_TOPIC, 4 },
	{ "will topic +",
	    B("\x00\x06MQIsdp\x03\x06\x00\x00\x00\x00\x00\x01+"
	      "\x00\x00"),
	    false, MQTT_ERR_WILL_TOPIC, 3 },
	{ "client id past the end",
	    B("\x00\x04MQTT\x04\x02\x00\x00\x00\x05"
	      "ab"),
	    false, MQTT_ERR_SHORT, 4 },
	{ "no keep alive", B("\x00\x04MQTT\x04\x02\x00"), false, MQTT_ERR_SHORT,
	    4 },
	{ "will payload missing",
	    B("\x00\x04MQTT\x04\x06\x00\x00\x00\x00\x00\x01t"), false,
	    MQTT_ERR_SHORT, 4 },
	{ "password missing",
	    B("\x00\x04MQTT\x04\xc2\x00\x00\x00\x00\x00\x01u"), false,
	    MQTT_ERR_SHORT, 4 },
	{ "trailing byte", B("\x00\x04MQTT\x04\x02\x00\x00\x00\x00\x00"), false,
	    MQTT_ERR_TRAILING, 4 },
	{ "trailing after password (5)",
	    B("\x00\x04MQTT\x05\xc2\x00\x00\x00\x00\x00\x00\x01u\x00\x01p!"),
	    false, MQTT_ERR_TRAILING, 5 },
	{ "user but no password flag, trailing",
	    B("\x00\x04MQTT\x04\x82\x00\x00\x00\x00\x00\x01u\x00\x01p"), false,
	    MQTT_ERR_TRAILING, 4 },
};

/* The vector's full packet in an exact-size heap block. */
static uint8_t *
bad_packet(int i, size_t *len)
{
	size_t blen = bad_vec[i].len, h;
	uint8_t *b;

	if (bad_vec[i].raw) {
		*len = blen;
		return exact_copy(bad_vec[i].b, blen);
	}
	ck_assert_uint_lt(blen, 128 * 128);
	h = blen < 128 ? 2 : 3;
	*len = h + blen;
	b = malloc(*len);
	ck_assert_ptr_nonnull(b);
	b[0] = 0x10;
	if (blen < 128) {
		b[1] = (uint8_t)blen;
	} else {
		b[1] = (uint8_t)(0x80 | (blen & 0x7f));
		b[2] = (uint8_t)(blen >> 7);
	}
	memcpy(b + h, bad_vec[i].b, blen);
	return b;
}

START_TEST(test_bad)
{
	struct mqtt_connect c;
	size_t len, k;
	uint8_t *b = bad_packet(_i, &len);
	int n;

	n = mqtt_connect_parse(b, len, MAX, &c);
	ck_assert_msg(n == bad_vec[_i].err, "%s: %d (%s), want %d (%s)",
	    bad_vec[_i].name, n, mqtt_strerror(n), bad_vec[_i].err,
	    mqtt_strerror(bad_vec[_i].err));
	ck_assert_int_eq(c.version, bad_vec[_i].version);
	free(b);
	/* prefixes: need more, or already the same error */
	for (k = 0; k < len; k++) {
		b = bad_packet(_i, &len);
		n = mqtt_connect_parse(b, k, MAX, &c);
		ck_assert_msg(n == 0 || n == bad_vec[_i].err,
		    "%s: prefix %zu: %d", bad_vec[_i].name, k, n);
		free(b);
	}
}
END_TEST

/* Every enum mqtt_err comes out of at least one vector. */
START_TEST(test_all_errors)
{
	bool seen[19] = { false };
	size_t i;

	for (i = 0; i < nitems(bad_vec); i++) {
		ck_assert_int_lt(bad_vec[i].err, 0);
		ck_assert_int_ge(bad_vec[i].err, -18);
		seen[-bad_vec[i].err] = true;
	}
	for (i = 1; i < nitems(seen); i++)
		ck_assert_msg(seen[i], "no vector for error -%zu", i);
}
END_TEST

START_TEST(test_strerror)
{
	const char *unknown = mqtt_strerror(1);
	int e, f;

	ck_assert_str_eq(unknown, "unknown MQTT error");
	ck_assert_str_eq(mqtt_strerror(-19), unknown);
	ck_assert_str_eq(mqtt_strerror(-ENOSPC), unknown);
	for (e = 0; e >= -18; e--) {
		ck_assert_str_ne(mqtt_strerror(e), unknown);
		for (f = e - 1; f >= -18; f--)
			ck_assert_str_ne(mqtt_strerror(e), mqtt_strerror(f));
	}
}
END_TEST

START_TEST(test_err_reason)
{
	ck_assert_int_eq(mqtt_err_reason(MQTT_ERR_UTF8), MQTT_RC_MALFORMED);
	ck_assert_int_eq(mqtt_err_reason(MQTT_ERR_SHORT), MQTT_RC_MALFORMED);
	ck_assert_int_eq(
	    mqtt_err_reason(MQTT_ERR_RESERVED_FLAG), MQTT_RC_MALFORMED);
	ck_assert_int_eq(
	    mqtt_err_reason(MQTT_ERR_PROPERTY_DUP), MQTT_RC_PROTOCOL_ERROR);
	ck_assert_int_eq(
	    mqtt_err_reason(MQTT_ERR_PROPERTY_VALUE), MQTT_RC_PROTOCOL_ERROR);
	ck_assert_int_eq(
	    mqtt_err_reason(MQTT_ERR_PROTO_LEVEL), MQTT_RC_UNSUPPORTED_VERSION);
	ck_assert_int_eq(
	    mqtt_err_reason(MQTT_ERR_TOO_BIG), MQTT_RC_PACKET_TOO_LARGE);
}
END_TEST

/* A long client id: two-byte Remaining Length, and max in between. */
START_TEST(test_long)
{
	struct mqtt_connect c;
	size_t idlen = 200, blen = 12 + idlen, len = 3 + blen;
	uint8_t *b = malloc(len);

	ck_assert_ptr_nonnull(b);
	memcpy(b, "\x10\xd4\x01\x00\x04MQTT\x04\x02\x00\x3c\x00\xc8", 15);
	memset(b + 15, 'x', idlen);
	ck_assert_int_eq(mqtt_connect_parse(b, len, MAX, &c), (int)len);
	ck_assert_uint_eq(c.hdr_len, 3);
	ck_assert_uint_eq(c.client_id.len, idlen);
	ck_assert_int_eq(
	    mqtt_connect_parse(b, 3, len - 1, &c), MQTT_ERR_TOO_BIG);
	ck_assert_int_eq(c.version, 0); /* the level has not arrived */
	ck_assert_int_eq(
	    mqtt_connect_parse(b, 10, len - 1, &c), MQTT_ERR_TOO_BIG);
	ck_assert_int_eq(c.version, MQTT_V311);
	ck_assert_int_eq(mqtt_connect_parse(b, 2, len - 1, &c), 0);
	free(b);
}
END_TEST

/* A non-minimal Remaining Length is read; the encoder writes minimal. */
START_TEST(test_nonminimal)
{
	static const uint8_t in[] = "\x10\x8f\x00\x00\x04MQTT\x04\x02\x00"
				    "\x3c\x00\x03"
				    "cid";
	struct mqtt_connect c;
	uint8_t out[64];

	ck_assert_int_eq(mqtt_connect_parse(in, sizeof(in) - 1, MAX, &c), 18);
	ck_assert_uint_eq(c.hdr_len, 3);
	ck_assert_int_eq(
	    mqtt_connect_encode(&c, &mqtt_keep, &mqtt_keep, out, sizeof(out)),
	    17);
	ck_assert_mem_eq(out, ok_vec[0].b, 17);
}
END_TEST

/* Parse, re-encode as it was (keep, and the same slices): same bytes. */
START_TEST(test_roundtrip)
{
	struct mqtt_connect c;
	size_t len = ok_vec[_i].len;
	uint8_t *out = malloc(len);
	const struct mqtt_slice *u, *p;

	ck_assert_ptr_nonnull(out);
	ck_assert_int_eq(
	    mqtt_connect_parse(ok_vec[_i].b, len, MAX, &c), (int)len);
	ck_assert_int_eq(
	    mqtt_connect_encoded_len(&c, &mqtt_keep, &mqtt_keep), (int)len);
	ck_assert_int_eq(
	    mqtt_connect_encode(&c, &mqtt_keep, &mqtt_keep, out, len),
	    (int)len);
	ck_assert_mem_eq(out, ok_vec[_i].b, len);
	u = (c.flags & MQTT_CF_USERNAME) ? &c.username : NULL;
	p = (c.flags & MQTT_CF_PASSWORD) ? &c.password : NULL;
	memset(out, 0, len);
	ck_assert_int_eq(mqtt_connect_encode(&c, u, p, out, len), (int)len);
	ck_assert_mem_eq(out, ok_vec[_i].b, len);
	free(out);
}
END_TEST

/* Everything but username, password and their flags is the same. */
static void
assert_same_rest(const struct mqtt_connect *a, const struct mqtt_connect *b)
{
	ck_assert_int_eq(a->version, b->version);
	ck_assert_uint_eq(a->flags & 0x3f, b->flags & 0x3f);
	ck_assert_uint_eq(a->keepalive, b->keepalive);
	ck_assert_uint_eq(a->auth_off - a->hdr_len, b->auth_off - b->hdr_len);
	ck_assert_mem_eq(a->pkt + a->hdr_len, b->pkt + b->hdr_len,
	    a->flags_off - a->hdr_len);
	ck_assert_mem_eq(a->pkt + a->flags_off + 1, b->pkt + b->flags_off + 1,
	    a->auth_off - a->flags_off - 1);
	ck_assert_uint_eq(a->client_id.len, b->client_id.len);
	ck_assert_uint_eq(a->will_topic.len, b->will_topic.len);
	ck_assert_uint_eq(a->props.len, b->props.len);
}

static const struct mqtt_slice dev1 = { (const uint8_t *)"dev1", 4 };
static const struct mqtt_slice secret = { (const uint8_t *)"s\0cret", 6 };
static const struct mqtt_slice empty = { NULL, 0 };

/* Replacement cases: username, password (NULL = remove). */
static const struct {
	const struct mqtt_slice *u, *p;
} repl_vec[] = {
	{ &dev1, &secret },
	{ &dev1, NULL },
	{ &dev1, &mqtt_keep },
	{ NULL, NULL },
	{ &empty, &empty },
	{ &mqtt_keep, NULL },
	{ NULL, &secret }, /* 5.0 only */
	{ NULL, &mqtt_keep },
};

START_TEST(test_replace)
{
	int v = _i / (int)nitems(repl_vec), r = _i % (int)nitems(repl_vec);
	const struct mqtt_slice *u = repl_vec[r].u, *p = repl_vec[r].p;
	const struct mqtt_slice *wu, *wp;
	struct mqtt_connect c, d;
	uint8_t *out;
	size_t k;
	int n, m;

	ck_assert_int_gt(
	    mqtt_connect_parse(ok_vec[v].b, ok_vec[v].len, MAX, &c), 0);
	wu = u == &mqtt_keep ? (c.flags & MQTT_CF_USERNAME ? &c.username : NULL)
			     : u;
	wp = p == &mqtt_keep ? (c.flags & MQTT_CF_PASSWORD ? &c.password : NULL)
			     : p;
	n = mqtt_connect_encoded_len(&c, u, p);
	if (wp != NULL && wu == NULL && c.version != MQTT_V5) {
		ck_assert_int_eq(n, -EINVAL);
		ck_assert_int_eq(
		    mqtt_connect_encode(&c, u, p, NULL, 0), -EINVAL);
		return;
	}
	ck_assert_int_gt(n, 0);
	out = malloc((size_t)n);
	ck_assert_ptr_nonnull(out);
	/* too small: -ENOSPC and nothing written */
	for (k = 0; k < (size_t)n; k++) {
		memset(out, 0xa5, (size_t)n);
		ck_assert_int_eq(
		    mqtt_connect_encode(&c, u, p, out, k), -ENOSPC);
		for (m = 0; m < n; m++)
			ck_assert_uint_eq(out[m], 0xa5);
	}
	ck_assert_int_eq(mqtt_connect_encode(&c, u, p, out, (size_t)n), n);
	ck_assert_int_eq(mqtt_connect_parse(out, (size_t)n, MAX, &d), n);
	assert_same_rest(&c, &d);
	ck_assert_int_eq((d.flags & MQTT_CF_USERNAME) != 0, wu != NULL);
	ck_assert_int_eq((d.flags & MQTT_CF_PASSWORD) != 0, wp != NULL);
	if (wu != NULL) {
		ck_assert_uint_eq(d.username.len, wu->len);
		if (wu->len > 0)
			ck_assert_mem_eq(d.username.p, wu->p, wu->len);
	}
	if (wp != NULL) {
		ck_assert_uint_eq(d.password.len, wp->len);
		if (wp->len > 0)
			ck_assert_mem_eq(d.password.p, wp->p, wp->len);
	}
	free(out);
}
END_TEST

START_TEST(test_encode_einval)
{
	struct mqtt_connect c;
	static uint8_t big[65536];
	struct mqtt_slice s = { big, sizeof(big) };
	struct mqtt_slice bad = { (const uint8_t *)"\xc3", 1 };
	struct mqtt_slice nul = { (const uint8_t *)"a\0b", 3 };
	struct mqtt_slice nullp = { NULL, 1 };
	uint8_t out[128];

	memset(big, 'a', sizeof(big));
	ck_assert_int_gt(
	    mqtt_connect_parse(ok_vec[7].b, ok_vec[7].len, MAX, &c), 0);
	ck_assert_int_eq(
	    mqtt_connect_encode(&c, &s, NULL, out, sizeof(out)), -EINVAL);
	ck_assert_int_eq(
	    mqtt_connect_encode(&c, NULL, &s, out, sizeof(out)), -EINVAL);
	ck_assert_int_eq(
	    mqtt_connect_encode(&c, &bad, NULL, out, sizeof(out)), -EINVAL);
	ck_assert_int_eq(
	    mqtt_connect_encode(&c, &nul, NULL, out, sizeof(out)), -EINVAL);
	ck_assert_int_eq(
	    mqtt_connect_encode(&c, &nullp, NULL, out, sizeof(out)), -EINVAL);
	ck_assert_int_eq(
	    mqtt_connect_encode(&c, NULL, &nullp, out, sizeof(out)), -EINVAL);
	/* the longest values fit */
	s.len = MQTT_STR_MAX;
	ck_assert_int_eq(mqtt_connect_encoded_len(&c, &s, &s),
	    (int)(1 + 3 + ok_vec[7].len - 2 - 9 + 2 * (2 + MQTT_STR_MAX)));
}
END_TEST

static const struct {
	int version;
	uint8_t reason;
	int ret;
	const char *bytes;
} connack_vec[] = {
	{ 5, MQTT_RC_MALFORMED, 5, "\x20\x03\x00\x81\x00" },
	{ 5, MQTT_RC_CLIENT_ID, 5, "\x20\x03\x00\x85\x00" },
	{ 5, MQTT_RC_NOT_AUTHORIZED, 5, "\x20\x03\x00\x87\x00" },
	{ 5, MQTT_RC_SUCCESS, 5, "\x20\x03\x00\x00\x00" },
	{ 5, MQTT_RC_PROTOCOL_ERROR, 5, "\x20\x03\x00\x82\x00" },
	{ 5, 0x01, -EINVAL, NULL },
	{ 5, 0x8b, -EINVAL, NULL },
	{ 4, MQTT_RC_CLIENT_ID, 4, "\x20\x02\x00\x02" },
	{ 4, MQTT_RC_NOT_AUTHORIZED, 4, "\x20\x02\x00\x05" },
	{ 4, MQTT_RC_UNSUPPORTED_VERSION, 4, "\x20\x02\x00\x01" },
	{ 4, MQTT_RC_SERVER_UNAVAILABLE, 4, "\x20\x02\x00\x03" },
	{ 4, MQTT_RC_BAD_USER_PASS, 4, "\x20\x02\x00\x04" },
	{ 4, MQTT_RC_SUCCESS, 4, "\x20\x02\x00\x00" },
	{ 3, MQTT_RC_CLIENT_ID, 4, "\x20\x02\x00\x02" },
	{ 3, MQTT_RC_NOT_AUTHORIZED, 4, "\x20\x02\x00\x05" },
	{ 4, MQTT_RC_MALFORMED, -EINVAL, NULL },
	{ 3, 0x02, -EINVAL, NULL },
	{ 6, MQTT_RC_NOT_AUTHORIZED, -EINVAL, NULL },
	{ 0, MQTT_RC_NOT_AUTHORIZED, -EINVAL, NULL },
};

START_TEST(test_connack)
{
	uint8_t buf[8];
	size_t k;
	int ret = connack_vec[_i].ret;

	memset(buf, 0xa5, sizeof(buf));
	ck_assert_int_eq(mqtt_connack_encode(connack_vec[_i].version,
			     connack_vec[_i].reason, buf, sizeof(buf)),
	    ret);
	if (ret < 0)
		return;
	ck_assert_mem_eq(buf, connack_vec[_i].bytes, (size_t)ret);
	ck_assert_uint_eq(buf[ret], 0xa5);
	for (k = 0; k < (size_t)ret; k++) {
		memset(buf, 0xa5, sizeof(buf));
		ck_assert_int_eq(mqtt_connack_encode(connack_vec[_i].version,
				     connack_vec[_i].reason, buf, k),
		    -ENOSPC);
		ck_assert_uint_eq(buf[0], 0xa5);
	}
}
END_TEST

/*
 * Every byte of every valid packet flipped to a few values: no crash (run
 * under ASan), a sane result, and what still parses re-encodes as it was.
 */
START_TEST(test_mutate)
{
	static const uint8_t vals[] = { 0x00, 0x01, 0x7f, 0x80, 0xc3, 0xff };
	struct mqtt_connect c;
	size_t len = ok_vec[_i].len, k, v;
	uint8_t *b, *out = malloc(len + 8);
	int n;

	ck_assert_ptr_nonnull(out);
	for (k = 0; k < len; k++) {
		for (v = 0; v < nitems(vals); v++) {
			b = exact_copy(ok_vec[_i].b, len);
			b[k] = vals[v];
			n = mqtt_connect_parse(b, len, MAX, &c);
			ck_assert_int_ge(n, -18);
			ck_assert_int_le(n, (int)len);
			if (n > 0 && c.hdr_len == 2) {
				ck_assert_int_eq(
				    mqtt_connect_encode(&c, &mqtt_keep,
					&mqtt_keep, out, len + 8),
				    n);
				ck_assert_mem_eq(out, b, (size_t)n);
			}
			free(b);
		}
	}
	free(out);
}
END_TEST

/* ---- mqtt_stream_tail ---- */

#define C311 0x10, 0x0c, 0, 4, 'M', 'Q', 'T', 'T', 4, 2, 0, 0, 0, 0
#define DISC 0xe0, 0x00
#define PUB0 0x30, 0x05, 0, 1, 't', 'h', 'i'
#define PING 0xc0, 0x00

static const struct {
	const char *name;
	uint8_t b[48];
	size_t len;
	bool first_is_connect;
	enum mqtt_tail want;
} tail_vec[] = {
	{ "nothing", { 0 }, 0, true, MQTT_TAIL_OPEN },
	{ "nothing after a CONNECT read", { 0 }, 0, false, MQTT_TAIL_OPEN },
	{ "CONNECT alone", { C311 }, 14, true, MQTT_TAIL_OPEN },
	{ "CONNECT, DISCONNECT", { C311, DISC }, 16, true,
	    MQTT_TAIL_DISCONNECT },
	{ "CONNECT, PUBLISH, DISCONNECT", { C311, PUB0, DISC }, 23, true,
	    MQTT_TAIL_DISCONNECT },
	{ "CONNECT, DISCONNECT, PINGREQ", { C311, DISC, PING }, 18, true,
	    MQTT_TAIL_OPEN },
	{ "DISCONNECT cut short", { C311, 0xe0 }, 15, true, MQTT_TAIL_OPEN },
	{ "CONNECT cut short", { C311 }, 13, true, MQTT_TAIL_OPEN },
	{ "PUBLISH body cut short, then DISCONNECT bytes", { C311, 0x30,
	    0x09, 0, 1, 't', DISC }, 19, true, MQTT_TAIL_OPEN },
	{ "after a CONNECT read: DISCONNECT", { DISC }, 2, false,
	    MQTT_TAIL_DISCONNECT },
	{ "after a CONNECT read: PUBLISH, DISCONNECT", { PUB0, DISC }, 9,
	    false, MQTT_TAIL_DISCONNECT },
	{ "after a CONNECT read: PINGREQ", { PING }, 2, false,
	    MQTT_TAIL_OPEN },
	{ "MQTT 5 DISCONNECT with reason 0x04", { 0xe0, 0x01, 0x04 }, 3,
	    false, MQTT_TAIL_DISCONNECT },
	{ "a Remaining Length of 4 bytes, cut short", { 0x30, 0xff, 0xff,
	    0xff, 0x7f, 1, 2 }, 7, false, MQTT_TAIL_OPEN },
	{ "a Remaining Length cut short", { PUB0, 0x30, 0x80 }, 9, false,
	    MQTT_TAIL_OPEN },
	{ "a Remaining Length of 5 bytes", { 0x30, 0xff, 0xff, 0xff, 0xff,
	    0x01 }, 6, false, MQTT_TAIL_NOT_MQTT },
	{ "reserved type 0", { PUB0, 0x00, 0x00 }, 9, false,
	    MQTT_TAIL_NOT_MQTT },
	{ "HTTP instead of a CONNECT", { 'G', 'E', 'T', ' ', '/' }, 5, true,
	    MQTT_TAIL_NOT_MQTT },
	{ "a PUBLISH first, no CONNECT read", { PUB0, DISC }, 9, true,
	    MQTT_TAIL_NOT_MQTT },
	{ "a PUBLISH first after a CONNECT read", { PUB0, DISC }, 9, false,
	    MQTT_TAIL_DISCONNECT },
	{ "type 15 (AUTH) last", { C311, 0xf0, 0x00 }, 16, true,
	    MQTT_TAIL_OPEN },
};

START_TEST(test_stream_tail)
{
	ck_assert_msg(mqtt_stream_tail(tail_vec[_i].len ? tail_vec[_i].b : NULL,
			  tail_vec[_i].len, tail_vec[_i].first_is_connect) ==
		tail_vec[_i].want,
	    "%s", tail_vec[_i].name);
}
END_TEST

Suite *
mqtt_suite(void)
{
	Suite *s = suite_create("mqtt");
	TCase *tc;

	tc = tcase_create("parse");
	tcase_add_loop_test(tc, test_ok, 0, (int)nitems(ok_vec));
	tcase_add_test(tc, test_total);
	tcase_add_loop_test(tc, test_prefix, 0, (int)nitems(ok_vec));
	tcase_add_loop_test(tc, test_truncated, 0, (int)nitems(ok_vec));
	tcase_add_test(tc, test_long);
	tcase_add_test(tc, test_nonminimal);
	tcase_add_loop_test(tc, test_mutate, 0, (int)nitems(ok_vec));
	suite_add_tcase(s, tc);

	tc = tcase_create("errors");
	tcase_add_loop_test(tc, test_bad, 0, (int)nitems(bad_vec));
	tcase_add_test(tc, test_all_errors);
	tcase_add_test(tc, test_strerror);
	tcase_add_test(tc, test_err_reason);
	suite_add_tcase(s, tc);

	tc = tcase_create("encode");
	tcase_add_loop_test(tc, test_roundtrip, 0, (int)nitems(ok_vec));
	tcase_add_loop_test(
	    tc, test_replace, 0, (int)(nitems(ok_vec) * nitems(repl_vec)));
	tcase_add_test(tc, test_encode_einval);
	tcase_add_loop_test(tc, test_connack, 0, (int)nitems(connack_vec));
	suite_add_tcase(s, tc);

	tc = tcase_create("stream_tail");
	tcase_add_loop_test(tc, test_stream_tail, 0, (int)nitems(tail_vec));
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return unit_run(mqtt_suite());
}
