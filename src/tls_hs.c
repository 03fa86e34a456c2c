/*
 * tls_hs: the handshake-time callbacks (worker threads). They only read
 * the per-listener state built by tls_ctx.c, reached through the ex_data
 * of the SSL_CTX the connection is on; per-connection facts (PSK identity,
 * why we refused) go into the SSL's ex_data. See tls_hs.h.
 */
#include "build_config.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "crl_fetch.h"
#include "log.h"
#include "secrets.h"
#include "sni.h"
#include "tls_ctx.h"
#include "tls_hs.h"
#include "tls_info.h"

#define SNI_MATCH_MAX 8

/* ex_data indexes: set once, on the main thread, before any worker. */
static struct tls_listener *listener_of(SSL *ssl);

static int idx_site = -1;     /* SSL_CTX -> struct tls_site * */
static int idx_listener = -1; /* listener SSL_CTX -> owned tls_listener */
static int idx_psk = -1;      /* SSL -> const struct psk_entry * */
static int idx_refusal = -1;  /* SSL -> owned char * */
static int idx_secret = -1;   /* SSL -> owned struct traffic_secret * */

/* The server's first application traffic secret, kept during a TLS 1.3
 * handshake on sites with allowlists so that a refusal can be sent as an
 * access_denied alert (see send_access_denied). */
struct traffic_secret {
	size_t len;
	unsigned char b[EVP_MAX_MD_SIZE];
};

static void
listener_free_cb(void *parent MQ_UNUSED, void *ptr,
    CRYPTO_EX_DATA *ad MQ_UNUSED, int idx MQ_UNUSED, long argl MQ_UNUSED,
    void *argp MQ_UNUSED)
{
	tls_listener_free(ptr);
}

static void
refusal_free_cb(void *parent MQ_UNUSED, void *ptr,
    CRYPTO_EX_DATA *ad MQ_UNUSED, int idx MQ_UNUSED, long argl MQ_UNUSED,
    void *argp MQ_UNUSED)
{
	free(ptr);
}

static void
secret_free_cb(void *parent MQ_UNUSED, void *ptr,
    CRYPTO_EX_DATA *ad MQ_UNUSED, int idx MQ_UNUSED, long argl MQ_UNUSED,
    void *argp MQ_UNUSED)
{
	if (ptr != NULL)
		OPENSSL_cleanse(ptr, sizeof(struct traffic_secret));
	free(ptr);
}

int
tls_hs_init(void)
{
	if (idx_site >= 0)
		return 0;
	idx_site = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL, NULL);
	idx_listener = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL,
	    listener_free_cb);
	idx_psk = SSL_get_ex_new_index(0, NULL, NULL, NULL, NULL);
	idx_refusal = SSL_get_ex_new_index(0, NULL, NULL, NULL,
	    refusal_free_cb);
	idx_secret = SSL_get_ex_new_index(0, NULL, NULL, NULL, secret_free_cb);
	if (idx_site < 0 || idx_listener < 0 || idx_psk < 0 ||
	    idx_refusal < 0 || idx_secret < 0)
		return -1;
	return 0;
}

static const struct tls_site *
site_of(const SSL *ssl)
{
	return SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), idx_site);
}

/* Remember why we refused a client, for the connection's log line. */
static void
set_refusal(SSL *ssl, const char *fmt, ...) MQ_PRINTF(2, 3);

static void
set_refusal(SSL *ssl, const char *fmt, ...)
{
	char buf[512], *old, *s;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if ((s = strdup(buf)) == NULL)
		return;
	old = SSL_get_ex_data(ssl, idx_refusal);
	if (SSL_set_ex_data(ssl, idx_refusal, s) != 1) {
		free(s);
		return;
	}
	free(old);
}

const char *
tls_ctx_refusal(const SSL *ssl)
{
	return ssl != NULL && idx_refusal >= 0
	    ? SSL_get_ex_data(ssl, idx_refusal) : NULL;
}

void
tls_ctx_handshake_done(SSL *ssl)
{
	void *ts;

	if (ssl == NULL || idx_secret < 0 ||
	    (ts = SSL_get_ex_data(ssl, idx_secret)) == NULL)
		return;
	SSL_set_ex_data(ssl, idx_secret, NULL);
	secret_free_cb(NULL, ts, NULL, 0, 0, NULL);
}

const char *
tls_ctx_site_name(const SSL *ssl)
{
	const struct tls_site *site;

	if (ssl == NULL || idx_site < 0 || (site = site_of(ssl)) == NULL)
		return NULL;
	return site->name;
}

/*
 * Every session mqgate issues carries application data (kept in tickets
 * and in the cache alike): when the client first authenticated with a
 * full handshake, and for an external PSK, the identity and a digest of
 * its key. A resumption then keeps the identity it began with, and stops
 * being allowed once session_timeout has passed since that handshake (TLS
 * 1.3 renews tickets on every resumption, which would otherwise keep a
 * session alive for ever) or once the PSK's line is removed or its key
 * changed.
 *
 *   [0] 'm'  [1] version 1  [2..9] auth time, big-endian milliseconds
 *   since the epoch (wall clock: a fleet shares it)
 *   [10] 0 = certificate or none, 1 = PSK
 *   PSK: [11..18] first 8 bytes of SHA-256(key)  [19..] identity
 */
#define APPDATA_HDR 11

static uint64_t
wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}
#define APPDATA_DIGEST 8

struct appdata {
	uint64_t auth_time; /* ms since the epoch */
	bool psk;
	unsigned char digest[APPDATA_DIGEST];
	const char *identity; /* into the session's data, not terminated */
	size_t identity_len;
};

static void
key_digest(const struct psk_entry *e, unsigned char out[APPDATA_DIGEST])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;

	memset(out, 0, APPDATA_DIGEST);
	if (EVP_Digest(e->key, e->key_len, md, &n, EVP_sha256(), NULL) == 1 &&
	    n >= APPDATA_DIGEST)
		memcpy(out, md, APPDATA_DIGEST);
}

static int
appdata_set(SSL_SESSION *sess, uint64_t t, const struct psk_entry *e)
{
	unsigned char b[APPDATA_HDR + APPDATA_DIGEST + PSK_IDENTITY_MAX];
	size_t n = APPDATA_HDR, i;

	b[0] = 'm';
	b[1] = 1;
	for (i = 0; i < 8; i++)
		b[2 + i] = (unsigned char)(t >> (56 - 8 * i));
	b[10] = e != NULL ? 1 : 0;
	if (e != NULL) {
		size_t il = strlen(e->identity);

		if (il > PSK_IDENTITY_MAX)
			return 0;
		key_digest(e, b + n);
		n += APPDATA_DIGEST;
		memcpy(b + n, e->identity, il);
		n += il;
	}
	return SSL_SESSION_set1_ticket_appdata(sess, b, n);
}

static bool
appdata_get(const SSL_SESSION *sess, struct appdata *out)
{
	const unsigned char *b;
	size_t len = 0, i;
	void *data = NULL;

	memset(out, 0, sizeof(*out));
	if (sess == NULL ||
	    SSL_SESSION_get0_ticket_appdata((SSL_SESSION *)(uintptr_t)sess,
		&data, &len) != 1 ||
	    data == NULL || len < APPDATA_HDR)
		return false;
	b = data;
	if (b[0] != 'm' || b[1] != 1 || b[10] > 1)
		return false;
	for (i = 0; i < 8; i++)
		out->auth_time = out->auth_time << 8 | b[2 + i];
	if (b[10] == 0)
		return len == APPDATA_HDR;
	if (len <= APPDATA_HDR + APPDATA_DIGEST)
		return false;
	out->psk = true;
	memcpy(out->digest, b + APPDATA_HDR, APPDATA_DIGEST);
	out->identity = (const char *)b + APPDATA_HDR + APPDATA_DIGEST;
	out->identity_len = len - APPDATA_HDR - APPDATA_DIGEST;
	return true;
}

bool
tls_ctx_session_psk(const SSL *ssl, char *buf, size_t cap, bool *fresh)
{
	const struct psk_entry *e;
	struct appdata ad;
	size_t n;

	*fresh = false;
	if (cap == 0 || !appdata_get(SSL_get0_session(ssl), &ad) || !ad.psk)
		return false;
	n = ad.identity_len < cap - 1 ? ad.identity_len : cap - 1;
	memcpy(buf, ad.identity, n);
	buf[n] = '\0';
	/* This connection's own PSK handshake, rather than a resumption
	 * of an earlier one. */
	e = idx_psk >= 0 ? SSL_get_ex_data(ssl, idx_psk) : NULL;
	*fresh = e != NULL && strlen(e->identity) == ad.identity_len &&
	    memcmp(e->identity, ad.identity, ad.identity_len) == 0;
	return true;
}

int
tls_hs_ticket_gen_cb(SSL *ssl, void *arg)
{
	SSL_SESSION *sess = SSL_get0_session(ssl);
	const struct psk_entry *e = SSL_get_ex_data(ssl, idx_psk);
	struct appdata ad;

	(void)arg;
	/* A resumed session keeps what it began with. */
	if (sess == NULL || appdata_get(sess, &ad))
		return 1;
	/* TLS 1.2 PSK: the session does not come from our callback. */
	if (SSL_version(ssl) >= TLS1_3_VERSION)
		e = NULL;
	return appdata_set(sess, wall_ms(), e);
}

SSL_TICKET_RETURN
tls_hs_ticket_dec_cb(SSL *ssl, SSL_SESSION *sess,
    const unsigned char *keyname, size_t keyname_len,
    SSL_TICKET_STATUS status, void *arg)
{
	struct tls_listener *tl = listener_of(ssl);
	const struct psk_entry *e;
	unsigned char digest[APPDATA_DIGEST];
	struct appdata ad;
	uint64_t now = wall_ms();

	(void)keyname;
	(void)keyname_len;
	(void)arg;
	switch (status) {
	case SSL_TICKET_EMPTY:
	case SSL_TICKET_NO_DECRYPT:
		return SSL_TICKET_RETURN_IGNORE_RENEW;
	case SSL_TICKET_SUCCESS:
	case SSL_TICKET_SUCCESS_RENEW:
		break;
	default:
		return SSL_TICKET_RETURN_ABORT;
	}
	/* Not ours, too old, or for a PSK that is gone or has a new key: a
	 * full handshake instead. */
	/* Another instance's clock may run a little ahead of ours. */
	if (tl == NULL || !appdata_get(sess, &ad) ||
	    ad.auth_time > now + 60000 ||
	    (now > ad.auth_time &&
		now - ad.auth_time > (uint64_t)tl->conf->session_timeout_ms))
		return SSL_TICKET_RETURN_IGNORE_RENEW;
	if (ad.psk) {
		if (tl->psk == NULL ||
		    (e = psk_find(tl->psk, ad.identity, ad.identity_len)) ==
			NULL)
			return SSL_TICKET_RETURN_IGNORE_RENEW;
		key_digest(e, digest);
		if (memcmp(digest, ad.digest, sizeof(digest)) != 0)
			return SSL_TICKET_RETURN_IGNORE_RENEW;
	}
	return status == SSL_TICKET_SUCCESS_RENEW
	    ? SSL_TICKET_RETURN_USE_RENEW
	    : SSL_TICKET_RETURN_USE;
}


int
tls_hs_set_site(SSL_CTX *ctx, struct tls_site *site)
{
	return SSL_CTX_set_ex_data(ctx, idx_site, site);
}

int
tls_hs_set_listener(SSL_CTX *ctx, struct tls_listener *tl)
{
	return SSL_CTX_set_ex_data(ctx, idx_listener, tl);
}

struct tls_listener *
tls_hs_listener(SSL_CTX *ctx)
{
	return idx_listener >= 0 ? SSL_CTX_get_ex_data(ctx, idx_listener)
				 : NULL;
}


static int
hexval(int ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/* Keep SERVER_TRAFFIC_SECRET_0 (TLS 1.3) until the client's certificate
 * has been checked. Installed only on sites with allowlists. */
void
tls_hs_keylog_cb(const SSL *cssl, const char *line)
{
	static const char tag[] = "SERVER_TRAFFIC_SECRET_0 ";
	SSL *ssl = (SSL *)(uintptr_t)cssl;
	struct traffic_secret *ts;
	const char *p;
	size_t n = 0;

	if (strncmp(line, tag, sizeof(tag) - 1) != 0 ||
	    (p = strchr(line + sizeof(tag) - 1, ' ')) == NULL)
		return;
	if ((ts = calloc(1, sizeof(*ts))) == NULL)
		return;
	for (p++; p[0] != '\0' && p[1] != '\0' && n < sizeof(ts->b);
	     p += 2) {
		int hi = hexval(p[0]), lo = hexval(p[1]);

		if (hi < 0 || lo < 0)
			break;
		ts->b[n++] = (unsigned char)(hi << 4 | lo);
	}
	ts->len = n;
	secret_free_cb(NULL, SSL_get_ex_data(ssl, idx_secret), NULL, 0, 0,
	    NULL);
	if (SSL_set_ex_data(ssl, idx_secret, ts) != 1)
		secret_free_cb(NULL, ts, NULL, 0, 0, NULL);
}

static int
tls13_expand(const EVP_MD *md, const struct traffic_secret *ts,
    const char *label, unsigned char *out, size_t len)
{
	EVP_KDF *kdf = EVP_KDF_fetch(NULL, "TLS13-KDF", NULL);
	EVP_KDF_CTX *kctx = kdf != NULL ? EVP_KDF_CTX_new(kdf) : NULL;
	int mode = EVP_KDF_HKDF_MODE_EXPAND_ONLY;
	OSSL_PARAM p[7], *q = p;
	int rc;

	EVP_KDF_free(kdf);
	if (kctx == NULL)
		return -1;
	*q++ = OSSL_PARAM_construct_int(OSSL_KDF_PARAM_MODE, &mode);
	*q++ = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST,
	    (char *)(uintptr_t)EVP_MD_get0_name(md), 0);
	*q++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY,
	    (void *)(uintptr_t)ts->b, ts->len);
	*q++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_PREFIX,
	    (void *)(uintptr_t) "tls13 ", 6);
	*q++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_LABEL,
	    (void *)(uintptr_t)label, strlen(label));
	*q++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_DATA,
	    (void *)(uintptr_t) "", 0);
	*q = OSSL_PARAM_construct_end();
	rc = EVP_KDF_derive(kctx, out, len, p) == 1 ? 0 : -1;
	EVP_KDF_CTX_free(kctx);
	return rc;
}

/*
 * OpenSSL 3.0 derives the alert of a failed certificate check from the
 * X509 error, and no X509 error maps to access_denied. So when an
 * allowlist refuses a client, write that alert to the socket ourselves,
 * just before OpenSSL's own: in TLS 1.2 the server has not yet switched
 * to encryption at this point, so it is a plaintext record; in TLS 1.3
 * the server has sent its Finished and nothing since, so it is the first
 * record under the server's application traffic key (sequence number 0).
 */
static void
send_access_denied(SSL *ssl)
{
	unsigned char rec[5 + 3 + 16];
	int fd = SSL_get_fd(ssl);
	size_t len;

	if (fd < 0)
		return;
	if (SSL_version(ssl) <= TLS1_2_VERSION) {
		rec[0] = 21; /* alert */
		rec[1] = 3;
		rec[2] = SSL_version(ssl) == TLS1_VERSION ? 1
		    : SSL_version(ssl) == TLS1_1_VERSION  ? 2
							  : 3;
		rec[3] = 0;
		rec[4] = 2;
		rec[5] = SSL3_AL_FATAL;
		rec[6] = SSL_AD_ACCESS_DENIED;
		len = 7;
	} else {
		const struct traffic_secret *ts =
		    SSL_get_ex_data(ssl, idx_secret);
		const SSL_CIPHER *c = SSL_get_current_cipher(ssl);
		const EVP_MD *md = c != NULL ? SSL_CIPHER_get_handshake_digest(c)
					     : NULL;
		const EVP_CIPHER *aead = c != NULL
		    ? EVP_get_cipherbynid(SSL_CIPHER_get_cipher_nid(c))
		    : NULL;
		unsigned char key[32], iv[12];
		unsigned char inner[3] = { SSL3_AL_FATAL, SSL_AD_ACCESS_DENIED,
			21 };
		EVP_CIPHER_CTX *cc;
		int klen, outl = 0, ok;

		if (ts == NULL || md == NULL || aead == NULL ||
		    (klen = EVP_CIPHER_get_key_length(aead)) <= 0 ||
		    (size_t)klen > sizeof(key) ||
		    tls13_expand(md, ts, "key", key, (size_t)klen) < 0 ||
		    tls13_expand(md, ts, "iv", iv, sizeof(iv)) < 0)
			return;
		rec[0] = 23; /* application_data */
		rec[1] = 3;
		rec[2] = 3;
		rec[3] = 0;
		rec[4] = sizeof(inner) + 16;
		cc = EVP_CIPHER_CTX_new();
		ok = cc != NULL &&
		    EVP_EncryptInit_ex(cc, aead, NULL, NULL, NULL) == 1 &&
		    EVP_CIPHER_CTX_ctrl(cc, EVP_CTRL_AEAD_SET_IVLEN,
			sizeof(iv), NULL) == 1 &&
		    EVP_EncryptInit_ex(cc, NULL, NULL, key, iv) == 1 &&
		    EVP_EncryptUpdate(cc, NULL, &outl, rec, 5) == 1 &&
		    EVP_EncryptUpdate(cc, rec + 5, &outl, inner,
			sizeof(inner)) == 1 &&
		    EVP_EncryptFinal_ex(cc, rec + 5 + outl, &outl) == 1 &&
		    EVP_CIPHER_CTX_ctrl(cc, EVP_CTRL_AEAD_GET_TAG, 16,
			rec + 5 + sizeof(inner)) == 1;
		EVP_CIPHER_CTX_free(cc);
		OPENSSL_cleanse(key, sizeof(key));
		if (!ok)
			return;
		len = sizeof(rec);
	}
	/*
	 * Best effort: the handshake fails either way. Then close our
	 * sending side, so that OpenSSL's own alert, which follows under the
	 * same key and sequence number in TLS 1.3, is never sent: an AEAD
	 * nonce must not be used twice.
	 */
	if (send(fd, rec, len, MSG_NOSIGNAL | MSG_DONTWAIT) == (ssize_t)len)
		shutdown(fd, SHUT_WR);
}

int
tls_hs_verify_cb(int ok, X509_STORE_CTX *sctx)
{
	SSL *ssl = X509_STORE_CTX_get_ex_data(sctx,
	    SSL_get_ex_data_X509_STORE_CTX_idx());
	const struct tls_site *site = ssl != NULL ? site_of(ssl) : NULL;
	int err = X509_STORE_CTX_get_error(sctx);
	int depth = X509_STORE_CTX_get_error_depth(sctx);
	X509 *cert = X509_STORE_CTX_get_current_cert(sctx);
	char subject[512], why[512];

	if (site == NULL)
		return ok;
	/* A CRL still being fetched, or a fetched one gone stale because
	 * its server is down: crl_missing decides. */
	if (!ok &&
	    (err == X509_V_ERR_UNABLE_TO_GET_CRL ||
		err == X509_V_ERR_CRL_HAS_EXPIRED) &&
	    site->owner->conf->crl_fetch) {
		const struct listener_conf *l = site->owner->conf;
		const char *what = err == X509_V_ERR_CRL_HAS_EXPIRED
		    ? "no current CRL"
		    : "no CRL yet";
		const char *state = "";
		char url[300];

		if (crl_fetch_missing(sctx, url, sizeof(url), &state)) {
			tls_info_subject(cert, subject, sizeof(subject));
			log_warn("crl: listener %s: %s from %s (%s) for %s: %s "
				 "the client certificate (crl_missing = %s)",
			    l->name, what, url, state, subject,
			    l->crl_missing_accept ? "accepting" : "refusing",
			    l->crl_missing_accept ? "accept" : "reject");
			if (l->crl_missing_accept) {
				/* Let through by policy: the handshake, the
				 * PROXY verify field and identity binding see
				 * a verified certificate. */
				X509_STORE_CTX_set_error(sctx, X509_V_OK);
				return 1;
			}
			set_refusal(ssl, "%s from %s (crl_missing = reject)",
			    what, url);
			return 0;
		}
	}
	if (ok && depth == 0 && site->has_allow && cert != NULL &&
	    !tls_info_allowed(cert, site->allow, why, sizeof(why))) {
		tls_info_subject(cert, subject, sizeof(subject));
		set_refusal(ssl, "client certificate %s not allowed: %s",
		    subject, why);
		X509_STORE_CTX_set_error(sctx,
		    X509_V_ERR_APPLICATION_VERIFICATION);
		send_access_denied(ssl);
		return 0;
	}
	return ok;
}

/* The host name in a ClientHello's server_name extension, if any. */
static bool
client_sni(SSL *ssl, const char **name, size_t *len)
{
	const unsigned char *p;
	size_t n, list;

	if (SSL_client_hello_get0_ext(ssl, TLSEXT_TYPE_server_name, &p, &n) !=
		1 ||
	    n < 2)
		return false;
	list = ((size_t)p[0] << 8) | p[1];
	if (list + 2 != n)
		return false;
	p += 2;
	while (list >= 3) {
		size_t len1 = ((size_t)p[1] << 8) | p[2];

		if (len1 + 3 > list)
			return false;
		if (p[0] == TLSEXT_NAMETYPE_host_name) {
			*name = (const char *)p + 3;
			*len = len1;
			return true;
		}
		p += 3 + len1;
		list -= 3 + len1;
	}
	return false;
}

/*
 * Whether the client can take an ECDSA certificate: a signature scheme
 * with ECDSA (low byte 3, TLS 1.2 and 1.3 alike) and, unless it offers
 * TLS 1.3, an ECDSA cipher suite.
 */
static bool
client_takes_ecdsa(SSL *ssl)
{
	const unsigned char *p, *cs;
	size_t n, i, ncs;
	bool sig = false, tls13 = false;

	if (SSL_client_hello_get0_ext(ssl, TLSEXT_TYPE_signature_algorithms,
		&p, &n) == 1 &&
	    n >= 2) {
		for (i = 2; i + 1 < n; i += 2)
			if (p[i + 1] == 0x03)
				sig = true;
	} else {
		sig = true; /* no extension: TLS 1.2's implied defaults */
	}
	if (!sig)
		return false;
	if (SSL_client_hello_get0_ext(ssl, TLSEXT_TYPE_supported_versions, &p,
		&n) == 1 &&
	    n >= 1) {
		for (i = 1; i + 1 < n; i += 2)
			if (p[i] == 0x03 && p[i + 1] == 0x04)
				tls13 = true;
	}
	if (tls13 && SSL_get_max_proto_version(ssl) >= TLS1_3_VERSION)
		return true;
	ncs = SSL_client_hello_get0_ciphers(ssl, &cs);
	for (i = 0; i + 1 < ncs; i += 2) {
		const SSL_CIPHER *c = SSL_CIPHER_find(ssl, cs + i);

		if (c != NULL && SSL_CIPHER_get_auth_nid(c) == NID_auth_ecdsa)
			return true;
	}
	return false;
}

static size_t
pick_site(SSL *ssl, const struct sni_match *m, size_t n)
{
	bool ec;
	size_t i;

	if (n == 1)
		return (size_t)m[0].idx;
	ec = client_takes_ecdsa(ssl);
	for (i = 0; i < n; i++)
		if ((m[i].kt == EVP_PKEY_EC) == ec)
			return (size_t)m[i].idx;
	return (size_t)m[0].idx;
}

int
tls_hs_client_hello_cb(SSL *ssl, int *al, void *arg)
{
	struct tls_listener *tl = arg;
	struct sni_match m[SNI_MATCH_MAX];
	const struct tls_site *site;
	const char *host = NULL;
	size_t hlen = 0, n = 0, si;

	if (client_sni(ssl, &host, &hlen))
		n = sni_table_lookup(tl->sni, host, hlen, m, nitems(m));
	if (n > 0) {
		si = pick_site(ssl, m, n);
	} else if (tl->conf->sni_strict || tl->default_site == SIZE_MAX) {
		char q[300], raw[256];

		if (host != NULL) {
			size_t k = hlen < sizeof(raw) - 1 ? hlen
							  : sizeof(raw) - 1;

			memcpy(raw, host, k);
			raw[k] = '\0';
			log_quote(raw, q, sizeof(q));
			set_refusal(ssl, "no certificate for the name %s%s", q,
			    tl->conf->sni_strict ? " (sni_strict)" : "");
			*al = SSL_AD_UNRECOGNIZED_NAME;
		} else {
			set_refusal(ssl, "no SNI in the ClientHello%s",
			    tl->conf->sni_strict ? " (sni_strict)" : "");
			*al = SSL_AD_HANDSHAKE_FAILURE;
		}
		return SSL_CLIENT_HELLO_ERROR;
	} else {
		si = tl->default_site;
	}
	site = &tl->sites[si];
	if (site->ctx != SSL_get_SSL_CTX(ssl) &&
	    SSL_set_SSL_CTX(ssl, site->ctx) == NULL) {
		*al = SSL_AD_INTERNAL_ERROR;
		return SSL_CLIENT_HELLO_ERROR;
	}
	SSL_set_verify(ssl, site->verify_mode, tls_hs_verify_cb);
	return SSL_CLIENT_HELLO_SUCCESS;
}

/*
 * The name was dealt with in the ClientHello callback; accepting it here
 * makes OpenSSL acknowledge it and keep it in the session, so that a
 * resumed TLS 1.2 session still reports its name.
 */
int
tls_hs_servername_cb(SSL *ssl, int *al, void *arg)
{
	(void)ssl;
	(void)al;
	(void)arg;
	return SSL_TLSEXT_ERR_OK;
}

int
tls_hs_alpn_cb(SSL *ssl, const unsigned char **out, unsigned char *outlen,
    const unsigned char *in, unsigned int inlen, void *arg)
{
	const struct tls_site *site = site_of(ssl);
	const struct listener_conf *l;
	unsigned char *sel = NULL;

	(void)arg;
	if (site == NULL)
		return SSL_TLSEXT_ERR_NOACK;
	l = site->owner->conf;
	if (SSL_select_next_proto(&sel, outlen, l->alpn,
		(unsigned int)l->alpn_len, in, inlen) == OPENSSL_NPN_NEGOTIATED) {
		*out = sel;
		return SSL_TLSEXT_ERR_OK;
	}
	if (l->alpn_strict) {
		set_refusal(ssl, "no common ALPN protocol (alpn_strict)");
		return SSL_TLSEXT_ERR_ALERT_FATAL;
	}
	return SSL_TLSEXT_ERR_NOACK;
}

static struct tls_listener *
listener_of(SSL *ssl)
{
	const struct tls_site *site = site_of(ssl);

	return site != NULL ? site->owner : NULL;
}

/* TLS 1.2 PSK: an unknown identity fails the handshake. */
unsigned int
tls_hs_psk_server_cb(SSL *ssl, const char *identity, unsigned char *psk,
    unsigned int max_psk_len)
{
	struct tls_listener *tl = listener_of(ssl);
	const struct psk_entry *e;

	if (tl == NULL || tl->psk == NULL || identity == NULL)
		return 0;
	e = psk_find(tl->psk, identity, strlen(identity));
	if (e == NULL) {
		char q[300];

		/* TLS 1.3 asks here too for identities (tickets) that its
		 * own lookup did not know, and then goes on: only TLS 1.2
		 * fails on this. */
		log_quote(identity, q, sizeof(q));
		if (SSL_version(ssl) <= TLS1_2_VERSION)
			set_refusal(ssl, "unknown PSK identity %s", q);
		return 0;
	}
	if (e->key_len > max_psk_len)
		return 0;
	memcpy(psk, e->key, e->key_len);
	SSL_set_ex_data(ssl, idx_psk, (void *)(uintptr_t)e);
	return (unsigned int)e->key_len;
}

/*
 * TLS 1.3 external PSK: a known identity becomes a session with its key;
 * an unknown one returns no session, so the handshake goes on with the
 * certificate as the protocol prescribes.
 */
int
tls_hs_psk_find_session_cb(SSL *ssl, const unsigned char *identity,
    size_t identity_len, SSL_SESSION **sess)
{
	static const unsigned char aes128gcmsha256[] = { 0x13, 0x01 };
	struct tls_listener *tl = listener_of(ssl);
	const struct psk_entry *e;
	const SSL_CIPHER *cipher;
	SSL_SESSION *s;

	*sess = NULL;
	if (tl == NULL || tl->psk == NULL)
		return 1;
	e = psk_find(tl->psk, (const char *)identity, identity_len);
	if (e == NULL)
		return 1;
	cipher = SSL_CIPHER_find(ssl, aes128gcmsha256);
	if (cipher == NULL || (s = SSL_SESSION_new()) == NULL)
		return 0;
	/* The identity goes into the session itself: OpenSSL may still
	 * skip this PSK (a cipher suite of another hash), and then the
	 * session it keeps is not this one. */
	if (SSL_SESSION_set1_master_key(s, e->key, e->key_len) != 1 ||
	    SSL_SESSION_set_cipher(s, cipher) != 1 ||
	    SSL_SESSION_set_protocol_version(s, TLS1_3_VERSION) != 1 ||
	    appdata_set(s, wall_ms(), e) != 1) {
		SSL_SESSION_free(s);
		return 0;
	}
	SSL_set_ex_data(ssl, idx_psk, (void *)(uintptr_t)e);
	*sess = s;
	return 1;
}

int
tls_hs_ticket_cb(SSL *ssl, unsigned char *key_name, unsigned char *iv,
    EVP_CIPHER_CTX *cctx, EVP_MAC_CTX *hctx, int enc)
{
	struct tls_listener *tl = listener_of(ssl);
	const struct ticket_key *k;
	OSSL_PARAM params[3];
	size_t index = 0;

	if (tl == NULL || tl->tickets == NULL)
		return -1;
	if (enc) {
		k = &tl->tickets->k[0];
		memcpy(key_name, k->name, TICKET_KEY_NAME_LEN);
		if (RAND_bytes(iv, 16) != 1)
			return -1;
	} else {
		k = ticket_keys_find(tl->tickets, key_name, &index);
		if (k == NULL)
			return 0; /* unknown key: a full handshake */
	}
	params[0] = OSSL_PARAM_construct_octet_string(OSSL_MAC_PARAM_KEY,
	    (void *)(uintptr_t)k->hmac, sizeof(k->hmac));
	params[1] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
	    (char *)(uintptr_t) "SHA256", 0);
	params[2] = OSSL_PARAM_construct_end();
	if (EVP_MAC_CTX_set_params(hctx, params) != 1)
		return -1;
	if (enc) {
		if (EVP_EncryptInit_ex(cctx, EVP_aes_256_cbc(), NULL, k->aes,
			iv) != 1)
			return -1;
		return 1;
	}
	if (EVP_DecryptInit_ex(cctx, EVP_aes_256_cbc(), NULL, k->aes, iv) !=
	    1)
		return -1;
	/* An older key still decrypts; ask for a ticket under the new one. */
	return index == 0 ? 1 : 2;
}
