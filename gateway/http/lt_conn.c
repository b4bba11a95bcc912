/* Client connections: HTTP/1.1 on the TLS bufferevent, the strict head check, the phase timers, the caps, the
 * lingering close. */
#include "lt_conn.h"

#include <arpa/inet.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/bufferevent_struct.h>
#include <jansson.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#include "lt_date.h"
#include "lt_error.h"
#include "lt_log.h"
#include "lt_metrics.h"
#include "lt_text.h"
#include "lt_uuid.h"

/* After refusing a head: how long, and how much, we read and discard before closing (nginx: lingering_time). */
#define LINGER_S         10
#define LINGER_MAX_BYTES (64LL << 20)

/* The largest answer written by SSL_write at once: one TLS record's payload, and no more than libevent 2.1's OpenSSL
 * bufferevent offers SSL_write in one call, so that it can repeat a write the socket did not take. */
#define LT_CONN_AT_ONCE_MAX 16384

/* The one request in flight on a connection at a time, and where its bytes are. */
typedef enum {
    PH_TLS,        /* the handshake runs (handshake_timeout_s) */
    PH_WAIT_FIRST, /* handshake done, no byte of a request yet (header_timeout_s) */
    PH_HEAD,       /* a head is arriving (header_timeout_s) */
    PH_BODY,       /* its body is arriving (body_grace_s, body_min_rate_bytes_s) */
    PH_HANDLED,    /* the server has the whole request; what follows waits until its answer is written */
    PH_IDLE,       /* answer written, keep-alive (idle_timeout_s) */
    PH_ANSWERING,  /* our own refusal is being written */
    PH_LINGER,     /* our last answer written, write side shut: discarding what the client still sends */
} phase_t;

typedef struct addr_entry addr_entry_t;

/* The request being read, then handled: its head's parts and where its answer stands. */
typedef struct current {
    lt_arena_t *arena;      /* handed to the server with the request */
    lt_http_request_t *req; /* in the arena: the server keeps it after the connection let go */
    long long body_len;
    bool keep_alive; /* the connection stays open once the answer is written */
    bool head_only;  /* HEAD: the answer's body is not sent */
    bool replied;    /* its answer is queued */
    void (*ended)(void *arg, bool written);
    void *ended_arg;
} current_t;

struct lt_conn {
    lt_conn_env_t *env;
    lt_conn_t *prev, *next;  /* env->open */
    struct bufferevent *bev; /* the OpenSSL bufferevent: owns the socket and the SSL */
    struct event *timer;     /* the current phase's deadline */
    struct event *pipelined; /* reads a request that arrived while the one before it was handled */
    phase_t phase;
    struct timespec since; /* when the phase began */
    size_t scanned;        /* bytes of the current head already searched for its end */
    long long discarded;
    bool counted; /* in the listener's open count */
    addr_entry_t *addr;
    current_t cur;
};

/* ---- caps: open connections per listener and per client address, all workers together ------------------ */

struct addr_entry {
    addr_entry_t *next;
    int listener;
    int family;
    unsigned char addr[16];
    long count;
};

#define ADDR_BUCKETS 1024
static addr_entry_t *addr_table[ADDR_BUCKETS];
static pthread_mutex_t addr_lock = PTHREAD_MUTEX_INITIALIZER;
static _Atomic long listener_open[LT_METRICS_MAX_LISTENERS];

/* The peer's address without its port: a client reconnecting from another port is the same client. */
static bool peer_key(evutil_socket_t fd, int *family, unsigned char addr[16])
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    memset(addr, 0, 16);
    if (fd < 0 || getpeername(fd, (struct sockaddr *)&ss, &len) != 0)
        return false;
    *family = ss.ss_family;
    if (ss.ss_family == AF_INET)
        memcpy(addr, &((struct sockaddr_in *)&ss)->sin_addr, 4);
    else if (ss.ss_family == AF_INET6)
        memcpy(addr, &((struct sockaddr_in6 *)&ss)->sin6_addr, 16);
    else
        return false;
    return true;
}

static unsigned addr_hash(int listener, const unsigned char addr[16])
{
    uint32_t h = 2166136261u ^ (uint32_t)listener; /* FNV-1a */
    for (int i = 0; i < 16; i++)
        h = (h ^ addr[i]) * 16777619u;
    return h % ADDR_BUCKETS;
}

/* One more connection from addr, unless it already has max. */
static addr_entry_t *addr_take(int listener, int family, const unsigned char addr[16], long long max)
{
    unsigned b = addr_hash(listener, addr);
    pthread_mutex_lock(&addr_lock);
    addr_entry_t *e = addr_table[b];
    while (e != NULL && !(e->listener == listener && e->family == family && memcmp(e->addr, addr, 16) == 0))
        e = e->next;
    if (e == NULL) {
        e = calloc(1, sizeof(*e));
        e->listener = listener;
        e->family = family;
        memcpy(e->addr, addr, 16);
        e->next = addr_table[b];
        addr_table[b] = e;
    }
    if (e->count >= max)
        e = NULL;
    else
        e->count++;
    pthread_mutex_unlock(&addr_lock);
    return e;
}

static void addr_release(addr_entry_t *e)
{
    unsigned b = addr_hash(e->listener, e->addr);
    pthread_mutex_lock(&addr_lock);
    if (--e->count == 0) {
        addr_entry_t **p = &addr_table[b];
        while (*p != e)
            p = &(*p)->next;
        *p = e->next;
        free(e);
    }
    pthread_mutex_unlock(&addr_lock);
}

/* ---- phases and their deadlines ---------------------------------------------------------------------------- */

static void enter(lt_conn_t *c, phase_t phase, long long timeout_s)
{
    c->phase = phase;
    clock_gettime(CLOCK_MONOTONIC, &c->since);
    evtimer_del(c->timer);
    if (timeout_s > 0) {
        struct timeval tv = {.tv_sec = (time_t)timeout_s};
        evtimer_add(c->timer, &tv);
    }
}

static double phase_seconds(const lt_conn_t *c)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - c->since.tv_sec) + (double)(now.tv_nsec - c->since.tv_nsec) / 1e9;
}

/* The request in hand ends, its answer written or not: the server hears which. A request read but not yet handed
 * over is the connection's to free; once handed over, its arena is the server's. */
static void end_request(lt_conn_t *c, bool written)
{
    void (*ended)(void *, bool) = c->cur.ended;
    void *arg = c->cur.ended_arg;
    if (c->cur.arena != NULL && c->phase != PH_HANDLED)
        lt_arena_destroy(c->cur.arena); /* read but never handed over */
    c->cur = (current_t){0};
    if (ended != NULL)
        ended(arg, written);
}

/* Frees the connection however it ended; a request in hand is told first. */
static void conn_free(lt_conn_t *c)
{
    end_request(c, false);
    if (c->prev != NULL)
        c->prev->next = c->next;
    else
        c->env->open = c->next;
    if (c->next != NULL)
        c->next->prev = c->prev;
    event_free(c->timer);
    event_free(c->pipelined);
    bufferevent_free(c->bev); /* closes the socket, frees the SSL */
    if (c->counted)
        atomic_fetch_sub(&listener_open[c->env->listener], 1);
    if (c->addr != NULL)
        addr_release(c->addr);
    free(c);
}

static void close_for(lt_conn_t *c, lt_conn_close_t reason)
{
    lt_metrics_connection_closed_by_us(c->env->listener, reason);
    conn_free(c);
}

/* false: the connection was refused by a cap (and freed). */
static bool admit(lt_conn_t *c, evutil_socket_t fd)
{
    const lt_conn_limits_t *lim = c->env->limits;
    int listener = c->env->listener;
    if (listener >= 0 && listener < LT_METRICS_MAX_LISTENERS) {
        c->counted = true;
        if (atomic_fetch_add(&listener_open[listener], 1) >= lim->max_connections) {
            close_for(c, LT_CONN_CLOSE_LISTENER_CAP);
            return false;
        }
    }
    /* An answer's last record must not wait for the client's delayed ACK (Nagle's algorithm: about 40 ms per
     * keep-alive answer). Accepted sockets do not inherit the option from the listener: set once per connection. */
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    int family = 0;
    unsigned char addr[16];
    if (peer_key(fd, &family, addr)) {
        c->addr = addr_take(listener, family, addr, lim->max_connections_per_address);
        if (c->addr == NULL) {
            close_for(c, LT_CONN_CLOSE_ADDRESS_CAP);
            return false;
        }
    }
    enter(c, PH_TLS, lim->handshake_timeout_s);
    return true;
}

/* Past the grace, the body must have come at the minimum rate on average since it began. */
static void check_body_rate(lt_conn_t *c)
{
    const lt_conn_limits_t *lim = c->env->limits;
    double s = phase_seconds(c);
    size_t got = evbuffer_get_length(bufferevent_get_input(c->bev));
    if (s >= (double)lim->body_grace_s && (double)got < (double)lim->body_min_rate_bytes_s * s) {
        close_for(c, LT_CONN_CLOSE_BODY_TOO_SLOW);
        return;
    }
    struct timeval tv = {.tv_sec = 1};
    evtimer_add(c->timer, &tv);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    lt_conn_t *c = arg;
    switch (c->phase) {
    case PH_TLS:
        close_for(c, LT_CONN_CLOSE_HANDSHAKE_TIMEOUT);
        break;
    case PH_WAIT_FIRST:
    case PH_HEAD:
        close_for(c, LT_CONN_CLOSE_HEADER_TIMEOUT);
        break;
    case PH_BODY:
        check_body_rate(c);
        break;
    case PH_IDLE:
        close_for(c, LT_CONN_CLOSE_IDLE_TIMEOUT);
        break;
    case PH_ANSWERING:
    case PH_LINGER:
        conn_free(c); /* the lingering close has lasted long enough */
        break;
    case PH_HANDLED: /* armed only when an answer could not be queued */
        conn_free(c);
        break;
    }
}

/* ---- answers: one buffer each ----------------------------------------------------------------------------- */

/* RFC 9110 section 15's reason phrases of the statuses the gateway answers. */
static const struct {
    int status;
    const char *reason;
} REASONS[] = {
    {100, "Continue"},
    {200, "OK"},
    {201, "Created"},
    {202, "Accepted"},
    {204, "No Content"},
    {302, "Found"},
    {303, "See Other"},
    {304, "Not Modified"},
    {400, "Bad Request"},
    {401, "Unauthorized"},
    {403, "Forbidden"},
    {404, "Not Found"},
    {405, "Method Not Allowed"},
    {409, "Conflict"},
    {411, "Length Required"},
    {413, "Content Too Large"},
    {414, "URI Too Long"},
    {415, "Unsupported Media Type"},
    {417, "Expectation Failed"},
    {422, "Unprocessable Content"},
    {429, "Too Many Requests"},
    {431, "Request Header Fields Too Large"},
    {500, "Internal Server Error"},
    {501, "Not Implemented"},
    {502, "Bad Gateway"},
    {503, "Service Unavailable"},
    {504, "Gateway Timeout"},
};

static const char *reason_phrase(int status)
{
    for (size_t i = 0; i < sizeof(REASONS) / sizeof(REASONS[0]); i++)
        if (REASONS[i].status == status)
            return REASONS[i].reason;
    return status < 300 ? "OK" : status < 500 ? "Client Error" : "Server Error";
}

/* What frames an answer: the status line's version, and whether the connection says it closes or stays. */
typedef struct framing {
    int minor_version;
    bool close;      /* Connection: close */
    bool keep_alive; /* HTTP/1.0 kept alive: Connection: keep-alive */
    bool send_body;
} framing_t;

/* Where the answer's head and body are written: at once, or into the bufferevent's output. */
typedef struct {
    char line[256]; /* status line, Date, Content-Length, Connection */
    int line_len;
    size_t total;
} answer_head_t;

static void head_of(answer_head_t *a, int status, const framing_t *f, const lt_http_field_t *headers, size_t nheaders,
                    size_t body_len)
{
    char length[48] = "";
    if (status != 204 && status != 304) /* RFC 9110 section 8.6: neither has a body, nor says its length */
        snprintf(length, sizeof(length), "Content-Length: %zu\r\n", body_len);
    a->line_len = snprintf(a->line, sizeof(a->line), "HTTP/1.%d %d %s\r\nDate: %s\r\n%s%s", f->minor_version, status,
                           reason_phrase(status), lt_date_http_now(), length,
                           f->close        ? "Connection: close\r\n"
                           : f->keep_alive ? "Connection: keep-alive\r\n"
                                           : "");
    a->total = (size_t)a->line_len + 2 + (f->send_body ? body_len : 0);
    for (size_t i = 0; i < nheaders; i++)
        a->total += strlen(headers[i].name) + 2 + strlen(headers[i].value) + 2;
}

/* Writes the answer into p, which holds a->total bytes. */
static void fill_answer(char *p, const answer_head_t *a, const framing_t *f, const lt_http_field_t *headers,
                        size_t nheaders, const char *body, size_t body_len)
{
    memcpy(p, a->line, (size_t)a->line_len);
    p += a->line_len;
    for (size_t i = 0; i < nheaders; i++) {
        size_t ln = strlen(headers[i].name), lv = strlen(headers[i].value);
        memcpy(p, headers[i].name, ln);
        p += ln;
        *p++ = ':';
        *p++ = ' ';
        memcpy(p, headers[i].value, lv);
        p += lv;
        *p++ = '\r';
        *p++ = '\n';
    }
    *p++ = '\r';
    *p++ = '\n';
    if (f->send_body)
        memcpy(p, body, body_len);
}

/*
 * libevent 2.1's OpenSSL bufferevent writes only from its write event, so each answer queued in its output arms that
 * event (epoll_ctl), waits a turn of the loop for it, and disarms it (epoll_ctl again). An answer of at most one TLS
 * record, to a connection with nothing queued and no TLS operation waiting on the socket, goes to SSL_write at once.
 */
static bool writable_at_once(lt_conn_t *c, size_t total)
{
    SSL *ssl = lt_conn_ssl(c);
    return total <= LT_CONN_AT_ONCE_MAX && evbuffer_get_length(bufferevent_get_output(c->bev)) == 0 &&
           SSL_is_init_finished(ssl) && !SSL_want_write(ssl);
}

/* false: no memory for what the socket did not take. */
static bool send_at_once(lt_conn_t *c, const char *chunk, size_t len)
{
    ERR_clear_error();
    if (SSL_write(lt_conn_ssl(c), chunk, (int)len) == (int)len) {
        /* The write callback runs from the loop, as after the bufferevent's own write: never inside a reply. */
        bufferevent_trigger(c->bev, EV_WRITE, BEV_TRIG_DEFER_CALLBACKS);
        return true;
    }
    /* The socket is full, or the connection failed: the bufferevent takes the same bytes and repeats the write, as
     * OpenSSL requires after SSL_ERROR_WANT_WRITE (the same length; libevent sets ACCEPT_MOVING_WRITE_BUFFER), or
     * meets the failure again and reports it through on_event. */
    return bufferevent_write(c->bev, chunk, len) == 0;
}

/*
 * The whole answer as one contiguous run: the OpenSSL bufferevent writes each of its buffer's chunks as its own TLS
 * record, so an answer that fits in one record leaves as one record and one write(2). false: no memory for it.
 */
static bool write_answer(lt_conn_t *c, int status, const framing_t *f, const lt_http_field_t *headers, size_t nheaders,
                         const char *body, size_t body_len)
{
    answer_head_t a;
    head_of(&a, status, f, headers, nheaders, body_len);
    if (writable_at_once(c, a.total)) {
        char chunk[LT_CONN_AT_ONCE_MAX];
        fill_answer(chunk, &a, f, headers, nheaders, body, body_len);
        return send_at_once(c, chunk, a.total);
    }
    struct evbuffer *out = bufferevent_get_output(c->bev);
    struct evbuffer_iovec v;
    if (evbuffer_reserve_space(out, (ev_ssize_t)a.total, &v, 1) != 1)
        return false;
    fill_answer(v.iov_base, &a, f, headers, nheaders, body, body_len);
    v.iov_len = a.total;
    evbuffer_commit_space(out, &v, 1);
    return true;
}

void lt_conn_reply(lt_conn_t *c, int status, const lt_http_field_t *headers, size_t nheaders, const char *body,
                   size_t body_len, bool close)
{
    if (c->phase != PH_HANDLED || c->cur.replied)
        return;
    c->cur.replied = true;
    if (close)
        c->cur.keep_alive = false;
    framing_t f = {.minor_version = c->cur.req->minor_version,
                   .close = !c->cur.keep_alive,
                   .keep_alive = c->cur.keep_alive && c->cur.req->minor_version == 0,
                   .send_body = !c->cur.head_only};
    if (!write_answer(c, status, &f, headers, nheaders, body, body_len)) {
        /* Out of memory: the connection ends without its answer, from the loop (never inside a reply). */
        struct timeval now = {0, 0};
        evtimer_add(c->timer, &now);
    }
}

void lt_conn_on_end(lt_conn_t *c, void (*ended)(void *arg, bool written), void *arg)
{
    c->cur.ended = ended;
    c->cur.ended_arg = arg;
}

SSL *lt_conn_ssl(const lt_conn_t *c)
{
    return bufferevent_openssl_get_ssl(c->bev);
}

bool lt_conn_peer_address(const lt_conn_t *c, char *buf, size_t len)
{
    int family;
    unsigned char addr[16];
    return peer_key(bufferevent_getfd(c->bev), &family, addr) && inet_ntop(family, addr, buf, len) != NULL;
}

/* ---- the head check and our own refusals -------------------------------------------------------------------- */

static const char *refusal_title(int status)
{
    switch (status) {
    case 411:
    case 414:
    case 417:
    case 431:
    case 501:
        return reason_phrase(status);
    case 413:
        return lt_error_title(LT_ERR_TOO_LARGE);
    default:
        return lt_error_title(LT_ERR_BAD_REQUEST);
    }
}

/* The request's X-Request-Id when it is well-formed (as lt_request_admit echoes it), a new UUID otherwise. */
static void refusal_request_id(const lt_http_head_t *h, char out[129])
{
    if (h->request_id != NULL && h->request_id_len > 0 && h->request_id_len <= 128) {
        memcpy(out, h->request_id, h->request_id_len);
        out[h->request_id_len] = '\0';
        if (lt_text_is_token(out, 128, "._:-"))
            return;
    }
    lt_uuid_v4(out);
}

/* false: the connection was freed (it read too much while lingering). */
static bool discard(lt_conn_t *c)
{
    struct evbuffer *in = bufferevent_get_input(c->bev);
    size_t n = evbuffer_get_length(in);
    evbuffer_drain(in, n);
    c->discarded += (long long)n;
    if (c->discarded > LINGER_MAX_BYTES) {
        conn_free(c);
        return false;
    }
    return true;
}

/* Tells the server (which may record the refusal in the audit trail) what was refused: method and path only. */
static void tell_refused(lt_conn_t *c, int status, const char *code, const char *request_id, const lt_http_head_t *h)
{
    if (c->env->refused == NULL)
        return;
    char method[16] = "", path[1024] = "";
    lt_conn_refusal_t refusal = {.status = status, .code = code, .request_id = request_id};
    size_t plen = h->target != NULL ? strcspn(h->target, "? ") : 0;
    if (h->method != NULL && h->method_len < sizeof(method) && plen < sizeof(path) && plen <= h->target_len) {
        memcpy(method, h->method, h->method_len);
        memcpy(path, h->target, plen);
        refusal.method = method;
        refusal.path = path;
    }
    c->env->refused(c->env->refused_arg, lt_conn_ssl(c), &refusal);
}

/* Answers the head ourselves, the same problem document lt_request_reply_problem writes, then lingers. false: the
 * connection was freed. */
static bool refuse(lt_conn_t *c, int status, const char *code, const char *detail, const lt_http_head_t *h)
{
    char request_id[129];
    refusal_request_id(h, request_id);
    json_t *p = json_object();
    json_object_set_new(p, "type", json_sprintf("urn:lienthong:problem:%s", code));
    json_object_set_new(p, "title", json_string(refusal_title(status)));
    json_object_set_new(p, "status", json_integer(status));
    json_object_set_new(p, "detail", json_string(detail));
    json_object_set_new(p, "request_id", json_string(request_id));
    char *body = json_dumps(p, JSON_COMPACT);
    json_decref(p);
    lt_http_field_t headers[] = {{"Content-Type", "application/problem+json; charset=utf-8"},
                                 {"X-Request-Id", request_id}};
    framing_t f = {.minor_version = 1, .close = true, .send_body = true};
    lt_log_info("request %s: refused before routing: %d %s", request_id, status, code);
    tell_refused(c, status, code, request_id, h);
    lt_metrics_head_refused(c->env->listener, status);
    lt_metrics_connection_closed_by_us(c->env->listener, LT_CONN_CLOSE_REFUSED_REQUEST);
    if (c->cur.arena != NULL)
        lt_arena_destroy(c->cur.arena);
    c->cur = (current_t){0};
    enter(c, PH_ANSWERING, LINGER_S);
    write_answer(c, status, &f, headers, 2, body ? body : "", body ? strlen(body) : 0);
    free(body);
    return discard(c);
}

/* ---- reading requests ------------------------------------------------------------------------------------------ */

/* The methods a route can have: any other is refused before routing, as no route could answer it. */
static bool method_known(const char *m)
{
    static const char *const known[] = {"GET", "POST", "HEAD", "PUT", "DELETE", "OPTIONS", "PATCH"};
    for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
        if (strcmp(m, known[i]) == 0)
            return true;
    return false;
}

/* RFC 9112 section 9.3: HTTP/1.1 stays open unless a Connection header says close; HTTP/1.0 closes unless it
 * says keep-alive. Every Connection field counts. */
static bool wants_keep_alive(const lt_http_request_t *req)
{
    bool close = false, keep = false;
    for (size_t i = 0; i < req->nfields; i++) {
        if (strcasecmp(req->fields[i].name, "Connection") != 0)
            continue;
        close = close || lt_http_list_has(req->fields[i].value, "close");
        keep = keep || lt_http_list_has(req->fields[i].value, "keep-alive");
    }
    return req->minor_version >= 1 ? !close : keep && !close;
}

/* The target's path and query: origin form ("/a?b"), or absolute form ("https://host/a?b") whose authority is
 * skipped. The target is the arena's copy, cut in place. */
static void split_target(lt_http_request_t *req, char *target)
{
    char *path = target;
    if (*path != '/' && strstr(path, "://") != NULL) {
        path = strstr(path, "://") + 3;
        path += strcspn(path, "/?");
    }
    path[strcspn(path, "#")] = '\0'; /* a fragment is the client's own (RFC 9110 section 4.2.4) */
    char *q = strchr(path, '?');
    if (q != NULL) {
        *q = '\0';
        req->query = q + 1;
    }
    req->path = *path != '\0' ? path : "/";
}

/* The head passed: its parts, copied into the request's own arena. */
static void read_head(lt_conn_t *c, size_t head_len, size_t nfields, long long content_length)
{
    current_t *cur = &c->cur;
    cur->arena = lt_arena_new();
    char *head = lt_arena_alloc(cur->arena, head_len + 1);
    evbuffer_remove(bufferevent_get_input(c->bev), head, head_len);
    lt_http_field_t *fields = lt_arena_alloc(cur->arena, nfields * sizeof(*fields));
    lt_http_head_parts_t parts;
    lt_http_head_split(head, head_len, fields, &parts);
    cur->req = lt_arena_alloc(cur->arena, sizeof(*cur->req));
    *cur->req = (lt_http_request_t){.method = parts.method,
                                    .target = lt_arena_strdup(cur->arena, parts.target),
                                    .minor_version = parts.minor_version,
                                    .fields = parts.fields,
                                    .nfields = parts.nfields,
                                    .body = ""};
    split_target(cur->req, (char *)parts.target);
    cur->body_len = content_length;
    cur->keep_alive = wants_keep_alive(cur->req);
    cur->head_only = strcmp(parts.method, "HEAD") == 0;
}

/* The whole request is in: to the server, which answers it now or later. */
static void hand_over(lt_conn_t *c)
{
    current_t *cur = &c->cur;
    if (cur->body_len > 0) {
        char *body = lt_arena_alloc(cur->arena, (size_t)cur->body_len + 1);
        evbuffer_remove(bufferevent_get_input(c->bev), body, (size_t)cur->body_len);
        cur->req->body = body;
        cur->req->body_len = (size_t)cur->body_len;
    }
    enter(c, PH_HANDLED, 0);
    c->env->request(c->env->request_arg, c, cur->req, cur->arena);
}

/* Expect (RFC 9110 section 10.1.1): 100-continue is answered before the body is read; any other expectation
 * cannot be met. 1: go on; 0: refused, lingering; -1: refused, and the connection is gone. */
static int meet_expectation(lt_conn_t *c)
{
    const lt_http_request_t *req = c->cur.req;
    const char *expect = lt_http_field_find(req->fields, req->nfields, "Expect");
    if (expect == NULL)
        return 1;
    if (strcasecmp(expect, "100-continue") != 0) {
        /* the head has left the input: the refusal reads its request line and id from the request's copy */
        const char *id = lt_http_field_find(req->fields, req->nfields, "X-Request-Id");
        lt_http_head_t h = {.method = req->method,
                            .method_len = strlen(req->method),
                            .target = req->target,
                            .target_len = strlen(req->target),
                            .request_id = id,
                            .request_id_len = id != NULL ? strlen(id) : 0};
        return refuse(c, 417, "expectation_failed", "this gateway meets no expectation but 100-continue", &h) ? 0 : -1;
    }
    if (c->cur.body_len > 0 && req->minor_version >= 1 && evbuffer_get_length(bufferevent_get_input(c->bev)) == 0)
        bufferevent_write(c->bev, "HTTP/1.1 100 Continue\r\n\r\n", 25);
    return 1;
}

/* 1: a head was read; 0: not complete yet; -1: refused, lingering; -2: refused, and the connection is gone. */
static int take_head(lt_conn_t *c)
{
    const lt_conn_limits_t *l = c->env->limits;
    lt_http_head_limits_t lim = {.max_request_line = (size_t)l->max_request_line_bytes,
                                 .max_headers = (size_t)l->max_header_fields,
                                 .max_head_bytes = (size_t)l->max_header_bytes};
    struct evbuffer *in = bufferevent_get_input(c->bev);
    size_t len = evbuffer_get_length(in);
    size_t look = len < lim.max_head_bytes + 1 ? len : lim.max_head_bytes + 1;
    const char *buf = (const char *)evbuffer_pullup(in, (ev_ssize_t)look);
    size_t head_len = lt_http_head_end(buf, look, &c->scanned);
    lt_http_head_t h;
    lt_head_verdict_t v = lt_http_head_check(buf, look, head_len, &lim, &h);
    if (v == LT_HEAD_MORE)
        return 0;
    if (v == LT_HEAD_BAD)
        return refuse(c, h.status, h.code, h.detail, &h) ? -1 : -2;
    if (h.content_length > c->env->max_body_bytes) {
        char detail[64];
        snprintf(detail, sizeof(detail), "the body is over %lld bytes", c->env->max_body_bytes);
        return refuse(c, 413, "body_too_large", detail, &h) ? -1 : -2;
    }
    c->scanned = 0;
    char method[16] = "";
    if (h.method_len < sizeof(method))
        memcpy(method, h.method, h.method_len);
    if (!method_known(method))
        return refuse(c, 501, "method_not_implemented", "no operation of this gateway has this method", &h) ? -1 : -2;
    read_head(c, head_len, h.nfields, h.content_length);
    int expected = meet_expectation(c);
    if (expected <= 0)
        return expected < 0 ? -2 : -1;
    if (c->cur.body_len > 0)
        enter(c, PH_BODY, 1);
    else
        hand_over(c);
    return 1;
}

/* Reads what the input holds as far as the phase allows. false: the connection is gone. */
static bool read_input(lt_conn_t *c)
{
    struct evbuffer *in = bufferevent_get_input(c->bev);
    for (;;) {
        size_t avail = evbuffer_get_length(in);
        switch (c->phase) {
        case PH_WAIT_FIRST:
            if (avail == 0)
                return true;
            c->scanned = 0;
            c->phase = PH_HEAD; /* the head's time began with the wait for it: header_timeout_s in all */
            break;
        case PH_TLS:
        case PH_IDLE:
            if (avail == 0)
                return true;
            c->scanned = 0;
            enter(c, PH_HEAD, c->env->limits->header_timeout_s);
            break;
        case PH_HEAD: {
            int r = take_head(c);
            if (r == -2)
                return false;
            if (r <= 0)
                return true; /* more to come, or refused: what follows is discarded as it arrives */
            break;
        }
        case PH_BODY:
            if ((long long)avail < c->cur.body_len)
                return true;
            hand_over(c);
            break;
        case PH_HANDLED:
            return true; /* a pipelined request waits for the answer before it */
        case PH_ANSWERING:
        case PH_LINGER:
            return discard(c);
        }
    }
}

/* A request's head and body wait in the input while it is read; past this, the connection stops reading until
 * the request in hand is answered. */
static size_t input_cap(const lt_conn_env_t *env)
{
    return (size_t)env->limits->max_header_bytes + (size_t)env->max_body_bytes + 16384;
}

/* ---- the connection's events ------------------------------------------------------------------------------------ */

/*
 * OpenSSL may hold bytes the socket no longer shows: read ahead of the record libevent asked for (the api listener
 * reads ahead), with the handshake's last message, or the rest of a record when libevent 2.1's OpenSSL bufferevent
 * stopped at the input's high watermark. That bufferevent reads again only when the socket next becomes readable,
 * so a client that sent all its requests and waits would wait forever. Once the input has room, the bufferevent's
 * read event is run from the loop, which reads what OpenSSL holds.
 */
static void resume_tls_read(lt_conn_t *c)
{
    if (SSL_has_pending(lt_conn_ssl(c)) && evbuffer_get_length(bufferevent_get_input(c->bev)) < input_cap(c->env))
        event_active(&c->bev->ev_read, EV_READ, 1);
}

static void on_read(struct bufferevent *bev, void *arg)
{
    lt_conn_t *c = arg;
    if (read_input(c))
        resume_tls_read(c);
}

/* Our last answer is out: the client reads it, then the end of our stream; we keep reading (and discarding) so
 * that its unread bytes never make the kernel answer with a reset that would discard ours. */
static void linger(lt_conn_t *c)
{
    c->phase = PH_LINGER;
    if (!evtimer_pending(c->timer, NULL)) { /* a refusal's timer runs on: LINGER_S from its answer on */
        struct timeval tv = {.tv_sec = LINGER_S};
        evtimer_add(c->timer, &tv);
    }
    shutdown(bufferevent_getfd(c->bev), SHUT_WR);
    discard(c);
}

/* The answer is written: keep-alive begins, or the connection closes as its answer said (lingering when the
 * client already sent more). */
static void answer_written(lt_conn_t *c)
{
    bool keep_alive = c->cur.keep_alive;
    end_request(c, true);
    if (!keep_alive && evbuffer_get_length(bufferevent_get_input(c->bev)) > 0) {
        linger(c);
        return;
    }
    if (!keep_alive) {
        conn_free(c);
        return;
    }
    enter(c, PH_IDLE, c->env->idle_timeout_s);
    if (evbuffer_get_length(bufferevent_get_input(c->bev)) > 0)
        event_active(c->pipelined, EV_TIMEOUT, 1); /* from the loop: the request before it has fully ended */
}

/* The socket took everything queued: a request's answer, or our refusal. */
static void on_write(struct bufferevent *bev, void *arg)
{
    lt_conn_t *c = arg;
    if (evbuffer_get_length(bufferevent_get_output(bev)) != 0)
        return;
    if (c->phase == PH_HANDLED && c->cur.replied) {
        answer_written(c);
    } else if (c->phase == PH_ANSWERING) {
        linger(c);
    }
}

static void on_pipelined(evutil_socket_t fd, short what, void *arg)
{
    lt_conn_t *c = arg;
    if (c->phase == PH_IDLE && read_input(c))
        resume_tls_read(c);
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
    lt_conn_t *c = arg;
    if (what & BEV_EVENT_CONNECTED) {
        if (c->phase == PH_TLS)
            enter(c, PH_WAIT_FIRST, c->env->limits->header_timeout_s);
        resume_tls_read(c); /* a request sent with the handshake's last message */
        return;
    }
    /* The end of the client's stream (its close_notify or FIN), or an error: the client has left, and a request
     * in hand is aborted, even one whose answer is queued. Half-closed connections are not served. */
    if (what & BEV_EVENT_TIMEOUT) { /* a client that reads nothing of its answer for idle_timeout_s */
        close_for(c, LT_CONN_CLOSE_IDLE_TIMEOUT);
        return;
    }
    conn_free(c);
}

lt_conn_t *lt_conn_new(lt_conn_env_t *env, SSL *ssl, evutil_socket_t fd)
{
    struct bufferevent *bev =
        bufferevent_openssl_socket_new(env->base, fd, ssl, BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
    if (bev == NULL) {
        SSL_free(ssl);
        evutil_closesocket(fd);
        return NULL;
    }
    lt_conn_t *c = calloc(1, sizeof(*c));
    c->env = env;
    c->bev = bev;
    c->timer = evtimer_new(env->base, on_timer, c);
    c->pipelined = event_new(env->base, -1, 0, on_pipelined, c);
    c->next = env->open;
    if (env->open != NULL)
        env->open->prev = c;
    env->open = c;
    bufferevent_setcb(bev, on_read, on_write, on_event, c);
    bufferevent_setwatermark(bev, EV_READ, 0, input_cap(env));
    /* Runs only while an answer waits to be written: a client that stops reading its answer is let go. */
    struct timeval write_timeout = {.tv_sec = (time_t)env->idle_timeout_s};
    bufferevent_set_timeouts(bev, NULL, &write_timeout);
    if (!admit(c, fd))
        return NULL;
    bufferevent_enable(bev, EV_READ);
    return c;
}

void lt_conn_close_idle(lt_conn_env_t *env)
{
    lt_conn_t *next;
    for (lt_conn_t *c = env->open; c != NULL; c = next) {
        next = c->next;
        if (c->phase == PH_TLS || c->phase == PH_WAIT_FIRST || c->phase == PH_IDLE)
            conn_free(c);
    }
}

void lt_conn_close_all(lt_conn_env_t *env)
{
    while (env->open != NULL)
        conn_free(env->open);
}
