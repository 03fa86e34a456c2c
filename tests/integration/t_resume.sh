#!/usr/bin/env bash
# t_resume: TLS session resumption. Tickets and the session cache, each on
# its own and both off, with TLS 1.3 and 1.2; session_timeout; a session
# does not cross to another listener; a resumed client-certificate session
# logs the original subject; two instances sharing ticket_key_file resume
# each other's sessions (with and without a [cert] bundle) while instances
# without one do not; rotation: a prepended key encrypts new tickets after
# SIGHUP while the old one still decrypts, a removed key no longer does,
# and a broken key file keeps the previous keys. Every handshake carries an
# MQTT CONNECT, so each check also shows data reaching mosquitto.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=pki.sh
. "$(dirname "$0")/pki.sh"

# ------------------------------------------------------------ helpers

# hs MSG LISTENER WANT(new|reused) S_CLIENT_ARG...: one handshake with an
# MQTT CONNECT; s_client says New or Reused as wanted, the connection line
# says resumed=no or yes.
hs() {
	local msg=$1 listener=$2 want=$3 got logwant r
	shift 3
	log_mark
	if ! mqtt_probe "$@"; then
		fail "$msg: CONNACK" "$PROBE_OUT" "$LOG"
		return
	fi
	if grep -aqE '^Reused, ' "$PROBE_OUT"; then
		got=reused
	elif grep -aqE '^New, ' "$PROBE_OUT"; then
		got=new
	else
		got=unknown
	fi
	if [ "$got" = "$want" ]; then
		ok "$msg: s_client: $got"
	else
		fail "$msg: s_client: want $want, got $got" "$PROBE_OUT" "$LOG"
	fi
	logwant=no
	[ "$want" = reused ] && logwant=yes
	if wait_conn "$listener" 'client_closed|upstream_closed'; then
		r=$(conn_field resumed)
		check "$msg: logged resumed=$logwant (got resumed=$r)" \
		    [ "$r" = "$logwant" ]
	else
		fail "$msg: connection line with reason=client_closed|upstream_closed"
	fi
}

# new_sess MSG LISTENER FILE PORT S_CLIENT_ARG...: a full handshake that
# saves its session in FILE.
new_sess() {
	local msg=$1 listener=$2 f=$3 port=$4
	shift 4
	rm -f "$f"
	hs "$msg" "$listener" new "$port" -sess_out "$f" "$@"
	if [ -s "$f" ]; then
		ok "$msg: session saved"
	else
		fail "$msg: session saved in $f" "$PROBE_OUT"
	fi
}

# resume MSG LISTENER WANT FILE PORT S_CLIENT_ARG...
resume() {
	local msg=$1 listener=$2 want=$3 f=$4 port=$5
	shift 5
	hs "$msg" "$listener" "$want" "$port" -sess_in "$f" "$@"
}

# The first 16 bytes of the session ticket in session FILE, as hex.
ticket_name() {
	openssl sess_id -in "$1" -noout -text 2>/dev/null |
	    awk '/TLS session ticket:/ { getline; sub(/^ *[0-9a-f]+ - /, "");
		print substr($0, 1, 47); exit }' | tr -d ' -'
}

# The name (first 16 bytes) of a base64 ticket key line, as hex.
key_name() {
	base64 -d <<<"$1" 2>/dev/null | head -c 16 | od -An -v -tx1 |
	    tr -d ' \n'
}

has_ticket() {
	openssl sess_id -in "$1" -noout -text 2>/dev/null |
	    grep -q 'TLS session ticket:'
}

new_key() {
	if [ -x "$TOP_SRCDIR/scripts/gen-ticket-key" ]; then
		"$TOP_SRCDIR/scripts/gen-ticket-key"
	else
		openssl rand 80 | base64 -w0
		echo
	fi
}

# Two daemons at once: remember and switch the lib's current one.
declare -A I_PID I_LOG
save_instance() {
	I_PID[$1]=$MQGATE_PID
	I_LOG[$1]=$LOG
}
use_instance() {
	MQGATE_PID=${I_PID[$1]}
	LOG=${I_LOG[$1]}
	LOG_MARK=0
}

start_broker
S=$T/sess
mkdir -p "$S"

# ------------------------------------------------------------ (1) defaults

P_RES=$(free_port)
P_OTHER=$(free_port)
P_TONLY=$(free_port)
P_CONLY=$(free_port)
P_OFF=$(free_port)
P_SHORT=$(free_port)
P_MTLS=$(free_port)
{
	conf_global
	conf_listener res "$P_RES"
	conf_listener other "$P_OTHER"
	conf_listener tonly "$P_TONLY" "session_cache_size = 0"
	conf_listener conly "$P_CONLY" "session_tickets = off"
	conf_listener off "$P_OFF" "session_tickets = off" \
	    "session_cache_size = 0"
	conf_listener short "$P_SHORT" "session_timeout = 2"
	conf_listener mtls "$P_MTLS" "verify = verify_peer" \
	    "fail_if_no_peer_cert = true" "cacertfile = $CERTS/ca.crt"
} | write_conf "$T/mqgate.ini"
start_mqgate "$T/mqgate.ini"

for v in 1_3 1_2; do
	V=TLS${v/_/.}
	new_sess "defaults $V: full handshake" res "$S/res$v" "$P_RES" "-tls$v"
	resume "defaults $V: resumed" res reused "$S/res$v" "$P_RES" "-tls$v"
	resume "defaults $V: resumed again" res reused "$S/res$v" "$P_RES" \
	    "-tls$v"
	resume "defaults $V: another listener does not resume it" other new \
	    "$S/res$v" "$P_OTHER" "-tls$v"

	new_sess "session_cache_size = 0 $V: full handshake" tonly \
	    "$S/tonly$v" "$P_TONLY" "-tls$v"
	resume "session_cache_size = 0 $V: resumed by ticket" tonly reused \
	    "$S/tonly$v" "$P_TONLY" "-tls$v"

	# No ticket and no cache: TLS 1.3 gets no session at all.
	rm -f "$S/off$v"
	hs "both off $V: full handshake" off new "$P_OFF" \
	    -sess_out "$S/off$v" "-tls$v"
	if [ -s "$S/off$v" ]; then
		resume "both off $V: not resumed" off new "$S/off$v" "$P_OFF" \
		    "-tls$v"
	else
		ok "both off $V: the server issued no session to resume"
	fi
done
check "defaults TLS 1.2: the session carries a ticket" has_ticket "$S/res1_2"

new_sess "session_tickets = off TLS 1.2: full handshake" conly \
    "$S/conly1_2" "$P_CONLY" -tls1_2
if has_ticket "$S/conly1_2"; then
	fail "session_tickets = off TLS 1.2: no ticket in the session" \
	    "$PROBE_OUT"
else
	ok "session_tickets = off TLS 1.2: no ticket in the session"
fi
resume "session_tickets = off TLS 1.2: resumed by session id" conly \
    reused "$S/conly1_2" "$P_CONLY" -tls1_2
# Informational: TLS 1.3 with the cache only (stateful tickets).
rm -f "$S/conly1_3"
mqtt_probe "$P_CONLY" -tls1_3 -sess_out "$S/conly1_3" >/dev/null
if [ -s "$S/conly1_3" ]; then
	mqtt_probe "$P_CONLY" -tls1_3 -sess_in "$S/conly1_3"
	note "session_tickets = off, TLS 1.3: $(grep -aoE '^(New|Reused)' "$PROBE_OUT" | head -n 1)"
else
	note "session_tickets = off, TLS 1.3: no session from the server"
fi

# session_timeout.
for v in 1_3 1_2; do
	V=TLS${v/_/.}
	new_sess "session_timeout = 2 $V: full handshake" short \
	    "$S/short$v" "$P_SHORT" "-tls$v"
	resume "session_timeout = 2 $V: resumed at once" short reused \
	    "$S/short$v" "$P_SHORT" "-tls$v"
done
sleep 3
for v in 1_3 1_2; do
	V=TLS${v/_/.}
	resume "session_timeout = 2 $V: not resumed after 3 s" short new \
	    "$S/short$v" "$P_SHORT" "-tls$v"
done

# A resumed TLS 1.2 session still reports the name it was made for.
new_sess "TLSv1.2 with SNI: full handshake" short "$S/sni12" "$P_SHORT" \
    -tls1_2 -servername localhost
resume "TLSv1.2 with SNI: resumed" short reused "$S/sni12" "$P_SHORT" \
    -tls1_2 -servername localhost
check "TLSv1.2 with SNI: the resumption logs sni=localhost (got sni=$(conn_field sni))" \
    [ "$(conn_field sni)" = localhost ]

# TLS 1.3 issues a fresh ticket on every resumption; session_timeout still
# counts from the full handshake, so a chain of renewals ends with it.
new_sess "session_timeout = 2 TLSv1.3 chain: full handshake" short \
    "$S/chain0" "$P_SHORT" -tls1_3
sleep 1.2
resume "session_timeout = 2 TLSv1.3 chain: resumed after 1.2 s" short reused \
    "$S/chain0" "$P_SHORT" -tls1_3 -sess_out "$S/chain1"
sleep 1.2
resume "session_timeout = 2 TLSv1.3 chain: the renewed ticket is not resumed 2.4 s after the full handshake" \
    short new "$S/chain1" "$P_SHORT" -tls1_3

# A resumed client-certificate session logs the original subject, and
# needs no certificate again.
for v in 1_3 1_2; do
	V=TLS${v/_/.}
	new_sess "client cert $V: full handshake" mtls "$S/mtls$v" "$P_MTLS" \
	    "-tls$v" -cert "$CERTS/client.crt" -key "$CERTS/client.key"
	s=$(conn_field subject)
	check "client cert $V: full handshake logged subject=$s" \
	    grep -q 'CN=client1' <<<"$s"
	resume "client cert $V: resumed without presenting the certificate" \
	    mtls reused "$S/mtls$v" "$P_MTLS" "-tls$v"
	s=$(conn_field subject)
	check "client cert $V: the resumed connection logged subject=$s" \
	    grep -q 'CN=client1' <<<"$s"
done
stop_mqgate

# ------------------------------------------------------------ (2) bundles

# A session never crosses to another bundle: that would let a device skip
# the other bundle's client-certificate check.
pki_server ta ca "/CN=ta" "DNS:a.example.com"
pki_server tb ca "/CN=tb" "DNS:b.example.com"
pki_ca ca-a "/CN=tenant-a devices CA"
pki_ca ca-b "/CN=tenant-b devices CA"
pki_client dev-b ca-b "/CN=dev-b1"
P_BUN=$(free_port)
{
	conf_global
	conf_listener bun "$P_BUN" "certs = ta, tb"
	for t in a b; do
		echo "[cert t$t]"
		echo "certfile = $PKI/t$t.pem"
		echo "cacertfile = $PKI/ca-$t.crt"
		echo "verify = verify_peer"
		echo "fail_if_no_peer_cert = true"
		echo
	done
} | write_conf "$T/bundles.ini"
start_mqgate "$T/bundles.ini"

for v in 1_3 1_2; do
	V=TLS${v/_/.}
	new_sess "bundles $V: tenant-b device on b.example.com" bun \
	    "$S/bun-b$v" "$P_BUN" "-tls$v" -servername b.example.com \
	    -cert "$PKI/dev-b.crt" -key "$PKI/dev-b.key"
	resume "bundles $V: resumed on b.example.com without a certificate" \
	    bun reused "$S/bun-b$v" "$P_BUN" "-tls$v" \
	    -servername b.example.com
	log_mark
	if mqtt_probe "$P_BUN" "-tls$v" -servername a.example.com \
	    -sess_in "$S/bun-b$v"; then
		fail "bundles $V: tenant-b's session on a.example.com: refused (it got a CONNACK)" \
		    "$PROBE_OUT" "$LOG"
	else
		ok "bundles $V: tenant-b's session on a.example.com: refused"
	fi
	if grep -aqE '^Reused, ' "$PROBE_OUT"; then
		fail "bundles $V: tenant-b's session on a.example.com: not resumed" \
		    "$PROBE_OUT"
	else
		ok "bundles $V: tenant-b's session on a.example.com: not resumed"
	fi
	rm -f "$S/bun-d$v"
	log_mark
	mqtt_probe "$P_BUN" "-tls$v" -noservername -sess_out "$S/bun-d$v" \
	    >/dev/null
	# The listener's own certificate does not ask for one.
	if [ -s "$S/bun-d$v" ]; then
		if mqtt_probe "$P_BUN" "-tls$v" -servername b.example.com \
		    -sess_in "$S/bun-d$v"; then
			fail "bundles $V: a session of the listener's certificate on b.example.com: refused (it got a CONNACK)" \
			    "$PROBE_OUT" "$LOG"
		else
			ok "bundles $V: a session of the listener's certificate on b.example.com: refused"
		fi
	else
		fail "bundles $V: a session from the listener's certificate" \
		    "$PROBE_OUT"
	fi
done
stop_mqgate

# ------------------------------------------------------------ (3) a fleet

pki_server site ca "/CN=site" "DNS:site.example.com"
KF=$T/ticket.keys
K1=$(new_key)
printf '%s\n' "$K1" >"$KF"
chmod 600 "$KF"

# fleet_conf FILE PORT [LINE...]: listener "fleet" (the same name in
# every instance) with bundle "site".
fleet_conf() {
	local f=$1 port=$2
	shift 2
	{
		conf_global "reload_interval = 0"
		conf_listener fleet "$port" "certs = site" "$@"
		echo "[cert site]"
		echo "certfile = $PKI/site.pem"
	} | write_conf "$f"
}

P_A=$(free_port)
P_B=$(free_port)
fleet_conf "$T/a.ini" "$P_A" "ticket_key_file = $KF"
fleet_conf "$T/b.ini" "$P_B" "ticket_key_file = $KF"
start_mqgate "$T/a.ini"
save_instance a
start_mqgate "$T/b.ini"
save_instance b

for v in 1_3 1_2; do
	V=TLS${v/_/.}
	use_instance a
	new_sess "fleet $V: full handshake on instance 1" fleet "$S/a$v" \
	    "$P_A" "-tls$v"
	got=$(ticket_name "$S/a$v")
	check "fleet $V: the ticket is under the file's key (name $got)" \
	    [ "$got" = "$(key_name "$K1")" ]
	use_instance b
	resume "fleet $V: instance 2 resumes instance 1's session" fleet \
	    reused "$S/a$v" "$P_B" "-tls$v"
	new_sess "fleet $V: full handshake on instance 2" fleet "$S/b$v" \
	    "$P_B" "-tls$v"
	use_instance a
	resume "fleet $V: instance 1 resumes instance 2's session" fleet \
	    reused "$S/b$v" "$P_A" "-tls$v"

	use_instance a
	new_sess "fleet $V, bundle site: full handshake on instance 1" fleet \
	    "$S/as$v" "$P_A" "-tls$v" -servername site.example.com
	use_instance b
	resume "fleet $V, bundle site: instance 2 resumes it" fleet reused \
	    "$S/as$v" "$P_B" "-tls$v" -servername site.example.com
	c=$(conn_field cert)
	check "fleet $V, bundle site: the resumed line says cert=site (got $c)" \
	    [ "$c" = site ]
done

use_instance b
stop_mqgate

# Rotation on instance 1: prepend a key, SIGHUP.
use_instance a
if [ -x "$TOP_SRCDIR/scripts/gen-ticket-key" ]; then
	"$TOP_SRCDIR/scripts/gen-ticket-key" "$KF"
else
	note "scripts/gen-ticket-key missing: prepending with openssl"
	{ new_key; cat "$KF"; } >"$KF.new" && mv -f "$KF.new" "$KF"
fi
K2=$(head -n 1 "$KF")
[ "$(wc -l <"$KF")" -eq 2 ] && [ "$K2" != "$K1" ] &&
    [ "$(sed -n 2p "$KF")" = "$K1" ]
verdict $? "rotation: the key file has two keys, the new one first"
log_mark
signal_mqgate HUP
assert_log "rotation: certificates reloaded (SIGHUP)" \
    'certificates reloaded generation=[0-9]+ \(SIGHUP\)'
for v in 1_3 1_2; do
	V=TLS${v/_/.}
	rm -f "$S/renewed$v"
	resume "rotation $V: a ticket under the old key still resumes" fleet \
	    reused "$S/a$v" "$P_A" "-tls$v" -sess_out "$S/renewed$v"
	got=$(ticket_name "$S/renewed$v" 2>/dev/null)
	if [ "$v" = 1_3 ]; then
		if [ "$got" = "$(key_name "$K2")" ]; then
			ok "rotation $V: the ticket issued on resumption is under the new key"
		else
			fail "rotation $V: the ticket issued on resumption is under the new key $(key_name "$K2"), got ${got:-none}"
		fi
	elif [ -z "$got" ]; then
		note "rotation $V: s_client saved no new session on resumption (no renewed ticket)"
	elif [ "$got" = "$(key_name "$K2")" ]; then
		note "rotation $V: the resumed session got a renewed ticket under the new key"
	else
		note "rotation $V: the resumed session's ticket is under key $got"
	fi
	new_sess "rotation $V: full handshake" fleet "$S/new$v" "$P_A" "-tls$v"
	got=$(ticket_name "$S/new$v")
	if [ "$got" = "$(key_name "$K2")" ]; then
		ok "rotation $V: the new ticket is under the new key (name $got)"
	else
		fail "rotation $V: the new ticket is under the new key $(key_name "$K2"), got ${got:-none} (old key $(key_name "$K1"))" \
		    "$LOG"
	fi
done

# Drop the old key.
printf '%s\n' "$K2" >"$KF.new" && mv -f "$KF.new" "$KF"
log_mark
signal_mqgate HUP
assert_log "old key dropped: certificates reloaded (SIGHUP)" \
    'certificates reloaded generation=[0-9]+ \(SIGHUP\)'
for v in 1_3 1_2; do
	V=TLS${v/_/.}
	resume "old key dropped $V: its ticket no longer resumes" fleet new \
	    "$S/a$v" "$P_A" "-tls$v"
	resume "old key dropped $V: a ticket under the new key resumes" \
	    fleet reused "$S/new$v" "$P_A" "-tls$v"
done

# A broken key file keeps the keys in use.
printf '%s\nnot-base64-at-all!\n' "$K2" >"$KF.new" && mv -f "$KF.new" "$KF"
log_mark
signal_mqgate HUP
if wait_log 'keeping previous'; then
	line=$(log_since | grep 'keeping previous' | head -n 1)
	ok "broken key file: logged '${line#* * }'"
	if grep -qF "$KF" <<<"$line"; then
		ok "broken key file: the error names the key file"
	else
		fail "broken key file: the error names $KF ($line)"
	fi
else
	fail "broken key file: '(keeping previous ...)' logged"
fi
check "broken key file: mqgate still runs" pid_alive "$MQGATE_PID"
resume "broken key file TLS 1.3: the ticket under the kept key resumes" \
    fleet reused "$S/new1_3" "$P_A" -tls1_3
stop_mqgate

run_mqgate -t -c "$T/a.ini"
check "broken key file: mqgate -t exits 1 (rc $RC)" [ "$RC" -eq 1 ]
if grep -qF "$KF:2:" "$ERR" "$OUT"; then
	ok "broken key file: mqgate -t names $(basename "$KF"):2"
else
	fail "broken key file: mqgate -t names $KF:2" "$ERR" "$OUT"
fi

# Control: without ticket_key_file, another instance cannot resume.
P_C=$(free_port)
P_D=$(free_port)
fleet_conf "$T/c.ini" "$P_C"
fleet_conf "$T/d.ini" "$P_D"
start_mqgate "$T/c.ini"
save_instance c
start_mqgate "$T/d.ini"
save_instance d
for v in 1_3 1_2; do
	V=TLS${v/_/.}
	use_instance c
	new_sess "no ticket_key_file $V: full handshake on instance 3" fleet \
	    "$S/c$v" "$P_C" "-tls$v"
	use_instance d
	resume "no ticket_key_file $V: instance 4 does not resume it" fleet \
	    new "$S/c$v" "$P_D" "-tls$v"
done
stop_mqgate
use_instance c
stop_mqgate
