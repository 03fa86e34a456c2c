#!/usr/bin/env bash
# t_limits: the connection limits. max_connections refuses the surplus at
# once, logs it at most once a second per worker and counts what it did not
# log; RLIMIT_NOFILE too small for max_connections lowers the effective
# limit (with a warning) instead of running into EMFILE; idle_timeout closes
# silent spliced connections but not busy ones; connect_timeout bounds an
# upstream connect that never completes.
. "$(dirname "$0")/lib.sh"

. "$(dirname "$0")/abuse.sh"

log_count_ge() {
	[ "$(log_count "$2")" -ge "$1" ]
}

# True once the wall clock (what the refusal log limit counts) is past
# second S.
clock_past() {
	[ "$(date +%s)" -gt "$1" ]
}

# True when the line WARN names RLIMIT_NOFILE and the number N.
names_rlimit() {
	grep -q RLIMIT_NOFILE <<<"$1" &&
	    grep -oE '[0-9]+' <<<"$1" | grep -qx "$2"
}

MAXRE=' reason=max_connections( |$)'

start_broker

# ------------------------------------------------- max_connections = 3

PORT=$(free_port)
# One worker: the refusal log limit is per worker, so this makes it exact.
{
	conf_global "workers = 1" "max_connections = 3"
	conf_listener main "$PORT"
} | write_conf "$T/max.ini"
start_mqgate "$T/max.ini"
assert_log "max: ready line shows max_connections=3" \
    'ready workers=1 max_connections=3$' 1

abuse_bg hold 127.0.0.1 "$PORT" 3
HOLD_PID=$BG_PID
HOLD_OUT=$BG_OUT
if wait_for "$(tmo 20)" grep -q 'held=' "$HOLD_OUT" &&
    [ "$(aval held "$HOLD_OUT")" = 3 ]; then
	ok "max: 3 TLS clients connected and got their CONNACK"
else
	bail "max: could not open 3 TLS clients" "$HOLD_OUT" "$LOG"
fi

log_mark
s0=$(date +%s)
if abuse tlsfail 127.0.0.1 "$PORT"; then
	ok "max: a 4th client's TLS handshake fails ($(aval error))"
else
	fail "max: a 4th client completed its TLS handshake" "$AOUT" "$LOG"
fi
if wait_conn main max_connections; then
	ok "max: the 4th is logged with reason=max_connections"
	check "max: ... without a TLS session or upstream" \
	    test "$(conn_field tls)/$(conn_field upstream)" = "-/-"
else
	fail "max: no reason=max_connections line"
fi

# 20 more as fast as possible: all refused, but hardly any log lines.
if abuse refused 127.0.0.1 "$PORT" 20; then
	ok "max: 20 more connects are all closed at once without a byte"
else
	fail "max: not all of 20 surplus connects were closed at once ($(cat "$AOUT"))"
fi
s1=$(date +%s)
lines=$(log_count "$MAXRE")
if [ "$lines" -le $((s1 - s0 + 1)) ]; then
	ok "max: 21 refusals within $((s1 - s0 + 1)) second(s) gave $lines max_connections line(s) (one worker: at most one a second)"
else
	fail "max: 21 refusals within $((s1 - s0 + 1)) second(s) gave $lines max_connections lines"
fi

# One more refusal in a later second carries the count of the unlogged ones.
wait_for 3 clock_past "$s1"
abuse refused 127.0.0.1 "$PORT" 1
if wait_for "$(tmo 5)" log_count_ge $((lines + 1)) "$MAXRE"; then
	last=$(log_since | grep -E -- "$MAXRE" | tail -n 1)
	if grep -qE 'detail="[0-9]+ more refused without a log line"' <<<"$last"; then
		ok "max: a later line carries 'N more refused without a log line'"
	else
		fail "max: the later max_connections line has no 'more refused' detail: $last"
	fi
	total=$(log_count "$MAXRE")
	unlogged=$(log_since | grep -E -- "$MAXRE" |
	    grep -oE 'detail="[0-9]+ more refused' | grep -oE '[0-9]+' |
	    awk '{ s += $1 } END { print s + 0 }')
	if [ $((total + unlogged)) -eq 22 ]; then
		ok "max: lines ($total) + 'more refused' counts ($unlogged) = the 22 refused connections"
	else
		fail "max: lines ($total) + 'more refused' counts ($unlogged) != 22 refused connections"
	fi
else
	fail "max: the refusal in a later second was not logged"
fi
check "max: mqgate is still running" pid_alive "$MQGATE_PID"

# Once the 3 are gone, new clients get through again.
log_mark
kill "$HOLD_PID" 2>/dev/null
wait "$HOLD_PID" 2>/dev/null
if wait_for "$(tmo 10)" log_count_ge 3 ' listener=main .* reason=client_(closed|error)'; then
	ok "max: the 3 held connections closed"
else
	fail "max: the 3 held connections were not all logged as closed"
fi
check "max: after they closed, a pub/sub round trip works" roundtrip "$PORT"
abuse_bg hold 127.0.0.1 "$PORT" 3
HOLD_PID=$BG_PID
HOLD_OUT=$BG_OUT
if wait_for "$(tmo 20)" grep -q 'held=' "$HOLD_OUT" &&
    [ "$(aval held "$HOLD_OUT")" = 3 ]; then
	ok "max: 3 new TLS clients fit again"
else
	fail "max: 3 new TLS clients did not fit" "$HOLD_OUT" "$LOG"
fi
kill "$HOLD_PID" 2>/dev/null
wait "$HOLD_PID" 2>/dev/null
stop_mqgate

# ------------------------------------------------- RLIMIT_NOFILE too small

NOFILE=256
PORT=$(free_port)
{
	conf_global "workers = 2" "max_connections = 512000"
	conf_listener main "$PORT"
} | write_conf "$T/rlimit.ini"
nofile_limit "$NOFILE"
start_mqgate "$T/rlimit.ini"
nofile_limit ""

check "rlimit: mqgate runs with RLIMIT_NOFILE $NOFILE" \
    grep -qE "^Max open files +$NOFILE +$NOFILE " "/proc/$MQGATE_PID/limits"
warn=$(log_since | grep -E '^[^ ]+ warn[a-z]* .*max_connections' | head -n 1)
if [ -n "$warn" ]; then
	ok "rlimit: a warning about max_connections is logged"
	nums=$(grep -oE '[0-9]+' <<<"${warn#* * }")
	check "rlimit: the warning names max_connections = 512000" \
	    grep -qx 512000 <<<"$nums"
	check "rlimit: the warning names RLIMIT_NOFILE and its value $NOFILE" \
	    names_rlimit "$warn" "$NOFILE"
	if awk '$1 >= 1024000 && $1 <= 1030000 { f = 1 } END { exit !f }' <<<"$nums"; then
		ok "rlimit: the warning names the fds needed (2 x 512000 + reserve)"
	else
		fail "rlimit: no fds-needed figure near 1024000 in: $warn"
	fi
else
	fail "rlimit: no warning about max_connections"
fi
M=$(log_since | grep -oE 'ready workers=[0-9]+ max_connections=[0-9]+' |
    tail -n 1 | sed 's/.*max_connections=//')
if [ -n "$M" ] && [ "$M" -ge 1 ] && [ "$M" -lt $((NOFILE / 2)) ]; then
	ok "rlimit: ready line shows the lowered limit max_connections=$M (< $((NOFILE / 2)))"
else
	bail "rlimit: ready line shows max_connections=${M:-?}, want 1..$((NOFILE / 2 - 1))"
fi
if [ -n "$warn" ]; then
	check "rlimit: the warning names the enforced limit $M" \
	    grep -qx "$M" <<<"$nums"
fi

abuse_bg hold 127.0.0.1 "$PORT" "$M"
HOLD_PID=$BG_PID
HOLD_OUT=$BG_OUT
if wait_for "$(tmo 60)" grep -q 'held=' "$HOLD_OUT" &&
    [ "$(aval held "$HOLD_OUT")" = "$M" ]; then
	ok "rlimit: $M TLS clients (each with an upstream connection) are served"
else
	fail "rlimit: only $(aval held "$HOLD_OUT") of $M TLS clients were served" "$HOLD_OUT" "$LOG"
fi
log_mark
if abuse refused 127.0.0.1 "$PORT" 5; then
	ok "rlimit: 5 more connects are closed at once"
else
	fail "rlimit: 5 surplus connects were not all closed at once ($(cat "$AOUT"))"
fi
if wait_log "$MAXRE" "$(tmo 5)"; then
	ok "rlimit: the surplus is refused with reason=max_connections"
else
	fail "rlimit: no reason=max_connections line for the surplus"
fi
check "rlimit: mqgate is still running" pid_alive "$MQGATE_PID"
assert_no_log "rlimit: no EMFILE" 'Too many open files|EMFILE'
check "rlimit: mqgate holds at most $NOFILE fds ($(fd_count "$MQGATE_PID"))" \
    test "$(fd_count "$MQGATE_PID")" -le "$NOFILE"
log_mark
kill "$HOLD_PID" 2>/dev/null
wait "$HOLD_PID" 2>/dev/null
if wait_for "$(tmo 20)" log_count_ge "$M" ' listener=main .* reason=client_(closed|error)'; then
	ok "rlimit: the $M held connections closed"
else
	fail "rlimit: only $(log_count ' reason=client_') of $M held connections logged as closed"
fi
check "rlimit: afterwards a pub/sub round trip works" roundtrip "$PORT"
stop_mqgate

# ------------------------------------------------- idle_timeout, connect_timeout

PORT=$(free_port)
HOLE_PORT=$(free_port)
HOLE=$(free_port)
abuse_bg blackhole 127.0.0.1 "$HOLE"
HOLE_PID=$BG_PID
HOLE_OUT=$BG_OUT
wait_for "$(tmo 10)" grep -q 'ready=' "$HOLE_OUT"
{
	conf_global "idle_timeout = 1" "connect_timeout = 1"
	conf_listener main "$PORT"
	conf_listener hole "$HOLE_PORT" "upstream = 127.0.0.1:$HOLE"
} | write_conf "$T/timeouts.ini"
start_mqgate "$T/timeouts.ini"

log_mark
abuse_bg chatty 127.0.0.1 "$PORT" 0.3 3
CHAT_PID=$BG_PID
CHAT_OUT=$BG_OUT
if abuse idle 127.0.0.1 "$PORT"; then
	ms=$(aval elapsed_ms)
	if [ "$ms" -ge 900 ] && [ "$ms" -le $((3000 * TIMEOUT_SCALE)) ]; then
		ok "idle: a silent spliced connection is closed after ${ms} ms (idle_timeout = 1)"
	else
		fail "idle: closed after ${ms} ms, want 1000..$((3000 * TIMEOUT_SCALE))"
	fi
else
	fail "idle: the silent connection was not closed" "$AOUT" "$LOG"
fi
if wait_client_conn "$(aval port)"; then
	check "idle: its line has reason=idle_timeout" \
	    test "$(conn_field reason)" = idle_timeout
else
	fail "idle: no line for the silent connection"
fi
if wait "$CHAT_PID"; then
	ok "idle: a connection with a PINGREQ every 300 ms stays open for 3 s ($(aval pings "$CHAT_OUT") pings)"
else
	fail "idle: the busy connection broke ($(cat "$CHAT_OUT"))" "$CHAT_OUT" "$LOG"
fi
if wait_client_conn "$(aval port "$CHAT_OUT")"; then
	r=$(conn_field reason)
	check "idle: the busy connection ended by itself, not by idle_timeout (reason=$r)" \
	    test "$r" = client_closed -o "$r" = upstream_closed
	check "idle: the busy connection lasted at least 3 s ($(conn_field ms) ms)" \
	    test "$(conn_field ms)" -ge 3000
else
	fail "idle: no line for the busy connection"
fi

if grep -q 'ready=1' "$HOLE_OUT"; then
	log_mark
	if mqtt_probe "$HOLE_PORT"; then
		fail "connect_timeout: a CONNACK came back from a black hole"
	else
		ok "connect_timeout: no CONNACK from an upstream that never accepts"
	fi
	if wait_conn hole upstream_connect_failed "$(tmo 5)"; then
		ok "connect_timeout: reason=upstream_connect_failed"
		check "connect_timeout: detail=\"timed out after 1000 ms\" ($(conn_field detail))" \
		    test "$(conn_field detail)" = '"timed out after 1000 ms"'
	else
		fail "connect_timeout: no upstream_connect_failed line"
	fi
else
	note "SKIP connect_timeout: the kernel completes connects to a full accept queue ($(cat "$HOLE_OUT"))"
fi
kill "$HOLE_PID" 2>/dev/null
check "timeouts: mqgate is still running" pid_alive "$MQGATE_PID"
stop_mqgate
