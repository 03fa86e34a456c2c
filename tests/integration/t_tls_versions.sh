#!/usr/bin/env bash
# t_tls_versions: protocol versions, cipher lists and groups, and the
# refusal of renegotiation. TLS 1.1 is refused by default and works (with a
# warning) once listed; a tlsv1.2-only listener refuses TLS 1.3; ciphers,
# ciphersuites and groups restrict what is negotiated; tls=/cipher= in the
# connection line show what was.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

start_broker
P_DEF=$(free_port)
P_OLD=$(free_port)
P_12=$(free_port)
P_SUITE=$(free_port)
P_CIPH=$(free_port)
P_GRP=$(free_port)
RSA=("certfile = $CERTS/rsa-server.pem" "keyfile = $CERTS/rsa-server.key")
{
	conf_global
	conf_listener def "$P_DEF" "${RSA[@]}"
	conf_listener old "$P_OLD" "${RSA[@]}" "versions = tlsv1.2,tlsv1.1"
	conf_listener v12 "$P_12" "versions = tlsv1.2"
	conf_listener suite "$P_SUITE" \
	    "ciphersuites = TLS_CHACHA20_POLY1305_SHA256"
	conf_listener ciph "$P_CIPH" "versions = tlsv1.2" \
	    "ciphers = ECDHE-ECDSA-AES128-GCM-SHA256"
	conf_listener grp "$P_GRP" "groups = P-384"
} | write_conf "$T/mqgate.ini"
start_mqgate "$T/mqgate.ini"

assert_log "listing tlsv1.1 logs a warning" \
    '^[^ ]+ warn(ing)? .*([Tt][Ll][Ss] ?[Vv]?1\.1|[Tt][Ll][Ss] older)'

OLD_TLS=(-cipher 'DEFAULT:@SECLEVEL=0')

# accepted WHAT LISTENER PORT [S_CLIENT_ARG...]: the probe gets through;
# sets CONN_LINE to its connection line.
accepted() {
	local what=$1 listener=$2 port=$3
	shift 3
	log_mark
	if mqtt_probe "$port" "$@"; then
		ok "$what: accepted"
	else
		fail "$what: accepted" "$PROBE_OUT" "$LOG"
	fi
	wait_conn "$listener" 'client_closed|upstream_closed' ||
	    fail "$what: connection line with a normal close reason"
}

# refused WHAT LISTENER PORT [S_CLIENT_ARG...]: the handshake fails and is
# logged as handshake_failed.
refused() {
	local what=$1 listener=$2 port=$3
	shift 3
	log_mark
	if mqtt_probe "$port" "$@"; then
		fail "$what: refused" "$PROBE_OUT" "$LOG"
	else
		ok "$what: refused"
	fi
	if wait_conn "$listener" handshake_failed; then
		ok "$what: logged reason=handshake_failed"
	else
		fail "$what: logged reason=handshake_failed"
	fi
}

# field_is WHAT NAME VALUE: CONN_LINE has NAME=VALUE; the probe saw it too.
field_is() {
	local got
	got=$(conn_field "$2")
	check "$1: log shows $2=$3 (got '$got')" [ "$got" = "$3" ]
}

# --- versions

refused "default listener, TLS 1.1 client" def "$P_DEF" -tls1_1 "${OLD_TLS[@]}"

accepted "default listener, default client" def "$P_DEF"
field_is "default listener, default client" tls TLSv1.3
check "s_client negotiated TLSv1.3" [ "$(probe_protocol)" = TLSv1.3 ]

accepted "default listener, TLS 1.2 client" def "$P_DEF" -tls1_2
field_is "default listener, TLS 1.2 client" tls TLSv1.2
check "s_client negotiated TLSv1.2" [ "$(probe_protocol)" = TLSv1.2 ]

accepted "versions = tlsv1.2,tlsv1.1, TLS 1.1 client" old "$P_OLD" \
    -tls1_1 "${OLD_TLS[@]}"
field_is "versions = tlsv1.2,tlsv1.1, TLS 1.1 client" tls TLSv1.1
check "s_client negotiated TLSv1.1" [ "$(probe_protocol)" = TLSv1.1 ]
refused "versions = tlsv1.2,tlsv1.1, TLS 1.3 client" old "$P_OLD" -tls1_3

refused "versions = tlsv1.2, TLS 1.3 client" v12 "$P_12" -tls1_3
accepted "versions = tlsv1.2, TLS 1.2 client" v12 "$P_12" -tls1_2
field_is "versions = tlsv1.2, TLS 1.2 client" tls TLSv1.2
accepted "versions = tlsv1.2, default client" v12 "$P_12"
field_is "versions = tlsv1.2, default client" tls TLSv1.2

# --- ciphersuites (TLS 1.3), ciphers (TLS 1.2), groups

accepted "ciphersuites = CHACHA20, default client" suite "$P_SUITE"
check "s_client got TLS_CHACHA20_POLY1305_SHA256 (got $(probe_cipher))" \
    [ "$(probe_cipher)" = TLS_CHACHA20_POLY1305_SHA256 ]
field_is "ciphersuites = CHACHA20" cipher TLS_CHACHA20_POLY1305_SHA256
refused "ciphersuites = CHACHA20, TLS 1.3 AES-128-GCM-only client" suite \
    "$P_SUITE" -tls1_3 -ciphersuites TLS_AES_128_GCM_SHA256

accepted "ciphers = ECDHE-ECDSA-AES128-GCM-SHA256, default client" ciph \
    "$P_CIPH"
check "s_client got ECDHE-ECDSA-AES128-GCM-SHA256 (got $(probe_cipher))" \
    [ "$(probe_cipher)" = ECDHE-ECDSA-AES128-GCM-SHA256 ]
field_is "ciphers = ECDHE-ECDSA-AES128-GCM-SHA256" cipher \
    ECDHE-ECDSA-AES128-GCM-SHA256
refused "ciphers = ECDHE-ECDSA-AES128-GCM-SHA256, AES256-only client" ciph \
    "$P_CIPH" -cipher ECDHE-ECDSA-AES256-GCM-SHA384

accepted "groups = P-384, default client" grp "$P_GRP"
if grep -aqE 'Server Temp Key: ECDH, (secp384r1|P-384)' "$PROBE_OUT"; then
	ok "groups = P-384: key exchange used P-384"
else
	fail "groups = P-384: key exchange used P-384" "$PROBE_OUT"
fi
refused "groups = P-384, X25519-only client" grp "$P_GRP" -tls1_3 \
    -groups X25519

# --- renegotiation: s_client's "R" command on a TLS 1.2 connection. A
# refused renegotiation ends s_client with "no renegotiation"; a successful
# one would verify the server chain a second time (a second depth=0 line).

mkfifo "$T/reneg.in"
log_mark
timeout -k 2 "$(tmo 20)" openssl s_client -connect "$MQ_HOST:$P_DEF" \
    -CAfile "$CERTS/ca.crt" -tls1_2 <"$T/reneg.in" >"$T/reneg.out" 2>&1 &
spid=$!
track "$spid"
exec {w}>"$T/reneg.in"
if wait_for "$(tmo 10)" grep -aq 'Verify return code' "$T/reneg.out"; then
	printf 'R\n' >&"$w"
	wait_for "$(tmo 10)" eval "! pid_alive $spid"
	exited=$?
	exec {w}>&-
	wait_for "$(tmo 10)" eval "! pid_alive $spid"
	wait "$spid"
	src=$?
	n=$(grep -ac '^depth=0' "$T/reneg.out")
	if grep -aq RENEGOTIATING "$T/reneg.out" && [ "$n" -eq 1 ]; then
		ok "renegotiation refused (one handshake only)"
	else
		fail "renegotiation refused ($n handshakes)" "$T/reneg.out"
	fi
	if [ "$exited" -eq 0 ] && [ "$src" -ne 0 ] &&
	    grep -aqiE 'no renegotiation|alert|error' "$T/reneg.out"; then
		ok "s_client reports the refused renegotiation"
	else
		fail "s_client reports the refused renegotiation (exit $src)" \
		    "$T/reneg.out"
	fi
else
	exec {w}>&-
	fail "renegotiation: TLS 1.2 handshake completes" "$T/reneg.out"
fi
wait_log " conn=[^ ]+ client=[^ ]+ listener=def " ||
    fail "renegotiation attempt: connection line logged"

# The daemon is still fine afterwards.
accepted "after the renegotiation attempt" def "$P_DEF"
stop_mqgate
