#!/usr/bin/env bash
# t_reload: certificate rotation. SIGHUP and the reload_interval check swap
# the server certificate for new handshakes while open connections go on;
# a broken replacement is reported once with the config file:line and the
# old certificate keeps serving until the files are fixed; a changed
# cacertfile takes effect for client verification.
. "$(dirname "$0")/lib.sh"

need stdbuf

# SHA-256 fingerprint of a PEM certificate file (the first one in it).
fp_of() {
	openssl x509 -noout -fingerprint -sha256 -in "$1" 2>/dev/null |
	    cut -d= -f2
}

# Fingerprint of the leaf a new handshake on PORT gets ("" on failure).
leaf_fp() {
	sclient "$1" -servername localhost
	openssl x509 -noout -fingerprint -sha256 <"$SCLIENT_OUT" 2>/dev/null |
	    cut -d= -f2
}

# check_leaf MSG PORT WANT_FP NAME: a new handshake gets certificate NAME.
check_leaf() {
	local got
	got=$(leaf_fp "$2")
	if [ -n "$got" ] && [ "$got" = "$3" ]; then
		ok "$1: new handshakes get certificate $4"
	else
		fail "$1: new handshake got ${got:-no certificate}, want $4 ($3)" \
		    "$LOG" "$SCLIENT_OUT"
	fi
}

# Copy SRC over DST atomically: a temp file in the same dir, then mv.
replace() {
	cp "$1" "$2.tmp.$$" && mv -f "$2.tmp.$$" "$2"
}

# Line number of "KEY =" in FILE (the first one).
line_of() {
	grep -nE "^$2[[:space:]]*=" "$1" | head -n 1 | cut -d: -f1
}

log_count_ge() {
	[ "$(log_count "$2")" -ge "$1" ]
}

# Start mosquitto_sub -d through mqgate on PORT for TOPIC in the
# background (output in $SUB_OUT, pid in $SUB_PID) and wait for its SUBACK.
start_sub() {
	local port=$1 topic=$2
	SEQ=$((SEQ + 1))
	SUB_OUT=$T/sub.$SEQ.out
	closefds timeout -k 2 "$(tmo 60)" stdbuf -oL \
	    mosquitto_sub -d -h "$MQ_HOST" -p "$port" --cafile "$CERTS/ca.crt" -t "$topic" -C 1 \
	    >"$SUB_OUT" 2>&1 </dev/null &
	SUB_PID=$!
	track "$SUB_PID"
	wait_for "$(tmo 10)" grep -q 'received SUBACK' "$SUB_OUT"
}

FP_A=$(fp_of "$CERTS/server.crt")
FP_B=$(fp_of "$CERTS/server2.crt")
if [ -z "$FP_A" ] || [ -z "$FP_B" ] || [ "$FP_A" = "$FP_B" ]; then
	bail "server.crt and server2.crt must have distinct fingerprints"
fi

start_broker

# ------------------------------------------------- (1) SIGHUP, relative paths

D1=$T/pki1
mkdir -p "$D1"
cp "$CERTS/server.pem" "$CERTS/server.key" "$D1/"
PORT=$(free_port)
{
	conf_global "reload_interval = 0"
	conf_listener main "$PORT" "certfile = server.pem" "keyfile = server.key"
} | write_conf "$D1/mqgate.ini"
start_mqgate "$D1/mqgate.ini"

check_leaf "SIGHUP: before" "$PORT" "$FP_A" A
TOPIC=mqgate-test/reload/$$/hup
if start_sub "$PORT" "$TOPIC"; then
	ok "SIGHUP: subscriber connected through mqgate"
else
	fail "SIGHUP: subscriber did not get its SUBACK" "$SUB_OUT" "$LOG"
fi

replace "$CERTS/server2.pem" "$D1/server.pem"
replace "$CERTS/server2.key" "$D1/server.key"
log_mark
signal_mqgate HUP
assert_log "SIGHUP: certificates reloaded (SIGHUP) logged" \
    'certificates reloaded generation=[0-9]+ \(SIGHUP\)'
check_leaf "SIGHUP: after" "$PORT" "$FP_B" B

MSG=after-rotation-$$-$RANDOM
timeout -k 2 "$(tmo 10)" mosquitto_pub -h 127.0.0.1 -p "$BROKER_PORT" \
    -t "$TOPIC" -m "$MSG"
if wait_for "$(tmo 10)" grep -qx -- "$MSG" "$SUB_OUT"; then
	ok "SIGHUP: the subscriber opened before the rotation gets a message published after it"
else
	fail "SIGHUP: the old subscriber got no message" "$SUB_OUT" "$LOG"
fi
check "SIGHUP: ... over its first connection (it never reconnected)" \
    test "$(grep -c 'sending CONNECT' "$SUB_OUT")" -eq 1
wait "$SUB_PID" 2>/dev/null
check "SIGHUP: mqgate is still running" pid_alive "$MQGATE_PID"
stop_mqgate

# ------------------------------------------------- (2) reload_interval, no signal

# The certificate directory is a symlink that rotation repoints in one
# rename (the way Kubernetes updates mounted secrets), so the check never
# sees a new certificate with an old key.
D2=$T/pki2
mkdir -p "$D2/v1" "$D2/v2" "$D2/v3" "$D2/v4" "$D2/v5"
cp "$CERTS/server.pem" "$D2/v1/server.pem"
cp "$CERTS/server.key" "$D2/v1/server.key"
cp "$CERTS/server2.pem" "$D2/v2/server.pem"
cp "$CERTS/server2.key" "$D2/v2/server.key"
cp "$CERTS/bad.pem" "$D2/v3/server.pem"      # garbage certificate
cp "$CERTS/server2.key" "$D2/v3/server.key"
cp "$CERTS/server.pem" "$D2/v4/server.pem"   # A's chain with B's key
cp "$CERTS/server2.key" "$D2/v4/server.key"
cp "$CERTS/server.pem" "$D2/v5/server.pem"
cp "$CERTS/server.key" "$D2/v5/server.key"
ln -s v1 "$D2/live"

# Point $D2/live at VERSION in one rename.
switch_to() {
	ln -sfn "$1" "$D2/live.tmp" && mv -T "$D2/live.tmp" "$D2/live"
}

PORT=$(free_port)
CONF2=$D2/mqgate.ini
{
	conf_global "reload_interval = 1"
	conf_listener main "$PORT" "certfile = live/server.pem" \
	    "keyfile = live/server.key"
} | write_conf "$CONF2"
CERT_LINE=$(line_of "$CONF2" certfile)
KEY_LINE=$(line_of "$CONF2" keyfile)
start_mqgate "$CONF2"

check_leaf "interval: before" "$PORT" "$FP_A" A
log_mark
switch_to v2
assert_log "interval: certificates reloaded (files changed) logged without a signal" \
    'certificates reloaded generation=[0-9]+ \(files changed\)' "$(tmo 5)"
check_leaf "interval: after" "$PORT" "$FP_B" B
assert_no_log "interval: an atomic rotation logs no error" \
    'keeping previous certificate'

# ------------------------------------------------- (3) broken replacements

log_mark
switch_to v3
if wait_log 'keeping previous certificate' "$(tmo 5)"; then
	ok "broken certfile: '(keeping previous certificate)' logged"
	line=$(log_since | grep 'keeping previous certificate' | head -n 1)
	if grep -qF "$CONF2:$CERT_LINE: certfile: " <<<"$line"; then
		ok "broken certfile: the error names $(basename "$CONF2"):$CERT_LINE: certfile"
	else
		fail "broken certfile: want '$CONF2:$CERT_LINE: certfile: ...', got: $line"
	fi
	check "broken certfile: the line is logged at level error" \
	    grep -qE '^[^ ]+ error ' <<<"$line"
else
	fail "broken certfile: no '(keeping previous certificate)' line"
fi
check_leaf "broken certfile" "$PORT" "$FP_B" "B (the previous one)"
n=$(log_count 'keeping previous certificate')
# About three more intervals: the broken set must not be retried.
if wait_for "$(tmo 4)" log_count_ge $((n + 1)) 'keeping previous certificate'; then
	fail "broken certfile: the same error is logged again without any file change ($(log_count 'keeping previous certificate') lines)"
else
	ok "broken certfile: the error is logged once, not on every interval ($n line)"
fi
check "broken certfile: exactly one certfile error line" \
    test "$(log_count "certfile: .*keeping previous certificate")" -eq 1
check "broken certfile: mqgate is still running" pid_alive "$MQGATE_PID"

# SIGHUP always rebuilds, so it reports the broken set again.
log_mark
signal_mqgate HUP
assert_log "broken certfile: SIGHUP retries and reports it again" \
    "$CONF2:$CERT_LINE: certfile: .*\\(keeping previous certificate\\)"
check_leaf "broken certfile after SIGHUP" "$PORT" "$FP_B" "B (the previous one)"

# A certificate whose key does not match.
log_mark
switch_to v4
if wait_log 'keeping previous certificate' "$(tmo 5)"; then
	line=$(log_since | grep 'keeping previous certificate' | head -n 1)
	if grep -qE "$CONF2:($CERT_LINE: certfile|$KEY_LINE: keyfile): " <<<"$line"; then
		ok "mismatched key: the error names the certfile/keyfile line ($line)"
	else
		fail "mismatched key: want '$CONF2:<certfile|keyfile line>: ...', got: $line"
	fi
else
	fail "mismatched key: no '(keeping previous certificate)' line"
fi
check_leaf "mismatched key" "$PORT" "$FP_B" "B (the previous one)"
n=$(log_count 'keeping previous certificate')
if wait_for "$(tmo 4)" log_count_ge $((n + 1)) 'keeping previous certificate'; then
	fail "mismatched key: the error is logged again without any file change"
else
	ok "mismatched key: the error is logged once ($n line)"
fi

# Fixing the files is picked up by the next check.
log_mark
switch_to v5
assert_log "fixed files: certificates reloaded (files changed)" \
    'certificates reloaded generation=[0-9]+ \(files changed\)' "$(tmo 5)"
check_leaf "fixed files" "$PORT" "$FP_A" A
check "fixed files: a normal client gets a CONNACK" mqtt_probe "$PORT"
stop_mqgate

# ------------------------------------------------- (4) cacertfile change

D4=$T/pki4
mkdir -p "$D4"
cp "$CERTS/other-ca.crt" "$D4/ca.pem"
PORT=$(free_port)
{
	conf_global "reload_interval = 1"
	conf_listener main "$PORT" "verify = verify_peer" \
	    "fail_if_no_peer_cert = true" "cacertfile = ca.pem"
} | write_conf "$D4/mqgate.ini"
start_mqgate "$D4/mqgate.ini"

check "CA change: before, a client of other-ca is accepted" \
    mqtt_probe -c client-other "$PORT"
if mqtt_probe -c client "$PORT"; then
	fail "CA change: before, a client of the demo root is accepted (want refused)"
else
	ok "CA change: before, a client of the demo root is refused"
fi

log_mark
replace "$CERTS/ca.crt" "$D4/ca.pem"
assert_log "CA change: certificates reloaded (files changed)" \
    'certificates reloaded generation=[0-9]+ \(files changed\)' "$(tmo 5)"
check "CA change: after, a client of the demo root is accepted" \
    mqtt_probe -c client "$PORT"
if mqtt_probe -c client-other "$PORT"; then
	fail "CA change: after, a client of other-ca is still accepted"
else
	ok "CA change: after, a client of other-ca is refused"
fi
stop_mqgate
