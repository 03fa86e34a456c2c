#!/usr/bin/env bash
# t_mqtt_identity: MQTT identity binding against Debian's mosquitto 2.0,
# which reads no PROXY header. mqgate reads the client's CONNECT and puts
# the TLS identity into it (mqtt_username), replaces or drops the password
# (mqtt_password), and checks the client id (mqtt_clientid_must_match).
#
#  - the demo: an ACL "pattern readwrite devices/%u/#" and mqtt_username =
#    cn: a device with CN=dev1 publishes to devices/dev1/x and not to
#    devices/dev2/x although it says -u dev2 itself, MQTT 3.1.1 and 5; an
#    "admin" subscriber straight on the broker sees what was delivered, and
#    a control shows the ACL would let username dev2 write devices/dev2/x
#  - every username source (cn, dn, san_uri, san_dns, cert_sha256,
#    psk_identity): the username mosquitto logs and mqgate's mqtt_user=
#  - mqtt_password = file:PATH (trailing newline stripped, re-read on
#    SIGHUP, kept when the file vanishes) and drop, against a broker with
#    a password_file and allow_anonymous false
#  - mqtt_clientid_must_match = cn, san_uri, username: CONNACK 0x85 / 2
#  - missing identity: CONNACK 0x87 / 5, reason=mqtt_refused
#  - malformed CONNECTs (hand-made by mqtt_raw.py): MQTT 5 gets 0x81 (0x95
#    when over mqtt_max_connect), 3.1.1 a bare close; reason=mqtt_malformed,
#    a partial CONNECT reason=mqtt_timeout after mqtt_connect_timeout
#  - bytes pipelined after the CONNECT in the same write reach the broker
#  - with every binding key at keep/off no MQTT is parsed: any bytes pass
#    through to an echo upstream
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=pki.sh
. "$(dirname "$0")/pki.sh"

RAWPY=$TOP_SRCDIR/tests/integration/mqtt_raw.py
K1=00112233445566778899aabbccddeeff

# ------------------------------------------------------------ helpers

# start_mosq NAME LINE...: mosquitto on 127.0.0.1:free port with logging of
# every connection and packet plus the config LINEs; sets MOSQ_PORT and
# MOSQ_LOG. Readiness as in lib.sh's start_broker.
start_mosq() {
	local name=$1 port conf log pid attempt
	shift
	for attempt in 1 2 3; do
		port=$(free_port) || break
		conf=$T/$name.conf
		log=$T/$name.log
		broker_conf 127.0.0.1 "$port" "log_type all" "$@" >"$conf"
		closefds mosquitto -c "$conf" >"$log" 2>&1 </dev/null &
		pid=$!
		track "$pid"
		if wait_for "$(tmo 10)" broker_up "$pid" "$port" "$log"; then
			MOSQ_PORT=$port
			MOSQ_LOG=$log
			return 0
		fi
		kill "$pid" 2>/dev/null
		note "mosquitto $name on port $port did not come up (attempt $attempt)"
		show_tail "$log"
	done
	bail "could not start mosquitto $name" "${log:-}"
}

# broker_user LOG CID: the username mosquitto logged when client id CID
# connected ("<none>" without one); false until that line is there.
broker_user() {
	local line
	line=$(grep -aF " as $2 (p" "$1" | tail -n 1)
	[ -n "$line" ] || return 1
	if [[ $line =~ ,\ u\'(.*)\'\)\.$ ]]; then
		echo "${BASH_REMATCH[1]}"
	else
		echo "<none>"
	fi
}

# A log field without its quotes.
unq() {
	local v=$1
	if [ "${v#\"}" != "$v" ]; then
		v=${v#\"}
		v=${v%\"}
	fi
	echo "$v"
}

# raw ARG...: mqtt_raw.py client (TLS to 127.0.0.1, CA = the demo root);
# its "key value" lines go to RAW_OUT.
raw() {
	SEQ=$((SEQ + 1))
	RAW_OUT=$T/raw.$SEQ.out
	timeout -k 2 "$(tmo 30)" "$PY" "$RAWPY" client --ca "$CERTS/ca.crt" \
	    --timeout "$(tmo 5)" "$@" >"$RAW_OUT" 2>&1
}

raw_field() {
	sed -n "s/^$1 //p" "$RAW_OUT" | head -n 1
}

# accept MSG LISTENER PORT ARG...: through mqgate the client gets the
# broker's CONNACK 0x00; sets CONN_LINE to the connection's line ("" when
# there is none).
accept() {
	local msg=$1 listener=$2 port=$3 rc end
	shift 3
	log_mark
	raw --port "$port" "$@"
	rc=$(raw_field connack)
	end=$(raw_field end)
	if [ "$rc" = 0x00 ] && [ "$end" = disconnected ]; then
		ok "$msg: CONNACK 0x00"
	else
		fail "$msg: CONNACK 0x00 (got connack=${rc:-none} end=$end)" \
		    "$RAW_OUT" "$LOG"
	fi
	if ! wait_conn "$listener" 'client_closed|upstream_closed'; then
		fail "$msg: connection line with reason=client_closed|upstream_closed"
		CONN_LINE=
	fi
}

# refuse MSG LISTENER PORT WANT REASON ARG...: mqgate answers with exactly
# one CONNACK whose code is WANT (0x..; "none": no CONNACK, not one byte)
# and closes; the connection line has reason=REASON and a detail.
refuse() {
	local msg=$1 listener=$2 port=$3 want=$4 reason=$5 rc end n bytes d
	shift 5
	log_mark
	raw --port "$port" "$@"
	rc=$(raw_field connack)
	rc=${rc:-none}
	bytes=$(raw_field connack_bytes)
	n=$(raw_field received)
	end=$(raw_field end)
	if [ "$rc" = "$want" ] && [ "${n:-x}" = $((${#bytes} / 2)) ]; then
		if [ "$want" = none ]; then
			ok "$msg: no CONNACK, nothing at all"
		else
			ok "$msg: CONNACK $want ($bytes), nothing else"
		fi
	else
		fail "$msg: CONNACK $want and nothing else (got connack=$rc $bytes, $n bytes)" \
		    "$RAW_OUT" "$LOG"
	fi
	case $end in
	eof | reset) ok "$msg: then closed ($end after $(raw_field ms) ms)" ;;
	*) fail "$msg: then closed (end=$end)" "$RAW_OUT" "$LOG" ;;
	esac
	if wait_conn "$listener" "$reason"; then
		d=$(conn_field detail)
		if [ -n "$d" ] && [ "$d" != - ]; then
			ok "$msg: logged reason=$reason detail=$d"
		else
			fail "$msg: logged reason=$reason with a detail ($CONN_LINE)"
		fi
	else
		fail "$msg: connection line with reason=$reason"
	fi
}

# user_is MSG LISTENER PORT WANT ARG...: a client saying username "spoof"
# itself connects; mosquitto logs username WANT for its client id, and the
# connection line has mqtt_user=WANT and mqtt_client=the id.
user_is() {
	local msg=$1 listener=$2 port=$3 want=$4 cid got
	shift 4
	cid=uid-$$-$((SEQ + 1))
	accept "$msg" "$listener" "$port" --id "$cid" --user spoof \
	    --password pw "$@"
	if wait_for "$(tmo 5)" broker_user "$DEMO_LOG" "$cid" >/dev/null; then
		got=$(broker_user "$DEMO_LOG" "$cid")
		check "$msg: mosquitto saw username '$want' (got '$got')" \
		    [ "$got" = "$want" ]
	else
		fail "$msg: mosquitto logged the connection of $cid" "$DEMO_LOG"
	fi
	got=$(unq "$(conn_field mqtt_user)")
	check "$msg: logged mqtt_user=$want (got $got)" [ "$got" = "$want" ]
	got=$(unq "$(conn_field mqtt_client)")
	check "$msg: logged mqtt_client=$cid (got $got)" [ "$got" = "$cid" ]
}

# not_at_broker MSG LOG CID: the broker never saw client id CID.
not_at_broker() {
	if grep -aqF " as $3 (p" "$2"; then
		fail "$1: the broker never saw client $3" "$2"
	else
		ok "$1: the broker never saw client $3"
	fi
}

# refusing 0xRC: RC is a CONNACK code other than 0x00.
refusing() {
	[ -n "$1" ] && [ "$1" != 0x00 ]
}

# between N LO HI: LO <= N <= HI.
between() {
	[ -n "$1" ] && [ "$1" -ge "$2" ] && [ "$1" -le "$3" ]
}

# has_bytes FILE "20 02 00 05": FILE contains those bytes.
has_bytes() {
	od -An -v -tx1 "$1" | tr -s ' \n' '  ' | grep -q " $2"
}

# ------------------------------------------------------------ PKI, brokers

# dev1: the device of the demo, with two URI and two DNS SANs.
pki_client dev1 ca "/O=Example/OU=devices/CN=dev1" \
    "URI:urn:example:dev1,URI:spiffe://example.com/dev1,DNS:dev1.devices.example.com,DNS:dev1.alt.example.com"
# dev2: CN only, no SAN.
pki_client dev2 ca "/CN=dev2"
DEV1=(--cert "$PKI/dev1.crt" --key "$PKI/dev1.key")
DEV2=(--cert "$PKI/dev2.crt" --key "$PKI/dev2.key")
DN=$(openssl x509 -noout -subject -nameopt RFC2253 -in "$PKI/dev1.crt" |
    sed 's/^subject=//')
SHA=$(openssl x509 -in "$PKI/dev1.crt" -outform DER | sha256sum |
    cut -d' ' -f1)
note "dev1: DN $DN, SHA-256 $SHA"

# The demo broker: anyone may connect; the ACL binds topics to usernames;
# "admin" may read everything.
cat >"$T/demo.acl" <<'EOF'
user admin
topic read #

pattern readwrite devices/%u/#
EOF
start_mosq demo "allow_anonymous true" "acl_file $T/demo.acl"
DEMO_PORT=$MOSQ_PORT
DEMO_LOG=$MOSQ_LOG

# The password broker: dev1 and dev2 with their own secrets, nobody else.
: >"$T/pw.passwd"
if ! mosquitto_passwd -b "$T/pw.passwd" dev1 secret-one >/dev/null 2>&1 ||
    ! mosquitto_passwd -b "$T/pw.passwd" dev2 secret-two >/dev/null 2>&1; then
	bail "mosquitto_passwd failed"
fi
start_mosq pw "allow_anonymous false" "password_file $T/pw.passwd"
PW_PORT=$MOSQ_PORT
PW_LOG=$MOSQ_LOG

# The echo upstream of the pass-through test.
ECHO_PORT=$(free_port)
closefds "$PY" "$RAWPY" echo-server --port "$ECHO_PORT" --lifetime 900 \
    >"$T/echo.out" 2>&1 </dev/null &
track $!
wait_for "$(tmo 10)" grep -q '^listening ' "$T/echo.out" ||
    bail "the echo server did not start" "$T/echo.out"

printf 'secret-one\n' >"$T/secret"
printf 'dev1:%s\n' "$K1" >"$T/psk.txt"

# ------------------------------------------------------------ mqgate

PEER=("verify = verify_peer" "fail_if_no_peer_cert = true"
    "cacertfile = $CERTS/ca.crt")
UP_DEMO="upstream = 127.0.0.1:$DEMO_PORT"
UP_PW="upstream = 127.0.0.1:$PW_PORT"
UP_ECHO="upstream = 127.0.0.1:$ECHO_PORT"
P_DEMO=$(free_port)
P_DN=$(free_port)
P_URI=$(free_port)
P_DNS=$(free_port)
P_SHA=$(free_port)
P_PSK=$(free_port)
P_PWFILE=$(free_port)
P_PWDROP=$(free_port)
P_PWKEEP=$(free_port)
P_CIDCN=$(free_port)
P_CIDURI=$(free_port)
P_CIDUSER=$(free_port)
P_OPT=$(free_port)
P_MAL=$(free_port)
P_PASS=$(free_port)
P_PARSE=$(free_port)
CONF=$T/mqgate.ini
{
	conf_global "reload_interval = 0"
	conf_listener demo "$P_DEMO" "$UP_DEMO" "${PEER[@]}" \
	    "mqtt_username = cn"
	conf_listener dn "$P_DN" "$UP_DEMO" "${PEER[@]}" "mqtt_username = dn"
	conf_listener uri "$P_URI" "$UP_DEMO" "${PEER[@]}" \
	    "mqtt_username = san_uri"
	conf_listener dns "$P_DNS" "$UP_DEMO" "${PEER[@]}" \
	    "mqtt_username = san_dns"
	conf_listener sha "$P_SHA" "$UP_DEMO" "${PEER[@]}" \
	    "mqtt_username = cert_sha256"
	conf_listener psk "$P_PSK" "$UP_DEMO" "psk_file = $T/psk.txt" \
	    "mqtt_username = psk_identity"
	conf_listener pwfile "$P_PWFILE" "$UP_PW" "${PEER[@]}" \
	    "mqtt_username = cn" "mqtt_password = file:$T/secret"
	conf_listener pwdrop "$P_PWDROP" "$UP_PW" "${PEER[@]}" \
	    "mqtt_username = cn" "mqtt_password = drop"
	conf_listener pwkeep "$P_PWKEEP" "$UP_PW" "${PEER[@]}" \
	    "mqtt_username = cn"
	conf_listener cidcn "$P_CIDCN" "$UP_DEMO" "${PEER[@]}" \
	    "mqtt_clientid_must_match = cn"
	conf_listener ciduri "$P_CIDURI" "$UP_DEMO" "${PEER[@]}" \
	    "mqtt_clientid_must_match = san_uri"
	conf_listener ciduser "$P_CIDUSER" "$UP_DEMO" "${PEER[@]}" \
	    "mqtt_username = cn" "mqtt_clientid_must_match = username"
	conf_listener optional "$P_OPT" "$UP_DEMO" "verify = verify_peer" \
	    "fail_if_no_peer_cert = false" "cacertfile = $CERTS/ca.crt" \
	    "mqtt_username = cn"
	conf_listener mal "$P_MAL" "$UP_DEMO" "${PEER[@]}" \
	    "mqtt_username = cn" "mqtt_connect_timeout = 1" \
	    "mqtt_max_connect = 256"
	conf_listener pass "$P_PASS" "$UP_ECHO"
	conf_listener parse "$P_PARSE" "$UP_ECHO" "mqtt_password = drop"
} | write_conf "$CONF"

run_mqgate -t -c "$CONF"
if [ "$RC" -eq 0 ]; then
	ok "mqgate -t accepts the mqtt_* keys"
else
	fail "mqgate -t accepts the mqtt_* keys (rc $RC)" "$ERR" "$OUT"
fi
# A secret an MQTT password cannot hold, an empty file (a newline alone
# counts as empty), or a missing file: config errors at the mqtt_password
# line, before anything is bound.
head -c 65536 /dev/zero | tr '\0' x >"$T/huge-secret"
: >"$T/empty-secret"
echo >"$T/newline-secret"
for bad in huge-secret empty-secret newline-secret no-such-secret; do
	{
		conf_global
		conf_listener big "$(free_port)" "$UP_DEMO" "${PEER[@]}" \
		    "mqtt_password = file:$T/$bad"
	} | write_conf "$T/$bad.ini"
	line=$(grep -n '^mqtt_password' "$T/$bad.ini" | cut -d: -f1)
	run_mqgate -t -c "$T/$bad.ini"
	if [ "$RC" -ne 0 ] &&
	    grep -q "^$T/$bad.ini:$line: mqtt_password: " "$ERR"; then
		ok "mqtt_password = file: $bad: -t exits $RC with file:line"
	else
		fail "mqtt_password = file: $bad: -t exits non-zero with file:line (rc $RC)" \
		    "$ERR"
	fi
done

start_mqgate "$CONF"

# ------------------------------------------------------------ the demo

ADMIN_OUT=$T/admin.out
ADMIN_CID=admin-$$
closefds timeout -k 2 900 mosquitto_sub -h 127.0.0.1 -p "$DEMO_PORT" \
    -u admin -i "$ADMIN_CID" -t 'devices/#' -v >"$ADMIN_OUT" 2>&1 \
    </dev/null &
track $!
wait_for "$(tmo 10)" grep -qF "Sending SUBACK to $ADMIN_CID" "$DEMO_LOG" ||
    bail "the admin subscriber did not subscribe" "$DEMO_LOG" "$ADMIN_OUT"

# admin_got TOPIC MSG: the admin subscriber printed "TOPIC MSG".
admin_got() {
	grep -aqxF -- "$1 $2" "$ADMIN_OUT"
}

# direct_pub USER TOPIC MSG: mosquitto_pub straight to the demo broker.
direct_pub() {
	SEQ=$((SEQ + 1))
	timeout -k 2 "$(tmo 10)" mosquitto_pub -h 127.0.0.1 -p "$DEMO_PORT" \
	    -u "$1" -i "direct-$$-$SEQ" -q 1 -t "$2" -m "$3" 2>/dev/null
}

# demo_pub VERSION TOPIC MSG: mosquitto_pub with dev1's certificate through
# the demo listener, saying username dev2 itself; client id in PUB_CID,
# stderr in PUB_ERR, exit status in PUB_RC.
demo_pub() {
	SEQ=$((SEQ + 1))
	PUB_CID=pub-$$-$SEQ
	PUB_ERR=$T/pub.$SEQ.err
	log_mark
	timeout -k 2 "$(tmo 10)" mosquitto_pub -h 127.0.0.1 -p "$P_DEMO" \
	    --cafile "$CERTS/ca.crt" --cert "$PKI/dev1.crt" \
	    --key "$PKI/dev1.key" -V "$1" -i "$PUB_CID" -u dev2 -P dev2pw \
	    -q 1 -t "$2" -m "$3" 2>"$PUB_ERR"
	PUB_RC=$?
}

# Controls straight on the broker: the ACL decides by username alone.
m=control-dev2-$$-$RANDOM
direct_pub dev2 devices/dev2/x "$m"
if wait_for "$(tmo 5)" admin_got devices/dev2/x "$m"; then
	ok "control: username dev2 straight to the broker may publish to devices/dev2/x"
else
	bail "control: username dev2 straight to the broker may publish to devices/dev2/x" \
	    "$ADMIN_OUT" "$DEMO_LOG"
fi
m2=control-dev1-$$-$RANDOM
direct_pub dev1 devices/dev2/x "$m2"
m3=control-mark-$$-$RANDOM
direct_pub dev1 devices/dev1/x "$m3"
if wait_for "$(tmo 5)" admin_got devices/dev1/x "$m3" &&
    ! admin_got devices/dev2/x "$m2"; then
	ok "control: username dev1 straight to the broker may publish to devices/dev1/x, not devices/dev2/x"
else
	fail "control: username dev1 straight to the broker may publish to devices/dev1/x, not devices/dev2/x" \
	    "$ADMIN_OUT" "$DEMO_LOG"
fi

for v in mqttv311 mqttv5; do
	what="demo $v: CN=dev1 saying -u dev2"
	m=ok-$v-$$-$RANDOM
	demo_pub "$v" devices/dev1/x "$m"
	check "$what: mosquitto_pub to devices/dev1/x exits 0 (rc $PUB_RC)" \
	    [ "$PUB_RC" -eq 0 ]
	if wait_for "$(tmo 5)" admin_got devices/dev1/x "$m"; then
		ok "$what: devices/dev1/x delivered"
	else
		fail "$what: devices/dev1/x delivered" "$ADMIN_OUT" "$PUB_ERR" \
		    "$DEMO_LOG" "$LOG"
	fi
	got=$(broker_user "$DEMO_LOG" "$PUB_CID")
	check "$what: mosquitto saw username dev1 (got '$got')" \
	    [ "$got" = dev1 ]
	if wait_conn demo 'client_closed|upstream_closed'; then
		got=$(unq "$(conn_field mqtt_user)")
		check "$what: logged mqtt_user=dev1 (got $got)" [ "$got" = dev1 ]
		got=$(unq "$(conn_field mqtt_client)")
		check "$what: logged mqtt_client=$PUB_CID (got $got)" \
		    [ "$got" = "$PUB_CID" ]
	else
		fail "$what: connection line with reason=client_closed|upstream_closed"
	fi

	m=deny-$v-$$-$RANDOM
	demo_pub "$v" devices/dev2/x "$m"
	note "$what: mosquitto_pub to devices/dev2/x: rc $PUB_RC $(tr '\n' ' ' <"$PUB_ERR")"
	deny_cid=$PUB_CID
	mark=mark-$v-$$-$RANDOM
	demo_pub "$v" devices/dev1/mark "$mark"
	if wait_for "$(tmo 5)" admin_got devices/dev1/mark "$mark"; then
		if admin_got devices/dev2/x "$m"; then
			fail "$what: devices/dev2/x not delivered (it was)" "$ADMIN_OUT"
		else
			ok "$what: devices/dev2/x not delivered (a later message was)"
		fi
	else
		fail "$what: the marker on devices/dev1/mark arrived" "$ADMIN_OUT" \
		    "$DEMO_LOG"
	fi
	check "$what: mosquitto denied the PUBLISH to devices/dev2/x" \
	    grep -aqF "Denied PUBLISH from $deny_cid (" "$DEMO_LOG"
done

# ------------------------------------------------------------ username sources

for p in 4 5; do
	user_is "mqtt_username = cn, MQTT $p" demo "$P_DEMO" dev1 \
	    --proto "$p" "${DEV1[@]}"
	user_is "mqtt_username = dn, MQTT $p" dn "$P_DN" "$DN" \
	    --proto "$p" "${DEV1[@]}"
	got=$(unq "$(conn_field subject)")
	check "mqtt_username = dn, MQTT $p: the username is the line's subject= ($got)" \
	    [ "$got" = "$DN" ]
	user_is "mqtt_username = san_uri (first of two), MQTT $p" uri \
	    "$P_URI" urn:example:dev1 --proto "$p" "${DEV1[@]}"
	user_is "mqtt_username = san_dns (first of two), MQTT $p" dns \
	    "$P_DNS" dev1.devices.example.com --proto "$p" "${DEV1[@]}"
	user_is "mqtt_username = cert_sha256, MQTT $p" sha "$P_SHA" "$SHA" \
	    --proto "$p" "${DEV1[@]}"
done
user_is "mqtt_username = cn, MQTT 3.1" demo "$P_DEMO" dev1 --proto 3 \
    "${DEV1[@]}"
# A client that sends no username (and no password) gets one too.
for p in 4 5; do
	SEQ=$((SEQ + 1))
	cid=nouser-$$-$SEQ
	accept "mqtt_username = cn, MQTT $p without username" demo "$P_DEMO" \
	    --proto "$p" --id "$cid" "${DEV1[@]}"
	wait_for "$(tmo 5)" broker_user "$DEMO_LOG" "$cid" >/dev/null
	got=$(broker_user "$DEMO_LOG" "$cid")
	check "mqtt_username = cn, MQTT $p without username: mosquitto saw dev1 (got '$got')" \
	    [ "$got" = dev1 ]
done

# psk_identity: openssl s_client with TLS 1.3 external PSK sends a
# hand-made CONNECT (username "spoof") and DISCONNECT.
SEQ=$((SEQ + 1))
cid=psk-$$-$SEQ
"$PY" "$RAWPY" build --proto 4 --id "$cid" --user spoof --disconnect \
    >"$T/psk.bin"
log_mark
timeout -k 2 "$(tmo 10)" openssl s_client -connect "127.0.0.1:$P_PSK" \
    -CAfile "$CERTS/ca.crt" -tls1_3 -psk_identity dev1 -psk "$K1" -ign_eof \
    <"$T/psk.bin" >"$T/psk.out" 2>&1
if has_bytes "$T/psk.out" "20 02 00 00"; then
	ok "mqtt_username = psk_identity: CONNACK 0"
else
	fail "mqtt_username = psk_identity: CONNACK 0" "$T/psk.out" "$LOG"
fi
wait_for "$(tmo 5)" broker_user "$DEMO_LOG" "$cid" >/dev/null
got=$(broker_user "$DEMO_LOG" "$cid")
check "mqtt_username = psk_identity: mosquitto saw username dev1 (got '$got')" \
    [ "$got" = dev1 ]
if wait_conn psk 'client_closed|upstream_closed'; then
	got=$(unq "$(conn_field mqtt_user)")
	check "mqtt_username = psk_identity: logged mqtt_user=dev1 (got $got)" \
	    [ "$got" = dev1 ]
	got=$(conn_field psk)
	check "mqtt_username = psk_identity: logged psk=dev1 (got $got)" \
	    [ "$got" = dev1 ]
else
	fail "mqtt_username = psk_identity: connection line"
fi
# The same listener without PSK (a certificate handshake): no identity.
SEQ=$((SEQ + 1))
cid=nopsk-$$-$SEQ
"$PY" "$RAWPY" build --proto 4 --id "$cid" --user spoof --disconnect \
    >"$T/nopsk.bin"
log_mark
timeout -k 2 "$(tmo 10)" openssl s_client -connect "127.0.0.1:$P_PSK" \
    -CAfile "$CERTS/ca.crt" -tls1_3 -ign_eof \
    <"$T/nopsk.bin" >"$T/nopsk.out" 2>&1
if has_bytes "$T/nopsk.out" "20 02 00 05"; then
	ok "mqtt_username = psk_identity without PSK: CONNACK return code 5"
else
	fail "mqtt_username = psk_identity without PSK: CONNACK return code 5" \
	    "$T/nopsk.out" "$LOG"
fi
if wait_conn psk mqtt_refused; then
	ok "mqtt_username = psk_identity without PSK: logged reason=mqtt_refused detail=$(conn_field detail)"
else
	fail "mqtt_username = psk_identity without PSK: logged reason=mqtt_refused"
fi
not_at_broker "mqtt_username = psk_identity without PSK" "$DEMO_LOG" "$cid"

# ------------------------------------------------------------ passwords

# Controls straight on the password broker.
raw --plain --port "$PW_PORT" --proto 4 --id "pwctl-$$-a" --user dev1 \
    --password secret-one
check "control: the password broker accepts dev1/secret-one" \
    [ "$(raw_field connack)" = 0x00 ]
raw --plain --port "$PW_PORT" --proto 4 --id "pwctl-$$-b" --user dev1 \
    --password wrong
c=$(raw_field connack)
check "control: the password broker refuses dev1/wrong (connack ${c:-none})" \
    refusing "$c"
raw --plain --port "$PW_PORT" --proto 4 --id "pwctl-$$-c" --user dev1
c=$(raw_field connack)
check "control: the password broker refuses dev1 without password (connack ${c:-none})" \
    refusing "$c"

# broker_refuses MSG LISTENER PORT WANT_USER ARG...: the client gets a
# refusing CONNACK that mqgate forwarded from the broker (the line is not
# mqtt_refused and names the username sent).
broker_refuses() {
	local msg=$1 listener=$2 port=$3 want=$4 c got
	shift 4
	log_mark
	raw --port "$port" "$@"
	c=$(raw_field connack)
	if refusing "$c"; then
		ok "$msg: the broker refuses (CONNACK $c)"
	else
		fail "$msg: the broker refuses (CONNACK ${c:-none})" "$RAW_OUT" \
		    "$PW_LOG"
	fi
	if wait_conn "$listener" '[a-z_]+'; then
		check "$msg: it was the broker, not mqgate ($(conn_field reason))" \
		    [ "$(conn_field reason)" != mqtt_refused ]
		got=$(unq "$(conn_field mqtt_user)")
		check "$msg: logged mqtt_user=$want (got $got)" [ "$got" = "$want" ]
	else
		fail "$msg: connection line"
	fi
}

for p in 4 5; do
	accept "password file:, MQTT $p: dev1 saying dev2/wrong gets the file's secret" \
	    pwfile "$P_PWFILE" --proto "$p" --id "pwf-$$-$p" --user dev2 \
	    --password wrong "${DEV1[@]}"
	got=$(unq "$(conn_field mqtt_user)")
	check "password file:, MQTT $p: logged mqtt_user=dev1 (got $got)" \
	    [ "$got" = dev1 ]
	accept "password file:, MQTT $p: a client sending no password gets it too" \
	    pwfile "$P_PWFILE" --proto "$p" --id "pwf-$$-n$p" --user dev1 \
	    "${DEV1[@]}"
	broker_refuses "password file:, MQTT $p: dev2 gets dev1's secret" \
	    pwfile "$P_PWFILE" dev2 --proto "$p" --id "pwf-$$-d$p" \
	    --user dev2 --password secret-two "${DEV2[@]}"

	broker_refuses "password drop, MQTT $p: dev1 with its right password" \
	    pwdrop "$P_PWDROP" dev1 --proto "$p" --id "pwd-$$-$p" --user dev1 \
	    --password secret-one "${DEV1[@]}"
	accept "password keep (control for drop), MQTT $p: dev1 with its right password" \
	    pwkeep "$P_PWKEEP" --proto "$p" --id "pwk-$$-$p" --user dev1 \
	    --password secret-one "${DEV1[@]}"
done

# A new secret, with CR LF this time, takes effect on SIGHUP.
printf 'secret-two\r\n' >"$T/secret.new" && mv -f "$T/secret.new" "$T/secret"
log_mark
signal_mqgate HUP
assert_log "password file: SIGHUP reloads" \
    'certificates reloaded generation=[0-9]+ \(SIGHUP\)'
accept "password file after SIGHUP: dev2 gets the new secret (CR LF stripped)" \
    pwfile "$P_PWFILE" --proto 4 --id "pwf-$$-r2" --user x --password y \
    "${DEV2[@]}"
broker_refuses "password file after SIGHUP: dev1 gets the new secret" \
    pwfile "$P_PWFILE" dev1 --proto 5 --id "pwf-$$-r1" --user dev1 \
    --password secret-one "${DEV1[@]}"

# The file vanishes: the reload fails and keeps the secret.
rm -f "$T/secret"
log_mark
signal_mqgate HUP
assert_log "password file gone: the reload is refused" \
    'keeping previous|reload failed'
accept "password file gone: the previous secret is still used" pwfile \
    "$P_PWFILE" --proto 5 --id "pwf-$$-g" --user x --password y "${DEV2[@]}"

# ------------------------------------------------------------ client ids

for p in 4 5; do
	if [ "$p" = 5 ]; then bad=0x85; else bad=0x02; fi
	accept "clientid = cn, MQTT $p: id dev1" cidcn "$P_CIDCN" --proto "$p" \
	    --id dev1 "${DEV1[@]}"
	got=$(unq "$(conn_field mqtt_client)")
	check "clientid = cn, MQTT $p: logged mqtt_client=dev1 (got $got)" \
	    [ "$got" = dev1 ]
	refuse "clientid = cn, MQTT $p: id dev2" cidcn "$P_CIDCN" "$bad" \
	    mqtt_refused --proto "$p" --id dev2 "${DEV1[@]}"
	refuse "clientid = cn, MQTT $p: empty id" cidcn "$P_CIDCN" "$bad" \
	    mqtt_refused --proto "$p" --id '' "${DEV1[@]}"

	accept "clientid = san_uri, MQTT $p: the first URI" ciduri "$P_CIDURI" \
	    --proto "$p" --id urn:example:dev1 "${DEV1[@]}"
	accept "clientid = san_uri, MQTT $p: the second URI" ciduri \
	    "$P_CIDURI" --proto "$p" --id spiffe://example.com/dev1 "${DEV1[@]}"
	refuse "clientid = san_uri, MQTT $p: the CN" ciduri "$P_CIDURI" "$bad" \
	    mqtt_refused --proto "$p" --id dev1 "${DEV1[@]}"
	refuse "clientid = san_uri, MQTT $p: empty id" ciduri "$P_CIDURI" \
	    "$bad" mqtt_refused --proto "$p" --id '' "${DEV1[@]}"

	accept "clientid = username (cn), MQTT $p: id dev1, saying user spoof" \
	    ciduser "$P_CIDUSER" --proto "$p" --id dev1 --user spoof \
	    "${DEV1[@]}"
	got=$(unq "$(conn_field mqtt_user)")
	check "clientid = username (cn), MQTT $p: logged mqtt_user=dev1 (got $got)" \
	    [ "$got" = dev1 ]
	refuse "clientid = username (cn), MQTT $p: id = the username the client sent" \
	    ciduser "$P_CIDUSER" "$bad" mqtt_refused --proto "$p" --id spoof \
	    --user spoof "${DEV1[@]}"
	refuse "clientid = username (cn), MQTT $p: empty id" ciduser \
	    "$P_CIDUSER" "$bad" mqtt_refused --proto "$p" --id '' "${DEV1[@]}"
done
refuse "clientid = cn, MQTT 3.1: id dev2" cidcn "$P_CIDCN" 0x02 mqtt_refused \
    --proto 3 --id dev2 "${DEV1[@]}"

# ------------------------------------------------------------ missing identity

for p in 5 4 3; do
	if [ "$p" = 5 ]; then bad=0x87; else bad=0x05; fi
	SEQ=$((SEQ + 1))
	cid=noid-$$-$SEQ
	refuse "no client certificate, mqtt_username = cn, MQTT $p" optional \
	    "$P_OPT" "$bad" mqtt_refused --proto "$p" --id "$cid"
	not_at_broker "no client certificate, MQTT $p" "$DEMO_LOG" "$cid"
done
accept "optional certificate, mqtt_username = cn: with dev1's certificate" \
    optional "$P_OPT" --proto 5 --id "opt-$$" "${DEV1[@]}"
for p in 5 4; do
	if [ "$p" = 5 ]; then bad=0x87; else bad=0x05; fi
	SEQ=$((SEQ + 1))
	cid=nouri-$$-$SEQ
	refuse "mqtt_username = san_uri, a certificate without URI SAN, MQTT $p" \
	    uri "$P_URI" "$bad" mqtt_refused --proto "$p" --id "$cid" \
	    "${DEV2[@]}"
	not_at_broker "a certificate without URI SAN, MQTT $p" "$DEMO_LOG" \
	    "$cid"
done

# ------------------------------------------------------------ malformed

for p in 5 4; do
	if [ "$p" = 5 ]; then bad=0x81; else bad=none; fi
	for c in reserved-flag rl-short rl-long; do
		refuse "malformed CONNECT ($c), MQTT $p" mal "$P_MAL" "$bad" \
		    mqtt_malformed --proto "$p" --case "$c" --id "mal-$c" \
		    "${DEV1[@]}"
	done
done
# Nothing tells the protocol version: a bare close.
refuse "malformed CONNECT (Remaining Length of 5 bytes)" mal "$P_MAL" none \
    mqtt_malformed --proto 5 --case varint5 --id mal-v "${DEV1[@]}"
refuse "malformed CONNECT (protocol name MQTX)" mal "$P_MAL" none \
    mqtt_malformed --proto 5 --case bad-name --id mal-n "${DEV1[@]}"
refuse "first packet a PUBLISH, not a CONNECT" mal "$P_MAL" none \
    mqtt_malformed --case not-connect "${DEV1[@]}"

# mqtt_max_connect = 256 bytes: MQTT 5 CONNECT = 16 + id bytes, 3.1.1 =
# 15 + id bytes (with a two-byte Remaining Length).
id240=$(printf 'i%.0s' $(seq 240))
accept "a MQTT 5 CONNECT of exactly mqtt_max_connect (256) bytes" mal \
    "$P_MAL" --proto 5 --id "$id240" "${DEV1[@]}"
refuse "a MQTT 5 CONNECT of 257 bytes > mqtt_max_connect" mal "$P_MAL" 0x95 \
    mqtt_malformed --proto 5 --id "${id240}j" "${DEV1[@]}"
accept "a MQTT 3.1.1 CONNECT of exactly mqtt_max_connect (256) bytes" mal \
    "$P_MAL" --proto 4 --id "${id240}j" "${DEV1[@]}"
refuse "a MQTT 3.1.1 CONNECT of 257 bytes > mqtt_max_connect" mal "$P_MAL" \
    none mqtt_malformed --proto 4 --id "${id240}jk" "${DEV1[@]}"

# A partial CONNECT: closed after mqtt_connect_timeout = 1 s.
for p in 5 4; do
	what="partial CONNECT, MQTT $p"
	log_mark
	raw --port "$P_MAL" --proto "$p" --case truncated --id mal-t \
	    "${DEV1[@]}" --timeout "$(tmo 8)"
	end=$(raw_field end)
	ms=$(raw_field ms)
	c=$(raw_field connack)
	case $end in
	eof | reset) ok "$what: closed ($end)" ;;
	*) fail "$what: closed (end=$end)" "$RAW_OUT" "$LOG" ;;
	esac
	check "$what: after mqtt_connect_timeout (${ms:-?} ms, want 800..$(tmo 4)000)" \
	    between "$ms" 800 "$(tmo 4)000"
	check "$what: no accepting CONNACK (connack ${c:-none})" \
	    [ "$c" != 0x00 ]
	[ -n "$c" ] && note "$what: got CONNACK $c before the close"
	if wait_conn mal mqtt_timeout; then
		ok "$what: logged reason=mqtt_timeout"
	else
		fail "$what: logged reason=mqtt_timeout"
	fi
done

# ------------------------------------------------------------ pipelining

# CONNECT + SUBSCRIBE + PUBLISH in one write: the PUBLISH comes back on the
# subscription and reaches the admin subscriber. The demo listener shrinks
# a 300-byte username to "dev1" (Remaining Length 2 -> 1 byte); the sha
# listener grows a CONNECT without username past 127 bytes (1 -> 2).
long_user=$(printf 'u%.0s' $(seq 300))
long_id=$(printf 'c%.0s' $(seq 60))
for p in 4 5; do
	for variant in shrink grow; do
		what="pipelined CONNECT+SUBSCRIBE+PUBLISH, MQTT $p, username $variant"
		text=pipe-$p-$variant-$$-$RANDOM
		if [ "$variant" = shrink ]; then
			listener=demo port=$P_DEMO user=dev1
			args=(--id "pipe-$p-$$" --user "$long_user")
		else
			listener=sha port=$P_SHA user=$SHA
			args=(--id "$long_id")
		fi
		topic=devices/$user/pipe/$p
		log_mark
		raw --port "$port" --proto "$p" "${args[@]}" --then-sub "$topic" \
		    --then-pub "$text" "${DEV1[@]}"
		if [ "$(raw_field connack)" = 0x00 ] &&
		    [ -n "$(raw_field suback)" ] &&
		    [ "$(raw_field publish_back)" = yes ]; then
			ok "$what: CONNACK, SUBACK and the PUBLISH came back byte for byte"
		else
			fail "$what: CONNACK, SUBACK and the PUBLISH came back byte for byte" \
			    "$RAW_OUT" "$LOG"
		fi
		if wait_for "$(tmo 5)" grep -aqF -- "$topic $text" "$ADMIN_OUT"; then
			ok "$what: the admin subscriber got it"
		else
			fail "$what: the admin subscriber got it" "$ADMIN_OUT" \
			    "$DEMO_LOG"
		fi
		if wait_conn "$listener" 'client_closed|upstream_closed'; then
			got=$(unq "$(conn_field mqtt_user)")
			check "$what: logged mqtt_user=${user:0:16}... (got ${got:0:16}...)" \
			    [ "$got" = "$user" ]
		else
			fail "$what: connection line"
		fi
	done
done

# A small mqtt_max_connect and a big PUBLISH in the same write as the
# CONNECT: nothing of what follows the CONNECT may stay behind in mqgate
# (a read limit on the TLS side once stranded the rest of a record).
big=$(printf 'b%.0s' $(seq 6000))
log_mark
raw --port "$P_MAL" --proto 5 --id "big-$$" --then-sub devices/dev1/big \
    --then-pub "$big" "${DEV1[@]}"
if [ "$(raw_field connack)" = 0x00 ] && [ "$(raw_field publish_back)" = yes ]
then
	ok "mqtt_max_connect = 256 and a 6000-byte PUBLISH pipelined after the CONNECT: it comes back whole"
else
	fail "mqtt_max_connect = 256 and a 6000-byte PUBLISH pipelined after the CONNECT: it comes back whole" \
	    "$RAW_OUT" "$LOG"
fi

# ------------------------------------------------------------ pass-through

NOT_MQTT=$(printf '\x00\x01not MQTT at all\r\n' | od -An -v -tx1 | tr -d ' \n')
NOT_MQTT=$NOT_MQTT$(openssl rand -hex 3000)
log_mark
raw --port "$P_PASS" --raw "$NOT_MQTT"
if [ "$(raw_field echo)" = match ]; then
	ok "no binding keys: 3018 non-MQTT bytes pass through to the echo upstream and back"
else
	fail "no binding keys: non-MQTT bytes pass through unchanged" "$RAW_OUT" \
	    "$LOG" "$T/echo.out"
fi
if wait_conn pass 'client_closed|upstream_closed'; then
	got="$(conn_field mqtt_user) $(conn_field mqtt_client)"
	check "no binding keys: logged mqtt_user=- mqtt_client=- (got $got)" \
	    [ "$got" = "- -" ]
else
	fail "no binding keys: connection line"
fi
n_echo=$(grep -c '^accepted ' "$T/echo.out")
refuse "mqtt_password = drop: the same bytes are not MQTT" parse "$P_PARSE" \
    none mqtt_malformed --raw "$NOT_MQTT"
check "mqtt_password = drop: mqgate did not connect to the upstream" \
    [ "$(grep -c '^accepted ' "$T/echo.out")" = "$n_echo" ]

stop_mqgate
