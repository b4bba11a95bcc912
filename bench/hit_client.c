/* hit_client: the small mutual-TLS client of bench/hit_bench.sh.
 *
 * Three modes, each against one server, presenting the client certificate named by LT_SHIM_CERT and LT_SHIM_KEY
 * (the same variables the wrk shim reads) and trusting LT_CA:
 *
 *   hit_client requests HOST PORT N REQUEST_FILE
 *       one keep-alive connection, the request in REQUEST_FILE sent N times, one after the other; every answer must
 *       be a 200. For the instruction count under callgrind, where only what is marginal to N matters.
 *   hit_client hold HOST PORT N REQUEST_FILE
 *       opens N connections, sends the request once on each and reads its answer, so that each connection ends up
 *       an idle keep-alive connection, as a portal's pool holds them; prints "held N" and keeps them open until its
 *       standard input closes.
 *   hit_client handshakes HOST PORT N full|resumed
 *       N connections one after the other, each a complete handshake (the client waits for the server's session
 *       ticket, which the server sends only once it has checked the client's Finished), then a close_notify.
 *       "resumed" offers the last ticket received; every one of the N must then be resumed, and none in "full".
 *       Prints "handshakes N resumed R tickets T" (T: the resumptions that offered a session ticket).
 *
 * A benchmark tool: it stops at the first unexpected answer, and says which.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "hit_client: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    ERR_print_errors_fp(stderr);
    exit(1);
}

static const char *need_env(const char *name)
{
    const char *v = getenv(name);
    if (v == NULL || *v == '\0')
        die("%s is not set", name);
    return v;
}

/* The newest session ticket the server sent, kept for the next resumption. */
static SSL_SESSION *last_ticket;
static int tickets_seen;

static int on_new_session(SSL *ssl, SSL_SESSION *sess)
{
    (void)ssl;
    if (last_ticket != NULL)
        SSL_SESSION_free(last_ticket);
    last_ticket = sess;
    tickets_seen++;
    return 1; /* we keep the reference */
}

static SSL_CTX *client_ctx(void)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    if (ctx == NULL)
        die("SSL_CTX_new failed");
    if (SSL_CTX_use_certificate_chain_file(ctx, need_env("LT_SHIM_CERT")) != 1 ||
        SSL_CTX_use_PrivateKey_file(ctx, need_env("LT_SHIM_KEY"), SSL_FILETYPE_PEM) != 1)
        die("cannot load the client certificate");
    if (SSL_CTX_load_verify_locations(ctx, need_env("LT_CA"), NULL) != 1)
        die("cannot load the CA");
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
    SSL_CTX_sess_set_new_cb(ctx, on_new_session);
    return ctx;
}

static int tcp_connect(const char *host, const char *port)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res;
    int rc = getaddrinfo(host, port, &hints, &res);
    if (rc != 0)
        die("%s: %s", host, gai_strerror(rc));
    int fd = socket(res->ai_family, res->ai_socktype | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, res->ai_addr, res->ai_addrlen) != 0)
        die("connect %s:%s: %s", host, port, strerror(errno));
    freeaddrinfo(res);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    return fd;
}

static SSL *tls_connect(SSL_CTX *ctx, const char *host, const char *port, SSL_SESSION *resume)
{
    SSL *ssl = SSL_new(ctx);
    if (ssl == NULL)
        die("SSL_new failed");
    SSL_set_fd(ssl, tcp_connect(host, port));
    SSL_set_tlsext_host_name(ssl, "localhost");
    SSL_set1_host(ssl, "localhost");
    if (resume != NULL)
        SSL_set_session(ssl, resume);
    if (SSL_connect(ssl) != 1)
        die("handshake with %s:%s failed", host, port);
    return ssl;
}

static void tls_close(SSL *ssl)
{
    int fd = SSL_get_fd(ssl);
    SSL_shutdown(ssl);
    SSL_free(ssl);
    close(fd);
}

/* Reads until a new session ticket has arrived (TLS 1.3 sends them after the handshake). The socket is blocking,
 * and SSL_read would wait for application data that never comes, so each read is made non-blocking: it processes
 * the records poll says are there and returns. */
static void await_ticket(SSL *ssl)
{
    int before = tickets_seen, fd = SSL_get_fd(ssl), flags = fcntl(fd, F_GETFL);
    fcntl(fd, F_SETFL, flags | O_NONBLOCK);
    while (tickets_seen == before) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 5000) != 1)
            die("no session ticket within 5 s");
        char byte;
        int n = SSL_read(ssl, &byte, 1);
        if (n > 0)
            die("the server sent data before any request");
        if (SSL_get_error(ssl, n) != SSL_ERROR_WANT_READ)
            die("reading the session ticket failed (SSL error %d)", SSL_get_error(ssl, n));
    }
    fcntl(fd, F_SETFL, flags);
}

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        die("%s: %s", path, strerror(errno));
    static char buf[65536];
    *len = fread(buf, 1, sizeof(buf), f);
    fclose(f);
    return buf;
}

/* ---- one HTTP/1.1 exchange ------------------------------------------------- */

typedef struct {
    char buf[1 << 17];
    size_t have; /* bytes in buf */
} reader_t;

static void fill(SSL *ssl, reader_t *rd)
{
    if (rd->have == sizeof(rd->buf))
        die("an answer is over %zu bytes", sizeof(rd->buf));
    int n = SSL_read(ssl, rd->buf + rd->have, (int)(sizeof(rd->buf) - rd->have));
    if (n <= 0)
        die("the server closed the connection (SSL error %d)", SSL_get_error(ssl, n));
    rd->have += (size_t)n;
}

static void consume(reader_t *rd, size_t n)
{
    memmove(rd->buf, rd->buf + n, rd->have - n);
    rd->have -= n;
}

/* Finds a header's value in the head (which ends with \r\n\r\n), or NULL. */
static const char *header(const char *head, const char *name)
{
    size_t nl = strlen(name);
    for (const char *p = strstr(head, "\r\n"); p != NULL && p[2] != '\r'; p = strstr(p + 2, "\r\n")) {
        if (strncasecmp(p + 2, name, nl) == 0 && p[2 + nl] == ':') {
            const char *v = p + 3 + nl;
            while (*v == ' ')
                v++;
            return v;
        }
    }
    return NULL;
}

static size_t head_length(SSL *ssl, reader_t *rd)
{
    for (;;) {
        char *end = memmem(rd->buf, rd->have, "\r\n\r\n", 4);
        if (end != NULL)
            return (size_t)(end - rd->buf) + 4;
        fill(ssl, rd);
    }
}

static void skip_chunked(SSL *ssl, reader_t *rd)
{
    for (;;) {
        char *eol;
        while ((eol = memmem(rd->buf, rd->have, "\r\n", 2)) == NULL)
            fill(ssl, rd);
        size_t size = strtoul(rd->buf, NULL, 16);
        size_t need = (size_t)(eol - rd->buf) + 2 + size + 2;
        while (rd->have < need)
            fill(ssl, rd);
        consume(rd, need);
        if (size == 0)
            return;
    }
}

/* Reads one answer; returns its status. */
static int read_answer(SSL *ssl, reader_t *rd)
{
    size_t hl = head_length(ssl, rd);
    char head[16384];
    if (hl >= sizeof(head))
        die("an answer's head is over %zu bytes", sizeof(head));
    memcpy(head, rd->buf, hl);
    head[hl] = '\0';
    int status = 0;
    if (sscanf(head, "HTTP/1.%*d %d", &status) != 1)
        die("not an HTTP answer: %.60s", head);
    consume(rd, hl);
    const char *cl = header(head, "Content-Length");
    const char *te = header(head, "Transfer-Encoding");
    if (cl != NULL) {
        size_t len = strtoul(cl, NULL, 10);
        while (rd->have < len)
            fill(ssl, rd);
        consume(rd, len);
    } else if (te != NULL && strncasecmp(te, "chunked", 7) == 0) {
        skip_chunked(ssl, rd);
    } else {
        die("an answer with neither Content-Length nor chunked encoding");
    }
    return status;
}

static void exchange(SSL *ssl, reader_t *rd, const char *req, size_t len, long i)
{
    if (SSL_write(ssl, req, (int)len) != (int)len)
        die("writing request %ld failed", i);
    int status = read_answer(ssl, rd);
    if (status != 200)
        die("request %ld answered %d", i, status);
}

/* ---- the modes --------------------------------------------------------------- */

static int run_requests(SSL_CTX *ctx, const char *host, const char *port, long n, const char *req_file)
{
    size_t len;
    const char *req = read_file(req_file, &len);
    static reader_t rd;
    SSL *ssl = tls_connect(ctx, host, port, NULL);
    for (long i = 0; i < n; i++)
        exchange(ssl, &rd, req, len, i);
    tls_close(ssl);
    printf("requests %ld\n", n);
    return 0;
}

static int run_hold(SSL_CTX *ctx, const char *host, const char *port, long n, const char *req_file)
{
    size_t len;
    const char *req = read_file(req_file, &len);
    static reader_t rd;
    SSL **held = calloc((size_t)n, sizeof(*held));
    for (long i = 0; i < n; i++) {
        held[i] = tls_connect(ctx, host, port, NULL);
        rd.have = 0;
        exchange(held[i], &rd, req, len, i);
    }
    printf("held %ld\n", n);
    fflush(stdout);
    char c;
    while (read(0, &c, 1) > 0)
        ;
    for (long i = 0; i < n; i++)
        tls_close(held[i]);
    free(held);
    return 0;
}

static int run_handshakes(SSL_CTX *ctx, const char *host, const char *port, long n, int resume)
{
    if (resume) { /* one full handshake first, for a ticket */
        SSL *ssl = tls_connect(ctx, host, port, NULL);
        await_ticket(ssl);
        tls_close(ssl);
    }
    long reused = 0, offered_tickets = 0;
    for (long i = 0; i < n; i++) {
        offered_tickets += resume && last_ticket != NULL && SSL_SESSION_has_ticket(last_ticket);
        SSL *ssl = tls_connect(ctx, host, port, resume ? last_ticket : NULL);
        reused += SSL_session_reused(ssl);
        await_ticket(ssl);
        tls_close(ssl);
    }
    if (reused != (resume ? n : 0))
        die("%ld of %ld handshakes were resumed, expected %ld", reused, n, resume ? n : 0L);
    if (offered_tickets != (resume ? n : 0))
        die("%ld of %ld resumptions offered a session ticket, expected %ld", offered_tickets, n, resume ? n : 0L);
    /* "tickets": the resumptions that offered a server's session ticket (every one, or the run stopped above). */
    printf("handshakes %ld resumed %ld tickets %ld\n", n, reused, offered_tickets);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 6)
        die("usage: hit_client requests|hold HOST PORT N REQUEST_FILE | handshakes HOST PORT N full|resumed");
    const char *mode = argv[1], *host = argv[2], *port = argv[3];
    long n = strtol(argv[4], NULL, 10);
    if (n <= 0)
        die("N must be positive");
    SSL_CTX *ctx = client_ctx();
    if (strcmp(mode, "requests") == 0)
        return run_requests(ctx, host, port, n, argv[5]);
    if (strcmp(mode, "hold") == 0)
        return run_hold(ctx, host, port, n, argv[5]);
    if (strcmp(mode, "handshakes") == 0 && (strcmp(argv[5], "full") == 0 || strcmp(argv[5], "resumed") == 0))
        return run_handshakes(ctx, host, port, n, strcmp(argv[5], "resumed") == 0);
    die("unknown mode %s %s", mode, argv[5]);
}
