/*
 * tls_info: reads the facts of a TLS session into struct tls_info. It does
 * not keep anything: callers take a snapshot when they need one (at the end
 * of a connection for the log line), so idle connections carry no copies.
 */
#include "build_config.h"

#include <stdio.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "tls_ctx.h"
#include "tls_info.h"

static void
subject_of(X509 *cert, char *buf, size_t cap)
{
	BIO *bio;
	int n;

	buf[0] = '\0';
	bio = BIO_new(BIO_s_mem());
	if (bio == NULL)
		return;
	if (X509_NAME_print_ex(bio, X509_get_subject_name(cert), 0,
		XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB) >= 0) {
		n = BIO_read(bio, buf, (int)cap - 1);
		buf[n > 0 ? n : 0] = '\0';
	}
	BIO_free(bio);
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
