/*
 * tls_ctx: turns a listener's TLS settings into SSL_CTXs and a set of them
 * into a refcounted generation. A listener has one context that every
 * connection starts on (session cache, tickets, PSK, the ClientHello
 * callback) and one context per certificate it serves ("sites": its own
 * certfile, its [cert] bundles, its certdir entries); the ClientHello
 * callback (tls_hs.c) picks a site by SNI and key type and switches the
 * connection to it. Builds run on the main thread, before anything is
 * published to workers; a failed build reports every problem with the config
 * line of the key at fault and leaves nothing behind. It must not read
 * certificate, key, CA, CRL or secret files itself: tls_load.c does.
 */
#include "build_config.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>

#include "config_keys.h"
#include "log.h"
#include "mqtt.h"
#include "ocsp.h"
#include "secrets.h"
#include "sni.h"
#include "tls_ctx.h"
#include "tls_hs.h"
#include "tls_info.h"
#include "tls_load.h"
#include "value.h"

#define OCSP_FETCH_TIMEOUT_MS 10000

const char *
tls_errors_str(char *buf, size_t cap)
{
	unsigned long e;
	size_t n = 0;

	if (cap == 0)
		return buf;
	buf[0] = '\0';
	while ((e = ERR_get_error()) != 0) {
		const char *r = ERR_reason_error_string(e);
		char tmp[256];
		int w;

		if (r == NULL) {
			ERR_error_string_n(e, tmp, sizeof(tmp));
			r = tmp;
		}
		/* Skip repeats: OpenSSL often queues the same reason twice. */
		if (n > 0 && strstr(buf, r) != NULL)
			continue;
		w = snprintf(buf + n, cap - n, "%s%s", n > 0 ? "; " : "", r);
		if (w < 0 || (size_t)w >= cap - n)
			break;
		n += (size_t)w;
	}
	ERR_clear_error();
	return buf;
}

/* --- building --- */

static const struct {
	unsigned bit;
	int version;
	uint64_t no_option;
} versions[] = {
	{ TLS_VER_1_0, TLS1_VERSION, SSL_OP_NO_TLSv1 },
	{ TLS_VER_1_1, TLS1_1_VERSION, SSL_OP_NO_TLSv1_1 },
	{ TLS_VER_1_2, TLS1_2_VERSION, SSL_OP_NO_TLSv1_2 },
	{ TLS_VER_1_3, TLS1_3_VERSION, SSL_OP_NO_TLSv1_3 },
};

static int
set_versions(SSL_CTX *ctx, const struct tls_load *b, unsigned bits)
{
	int lo = 0, hi = 0;
	size_t i;

	for (i = 0; i < nitems(versions); i++) {
		if ((bits & versions[i].bit) == 0)
			continue;
		if (lo == 0)
			lo = versions[i].version;
		hi = versions[i].version;
	}
	if (lo == 0) {
		tls_load_fail(b, LKEY_VERSIONS, "versions",
		    "no TLS version enabled");
		return -1;
	}
	if (SSL_CTX_set_min_proto_version(ctx, lo) != 1 ||
	    SSL_CTX_set_max_proto_version(ctx, hi) != 1) {
		tls_load_fail(b, LKEY_VERSIONS, "versions",
		    "this OpenSSL cannot enable them");
		return -1;
	}
	/* A gap inside [lo, hi] ("tlsv1.3,tlsv1.1") is switched off. */
	for (i = 0; i < nitems(versions); i++)
		if (versions[i].version > lo && versions[i].version < hi &&
		    (bits & versions[i].bit) == 0)
			SSL_CTX_set_options(ctx, versions[i].no_option);
	return 0;
}

static int
set_ciphers(SSL_CTX *ctx, const struct tls_load *b, bool warn)
{
	const struct tls_conf *t = &b->l->tls;
	char err[512];
	int rc = 0;

	ERR_clear_error();
	if (t->ciphers != NULL && SSL_CTX_set_cipher_list(ctx, t->ciphers) != 1) {
		tls_load_fail(b, LKEY_CIPHERS, "ciphers",
		    "no usable cipher in '%s': %s", t->ciphers,
		    tls_errors_str(err, sizeof(err)));
		rc = -1;
	}
	ERR_clear_error();
	if (t->ciphersuites != NULL &&
	    SSL_CTX_set_ciphersuites(ctx, t->ciphersuites) != 1) {
		tls_load_fail(b, LKEY_CIPHERSUITES, "ciphersuites",
		    "invalid TLS 1.3 cipher suites '%s': %s", t->ciphersuites,
		    tls_errors_str(err, sizeof(err)));
		rc = -1;
	}
	ERR_clear_error();
	if (t->groups != NULL && SSL_CTX_set1_groups_list(ctx, t->groups) != 1) {
		tls_load_fail(b, LKEY_GROUPS, "groups",
		    "invalid key-exchange groups '%s': %s", t->groups,
		    tls_errors_str(err, sizeof(err)));
		rc = -1;
	}
	/* OpenSSL 3 only negotiates TLS 1.0/1.1 at security level 0. This
	 * comes after the cipher list because "@SECLEVEL=n" there resets it. */
	if (rc == 0 && (t->versions & (TLS_VER_1_0 | TLS_VER_1_1)) != 0 &&
	    SSL_CTX_get_security_level(ctx) > 0) {
		char vs[64];

		value_tls_versions_str(t->versions, vs, sizeof(vs));
		if (warn)
			log_warn("listener %s: versions = %s enables TLS older "
				 "than 1.2: OpenSSL security level lowered to 0 "
				 "for this listener",
			    b->l->name, vs);
		SSL_CTX_set_security_level(ctx, 0);
	}
	return rc;
}

/*
 * A context with the listener's protocol settings. Sites need them too:
 * switching a connection to a site's context replaces its certificate
 * settings (including the security level) but not its protocol options.
 * The session id context separates sites, so that a session (and the
 * client identity it carries) never resumes under another bundle.
 */
static SSL_CTX *
ctx_new(const struct tls_load *b, const char *site_name, bool warn)
{
	const struct listener_conf *l = b->l;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	EVP_MD_CTX *mdc;
	char err[512];
	SSL_CTX *ctx;

	ERR_clear_error();
	ctx = SSL_CTX_new(TLS_server_method());
	if (ctx == NULL) {
		diag_add(b->d, b->c->path, l->header_line,
		    "listener %s: cannot create a TLS context: %s", l->name,
		    tls_errors_str(err, sizeof(err)));
		return NULL;
	}
	/*
	 * No renegotiation, no compression; a peer that drops TCP without
	 * close_notify is an EOF, not an error (libevent 2.1 + OpenSSL 3);
	 * OpenSSL buffers are released while a connection is idle.
	 */
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION |
				     SSL_OP_NO_COMPRESSION |
				     SSL_OP_IGNORE_UNEXPECTED_EOF |
				     SSL_OP_CIPHER_SERVER_PREFERENCE);
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS |
				  SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
				  SSL_MODE_ENABLE_PARTIAL_WRITE);
	mdc = EVP_MD_CTX_new();
	if (mdc == NULL || EVP_DigestInit_ex(mdc, EVP_sha256(), NULL) != 1 ||
	    EVP_DigestUpdate(mdc, l->name, strlen(l->name)) != 1 ||
	    (site_name != NULL &&
		(EVP_DigestUpdate(mdc, "/", 1) != 1 ||
		    EVP_DigestUpdate(mdc, site_name, strlen(site_name)) !=
			1)) ||
	    EVP_DigestFinal_ex(mdc, md, &mdlen) != 1 ||
	    mdlen < SSL_MAX_SID_CTX_LENGTH ||
	    SSL_CTX_set_session_id_context(ctx, md, SSL_MAX_SID_CTX_LENGTH) !=
		1) {
		EVP_MD_CTX_free(mdc);
		diag_add(b->d, b->c->path, l->header_line,
		    "listener %s: cannot set the session id context: %s",
		    l->name, tls_errors_str(err, sizeof(err)));
		SSL_CTX_free(ctx);
		return NULL;
	}
	EVP_MD_CTX_free(mdc);
	/*
	 * An external PSK is bound to SHA-256 (RFC 8446 4.2.11) and the
	 * server prefers its own order: put a SHA-256 suite first so that
	 * PSK clients are not pushed into a certificate handshake.
	 */
	if (l->psk_file != NULL && l->tls.ciphersuites == NULL &&
	    SSL_CTX_set_ciphersuites(ctx, "TLS_AES_128_GCM_SHA256:"
					  "TLS_CHACHA20_POLY1305_SHA256:"
					  "TLS_AES_256_GCM_SHA384") != 1)
		ERR_clear_error();
	if (set_versions(ctx, b, l->tls.versions) < 0 ||
	    set_ciphers(ctx, b, warn) < 0) {
		SSL_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

/* --- sites --- */

static int
key_type(SSL_CTX *ctx)
{
	EVP_PKEY *pk = SSL_CTX_get0_privatekey(ctx);
	int t = pk != NULL ? EVP_PKEY_get_base_id(pk) : EVP_PKEY_NONE;

	return t == EVP_PKEY_RSA_PSS ? EVP_PKEY_RSA : t;
}

static const char *
key_type_name(int kt)
{
	switch (kt) {
	case EVP_PKEY_RSA:
		return "RSA";
	case EVP_PKEY_EC:
		return "ECDSA";
	case EVP_PKEY_ED25519:
		return "Ed25519";
	case EVP_PKEY_ED448:
		return "Ed448";
	default:
		return "other";
	}
}

/* The names a site serves into the listener's table. */
struct name_add {
	const struct tls_load *b;
	struct tls_listener *tl;
	size_t si;
	enum listener_key k;
	const char *key;
	int added;
	int failed;
};

/* "bundle 'x' (line N)", for messages that must say where it is. */
static void
site_desc(const struct tls_site *site, char *buf, size_t cap)
{
	if (site->name == NULL)
		snprintf(buf, cap, "the listener's certfile (line %d)",
		    site->line);
	else if (site->from_dir)
		snprintf(buf, cap, "certdir entry '%s' (line %d)", site->name,
		    site->line);
	else
		snprintf(buf, cap, "bundle '%s' ([cert %s] on line %d)",
		    site->name, site->name, site->line);
}

static bool
same_str(const char *a, const char *b)
{
	return a == b || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

/* Whether two sites check client certificates the same way. Allowlists
 * compare as set in the config: the same list, or none. */
static bool
same_policy(const struct tls_site *a, const struct tls_site *b)
{
	size_t i;

	if (a->verify_mode != b->verify_mode ||
	    !same_str(a->cacertfile, b->cacertfile) ||
	    !same_str(a->crlfile, b->crlfile) ||
	    (a->crlfile != NULL && a->crl_chain != b->crl_chain))
		return false;
	for (i = 0; i < ALLOW_KIND_COUNT; i++)
		if (a->allow[i] != b->allow[i])
			return false;
	return true;
}

/*
 * Sites that serve one name with different key types are chosen by the
 * client's signature algorithms, so the client would pick which
 * client-certificate checks apply: they must be the same.
 */
static void
check_same_policy(struct name_add *na, const char *name)
{
	const struct tls_site *site = &na->tl->sites[na->si];
	struct sni_match m[8];
	char probe[SNI_NAME_MAX + 32], d1[160], d2[160];
	size_t n, i;

	/* A wildcard is looked up through a name it covers. */
	if (strncmp(name, "*.", 2) == 0)
		snprintf(probe, sizeof(probe), "mqgate-probe%s", name + 1);
	else
		snprintf(probe, sizeof(probe), "%s", name);
	n = sni_table_lookup(na->tl->sni, probe, strlen(probe), m, nitems(m));
	for (i = 0; i < n && !na->failed; i++) {
		const struct tls_site *o = &na->tl->sites[m[i].idx];

		if ((size_t)m[i].idx == na->si || same_policy(site, o))
			continue;
		site_desc(o, d1, sizeof(d1));
		site_desc(site, d2, sizeof(d2));
		tls_load_fail(na->b, na->k, na->key,
		    "%s and %s both serve '%s' but check client certificates "
		    "differently (verify, fail_if_no_peer_cert, cacertfile, "
		    "crlfile, crl_check or allow_*): the client's key types "
		    "would choose which checks apply",
		    d1, d2, name);
		na->failed = 1;
	}
}

static void
add_name(struct name_add *na, const char *name)
{
	struct tls_site *site = &na->tl->sites[na->si];
	int other = -1;
	int r = sni_table_add(na->tl->sni, name, (int)na->si, site->kt, &other);

	if (r == SNI_OK) {
		na->added++;
		check_same_policy(na, name);
		return;
	}
	if (r == SNI_ERR_DUPLICATE && other >= 0) {
		char d1[160], d2[160];

		site_desc(&na->tl->sites[other], d1, sizeof(d1));
		site_desc(site, d2, sizeof(d2));
		tls_load_fail(na->b, na->k, na->key,
		    "%s and %s both serve '%s' with an %s key", d1, d2, name,
		    key_type_name(site->kt));
		na->failed = 1;
		return;
	}
	if (r == SNI_ERR_NOMEM) {
		tls_load_fail(na->b, na->k, na->key, "out of memory");
		na->failed = 1;
	}
	/* Other names in a certificate (a CN with blanks, say) just cannot
	 * be asked for by SNI. */
}

static void
add_cert_name_cb(const char *name, void *arg)
{
	add_name(arg, name);
}

/*
 * Set up site si of tl from the effective settings t (lines for its keys
 * in b->lines). own: the listener's own certfile, served from tl->ctx.
 */
static int
site_init(const struct tls_load *b, struct tls_listener *tl, size_t si,
    const struct tls_conf *t, const char *name, char **sni, size_t nsni,
    bool keyfile_set, const char *label)
{
	struct tls_site *site = &tl->sites[si];
	size_t before = diag_count(b->d);
	size_t i;
	SSL_CTX *ctx;
	bool cert_ok;

	site->owner = tl;
	if (name != NULL && (site->name = strdup(name)) == NULL) {
		diag_add(b->d, b->c->path, b->lines[LKEY_CERTFILE],
		    "out of memory");
		return -1;
	}
	if (name == NULL) {
		ctx = tl->ctx;
	} else {
		/* The kind is part of the session id context: a certdir file
		 * named like a [cert] bundle must not share its sessions. */
		char sid_name[300];

		snprintf(sid_name, sizeof(sid_name), "%s/%s",
		    site->from_dir ? "certdir" : "cert", name);
		if ((ctx = ctx_new(b, sid_name, false)) == NULL)
			return -1;
	}
	site->ctx = ctx;
	/* A bad certificate still lets the CA and CRL files be checked, so
	 * that every problem of the site is reported at once. */
	cert_ok = tls_load_cert(ctx, b, t, keyfile_set) == 0;
	if (t->cacertfile != NULL)
		tls_load_ca(ctx, b, t->cacertfile);
	tls_load_crl(ctx, b, t, tl->conf);
	if (!cert_ok)
		return -1;
	site->verify_mode = SSL_VERIFY_NONE;
	if (t->verify == TLS_VERIFY_PEER) {
		site->verify_mode = SSL_VERIFY_PEER;
		if (t->fail_if_no_peer_cert)
			site->verify_mode |= SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
	}
	site->cacertfile = t->cacertfile;
	site->crlfile = t->crlfile;
	site->crl_chain = t->crl_chain;
	SSL_CTX_set_verify(ctx, site->verify_mode, tls_hs_verify_cb);
	SSL_CTX_set_verify_depth(ctx, tl->conf->tls.depth);
	for (i = 0; i < ALLOW_KIND_COUNT; i++) {
		site->allow[i] = t->allow[i];
		if (t->allow[i] != NULL)
			site->has_allow = true;
	}
	if (site->has_allow)
		SSL_CTX_set_keylog_callback(ctx, tls_hs_keylog_cb);
	if (tl->conf->alpn != NULL)
		SSL_CTX_set_alpn_select_cb(ctx, tls_hs_alpn_cb, NULL);
	if (tls_hs_set_site(ctx, site) != 1) {
		diag_add(b->d, b->c->path, b->lines[LKEY_CERTFILE],
		    "out of memory");
		return -1;
	}
	if (diag_count(b->d) != before)
		return -1;
	if (t->ocsp_stapling || t->ocsp_staple_file != NULL) {
		struct ocsp_params op = {
			.label = label,
			.cfg_path = b->c->path,
			.line = b->lines[t->ocsp_stapling ? LKEY_OCSP_STAPLING
							  : LKEY_OCSP_STAPLE_FILE],
			.issuer_line = b->lines[LKEY_OCSP_ISSUER_FILE],
			.staple_file_line = b->lines[LKEY_OCSP_STAPLE_FILE],
			.fetch = t->ocsp_stapling,
			.responder_url = t->ocsp_responder_url,
			.issuer_file = t->ocsp_issuer_file,
			.staple_file = t->ocsp_staple_file,
			.refresh_ms = t->ocsp_refresh_ms,
			.timeout_ms = OCSP_FETCH_TIMEOUT_MS,
		};

		if (ocsp_attach(ctx, &op, b->d) < 0)
			return -1;
	}

	site->kt = key_type(ctx);
	{
		struct name_add na = { b, tl, si,
			nsni > 0 ? LKEY_SNI : LKEY_CERTS,
			nsni > 0 ? "sni" : "certs", 0, 0 };

		if (name == NULL) {
			na.k = LKEY_CERTFILE;
			na.key = "certfile";
		}
		if (nsni > 0) {
			for (i = 0; i < nsni; i++)
				add_name(&na, sni[i]);
		} else {
			tls_info_cert_names(SSL_CTX_get0_certificate(ctx),
			    add_cert_name_cb, &na);
		}
		if (na.failed)
			return -1;
	}
	return 0;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool
has_suffix(const char *s, const char *suf, size_t *stem)
{
	size_t n = strlen(s), m = strlen(suf);

	if (n <= m || strcmp(s + n - m, suf) != 0)
		return false;
	*stem = n - m;
	return true;
}

/*
 * The names in dir, sorted, without the hidden ones; with certs_only,
 * only those certdir loads (NAME.pem, NAME.crt). Returns 0, or -1 with
 * errno set (the directory cannot be read, or out of memory).
 */
static int
dir_names(const char *dir, bool certs_only, char ***out, size_t *nout)
{
	DIR *dp = opendir(dir);
	struct dirent *de;
	char **v = NULL;
	size_t n = 0;

	if (dp == NULL)
		return -1;
	while ((de = readdir(dp)) != NULL) {
		size_t stem;
		char **nv;

		if (de->d_name[0] == '.')
			continue;
		if (certs_only && !has_suffix(de->d_name, ".pem", &stem) &&
		    !has_suffix(de->d_name, ".crt", &stem))
			continue;
		if ((nv = realloc(v, (n + 1) * sizeof(*v))) == NULL)
			goto err;
		v = nv;
		if ((v[n] = strdup(de->d_name)) == NULL)
			goto err;
		n++;
	}
	closedir(dp);
	if (n > 1)
		qsort(v, n, sizeof(*v), cmp_str);
	*out = v;
	*nout = n;
	return 0;
err:
	closedir(dp);
	config_strv_free(v, n);
	errno = ENOMEM;
	return -1;
}

/* The sorted names in dir that certdir loads. */
static int
certdir_list(const struct tls_load *b, const char *dir, char ***out,
    size_t *nout)
{
	if (dir_names(dir, true, out, nout) == 0)
		return 0;
	if (errno == ENOMEM)
		tls_load_fail(b, LKEY_CERTDIR, "certdir", "out of memory");
	else
		tls_load_fail(b, LKEY_CERTDIR, "certdir",
		    "cannot open directory '%s': %s", dir, strerror(errno));
	return -1;
}

/* Every "NAME.pem" (certificate and key) and "NAME.crt" + "NAME.key" in
 * the listener's certdir (names, from certdir_list) becomes a site named
 * NAME; tl->sites has room for them. */
static int
load_certdir(const struct tls_load *b, struct tls_listener *tl, char **names,
    size_t n)
{
	const struct listener_conf *l = tl->conf;
	size_t i;
	int rc = 0;

	for (i = 0; i < n; i++) {
		struct tls_conf t = l->tls;
		char cert[4096], key[4096], label[512], *name;
		size_t stem = 0;
		bool pem = has_suffix(names[i], ".pem", &stem);
		int lines[LKEY_COUNT];
		struct tls_load bb = *b;
		size_t k;

		if (!pem)
			has_suffix(names[i], ".crt", &stem);
		snprintf(cert, sizeof(cert), "%s/%s", l->certdir, names[i]);
		snprintf(key, sizeof(key), "%s/%.*s.key", l->certdir,
		    (int)stem, names[i]);
		if ((name = strndup(names[i], stem)) == NULL) {
			tls_load_fail(b, LKEY_CERTDIR, "certdir",
			    "out of memory");
			return -1;
		}
		t.certfile = cert;
		t.keyfile = pem ? cert : key;
		t.key_password = NULL;
		t.ocsp_issuer_file = NULL;
		t.ocsp_staple_file = NULL;
		for (k = 0; k < LKEY_COUNT; k++)
			lines[k] = b->lines[k];
		lines[LKEY_CERTFILE] = lines[LKEY_KEYFILE] =
		    lines[LKEY_SNI] = lines[LKEY_CERTDIR];
		bb.lines = lines;
		snprintf(label, sizeof(label), "listener %s certdir %s",
		    l->name, name);
		bb.key_as = "certdir";
		tl->sites[tl->nsites].line = lines[LKEY_CERTDIR];
		tl->sites[tl->nsites].from_dir = true;
		if (site_init(&bb, tl, tl->nsites++, &t, name, NULL, 0, !pem,
			label) < 0)
			rc = -1;
		free(name);
	}
	return rc;
}

static int
load_psk(const struct tls_load *b, struct tls_listener *tl)
{
	const char *path = tl->conf->psk_file;
	char *text;
	size_t len;

	if (tls_load_file(b, LKEY_PSK_FILE, "psk_file", path, &text, &len) < 0)
		return -1;
	tl->psk = psk_parse(text, len, path, b->d);
	OPENSSL_clear_free(text, len);
	if (tl->psk == NULL)
		return -1;
	SSL_CTX_set_psk_server_callback(tl->ctx, tls_hs_psk_server_cb);
	SSL_CTX_set_psk_find_session_callback(tl->ctx,
	    tls_hs_psk_find_session_cb);
	return 0;
}

static int
load_tickets(const struct tls_load *b, struct tls_listener *tl)
{
	const char *path = tl->conf->ticket_key_file;
	char *text;
	size_t len;

	if (tls_load_file(b, LKEY_TICKET_KEY_FILE, "ticket_key_file", path,
		&text, &len) < 0)
		return -1;
	tl->tickets = ticket_keys_parse(text, len, path, b->d);
	OPENSSL_clear_free(text, len);
	if (tl->tickets == NULL)
		return -1;
	if (SSL_CTX_set_tlsext_ticket_key_evp_cb(tl->ctx, tls_hs_ticket_cb) != 1) {
		tls_load_fail(b, LKEY_TICKET_KEY_FILE, "ticket_key_file",
		    "cannot install the ticket key callback");
		return -1;
	}
	return 0;
}

/* The secret mqtt_password = file: puts into every CONNECT: the whole
 * file but one trailing newline (CRLF or LF), which editors add. */
static int
load_mqtt_password(const struct tls_load *b, struct tls_listener *tl)
{
	const char *path = tl->conf->mqtt_password_file;
	char *text;
	size_t len;

	if (tls_load_file(b, LKEY_MQTT_PASSWORD, "mqtt_password", path, &text,
		&len) < 0)
		return -1;
	if (len > 0 && text[len - 1] == '\n') {
		len--;
		if (len > 0 && text[len - 1] == '\r')
			len--;
	}
	if (len == 0) {
		/* Surely a file not written yet: an empty secret would let
		 * the broker's check pass on nothing. */
		OPENSSL_free(text);
		tls_load_fail(b, LKEY_MQTT_PASSWORD, "mqtt_password",
		    "%s: the file is empty (to send no password, use "
		    "mqtt_password = drop)", path);
		return -1;
	}
	if (len > MQTT_STR_MAX) {
		OPENSSL_clear_free(text, len);
		tls_load_fail(b, LKEY_MQTT_PASSWORD, "mqtt_password",
		    "%s: longer than the 65535 bytes an MQTT password can hold",
		    path);
		return -1;
	}
	tl->mqtt_password = (unsigned char *)text;
	tl->mqtt_password_len = len;
	return 0;
}

bool
tls_ctx_mqtt_password(SSL_CTX *ctx, const unsigned char **p, size_t *len)
{
	const struct tls_listener *tl = tls_hs_listener(ctx);

	if (tl == NULL || tl->mqtt_password == NULL)
		return false;
	*p = tl->mqtt_password;
	*len = tl->mqtt_password_len;
	return true;
}

void
tls_listener_free(struct tls_listener *tl)
{
	size_t i;

	if (tl == NULL)
		return;
	for (i = 0; i < tl->nsites; i++) {
		if (tl->sites[i].ctx != tl->ctx)
			SSL_CTX_free(tl->sites[i].ctx);
		free(tl->sites[i].name);
	}
	free(tl->sites);
	sni_table_free(tl->sni);
	psk_table_free(tl->psk);
	ticket_keys_free(tl->tickets);
	OPENSSL_clear_free(tl->mqtt_password, tl->mqtt_password_len);
	free(tl);
}

static void
session_settings(SSL_CTX *ctx, const struct listener_conf *l)
{
	if (l->session_cache_size > 0) {
		SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER);
		SSL_CTX_sess_set_cache_size(ctx, l->session_cache_size);
	} else {
		SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	}
	SSL_CTX_set_timeout(ctx, l->session_timeout_ms / 1000);
	if (!l->session_tickets)
		SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
	/* One TLS 1.3 ticket is enough for one reconnect; none when there
	 * is nothing to resume with. */
	SSL_CTX_set_num_tickets(ctx,
	    l->session_tickets || l->session_cache_size > 0 ? 1 : 0);
}

SSL_CTX *
tls_ctx_build(const struct config *c, const struct listener_conf *l,
    struct diag *d)
{
	struct tls_load b = { c, l, d, l->line, NULL };
	int lines[LKEY_COUNT];
	size_t before = diag_count(d), i, nsites;
	struct tls_listener *tl;
	char label[512], **dnames = NULL;
	size_t ndnames = 0;
	SSL_CTX *ctx;

	for (i = 0; i < LKEY_COUNT; i++)
		lines[i] = l->line[i] > 0 ? l->line[i] : l->header_line;
	b.lines = lines;
	if (tls_hs_init() < 0) {
		diag_add(d, c->path, l->header_line, "listener %s: %s", l->name,
		    "cannot allocate OpenSSL ex_data indexes");
		return NULL;
	}
	if ((ctx = ctx_new(&b, NULL, true)) == NULL)
		return NULL;
	if ((tl = calloc(1, sizeof(*tl))) == NULL ||
	    tls_hs_set_listener(ctx, tl) != 1) {
		free(tl);
		diag_add(d, c->path, l->header_line, "out of memory");
		SSL_CTX_free(ctx);
		return NULL;
	}
	/* From here on ctx owns tl: freeing ctx frees everything. */
	tl->conf = l;
	tl->ctx = ctx;
	tl->default_site = SIZE_MAX;
	session_settings(ctx, l);
	/* Every session records when its client authenticated (and its PSK):
	 * see tls_hs.c. */
	if (SSL_CTX_set_session_ticket_cb(ctx, tls_hs_ticket_gen_cb,
		tls_hs_ticket_dec_cb, NULL) != 1) {
		diag_add(d, c->path, l->header_line,
		    "listener %s: cannot install the session ticket callbacks",
		    l->name);
		goto fail;
	}
	SSL_CTX_set_client_hello_cb(ctx, tls_hs_client_hello_cb, tl);
	SSL_CTX_set_tlsext_servername_callback(ctx, tls_hs_servername_cb);
	SSL_CTX_set_verify_depth(ctx, l->tls.depth);
	if ((tl->sni = sni_table_new()) == NULL) {
		diag_add(d, c->path, l->header_line, "out of memory");
		goto fail;
	}

	if (l->certdir != NULL &&
	    certdir_list(&b, l->certdir, &dnames, &ndnames) < 0)
		goto fail;
	/* One allocation: sites are pointed to from their contexts. */
	nsites = (l->tls.certfile != NULL ? 1 : 0) + l->ncerts + ndnames;
	if ((tl->sites = calloc(nsites > 0 ? nsites : 1,
		 sizeof(*tl->sites))) == NULL) {
		diag_add(d, c->path, l->header_line, "out of memory");
		goto fail;
	}
	if (l->tls.certfile != NULL) {
		snprintf(label, sizeof(label), "listener %s", l->name);
		tl->sites[tl->nsites].line = lines[LKEY_CERTFILE];
		site_init(&b, tl, tl->nsites++, &l->tls, NULL, NULL, 0,
		    l->line[LKEY_KEYFILE] > 0, label);
	}
	for (i = 0; i < l->ncerts && l->cert_idx != NULL; i++) {
		const struct cert_conf *bc = &c->certs[l->cert_idx[i]];
		struct tls_conf t;
		int blines[LKEY_COUNT];
		struct tls_load bb = b;

		/* Reported by the config check already (mqgate -t builds
		 * from a partial config). */
		if (bc->tls.certfile == NULL)
			continue;

		config_cert_effective(l, bc, &t, blines);
		bb.lines = blines;
		snprintf(label, sizeof(label), "listener %s cert %s", l->name,
		    bc->name);
		tl->sites[tl->nsites].line = bc->header_line;
		site_init(&bb, tl, tl->nsites++, &t, bc->name, bc->sni,
		    bc->nsni, bc->line[LKEY_KEYFILE] > 0, label);
	}
	load_certdir(&b, tl, dnames, ndnames);
	if (tl->nsites > 0) {
		tl->default_site = 0;
		/* Without a certfile of its own, the listener's context
		 * stands for the first bundle until the switch. */
		if (l->tls.certfile == NULL)
			tls_hs_set_site(ctx, &tl->sites[0]);
	} else {
		/* PSK only: no certificate; the site carries the owner. */
		tl->sites[0].owner = tl;
		tl->sites[0].ctx = ctx;
		tl->nsites = 1;
		tl->default_site = 0;
		SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, tls_hs_verify_cb);
		tls_hs_set_site(ctx, &tl->sites[0]);
	}
	if (l->alpn != NULL)
		SSL_CTX_set_alpn_select_cb(ctx, tls_hs_alpn_cb, NULL);
	if (l->psk_file != NULL)
		load_psk(&b, tl);
	if (l->ticket_key_file != NULL && l->session_tickets)
		load_tickets(&b, tl);
	if (l->mqtt_password == MQTT_PASS_FILE)
		load_mqtt_password(&b, tl);
	if (diag_count(d) != before)
		goto fail;
	config_strv_free(dnames, ndnames);
	return ctx;
fail:
	config_strv_free(dnames, ndnames);
	SSL_CTX_free(ctx);
	return NULL;
}

size_t
tls_ctx_sites(SSL_CTX *ctx, SSL_CTX **v, size_t cap)
{
	const struct tls_listener *tl = tls_hs_listener(ctx);
	size_t i, n = 0;

	if (tl == NULL)
		return 0;
	for (i = 0; i < tl->nsites; i++)
		if (tl->sites[i].ctx != NULL) {
			if (n < cap)
				v[n] = tl->sites[i].ctx;
			n++;
		}
	return n;
}

struct tls_gen *
tls_gen_build(const struct config *c, unsigned long serial, struct diag *d)
{
	struct tls_gen *g;
	size_t i;
	int failed = 0;

	g = calloc(1, sizeof(*g) + c->nlisteners * sizeof(g->ctx[0]));
	if (g == NULL) {
		diag_add(d, c->path, 0, "out of memory");
		return NULL;
	}
	atomic_init(&g->refs, 1);
	g->serial = serial;
	g->n = c->nlisteners;
	for (i = 0; i < c->nlisteners; i++) {
		g->ctx[i] = tls_ctx_build(c, &c->listeners[i], d);
		if (g->ctx[i] == NULL)
			failed = 1;
	}
	if (failed) {
		tls_gen_unref(g);
		return NULL;
	}
	return g;
}

struct tls_gen *
tls_gen_ref(struct tls_gen *g)
{
	atomic_fetch_add_explicit(&g->refs, 1, memory_order_relaxed);
	return g;
}

void
tls_gen_unref(struct tls_gen *g)
{
	size_t i;

	if (g == NULL)
		return;
	if (atomic_fetch_sub_explicit(&g->refs, 1, memory_order_acq_rel) != 1)
		return;
	for (i = 0; i < g->n; i++)
		SSL_CTX_free(g->ctx[i]);
	free(g);
}

static uint64_t
fnv1a(uint64_t h, const void *p, size_t n)
{
	const unsigned char *b = p;

	while (n-- > 0) {
		h ^= *b++;
		h *= 0x100000001b3ULL;
	}
	return h;
}

static uint64_t
fingerprint_file(uint64_t h, const char *path)
{
	struct stat st;
	int64_t v[7];

	if (path == NULL)
		return h;
	h = fnv1a(h, path, strlen(path) + 1);
	memset(v, 0, sizeof(v));
	if (stat(path, &st) < 0) {
		v[0] = -errno;
	} else {
		v[0] = (int64_t)st.st_dev;
		v[1] = (int64_t)st.st_ino;
		v[2] = (int64_t)st.st_size;
		v[3] = (int64_t)st.st_mtim.tv_sec;
		v[4] = (int64_t)st.st_mtim.tv_nsec;
		v[5] = (int64_t)st.st_ctim.tv_sec;
		v[6] = (int64_t)st.st_ctim.tv_nsec;
	}
	return fnv1a(h, v, sizeof(v));
}

static uint64_t
fingerprint_tls(uint64_t h, const struct tls_conf *t)
{
	h = fingerprint_file(h, t->certfile);
	h = fingerprint_file(h, t->keyfile);
	h = fingerprint_file(h, t->cacertfile);
	h = fingerprint_file(h, t->crlfile);
	h = fingerprint_file(h, t->ocsp_issuer_file);
	return fingerprint_file(h, t->ocsp_staple_file);
}

/* The directory itself and every entry in it: an added, removed or
 * changed file changes the fingerprint. */
static uint64_t
fingerprint_dir(uint64_t h, const char *dir)
{
	char **names = NULL, path[4096];
	size_t n = 0, i;

	h = fingerprint_file(h, dir);
	if (dir_names(dir, false, &names, &n) < 0)
		return h;
	for (i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		h = fingerprint_file(h, path);
	}
	config_strv_free(names, n);
	return h;
}

uint64_t
tls_files_fingerprint(const struct config *c)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	size_t i;

	for (i = 0; i < c->nlisteners; i++) {
		const struct listener_conf *l = &c->listeners[i];

		h = fingerprint_tls(h, &l->tls);
		h = fingerprint_file(h, l->psk_file);
		h = fingerprint_file(h, l->ticket_key_file);
		h = fingerprint_file(h, l->mqtt_password_file);
		if (l->certdir != NULL)
			h = fingerprint_dir(h, l->certdir);
	}
	for (i = 0; i < c->ncerts; i++)
		h = fingerprint_tls(h, &c->certs[i].tls);
	return h;
}
