#!/usr/bin/env bash
# t_pool: [upstream NAME] pools in front of three real mosquitto brokers.
#
# As root each broker is its own host: a network namespace per broker
# (mqg-PID-1..3), a veth pair to the root namespace, addresses from
# 198.18.0.0/15 (root side 198.18.K.1/24, broker side 198.18.K.2/24, K
# picked from the pid so that parallel runs do not collide), mosquitto on
# port 1883 of that address. Without root (or without ip netns) the brokers
# run on 127.0.0.2, .3 and .4 with free ports instead, and the test says so.
# "Stopping a broker" is SIGKILL to its process; it is brought back with
# the same command. T_POOL_NETNS=0 forces the loopback variant.
#
#  - config: unknown pool, empty pool, bad server address/port, bad weight,
#    unknown server option, every server a backup, health_timeout not below
#    health_interval, duplicates: -t exits 1 with file:line: key: ...
#  - balance = clientid: the same client id through two mqgate instances
#    (workers 1 and 2) reaches the same broker (seen by a subscriber on
#    that broker, and in upstream=); 300 client ids spread 70..130 per
#    broker, identically through both instances; an empty client id falls
#    back to the source address (same as balance = source, per source)
#  - health_check = mqtt: the check's CONNECT (3.1.1, clean session,
#    mqgate-health-<hostname>-<n>) ends with DISCONNECT; a broker that
#    accepts TCP and never answers is marked down with the timeout reason;
#    a killed broker is marked down within health_fall x health_interval
#    (+ timeout slack) and not after its first failed check, its clients
#    reconnect to the others, only its client ids move, clients on the
#    other brokers keep their connections; restarted, it is marked up
#    within health_rise x health_interval and its client ids come back
#  - roundrobin (exact order with workers = 1, even spread), weights
#    (roundrobin: exact 2:1:1; clientid: about 2:1:1), leastconn (held
#    connections steer new ones to the other servers), backup (unused
#    while a primary is up, used when none is, left when it is back;
#    reached by a retry when a primary still counted up refuses, and not
#    with connect_retries = 0)
#  - connect_retries: a closed first server is skipped and named in the
#    log; 0 retries closes the client naming only it; all servers closed
#    closes the client naming every server tried; all servers down by
#    health: "no server up in pool"
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
require stdbuf ip date


# The health settings of the checked pools (asserted against below).
INTERVAL=1      # health_interval, seconds
HTIMEOUT_MS=500 # health_timeout
FALL=2          # health_fall
RISE=1          # health_rise

# ------------------------------------------------------------ brokers

NS=()
VETH=()
BH=()   # broker i (1..3): host
BP=()   # port
BT=()   # server text "host:port" as written in the pools
BLOG=()
BCONF=()
BPID=()
BNS=()  # its namespace ("" without)

ns_teardown() {
	local i p
	for i in 1 2 3; do
		p=${BPID[$i]:-}
		if [ -n "$p" ] && our_child "$p"; then
			kill -KILL "$p"
			wait "$p"
		fi 2>/dev/null
	done
	for i in "${!NS[@]}"; do
		for p in $(ip netns pids "${NS[$i]}" 2>/dev/null); do
			kill -KILL "$p" 2>/dev/null
		done
	done
	for i in "${!VETH[@]}"; do
		ip link del "${VETH[$i]}" 2>/dev/null
	done
	for i in "${!NS[@]}"; do
		ip netns del "${NS[$i]}" 2>/dev/null
	done
	NS=()
	VETH=()
}

pool_exit() {
	local rc=$?
	ns_teardown
	(exit "$rc")
	cleanup
}
trap pool_exit EXIT

# net_of J: the /24 number J (0..511) of 198.18.0.0/15 as "198.1x.y".
net_of() {
	if [ "$1" -lt 256 ]; then
		echo "198.18.$1"
	else
		echo "198.19.$(($1 - 256))"
	fi
}

net_in_use() {
	ip -o -4 addr show 2>/dev/null | grep -qF " $1." ||
	    ip -o -4 route show 2>/dev/null | grep -qF "$1."
}

# Three namespaces with a veth pair each; false (and nothing left behind)
# when that cannot be done here.
setup_netns() {
	[ "$(id -u)" = 0 ] && [ "${T_POOL_NETNS:-1}" != 0 ] || return 1
	local b i j net ns rv nv ok_=1
	(
		flock -w 30 9 || exit 1
		b=$(($$ % 170))
		for _ in $(seq 170); do
			ok_=1
			for i in 0 1 2; do
				net_in_use "$(net_of $((3 * b + i)))" && ok_=0
			done
			[ "$ok_" = 1 ] && break
			b=$(((b + 1) % 170))
		done
		[ "$ok_" = 1 ] || exit 1
		for i in 1 2 3; do
			j=$((3 * b + i - 1))
			net=$(net_of "$j")
			ns=mqg-$$-$i
			rv=mqg$$r$i
			nv=mqg$$n$i
			echo "$ns $rv $net" >>"$T/netns"
			ip netns add "$ns" || exit 1
			ip link add "$rv" type veth peer name "$nv" || exit 1
			ip link set "$nv" netns "$ns" &&
			    ip addr add "$net.1/24" dev "$rv" &&
			    ip link set "$rv" up &&
			    ip netns exec "$ns" ip addr add "$net.2/24" dev "$nv" &&
			    ip netns exec "$ns" ip link set "$nv" up &&
			    ip netns exec "$ns" ip link set lo up || exit 1
		done
	) 9>"$PORT_DIR/.netns.lock" 2>"$T/netns.err"
	local rc=$?
	if [ -f "$T/netns" ]; then
		while read -r ns rv net; do
			NS+=("$ns")
			VETH+=("$rv")
		done <"$T/netns"
	fi
	if [ "$rc" -ne 0 ]; then
		note "network namespaces: $(tr '\n' ' ' <"$T/netns.err")"
		ns_teardown
		return 1
	fi
	i=1
	while read -r ns rv net; do
		BNS[$i]=$ns
		BH[$i]=$net.2
		BP[$i]=1883
		i=$((i + 1))
	done <"$T/netns"
}

broker_ready() {
	local i=$1
	pid_alive "${BPID[$i]}" || return 1
	[ "$(grep -c ' running$' "${BLOG[$i]}")" -ge "$2" ] || return 1
	(exec 3<>"/dev/tcp/${BH[$i]}/${BP[$i]}") 2>/dev/null
}

# start_pool_broker I: (re)start broker I with its command; its log is
# appended to, so marks taken on it stay valid.
start_pool_broker() {
	local i=$1 n
	n=$(($(grep -c ' running$' "${BLOG[$i]}" 2>/dev/null) + 1))
	if [ -n "${BNS[$i]:-}" ]; then
		closefds ip netns exec "${BNS[$i]}" mosquitto -c "${BCONF[$i]}" \
		    >>"${BLOG[$i]}" 2>&1 </dev/null &
	else
		closefds mosquitto -c "${BCONF[$i]}" >>"${BLOG[$i]}" 2>&1 \
		    </dev/null &
	fi
	BPID[$i]=$!
	track "${BPID[$i]}"
	wait_for "$(tmo 10)" broker_ready "$i" "$n"
}

stop_pool_broker() {
	{
		kill -KILL "${BPID[$1]}"
		wait "${BPID[$1]}"
	} 2>/dev/null
}

if setup_netns; then
	note "brokers in network namespaces ${NS[*]}: ${BH[1]}, ${BH[2]}, ${BH[3]} port 1883"
else
	note "no network namespaces here (not root, ip netns add failed or T_POOL_NETNS=0):" \
	    "brokers on 127.0.0.2, 127.0.0.3, 127.0.0.4 with free ports instead"
	for i in 1 2 3; do
		BH[$i]=127.0.0.$((i + 1))
		BP[$i]=$(free_port) || bail "no free port"
		BNS[$i]=
	done
fi

for i in 1 2 3; do
	BT[$i]=${BH[$i]}:${BP[$i]}
	BLOG[$i]=$T/broker$i.log
	BCONF[$i]=$T/broker$i.conf
	# mosquitto's default log types (error to information) are wanted
	broker_conf "${BH[$i]}" "${BP[$i]}" "allow_anonymous true" \
	    >"${BCONF[$i]}"
	: >"${BLOG[$i]}"
	start_pool_broker "$i" || bail "broker $i (${BT[$i]}) did not come up" \
	    "${BLOG[$i]}"
done
ok "three brokers up: ${BT[1]} ${BT[2]} ${BT[3]}"

# ------------------------------------------------------------ log helpers

# Marks on any log file: fmark FILE prints its line count; fsince FILE
# MARK prints the lines after it.
fmark() {
	wc -l <"$1"
}

fsince() {
	tail -n "+$(($2 + 1))" "$1" 2>/dev/null
}

fhas() {
	fsince "$1" "$2" | grep -qE -- "$3"
}

fcount() {
	fsince "$1" "$2" | grep -cE -- "$3"
}

# Broker marks: BM[i] for every broker at once.
BM=()
bmark() {
	local i
	for i in 1 2 3; do
		BM[$i]=$(fmark "${BLOG[$i]}")
	done
}

# bwhere ID: the brokers (indexes) whose log has ID connecting since the
# marks, e.g. "2" (or "1 3" when it moved, "" when it never came).
bwhere() {
	local i out=
	for i in 1 2 3; do
		fsince "${BLOG[$i]}" "${BM[$i]}" |
		    grep -qF -- " as $1 (" && out="$out $i"
	done
	echo "${out# }"
}

# bmap PREFIX: "ID I" for every client id starting with PREFIX that
# connected to broker I since the marks.
bmap() {
	local i
	for i in 1 2 3; do
		fsince "${BLOG[$i]}" "${BM[$i]}" |
		    grep -oE -- "New client connected from [^ ]+ as $1[^ ]* " |
		    awk -v b="$i" '{ print $7, b }'
	done
}

# The connection lines of LISTENER in FILE since MARK.
conn_lines() {
	fsince "$1" "$2" | grep -E -- "$(conn_re "$3" '[a-z_]+')"
}

nconn_ge() {
	[ "$(conn_lines "$1" "$2" "$3" | wc -l)" -ge "$4" ]
}

# Field NAME= of each line on stdin (values unquoted as far as needed).
field() {
	grep -oE " $1=(\"([^\"\\\\]|\\\\.)*\"|[^ ]*)" | sed "s/^ $1=//"
}

# upstream= of a line without its pool prefix: its server text.
srv_of() {
	local u
	u=$(field upstream <<<"$1")
	echo "${u#*/}"
}

# conn_ids LISTENER_PORT PREFIX N [THREADS]: N clients PREFIX1..PREFIXN.
conn_ids() {
	local port=$1 prefix=$2 n=$3 th=${4:-8}
	seq -f "$prefix%g" 1 "$n" >"$T/ids.$prefix"
	pc conn --port "$port" --ca "$CERTS/ca.crt" --threads "$th" \
	    --timeout "$(tmo 10)" --file "$T/ids.$prefix"
}

pc_ok() {
	grep -q "^summary items=$1 ok=$1 failed=0" "$PC_OUT"
}

# count_of I FILE: how many "ID I" lines FILE has for broker I.
count_of() {
	awk -v b="$1" '$2 == b' "$2" | wc -l
}

# ------------------------------------------------------------ config errors

# bad_pool NAME KEY LINE_RE MSG_RE LISTENER_UPSTREAM POOL_LINE...: a config
# with one listener (upstream = LISTENER_UPSTREAM) and a pool "p" made of
# the POOL_LINEs; -t must exit 1 with FILE:LINE: KEY: (the line matching
# LINE_RE) and a message matching MSG_RE.
bad_pool() {
	local name=$1 key=$2 re=$3 msg=$4 up=$5 f line want
	shift 5
	f=$T/bad-${name//[^a-z0-9]/_}.ini
	{
		conf_global
		conf_listener main "$(free_port)" "upstream = $up"
		echo "[upstream p]"
		printf '%s\n' "$@"
	} | write_conf "$f"
	run_mqgate -t -c "$f"
	line=$(grep -nE -- "$re" "$f" | tail -n 1 | cut -d: -f1)
	want="$f:$line: $key:"
	if [ "$RC" -eq 1 ] && grep -F -- "$want" "$ERR" | grep -qE -- "$msg"; then
		ok "config: $name: -t exits 1 with '$want ...' /$msg/"
	else
		fail "config: $name: -t exits 1 (got $RC) with '$want ...' /$msg/" \
		    "$ERR" "$f"
	fi
}

S1=127.0.0.1:1883
bad_pool "unknown pool name" upstream '^upstream = nosuch' \
    "section named 'nosuch'" nosuch "server = $S1"
bad_pool "empty pool" "upstream p" '^\[upstream p\]' "no server" p \
    "balance = roundrobin"
bad_pool "bad server address (unclosed [)" server '^server = \[::1:1883' "." p \
    "server = [::1:1883"
bad_pool "bad server address (bad IPv6 literal)" server '^server = \[xyz' "." p \
    "server = [xyz::1]:1883"
bad_pool "bad server port (not a number)" server ':abc$' "." p \
    "server = 127.0.0.9:abc"
bad_pool "server without a port" server '^server = 127\.0\.0\.9$' "." p \
    "server = 127.0.0.9"
bad_pool "server port 0" server ':0$' "." p "server = 127.0.0.9:0"
bad_pool "server port 65536" server ':65536' "." p "server = 127.0.0.9:65536"
bad_pool "weight 0" server 'weight=0' "weight must be 1\.\.256" p \
    "server = $S1 weight=0"
bad_pool "weight 257" server 'weight=257' "weight must be 1\.\.256" p \
    "server = $S1 weight=257"
bad_pool "weight not a number" server 'weight=x' "weight must be 1\.\.256" p \
    "server = $S1 weight=x"
bad_pool "unknown server option" server 'heavy' "unknown option 'heavy'" p \
    "server = $S1 heavy"
bad_pool "duplicate server" server '^server = 127\.0\.0\.1:1884' "." p \
    "server = $S1" "server = 127.0.0.1:1883" "server = 127.0.0.1:1884" \
    "server = 127.0.0.1:1884"
bad_pool "every server a backup" "upstream p" '^\[upstream p\]' \
    "every server is a backup" p "server = $S1 backup" \
    "server = 127.0.0.1:1884 backup"
bad_pool "unknown balance" balance '^balance' "." p "server = $S1" \
    "balance = random"
bad_pool "health_fall 0" health_fall '^health_fall' "." p "server = $S1" \
    "health_fall = 0"
bad_pool "connect_retries 16" connect_retries '^connect_retries' "." p \
    "server = $S1" "connect_retries = 16"

# health_timeout >= health_interval: refused, at one of the two lines.
f=$T/bad-htimeout.ini
{
	conf_global
	conf_listener main "$(free_port)" "upstream = p"
	printf '[upstream p]\nserver = %s\nhealth_interval = 2\nhealth_timeout = 2\n' "$S1"
} | write_conf "$f"
run_mqgate -t -c "$f"
if [ "$RC" -eq 1 ] && grep -qE -- "^$f:[0-9]+: health_(timeout|interval):" "$ERR"; then
	ok "config: health_timeout = health_interval: -t exits 1 at file:line"
else
	fail "config: health_timeout = health_interval: -t exits 1 (got $RC) at file:line" \
	    "$ERR" "$f"
fi

# A pool named twice.
f=$T/bad-duppool.ini
{
	conf_global
	conf_listener main "$(free_port)" "upstream = p"
	printf '[upstream p]\nserver = %s\n\n[upstream p]\nserver = %s\n' "$S1" "$S1"
} | write_conf "$f"
run_mqgate -t -c "$f"
line=$(grep -n '^\[upstream p\]' "$f" | tail -n 1 | cut -d: -f1)
if [ "$RC" -eq 1 ] && grep -qF -- "$f:$line:" "$ERR"; then
	ok "config: a pool named twice: -t exits 1 at the second header ($f:$line:)"
else
	fail "config: a pool named twice: -t exits 1 (got $RC) at $f:$line:" "$ERR" "$f"
fi

# ------------------------------------------------------------ mqgate x 2

# A "broker" that takes TCP and never answers.
P_MUTE=$(free_port)
: >"$T/mute.out"
closefds "$PY" "$PC" mute --port "$P_MUTE" >"$T/mute.out" 2>&1 </dev/null &
track $!
wait_for "$(tmo 10)" grep -q '^listening' "$T/mute.out" ||
    bail "mute broker did not start" "$T/mute.out"

# Ports nothing listens on.
PC1=$(free_port)
PC2=$(free_port)
PC3=$(free_port)
PC4=$(free_port)
PC5=$(free_port)
PC6=$(free_port)
PC7=$(free_port)

V=2 # the broker that gets killed
O=1 # the backup of pool bk

# bk_round PREFIX: 4 clients PREFIX1..4 through pool bk, one at a time;
# r = how many reached its primary (V) / its backup (O).
bk_round() {
	bmark
	pc conn --port "${LP[bk]}" --ca "$CERTS/ca.crt" --threads 1 \
	    --timeout "$(tmo 10)" "${1}1" "${1}2" "${1}3" "${1}4"
	bmap "$1" >"$T/map.$1"
	r="$(count_of "$V" "$T/map.$1")/$(count_of "$O" "$T/map.$1")"
}

checked() { # the health settings of a checked pool
	echo "health_check = ${1:-mqtt}"
	echo "health_interval = $INTERVAL"
	echo "health_timeout = ${HTIMEOUT_MS}ms"
	echo "health_fall = $FALL"
	echo "health_rise = $RISE"
}

cluster_pool() { # NAME BALANCE
	echo "[upstream $1]"
	echo "server = ${BT[1]}"
	echo "server = ${BT[2]}"
	echo "server = ${BT[3]}"
	echo "balance = $2"
	echo "hash = rendezvous"
	checked
	echo "connect_retries = 2"
	echo
}

declare -A LP # listener (= pool) name -> port of instance A
POOLS_A="sticky src rr wt wch lc bk bk2 bkr bkr0 down retry noretry dead mute"
for l in $POOLS_A; do
	LP[$l]=$(free_port)
done
{
	conf_global "workers = 1"
	for l in $POOLS_A; do
		up=$l
		[ "$l" = sticky ] && up=cluster
		conf_listener "$l" "${LP[$l]}" "upstream = $up"
	done
	cluster_pool cluster clientid
	cluster_pool src source
	printf '[upstream rr]\nserver = %s\nserver = %s\nserver = %s\nbalance = roundrobin\nhealth_check = none\n\n' \
	    "${BT[1]}" "${BT[2]}" "${BT[3]}"
	printf '[upstream wt]\nserver = %s weight=2\nserver = %s\nserver = %s\nbalance = roundrobin\nhealth_check = none\n\n' \
	    "${BT[1]}" "${BT[2]}" "${BT[3]}"
	printf '[upstream wch]\nserver = %s weight=2\nserver = %s\nserver = %s\nbalance = clientid\nhealth_check = none\n\n' \
	    "${BT[1]}" "${BT[2]}" "${BT[3]}"
	printf '[upstream lc]\nserver = %s\nserver = %s\nserver = %s\nbalance = leastconn\nhealth_check = none\n\n' \
	    "${BT[1]}" "${BT[2]}" "${BT[3]}"
	printf '[upstream bk]\nserver = %s\nserver = %s backup\nbalance = roundrobin\n' \
	    "${BT[$V]}" "${BT[$O]}"
	checked
	printf '\n[upstream bk2]\nserver = 127.0.0.1:%s\nserver = %s backup\n' \
	    "$PC1" "${BT[1]}"
	checked tcp
	# A primary still counted up (no checks) that refuses: the retry
	# goes on to the backup; without retries it cannot.
	printf '\n[upstream bkr]\nserver = 127.0.0.1:%s\nserver = %s backup\nhealth_check = none\nconnect_retries = 1\n' \
	    "$PC7" "${BT[1]}"
	printf '\n[upstream bkr0]\nserver = 127.0.0.1:%s\nserver = %s backup\nhealth_check = none\nconnect_retries = 0\n' \
	    "$PC7" "${BT[1]}"
	printf '\n[upstream down]\nserver = 127.0.0.1:%s\n' "$PC2"
	checked tcp
	printf '\n[upstream retry]\nserver = 127.0.0.1:%s\nserver = %s\nbalance = roundrobin\nhealth_check = none\nconnect_retries = 2\n\n' \
	    "$PC3" "${BT[1]}"
	printf '[upstream noretry]\nserver = 127.0.0.1:%s\nserver = %s\nbalance = roundrobin\nhealth_check = none\nconnect_retries = 0\n\n' \
	    "$PC3" "${BT[1]}"
	printf '[upstream dead]\nserver = 127.0.0.1:%s\nserver = 127.0.0.1:%s\nserver = 127.0.0.1:%s\nbalance = roundrobin\nhealth_check = none\nconnect_retries = 2\n\n' \
	    "$PC4" "$PC5" "$PC6"
	printf '[upstream mute]\nserver = 127.0.0.1:%s\n' "$P_MUTE"
	checked
} | write_conf "$T/a.ini"

PB_STICKY=$(free_port)
{
	conf_global "workers = 2"
	conf_listener sticky "$PB_STICKY" "upstream = cluster"
	cluster_pool cluster clientid
} | write_conf "$T/b.ini"

run_mqgate -t -c "$T/a.ini"
if [ "$RC" -eq 0 ] && grep -qx 'configuration OK' "$OUT"; then
	ok "config: the pools of instance A pass -t"
else
	fail "config: the pools of instance A pass -t (rc=$RC)" "$ERR" "$T/a.ini"
fi

start_mqgate "$T/b.ini"
LOG_B=$LOG
PID_B=$MQGATE_PID
start_mqgate "$T/a.ini"
LOG_A=$LOG

# ------------------------------------------------------------ health checks

# A broker that never answers CONNACK: down with the timeout reason.
re="server mute/127\.0\.0\.1:$P_MUTE is down: timed out after $HTIMEOUT_MS ms waiting for CONNACK \($FALL failed checks?\)"
if wait_for "$(tmo $((2 + FALL * INTERVAL + 3)))" fhas "$LOG_A" 0 "$re"; then
	ok "health mqtt: a broker that never sends CONNACK is marked down: $(grep -oE 'is down: .*' "$LOG_A" | grep -m1 'waiting for CONNACK')"
else
	fail "health mqtt: a broker that never sends CONNACK is marked down (/$re/)" \
	    "$LOG_A" "$T/mute.out"
fi
if grep -qE "^connect id=mqgate-health-" "$T/mute.out"; then
	ok "health mqtt: the mute broker read a CONNECT from $(grep -m1 -oE 'mqgate-health-[^ ]+' "$T/mute.out")"
else
	fail "health mqtt: the mute broker read a CONNECT with id mqgate-health-..." \
	    "$T/mute.out"
fi

# Against a real broker: id, protocol 3.1.1 (p2), clean session (c1), and
# a DISCONNECT at the end ("disconnected", not "closed its connection").
HN=$(hostname 2>/dev/null || uname -n)
hc_seen() {
	grep -qE "New client connected from [^ ]+ as mqgate-health-[^ ]+ \(p2, c1," "${BLOG[1]}" &&
	    grep -qE "Client mqgate-health-[^ ]+ disconnected\." "${BLOG[1]}"
}
if wait_for "$(tmo 5)" hc_seen; then
	ok "health mqtt: broker 1 sees $(grep -m1 -oE 'as mqgate-health-[^ ]+ \(p2, c1, k[0-9]+\)' "${BLOG[1]}") and a DISCONNECT"
else
	fail "health mqtt: broker 1 sees mqgate-health-* (p2, c1) and its DISCONNECT" \
	    "${BLOG[1]}"
fi
hcid=$(grep -m1 -oE "as mqgate-health-[^ ]+ " "${BLOG[1]}")
hcid=${hcid#as }
hcid=${hcid% }
if [[ $hcid == "mqgate-health-$HN-"* ]] && [[ ${hcid##*-} =~ ^[0-9]+$ ]]; then
	ok "health mqtt: the check's client id is mqgate-health-$HN-<n> ($hcid)"
else
	fail "health mqtt: the check's client id is mqgate-health-$HN-<n> (got '$hcid')" "${BLOG[1]}"
fi
n=$(grep -cE "Client mqgate-health-[^ ]+ closed its connection" "${BLOG[1]}")
check "health mqtt: no check closes without DISCONNECT ($n)" [ "$n" -eq 0 ]

# tcp checks on closed ports (pools bk2 and down).
for p in "bk2/127.0.0.1:$PC1" "down/127.0.0.1:$PC2"; do
	re="server ${p//./\\.} is down: connect: Connection refused \($FALL failed checks?\)"
	if wait_for "$(tmo $((2 + FALL * INTERVAL + 3)))" fhas "$LOG_A" 0 "$re"; then
		ok "health tcp: $p (closed port) is marked down"
	else
		fail "health tcp: $p (closed port) is marked down (/$re/)" "$LOG_A"
	fi
done
n=$(grep -cE "server (cluster|src|bk)/.* is down" "$LOG_A")
check "health: no live broker was marked down ($n lines)" [ "$n" -eq 0 ]

# ------------------------------------------------------------ same id, same broker

# One subscriber straight on each broker.
for i in 1 2 3; do
	: >"$T/watch$i.out"
	timeout -k 2 "$(tmo 300)" stdbuf -oL mosquitto_sub -h "${BH[$i]}" \
	    -p "${BP[$i]}" -i "watch-$$-$i" -t 'pool-t/#' -v -d \
	    >"$T/watch$i.out" 2>&1 </dev/null &
	track $!
done
for i in 1 2 3; do
	wait_for "$(tmo 10)" grep -q 'received SUBACK' "$T/watch$i.out" ||
	    bail "subscriber on broker $i did not subscribe" "$T/watch$i.out"
done

# watcher_of MSG: the broker whose subscriber got MSG ("" if none yet).
watcher_of() {
	local i out=
	for i in 1 2 3; do
		grep -qF -- " $1" "$T/watch$i.out" && out="$out $i"
	done
	echo "${out# }"
}

watcher_has() {
	[ -n "$(watcher_of "$1")" ]
}

# via NAME LOGFILE PORT ID: publish (QoS 1) as ID through that instance;
# sets GOT (the broker whose subscriber got it) and UPS (upstream= of the
# publisher's connection line).
via() {
	local name=$1 log=$2 port=$3 id=$4 m msg line
	m=$(fmark "$log")
	msg=$id-$name-$RANDOM$RANDOM
	pub "$port" "pool-t/$id/$name" "$msg" -i "$id" -q 1 -V mqttv311 \
	    2>"$T/pub.err" || note "mosquitto_pub via $name as $id failed: $(cat "$T/pub.err")"
	wait_for "$(tmo 5)" watcher_has "$msg"
	GOT=$(watcher_of "$msg")
	UPS=
	if wait_for "$(tmo 5)" fhas "$log" "$m" " mqtt_client=$id .* reason="; then
		line=$(fsince "$log" "$m" | grep -E " mqtt_client=$id .* reason=" | tail -n 1)
		UPS=$(srv_of "$line")
	fi
}

for id in stick-a stick-b stick-c stick-d stick-e stick-f; do
	via A "$LOG_A" "${LP[sticky]}" "$id"
	ga=$GOT ua=$UPS
	via B "$LOG_B" "$PB_STICKY" "$id"
	gb=$GOT ub=$UPS
	if [ -n "$ga" ] && [ "${ga// /}" = "$ga" ] && [ "$ga" = "$gb" ]; then
		ok "clientid $id: through A and through B the message reaches broker $ga only"
	else
		fail "clientid $id: through A and B the same broker (A: '$ga', B: '$gb')" \
		    "$LOG_A" "$LOG_B"
	fi
	if [ -n "$ga" ] && [ "$ua" = "${BT[$ga]:-x}" ] && [ "$ub" = "$ua" ]; then
		ok "clientid $id: upstream=cluster/$ua in both logs"
	else
		fail "clientid $id: upstream= names broker $ga (${BT[$ga]:-?}) in both logs (A: '$ua', B: '$ub')" \
		    "$LOG_A" "$LOG_B"
	fi
done

# ------------------------------------------------------------ 300 client ids

# spread NAME PORT LOG PREFIX OUT: 300 ids through that listener; OUT gets
# "ID BROKER" from the brokers' logs; per-broker counts in CNT[1..3].
CNT=()
spread() {
	local name=$1 port=$2 log=$3 prefix=$4 out=$5 m i ups
	m=$(fmark "$log")
	bmark
	conn_ids "$port" "$prefix" 300 8
	if pc_ok 300; then
		ok "$name: 300 client ids get CONNACK 0"
	else
		fail "$name: 300 client ids get CONNACK 0: $(tail -n 1 "$PC_OUT")" \
		    "$PC_OUT" "$log"
	fi
	bmap "$prefix" | sort >"$out"
	for i in 1 2 3; do
		CNT[$i]=$(count_of "$i" "$out")
	done
	# The mqgate log: upstream= of the 300 connection lines.
	wait_for "$(tmo 10)" nconn_ge "$log" "$m" sticky 300
	conn_lines "$log" "$m" sticky | field upstream | sed 's#^cluster/##' | sort | uniq -c >"$out.mq"
	for i in 1 2 3; do
		ups=$(awk -v s="${BT[$i]}" '$2 == s { print $1 }' "$out.mq")
		if [ "${ups:-0}" = "${CNT[$i]}" ]; then
			ok "$name: broker $i: $ups connections in the mqgate log (upstream=cluster/${BT[$i]}), as in its own log"
		else
			fail "$name: broker $i: mqgate log upstream= count '${ups:-0}' = broker log count ${CNT[$i]}" \
			    "$out.mq"
		fi
	done
}

spread "clientid via A" "${LP[sticky]}" "$LOG_A" cid- "$T/map.a"
note "300 client ids via A: broker1=${CNT[1]} broker2=${CNT[2]} broker3=${CNT[3]}"
[ "$(wc -l <"$T/map.a")" -eq 300 ] && [ "$(cut -d" " -f1 "$T/map.a" | sort -u | wc -l)" -eq 300 ]
verdict $? "300 client ids: $(wc -l <"$T/map.a") reached a broker, each once"
for i in 1 2 3; do
	[ "${CNT[$i]}" -ge 70 ] && [ "${CNT[$i]}" -le 130 ]
	verdict $? "300 client ids: broker $i gets ${CNT[$i]} (70..130)"
done
SPREAD="${CNT[1]}/${CNT[2]}/${CNT[3]}"

spread "clientid via B" "$PB_STICKY" "$LOG_B" cid- "$T/map.b"
if cmp -s "$T/map.a" "$T/map.b"; then
	ok "300 client ids: instance B (2 workers) sends every id to the same broker as A"
else
	fail "300 client ids: instance B sends every id to the same broker as A ($(diff "$T/map.a" "$T/map.b" | grep -c '^>') differ)" \
	    "$T/map.b"
fi

# ------------------------------------------------------------ empty client id

# 12 client addresses, an empty client id each: twice through A, twice
# through B, once through the balance = source pool.
SRCS=$(seq -f '127.0.0.%g' 10 21)
# src_map NAME PORT LOG LISTENER: connect once from every source; OUT
# $T/src.NAME gets "SOURCE SERVER" from the mqgate log.
src_map() {
	local name=$1 port=$2 log=$3 listener=$4 m items=()
	m=$(fmark "$log")
	for s in $SRCS; do
		items+=("@$s")
	done
	pc conn --port "$port" --ca "$CERTS/ca.crt" --threads 4 \
	    --timeout "$(tmo 10)" "${items[@]}"
	pc_ok 12 || fail "empty client id ($name): 12 clients get CONNACK 0" "$PC_OUT"
	wait_for "$(tmo 10)" nconn_ge "$log" "$m" "$listener" 12
	conn_lines "$log" "$m" "$listener" | while IFS= read -r line; do
		c=$(field client <<<"$line")
		echo "${c%:*} $(srv_of "$line")"
	done | sort >"$T/src.$name"
}
src_map a1 "${LP[sticky]}" "$LOG_A" sticky
src_map a2 "${LP[sticky]}" "$LOG_A" sticky
src_map b1 "$PB_STICKY" "$LOG_B" sticky
src_map b2 "$PB_STICKY" "$LOG_B" sticky
src_map s "${LP[src]}" "$LOG_A" src
nsrv=$(cut -d' ' -f2 "$T/src.a1" | sort -u | wc -l)
if [ "$(wc -l <"$T/src.a1")" -eq 12 ] && cmp -s "$T/src.a1" "$T/src.a2" &&
    cmp -s "$T/src.a1" "$T/src.b1" && cmp -s "$T/src.a1" "$T/src.b2"; then
	ok "empty client id: each of 12 client addresses always reaches the same broker, through A and B ($nsrv brokers used)"
else
	fail "empty client id: each client address always reaches the same broker through A and B" \
	    "$T/src.a1" "$T/src.a2" "$T/src.b1" "$T/src.b2"
fi
check "empty client id: the 12 addresses do not all go to one broker ($nsrv)" \
    [ "$nsrv" -ge 2 ]
if cmp -s "$T/src.a1" "$T/src.s"; then
	ok "empty client id: the same broker as balance = source for every address"
else
	fail "empty client id: the same broker as balance = source for every address" \
	    "$T/src.a1" "$T/src.s"
fi

# ------------------------------------------------------------ roundrobin, weights

bmark
pc conn --port "${LP[rr]}" --ca "$CERTS/ca.crt" --threads 1 \
    --timeout "$(tmo 10)" rr-1 rr-2 rr-3 rr-4 rr-5 rr-6
pc_ok 6 || fail "roundrobin: 6 clients get CONNACK 0" "$PC_OUT"
seq6=
for k in 1 2 3 4 5 6; do
	seq6="$seq6$(bwhere "rr-$k")"
done
check "roundrobin, workers = 1: 6 connections one after the other go to brokers 123123 (got $seq6)" \
    [ "$seq6" = 123123 ]
bmark
conn_ids "${LP[rr]}" rrx- 30 4
pc_ok 30 || fail "roundrobin: 30 clients get CONNACK 0" "$PC_OUT"
bmap rrx- >"$T/map.rr"
r="$(count_of 1 "$T/map.rr")/$(count_of 2 "$T/map.rr")/$(count_of 3 "$T/map.rr")"
check "roundrobin: 30 concurrent connections split 10/10/10 (got $r)" [ "$r" = 10/10/10 ]

bmark
conn_ids "${LP[wt]}" wt- 40 4
pc_ok 40 || fail "weights: 40 clients get CONNACK 0" "$PC_OUT"
bmap wt- >"$T/map.wt"
r="$(count_of 1 "$T/map.wt")/$(count_of 2 "$T/map.wt")/$(count_of 3 "$T/map.wt")"
check "roundrobin weights 2,1,1: 40 connections split 20/10/10 (got $r)" \
    [ "$r" = 20/10/10 ]

bmark
conn_ids "${LP[wch]}" w- 450 8
pc_ok 450 || fail "weights: 450 clients get CONNACK 0" "$PC_OUT"
bmap w- >"$T/map.wch"
w1=$(count_of 1 "$T/map.wch")
w2=$(count_of 2 "$T/map.wch")
w3=$(count_of 3 "$T/map.wch")
WSPREAD="$w1/$w2/$w3"
[ "$w1" -ge 185 ] && [ "$w1" -le 265 ] && [ "$w2" -ge 75 ] &&
    [ "$w2" -le 150 ] && [ "$w3" -ge 75 ] && [ "$w3" -le 150 ]
verdict $? "clientid weights 2,1,1: 450 ids split about 225/112/112 (got $WSPREAD; 185..265, 75..150 each)"

# ------------------------------------------------------------ leastconn

declare -A HOLD
hold_open() {
	: >"$T/hold.$1"
	"$PY" "$PC" hold --port "${LP[lc]}" --ca "$CERTS/ca.crt" \
	    --timeout "$(tmo 10)" --id "$1" >"$T/hold.$1" 2>&1 </dev/null &
	HOLD[$1]=$!
	track "${HOLD[$1]}"
	wait_for "$(tmo 10)" grep -q '^connack=0x00' "$T/hold.$1" &&
	    wait_for "$(tmo 5)" on_a_broker "$1"
}

on_a_broker() {
	[ -n "$(bwhere "$1")" ]
}

hold_close() {
	kill -TERM "${HOLD[$1]}" 2>/dev/null
	wait "${HOLD[$1]}" 2>/dev/null
}

bmark
lcfail=0
for k in 1 2 3 4 5 6; do
	hold_open "lc-$k" || lcfail=1
done
declare -A LCB
held=()
for k in 1 2 3 4 5 6; do
	LCB[lc-$k]=$(bwhere "lc-$k")
	held[${LCB[lc-$k]:-0}]=$((${held[${LCB[lc-$k]:-0}]:-0} + 1))
done
r="${held[1]:-0}/${held[2]:-0}/${held[3]:-0}"
[ "$lcfail" = 0 ] && [ "$r" = 2/2/2 ]
verdict $? "leastconn: 6 held connections opened one by one split 2/2/2 (got $r)"
# Keep the two on lc-1's broker, close the other four.
X=${LCB[lc-1]}
m=$(fmark "$LOG_A")
for k in 2 3 4 5 6; do
	[ "${LCB[lc-$k]}" = "$X" ] || hold_close "lc-$k"
done
wait_for "$(tmo 10)" nconn_ge "$LOG_A" "$m" lc 4 ||
    fail "leastconn: the 4 closed connections are logged" "$LOG_A"
newb=
for k in 7 8 9 10; do
	hold_open "lc-$k" || lcfail=1
	newb="$newb$(bwhere "lc-$k")"
done
n_x=$(tr -cd "$X" <<<"$newb" | wc -c)
others=$(tr -d "$X" <<<"$newb" | fold -w1 | sort | uniq -c | awk '{ printf "%s", $1 }')
[ "$lcfail" = 0 ] && [ "$n_x" -eq 0 ] && [ "$others" = 22 ]
verdict $? "leastconn: with 2 held on broker $X, the next 4 go to the other two, 2 each (got $newb)"
for k in 1 2 3 4 5 6 7 8 9 10; do
	hold_close "lc-$k"
done
n=$(grep -c '^closed' "$T"/hold.lc-* | awk -F: '{ s += $2 } END { print s + 0 }')
check "leastconn: no held connection was closed by mqgate ($n)" [ "$n" -eq 0 ]

# ------------------------------------------------------------ backup

bk_round bk-
pc_ok 4 && [ "$r" = 4/0 ]
verdict $? "backup: while the primary is up it takes all 4 connections, the backup none (primary/backup $r)"

# Backup while the non-backup server is down (closed port, marked down).
bmark
pc conn --port "${LP[bk2]}" --ca "$CERTS/ca.crt" --threads 1 \
    --timeout "$(tmo 10)" bk2-1 bk2-2 bk2-3
r=$(bmap bk2- | awk '{ print $2 }' | sort | uniq -c | awk '{ printf "%s:%s ", $2, $1 }')
pc_ok 3 && [ "$r" = "1:3 " ]
verdict $? "backup: with the only primary down, 3 connections reach the backup, broker 1 ($r)"

# Backup reached by a retry: the primary is counted up (health_check =
# none) but refuses; the client is not closed while the backup can take it.
m=$(fmark "$LOG_A")
bmark
pc conn --port "${LP[bkr]}" --ca "$CERTS/ca.crt" --timeout "$(tmo 10)" bkr-1
pc_ok 1 && [ "$(bwhere bkr-1)" = 1 ]
verdict $? "backup: a primary counted up that refuses: the retry reaches the backup, CONNACK 0 from broker 1 ($(head -n 1 "$PC_OUT"))"
re="connected to bkr/${BT[1]//./\\.} after bkr/127\.0\.0\.1:$PC7 \(Connection refused\)\$"
if wait_for "$(tmo 5)" fhas "$LOG_A" "$m" "$re"; then
	ok "backup: the log names the primary tried first: '$(fsince "$LOG_A" "$m" | grep -m1 -E "$re" | cut -d' ' -f3-)'"
else
	fail "backup: the log names the primary tried first (/$re/)" "$LOG_A"
fi
m=$(fmark "$LOG_A")
pc conn --port "${LP[bkr0]}" --ca "$CERTS/ca.crt" --timeout "$(tmo 10)" bkr0-1
check "backup: with connect_retries = 0 the refusing primary is the only try: no CONNACK ($(head -n 1 "$PC_OUT"))" \
    grep -q '^bkr0-1 error=' "$PC_OUT"
if wait_for "$(tmo 5)" nconn_ge "$LOG_A" "$m" bkr0 1; then
	det=$(conn_lines "$LOG_A" "$m" bkr0 | tail -n 1 | field detail)
	check "backup: connect_retries = 0 names only the primary: $det" \
	    [ "$det" = "\"tried bkr0/127.0.0.1:$PC7 (Connection refused)\"" ]
else
	fail "backup: connect_retries = 0: the connection is logged" "$LOG_A"
fi

# ------------------------------------------------------------ connect_retries

m=$(fmark "$LOG_A")
bmark
pc conn --port "${LP[retry]}" --ca "$CERTS/ca.crt" --timeout "$(tmo 10)" retry-1
pc_ok 1 && [ "$(bwhere retry-1)" = 1 ]
verdict $? "connect_retries: first candidate a closed port, the client still gets CONNACK 0 from broker 1"
if wait_for "$(tmo 5)" nconn_ge "$LOG_A" "$m" retry 1; then
	line=$(conn_lines "$LOG_A" "$m" retry | tail -n 1)
	check "connect_retries: its line says upstream=retry/${BT[1]}" \
	    [ "$(field upstream <<<"$line")" = "retry/${BT[1]}" ]
	re="conn=$(field conn <<<"$line"): connected to retry/${BT[1]//./\\.} after retry/127\.0\.0\.1:$PC3 \(Connection refused\)\$"
	if fhas "$LOG_A" "$m" "$re"; then
		ok "connect_retries: the log names the failed server: '$(fsince "$LOG_A" "$m" | grep -m1 -E "$re" | cut -d' ' -f3-)'"
	else
		fail "connect_retries: the log names the failed server (/$re/)" "$LOG_A"
	fi
else
	fail "connect_retries: the connection is logged" "$LOG_A"
fi

m=$(fmark "$LOG_A")
pc conn --port "${LP[noretry]}" --ca "$CERTS/ca.crt" --timeout "$(tmo 10)" noretry-1
check "connect_retries = 0: first candidate closed: no CONNACK ($(head -n 1 "$PC_OUT"))" \
    grep -q '^noretry-1 error=' "$PC_OUT"
if wait_for "$(tmo 5)" nconn_ge "$LOG_A" "$m" noretry 1; then
	line=$(conn_lines "$LOG_A" "$m" noretry | tail -n 1)
	det=$(field detail <<<"$line")
	if [[ $line == *" reason=upstream_connect_failed"* ]] &&
	    [[ $det == *"noretry/127.0.0.1:$PC3 (Connection refused)"* ]] &&
	    [[ $det != *"noretry/${BT[1]}"* ]]; then
		ok "connect_retries = 0: upstream_connect_failed naming only the closed server: $det"
	else
		fail "connect_retries = 0: upstream_connect_failed naming only noretry/127.0.0.1:$PC3: $line"
	fi
else
	fail "connect_retries = 0: the connection is logged" "$LOG_A"
fi

m=$(fmark "$LOG_A")
pc conn --port "${LP[dead]}" --ca "$CERTS/ca.crt" --timeout "$(tmo 10)" dead-1
check "all servers closed: the client gets no CONNACK ($(head -n 1 "$PC_OUT"))" \
    grep -q '^dead-1 error=' "$PC_OUT"
if wait_for "$(tmo 5)" nconn_ge "$LOG_A" "$m" dead 1; then
	line=$(conn_lines "$LOG_A" "$m" dead | tail -n 1)
	det=$(field detail <<<"$line")
	nt=0
	for p in "$PC4" "$PC5" "$PC6"; do
		[[ $det == *"dead/127.0.0.1:$p (Connection refused)"* ]] && nt=$((nt + 1))
	done
	if [[ $line == *" reason=upstream_connect_failed"* ]] && [ "$nt" -eq 3 ]; then
		ok "all servers closed: upstream_connect_failed naming all 3 servers tried: $det"
	else
		fail "all servers closed: upstream_connect_failed naming all 3 servers ($nt named): $line"
	fi
	up=$(field upstream <<<"$line")
	[[ $up == dead/127.0.0.1:* ]]
	verdict $? "all servers closed: upstream= names the last one tried ($up)"
else
	fail "all servers closed: the connection is logged" "$LOG_A"
fi

m=$(fmark "$LOG_A")
pc conn --port "${LP[down]}" --ca "$CERTS/ca.crt" --timeout "$(tmo 10)" down-1
check "every server down: the client gets no CONNACK ($(head -n 1 "$PC_OUT"))" \
    grep -q '^down-1 error=' "$PC_OUT"
if wait_for "$(tmo 5)" nconn_ge "$LOG_A" "$m" down 1; then
	line=$(conn_lines "$LOG_A" "$m" down | tail -n 1)
	if [[ $line == *" upstream=down "*" reason=upstream_connect_failed detail=\"no server up in pool down\""* ]]; then
		ok "every server down: upstream=down reason=upstream_connect_failed detail=\"no server up in pool down\""
	else
		fail "every server down: upstream=down, no server up in pool down: $line"
	fi
else
	fail "every server down: the connection is logged" "$LOG_A"
fi

# ------------------------------------------------------------ a broker dies

# Pick long-lived subscriber ids: one that hashes to the victim, one to
# each survivor (found through A, each connects and leaves once).
bmark
conn_ids "${LP[sticky]}" hold- 30 4
bmap hold- >"$T/map.hold"
pick() {
	awk -v b="$1" '$2 == b { print $1; exit }' "$T/map.hold"
}
SV=$(pick "$V")
SURV=()
for i in 1 2 3; do
	[ "$i" = "$V" ] || SURV+=("$i")
done
SA=$(pick "${SURV[0]}")
SB=$(pick "${SURV[1]}")
if [ -z "$SV" ] || [ -z "$SA" ] || [ -z "$SB" ]; then
	bail "no subscriber id for every broker among 30" "$T/map.hold"
fi

# lsub ID: mosquitto_sub through A with a fixed client id, reconnecting by
# itself (the default), -d so that every CONNACK shows.
LSUB_PIDS=()
lsub() {
	: >"$T/lsub.$1"
	timeout -k 2 "$(tmo 300)" stdbuf -oL mosquitto_sub -h 127.0.0.1 \
	    -p "${LP[sticky]}" --cafile "$CERTS/ca.crt" -V mqttv311 -i "$1" \
	    -t "pool-l/$1" -v -d >"$T/lsub.$1" 2>&1 </dev/null &
	track $!
	LSUB_PIDS+=($!)
}
nconnack() {
	grep -c 'received CONNACK' "$T/lsub.$1"
}
nsuback_ge() {
	[ "$(grep -c 'received SUBACK' "$T/lsub.$1")" -ge "$2" ]
}
bmark
for id in "$SV" "$SA" "$SB"; do
	lsub "$id"
done
for id in "$SV" "$SA" "$SB"; do
	wait_for "$(tmo 10)" nsuback_ge "$id" 1 ||
	    bail "long-lived subscriber $id did not subscribe" "$T/lsub.$id" "$LOG_A"
done
[ "$(bwhere "$SV")" = "$V" ] && [ "$(bwhere "$SA")" = "${SURV[0]}" ] &&
    [ "$(bwhere "$SB")" = "${SURV[1]}" ]
verdict $? "long-lived subscribers: $SV on broker $V, $SA on ${SURV[0]}, $SB on ${SURV[1]}"

MA=$(fmark "$LOG_A")
MB=$(fmark "$LOG_B")
bmark
stop_pool_broker "$V"
T_KILL=$(now_ms)
note "killed broker $V (${BT[$V]})"

# down_ms LOG MARK POOL: ms from the kill to POOL's "is down" line for V.
down_ms() {
	local re line
	re="server $3/${BT[$V]//./\\.} is down: "
	wait_for "$(tmo $((FALL * INTERVAL + 5)))" fhas "$1" "$2" "$re" || return 1
	line=$(fsince "$1" "$2" | grep -m1 -E -- "$re")
	echo $(($(log_ms "$line") - T_KILL))
}
LIM=$((FALL * INTERVAL * 1000 + HTIMEOUT_MS + 500 * TIMEOUT_SCALE))
LOW=$(((FALL - 1) * INTERVAL * 1000 - 250))
for inst in A B; do
	if [ "$inst" = A ]; then lg=$LOG_A mk=$MA; else lg=$LOG_B mk=$MB; fi
	if ms=$(down_ms "$lg" "$mk" cluster); then
		eval "DOWN_$inst=$ms"
		check "kill: instance $inst marks broker $V down after ${ms} ms (<= $FALL x ${INTERVAL}s + ${HTIMEOUT_MS}ms + slack = $LIM ms)" \
		    [ "$ms" -le "$LIM" ]
		check "kill: instance $inst does not mark it down before $FALL failed checks (${ms} ms >= $LOW ms)" \
		    [ "$ms" -ge "$LOW" ]
		ln=$(fsince "$lg" "$mk" | grep -m1 -E "server cluster/${BT[$V]//./\\.} is down: ")
		if grep -qE "is down: (connect: Connection refused|connect: Connection reset by peer|closed before CONNACK) \($FALL failed checks?\)\$" <<<"$ln"; then
			ok "kill: instance $inst: '$(cut -d' ' -f3- <<<"$ln")'"
		else
			fail "kill: instance $inst: 'is down: <reason> ($FALL failed checks)': $ln" "$lg"
		fi
	else
		eval "DOWN_$inst=none"
		fail "kill: instance $inst marks broker $V down (no 'is down' line)" "$lg"
	fi
done

# The victim's subscriber: closed by mqgate, reconnected to a survivor.
if wait_for "$(tmo 10)" fhas "$LOG_A" "$MA" " mqtt_client=$SV .* reason="; then
	line=$(fsince "$LOG_A" "$MA" | grep -m1 -E " mqtt_client=$SV .* reason=")
	check "kill: $SV's connection through A ends with upstream=cluster/${BT[$V]} ($(field reason <<<"$line"))" \
	    [ "$(srv_of "$line")" = "${BT[$V]}" ]
else
	fail "kill: $SV's connection through A is closed and logged" "$LOG_A"
fi
if wait_for "$(tmo 10)" nsuback_ge "$SV" 2; then
	nb=$(bwhere "$SV")
	[ -n "$nb" ] && [ "$nb" != "$V" ] && [ "${nb// /}" = "$nb" ]
	verdict $? "kill: $SV reconnects through A to a surviving broker ($nb)"
	for i in "${SURV[@]}"; do
		timeout -k 2 "$(tmo 10)" mosquitto_pub -h "${BH[$i]}" \
		    -p "${BP[$i]}" -t "pool-l/$SV" -m "after-$SV" -q 1 2>/dev/null
	done
	check "kill: $SV receives messages on its new broker" \
	    wait_for "$(tmo 5)" grep -qx "pool-l/$SV after-$SV" "$T/lsub.$SV"
else
	fail "kill: $SV reconnects through A (second SUBACK)" "$T/lsub.$SV" "$LOG_A"
fi

# The survivors' subscribers: still there, on their first connection.
i=0
for id in "$SA" "$SB"; do
	b=${SURV[$i]}
	i=$((i + 1))
	timeout -k 2 "$(tmo 10)" mosquitto_pub -h "${BH[$b]}" -p "${BP[$b]}" \
	    -t "pool-l/$id" -m "after-$id" -q 1 2>/dev/null
	check "kill: $id (broker $b) still receives messages" \
	    wait_for "$(tmo 5)" grep -qx "pool-l/$id after-$id" "$T/lsub.$id"
	check "kill: $id was not reconnected (1 CONNACK, got $(nconnack "$id"))" \
	    [ "$(nconnack "$id")" -eq 1 ]
	n=$(fcount "${BLOG[$b]}" "${BM[$b]}" " as $id \(|Client $id (closed|disconnected)")
	check "kill: broker $b saw no new connection or close of $id ($n lines)" [ "$n" -eq 0 ]
	if fhas "$LOG_A" "$MA" " mqtt_client=$id "; then
		fail "kill: no connection line for $id in A's log (its connection lives on)" "$LOG_A"
	else
		ok "kill: no connection line for $id in A's log (its connection lives on)"
	fi
done

# Only the victim's ids move, to both survivors.
spread_after() {
	local out=$1
	bmark
	conn_ids "${LP[sticky]}" cid- 300 8
	pc_ok 300 || fail "300 client ids get CONNACK 0 ($2)" "$PC_OUT"
	bmap cid- | sort >"$out"
}
spread_after "$T/map.down" "broker $V down"
moved=$(join "$T/map.a" "$T/map.down" | awk '$2 != $3' | wc -l)
stay_moved=$(join "$T/map.a" "$T/map.down" | awk -v v="$V" '$2 != v && $2 != $3' | wc -l)
vict=$(awk -v v="$V" '$2 == v' "$T/map.a" | wc -l)
to_a=$(join "$T/map.a" "$T/map.down" | awk -v v="$V" -v s="${SURV[0]}" '$2 == v && $3 == s' | wc -l)
to_b=$(join "$T/map.a" "$T/map.down" | awk -v v="$V" -v s="${SURV[1]}" '$2 == v && $3 == s' | wc -l)
check "broker $V down: all 300 ids get through ($(wc -l <"$T/map.down") mapped)" \
    [ "$(wc -l <"$T/map.down")" -eq 300 ]
check "broker $V down: none of the ids of the other brokers moved ($stay_moved)" \
    [ "$stay_moved" -eq 0 ]
[ "$moved" -eq "$vict" ] && [ "$to_a" -gt 0 ] && [ "$to_b" -gt 0 ] &&
    [ $((to_a + to_b)) -eq "$vict" ]
verdict $? "broker $V down: its $vict ids moved ($moved), to both survivors ($to_a + $to_b)"

# Backup: with the primary down the backup takes the connections.
wait_for "$(tmo 10)" fhas "$LOG_A" "$MA" "server bk/${BT[$V]//./\\.} is down" ||
    fail "kill: pool bk marks its primary down" "$LOG_A"
bk_round bkd-
pc_ok 4 && [ "$r" = 0/4 ]
verdict $? "backup: with the primary down the backup takes all 4 connections (primary/backup $r)"

# ------------------------------------------------------------ it comes back

MA=$(fmark "$LOG_A")
MB=$(fmark "$LOG_B")
T_UP=$(now_ms)
start_pool_broker "$V" || bail "broker $V did not restart" "${BLOG[$V]}"
ULIM=$((RISE * INTERVAL * 1000 + HTIMEOUT_MS + 500 * TIMEOUT_SCALE))
for inst in A B; do
	if [ "$inst" = A ]; then lg=$LOG_A mk=$MA; else lg=$LOG_B mk=$MB; fi
	re="server cluster/${BT[$V]//./\\.} is up \($RISE good checks?\)"
	if wait_for "$(tmo $((RISE * INTERVAL + 5)))" fhas "$lg" "$mk" "$re"; then
		line=$(fsince "$lg" "$mk" | grep -m1 -E -- "$re")
		ms=$(($(log_ms "$line") - T_UP))
		eval "UP_$inst=$ms"
		check "restart: instance $inst logs '$(cut -d' ' -f3- <<<"$line")' ${ms} ms after the broker was started (<= $ULIM ms)" \
		    [ "$ms" -le "$ULIM" ]
	else
		eval "UP_$inst=none"
		fail "restart: instance $inst logs /$re/" "$lg"
	fi
done

spread_after "$T/map.up" "broker $V back"
if cmp -s "$T/map.a" "$T/map.up"; then
	ok "restart: every one of the 300 ids is back on its first broker ($(count_of "$V" "$T/map.up") on broker $V)"
else
	fail "restart: every one of the 300 ids is back on its first broker ($(join "$T/map.a" "$T/map.up" | awk '$2 != $3' | wc -l) differ)" \
	    "$T/map.up"
fi
# The subscriber straight on broker V reconnects by itself.
watch_back() {
	[ "$(grep -c 'received SUBACK' "$T/watch$V.out")" -ge 2 ]
}
wait_for "$(tmo 10)" watch_back ||
    fail "restart: the subscriber on broker $V resubscribes" "$T/watch$V.out"
bmark
via A "$LOG_A" "${LP[sticky]}" "$SV"
[ "$GOT" = "$V" ] && [ "$UPS" = "${BT[$V]}" ]
verdict $? "restart: a new client $SV through A reaches broker $V again (subscriber there got it: '$GOT', upstream=$UPS)"

wait_for "$(tmo 10)" fhas "$LOG_A" "$MA" "server bk/${BT[$V]//./\\.} is up" ||
    fail "restart: pool bk marks its primary up" "$LOG_A"
bk_round bku-
pc_ok 4 && [ "$r" = 4/0 ]
verdict $? "backup: with the primary back the backup is left again (primary/backup $r)"

# ------------------------------------------------------------ the end

note "measured: clientid spread $SPREAD; weighted clientid $WSPREAD;" \
    "down after ${DOWN_A:-?} ms (A) / ${DOWN_B:-?} ms (B);" \
    "up after ${UP_A:-?} ms (A) / ${UP_B:-?} ms (B)"
# The long-lived subscribers go first, so that nothing is left to drain.
for p in "${LSUB_PIDS[@]}"; do
	kill -TERM "$p" 2>/dev/null
	wait "$p" 2>/dev/null
done
stop_mqgate
LOG=$LOG_B
MQGATE_PID=$PID_B
stop_mqgate
