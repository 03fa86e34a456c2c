/*
 * conn_mqtt: the client's CONNECT, for identity binding and for balance =
 * clientid. After the handshake the client's bytes stay in its input
 * buffer until the first packet is a whole CONNECT; mqtt.c parses it,
 * mqtt_bind.c judges it, and this file either keeps the rewritten CONNECT
 * for the upstream (everything after it is spliced untouched; without
 * binding the CONNECT itself goes as it came) or answers with the CONNACK
 * an MQTT server would.
 */
#include "build_config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>

#include "balance.h"
#include "conn_priv.h"
#include "listener.h"
#include "mqtt.h"
#include "mqtt_bind.h"
#include "tls_ctx.h"
#include "tls_info.h"

/* The longest username or client id kept for the log line. */
#define IDS_MAX 256

static void
malformed(struct conn *c, const struct mqtt_connect *mc, int err)
{
	char detail[160];

	snprintf(detail, sizeof(detail), "malformed CONNECT: %s",
	    mqtt_strerror(err));
	/* MQTT 5 says why; before 5 the answer to a malformed packet is to
	 * close the connection. */
	conn_refuse_connack(c, mc->version == MQTT_V5 ? MQTT_V5 : 0,
	    (uint8_t)mqtt_err_reason(err), CONN_R_MQTT_MALFORMED, detail);
}

/* How many bytes of s the log line keeps (at most IDS_MAX). */
static size_t
id_len(const struct mqtt_slice *s)
{
	size_t n = s != NULL && s->p != NULL ? s->len : 0;

	return n < IDS_MAX ? n : IDS_MAX;
}

/* Copy id_len(s) bytes of s, NUL-free, to p. */
static char *
put_id(char *p, const struct mqtt_slice *s)
{
	size_t i, n = id_len(s);

	for (i = 0; i < n; i++)
		*p++ = s->p[i] != 0 ? (char)s->p[i] : '?';
	*p++ = '\0';
	return p;
}

/* "username\0client id\0" for the log line: the username that goes
 * upstream, "" when none. */
static void
keep_ids(struct conn *c, const struct mqtt_connect *mc,
    const struct mqtt_bind *b)
{
	const struct mqtt_slice *user = b->user == &mqtt_keep ? &mc->username
							      : b->user;
	char *p;

	free(c->mqtt_ids);
	/* Sized to what it holds: idle connections keep it. */
	c->mqtt_ids = malloc(id_len(user) + id_len(&mc->client_id) + 2);
	if (c->mqtt_ids == NULL)
		return; /* the log line shows "-" */
	p = put_id(c->mqtt_ids, user);
	put_id(p, &mc->client_id);
}

void
conn_mqtt_read(struct conn *c)
{
	const struct listener_conf *l = c->ls->conf;
	struct evbuffer *in = bufferevent_get_input(c->cbev);
	size_t len = evbuffer_get_length(in), max = (size_t)l->mqtt_max_connect;
	const unsigned char *secret = NULL;
	size_t secret_len = 0;
	struct mqtt_connect mc;
	struct mqtt_bind b;
	uint8_t *p;
	int r, n;

	if (len == 0)
		return;
	/* Parse the whole packet only once it is all here, not on every
	 * record of a slow sender (that would cost the square of its size).
	 * The fixed header alone says how long it is, or that it is no
	 * CONNECT at all. */
	p = evbuffer_pullup(in, (ev_ssize_t)(len < 5 ? len : 5));
	if (p == NULL) {
		conn_close(c, CONN_R_CLIENT_ERROR, "out of memory");
		return;
	}
	r = mqtt_connect_total(p, len < 5 ? len : 5, max);
	if (r == 0 || (r > 0 && (size_t)r > len))
		return; /* more to come, within mqtt_connect_timeout */
	if (r > 0)
		len = (size_t)r;
	else if (len > max)
		len = max + 1; /* for the error, and the level if it is there */
	p = evbuffer_pullup(in, (ev_ssize_t)len);
	if (p == NULL) {
		conn_close(c, CONN_R_CLIENT_ERROR, "out of memory");
		return;
	}
	r = mqtt_connect_parse(p, len, max, &mc);
	if (r == 0)
		return; /* more to come, within mqtt_connect_timeout */
	if (r < 0) {
		malformed(c, &mc, r);
		return;
	}
	c->mqtt_version = (uint8_t)mc.version;
	/* balance = clientid: the id picks the server; an empty one leaves
	 * it to the client's address (conn_upstream.c). */
	if (mc.client_id.len > 0) {
		c->key = balance_hash(mc.client_id.p, mc.client_id.len);
		c->have_key = true;
	}
	if (!listener_binds_mqtt(l)) {
		/* Only looked at: it goes upstream as it came. */
		memset(&b, 0, sizeof(b));
		b.user = &mqtt_keep;
		keep_ids(c, &mc, &b);
		conn_start_upstream(c);
		return;
	}
	if (c->facts == NULL &&
	    (c->facts = tls_facts_get(bufferevent_openssl_get_ssl(c->cbev))) ==
		NULL) {
		conn_close(c, CONN_R_CLIENT_ERROR, "out of memory");
		return;
	}
	if (l->mqtt_password == MQTT_PASS_FILE)
		tls_ctx_mqtt_password(c->lctx, &secret, &secret_len);
	r = mqtt_bind_judge(l, c->facts, &mc, secret, secret_len, &b);
	keep_ids(c, &mc, &b);
	if (r != 0) {
		conn_refuse_connack(c, mc.version, (uint8_t)r,
		    CONN_R_MQTT_REFUSED, b.why);
		return;
	}
	n = mqtt_connect_encoded_len(&mc, b.user, b.pass);
	free(c->connect);
	c->connect = n > 0 ? malloc((size_t)n) : NULL;
	if (c->connect == NULL ||
	    mqtt_connect_encode(&mc, b.user, b.pass, c->connect, (size_t)n) !=
		n) {
		conn_close(c, CONN_R_CLIENT_ERROR, "out of memory");
		return;
	}
	c->connect_len = (size_t)n;
	/* The rest of the stream goes as it came. */
	evbuffer_drain(in, mc.pkt_len);
	conn_start_upstream(c);
}
