/*
 * http_get: one blocking HTTP/1.x request for a background thread. Owns
 * the connect with a deadline on a non-blocking socket, the proxy
 * environment, the exchange (OpenSSL's HTTP client, on our socket so that
 * a cancel can cut it), redirects and the size cap. It logs nothing and
 * holds no global state: the canceller is its callers' and a failure
 * comes back in words for the caller's log line.
 */
#include "build_config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/http.h>
#include <openssl/httperr.h>
#include <openssl/x509v3.h>

#include "clock.h"
#include "compat.h"
#include "http_get.h"
#include "log.h"

/* Longest redirect target followed. */
static const size_t URL_MAX = 1024;
/* First allocation of a streamed body; it doubles from there. */
static const size_t BODY_CHUNK = 65536;

/* A socket registered with a canceller, on the requesting thread's stack. */
struct hold {
	int fd;
	struct hold *next;
};

struct http_get_cancel {
	pthread_mutex_t mu;
	int pipe[2]; /* a byte in it wakes every poll */
	bool fired;
	struct hold *held; /* sockets to shut down on fire */
};

static void fail(struct http_get_result *r, enum http_get_err err,
    const char *detail, const char *fmt, ...) MQ_PRINTF(4, 5);

/* Record the first failure of a request; later ones are consequences. */
static void
fail(struct http_get_result *r, enum http_get_err err, const char *detail,
    const char *fmt, ...)
{
	va_list ap;

	if (r->err != HTTP_GET_OK)
		return;
	r->err = err;
	va_start(ap, fmt);
	vsnprintf(r->why, sizeof(r->why), fmt, ap);
	va_end(ap);
	snprintf(
	    r->detail, sizeof(r->detail), "%s", detail != NULL ? detail : "");
}

/* The default http_get_errors_fn: each entry with its data (the HTTP
 * status, for one), "; "-separated. */
static const char *
ossl_errors(char *buf, size_t cap)
{
	const char *data;
	unsigned long e;
	size_t n = 0;
	int flags;

	buf[0] = '\0';
	while ((e = ERR_get_error_all(NULL, NULL, NULL, &data, &flags)) != 0) {
		const char *rs = ERR_reason_error_string(e);
		int w;

		if ((flags & ERR_TXT_STRING) == 0)
			data = "";
		w = snprintf(buf + n, cap - n, "%s%s%s%s", n > 0 ? "; " : "",
		    rs != NULL ? rs : "error", data[0] != '\0' ? ": " : "",
		    data);
		if (w < 0 || (size_t)w >= cap - n)
			break;
		n += (size_t)w;
	}
	ERR_clear_error();
	if (buf[0] == '\0')
		snprintf(buf, cap, "connection closed");
	return buf;
}

/* ---------------------------------------------------------------- cancel */

struct http_get_cancel *
http_get_cancel_new(void)
{
	struct http_get_cancel *c = calloc(1, sizeof(*c));
	int rc;

	if (c == NULL)
		return NULL;
	if (pipe2(c->pipe, O_CLOEXEC) != 0) {
		rc = errno;
		free(c);
		errno = rc;
		return NULL;
	}
	rc = pthread_mutex_init(&c->mu, NULL);
	if (rc != 0) {
		close(c->pipe[0]);
		close(c->pipe[1]);
		free(c);
		errno = rc;
		return NULL;
	}
	return c;
}

void
http_get_cancel_free(struct http_get_cancel *c)
{
	if (c == NULL)
		return;
	pthread_mutex_destroy(&c->mu);
	close(c->pipe[0]);
	close(c->pipe[1]);
	free(c);
}

void
http_get_cancel_fire(struct http_get_cancel *c)
{
	struct hold *h;

	if (c == NULL)
		return;
	pthread_mutex_lock(&c->mu);
	if (!c->fired) {
		ssize_t w;

		c->fired = true;
		do
			w = write(c->pipe[1], "x", 1);
		while (w < 0 && errno == EINTR);
	}
	/* A request waiting inside OpenSSL sees its socket end. */
	for (h = c->held; h != NULL; h = h->next)
		shutdown(h->fd, SHUT_RDWR);
	pthread_mutex_unlock(&c->mu);
}

static bool
cancelled(struct http_get_cancel *c)
{
	bool f;

	pthread_mutex_lock(&c->mu);
	f = c->fired;
	pthread_mutex_unlock(&c->mu);
	return f;
}

/* Register fd with c so that a fire shuts it down. False when c has
 * fired already. */
static bool
hold_fd(struct http_get_cancel *c, struct hold *h, int fd)
{
	bool ok;

	pthread_mutex_lock(&c->mu);
	ok = !c->fired;
	if (ok) {
		h->fd = fd;
		h->next = c->held;
		c->held = h;
	}
	pthread_mutex_unlock(&c->mu);
	return ok;
}

/* Unregister and close a socket of hold_fd (-1: nothing to do). The fd
 * leaves the list first, so that a fire never shuts down a reused one. */
static void
close_fd(struct http_get_cancel *c, struct hold *h)
{
	struct hold **pp;

	if (h->fd < 0)
		return;
	pthread_mutex_lock(&c->mu);
	for (pp = &c->held; *pp != NULL; pp = &(*pp)->next)
		if (*pp == h) {
			*pp = h->next;
			break;
		}
	pthread_mutex_unlock(&c->mu);
	close(h->fd);
	h->fd = -1;
}

/* ---------------------------------------------------------------- socket */

/*
 * Wait for events on fd until deadline. False when it timed out (then r
 * says "<what> timed out" as err), c fired, or poll failed.
 */
static bool
wait_fd(struct http_get_cancel *c, int fd, short events, int64_t deadline,
    enum http_get_err err, const char *what, struct http_get_result *r)
{
	struct pollfd pfd[2];

	for (;;) {
		int64_t left = deadline - clock_mono_ms();
		int rc;

		if (left <= 0) {
			fail(r, err, NULL, "%s timed out", what);
			return false;
		}
		pfd[0].fd = fd;
		pfd[0].events = events;
		pfd[1].fd = c->pipe[0];
		pfd[1].events = POLLIN;
		pfd[0].revents = pfd[1].revents = 0;
		rc = poll(pfd, 2, left > INT_MAX ? INT_MAX : (int)left);
		if (rc < 0 && errno != EINTR) {
			fail(r, HTTP_GET_ERR_PROTO, strerror(errno), "poll: %s",
			    strerror(errno));
			return false;
		}
		if (pfd[1].revents != 0) {
			fail(r, HTTP_GET_ERR_CANCELED, NULL, "shutting down");
			return false;
		}
		if (rc > 0 && pfd[0].revents != 0)
			return true;
	}
}

/*
 * Connect to host:port (a numeric port) before deadline, trying each
 * address until one takes it. Returns the non-blocking socket, held in
 * h, or -1 with r set. Only the name lookup cannot be cut short: a slow
 * resolver can hold up a cancel by its own timeout.
 */
static int
dial(struct http_get_cancel *c, struct hold *h, const char *host,
    const char *port, int64_t deadline, struct http_get_result *r)
{
	struct addrinfo hints, *res = NULL, *ai;
	char name[sizeof(r->host)];
	size_t len = strlen(host);
	int fd = -1, err = 0, rc;

	snprintf(r->host, sizeof(r->host), "%s", host);
	snprintf(r->port, sizeof(r->port), "%s", port);
	/* "[::1]" from the URL; getaddrinfo wants "::1". */
	if (len >= 2 && host[0] == '[' && host[len - 1] == ']')
		snprintf(name, sizeof(name), "%.*s", (int)(len - 2), host + 1);
	else
		snprintf(name, sizeof(name), "%s", host);
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	rc = getaddrinfo(name, port, &hints, &res);
	if (rc != 0) {
		const char *msg =
		    rc == EAI_SYSTEM ? strerror(errno) : gai_strerror(rc);

		fail(r, HTTP_GET_ERR_RESOLVE, msg, "cannot resolve %s: %s",
		    name, msg);
		return -1;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		socklen_t sl = sizeof(err);
		char what[sizeof(name) + sizeof(r->port) + 32];

		if (getnameinfo(ai->ai_addr, ai->ai_addrlen, r->addr,
			sizeof(r->addr), NULL, 0, NI_NUMERICHOST) != 0)
			r->addr[0] = '\0';
		fd = socket(ai->ai_family,
		    ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
		    ai->ai_protocol);
		if (fd < 0) {
			err = errno;
			continue;
		}
		if (!hold_fd(c, h, fd)) {
			close(fd);
			fd = -1;
			fail(r, HTTP_GET_ERR_CANCELED, NULL, "shutting down");
			break;
		}
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		err = errno;
		if (err == EINPROGRESS) {
			snprintf(what, sizeof(what), "connecting to %s port %s",
			    name, port);
			if (wait_fd(c, fd, POLLOUT, deadline,
				HTTP_GET_ERR_CONNECT_TIMEOUT, what, r) &&
			    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &sl) ==
				0 &&
			    err == 0)
				break;
		}
		close_fd(c, h);
		fd = -1;
		if (r->err != HTTP_GET_OK)
			break;
	}
	freeaddrinfo(res);
	if (fd < 0) {
		const char *msg = strerror(err != 0 ? err : ECONNREFUSED);

		fail(r, HTTP_GET_ERR_CONNECT, msg,
		    "cannot connect to %s port %s: %s", name, port, msg);
	}
	return fd;
}

/* Read the rest of the response from fd until the server closes it, at
 * most max bytes. Returns the body (OpenSSL heap) or NULL with r set. */
static unsigned char *
read_body(struct http_get_cancel *c, int fd, int64_t deadline, size_t max,
    size_t *len, struct http_get_result *r)
{
	unsigned char *buf = NULL;
	size_t n = 0, cap = 0;

	for (;;) {
		ssize_t got;

		if (n == cap) {
			size_t ncap = cap > 0 ? cap * 2 : BODY_CHUNK;
			unsigned char *nb;

			if (cap > max) {
				if (max % (1u << 20) == 0)
					fail(r, HTTP_GET_ERR_TOO_LARGE, NULL,
					    "the response is larger than %zu "
					    "MiB",
					    max >> 20);
				else
					fail(r, HTTP_GET_ERR_TOO_LARGE, NULL,
					    "the response is larger than %zu "
					    "bytes",
					    max);
				break;
			}
			if (ncap > max + 1)
				ncap = max + 1;
			nb = OPENSSL_realloc(buf, ncap);
			if (nb == NULL) {
				fail(r, HTTP_GET_ERR_NOMEM, NULL,
				    "out of memory");
				break;
			}
			buf = nb;
			cap = ncap;
		}
		got = read(fd, buf + n, cap - n);
		if (got > 0) {
			n += (size_t)got;
			continue;
		}
		if (got == 0) {
			*len = n;
			return buf;
		}
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK) {
			if (wait_fd(c, fd, POLLIN, deadline,
				HTTP_GET_ERR_TIMEOUT, "reading the response",
				r))
				continue;
			break;
		}
		fail(r, HTTP_GET_ERR_PROTO, strerror(errno),
		    "reading the response: %s", strerror(errno));
		break;
	}
	OPENSSL_free(buf);
	return NULL;
}

/* An answer OpenSSL read whole (a memory BIO), copied. NULL with r set,
 * or with *len 0 when it is empty. */
static unsigned char *
read_bio(BIO *resp, size_t max, size_t *len, struct http_get_result *r)
{
	char *p = NULL;
	long n = BIO_get_mem_data(resp, &p);
	unsigned char *buf;

	*len = 0;
	if (n <= 0 || p == NULL)
		return NULL;
	if ((size_t)n > max) {
		fail(r, HTTP_GET_ERR_TOO_LARGE, NULL,
		    "the response is larger than %zu bytes", max);
		return NULL;
	}
	buf = OPENSSL_malloc((size_t)n);
	if (buf == NULL) {
		fail(r, HTTP_GET_ERR_NOMEM, NULL, "out of memory");
		return NULL;
	}
	memcpy(buf, p, (size_t)n);
	*len = (size_t)n;
	return buf;
}

/* ---------------------------------------------------------------- request */

/*
 * The absolute http:// URL a Location header leads to from host:port, in
 * *next (malloc'd), or fail.
 */
static void
redirect_target(const char *loc, const char *host, const char *port,
    char **next, struct http_get_result *r)
{
	char q[160];
	size_t len, i;

	for (i = 0; loc[i] != '\0'; i++)
		if ((unsigned char)loc[i] <= 0x20 ||
		    (unsigned char)loc[i] >= 0x7f)
			break;
	if (loc[i] != '\0' || i > URL_MAX) {
		fail(r, HTTP_GET_ERR_REDIRECT, NULL,
		    "redirected to %s (not a usable URL)",
		    log_quote(loc, q, sizeof(q)));
		return;
	}
	if (strncmp(loc, "http://", 7) == 0) {
		*next = strdup(loc);
	} else if (loc[0] == '/') {
		len = strlen(host) + strlen(port) + strlen(loc) + 16;
		*next = malloc(len);
		if (*next != NULL)
			snprintf(*next, len, "http://%s:%s%s", host, port, loc);
	} else {
		fail(r, HTTP_GET_ERR_REDIRECT, NULL,
		    "redirected to %s (only http:// is fetched)",
		    log_quote(loc, q, sizeof(q)));
		return;
	}
	if (*next == NULL)
		fail(r, HTTP_GET_ERR_NOMEM, NULL, "out of memory");
}

/* Why OpenSSL's exchange gave no answer, into r. */
static void
exchange_failed(const struct http_get_req *req, struct http_get_result *r,
    http_get_errors_fn *errors)
{
	const char *data = NULL;
	char err[sizeof(r->detail)];
	unsigned long e;
	int flags = 0;

	if (cancelled(req->cancel)) {
		fail(r, HTTP_GET_ERR_CANCELED, NULL, "shutting down");
		return;
	}
	if (clock_mono_ms() >= req->deadline_ms) {
		fail(r, HTTP_GET_ERR_TIMEOUT, NULL, "no response in time");
		return;
	}
	e = ERR_peek_error_data(&data, &flags);
	/* "code=404, reason=File not found" says it all. */
	if (ERR_GET_LIB(e) == ERR_LIB_HTTP &&
	    ERR_GET_REASON(e) == HTTP_R_RECEIVED_ERROR &&
	    (flags & ERR_TXT_STRING) != 0 && data != NULL) {
		if (sscanf(data, "code=%d", &r->status) != 1)
			r->status = 0;
		fail(r, HTTP_GET_ERR_STATUS, data, "the server answered %s",
		    data);
		return;
	}
	r->ssl_err = e;
	errors(err, sizeof(err));
	fail(r, HTTP_GET_ERR_PROTO, err, "%s", err);
}

/*
 * One request to url. Returns 0 with the body in r, 1 on a redirect that
 * is to be followed (*next is the URL, malloc'd), or -1 with r set.
 */
static int
fetch_once(const struct http_get_req *req, const char *url,
    struct http_get_result *r, char **next)
{
	http_get_errors_fn *errors =
	    req->errors != NULL ? req->errors : ossl_errors;
	char *host = NULL, *port = NULL, *path = NULL;
	char *phost = NULL, *pport = NULL, *redir = NULL;
	STACK_OF(CONF_VALUE) *headers = NULL;
	OSSL_HTTP_REQ_CTX *rctx = NULL;
	BIO *bio = NULL, *resp = NULL, *reqbio = NULL;
	struct hold h = { -1, NULL };
	const char *proxy;
	char hostport[1100], err[sizeof(r->detail)];
	int64_t left;
	int ssl = 0, secs, rc = -1;

	ERR_clear_error();
	/* Without pquery, the query stays in the path. */
	if (OSSL_HTTP_parse_url(
		url, &ssl, NULL, &host, &port, NULL, &path, NULL, NULL) != 1 ||
	    ssl) {
		fail(r, HTTP_GET_ERR_URL, NULL, "not a usable http:// URL");
		goto out;
	}
	/* http_proxy / no_proxy as curl and wget read them. */
	proxy = OSSL_HTTP_adapt_proxy(NULL, NULL, host, 0);
	if (proxy != NULL) {
		if (OSSL_HTTP_parse_url(proxy, NULL, NULL, &phost, &pport, NULL,
			NULL, NULL, NULL) != 1) {
			fail(r, HTTP_GET_ERR_PROXY, proxy,
			    "cannot parse the proxy URL in http_proxy");
			goto out;
		}
		snprintf(r->proxy, sizeof(r->proxy), "%s:%s", phost, pport);
	}
	if (dial(req->cancel, &h, phost != NULL ? phost : host,
		phost != NULL ? pport : port, req->deadline_ms, r) < 0)
		goto out;

	/* OpenSSL writes the request and parses the status and headers on
	 * our socket, so that a cancel can cut it; a stream body we read. */
	if (strcmp(port, "80") == 0)
		snprintf(hostport, sizeof(hostport), "%s", host);
	else
		snprintf(hostport, sizeof(hostport), "%s:%s", host, port);
	left = req->deadline_ms - clock_mono_ms();
	secs = left <= 0 ? 1 : (int)((left + 999) / 1000);
	bio = BIO_new_socket(h.fd, BIO_NOCLOSE);
	if (req->content_type != NULL)
		reqbio = BIO_new_mem_buf(req->body, (int)req->body_len);
	if (bio == NULL || X509V3_add_value("Host", hostport, &headers) != 1 ||
	    (req->content_type != NULL && reqbio == NULL)) {
		fail(r, HTTP_GET_ERR_NOMEM, NULL, "out of memory");
		goto out;
	}
	rctx = OSSL_HTTP_open(
	    host, port, NULL, NULL, 0, bio, bio, NULL, NULL, 0, secs);
	if (rctx == NULL ||
	    OSSL_HTTP_set1_request(rctx, proxy != NULL ? url : path, headers,
		req->content_type, reqbio, req->expected_type, req->asn1,
		req->max_len, secs, 0) != 1) {
		errors(err, sizeof(err));
		fail(r, HTTP_GET_ERR_REQUEST, err,
		    "cannot make the request: %s", err);
		goto out;
	}
	resp = OSSL_HTTP_exchange(rctx, req->max_redirects > 0 ? &redir : NULL);
	if (resp == NULL) {
		if (redir != NULL) {
			ERR_clear_error();
			redirect_target(redir, host, port, next, r);
			if (*next != NULL)
				rc = 1;
		} else {
			exchange_failed(req, r, errors);
		}
		goto out;
	}
	if (req->asn1)
		r->body = read_bio(resp, req->max_len, &r->body_len, r);
	else
		r->body = read_body(req->cancel, h.fd, req->deadline_ms,
		    req->max_len, &r->body_len, r);
	if (r->err == HTTP_GET_OK) {
		r->status = 200;
		rc = 0;
	}
out:
	BIO_free(resp);
	OSSL_HTTP_REQ_CTX_free(rctx);
	BIO_free(bio);
	BIO_free(reqbio);
	close_fd(req->cancel, &h);
	sk_CONF_VALUE_pop_free(headers, X509V3_conf_free);
	OPENSSL_free(redir);
	OPENSSL_free(host);
	OPENSSL_free(port);
	OPENSSL_free(path);
	OPENSSL_free(phost);
	OPENSSL_free(pport);
	ERR_clear_error();
	return rc;
}

int
http_get_fetch(const struct http_get_req *req, struct http_get_result *res)
{
	char *cur;
	int hops, rc = -1;

	memset(res, 0, sizeof(*res));
	if (req->content_type != NULL && req->body_len > INT_MAX) {
		fail(res, HTTP_GET_ERR_REQUEST, "request body too large",
		    "cannot make the request: request body too large");
		return -1;
	}
	cur = strdup(req->url);
	if (cur == NULL) {
		fail(res, HTTP_GET_ERR_NOMEM, NULL, "out of memory");
		return -1;
	}
	for (hops = 0;; hops++) {
		char *next = NULL;

		rc = fetch_once(req, cur, res, &next);
		free(cur);
		cur = next;
		if (rc != 1)
			break;
		if (hops == req->max_redirects) {
			fail(res, HTTP_GET_ERR_REDIRECT, NULL,
			    "more than %d redirects", req->max_redirects);
			rc = -1;
			break;
		}
		/* A redirect starts afresh: only the last hop's host and
		 * address say where a failure happened. */
		res->addr[0] = res->proxy[0] = '\0';
	}
	free(cur);
	if (rc != 0 && res->err == HTTP_GET_OK)
		fail(res, HTTP_GET_ERR_PROTO, "no response", "no response");
	return rc == 0 ? 0 : -1;
}

void
http_get_result_clear(struct http_get_result *res)
{
	OPENSSL_free(res->body);
	res->body = NULL;
	res->body_len = 0;
}
