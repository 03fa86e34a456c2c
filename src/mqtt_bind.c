/*
 * mqtt_bind: see mqtt_bind.h. Identities come only from a verified
 * certificate or the PSK actually used: a certificate that did not verify
 * names nobody.
 */
#include "build_config.h"

#include <stdio.h>
#include <string.h>

#include "mqtt_bind.h"
#include "tls_info.h"

static const char *const SOURCE_NAMES[] = {
	[MQTT_USER_CN] = "cn",
	[MQTT_USER_DN] = "dn",
	[MQTT_USER_SAN_URI] = "san_uri",
	[MQTT_USER_SAN_DNS] = "san_dns",
	[MQTT_USER_CERT_SHA256] = "cert_sha256",
	[MQTT_USER_PSK_IDENTITY] = "psk_identity",
};

/* The identity src names, or NULL with why set. */
static const char *
identity(const struct tls_facts *f, enum mqtt_user_src src, char *why,
    size_t cap)
{
	const char *v = NULL, *what = "";

	if (src == MQTT_USER_PSK_IDENTITY) {
		if (f->info.psk[0] == '\0')
			snprintf(why, cap, "no PSK identity (mqtt_username = "
					   "psk_identity)");
		return f->info.psk[0] != '\0' ? f->info.psk : NULL;
	}
	if (!f->cert) {
		snprintf(why, cap, "no client certificate (mqtt_username = %s)",
		    SOURCE_NAMES[src]);
		return NULL;
	}
	if (!f->verified) {
		snprintf(why, cap,
		    "client certificate not verified (mqtt_username = %s)",
		    SOURCE_NAMES[src]);
		return NULL;
	}
	switch (src) {
	case MQTT_USER_CN:
		/* Which of several CNs would be the name? An allowlist may
		 * have matched another: no guessing. */
		v = f->cn[0] != '\0' && f->n_cn <= 1 ? f->cn : NULL;
		/* tls_info.c leaves out a CN it cannot hold whole. */
		what = f->n_cn > 1 ? "several CNs"
		    : f->n_cn == 1 ? "a CN that is no text (a NUL byte, or no "
				     "UTF-8 form)"
				   : "no CN";
		break;
	case MQTT_USER_DN:
		v = f->dn != NULL && f->dn[0] != '\0' ? f->dn : NULL;
		what = "an empty subject";
		break;
	case MQTT_USER_SAN_URI:
		v = f->n_san_uri > 0 ? f->san_uri[0] : NULL;
		what = "no URI SAN";
		break;
	case MQTT_USER_SAN_DNS:
		v = f->n_san_dns > 0 ? f->san_dns[0] : NULL;
		what = "no DNS SAN";
		break;
	case MQTT_USER_CERT_SHA256:
		v = f->der_len > 0 ? f->sha256_hex : NULL;
		what = "no certificate";
		break;
	default:
		break;
	}
	if (v == NULL)
		snprintf(why, cap, "client certificate has %s (mqtt_username = "
				   "%s)",
		    what, SOURCE_NAMES[src]);
	return v;
}

static bool
slice_is(const struct mqtt_slice *s, const char *v)
{
	size_t n = strlen(v);

	return s->len == n && (n == 0 || memcmp(s->p, v, n) == 0);
}

/* Quote at most 64 bytes of an id for a refusal reason. */
static void
short_id(const struct mqtt_slice *s, char *buf, size_t cap)
{
	size_t n = s->len < 64 ? s->len : 64, i;

	for (i = 0; i < n && i + 1 < cap; i++)
		buf[i] = s->p[i] >= 0x20 && s->p[i] < 0x7f ? (char)s->p[i] : '?';
	buf[i] = '\0';
}

static int
check_client_id(const struct listener_conf *l, const struct tls_facts *f,
    const struct mqtt_connect *c, const struct mqtt_bind *out, char *why,
    size_t cap)
{
	const struct mqtt_slice *id = &c->client_id;
	const struct mqtt_slice *user;
	char shown[72];
	size_t i;

	if (l->mqtt_clientid_must_match == MQTT_CID_OFF)
		return 0; /* an empty id is the broker's to assign */
	if (id->len == 0) {
		snprintf(why, cap, "empty client id (mqtt_clientid_must_match)");
		return MQTT_RC_CLIENT_ID;
	}
	short_id(id, shown, sizeof(shown));
	switch (l->mqtt_clientid_must_match) {
	case MQTT_CID_CN:
		if (!f->cert || !f->verified) {
			snprintf(why, cap, "no verified client certificate "
					   "(mqtt_clientid_must_match = cn)");
			return MQTT_RC_NOT_AUTHORIZED;
		}
		if (f->n_cn > 1) {
			snprintf(why, cap, "client certificate has several CNs "
					   "(mqtt_clientid_must_match = cn)");
			return MQTT_RC_NOT_AUTHORIZED;
		}
		if (slice_is(id, f->cn))
			return 0;
		snprintf(why, cap, "client id '%s' is not the CN '%.64s'", shown,
		    f->cn);
		return MQTT_RC_CLIENT_ID;
	case MQTT_CID_SAN_URI:
		if (!f->cert || !f->verified) {
			snprintf(why, cap, "no verified client certificate "
					   "(mqtt_clientid_must_match = "
					   "san_uri)");
			return MQTT_RC_NOT_AUTHORIZED;
		}
		for (i = 0; i < f->n_san_uri; i++)
			if (slice_is(id, f->san_uri[i]))
				return 0;
		snprintf(why, cap, "client id '%s' is none of the certificate's "
				   "URI SANs",
		    shown);
		return MQTT_RC_CLIENT_ID;
	case MQTT_CID_USERNAME:
		user = out->user == &mqtt_keep ? &c->username : out->user;
		if (user != NULL && user->p != NULL && user->len == id->len &&
		    memcmp(user->p, id->p, id->len) == 0)
			return 0;
		snprintf(why, cap, "client id '%s' is not the username", shown);
		return MQTT_RC_CLIENT_ID;
	default:
		return 0;
	}
}

int
mqtt_bind_judge(const struct listener_conf *l, const struct tls_facts *f,
    const struct mqtt_connect *c, const unsigned char *secret, size_t len,
    struct mqtt_bind *out)
{
	const char *v;
	int rc;

	memset(out, 0, sizeof(*out));
	out->user = &mqtt_keep;
	out->pass = &mqtt_keep;
	if (l->mqtt_username != MQTT_USER_KEEP) {
		v = identity(f, l->mqtt_username, out->why, sizeof(out->why));
		if (v == NULL)
			return MQTT_RC_NOT_AUTHORIZED;
		out->user_val.p = (const uint8_t *)v;
		out->user_val.len = strlen(v);
		out->user = &out->user_val;
	}
	if (l->mqtt_password == MQTT_PASS_DROP) {
		out->pass = NULL;
	} else if (l->mqtt_password == MQTT_PASS_FILE) {
		out->pass_val.p = len > 0 ? secret : NULL;
		out->pass_val.len = len;
		out->pass = &out->pass_val;
	}
	rc = check_client_id(l, f, c, out, out->why, sizeof(out->why));
	if (rc != 0)
		return rc;
	if (mqtt_connect_encoded_len(c, out->user, out->pass) < 0) {
		if (c->version != MQTT_V5 && out->pass != NULL &&
		    (out->user == NULL ||
			(out->user == &mqtt_keep && c->username.p == NULL)))
			snprintf(out->why, sizeof(out->why),
			    "a password needs a username before MQTT 5 "
			    "(mqtt_password)");
		else
			snprintf(out->why, sizeof(out->why),
			    "the identity cannot be an MQTT username (not "
			    "UTF-8, or too long)");
		return MQTT_RC_NOT_AUTHORIZED;
	}
	return 0;
}
