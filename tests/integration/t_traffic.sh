#!/usr/bin/env bash
# t_traffic: MQTT through mqgate end to end with the real mosquitto clients.
#   one-way TLS     mosquitto_sub receives what mosquitto_pub publishes
#   mutual TLS      the same with client certificates; subject= shows CN
#   1 MiB payload   arrives byte for byte; the publisher's and the
#                   subscriber's connection lines carry tls=, cipher=,
#                   upstream=, in=/out= matching the MQTT traffic, and
#                   reason=client_closed
#   IPv6            a listener on [::1]
#   two binds       one listener accepting on two addresses
. "$(dirname "$0")/lib.sh"
require stdbuf

start_broker
P_TLS=$(free_port)
P_MTLS=$(free_port)
P_V6=$(free_port)
P_DUAL1=$(free_port)
P_DUAL2=$(free_port)

HAVE_V6=0
"$PY" -c 'import socket; socket.socket(socket.AF_INET6).bind(("::1", 0))' \
    2>/dev/null && HAVE_V6=1
# The second address of the two-bind listener: [::1] when we have it.
DUAL2_HOST=127.0.0.1
DUAL2_BIND=127.0.0.1:$P_DUAL2
if [ "$HAVE_V6" = 1 ]; then
	DUAL2_HOST=::1
	DUAL2_BIND="[::1]:$P_DUAL2"
fi

{
	conf_global
	conf_listener tls "$P_TLS"
	conf_listener mtls "$P_MTLS" "verify = verify_peer" \
	    "cacertfile = $CERTS/ca.crt" "fail_if_no_peer_cert = true"
	if [ "$HAVE_V6" = 1 ]; then
		conf_listener v6 - "bind = [::1]:$P_V6"
	fi
	conf_listener dual - "bind = 127.0.0.1:$P_DUAL1" "bind = $DUAL2_BIND"
} | write_conf "$T/mqgate.ini"
start_mqgate "$T/mqgate.ini"

# Client helpers of our own: lib.sh's pub/sub do not take -f or -h.
# msub HOST PORT TOPIC OUT [ARG...]: mosquitto_sub -d in the background,
# one message; sets SUB_PID. OUT gets its stdout (debug lines + message).
msub() {
	local host=$1 port=$2 topic=$3 out=$4
	shift 4
	# Line-buffered, so that "received SUBACK" shows up when it happens.
	timeout -k 2 "$(tmo 15)" stdbuf -oL mosquitto_sub -h "$host" \
	    -p "$port" --cafile "$CERTS/ca.crt" -V mqttv311 -t "$topic" -C 1 \
	    -W "$(tmo 12)" -d "$@" >"$out" 2>&1 &
	SUB_PID=$!
}

# mpub HOST PORT TOPIC [ARG...]: mosquitto_pub in the foreground.
mpub() {
	local host=$1 port=$2 topic=$3
	shift 3
	timeout -k 2 "$(tmo 15)" mosquitto_pub -h "$host" -p "$port" \
	    --cafile "$CERTS/ca.crt" -V mqttv311 -t "$topic" "$@"
}

suback_seen() {
	grep -q 'received SUBACK' "$1" || ! pid_alive "$2"
}

# roundtrip WHAT HOST PORT [CERT-ARGS...]: a live (not retained) message
# from mosquitto_pub to mosquitto_sub, both through mqgate on HOST:PORT.
roundtrip() {
	local what=$1 host=$2 port=$3 topic msg out rc
	shift 3
	SEQ=$((SEQ + 1))
	topic=mqgate-test/$$/rt$SEQ
	msg=hello-$SEQ-$RANDOM$RANDOM
	out=$T/sub.$SEQ.out
	: >"$out"
	msub "$host" "$port" "$topic" "$out" "$@"
	if ! wait_for "$(tmo 10)" suback_seen "$out" "$SUB_PID" ||
	    ! grep -q 'received SUBACK' "$out"; then
		fail "$what: mosquitto_sub subscribed through mqgate" "$out" "$LOG"
		kill "$SUB_PID" 2>/dev/null
		wait "$SUB_PID" 2>/dev/null
		return 1
	fi
	mpub "$host" "$port" "$topic" -m "$msg" "$@" 2>"$out.pub"
	rc=$?
	check "$what: mosquitto_pub through mqgate exits 0 (rc=$rc)" [ "$rc" -eq 0 ]
	wait "$SUB_PID"
	rc=$?
	if [ "$rc" -eq 0 ] && grep -qx -- "$msg" "$out"; then
		ok "$what: mosquitto_sub receives the message"
	else
		fail "$what: mosquitto_sub receives the message (rc=$rc)" "$out" \
		    "$out.pub" "$LOG"
		return 1
	fi
}

# n_conn LISTENER: connection lines of LISTENER since the mark.
n_conn() {
	log_count "$(conn_re "$1" '[a-z_]+')"
}

n_conn_ge() {
	[ "$(n_conn "$1")" -ge "$2" ]
}

# ---- one-way TLS
log_mark
roundtrip "one-way TLS" "$MQ_HOST" "$P_TLS"
wait_for "$(tmo 10)" n_conn_ge tls 2
check "one-way TLS: two connection lines (pub + sub), got $(n_conn tls)" \
    [ "$(n_conn tls)" -eq 2 ]
n=$(log_since | grep -E "$(conn_re tls '[a-z_]+')" | grep -c ' subject=- ')
check "one-way TLS: no client certificate, subject=- ($n of 2)" [ "$n" -eq 2 ]

# ---- mutual TLS
log_mark
CERT_ARGS=(--cert "$CERTS/client.crt" --key "$CERTS/client.key")
roundtrip "mutual TLS" "$MQ_HOST" "$P_MTLS" "${CERT_ARGS[@]}"
wait_for "$(tmo 10)" n_conn_ge mtls 2
check "mutual TLS: two connection lines (pub + sub), got $(n_conn mtls)" \
    [ "$(n_conn mtls)" -eq 2 ]
n=$(log_since | grep -E "$(conn_re mtls '[a-z_]+')" |
    grep -cE ' subject=("[^"]*)?CN=client1[," ]')
check "mutual TLS: both lines show subject= with CN=client1 ($n of 2)" \
    [ "$n" -eq 2 ]
# And without a certificate the same listener refuses to relay anything.
if mpub "$MQ_HOST" "$P_MTLS" mqgate-test/$$/nocert -m x \
    >"$T/nocert.out" 2>&1; then
	fail "mutual TLS: mosquitto_pub without a certificate is refused" \
	    "$T/nocert.out"
else
	ok "mutual TLS: mosquitto_pub without a certificate is refused"
fi

# ---- 1 MiB random payload, byte for byte, and the byte counts
PAYLOAD=$T/payload.bin
head -c $((1024 * 1024)) /dev/urandom >"$PAYLOAD"
SIZE=$(wc -c <"$PAYLOAD")
TOPIC=mqgate-test/$$/big
log_mark
# Retained, so that the subscriber that comes afterwards gets it: the two
# connections are then one after the other and each has its own line.
if mpub "$MQ_HOST" "$P_TLS" "$TOPIC" -r -f "$PAYLOAD" 2>"$T/bigpub.err"; then
	ok "1 MiB: mosquitto_pub -f through mqgate exits 0"
else
	fail "1 MiB: mosquitto_pub -f through mqgate exits 0" "$T/bigpub.err"
fi
if wait_conn tls '[a-z_]+'; then
	PUB_LINE=$CONN_LINE
	ok "1 MiB: publisher's connection line logged"
else
	PUB_LINE=
	fail "1 MiB: publisher's connection line logged"
fi
log_mark
timeout -k 2 "$(tmo 15)" mosquitto_sub -h "$MQ_HOST" -p "$P_TLS" \
    --cafile "$CERTS/ca.crt" -V mqttv311 -t "$TOPIC" -C 1 -N \
    -W "$(tmo 12)" >"$T/big.out" 2>"$T/bigsub.err"
check "1 MiB: mosquitto_sub through mqgate exits 0" [ $? -eq 0 ]
check "1 MiB: the payload arrives byte for byte (cmp)" \
    cmp -s "$PAYLOAD" "$T/big.out"
if wait_conn tls '[a-z_]+'; then
	SUB_LINE=$CONN_LINE
	ok "1 MiB: subscriber's connection line logged"
else
	SUB_LINE=
	fail "1 MiB: subscriber's connection line logged"
fi

# MQTT 3.1.1 sizes: CONNACK is 4 bytes; the PUBLISH carries the payload
# plus its fixed header (1 + 3-byte length), the topic and its 2-byte
# length. CONNECT, SUBSCRIBE, SUBACK and DISCONNECT are small: allow 1 KiB.
PUBLISH_LEN=$((SIZE + 1 + 3 + 2 + ${#TOPIC}))
in_range() {
	[ -n "$1" ] && [ "$1" -ge "$2" ] && [ "$1" -le "$3" ]
}
CONN_LINE=$PUB_LINE
note "publisher: $CONN_LINE"
check "1 MiB publisher: tls=TLSv1.3 (got $(conn_field tls))" \
    [ "$(conn_field tls)" = TLSv1.3 ]
check "1 MiB publisher: a cipher is logged (got $(conn_field cipher))" \
    grep -qE '^TLS_[A-Z0-9_]+$' <<<"$(conn_field cipher)"
check "1 MiB publisher: upstream=127.0.0.1:$BROKER_PORT (got $(conn_field upstream))" \
    [ "$(conn_field upstream)" = "127.0.0.1:$BROKER_PORT" ]
check "1 MiB publisher: in=$(conn_field in) is the PUBLISH ($PUBLISH_LEN) plus CONNECT/DISCONNECT (> 1 MiB)" \
    in_range "$(conn_field in)" "$PUBLISH_LEN" $((PUBLISH_LEN + 1024))
check "1 MiB publisher: out=4, the CONNACK (got $(conn_field out))" \
    [ "$(conn_field out)" = 4 ]
check "1 MiB publisher: reason=client_closed (got $(conn_field reason))" \
    [ "$(conn_field reason)" = client_closed ]

CONN_LINE=$SUB_LINE
note "subscriber: $CONN_LINE"
check "1 MiB subscriber: tls=TLSv1.3 (got $(conn_field tls))" \
    [ "$(conn_field tls)" = TLSv1.3 ]
check "1 MiB subscriber: a cipher is logged (got $(conn_field cipher))" \
    grep -qE '^TLS_[A-Z0-9_]+$' <<<"$(conn_field cipher)"
check "1 MiB subscriber: upstream=127.0.0.1:$BROKER_PORT (got $(conn_field upstream))" \
    [ "$(conn_field upstream)" = "127.0.0.1:$BROKER_PORT" ]
check "1 MiB subscriber: out=$(conn_field out) is the PUBLISH ($PUBLISH_LEN) plus CONNACK/SUBACK" \
    in_range "$(conn_field out)" $((PUBLISH_LEN + 4 + 5)) $((PUBLISH_LEN + 1024))
check "1 MiB subscriber: in=$(conn_field in) is CONNECT/SUBSCRIBE/DISCONNECT (< 1 KiB)" \
    in_range "$(conn_field in)" $((2 + 2)) 1024
# mosquitto_sub sends DISCONNECT and only closes on its next loop turn;
# the broker closes on DISCONNECT too, and its FIN can reach mqgate before
# the client's close_notify (a third of the runs here). Either is a clean
# end; the publisher above closes right behind its DISCONNECT.
check "1 MiB subscriber: reason=client_closed or upstream_closed (got $(conn_field reason))" \
    grep -qxE 'client_closed|upstream_closed' <<<"$(conn_field reason)"

# ---- IPv6
if [ "$HAVE_V6" = 1 ]; then
	log_mark
	roundtrip "IPv6 listener [::1]:$P_V6" ::1 "$P_V6"
	wait_for "$(tmo 10)" n_conn_ge v6 2
	n=$(log_since | grep -E "$(conn_re v6 '[a-z_]+')" |
	    grep -cF " client=[::1]:")
	check "IPv6: connection lines show client=[::1]:port ($n of 2)" \
	    [ "$n" -eq 2 ]
else
	note "no ::1 on this host: IPv6 listener not tested"
fi

# ---- one listener, two bind lines
log_mark
roundtrip "two binds: first address 127.0.0.1:$P_DUAL1" 127.0.0.1 "$P_DUAL1"
roundtrip "two binds: second address $DUAL2_BIND" "$DUAL2_HOST" "$P_DUAL2"
wait_for "$(tmo 10)" n_conn_ge dual 4
check "two binds: four connection lines for listener dual (got $(n_conn dual))" \
    [ "$(n_conn dual)" -eq 4 ]

stop_mqgate
