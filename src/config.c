/*
 * config.c: builds a struct config from INI text. Our own reader feeds inih
 * one physical line at a time, so it knows every line number, and it checks
 * what inih cannot (over-long lines, NUL bytes, section headers, syntax,
 * continuation lines); the inih handler looks keys up in config_keys.c.
 * Cross-field rules run last. Every problem goes to a struct diag and
 * parsing goes on; nothing here opens certificates, binds or logs.
 */
#include "build_config.h"

#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <ini.h>

#include "config_keys.h"
#include "proxyv2.h"

const char *const config_log_level_names[] = {
	"error", "warn", "info", "debug", NULL
};
const char *const config_verify_names[] = {
	"verify_none", "verify_peer", NULL
};
const char *const config_allow_keys[] = {
	"allow_cn", "allow_ou", "allow_san_dns", "allow_san_uri", NULL
};
const char *const config_balance_names[] = {
	"roundrobin", "leastconn", "source", "clientid", NULL
};
const char *const config_hash_names[] = { "rendezvous", NULL };
const char *const config_health_names[] = { "none", "tcp", "mqtt", NULL };

enum sect {
	SECT_NONE,     /* before the first header: keys are errors */
	SECT_GLOBAL,
	SECT_LISTENER, /* listeners[li] */
	SECT_CERT,     /* certs[li] */
	SECT_UPSTREAM, /* upstreams[li] */
	SECT_SKIP,     /* a bad header: its keys are not checked */
};

/* State shared by the reader and the handler; inih calls the handler for a
 * line before it asks the reader for the next one. */
struct parse {
	struct config *c;
	struct diag *d;
	const char *file; /* c->path: the name in diagnostics */

	FILE *fp;	  /* source: a stream ... */
	const char *str;  /* ... or a string */

	char *buf;	  /* current physical line, without '\n' */
	size_t len, cap;
	bool nul;	  /* it held a NUL byte */
	int line;	  /* its number, counting from 1 */

	enum sect sect;
	size_t li;
	int key_line; /* line of the last key in this section, 0 = none */
	char key[CONFIG_MAX_LINE + 1];

	bool stop; /* out of memory or read error: parse no further */
};

static bool
is_space(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n' ||
	    ch == '\v' || ch == '\f';
}

static void
oom(struct parse *p)
{
	if (!p->stop)
		diag_add(p->d, p->file, 0, "out of memory");
	p->stop = true;
}

static int
append(struct parse *p, char ch)
{
	if (p->len + 1 >= p->cap) {
		size_t ncap = p->cap == 0 ? 256 : p->cap * 2;
		char *nb;

		if (ncap <= p->cap || (nb = realloc(p->buf, ncap)) == NULL) {
			oom(p);
			return -1;
		}
		p->buf = nb;
		p->cap = ncap;
	}
	p->buf[p->len++] = ch;
	return 0;
}

/*
 * Read the next physical line, of any length, into p->buf (NUL-terminated,
 * without its '\n'). A last line without '\n' still counts. Returns 0, or
 * -1 at the end of the input or on error (then p->stop is set).
 */
static int
read_line(struct parse *p)
{
	int ch;

	p->len = 0;
	p->nul = false;
	if (p->str != NULL) {
		if (*p->str == '\0')
			return -1;
		for (; *p->str != '\0' && *p->str != '\n'; p->str++)
			if (append(p, *p->str) == -1)
				return -1;
		if (*p->str == '\n')
			p->str++;
	} else {
		if ((ch = getc(p->fp)) == EOF)
			goto eof;
		for (; ch != EOF && ch != '\n'; ch = getc(p->fp)) {
			if (ch == '\0')
				p->nul = true;
			if (append(p, (char)ch) == -1)
				return -1;
		}
		if (ch == EOF && ferror(p->fp))
			goto eof;
	}
	if (append(p, '\0') == -1)
		return -1;
	p->len--;
	return 0;
eof:
	if (ferror(p->fp)) {
		diag_add(p->d, p->file, 0, "cannot read: %s", strerror(errno));
		p->stop = true;
	}
	return -1;
}

/* Store every default of the section kind through its setter (into to). */
static void
apply_defaults(struct parse *p, enum config_section_kind kind,
    const struct config_target *to)
{
	size_t i;

	for (i = 0; i < config_nkeys && !p->stop; i++) {
		const struct config_key *k = &config_keys[i];
		const char *why = "?";
		int r;

		if (k->section != kind || k->def == NULL)
			continue;
		r = k->set(p->c, to, k->def, &why);
		if (r == -2)
			oom(p);
		else if (r != 0)
			diag_add(p->d, p->file, 0,
			    "%s: invalid built-in default '%s': %s", k->name,
			    k->def, why);
	}
}

static void
new_listener(struct parse *p, const char *name)
{
	struct config *c = p->c;
	struct listener_conf *v, *l;

	v = realloc(c->listeners, (c->nlisteners + 1) * sizeof(*v));
	if (v == NULL) {
		oom(p);
		return;
	}
	c->listeners = v;
	l = &v[c->nlisteners];
	memset(l, 0, sizeof(*l));
	c->nlisteners++;
	l->header_line = p->line;
	if ((l->name = strdup(name)) == NULL) {
		oom(p);
		return;
	}
	p->sect = SECT_LISTENER;
	p->li = c->nlisteners - 1;
	apply_defaults(p, CONFIG_SECTION_LISTENER,
	    &(struct config_target){ .l = l, .t = &l->tls });
}

/* A [cert NAME] bundle takes no defaults: what it does not set comes from
 * the listener serving it. */
static void
new_cert(struct parse *p, const char *name)
{
	struct config *c = p->c;
	struct cert_conf *v, *b;

	v = realloc(c->certs, (c->ncerts + 1) * sizeof(*v));
	if (v == NULL) {
		oom(p);
		return;
	}
	c->certs = v;
	b = &v[c->ncerts];
	memset(b, 0, sizeof(*b));
	c->ncerts++;
	b->header_line = p->line;
	if ((b->name = strdup(name)) == NULL) {
		oom(p);
		return;
	}
	p->sect = SECT_CERT;
	p->li = c->ncerts - 1;
}

static void
new_upstream(struct parse *p, const char *name)
{
	struct config *c = p->c;
	struct upstream_conf *v, *u;

	v = realloc(c->upstreams, (c->nupstreams + 1) * sizeof(*v));
	if (v == NULL) {
		oom(p);
		return;
	}
	c->upstreams = v;
	u = &v[c->nupstreams];
	memset(u, 0, sizeof(*u));
	c->nupstreams++;
	u->header_line = p->line;
	if ((u->name = strdup(name)) == NULL) {
		oom(p);
		return;
	}
	p->sect = SECT_UPSTREAM;
	p->li = c->nupstreams - 1;
	apply_defaults(p, CONFIG_SECTION_UPSTREAM,
	    &(struct config_target){ .u = u });
}

/* The name of the section at index i of kind sect. */
static const char *
section_name(const struct config *c, enum sect sect, size_t i)
{
	switch (sect) {
	case SECT_LISTENER:
		return c->listeners[i].name;
	case SECT_CERT:
		return c->certs[i].name;
	case SECT_UPSTREAM:
		return c->upstreams[i].name;
	case SECT_NONE:
	case SECT_GLOBAL:
	case SECT_SKIP:
	default:
		return "";
	}
}

static int
section_line(const struct config *c, enum sect sect, size_t i)
{
	switch (sect) {
	case SECT_LISTENER:
		return c->listeners[i].header_line;
	case SECT_CERT:
		return c->certs[i].header_line;
	case SECT_UPSTREAM:
		return c->upstreams[i].header_line;
	case SECT_NONE:
	case SECT_GLOBAL:
	case SECT_SKIP:
	default:
		return 0;
	}
}

/*
 * Check the NAME of a "[kind NAME]" header (kind a listener, cert or
 * upstream, of which there are n): present, well-formed and not taken. A
 * section with a bad or duplicate name is still built, so that the problems
 * in its keys are reported too.
 */
static void
check_section_name(struct parse *p, const char *kind, enum sect sect,
    size_t n, const char *name, const char *example)
{
	size_t i;

	if (*name == '\0') {
		diag_add(p->d, p->file, p->line, "[%s] needs a name, as in "
		    "[%s %s]", kind, kind, example);
		return;
	}
	if (!config_section_name_ok(name)) {
		diag_add(p->d, p->file, p->line,
		    "invalid %s name '%s' (use 1 to %d letters, digits, '_', "
		    "'.' or '-')",
		    kind, name, CONFIG_NAME_MAX);
		return;
	}
	for (i = 0; i < n; i++)
		if (strcmp(section_name(p->c, sect, i), name) == 0) {
			diag_add(p->d, p->file, p->line,
			    "duplicate %s name '%s' (first on line %d)", kind,
			    name, section_line(p->c, sect, i));
			return;
		}
}

/* A "[kind name]" header; s is what lies between the brackets. */
static void
section(struct parse *p, char *s)
{
	char *kind, *name, *end;

	p->sect = SECT_SKIP;
	p->key_line = 0;
	while (is_space(*s))
		s++;
	end = s + strlen(s);
	while (end > s && is_space(end[-1]))
		*--end = '\0';
	kind = s;
	while (*s != '\0' && !is_space(*s))
		s++;
	if (*s != '\0')
		*s++ = '\0';
	while (is_space(*s))
		s++;
	name = s;

	if (*kind == '\0') {
		diag_add(p->d, p->file, p->line, "empty section header '[]'");
	} else if (strcmp(kind, "global") == 0) {
		if (*name != '\0')
			diag_add(p->d, p->file, p->line,
			    "[global] takes no name, not '%s'", name);
		p->sect = SECT_GLOBAL;
	} else if (strcmp(kind, "listener") == 0) {
		check_section_name(p, kind, SECT_LISTENER, p->c->nlisteners,
		    name, "default");
		new_listener(p, name);
	} else if (strcmp(kind, "cert") == 0) {
		check_section_name(p, kind, SECT_CERT, p->c->ncerts, name,
		    "tenant-a");
		new_cert(p, name);
	} else if (strcmp(kind, "upstream") == 0) {
		check_section_name(p, kind, SECT_UPSTREAM, p->c->nupstreams,
		    name, "cluster");
		new_upstream(p, name);
	} else {
		diag_add(p->d, p->file, p->line,
		    "unknown section kind '%s' (expected [global], "
		    "[listener NAME], [cert NAME] or [upstream NAME])",
		    kind);
	}
}

static void
syntax_error(struct parse *p, const char *what)
{
	diag_add(p->d, p->file, p->line, "syntax error: %s", what);
}

/*
 * Check the line in p->buf and decide what inih gets: the line stripped of
 * blanks and its inline comment, or an empty line when it is a comment, is
 * blank, or has already been reported as wrong.
 */
static const char *
classify(struct parse *p)
{
	char *s = p->buf, *start, *end, *sep, *k;
	char hdr[CONFIG_MAX_LINE + 1];
	bool indented;
	size_t len;

	if (p->nul) {
		diag_add(p->d, p->file, p->line, "line contains a NUL byte");
		return "";
	}
	if (p->line == 1 && strncmp(s, "\xEF\xBB\xBF", 3) == 0)
		s += 3;
	start = s;
	indented = is_space(*s);
	while (is_space(*s))
		s++;
	if (*s == ';' || *s == '#' || *s == '\0')
		return "";
	/* An inline comment starts at a ';' after a blank, as in inih. */
	for (end = s + 1; *end != '\0'; end++)
		if (*end == ';' && is_space(end[-1]))
			break;
	while (end > s && is_space(end[-1]))
		end--;
	*end = '\0';
	len = (size_t)(end - start); /* indentation counts, as documented */
	if (len > CONFIG_MAX_LINE) {
		diag_add(p->d, p->file, p->line,
		    "line too long (%zu bytes, at most %d)", len,
		    CONFIG_MAX_LINE);
		/* Keys after a header we could not read belong nowhere. */
		if (*s == '[') {
			p->sect = SECT_SKIP;
			p->key_line = 0;
		}
		/* A server line: "no server" would only repeat this. */
		k = s + strcspn(s, "=:");
		while (k > s && is_space(k[-1]))
			k--;
		if (p->sect == SECT_UPSTREAM && k - s == 6 &&
		    strncmp(s, "server", 6) == 0) {
			struct upstream_conf *u = &p->c->upstreams[p->li];

			if (u->line[UKEY_SERVER] == 0)
				u->line[UKEY_SERVER] = p->line;
			u->bad_servers++;
		}
		return "";
	}

	if (*s == '[') {
		if ((sep = strchr(s, ']')) == NULL) {
			syntax_error(p, "missing ']' in section header");
			p->sect = SECT_SKIP;
			p->key_line = 0;
			return "";
		}
		if (sep[1] != '\0') {
			syntax_error(p, "unexpected text after ']'");
			p->sect = SECT_SKIP;
			p->key_line = 0;
			return "";
		}
		/* section() cuts its argument up; inih gets the whole line. */
		memcpy(hdr, s + 1, (size_t)(sep - s - 1));
		hdr[sep - s - 1] = '\0';
		section(p, hdr);
		return s;
	}

	/* inih would take this line as more of the previous key's value. */
	if (indented && p->key_line != 0) {
		if (p->sect != SECT_SKIP)
			diag_add(p->d, p->file, p->line,
			    "%s: continuation lines are not supported (indented "
			    "line after the key on line %d)",
			    p->key, p->key_line);
		return "";
	}
	sep = s + strcspn(s, "=:");
	if (*sep == '\0') {
		syntax_error(p,
		    "expected 'key = value', '[section]' or a comment");
		return "";
	}
	for (k = sep; k > s && is_space(k[-1]); k--)
		;
	if (k == s) {
		syntax_error(p, *sep == '=' ? "missing key name before '='"
		    : "missing key name before ':'");
		return "";
	}
	p->key_line = p->line;
	memcpy(p->key, s, (size_t)(k - s));
	p->key[k - s] = '\0';
	return s;
}

static char *
reader_cb(char *str, int num, void *stream)
{
	struct parse *p = stream;
	const char *out;
	size_t len;

	if (p->stop || num < 3 || read_line(p) == -1)
		return NULL;
	p->line++;
	out = classify(p);
	len = strlen(out);
	if (len > (size_t)num - 2) {
		/* Only if inih's buffer were smaller than CONFIG_MAX_LINE. */
		diag_add(p->d, p->file, p->line,
		    "line too long (%zu bytes, at most %d)", len, num - 2);
		len = 0;
	}
	memcpy(str, out, len);
	str[len] = '\n';
	str[len + 1] = '\0';
	return str;
}

static const char *
sect_label(const struct parse *p, char *buf, size_t cap)
{
	const char *name, *kind;

	if (p->sect == SECT_GLOBAL)
		return "[global]";
	name = section_name(p->c, p->sect, p->li);
	kind = p->sect == SECT_CERT ? "cert"
	    : p->sect == SECT_UPSTREAM ? "upstream"
				       : "listener";
	snprintf(buf, cap, "[%s%s%s]", kind, *name != '\0' ? " " : "", name);
	return buf;
}

/* Where a key of another section kind belongs, for "unknown key" errors. */
static const char *
belongs_in(enum config_section_kind kind, const char *name)
{
	static const enum config_section_kind order[] = {
		CONFIG_SECTION_LISTENER, CONFIG_SECTION_GLOBAL,
		CONFIG_SECTION_CERT, CONFIG_SECTION_UPSTREAM,
	};
	const struct config_key *o = NULL;
	size_t i;

	for (i = 0; i < nitems(order) && o == NULL; i++)
		if (order[i] != kind)
			o = config_key_find(order[i], name);
	if (o == NULL)
		return "";
	switch (o->section) {
	case CONFIG_SECTION_GLOBAL:
		return " (it belongs in [global])";
	case CONFIG_SECTION_CERT:
		return " (it belongs in a [cert NAME] section)";
	case CONFIG_SECTION_UPSTREAM:
		return " (it belongs in an [upstream NAME] section)";
	case CONFIG_SECTION_LISTENER:
	default:
		return " (it belongs in a [listener NAME] section)";
	}
}

static int
handler_cb(void *user, const char *section_name MQ_UNUSED, const char *name,
    const char *value)
{
	struct parse *p = user;
	struct config *c = p->c;
	char label[CONFIG_MAX_LINE + 16], msg[CONFIG_MSG_MAX];
	struct config_target to = { .msg = msg, .msgcap = sizeof(msg) };
	enum config_section_kind kind;
	const struct config_key *k;
	const char *why = "?";
	int *linep, r;

	/* inih's own idea of the section is ignored: it cuts long names. */
	switch (p->sect) {
	case SECT_NONE:
		diag_add(p->d, p->file, p->line,
		    "%s: key outside any section (put it under [global] or "
		    "[listener NAME])",
		    name);
		return 1;
	case SECT_SKIP:
		return 1;
	case SECT_GLOBAL:
		kind = CONFIG_SECTION_GLOBAL;
		break;
	case SECT_CERT:
		kind = CONFIG_SECTION_CERT;
		to.b = &c->certs[p->li];
		to.t = &to.b->tls;
		break;
	case SECT_UPSTREAM:
		kind = CONFIG_SECTION_UPSTREAM;
		to.u = &c->upstreams[p->li];
		break;
	case SECT_LISTENER:
	default:
		kind = CONFIG_SECTION_LISTENER;
		to.l = &c->listeners[p->li];
		to.t = &to.l->tls;
		break;
	}
	if ((k = config_key_find(kind, name)) == NULL) {
		diag_add(p->d, p->file, p->line, "unknown key '%s' in %s%s",
		    name, sect_label(p, label, sizeof(label)),
		    belongs_in(kind, name));
		return 1;
	}
	linep = to.l != NULL ? &to.l->line[k->id]
	    : to.b != NULL   ? &to.b->line[k->id]
	    : to.u != NULL   ? &to.u->line[k->id]
			     : &c->global.line[k->id];
	if (*linep != 0 && !k->repeatable) {
		diag_add(p->d, p->file, p->line,
		    "%s: duplicate key (first set on line %d)", name, *linep);
		return 1;
	}
	/* Remember the line even for a bad value, so that a second
	 * occurrence is still reported as a duplicate. */
	*linep = p->line;
	r = k->set(c, &to, value, &why);
	if (r == -2) {
		oom(p);
	} else if (r != 0) {
		if (to.u != NULL && k->id == UKEY_SERVER)
			to.u->bad_servers++;
		if (*value == '\0')
			diag_add(p->d, p->file, p->line,
			    "%s: empty value (%s)", name, why);
		else if (r == -3)
			diag_add(p->d, p->file, p->line, "%s: %s", name, why);
		else
			diag_add(p->d, p->file, p->line,
			    "%s: invalid value '%s': %s", name, value, why);
	} else if (to.l != NULL && k->id == LKEY_BIND) {
		to.l->bind_lines[to.l->nbinds - 1] = p->line;
	} else if (to.u != NULL && k->id == UKEY_SERVER) {
		to.u->servers[to.u->nservers - 1].line = p->line;
	}
	return 1;
}

/* Defaults that depend on other keys. */
static void
finish(struct parse *p)
{
	size_t i;

	for (i = 0; i < p->c->nlisteners && !p->stop; i++) {
		struct tls_conf *t = &p->c->listeners[i].tls;

		if (t->keyfile == NULL && t->certfile != NULL &&
		    (t->keyfile = strdup(t->certfile)) == NULL)
			oom(p);
	}
	for (i = 0; i < p->c->ncerts && !p->stop; i++) {
		struct tls_conf *t = &p->c->certs[i].tls;

		if (t->keyfile == NULL && t->certfile != NULL &&
		    (t->keyfile = strdup(t->certfile)) == NULL)
			oom(p);
	}
}

static bool
same_addr(const struct addr *a, const struct addr *b)
{
	return a->len == b->len && memcmp(&a->ss, &b->ss, a->len) == 0;
}

/* A bind address used before this one (listener li, bind bi), if any. */
static bool
bound_before(const struct config *c, size_t li, size_t bi, size_t *pli,
    size_t *pbi)
{
	const struct addr *a = &c->listeners[li].binds[bi];
	size_t i, j;

	for (i = 0; i <= li; i++) {
		const struct listener_conf *o = &c->listeners[i];

		for (j = 0; j < (i == li ? bi : o->nbinds); j++)
			if (same_addr(a, &o->binds[j])) {
				*pli = i;
				*pbi = j;
				return true;
			}
	}
	return false;
}

/* The line to blame for key k of bundle b served on l: b's own line,
 * else l's, else b's header. */
static int
blame(const struct listener_conf *l, const struct cert_conf *b,
    enum listener_key k)
{
	if (b->line[k] > 0)
		return b->line[k];
	if (l != NULL && l->line[k] > 0)
		return l->line[k];
	return b->header_line;
}

/* A fetched and a fixed OCSP response cannot both be stapled. */
static void
check_staple_both(struct parse *p, const struct tls_conf *t, const int *line)
{
	if (t->ocsp_staple_file != NULL && t->ocsp_stapling)
		diag_add(p->d, p->file, line[LKEY_OCSP_STAPLE_FILE],
		    "ocsp_staple_file: set either ocsp_stapling = on "
		    "or ocsp_staple_file, not both");
}

/* verify_peer needs CAs, also as a bundle is served on listener l. The
 * listener's own case is reported by validate(); this is the bundle's. */
static void
check_bundle_verify(struct parse *p, const struct listener_conf *l,
    const struct cert_conf *b)
{
	struct tls_conf e;
	int lines[LKEY_COUNT];

	if (b->line[LKEY_VERIFY] == 0 && b->line[LKEY_CACERTFILE] == 0)
		return;
	config_cert_effective(l, b, &e, lines);
	if (e.verify == TLS_VERIFY_PEER && e.cacertfile == NULL)
		diag_add(p->d, p->file, lines[LKEY_VERIFY],
		    "verify: verify_peer requires cacertfile (bundle %s on "
		    "listener %s)",
		    b->name, l->name);
}

static void
validate_certs(struct parse *p)
{
	struct config *c = p->c;
	const struct cert_conf *b;
	size_t i, j;

	for (i = 0; i < c->ncerts; i++) {
		b = &c->certs[i];
		if (b->tls.certfile == NULL)
			diag_add(p->d, p->file, b->header_line,
			    "certfile: required key missing in [cert %s]",
			    b->name);
		check_staple_both(p, &b->tls, b->line);
	}
	for (i = 0; i < c->nlisteners && !p->stop; i++) {
		struct listener_conf *l = &c->listeners[i];
		bool unresolved = false;

		if (l->ncerts == 0)
			continue;
		if ((l->cert_idx = calloc(l->ncerts, sizeof(*l->cert_idx))) ==
		    NULL) {
			oom(p);
			return;
		}
		for (j = 0; j < l->ncerts; j++) {
			if ((b = config_cert(c, l->certs[j])) == NULL) {
				diag_add(p->d, p->file, l->line[LKEY_CERTS],
				    "certs: there is no [cert %s] section",
				    l->certs[j]);
				unresolved = true;
				continue;
			}
			l->cert_idx[j] = (size_t)(b - c->certs);
			check_bundle_verify(p, l, b);
		}
		/* A partial config (mqgate -t) is still built from: every
		 * index it keeps must name a bundle. */
		if (unresolved) {
			free(l->cert_idx);
			l->cert_idx = NULL;
		}
	}
}

/* The name of listener key id. */
static const char *
lkey_name(enum listener_key id)
{
	size_t i;

	for (i = 0; i < config_nkeys; i++)
		if ((config_keys[i].section == CONFIG_SECTION_LISTENER ||
		    config_keys[i].section == CONFIG_SECTION_CERT) &&
		    config_keys[i].id == (int)id)
			return config_keys[i].name;
	return "?";
}

/* Whether a TLV type is one mqgate writes itself into a v2 header. */
static bool
written_by_mqgate(const struct listener_conf *l, unsigned t)
{
	return (t >= PP2_TYPE_ALPN && t <= PP2_TYPE_UNIQUE_ID) ||
	    (t >= PP2_TYPE_SSL && t <= 0x2F) || /* SSL, its sub-types */
	    (t >= l->proxy_custom_base && t <= l->proxy_custom_base +
		PP2_CUSTOM_PSK_IDENTITY);
}

/* PROXY protocol out and in: keys that only mean something with another. */
static void
check_proxy(struct parse *p, const struct listener_conf *l)
{
	const struct proxyv2_profile_info *pi;
	enum listener_key k;
	uint32_t refused;
	size_t i;
	unsigned t;

	for (k = LKEY_PROXY_PROFILE; k <= LKEY_PROXY_PASS_TLVS;
	    k = (enum listener_key)(k + 1)) {
		bool out = k != LKEY_ACCEPT_PROXY &&
		    k != LKEY_TRUSTED_PROXIES && k != LKEY_PROXY_HEADER_TIMEOUT;
		bool in = k >= LKEY_TRUSTED_PROXIES;

		if (l->line[k] == 0)
			continue;
		if (out && l->proxy_protocol != PROXY_OUT_V2)
			diag_add(p->d, p->file, l->line[k],
			    "%s: needs proxy_protocol = v2", lkey_name(k));
		if (in && l->accept_proxy == PROXY_IN_OFF)
			diag_add(p->d, p->file, l->line[k],
			    "%s: needs accept_proxy", lkey_name(k));
	}
	pi = proxyv2_profile_info((enum proxyv2_profile)l->proxy_profile);
	refused = pi != NULL
	    ? l->proxy_tlvs & ~PROXYV2_T_NONE_SET & ~pi->allowed : 0;
	for (i = 0; i < proxyv2_ntlv_words && refused != 0; i++)
		if ((refused & proxyv2_tlv_words[i].bit) != 0)
			diag_add(p->d, p->file, l->line[LKEY_PROXY_TLVS],
			    "proxy_tlvs: proxy_profile %s does not accept %s "
			    "(0x%02X)",
			    pi->name, proxyv2_tlv_words[i].name,
			    proxyv2_tlv_words[i].type +
				(proxyv2_tlv_words[i].custom ? l->proxy_custom_base
						       : 0));
	for (t = 0; t < 256; t++)
		if (listener_passes_tlv(l, t) && written_by_mqgate(l, t))
			diag_add(p->d, p->file, l->line[LKEY_PROXY_PASS_TLVS],
			    "proxy_pass_tlvs: 0x%02X is written by mqgate "
			    "itself", t);
	if (l->accept_proxy != PROXY_IN_OFF && l->ntrusted == 0)
		diag_add(p->d, p->file, l->line[LKEY_TRUSTED_PROXIES],
		    "trusted_proxies: no peer may send a PROXY header, so "
		    "every connection would be refused");
}

/* Whether listener l, or a bundle it serves, asks for client certificates
 * (certdir entries take the listener's verify). */
static bool
requests_client_cert(const struct config *c, const struct listener_conf *l)
{
	const struct cert_conf *b;
	size_t j;

	if (l->tls.verify == TLS_VERIFY_PEER)
		return true;
	for (j = 0; j < l->ncerts; j++)
		if ((b = config_cert(c, l->certs[j])) != NULL &&
		    b->line[LKEY_VERIFY] > 0 &&
		    b->tls.verify == TLS_VERIFY_PEER)
			return true;
	return false;
}

#define NO_CLIENT_CERT \
	"needs verify = verify_peer (no client certificate is requested)"

/* MQTT identity binding: the identity must be there to be bound. */
static void
check_mqtt(struct parse *p, const struct listener_conf *l)
{
	bool certs = requests_client_cert(p->c, l);

	switch (l->mqtt_username) {
	case MQTT_USER_KEEP:
		break;
	case MQTT_USER_PSK_IDENTITY:
		if (l->psk_file == NULL)
			diag_add(p->d, p->file, l->line[LKEY_MQTT_USERNAME],
			    "mqtt_username: needs psk_file");
		break;
	case MQTT_USER_CN:
	case MQTT_USER_DN:
	case MQTT_USER_SAN_URI:
	case MQTT_USER_SAN_DNS:
	case MQTT_USER_CERT_SHA256:
	default:
		if (!certs)
			diag_add(p->d, p->file, l->line[LKEY_MQTT_USERNAME],
			    "mqtt_username: " NO_CLIENT_CERT);
		break;
	}
	if ((l->mqtt_clientid_must_match == MQTT_CID_CN ||
		l->mqtt_clientid_must_match == MQTT_CID_SAN_URI) &&
	    !certs)
		diag_add(p->d, p->file, l->line[LKEY_MQTT_CLIENTID_MUST_MATCH],
		    "mqtt_clientid_must_match: " NO_CLIENT_CERT);
}

/* The rules of each [upstream NAME] pool. */
static void
validate_upstreams(struct parse *p)
{
	const struct config *c = p->c;
	size_t i, j;

	for (i = 0; i < c->nupstreams; i++) {
		const struct upstream_conf *u = &c->upstreams[i];
		/* A server line that was wrong has been reported already; what
		 * the others lack may be its fault. */
		bool all_backup = u->nservers > 0 && u->bad_servers == 0;

		if (u->line[UKEY_SERVER] == 0)
			diag_add(p->d, p->file, u->header_line,
			    "upstream %s: no server", u->name);
		for (j = 0; j < u->nservers; j++)
			if (!u->servers[j].backup)
				all_backup = false;
		if (all_backup)
			diag_add(p->d, p->file, u->header_line,
			    "upstream %s: every server is a backup", u->name);
		if (u->health_check == HEALTH_NONE ||
		    u->health_timeout_ms < u->health_interval_ms)
			continue;
		if (u->line[UKEY_HEALTH_TIMEOUT] != 0 ||
		    u->line[UKEY_HEALTH_INTERVAL] == 0)
			diag_add(p->d, p->file,
			    u->line[UKEY_HEALTH_TIMEOUT] != 0
				? u->line[UKEY_HEALTH_TIMEOUT]
				: u->header_line,
			    "health_timeout: must be less than health_interval "
			    "(%ld ms >= %ld ms)",
			    u->health_timeout_ms, u->health_interval_ms);
		else
			diag_add(p->d, p->file, u->line[UKEY_HEALTH_INTERVAL],
			    "health_interval: must be more than health_timeout "
			    "(%ld ms <= %ld ms)",
			    u->health_interval_ms, u->health_timeout_ms);
	}
}

/* A listener's upstream = NAME must name a pool. */
static void
resolve_pool(struct parse *p, struct listener_conf *l)
{
	const struct upstream_conf *u;

	if (l->upstream_pool == NULL)
		return;
	if ((u = config_upstream(p->c, l->upstream_pool)) != NULL) {
		l->pool_idx = (size_t)(u - p->c->upstreams);
		return;
	}
	/* Without a ':' an address is taken for a pool name. */
	l->pool_idx = SIZE_MAX;
	if (strspn(l->upstream_pool, "0123456789.") ==
	    strlen(l->upstream_pool))
		diag_add(p->d, p->file, l->line[LKEY_UPSTREAM],
		    "upstream: no [upstream NAME] section named '%s' (an "
		    "address needs a port, as in %s:1883)",
		    l->upstream_pool, l->upstream_pool);
	else
		diag_add(p->d, p->file, l->line[LKEY_UPSTREAM],
		    "upstream: no [upstream NAME] section named '%s'",
		    l->upstream_pool);
}

/* Rules across keys and sections, each blamed on the line of one key. */
static void
validate(struct parse *p)
{
	struct config *c = p->c;
	char abuf[ADDR_STRLEN];
	size_t i, j, oi, oj;

	if (c->nlisteners == 0)
		diag_add(p->d, p->file, 0, "no [listener] section");
	for (i = 0; i < c->nlisteners; i++) {
		struct listener_conf *l = &c->listeners[i];

		for (j = 0; j < config_nkeys; j++) {
			const struct config_key *k = &config_keys[j];

			if (k->section == CONFIG_SECTION_LISTENER &&
			    k->required && l->line[k->id] == 0)
				diag_add(p->d, p->file, l->header_line,
				    "%s: required key missing in [listener%s%s]",
				    k->name, *l->name != '\0' ? " " : "",
				    l->name);
		}
		resolve_pool(p, l);
		if (l->tls.certfile == NULL && l->ncerts == 0 &&
		    l->certdir == NULL && l->psk_file == NULL)
			diag_add(p->d, p->file, l->header_line,
			    "certfile: required key missing in [listener%s%s] "
			    "(or serve bundles with certs or certdir)",
			    *l->name != '\0' ? " " : "", l->name);
		if (l->tls.verify == TLS_VERIFY_PEER &&
		    l->tls.cacertfile == NULL)
			diag_add(p->d, p->file, l->line[LKEY_VERIFY],
			    "verify: verify_peer requires cacertfile (the CAs "
			    "that sign client certificates)");
		check_staple_both(p, &l->tls, l->line);
		if (l->ticket_key_file != NULL && !l->session_tickets)
			diag_add(p->d, p->file, l->line[LKEY_TICKET_KEY_FILE],
			    "ticket_key_file: session_tickets is off, so the "
			    "keys would never be used");
		if (l->alpn_strict && l->alpn == NULL)
			diag_add(p->d, p->file, l->line[LKEY_ALPN_STRICT],
			    "alpn_strict: needs the protocols in alpn");
		check_proxy(p, l);
		check_mqtt(p, l);
		for (j = 0; j < l->nbinds; j++) {
			if (!bound_before(c, i, j, &oi, &oj))
				continue;
			addr_format(&l->binds[j], abuf, sizeof(abuf));
			diag_add(p->d, p->file, l->bind_lines[j],
			    "bind: %s is already bound on line %d "
			    "([listener %s])",
			    abuf, c->listeners[oi].bind_lines[oj],
			    c->listeners[oi].name);
		}
	}
	validate_certs(p);
	validate_upstreams(p);
}

void
config_cert_effective(const struct listener_conf *l,
    const struct cert_conf *b, struct tls_conf *out, int lines[LKEY_COUNT])
{
	const struct tls_conf *bt = &b->tls, *lt = &l->tls;
	size_t k;

	*out = *lt;
	for (k = 0; k < LKEY_COUNT; k++)
		lines[k] = blame(l, b, (enum listener_key)k);
	/* Always the bundle's own. */
	out->certfile = bt->certfile;
	out->keyfile = bt->keyfile;
	out->key_password = bt->key_password;
	out->ocsp_issuer_file = bt->ocsp_issuer_file;
	out->ocsp_staple_file = bt->ocsp_staple_file;
	lines[LKEY_CERTFILE] = b->line[LKEY_CERTFILE] > 0
	    ? b->line[LKEY_CERTFILE] : b->header_line;
	lines[LKEY_KEYFILE] = b->line[LKEY_KEYFILE] > 0
	    ? b->line[LKEY_KEYFILE] : lines[LKEY_CERTFILE];
	lines[LKEY_KEY_PASSWORD] = b->line[LKEY_KEY_PASSWORD] > 0
	    ? b->line[LKEY_KEY_PASSWORD] : b->header_line;
	lines[LKEY_OCSP_ISSUER_FILE] = b->line[LKEY_OCSP_ISSUER_FILE] > 0
	    ? b->line[LKEY_OCSP_ISSUER_FILE] : lines[LKEY_OCSP_STAPLING];
	lines[LKEY_OCSP_STAPLE_FILE] = b->line[LKEY_OCSP_STAPLE_FILE] > 0
	    ? b->line[LKEY_OCSP_STAPLE_FILE] : b->header_line;
	/* Inherited unless set in the bundle. */
	if (b->line[LKEY_CACERTFILE] > 0)
		out->cacertfile = bt->cacertfile;
	if (b->line[LKEY_VERIFY] > 0)
		out->verify = bt->verify;
	if (b->line[LKEY_FAIL_IF_NO_PEER_CERT] > 0)
		out->fail_if_no_peer_cert = bt->fail_if_no_peer_cert;
	if (b->line[LKEY_CRLFILE] > 0)
		out->crlfile = bt->crlfile;
	if (b->line[LKEY_CRL_CHECK] > 0)
		out->crl_chain = bt->crl_chain;
	for (k = 0; k < ALLOW_KIND_COUNT; k++)
		if (b->line[LKEY_ALLOW_CN + k] > 0)
			out->allow[k] = bt->allow[k];
	if (b->line[LKEY_OCSP_STAPLING] > 0)
		out->ocsp_stapling = bt->ocsp_stapling;
	if (b->line[LKEY_OCSP_RESPONDER_URL] > 0)
		out->ocsp_responder_url = bt->ocsp_responder_url;
	if (b->line[LKEY_OCSP_REFRESH_INTERVAL] > 0)
		out->ocsp_refresh_ms = bt->ocsp_refresh_ms;
	/* A staple file of its own means no fetching for this bundle. */
	if (bt->ocsp_staple_file != NULL && b->line[LKEY_OCSP_STAPLING] == 0)
		out->ocsp_stapling = false;
}

const struct cert_conf *
config_cert(const struct config *c, const char *name)
{
	size_t i;

	if (c == NULL || name == NULL)
		return NULL;
	for (i = 0; i < c->ncerts; i++)
		if (c->certs[i].name != NULL &&
		    strcmp(c->certs[i].name, name) == 0)
			return &c->certs[i];
	return NULL;
}

const struct upstream_conf *
config_upstream(const struct config *c, const char *name)
{
	size_t i;

	if (c == NULL || name == NULL)
		return NULL;
	for (i = 0; i < c->nupstreams; i++)
		if (c->upstreams[i].name != NULL &&
		    strcmp(c->upstreams[i].name, name) == 0)
			return &c->upstreams[i];
	return NULL;
}

static struct config *
load(const char *name, FILE *fp, const char *str, struct diag *d, bool keep)
{
	struct parse p;
	struct diag local;
	size_t before;
	int r;

	if (d == NULL) {
		diag_init(&local);
		d = &local;
	}
	before = diag_count(d);
	memset(&p, 0, sizeof(p));
	p.d = d;
	p.fp = fp;
	p.str = str;
	p.file = name;
	if ((p.c = calloc(1, sizeof(*p.c))) == NULL) {
		oom(&p);
		goto fail;
	}
	if (name != NULL && (p.c->path = strdup(name)) == NULL) {
		oom(&p);
		goto fail;
	}
	p.file = p.c->path;
	apply_defaults(&p, CONFIG_SECTION_GLOBAL, &(struct config_target){ 0 });
	if (p.stop)
		goto fail;

	r = ini_parse_stream(reader_cb, &p, handler_cb, &p);
	if (p.stop)
		goto fail;
	if (r == -2) {
		oom(&p);
		goto fail;
	}
	/* Our reader hands inih only lines it can parse, so this is only a
	 * backstop in case inih disagrees. */
	if (r != 0 && diag_count(d) == before)
		diag_add(d, p.file, r > 0 ? r : 0, "syntax error");
	finish(&p);
	if (p.stop)
		goto fail;
	validate(&p);
	if (p.stop)
		goto fail;
	if (diag_count(d) != before && !keep)
		goto fail;
	free(p.buf);
	if (d == &local)
		diag_clear(&local);
	return p.c;
fail:
	free(p.buf);
	config_free(p.c);
	if (d == &local)
		diag_clear(&local);
	return NULL;
}

static struct config *
load_file(const char *path, struct diag *d, bool keep)
{
	struct config *c;
	FILE *fp;

	if ((fp = fopen(path, "r")) == NULL) {
		if (d != NULL)
			diag_add(d, path, 0, "cannot open: %s", strerror(errno));
		return NULL;
	}
	c = load(path, fp, NULL, d, keep);
	fclose(fp);
	return c;
}

struct config *
config_load_file(const char *path, struct diag *d)
{
	return load_file(path, d, false);
}

struct config *
config_load_file_partial(const char *path, struct diag *d)
{
	return load_file(path, d, true);
}

struct config *
config_load_string(const char *text, const char *name, struct diag *d)
{
	return load(name, NULL, text, d, false);
}

static void
tls_conf_clear(struct tls_conf *t)
{
	free(t->certfile);
	free(t->keyfile);
	free(t->key_password);
	free(t->cacertfile);
	free(t->ciphers);
	free(t->ciphersuites);
	free(t->groups);
	free(t->crlfile);
	for (size_t i = 0; i < ALLOW_KIND_COUNT; i++)
		allow_list_free(t->allow[i]);
	free(t->ocsp_responder_url);
	free(t->ocsp_issuer_file);
	free(t->ocsp_staple_file);
}

void
config_free(struct config *c)
{
	size_t i;

	if (c == NULL)
		return;
	for (i = 0; i < c->nlisteners; i++) {
		struct listener_conf *l = &c->listeners[i];

		free(l->name);
		free(l->binds);
		free(l->bind_lines);
		tls_conf_clear(&l->tls);
		config_strv_free(l->certs, l->ncerts);
		free(l->cert_idx);
		free(l->certdir);
		free(l->psk_file);
		free(l->ticket_key_file);
		free(l->alpn);
		free(l->trusted);
		free(l->mqtt_password_file);
		free(l->upstream_pool);
	}
	free(c->listeners);
	for (i = 0; i < c->ncerts; i++) {
		struct cert_conf *b = &c->certs[i];

		free(b->name);
		tls_conf_clear(&b->tls);
		config_strv_free(b->sni, b->nsni);
	}
	free(c->certs);
	for (i = 0; i < c->nupstreams; i++) {
		struct upstream_conf *u = &c->upstreams[i];

		free(u->name);
		for (size_t j = 0; j < u->nservers; j++) {
			free(u->servers[j].text);
			free(u->servers[j].host);
		}
		free(u->servers);
	}
	free(c->upstreams);
	free(c->path);
	free(c);
}

const struct listener_conf *
config_listener(const struct config *c, const char *name)
{
	size_t i;

	if (c == NULL || name == NULL)
		return NULL;
	for (i = 0; i < c->nlisteners; i++)
		if (c->listeners[i].name != NULL &&
		    strcmp(c->listeners[i].name, name) == 0)
			return &c->listeners[i];
	return NULL;
}
