/*
 * http_get: a small blocking HTTP/1.x client for background threads (the
 * OCSP and CRL fetchers). One request per connection, bounded by an
 * absolute deadline and a response size, cut short at once by a shared
 * canceller, through http_proxy unless no_proxy exempts the server. It
 * never runs on an event loop, never logs and keeps no state between
 * requests: what went wrong comes back as a code and short strings.
 */
#ifndef MQGATE_HTTP_GET_H
#define MQGATE_HTTP_GET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Why a request failed. */
enum http_get_err {
	HTTP_GET_OK = 0,
	HTTP_GET_ERR_URL,	      /* the URL is not a usable http:// one */
	HTTP_GET_ERR_PROXY,	      /* http_proxy cannot be parsed */
	HTTP_GET_ERR_RESOLVE,	      /* the host name did not resolve */
	HTTP_GET_ERR_CONNECT,	      /* no address took the connection */
	HTTP_GET_ERR_CONNECT_TIMEOUT, /* the deadline passed while connecting */
	HTTP_GET_ERR_TIMEOUT,	      /* ... while waiting for the answer */
	HTTP_GET_ERR_REQUEST,	      /* the request could not be set up */
	HTTP_GET_ERR_STATUS,	      /* the server answered an error status */
	HTTP_GET_ERR_PROTO,	      /* any other failed exchange */
	HTTP_GET_ERR_REDIRECT,	      /* a redirect that is not followed */
	HTTP_GET_ERR_TOO_LARGE,	      /* the body is larger than allowed */
	HTTP_GET_ERR_NOMEM,
	HTTP_GET_ERR_CANCELED, /* http_get_cancel_fire was called */
};

/* Cuts short every request that uses it (the shutdown of a fetcher). */
struct http_get_cancel;

/*
 * Drains the OpenSSL error queue into buf (cut at cap) and returns buf:
 * the text of an HTTP_GET_ERR_PROTO or _REQUEST failure.
 */
typedef const char *http_get_errors_fn(char *buf, size_t cap);

struct http_get_req {
	/* http://host[:port][/path][?query]; through a proxy, the request
	 * line carries it as given. */
	const char *url;
	/* POST body_len bytes of body as content_type; GET when NULL. */
	const char *content_type;
	const void *body;
	size_t body_len;
	/* When set, an answer of another Content-Type is refused. */
	const char *expected_type;
	/* The body is one DER object, read whole by OpenSSL (and then
	 * bounded by max_len); otherwise read up to the server's close. */
	bool asn1;
	size_t max_len;	     /* largest body accepted */
	int64_t deadline_ms; /* CLOCK_MONOTONIC, over every redirect */
	int max_redirects;   /* 301/302 of a GET followed; 0 = an error */
	struct http_get_cancel *cancel; /* required */
	/* Renders OpenSSL's reasons; NULL = "reason: data; ..." and
	 * "connection closed" when the queue is empty. */
	http_get_errors_fn *errors;
};

struct http_get_result {
	enum http_get_err err;
	/* 200 on success, the server's code on HTTP_GET_ERR_STATUS, else 0. */
	int status;
	/* OpenSSL heap (see http_get_result_clear); NULL when empty. */
	unsigned char *body;
	size_t body_len;
	/* For log lines: the whole reason, e.g. "cannot connect to
	 * 127.0.0.1 port 8080: Connection refused". */
	char why[320];
	/* Its cause alone, for callers that word it their own way: the
	 * system's or resolver's message (_RESOLVE, _CONNECT), OpenSSL's
	 * "code=404, reason=Not Found" (_STATUS), OpenSSL's reasons
	 * (_PROTO, _REQUEST) or the unparsable http_proxy (_PROXY). */
	char detail[256];
	/* Where it connected (the proxy when there is one): the host as
	 * the URL writes it ("[::1]"), its port, and the numeric address
	 * of the last connect attempt, or "". */
	char host[256];
	char port[16];
	char addr[48];
	char proxy[280]; /* "host:port" of the proxy used, or "" */
	/* First OpenSSL error of an HTTP_GET_ERR_PROTO, or 0. */
	unsigned long ssl_err;
};

/*
 * A canceller with nothing in flight, or NULL with errno set (it holds a
 * pipe). Free it with http_get_cancel_free once no request uses it.
 */
struct http_get_cancel *http_get_cancel_new(void);
void http_get_cancel_free(struct http_get_cancel *c);

/*
 * Make every request using c, running or started later, end at once with
 * HTTP_GET_ERR_CANCELED (only a name lookup already under way runs to its
 * own end). Safe from any thread and more than once; does not wait.
 */
void http_get_cancel_fire(struct http_get_cancel *c);

/*
 * Run req, blocking until it is answered, fails, passes req->deadline_ms
 * or is cancelled. Fills *res (which the caller clears afterwards with
 * http_get_result_clear). Returns 0 when the server answered 200 (the
 * body in res->body, possibly empty), else -1 with res->err, why and the
 * fields that apply. Clears the OpenSSL error queue.
 */
int http_get_fetch(const struct http_get_req *req, struct http_get_result *res);

/* Free res->body (OPENSSL_free) unless the caller took it (set it NULL). */
void http_get_result_clear(struct http_get_result *res);

#endif
