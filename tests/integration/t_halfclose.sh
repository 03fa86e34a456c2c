#!/usr/bin/env bash
# t_halfclose: how the ends of a spliced connection cross mqgate. A fake
# upstream (fake_upstream.py, a plain TCP server) replaces the broker, so
# every byte, FIN, close_notify and RST is visible on both sides:
#   client close_notify / TCP FIN  -> upstream gets the data, then EOF; its
#                                     reply still reaches the client, then a
#                                     clean TLS EOF; reason=client_closed
#   upstream FIN                   -> client gets the data, then close_notify;
#                                     it can still send; reason=upstream_closed
#   client RST / upstream RST      -> the other side sees the end;
#                                     reason=client_error / upstream_error
. "$(dirname "$0")/lib.sh"

HELPER=$(dirname "$0")/fake_upstream.py
UP_PORT=$(free_port)
P=$(free_port)
{
	conf_global
	conf_listener hc "$P" "upstream = 127.0.0.1:$UP_PORT"
} | write_conf "$T/mqgate.ini"
start_mqgate "$T/mqgate.ini"

# scenario CASE: run one fake_upstream.py case against mqgate; its
# "key value" result lines land in $RES.
scenario() {
	SEQ=$((SEQ + 1))
	RES=$T/hc.$SEQ.$1.out
	log_mark
	timeout -k 2 "$(tmo 30)" "$PY" "$HELPER" --listen "$UP_PORT" \
	    --connect "$P" --ca "$CERTS/ca.crt" --timeout "$(tmo 15)" "$1" \
	    >"$RES" 2>"$RES.err"
	HELPER_RC=$?
}

# res KEY: value of the first "KEY value" line of $RES.
res() {
	awk -v k="$1" '$1 == k { sub(/^[^ ]+ /, ""); print; exit }' "$RES"
}

# expect WHAT KEY WANT: ok when the helper reported KEY = WANT.
expect() {
	local got
	got=$(res "$2")
	if [ "$got" = "$3" ]; then
		ok "$1 ($2=$got)"
	else
		fail "$1 (want $2=$3, got '${got:-nothing}')" "$RES" "$RES.err" "$LOG"
	fi
}

helper_ran() {
	if [ "$HELPER_RC" -eq 0 ] && [ "$(res result)" = "done" ]; then
		ok "$1: scenario ran to the end"
	else
		fail "$1: scenario ran to the end (rc=$HELPER_RC)" "$RES" "$RES.err"
	fi
}

# expect_conn WHAT REASON IN OUT: the one connection line of this scenario
# has reason=REASON and the byte counts (IN/OUT "" = not checked).
expect_conn() {
	local what=$1 reason=$2 in=$3 out=$4 n
	if ! wait_conn hc '[a-z_]+' "$(tmo 10)"; then
		fail "$what: a connection line is logged"
		return
	fi
	check "$what: reason=$reason (got $(conn_field reason))" \
	    [ "$(conn_field reason)" = "$reason" ]
	n=$(log_count "$(conn_re hc '[a-z_]+')")
	check "$what: exactly one connection line (got $n)" [ "$n" -eq 1 ]
	[ -n "$in" ] && check "$what: in=$in (got $(conn_field in))" \
	    [ "$(conn_field in)" = "$in" ]
	[ -n "$out" ] && check "$what: out=$out (got $(conn_field out))" \
	    [ "$(conn_field out)" = "$out" ]
	check "$what: upstream=127.0.0.1:$UP_PORT" \
	    [ "$(conn_field upstream)" = "127.0.0.1:$UP_PORT" ]
}

# ---- (1) the client ends first: close_notify, then a bare TCP FIN
for how in unwrap shutwr; do
	what="client $how"
	[ "$how" = unwrap ] && what="client close_notify (unwrap)"
	[ "$how" = shutwr ] && what="client TCP shutdown(SHUT_WR)"
	scenario "client-$how"
	helper_ran "$what"
	expect "$what: upstream receives the client's bytes" upstream_recv ping
	expect "$what: upstream then sees EOF (FIN)" upstream_end fin
	expect "$what: client still receives the upstream's reply" \
	    client_recv pong
	expect "$what: client then gets close_notify (clean TLS EOF)" \
	    client_end clean
	expect "$what: the TCP connection then ends with a FIN" \
	    client_tcp_end fin
	expect_conn "$what" client_closed 4 4
done

# ---- (2) the upstream ends first: FIN after "hello"
what="upstream FIN"
scenario upstream-fin
helper_ran "$what"
expect "$what: client receives the upstream's bytes" client_recv hello
expect "$what: client then gets close_notify (clean TLS EOF)" \
    client_end clean
expect "$what: client can still send after the close_notify" \
    client_write_after_eof ok
expect "$what: upstream receives what the client sent afterwards" \
    upstream_recv bye
expect "$what: upstream then sees EOF (FIN)" upstream_end fin
expect "$what: the client's TCP connection then ends with a FIN" \
    client_tcp_end fin
expect_conn "$what" upstream_closed 3 5

# ---- (3) client RST mid-stream
what="client RST"
scenario client-rst
helper_ran "$what"
expect "$what: stream was spliced (upstream got abc)" upstream_recv abc
expect "$what: stream was spliced (client got xyz)" client_recv xyz
got=$(res upstream_end)
case $got in
fin | reset) ok "$what: upstream sees its connection closed ($got)" ;;
*) fail "$what: upstream sees its connection closed (got '${got:-nothing}')" \
    "$RES" "$LOG" ;;
esac
expect_conn "$what" client_error 3 3

# ---- (4) upstream RST mid-stream
what="upstream RST"
scenario upstream-rst
helper_ran "$what"
expect "$what: stream was spliced (upstream got abc)" upstream_recv abc
expect "$what: stream was spliced (client got xyz)" client_recv xyz
got=$(res client_end)
case $got in
clean | eof_without_close_notify | reset)
	ok "$what: client sees the connection end ($got)" ;;
*) fail "$what: client sees the connection end (got '${got:-nothing}')" \
    "$RES" "$LOG" ;;
esac
expect_conn "$what" upstream_error 3 3

# ---- (5) the client half-closes while mqgate still holds bytes for it:
# they are all delivered at once, not cut off by the linger timer.
for how in unwrap fin; do
	what="client $how with output queued"
	SEQ=$((SEQ + 1))
	RES=$T/hc.$SEQ.queued.out
	log_mark
	timeout -k 2 "$(tmo 30)" "$PY" "$HELPER" --listen "$UP_PORT" \
	    --connect "$P" --ca "$CERTS/ca.crt" --timeout "$(tmo 20)" \
	    --size 4000000 "client-$how-queued" >"$RES" 2>"$RES.err"
	HELPER_RC=$?
	helper_ran "$what"
	expect "$what: the client receives all 4000000 bytes" \
	    client_recv_len 4000000
	expect "$what: then a clean TLS end" client_end clean
	expect_conn "$what" client_closed 4 4000000
	if printf '%s\n' "$CONN_LINE" | grep -q 'half-closed for too long'; then
		fail "$what: closed by the linger timer" "$LOG"
	else
		ok "$what: not held until the linger timer"
	fi
done

stop_mqgate
