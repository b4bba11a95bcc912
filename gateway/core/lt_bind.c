/* Listen addresses: parsing for the loader, bind-and-release for --check-config. */
#include "lt_bind.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SHAPE "is not HOST:PORT (HOST an IPv4 address or [IPv6 address], PORT 1-65535)"

/* Splits "host:port" or "[v6]:port" into host and port text; -1 when neither shape. */
static int split(const char *address, char *host, size_t hostlen, const char **port, bool *v6)
{
    const char *colon;
    size_t n;
    if (address[0] == '[') {
        const char *close = strchr(address, ']');
        if (close == NULL || close[1] != ':')
            return -1;
        n = (size_t)(close - address - 1);
        colon = close + 1;
        address++;
        *v6 = true;
    } else {
        colon = strchr(address, ':');
        if (colon == NULL || strchr(colon + 1, ':') != NULL) /* an IPv6 address needs its brackets */
            return -1;
        n = (size_t)(colon - address);
        *v6 = false;
    }
    if (n == 0 || n >= hostlen)
        return -1;
    memcpy(host, address, n);
    host[n] = '\0';
    *port = colon + 1;
    return 0;
}

static int parse_port(const char *text, unsigned *port, char *why, size_t whylen)
{
    size_t len = strlen(text);
    if (len == 0 || len > 9 || strspn(text, "0123456789") != len)
        return -1;
    unsigned long p = strtoul(text, NULL, 10);
    if (p < 1 || p > 65535) {
        snprintf(why, whylen, "port %s is out of range 1-65535", text);
        return -2;
    }
    *port = (unsigned)p;
    return 0;
}

int lt_bind_parse(const char *address, struct sockaddr_storage *ss, socklen_t *sslen, char *why, size_t whylen)
{
    char host[64];
    const char *port_text;
    bool v6;
    unsigned port = 0;
    memset(ss, 0, sizeof(*ss));
    int prc = -1;
    if (split(address, host, sizeof(host), &port_text, &v6) == 0 &&
        (prc = parse_port(port_text, &port, why, whylen)) == -2)
        return -1;
    if (prc == 0 && v6) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;
        a->sin6_family = AF_INET6;
        a->sin6_port = htons((uint16_t)port);
        *sslen = sizeof(*a);
        if (inet_pton(AF_INET6, host, &a->sin6_addr) == 1)
            return 0;
    } else if (prc == 0) {
        struct sockaddr_in *a = (struct sockaddr_in *)ss;
        a->sin_family = AF_INET;
        a->sin_port = htons((uint16_t)port);
        *sslen = sizeof(*a);
        if (inet_pton(AF_INET, host, &a->sin_addr) == 1)
            return 0;
    }
    snprintf(why, whylen, "'%s' " SHAPE, address);
    return -1;
}

int lt_bind_try(const char *address, bool reuse_port, char *why, size_t whylen)
{
    struct sockaddr_storage ss;
    socklen_t sslen;
    if (lt_bind_parse(address, &ss, &sslen, why, whylen) != 0)
        return -1;
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    int rc = fd < 0 ? -1 : setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (rc == 0 && reuse_port)
        rc = setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
    if (rc == 0)
        rc = bind(fd, (struct sockaddr *)&ss, sslen);
    if (rc == 0)
        rc = listen(fd, 1);
    if (rc != 0)
        snprintf(why, whylen, "cannot listen on %s: %s", address, strerror(errno));
    if (fd >= 0)
        close(fd);
    return rc == 0 ? 0 : -1;
}
