#!/usr/bin/env bash
# t_pool_dns: host names in [upstream NAME] server lines, resolve_interval.
#
# mqgate runs in a private mount namespace (unshare -m) where a hosts file
# and a resolv.conf owned by the test are bind-mounted over /etc/hosts and
# /etc/resolv.conf; the real files are never touched, so tests running in
# parallel see nothing of this. The hosts file is rewritten in place
# (truncate and write): the bind mount pins its inode, a rename would not
# be seen. resolv.conf names one name server, a stub run by this test on
# 127.0.0.1 (a free UDP port; timeout:1 attempts:1), so no lookup leaves the
# machine and every query is logged: the stub answers A records from a
# zone file, NXDOMAIN for other names, and never answers gone.*. Without
# unshare or mount (not root, no CAP_SYS_ADMIN) the test is skipped.
#
# Two mosquitto brokers listen on the same free port P, broker 1 on
# 127.0.0.2 and broker 2 on 127.0.0.3, so that one name can move from one
# to the other. One mqgate (workers = 2) with four pools:
#
#  - cluster: server = broker-a.test:P (hosts file), resolve_interval = 1,
#    tcp checks. "resolves to 127.0.0.2:P" is logged; a client reaches
#    broker 1; a subscriber stays connected through it. broker-a.test moved
#    to 127.0.0.3: "resolves to 127.0.0.3:P" is logged within a few
#    seconds, a new client reaches broker 2, the held subscriber still gets
#    what is published on broker 1 (its connection stayed where it was).
#    The name is never asked of the name server while the hosts file has
#    it. An unchanged address is not logged again. Removed from the hosts
#    file: "cannot resolve" once, the server keeps its last address (a
#    client still reaches broker 2); put back: "resolves to" again.
#  - viadns: server = broker-b.test:P answered by the name server (not the
#    hosts file), resolve_interval = 1: resolves to 127.0.0.2, a client
#    reaches broker 1; the zone changed to 127.0.0.3: followed, a new
#    client reaches broker 2.
#  - dead: server = nowhere.test:P (NXDOMAIN) and 127.0.0.3:P, roundrobin,
#    no health checks, connect_retries = 0: asked about every second,
#    "cannot resolve" logged once however many lookups fail, every client
#    goes to 127.0.0.3 (nowhere.test is never tried); nowhere.test added to
#    the hosts file (-> 127.0.0.2): it resolves and takes its share.
#  - late: server = late.test:P (NXDOMAIN), resolve_interval = 0, tcp
#    checks: "cannot resolve", its checks fail with "not resolved", a
#    client is refused (no server up); the name server is asked again 5 s
#    later; late.test added to the hosts file: it resolves at the next
#    retry, is marked up, a client reaches broker 2; then it is never
#    looked up again (no query, a later change is not followed).
#
# Last, an mqgate whose only name (gone.test) gets no answer is stopped
# with SIGTERM while that lookup is in flight: exit 0, no sanitizer report.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
require stdbuf
need unshare mount


# ------------------------------------------------------------ namespace

HOSTS=$T/hosts
RESOLV=$T/resolv.conf
ZONE=$T/zone
QLOG=$T/queries.log

# The name server: UDP on 127.0.0.1, a free port it prints ("port N").
# Each query is logged as "MS NAME TYPE" (ms since the epoch, the name in
# lower case); NAME in ZONE ("NAME ADDRESS" lines, read at every query)
# gets its A record (TTL 1) and an empty AAAA answer, gone.* nothing at
# all, any other name NXDOMAIN. The question is echoed byte for byte
# (evdns randomises the case of the names it asks).
cat >"$T/dnsstub.py" <<'PYEOF'
import socket, struct, sys, time
zone_path, log_path = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 0))
print("port %d" % s.getsockname()[1], flush=True)
log = open(log_path, "a", buffering=1)
while True:
    data, peer = s.recvfrom(4096)
    try:
        qid, flags, qd = struct.unpack(">HHH", data[:6])
        i, labels = 12, []
        while data[i]:
            labels.append(data[i + 1:i + 1 + data[i]].decode("ascii"))
            i += 1 + data[i]
        qtype = struct.unpack(">H", data[i + 1:i + 3])[0]
        question = data[12:i + 5]
    except Exception:
        continue
    name = ".".join(labels).lower()
    log.write("%d %s %s\n" % (time.time() * 1000, name,
                               {1: "A", 28: "AAAA"}.get(qtype, qtype)))
    if name.startswith("gone"):
        continue
    zone = {}
    try:
        with open(zone_path) as f:
            for line in f:
                w = line.split()
                if len(w) == 2:
                    zone[w[0].lower()] = w[1]
    except OSError:
        pass
    answer, an, rcode = b"", 0, 3
    if name in zone:
        rcode = 0
        if qtype == 1:
            answer = b"\xc0\x0c" + struct.pack(">HHIH", 1, 1, 1, 4) + \
                socket.inet_aton(zone[name])
            an = 1
    rflags = 0x8000 | (flags & 0x7900) | 0x0400 | 0x0080 | rcode
    s.sendto(struct.pack(">HHHHHH", qid, rflags, 1, an, 0, 0) + question +
             answer, peer)
PYEOF
: >"$ZONE"
: >"$QLOG"
: >"$T/dnsstub.out"
closefds "$PY" "$T/dnsstub.py" "$ZONE" "$QLOG" >"$T/dnsstub.out" 2>&1 \
    </dev/null &
track $!
wait_for "$(tmo 10)" grep -q '^port [0-9]' "$T/dnsstub.out" ||
    bail "the DNS stub did not start" "$T/dnsstub.out"
DNS_PORT=$(awk '/^port/ { print $2; exit }' "$T/dnsstub.out")
printf 'nameserver 127.0.0.1:%s\noptions timeout:1 attempts:1\n' "$DNS_PORT" \
    >"$RESOLV"

# write_hosts LINE...: the hosts file seen by mqgate, rewritten in place.
write_hosts() {
	{
		echo "127.0.0.1 localhost"
		echo "::1 localhost ip6-localhost"
		printf '%s\n' "$@"
	} >"$HOSTS.new"
	cat "$HOSTS.new" >"$HOSTS"
}

write_hosts "127.0.0.2 mqgate-probe.test"
# The wrapper: private mounts, the two files over /etc, then exec mqgate.
MQGATE_PREFIX=(unshare -m --propagation private sh -c
    'mount --bind "$1" /etc/hosts && mount --bind "$2" /etc/resolv.conf && shift 2 && exec "$@"'
    mqgate-ns "$HOSTS" "$RESOLV")
if ! "${MQGATE_PREFIX[@]}" sh -c 'grep -q "mqgate-probe\.test" /etc/hosts &&
    grep -q "^nameserver 127\.0\.0\.1:" /etc/resolv.conf' >"$T/unshare.err" 2>&1; then
	note "cannot bind-mount over /etc/hosts in a private mount namespace" \
	    "(unshare -m / mount --bind: $(tr '\n' ' ' <"$T/unshare.err")): skipped"
	exit 77
fi
if grep -q 'mqgate-probe' /etc/hosts; then
	bail "the bind mount leaked into the real /etc/hosts"
fi

# ------------------------------------------------------------ brokers

P=$(free_port) || bail "no free port"
BH=("" 127.0.0.2 127.0.0.3)
BLOG=()
BPID=()
for i in 1 2; do
	BLOG[$i]=$T/broker$i.log
	broker_conf "${BH[$i]}" "$P" "allow_anonymous true" \
	    >"$T/broker$i.conf"
	closefds mosquitto -c "$T/broker$i.conf" >"${BLOG[$i]}" 2>&1 </dev/null &
	BPID[$i]=$!
	track "${BPID[$i]}"
done

broker_ready() {
	pid_alive "${BPID[$1]}" || return 1
	grep -q ' running$' "${BLOG[$1]}" || return 1
	(exec 3<>"/dev/tcp/${BH[$1]}/$P") 2>/dev/null
}

for i in 1 2; do
	wait_for "$(tmo 10)" broker_ready "$i" ||
	    bail "broker $i (${BH[$i]}:$P) did not come up" "${BLOG[$i]}"
done
ok "two brokers up: ${BH[1]}:$P and ${BH[2]}:$P"

# ------------------------------------------------------------ helpers

# where ID: the brokers (1, 2, "1 2" or "") whose log has ID connecting.
where() {
	local i out=
	for i in 1 2; do
		grep -qF -- " as $1 (" "${BLOG[$i]}" && out="$out $i"
	done
	echo "${out# }"
}

# client LPORT ID...: one connection per ID (CONNECT, CONNACK, DISCONNECT)
# through mqgate, one after the other.
client() {
	local port=$1
	shift
	pc conn --port "$port" --ca "$CERTS/ca.crt" --threads 1 \
	    --timeout "$(tmo 10)" "$@"
}

# split8 PREFIX: 8 clients PREFIX1-$$..PREFIX8-$$ through listener d;
# n1 and n2 = how many reached broker 1 and broker 2.
split8() {
	local ids=() id k
	for k in 1 2 3 4 5 6 7 8; do
		ids+=("$1$k-$$")
	done
	client "$LD" "${ids[@]}"
	n1=0 n2=0
	for id in "${ids[@]}"; do
		case $(where "$id") in
		1) n1=$((n1 + 1)) ;;
		2) n2=$((n2 + 1)) ;;
		esac
	done
}

# nconn LISTENER N: at least N connection lines of LISTENER since the mark.
nconn() {
	[ "$(log_since | grep -cE -- "$(conn_re "$1" '[a-z_]+')")" -ge "$2" ]
}

# upstreams LISTENER: upstream= of its connection lines since the mark.
upstreams() {
	log_since | grep -E -- "$(conn_re "$1" '[a-z_]+')" |
	    grep -oE ' upstream=[^ ]+' | sed 's/^ upstream=//'
}

re_esc() {
	printf '%s' "$1" | sed 's/[.[\*^$()+?{|]/\\&/g'
}

# first_line RE: the first log line since the mark matching RE.
first_line() {
	log_since | grep -m1 -E -- "$1"
}

# elapsed_ge START_MS MS: true once MS have passed since START_MS.
elapsed_ge() {
	[ $(($(now_ms) - $1)) -ge "$2" ]
}

# qtimes NAME [TYPE]: the time (ms) of every query for NAME (type A unless
# TYPE) the name server got; qcount: how many.
qtimes() {
	awk -v n="$1" -v t="${2:-A}" '$2 == n && $3 == t { print $1 }' "$QLOG"
}

qcount() {
	qtimes "$@" | wc -l
}

qcount_ge() {
	[ "$(qcount "$1")" -ge "$2" ]
}

# qcount_since NAME MS: queries (A) for NAME at or after MS.
qcount_since() {
	qtimes "$1" | awk -v t="$2" '$1 >= t' | wc -l
}

# queries_since_at_least NAME MS N: the stub has seen NAME N times since MS.
queries_since_at_least() {
	[ "$(qcount_since "$1" "$2")" -ge "$3" ]
}

# qgaps NAME: "MIN MAX" of the gaps (ms) between its queries (A).
qgaps() {
	qtimes "$1" | awk 'NR > 1 { g = $1 - p; if (min == "" || g < min) min = g
	    if (g > max) max = g } { p = $1 } END { print min + 0, max + 0 }'
}

SA=cluster/broker-a.test:$P
SB=viadns/broker-b.test:$P
SN=dead/nowhere.test:$P
SL=late/late.test:$P
RSA=$(re_esc "$SA")
RSB=$(re_esc "$SB")
RSN=$(re_esc "$SN")
RSL=$(re_esc "$SL")
RP=$(re_esc ":$P")

# ------------------------------------------------------------ mqgate

LA=$(free_port) || bail "no free port"
LV=$(free_port) || bail "no free port"
LD=$(free_port) || bail "no free port"
LL=$(free_port) || bail "no free port"
{
	conf_global "workers = 2"
	conf_listener a "$LA" "upstream = cluster"
	conf_listener v "$LV" "upstream = viadns"
	conf_listener d "$LD" "upstream = dead"
	conf_listener l "$LL" "upstream = late"
	cat <<EOF
[upstream cluster]
server = broker-a.test:$P
balance = roundrobin
health_check = tcp
health_interval = 1
health_timeout = 500ms
health_rise = 1
health_fall = 2
resolve_interval = 1

[upstream viadns]
server = broker-b.test:$P
balance = roundrobin
health_check = none
resolve_interval = 1

[upstream dead]
server = nowhere.test:$P
server = 127.0.0.3:$P
balance = roundrobin
health_check = none
connect_retries = 0
resolve_interval = 1

[upstream late]
server = late.test:$P
health_check = tcp
health_interval = 1
health_timeout = 500ms
health_rise = 1
health_fall = 1
resolve_interval = 0
EOF
} | write_conf "$T/dns.ini"

run_mqgate -t -c "$T/dns.ini"
if [ "$RC" -eq 0 ] && grep -qx 'configuration OK' "$OUT"; then
	ok "config: server = NAME:PORT and resolve_interval 1 / 0 pass -t"
else
	fail "config: server = NAME:PORT and resolve_interval 1 / 0 pass -t (rc=$RC)" \
	    "$ERR" "$T/dns.ini"
fi

write_hosts "127.0.0.2 broker-a.test"
echo "broker-b.test 127.0.0.2" >"$ZONE"
start_mqgate "$T/dns.ini"
T_START=$(now_ms)

# ------------------------------------------------------------ at start

assert_log "cluster: logs 'server $SA resolves to 127.0.0.2:$P'" \
    "server $RSA resolves to 127\.0\.0\.2$RP\$" "$(tmo 5)"
assert_log "viadns: logs 'server $SB resolves to 127.0.0.2:$P' (an answer of the name server)" \
    "server $RSB resolves to 127\.0\.0\.2$RP\$" "$(tmo 5)"
assert_log "dead: logs 'server $SN: cannot resolve: ...'" \
    "server $RSN: cannot resolve: ." "$(tmo 5)"
assert_log "late: logs 'server $SL: cannot resolve: ...'" \
    "server $RSL: cannot resolve: ." "$(tmo 5)"
note "$(first_line "server $RSN: cannot resolve" | cut -d' ' -f2-)"

# A client through the name reaches broker 1.
log_mark
client "$LA" "dns-a1-$$"
wait_for "$(tmo 5)" nconn a 1
[ "$(where "dns-a1-$$")" = 1 ] && grep -q 'connack=0x00' "$PC_OUT"
verdict $? "cluster: a client through broker-a.test reaches broker 1 only (brokers: '$(where "dns-a1-$$")')"
ups=$(upstreams a | tail -n 1)
check "cluster: its connection line says upstream=$SA ($ups)" [ "$ups" = "$SA" ]
client "$LV" "dns-b1-$$"
[ "$(where "dns-b1-$$")" = 1 ] && grep -q 'connack=0x00' "$PC_OUT"
verdict $? "viadns: a client through broker-b.test reaches broker 1 only (brokers: '$(where "dns-b1-$$")')"

# A subscriber that stays connected through it.
HELD=dns-held-$$
HTOPIC=dns-t/$$/held
: >"$T/held.out"
timeout -k 2 "$(tmo 60)" stdbuf -oL mosquitto_sub -h 127.0.0.1 -p "$LA" \
    --cafile "$CERTS/ca.crt" -i "$HELD" -t "$HTOPIC" -C 1 -v -d \
    >"$T/held.out" 2>&1 </dev/null &
HELD_PID=$!
track "$HELD_PID"
wait_for "$(tmo 10)" grep -q 'received SUBACK' "$T/held.out" ||
    fail "cluster: a subscriber through broker-a.test subscribes" "$T/held.out"
check "cluster: the held subscriber is on broker 1 ('$(where "$HELD")')" \
    [ "$(where "$HELD")" = 1 ]

# dead: every client goes to the second server, the name is never tried.
log_mark
split8 dns-d
grep -q '^summary items=8 ok=8 failed=0' "$PC_OUT" && [ "$n1/$n2" = 0/8 ]
verdict $? "dead: with nowhere.test unresolved all 8 clients (connect_retries = 0) get through, to 127.0.0.3 (broker 1/2: $n1/$n2)"
wait_for "$(tmo 5)" nconn d 8
n=$(upstreams d | grep -cxF "dead/127.0.0.3:$P")
check "dead: 8 connection lines say upstream=dead/127.0.0.3:$P ($n)" [ "$n" -eq 8 ]
assert_no_log "dead: nowhere.test is never tried (no upstream= or tried naming it)" \
    "upstream=$RSN|tried [^\"]*$RSN"

# late: not resolved, so its checks fail (from the first one, which may
# come before the first lookup has failed) and it takes no client.
LOG_MARK=0
assert_log "late: its health check fails: 'server $SL is down: not resolved'" \
    "server $RSL is down: not resolved \(1 failed check\)" "$(tmo 5)"
log_mark
client "$LL" "dns-l0-$$"
if ! grep -q 'connack=0x00' "$PC_OUT" &&
    wait_conn l upstream_connect_failed "$(tmo 5)"; then
	ok "late: a client is refused: reason=upstream_connect_failed detail=$(conn_field detail)"
else
	fail "late: a client is refused with reason=upstream_connect_failed" \
	    "$LOG" "$PC_OUT"
fi
check "late: the client did not reach a broker ('$(where "dns-l0-$$")')" \
    [ -z "$(where "dns-l0-$$")" ]

# The retries, as the name server sees them: late (resolve_interval 0,
# never resolved) every 5 s, dead (resolve_interval 1) every second.
if wait_for "$(tmo 10)" qcount_ge late.test 2; then
	read -r gmin gmax < <(qgaps late.test)
	[ "$gmin" -ge 4800 ] && [ "$gmax" -le $((5000 + 1000 * TIMEOUT_SCALE)) ]
	verdict $? "late (resolve_interval 0): a name that never resolved is asked again 5 s later (${gmin} ms)"
else
	fail "late (resolve_interval 0): a name that never resolved is asked again (queries: $(qcount late.test))" \
	    "$QLOG"
fi
n=$(qcount nowhere.test)
read -r gmin gmax < <(qgaps nowhere.test)
[ "$n" -ge 4 ] && [ "$gmin" -ge 900 ] && [ "$gmax" -le $((1000 + 500 * TIMEOUT_SCALE)) ]
verdict $? "dead (resolve_interval 1): nowhere.test asked every second ($n queries, gaps $gmin..$gmax ms)"
n=$(qcount broker-a.test)$(qcount broker-a.test AAAA)
check "cluster: broker-a.test, in the hosts file, is never asked of the name server ($n)" \
    [ "$n" = 00 ]

# Now change the hosts file (broker-a.test moves, nowhere.test and
# late.test appear) and the zone (broker-b.test moves).
log_mark
MARK_CHG=$LOG_MARK
write_hosts "127.0.0.3 broker-a.test" "127.0.0.2 nowhere.test" \
    "127.0.0.3 late.test"
echo "broker-b.test 127.0.0.3" >"$ZONE"
T_CHG=$(now_ms)

# ------------------------------------------------------------ cluster moves

re="server $RSA resolves to 127\.0\.0\.3$RP\$"
if wait_log "$re" "$(tmo 5)"; then
	ms=$(($(log_ms "$(first_line "$re")") - T_CHG))
	check "cluster: broker-a.test -> 127.0.0.3: 'resolves to 127.0.0.3:$P' logged ${ms} ms after the change (resolve_interval 1 s, <= 3000 ms)" \
	    [ "$ms" -le $((3000 * TIMEOUT_SCALE)) ]
else
	fail "cluster: broker-a.test -> 127.0.0.3: 'resolves to 127.0.0.3:$P' logged (/$re/)"
fi
client "$LA" "dns-a2-$$"
[ "$(where "dns-a2-$$")" = 2 ] && grep -q 'connack=0x00' "$PC_OUT"
verdict $? "cluster: a new client through broker-a.test reaches broker 2 only (brokers: '$(where "dns-a2-$$")')"

re="server $RSB resolves to 127\.0\.0\.3$RP\$"
if wait_log "$re" "$(tmo 5)"; then
	ms=$(($(log_ms "$(first_line "$re")") - T_CHG))
	check "viadns: the name server's answer changed to 127.0.0.3: 'resolves to 127.0.0.3:$P' logged ${ms} ms later (<= 3000 ms)" \
	    [ "$ms" -le $((3000 * TIMEOUT_SCALE)) ]
else
	fail "viadns: the name server's answer changed: 'resolves to 127.0.0.3:$P' logged (/$re/)"
fi
client "$LV" "dns-b2-$$"
[ "$(where "dns-b2-$$")" = 2 ] && grep -q 'connack=0x00' "$PC_OUT"
verdict $? "viadns: a new client through broker-b.test reaches broker 2 only (brokers: '$(where "dns-b2-$$")')"

# The held subscriber: still connected, still to broker 1.
MSG=held-$$-$RANDOM
pid_alive "$HELD_PID" && ! grep -qE "Client $HELD (disconnected|closed)" "${BLOG[1]}"
verdict $? "cluster: the subscriber connected before the change is still connected to broker 1"
timeout -k 2 "$(tmo 10)" mosquitto_pub -h "${BH[1]}" -p "$P" -t "$HTOPIC" \
    -m "$MSG" -q 1 2>"$T/pub.err" || fail "publish straight on broker 1" "$T/pub.err"
if wait_for "$(tmo 5)" grep -qF -- "$HTOPIC $MSG" "$T/held.out"; then
	ok "cluster: it receives a message published straight on broker 1"
else
	fail "cluster: it receives a message published straight on broker 1" \
	    "$T/held.out" "${BLOG[1]}"
fi
[ "$(where "$HELD")" = 1 ]
verdict $? "cluster: it never reconnected elsewhere (brokers: '$(where "$HELD")')"

# ------------------------------------------------------------ dead resolves

re="server $RSN resolves to 127\.0\.0\.2$RP\$"
if wait_log "$re" "$(tmo 5)"; then
	ms=$(($(log_ms "$(first_line "$re")") - T_CHG))
	ok "dead: nowhere.test added: 'resolves to 127.0.0.2:$P' logged ${ms} ms after the change"
else
	fail "dead: nowhere.test added: 'resolves to 127.0.0.2:$P' logged (/$re/)"
fi
n=$(grep -cE "server $RSN: cannot resolve" "$LOG")
check "dead: 'cannot resolve' was logged once for $(((T_CHG - T_START) / 1000))+ s of failed lookups every second ($n)" \
    [ "$n" -eq 1 ]
log_mark
split8 dns-e
# Two workers, each with its own roundrobin: 8 clients put at least 4 on
# one worker, which then uses both servers.
grep -q '^summary items=8 ok=8 failed=0' "$PC_OUT" && [ "$n1" -ge 1 ] &&
    [ "$n2" -ge 1 ] && [ $((n1 + n2)) -eq 8 ]
verdict $? "dead: once resolved nowhere.test is eligible: 8 clients split over both servers (broker 1/2: $n1/$n2)"
wait_for "$(tmo 5)" nconn d 8
n=$(upstreams d | grep -cxF "$SN")
check "dead: $n connection lines say upstream=$SN, as many as broker 1 saw ($n1)" \
    [ "$n" -eq "$n1" ]

# ------------------------------------------------------------ late resolves

LOG_MARK=$MARK_CHG
re="server $RSL resolves to 127\.0\.0\.3$RP\$"
# The change came just after a retry: the next one is 5 s later.
if wait_log "$re" "$(tmo 10)"; then
	ms=$(($(log_ms "$(first_line "$re")") - T_CHG))
	check "late (resolve_interval 0): late.test added: 'resolves to 127.0.0.3:$P' logged at the next retry, ${ms} ms after the change (<= 6500 ms)" \
	    [ "$ms" -le $((5000 + 1500 * TIMEOUT_SCALE)) ]
else
	fail "late (resolve_interval 0): late.test added: retried, 'resolves to 127.0.0.3:$P' logged (/$re/)"
fi
assert_log "late: then marked up: 'server $SL is up (1 good check)'" \
    "server $RSL is up \(1 good check\)" "$(tmo 5)"
n=$(grep -cE "server $RSL: cannot resolve" "$LOG")
check "late: 'cannot resolve' was logged once ($n)" [ "$n" -eq 1 ]
client "$LL" "dns-l1-$$"
[ "$(where "dns-l1-$$")" = 2 ] && grep -q 'connack=0x00' "$PC_OUT"
verdict $? "late: a client now reaches broker 2 (brokers: '$(where "dns-l1-$$")')"

# ------------------------------------------------------------ later changes

# broker-a.test removed: one "cannot resolve", the last address is kept.
# late.test removed too: with resolve_interval 0, resolved, nobody looks.
log_mark
T_LATE=$(now_ms)
write_hosts "127.0.0.2 nowhere.test"
assert_log "cluster: broker-a.test removed from the hosts file: 'server $SA: cannot resolve' logged" \
    "server $RSA: cannot resolve: ." "$(tmo 5)"
client "$LA" "dns-a3-$$"
[ "$(where "dns-a3-$$")" = 2 ] && grep -q 'connack=0x00' "$PC_OUT"
verdict $? "cluster: unresolvable now, it keeps its last address: a client still reaches broker 2 (brokers: '$(where "dns-a3-$$")')"
# Wait for two more failed lookups (the stub logs each), not a fixed time.
wait_for "$(tmo 5)" queries_since_at_least broker-a.test "$T_LATE" 2
n=$(log_count "server $RSA: cannot resolve")
q=$(qcount_since broker-a.test "$T_LATE")
[ "$n" -eq 1 ] && [ "$q" -ge 2 ]
verdict $? "cluster: 'cannot resolve' logged once while the lookups keep failing ($n; $q queries)"

log_mark
write_hosts "127.0.0.3 broker-a.test" "127.0.0.2 nowhere.test"
assert_log "cluster: broker-a.test back (same address): the first success after the failures is logged 'resolves to 127.0.0.3:$P'" \
    "server $RSA resolves to 127\.0\.0\.3$RP\$" "$(tmo 5)"

n=$(grep -cE "server $RSA resolves to" "$LOG")
check "cluster: 'resolves to' logged only at the first address, the change and the recovery ($n lines, want 3), not at every lookup" \
    [ "$n" -eq 3 ]

# The health checks follow the address too: broker-a.test moved to
# 127.0.0.4, where nothing listens on P.
log_mark
write_hosts "127.0.0.4 broker-a.test" "127.0.0.2 nowhere.test"
assert_log "cluster: broker-a.test -> 127.0.0.4: 'resolves to 127.0.0.4:$P'" \
    "server $RSA resolves to 127\.0\.0\.4$RP\$" "$(tmo 5)"
assert_log "cluster: its tcp checks now go there: 'server $SA is down: connect: Connection refused (2 failed checks)'" \
    "server $RSA is down: connect: Connection refused \(2 failed checks\)" "$(tmo 6)"
log_mark
client "$LA" "dns-a4-$$"
if ! grep -q 'connack=0x00' "$PC_OUT" &&
    wait_conn a upstream_connect_failed "$(tmo 5)"; then
	ok "cluster: a client is refused: reason=upstream_connect_failed detail=$(conn_field detail)"
else
	fail "cluster: a client is refused with reason=upstream_connect_failed" \
	    "$LOG" "$PC_OUT"
fi

# Wait past a 5 s retry period since late.test was removed, then look.
wait_for "$(tmo 10)" elapsed_ge "$T_LATE" 6500
n=$(grep -cE "server $RSN resolves to" "$LOG")
check "dead: 'resolves to' logged once for an unchanged address ($n)" [ "$n" -eq 1 ]
n=$(grep -cE "server $RSB resolves to" "$LOG")
check "viadns: 'resolves to' logged twice, first address and change ($n)" [ "$n" -eq 2 ]
n=$(qcount_since late.test "$T_LATE")
m=$(grep -cE "server $RSL: cannot resolve" "$LOG")
[ "$n" -eq 0 ] && [ "$m" -eq 1 ]
verdict $? "late (resolve_interval 0): once resolved it is never looked up again: gone from the hosts file, no query for it in $(($(now_ms) - T_LATE)) ms ($n) and no new 'cannot resolve' ($m)"
client "$LL" "dns-l2-$$"
[ "$(where "dns-l2-$$")" = 2 ] && grep -q 'connack=0x00' "$PC_OUT"
verdict $? "late: clients still go to 127.0.0.3 (brokers: '$(where "dns-l2-$$")')"

# ------------------------------------------------------------ the end

if grep -qE 'broker-a\.test|nowhere\.test|late\.test|mqgate-probe' /etc/hosts; then
	fail "the real /etc/hosts was not touched" /etc/hosts
else
	ok "the real /etc/hosts was not touched"
fi
note "test ran $((($(now_ms) - T_START) / 1000)) s after mqgate started"
kill -TERM "$HELD_PID" 2>/dev/null
wait "$HELD_PID" 2>/dev/null
stop_mqgate

# SIGTERM while a lookup is in flight (the name server never answers
# gone.*; evdns would give up after 1 s): a clean exit, and nothing for a
# sanitizer to report.
{
	conf_global "workers = 1"
	conf_listener g "$(free_port)" "upstream = gone"
	printf '[upstream gone]\nserver = gone.test:%s\nhealth_check = none\nresolve_interval = 1\n' "$P"
} | write_conf "$T/gone.ini"
start_mqgate "$T/gone.ini"
log_mark
wait_for "$(tmo 5)" qcount_ge gone.test 1
n=$(qcount gone.test)
if [ "$n" -ge 1 ] && ! log_has "server $(re_esc "gone/gone.test:$P"): cannot resolve"; then
	ok "gone: SIGTERM comes while its first lookup is in flight (the name server got it, no answer yet)"
else
	fail "gone: SIGTERM comes while its first lookup is in flight ($n queries)" "$LOG" "$QLOG"
fi
stop_mqgate
