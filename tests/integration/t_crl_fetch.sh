#!/usr/bin/env bash
# t_crl_fetch: crl_fetch = on. CRLs come over HTTP (python3 -m http.server)
# from the CRL distribution points of the client's chain, in the
# background: the first handshake naming a new point is decided by
# crl_missing (reject, then accept) and logged so; once the fetch is
# logged, revoked certificates get alert certificate_revoked; one fetch
# serves every later handshake; a forged certificate gets nothing fetched;
# a server that is down, answers 404 or never answers costs no handshake
# more than a moment, even with crl_fetch_timeout = 15, and does not hold
# up shutdown; a CRL replaced on the server is picked up on
# crl_refresh_interval.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=crl_pki.sh
. "$(dirname "$0")/crl_pki.sh"

# mqgate honours http_proxy like curl does; these fetches are local.
unset http_proxy HTTP_PROXY

# A handshake is "prompt" when it is decided within this many ms (the
# fetch timeout is 15 s).
PROMPT_MS=$(($(tmo 2) * 1000))

P_HTTP=$(free_port) # python http.server: the CRLs
P_DEAD=$(free_port) # nothing, then a server that never answers
URL=http://127.0.0.1:$P_HTTP
DEAD=http://127.0.0.1:$P_DEAD
WWW=$T/www
mkdir -p "$WWW"

# --- the PKI: root -> int -> good, good2, revoked (points on the live
# server); root -> intdead -> dgood (points on the dead port); root ->
# int404 -> nf (its point is missing on the live server); forged, which
# claims int as its issuer but is signed by another key

crlpki_ca root "/CN=mqgate crl-fetch root"
crlpki_ca int "/CN=mqgate crl-fetch int" root "$URL/root.crl"
crlpki_ca intdead "/CN=mqgate crl-fetch intdead" root "$DEAD/root.crl"
crlpki_ca int404 "/CN=mqgate crl-fetch int404" root "$URL/root.crl"
crlpki_client good int "/CN=crl-good" "$URL/int.crl"
crlpki_client good2 int "/CN=crl-good2" "$URL/int.crl"
crlpki_client revoked int "/CN=crl-revoked" "$URL/int.crl"
crlpki_client dgood intdead "/CN=crl-dgood" "$DEAD/intdead.crl"
crlpki_client nf int404 "/CN=crl-nf" "$URL/missing.crl"
crlpki_forge forged int "/CN=crl-forged" "$URL/evil.crl"
crlpki_revoke int "$CRLPKI/revoked.crt"
# int.crl in DER (as RFC 5280 asks), root.crl in PEM: both are accepted.
crlpki_crl int "$WWW/int.crl" der
# root.crl goes up once the first chain handshake has been refused: until
# then it is certainly not cached.
crlpki_crl root "$T/root.crl"

# mqgate trusts the root only; clients send their intermediate.
ROOT=$CRLPKI/root/ca.crt

port_answers() {
	(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

HTTP_LOG=$T/http.log
closefds "$PY" -m http.server --bind 127.0.0.1 "$P_HTTP" --directory "$WWW" \
    >"$HTTP_LOG" 2>&1 </dev/null &
HTTP_PID=$!
track "$HTTP_PID"
wait_for "$(tmo 10)" port_answers "$P_HTTP" ||
    bail "python3 -m http.server did not come up on $P_HTTP" "$HTTP_LOG"

# Number of GETs of PATH the HTTP server answered.
gets() {
	grep -c "\"GET $1 HTTP" "$HTTP_LOG"
}

start_broker

# try NAME PORT: MQTT CONNECT through mqgate with client cert NAME and its
# chain (TLS 1.3); true when mosquitto's CONNACK came back. Sets TRY_MS.
try() {
	local t0
	t0=$(now_ms)
	mqtt_probe "$2" -cert "$CRLPKI/$1.crt" -key "$CRLPKI/$1.key" \
	    -cert_chain "$CRLPKI/$1.chain"
	local rc=$?
	TRY_MS=$(($(now_ms) - t0))
	return $rc
}

# expect MSG NAME PORT LISTENER accept|reject|revoked
expect() {
	local msg=$1 name=$2 port=$3 listener=$4 want=$5 got=reject
	try "$name" "$port" && got=accept
	case $want:$got in
	accept:accept)
		ok "$msg: $name accepted (CONNACK from mosquitto, ${TRY_MS} ms)"
		wait_conn "$listener" 'client_closed|upstream_closed' ||
		    fail "$msg: connection line with reason=client_closed"
		;;
	reject:reject | revoked:reject)
		ok "$msg: $name refused (${TRY_MS} ms)"
		if wait_conn "$listener" handshake_failed; then
			ok "$msg: logged reason=handshake_failed detail=$(conn_field detail)"
		else
			fail "$msg: refusal logged as reason=handshake_failed"
		fi
		if [ "$want" = revoked ]; then
			check "$msg: alert certificate revoked" \
			    grep -aq 'certificate revoked' "$PROBE_OUT"
		fi
		;;
	*)
		fail "$msg: want $want, got $got (${TRY_MS} ms)" "$PROBE_OUT" "$LOG"
		;;
	esac
}

prompt() {
	if [ "$TRY_MS" -le "$PROMPT_MS" ]; then
		ok "$1: decided in ${TRY_MS} ms (<= $PROMPT_MS)"
	else
		fail "$1: decided in ${TRY_MS} ms, want <= $PROMPT_MS"
	fi
}

# PATTERN matching the string $1 literally (grep -E).
re() {
	# shellcheck disable=SC2016 # sed's $, not the shell's
	printf '%s' "$1" | sed 's/[.[\*^$()+?{|]/\\&/g'
}

missing_re() {
	local listener=$1 url=$2 state=$3 cn=$4 verb=$5 mode=$6
	echo "crl: listener $listener: no CRL yet from $(re "$url") \($state\) for .*CN=$cn.*: $verb the client certificate \(crl_missing = $mode\)"
}

fetched_re() {
	echo "crl: fetched $(re "$1") \($2 revoked, next update [0-9TZ:-]+\)"
}

listener() {
	local name=$1 port=$2
	shift 2
	conf_listener "$name" "$port" "verify = verify_peer" \
	    "fail_if_no_peer_cert = true" "cacertfile = $ROOT" \
	    "crl_fetch = on" "$@"
}

P1=$(free_port)
P2=$(free_port)

# ------------------------------------------- (1) crl_missing = reject

{
	conf_global
	listener rej "$P1" "crl_check = leaf"
	listener rejchain "$P2" "crl_check = chain" "crl_missing = reject" \
	    "crl_refresh_interval = 1"
} | write_conf "$T/reject.ini"
start_mqgate "$T/reject.ini"

log_mark
expect "reject, first handshake" good "$P1" rej reject
assert_log "reject: the log says pending, refusing" \
    "$(missing_re rej "$URL/int.crl" pending crl-good refusing reject)"
assert_log "reject: the fetch is logged" "$(fetched_re "$URL/int.crl" 1)"
log_mark
expect "reject, CRL cached" good "$P1" rej accept
log_mark
expect "reject, CRL cached" revoked "$P1" rej revoked
log_mark
expect "reject, CRL cached" good2 "$P1" rej accept
assert_no_log "reject, CRL cached: no 'no CRL yet' line" 'no CRL yet'
check "one GET of int.crl served every handshake ($(gets /int.crl))" \
    [ "$(gets /int.crl)" -eq 1 ]
check "crl_check = leaf fetches no root.crl" [ "$(gets /root.crl)" -eq 0 ]

# crl_check = chain: int.crl is cached, the intermediate's point is new
# (and root.crl not on the server yet). With crl_refresh_interval = 1 a
# failed fetch is tried again after a second.
log_mark
expect "reject, chain, first handshake" good "$P2" rejchain reject
assert_log "reject, chain: no CRL yet from root.crl, refusing" \
    "$(missing_re rejchain "$URL/root.crl" '(pending|failed: HTTP error status)' 'mqgate crl-fetch int' refusing reject)"
mv -f "$T/root.crl" "$WWW/root.crl"
assert_log "reject, chain: root.crl (PEM) fetched" \
    "$(fetched_re "$URL/root.crl" 0)"
log_mark
expect "reject, chain, CRLs cached" good "$P2" rejchain accept
log_mark
expect "reject, chain, CRLs cached" revoked "$P2" rejchain revoked
stop_mqgate

# ------------------------------------------- (2) crl_missing = accept

{
	conf_global
	listener acc "$P1" "crl_check = chain" "crl_missing = accept"
} | write_conf "$T/accept.ini"
start_mqgate "$T/accept.ini"
N_INT=$(gets /int.crl)
N_ROOT=$(gets /root.crl)

log_mark
expect "accept, first handshake" good "$P1" acc accept
assert_log "accept: the log says pending, accepting" \
    "$(missing_re acc "$URL/int.crl" pending crl-good accepting accept)"
# One handshake queued the points of the whole chain.
assert_log "accept: int.crl fetched" "$(fetched_re "$URL/int.crl" 1)"
assert_log "accept: root.crl fetched" "$(fetched_re "$URL/root.crl" 0)"
log_mark
expect "accept, CRLs cached" revoked "$P1" acc revoked
log_mark
expect "accept, CRLs cached" good "$P1" acc accept
assert_no_log "accept, CRLs cached: no 'no CRL yet' line" 'no CRL yet'
[ "$(($(gets /int.crl) - N_INT))" -eq 1 ] &&
    [ "$(($(gets /root.crl) - N_ROOT))" -eq 1 ]
verdict $? "accept: one GET each of int.crl and root.crl"
stop_mqgate

# ------------------------------------------- (3) server down, 404

{
	conf_global
	listener drej "$P1" "crl_check = leaf" "crl_fetch_timeout = 15"
	listener dacc "$P2" "crl_check = leaf" "crl_fetch_timeout = 15" \
	    "crl_missing = accept"
} | write_conf "$T/down.ini"
start_mqgate "$T/down.ini"

log_mark
expect "server down, reject" dgood "$P1" drej reject
prompt "server down, reject, first handshake"
assert_log "server down: the failed fetch is logged" \
    "crl: fetch of $(re "$DEAD/intdead.crl") failed: cannot connect to 127\.0\.0\.1 port $P_DEAD: Connection refused \(next try in 30 s\)"
log_mark
expect "server down, reject" dgood "$P1" drej reject
prompt "server down, reject, after the failure"
assert_log "server down, reject: the log says failed, refusing" \
    "$(missing_re drej "$DEAD/intdead.crl" 'failed: cannot connect' crl-dgood refusing reject)"
log_mark
expect "server down, accept" dgood "$P2" dacc accept
prompt "server down, accept"
assert_log "server down, accept: the log says failed, accepting" \
    "$(missing_re dacc "$DEAD/intdead.crl" 'failed: cannot connect' crl-dgood accepting accept)"

# Revocation is checked before signatures: a forged certificate must not
# get its distribution point fetched, nor crl_missing = accept applied.
log_mark
expect "forged leaf, accept" forged "$P2" dacc reject
case $CONN_LINE in
*"unable to get certificate CRL"*)
	ok "forged leaf: refused for want of a CRL, crl_missing = accept notwithstanding" ;;
*) fail "forged leaf: refused for want of a CRL ($CONN_LINE)" ;;
esac
assert_no_log "forged leaf: no 'no CRL yet' line" 'no CRL yet'

log_mark
expect "404, reject" nf "$P1" drej reject
assert_log "404: the failed fetch is logged with the status" \
    "crl: fetch of $(re "$URL/missing.crl") failed: .*404"
log_mark
expect "404, reject" nf "$P1" drej reject
assert_log "404: the log says failed: HTTP error status" \
    "$(missing_re drej "$URL/missing.crl" 'failed: HTTP error status' crl-nf refusing reject)"
check "forged leaf: its distribution point was never fetched" \
    [ "$(gets /evil.crl)" -eq 0 ]
stop_mqgate

# ------------------------------------------- (4) a server that never answers

closefds "$PY" -c '
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen(16)
held = []
while True:
    held.append(s.accept()[0])
' "$P_DEAD" >"$T/blackhole.log" 2>&1 </dev/null &
track $!
wait_for "$(tmo 10)" port_answers "$P_DEAD" ||
    bail "the silent server did not come up on $P_DEAD" "$T/blackhole.log"

start_mqgate "$T/down.ini"
log_mark
expect "silent server, reject" dgood "$P1" drej reject
prompt "silent server, reject, first handshake"
log_mark
expect "silent server, reject" dgood "$P1" drej reject
prompt "silent server, reject, while the fetch hangs"
assert_log "silent server: still pending, refusing" \
    "$(missing_re drej "$DEAD/intdead.crl" pending crl-dgood refusing reject)"
log_mark
expect "silent server, accept" dgood "$P2" dacc accept
prompt "silent server, accept, while the fetch hangs"
t0=$(now_ms)
stop_mqgate
ms=$(($(now_ms) - t0))
check "a hanging fetch does not hold up shutdown (${ms} ms <= $PROMPT_MS)" \
    [ "$ms" -le "$PROMPT_MS" ]

{
	conf_global
	listener drej "$P1" "crl_check = leaf" "crl_fetch_timeout = 1"
} | write_conf "$T/timeout.ini"
start_mqgate "$T/timeout.ini"
log_mark
expect "crl_fetch_timeout = 1" dgood "$P1" drej reject
assert_log "crl_fetch_timeout = 1: the fetch times out" \
    "crl: fetch of $(re "$DEAD/intdead.crl") failed: .*(no response in time|timed out)" \
    "$(tmo 5)"
stop_mqgate

# ------------------------------------------- (5) refresh

{
	conf_global
	listener ref "$P1" "crl_check = leaf" "crl_refresh_interval = 2"
} | write_conf "$T/refresh.ini"
start_mqgate "$T/refresh.ini"
log_mark
expect "refresh, first handshake" good2 "$P1" ref reject
assert_log "refresh: int.crl fetched" "$(fetched_re "$URL/int.crl" 1)"
log_mark
expect "refresh, before the new CRL" good2 "$P1" ref accept

crlpki_revoke int "$CRLPKI/good2.crt"
N=$(gets /int.crl)
crlpki_crl int "$WWW/int.crl" der
assert_log "refresh: the new int.crl is fetched" \
    "$(fetched_re "$URL/int.crl" 2)" "$(tmo 10)"
log_mark
expect "refresh, after the new CRL" good2 "$P1" ref revoked
log_mark
expect "refresh, after the new CRL" good "$P1" ref accept

# Unchanged refreshes are not logged at info.
wait_for "$(tmo 10)" eval "[ \$(gets /int.crl) -ge $((N + 2)) ]"
LOG_MARK=0
check "refresh: $(($(gets /int.crl) - N)) refreshes, 2 'fetched' lines" \
    [ "$(log_count "crl: fetched $(re "$URL/int.crl")")" -eq 2 ]
stop_mqgate
