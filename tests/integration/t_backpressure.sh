#!/usr/bin/env bash
# t_backpressure: a slow reader on either side must not make mqgate buffer
# without bound. fake_upstream.py plays both ends (a plain TCP upstream and
# a TLS client):
#   slow client    the upstream writes 64 MiB as fast as it can while the
#                  client reads nothing
#   slow upstream  the client writes 64 MiB while the upstream reads nothing
# Once the writer's socket stops being writable (backpressure reached it),
# mqgate's RSS is sampled: it must stay within RSS_SLACK_KB of its baseline.
# Then the reader drains everything and the SHA-256 of what arrived must be
# that of what was sent.

# ASan keeps freed memory in a quarantine (256 MiB by default), so an ASan
# build's RSS grows with every byte relayed even when nothing is buffered.
# Keep the quarantine small here so that RSS shows what mqgate holds.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}:quarantine_size_mb=1:thread_local_quarantine_size_kb=64
. "$(dirname "$0")/lib.sh"

HELPER=$(dirname "$0")/fake_upstream.py
SIZE=$((64 * 1024 * 1024))
RSS_SLACK_KB=$((16 * 1024))
# The writer must block this far below SIZE: everything above it would be
# sitting in mqgate (the socket buffers on the way hold a few MiB).
STALL_MAX=$((SIZE / 2))

UP_PORT=$(free_port)
P=$(free_port)
{
	conf_global
	conf_listener bp "$P" "upstream = 127.0.0.1:$UP_PORT"
} | write_conf "$T/mqgate.ini"
start_mqgate "$T/mqgate.ini"

# res KEY: value of the first "KEY value" line of $RES.
res() {
	awk -v k="$1" '$1 == k { sub(/^[^ ]+ /, ""); print; exit }' "$RES"
}

# "sent=N" from the value of KEY.
res_sent() {
	res "$1" | sed -n 's/.*sent=\([0-9]*\).*/\1/p'
}

num_lt() {
	[ -n "$1" ] && [ "$1" -lt "$2" ]
}

helper_reported() {
	grep -qE "^($1) " "$RES"
}

# flow CASE WRITER READER: one run of fake_upstream.py CASE with the RSS
# checks in the middle; WRITER/READER are the key prefixes of the sending
# and the receiving side in its output.
flow() {
	local case=$1 writer=$2 reader=$3 what=${1/-/ } base rss max pid rc sent
	local stall_ms=$((500 * TIMEOUT_SCALE))
	RES=$T/$case.out
	mkdir -p "$T/$case"
	: >"$RES"
	log_mark
	base=$(rss_kb "$MQGATE_PID")
	note "$what: mqgate baseline RSS ${base} kB"
	timeout -k 2 "$(tmo 60)" "$PY" "$HELPER" --listen "$UP_PORT" \
	    --connect "$P" --ca "$CERTS/ca.crt" --timeout "$(tmo 50)" \
	    --ctl "$T/$case" --size "$SIZE" --stall-ms "$stall_ms" "$case" \
	    >"$RES" 2>"$RES.err" &
	pid=$!

	if ! wait_for "$(tmo 30)" helper_reported 'stalled|unstalled|result'; then
		fail "$what: the $writer reports progress" "$RES" "$RES.err"
	elif helper_reported stalled; then
		ok "$what: the $writer blocks (backpressure) after $(res_sent stalled) bytes"
	else
		fail "$what: the $writer blocks (backpressure) before all $SIZE bytes are sent" \
		    "$RES" "$RES.err" "$LOG"
	fi

	# Sample while the writer is held up; the at_go count below proves it
	# still was when sampling ended.
	max=$base
	for _ in $(seq 10); do
		rss=$(rss_kb "$MQGATE_PID")
		[ -n "$rss" ] && [ "$rss" -gt "$max" ] && max=$rss
		sleep 0.1
	done
	check "$what: mqgate RSS stays bounded while the $reader does not read (baseline ${base} kB, max ${max} kB, limit +${RSS_SLACK_KB} kB)" \
	    [ "$max" -lt $((base + RSS_SLACK_KB)) ]

	touch "$T/$case/go"
	wait "$pid"
	rc=$?
	check "$what: helper ran to the end (rc=$rc, result=$(res result))" \
	    [ "$rc.$(res result)" = 0.done ]
	sent=$(res_sent at_go)
	check "$what: the $writer was still held up when sampling ended (sent=${sent:-?} < $STALL_MAX)" \
	    num_lt "$sent" "$STALL_MAX"
	check "$what: the $writer sent all $SIZE bytes (got $(res "${writer}_sent"))" \
	    [ "$(res "${writer}_sent")" = "$SIZE" ]
	check "$what: the $reader received all $SIZE bytes (got $(res "${reader}_recv"))" \
	    [ "$(res "${reader}_recv")" = "$SIZE" ]
	if [ -n "$(res "${writer}_sent_sha256")" ] &&
	    [ "$(res "${writer}_sent_sha256")" = "$(res "${reader}_recv_sha256")" ]; then
		ok "$what: SHA-256 of what arrived matches what was sent"
	else
		fail "$what: SHA-256 of what arrived matches what was sent" "$RES"
	fi
}

# conn_line_is WHAT REASON IN OUT
conn_line_is() {
	if ! wait_conn bp '[a-z_]+' "$(tmo 10)"; then
		fail "$1: a connection line is logged"
		return
	fi
	check "$1: reason=$2 (got $(conn_field reason))" \
	    [ "$(conn_field reason)" = "$2" ]
	check "$1: in=$3 (got $(conn_field in))" [ "$(conn_field in)" = "$3" ]
	check "$1: out=$4 (got $(conn_field out))" [ "$(conn_field out)" = "$4" ]
}

flow slow-client upstream client
check "slow client: the client sees a clean TLS EOF at the end ($(res client_end))" \
    [ "$(res client_end)" = clean ]
conn_line_is "slow client" upstream_closed 0 "$SIZE"

flow slow-upstream client upstream
check "slow upstream: the upstream sees a FIN at the end ($(res upstream_end))" \
    [ "$(res upstream_end)" = fin ]
conn_line_is "slow upstream" client_closed "$SIZE" 0

stop_mqgate
