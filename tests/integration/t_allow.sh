#!/usr/bin/env bash
# t_allow: client-certificate allowlists. allow_cn, allow_ou, allow_san_dns
# and allow_san_uri are glob lists; a verified certificate must match one
# pattern of every key that is set. A refusal fails the handshake (TLS 1.3
# and 1.2) with a connection line that names the certificate and the rule;
# a [cert] bundle's list overrides the listener's on its names. What
# s_client reports (the spec's access_denied) is printed as a note.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=pki.sh
. "$(dirname "$0")/pki.sh"

# Client certificates, all signed by the demo root the listeners trust.
pki_client sensor ca "/CN=sensor-01/OU=sensors" \
    "DNS:sensor-01.devices.example.com,URI:spiffe://example.com/sensor/01"
pki_client cam ca "/CN=cam-07/OU=cameras" \
    "DNS:cam-07.devices.example.com,URI:spiffe://example.com/camera/07"
pki_client gw ca "/CN=gw-1/OU=ops/OU=gateways" \
    "DNS:gw-1.edge.example.net,DNS:gw-1.devices.example.com"
pki_client plain ca "/CN=plain-1/OU=sensors"
cp "$CERTS/client.crt" "$CERTS/client.key" "$PKI/"          # CN=client1
cp "$CERTS/client-other.crt" "$CERTS/client-other.key" "$PKI/" # other CA
pki_server camsrv ca "/CN=cams" "DNS:cams.example.com"

# try MSG LISTENER PORT CLIENT WANT(accept|reject) RULE_RE S_CLIENT_ARG...:
# CLIENT (a base name in $PKI) connects with TLS 1.3 and 1.2. On accept
# the line shows its CN in subject=; on reject the line is
# reason=handshake_failed naming the certificate's CN and matching
# RULE_RE.
try() {
	local msg=$1 listener=$2 port=$3 client=$4 want=$5 rule=$6 cn v got
	local what d
	shift 6
	cn=$(pki_cn "$PKI/$client.crt")
	for v in -tls1_3 -tls1_2; do
		what="$msg: $client ($cn) $v"
		log_mark
		if mqtt_probe "$port" -cert "$PKI/$client.crt" \
		    -key "$PKI/$client.key" "$v" "$@"; then
			got=accept
		else
			got=reject
		fi
		if [ "$got" = "$want" ]; then
			ok "$what: ${want}ed"
		else
			fail "$what: want $want, got $got" "$PROBE_OUT" "$LOG"
		fi
		if [ "$want" = accept ]; then
			if wait_conn "$listener" 'client_closed|upstream_closed'; then
				d=$(conn_field subject)
				check "$what: logged subject=$d" \
				    grep -qF "CN=$cn" <<<"$d"
			else
				fail "$what: connection line with reason=client_closed|upstream_closed"
			fi
			continue
		fi
		if ! wait_conn "$listener" handshake_failed; then
			fail "$what: connection line with reason=handshake_failed"
			continue
		fi
		d=$(conn_field detail)
		if grep -qE -- "$rule" <<<"$d"; then
			ok "$what: the refusal names the rule: detail=$d"
		else
			fail "$what: detail matching /$rule/ ($CONN_LINE)"
		fi
		if grep -qF -- "$cn" <<<"$CONN_LINE"; then
			ok "$what: the refusal names the certificate ($cn)"
		elif [[ $rule != *allow_* ]]; then
			# Not an allowlist refusal: naming it is not required.
			note "$what: the refusal line does not name $cn"
		else
			fail "$what: the refusal line names the certificate's CN $cn ($CONN_LINE)"
		fi
		if grep -aqi 'access denied' "$PROBE_OUT"; then
			note "$what: s_client reports 'access denied'"
		else
			note "$what: s_client reports: $(grep -aoE 'alert [a-z ]+|SSL alert number [0-9]+' "$PROBE_OUT" | sort -u | tr '\n' ';')"
		fi
	done
}

# deliver_pki CLIENT PORT: mosquitto_pub with $PKI/CLIENT.crt publishes a
# retained message through mqgate; true if the broker has it.
deliver_pki() {
	local topic msg got
	SEQ=$((SEQ + 1))
	topic=allow/$$/$SEQ
	msg=m$SEQ-$RANDOM
	pub "$2" "$topic" "$msg" -r -q 1 --cert "$PKI/$1.crt" \
	    --key "$PKI/$1.key" 2>"$T/pub.$SEQ.err" || return 1
	got=$(timeout -k 2 "$(tmo 10)" mosquitto_sub -h 127.0.0.1 \
	    -p "$BROKER_PORT" -t "$topic" -C 1 -W "$(tmo 5)" 2>/dev/null)
	[ "$got" = "$msg" ]
}

start_broker
P_CN=$(free_port)
P_OU=$(free_port)
P_DNS=$(free_port)
P_URI=$(free_port)
P_ALL=$(free_port)
P_BUN=$(free_port)
P_OPT=$(free_port)
P_BONLY=$(free_port)
PEER=("verify = verify_peer" "fail_if_no_peer_cert = true"
    "cacertfile = $CERTS/ca.crt")
{
	conf_global
	conf_listener cn "$P_CN" "${PEER[@]}" "allow_cn = sensor-*, gw-?"
	conf_listener ou "$P_OU" "${PEER[@]}" "allow_ou = sensors, gate*"
	conf_listener dns "$P_DNS" "${PEER[@]}" \
	    "allow_san_dns = *.devices.example.com"
	conf_listener uri "$P_URI" "${PEER[@]}" \
	    "allow_san_uri = spiffe://example.com/sensor/*"
	conf_listener all "$P_ALL" "${PEER[@]}" "allow_cn = *-01, cam-*" \
	    "allow_ou = sensors"
	conf_listener bundle "$P_BUN" "${PEER[@]}" "allow_cn = sensor-*" \
	    "certs = cams"
	conf_listener bonly "$P_BONLY" "${PEER[@]}" "certs = cams"
	conf_listener optional "$P_OPT" "verify = verify_peer" \
	    "fail_if_no_peer_cert = false" "cacertfile = $CERTS/ca.crt" \
	    "allow_cn = sensor-*"
	cat <<EOF
[cert cams]
certfile = $PKI/camsrv.pem
allow_cn = cam-*
EOF
} | write_conf "$T/mqgate.ini"
run_mqgate -t -c "$T/mqgate.ini"
check "mqgate -t accepts the allowlists (rc $RC)" [ "$RC" -eq 0 ]
start_mqgate "$T/mqgate.ini"

CN_RULE="CN 'cam-07' matches no allow_cn pattern"
try "allow_cn" cn "$P_CN" sensor accept ''
try "allow_cn" cn "$P_CN" gw accept ''
try "allow_cn" cn "$P_CN" cam reject "$CN_RULE"
try "allow_cn" cn "$P_CN" client reject \
    "CN 'client1' matches no allow_cn pattern"
try "allow_cn, another CA (verification fails first)" cn "$P_CN" \
    client-other reject 'verify|issuer'

try "allow_ou" ou "$P_OU" sensor accept ''
try "allow_ou (second OU of two)" ou "$P_OU" gw accept ''
try "allow_ou" ou "$P_OU" cam reject \
    "OU 'cameras' matches no allow_ou pattern"
try "allow_ou (no OU)" ou "$P_OU" client reject 'OU.*allow_ou'

try "allow_san_dns" dns "$P_DNS" sensor accept ''
try "allow_san_dns" dns "$P_DNS" cam accept ''
try "allow_san_dns (second DNS SAN of two)" dns "$P_DNS" gw accept ''
try "allow_san_dns (no SAN)" dns "$P_DNS" plain reject 'DNS.*allow_san_dns'

try "allow_san_uri" uri "$P_URI" sensor accept ''
try "allow_san_uri" uri "$P_URI" cam reject \
    "'spiffe://example.com/camera/07' matches no allow_san_uri pattern"
try "allow_san_uri (no URI SAN)" uri "$P_URI" gw reject 'URI.*allow_san_uri'

try "allow_cn + allow_ou" all "$P_ALL" sensor accept ''
try "allow_cn + allow_ou (OU fails)" all "$P_ALL" cam reject \
    "OU 'cameras' matches no allow_ou pattern"
try "allow_cn + allow_ou (CN fails)" all "$P_ALL" plain reject \
    "CN 'plain-1' matches no allow_cn pattern"

try "bundle cams overrides allow_cn" bundle "$P_BUN" cam accept '' \
    -servername cams.example.com
try "bundle cams overrides allow_cn" bundle "$P_BUN" sensor reject \
    "CN 'sensor-01' matches no allow_cn pattern" -servername cams.example.com
try "the listener's allow_cn without SNI" bundle "$P_BUN" sensor accept ''
try "the listener's allow_cn without SNI" bundle "$P_BUN" cam reject \
    "$CN_RULE"

try "a bundle's allow_cn on a listener without one" bonly "$P_BONLY" cam \
    accept '' -servername cams.example.com
try "a bundle's allow_cn on a listener without one" bonly "$P_BONLY" \
    sensor reject "CN 'sensor-01' matches no allow_cn pattern" \
    -servername cams.example.com
try "no allowlist on the listener's own certificate" bonly "$P_BONLY" \
    sensor accept ''

try "allow_cn, fail_if_no_peer_cert = false" optional "$P_OPT" sensor \
    accept ''
try "allow_cn, fail_if_no_peer_cert = false" optional "$P_OPT" cam reject \
    "$CN_RULE"
# Informational: a client without any certificate on that listener.
log_mark
if mqtt_probe "$P_OPT"; then
	note "allow_cn with fail_if_no_peer_cert = false: a client without a certificate is accepted"
else
	wait_conn optional handshake_failed
	note "allow_cn with fail_if_no_peer_cert = false: a client without a certificate is refused ($(conn_field detail))"
fi

# mosquitto_pub: allowed and refused.
check "mosquitto_pub as sensor-01 through allow_cn: delivered" \
    deliver_pki sensor "$P_CN"
if deliver_pki cam "$P_CN"; then
	fail "mosquitto_pub as cam-07 through allow_cn: refused (it was delivered)"
else
	ok "mosquitto_pub as cam-07 through allow_cn: refused"
fi
stop_mqgate
