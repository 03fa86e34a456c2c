/*
 * check_mqtt_bind.c: unit tests for mqtt_bind.c: every mqtt_username
 * source and every way its identity can be missing, mqtt_password keep,
 * drop and file, every mqtt_clientid_must_match rule, the refusals' reason
 * codes and why texts, for MQTT 3.1, 3.1.1 and 5.0; accepted CONNECTs are
 * re-encoded with the verdict and parsed again.
 */
#include "build_config.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "compat.h"
#include "mqtt.h"
#include "mqtt_bind.h"
#include "tls_info.h"
#include "unit.h"

Suite *mqtt_bind_suite(void);

#define MAX 65536

/* Versions a case runs for. */
#define V31 (1u << MQTT_V31)
#define V311 (1u << MQTT_V311)
#define V5 (1u << MQTT_V5)
#define VALL (V31 | V311 | V5)

static const int VERSIONS[] = { MQTT_V31, MQTT_V311, MQTT_V5 };

/* Append s as an MQTT string at body + n; returns the new length. */
static size_t
put_str(uint8_t *body, size_t cap, size_t n, const char *s)
{
	size_t l = strlen(s);

	ck_assert_uint_le(n + 2 + l, cap);
	body[n++] = (uint8_t)(l >> 8);
	body[n++] = (uint8_t)l;
	memcpy(body + n, s, l);
	return n + l;
}

/*
 * A CONNECT of version with clean session, keepalive 60, and (MQTT 5)
 * a Session Expiry Interval property; with will: QoS 1, retain, topic
 * "t/w", payload "bye" and (MQTT 5) a Will Delay Interval. user and pass
 * NULL = absent. Returns the length written to buf.
 */
static size_t
build(uint8_t *buf, size_t cap, int version, const char *cid, const char *user,
    const char *pass, bool will)
{
	static const uint8_t props[] = { 0x05, 0x11, 0x00, 0x00, 0x0e, 0x10 };
	static const uint8_t wprops[] = { 0x05, 0x18, 0x00, 0x00, 0x00, 0x05 };
	uint8_t body[4096];
	const char *strs[4];
	size_t n = 0, i, k, rl;

	if (version == MQTT_V31) {
		memcpy(body, "\x00\x06MQIsdp", 8);
		n = 8;
	} else {
		memcpy(body, "\x00\x04MQTT", 6);
		n = 6;
	}
	body[n++] = (uint8_t)version;
	body[n++] =
	    (uint8_t)(MQTT_CF_CLEAN |
		      (will ? MQTT_CF_WILL | 0x08 | MQTT_CF_WILL_RETAIN : 0) |
		      (user != NULL ? MQTT_CF_USERNAME : 0) |
		      (pass != NULL ? MQTT_CF_PASSWORD : 0));
	body[n++] = 0x00;
	body[n++] = 0x3c;
	if (version == MQTT_V5) {
		memcpy(body + n, props, sizeof(props));
		n += sizeof(props);
	}
	n = put_str(body, sizeof(body), n, cid);
	k = 0;
	if (will) {
		if (version == MQTT_V5) {
			memcpy(body + n, wprops, sizeof(wprops));
			n += sizeof(wprops);
		}
		strs[k++] = "t/w";
		strs[k++] = "bye";
	}
	if (user != NULL)
		strs[k++] = user;
	if (pass != NULL)
		strs[k++] = pass;
	for (i = 0; i < k; i++)
		n = put_str(body, sizeof(body), n, strs[i]);
	ck_assert_uint_le(n + 5, cap);
	k = 0;
	buf[k++] = 0x10;
	rl = n;
	do {
		buf[k] = (uint8_t)(rl & 0x7f);
		rl >>= 7;
		if (rl > 0)
			buf[k] |= 0x80;
		k++;
	} while (rl > 0);
	memcpy(buf + k, body, n);
	return k + n;
}

/* The builder writes what the specification says, byte for byte. */
START_TEST(test_build)
{
	static const uint8_t v311[] = "\x10\x10\x00\x04MQTT\x04\x02\x00\x3c"
				      "\x00\x04"
				      "dev1";
	static const uint8_t v5[] = "\x10\x31\x00\x04MQTT\x05\xee\x00\x3c"
				    "\x05\x11\x00\x00\x0e\x10"
				    "\x00\x04"
				    "dev1"
				    "\x05\x18\x00\x00\x00\x05"
				    "\x00\x03t/w\x00\x03"
				    "bye"
				    "\x00\x05"
				    "alice"
				    "\x00\x02pw";
	static const uint8_t v31[] = "\x10\x1a\x00\x06MQIsdp\x03\xc2\x00\x3c"
				     "\x00\x04"
				     "dev1"
				     "\x00\x01u\x00\x03pw!";
	uint8_t buf[256];
	struct mqtt_connect c;

	ck_assert_uint_eq(
	    build(buf, sizeof(buf), MQTT_V311, "dev1", NULL, NULL, false),
	    sizeof(v311) - 1);
	ck_assert_mem_eq(buf, v311, sizeof(v311) - 1);
	ck_assert_int_eq(mqtt_connect_parse(v311, sizeof(v311) - 1, MAX, &c),
	    (int)sizeof(v311) - 1);
	ck_assert_uint_eq(
	    build(buf, sizeof(buf), MQTT_V5, "dev1", "alice", "pw", true),
	    sizeof(v5) - 1);
	ck_assert_mem_eq(buf, v5, sizeof(v5) - 1);
	ck_assert_int_eq(mqtt_connect_parse(v5, sizeof(v5) - 1, MAX, &c),
	    (int)sizeof(v5) - 1);
	ck_assert_uint_eq(c.props.len, 5);
	ck_assert_uint_eq(c.will_props.len, 5);
	ck_assert_uint_eq(
	    build(buf, sizeof(buf), MQTT_V31, "dev1", "u", "pw!", false),
	    sizeof(v31) - 1);
	ck_assert_mem_eq(buf, v31, sizeof(v31) - 1);
	ck_assert_int_eq(mqtt_connect_parse(v31, sizeof(v31) - 1, MAX, &c),
	    (int)sizeof(v31) - 1);
}
END_TEST

/* What TLS established. */
enum facts {
	F_NONE,	      /* no certificate, no PSK */
	F_CERT,	      /* a verified certificate with every field */
	F_UNVERIFIED, /* F_CERT that did not verify */
	F_NO_CN,
	F_EMPTY_DN,
	F_NO_URI,
	F_NO_DNS,
	F_NO_DER,
	F_PSK,	    /* PSK "client-7", no certificate */
	F_PSK_CERT, /* PSK "client-7" and F_CERT */
	F_PSK_FF,   /* PSK "dev\xff": not UTF-8 */
	F_NO_CN_UNVERIFIED,
	F_TWO_CN, /* F_CERT whose subject has two CNs */
	F_BAD_CN, /* F_CERT whose one CN is no text (a NUL byte in it) */
};

static char dn_full[] = "CN=dev1,O=Acme", dn_empty[] = "";

static char uri0[] = "urn:dev:1", uri1[] = "urn:dev:alt";
static char *uris[] = { uri0, uri1 };
static char dns0[] = "dev1.example", dns1[] = "alt.example";
static char *dnss[] = { dns0, dns1 };
static unsigned char der[] = { 0x30, 0x03, 0x02, 0x01, 0x01 };
#define SHA_HEX                                                                \
	"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"

static void
facts_fill(struct tls_facts *f, enum facts which)
{
	memset(f, 0, sizeof(*f));
	if (which == F_PSK || which == F_PSK_CERT)
		strcpy(f->info.psk, "client-7");
	if (which == F_PSK_FF)
		strcpy(f->info.psk, "dev\xff");
	if (which == F_NONE || which == F_PSK || which == F_PSK_FF)
		return;
	f->cert = true;
	f->verified = true;
	f->cert_conn = true;
	strcpy(f->cn, "dev1");
	f->n_cn = 1;
	f->dn = dn_full;
	strcpy(f->serial, "01");
	f->san_uri = uris;
	f->n_san_uri = nitems(uris);
	f->san_dns = dnss;
	f->n_san_dns = nitems(dnss);
	f->der = der;
	f->der_len = sizeof(der);
	strcpy(f->sha256_hex, SHA_HEX);
	switch (which) {
	case F_UNVERIFIED:
		f->verified = false;
		f->verify = 1;
		break;
	case F_NO_CN_UNVERIFIED:
		f->verified = false;
		f->verify = 1;
		f->cn[0] = '\0';
		break;
	case F_NO_CN:
		f->cn[0] = '\0';
		f->n_cn = 0;
		break;
	case F_EMPTY_DN:
		f->dn = dn_empty;
		break;
	case F_TWO_CN:
		f->n_cn = 2;
		break;
	case F_BAD_CN:
		f->cn[0] = '\0';
		break;
	case F_NO_URI:
		f->san_uri = NULL;
		f->n_san_uri = 0;
		break;
	case F_NO_DNS:
		f->san_dns = NULL;
		f->n_san_dns = 0;
		break;
	case F_NO_DER:
		f->der = NULL;
		f->der_len = 0;
		f->sha256_hex[0] = '\0';
		break;
	default:
		break;
	}
}

/* What out->pass should be. */
enum pass_want {
	P_KEEP,	  /* &mqtt_keep */
	P_DROP,	  /* NULL */
	P_SECRET, /* the secret (out->pass_val) */
};

#define RC_OK 0
#define RC_NA MQTT_RC_NOT_AUTHORIZED
#define RC_CID MQTT_RC_CLIENT_ID

static const struct bind_case {
	const char *name;
	unsigned versions; /* V31 | V311 | V5 */
	enum mqtt_user_src user_src;
	enum mqtt_pass_mode pass_mode;
	enum mqtt_cid_match cid_match;
	enum facts facts;
	const char *cid, *cuser, *cpass; /* the client's; NULL = absent */
	bool will;
	const char *secret; /* mqtt_password = file's content; NULL = none */
	int rc;
	const char *user;    /* on 0: the username bound; NULL = kept */
	enum pass_want pass; /* on 0 */
	const char *why;     /* on refusal: a substring of out->why */
} cases[] = {
	/* mqtt_username: each source */
	{ "username cn", VALL, MQTT_USER_CN, MQTT_PASS_KEEP, MQTT_CID_OFF,
	    F_CERT, "c1", "client", "pw", true, NULL, RC_OK, "dev1", P_KEEP,
	    NULL },
	{ "username dn", VALL, MQTT_USER_DN, MQTT_PASS_KEEP, MQTT_CID_OFF,
	    F_CERT, "c1", NULL, NULL, true, NULL, RC_OK, "CN=dev1,O=Acme",
	    P_KEEP, NULL },
	{ "username san_uri: the first", VALL, MQTT_USER_SAN_URI,
	    MQTT_PASS_KEEP, MQTT_CID_OFF, F_CERT, "c1", "client", NULL, false,
	    NULL, RC_OK, "urn:dev:1", P_KEEP, NULL },
	{ "username san_dns: the first", VALL, MQTT_USER_SAN_DNS,
	    MQTT_PASS_KEEP, MQTT_CID_OFF, F_CERT, "c1", NULL, NULL, true, NULL,
	    RC_OK, "dev1.example", P_KEEP, NULL },
	{ "username cert_sha256", VALL, MQTT_USER_CERT_SHA256, MQTT_PASS_KEEP,
	    MQTT_CID_OFF, F_CERT, "c1", "client", "pw", true, NULL, RC_OK,
	    SHA_HEX, P_KEEP, NULL },
	{ "username psk_identity", VALL, MQTT_USER_PSK_IDENTITY, MQTT_PASS_KEEP,
	    MQTT_CID_OFF, F_PSK, "c1", "client", "pw", true, NULL, RC_OK,
	    "client-7", P_KEEP, NULL },
	{ "username psk_identity, a certificate too", VALL,
	    MQTT_USER_PSK_IDENTITY, MQTT_PASS_KEEP, MQTT_CID_OFF, F_PSK_CERT,
	    "c1", NULL, NULL, false, NULL, RC_OK, "client-7", P_KEEP, NULL },
	{ "everything keep", VALL, MQTT_USER_KEEP, MQTT_PASS_KEEP, MQTT_CID_OFF,
	    F_NONE, "c1", "client", "pw", true, NULL, RC_OK, NULL, P_KEEP, NULL },

	/* mqtt_username: the identity is missing */
	{ "cn, no certificate", VALL, MQTT_USER_CN, MQTT_PASS_KEEP,
	    MQTT_CID_OFF, F_NONE, "c1", "client", NULL, false, NULL, RC_NA,
	    NULL, P_KEEP, "no client certificate (mqtt_username = cn)" },
	{ "dn, no certificate", VALL, MQTT_USER_DN, MQTT_PASS_KEEP,
	    MQTT_CID_OFF, F_NONE, "c1", NULL, NULL, false, NULL, RC_NA, NULL,
	    P_KEEP, "no client certificate (mqtt_username = dn)" },
	{ "san_uri, no certificate", VALL, MQTT_USER_SAN_URI, MQTT_PASS_KEEP,
	    MQTT_CID_OFF, F_NONE, "c1", NULL, NULL, false, NULL, RC_NA, NULL,
	    P_KEEP, "no client certificate (mqtt_username = san_uri)" },
	{ "san_dns, no certificate", VALL, MQTT_USER_SAN_DNS, MQTT_PASS_KEEP,
	    MQTT_CID_OFF, F_NONE, "c1", NULL, NULL, false, NULL, RC_NA, NULL,
	    P_KEEP, "no client certificate (mqtt_username = san_dns)" },
	{ "cert_sha256, no certificate", VALL, MQTT_USER_CERT_SHA256,
	    MQTT_PASS_KEEP, MQTT_CID_OFF, F_NONE, "c1", NULL, NULL, false, NULL,
	    RC_NA, NULL, P_KEEP,
	    "no client certificate (mqtt_username = cert_sha256)" },
	{ "cert_sha256, a PSK but no certificate", VALL, MQTT_USER_CERT_SHA256,
	    MQTT_PASS_KEEP, MQTT_CID_OFF, F_PSK, "c1", NULL, NULL, false, NULL,
	    RC_NA, NULL, P_KEEP,
	    "no client certificate (mqtt_username = cert_sha256)" },
	{ "cn, not verified", VALL, MQTT_USER_CN, MQTT_PASS_KEEP, MQTT_CID_OFF,
	    F_UNVERIFIED, "c1", NULL, NULL, false, NULL, RC_NA, NULL, P_KEEP,
	    "client certificate not verified (mqtt_username = cn)" },
	{ "dn, not verified", VALL, MQTT_USER_DN, MQTT_PASS_KEEP, MQTT_CID_OFF,
	    F_UNVERIFIED, "c1", NULL, NULL, false, NULL, RC_NA, NULL, P_KEEP,
	    "client certificate not verified (mqtt_username = dn)" },
	{ "san_uri, not verified", VALL, MQTT_USER_SAN_URI, MQTT_PASS_KEEP,
	    MQTT_CID_OFF, F_UNVERIFIED, "c1", NULL, NULL, false, NULL, RC_NA,
	    NULL, P_KEEP,
	    "client certificate not verified (mqtt_username = san_uri)" },
	{ "san_dns, not verified", VALL, MQTT_USER_SAN_DNS, MQTT_PASS_KEEP,
	    MQTT_CID_OFF, F_UNVERIFIED, "c1", NULL, NULL, false, NULL, RC_NA,
	    NULL, P_KEEP,
	    "client certificate not verified (mqtt_username = san_dns)" },
	{ "cert_sha256, not verified", VALL, MQTT_USER_CERT_SHA256,
	    MQTT_PASS_KEEP, MQTT_CID_OFF, F_UNVERIFIED, "c1", NULL, NULL, false,
	    NULL, RC_NA, NULL, P_KEEP,
	    "client certificate not verified (mqtt_username = cert_sha256)" },
	{ "cn, no CN", VALL, MQTT_USER_CN, MQTT_PASS_KEEP, MQTT_CID_OFF,
	    F_NO_CN, "c1", "client", NULL, false, NULL, RC_NA, NULL, P_KEEP,
	    "client certificate has no CN (mqtt_username = cn)" },
	{ "cn, a CN with a NUL byte: never cut short", VALL, MQTT_USER_CN,
	    MQTT_PASS_KEEP, MQTT_CID_OFF, F_BAD_CN, "c1", "client", NULL,
	    false, NULL, RC_NA, NULL, P_KEEP,
	    "client certificate has a CN that is no text (a NUL byte, or no "
	    "UTF-8 form) (mqtt_username = cn)" },
	{ "cn, two CNs: which would it be?", VALL, MQTT_USER_CN,
	    MQTT_PASS_KEEP, MQTT_CID_OFF, F_TWO_CN, "c1", "client", NULL,
	    false, NULL, RC_NA, NULL, P_KEEP,
	    "client certificate has several CNs (mqtt_username = cn)" },
	{ "cid cn, two CNs", VALL, MQTT_USER_KEEP, MQTT_PASS_KEEP,
	    MQTT_CID_CN, F_TWO_CN, "dev1", "client", NULL, false, NULL, RC_NA,
	    NULL, P_KEEP, "several CNs" },
	{ "cn, no CN and not verified: not verified", VALL, MQTT_USER_CN,
	    MQTT_PASS_KEEP, MQTT_CID_OFF, F_NO_CN_UNVERIFIED, "c1", NULL, NULL,
	    false, NULL, RC_NA, NULL, P_KEEP, "not verified" },
	{ "dn, empty subject", VALL, MQTT_USER_DN, MQTT_PASS_KEEP, MQTT_CID_OFF,
	    F_EMPTY_DN, "c1", NULL, NULL, false, NULL, RC_NA, NULL, P_KEEP,
	    "client certificate has an empty subject (mqtt_username = dn)" },
	{ "san_uri, no URI SAN", VALL, MQTT_USER_SAN_URI, MQTT_PASS_KEEP,
	    MQTT_CID_OFF, F_NO_URI, "c1", NULL, NULL, false, NULL, RC_NA, NULL,
	    P_KEEP,
	    "client certificate has no URI SAN (mqtt_username = "
	    "san_uri)" },
	{ "san_dns, no DNS SAN", VALL, MQTT_USER_SAN_DNS, MQTT_PASS_KEEP,
	    MQTT_CID_OFF, F_NO_DNS, "c1", NULL, NULL, false, NULL, RC_NA, NULL,
	    P_KEEP,
	    "client certificate has no DNS SAN (mqtt_username = "
	    "san_dns)" },
	{ "cert_sha256, no DER", VALL, MQTT_USER_CERT_SHA256, MQTT_PASS_KEEP,
	    MQTT_CID_OFF, F_NO_DER, "c1", NULL, NULL, false, NULL, RC_NA, NULL,
	    P_KEEP, "(mqtt_username = cert_sha256)" },
	{ "psk_identity, no PSK", VALL, MQTT_USER_PSK_IDENTITY, MQTT_PASS_KEEP,
	    MQTT_CID_OFF, F_CERT, "c1", NULL, NULL, false, NULL, RC_NA, NULL,
	    P_KEEP, "no PSK identity (mqtt_username = psk_identity)" },
	{ "psk_identity, nothing", VALL, MQTT_USER_PSK_IDENTITY, MQTT_PASS_KEEP,
	    MQTT_CID_OFF, F_NONE, "c1", NULL, NULL, false, NULL, RC_NA, NULL,
	    P_KEEP, "no PSK identity" },
	{ "psk_identity not UTF-8", VALL, MQTT_USER_PSK_IDENTITY,
	    MQTT_PASS_KEEP, MQTT_CID_OFF, F_PSK_FF, "c1", "client", NULL, true,
	    NULL, RC_NA, NULL, P_KEEP,
	    "the identity cannot be an MQTT username" },
	{ "psk_identity not UTF-8, password file", VALL, MQTT_USER_PSK_IDENTITY,
	    MQTT_PASS_FILE, MQTT_CID_OFF, F_PSK_FF, "c1", NULL, NULL, false,
	    "s3cret", RC_NA, NULL, P_KEEP, "not UTF-8" },
	/* a missing identity wins over the client id */
	{ "cn missing before an empty client id", VALL, MQTT_USER_CN,
	    MQTT_PASS_KEEP, MQTT_CID_USERNAME, F_NONE, "", NULL, NULL, false,
	    NULL, RC_NA, NULL, P_KEEP, "no client certificate" },

	/* mqtt_password */
	{ "password drop", VALL, MQTT_USER_KEEP, MQTT_PASS_DROP, MQTT_CID_OFF,
	    F_NONE, "c1", "client", "pw", true, NULL, RC_OK, NULL, P_DROP, NULL },
	{ "password drop, none sent", VALL, MQTT_USER_KEEP, MQTT_PASS_DROP,
	    MQTT_CID_OFF, F_NONE, "c1", NULL, NULL, true, NULL, RC_OK, NULL,
	    P_DROP, NULL },
	{ "password drop, username cn", VALL, MQTT_USER_CN, MQTT_PASS_DROP,
	    MQTT_CID_OFF, F_CERT, "c1", "client", "pw", true, NULL, RC_OK,
	    "dev1", P_DROP, NULL },
	{ "password file, username cn", VALL, MQTT_USER_CN, MQTT_PASS_FILE,
	    MQTT_CID_OFF, F_CERT, "c1", NULL, NULL, true, "s3cret", RC_OK,
	    "dev1", P_SECRET, NULL },
	{ "password file replaces the client's", VALL, MQTT_USER_CN,
	    MQTT_PASS_FILE, MQTT_CID_OFF, F_CERT, "c1", "client", "pw", true,
	    "s3cret", RC_OK, "dev1", P_SECRET, NULL },
	{ "password file, empty secret", VALL, MQTT_USER_CN, MQTT_PASS_FILE,
	    MQTT_CID_OFF, F_CERT, "c1", "client", "pw", true, "", RC_OK, "dev1",
	    P_SECRET, NULL },
	{ "password file, username keep", VALL, MQTT_USER_KEEP, MQTT_PASS_FILE,
	    MQTT_CID_OFF, F_NONE, "c1", "alice", NULL, true, "s3cret", RC_OK,
	    NULL, P_SECRET, NULL },
	{ "password file, no username before MQTT 5", V31 | V311,
	    MQTT_USER_KEEP, MQTT_PASS_FILE, MQTT_CID_OFF, F_NONE, "c1", NULL,
	    NULL, true, "s3cret", RC_NA, NULL, P_KEEP,
	    "a password needs a username before MQTT 5 (mqtt_password)" },
	{ "password file, empty secret, no username before MQTT 5", V31 | V311,
	    MQTT_USER_KEEP, MQTT_PASS_FILE, MQTT_CID_OFF, F_NONE, "c1", NULL,
	    NULL, false, "", RC_NA, NULL, P_KEEP, "username" },
	{ "password file, no username in MQTT 5", V5, MQTT_USER_KEEP,
	    MQTT_PASS_FILE, MQTT_CID_OFF, F_NONE, "c1", NULL, NULL, true,
	    "s3cret", RC_OK, NULL, P_SECRET, NULL },
	{ "password keep, MQTT 5 password without username", V5, MQTT_USER_CN,
	    MQTT_PASS_KEEP, MQTT_CID_OFF, F_CERT, "c1", NULL, "pw", true, NULL,
	    RC_OK, "dev1", P_KEEP, NULL },

	/* mqtt_clientid_must_match = cn */
	{ "cid cn matches", VALL, MQTT_USER_KEEP, MQTT_PASS_KEEP, MQTT_CID_CN,
	    F_CERT, "dev1", "client", "pw", true, NULL, RC_OK, NULL, P_KEEP,
	    NULL },
	{ "cid cn, username cn too", VALL, MQTT_USER_CN, MQTT_PASS_DROP,
	    MQTT_CID_CN, F_CERT, "dev1", "client", "pw", true, NULL, RC_OK,
	    "dev1", P_DROP, NULL },
	{ "cid cn mismatch", VALL, MQTT_USER_KEEP, MQTT_PASS_KEEP, MQTT_CID_CN,
	    F_CERT, "dev2", NULL, NULL, false, NULL, RC_CID, NULL, P_KEEP,
	    "client id 'dev2' is not the CN 'dev1'" },
	{ "cid cn, prefix", VALL, MQTT_USER_KEEP, MQTT_PASS_KEEP, MQTT_CID_CN,
	    F_CERT, "dev", NULL, NULL, false, NULL, RC_CID, NULL, P_KEEP,
	    "is not the CN" },
	{ "cid cn, longer", VALL, MQTT_USER_KEEP, MQTT_PASS_KEEP, MQTT_CID_CN,
	    F_CERT, "dev12", NULL, NULL, false, NULL, RC_CID, NULL, P_KEEP,
	    "is not the CN" },
	{ "cid cn, no certificate", VALL, MQTT_USER_KEEP, MQTT_PASS_KEEP,
	    MQTT_CID_CN, F_NONE, "dev1", NULL, NULL, false, NULL, RC_NA, NULL,
	    P_KEEP,
	    "no verified client certificate (mqtt_clientid_must_match = cn)" },
	{ "cid cn, PSK only", VALL, MQTT_USER_PSK_IDENTITY, MQTT_PASS_KEEP,
	    MQTT_CID_CN, F_PSK, "client-7", NULL, NULL, false, NULL, RC_NA,
	    NULL, P_KEEP, "no verified client certificate" },
	{ "cid cn, not verified", VALL, MQTT_USER_KEEP, MQTT_PASS_KEEP,
	    MQTT_CID_CN, F_UNVERIFIED, "dev1", NULL, NULL, false, NULL, RC_NA,
	    NULL, P_KEEP, "no verified client certificate" },
	/* current behaviour: a verified certificate without a CN is a
	 * mismatch (0x85), not a missing identity (0x87); see the report */
	{ "cid cn, certificate without CN", VALL, MQTT_USER_KEEP,
	    MQTT_PASS_KEEP, MQTT_CID_CN, F_NO_CN, "dev1", NULL, NULL, false,
	    NULL, RC_CID, NULL, P_KEEP, "is not the CN ''" },
	{ "cid cn, empty id", VALL, MQTT_USER_KEEP, MQTT_PASS_KEEP, MQTT_CID_CN,
	    F_CERT, "", NULL, NULL, false, NULL, RC_CID, NULL, P_KEEP,
	    "empty client id (mqtt_clientid_must_match)" },
	{ "cid cn, unprintable id is quoted safely", V5, MQTT_USER_KEEP,
	    MQTT_PASS_KEEP, MQTT_CID_CN, F_CERT, "d\xc3\xa9v\x01", NULL, NULL,
	    false, NULL, RC_CID, NULL, P_KEEP, "client id 'd??v?' is not" },

	/* mqtt_clientid_must_match = san_uri */
	{ "cid san_uri, first", VALL, MQTT_USER_KEEP, MQTT_PASS_KEEP,
	    MQTT_CID_SAN_URI, F_CERT, "urn:dev:1", "client", NULL, true, NULL,
	    RC_OK, NULL, P_KEEP, NULL },
	{ "cid san_uri, second", VALL, MQTT_USER_SAN_URI, MQTT_PASS_KEEP,
	    MQTT_CID_SAN_URI, F_CERT, "urn:dev:alt", "client", "pw", true, NULL,
	    RC_OK, "urn:dev:1", P_KEEP, NULL },
	{ "cid san_uri, none", VALL, MQTT_USER_KEEP, MQTT_PASS_KEEP,
	    MQTT_CID_SAN_URI, F_CERT, "urn:dev:2", NULL, NULL, false, NULL,
	    RC_CID, NULL, P_KEEP,
	    "client id 'urn:dev:2' is none of the certificate's URI SANs" },
	{ "cid san_uri, a DNS SAN is no URI SAN", VALL, MQTT_USER_KEEP,
	    MQTT_PASS_KEEP, MQTT_CID_SAN_URI, F_CERT, "dev1.example", NULL,
	    NULL, false, NULL, RC_CID, NULL, P_KEEP, "URI SANs" },
	{ "cid san_uri, certificate without URI SAN", VALL, MQTT_USER_KEEP,
	    MQTT_PASS_KEEP, MQTT_CID_SAN_URI, F_NO_URI, "urn:dev:1", NULL, NULL,
	    false, NULL, RC_CID, NULL, P_KEEP, "URI SANs" },
	{ "cid san_uri, no certificate", VALL, MQTT_USER_KEEP, MQTT_PASS_KEEP,
	    MQTT_CID_SAN_URI, F_NONE, "urn:dev:1", NULL, NULL, false, NULL,
	    RC_NA, NULL, P_KEEP,
	    "no verified client certificate (mqtt_clientid_must_match = "
	    "san_uri)" },
	{ "cid san_uri, not verified", VALL, MQTT_USER_KEEP, MQTT_PASS_KEEP,
	    MQTT_CID_SAN_URI, F_UNVERIFIED, "urn:dev:1", NULL, NULL, false,
	    NULL, RC_NA, NULL, P_KEEP, "no verified client certificate" },
	{ "cid san_uri, empty id", VALL, MQTT_USER_KEEP, MQTT_PASS_KEEP,
	    MQTT_CID_SAN_URI, F_CERT, "", NULL, NULL, false, NULL, RC_CID, NULL,
	    P_KEEP, "empty client id" },

	/* mqtt_clientid_must_match = username */
	{ "cid username, bound cn", VALL, MQTT_USER_CN, MQTT_PASS_KEEP,
	    MQTT_CID_USERNAME, F_CERT, "dev1", "client", "pw", true, NULL,
	    RC_OK, "dev1", P_KEEP, NULL },
	{ "cid username, bound cn, the client's username", VALL, MQTT_USER_CN,
	    MQTT_PASS_KEEP, MQTT_CID_USERNAME, F_CERT, "client", "client", NULL,
	    false, NULL, RC_CID, NULL, P_KEEP,
	    "client id 'client' is not the username" },
	{ "cid username, bound psk", VALL, MQTT_USER_PSK_IDENTITY,
	    MQTT_PASS_FILE, MQTT_CID_USERNAME, F_PSK, "client-7", NULL, NULL,
	    true, "s3cret", RC_OK, "client-7", P_SECRET, NULL },
	{ "cid username, bound san_dns mismatch", VALL, MQTT_USER_SAN_DNS,
	    MQTT_PASS_KEEP, MQTT_CID_USERNAME, F_CERT, "alt.example", NULL,
	    NULL, false, NULL, RC_CID, NULL, P_KEEP, "is not the username" },
	{ "cid username, keep, matches", VALL, MQTT_USER_KEEP, MQTT_PASS_DROP,
	    MQTT_CID_USERNAME, F_NONE, "alice", "alice", "pw", true, NULL,
	    RC_OK, NULL, P_DROP, NULL },
	{ "cid username, keep, mismatch", VALL, MQTT_USER_KEEP, MQTT_PASS_KEEP,
	    MQTT_CID_USERNAME, F_NONE, "bob", "alice", NULL, false, NULL,
	    RC_CID, NULL, P_KEEP, "client id 'bob' is not the username" },
	{ "cid username, keep, prefix", VALL, MQTT_USER_KEEP, MQTT_PASS_KEEP,
	    MQTT_CID_USERNAME, F_NONE, "alic", "alice", NULL, false, NULL,
	    RC_CID, NULL, P_KEEP, "is not the username" },
	{ "cid username, keep, no username", VALL, MQTT_USER_KEEP,
	    MQTT_PASS_KEEP, MQTT_CID_USERNAME, F_NONE, "alice", NULL, NULL,
	    false, NULL, RC_CID, NULL, P_KEEP, "is not the username" },
	{ "cid username, keep, empty username", VALL, MQTT_USER_KEEP,
	    MQTT_PASS_KEEP, MQTT_CID_USERNAME, F_NONE, "alice", "", NULL, false,
	    NULL, RC_CID, NULL, P_KEEP, "is not the username" },
	{ "cid username, empty id", VALL, MQTT_USER_CN, MQTT_PASS_KEEP,
	    MQTT_CID_USERNAME, F_CERT, "", NULL, NULL, false, NULL, RC_CID,
	    NULL, P_KEEP, "empty client id" },
	{ "cid username, keep, empty id and username", V311 | V5,
	    MQTT_USER_KEEP, MQTT_PASS_KEEP, MQTT_CID_USERNAME, F_NONE, "", "",
	    NULL, false, NULL, RC_CID, NULL, P_KEEP, "empty client id" },

	/* With no client-id rule an empty id is the broker's to assign
	 * (MQTT 5, and 3.1.1 with clean session). */
	{ "cid off, username cn, empty id", V311 | V5, MQTT_USER_CN,
	    MQTT_PASS_KEEP, MQTT_CID_OFF, F_CERT, "", "client", NULL, true,
	    NULL, RC_OK, "dev1", P_KEEP, NULL },
	{ "cid off, password drop, empty id", V311 | V5, MQTT_USER_KEEP,
	    MQTT_PASS_DROP, MQTT_CID_OFF, F_NONE, "", "alice", "pw", false,
	    NULL, RC_OK, NULL, P_DROP, NULL },
};

/* s holds want's bytes (want NULL: s is absent). */
static void
assert_slice(const struct mqtt_slice *s, const char *want, const char *what)
{
	size_t n;

	if (want == NULL) {
		ck_assert_msg(s->p == NULL, "%s present", what);
		return;
	}
	n = strlen(want);
	ck_assert_msg(s->len == n, "%s: length %zu, want %zu", what, s->len, n);
	if (n > 0)
		ck_assert_msg(
		    memcmp(s->p, want, n) == 0, "%s: wrong bytes", what);
}

static void
assert_same_slice(const struct mqtt_slice *a, const struct mqtt_slice *b)
{
	ck_assert_uint_eq(a->len, b->len);
	ck_assert_int_eq(a->p == NULL, b->p == NULL);
	if (a->len > 0)
		ck_assert_mem_eq(a->p, b->p, a->len);
}

/*
 * Re-encode c with the verdict, parse it again: the username and password
 * are the ones wanted, everything else as the client sent it.
 */
static void
check_reencoded(const struct mqtt_connect *c, const struct mqtt_bind *b,
    const char *user, const char *pass)
{
	uint8_t buf[1024];
	struct mqtt_connect d;
	int n;

	n = mqtt_connect_encoded_len(c, b->user, b->pass);
	ck_assert_int_gt(n, 0);
	ck_assert_int_le(n, (int)sizeof(buf));
	ck_assert_int_eq(
	    mqtt_connect_encode(c, b->user, b->pass, buf, sizeof(buf)), n);
	ck_assert_int_eq(mqtt_connect_parse(buf, (size_t)n, MAX, &d), n);
	ck_assert_int_eq(d.version, c->version);
	ck_assert_uint_eq(d.flags & 0x3f, c->flags & 0x3f);
	ck_assert_uint_eq(d.keepalive, c->keepalive);
	assert_same_slice(&d.client_id, &c->client_id);
	assert_same_slice(&d.props, &c->props);
	assert_same_slice(&d.will_props, &c->will_props);
	assert_same_slice(&d.will_topic, &c->will_topic);
	assert_same_slice(&d.will_payload, &c->will_payload);
	ck_assert_int_eq((d.flags & MQTT_CF_USERNAME) != 0, user != NULL);
	ck_assert_int_eq((d.flags & MQTT_CF_PASSWORD) != 0, pass != NULL);
	assert_slice(&d.username, user, "username");
	assert_slice(&d.password, pass, "password");
}

START_TEST(test_judge)
{
	const struct bind_case *t = &cases[_i / (int)nitems(VERSIONS)];
	int version = VERSIONS[_i % (int)nitems(VERSIONS)];
	struct listener_conf l;
	struct tls_facts f;
	struct mqtt_connect c;
	struct mqtt_bind b;
	uint8_t pkt[512];
	size_t len, slen;
	const char *user, *pass;
	int rc;

	if ((t->versions & (1u << version)) == 0)
		return;
	memset(&l, 0, sizeof(l));
	l.mqtt_username = t->user_src;
	l.mqtt_password = t->pass_mode;
	l.mqtt_clientid_must_match = t->cid_match;
	facts_fill(&f, t->facts);
	len = build(
	    pkt, sizeof(pkt), version, t->cid, t->cuser, t->cpass, t->will);
	ck_assert_int_eq(mqtt_connect_parse(pkt, len, MAX, &c), (int)len);
	slen = t->secret != NULL ? strlen(t->secret) : 0;

	memset(&b, 0xa5, sizeof(b));
	rc = mqtt_bind_judge(
	    &l, &f, &c, (const unsigned char *)t->secret, slen, &b);
	ck_assert_msg(rc == t->rc,
	    "%s (version %d): rc 0x%x (why '%s'), want "
	    "0x%x",
	    t->name, version, (unsigned)rc, rc != 0 ? b.why : "",
	    (unsigned)t->rc);
	if (rc != 0) {
		ck_assert_msg(memchr(b.why, '\0', sizeof(b.why)) != NULL,
		    "why not terminated");
		ck_assert_msg(strstr(b.why, t->why) != NULL,
		    "%s: why '%s' lacks '%s'", t->name, b.why, t->why);
		return;
	}

	/* the username */
	if (t->user == NULL) {
		ck_assert_ptr_eq(b.user, &mqtt_keep);
		user = t->cuser;
	} else {
		ck_assert_ptr_eq(b.user, &b.user_val);
		assert_slice(b.user, t->user, "bound username");
		user = t->user;
	}
	/* the password */
	switch (t->pass) {
	case P_KEEP:
		ck_assert_ptr_eq(b.pass, &mqtt_keep);
		pass = t->cpass;
		break;
	case P_DROP:
		ck_assert_ptr_null(b.pass);
		pass = NULL;
		break;
	case P_SECRET:
	default:
		ck_assert_ptr_nonnull(t->secret);
		ck_assert_ptr_eq(b.pass, &b.pass_val);
		ck_assert_uint_eq(b.pass->len, slen);
		if (slen > 0)
			ck_assert_ptr_eq(b.pass->p, t->secret);
		pass = t->secret;
		break;
	}
	check_reencoded(&c, &b, user, pass);
}
END_TEST

/* The secret is not NUL-terminated and may hold any byte. */
START_TEST(test_secret_bytes)
{
	static const unsigned char secret[] = { 's', 0x00, 0xff, 'x', '\r' };
	struct listener_conf l;
	struct tls_facts f;
	struct mqtt_connect c, d;
	struct mqtt_bind b;
	uint8_t pkt[256], out[256];
	size_t len;
	int n;

	memset(&l, 0, sizeof(l));
	l.mqtt_username = MQTT_USER_CN;
	l.mqtt_password = MQTT_PASS_FILE;
	facts_fill(&f, F_CERT);
	len = build(pkt, sizeof(pkt), MQTT_V311, "c1", "u", "p", false);
	ck_assert_int_eq(mqtt_connect_parse(pkt, len, MAX, &c), (int)len);
	ck_assert_int_eq(
	    mqtt_bind_judge(&l, &f, &c, secret, sizeof(secret), &b), 0);
	ck_assert_ptr_eq(b.pass, &b.pass_val);
	ck_assert_ptr_eq(b.pass->p, secret);
	ck_assert_uint_eq(b.pass->len, sizeof(secret));
	n = mqtt_connect_encode(&c, b.user, b.pass, out, sizeof(out));
	ck_assert_int_gt(n, 0);
	ck_assert_int_eq(mqtt_connect_parse(out, (size_t)n, MAX, &d), n);
	ck_assert_uint_eq(d.password.len, sizeof(secret));
	ck_assert_mem_eq(d.password.p, secret, sizeof(secret));
	/* only the first len bytes count */
	ck_assert_int_eq(mqtt_bind_judge(&l, &f, &c, secret, 1, &b), 0);
	ck_assert_uint_eq(b.pass->len, 1);
}
END_TEST

/* A long client id is quoted in why, cut short, without overflowing. */
START_TEST(test_long_id)
{
	struct listener_conf l;
	struct tls_facts f;
	struct mqtt_connect c;
	struct mqtt_bind b;
	char cid[1001];
	uint8_t pkt[2100];
	size_t len;

	memset(cid, 'x', sizeof(cid) - 1);
	cid[sizeof(cid) - 1] = '\0';
	memset(&l, 0, sizeof(l));
	l.mqtt_clientid_must_match = MQTT_CID_USERNAME;
	facts_fill(&f, F_NONE);
	len = build(pkt, sizeof(pkt), MQTT_V5, cid, "alice", NULL, false);
	ck_assert_int_eq(mqtt_connect_parse(pkt, len, MAX, &c), (int)len);
	ck_assert_int_eq(
	    mqtt_bind_judge(&l, &f, &c, NULL, 0, &b), MQTT_RC_CLIENT_ID);
	ck_assert_ptr_nonnull(memchr(b.why, '\0', sizeof(b.why)));
	ck_assert_ptr_nonnull(strstr(b.why, "'xxxx"));
	ck_assert_uint_lt(strlen(b.why), 64 + 40);
	/* the same long id matching a long username is fine */
	len = build(pkt, sizeof(pkt), MQTT_V5, cid, cid, NULL, false);
	ck_assert_int_eq(mqtt_connect_parse(pkt, len, MAX, &c), (int)len);
	ck_assert_int_eq(mqtt_bind_judge(&l, &f, &c, NULL, 0, &b), 0);
}
END_TEST

Suite *
mqtt_bind_suite(void)
{
	Suite *s = suite_create("mqtt_bind");
	TCase *tc;

	tc = tcase_create("judge");
	tcase_add_test(tc, test_build);
	tcase_add_loop_test(
	    tc, test_judge, 0, (int)(nitems(cases) * nitems(VERSIONS)));
	tcase_add_test(tc, test_secret_bytes);
	tcase_add_test(tc, test_long_id);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return unit_run(mqtt_bind_suite());
}
