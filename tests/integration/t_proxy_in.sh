#!/usr/bin/env bash
# t_proxy_in: PROXY protocol input (accept_proxy, trusted_proxies,
# proxy_header_timeout, proxy_pass_tlvs), black box.
#   raw headers     pp_send.py speaks to mqgate directly: every malformed
#                   v2/v1 header, a header cut short (proxy_timeout after
#                   proxy_header_timeout = 1), silence, oversize (16384
#                   accepted, 16385 refused), bad CRC32C, the wrong version
#                   for accept_proxy, a bare ClientHello; each is closed
#                   without a byte sent back and logged with reason=
#                   proxy_refused/proxy_timeout and a detail; afterwards
#                   good connections still work and the fd count is back
#                   at its baseline
#   trust           a peer outside trusted_proxies is refused at once and
#                   named in the log; a peer inside it is served
#   addresses       the received source becomes client= in the log and
#                   the source of the v2 header mqgate sends upstream
#                   (a pp_send.py receiver plays the broker): TCP4, TCP6,
#                   v2 LOCAL and v1 UNKNOWN (real peer kept), a header
#                   written one byte at a time, a header and the
#                   ClientHello in one write
#   proxy_pass_tlvs a received TLV 0xEA is copied unchanged, 0xEB is not
#   HAProxy         (Debian haproxy, TCP mode) send-proxy-v2 and send-proxy
#                   in front of mqgate: mosquitto_pub/sub round trips, the
#                   original client address in the log and upstream, IPv6
#                   clients, and a proxy outside trusted_proxies refused.
#                   Without haproxy these parts are skipped and the test
#                   reports SKIP if everything else passed.
. "$(dirname "$0")/lib.sh"

PP=$TOP_SRCDIR/tests/integration/pp_send.py
HAVE_HAPROXY=0
command -v haproxy >/dev/null 2>&1 && HAVE_HAPROXY=1
HAVE_V6=0
have_ipv6 && HAVE_V6=1

# ppc HOST PORT ARG...: one pp_send.py client; its result line in $PPC_OUT.
ppc() {
	SEQ=$((SEQ + 1))
	PPC_OUT=$T/ppc.$SEQ.out
	timeout -k 2 "$(tmo 30)" "$PY" "$PP" --ca "$CERTS/ca.crt" \
	    --timeout "$(tmo 10)" client "$@" >"$PPC_OUT" 2>&1
}

# Value of KEY= in the last client's result line.
pval() {
	grep -oE "(^| )$1=[^ ]*" "$PPC_OUT" | tail -n 1 | cut -d= -f2-
}

re_escape() {
	sed 's/[][\.*^$+?(){}|/]/\\&/g' <<<"$1"
}

# wait_client CLIENT [TIMEOUT]: wait for the connection line whose client=
# is exactly CLIENT (e.g. 127.0.0.1:40000 or [2001:db8::1]:4242); sets
# CONN_LINE. Searches the whole log: the ports make each line unique.
wait_client() {
	local re
	re=" conn=[^ ]+ client=$(re_escape "$1") "
	CONN_LINE=
	wait_for "${2:-$(tmo 10)}" grep -qE -- "$re" "$LOG" || return 1
	CONN_LINE=$(grep -E -- "$re" "$LOG" | tail -n 1)
}

# The receiver's header line for source port SPORT (unique per case).
recv_line() {
	grep -E "^hdr .* sport=$1 " "$RECV_OUT" | tail -n 1
}

has_recv_line() {
	[ -n "$(recv_line "$1")" ]
}

# good WHAT HOST PORT ARG...: a header (ARGs), TLS and an MQTT CONNECT
# through mqgate must get a CONNACK.
good() {
	local what=$1 host=$2 port=$3
	shift 3
	if ppc "$host" "$port" --tls --want connack "$@"; then
		ok "$what: TLS + CONNACK through mqgate ($(cat "$PPC_OUT"))"
	else
		fail "$what: TLS + CONNACK through mqgate ($(cat "$PPC_OUT"))"
		return 1
	fi
}

# logged_client WHAT CLIENT LISTENER: the connection line names CLIENT.
logged_client() {
	local what=$1 client=$2 listener=$3
	if wait_client "$client"; then
		if [ "$(conn_field listener)" = "$listener" ]; then
			ok "$what: mqgate logs client=$client (listener $listener)"
		else
			fail "$what: client=$client logged on listener $(conn_field listener), want $listener"
		fi
	else
		fail "$what: no connection line with client=$client"
	fi
}

# forwarded WHAT SPORT WANT...: the receiver got a v2 header for source
# port SPORT whose line contains every WANT (a "key=value" word), and
# the MQTT CONNECT (0x10) came right after it.
forwarded() {
	local what=$1 sport=$2 line w bad=
	shift 2
	if ! wait_for "$(tmo 10)" has_recv_line "$sport"; then
		fail "$what: no v2 header with sport=$sport reached the upstream" "$RECV_OUT"
		return 1
	fi
	line=$(recv_line "$sport")
	for w in "ver=2" "cmd=proxy" "$@" "next=10"; do
		grep -qF -- " $w " <<<" $line " || bad="$bad $w"
	done
	if [ -z "$bad" ]; then
		ok "$what: upstream v2 header carries $* (and the CONNECT follows)"
	else
		fail "$what: upstream header lacks$bad: $line"
	fi
}

# refused WHAT LISTENER PORT REASON DETAIL_RE ARG...: pp_send.py sends a
# header (ARGs) from 127.0.0.1; mqgate must close without sending a byte
# and log REASON with a detail matching DETAIL_RE (grep -iE; "" = any
# non-empty detail). Sets ELAPSED (ms from the last byte sent to the close).
refused() {
	local what=$1 listener=$2 port=$3 reason=$4 re=$5 d
	shift 5
	ppc 127.0.0.1 "$port" "$@"
	ELAPSED=$(pval elapsed_ms)
	if [ "$(pval result)" = closed ] && [ "$(pval got)" = 0 ]; then
		ok "$what: closed by mqgate without a byte sent back"
	else
		fail "$what: want closed with got=0: $(cat "$PPC_OUT")"
	fi
	if ! wait_client "127.0.0.1:$(pval port)"; then
		fail "$what: no connection line for client=127.0.0.1:$(pval port)"
		return 1
	fi
	if [ "$(conn_field reason)" = "$reason" ] &&
	    [ "$(conn_field listener)" = "$listener" ]; then
		ok "$what: reason=$reason on listener $listener"
	else
		fail "$what: want reason=$reason listener=$listener: $CONN_LINE"
	fi
	d=$(conn_field detail)
	if [ -z "$d" ] || [ "$d" = '""' ]; then
		fail "$what: no detail: $CONN_LINE"
	elif [ -n "$re" ] && ! grep -qiE -- "$re" <<<"$d"; then
		fail "$what: detail $d does not match /$re/"
	else
		ok "$what: detail=$d"
	fi
}

# in_ms WHAT LO HI: ELAPSED within LO..HI ms (HI scaled).
in_ms() {
	local hi=$(($3 * TIMEOUT_SCALE))
	if [ -n "$ELAPSED" ] && [ "$ELAPSED" -ge "$2" ] && [ "$ELAPSED" -le "$hi" ]; then
		ok "$1: closed after $ELAPSED ms ($2..$hi)"
	else
		fail "$1: closed after ${ELAPSED:-?} ms, want $2..$hi"
	fi
}

n_conn_ge() {
	[ "$(log_count "$(conn_re "$1" '[a-z_]+')")" -ge "$2" ]
}

fd_le() {
	[ "$(fd_count "$1")" -le "$2" ]
}

# A TCP listener on PORT exists (IPv4 or IPv6).
listening() {
	local h
	h=$(printf ':%04X' "$1")
	awk -v h="$h" '$4 == "0A" && substr($2, length($2) - 4) == h { f = 1 }
	    END { exit !f }' /proc/net/tcp /proc/net/tcp6 2>/dev/null
}

# ------------------------------------------------------------ setup

start_broker
P_V2=$(free_port)
P_V1=$(free_port)
P_ANY=$(free_port)
P_UT=$(free_port)
RECV_PORT=$(free_port)

SEQ=$((SEQ + 1))
RECV_OUT=$T/recv.$SEQ.out
closefds "$PY" "$PP" --timeout "$(tmo 30)" --lifetime "$(tmo 600)" \
    recv 127.0.0.1 "$RECV_PORT" >"$RECV_OUT" 2>&1 </dev/null &
track $!
wait_for "$(tmo 10)" grep -q '^listening=1' "$RECV_OUT" ||
    bail "the PROXY receiver did not start" "$RECV_OUT"

ANY_BINDS=("bind = 127.0.0.1:$P_ANY")
[ "$HAVE_V6" = 1 ] && ANY_BINDS+=("bind = [::1]:$P_ANY")
{
	conf_global
	conf_listener pv2 "$P_V2" "accept_proxy = v2" \
	    "trusted_proxies = 127.0.0.1" "proxy_header_timeout = 1"
	conf_listener pv1 "$P_V1" "accept_proxy = v1" \
	    "proxy_header_timeout = 1"
	conf_listener pany - "${ANY_BINDS[@]}" "accept_proxy = any" \
	    "upstream = 127.0.0.1:$RECV_PORT" "proxy_protocol = v2" \
	    "proxy_pass_tlvs = 0xEA"
	conf_listener untrusted "$P_UT" "accept_proxy = any" \
	    "trusted_proxies = 127.0.0.2/32"
} | write_conf "$T/mqgate.ini"
start_mqgate "$T/mqgate.ini"

# Warm up both workers of every listener used below, so that the fd
# baseline taken afterwards has every lazily opened file.
for i in 1 2 3; do
	good "warm-up $i: v2 header on accept_proxy = v2" 127.0.0.1 "$P_V2" \
	    --v2 proxy --src 192.0.2.$i --sport $((1000 + i))
	good "warm-up $i: v1 header on accept_proxy = v1" 127.0.0.1 "$P_V1" \
	    --v1 "PROXY TCP4 192.0.2.$i 127.0.0.1 $((1100 + i)) $P_V1"
	good "warm-up $i: v2 header on accept_proxy = any" 127.0.0.1 "$P_ANY" \
	    --v2 proxy --src 192.0.2.$i --sport $((1200 + i))
done
logged_client "v2 on accept_proxy = v2" 192.0.2.3:1003 pv2
logged_client "v1 on accept_proxy = v1" 192.0.2.3:1103 pv1
logged_client "v2 on accept_proxy = any" 192.0.2.3:1203 pany
forwarded "v2 on accept_proxy = any" 1203 fam=tcp4 src=192.0.2.3 \
    dst=127.0.0.1 dport=1
FD0=$(fd_count "$MQGATE_PID")

# ------------------------------------------------------------ malformed

SIG_HEX=0d0a0d0a000d0a515549540a
ADDR4_HEX=c0000201c0000202044c20fb # 192.0.2.1 192.0.2.2 1100 8443
refused "bad signature" pv2 "$P_V2" proxy_refused 'not a PROXY|signature' \
    --hex "${SIG_HEX%0a}582111000c$ADDR4_HEX"
refused "v2 version nibble 1" pv2 "$P_V2" proxy_refused 'version' \
    --v2 proxy --ver-cmd 0x11
refused "v2 version nibble 3" pv2 "$P_V2" proxy_refused 'version' \
    --v2 proxy --ver-cmd 0x31
refused "v2 command 0xF" pv2 "$P_V2" proxy_refused 'command' \
    --v2 proxy --ver-cmd 0x2F
refused "v2 family 0x41" pv2 "$P_V2" proxy_refused 'family|transport' \
    --v2 proxy --fam-byte 0x41
refused "v2 TCP4 with length 8 (< 12 address bytes)" pv2 "$P_V2" \
    proxy_refused 'short|length' --v2 proxy --len 8 --send 24
refused "v2 TCP6 with length 12 (< 36 address bytes)" pv2 "$P_V2" \
    proxy_refused 'short|length' --v2 proxy --fam-byte 0x21 --len 12
refused "v2 TLV overrunning the header" pv2 "$P_V2" proxy_refused 'TLV' \
    --hex "${SIG_HEX}2111000f${ADDR4_HEX}ea0010"
refused "v2 header of 16385 bytes (> 16384)" pv2 "$P_V2" proxy_refused \
    'long|oversize|large|big|16384|exceed|limit' --v2 proxy --pad-to 16385
refused "v2 bad CRC32C" pv2 "$P_V2" proxy_refused 'crc' \
    --v2 proxy --crc bad
refused "v1 header on accept_proxy = v2" pv2 "$P_V2" proxy_refused 'v1|version' \
    --v1 "PROXY TCP4 192.0.2.1 127.0.0.1 1111 $P_V2"
refused "v2 header on accept_proxy = v1" pv1 "$P_V1" proxy_refused 'v2|version' \
    --v2 proxy
refused "v1 bad address" pv1 "$P_V1" proxy_refused 'addr' \
    --v1 "PROXY TCP4 999.0.2.1 127.0.0.1 1111 $P_V1"
refused "v1 bad port" pv1 "$P_V1" proxy_refused 'port' \
    --v1 "PROXY TCP4 192.0.2.1 127.0.0.1 65536 $P_V1"
refused "v1 line without CRLF in 107 bytes" pv1 "$P_V1" proxy_refused \
    'long|107|CRLF' --v1 "PROXY TCP4 $(printf '1%.0s' $(seq 120))"
refused "ClientHello without a header (accept_proxy = v2)" pv2 "$P_V2" \
    proxy_refused 'no PROXY header|not a PROXY|ClientHello' --raw-hello
refused "ClientHello without a header (accept_proxy = any)" pany "$P_ANY" \
    proxy_refused 'no PROXY header|not a PROXY|ClientHello' --raw-hello

refused "v2 header cut after 20 of 28 bytes" pv2 "$P_V2" proxy_timeout '' \
    --v2 proxy --send 20
in_ms "v2 header cut after 20 bytes (proxy_header_timeout = 1)" 900 3000
refused "v1 line without its CRLF" pv1 "$P_V1" proxy_timeout '' \
    --v1 "PROXY TCP4 192.0.2.1 127.0.0.1 1111 $P_V1" --send 30
in_ms "v1 line without its CRLF (proxy_header_timeout = 1)" 900 3000
refused "silence" pv2 "$P_V2" proxy_timeout ''
in_ms "silence (proxy_header_timeout = 1)" 900 3000
# One byte every 300 ms would complete the header after 8.4 s: the
# timeout is a deadline for the whole header, not an idle timer.
refused "v2 header trickled one byte per 300 ms" pv2 "$P_V2" proxy_timeout \
    '' --v2 proxy --split 300
in_ms "v2 header trickled (deadline, not idle timer)" 900 3000
refused "v2 TCP4 over datagram transport (0x12)" pv2 "$P_V2" proxy_refused \
    'datagram|transport|family' --v2 proxy --fam-byte 0x12

# A reset in the middle of the header, or right after it: noticed as such
# (not by a timer), nothing left open.
for n in 10 28; do
	ppc 127.0.0.1 "$P_V2" --v2 proxy --src 192.0.2.9$((n / 10)) \
	    --sport 19$n --send "$n" --rst --want reset
	CP=$(pval port)
	if [ "$n" = 28 ]; then
		CL=192.0.2.92:1928
	else
		CL=127.0.0.1:$CP
	fi
	if ! wait_client "$CL"; then
		fail "reset after $n header bytes: no connection line for client=$CL"
	elif [[ $(conn_field reason) =~ timeout ]]; then
		fail "reset after $n header bytes: noticed only by a timer: $CONN_LINE"
	else
		ok "reset after $n header bytes: logged, reason=$(conn_field reason)"
	fi
done

good "v2 header of exactly 16384 bytes" 127.0.0.1 "$P_V2" --v2 proxy \
    --src 192.0.2.44 --sport 1444 --pad-to 16384
logged_client "v2 header of exactly 16384 bytes" 192.0.2.44:1444 pv2
good "v2 header with a correct CRC32C" 127.0.0.1 "$P_V2" --v2 proxy \
    --src 192.0.2.45 --sport 1445 --crc good
logged_client "v2 header with a correct CRC32C" 192.0.2.45:1445 pv2

# ------------------------------------------------------------ trust

refused "peer 127.0.0.1 outside trusted_proxies (valid header)" untrusted \
    "$P_UT" proxy_refused 'peer 127\.0\.0\.1(:[0-9]+)? is not in trusted_proxies' \
    --v2 proxy --src 192.0.2.50 --sport 1550 --tls
refused "peer 127.0.0.1 outside trusted_proxies (silent)" untrusted \
    "$P_UT" proxy_refused 'peer 127\.0\.0\.1(:[0-9]+)? is not in trusted_proxies'
in_ms "untrusted silent peer is refused at once, not after the timeout" 0 1000
good "peer 127.0.0.2 inside trusted_proxies = 127.0.0.2/32" 127.0.0.1 \
    "$P_UT" --bind 127.0.0.2 --v2 proxy --src 192.0.2.51 --sport 1551
logged_client "peer 127.0.0.2 inside trusted_proxies" 192.0.2.51:1551 untrusted

# ------------------------------------------------------------ still serving

good "after the bad inputs: v2 on accept_proxy = v2" 127.0.0.1 "$P_V2" \
    --v2 proxy --src 192.0.2.60 --sport 1660
logged_client "after the bad inputs: v2" 192.0.2.60:1660 pv2
good "after the bad inputs: v1 on accept_proxy = v1" 127.0.0.1 "$P_V1" \
    --v1 "PROXY TCP4 192.0.2.61 127.0.0.1 1661 $P_V1"
logged_client "after the bad inputs: v1" 192.0.2.61:1661 pv1
if wait_for "$(tmo 10)" fd_le "$MQGATE_PID" "$FD0"; then
	ok "fd count back to its baseline ($FD0)"
else
	fail "fd count $(fd_count "$MQGATE_PID"), baseline $FD0"
	ls -l "/proc/$MQGATE_PID/fd" | sed 's/^/#   /'
fi
check "mqgate is still running" pid_alive "$MQGATE_PID"

# ------------------------------------------------------------ addresses

# v2 LOCAL: the real peer is kept, addresses in the block are ignored.
ppc 127.0.0.1 "$P_ANY" --tls --want connack --v2 local --fam unspec
check "v2 LOCAL (UNSPEC): TLS + CONNACK ($(cat "$PPC_OUT"))" \
    [ "$(pval result)" = connack ]
CP=$(pval port)
logged_client "v2 LOCAL: real peer kept" "127.0.0.1:$CP" pany
forwarded "v2 LOCAL: real peer forwarded" "$CP" fam=tcp4 src=127.0.0.1 \
    dst=127.0.0.1 "dport=$P_ANY"

ppc 127.0.0.1 "$P_ANY" --tls --want connack --v2 local --fam tcp4 \
    --src 192.0.2.70 --sport 1770
check "v2 LOCAL with TCP4 addresses: TLS + CONNACK ($(cat "$PPC_OUT"))" \
    [ "$(pval result)" = connack ]
CP=$(pval port)
logged_client "v2 LOCAL with addresses: they are ignored" "127.0.0.1:$CP" pany
forwarded "v2 LOCAL with addresses: real peer forwarded" "$CP" fam=tcp4 \
    src=127.0.0.1

# v2 PROXY with family UNSPEC: as LOCAL, the real peer is kept.
ppc 127.0.0.1 "$P_ANY" --tls --want connack --v2 proxy --fam unspec
check "v2 PROXY with family UNSPEC: TLS + CONNACK ($(cat "$PPC_OUT"))" \
    [ "$(pval result)" = connack ]
CP=$(pval port)
logged_client "v2 PROXY UNSPEC: real peer kept" "127.0.0.1:$CP" pany
forwarded "v2 PROXY UNSPEC: real peer forwarded" "$CP" fam=tcp4 \
    src=127.0.0.1

for line in "PROXY UNKNOWN" "PROXY UNKNOWN 2001:db8::1 2001:db8::2 1 2"; do
	ppc 127.0.0.1 "$P_ANY" --tls --want connack --v1 "$line"
	check "v1 \"$line\": TLS + CONNACK ($(cat "$PPC_OUT"))" \
	    [ "$(pval result)" = connack ]
	CP=$(pval port)
	logged_client "v1 \"$line\": real peer kept" "127.0.0.1:$CP" pany
	forwarded "v1 \"$line\": real peer forwarded" "$CP" fam=tcp4 \
	    src=127.0.0.1 dst=127.0.0.1 "dport=$P_ANY"
done

good "v2 TCP6 source" 127.0.0.1 "$P_ANY" --v2 proxy --fam tcp6 \
    --src 2001:db8::1 --sport 4242 --dst 2001:db8::2 --dport 8883
logged_client "v2 TCP6 source" "[2001:db8::1]:4242" pany
forwarded "v2 TCP6 source" 4242 fam=tcp6 src=2001:db8::1 dst=2001:db8::2 \
    dport=8883

good "v1 TCP6 source" 127.0.0.1 "$P_ANY" \
    --v1 "PROXY TCP6 2001:db8::a:7 2001:db8::a:8 4567 8883"
logged_client "v1 TCP6 source" "[2001:db8::a:7]:4567" pany
forwarded "v1 TCP6 source" 4567 fam=tcp6 src=2001:db8::a:7 \
    dst=2001:db8::a:8 dport=8883

good "v2 header one byte per write" 127.0.0.1 "$P_ANY" --split 5 \
    --v2 proxy --src 198.51.100.7 --sport 5001 --dst 203.0.113.1 --dport 8883
logged_client "v2 header one byte per write" 198.51.100.7:5001 pany
forwarded "v2 header one byte per write" 5001 fam=tcp4 src=198.51.100.7 \
    dst=203.0.113.1 dport=8883

good "v1 line one byte per write" 127.0.0.1 "$P_ANY" --split 5 \
    --v1 "PROXY TCP4 198.51.100.8 203.0.113.1 5002 8883"
logged_client "v1 line one byte per write" 198.51.100.8:5002 pany
forwarded "v1 line one byte per write" 5002 fam=tcp4 src=198.51.100.8

good "v2 header and ClientHello in one write" 127.0.0.1 "$P_ANY" \
    --same-write --v2 proxy --src 198.51.100.9 --sport 5003 --crc good
logged_client "v2 header and ClientHello in one write" 198.51.100.9:5003 pany
forwarded "v2 header and ClientHello in one write" 5003 src=198.51.100.9

good "v1 line and ClientHello in one write" 127.0.0.1 "$P_ANY" \
    --same-write --v1 "PROXY TCP4 198.51.100.10 203.0.113.1 5004 8883"
logged_client "v1 line and ClientHello in one write" 198.51.100.10:5004 pany
forwarded "v1 line and ClientHello in one write" 5004 src=198.51.100.10

# A UNIX-family source goes upstream as a UNIX-family v2 header.
good "v2 UNIX source" 127.0.0.1 "$P_ANY" --v2 proxy --fam unix \
    --src /run/pp-client.sock --dst /run/pp-server.sock
logged_client "v2 UNIX source" unix:/run/pp-client.sock pany
if wait_for "$(tmo 10)" grep -q '^hdr .* fam=unix src=/run/pp-client.sock ' \
    "$RECV_OUT"; then
	line=$(grep '^hdr .* fam=unix src=/run/pp-client.sock ' "$RECV_OUT")
	check "v2 UNIX source: upstream header is UNIX with both paths, CONNECT follows" \
	    grep -qE '^hdr ver=2 cmd=proxy fam=unix src=/run/pp-client.sock dst=/run/pp-server.sock .* next=10$' \
	    <<<"$line"
else
	fail "v2 UNIX source: no UNIX-family header reached the upstream" "$RECV_OUT"
fi

# The path is the sender's bytes: logged quoted and escaped, on one line.
log_mark
good "v2 UNIX source with a blank, a quote and a newline" 127.0.0.1 \
    "$P_ANY" --v2 proxy --fam unix \
    --src $'/run/a b"\nFAKE conn=1 reason=x' --dst /run/pp-server.sock
want='client="unix:/run/a b\"\x0aFAKE conn=1 reason=x" listener=pany '
if wait_for "$(tmo 10)" log_has 'client="unix:/run/a b'; then
	line=$(log_since | grep -F 'client="unix:/run/a b')
	check "v2 UNIX source: a path with a newline is logged quoted and escaped: ${line#* client=}" \
	    grep -qF -- "$want" <<<"$line"
else
	fail "v2 UNIX source: no quoted client= line for a path with a newline"
fi
assert_no_log "v2 UNIX source: the path cannot start a log line of its own" \
    '^FAKE'

if [ "$HAVE_V6" = 1 ]; then
	ppc ::1 "$P_ANY" --tls --want connack --v2 local --fam unspec
	check "IPv6 peer, v2 LOCAL: TLS + CONNACK ($(cat "$PPC_OUT"))" \
	    [ "$(pval result)" = connack ]
	CP=$(pval port)
	logged_client "IPv6 peer ::1 (trusted by default), v2 LOCAL" \
	    "[::1]:$CP" pany
	forwarded "IPv6 peer, v2 LOCAL: real peer forwarded" "$CP" fam=tcp6 \
	    src=::1 dst=::1 "dport=$P_ANY"
else
	note "no IPv6 on this host: IPv6 peer case skipped"
fi

# ------------------------------------------------------------ pass TLVs

EA_VAL=$(printf 'pass-me' | od -An -tx1 | tr -d ' \n')00ff01
EB_VAL=$(printf 'drop-me' | od -An -tx1 | tr -d ' \n')
good "proxy_pass_tlvs = 0xEA" 127.0.0.1 "$P_ANY" --v2 proxy \
    --src 192.0.2.80 --sport 1880 --tlv "0xEA=$EA_VAL" \
    --tlv "0xEB=$EB_VAL" --tlv "0x04=00" --crc good
forwarded "proxy_pass_tlvs = 0xEA" 1880 src=192.0.2.80 crc=ok
line=$(recv_line 1880)
tlvs=$(grep -oE ' tlvs=[^ ]*' <<<"$line")
# n_tlv TYPE: how many TLVs of TYPE (two hex digits) the header had.
n_tlv() {
	tr ',' '\n' <<<"${tlvs# tlvs=}" | grep -c "^$1:"
}
check "proxy_pass_tlvs: TLV 0xEA appears once in the outgoing header (got $(n_tlv EA))" \
    [ "$(n_tlv EA)" = 1 ]
check "proxy_pass_tlvs: TLV 0xEA is copied unchanged ($EA_VAL)" \
    grep -qE "[=,]EA:$EA_VAL(,|\$)" <<<"$tlvs"
check "proxy_pass_tlvs: TLV 0xEB (not listed) is not passed ($tlvs)" \
    [ "$(n_tlv EB)" = 0 ]
check "proxy_pass_tlvs: NOOP 0x04 is not passed" [ "$(n_tlv 04)" = 0 ]
check "proxy_pass_tlvs: one CRC32C, mqgate's own (got $(n_tlv 03))" \
    [ "$(n_tlv 03)" -le 1 ]

# Two 0xEA TLVs, both passed in their order; and one behind 40 other TLVs
# (more than the parser records one by one) is still found.
good "proxy_pass_tlvs: two 0xEA TLVs" 127.0.0.1 "$P_ANY" --v2 proxy \
    --src 192.0.2.81 --sport 1881 --tlv 0xEA=01 --tlv 0xEB=02 --tlv 0xEA=0303
tlvs=$(recv_line 1881 | grep -oE ' tlvs=[^ ]*')
check "proxy_pass_tlvs: both 0xEA TLVs passed in order ($tlvs)" \
    grep -qE '[=,]EA:01,(.*,)?EA:0303(,|$)' <<<"$tlvs"
NOOPS=()
for i in $(seq 40); do
	NOOPS+=(--tlv "0x04=0$((i % 10))")
done
good "proxy_pass_tlvs: 0xEA after 40 other TLVs" 127.0.0.1 "$P_ANY" \
    --v2 proxy --src 192.0.2.82 --sport 1882 "${NOOPS[@]}" --tlv 0xEA=cafe
tlvs=$(recv_line 1882 | grep -oE ' tlvs=[^ ]*')
check "proxy_pass_tlvs: 0xEA after 40 other TLVs is passed ($tlvs)" \
    grep -qE '[=,]EA:cafe(,|$)' <<<"$tlvs"

# ------------------------------------------------------------ HAProxy

if [ "$HAVE_HAPROXY" = 1 ]; then
	H_V2=$(free_port)
	H_V1=$(free_port)
	H_A2=$(free_port)
	H_A1=$(free_port)
	H_UT=$(free_port)
	H_UT2=$(free_port)
	HP_PORTS=("$H_V2" "$H_V1" "$H_A2" "$H_A1" "$H_UT" "$H_UT2")
	A6_BIND=
	if [ "$HAVE_V6" = 1 ]; then
		A6_BIND="    bind [::1]:$H_A2"
	fi
	HP_LOG=$T/haproxy.log
	cat >"$T/haproxy.cfg" <<EOF
global
    log stderr format raw local0 info
    maxconn 200
defaults
    mode tcp
    log global
    log-format "hp fe=%f ci=%ci cp=%cp bi=%bi bp=%bp"
    timeout connect 5s
    timeout client 60s
    timeout server 60s
frontend f_v2
    bind 127.0.0.1:$H_V2
    default_backend b_v2
backend b_v2
    server s 127.0.0.1:$P_V2 send-proxy-v2
frontend f_v1
    bind 127.0.0.1:$H_V1
    default_backend b_v1
backend b_v1
    server s 127.0.0.1:$P_V1 send-proxy
frontend f_a2
    bind 127.0.0.1:$H_A2
$A6_BIND
    default_backend b_a2
backend b_a2
    server s 127.0.0.1:$P_ANY send-proxy-v2
frontend f_a1
    bind 127.0.0.1:$H_A1
    default_backend b_a1
backend b_a1
    server s 127.0.0.1:$P_ANY send-proxy
frontend f_ut
    bind 127.0.0.1:$H_UT
    default_backend b_ut
backend b_ut
    server s 127.0.0.1:$P_UT send-proxy-v2
frontend f_ut2
    bind 127.0.0.1:$H_UT2
    default_backend b_ut2
backend b_ut2
    server s 127.0.0.1:$P_UT send-proxy-v2 source 127.0.0.2
EOF
	if ! haproxy -c -f "$T/haproxy.cfg" >"$T/haproxy-c.out" 2>&1; then
		bail "haproxy -c rejects the test configuration" "$T/haproxy-c.out"
	fi
	closefds haproxy -db -f "$T/haproxy.cfg" >"$HP_LOG" 2>&1 </dev/null &
	HP_PID=$!
	track "$HP_PID"
	hp_up() {
		local p
		pid_alive "$HP_PID" || return 1
		for p in "${HP_PORTS[@]}"; do
			listening "$p" || return 1
		done
	}
	wait_for "$(tmo 10)" hp_up || bail "haproxy did not start" "$HP_LOG"
	ok "haproxy $(haproxy -v | head -n 1 | awk '{ print $3 }') is listening"

	# hp_roundtrip WHAT HPORT LISTENER FRONTEND: mosquitto_pub (retained)
	# then mosquitto_sub, both from 127.0.0.5 through haproxy to mqgate;
	# both connection lines must name 127.0.0.5 and the client port
	# haproxy saw, never haproxy's own.
	hp_roundtrip() {
		local what=$1 hport=$2 listener=$3 fe=$4 topic msg got n lines cp
		SEQ=$((SEQ + 1))
		topic=mqgate-test/proxy-in/$$/$SEQ
		msg=pp-$$-$SEQ-$RANDOM
		log_mark
		if pub "$hport" "$topic" "$msg" -r -q 1 -A 127.0.0.5 \
		    2>"$T/hp.$SEQ.err"; then
			ok "$what: mosquitto_pub through haproxy and mqgate"
		else
			fail "$what: mosquitto_pub through haproxy and mqgate" \
			    "$T/hp.$SEQ.err" "$LOG" "$HP_LOG"
		fi
		got=$(sub "$hport" "$topic" -A 127.0.0.5 2>>"$T/hp.$SEQ.err")
		check "$what: mosquitto_sub gets the message back (got '$got')" \
		    [ "$got" = "$msg" ]
		wait_for "$(tmo 10)" n_conn_ge "$listener" 2
		lines=$(log_since | grep -E "$(conn_re "$listener" '[a-z_]+')")
		n=$(grep -c . <<<"$lines")
		check "$what: two connection lines on $listener (got $n)" [ "$n" = 2 ]
		while read -r cp; do
			[ -n "$cp" ] || continue
			if wait_for "$(tmo 10)" grep -qE \
			    "^hp fe=$fe ci=127\\.0\\.0\\.5 cp=$cp " "$HP_LOG"; then
				ok "$what: client=127.0.0.5:$cp is the client haproxy accepted"
			else
				fail "$what: client=127.0.0.5:$cp is not a client haproxy logged" "$HP_LOG"
			fi
		done < <(grep -oE ' client=127\.0\.0\.5:[0-9]+ ' <<<"$lines" |
		    sed 's/.*://; s/ $//')
		n=$(grep -cE ' client=127\.0\.0\.5:[0-9]+ ' <<<"$lines")
		check "$what: both lines show the original client 127.0.0.5, not haproxy's 127.0.0.1 ($n of 2)" \
		    [ "$n" = 2 ]
	}

	hp_roundtrip "haproxy send-proxy-v2 -> accept_proxy = v2" "$H_V2" pv2 f_v2
	hp_roundtrip "haproxy send-proxy -> accept_proxy = v1" "$H_V1" pv1 f_v1

	# hp_capture WHAT HOST HPORT BIND WANT_CLIENT_HOST FAM: a client from
	# BIND through haproxy to the pany listener; mqgate logs and forwards
	# the client's own address and port, and haproxy's frontend address
	# as the destination.
	hp_capture() {
		local what=$1 host=$2 hport=$3 bind=$4 chost=$5 fam=$6 cp
		if ! good "$what" "$host" "$hport" --bind "$bind"; then
			return 1
		fi
		cp=$(pval port)
		logged_client "$what: original client" "$chost:$cp" pany
		forwarded "$what: original client forwarded" "$cp" "fam=$fam" \
		    "src=$bind" "dst=$host" "dport=$hport"
	}
	hp_capture "haproxy send-proxy-v2 -> accept_proxy = any" 127.0.0.1 \
	    "$H_A2" 127.0.0.5 127.0.0.5 tcp4
	hp_capture "haproxy send-proxy -> accept_proxy = any" 127.0.0.1 \
	    "$H_A1" 127.0.0.5 127.0.0.5 tcp4
	if [ "$HAVE_V6" = 1 ]; then
		hp_capture "haproxy send-proxy-v2, IPv6 client" ::1 "$H_A2" \
		    ::1 "[::1]" tcp6
	fi

	# haproxy connecting from 127.0.0.1, outside trusted_proxies.
	log_mark
	if pub "$H_UT" mqgate-test/proxy-in/$$/ut x -A 127.0.0.5 \
	    >"$T/hp-ut.out" 2>&1; then
		fail "untrusted haproxy: mosquitto_pub is refused" "$T/hp-ut.out"
	else
		ok "untrusted haproxy: mosquitto_pub is refused"
	fi
	if wait_conn untrusted proxy_refused; then
		check "untrusted haproxy: detail names peer 127.0.0.1 ($(conn_field detail))" \
		    grep -qE 'peer 127\.0\.0\.1(:[0-9]+)? is not in trusted_proxies' \
		    <<<"$(conn_field detail)"
	else
		fail "untrusted haproxy: no proxy_refused line"
	fi
	hp_roundtrip "haproxy from 127.0.0.2, inside trusted_proxies" \
	    "$H_UT2" untrusted f_ut2
	check "haproxy is still running" pid_alive "$HP_PID"
else
	note "haproxy not found: HAProxy parts skipped"
fi

check "mqgate is still running at the end" pid_alive "$MQGATE_PID"
stop_mqgate
if [ "$HAVE_HAPROXY" = 0 ] && [ "$NFAIL" -eq 0 ]; then
	echo "SKIP: haproxy not found (the other $NPASS checks passed)"
	exit 77
fi
