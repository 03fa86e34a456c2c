# shellcheck shell=bash
# crl_pki.sh: a client-certificate PKI run with `openssl ca` for the CRL
# tests (t_crl, t_crl_fetch): a root CA, intermediate CAs under it and
# client certificates under those, each CA with its own database so that
# certificates can be revoked and CRLs issued at every level. Sourced after
# lib.sh; owns nothing but $CRLPKI (= $T/crlpki). EC P-256 keys throughout.
#
#   crlpki_ca NAME SUBJECT [PARENT [DP_URL]]
#                        a CA in $CRLPKI/NAME/ (ca.crt ca.key and its
#                        database): self-signed without PARENT, else signed
#                        by CA PARENT, with a CRL distribution point DP_URL
#                        when given and not ""
#   crlpki_client NAME CA SUBJECT [DP_URL]
#                        a clientAuth leaf signed by CA: $CRLPKI/NAME.crt,
#                        NAME.key, and NAME.chain (the CA certificates
#                        below the root, for the client to send)
#   crlpki_forge NAME CA SUBJECT DP_URL
#                        a forged leaf: names CA as its issuer (without an
#                        authority key id, so the chain still builds) but
#                        is signed by another key; NAME.crt NAME.key
#                        NAME.chain
#   crlpki_revoke CA CERT            revoke CERT (a file) in CA's database
#   crlpki_crl CA OUT [der]          CA's current CRL into OUT (PEM unless
#                                    der), written to a temp file and
#                                    renamed, so readers never see half
#   crlpki_serial CERT               the serial number of CERT (hex)
#
# SUBJECT is in openssl's -subj form, e.g. "/CN=crl-good".

CRLPKI=$T/crlpki
mkdir -p "$CRLPKI"

# Quiet openssl: its output is shown only when it fails, then the test
# stops.
crlpki_ossl() {
	if ! openssl "$@" >"$CRLPKI/ossl.out" 2>&1; then
		cat "$CRLPKI/ossl.out" >&2
		bail "crlpki: openssl $1 failed" "$CRLPKI/ossl.out"
	fi
}

crlpki_key() {
	crlpki_ossl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
	    -pkeyopt ec_param_enc:named_curve -out "$1"
}

# The extension sections for what a CA signs; DP_URL from the environment
# so one file serves every certificate.
crlpki_cnf() {
	local dir=$1
	cat <<EOF
[ ca ]
default_ca = ca_here

[ ca_here ]
dir = $dir
database = \$dir/index.txt
new_certs_dir = \$dir/newcerts
serial = \$dir/serial
crlnumber = \$dir/crlnumber
certificate = \$dir/ca.crt
private_key = \$dir/ca.key
default_md = sha256
default_days = 30
default_crl_days = 7
policy = policy_any
unique_subject = no
copy_extensions = none
crl_extensions = crl_ext

[ policy_any ]
commonName = supplied
organizationalUnitName = optional

[ crl_ext ]
authorityKeyIdentifier = keyid:always

[ sub_ca ]
basicConstraints = critical, CA:true
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always

[ sub_ca_dp ]
basicConstraints = critical, CA:true
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
crlDistributionPoints = URI:\$ENV::CRLPKI_DP

[ client ]
basicConstraints = critical, CA:false
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid

[ client_dp ]
basicConstraints = critical, CA:false
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
crlDistributionPoints = URI:\$ENV::CRLPKI_DP
EOF
}

crlpki_ca() {
	local name=$1 subj=$2 parent=${3:-} dp=${4:-} dir ext
	dir=$CRLPKI/$name
	mkdir -p "$dir/newcerts"
	: >"$dir/index.txt"
	echo 1000 >"$dir/serial"
	echo 01 >"$dir/crlnumber"
	crlpki_cnf "$dir" >"$dir/ca.cnf"
	crlpki_key "$dir/ca.key"
	if [ -z "$parent" ]; then
		crlpki_ossl req -new -x509 -key "$dir/ca.key" -subj "$subj" \
		    -days 30 -sha256 -out "$dir/ca.crt" \
		    -addext "basicConstraints=critical,CA:true" \
		    -addext "keyUsage=critical,keyCertSign,cRLSign"
		: >"$dir/chain"
		return
	fi
	crlpki_ossl req -new -key "$dir/ca.key" -subj "$subj" \
	    -out "$dir/ca.csr"
	ext=sub_ca
	[ -n "$dp" ] && ext=sub_ca_dp
	CRLPKI_DP=$dp crlpki_ossl ca -batch -notext \
	    -config "$CRLPKI/$parent/ca.cnf" -extensions "$ext" \
	    -in "$dir/ca.csr" -out "$dir/ca.crt"
	cat "$dir/ca.crt" "$CRLPKI/$parent/chain" >"$dir/chain"
}

crlpki_client() {
	local name=$1 ca=$2 subj=$3 dp=${4:-} ext=client
	crlpki_key "$CRLPKI/$name.key"
	crlpki_ossl req -new -key "$CRLPKI/$name.key" -subj "$subj" \
	    -out "$CRLPKI/$name.csr"
	[ -n "$dp" ] && ext=client_dp
	CRLPKI_DP=$dp crlpki_ossl ca -batch -notext \
	    -config "$CRLPKI/$ca/ca.cnf" -extensions "$ext" \
	    -in "$CRLPKI/$name.csr" -out "$CRLPKI/$name.crt"
	cp "$CRLPKI/$ca/chain" "$CRLPKI/$name.chain"
}

crlpki_forge() {
	local name=$1 ca=$2 subj=$3 dp=$4 casubj
	casubj=$(openssl x509 -noout -subject -nameopt compat \
	    -in "$CRLPKI/$ca/ca.crt" | sed 's/^subject=//')
	crlpki_key "$CRLPKI/$name.fake.key"
	crlpki_ossl req -new -x509 -key "$CRLPKI/$name.fake.key" \
	    -subj "$casubj" -days 30 -out "$CRLPKI/$name.fake.crt"
	crlpki_key "$CRLPKI/$name.key"
	crlpki_ossl req -new -key "$CRLPKI/$name.key" -subj "$subj" \
	    -out "$CRLPKI/$name.csr"
	printf '%s\n' "[ forged ]" "basicConstraints = critical, CA:false" \
	    "keyUsage = critical, digitalSignature" \
	    "extendedKeyUsage = clientAuth" \
	    "authorityKeyIdentifier = none" "subjectKeyIdentifier = none" \
	    "crlDistributionPoints = URI:$dp" >"$CRLPKI/$name.ext"
	crlpki_ossl x509 -req -in "$CRLPKI/$name.csr" \
	    -CA "$CRLPKI/$name.fake.crt" -CAkey "$CRLPKI/$name.fake.key" \
	    -set_serial 0x7777 -days 30 -extfile "$CRLPKI/$name.ext" \
	    -extensions forged -out "$CRLPKI/$name.crt"
	cp "$CRLPKI/$ca/chain" "$CRLPKI/$name.chain"
}

crlpki_revoke() {
	CRLPKI_DP='' crlpki_ossl ca -config "$CRLPKI/$1/ca.cnf" -revoke "$2" \
	    -crl_reason keyCompromise
}

crlpki_crl() {
	local ca=$1 out=$2 form=${3:-pem}
	CRLPKI_DP='' crlpki_ossl ca -gencrl -config "$CRLPKI/$ca/ca.cnf" \
	    -out "$CRLPKI/$ca/crl.pem"
	if [ "$form" = der ]; then
		crlpki_ossl crl -in "$CRLPKI/$ca/crl.pem" -outform DER \
		    -out "$out.tmp.$$"
	else
		cp "$CRLPKI/$ca/crl.pem" "$out.tmp.$$"
	fi
	mv -f "$out.tmp.$$" "$out"
}

crlpki_serial() {
	openssl x509 -noout -serial -in "$1" | cut -d= -f2
}
