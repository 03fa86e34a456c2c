#!/usr/bin/env bash
# t_proxy_out: PROXY protocol out, checked against real implementations.
#  (a) tshark decodes every header mqgate sends (v2 over IPv4 and IPv6, v1
#      over both): source address/port = the client socket's, destination =
#      the listener, TLS version, cipher, CN, SNI (authority), ALPN equal
#      what the client used, and the CRC-32C matches. The header is
#      recorded by pp2_tool.py recv, which relays the rest to mosquitto, so
#      every client also gets its CONNACK through the header.
#  (b) HAProxy receives them (accept-proxy in TCP mode, in front of
#      mosquitto): its log shows the real client address, MQTT round trips
#      work, and it rejects none of mqgate's headers (v2 with every TLV and
#      CRC-32C, v1, v2 from IPv6), while it does reject a bad CRC (control).
#  (c) HAProxy sends them (send-proxy-v2-ssl-cn terminating TLS with the
#      same certificates): for the same client, both headers are decoded
#      and compared field by field (VERSION, CN, cipher, sig_alg, key_alg,
#      authority, ALPN, client flags, verify, CRC validity, family), TLS 1.3
#      and 1.2, full and resumed, EC and RSA server keys, and without a
#      client certificate (verify: the documented difference).
#  (d) Profiles: mosquitto keeps the length field <= 500 with a long-DN
#      client certificate and sets both certificate flags even on
#      resumption; vernemq never sends 0x26-0x28 and refuses them in
#      proxy_tlvs (config error); proxy_max_header drops TLVs in the
#      documented order and logs which; resumed sessions have CERT_SESS
#      without CERT_CONN; no client certificate gives client 0x01, verify 1.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=pki.sh
. "$(dirname "$0")/pki.sh"

# haproxy lives in /usr/sbin, which a user's PATH may lack.
PATH=$PATH:/usr/sbin:/sbin
need haproxy tshark

TOOL=$(cd "$(dirname "$0")" && pwd)/pp2_tool.py
CA=$CERTS/ca.crt
CLIENT_CN=$(pki_cn "$CERTS/client.crt")
HAVE_V6=0
have_ipv6 && HAVE_V6=1

# ------------------------------------------------------------ helpers

# kv FILE KEY: the value of KEY= in a key=value file ("" when absent).
kv() {
	sed -n "s/^$2=//p" "$1" 2>/dev/null | head -n 1
}

# cf LINE KEY: field KEY= of a client result line.
cf() {
	grep -oE "(^| )$2=[^ ]*" <<<"$1" | head -n 1 | sed "s/^ *$2=//"
}

# want MSG FILE KEY VALUE: ok when KEY in FILE is VALUE ("" = absent).
want() {
	local got
	got=$(kv "$2" "$3")
	if [ "$got" = "$4" ]; then
		ok "$1: $3=${4:-(absent)}"
	else
		fail "$1: $3 is '${got:-(absent)}', want '${4:-(absent)}'" "$2"
	fi
}

# start_recv NAME PORT [HOST]: a recording receiver on HOST:PORT that relays
# to the broker; its headers land in $T/NAME.
start_recv() {
	local name=$1 port=$2 host=${3:-127.0.0.1}
	mkdir -p "$T/$name"
	closefds "$PY" "$TOOL" recv --port "$port" --host "$host" \
	    --dir "$T/$name" --forward "$BROKER_PORT" --timeout "$(tmo 900)" \
	    >"$T/$name.out" 2>&1 </dev/null &
	track $!
	wait_for "$(tmo 10)" grep -qsx ready "$T/$name.out" ||
	    bail "receiver $name did not start" "$T/$name.out"
}

# find_hdr NAME SPORT: wait for a header receiver NAME got whose source
# port is SPORT and that no earlier call took; sets HDR (the base path:
# HDR.hdr raw, HDR.pcap, HDR.seen = the decoded fields).
hdr_with() {
	local f
	f=$(grep -lx "sport=$2" "$T/$1"/*.dec 2>/dev/null | head -n 1)
	[ -n "$f" ] || return 1
	HDR=${f%.dec}
	mv "$f" "$HDR.seen"
}
find_hdr() {
	HDR=
	wait_for "$(tmo 10)" hdr_with "$1" "$2"
}

# pyclient ARG...: the TLS MQTT client of pp2_tool.py; sets CLIENT_OUT,
# CLIENT_RC, CL1 (its result line) and CL2 (the resumed one, --resume).
pyclient() {
	SEQ=$((SEQ + 1))
	CLIENT_OUT=$T/client.$SEQ.out
	timeout -k 2 "$(tmo 40)" "$PY" "$TOOL" client --ca "$CA" \
	    --timeout "$(tmo 10)" "$@" >"$CLIENT_OUT" 2>&1 </dev/null
	CLIENT_RC=$?
	CL1=$(grep '^local=' "$CLIENT_OUT" | sed -n 1p)
	CL2=$(grep '^local=' "$CLIENT_OUT" | sed -n 2p)
}

# connack_ok MSG [LINE]: the client line (default CL1) got its CONNACK.
connack_ok() {
	local line=${2:-$CL1}
	if [ "$(cf "$line" connack)" = yes ]; then
		ok "$1: CONNACK came back"
		return 0
	fi
	fail "$1: CONNACK came back (rc=$CLIENT_RC)" "$CLIENT_OUT" "$LOG"
	return 1
}

# got_hdr MSG RECV LINE: find the header of client line LINE in RECV.
got_hdr() {
	local port
	port=$(cf "$3" lport)
	if [ -n "$port" ] && find_hdr "$2" "$port"; then
		ok "$1: upstream got a PROXY header from client port $port"
		return 0
	fi
	fail "$1: upstream got a PROXY header from client port ${port:-?}" \
	    "$T/$2.out" "$LOG"
	return 1
}

# tshark_of HDR: run tshark on HDR.pcap into HDR.ts.
tshark_of() {
	"$PY" "$TOOL" tshark "$1.pcap" >"$1.ts" 2>"$1.ts.err"
}

# same_as_decoder MSG: tshark and pp2_tool decode HDR alike (keeps the
# decoder used in (c) and (d) honest).
same_as_decoder() {
	local k bad=
	for k in proto src sport dst dport length ssl_client ssl_verify \
	    ssl_version ssl_cn ssl_cipher ssl_sig_alg ssl_key_alg alpn \
	    authority crc crc_valid; do
		[ "$(kv "$HDR.ts" $k)" = "$(kv "$HDR.seen" $k)" ] ||
		    bad="$bad $k"
	done
	if [ -z "$bad" ]; then
		ok "$1: tshark and pp2_tool.py decode the same fields"
	else
		fail "$1: tshark and pp2_tool.py differ on:$bad" "$HDR.ts" \
		    "$HDR.seen"
	fi
}

# a_case MSG RECV PROTO DST DPORT CN CLIENT_ARG...: one client through
# mqgate; tshark's decoding of the header equals what the client used.
# PROTO v1 or v2; CN "" when no certificate is sent.
a_case() {
	local msg=$1 recv=$2 proto=$3 dst=$4 dport=$5 cn=$6 fam size
	shift 6
	pyclient "$@"
	connack_ok "$msg" || return
	got_hdr "$msg" "$recv" "$CL1" || return
	if ! tshark_of "$HDR"; then
		fail "$msg: tshark ran" "$HDR.ts.err"
		return
	fi
	want "$msg: tshark" "$HDR.ts" proto "$proto"
	want "$msg: tshark (client's address)" "$HDR.ts" src "$(cf "$CL1" local)"
	want "$msg: tshark (client's port)" "$HDR.ts" sport "$(cf "$CL1" lport)"
	want "$msg: tshark (listener address)" "$HDR.ts" dst "$dst"
	want "$msg: tshark (listener port)" "$HDR.ts" dport "$dport"
	want "$msg: tshark" "$HDR.ts" malformed ""
	if [ "$proto" = v1 ]; then
		fam=TCP4
		case $dst in *:*) fam=TCP6 ;; esac
		want "$msg: tshark" "$HDR.ts" family "$fam"
		check "$msg: the v1 line is all that came before the CONNECT ($(wc -c <"$HDR.hdr") bytes, CRLF-terminated)" \
		    grep -q $'\r$' "$HDR.hdr"
		return
	fi
	size=$(wc -c <"$HDR.hdr")
	want "$msg: tshark (16 + length = $size bytes framed)" "$HDR.ts" \
	    length $((size - 16))
	want "$msg: tshark" "$HDR.ts" cmd PROXY
	want "$msg: tshark (client's TLS version)" "$HDR.ts" ssl_version \
	    "$(cf "$CL1" version)"
	want "$msg: tshark (client's cipher)" "$HDR.ts" ssl_cipher \
	    "$(cf "$CL1" cipher)"
	want "$msg: tshark (client certificate's CN)" "$HDR.ts" ssl_cn "$cn"
	want "$msg: tshark (client's SNI)" "$HDR.ts" authority \
	    "$(cf "$CL1" sni)"
	want "$msg: tshark (negotiated ALPN)" "$HDR.ts" alpn \
	    "$(cf "$CL1" alpn)"
	want "$msg: tshark (CRC-32C)" "$HDR.ts" crc_valid yes
	same_as_decoder "$msg"
}

# haproxy_log_has PATTERN: a line of the HAProxy log matches (grep -E).
haproxy_log_has() {
	grep -qE -- "$1" "$HAP_LOG"
}

# le N MAX: N is a number <= MAX.
le() {
	[ -n "$1" ] && [ "$1" -le "$2" ]
}

# same_serial GOT CERT: GOT is CERT's serial in uppercase hex (leading
# zeros aside).
same_serial() {
	[ -n "$1" ] && [ "$1" = "$(tr a-f A-F <<<"$1")" ] &&
	    [ "$(sed 's/^0*//' <<<"$1")" = "$(sed 's/^0*//' <<<"$2")" ]
}

# listening PORT: something listens on 127.0.0.1:PORT.
listening() {
	! port_is_free "$1"
}

# dropped_names: the names after "dropped " in the last log line
# "PROXY header over N bytes (...): dropped a, b" since the mark, one per
# line.
DROP_RE='[Hh]eader over [0-9]+ bytes[^:]*: dropped '

dropped_names() {
	log_since |
	    grep -ioE 'proxy header over [0-9]+ bytes[^:]*: dropped [a-z0-9_]+(, [a-z0-9_]+)*' |
	    tail -n 1 | sed 's/.*dropped //' | tr ',' '\n' | tr -d ' ' |
	    grep -v '^$'
}

# The documented drop order (proxyv2.h), first dropped first.
DROP_ORDER="client_cert san_dns san_uri dn unique_id psk_identity serial
cert_sha256 sig_scheme group key_alg sig_alg alpn authority cipher crc32c cn
ssl"

# drop_check MSG REQUESTED: the TLVs requested but missing from HDR are
# exactly those the log names, and each dropped one comes before every
# kept one in the drop order.
drop_check() {
	local msg=$1 req=$2 n present missing logged kept_min=999 \
	    drop_max=-1 i=0
	present=" $(kv "$HDR.seen" names | tr ',' ' ') "
	missing=
	for n in $req; do
		case $present in *" $n "*) ;; *) missing="$missing $n" ;; esac
	done
	missing=$(tr ' ' '\n' <<<"$missing" | grep -v '^$' | sort | tr '\n' ' ')
	logged=$(dropped_names | sort | tr '\n' ' ')
	if [ -n "$missing" ] && [ "$missing" = "$logged" ]; then
		ok "$msg: the log names exactly the TLVs missing from the header: $logged"
	else
		fail "$msg: TLVs missing from the header: '$missing'; the log says dropped: '$logged'" \
		    "$HDR.seen" "$LOG"
	fi
	for n in $DROP_ORDER; do
		i=$((i + 1))
		case " $missing " in
		*" $n "*) drop_max=$i ;;
		*)
			case " $req " in
			*" $n "*) [ "$kept_min" -eq 999 ] && kept_min=$i ;;
			esac
			;;
		esac
	done
	check "$msg: every dropped TLV comes before every kept one in the drop order" \
	    [ "$drop_max" -lt "$kept_min" ]
}

# ------------------------------------------------------------ setup

start_broker

# A client certificate with a long subject and SANs, from the demo root.
LONG_SUBJ="/C=DE/ST=Nordrhein-Westfalen Region Test State Name/L=Muenster Long Locality Name For Testing"
LONG_SUBJ="$LONG_SUBJ/O=mqgate long distinguished name test organisation GmbH/OU=Device fleet number one for PROXY header limits"
LONG_SUBJ="$LONG_SUBJ/OU=Second organisational unit with a rather long name/OU=Third organisational unit with another long name"
LONG_SUBJ="$LONG_SUBJ/CN=longdn-device-0123456789abcdef0123456789abcdef0123456789ab"
pki_client longdn ca "$LONG_SUBJ" \
    "URI:urn:mqgate:device:longdn-0123456789abcdef,DNS:longdn-device.example.com,DNS:longdn-alt.example.com"
LONG_CN=$(pki_cn "$PKI/longdn.crt")

# Receivers: RA for (a) and the generic checks of (d), RH for HAProxy's
# headers and RM for mqgate's in (c), RD for the profiles of (d).
RA=$(free_port)
RH=$(free_port)
RM=$(free_port)
RD=$(free_port)
start_recv ra "$RA"
start_recv rh "$RH"
start_recv rm "$RM"
start_recv rd "$RD"

# HAProxy: pp_in receives PROXY headers in front of mosquitto (b); the
# tls_* frontends terminate TLS and send headers to RH (c).
HP=$(free_port)
HS_REQ=$(free_port)
HS_OPT=$(free_port)
HS_RSA=$(free_port)
cat "$CERTS/server.pem" "$CERTS/server.key" >"$T/hap-ec.pem"
cat "$CERTS/rsa-server.pem" "$CERTS/rsa-server.key" >"$T/hap-rsa.pem"
HAP_OPTS="send-proxy-v2-ssl-cn proxy-v2-options ssl,cert-cn,ssl-cipher,cert-sig,cert-key,authority,crc32c"
cat >"$T/haproxy.cfg" <<EOF
global
	log stdout format raw local0 info
defaults
	mode tcp
	log global
	timeout connect 5s
	timeout client 60s
	timeout server 60s
frontend pp_in
	bind 127.0.0.1:$HP accept-proxy
	log-format "hap-in ci=%ci cp=%cp fi=%fi fp=%fp ts=%ts"
	default_backend broker
backend broker
	server mosq 127.0.0.1:$BROKER_PORT
frontend tls_req
	bind 127.0.0.1:$HS_REQ ssl crt $T/hap-ec.pem ca-file $CA verify required alpn mqtt
	log-format "hap-tls f=%f ci=%ci cp=%cp ts=%ts"
	default_backend to_rh
frontend tls_opt
	bind 127.0.0.1:$HS_OPT ssl crt $T/hap-ec.pem ca-file $CA verify optional alpn mqtt
	log-format "hap-tls f=%f ci=%ci cp=%cp ts=%ts"
	default_backend to_rh
frontend tls_rsa
	bind 127.0.0.1:$HS_RSA ssl crt $T/hap-rsa.pem ca-file $CA verify required alpn mqtt
	log-format "hap-tls f=%f ci=%ci cp=%cp ts=%ts"
	default_backend to_rh
backend to_rh
	server rh 127.0.0.1:$RH $HAP_OPTS
EOF
HAP_LOG=$T/haproxy.log
if ! haproxy -c -f "$T/haproxy.cfg" >"$T/haproxy-c.out" 2>&1; then
	bail "haproxy -c accepts the test configuration" "$T/haproxy-c.out"
fi
closefds haproxy -db -f "$T/haproxy.cfg" >"$HAP_LOG" 2>&1 </dev/null &
HAP_PID=$!
track "$HAP_PID"
for p in "$HP" "$HS_REQ" "$HS_OPT" "$HS_RSA"; do
	wait_for "$(tmo 10)" listening "$p" ||
	    bail "haproxy listens on 127.0.0.1:$p" "$HAP_LOG"
done

# mqgate. Mutual TLS with a certificate optional, ALPN mqtt, everywhere.
MTLS=("verify = verify_peer" "cacertfile = $CA" "fail_if_no_peer_cert = false"
    "alpn = mqtt")
ALL_TLVS="ssl, cn, cipher, sig_alg, key_alg, group, sig_scheme, client_cert, authority, alpn, crc32c, unique_id, dn, san_uri, san_dns, cert_sha256, serial, psk_identity"
HA_TLVS="ssl, cn, cipher, sig_alg, key_alg, authority, alpn, crc32c"
BIG_TLVS="ssl cn cipher sig_alg key_alg group sig_scheme client_cert authority alpn crc32c dn san_uri san_dns cert_sha256 serial"
BIG_TLVS_CONF=${BIG_TLVS// /, }
PA4=$(free_port)
PA1=$(free_port)
PA6=$(free_port)
PA16=$(free_port)
PB2=$(free_port)
PBALL=$(free_port)
PB1=$(free_port)
PB6=$(free_port)
PC_REQ=$(free_port)
PC_OPT=$(free_port)
PC_RSA=$(free_port)
PD_MOSQ=$(free_port)
PD_MAX=$(free_port)
PD_BIG=$(free_port)
PD_VERN=$(free_port)
PD_VERN0=$(free_port)
PD_UID=$(free_port)
{
	conf_global
	# (a) to the recording receiver RA
	conf_listener a4 "$PA4" "upstream = 127.0.0.1:$RA" \
	    "proxy_protocol = v2" "${MTLS[@]}"
	conf_listener a1 "$PA1" "upstream = 127.0.0.1:$RA" \
	    "proxy_protocol = v1" "${MTLS[@]}"
	if [ "$HAVE_V6" = 1 ]; then
		conf_listener a6 - "bind = [::1]:$PA6" \
		    "upstream = 127.0.0.1:$RA" "proxy_protocol = v2" "${MTLS[@]}"
		conf_listener a16 - "bind = [::1]:$PA16" \
		    "upstream = 127.0.0.1:$RA" "proxy_protocol = v1" "${MTLS[@]}"
	fi
	# (b) to HAProxy's accept-proxy frontend
	conf_listener b2 "$PB2" "upstream = 127.0.0.1:$HP" \
	    "proxy_protocol = v2" "proxy_profile = generic" "${MTLS[@]}"
	conf_listener ball "$PBALL" "upstream = 127.0.0.1:$HP" \
	    "proxy_protocol = v2" "proxy_tlvs = $ALL_TLVS" "${MTLS[@]}"
	conf_listener b1 "$PB1" "upstream = 127.0.0.1:$HP" \
	    "proxy_protocol = v1" "${MTLS[@]}"
	if [ "$HAVE_V6" = 1 ]; then
		conf_listener b6 - "bind = [::1]:$PB6" \
		    "upstream = 127.0.0.1:$HP" "proxy_protocol = v2" \
		    "${MTLS[@]}"
	fi
	# (c) the same TLVs HAProxy is told to send, to RM
	conf_listener c_req "$PC_REQ" "upstream = 127.0.0.1:$RM" \
	    "proxy_protocol = v2" "proxy_tlvs = $HA_TLVS" "verify = verify_peer" \
	    "cacertfile = $CA" "fail_if_no_peer_cert = true" "alpn = mqtt"
	conf_listener c_opt "$PC_OPT" "upstream = 127.0.0.1:$RM" \
	    "proxy_protocol = v2" "proxy_tlvs = $HA_TLVS" "${MTLS[@]}"
	conf_listener c_rsa "$PC_RSA" "upstream = 127.0.0.1:$RM" \
	    "certfile = $CERTS/rsa-server.pem" "keyfile = $CERTS/rsa-server.key" \
	    "proxy_protocol = v2" "proxy_tlvs = $HA_TLVS" "verify = verify_peer" \
	    "cacertfile = $CA" "fail_if_no_peer_cert = true" "alpn = mqtt"
	# (d) profiles and limits, to RD
	conf_listener d_mosq "$PD_MOSQ" "upstream = 127.0.0.1:$RD" \
	    "proxy_protocol = v2" "proxy_profile = mosquitto" \
	    "proxy_tlvs = $BIG_TLVS_CONF" "${MTLS[@]}"
	conf_listener d_max "$PD_MAX" "upstream = 127.0.0.1:$RD" \
	    "proxy_protocol = v2" "proxy_tlvs = $BIG_TLVS_CONF" \
	    "proxy_max_header = 232" "${MTLS[@]}"
	conf_listener d_big "$PD_BIG" "upstream = 127.0.0.1:$RD" \
	    "proxy_protocol = v2" "proxy_tlvs = $BIG_TLVS_CONF" "${MTLS[@]}"
	conf_listener d_vern "$PD_VERN" "upstream = 127.0.0.1:$RD" \
	    "proxy_protocol = v2" "proxy_profile = vernemq" \
	    "proxy_tlvs = ssl, cn, cipher, sig_alg, key_alg, authority, alpn, crc32c, dn" \
	    "${MTLS[@]}"
	conf_listener d_vern0 "$PD_VERN0" "upstream = 127.0.0.1:$RD" \
	    "proxy_protocol = v2" "proxy_profile = vernemq" "${MTLS[@]}"
	conf_listener d_uid "$PD_UID" "upstream = 127.0.0.1:$RD" \
	    "proxy_protocol = v2" "proxy_tlvs = ssl, cn, unique_id, crc32c" \
	    "${MTLS[@]}"
} | write_conf "$T/mqgate.ini"
start_mqgate "$T/mqgate.ini"

CERT=(--cert "$CERTS/client.crt" --key "$CERTS/client.key")
LONG=(--cert "$PKI/longdn.crt" --key "$PKI/longdn.key")
SNI=(--sni localhost --alpn mqtt)

# ------------------------------------------------------------ (a) tshark

note "(a) tshark decodes mqgate's headers"
a_case "a: v2 IPv4 TLS 1.3" ra v2 127.0.0.1 "$PA4" "$CLIENT_CN" \
    --port "$PA4" "${CERT[@]}" "${SNI[@]}" --tls 1.3
a_case "a: v2 IPv4 TLS 1.2" ra v2 127.0.0.1 "$PA4" "$CLIENT_CN" \
    --port "$PA4" "${CERT[@]}" "${SNI[@]}" --tls 1.2
a_case "a: v2 IPv4 long-DN certificate" ra v2 127.0.0.1 "$PA4" "$LONG_CN" \
    --port "$PA4" "${LONG[@]}" "${SNI[@]}"
a_case "a: v1 IPv4" ra v1 127.0.0.1 "$PA1" "" \
    --port "$PA1" "${CERT[@]}" "${SNI[@]}"
if [ "$HAVE_V6" = 1 ]; then
	a_case "a: v2 IPv6 [::1]" ra v2 ::1 "$PA6" "$CLIENT_CN" \
	    --host ::1 --port "$PA6" "${CERT[@]}" "${SNI[@]}"
	a_case "a: v1 IPv6 [::1]" ra v1 ::1 "$PA16" "" \
	    --host ::1 --port "$PA16" "${CERT[@]}" "${SNI[@]}"
else
	note "no ::1 here: the IPv6 cases of (a) are not run"
fi

# ------------------------------------------------------------ (b) HAProxy receives

note "(b) HAProxy (accept-proxy) in front of mosquitto receives mqgate's headers"

# Controls, sent straight to HAProxy: a good v2 header with CRC-32C is
# accepted, a bad CRC refused, so "rejects none" below means something.
out=$("$PY" "$TOOL" send --port "$HP" --v2 --timeout "$(tmo 5)")
check "b: control: HAProxy accepts a hand-made v2 header with a good CRC-32C ($out)" \
    [ "$out" = connack=yes ]
out=$("$PY" "$TOOL" send --port "$HP" --v2 --bad-crc --timeout "$(tmo 5)")
check "b: control: HAProxy refuses a v2 header with a bad CRC-32C ($out)" \
    [ "$out" = connack=no ]
if wait_for "$(tmo 10)" haproxy_log_has 'invalid PROXY protocol header'; then
	ok "b: control: HAProxy logs the refused header"
else
	fail "b: control: HAProxy logs the refused header" "$HAP_LOG"
fi
HAP_INVALID=$(grep -c 'invalid PROXY protocol header' "$HAP_LOG")

# b_case MSG PORT HOST CLIENT_ARG...: a client through mqgate and HAProxy
# to mosquitto; HAProxy logs the client socket's own address and port.
b_case() {
	local msg=$1 port=$2 host=$3 addr lport
	shift 3
	pyclient --host "$host" --port "$port" "${SNI[@]}" "$@"
	connack_ok "b: $msg" || return
	addr=$(cf "$CL1" local)
	lport=$(cf "$CL1" lport)
	if wait_for "$(tmo 10)" haproxy_log_has "^hap-in ci=$addr cp=$lport "; then
		ok "b: $msg: HAProxy logs the client's address ci=$addr cp=$lport"
	else
		fail "b: $msg: HAProxy logs the client's address ci=$addr cp=$lport" \
		    "$HAP_LOG"
	fi
}
b_case "v2 generic" "$PB2" 127.0.0.1 "${CERT[@]}"
b_case "v2 generic, no client certificate" "$PB2" 127.0.0.1
b_case "v2 with every TLV (proxy_tlvs = $ALL_TLVS)" "$PBALL" 127.0.0.1 \
    "${CERT[@]}"
# The biggest header mqgate sends: every TLV (client_cert, dn, SANs...)
# with the long-DN certificate.
b_case "v2 with every TLV, long-DN certificate" "$PBALL" 127.0.0.1 \
    "${LONG[@]}"
b_case "v2 with every TLV, TLS 1.2" "$PBALL" 127.0.0.1 "${CERT[@]}" --tls 1.2
b_case "v1" "$PB1" 127.0.0.1 "${CERT[@]}"
if [ "$HAVE_V6" = 1 ]; then
	b_case "v2 from [::1]" "$PB6" ::1 "${CERT[@]}"
fi

# mosquitto_pub and mosquitto_sub, through mqgate and HAProxy.
# b_mosq MSG LISTENER PORT
b_mosq() {
	local msg=$1 listener=$2 port=$3 topic payload got client
	SEQ=$((SEQ + 1))
	topic=pp/$$/$SEQ
	payload=m$SEQ-$RANDOM
	log_mark
	if pub -c client "$port" "$topic" "$payload" -r -q 1 \
	    2>"$T/pub.$SEQ.err"; then
		ok "b: $msg: mosquitto_pub through mqgate and HAProxy"
	else
		fail "b: $msg: mosquitto_pub through mqgate and HAProxy" \
		    "$T/pub.$SEQ.err" "$HAP_LOG"
	fi
	if wait_conn "$listener" '[a-z_]+'; then
		client=$(conn_field client)
		if wait_for "$(tmo 10)" haproxy_log_has \
		    "^hap-in ci=${client%:*} cp=${client##*:} "; then
			ok "b: $msg: HAProxy logs mqgate's client=$client"
		else
			fail "b: $msg: HAProxy logs mqgate's client=$client" \
			    "$HAP_LOG"
		fi
	else
		fail "b: $msg: mqgate logs the publisher's connection"
	fi
	got=$(sub -c client "$port" "$topic" 2>"$T/sub.$SEQ.err")
	check "b: $msg: mosquitto_sub through mqgate and HAProxy gets the message" \
	    [ "$got" = "$payload" ]
}
b_mosq "v2 generic" b2 "$PB2"
b_mosq "v2 every TLV" ball "$PBALL"
b_mosq "v1" b1 "$PB1"

n=$(grep -c 'invalid PROXY protocol header' "$HAP_LOG")
check "b: HAProxy rejected none of mqgate's headers ($((n - HAP_INVALID)) refusals beyond the control)" \
    [ "$n" -eq "$HAP_INVALID" ]
n=$(grep -cE '^[^ ]+ \[[^]]+\] pp_in/' "$HAP_LOG")
check "b: HAProxy logged no other connection error on pp_in ($n lines, the control's is 1)" \
    [ "$n" -le "$HAP_INVALID" ]

# ------------------------------------------------------------ (c) HAProxy sends

note "(c) HAProxy (send-proxy-v2-ssl-cn) and mqgate, same client, field by field"

# c_cmp MSG H M: compare HAProxy's decoded header H with mqgate's M on
# every field both send; a field only one sends is a failure.
C_FIELDS="proto cmd family ssl ssl_client ssl_verify ssl_version ssl_cn ssl_cipher ssl_sig_alg ssl_key_alg authority alpn crc_valid"
c_cmp() {
	local msg=$1 h=$2 m=$3 k hv mv
	for k in $C_FIELDS; do
		hv=$(kv "$h" "$k")
		mv=$(kv "$m" "$k")
		if [ "$hv" = "$mv" ]; then
			ok "c: $msg: $k same (${hv:-absent in both})"
		else
			fail "c: $msg: $k: HAProxy sends '${hv:-(absent)}', mqgate '${mv:-(absent)}'" \
			    "$h" "$m"
		fi
	done
}

# c_case MSG HPORT MPORT CLIENT_ARG...: the client against HAProxy, then
# against mqgate; both headers' addresses are each client's own; compare.
# With --resume in the arguments the resumed headers are compared too.
c_case() {
	local msg=$1 hport=$2 mport=$3 hl1 hl2 ml1 ml2 h1 h2 m1 m2 line
	shift 3
	pyclient --port "$hport" "$@"
	hl1=$CL1
	hl2=$CL2
	connack_ok "c: $msg: via HAProxy" "$hl1" || return
	got_hdr "c: $msg: via HAProxy" rh "$hl1" || return
	h1=$HDR.seen
	pyclient --port "$mport" "$@"
	ml1=$CL1
	ml2=$CL2
	connack_ok "c: $msg: via mqgate" "$ml1" || return
	got_hdr "c: $msg: via mqgate" rm "$ml1" || return
	m1=$HDR.seen
	want "c: $msg: HAProxy's header" "$h1" sport "$(cf "$hl1" lport)"
	want "c: $msg: mqgate's header" "$m1" sport "$(cf "$ml1" lport)"
	want "c: $msg: HAProxy's header" "$h1" dport "$hport"
	want "c: $msg: mqgate's header" "$m1" dport "$mport"
	note "c: $msg: HAProxy sends $(kv "$h1" names | tr , ' ') (in this order: $(kv "$h1" tlvs) / SSL $(kv "$h1" ssl_subs))"
	note "c: $msg: mqgate  sends $(kv "$m1" names | tr , ' ') (in this order: $(kv "$m1" tlvs) / SSL $(kv "$m1" ssl_subs))"
	note "c: $msg: HAProxy sig_alg='$(kv "$h1" ssl_sig_alg)' key_alg='$(kv "$h1" ssl_key_alg)' client=$(kv "$h1" ssl_client) verify=$(kv "$h1" ssl_verify)"
	if [ "$(cf "$hl1" cipher)" = "$(cf "$ml1" cipher)" ]; then
		c_cmp "$msg" "$h1" "$m1"
	else
		note "c: $msg: the clients negotiated different ciphers ($(cf "$hl1" cipher) / $(cf "$ml1" cipher)): cipher compared with each client"
		want "c: $msg: HAProxy's header" "$h1" ssl_cipher "$(cf "$hl1" cipher)"
		want "c: $msg: mqgate's header" "$m1" ssl_cipher "$(cf "$ml1" cipher)"
		C_FIELDS=${C_FIELDS/ ssl_cipher/} c_cmp "$msg" "$h1" "$m1"
	fi
	[ -n "$hl2$ml2" ] || return 0
	check "c: $msg: both sessions were resumed ($(cf "$hl2" reused) / $(cf "$ml2" reused))" \
	    [ "$(cf "$hl2" reused)$(cf "$ml2" reused)" = yesyes ]
	got_hdr "c: $msg, resumed: via HAProxy" rh "$hl2" || return
	h2=$HDR.seen
	got_hdr "c: $msg, resumed: via mqgate" rm "$ml2" || return
	m2=$HDR.seen
	note "c: $msg, resumed: HAProxy client=$(kv "$h2" ssl_client) verify=$(kv "$h2" ssl_verify) cn='$(kv "$h2" ssl_cn)'"
	c_cmp "$msg, resumed" "$h2" "$m2"
}

c_case "EC server key, TLS 1.3, client certificate" "$HS_REQ" "$PC_REQ" \
    "${CERT[@]}" "${SNI[@]}" --tls 1.3 --resume
c_case "EC server key, TLS 1.2, client certificate" "$HS_REQ" "$PC_REQ" \
    "${CERT[@]}" "${SNI[@]}" --tls 1.2 --ciphers ECDHE-ECDSA-AES128-GCM-SHA256 \
    --resume
c_case "RSA server key, TLS 1.3, client certificate" "$HS_RSA" "$PC_RSA" \
    "${CERT[@]}" "${SNI[@]}" --tls 1.3
c_case "EC server key, TLS 1.3, long-DN client certificate" "$HS_REQ" \
    "$PC_REQ" "${LONG[@]}" "${SNI[@]}" --tls 1.3

# Without a client certificate: the documented difference is verify
# (HAProxy 0, mqgate non-zero); every other field must agree.
pyclient --port "$HS_OPT" "${SNI[@]}" --tls 1.3
if connack_ok "c: no client certificate: via HAProxy" &&
    got_hdr "c: no client certificate: via HAProxy" rh "$CL1"; then
	H_NC=$HDR.seen
	pyclient --port "$PC_OPT" "${SNI[@]}" --tls 1.3
	if connack_ok "c: no client certificate: via mqgate" &&
	    got_hdr "c: no client certificate: via mqgate" rm "$CL1"; then
		M_NC=$HDR.seen
		note "c: no client certificate: HAProxy verify=$(kv "$H_NC" ssl_verify), mqgate verify=$(kv "$M_NC" ssl_verify) (documented difference)"
		C_FIELDS=${C_FIELDS/ ssl_verify/} c_cmp "no client certificate" \
		    "$H_NC" "$M_NC"
		want "c: no client certificate: mqgate" "$M_NC" ssl_verify 1
	fi
fi

# ------------------------------------------------------------ (d) profiles

note "(d) profiles, proxy_max_header, resumption, no certificate"

# Generic (listener a4): resumption keeps CERT_SESS without CERT_CONN.
for v in 1.3 1.2; do
	pyclient --port "$PA4" "${CERT[@]}" "${SNI[@]}" --tls "$v" --resume
	connack_ok "d: generic TLS $v full handshake" || continue
	if got_hdr "d: generic TLS $v full handshake" ra "$CL1"; then
		want "d: generic TLS $v full handshake (SSL|CERT_CONN|CERT_SESS)" \
		    "$HDR.seen" ssl_client 0x07
		want "d: generic TLS $v full handshake" "$HDR.seen" ssl_verify 0
	fi
	check "d: generic TLS $v: the second connection resumed ($(cf "$CL2" reused))" \
	    [ "$(cf "$CL2" reused)" = yes ]
	connack_ok "d: generic TLS $v resumed" "$CL2" || continue
	if got_hdr "d: generic TLS $v resumed" ra "$CL2"; then
		want "d: generic TLS $v resumed (SSL|CERT_SESS, CERT_CONN clear)" \
		    "$HDR.seen" ssl_client 0x05
		want "d: generic TLS $v resumed" "$HDR.seen" ssl_verify 0
		want "d: generic TLS $v resumed: the session's CN" "$HDR.seen" \
		    ssl_cn "$CLIENT_CN"
		want "d: generic TLS $v resumed" "$HDR.seen" crc_valid yes
	fi
done

# Generic, no client certificate: client 0x01, verify 1, no CN.
pyclient --port "$PA4" "${SNI[@]}"
if connack_ok "d: generic, no client certificate" &&
    got_hdr "d: generic, no client certificate" ra "$CL1"; then
	want "d: generic, no client certificate" "$HDR.seen" ssl_client 0x01
	want "d: generic, no client certificate" "$HDR.seen" ssl_verify 1
	want "d: generic, no client certificate" "$HDR.seen" ssl_cn ""
	want "d: generic, no client certificate" "$HDR.seen" crc_valid yes
fi

# unique_id: the instance id mqgate logs at start, then the connection's
# conn= id: a broker's record finds mqgate's log line.
INSTANCE=$(grep -oE ' instance=[0-9a-f]{16} ' "$LOG" | head -n 1 | tr -d ' ')
INSTANCE=${INSTANCE#instance=}
check "d: unique_id: mqgate logs its instance id at start ($INSTANCE)" \
    [ "${#INSTANCE}" = 16 ]
uids=
for k in 1 2; do
	log_mark
	pyclient --port "$PD_UID" "${CERT[@]}" "${SNI[@]}"
	connack_ok "d: unique_id, connection $k" || continue
	got_hdr "d: unique_id, connection $k" rd "$CL1" || continue
	uid=$(kv "$HDR.seen" unique_id)
	if wait_client_conn "$(cf "$CL1" lport)"; then
		want "d: unique_id, connection $k: instance-conn" "$HDR.seen" \
		    unique_id "$INSTANCE-$(conn_field conn)"
	else
		fail "d: unique_id, connection $k: no log line for client port $(cf "$CL1" lport)"
	fi
	want "d: unique_id, connection $k" "$HDR.seen" crc_valid yes
	uids="$uids $uid"
done
# shellcheck disable=SC2086
set -- $uids
check "d: unique_id: two connections, two ids ($uids)" \
    test "$#" = 2 -a "${1:-}" != "${2:-}"

# mosquitto: a long-DN certificate and a big TLV set still fit in 500.
log_mark
pyclient --port "$PD_MOSQ" "${LONG[@]}" "${SNI[@]}" --tls 1.3 --resume
if connack_ok "d: mosquitto profile, long DN" &&
    got_hdr "d: mosquitto profile, long DN" rd "$CL1"; then
	len=$(kv "$HDR.seen" length)
	check "d: mosquitto profile, long DN: length field $len <= 500" \
	    le "$len" 500
	want "d: mosquitto profile, long DN (both certificate flags)" \
	    "$HDR.seen" ssl_client 0x07
	want "d: mosquitto profile, long DN" "$HDR.seen" ssl_cn "$LONG_CN"
	want "d: mosquitto profile, long DN" "$HDR.seen" cmd PROXY
	want "d: mosquitto profile, long DN" "$HDR.seen" crc_valid yes
	if wait_log "$DROP_RE"; then
		ok "d: mosquitto profile, long DN: mqgate logs what it dropped: $(log_since | grep -ioE 'proxy header over .*' | tail -n 1)"
	else
		fail "d: mosquitto profile, long DN: mqgate logs 'proxy header over N bytes: dropped ...'"
	fi
	drop_check "d: mosquitto profile, long DN" "$BIG_TLVS"
	if tshark_of "$HDR"; then
		want "d: mosquitto profile, long DN: tshark" "$HDR.ts" crc_valid yes
		want "d: mosquitto profile, long DN: tshark" "$HDR.ts" ssl_cn \
		    "$LONG_CN"
	else
		fail "d: mosquitto profile: tshark ran" "$HDR.ts.err"
	fi
	if [ -n "$CL2" ] && got_hdr "d: mosquitto profile, resumed" rd "$CL2"; then
		want "d: mosquitto profile, resumed (both flags for the verified session certificate)" \
		    "$HDR.seen" ssl_client 0x07
		len=$(kv "$HDR.seen" length)
		check "d: mosquitto profile, resumed: length field $len <= 500" \
		    le "$len" 500
	else
		fail "d: mosquitto profile: resumed connection's header" "$CLIENT_OUT"
	fi
fi

# proxy_max_header = 232: the whole header fits, TLVs dropped in order.
log_mark
pyclient --port "$PD_MAX" "${LONG[@]}" "${SNI[@]}" --tls 1.3
if connack_ok "d: proxy_max_header = 232" &&
    got_hdr "d: proxy_max_header = 232" rd "$CL1"; then
	total=$(kv "$HDR.seen" total)
	check "d: proxy_max_header = 232: the header is $total <= 232 bytes" \
	    le "$total" 232
	want "d: proxy_max_header = 232" "$HDR.seen" crc_valid yes
	if wait_log "$DROP_RE"; then
		ok "d: proxy_max_header = 232: logged: $(log_since | grep -ioE 'proxy header over .*' | tail -n 1)"
	else
		fail "d: proxy_max_header = 232: mqgate logs 'proxy header over N bytes: dropped ...'"
	fi
	drop_check "d: proxy_max_header = 232" "$BIG_TLVS"
	dn=$(kv "$HDR.seen" tlv_0xe0)
	[ -n "$dn" ] && note "d: proxy_max_header kept the dn: $dn"
fi

# Without a limit the same certificate gets every TLV (so the drop checks
# above are not vacuous), and the custom TLVs say what the certificate
# says.
log_mark
pyclient --port "$PD_BIG" "${LONG[@]}" "${SNI[@]}" --tls 1.3
if connack_ok "d: no limit, long DN" &&
    got_hdr "d: no limit, long DN" rd "$CL1"; then
	names=" $(kv "$HDR.seen" names | tr ',' ' ') "
	missing=
	for n in $BIG_TLVS; do
		case $names in *" $n "*) ;; *) missing="$missing $n" ;; esac
	done
	check "d: no limit, long DN: every requested TLV is there (missing:${missing:- none})" \
	    [ -z "$missing" ]
	note "d: no limit, long DN: the header is $(kv "$HDR.seen" total) bytes"
	want "d: no limit, long DN" "$HDR.seen" x_san_uri \
	    "urn:mqgate:device:longdn-0123456789abcdef"
	want "d: no limit, long DN" "$HDR.seen" x_san_dns \
	    "longdn-device.example.com,longdn-alt.example.com"
	fp=$(pki_fp "$PKI/longdn.crt" | tr -d : | tr 'A-F' 'a-f')
	want "d: no limit, long DN (SHA-256 of the DER leaf)" "$HDR.seen" \
	    x_cert_sha256 "$fp"
	want "d: no limit, long DN (client_cert is the DER leaf)" "$HDR.seen" \
	    ssl_client_cert_sha256 "$fp"
	serial=$(openssl x509 -noout -serial -in "$PKI/longdn.crt" | cut -d= -f2)
	got=$(kv "$HDR.seen" x_serial)
	check "d: no limit, long DN: serial '$got' is the certificate's $serial (uppercase hex)" \
	    same_serial "$got" "$serial"
	if wait_conn d_big '[a-z_]+'; then
		subject=$(conn_field subject)
		subject=${subject#\"}
		subject=${subject%\"}
		want "d: no limit, long DN: dn is the logged subject" "$HDR.seen" \
		    x_dn "$subject"
	else
		fail "d: no limit, long DN: connection line logged"
	fi
	want "d: no limit, long DN (mqgate's own certificate)" "$HDR.seen" \
	    ssl_sig_alg ecdsa-with-SHA256
	want "d: no limit, long DN (mqgate's own key)" "$HDR.seen" \
	    ssl_key_alg EC256
	note "d: group='$(kv "$HDR.seen" ssl_group)' sig_scheme='$(kv "$HDR.seen" ssl_sig_scheme)'"
	check "d: no limit, long DN: a group is sent ($(kv "$HDR.seen" ssl_group))" \
	    [ -n "$(kv "$HDR.seen" ssl_group)" ]
	check "d: no limit, long DN: a signature scheme is sent ($(kv "$HDR.seen" ssl_sig_scheme))" \
	    [ -n "$(kv "$HDR.seen" ssl_sig_scheme)" ]
fi

# vernemq: no SSL sub-TLV above 0x25, whatever proxy_tlvs asks for.
for l in "d_vern:$PD_VERN" "d_vern0:$PD_VERN0"; do
	pyclient --port "${l#*:}" "${LONG[@]}" "${SNI[@]}" --tls 1.3
	if connack_ok "d: vernemq (${l%%:*})" &&
	    got_hdr "d: vernemq (${l%%:*})" rd "$CL1"; then
		subs=$(kv "$HDR.seen" ssl_subs)
		if grep -qE '0x2[6-8]' <<<"$(kv "$HDR.seen" tlvs),$subs"; then
			fail "d: vernemq (${l%%:*}): no 0x26-0x28 (SSL sub-TLVs $subs)" \
			    "$HDR.seen"
		else
			ok "d: vernemq (${l%%:*}): no 0x26-0x28 (SSL sub-TLVs $subs)"
		fi
		want "d: vernemq (${l%%:*})" "$HDR.seen" ssl_cn "$LONG_CN"
		want "d: vernemq (${l%%:*})" "$HDR.seen" crc_valid yes
	fi
done
for t in group:0x26 sig_scheme:0x27 client_cert:0x28; do
	{
		conf_global
		conf_listener v "$PD_VERN" "upstream = 127.0.0.1:$RD" \
		    "proxy_protocol = v2" "proxy_profile = vernemq" \
		    "proxy_tlvs = ssl, cn, ${t%%:*}"
	} | write_conf "$T/vern-${t%%:*}.ini"
	run_mqgate -t -c "$T/vern-${t%%:*}.ini"
	check "d: vernemq with proxy_tlvs naming ${t%%:*}: mqgate -t exits 1 (got $RC)" \
	    [ "$RC" -eq 1 ]
	if grep -qE "vern-${t%%:*}\.ini:[0-9]+: proxy_tlvs: .*proxy_profile vernemq does not accept ${t%%:*} \\(${t#*:}\\)" "$ERR" "$OUT"; then
		ok "d: vernemq with ${t%%:*}: error 'proxy_profile vernemq does not accept ${t%%:*} (${t#*:})'"
	else
		fail "d: vernemq with ${t%%:*}: error 'file:line: proxy_tlvs: proxy_profile vernemq does not accept ${t%%:*} (${t#*:})'" \
		    "$ERR" "$OUT"
	fi
done

stop_mqgate
