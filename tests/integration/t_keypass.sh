#!/usr/bin/env bash
# t_keypass: an AES-256 encrypted private key. The right key_password serves
# traffic; a wrong one, or none at all, is a startup error at file:line that
# binds nothing and never prompts (no terminal, stdin /dev/null, bounded).
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

start_broker
P=$(free_port)

line_of() {
	grep -nE -m1 -- "$2" "$1" | cut -d: -f1
}

# key_error WHAT CONF: RC is 1, ERR blames the keyfile or key_password line,
# nothing was bound and no pass phrase was asked for.
key_error() {
	local what=$1 conf=$2 lk lp
	lk=$(line_of "$conf" '^keyfile')
	lp=$(line_of "$conf" '^key_password')
	check "$what: exits 1 (got $RC)" [ "$RC" -eq 1 ]
	if grep -qF -e "$conf:$lk: keyfile:" ${lp:+-e "$conf:$lp: key_password:"} \
	    "$ERR"; then
		ok "$what: error at the keyfile${lp:+ or key_password} line"
	else
		fail "$what: error at $conf:$lk (keyfile)${lp:+ or :$lp (key_password)}" \
		    "$ERR"
	fi
	if grep -qiE 'enter (pem )?pass ?phrase' "$OUT" "$ERR"; then
		fail "$what: no password prompt" "$ERR"
	else
		ok "$what: no password prompt"
	fi
	check "$what: no listening line" \
	    eval "! grep -q 'listening' '$OUT' '$ERR'"
	check "$what: port still free" port_is_free "$P"
}

# --- the right password

{
	conf_global
	conf_listener main "$P" "keyfile = $CERTS/server-enc.key" \
	    "key_password = mqgate-demo"
} | write_conf "$T/good.ini"
run_mqgate -t -c "$T/good.ini"
check "right key_password: -t exits 0 (got $RC)" [ "$RC" -eq 0 ]
start_mqgate "$T/good.ini"
check "right key_password: message delivered" deliver "$P"
mqtt_probe "$P" -verify_return_error
check "right key_password: s_client handshake verifies" \
    grep -aq 'Verify return code: 0 (ok)' "$PROBE_OUT"
stop_mqgate

# --- a wrong password

{
	conf_global
	conf_listener main "$P" "keyfile = $CERTS/server-enc.key" \
	    "key_password = not-the-password"
} | write_conf "$T/wrong.ini"
MQGATE_PREFIX=(setsid -w)
run_mqgate -c "$T/wrong.ini"
key_error "wrong key_password" "$T/wrong.ini"
run_mqgate -t -c "$T/wrong.ini"
key_error "wrong key_password, -t" "$T/wrong.ini"

# --- no password at all

{
	conf_global
	conf_listener main "$P" "keyfile = $CERTS/server-enc.key"
} | write_conf "$T/nopass.ini"
run_mqgate -c "$T/nopass.ini"
check "encrypted key without key_password: no hang (rc $RC)" [ "$RC" -ne 124 ]
key_error "encrypted key without key_password" "$T/nopass.ini"
run_mqgate -t -c "$T/nopass.ini"
key_error "encrypted key without key_password, -t" "$T/nopass.ini"
MQGATE_PREFIX=()
