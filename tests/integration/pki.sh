# shellcheck shell=bash
# pki.sh: extra certificates for the TLS feature tests (t_sni, t_psk,
# t_resume, t_allow, t_alpn), made with the openssl CLI in $PKI = $T/pki.
# Sourced after lib.sh; owns nothing but $PKI. EC P-256 keys unless RSA is
# asked for. A CA argument is a base name looked up in $PKI first, then in
# $CERTS (so "ca" is the demo root that lib.sh's clients trust).
#
#   pki_ca NAME SUBJECT           a self-signed root: NAME.crt NAME.key
#   pki_server NAME CA SUBJECT SAN [rsa]
#                                 a serverAuth leaf: NAME.crt NAME.key, and
#                                 NAME.pem = leaf + key (a certdir entry).
#                                 SAN is an openssl subjectAltName value
#                                 ("DNS:a.example.com,DNS:*.example.com"),
#                                 "" for none
#   pki_client NAME CA SUBJECT [SAN]
#                                 a clientAuth leaf: NAME.crt NAME.key
#   pki_fp FILE                   SHA-256 fingerprint of the first
#                                 certificate in FILE ("" if none)
#   pki_cn FILE                   the CN of the first certificate in FILE
#
# SUBJECT is in openssl's -subj form, e.g. "/CN=cam-07/OU=cameras"; it may
# repeat an attribute ("/CN=gw-1/OU=ops/OU=gateways").

PKI=$T/pki
mkdir -p "$PKI"

# Quiet openssl: show its output only when it fails, then stop the test.
pki_ossl() {
	if ! openssl "$@" >"$PKI/ossl.out" 2>&1; then
		cat "$PKI/ossl.out" >&2
		bail "pki: openssl $1 failed" "$PKI/ossl.out"
	fi
}

pki_serial() {
	echo "0x$(openssl rand -hex 8)"
}

# pki_key FILE [rsa]
pki_key() {
	if [ "${2:-}" = rsa ]; then
		pki_ossl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 \
		    -out "$1"
	else
		pki_ossl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
		    -pkeyopt ec_param_enc:named_curve -out "$1"
	fi
}

# The directory holding CA.crt and CA.key.
pki_ca_dir() {
	if [ -f "$PKI/$1.crt" ]; then
		echo "$PKI"
	else
		echo "$CERTS"
	fi
}

pki_ca() {
	local name=$1 subj=$2
	pki_key "$PKI/$name.key"
	cat >"$PKI/$name.ext" <<'EOF'
[ext]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
EOF
	pki_ossl req -new -x509 -key "$PKI/$name.key" -subj "$subj" \
	    -days 3650 -set_serial "$(pki_serial)" -config "$PKI/$name.ext" \
	    -extensions ext -out "$PKI/$name.crt"
}

# pki_leaf NAME CA SUBJECT EKU SAN KEYTYPE
pki_leaf() {
	local name=$1 ca=$2 subj=$3 eku=$4 san=$5 kt=$6 cadir ku
	cadir=$(pki_ca_dir "$ca")
	ku="digitalSignature"
	[ "$kt" = rsa ] && ku="digitalSignature, keyEncipherment"
	{
		echo "[ext]"
		echo "basicConstraints = critical, CA:FALSE"
		echo "keyUsage = critical, $ku"
		echo "extendedKeyUsage = $eku"
		[ -n "$san" ] && echo "subjectAltName = $san"
		echo "subjectKeyIdentifier = hash"
		echo "authorityKeyIdentifier = keyid:always"
	} >"$PKI/$name.ext"
	pki_key "$PKI/$name.key" "$kt"
	pki_ossl req -new -key "$PKI/$name.key" -subj "$subj" \
	    -out "$PKI/$name.csr"
	pki_ossl x509 -req -in "$PKI/$name.csr" -CA "$cadir/$ca.crt" \
	    -CAkey "$cadir/$ca.key" -set_serial "$(pki_serial)" -days 3650 \
	    -sha256 -extfile "$PKI/$name.ext" -extensions ext \
	    -out "$PKI/$name.crt"
}

pki_server() {
	pki_leaf "$1" "$2" "$3" serverAuth "$4" "${5:-ec}"
	cat "$PKI/$1.crt" "$PKI/$1.key" >"$PKI/$1.pem"
}

pki_client() {
	pki_leaf "$1" "$2" "$3" clientAuth "${4:-}" ec
}

pki_fp() {
	openssl x509 -noout -fingerprint -sha256 -in "$1" 2>/dev/null |
	    cut -d= -f2
}

pki_cn() {
	openssl x509 -noout -subject -nameopt multiline -in "$1" 2>/dev/null |
	    sed -n 's/^ *commonName *= *//p' | head -n 1
}
