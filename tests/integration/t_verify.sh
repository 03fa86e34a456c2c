#!/usr/bin/env bash
# t_verify: client certificate verification. Every row of the table
#   verify_none                          -> no cert requested, anyone in
#   verify_peer, fail_if_no_peer_cert=0  -> no cert ok, invalid cert refused
#   verify_peer, fail_if_no_peer_cert=1  -> no cert refused, invalid refused
# against four clients (no cert, cert from another CA, expired cert, valid
# cert), with openssl s_client (TLS 1.3 and 1.2) and mosquitto_pub. A refusal
# is a reason=handshake_failed line; subject= shows the client's CN.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

start_broker
P_NONE=$(free_port)
P_PEER=$(free_port)
P_STRICT=$(free_port)
{
	conf_global
	conf_listener none "$P_NONE" "verify = verify_none" \
	    "cacertfile = $CERTS/ca.crt"
	conf_listener peer "$P_PEER" "verify = verify_peer" \
	    "cacertfile = $CERTS/ca.crt" "fail_if_no_peer_cert = false"
	conf_listener strict "$P_STRICT" "verify = verify_peer" \
	    "cacertfile = $CERTS/ca.crt" "fail_if_no_peer_cert = true"
} | write_conf "$T/mqgate.ini"
start_mqgate "$T/mqgate.ini"

NCONN=0

# After a client is done: the one connection line it caused must say what
# we expect. want is accept or reject.
expect_conn_line() {
	local what=$1 listener=$2 cert=$3 want=$4 subj detail
	if [ "$want" = reject ]; then
		if ! wait_conn "$listener" handshake_failed; then
			fail "$what: refusal logged as reason=handshake_failed"
			return
		fi
		detail=$(conn_field detail)
		if [ -n "$detail" ] && [ "$detail" != '""' ]; then
			ok "$what: reason=handshake_failed detail=$detail"
		else
			fail "$what: handshake_failed line has a detail= ($CONN_LINE)"
		fi
		return
	fi
	if ! wait_conn "$listener" 'client_closed|upstream_closed'; then
		fail "$what: connection line with reason=client_closed|upstream_closed"
		return
	fi
	subj=$(conn_field subject)
	if [ "$cert" = client ] && [ "$listener" != none ]; then
		case $subj in
		*client1*) ok "$what: logged subject=$subj" ;;
		*) fail "$what: logged subject shows CN client1 ($CONN_LINE)" ;;
		esac
	else
		check "$what: logged subject=- (got '$subj')" [ "$subj" = - ]
	fi
}

# row LISTENER PORT CERT WANT: s_client (TLS 1.3, TLS 1.2) and mosquitto_pub.
row() {
	local listener=$1 port=$2 cert=$3 want=$4 copt=() v got what
	[ "$cert" = none ] || copt=(-c "$cert")
	for v in -tls1_3 -tls1_2; do
		what="s_client $v cert=$cert -> $listener"
		log_mark
		if mqtt_probe "${copt[@]}" "$port" "$v"; then
			got=accept
		else
			got=reject
		fi
		NCONN=$((NCONN + 1))
		if [ "$got" = "$want" ]; then
			ok "$what: ${want}ed"
		else
			fail "$what: want $want, got $got" "$PROBE_OUT" "$LOG"
		fi
		expect_conn_line "$what" "$listener" "$cert" "$want"
	done

	what="mosquitto_pub cert=$cert -> $listener"
	log_mark
	if deliver "${copt[@]}" "$port"; then
		got=accept
	else
		got=reject
	fi
	NCONN=$((NCONN + 1))
	if [ "$got" = "$want" ]; then
		ok "$what: ${want}ed"
	else
		fail "$what: want $want, got $got" "$DELIVER_ERR" "$LOG"
	fi
	expect_conn_line "$what" "$listener" "$cert" "$want"
}

row none "$P_NONE" none accept
row none "$P_NONE" client-other accept
row none "$P_NONE" client-expired accept
row none "$P_NONE" client accept

row peer "$P_PEER" none accept
row peer "$P_PEER" client-other reject
row peer "$P_PEER" client-expired reject
row peer "$P_PEER" client accept

row strict "$P_STRICT" none reject
row strict "$P_STRICT" client-other reject
row strict "$P_STRICT" client-expired reject
row strict "$P_STRICT" client accept

# --- certificate request and CA names

mqtt_probe "$P_NONE"
NCONN=$((NCONN + 1))
if grep -aq 'No client certificate CA names sent' "$PROBE_OUT" &&
    ! grep -aq 'Acceptable client certificate CA names' "$PROBE_OUT" &&
    ! grep -aq 'Requested Signature Algorithms' "$PROBE_OUT"; then
	ok "verify_none: no certificate request, no CA names"
else
	fail "verify_none: no certificate request, no CA names" "$PROBE_OUT"
fi

for l in peer strict; do
	port=$P_PEER
	[ $l = strict ] && port=$P_STRICT
	mqtt_probe "$port"
	NCONN=$((NCONN + 1))
	if grep -aA3 'Acceptable client certificate CA names' "$PROBE_OUT" |
	    grep -q 'mqgate demo root CA'; then
		ok "verify_peer ($l): the CA names sent name the demo root CA"
	else
		fail "verify_peer ($l): the CA names sent name the demo root CA" \
		    "$PROBE_OUT"
	fi
done

# --- one connection line per connection, and a clean stop

wait_for "$(tmo 10)" eval "[ \$(LOG_MARK=0 log_count ' conn=[^ ]+ client=') -ge $NCONN ]"
LOG_MARK=0
n=$(log_count ' conn=[^ ]+ client=')
check "exactly one connection line per connection ($n lines, $NCONN connections)" \
    [ "$n" -eq "$NCONN" ]
stop_mqgate
