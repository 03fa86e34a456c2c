#!/usr/bin/env bash
# t_psk: TLS-PSK from psk_file (identity:hexkey lines, # comments). TLS 1.3
# external PSK and TLS 1.2 PSK cipher suites carry MQTT to the broker and
# log psk=IDENTITY; a wrong key fails the handshake on both versions; an
# unknown identity fails TLS 1.2 (logged as such) and falls back to the
# certificate on TLS 1.3; PSK works next to [cert] bundles chosen by SNI;
# a listener may have psk_file and no certfile; a bad psk_file line makes
# "mqgate -t" exit 1 naming that file:line.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=pki.sh
. "$(dirname "$0")/pki.sh"

K1=00112233445566778899aabbccddeeff
K2=0f0e0d0c0b0a09080706050403020100f0e1d2c3b4a5968778695a4b3c2d1e0f
KWRONG=ffeeddccbbaa99887766554433221100
PSK12=PSK-AES128-GCM-SHA256

PSKF=$T/psk.txt
cat >"$PSKF" <<EOF
# device keys, one identity:hexkey per line

dev1:$K1
# a 32-byte key
dev2:$K2
EOF

# psk_publish PORT TOPIC MSG S_CLIENT_ARG...: s_client sends MQTT CONNECT,
# a retained PUBLISH of MSG on TOPIC and DISCONNECT; true if a CONNACK came
# back. Output in PROBE_OUT.
psk_publish() {
	local port=$1 topic=$2 msg=$3 bin
	shift 3
	SEQ=$((SEQ + 1))
	bin=$T/publish.$SEQ.bin
	PROBE_OUT=$T/publish.$SEQ.out
	{
		printf '\x10\x0d\x00\x04MQTT\x04\x02\x00\x0a\x00\x01t'
		# shellcheck disable=SC2059 # one byte, built as \xNN
		printf "\\x31\\x$(printf %02x $((2 + ${#topic} + ${#msg})))"
		# shellcheck disable=SC2059
		printf "\\x00\\x$(printf %02x ${#topic})"
		printf '%s%s' "$topic" "$msg"
		printf '\xe0\x00'
	} >"$bin"
	timeout -k 2 "$(tmo 10)" openssl s_client \
	    -connect "$(hostport "$port")" -CAfile "$CERTS/ca.crt" -ign_eof \
	    "$@" <"$bin" >"$PROBE_OUT" 2>&1
	PROBE_RC=$?
	has_connack "$PROBE_OUT"
}

# The retained message on TOPIC, read straight from the broker.
retained() {
	timeout -k 2 "$(tmo 10)" mosquitto_sub -h 127.0.0.1 -p "$BROKER_PORT" \
	    -t "$1" -C 1 -W "$(tmo 5)" 2>/dev/null
}

# accepted MSG LISTENER WANT_PSK WANT_TLS PORT S_CLIENT_ARG...: a PUBLISH
# through mqgate reaches the broker; the line has psk=WANT_PSK and
# tls=WANT_TLS.
accepted() {
	local msg=$1 listener=$2 psk=$3 tls=$4 port=$5 topic m got
	shift 5
	SEQ=$((SEQ + 1))
	topic=psk/$$/$SEQ
	m=m$SEQ-$RANDOM
	log_mark
	if psk_publish "$port" "$topic" "$m" "$@"; then
		ok "$msg: CONNACK"
	else
		fail "$msg: CONNACK (s_client rc $PROBE_RC)" "$PROBE_OUT" "$LOG"
	fi
	got=$(retained "$topic")
	check "$msg: the PUBLISH reached mosquitto (got '$got')" \
	    [ "$got" = "$m" ]
	if wait_conn "$listener" 'client_closed|upstream_closed'; then
		got=$(conn_field psk)
		check "$msg: logged psk=$psk (got psk=$got)" [ "$got" = "$psk" ]
		got=$(conn_field tls)
		check "$msg: logged tls=$tls (got tls=$got)" [ "$got" = "$tls" ]
		LAST_LINE=$CONN_LINE
	else
		fail "$msg: connection line with reason=client_closed|upstream_closed"
		LAST_LINE=
	fi
}

# refused MSG LISTENER DETAIL_RE PORT S_CLIENT_ARG...: no CONNACK, and the
# line is reason=handshake_failed with a detail matching DETAIL_RE ("" for
# any).
refused() {
	local msg=$1 listener=$2 det=$3 port=$4 d
	shift 4
	log_mark
	if mqtt_probe "$port" "$@"; then
		fail "$msg: refused (got a CONNACK)" "$PROBE_OUT" "$LOG"
	else
		ok "$msg: refused"
	fi
	if ! wait_conn "$listener" handshake_failed; then
		fail "$msg: connection line with reason=handshake_failed"
		return
	fi
	d=$(conn_field detail)
	if [ -z "$det" ] || grep -qE -- "$det" <<<"$d"; then
		ok "$msg: logged reason=handshake_failed detail=$d"
	else
		fail "$msg: logged detail matching /$det/ ($CONN_LINE)"
	fi
}

pki_server site ca "/CN=site" "DNS:site.example.com"
start_broker
P_PSK=$(free_port)
P_ONLY=$(free_port)
P_NOPSKC=$(free_port)
CONF=$T/mqgate.ini
{
	conf_global
	conf_listener psk "$P_PSK" "psk_file = $PSKF" \
	    "ciphers = $PSK12:ECDHE-ECDSA-AES128-GCM-SHA256" "certs = site"
	echo "[cert site]"
	echo "certfile = $PKI/site.pem"
	echo
	conf_listener psk-only "$P_ONLY" "psk_file = $PSKF" "ciphers = $PSK12" |
	    grep -vE '^(certfile|keyfile) = '
	conf_listener nopskc "$P_NOPSKC" "psk_file = $PSKF"
} | write_conf "$CONF"

run_mqgate -t -c "$CONF"
if [ "$RC" -eq 0 ]; then
	ok "mqgate -t accepts psk_file, also on a listener without certfile"
else
	fail "mqgate -t exits 0 (rc $RC)" "$ERR" "$OUT"
fi
start_mqgate "$CONF"

# ------------------------------------------------------------ TLS 1.3

accepted "TLS 1.3 PSK dev1" psk dev1 TLSv1.3 "$P_PSK" -tls1_3 \
    -psk_identity dev1 -psk "$K1"
if grep -aq 'no peer certificate available' "$PROBE_OUT"; then
	ok "TLS 1.3 PSK dev1: no server certificate was sent"
else
	fail "TLS 1.3 PSK dev1: no server certificate was sent" "$PROBE_OUT"
fi
c=$(probe_cipher)
check "TLS 1.3 PSK dev1: cipher TLS_AES_128_GCM_SHA256 (got $c)" \
    [ "$c" = TLS_AES_128_GCM_SHA256 ]
note "TLS 1.3 PSK dev1 logs$(grep -oE ' resumed=[^ ]+' <<<"$LAST_LINE")"
accepted "TLS 1.3 PSK dev2 (32-byte key)" psk dev2 TLSv1.3 "$P_PSK" \
    -tls1_3 -psk_identity dev2 -psk "$K2"
refused "TLS 1.3 PSK dev1 with the wrong key" psk '' "$P_PSK" -tls1_3 \
    -psk_identity dev1 -psk "$KWRONG"
refused "TLS 1.3 PSK dev2 with dev1's key" psk '' "$P_PSK" -tls1_3 \
    -psk_identity dev2 -psk "$K1"

accepted "TLS 1.3 unknown identity: certificate handshake" psk - TLSv1.3 \
    "$P_PSK" -tls1_3 -psk_identity nobody -psk "$K1"
if grep -aq 'Verification: OK' "$PROBE_OUT" &&
    grep -aq 'BEGIN CERTIFICATE' "$PROBE_OUT"; then
	ok "TLS 1.3 unknown identity: the server certificate was sent and verified"
else
	fail "TLS 1.3 unknown identity: the server certificate was sent and verified" \
	    "$PROBE_OUT"
fi
accepted "TLS 1.3 without PSK: certificate handshake" psk - TLSv1.3 \
    "$P_PSK" -tls1_3

# ------------------------------------------------------------ TLS 1.2

accepted "TLS 1.2 PSK dev1" psk dev1 TLSv1.2 "$P_PSK" -tls1_2 \
    -cipher "$PSK12" -psk_identity dev1 -psk "$K1"
c=$(probe_cipher)
check "TLS 1.2 PSK dev1: cipher $PSK12 (got $c)" [ "$c" = "$PSK12" ]
c=$(grep -oE ' cipher=[^ ]+' <<<"$LAST_LINE")
check "TLS 1.2 PSK dev1: logged cipher=$PSK12 (got$c)" \
    [ "$c" = " cipher=$PSK12" ]
accepted "TLS 1.2 PSK dev2" psk dev2 TLSv1.2 "$P_PSK" -tls1_2 \
    -cipher "$PSK12" -psk_identity dev2 -psk "$K2"
refused "TLS 1.2 PSK unknown identity" psk \
    'unknown PSK identity .*nobody' "$P_PSK" -tls1_2 -cipher "$PSK12" \
    -psk_identity nobody -psk "$K1"
refused "TLS 1.2 PSK dev1 with the wrong key" psk '' "$P_PSK" -tls1_2 \
    -cipher "$PSK12" -psk_identity dev1 -psk "$KWRONG"
accepted "TLS 1.2 certificate handshake on the PSK listener" psk - TLSv1.2 \
    "$P_PSK" -tls1_2

# ------------------------------------------------------------ SNI

accepted "TLS 1.3 PSK dev1 with SNI of bundle site" psk dev1 TLSv1.3 \
    "$P_PSK" -tls1_3 -servername site.example.com -psk_identity dev1 \
    -psk "$K1"
accepted "TLS 1.2 PSK dev1 with SNI of bundle site" psk dev1 TLSv1.2 \
    "$P_PSK" -tls1_2 -cipher "$PSK12" -servername site.example.com \
    -psk_identity dev1 -psk "$K1"
refused "TLS 1.2 PSK unknown identity with SNI of bundle site" psk \
    'unknown PSK identity .*nobody' "$P_PSK" -tls1_2 -cipher "$PSK12" \
    -servername site.example.com -psk_identity nobody -psk "$K1"
accepted "TLS 1.3 unknown identity with SNI: the bundle's certificate" psk \
    - TLSv1.3 "$P_PSK" -tls1_3 -servername site.example.com \
    -psk_identity nobody -psk "$K1"
c=$(conn_field cert)
check "TLS 1.3 unknown identity with SNI: logged cert=site (got $c)" \
    [ "$c" = site ]

# ------------------------------------------------------------ no certfile

accepted "no certfile: TLS 1.3 PSK dev1" psk-only dev1 TLSv1.3 "$P_ONLY" \
    -tls1_3 -psk_identity dev1 -psk "$K1"
accepted "no certfile: TLS 1.2 PSK dev2" psk-only dev2 TLSv1.2 "$P_ONLY" \
    -tls1_2 -cipher "$PSK12" -psk_identity dev2 -psk "$K2"
refused "no certfile: TLS 1.2 PSK unknown identity" psk-only \
    'unknown PSK identity' "$P_ONLY" -tls1_2 -cipher "$PSK12" \
    -psk_identity nobody -psk "$K1"

# A resumed PSK session keeps the identity it was established with (it
# travels in the ticket), the way a resumed certificate session keeps its
# subject.
for v in -tls1_3 -tls1_2; do
	c=()
	[ "$v" = -tls1_2 ] && c=(-cipher "$PSK12")
	rm -f "$T/psk$v.sess"
	mqtt_probe "$P_PSK" "$v" "${c[@]}" -psk_identity dev1 -psk "$K1" \
	    -sess_out "$T/psk$v.sess"
	log_mark
	if [ -s "$T/psk$v.sess" ] &&
	    mqtt_probe "$P_PSK" "$v" "${c[@]}" -psk_identity dev1 -psk "$K1" \
	    -sess_in "$T/psk$v.sess" &&
	    wait_conn psk 'client_closed|upstream_closed'; then
		check "$v: a resumed dev1 session logs psk=dev1 resumed=yes" \
		    grep -qE ' psk=dev1 alpn=[^ ]+ resumed=yes ' <<<"$CONN_LINE"
	else
		fail "$v: a dev1 session could not be resumed"
	fi
done

# Naming an identity without its key proves nothing: with a SHA-384
# suite OpenSSL skips the (SHA-256) PSK and falls back to the certificate;
# neither that connection nor a resumption of its session may carry the
# identity.
rm -f "$T/spoof.sess"
log_mark
if mqtt_probe "$P_PSK" -tls1_3 -ciphersuites TLS_AES_256_GCM_SHA384 \
    -psk_identity dev1 -psk "$KWRONG" -sess_out "$T/spoof.sess" &&
    wait_conn psk 'client_closed|upstream_closed'; then
	check "dev1 named without its key: the line has psk=-" \
	    grep -qE ' psk=- ' <<<"$CONN_LINE"
else
	fail "dev1 named without its key: expected a certificate handshake"
fi
log_mark
if [ -s "$T/spoof.sess" ] &&
    mqtt_probe "$P_PSK" -tls1_3 -ciphersuites TLS_AES_256_GCM_SHA384 \
    -sess_in "$T/spoof.sess" &&
    wait_conn psk 'client_closed|upstream_closed'; then
	check "resuming that session: the line has psk=-" \
	    grep -qE ' psk=- ' <<<"$CONN_LINE"
else
	fail "resuming the certificate session failed"
fi

# A ticket of a PSK session stops resuming once its key changes.
rm -f "$T/rekey.sess"
mqtt_probe "$P_PSK" -tls1_3 -psk_identity dev2 -psk "$K2" \
    -sess_out "$T/rekey.sess"
sed -i "s/^dev2:.*/dev2:$K1/" "$PSKF"
log_mark
signal_mqgate HUP
wait_log 'certificates reloaded' || fail "no reload after the psk_file change"
log_mark
if [ -s "$T/rekey.sess" ] &&
    mqtt_probe "$P_PSK" -tls1_3 -sess_in "$T/rekey.sess" &&
    wait_conn psk 'client_closed|upstream_closed'; then
	check "dev2's old ticket after its key changed: not resumed" \
	    grep -qE ' psk=- alpn=[^ ]+ resumed=no ' <<<"$CONN_LINE"
else
	fail "dev2's old ticket after its key changed: no connection"
fi
sed -i "s/^dev2:.*/dev2:$K2/" "$PSKF"
log_mark
signal_mqgate HUP
wait_log 'certificates reloaded' || fail "no reload after restoring psk_file"

# Informational: what TLS 1.3 with an unknown identity gets when there is
# no certificate to fall back to.
log_mark
if mqtt_probe "$P_ONLY" -tls1_3 -psk_identity nobody -psk "$K1"; then
	note "no certfile: TLS 1.3 unknown identity: accepted"
else
	wait_conn psk-only handshake_failed
	note "no certfile: TLS 1.3 unknown identity: refused ($(conn_field detail))"
fi

# Informational: TLS 1.2 PSK on a listener whose ciphers has no PSK suite.
log_mark
if mqtt_probe "$P_NOPSKC" -tls1_2 -cipher "$PSK12" -psk_identity dev1 \
    -psk "$K1"; then
	note "TLS 1.2 PSK without a PSK suite in ciphers: accepted"
else
	wait_conn nopskc handshake_failed
	note "TLS 1.2 PSK without a PSK suite in ciphers: refused ($(conn_field detail))"
fi

# Informational: is psk_file read again on SIGHUP?
K3=aabbccddeeff00112233445566778899
printf 'dev1:%s\ndev3:%s\n' "$K1" "$K3" >"$PSKF.new" && mv -f "$PSKF.new" "$PSKF"
log_mark
signal_mqgate HUP
wait_log 'certificates reloaded generation=|keeping previous'
if mqtt_probe "$P_PSK" -tls1_3 -psk_identity dev3 -psk "$K3"; then
	note "psk_file: a key added before SIGHUP works after it"
else
	note "psk_file: a key added before SIGHUP does not work after it"
fi
stop_mqgate

# ------------------------------------------------------------ bad files

# bad_psk NAME CONTENT LINE: "mqgate -t" exits 1 naming PSKFILE:LINE.
bad_psk() {
	local name=$1 line=$3 f=$T/bad-$1.psk c=$T/bad-$1.ini
	printf '%s' "$2" >"$f"
	{
		conf_global
		conf_listener psk "$P_PSK" "psk_file = $f" \
		    "ciphers = $PSK12:ECDHE-ECDSA-AES128-GCM-SHA256"
	} | write_conf "$c"
	run_mqgate -t -c "$c"
	check "bad psk_file ($name): mqgate -t exits 1 (rc $RC)" [ "$RC" -eq 1 ]
	if grep -qF -- "$f:$line:" "$ERR" "$OUT"; then
		ok "bad psk_file ($name): the error names $(basename "$f"):$line: $(grep -hF -- "$f:$line:" "$ERR" "$OUT" | head -n 1 | sed "s|.*$f:$line: ||")"
	else
		fail "bad psk_file ($name): the error names $f:$line" "$ERR" "$OUT"
	fi
}

bad_psk nonhex "# keys
dev1:$K1
dev3:00112233zz
" 3
bad_psk nocolon "# keys

dev1$K1
" 3
bad_psk odd "dev1:$K1
# comment
dev4:abc
" 3
bad_psk emptykey "dev1:$K1
dev5:
" 2
