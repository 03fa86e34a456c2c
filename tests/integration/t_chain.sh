#!/usr/bin/env bash
# t_chain: the server sends its intermediate. With certfile = leaf + int
# (server.pem) a client that trusts only the root verifies a depth-2 chain,
# over IPv4 and IPv6, with s_client and mosquitto_pub. With certfile = the
# bare leaf the same clients fail, which shows the chain is what matters.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

start_broker
P=$(free_port)
P6=$(free_port)
P_LEAF=$(free_port)
BINDS=("bind = 127.0.0.1:$P")
have_ipv6 && BINDS+=("bind = [::1]:$P6")
{
	conf_global
	conf_listener full - "${BINDS[@]}"
	conf_listener leaf "$P_LEAF" "certfile = $CERTS/server.crt"
} | write_conf "$T/mqgate.ini"
start_mqgate "$T/mqgate.ini"

VERIFY=(-verify_return_error -verify_hostname localhost)

chain_ok() {
	local what=$1
	if [ "$PROBE_RC" -ne 124 ] && has_connack "$PROBE_OUT"; then
		ok "$what: verified handshake, CONNACK received"
	else
		fail "$what: verified handshake, CONNACK received" "$PROBE_OUT"
	fi
	check "$what: Verify return code: 0 (ok)" \
	    grep -aq 'Verify return code: 0 (ok)' "$PROBE_OUT"
	check "$what: chain verified to depth 2 (root)" \
	    grep -aqE '^depth=2 .*mqgate demo root CA' "$PROBE_OUT"
	check "$what: server sent leaf and intermediate" \
	    eval "grep -aqE '^ 0 s:.*CN ?= ?localhost' '$PROBE_OUT' &&
		grep -aqE '^ 1 s:.*mqgate demo intermediate CA' '$PROBE_OUT'"
}

mqtt_probe "$P" "${VERIFY[@]}"
chain_ok "IPv4 s_client -CAfile ca.crt"
check "IPv4 mosquitto_pub --cafile ca.crt delivers" deliver "$P"

if have_ipv6; then
	MQ_HOST=::1
	mqtt_probe "$P6" "${VERIFY[@]}"
	chain_ok "IPv6 s_client -CAfile ca.crt"
	check "IPv6 mosquitto_pub --cafile ca.crt delivers" deliver "$P6"
	MQ_HOST=127.0.0.1
	wait_log " conn=[^ ]+ client=\[?::1\]?:[0-9]+ listener=full " ||
	    fail "IPv6 connection logged with its ::1 client address"
else
	note "no IPv6 loopback here: IPv6 checks skipped"
fi

# Leaf only: the root alone cannot verify it.
log_mark
if mqtt_probe "$P_LEAF" "${VERIFY[@]}"; then
	fail "leaf-only certfile: s_client -verify_return_error refuses" \
	    "$PROBE_OUT"
else
	ok "leaf-only certfile: s_client -verify_return_error refuses"
fi
check "leaf-only certfile: s_client names the missing issuer" \
    grep -qE 'unable to (get local issuer certificate|verify the first certificate)' \
    "$PROBE_OUT"
if deliver "$P_LEAF"; then
	fail "leaf-only certfile: mosquitto_pub refuses" "$DELIVER_ERR"
else
	ok "leaf-only certfile: mosquitto_pub refuses"
fi
stop_mqgate
