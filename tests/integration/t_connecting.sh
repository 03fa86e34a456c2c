#!/usr/bin/env bash
# t_connecting: a client while mqgate is still connecting upstream, and a
# client no server takes. One real mosquitto broker; a "black hole" (a
# listener whose accept queue is full, so connects to it never complete)
# makes the first candidate of a pool take connect_timeout to fail.
#  - an MQTT client that leaves without DISCONNECT while mqgate connects:
#    logged at once as client_closed/client_error "before the upstream
#    connected", in=0, and its CONNECT never reaches a broker: when it
#    reconnects with the same client id, the broker sees exactly one
#    CONNECT for that id, and the new session works (its publish comes
#    back)
#  - the same for a listener with a plain upstream (MQTT not parsed)
#  - a client that sends CONNECT + DISCONNECT and leaves at once (fire and
#    forget) is still forwarded once connected: the broker sees it
#  - no server takes the client: when mqgate has read the CONNECT
#    (balance = clientid) the client gets CONNACK 0x88 (MQTT 5) or return
#    code 3 (3.1.1, 3.1) before the close, logged upstream_connect_failed
#    with the pool server; without the CONNECT read, just the close
#  - health check reasons: a connect that never completes (the black
#    hole), one that fails at once (a multicast address: ENETUNREACH from
#    connect itself; still one failure per check, so health_fall = 4
#    takes three intervals), a CONNACK refusing the check, and a reply
#    that is no CONNACK
. "$(dirname "$0")/lib.sh"

. "$(dirname "$0")/abuse.sh"

RAW=$TOP_SRCDIR/tests/integration/mqtt_raw.py

# raw OUTNAME ARG...: mqtt_raw.py client (bounded); its lines in $ROUT.
raw() {
	local name=$1
	shift
	ROUT=$T/raw.$name.out
	timeout -k 2 "$(tmo 40)" "$PY" "$RAW" client --ca "$CERTS/ca.crt" \
	    "$@" >"$ROUT" 2>&1
}

# rv KEY [FILE]: the value of "KEY value" in FILE (default $ROUT).
rv() {
	awk -v k="$1" '$1 == k { sub(/^[^ ]+ /, ""); print; exit }' "${2:-$ROUT}"
}

# broker_connects ID: how many CONNECTs with client id ID the broker took.
broker_connects() {
	grep -cE "New client connected from .* as $1 " "$BROKER_LOG"
}

start_broker

HOLE=$(free_port)
abuse_bg blackhole 127.0.0.1 "$HOLE"
HOLE_OUT=$BG_OUT
wait_for "$(tmo 10)" grep -q 'ready=' "$HOLE_OUT" ||
    bail "the black hole did not start" "$HOLE_OUT"
HAVE_HOLE=0
grep -q 'ready=1' "$HOLE_OUT" && HAVE_HOLE=1
REFUSED=$(free_port)

# Brokers that answer a CONNECT wrongly: a refusal (return code 5), and
# bytes that are no CONNACK.
declare -A MUTE
for m in rc5:20020005 junk:485454502f; do
	name=${m%%:*}
	MUTE[$name]=$(free_port)
	closefds "$PY" "$PC" mute --port "${MUTE[$name]}" --reply "${m#*:}" \
	    >"$T/mute.$name.out" 2>&1 </dev/null &
	track $!
	wait_for "$(tmo 10)" grep -q '^listening' "$T/mute.$name.out" ||
	    bail "mute broker $name did not start" "$T/mute.$name.out"
done
# A health-checked pool of one server, checks every 300 ms.
hc_pool() { # NAME SERVER CHECK FALL
	printf '[upstream %s]\nserver = %s\nhealth_check = %s\nhealth_interval = 300ms\nhealth_timeout = 200ms\nhealth_fall = %s\n\n' \
	    "$@"
}

P_GONE=$(free_port)
P_GONEPLAIN=$(free_port)
P_NONE=$(free_port)
P_NONEPLAIN=$(free_port)
CT=2 # connect_timeout, s: the wait for the black hole
{
	conf_global "workers = 1" "connect_timeout = $CT"
	conf_listener gone "$P_GONE" "upstream = gone"
	conf_listener goneplain "$P_GONEPLAIN" "upstream = 127.0.0.1:$HOLE"
	conf_listener none "$P_NONE" "upstream = none"
	conf_listener noneplain "$P_NONEPLAIN" \
	    "upstream = 127.0.0.1:$REFUSED"
	printf '[upstream gone]\nserver = 127.0.0.1:%s\nserver = 127.0.0.1:%s backup\nbalance = clientid\nhealth_check = none\nconnect_retries = 1\n\n' \
	    "$HOLE" "$BROKER_PORT"
	printf '[upstream none]\nserver = 127.0.0.1:%s\nbalance = clientid\nhealth_check = none\nconnect_retries = 0\n\n' \
	    "$REFUSED"
	hc_pool hchole "127.0.0.1:$HOLE" tcp 1
	hc_pool hcunreach 224.0.0.1:1883 tcp 4
	hc_pool hcrc5 "127.0.0.1:${MUTE[rc5]}" mqtt 1
	hc_pool hcjunk "127.0.0.1:${MUTE[junk]}" mqtt 1
} | write_conf "$T/mqgate.ini"
start_mqgate "$T/mqgate.ini"

# ------------------------------------------------ leaving while connecting

if [ "$HAVE_HOLE" = 1 ]; then
	# The client gives up after 0.5 s, long before the black hole's
	# connect_timeout.
	log_mark
	raw stale1 --port "$P_GONE" --id stale-1 --timeout 0.5
	check "leaving: the client got nothing while mqgate connected ($(rv end))" \
	    [ "$(rv end)" = timeout ]
	if wait_conn gone 'client_closed|client_error' "$(tmo 5)"; then
		d=$(conn_field detail)
		[ "$(conn_field in)" = 0 ] && [[ $d == *"before the upstream connected"* ]] &&
		    [ "$(conn_field ms)" -lt $((CT * 1000)) ]
		verdict $? "leaving: logged as soon as it left, not after connect_timeout ($((CT * 1000)) ms): ms=$(conn_field ms) in=$(conn_field in) $d"
		check "leaving: the line names the server being tried ($(conn_field upstream))" \
		    [ "$(conn_field upstream)" = "gone/127.0.0.1:$HOLE" ]
	else
		fail "leaving: no client_closed line before the upstream connected" "$LOG"
	fi
	# It comes back with the same id: through the black hole's timeout
	# to the broker, where its session must hold.
	raw stale2 --port "$P_GONE" --id stale-1 --timeout "$(tmo 20)" \
	    --then-sub "t/connecting/$$" --then-pub "live-$$"
	check "leaving: the reconnected client gets CONNACK 0 ($(rv connack))" \
	    [ "$(rv connack)" = 0x00 ]
	check "leaving: the reconnected client's publish comes back ($(rv publish_back), end $(rv end))" \
	    [ "$(rv publish_back)" = yes ]
	n=$(broker_connects stale-1)
	check "leaving: the broker took exactly one CONNECT for stale-1, not the departed client's ($n)" \
	    [ "$n" = 1 ]
	if grep -q "already connected, closing old connection" "$BROKER_LOG"; then
		fail "leaving: no session was taken over on the broker" "$BROKER_LOG"
	else
		ok "leaving: no session was taken over on the broker"
	fi

	# A plain upstream: MQTT is not parsed, but a stream that starts
	# with a CONNECT and ends without DISCONNECT is dropped just the same.
	log_mark
	raw plain1 --port "$P_GONEPLAIN" --id plain-1 --timeout 0.5
	if wait_conn goneplain 'client_closed|client_error' "$(tmo 5)"; then
		d=$(conn_field detail)
		[ "$(conn_field in)" = 0 ] && [[ $d == *"before the upstream connected"* ]] &&
		    [ "$(conn_field ms)" -lt $((CT * 1000)) ]
		verdict $? "leaving, plain upstream: dropped when it left, not after connect_timeout: ms=$(conn_field ms) in=$(conn_field in) $d"
	else
		fail "leaving, plain upstream: no client_closed line before connect_timeout" "$LOG"
	fi

	# Fire and forget: CONNECT + DISCONNECT, then gone. That is a
	# finished conversation: it still goes to the broker.
	hex=$("$PY" "$RAW" build --id ff-1 --disconnect | od -An -tx1 | tr -d ' \n')
	log_mark
	raw ff1 --port "$P_GONE" --raw "$hex" --timeout 0.5
	if wait_for "$(tmo 15)" grep -qE "New client connected from .* as ff-1 " "$BROKER_LOG"; then
		ok "fire and forget: CONNECT + DISCONNECT sent before leaving reach the broker after the retry"
	else
		fail "fire and forget: the broker never saw ff-1" "$BROKER_LOG" "$LOG"
	fi
	if wait_conn gone client_closed "$(tmo 10)"; then
		check "fire and forget: logged client_closed with its bytes sent upstream (in=$(conn_field in))" \
		    [ "$(conn_field in)" -gt 0 ]
	else
		fail "fire and forget: no client_closed line" "$LOG"
	fi
else
	note "SKIP leaving while connecting: the kernel completes connects to a full accept queue ($(cat "$HOLE_OUT"))"
fi

# ------------------------------------------------ no server takes it

for v in 5:0x88 4:0x03 3:0x03; do
	proto=${v%%:*}
	want=${v#*:}
	log_mark
	raw "none$proto" --port "$P_NONE" --proto "$proto" --id "none-$proto"
	[ "$(rv connack)" = "$want" ] && [ "$(rv end)" = eof ]
	verdict $? "no server, MQTT level $proto: CONNACK $want before the close ($(rv connack), end $(rv end))"
	if wait_conn none upstream_connect_failed "$(tmo 5)"; then
		[ "$(conn_field upstream)" = "none/127.0.0.1:$REFUSED" ] &&
		    [ "$(conn_field detail)" = "\"tried none/127.0.0.1:$REFUSED (Connection refused)\"" ]
		verdict $? "no server, MQTT level $proto: upstream=$(conn_field upstream) $(conn_field detail)"
	else
		fail "no server, MQTT level $proto: no upstream_connect_failed line" "$LOG"
	fi
done
check "no server, MQTT 5: the CONNACK is 20 03 00 88 00 ($(rv connack_bytes "$T/raw.none5.out"))" \
    [ "$(rv connack_bytes "$T/raw.none5.out")" = 2003008800 ]

log_mark
raw noneplain --port "$P_NONEPLAIN" --id np-1
[ -z "$(rv connack)" ] && [ "$(rv end)" = eof ]
verdict $? "no server, CONNECT not read: closed without a CONNACK ($(rv connack), end $(rv end))"
if wait_conn noneplain upstream_connect_failed "$(tmo 5)"; then
	ok "no server, CONNECT not read: logged upstream_connect_failed"
else
	fail "no server, CONNECT not read: no upstream_connect_failed line" "$LOG"
fi

# ------------------------------------------------ health check reasons

# hc_down WHAT RE: the log says a server went down, matching RE.
hc_down() {
	if wait_for "$(tmo 10)" grep -qE -- "$2" "$LOG"; then
		ok "health: $1: '$(grep -m1 -oE -- "$2" "$LOG")'"
	else
		fail "health: $1 (no line matching /$2/)" "$LOG"
	fi
}
if [ "$HAVE_HOLE" = 1 ]; then
	hc_down "a connect that never completes" \
	    "server hchole/127\.0\.0\.1:$HOLE is down: timed out after 200 ms waiting for connect \(1 failed check\)"
fi
re='server hcunreach/224\.0\.0\.1:1883 is down: connect: Network is unreachable \(4 failed checks\)'
hc_down "a connect that fails at once" "$re"
# Its first check is at start: 4 failed checks take 3 intervals (900 ms)
# more, each counted once however the connect failed.
t0=$(log_ms "$(grep -m1 -E ' ready workers=' "$LOG")")
t1=$(log_ms "$(grep -m1 -E -- "$re" "$LOG")")
check "health: a connect that fails at once is one failure per check: down $((t1 - t0)) ms after start (>= 800)" \
    [ $((t1 - t0)) -ge 800 ]
hc_down "a CONNACK refusing the check" \
    "server hcrc5/127\.0\.0\.1:${MUTE[rc5]} is down: CONNACK return code 5 \(1 failed check\)"
hc_down "a reply that is no CONNACK" \
    "server hcjunk/127\.0\.0\.1:${MUTE[junk]} is down: not a CONNACK \(1 failed check\)"

check "mqgate is still running" pid_alive "$MQGATE_PID"
stop_mqgate
