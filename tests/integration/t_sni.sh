#!/usr/bin/env bash
# t_sni: [cert NAME] bundles served by SNI. Which certificate a ClientHello
# gets (exact name before wildcard, one-label wildcards, case and trailing
# dot ignored, the listener's certfile or the first bundle as the default),
# ECDSA and RSA bundles for the same names picked by what the client can
# verify, sni = overriding the certificate's names, an encrypted bundle
# key, sni_strict refusals with their alerts, per-bundle client trust and
# verify overrides, duplicate names as a config error, and certdir entries
# picked up on SIGHUP with a broken entry keeping the previous set. Each
# handshake is checked on the wire (the leaf's fingerprint) and in the
# connection line (cert= sni=).
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=pki.sh
. "$(dirname "$0")/pki.sh"

A=mqtt.tenant-a.example.com
B=mqtt.tenant-b.example.com

# ------------------------------------------------------------ certificates

pki_server tenant-a ca "/CN=tenant-a" "DNS:$A,DNS:*.tenant-a.example.com"
pki_server tenant-a-rsa ca "/CN=tenant-a-rsa" \
    "DNS:$A,DNS:*.tenant-a.example.com" rsa
pki_server special ca "/CN=special" "DNS:special.tenant-a.example.com"
pki_server tenant-b ca "/CN=tenant-b" "DNS:$B,DNS:cert-only.tenant-b.example.com"
pki_server cnonly ca "/CN=cnonly.example.com" ""
pki_server open ca "/CN=open" "DNS:open.example.com"
pki_server d1 ca "/CN=d1" "DNS:d1.example.com"
pki_server d2 ca "/CN=d2" "DNS:d2.example.com"
pki_server d2new ca "/CN=d2new" "DNS:d2.example.com"
pki_server d2twin ca "/CN=d2twin" "DNS:d2.example.com"
pki_server dup1 ca "/CN=dup1" "DNS:dup.example.com"
pki_server dup2 ca "/CN=dup2" "DNS:dup.example.com"
pki_ca tenant-a-ca "/O=tenant-a/CN=tenant-a devices CA"
pki_ca tenant-b-ca "/O=tenant-b/CN=tenant-b devices CA"
pki_client dev-a tenant-a-ca "/CN=dev-a1"
pki_client dev-b tenant-b-ca "/CN=dev-b1"

declare -A FP
FP[default]=$(pki_fp "$CERTS/server.crt")
for n in tenant-a tenant-a-rsa special tenant-b cnonly open d1 d2 d2new; do
	FP[$n]=$(pki_fp "$PKI/$n.crt")
done

# ------------------------------------------------------------ helpers

# served PORT S_CLIENT_ARG...: one s_client handshake; sets SERVED to the
# name of the leaf it got (a key of FP), "none" when it got none.
served() {
	local port=$1 fp n
	shift
	sclient "$port" "$@"
	SERVED=none
	fp=$(openssl x509 -noout -fingerprint -sha256 <"$SCLIENT_OUT" \
	    2>/dev/null | cut -d= -f2)
	[ -n "$fp" ] || return 0
	SERVED="unknown certificate $fp"
	for n in "${!FP[@]}"; do
		if [ "${FP[$n]}" = "$fp" ]; then
			SERVED=$n
			return 0
		fi
	done
}

# expect MSG LISTENER PORT WANT_LEAF WANT_CERT WANT_SNI S_CLIENT_ARG...:
# the handshake gets leaf WANT_LEAF on the wire, and the connection line
# says cert=WANT_CERT and (unless WANT_SNI is "*") sni=WANT_SNI.
expect() {
	local msg=$1 listener=$2 port=$3 leaf=$4 cert=$5 sni=$6 got
	shift 6
	log_mark
	served "$port" "$@"
	if [ "$SERVED" = "$leaf" ]; then
		ok "$msg: gets the $leaf certificate"
	else
		fail "$msg: want the $leaf certificate, got $SERVED" \
		    "$SCLIENT_OUT" "$LOG"
	fi
	if ! wait_conn "$listener" 'client_closed|upstream_closed'; then
		fail "$msg: connection line with reason=client_closed"
		return
	fi
	got=$(conn_field cert)
	check "$msg: logged cert=$cert (got cert=$got)" [ "$got" = "$cert" ]
	if [ "$sni" != '*' ]; then
		got=$(conn_field sni)
		check "$msg: logged sni=$sni (got sni=$got)" [ "$got" = "$sni" ]
	fi
}

# refused MSG LISTENER PORT ALERT_RE DETAIL_RE S_CLIENT_ARG...: the
# handshake fails, s_client reports the alert, the connection line is
# reason=handshake_failed with a detail matching DETAIL_RE.
refused() {
	local msg=$1 listener=$2 port=$3 alert=$4 det=$5 d
	shift 5
	log_mark
	served "$port" "$@"
	if [ "$SERVED" = none ] && [ "$SCLIENT_RC" -ne 0 ]; then
		ok "$msg: handshake refused"
	else
		fail "$msg: handshake refused (got $SERVED, rc $SCLIENT_RC)" \
		    "$SCLIENT_OUT"
	fi
	if grep -aqiE -- "$alert" "$SCLIENT_OUT"; then
		ok "$msg: s_client reports the alert /$alert/"
	else
		fail "$msg: s_client reports the alert /$alert/" "$SCLIENT_OUT"
	fi
	if wait_conn "$listener" handshake_failed; then
		d=$(conn_field detail)
		if grep -qE -- "$det" <<<"$d"; then
			ok "$msg: logged reason=handshake_failed detail=$d"
		else
			fail "$msg: detail matching /$det/ (got: $CONN_LINE)"
		fi
	else
		fail "$msg: connection line with reason=handshake_failed"
	fi
}

# probe MSG WANT(accept|reject) LISTENER PORT S_CLIENT_ARG...: an MQTT
# CONNECT through mqgate; on accept the line shows a subject matching
# SUBJ_RE and cert=WANT_CERT (both set by the caller, "" to skip).
probe() {
	local msg=$1 want=$2 listener=$3 port=$4 got subj
	shift 4
	log_mark
	if mqtt_probe "$port" "$@"; then
		got=accept
	else
		got=reject
	fi
	if [ "$got" = "$want" ]; then
		ok "$msg: ${want}ed"
	else
		fail "$msg: want $want, got $got" "$PROBE_OUT" "$LOG"
	fi
	if [ "$want" = reject ]; then
		if wait_conn "$listener" handshake_failed; then
			ok "$msg: logged reason=handshake_failed detail=$(conn_field detail)"
		else
			fail "$msg: connection line with reason=handshake_failed"
		fi
	elif [ -n "${SUBJ_RE:-}${WANT_CERT:-}" ]; then
		if ! wait_conn "$listener" 'client_closed|upstream_closed'; then
			fail "$msg: connection line with reason=client_closed|upstream_closed"
			return
		fi
		subj=$(conn_field subject)
		if [ -z "${SUBJ_RE:-}" ]; then
			:
		elif grep -qE -- "$SUBJ_RE" <<<"$subj"; then
			ok "$msg: logged subject=$subj"
		else
			fail "$msg: logged subject matching /$SUBJ_RE/ ($CONN_LINE)"
		fi
		got=$(conn_field cert)
		if [ -n "${WANT_CERT:-}" ]; then
			check "$msg: logged cert=$WANT_CERT (got cert=$got)" \
			    [ "$got" = "$WANT_CERT" ]
		fi
	fi
}

# conf_listener without the default certfile and keyfile.
conf_listener_nocert() {
	conf_listener "$@" | grep -vE '^(certfile|keyfile) = '
}

# Line number of the first line of FILE matching the ERE.
line_of() {
	grep -nE -- "$2" "$1" | head -n 1 | cut -d: -f1
}

start_broker

# ------------------------------------------------------------ (1) matching

P_MAIN=$(free_port)
P_NOCERT=$(free_port)
P_STRICT=$(free_port)
P_TRUST=$(free_port)
P_LOCKED=$(free_port)
CONF=$T/mqgate.ini
{
	conf_global "reload_interval = 0"
	# The RSA bundle is listed first: an ECDSA-capable client must still
	# get the ECDSA one.
	conf_listener main "$P_MAIN" \
	    "certs = tenant-a-rsa, tenant-a, special, tenant-b, cnonly, enc"
	conf_listener_nocert nocert "$P_NOCERT" "certs = tenant-b, tenant-a"
	conf_listener strict "$P_STRICT" "certs = tenant-b" \
	    "sni_strict = true"
	conf_listener trust "$P_TRUST" "certs = ta-rsa, ta, tb, special"
	conf_listener locked "$P_LOCKED" "certs = open" \
	    "verify = verify_peer" "fail_if_no_peer_cert = true" \
	    "cacertfile = $CERTS/ca.crt"
	cat <<EOF
[cert tenant-a]
certfile = $PKI/tenant-a.crt
keyfile = $PKI/tenant-a.key

[cert tenant-a-rsa]
certfile = $PKI/tenant-a-rsa.pem

; listed after tenant-a, whose wildcard also covers this name
[cert special]
certfile = $PKI/special.crt
keyfile = $PKI/special.key

[cert tenant-b]
certfile = $PKI/tenant-b.crt
keyfile = $PKI/tenant-b.key
sni = $B, Alias.Tenant-B.example.org., *.tb.example.net

[cert cnonly]
certfile = $PKI/cnonly.pem

; the demo certificate again, with its encrypted key
[cert enc]
certfile = $CERTS/server.pem
keyfile = $CERTS/server-enc.key
key_password = mqgate-demo
sni = enc.example.com

; the same certificates again, each requiring its tenant's devices
[cert ta]
certfile = $PKI/tenant-a.pem
cacertfile = $PKI/tenant-a-ca.crt
verify = verify_peer
fail_if_no_peer_cert = true

[cert ta-rsa]
certfile = $PKI/tenant-a-rsa.pem
cacertfile = $PKI/tenant-a-ca.crt
verify = verify_peer
fail_if_no_peer_cert = true

[cert tb]
certfile = $PKI/tenant-b.pem
cacertfile = $PKI/tenant-b-ca.crt
verify = verify_peer
fail_if_no_peer_cert = true

[cert open]
certfile = $PKI/open.crt
keyfile = $PKI/open.key
verify = verify_none
EOF
} | write_conf "$CONF"

run_mqgate -t -c "$CONF"
if [ "$RC" -eq 0 ]; then
	ok "mqgate -t accepts bundles, and a listener with certs but no certfile"
else
	fail "mqgate -t exits 0 for the bundle config (rc $RC)" "$ERR" "$OUT"
fi
start_mqgate "$CONF"

expect "no SNI" main "$P_MAIN" default - - -noservername
expect "an unknown name" main "$P_MAIN" default - unknown.example.com \
    -servername unknown.example.com
expect "exact $A" main "$P_MAIN" tenant-a tenant-a "$A" -servername "$A"
expect "upper-case MQTT.Tenant-A.Example.COM" main "$P_MAIN" tenant-a \
    tenant-a '*' -servername MQTT.Tenant-A.Example.COM
expect "trailing dot $A." main "$P_MAIN" tenant-a tenant-a '*' \
    -servername "$A."
expect "wildcard: dev1.tenant-a.example.com" main "$P_MAIN" tenant-a \
    tenant-a dev1.tenant-a.example.com \
    -servername dev1.tenant-a.example.com
expect "wildcard is one label: a.b.tenant-a.example.com" main "$P_MAIN" \
    default - a.b.tenant-a.example.com \
    -servername a.b.tenant-a.example.com
expect "wildcard needs a label: tenant-a.example.com" main "$P_MAIN" \
    default - tenant-a.example.com -servername tenant-a.example.com
expect "exact before wildcard: special.tenant-a.example.com" main \
    "$P_MAIN" special special special.tenant-a.example.com \
    -servername special.tenant-a.example.com
expect "sni = names: $B" main "$P_MAIN" tenant-b tenant-b "$B" \
    -servername "$B"
expect "sni = names: alias.tenant-b.example.org (set as Alias...org.)" \
    main "$P_MAIN" tenant-b tenant-b alias.tenant-b.example.org \
    -servername alias.tenant-b.example.org
expect "sni = wildcard: x.tb.example.net" main "$P_MAIN" tenant-b tenant-b \
    x.tb.example.net -servername x.tb.example.net
expect "sni = replaces the certificate's names: cert-only.tenant-b.example.com" \
    main "$P_MAIN" default - cert-only.tenant-b.example.com \
    -servername cert-only.tenant-b.example.com
expect "key_password: bundle enc (encrypted key) on enc.example.com" main \
    "$P_MAIN" default enc enc.example.com -servername enc.example.com
expect "no SAN: the CN cnonly.example.com" main "$P_MAIN" cnonly cnonly \
    cnonly.example.com -servername cnonly.example.com
expect "TLS 1.2, exact $A" main "$P_MAIN" tenant-a tenant-a "$A" \
    -servername "$A" -tls1_2

# Key types: the same names in an RSA and an ECDSA bundle.
expect "TLS 1.3 only (ECDSA-capable) on $A" main "$P_MAIN" tenant-a \
    tenant-a "$A" -servername "$A" -tls1_3
expect "TLS 1.3 only, ECDSA-only sigalgs on $A" main "$P_MAIN" tenant-a \
    tenant-a "$A" -servername "$A" -tls1_3 -sigalgs "ECDSA+SHA256"
expect "RSA-only sigalgs (TLS 1.3) on $A" main "$P_MAIN" tenant-a-rsa \
    tenant-a-rsa "$A" -servername "$A" -sigalgs "RSA-PSS+SHA256:RSA+SHA256"
expect "RSA-only ciphers (TLS 1.2 aRSA) on $A" main "$P_MAIN" tenant-a-rsa \
    tenant-a-rsa "$A" -servername "$A" -tls1_2 -cipher aRSA
expect "ECDSA-only ciphers (TLS 1.2 aECDSA) on $A" main "$P_MAIN" tenant-a \
    tenant-a "$A" -servername "$A" -tls1_2 -cipher aECDSA
expect "RSA-only sigalgs on a wildcard name x.tenant-a.example.com" main \
    "$P_MAIN" tenant-a-rsa tenant-a-rsa x.tenant-a.example.com \
    -servername x.tenant-a.example.com -sigalgs "RSA-PSS+SHA256:RSA+SHA256"

# A listener without certfile: the first bundle is the default.
expect "no certfile, no SNI: the first bundle" nocert "$P_NOCERT" tenant-b \
    tenant-b - -noservername
expect "no certfile, unknown name: the first bundle" nocert "$P_NOCERT" \
    tenant-b tenant-b nowhere.example.com -servername nowhere.example.com
expect "no certfile, $A" nocert "$P_NOCERT" tenant-a tenant-a "$A" \
    -servername "$A"

# sni_strict.
expect "sni_strict, $B" strict "$P_STRICT" tenant-b tenant-b "$B" \
    -servername "$B"
for v in -tls1_3 -tls1_2; do
	refused "sni_strict $v, unknown name" strict "$P_STRICT" \
	    'unrecognized name|alert number 112' \
	    'no certificate for the name .*nowhere\.example\.com.*\(sni_strict\)' \
	    -servername nowhere.example.com "$v"
	refused "sni_strict $v, no SNI" strict "$P_STRICT" \
	    'handshake failure|alert number 40' \
	    'no SNI in the ClientHello \(sni_strict\)' -noservername "$v"
done

# The listener's own certificate (localhost) is not an unknown name.
log_mark
served "$P_STRICT" -servername localhost
if [ "$SERVED" = default ]; then
	note "sni_strict: SNI localhost (the listener's certfile) is served the listener's certificate"
else
	note "sni_strict: SNI localhost (the listener's certfile) gets: $SERVED"
fi

# The connection line: every field, in the documented order.
LINE_RE=' conn=[0-9]+ client=[^ ]+ listener=[^ ]+ sni=[^ ]+ cert=[^ ]+ subject=("[^"]*"|[^ ]+) psk=[^ ]+ alpn=[^ ]+ resumed=(yes|no|-) tls=[^ ]+ cipher=[^ ]+ mqtt_user=("[^"]*"|[^ ]+) mqtt_client=("[^"]*"|[^ ]+) upstream=[^ ]+ in=[0-9]+ out=[0-9]+ ms=[0-9]+ reason=[a-z_]+( detail="[^"]*")?$'
log_mark
mqtt_probe "$P_MAIN" -servername "$A"
if wait_conn main 'upstream_closed|client_closed' &&
    grep -qE -- "$LINE_RE" <<<"$CONN_LINE"; then
	ok "an accepted connection's line has every field in order"
else
	fail "an accepted connection's line has every field in order ($CONN_LINE)"
fi
log_mark
sclient "$P_STRICT" -noservername
if wait_conn strict handshake_failed &&
    grep -qE -- "$LINE_RE" <<<"$CONN_LINE" &&
    grep -qE ' resumed=- tls=- cipher=- ' <<<"$CONN_LINE"; then
	ok "a refused connection's line has every field, resumed=- tls=- cipher=-"
else
	fail "a refused connection's line has every field, resumed=- tls=- cipher=- ($CONN_LINE)"
fi

# What the refusal lines say about the name (informational).
log_mark
sclient "$P_STRICT" -servername nowhere.example.com
if wait_conn strict handshake_failed; then
	note "sni_strict refusal of nowhere.example.com logs sni=$(conn_field sni)"
fi

# Data goes through a connection served by a bundle.
SUBJ_RE=''
WANT_CERT=tenant-b
probe "MQTT CONNECT on $B with a tenant-b device" accept main "$P_MAIN" \
    -servername "$B" -cert "$PKI/dev-b.crt" -key "$PKI/dev-b.key"

# ------------------------------------------------------------ (2) trust

# The listener is verify_none; on it, bundles ta/ta-rsa and tb each
# require a certificate from their own tenant's CA.
SUBJ_RE='CN=dev-a1'
for v in -tls1_3 -tls1_2; do
	WANT_CERT=ta
	probe "$v tenant-a device on $A" accept trust "$P_TRUST" \
	    -servername "$A" -cert "$PKI/dev-a.crt" -key "$PKI/dev-a.key" "$v"
	probe "$v tenant-b device on $A" reject trust "$P_TRUST" \
	    -servername "$A" -cert "$PKI/dev-b.crt" -key "$PKI/dev-b.key" "$v"
	probe "$v no client certificate on $A" reject trust "$P_TRUST" \
	    -servername "$A" "$v"
	WANT_CERT=ta-rsa
	probe "$v tenant-a device on $A, RSA-only client" accept trust \
	    "$P_TRUST" -servername "$A" -cert "$PKI/dev-a.crt" \
	    -key "$PKI/dev-a.key" -sigalgs "RSA-PSS+SHA256:RSA+SHA256" \
	    -client_sigalgs "ECDSA+SHA256" "$v"
	probe "$v tenant-b device on $A, RSA-only client" reject trust \
	    "$P_TRUST" -servername "$A" -cert "$PKI/dev-b.crt" \
	    -key "$PKI/dev-b.key" -sigalgs "RSA-PSS+SHA256:RSA+SHA256" \
	    -client_sigalgs "ECDSA+SHA256" "$v"
done
SUBJ_RE='CN=dev-b1'
WANT_CERT=tb
probe "tenant-b device on $B" accept trust "$P_TRUST" -servername "$B" \
    -cert "$PKI/dev-b.crt" -key "$PKI/dev-b.key"
probe "tenant-a device on $B" reject trust "$P_TRUST" -servername "$B" \
    -cert "$PKI/dev-a.crt" -key "$PKI/dev-a.key"
SUBJ_RE=''
WANT_CERT=-
probe "no client certificate, no SNI (the listener's verify_none)" accept \
    trust "$P_TRUST" -noservername
WANT_CERT=special
probe "no client certificate on special (no override: verify_none)" \
    accept trust "$P_TRUST" -servername special.tenant-a.example.com

mqtt_probe "$P_TRUST" -servername "$A"
if grep -aA3 'Acceptable client certificate CA names' "$PROBE_OUT" |
    grep -q 'tenant-a devices CA'; then
	ok "on $A the certificate request names the tenant-a CA"
else
	fail "on $A the certificate request names the tenant-a CA" \
	    "$PROBE_OUT"
fi
if grep -aA5 'Acceptable client certificate CA names' "$PROBE_OUT" |
    grep -qE 'tenant-b devices CA|mqgate demo root CA'; then
	fail "on $A the certificate request names only the tenant-a CA" \
	    "$PROBE_OUT"
else
	ok "on $A the certificate request names only the tenant-a CA"
fi
mqtt_probe "$P_TRUST" -noservername
if grep -aq 'Acceptable client certificate CA names' "$PROBE_OUT"; then
	fail "without SNI (verify_none) no certificate is requested" \
	    "$PROBE_OUT"
else
	ok "without SNI (verify_none) no certificate is requested"
fi

# A bundle's verify_none on a listener that requires certificates.
SUBJ_RE='CN=client1'
WANT_CERT=-
probe "locked listener, demo client, no SNI" accept locked "$P_LOCKED" \
    -noservername -cert "$CERTS/client.crt" -key "$CERTS/client.key"
SUBJ_RE=''
for v in -tls1_3 -tls1_2; do
	WANT_CERT=
	probe "$v locked listener, no client certificate, no SNI" reject \
	    locked "$P_LOCKED" -noservername "$v"
	WANT_CERT=open
	probe "$v locked listener, no client certificate, on open.example.com (bundle verify_none)" \
	    accept locked "$P_LOCKED" -servername open.example.com "$v"
done

stop_mqgate

# ------------------------------------------------------------ (3) duplicates

P_DUP=$(free_port)
DCONF=$T/dup.ini
{
	conf_global
	conf_listener dup "$P_DUP" "certs = dup-one, tenant-a-rsa, dup-two"
	cat <<EOF
[cert dup-one]
certfile = $PKI/dup1.pem

[cert tenant-a-rsa]
certfile = $PKI/tenant-a-rsa.pem

[cert dup-two]
certfile = $PKI/dup2.pem
EOF
} | write_conf "$DCONF"
run_mqgate -t -c "$DCONF"
check "two ECDSA bundles for dup.example.com: mqgate -t exits 1 (rc $RC)" \
    [ "$RC" -eq 1 ]
H1=$(line_of "$DCONF" '^\[cert dup-one\]')
H2=$(line_of "$DCONF" '^\[cert dup-two\]')
MSG=$(grep -E "dup-one" "$ERR" | grep -E "dup-two" | head -n 1)
if [ -n "$MSG" ]; then
	ok "the error names both bundles: $MSG"
else
	fail "the error names both bundles dup-one and dup-two on one line" \
	    "$ERR"
fi
if grep -qE "$DCONF:[0-9]+: " <<<"$MSG"; then
	ok "the error is reported at $(basename "$DCONF"):LINE"
else
	fail "the error is reported at $(basename "$DCONF"):LINE" "$ERR"
fi
# Each bundle's place: its [cert] header or a line inside its section.
in_section() {
	local from=$1 to=$2 n
	while read -r n; do
		[ -n "$n" ] && [ "$n" -ge "$from" ] && [ "$n" -le "$to" ] &&
		    return 0
	done < <(grep -oE "$DCONF:[0-9]+|line [0-9]+" <<<"$MSG" |
	    sed 's/.*[: ]//')
	return 1
}
for b in dup-one:"$H1" dup-two:"$H2"; do
	n=${b%%:*}
	h=${b#*:}
	if in_section "$h" $((h + 1)); then
		ok "the error gives $n's own file:line ($(basename "$DCONF"):$h..$((h + 1)))"
	else
		fail "the error gives $n's own file:line ($(basename "$DCONF"):$h..$((h + 1)), [cert $n] header or certfile)" "$ERR"
	fi
done

# The same names with two key types but different client-certificate
# checks: the client's signature algorithms would pick which checks apply.
PCONF=$T/policy.ini
{
	conf_global
	conf_listener pol "$(free_port)" "certs = ta, tenant-a-rsa"
	cat <<EOF
[cert ta]
certfile = $PKI/tenant-a.pem
cacertfile = $PKI/tenant-a-ca.crt
verify = verify_peer
fail_if_no_peer_cert = true

[cert tenant-a-rsa]
certfile = $PKI/tenant-a-rsa.pem
EOF
} | write_conf "$PCONF"
run_mqgate -t -c "$PCONF"
check "RSA and ECDSA bundles of one name, only one requiring client certificates: mqgate -t exits 1 (rc $RC)" \
    [ "$RC" -eq 1 ]
check "the error names both bundles and says the checks differ" \
    grep -qE "bundle 'ta'.*bundle 'tenant-a-rsa'.*check client certificates differently" "$ERR"

# A [cert] section without certfile is a config error, never a crash.
NCONF=$T/nocert.ini
{
	conf_global
	conf_listener nc "$(free_port)" "certs = nocert"
	cat <<EOF
[cert nocert]
keyfile = $PKI/tenant-a.key
EOF
} | write_conf "$NCONF"
run_mqgate -t -c "$NCONF"
check "[cert] with keyfile but no certfile: mqgate -t exits 1 (rc $RC)" \
    [ "$RC" -eq 1 ]
check "... saying certfile is missing in [cert nocert]" \
    grep -qE "certfile: required key missing in \\[cert nocert\\]" "$ERR"

# A bundle whose certificate is missing still has its CA and CRL files
# checked: mqgate -t reports every problem at once.
MCONF=$T/missing.ini
{
	conf_global
	conf_listener mi "$(free_port)" "certs = gone"
	cat <<EOF
[cert gone]
certfile = $T/no-such.pem
cacertfile = $T/no-such-ca.pem
crlfile = $T/no-such.crl
EOF
} | write_conf "$MCONF"
run_mqgate -t -c "$MCONF"
check "missing certfile, cacertfile and crlfile: mqgate -t exits 1 (rc $RC)" \
    [ "$RC" -eq 1 ]
for k in certfile cacertfile crlfile; do
	check "... reports $k with its file:line" \
	    grep -qE "missing.ini:[0-9]+: $k: cannot open" "$ERR"
done

# ------------------------------------------------------------ (4) certdir

D=$T/certdir
mkdir -p "$D"
cp "$PKI/d1.pem" "$D/d1.pem"
echo "not a bundle" >"$D/README.txt"
P_DIR=$(free_port)
P_DIRONLY=$(free_port)
CCONF=$T/certdir.ini
{
	conf_global "reload_interval = 0"
	conf_listener dir "$P_DIR" "certdir = $D"
	conf_listener_nocert dironly "$P_DIRONLY" "certdir = $D"
} | write_conf "$CCONF"
start_mqgate "$CCONF"

expect "certdir: d1.pem at start" dir "$P_DIR" d1 d1 d1.example.com \
    -servername d1.example.com
expect "certdir: no SNI" dir "$P_DIR" default - - -noservername
expect "certdir only, no SNI: the directory's only bundle" dironly \
    "$P_DIRONLY" d1 d1 - -noservername

cp "$PKI/d2.crt" "$D/d2.crt"
cp "$PKI/d2.key" "$D/d2.key"
expect "certdir: d2.crt+d2.key added, before SIGHUP" dir "$P_DIR" default \
    - d2.example.com -servername d2.example.com

reloaded() {
	local what=$1 line
	if wait_log 'certificates reloaded generation=[0-9]+ \(SIGHUP\)'; then
		line=$(log_since | grep -E 'certificates reloaded generation=' |
		    tail -n 1)
		GEN_NEW=$(sed -E 's/.*generation=([0-9]+).*/\1/' <<<"$line")
		ok "$what: logged '${line#* * }'"
		if [ -n "${GEN:-}" ]; then
			check "$what: generation $GEN_NEW > $GEN" \
			    [ "$GEN_NEW" -gt "$GEN" ]
		fi
		GEN=$GEN_NEW
	else
		fail "$what: 'certificates reloaded generation=N (SIGHUP)' logged"
	fi
}

GEN=
log_mark
signal_mqgate HUP
reloaded "certdir: SIGHUP after adding d2"
expect "certdir: d2 after SIGHUP" dir "$P_DIR" d2 d2 d2.example.com \
    -servername d2.example.com
expect "certdir: d1 after SIGHUP" dir "$P_DIR" d1 d1 d1.example.com \
    -servername d1.example.com

rm -f "$D/d1.pem"
log_mark
signal_mqgate HUP
reloaded "certdir: SIGHUP after removing d1"
expect "certdir: d1 removed" dir "$P_DIR" default - d1.example.com \
    -servername d1.example.com
expect "certdir: d2 still there" dir "$P_DIR" d2 d2 d2.example.com \
    -servername d2.example.com

# A broken entry, together with another change: nothing of it applies.
cp "$CERTS/bad.pem" "$D/d3.pem"
cp "$PKI/d1.pem" "$D/d1.pem"
log_mark
signal_mqgate HUP
if wait_log 'keeping previous certificate'; then
	line=$(log_since | grep 'keeping previous certificate' | head -n 1)
	ok "certdir: broken d3.pem: logged '${line#* * }'"
	if grep -q 'd3' <<<"$line"; then
		ok "certdir: the error names d3"
	else
		fail "certdir: the error names d3 ($line)"
	fi
else
	fail "certdir: broken d3.pem: '(keeping previous certificate)' logged"
fi
assert_no_log "certdir: no 'certificates reloaded' for the broken set" \
    'certificates reloaded generation='
check "certdir: mqgate still runs" pid_alive "$MQGATE_PID"
expect "certdir: after the broken reload d2 is served" dir "$P_DIR" d2 d2 \
    d2.example.com -servername d2.example.com
expect "certdir: after the broken reload d1 is still not served" dir \
    "$P_DIR" default - d1.example.com -servername d1.example.com

rm -f "$D/d3.pem"
log_mark
signal_mqgate HUP
reloaded "certdir: SIGHUP after fixing"
expect "certdir: fixed: d1 is back" dir "$P_DIR" d1 d1 d1.example.com \
    -servername d1.example.com
check "certdir: a client gets a CONNACK on d2.example.com" \
    mqtt_probe "$P_DIR" -servername d2.example.com

# A second ECDSA entry for d2.example.com is a broken set too.
cp "$PKI/d2twin.pem" "$D/d2twin.pem"
log_mark
signal_mqgate HUP
if wait_log 'keeping previous certificate'; then
	line=$(log_since | grep 'keeping previous certificate' | head -n 1)
	ok "certdir: a duplicate name: logged '${line#* * }'"
	check "certdir: the error names d2 and d2twin" \
	    grep -qE "d2[^t].*d2twin|d2twin.*d2[^t]" <<<"$line"
else
	fail "certdir: a duplicate name: '(keeping previous certificate)' logged"
fi
expect "certdir: after the duplicate, d2 is still served" dir "$P_DIR" d2 \
    d2 d2.example.com -servername d2.example.com
rm -f "$D/d2twin.pem"

# Replacing an entry's files serves the new certificate after SIGHUP.
cp "$PKI/d2new.crt" "$D/d2.crt.tmp" && mv -f "$D/d2.crt.tmp" "$D/d2.crt"
cp "$PKI/d2new.key" "$D/d2.key.tmp" && mv -f "$D/d2.key.tmp" "$D/d2.key"
log_mark
signal_mqgate HUP
reloaded "certdir: SIGHUP after replacing d2.crt and d2.key"
expect "certdir: the replaced d2" dir "$P_DIR" d2new d2 d2.example.com \
    -servername d2.example.com

# Informational: a NAME.crt without its NAME.key.
cp "$PKI/d1.crt" "$D/lonely.crt"
log_mark
signal_mqgate HUP
if wait_log 'certificates reloaded generation=|keeping previous'; then
	note "certdir: lonely.crt without lonely.key: $(log_since | grep -E 'certificates reloaded generation=|keeping previous' | head -n 1 | cut -d' ' -f3-)"
fi
rm -f "$D/lonely.crt"
stop_mqgate
