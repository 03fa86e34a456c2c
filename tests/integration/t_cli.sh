#!/usr/bin/env bash
# t_cli: the command line and the config check. -V/-h/unknown flags and their
# exit codes; -t on a good config; every config problem reported at once at
# its file:line; a bad config binds nothing; max_connections beyond the fd
# limit warns and is capped; relative cert paths; the log line format.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

# Line number of the first line of FILE matching the ERE.
line_of() {
	grep -nE -m1 -- "$2" "$1" | cut -d: -f1
}

# expect_diag MSG FILE LINE [KEY]: $ERR has "FILE:LINE: KEY:" (or "FILE:LINE:").
expect_diag() {
	local want="$2:$3:"
	[ $# -ge 4 ] && want="$want $4:"
	if grep -qF -- "$want" "$ERR"; then
		ok "$1 ($want)"
	else
		fail "$1: no line starting with '$want'" "$ERR" "$2"
	fi
}

# expect_unknown MSG FILE LINE NAME: "FILE:LINE: ..." naming NAME. An
# unknown key has no valid "key:" to put first, so only the place and the
# name are checked.
expect_unknown() {
	if grep -F -- "$2:$3: " "$ERR" | grep -qF -- "$4"; then
		ok "$1 ($2:$3: ... $4)"
	else
		fail "$1: no line starting with '$2:$3: ' naming $4" "$ERR" "$2"
	fi
}

# --- -V, -h, unknown flags

run_mqgate -V
cat "$OUT" "$ERR" >"$T/version"
check "-V exits 0" [ "$RC" -eq 0 ]
check "-V names mqgate" grep -q 'mqgate' "$T/version"
check "-V shows the OpenSSL version" grep -qE 'OpenSSL 3\.[0-9]+' "$T/version"
check "-V shows the libevent version" \
    grep -qiE 'libevent[^0-9]*2\.[0-9]+' "$T/version"

run_mqgate -h
cat "$OUT" "$ERR" >"$T/help"
check "-h exits 0" [ "$RC" -eq 0 ]
check "-h documents -c and -t" \
    eval "grep -q -- '-c' '$T/help' && grep -q -- '-t' '$T/help'"

run_mqgate --no-such-option
check "unknown long option exits 2 (got $RC)" [ "$RC" -eq 2 ]
run_mqgate -Z
check "unknown short option exits 2 (got $RC)" [ "$RC" -eq 2 ]

# --- -t on a good config

P1=$(free_port)
P2=$(free_port)
{
	conf_global "max_connections = 1000"
	conf_listener main - "bind = 127.0.0.1:$P1" "bind = [::1]:$P2" \
	    "verify = verify_peer" \
	    "cacertfile = $CERTS/ca.crt" "fail_if_no_peer_cert = true"
} | write_conf "$T/good.ini"

run_mqgate -t -c "$T/good.ini"
check "-t on a good config exits 0 (got $RC)" [ "$RC" -eq 0 ]
if grep -qx 'configuration OK' "$OUT"; then
	ok "-t prints 'configuration OK' on stdout"
else
	fail "-t prints 'configuration OK' on stdout" "$OUT" "$ERR"
fi
check "-t leaves the listen port free" port_is_free "$P1"

# --- -t with many problems: all reported, each at its line

PA=$(free_port)
PB=$(free_port)
PD=$(free_port)
write_conf "$T/bad.ini" <<EOF
[global]
workers = 2
no_such_key = 1

[listener a]
bind = 127.0.0.1:$PA
upstream = 127.0.0.1:1883
certfile = $CERTS/does-not-exist.pem
keyfile = $CERTS/server.key

[listener b]
bind = 127.0.0.1:$PB
upstream = 127.0.0.1:1883
certfile = $CERTS/server.pem
keyfile = $CERTS/client.key

[listener c]
bind = 127.0.0.1:99999
upstream = 127.0.0.1:1883
certfile = $CERTS/server.pem
keyfile = $CERTS/server.key

[listener d]
bind = 127.0.0.1:$PD
upstream = 127.0.0.1:1883
certfile = $CERTS/server.pem
keyfile = $CERTS/server.key
verify = verify_peer

[no_such_section]
foo = bar
EOF
bad=$T/bad.ini
L_KEY=$(line_of "$bad" '^no_such_key')
L_MISSING=$(line_of "$bad" 'does-not-exist')
L_MISMATCH=$(line_of "$bad" 'client\.key')
L_PORT=$(line_of "$bad" '99999')
L_VERIFY=$(line_of "$bad" '^verify')
L_SECTION=$(line_of "$bad" '^\[no_such_section\]')

run_mqgate -t -c "$bad"
check "-t on a bad config exits 1 (got $RC)" [ "$RC" -eq 1 ]
check "-t on a bad config does not say OK" \
    eval "! grep -q 'configuration OK' '$OUT'"
expect_unknown "unknown key" "$bad" "$L_KEY" no_such_key
expect_diag "missing certfile at its line" "$bad" "$L_MISSING" certfile
expect_diag "key not matching the cert at the keyfile line" "$bad" \
    "$L_MISMATCH" keyfile
expect_diag "bad port" "$bad" "$L_PORT" bind
expect_diag "verify_peer without cacertfile at the verify line" "$bad" \
    "$L_VERIFY" verify
expect_unknown "unknown section at its header line" "$bad" "$L_SECTION" \
    no_such_section
n=$(grep -cF -- "$bad:" "$ERR")
check "at least 6 problems reported at once (got $n)" [ "$n" -ge 6 ]

# The same problems one at a time, so a miss above can be told apart from
# the daemon stopping after the first phase.
one_problem() {
	local name=$1 key=$2 re=$3
	shift 3
	P=$(free_port)
	{
		conf_global
		conf_listener main "$P" "$@"
	} | write_conf "$T/$name.ini"
	run_mqgate -t -c "$T/$name.ini"
	check "$name alone: -t exits 1 (got $RC)" [ "$RC" -eq 1 ]
	if [ "$key" = "$UNKNOWN" ]; then
		expect_unknown "$name alone" "$T/$name.ini" \
		    "$(line_of "$T/$name.ini" "$re")" "$UNKNOWN"
	else
		expect_diag "$name alone" "$T/$name.ini" \
		    "$(line_of "$T/$name.ini" "$re")" "$key"
	fi
}
UNKNOWN=frobnicate
one_problem missing-cert certfile 'does-not-exist' \
    "certfile = $CERTS/does-not-exist.pem"
one_problem missing-key keyfile 'no-such\.key' \
    "keyfile = $CERTS/no-such.key"
one_problem missing-ca cacertfile 'no-such-ca' "verify = verify_peer" \
    "cacertfile = $CERTS/no-such-ca.crt"
one_problem garbage-cert certfile 'bad\.pem' "certfile = $CERTS/bad.pem"
one_problem mismatch keyfile '^keyfile' "certfile = $CERTS/server2.pem"
one_problem no-cacert verify '^verify' "verify = verify_peer"
one_problem bad-port bind '^bind' "bind = 127.0.0.1:70000"
one_problem bad-bool fail_if_no_peer_cert '^fail_if' \
    "fail_if_no_peer_cert = maybe"
one_problem bad-version versions '^versions' "versions = tlsv9"
one_problem unknown-key frobnicate '^frobnicate' "frobnicate = 1"

# --- a bad config without -t: exit 1, nothing bound

run_mqgate -c "$bad"
check "bad config without -t exits 1 (got $RC)" [ "$RC" -eq 1 ]
if grep -q 'listening' "$OUT" "$ERR"; then
	fail "bad config without -t binds nothing" "$ERR"
else
	ok "bad config without -t logs no 'listening' line"
fi
check "bad config without -t: its ports are still free" \
    eval "port_is_free $PA && port_is_free $PB && port_is_free $PD"
expect_diag "bad config without -t still reports" "$bad" "$L_VERIFY" verify

# --- max_connections beyond the fd limit

P=$(free_port)
{
	conf_global "max_connections = 512000"
	conf_listener main "$P"
} | write_conf "$T/maxconn.ini"
nofile_limit 1024
run_mqgate -t -c "$T/maxconn.ini"
cat "$OUT" "$ERR" >"$T/maxconn.out"
check "-t, max_connections 512000, ulimit -n 1024: exits 0 (got $RC)" \
    [ "$RC" -eq 0 ]
check "... and prints configuration OK" \
    grep -qx 'configuration OK' "$OUT"

# The warning names the key, the configured value and the cap (<= 1024).
maxconn_warned() {
	local l n
	l=$(grep -E 'max_connections' "$1" | grep -E '512000' | head -n 1)
	[ -n "$l" ] || return 1
	for n in $(grep -oE '[0-9]+' <<<"${l#* * }"); do
		[ "$n" -gt 0 ] && [ "$n" -le 1024 ] && return 0
	done
	return 1
}
if maxconn_warned "$T/maxconn.out"; then
	ok "-t warns about max_connections with both numbers"
else
	fail "-t warns about max_connections with both numbers" "$T/maxconn.out"
fi

start_broker
{
	conf_global "max_connections = 512000"
	conf_listener main "$P"
} | write_conf "$T/maxconn.ini"
start_mqgate "$T/maxconn.ini"
nofile_limit ""
if maxconn_warned "$LOG"; then
	ok "running with ulimit -n 1024 warns about max_connections"
else
	fail "running with ulimit -n 1024 warns about max_connections"
fi
check "max_connections capped: it still proxies" deliver "$P"
stop_mqgate

# --- relative certificate paths resolve against the config's directory

mkdir -p "$T/rel/certs"
cp "$CERTS/server.pem" "$CERTS/server.key" "$CERTS/ca.crt" "$T/rel/certs/"
P=$(free_port)
{
	conf_global
	conf_listener main "$P" "certfile = certs/server.pem" \
	    "keyfile = certs/server.key" "cacertfile = certs/ca.crt" \
	    "verify = verify_peer"
} | write_conf "$T/rel/mqgate.ini"
cd / || exit 99
run_mqgate -t -c "$T/rel/mqgate.ini"
cd - >/dev/null || exit 99
check "relative cert paths resolve against the config directory (rc $RC)" \
    [ "$RC" -eq 0 ]

# --- a normal start: listening lines, ready, log format, clean stop

PV4=$(free_port)
PV6=$(free_port)
{
	conf_global "workers = 2"
	conf_listener main "$PV4" "bind = 127.0.0.1:$PV4" "bind = [::1]:$PV6"
} | write_conf "$T/run.ini"
start_mqgate "$T/run.ini"
assert_log "listening line for the IPv4 bind" \
    " listening listener=main addr=127\.0\.0\.1:$PV4( |\$)"
assert_log "listening line for the IPv6 bind" \
    " listening listener=main addr=\[::1\]:$PV6( |\$)"
assert_log "ready line reports the workers" " ready workers=2( |\$)"
if grep -qvE '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z [a-z]+ ' "$LOG"; then
	fail "every log line is '<ISO8601 UTC ms> <level> <message>'"
else
	ok "every log line is '<ISO8601 UTC ms> <level> <message>'"
fi
check "the listen port is taken while running" eval "! port_is_free $PV4"
stop_mqgate
assert_log "SIGTERM logs 'shutting down'" " shutting down"
