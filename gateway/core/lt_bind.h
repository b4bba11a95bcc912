/*
 * Listen addresses ("listeners.<name>.bind"): what the loader accepts, and the
 * bind-and-release that --check-config does so that a port already taken is
 * reported before start-up, with the system's reason.
 */
#ifndef LT_BIND_H
#define LT_BIND_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

/*
 * "A.B.C.D:PORT" or "[IPv6]:PORT", PORT 1-65535: the forms the listeners can bind (libevent's parser takes numeric
 * addresses only, so a name would fail at start-up). On failure returns -1 with why filled ("port 99999 is out of
 * range 1-65535"), without the key, which the caller names.
 */
int lt_bind_parse(const char *address, struct sockaddr_storage *ss, socklen_t *sslen, char *why, size_t whylen);

/*
 * Binds and listens on bind with the socket options start-up uses (SO_REUSEADDR, and SO_REUSEPORT where the
 * workers share the port), then closes the socket. -1 with why = "cannot listen on ADDR: <strerror>".
 */
int lt_bind_try(const char *address, bool reuse_port, char *why, size_t whylen);

#endif
