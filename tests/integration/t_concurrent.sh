#!/usr/bin/env bash
# t_concurrent: 500 TLS clients at once through one mqgate with two workers.
# mqtt_tls_client.py opens all 500 connections, subscribes each to a topic
# of its own, holds them all open while we count mqgate's descriptors, then
# has each publish to its topic and get its own message back, and
# disconnect. Afterwards mqgate must be back at its idle descriptor count
# and have logged one connection line per client, none with an error.
. "$(dirname "$0")/lib.sh"

CLIENT=$(dirname "$0")/mqtt_tls_client.py
N=500

start_broker
P=$(free_port)
{
	conf_global "workers = 2"
	conf_listener conc "$P"
} | write_conf "$T/mqgate.ini"
start_mqgate "$T/mqgate.ini"

BASE_FDS=$(fd_count "$MQGATE_PID")
note "mqgate idle fd count: $BASE_FDS"

OUT=$T/clients.out
: >"$OUT"
mkdir -p "$T/hold"
log_mark
timeout -k 2 "$(tmo 45)" "$PY" "$CLIENT" --port "$P" --ca "$CERTS/ca.crt" \
    --clients "$N" --timeout "$(tmo 40)" --hold "$T/hold" \
    >"$OUT" 2>"$T/clients.err" &
CLIENT_PID=$!

holding() {
	grep -q '^holding ' "$OUT" || ! pid_alive "$CLIENT_PID"
}

if wait_for "$(tmo 30)" holding && grep -q "^holding subscribed=$N\$" "$OUT"; then
	ok "all $N clients connected and subscribed at the same time"
else
	fail "all $N clients connected and subscribed at the same time" \
	    "$OUT" "$T/clients.err"
fi
# A SUBACK came back through mqgate for every client, so each one's
# upstream connection is open too.
NOW=$(fd_count "$MQGATE_PID")
check "mqgate holds $N client + $N upstream sockets at once ($NOW fds, idle $BASE_FDS)" \
    [ "$NOW" -ge $((BASE_FDS + 2 * N)) ]
touch "$T/hold/go"

wait "$CLIENT_PID"
RC=$?
SUMMARY=$(grep '^summary ' "$OUT")
note "$SUMMARY"
if [ "$RC" -eq 0 ] && grep -qE "^summary clients=$N connected=$N subscribed=$N ok=$N failed=0 elapsed_ms=[0-9]+\$" "$OUT"; then
	ok "all $N clients got their own message back"
else
	fail "all $N clients got their own message back (rc=$RC, ${SUMMARY:-no summary})" \
	    "$OUT" "$T/clients.err" "$LOG"
fi

back_to_idle() {
	[ "$(fd_count "$MQGATE_PID")" -eq "$BASE_FDS" ]
}
if wait_for "$(tmo 10)" back_to_idle; then
	ok "mqgate is back at its idle fd count ($BASE_FDS)"
else
	fail "mqgate is back at its idle fd count (now $(fd_count "$MQGATE_PID"), idle $BASE_FDS)"
fi

all_logged() {
	[ "$(log_count "$(conn_re conc '[a-z_]+')")" -ge "$N" ]
}
wait_for "$(tmo 10)" all_logged
n=$(log_count "$(conn_re conc '[a-z_]+')")
check "$N connection lines logged (got $n)" [ "$n" -eq "$N" ]
# A client sends DISCONNECT and close_notify at once; the broker's close
# after DISCONNECT may reach mqgate first, so either end may come first.
n=$(log_count "$(conn_re conc 'client_closed|upstream_closed')")
if [ "$n" -eq "$N" ]; then
	ok "every connection ended with client_closed or upstream_closed"
else
	fail "every connection ended with client_closed or upstream_closed ($n of $N)"
	log_since | grep -E "$(conn_re conc '[a-z_]+')" |
	    grep -vE 'reason=(client|upstream)_closed' | head -n 5 | sed 's/^/#   /'
fi
n=$(log_since | grep -E "$(conn_re conc '[a-z_]+')" |
    grep -cE " tls=TLSv1\.3 .* upstream=127\.0\.0\.1:$BROKER_PORT ")
check "every connection line shows tls=TLSv1.3 and upstream=127.0.0.1:$BROKER_PORT ($n of $N)" \
    [ "$n" -eq "$N" ]

stop_mqgate
