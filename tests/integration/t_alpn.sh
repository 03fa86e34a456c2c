#!/usr/bin/env bash
# t_alpn: ALPN. A listener with alpn = mqtt, x-amzn-mqtt-ca selects a
# protocol both sides have (s_client "ALPN protocol:", the connection
# line's alpn=) and accepts clients with no overlap or no ALPN without one;
# alpn_strict refuses a client whose protocols do not overlap (alert
# no_application_protocol, detail naming alpn_strict) but accepts one that
# offers none; a listener without alpn negotiates nothing; the same holds
# on a [cert] bundle picked by SNI. TLS 1.3 and 1.2, with s_client and
# mosquitto_pub --tls-alpn.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=pki.sh
. "$(dirname "$0")/pki.sh"

# alpn_ok MSG LISTENER PORT WANT S_CLIENT_ARG...: an MQTT CONNECT gets a
# CONNACK; s_client reports protocol WANT ("-" = none negotiated) and the
# line says alpn=WANT.
alpn_ok() {
	local msg=$1 listener=$2 port=$3 want=$4 got
	shift 4
	log_mark
	if mqtt_probe "$port" "$@"; then
		ok "$msg: CONNACK"
	else
		fail "$msg: CONNACK" "$PROBE_OUT" "$LOG"
	fi
	if grep -aq '^No ALPN negotiated' "$PROBE_OUT"; then
		got=-
	else
		got=$(grep -a -m1 '^ALPN protocol: ' "$PROBE_OUT" |
		    sed 's/^ALPN protocol: //')
		got=${got:-?}
	fi
	if [ "$got" = "$want" ]; then
		ok "$msg: s_client negotiated '$got'"
	else
		fail "$msg: s_client negotiated '$got', want '$want'" "$PROBE_OUT"
	fi
	if wait_conn "$listener" 'client_closed|upstream_closed'; then
		got=$(conn_field alpn)
		check "$msg: logged alpn=$want (got alpn=$got)" [ "$got" = "$want" ]
	else
		fail "$msg: connection line with reason=client_closed|upstream_closed"
	fi
}

# alpn_refused MSG LISTENER PORT S_CLIENT_ARG...
alpn_refused() {
	local msg=$1 listener=$2 port=$3 d
	shift 3
	log_mark
	if mqtt_probe "$port" "$@"; then
		fail "$msg: refused (got a CONNACK)" "$PROBE_OUT" "$LOG"
	else
		ok "$msg: refused"
	fi
	if grep -aqiE 'no application protocol|alert number 120' "$PROBE_OUT"; then
		ok "$msg: s_client reports alert no_application_protocol"
	else
		fail "$msg: s_client reports alert no_application_protocol" \
		    "$PROBE_OUT"
	fi
	if ! wait_conn "$listener" handshake_failed; then
		fail "$msg: connection line with reason=handshake_failed"
		return
	fi
	d=$(conn_field detail)
	if grep -qF 'no common ALPN protocol (alpn_strict)' <<<"$d"; then
		ok "$msg: logged reason=handshake_failed detail=$d"
	else
		fail "$msg: detail 'no common ALPN protocol (alpn_strict)' ($CONN_LINE)"
	fi
}

# pub_alpn PORT PROTO: mosquitto_pub --tls-alpn PROTO publishes a retained
# message through mqgate; true if the broker has it.
pub_alpn() {
	local topic msg got
	SEQ=$((SEQ + 1))
	topic=alpn/$$/$SEQ
	msg=m$SEQ-$RANDOM
	pub "$1" "$topic" "$msg" -r -q 1 --tls-alpn "$2" \
	    2>"$T/pub.$SEQ.err" || return 1
	got=$(timeout -k 2 "$(tmo 10)" mosquitto_sub -h 127.0.0.1 \
	    -p "$BROKER_PORT" -t "$topic" -C 1 -W "$(tmo 5)" 2>/dev/null)
	[ "$got" = "$msg" ]
}

pki_server site ca "/CN=site" "DNS:site.example.com"
start_broker
P_ALPN=$(free_port)
P_STRICT=$(free_port)
P_NONE=$(free_port)
P_SITE=$(free_port)
{
	conf_global
	conf_listener alpn "$P_ALPN" "alpn = mqtt, x-amzn-mqtt-ca"
	conf_listener strict "$P_STRICT" "alpn = mqtt" "alpn_strict = true"
	conf_listener none "$P_NONE"
	conf_listener site "$P_SITE" "alpn = mqtt" "alpn_strict = true" \
	    "certs = site"
	echo "[cert site]"
	echo "certfile = $PKI/site.pem"
} | write_conf "$T/mqgate.ini"
start_mqgate "$T/mqgate.ini"

for v in -tls1_3 -tls1_2; do
	alpn_ok "$v alpn listener, client mqtt" alpn "$P_ALPN" mqtt \
	    -alpn mqtt "$v"
	alpn_ok "$v alpn listener, client x-amzn-mqtt-ca" alpn "$P_ALPN" \
	    x-amzn-mqtt-ca -alpn x-amzn-mqtt-ca "$v"
	alpn_ok "$v alpn listener, client foo,mqtt" alpn "$P_ALPN" mqtt \
	    -alpn foo,mqtt "$v"
	alpn_ok "$v alpn listener, client foo (no overlap)" alpn "$P_ALPN" - \
	    -alpn foo "$v"
	alpn_ok "$v alpn listener, client without ALPN" alpn "$P_ALPN" - "$v"

	alpn_ok "$v alpn_strict, client mqtt" strict "$P_STRICT" mqtt \
	    -alpn mqtt "$v"
	alpn_ok "$v alpn_strict, client foo,mqtt" strict "$P_STRICT" mqtt \
	    -alpn foo,mqtt "$v"
	alpn_ok "$v alpn_strict, client without ALPN" strict "$P_STRICT" - "$v"
	alpn_refused "$v alpn_strict, client foo" strict "$P_STRICT" \
	    -alpn foo "$v"
	alpn_refused "$v alpn_strict, client x-amzn-mqtt-ca,foo" strict \
	    "$P_STRICT" -alpn x-amzn-mqtt-ca,foo "$v"

	alpn_ok "$v no alpn, client mqtt" none "$P_NONE" - -alpn mqtt "$v"

	alpn_ok "$v bundle by SNI, client mqtt" site "$P_SITE" mqtt \
	    -alpn mqtt -servername site.example.com "$v"
	alpn_refused "$v bundle by SNI, alpn_strict, client foo" site \
	    "$P_SITE" -alpn foo -servername site.example.com "$v"
done

# Informational: whose preference wins when both offer both.
mqtt_probe "$P_ALPN" -alpn x-amzn-mqtt-ca,mqtt
note "client x-amzn-mqtt-ca,mqtt vs server mqtt,x-amzn-mqtt-ca: $(grep -a -m1 -E '^(ALPN protocol|No ALPN)' "$PROBE_OUT")"

check "mosquitto_pub --tls-alpn mqtt through the alpn listener: delivered" \
    pub_alpn "$P_ALPN" mqtt
check "mosquitto_pub --tls-alpn mqtt through alpn_strict: delivered" \
    pub_alpn "$P_STRICT" mqtt
if pub_alpn "$P_STRICT" x-other; then
	fail "mosquitto_pub --tls-alpn x-other through alpn_strict: refused (it was delivered)"
else
	ok "mosquitto_pub --tls-alpn x-other through alpn_strict: refused"
fi
stop_mqgate

# Informational: alpn_strict without alpn.
{
	conf_global
	conf_listener bad "$P_STRICT" "alpn_strict = true"
} | write_conf "$T/bad.ini"
run_mqgate -t -c "$T/bad.ini"
note "alpn_strict without alpn: mqgate -t exits $RC: $(head -n 1 "$ERR")"
