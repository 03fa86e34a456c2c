/*
 * tls_info: reads the facts of a TLS session into struct tls_info. It does
 * not keep anything: callers take a snapshot when they need one (at the end
 * of a connection for the log line), so idle connections carry no copies.
 */
#include "build_config.h"

#include <string.h>

#include <openssl/bio.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

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
	out->version = SSL_get_version(ssl);
	out->cipher = SSL_get_cipher_name(ssl);
	cert = SSL_get0_peer_certificate(ssl);
	if (cert != NULL)
		subject_of(cert, out->subject, sizeof(out->subject));
}
