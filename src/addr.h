/*
 * addr: numeric "host:port" / "[v6]:port" <-> sockaddr conversion and
 * printing. Pure: no name resolution, no sockets.
 */
#ifndef MQGATE_ADDR_H
#define MQGATE_ADDR_H

#include <stddef.h>
#include <sys/socket.h>

struct addr {
	struct sockaddr_storage ss;
	socklen_t len; /* 0 = unset */
};

/* Long enough for "[ffff:...:255.255.255.255%ifname]:65535". */
#define ADDR_STRLEN 80

/*
 * Parse "1.2.3.4:1883" or "[::1]:1883" (numeric addresses only, port
 * 1..65535; port 0 refused). Returns 0 or -1 with *why set to a static
 * reason.
 */
int addr_parse(const char *s, struct addr *out, const char **why);

/* Format a sockaddr as "1.2.3.4:1883" / "[::1]:1883" into buf. */
void addr_format_sa(const struct sockaddr *sa, socklen_t len, char *buf,
    size_t cap);
void addr_format(const struct addr *a, char *buf, size_t cap);

#endif
