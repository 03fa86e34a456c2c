/*
 * mqtt_bind: identity binding's judgement, as pure code: given a
 * listener's mqtt_* settings, what TLS established (struct tls_facts, plain
 * data) and the client's parsed CONNECT, decide what username and password
 * go upstream, or why the client is refused and with which CONNACK reason.
 * conn_mqtt.c does the reading and writing.
 */
#ifndef MQGATE_MQTT_BIND_H
#define MQGATE_MQTT_BIND_H

#include <stddef.h>

#include "config.h"
#include "mqtt.h"

struct tls_facts;

struct mqtt_bind {
	/* For mqtt_connect_encode: &mqtt_keep, NULL (remove) or &*_val. */
	const struct mqtt_slice *user, *pass;
	struct mqtt_slice user_val, pass_val; /* borrowed from the inputs */
	char why[256]; /* on refusal: for the log line */
};

/*
 * Judge c for listener l. secret is mqtt_password = file:'s content (len
 * bytes; may be empty). Returns 0 (go on with out->user/out->pass), or the
 * MQTT 5 reason to refuse with: MQTT_RC_NOT_AUTHORIZED (0x87) when the
 * identity the listener binds is missing (no verified certificate, no such
 * field in it, no PSK) or cannot be an MQTT username, MQTT_RC_CLIENT_ID
 * (0x85) when mqtt_clientid_must_match is on and the client id is empty or
 * does not match. out->why says why.
 */
int mqtt_bind_judge(const struct listener_conf *l, const struct tls_facts *f,
    const struct mqtt_connect *c, const unsigned char *secret, size_t len,
    struct mqtt_bind *out);

#endif
