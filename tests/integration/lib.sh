# shellcheck shell=bash
# lib.sh: shared harness for the integration tests (tests/integration/t_*.sh).
# It starts real mosquitto brokers and the mqgate daemon on loopback, drives
# mosquitto_pub/sub and openssl s_client through them, and turns what it
# observes into "ok - ..." / "not ok - ..." lines. It owns a per-test temp dir
# and every process it starts; nothing outlives the test. Sourced, never run.
#
# Run by hand from the source tree:
#   MQGATE=build/src/mqgate TOP_SRCDIR=$PWD bash tests/integration/t_verify.sh
#
# Environment (make check sets all three; by hand the defaults usually do):
#   MQGATE        the daemon binary  (default $TOP_BUILDDIR/src/mqgate)
#   TOP_SRCDIR    source tree        (default: two levels above this file)
#   TOP_BUILDDIR  build tree         (default $TOP_SRCDIR/build)
#   TIMEOUT_SCALE multiplies every timeout (default 1, 4 for an ASan binary)
#   KEEP_TMP=1    keep the temp dir (it is always kept when a check failed)
#   ASAN_OPTIONS  defaults to detect_leaks=1:abort_on_error=0
#
# Variables set for the test:
#   T            per-test temp dir (mktemp -d), removed at exit
#   CERTS        the shared generated PKI (scripts/gen-certs), read-only
#   LOG          log file (stdout+stderr) of the current mqgate
#   MQGATE_PID   pid of the current mqgate ("" when none)
#   BROKER_PORT BROKER_PID BROKER_LOG   the last broker started
#   MQ_HOST      address clients connect to (127.0.0.1; may be set to ::1)
#   PY           python3 to run helpers with (stdlib only)
#   SEQ          counter for unique file names: SEQ=$((SEQ + 1))
#
# Assertions (every check prints exactly one line; the script exits 1 at
# the end when any failed, 0 otherwise):
#   ok MSG                    print "ok - MSG"
#   fail MSG [FILE...]        print "not ok - MSG" and the tail of each FILE
#                             (default: $LOG) as "#" comments
#   check MSG CMD...          run CMD: ok MSG if it succeeds, else fail
#   bail MSG [FILE...]        fail, then stop the test at once
#   note MSG                  print "# MSG"
#   need CMD...               skip the test (exit 77) if a CMD is missing
#   require CMD...            hard error (exit 99) if a CMD is missing
#
# Processes and ports:
#   free_port                 print a free loopback port (127.0.0.1 and ::1)
#                             reserved for this test; safe in parallel
#   port_is_free PORT [strict] true if PORT can be bound on 127.0.0.1 and ::1
#                             (with SO_REUSEADDR unless strict)
#   have_ipv6                 true if ::1 can be bound here
#   certs_dir                 print the PKI dir, generating it once per
#                             gen-certs version under a flock
#   start_broker              mosquitto on 127.0.0.1:free port, anonymous;
#                             sets BROKER_PORT BROKER_PID BROKER_LOG
#   broker_conf HOST PORT [LINE...]
#                             print a mosquitto config for HOST:PORT (stderr
#                             log, connection messages) plus the LINEs
#   conf_global [LINE...]     print a [global] section; "workers = 2" unless
#                             a LINE sets workers
#   conf_listener NAME PORT [LINE...]
#                             print [listener NAME] with bind 127.0.0.1:PORT
#                             (none when PORT is "-"), upstream = the broker,
#                             certfile/keyfile = server.pem/server.key, each
#                             default dropped when a LINE sets that key
#   write_conf FILE           write stdin to FILE (use with the two above)
#   start_mqgate CONF [ARG...]  run "$MQGATE -c CONF ARG..." in the background,
#                             log to a fresh $LOG, wait for "ready"; bails
#                             with the log if it exits or times out
#   stop_mqgate [TIMEOUT]     SIGTERM, bounded wait, check exit status 0 and
#                             that the log has no sanitizer report
#   signal_mqgate SIG         send SIG to the current mqgate
#   wait_mqgate_exit [TIMEOUT] wait for it to exit; sets MQGATE_RC
#   run_mqgate ARG...         run "$MQGATE ARG..." in the foreground (bounded,
#                             stdin /dev/null); sets RC, OUT, ERR (files)
#   MQGATE_PREFIX=(CMD...)    array put before "$MQGATE" by the two above; an
#                             external command that execs its arguments
#   nofile_limit N            set MQGATE_PREFIX so mqgate starts with
#                             RLIMIT_NOFILE soft = hard = N ("" = unset)
#   track PID...              kill PID (if still our child) when the test ends;
#                             start helpers as "closefds CMD... &; track $!"
#   closefds CMD...           exec CMD with every inherited fd above 2 closed
#   pid_alive PID             true while PID runs (zombies count as dead)
#   fd_count PID              number of open fds of PID
#   rss_kb PID                resident set size of PID in KiB
#   tmo SECONDS               SECONDS * TIMEOUT_SCALE
#   wait_for SECONDS CMD...   poll CMD until it succeeds; false on timeout
#
# The mqgate log (all patterns are grep -E, searched after the mark):
#   log_mark                  only lines written from now on count
#   wait_log PATTERN [TIMEOUT]  wait for a matching line (default 10 s)
#   log_count PATTERN         print the number of matching lines
#   log_since                 print the lines after the mark
#   assert_log MSG PATTERN [TIMEOUT]   wait_log, then ok/fail
#   assert_no_log MSG PATTERN          ok when no line matches
#   wait_conn LISTENER REASON [TIMEOUT]
#                             wait for the per-connection line of LISTENER
#                             with reason=REASON (a regex); sets CONN_LINE
#   conn_field NAME           print field NAME= of CONN_LINE
#
# Clients (all under timeout; CERT is a base name in $CERTS, e.g. "client"):
#   pub [-c CERT] PORT TOPIC MSG [ARG...]   mosquitto_pub via mqgate (TLS)
#   sub [-c CERT] PORT TOPIC [ARG...]       mosquitto_sub -C 1 via mqgate;
#                                           prints the message
#   deliver [-c CERT] PORT    publish a unique retained message through
#                             mqgate on PORT, then read it back straight from
#                             the broker; true if it arrived. Sets
#                             DELIVER_ERR (file with the clients' stderr)
#   mqtt_probe [-c CERT] PORT [S_CLIENT_ARG...]
#                             openssl s_client -ign_eof sending MQTT CONNECT +
#                             DISCONNECT; true if a CONNACK came back. Sets
#                             PROBE_OUT (file) and PROBE_RC. Deterministic
#                             for TLS 1.3 client-cert refusals, which arrive
#                             after the client's handshake completes.
#   probe_protocol / probe_cipher   "Protocol"/"Cipher" of the last probe
#   sclient PORT [ARG...]     plain s_client with stdin /dev/null; sets
#                             SCLIENT_OUT (file) and SCLIENT_RC

# distcheck runs the unit tests only (scripts/check runs these in full).
if [ -n "${MQGATE_SKIP_INTEGRATION:-}" ]; then
	echo "# skipped: MQGATE_SKIP_INTEGRATION is set"
	exit 77
fi

set -u

# ---------------------------------------------------------------- setup

if [ -z "${TOP_SRCDIR:-}" ]; then
	TOP_SRCDIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
fi
TOP_BUILDDIR=${TOP_BUILDDIR:-$TOP_SRCDIR/build}
MQGATE=${MQGATE:-$TOP_BUILDDIR/src/mqgate}
case $MQGATE in
/*) ;;
*) MQGATE=$PWD/$MQGATE ;;
esac
export MQGATE TOP_SRCDIR TOP_BUILDDIR

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}
export LC_ALL=C

MQ_HOST=127.0.0.1
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3

NPASS=0
NFAIL=0
PIDS=()
MQGATE_PREFIX=()
MQGATE_PID=
MQGATE_RC=
MQGATE_RUNS=0
LOG=
LOG_MARK=0
CONN_LINE=
SEQ=0

note() {
	printf '# %s\n' "$*"
}

# Print the last lines of each file as comments.
show_tail() {
	local f
	for f in "$@"; do
		[ -n "$f" ] && [ -f "$f" ] || continue
		printf '#   --- last lines of %s\n' "$f"
		tail -n "${TAIL_LINES:-15}" "$f" | sed 's/^/#   /'
	done
}

ok() {
	NPASS=$((NPASS + 1))
	printf 'ok - %s\n' "$*"
}

fail() {
	local msg=$1
	shift
	NFAIL=$((NFAIL + 1))
	printf 'not ok - %s\n' "$msg"
	if [ $# -gt 0 ]; then
		show_tail "$@"
	else
		show_tail "$LOG"
	fi
}

check() {
	local msg=$1
	shift
	if "$@"; then
		ok "$msg"
	else
		fail "$msg"
	fi
}

# verdict RC MSG: ok MSG when RC, the status of the condition just
# evaluated, is 0, else fail MSG. For conditions of several commands
# ("[ a ] && [ b ]; verdict $? MSG"), which check cannot take.
verdict() {
	if [ "$1" -eq 0 ]; then
		ok "$2"
	else
		fail "$2"
	fi
}

bail() {
	fail "$@"
	printf 'Bail out! %s\n' "$1"
	exit 1
}

require() {
	local c
	for c in "$@"; do
		if ! command -v "$c" >/dev/null 2>&1; then
			echo "ERROR: required command not found: $c" >&2
			exit 99
		fi
	done
}

need() {
	local c
	for c in "$@"; do
		if ! command -v "$c" >/dev/null 2>&1; then
			echo "SKIP: command not found: $c"
			exit 77
		fi
	done
}

require openssl mosquitto mosquitto_pub mosquitto_sub timeout flock \
    setsid od "$PY"

if [ ! -x "$MQGATE" ]; then
	echo "ERROR: mqgate binary not found or not executable: $MQGATE" >&2
	exit 99
fi

if [ -z "${TIMEOUT_SCALE:-}" ]; then
	TIMEOUT_SCALE=1
	if ldd "$MQGATE" 2>/dev/null | grep -q 'libasan' ||
	    grep -q '__asan_init' "$MQGATE" 2>/dev/null; then
		TIMEOUT_SCALE=4
	fi
fi

tmo() {
	echo $(($1 * TIMEOUT_SCALE))
}

T=$(mktemp -d "${TMPDIR:-/tmp}/mqgate-$(basename "$0" .sh).XXXXXX") ||
    exit 99

now_ms() {
	local t=$EPOCHREALTIME
	echo $((${t%.*} * 1000 + 10#${t#*.} / 1000))
}

pid_alive() {
	local s
	s=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	s=${s##*) }
	[ "${s%% *}" != Z ]
}

# Poll CMD every 50 ms until it succeeds or SECONDS (already scaled by the
# caller if wanted) pass.
wait_for() {
	local secs=$1 deadline
	shift
	deadline=$(($(now_ms) + secs * 1000))
	while :; do
		"$@" && return 0
		[ "$(now_ms)" -lt "$deadline" ] || return 1
		sleep 0.05
	done
}

track() {
	PIDS+=("$@")
}

# True if PID is a live child of this test shell; guards against killing a
# recycled pid after its process was reaped.
our_child() {
	local s
	s=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	s=${s##*) }
	set -- $s
	[ "$1" != Z ] && [ "$2" = "$$" ]
}

# TERM every tracked process, give them a moment, then KILL what is left.
kill_tracked() {
	local p
	for p in "${PIDS[@]}"; do
		our_child "$p" && kill -TERM "$p" 2>/dev/null
	done
	for p in "${PIDS[@]}"; do
		wait_for 5 eval "! our_child $p" || kill -KILL "$p" 2>/dev/null
	done
	PIDS=()
}

cleanup() {
	local rc=$?
	trap - EXIT
	kill_tracked
	release_ports
	if [ "$rc" -eq 0 ] && [ "$NFAIL" -gt 0 ]; then
		rc=1
	fi
	if [ "$rc" -eq 0 ] && [ "$NPASS" -eq 0 ]; then
		echo "ERROR: no checks ran" >&2
		rc=99
	fi
	printf '# %d passed, %d failed\n' "$NPASS" "$NFAIL"
	if [ "$rc" -ne 0 ] && [ "$rc" -ne 77 ] || [ "${KEEP_TMP:-0}" = 1 ]; then
		note "temp dir kept: $T"
	else
		rm -rf "$T"
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Run a command with every inherited fd above 2 closed, so fd_count of a
# started daemon is its own. Used as: closefds CMD... (execs CMD).
closefds() {
	local fd
	for fd in /proc/$BASHPID/fd/*; do
		fd=${fd##*/}
		[ "$fd" -gt 2 ] 2>/dev/null && eval "exec $fd>&-" 2>/dev/null
	done
	exec "$@"
}

# ---------------------------------------------------------------- ports

PORT_DIR=${TMPDIR:-/tmp}/mqgate-ports
mkdir -p "$PORT_DIR" 2>/dev/null

# Without "strict" the bind uses SO_REUSEADDR, as daemons do, so leftover
# TIME_WAIT connections do not count; "strict" (used to pick ports) does.
port_is_free() {
	"$PY" - "$1" "${2:-}" <<'EOF'
import socket, sys
port = int(sys.argv[1])
strict = sys.argv[2] == "strict"
fams = [(socket.AF_INET, "127.0.0.1")]
if socket.has_ipv6:
    fams.append((socket.AF_INET6, "::1"))
for fam, host in fams:
    try:
        s = socket.socket(fam, socket.SOCK_STREAM)
    except OSError:
        continue
    try:
        if not strict:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((host, port))
    except OSError as e:
        if fam == socket.AF_INET6 and e.errno == 99:  # no ::1 here
            continue
        sys.exit(1)
    finally:
        s.close()
EOF
}

have_ipv6() {
	"$PY" -c 'import socket; socket.socket(socket.AF_INET6).bind(("::1", 0))' \
	    2>/dev/null
}

# Ports are taken below the kernel's ephemeral range so that no client
# socket grabs one between our check and the daemon's bind, and reserved by
# a file naming this test's pid so parallel tests never pick the same one.
# Works inside $(...): $$ is the test shell's pid there too.
free_port() {
	local lo hi elo p f owner
	read -r elo _ </proc/sys/net/ipv4/ip_local_port_range
	if [ "$elo" -gt 12000 ]; then
		lo=$((elo - 10000))
		hi=$((elo - 1))
	else
		lo=61000
		hi=65000
	fi
	(
		flock -w 30 9 || exit 1
		for _ in $(seq 200); do
			p=$((lo + (RANDOM * 32768 + RANDOM) % (hi - lo + 1)))
			f=$PORT_DIR/$p
			if [ -e "$f" ]; then
				owner=$(cat "$f" 2>/dev/null)
				[ -n "$owner" ] && kill -0 "$owner" 2>/dev/null &&
				    continue
			fi
			port_is_free "$p" strict || continue
			echo "$$" >"$f"
			echo "$p" >>"$T/ports"
			echo "$p"
			exit 0
		done
		exit 1
	) 9>"$PORT_DIR/.lock" || {
		echo "ERROR: no free port found" >&2
		return 1
	}
}

release_ports() {
	local p
	[ -f "$T/ports" ] || return 0
	while read -r p; do
		rm -f "$PORT_DIR/$p"
	done <"$T/ports"
}

# ---------------------------------------------------------------- certs

certs_dir() {
	local script=$TOP_SRCDIR/scripts/gen-certs sum dir
	sum=$(sha256sum "$script" | cut -c1-16) || return 1
	dir=${TMPDIR:-/tmp}/mqgate-certs-$sum
	(
		flock -w 120 9 || exit 1
		if [ ! -e "$dir/.complete" ]; then
			"$script" "$dir" >&2 || exit 1
			touch "$dir/.complete"
		fi
	) 9>"$dir.lock" || return 1
	echo "$dir"
}

CERTS=$(certs_dir) || {
	echo "ERROR: scripts/gen-certs failed" >&2
	exit 99
}

# ---------------------------------------------------------------- broker

# broker_conf HOST PORT [LINE...]: print a mosquitto config listening on
# HOST:PORT, logging to stderr with connection messages, plus the LINEs.
broker_conf() {
	local l
	echo "listener $2 $1"
	echo "persistence false"
	echo "log_dest stderr"
	echo "connection_messages true"
	[ "$(id -u)" = 0 ] && echo "user root"
	for l in "${@:3}"; do
		echo "$l"
	done
}

start_broker() {
	local port conf log pid attempt
	for attempt in 1 2 3; do
		port=$(free_port) || break
		conf=$T/mosquitto.$port.conf
		log=$T/mosquitto.$port.log
		broker_conf 127.0.0.1 "$port" "allow_anonymous true" >"$conf"
		closefds mosquitto -c "$conf" >"$log" 2>&1 </dev/null &
		pid=$!
		track "$pid"
		if wait_for "$(tmo 10)" broker_up "$pid" "$port" "$log"; then
			BROKER_PORT=$port
			BROKER_PID=$pid
			BROKER_LOG=$log
			return 0
		fi
		kill "$pid" 2>/dev/null
		note "mosquitto on port $port did not come up (attempt $attempt)"
		show_tail "$log"
	done
	bail "could not start mosquitto" "${log:-}"
}

broker_up() {
	pid_alive "$1" || return 1
	grep -q ' running$' "$3" || return 1
	(exec 3<>"/dev/tcp/127.0.0.1/$2") 2>/dev/null
}

# ---------------------------------------------------------------- config

# Print LINE... after the defaults given as "key = value" pairs in DEFS
# (a newline-separated list), dropping each default whose key some LINE
# sets. Used by conf_global and conf_listener.
conf_merge() {
	local defs=$1 d k l skip
	shift
	while IFS= read -r d; do
		[ -n "$d" ] || continue
		k=${d%%=*}
		k=${k// /}
		skip=0
		for l in "$@"; do
			l=${l%%=*}
			[ "${l// /}" = "$k" ] && skip=1
		done
		[ "$skip" = 1 ] || echo "$d"
	done <<<"$defs"
	for l in "$@"; do
		echo "$l"
	done
}

conf_global() {
	echo "[global]"
	conf_merge "workers = 2" "$@"
	echo
}

conf_listener() {
	local name=$1 port=$2 defs
	shift 2
	defs="upstream = 127.0.0.1:${BROKER_PORT:-1}
certfile = $CERTS/server.pem
keyfile = $CERTS/server.key"
	[ "$port" = - ] || defs="bind = 127.0.0.1:$port
$defs"
	echo "[listener $name]"
	conf_merge "$defs" "$@"
	echo
}

write_conf() {
	cat >"$1"
}

# ---------------------------------------------------------------- mqgate

sanitizer_check() {
	local f=$1 what=$2
	if grep -qE 'ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:' "$f" 2>/dev/null; then
		fail "$what: sanitizer report in $f"
		grep -E -A 25 'ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:' "$f" |
		    head -n 60 | sed 's/^/#   /'
		return 1
	fi
	return 0
}

start_mqgate() {
	local conf=$1 deadline
	shift
	MQGATE_RUNS=$((MQGATE_RUNS + 1))
	LOG=$T/mqgate.$MQGATE_RUNS.log
	LOG_MARK=0
	MQGATE_RC=
	: >"$LOG" # exists before the background shell opens it
	closefds "${MQGATE_PREFIX[@]}" "$MQGATE" -c "$conf" "$@" >"$LOG" 2>&1 \
	    </dev/null &
	MQGATE_PID=$!
	track "$MQGATE_PID"
	deadline=$(($(now_ms) + $(tmo 20) * 1000))
	while ! grep -qE '^[^ ]+ [A-Za-z]+ ready workers=' "$LOG"; do
		if ! pid_alive "$MQGATE_PID"; then
			wait "$MQGATE_PID"
			MQGATE_RC=$?
			MQGATE_PID=
			bail "mqgate exited with status $MQGATE_RC during startup ($conf)" "$LOG" "$conf"
		fi
		if [ "$(now_ms)" -ge "$deadline" ]; then
			bail "mqgate not ready within $(tmo 20)s ($conf)" "$LOG" "$conf"
		fi
		sleep 0.05
	done
}

signal_mqgate() {
	[ -n "$MQGATE_PID" ] && kill -s "$1" "$MQGATE_PID"
}

# Wait for the current mqgate to exit; sets MQGATE_RC. False on timeout.
wait_mqgate_exit() {
	local t=${1:-$(tmo 20)}
	[ -n "$MQGATE_PID" ] || return 0
	wait_for "$t" eval "! pid_alive $MQGATE_PID" || return 1
	wait "$MQGATE_PID"
	MQGATE_RC=$?
	MQGATE_PID=
	return 0
}

stop_mqgate() {
	local t=${1:-$(tmo 20)}
	[ -n "$MQGATE_PID" ] || return 0
	kill -TERM "$MQGATE_PID" 2>/dev/null
	if ! wait_mqgate_exit "$t"; then
		fail "mqgate did not exit within ${t}s of SIGTERM"
		kill -KILL "$MQGATE_PID" 2>/dev/null
		wait "$MQGATE_PID" 2>/dev/null
		MQGATE_PID=
		return 1
	fi
	if [ "$MQGATE_RC" -eq 0 ]; then
		ok "mqgate exits 0 on SIGTERM"
	else
		fail "mqgate exit status $MQGATE_RC on SIGTERM (want 0)"
	fi
	sanitizer_check "$LOG" "mqgate run $MQGATE_RUNS" || return 1
	[ "$MQGATE_RC" -eq 0 ]
}

run_mqgate() {
	SEQ=$((SEQ + 1))
	OUT=$T/run.$SEQ.out
	ERR=$T/run.$SEQ.err
	timeout -k 5 "$(tmo 30)" "${MQGATE_PREFIX[@]}" "$MQGATE" "$@" \
	    >"$OUT" 2>"$ERR" </dev/null
	RC=$?
	sanitizer_check "$ERR" "mqgate $*"
	return 0
}

nofile_limit() {
	if [ -n "$1" ]; then
		MQGATE_PREFIX=(bash -c 'ulimit -n "$0" && exec "$@"' "$1")
	else
		MQGATE_PREFIX=()
	fi
}

fd_count() {
	ls "/proc/$1/fd" 2>/dev/null | wc -l
}

rss_kb() {
	awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null
}

# ---------------------------------------------------------------- log

log_mark() {
	LOG_MARK=$(wc -l <"$LOG")
}

log_since() {
	tail -n "+$((LOG_MARK + 1))" "$LOG" 2>/dev/null
}

log_has() {
	log_since | grep -qE -- "$1"
}

wait_log() {
	wait_for "${2:-$(tmo 10)}" log_has "$1"
}

log_count() {
	log_since | grep -cE -- "$1"
}

assert_log() {
	if wait_log "$2" "${3:-}"; then
		ok "$1"
	else
		fail "$1 (no log line matching /$2/)"
	fi
}

assert_no_log() {
	if log_has "$2"; then
		fail "$1 (unexpected log line matching /$2/)"
	else
		ok "$1"
	fi
}

# The per-connection line: "... conn=ID client=... listener=NAME ... reason=R".
conn_re() {
	echo " conn=[^ ]+ client=[^ ]+ listener=$1 .* reason=($2)( |\$)"
}

wait_conn() {
	local re
	re=$(conn_re "$1" "$2")
	CONN_LINE=
	wait_log "$re" "${3:-}" || return 1
	CONN_LINE=$(log_since | grep -E -- "$re" | tail -n 1)
}

# Wait for the line of the connection from local port CPORT; sets CONN_LINE
# so that conn_field works on it.
wait_client_conn() {
	local re=" conn=[^ ]+ client=127\\.0\\.0\\.1:$1 "
	CONN_LINE=
	wait_log "$re" "${2:-$(tmo 10)}" || return 1
	CONN_LINE=$(log_since | grep -E -- "$re" | tail -n 1)
}

# Value of NAME= in CONN_LINE (quoted values keep their quotes).
conn_field() {
	local v
	v=$(grep -oE " $1=(\"([^\"\\\\]|\\\\.)*\"|[^ ]*)" <<<"$CONN_LINE" | head -n 1)
	echo "${v#* "$1"=}"
}

# log_ms LINE: the time of an mqgate log line, ms since the epoch.
log_ms() {
	date -d "${1%% *}" +%s%3N 2>/dev/null || now_ms
}

# ---------------------------------------------------------------- clients

PC=$TOP_SRCDIR/tests/integration/pool_client.py

# pc ARG...: pool_client.py (bounded); output in PC_OUT.
pc() {
	SEQ=$((SEQ + 1))
	PC_OUT=$T/pc.$SEQ.out
	timeout -k 2 "$(tmo 60)" "$PY" "$PC" "$@" >"$PC_OUT" 2>&1
}

# MQ_HOST:PORT, with brackets around an IPv6 MQ_HOST.
hostport() {
	case $MQ_HOST in
	*:*) echo "[$MQ_HOST]:$1" ;;
	*) echo "$MQ_HOST:$1" ;;
	esac
}

# Parse an optional "-c CERT" into CLIENT_CERT_ARGS; sets SHIFT_N.
cert_opt() {
	CLIENT_CERT_ARGS=()
	SHIFT_N=0
	if [ "${1:-}" = -c ]; then
		CLIENT_CERT_ARGS=(--cert "$CERTS/$2.crt" --key "$CERTS/$2.key")
		SHIFT_N=2
	fi
}

pub() {
	cert_opt "$@"
	shift "$SHIFT_N"
	local port=$1 topic=$2 msg=$3
	shift 3
	timeout -k 2 "$(tmo 10)" mosquitto_pub -h "$MQ_HOST" -p "$port" \
	    --cafile "$CERTS/ca.crt" "${CLIENT_CERT_ARGS[@]}" \
	    -t "$topic" -m "$msg" "$@"
}

sub() {
	cert_opt "$@"
	shift "$SHIFT_N"
	local port=$1 topic=$2
	shift 2
	timeout -k 2 "$(tmo 10)" mosquitto_sub -h "$MQ_HOST" -p "$port" \
	    --cafile "$CERTS/ca.crt" "${CLIENT_CERT_ARGS[@]}" \
	    -t "$topic" -C 1 -W "$(tmo 5)" "$@"
}

deliver() {
	local topic msg got
	SEQ=$((SEQ + 1))
	DELIVER_ERR=$T/deliver.$SEQ.err
	topic=mqgate-test/$$/$SEQ
	msg=hello-$$-$SEQ-$RANDOM
	pub "$@" "$topic" "$msg" -r -q 1 2>"$DELIVER_ERR" || return 1
	got=$(timeout -k 2 "$(tmo 10)" mosquitto_sub -h 127.0.0.1 \
	    -p "$BROKER_PORT" -t "$topic" -C 1 -W "$(tmo 5)" 2>>"$DELIVER_ERR")
	[ "$got" = "$msg" ]
}

# MQTT 3.1.1 CONNECT (client id "t", clean session, keepalive 10) followed
# by DISCONNECT: the broker answers with CONNACK 20 02 00 00 and closes.
printf '\x10\x0d\x00\x04MQTT\x04\x02\x00\x0a\x00\x01t\xe0\x00' >"$T/connect.bin"

has_connack() {
	od -An -v -tx1 "$1" | tr -s ' \n' '  ' | grep -q ' 20 02 00 00'
}

mqtt_probe() {
	cert_opt "$@"
	shift "$SHIFT_N"
	local port=$1 args=()
	shift
	SEQ=$((SEQ + 1))
	PROBE_OUT=$T/probe.$SEQ.out
	[ ${#CLIENT_CERT_ARGS[@]} -gt 0 ] &&
	    args=(-cert "${CLIENT_CERT_ARGS[1]}" -key "${CLIENT_CERT_ARGS[3]}")
	timeout -k 2 "$(tmo 10)" openssl s_client -connect "$(hostport "$port")" \
	    -CAfile "$CERTS/ca.crt" -ign_eof "${args[@]}" "$@" \
	    <"$T/connect.bin" >"$PROBE_OUT" 2>&1
	PROBE_RC=$?
	has_connack "$PROBE_OUT"
}

probe_protocol() {
	grep -a -m1 -oE '^ +Protocol +: +[^ ]+' "$PROBE_OUT" | awk '{ print $3 }'
}

probe_cipher() {
	grep -a -m1 -oE '^ +Cipher +: +[^ ]+' "$PROBE_OUT" | awk '{ print $3 }'
}

sclient() {
	local port=$1
	shift
	SEQ=$((SEQ + 1))
	SCLIENT_OUT=$T/sclient.$SEQ.out
	timeout -k 2 "$(tmo 10)" openssl s_client -connect "$(hostport "$port")" \
	    -CAfile "$CERTS/ca.crt" "$@" </dev/null >"$SCLIENT_OUT" 2>&1
	SCLIENT_RC=$?
}
