#!/usr/bin/env bash
# t_crl: client certificate revocation from a static crlfile. A revoked
# leaf is refused with a certificate_revoked alert and a handshake_failed
# line while a good one reaches mosquitto; a leaf under a revoked
# intermediate is refused with crl_check = chain and let in with leaf; a
# CRL replaced at run time takes effect on SIGHUP and on the reload_interval
# check; a broken crlfile fails `mqgate -t` with file:line at start and
# keeps the previous CRLs at reload.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=crl_pki.sh
. "$(dirname "$0")/crl_pki.sh"

# --- the PKI: root -> int (good), root -> int2 (revoked by the root)

crlpki_ca root "/CN=mqgate crl test root"
crlpki_ca int "/CN=mqgate crl test int" root
crlpki_ca int2 "/CN=mqgate crl test int2" root
crlpki_client good int "/CN=crl-good"
crlpki_client good2 int "/CN=crl-good2"
crlpki_client revoked int "/CN=crl-revoked"
crlpki_client under2 int2 "/CN=crl-under2"
crlpki_revoke int "$CRLPKI/revoked.crt"
crlpki_revoke root "$CRLPKI/int2/ca.crt"

CA=$T/clients-ca.pem
cat "$CRLPKI/root/ca.crt" "$CRLPKI/int/ca.crt" "$CRLPKI/int2/ca.crt" >"$CA"

# crlfile: every CA's CRL in one PEM file, replaced by rename.
write_crls() {
	crlpki_crl root "$T/root.crl"
	crlpki_crl int "$T/int.crl"
	crlpki_crl int2 "$T/int2.crl"
	cat "$T/root.crl" "$T/int.crl" "$T/int2.crl" >"$T/crls.pem.tmp"
	mv -f "$T/crls.pem.tmp" "$T/crls.pem"
}
write_crls

# try NAME PORT: an MQTT CONNECT through mqgate with client cert NAME; true
# when the broker's CONNACK came back. TLS 1.3 (the refusal comes as an
# alert after the client's Finished, which mqtt_probe waits for).
try() {
	mqtt_probe "$2" -cert "$CRLPKI/$1.crt" -key "$CRLPKI/$1.key"
}

# accepted MSG LISTENER PORT NAME
accepted() {
	if try "$4" "$3"; then
		ok "$1: $4 accepted (CONNACK from mosquitto)"
	else
		fail "$1: $4 accepted (CONNACK from mosquitto)" "$PROBE_OUT" "$LOG"
	fi
	if wait_conn "$2" 'client_closed|upstream_closed'; then
		if [ "$(conn_field subject)" = "\"CN=crl-$4\"" ]; then
			ok "$1: the connection line says subject=\"CN=crl-$4\""
		else
			fail "$1: the connection line names CN=crl-$4 ($CONN_LINE)"
		fi
	else
		fail "$1: $4's connection line with reason=client_closed"
	fi
}

# revoked MSG LISTENER PORT NAME: refused with alert certificate_revoked.
revoked() {
	if try "$4" "$3"; then
		fail "$1: $4 refused, got a CONNACK" "$PROBE_OUT" "$LOG"
		return
	fi
	if grep -aq 'certificate revoked' "$PROBE_OUT"; then
		ok "$1: $4 refused with alert certificate revoked"
	else
		fail "$1: $4 refused with alert certificate revoked" "$PROBE_OUT"
	fi
	if wait_conn "$2" handshake_failed; then
		case $CONN_LINE in
		*revoked*) ok "$1: reason=handshake_failed, detail says revoked" ;;
		*) fail "$1: handshake_failed detail says revoked ($CONN_LINE)" ;;
		esac
	else
		fail "$1: $4's refusal logged as reason=handshake_failed"
	fi
}

start_broker
P_LEAF=$(free_port)
P_CHAIN=$(free_port)
conf() {
	conf_global "reload_interval = ${1:-0}"
	conf_listener leaf "$P_LEAF" "verify = verify_peer" \
	    "fail_if_no_peer_cert = true" "cacertfile = $CA" \
	    "crlfile = $T/crls.pem" "crl_check = leaf"
	conf_listener chain "$P_CHAIN" "verify = verify_peer" \
	    "fail_if_no_peer_cert = true" "cacertfile = $CA" \
	    "crlfile = $T/crls.pem" "crl_check = chain"
}
conf | write_conf "$T/mqgate.ini"

run_mqgate -t -c "$T/mqgate.ini"
if [ "$RC" -eq 0 ] && grep -q 'configuration OK' "$OUT" "$ERR"; then
	ok "mqgate -t loads the crlfile: configuration OK"
else
	fail "mqgate -t with a good crlfile exits 0 (rc=$RC)" "$OUT" "$ERR"
fi

start_mqgate "$T/mqgate.ini"

# --- static CRLs

log_mark
accepted "crl_check = leaf" leaf "$P_LEAF" good
log_mark
revoked "crl_check = leaf" leaf "$P_LEAF" revoked
log_mark
accepted "crl_check = chain" chain "$P_CHAIN" good
log_mark
revoked "crl_check = chain" chain "$P_CHAIN" revoked
log_mark
revoked "crl_check = chain, revoked intermediate" chain "$P_CHAIN" under2
log_mark
accepted "crl_check = leaf, revoked intermediate" leaf "$P_LEAF" under2

# TLS 1.2 and mosquitto_pub see the same refusal.
log_mark
if mqtt_probe "$P_LEAF" -tls1_2 -cert "$CRLPKI/revoked.crt" \
    -key "$CRLPKI/revoked.key"; then
	fail "TLS 1.2: revoked refused" "$PROBE_OUT"
else
	check "TLS 1.2: revoked refused with alert certificate revoked" \
	    grep -aq 'certificate revoked' "$PROBE_OUT"
fi
wait_conn leaf handshake_failed >/dev/null
topic=mqgate-test/crl/$$
if pub "$P_LEAF" "$topic" hello --cert "$CRLPKI/good.crt" \
    --key "$CRLPKI/good.key" 2>"$T/pub.err"; then
	ok "mosquitto_pub with the good certificate publishes"
else
	fail "mosquitto_pub with the good certificate publishes" "$T/pub.err"
fi
if pub "$P_LEAF" "$topic" hello --cert "$CRLPKI/revoked.crt" \
    --key "$CRLPKI/revoked.key" 2>"$T/pub.err"; then
	fail "mosquitto_pub with the revoked certificate is refused" "$T/pub.err"
else
	ok "mosquitto_pub with the revoked certificate is refused"
fi

# --- a new CRL at run time, SIGHUP

crlpki_revoke int "$CRLPKI/good2.crt"
log_mark
accepted "before the new CRL" leaf "$P_LEAF" good2
write_crls
log_mark
signal_mqgate HUP
assert_log "SIGHUP: certificates reloaded" \
    'certificates reloaded generation=[0-9]+ \(SIGHUP\)'
log_mark
revoked "after SIGHUP, good2 revoked by the new CRL" leaf "$P_LEAF" good2
log_mark
accepted "after SIGHUP" leaf "$P_LEAF" good

# --- a broken crlfile at reload keeps the previous CRLs

LINE=$(grep -n '^crlfile' "$T/mqgate.ini" | head -n 1 | cut -d: -f1)
echo "this is not a CRL" >"$T/broken.tmp"
mv -f "$T/broken.tmp" "$T/crls.pem"
log_mark
signal_mqgate HUP
assert_log "broken crlfile at reload: reported with file:line" \
    "mqgate\.ini:$LINE: crlfile: .*keeping previous"
assert_no_log "broken crlfile at reload: nothing reloaded" \
    'certificates reloaded generation='
log_mark
revoked "broken crlfile at reload: the previous CRL still applies" \
    leaf "$P_LEAF" good2
log_mark
accepted "broken crlfile at reload" leaf "$P_LEAF" good
check "mqgate still runs" pid_alive "$MQGATE_PID"
stop_mqgate

# --- reload_interval notices a new crlfile without a signal

write_crls
conf 1 | write_conf "$T/mqgate.ini"
start_mqgate "$T/mqgate.ini"
log_mark
accepted "reload_interval: before" leaf "$P_LEAF" good
crlpki_revoke int "$CRLPKI/good.crt"
log_mark
write_crls
assert_log "reload_interval: certificates reloaded after the crlfile changed" \
    'certificates reloaded generation=[0-9]+' "$(tmo 10)"
log_mark
revoked "reload_interval: good revoked by the new CRL" leaf "$P_LEAF" good
stop_mqgate

# --- a broken crlfile at start

for what in broken missing; do
	if [ $what = broken ]; then
		echo "this is not a CRL" >"$T/crls.pem"
	else
		rm -f "$T/crls.pem"
	fi
	run_mqgate -t -c "$T/mqgate.ini"
	if [ "$RC" -eq 1 ] &&
	    grep -qE "mqgate\.ini:$LINE: crlfile: " "$ERR"; then
		ok "$what crlfile: mqgate -t exits 1 with mqgate.ini:$LINE: crlfile: ..."
	else
		fail "$what crlfile: mqgate -t exits 1 with file:line (rc=$RC)" \
		    "$ERR" "$OUT"
	fi
	note "$(grep -m1 'crlfile' "$ERR")"
done
