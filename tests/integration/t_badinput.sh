#!/usr/bin/env bash
# t_badinput: bad clients and bad upstreams never hurt the daemon. Each case
# provokes one failure, expects its per-connection line with the documented
# reason, and then proves that a normal mosquitto_pub/sub round trip through
# mqgate still works. Ends with a leak check: 300 mixed bad connections must
# leave the fd count at its baseline and RSS (almost) where it was.
. "$(dirname "$0")/lib.sh"

. "$(dirname "$0")/abuse.sh"

check_serving() {
	check "$1: a pub/sub round trip through mqgate still works" \
	    roundtrip "$PORT"
}

# A handshake failure's detail must be readable: not empty, and no raw
# SSL_get_error() code dressed up as an OpenSSL error ("lib(0)").
check_detail() {
	local msg=$1 d
	d=$(conn_field detail)
	if [ -z "$d" ] || [ "$d" = '""' ]; then
		fail "$msg: empty detail (line: $CONN_LINE)"
	elif grep -q 'lib(0)' <<<"$d"; then
		fail "$msg: detail carries a raw error code: $d"
	else
		ok "$msg: detail is readable ($d)"
	fi
}

# Check that CONN_LINE (already waited for) has reason REASON.
check_reason() {
	local msg=$1 want=$2 got
	got=$(conn_field reason)
	if [ "$got" = "$want" ]; then
		ok "$msg: reason=$want"
	else
		fail "$msg: reason=$got, want $want (line: $CONN_LINE)"
	fi
}

conn_lines() {
	log_count ' conn=[0-9]+ client='
}

# True when at least N lines after the mark match PATTERN.
log_count_ge() {
	[ "$(log_count "$2")" -ge "$1" ]
}

fd_le() {
	[ "$(fd_count "$1")" -le "$2" ]
}

is_asan() {
	ldd "$MQGATE" 2>/dev/null | grep -q libasan ||
	    grep -q __asan_init "$MQGATE" 2>/dev/null
}

# ------------------------------------------------------------ setup

start_broker
PORT=$(free_port)
DOWN_PORT=$(free_port)
FAKE_PORT=$(free_port)
DEAD_UPSTREAM=$(free_port) # reserved for us, nothing listens there
FAKEUP=$(free_port)

abuse_bg fakeup 127.0.0.1 "$FAKEUP"
FAKEUP_PID=$BG_PID
FAKEUP_OUT=$BG_OUT
wait_for "$(tmo 10)" grep -q 'listening=1' "$FAKEUP_OUT" ||
    bail "fake upstream did not start" "$FAKEUP_OUT"

{
	conf_global "handshake_timeout = 1"
	conf_listener main "$PORT"
	conf_listener down "$DOWN_PORT" "upstream = 127.0.0.1:$DEAD_UPSTREAM"
	conf_listener fake "$FAKE_PORT" "upstream = 127.0.0.1:$FAKEUP"
} | write_conf "$T/mqgate.ini"
start_mqgate "$T/mqgate.ini"

check "baseline: a pub/sub round trip through mqgate works" roundtrip "$PORT"

# ------------------------------------------------------------ garbage

log_mark
check "garbage: the server closes the connection" \
    abuse garbage 127.0.0.1 "$PORT" 512
if wait_conn main handshake_failed; then
	ok "garbage: reason=handshake_failed"
	check_detail garbage
else
	fail "garbage: no handshake_failed line"
fi
check_serving garbage

# ------------------------------------------------------------ plaintext MQTT

# MQTT 3.1.1 CONNECT (client id "plain", keepalive 10) in the clear.
printf '\x10\x11\x00\x04MQTT\x04\x02\x00\x0a\x00\x05plain' >"$T/plain.bin"
log_mark
check "plaintext CONNECT: the server closes the connection" \
    abuse raw 127.0.0.1 "$PORT" "$T/plain.bin"
if wait_conn main handshake_failed; then
	ok "plaintext CONNECT: reason=handshake_failed"
	d=$(conn_field detail)
	if grep -qiE 'wrong version number|http|record|packet length|unknown protocol' <<<"$d"; then
		ok "plaintext CONNECT: detail names the TLS error ($d)"
	else
		fail "plaintext CONNECT: detail '$d' does not name a record/version error"
	fi
	check_detail "plaintext CONNECT"
else
	fail "plaintext CONNECT: no handshake_failed line"
fi
check "plaintext CONNECT: no byte of it reached the broker" \
    test "$(aval received)" = 0
check_serving "plaintext CONNECT"

# ------------------------------------------------------------ silence

log_mark
if abuse silent 127.0.0.1 "$PORT"; then
	ms=$(aval elapsed_ms)
	if [ "$ms" -ge 900 ] && [ "$ms" -le $((3000 * TIMEOUT_SCALE)) ]; then
		ok "silent client: closed after ${ms} ms (handshake_timeout = 1)"
	else
		fail "silent client: closed after ${ms} ms, want 1000..$((3000 * TIMEOUT_SCALE))"
	fi
else
	fail "silent client: not closed by the server" "$AOUT" "$LOG"
fi
if wait_client_conn "$(aval port)"; then
	check_reason "silent client" handshake_timeout
else
	fail "silent client: no connection line"
fi
check_serving "silent client"

# ------------------------------------------------------------ half ClientHello

log_mark
check "half ClientHello + reset: sent" abuse halfhello 127.0.0.1 "$PORT"
if wait_client_conn "$(aval port)"; then
	check_reason "half ClientHello + reset" handshake_failed
	check_detail "half ClientHello + reset"
else
	fail "half ClientHello + reset: no connection line"
fi
check_serving "half ClientHello + reset"

# ------------------------------------------------------------ reset mid-stream

log_mark
check "reset after CONNACK: handshake and CONNECT went through" \
    abuse rstafter 127.0.0.1 "$PORT"
if wait_client_conn "$(aval port)"; then
	check_reason "reset after CONNACK" client_error
else
	fail "reset after CONNACK: no connection line"
fi
check_serving "reset after CONNACK"

# ------------------------------------------------------------ upstream down

log_mark
if mqtt_probe "$DOWN_PORT"; then
	fail "upstream down: a CONNACK came back"
else
	ok "upstream down: no CONNACK"
fi
if wait_conn down upstream_connect_failed; then
	ok "upstream down: reason=upstream_connect_failed"
	check "upstream down: detail=\"Connection refused\"" \
	    test "$(conn_field detail)" = '"Connection refused"'
	check "upstream down: upstream= names the broker address" \
	    test "$(conn_field upstream)" = "127.0.0.1:$DEAD_UPSTREAM"
else
	fail "upstream down: no upstream_connect_failed line"
fi
check_serving "upstream down"

# ------------------------------------------------------------ upstream closes

log_mark
if mqtt_probe "$FAKE_PORT"; then
	fail "upstream closes: a CONNACK came back from a fake that sends none"
else
	ok "upstream closes: the client sees the end"
fi
if wait_conn fake upstream_closed; then
	ok "upstream closes after the first bytes: reason=upstream_closed"
	check "upstream closes: the CONNECT was passed on (in > 0)" \
	    test "$(conn_field in)" -gt 0
else
	fail "upstream closes: no upstream_closed line"
fi
check "upstream closes: the fake upstream got the client's bytes" \
    grep -qE 'first_bytes=[1-9]' "$FAKEUP_OUT"
check_serving "upstream closes"

# ------------------------------------------------------------ huge ClientHello

MIB=$((1024 * 1024))
bighello() {
	abuse bighello 127.0.0.1 "$PORT" "$MIB" &&
	    wait_for "$(tmo 10)" log_count_ge "$1" "reason=handshake_failed"
}
log_mark
check "1 MiB ClientHello: the server closes the connection" bighello 1
if wait_conn main handshake_failed; then
	ok "1 MiB ClientHello: reason=handshake_failed"
	check_detail "1 MiB ClientHello"
else
	fail "1 MiB ClientHello: no handshake_failed line"
fi
rss0=$(rss_kb "$MQGATE_PID")
n=1
while [ "$n" -lt 6 ]; do
	n=$((n + 1))
	bighello "$n" || break
done
check "1 MiB ClientHello x5 more: all closed with handshake_failed" \
    test "$(log_count "$(conn_re main handshake_failed)")" -eq 6
rss1=$(rss_kb "$MQGATE_PID")
if is_asan; then
	note "1 MiB ClientHello: RSS ${rss0} -> ${rss1} KiB (not judged under ASan: its quarantine keeps freed memory)"
elif [ $((rss1 - rss0)) -lt 2048 ]; then
	ok "1 MiB ClientHello x5: RSS grew $((rss1 - rss0)) KiB (< 2 MiB)"
else
	fail "1 MiB ClientHello x5: RSS grew $((rss1 - rss0)) KiB (${rss0} -> ${rss1})"
fi
check_serving "1 MiB ClientHello"

# ------------------------------------------------------------ leak check

# Warm up with the same mix first, so that allocator arenas and OpenSSL's
# caches have reached their working size before the baseline is taken.
mixed_round() {
	local n=$1 what=$2
	log_mark
	if abuse mix 127.0.0.1 "$PORT" "$n" 30; then
		ok "$what: $n mixed bad connections all ended ($(tr '\n' ' ' <"$AOUT"))"
	else
		fail "$what: some bad connections did not end as expected" "$AOUT"
	fi
	if wait_for "$(tmo 20)" log_count_ge "$n" ' conn=[0-9]+ client='; then
		ok "$what: $n connection lines logged"
	else
		fail "$what: only $(conn_lines) of $n connection lines logged"
	fi
	check "$what: no connection was spliced to the broker" \
	    test "$(log_count ' upstream=127')" -eq 0
}

# The fd baseline is the lower of two quiet moments, so that a connection
# still being torn down when it is read cannot raise it.
fd0=$(fd_count "$MQGATE_PID")
mixed_round 100 "leak warm-up"
fd1=$(fd_count "$MQGATE_PID")
[ "$fd1" -lt "$fd0" ] && fd0=$fd1
rss0=$(rss_kb "$MQGATE_PID")
mixed_round 300 "leak check"
if wait_for "$(tmo 10)" fd_le "$MQGATE_PID" "$fd0"; then
	ok "leak check: fd count back to its baseline ($fd0)"
else
	fail "leak check: fd count $(fd_count "$MQGATE_PID"), baseline $fd0"
	ls -l "/proc/$MQGATE_PID/fd" | sed 's/^/#   /'
fi
rss1=$(rss_kb "$MQGATE_PID")
if is_asan; then
	note "leak check: RSS ${rss0} -> ${rss1} KiB (not judged under ASan; LeakSanitizer checks at exit)"
elif [ $((rss1 - rss0)) -lt 4096 ]; then
	ok "leak check: RSS grew $((rss1 - rss0)) KiB (< 4 MiB)"
else
	fail "leak check: RSS grew $((rss1 - rss0)) KiB (${rss0} -> ${rss1})"
fi
check_serving "leak check"

check "mqgate is still running" pid_alive "$MQGATE_PID"
kill "$FAKEUP_PID" 2>/dev/null
stop_mqgate
