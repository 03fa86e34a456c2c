#!/usr/bin/env bash
# t_drain: SIGTERM. With nothing open mqgate exits at once. With an open
# subscriber it stops accepting at once, lets the subscriber go on for
# drain_timeout, then closes it with reason=shutdown and exits 0; it leaves
# early when the last connection ends by itself, at once with
# drain_timeout = 0, and on a second SIGTERM.
. "$(dirname "$0")/lib.sh"

need stdbuf

# True when a TCP connect to 127.0.0.1:PORT is refused (or fails at once).
connect_refused() {
	! timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null
}

# True when a TCP connect to 127.0.0.1:PORT succeeds.
connect_ok() {
	timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null
}

no_sanitizer_report() {
	! grep -qE 'ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:' "$LOG"
}

# Start mosquitto_sub -d through mqgate on PORT for TOPIC in the background
# (output $SUB_OUT, pid $SUB_PID, its local port $SUB_CPORT) and wait for
# its SUBACK. Extra arguments go to mosquitto_sub (e.g. -C 1).
start_sub() {
	local port=$1 topic=$2
	shift 2
	SEQ=$((SEQ + 1))
	SUB_OUT=$T/sub.$SEQ.out
	closefds timeout -k 2 "$(tmo 90)" stdbuf -oL \
	    mosquitto_sub -d -h "$MQ_HOST" -p "$port" --cafile "$CERTS/ca.crt" \
	    -t "$topic" "$@" \
	    >"$SUB_OUT" 2>&1 </dev/null &
	SUB_PID=$!
	track "$SUB_PID"
	wait_for "$(tmo 10)" grep -q 'received SUBACK' "$SUB_OUT"
}

stop_sub() {
	kill "$SUB_PID" 2>/dev/null
	wait "$SUB_PID" 2>/dev/null
}

publish_direct() {
	timeout -k 2 "$(tmo 10)" mosquitto_pub -h 127.0.0.1 -p "$BROKER_PORT" \
	    -t "$1" -m "$2"
}

# Start mqgate on a fresh port with the given [global] lines.
start_gate() {
	PORT=$(free_port)
	SEQ=$((SEQ + 1))
	{
		conf_global "$@"
		conf_listener main "$PORT"
	} | write_conf "$T/mqgate.$SEQ.ini"
	start_mqgate "$T/mqgate.$SEQ.ini"
}

# After a SIGTERM sent at T0 (ms): wait up to SECS for the exit and check
# status 0, the "exiting" line and a clean sanitizer log. Sets EXIT_MS
# (ms from T0 to the observed exit).
check_exit() {
	local what=$1 secs=$2 t0=$3
	if wait_mqgate_exit "$secs"; then
		EXIT_MS=$(($(now_ms) - t0))
		ok "$what: mqgate exited ${EXIT_MS} ms after SIGTERM"
		check "$what: exit status 0" test "$MQGATE_RC" -eq 0
		assert_log "$what: 'exiting' logged" ' exiting$' 1
		check "$what: no sanitizer report" no_sanitizer_report
	else
		EXIT_MS=
		fail "$what: mqgate still running ${secs}s after SIGTERM"
		signal_mqgate KILL
		wait_mqgate_exit 5
	fi
}

start_broker

# ------------------------------------------------- no connections

start_gate "drain_timeout = 30"
log_mark
t0=$(now_ms)
signal_mqgate TERM
check_exit "idle daemon" "$(tmo 2)" "$t0"
assert_log "idle daemon: shutdown line says 0 connections" \
    'shutting down on SIGTERM: 0 connections open, draining up to 30000 ms' 1

# ------------------------------------------------- drain_timeout runs out

DRAIN=$(tmo 3)
start_gate "drain_timeout = $DRAIN"
TOPIC=mqgate-test/drain/$$/1
start_sub "$PORT" "$TOPIC" ||
    bail "drain: subscriber did not get its SUBACK" "$SUB_OUT" "$LOG"
ok "drain: subscriber connected through mqgate"
check "drain: before SIGTERM the port accepts TCP connects" connect_ok "$PORT"
wait_log " listener=main .* reason=" # that probe's own line, not the sub's
log_mark
t0=$(now_ms)
signal_mqgate TERM
assert_log "drain: shutdown line names 1 open connection and the drain time" \
    "shutting down on SIGTERM: 1 connections open, draining up to $((DRAIN * 1000)) ms" "$(tmo 2)"
if wait_for 1 connect_refused "$PORT"; then
	ok "drain: new TCP connects are refused within 1 s of SIGTERM ($(($(now_ms) - t0)) ms)"
else
	fail "drain: the port still accepts connects 1 s after SIGTERM"
fi
check "drain: ... and stay refused" connect_refused "$PORT"

MSG=during-drain-$$-$RANDOM
publish_direct "$TOPIC" "$MSG"
if wait_for "$(tmo 2)" grep -qx -- "$MSG" "$SUB_OUT"; then
	ok "drain: the open subscriber receives a message published during the drain"
else
	fail "drain: the open subscriber got no message during the drain" "$SUB_OUT" "$LOG"
fi
check "drain: mqgate is still draining after that" pid_alive "$MQGATE_PID"
assert_no_log "drain: the subscriber is not closed early" ' reason=shutdown'

check_exit "drain" $((DRAIN + $(tmo 3))) "$t0"
if [ -n "$EXIT_MS" ]; then
	if [ "$EXIT_MS" -ge $((DRAIN * 1000 - 300)) ] &&
	    [ "$EXIT_MS" -le $((DRAIN * 1000 + 2000 * TIMEOUT_SCALE)) ]; then
		ok "drain: exit came after about drain_timeout (${EXIT_MS} ms, drain_timeout ${DRAIN} s)"
	else
		fail "drain: exit after ${EXIT_MS} ms, want about $((DRAIN * 1000)) ms"
	fi
fi
assert_log "drain: 'drain time over: closing 1 open connections' logged" \
    'drain time over: closing 1 open connections' 1
if wait_conn main shutdown 1; then
	ok "drain: the subscriber's connection closed with reason=shutdown"
	check "drain: its line counts what it delivered (out > 0)" \
	    test "$(conn_field out)" -gt 0
else
	fail "drain: no reason=shutdown line"
fi
stop_sub

# ------------------------------------------------- last connection ends

start_gate "drain_timeout = 30"
TOPIC=mqgate-test/drain/$$/2
start_sub "$PORT" "$TOPIC" -C 1 ||
    bail "self-ending: subscriber did not get its SUBACK" "$SUB_OUT" "$LOG"
log_mark
t0=$(now_ms)
signal_mqgate TERM
assert_log "self-ending: shutting down logged" 'shutting down on SIGTERM: 1 connections open' "$(tmo 2)"
MSG=last-one-$$-$RANDOM
publish_direct "$TOPIC" "$MSG"
check "self-ending: the subscriber gets its one message and leaves" \
    wait_for "$(tmo 5)" grep -qx -- "$MSG" "$SUB_OUT"
check_exit "self-ending" "$(tmo 5)" "$t0"
if [ -n "$EXIT_MS" ] && [ "$EXIT_MS" -lt 10000 ]; then
	ok "self-ending: mqgate left when its last connection ended, long before drain_timeout = 30"
else
	fail "self-ending: mqgate did not leave early (${EXIT_MS:-never} ms)"
fi
if wait_conn main 'client_closed|upstream_closed' 1; then
	ok "self-ending: the connection ended by itself ($(conn_field reason))"
else
	fail "self-ending: no client_closed/upstream_closed line"
fi
assert_no_log "self-ending: no 'drain time over'" 'drain time over'
assert_no_log "self-ending: nothing closed with reason=shutdown" ' reason=shutdown'
wait "$SUB_PID" 2>/dev/null

# ------------------------------------------------- drain_timeout = 0

start_gate "drain_timeout = 0"
TOPIC=mqgate-test/drain/$$/3
start_sub "$PORT" "$TOPIC" ||
    bail "drain_timeout 0: subscriber did not get its SUBACK" "$SUB_OUT" "$LOG"
log_mark
t0=$(now_ms)
signal_mqgate TERM
check_exit "drain_timeout 0" "$(tmo 2)" "$t0"
if wait_conn main shutdown 1; then
	ok "drain_timeout 0: the open connection closed at once with reason=shutdown"
else
	fail "drain_timeout 0: no reason=shutdown line"
fi
stop_sub

# ------------------------------------------------- second SIGTERM

start_gate "drain_timeout = 30"
TOPIC=mqgate-test/drain/$$/4
start_sub "$PORT" "$TOPIC" ||
    bail "second SIGTERM: subscriber did not get its SUBACK" "$SUB_OUT" "$LOG"
log_mark
signal_mqgate TERM
assert_log "second SIGTERM: first one starts the drain" \
    'shutting down on SIGTERM: 1 connections open, draining up to 30000 ms' "$(tmo 2)"
check "second SIGTERM: still draining after the first" pid_alive "$MQGATE_PID"
t0=$(now_ms)
signal_mqgate TERM
check_exit "second SIGTERM" "$(tmo 2)" "$t0"
if wait_conn main shutdown 1; then
	ok "second SIGTERM: the open connection closed with reason=shutdown"
else
	fail "second SIGTERM: no reason=shutdown line"
fi
stop_sub
