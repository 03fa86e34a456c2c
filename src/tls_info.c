/*
 * tls_info: reads the facts of a TLS session into struct tls_info. It does
 * not keep anything: callers take a snapshot when they need one (at the end
 * of a connection for the log line), so idle connections carry no copies.
 */
#include "build_config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "config_keys.h"
#include "text.h"
#include "tls_ctx.h"
#include "tls_info.h"


/* The whole RFC 2253 subject, allocated (the log line's copy is cut to
 * fit; an identity must not be). NULL when it cannot be printed. */
static char *
subject_alloc(X509 *cert)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *out = NULL, *data;
	long n;

	if (bio == NULL)
		return NULL;
	if (X509_NAME_print_ex(bio, X509_get_subject_name(cert), 0,
		XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB) >= 0 &&
	    (n = BIO_get_mem_data(bio, &data)) > 0 &&
	    (out = malloc((size_t)n + 1)) != NULL) {
		memcpy(out, data, (size_t)n);
		out[n] = '\0';
	}
	BIO_free(bio);
	return out;
}

/* The subject into buf, cut to fit (for the log line). */
static void
subject_of(X509 *cert, char *buf, size_t cap)
{
	char *full = subject_alloc(cert);

	snprintf(buf, cap, "%s", full != NULL ? full : "");
	free(full);
}

/* TLS 1.2: whether the key exchange was a PSK one. */
static bool
psk_used(SSL *ssl)
{
	const SSL_CIPHER *c = SSL_get_current_cipher(ssl);
	int kx = c != NULL ? SSL_CIPHER_get_kx_nid(c) : NID_undef;

	return kx == NID_kx_psk || kx == NID_kx_ecdhe_psk ||
	    kx == NID_kx_dhe_psk || kx == NID_kx_rsa_psk;
}

void
tls_info_get(SSL *ssl, int handshake_done, struct tls_info *out)
{
	const char *sni;
	X509 *cert;

	memset(out, 0, sizeof(*out));
	out->verify_result = X509_V_OK;
	if (ssl == NULL)
		return;
	sni = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
	if (sni != NULL) {
		strncpy(out->sni, sni, sizeof(out->sni) - 1);
	}
	out->verify_result = SSL_get_verify_result(ssl);
	if (!handshake_done)
		return;
	{
		const char *v;
		const unsigned char *a;
		unsigned int alen;
		bool fresh_psk = false;

		if ((v = tls_ctx_site_name(ssl)) != NULL)
			snprintf(out->cert, sizeof(out->cert), "%s", v);

		if (SSL_version(ssl) >= TLS1_3_VERSION) {
			/* From the session OpenSSL kept, so that naming an
			 * identity without its key proves nothing. */
			tls_ctx_session_psk(ssl, out->psk, sizeof(out->psk),
			    &fresh_psk);
		} else if (psk_used(ssl) &&
		    (v = SSL_get_psk_identity(ssl)) != NULL) {
			snprintf(out->psk, sizeof(out->psk), "%s", v);
		}
		SSL_get0_alpn_selected(ssl, &a, &alen);
		if (alen > 0 && alen < sizeof(out->alpn)) {
			memcpy(out->alpn, a, alen);
			out->alpn[alen] = '\0';
		}
		/* A TLS 1.3 external PSK handshake counts as "reused" in
		 * OpenSSL, but resumes nothing. */
		out->resumed = SSL_session_reused(ssl) == 1 && !fresh_psk;
	}
	out->version = SSL_get_version(ssl);
	out->cipher = SSL_get_cipher_name(ssl);
	cert = SSL_get0_peer_certificate(ssl);
	if (cert != NULL)
		subject_of(cert, out->subject, sizeof(out->subject));
}

void
tls_info_subject(X509 *cert, char *buf, size_t cap)
{
	if (cap == 0)
		return;
	buf[0] = '\0';
	if (cert != NULL)
		subject_of(cert, buf, cap);
}

/* Each text entry of nid in the subject, NUL-free, at most cap - 1 bytes. */
static bool
name_entries(X509 *cert, int nid, const struct allow_list *l, bool casefold,
    char *seen, size_t cap)
{
	X509_NAME *name = X509_get_subject_name(cert);
	int i = -1;

	seen[0] = '\0';
	while ((i = X509_NAME_get_index_by_NID(name, nid, i)) >= 0) {
		ASN1_STRING *d = X509_NAME_ENTRY_get_data(
		    X509_NAME_get_entry(name, i));
		unsigned char *u = NULL;
		int n = ASN1_STRING_to_UTF8(&u, d);
		bool ok;

		if (n < 0)
			continue;
		if ((int)strlen((char *)u) != n) { /* embedded NUL */
			OPENSSL_free(u);
			continue;
		}
		snprintf(seen, cap, "%s", (char *)u);
		ok = allow_list_match(l, (char *)u, casefold);
		OPENSSL_free(u);
		if (ok)
			return true;
	}
	return false;
}

static bool
san_entries(X509 *cert, int type, const struct allow_list *l, bool casefold,
    char *seen, size_t cap)
{
	GENERAL_NAMES *gens = X509_get_ext_d2i(cert, NID_subject_alt_name,
	    NULL, NULL);
	bool ok = false;
	int i;

	seen[0] = '\0';
	for (i = 0; gens != NULL && i < sk_GENERAL_NAME_num(gens) && !ok;
	     i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
		const ASN1_IA5STRING *s;
		char v[256];
		int n;

		if (g->type != type)
			continue;
		s = type == GEN_DNS ? g->d.dNSName : g->d.uniformResourceIdentifier;
		n = ASN1_STRING_length(s);
		if (n <= 0 || (size_t)n >= sizeof(v))
			continue;
		memcpy(v, ASN1_STRING_get0_data(s), (size_t)n);
		v[n] = '\0';
		if (strlen(v) != (size_t)n)
			continue;
		snprintf(seen, cap, "%s", v);
		ok = allow_list_match(l, v, casefold);
	}
	GENERAL_NAMES_free(gens);
	return ok;
}

bool
tls_info_allowed(X509 *cert, struct allow_list *const *allow, char *why,
    size_t cap)
{
	static const struct {
		const char *what;
		int nid;  /* subject entry, or */
		int type; /* SAN type */
		bool casefold;
	} rule[ALLOW_KIND_COUNT] = {
		[ALLOW_CN] = { "CN", NID_commonName, -1, false },
		[ALLOW_OU] = { "OU", NID_organizationalUnitName, -1, false },
		[ALLOW_SAN_DNS] = { "DNS SAN", NID_undef, GEN_DNS, true },
		[ALLOW_SAN_URI] = { "URI SAN", NID_undef, GEN_URI, false },
	};
	size_t k;

	for (k = 0; k < ALLOW_KIND_COUNT; k++) {
		char seen[256];
		bool ok;

		if (allow[k] == NULL)
			continue;
		ok = rule[k].nid != NID_undef
		    ? name_entries(cert, rule[k].nid, allow[k],
			  rule[k].casefold, seen, sizeof(seen))
		    : san_entries(cert, rule[k].type, allow[k],
			  rule[k].casefold, seen, sizeof(seen));
		if (ok)
			continue;
		if (seen[0] != '\0')
			snprintf(why, cap, "%s '%s' matches no %s pattern",
			    rule[k].what, seen, config_allow_keys[k]);
		else
			snprintf(why, cap, "no %s in the certificate for %s",
			    rule[k].what, config_allow_keys[k]);
		return false;
	}
	return true;
}

void
tls_info_cert_names(X509 *cert, void (*fn)(const char *name, void *arg),
    void *arg)
{
	GENERAL_NAMES *gens;
	bool any = false;
	int i;

	if (cert == NULL)
		return;
	gens = X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL);
	for (i = 0; gens != NULL && i < sk_GENERAL_NAME_num(gens); i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
		char v[300];
		int n;

		if (g->type != GEN_DNS)
			continue;
		n = ASN1_STRING_length(g->d.dNSName);
		if (n <= 0 || (size_t)n >= sizeof(v))
			continue;
		memcpy(v, ASN1_STRING_get0_data(g->d.dNSName), (size_t)n);
		v[n] = '\0';
		any = true;
		fn(v, arg);
	}
	GENERAL_NAMES_free(gens);
	if (!any) {
		X509_NAME *name = X509_get_subject_name(cert);
		int j = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
		unsigned char *u = NULL;

		if (j >= 0 &&
		    ASN1_STRING_to_UTF8(&u,
			X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, j))) >
			0) {
			fn((char *)u, arg);
			OPENSSL_free(u);
		}
	}
}

/* The first entry of nid in the subject as UTF-8 without NULs. */
static void
first_entry(X509 *cert, int nid, char *buf, size_t cap)
{
	X509_NAME *name = X509_get_subject_name(cert);
	int i = X509_NAME_get_index_by_NID(name, nid, -1);
	unsigned char *u = NULL;
	int n;

	buf[0] = '\0';
	if (i < 0)
		return;
	n = ASN1_STRING_to_UTF8(&u,
	    X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i)));
	if (n < 0)
		return;
	if ((size_t)n < cap && (int)strlen((char *)u) == n)
		memcpy(buf, u, (size_t)n + 1);
	OPENSSL_free(u);
}

/* Every SAN of type (GEN_URI, GEN_DNS) without NULs; -1 on out of
 * memory. */
static int
san_all(X509 *cert, int type, char ***out, size_t *n)
{
	GENERAL_NAMES *gens = X509_get_ext_d2i(cert, NID_subject_alt_name,
	    NULL, NULL);
	int i, cnt = gens != NULL ? sk_GENERAL_NAME_num(gens) : 0, rc = 0;

	*out = NULL;
	*n = 0;
	if (cnt > 0 && (*out = calloc((size_t)cnt, sizeof(char *))) == NULL)
		rc = -1;
	for (i = 0; rc == 0 && i < cnt; i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
		const ASN1_IA5STRING *s;
		int len;

		if (g->type != type)
			continue;
		s = type == GEN_DNS ? g->d.dNSName : g->d.uniformResourceIdentifier;
		len = ASN1_STRING_length(s);
		if (len <= 0 || memchr(ASN1_STRING_get0_data(s), 0, (size_t)len))
			continue;
		if (((*out)[*n] = strndup((const char *)ASN1_STRING_get0_data(s),
			 (size_t)len)) == NULL)
			rc = -1;
		else
			(*n)++;
	}
	GENERAL_NAMES_free(gens);
	return rc;
}

/* HAProxy's names for its own certificate: the short name of the
 * signature algorithm, and the key type with its size. */
static void
own_cert(SSL *ssl, struct tls_facts *f)
{
	X509 *own = SSL_get_certificate(ssl);
	EVP_PKEY *pk;
	int id, bits;
	const char *sn;

	if (own == NULL)
		return;
	sn = OBJ_nid2sn(X509_get_signature_nid(own));
	if (sn != NULL)
		snprintf(f->sig_alg, sizeof(f->sig_alg), "%s", sn);
	if ((pk = X509_get0_pubkey(own)) == NULL)
		return;
	id = EVP_PKEY_get_base_id(pk);
	bits = EVP_PKEY_get_bits(pk);
	if (id == EVP_PKEY_RSA)
		snprintf(f->key_alg, sizeof(f->key_alg), "RSA%d", bits);
	else if (id == EVP_PKEY_EC)
		snprintf(f->key_alg, sizeof(f->key_alg), "EC%d", bits);
	else if (id == EVP_PKEY_DSA)
		snprintf(f->key_alg, sizeof(f->key_alg), "DSA%d", bits);
	else if ((sn = OBJ_nid2sn(id)) != NULL)
		snprintf(f->key_alg, sizeof(f->key_alg), "%s", sn);
}

/* The TLS SignatureScheme name (RFC 8446) mqgate signed with. OpenSSL 3.0
 * gives the signature type and the digest, not the name. */
static void
sig_scheme(SSL *ssl, struct tls_facts *f)
{
	int type, md;
	const char *h, *curve = NULL;
	char *lc;
	X509 *own = SSL_get_certificate(ssl);
	EVP_PKEY *pk = own != NULL ? X509_get0_pubkey(own) : NULL;

	if (SSL_get_signature_type_nid(ssl, &type) != 1)
		return;
	if (type == EVP_PKEY_ED25519 || type == EVP_PKEY_ED448) {
		snprintf(f->sig_scheme, sizeof(f->sig_scheme), "%s",
		    type == EVP_PKEY_ED25519 ? "ed25519" : "ed448");
		return;
	}
	if (SSL_get_signature_nid(ssl, &md) != 1 || (h = OBJ_nid2sn(md)) == NULL)
		return;
	switch (type) {
	case EVP_PKEY_RSA:
		snprintf(f->sig_scheme, sizeof(f->sig_scheme), "rsa_pkcs1_%s",
		    h);
		break;
	case EVP_PKEY_RSA_PSS:
		snprintf(f->sig_scheme, sizeof(f->sig_scheme), "rsa_pss_%s_%s",
		    pk != NULL && EVP_PKEY_get_base_id(pk) == EVP_PKEY_RSA_PSS
			? "pss"
			: "rsae",
		    h);
		break;
	case EVP_PKEY_EC:
		if (md == NID_sha256)
			curve = "secp256r1";
		else if (md == NID_sha384)
			curve = "secp384r1";
		else if (md == NID_sha512)
			curve = "secp521r1";
		if (curve != NULL)
			snprintf(f->sig_scheme, sizeof(f->sig_scheme),
			    "ecdsa_%s_%s", curve, h);
		else
			snprintf(f->sig_scheme, sizeof(f->sig_scheme),
			    "ecdsa_%s", h);
		break;
	default:
		break;
	}
	for (lc = f->sig_scheme; *lc != '\0'; lc++) /* RFC 8446 spells it so */
		if (*lc >= 'A' && *lc <= 'Z')
			*lc = (char)(*lc - 'A' + 'a');
}

static void
client_cert(X509 *cert, struct tls_facts *f, int *oom)
{
	const ASN1_INTEGER *sn = X509_get0_serialNumber(cert);
	BIGNUM *bn = sn != NULL ? ASN1_INTEGER_to_BN(sn, NULL) : NULL;
	char *hex = bn != NULL ? BN_bn2hex(bn) : NULL;
	unsigned char *der = NULL;
	int len, i = -1;
	X509_NAME *name = X509_get_subject_name(cert);

	first_entry(cert, NID_commonName, f->cn, sizeof(f->cn));
	while ((i = X509_NAME_get_index_by_NID(name, NID_commonName, i)) >= 0)
		f->n_cn++;
	f->dn = subject_alloc(cert);
	if (hex != NULL)
		snprintf(f->serial, sizeof(f->serial), "%s", hex);
	OPENSSL_free(hex);
	BN_free(bn);
	if (san_all(cert, GEN_URI, &f->san_uri, &f->n_san_uri) < 0 ||
	    san_all(cert, GEN_DNS, &f->san_dns, &f->n_san_dns) < 0)
		*oom = 1;
	len = i2d_X509(cert, &der);
	if (len <= 0) {
		*oom = 1;
		return;
	}
	f->der = der;
	f->der_len = (size_t)len;
	/* Without its digest the certificate has no cert_sha256: every
	 * certificate would get the same all-zero one. */
	if (EVP_Digest(der, (size_t)len, f->sha256, NULL, EVP_sha256(), NULL) !=
	    1) {
		*oom = 1;
		return;
	}
	text_hex(f->sha256, sizeof(f->sha256), f->sha256_hex);
}

struct tls_facts *
tls_facts_get(SSL *ssl)
{
	struct tls_facts *f = calloc(1, sizeof(*f));
	X509 *cert;
	int oom = 0, g;

	if (f == NULL)
		return NULL;
	tls_info_get(ssl, 1, &f->info);
	cert = SSL_get0_peer_certificate(ssl);
	f->verify = 1; /* no certificate: non-zero, as the spec says */
	if (cert != NULL) {
		f->cert = true;
		f->cert_conn = !f->info.resumed;
		f->verify = (uint32_t)f->info.verify_result;
		f->verified = f->info.verify_result == X509_V_OK;
		client_cert(cert, f, &oom);
	}
	if (f->info.psk[0] == '\0') {
		own_cert(ssl, f);
		sig_scheme(ssl, f);
	}
	g = SSL_get_negotiated_group(ssl);
	if (g > 0)
		f->group = SSL_group_to_name(ssl, g);
	if (oom) {
		tls_facts_free(f);
		return NULL;
	}
	return f;
}

void
tls_facts_free(struct tls_facts *f)
{
	if (f == NULL)
		return;
	config_strv_free(f->san_uri, f->n_san_uri);
	config_strv_free(f->san_dns, f->n_san_dns);
	OPENSSL_free(f->der);
	free(f->dn);
	free(f);
}

void
tls_facts_proxy(const struct tls_facts *f, struct proxyv2_tls *out)
{
	memset(out, 0, sizeof(*out));
	out->ssl = true;
	out->cert_conn = f->cert_conn;
	out->cert_sess = f->cert;
	out->verify = f->verify;
	out->version = f->info.version;
	out->cipher = f->info.cipher;
	out->sig_alg = f->sig_alg;
	out->key_alg = f->key_alg;
	out->group = f->group;
	out->sig_scheme = f->sig_scheme;
	out->cn = f->cn;
	out->dn = f->dn;
	out->serial = f->serial;
	out->san_uri = (const char *const *)f->san_uri;
	out->n_san_uri = f->n_san_uri;
	out->san_dns = (const char *const *)f->san_dns;
	out->n_san_dns = f->n_san_dns;
	out->cert = f->der;
	out->cert_len = f->der_len;
	out->cert_sha256 = f->der != NULL ? f->sha256 : NULL;
	out->psk_identity = (const uint8_t *)f->info.psk;
	out->psk_identity_len = strlen(f->info.psk);
	out->authority = f->info.sni;
	out->alpn = (const uint8_t *)f->info.alpn;
	out->alpn_len = strlen(f->info.alpn);
}
