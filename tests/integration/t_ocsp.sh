#!/usr/bin/env bash
# t_ocsp: OCSP stapling. A PKI of its own, run with `openssl ca` so that
# `openssl ocsp` can answer from its index, gives a good and a revoked
# server certificate whose AIA names a local responder. mqgate fetches and
# staples their responses (the issuer taken from the chain or from
# ocsp_issuer_file); a refused or silent responder leaves handshakes prompt
# and unstapled with the reason logged; a cached response outlives a
# responder outage and a reload; ocsp_staple_file staples an operator's DER
# file and refuses one that does not verify; a broken staple file is a
# config error at start and keeps the previous state on SIGHUP.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

# mqgate honours http_proxy for its fetches; these go to loopback.
unset http_proxy HTTP_PROXY

OP=$T/ocsp-pki
mkdir -p "$OP/newcerts"

RPORT=$(free_port)  # the responder the certificates' AIA names
R2PORT=$(free_port) # a second responder, stopped midway
DEAD=$(free_port)   # nothing listens here
HOLE=$(free_port)   # accepts connections and never answers

# The fetch timeout mqgate uses (tls_ctx.c passes 10 s) and the bound on a
# handshake while a fetch hangs: well under the timeout.
FETCH_TIMEOUT_S=10
PROMPT_MS=3000

# Quiet openssl: its output only when it fails, then stop the test.
ossl() {
	openssl "$@" >"$OP/ossl.out" 2>&1 ||
	    bail "openssl $1 failed" "$OP/ossl.out"
}

eckey() {
	ossl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1"
}

# Line number of "KEY =" in FILE after line FROM (default 0).
line_of() {
	awk -v from="${3:-0}" -v re="^$2[[:space:]]*=" \
	    'NR > from && $0 ~ re { print NR; exit }' "$1"
}

# ------------------------------------------------------------------ PKI

cat >"$OP/ca.cnf" <<EOF
[ ca ]
default_ca = test_ca
[ test_ca ]
dir = $OP
database = \$dir/index.txt
new_certs_dir = \$dir/newcerts
serial = \$dir/serial
certificate = \$dir/ca.crt
private_key = \$dir/ca.key
default_md = sha256
default_days = 30
policy = any
unique_subject = no
copy_extensions = none
[ any ]
commonName = supplied
[ req ]
distinguished_name = dn
prompt = no
[ dn ]
CN = unused
[ ca_ext ]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[ server_ext ]
basicConstraints = CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost,IP:127.0.0.1
authorityInfoAccess = OCSP;URI:http://127.0.0.1:$RPORT/
[ ocsp_ext ]
basicConstraints = CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = OCSPSigning
EOF
: >"$OP/index.txt"
echo 1000 >"$OP/serial"

eckey "$OP/ca.key"
ossl req -x509 -new -key "$OP/ca.key" -subj "/CN=mqgate ocsp test CA" \
    -days 30 -config "$OP/ca.cnf" -extensions ca_ext -out "$OP/ca.crt"

# issue NAME CN EXTENSIONS: NAME.key and NAME.crt signed by the test CA.
issue() {
	eckey "$OP/$1.key"
	ossl req -new -key "$OP/$1.key" -subj "/CN=$2" -config "$OP/ca.cnf" \
	    -out "$OP/$1.csr"
	ossl ca -batch -notext -config "$OP/ca.cnf" -extensions "$3" \
	    -in "$OP/$1.csr" -out "$OP/$1.crt"
}

issue ocsp "mqgate ocsp responder" ocsp_ext # delegated responder
issue srv localhost server_ext
issue rev localhost server_ext
ossl ca -config "$OP/ca.cnf" -revoke "$OP/rev.crt" -crl_reason keyCompromise
cat "$OP/srv.crt" "$OP/ca.crt" >"$OP/srv.pem"
cat "$OP/rev.crt" "$OP/ca.crt" >"$OP/rev.pem"

# DER responses for ocsp_staple_file, made offline from the index: one
# signed by the delegated responder, one by an unrelated CA.
ossl ocsp -issuer "$OP/ca.crt" -cert "$OP/srv.crt" -no_nonce \
    -reqout "$OP/srv.req"
ossl ocsp -index "$OP/index.txt" -CA "$OP/ca.crt" -rsigner "$OP/ocsp.crt" \
    -rkey "$OP/ocsp.key" -ndays 1 -reqin "$OP/srv.req" -respout "$OP/good.der"
ossl ocsp -index "$OP/index.txt" -CA "$OP/ca.crt" \
    -rsigner "$CERTS/other-ca.crt" -rkey "$CERTS/other-ca.key" -ndays 1 \
    -reqin "$OP/srv.req" -respout "$OP/foreign.der"
head -c 300 /dev/urandom >"$OP/garbage.der"
cp "$OP/good.der" "$T/live.der"

# ------------------------------------------------------------ responders

# start_responder PORT: `openssl ocsp` answering from the index on PORT;
# sets RESP_PID.
start_responder() {
	local out=$T/responder.$1.log
	closefds openssl ocsp -index "$OP/index.txt" -port "$1" \
	    -CA "$OP/ca.crt" -rsigner "$OP/ocsp.crt" -rkey "$OP/ocsp.key" \
	    -ndays 1 -ignore_err >"$out" 2>&1 </dev/null &
	RESP_PID=$!
	track "$RESP_PID"
	wait_for "$(tmo 10)" grep -q 'waiting for OCSP client connections' \
	    "$out" || bail "OCSP responder on port $1 did not start" "$out"
}

start_responder "$RPORT"
start_responder "$R2PORT"
R2_PID=$RESP_PID

# A peer that accepts (the kernel completes the handshake) and never reads.
closefds "$PY" -c '
import socket, sys, time
s = socket.socket()
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen(16)
print("listening", flush=True)
time.sleep(3600)
' "$HOLE" >"$T/hole.out" 2>&1 </dev/null &
track $!
wait_for "$(tmo 10)" grep -q listening "$T/hole.out" ||
    bail "silent responder did not start" "$T/hole.out"

# ---------------------------------------------------------------- clients

# staple PORT: a handshake asking for the certificate status; sets ST_OUT
# (s_client's output) and ST_MS (its wall time).
staple() {
	local t0
	SEQ=$((SEQ + 1))
	ST_OUT=$T/staple.$SEQ.out
	t0=$(now_ms)
	timeout -k 2 "$(tmo 10)" openssl s_client -connect "127.0.0.1:$1" \
	    -servername localhost -status -CAfile "$OP/ca.crt" \
	    </dev/null >"$ST_OUT" 2>&1
	ST_MS=$(($(now_ms) - t0))
}

handshake_done() {
	grep -qE '^(New|Reused), TLS' "$ST_OUT"
}

# expect_staple MSG PORT STATUS: the handshake carries a response saying
# STATUS (good|revoked).
expect_staple() {
	staple "$2"
	if handshake_done &&
	    grep -q 'OCSP Response Status: successful' "$ST_OUT" &&
	    grep -qE "^ *Cert Status: $3\$" "$ST_OUT"; then
		ok "$1: stapled, Cert Status: $3"
	else
		fail "$1: want a stapled response with Cert Status: $3" \
		    "$ST_OUT" "$LOG"
	fi
}

# expect_no_staple MSG PORT: the handshake completes within PROMPT_MS and
# carries no response.
expect_no_staple() {
	staple "$2"
	if handshake_done &&
	    grep -q 'OCSP response: no response sent' "$ST_OUT"; then
		ok "$1: handshake completes, no response stapled"
	else
		fail "$1: want a handshake without a stapled response" \
		    "$ST_OUT" "$LOG"
	fi
	if [ "$ST_MS" -lt "$PROMPT_MS" ]; then
		ok "$1: handshake took ${ST_MS} ms (< ${PROMPT_MS} ms)"
	else
		fail "$1: handshake took ${ST_MS} ms (want < ${PROMPT_MS} ms)"
	fi
}

# Log-line patterns (grep -E). TIME is the log's UTC timestamp form.
TIME='[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z'
good_re() {
	echo "ocsp: listener $1: stapling good response from $2 \\(next update $TIME\\)"
}

# ------------------------------------------------------------------ daemon

start_broker
P_GOOD=$(free_port)
P_LEAF=$(free_port)
P_REV=$(free_port)
P_DOWN=$(free_port)
P_SILENT=$(free_port)
P_FLAKY=$(free_port)
P_FILE=$(free_port)
P_FOREIGN=$(free_port)
P_V6=
V6_LISTENER=()
if have_ipv6; then
	P_V6=$(free_port)
	V6_LISTENER=(conf_listener v6 "$P_V6" "certfile = $OP/srv.pem"
	    "keyfile = $OP/srv.key" "ocsp_stapling = on"
	    "ocsp_responder_url = http://[::1]:$RPORT/")
fi
CONF=$T/mqgate.ini
{
	conf_global "reload_interval = 0"
	conf_listener good "$P_GOOD" "certfile = $OP/srv.pem" \
	    "keyfile = $OP/srv.key" "ocsp_stapling = on"
	conf_listener leafonly "$P_LEAF" "certfile = $OP/srv.crt" \
	    "keyfile = $OP/srv.key" "ocsp_stapling = on" \
	    "ocsp_issuer_file = $OP/ca.crt"
	conf_listener revoked "$P_REV" "certfile = $OP/rev.pem" \
	    "keyfile = $OP/rev.key" "ocsp_stapling = on"
	conf_listener down "$P_DOWN" "certfile = $OP/srv.pem" \
	    "keyfile = $OP/srv.key" "ocsp_stapling = on" \
	    "ocsp_responder_url = http://127.0.0.1:$DEAD/"
	conf_listener silent "$P_SILENT" "certfile = $OP/srv.pem" \
	    "keyfile = $OP/srv.key" "ocsp_stapling = on" \
	    "ocsp_responder_url = http://127.0.0.1:$HOLE/"
	conf_listener flaky "$P_FLAKY" "certfile = $OP/srv.pem" \
	    "keyfile = $OP/srv.key" "ocsp_stapling = on" \
	    "ocsp_responder_url = http://127.0.0.1:$R2PORT/" \
	    "ocsp_refresh_interval = 1"
	conf_listener file "$P_FILE" "certfile = $OP/srv.pem" \
	    "keyfile = $OP/srv.key" "ocsp_staple_file = $T/live.der"
	conf_listener foreign "$P_FOREIGN" "certfile = $OP/srv.pem" \
	    "keyfile = $OP/srv.key" "ocsp_staple_file = $OP/foreign.der"
	[ -n "$P_V6" ] && "${V6_LISTENER[@]}"
} | write_conf "$CONF"

run_mqgate -t -c "$CONF"
check "mqgate -t accepts the stapling config (exit $RC)" [ "$RC" -eq 0 ]

start_mqgate "$CONF"
T_READY=$(now_ms)

# ------------------------------------------ (3) a responder that never answers

# Right after start the silent responder's fetch is pending for the whole
# fetch timeout; handshakes on that listener must not wait for it.
SILENT_RE="ocsp: listener silent: not stapling: responder http://127.0.0.1:$HOLE/ unreachable: no answer within $FETCH_TIMEOUT_S s"
expect_no_staple "silent responder, fetch pending" "$P_SILENT"
if log_has "$SILENT_RE"; then
	fail "silent responder: the fetch was already over when the handshake ran"
else
	ok "silent responder: the handshake ran while the fetch was pending"
fi

# ------------------------------------------------ (1) good, from the AIA

assert_log "good: the response from the AIA responder is logged" \
    "$(good_re good "http://127.0.0.1:$RPORT/")"
if log_has "$SILENT_RE"; then
	fail "good: stapled only after the silent responder's fetch timed out"
else
	ok "good: stapled while the silent responder's fetch is still pending"
fi
expect_staple "good (issuer = chain certificate)" "$P_GOOD" good
check "good: the server certificate verifies against the test CA" \
    grep -q 'Verify return code: 0 (ok)' "$ST_OUT"

assert_log "leaf-only certfile + ocsp_issuer_file: good response logged" \
    "$(good_re leafonly "http://127.0.0.1:$RPORT/")"
expect_staple "leaf-only certfile + ocsp_issuer_file" "$P_LEAF" good

if [ -n "$P_V6" ]; then
	assert_log "responder at an IPv6 address: good response logged" \
	    "$(good_re v6 "http://\\[::1\\]:$RPORT/")"
	expect_staple "responder at an IPv6 address" "$P_V6" good
else
	note "no IPv6 loopback here: the [::1] responder case is skipped"
fi

# ------------------------------------------------------------ (2) revoked

assert_log "revoked: the revoked response is logged" \
    "ocsp: listener revoked: stapling revoked response from http://127.0.0.1:$RPORT/ \\(revoked $TIME, reason keyCompromise, next update $TIME\\)"
check "revoked: logged at level warn" \
    eval "log_since | grep -E 'listener revoked: stapling revoked' | grep -qE '^[^ ]+ warn '"
expect_staple "revoked" "$P_REV" revoked
check "revoked: s_client shows the revocation reason" \
    grep -q 'Revocation Reason: keyCompromise' "$ST_OUT"

# --------------------------------------------------- (3) responder refused

assert_log "responder down: the reason is logged" \
    "ocsp: listener down: not stapling: responder http://127.0.0.1:$DEAD/ unreachable: connect to 127.0.0.1 port $DEAD: Connection refused"
expect_no_staple "responder down" "$P_DOWN"

# ---------------------------------- a responder outage keeps the cached one

assert_log "flaky: good response logged" \
    "$(good_re flaky "http://127.0.0.1:$R2PORT/")"
kill -TERM "$R2_PID"
wait "$R2_PID" 2>/dev/null
assert_log "flaky: the failed refresh is logged, the previous response kept" \
    "ocsp: listener flaky: refresh failed: responder http://127.0.0.1:$R2PORT/ unreachable: .*; stapling the previous response until $TIME" \
    "$(tmo 5)"
expect_staple "flaky, responder gone" "$P_FLAKY" good
check "flaky: the failure is logged once, not on every retry" \
    test "$(log_count 'listener flaky: refresh failed')" -eq 1

# ---------------------------------------------------- (4) ocsp_staple_file

assert_log "staple file: good response logged" \
    "$(good_re file "file $T/live.der")" 1
expect_staple "staple file" "$P_FILE" good
assert_log "staple file signed by an unrelated CA: logged as not verifying" \
    "ocsp: listener foreign: not stapling: response does not verify: .*\\(from file $OP/foreign.der\\)" 1
expect_no_staple "staple file signed by an unrelated CA" "$P_FOREIGN"

# --------------------------------------- (3) the silent responder times out

if wait_log "$SILENT_RE" $((FETCH_TIMEOUT_S + $(tmo 10))); then
	ok "silent responder: the timeout is logged"
	line=$(log_since | grep -E -- "$SILENT_RE" | head -n 1)
	ts=${line%% *}
	note "silent responder logged after $((($(date -d "$ts" +%s%3N) - T_READY) / 1000)) s: $line"
else
	fail "silent responder: no /$SILENT_RE/ line"
fi
expect_no_staple "silent responder, after the timeout" "$P_SILENT"

# ------------------------------------------------------------- (6) SIGHUP

# An unchanged reload: the fetched responses carry over (no gap, no
# refetch), the staple file is read again.
log_mark
signal_mqgate HUP
assert_log "SIGHUP: certificates reloaded" \
    'certificates reloaded generation=2 \(SIGHUP\)'
expect_staple "SIGHUP: good, right after the reload" "$P_GOOD" good
expect_staple "SIGHUP: revoked, right after the reload" "$P_REV" revoked
assert_no_log "SIGHUP: the cached response carried over (no new fetch logged)" \
    'listener good: stapling'

# A broken staple file fails the rebuild; the previous response stays.
STAPLE_LINE=$(line_of "$CONF" ocsp_staple_file)
head -c 300 /dev/urandom >"$T/live.der.tmp" && mv -f "$T/live.der.tmp" "$T/live.der"
log_mark
signal_mqgate HUP
assert_log "SIGHUP, garbage staple file: error at $(basename "$CONF"):$STAPLE_LINE, previous kept" \
    "$CONF:$STAPLE_LINE: ocsp_staple_file: '$T/live.der' is not a DER OCSP response \\(keeping previous certificate\\)"
expect_staple "SIGHUP, garbage staple file: the previous staple" "$P_FILE" good
expect_staple "SIGHUP, garbage staple file: the fetched staple" "$P_GOOD" good
check "SIGHUP, garbage staple file: mqgate is still running" \
    pid_alive "$MQGATE_PID"

cp "$OP/good.der" "$T/live.der.tmp" && mv -f "$T/live.der.tmp" "$T/live.der"
log_mark
signal_mqgate HUP
assert_log "SIGHUP, fixed staple file: certificates reloaded" \
    'certificates reloaded generation=[0-9]+ \(SIGHUP\)'
expect_staple "SIGHUP, fixed staple file" "$P_FILE" good
stop_mqgate

# ------------------------------------------------------ (5) config errors

# expect_t_error MSG CONF LINE PATTERN: mqgate -t exits 1 with
# "CONF:LINE: PATTERN" on stderr.
expect_t_error() {
	run_mqgate -t -c "$2"
	if [ "$RC" -eq 1 ] && grep -qE -- "^$2:$3: $4" "$ERR"; then
		ok "$1: exit 1, $(basename "$2"):$3: $(grep -m1 -F "$2:$3: " "$ERR" | cut -d' ' -f2-)"
	else
		fail "$1: want exit 1 and '$2:$3: $4' (exit $RC)" "$ERR" "$2"
	fi
}

PX=$(free_port)
C1=$T/leaf-only.ini
{
	conf_global
	conf_listener x "$PX" "certfile = $OP/srv.crt" \
	    "keyfile = $OP/srv.key" "ocsp_stapling = on"
} | write_conf "$C1"
expect_t_error "leaf-only certfile without ocsp_issuer_file" "$C1" \
    "$(line_of "$C1" ocsp_stapling)" \
    "ocsp_stapling: no issuer certificate .*set ocsp_issuer_file"

C2=$T/garbage-staple.ini
{
	conf_global
	conf_listener x "$PX" "certfile = $OP/srv.pem" \
	    "keyfile = $OP/srv.key" "ocsp_staple_file = $OP/garbage.der"
} | write_conf "$C2"
expect_t_error "unparsable ocsp_staple_file" "$C2" \
    "$(line_of "$C2" ocsp_staple_file)" \
    "ocsp_staple_file: '$OP/garbage.der' is not a DER OCSP response"

C3=$T/missing-staple.ini
{
	conf_global
	conf_listener x "$PX" "certfile = $OP/srv.pem" \
	    "keyfile = $OP/srv.key" "ocsp_staple_file = $T/no-such.der"
} | write_conf "$C3"
expect_t_error "missing ocsp_staple_file" "$C3" \
    "$(line_of "$C3" ocsp_staple_file)" \
    "ocsp_staple_file: cannot open '$T/no-such.der'"

C4=$T/no-aia.ini
{
	conf_global
	conf_listener x "$PX" "ocsp_stapling = on"
} | write_conf "$C4"
expect_t_error "certificate without AIA and no ocsp_responder_url" "$C4" \
    "$(line_of "$C4" ocsp_stapling)" \
    "ocsp_stapling: the certificate names no OCSP responder"

C5=$T/wrong-issuer.ini
{
	conf_global
	conf_listener x "$PX" "certfile = $OP/srv.crt" \
	    "keyfile = $OP/srv.key" "ocsp_stapling = on" \
	    "ocsp_issuer_file = $CERTS/other-ca.crt"
} | write_conf "$C5"
expect_t_error "ocsp_issuer_file that did not issue the certificate" "$C5" \
    "$(line_of "$C5" ocsp_issuer_file)" \
    "ocsp_issuer_file: '$CERTS/other-ca.crt' is not the issuer"
