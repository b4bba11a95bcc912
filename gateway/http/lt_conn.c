/* Client connections: the strict head check before evhttp, the phase timers, the caps, the lingering close. */
#include "lt_conn.h"

#include <event2/buffer.h>
#include <event2/bufferevent_ssl.h>
#include <jansson.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "lt_error.h"
#include "lt_http_head.h"
#include "lt_log.h"
#include "lt_metrics.h"
#include "lt_text.h"
#include "lt_uuid.h"

/* After refusing a head: how long, and how much, we read and discard before closing (nginx: lingering_time). */
#define LINGER_S         10
#define LINGER_MAX_BYTES (64LL << 20)

/* The one request in flight on a connection at a time, and where its bytes are. */
typedef enum {
    PH_ACCEPTING,  /* evhttp is still setting the socket: the caps are checked on the next loop turn */
    PH_TLS,        /* the handshake runs (handshake_timeout_s) */
    PH_WAIT_FIRST, /* handshake done, no byte of a request yet (header_timeout_s) */
    PH_HEAD,       /* a head is arriving, held back from evhttp (header_timeout_s) */
    PH_BODY,       /* evhttp reads the body; we count it (body_grace_s, body_min_rate_bytes_s) */
    PH_HANDLED,    /* evhttp has the whole request; what follows waits until its answer is written */
    PH_IDLE,       /* answer written, keep-alive (idle_timeout_s) */
    PH_ANSWERING,  /* our own refusal is being written */
    PH_LINGER,     /* refusal written, write side shut: discarding what the client still sends */
    PH_CLOSING,    /* the socket is shut: evhttp frees the connection on the end of stream */
} phase_t;

typedef struct addr_entry addr_entry_t;

typedef struct conn {
    const lt_conn_env_t *env;
    struct bufferevent *under;                     /* the OpenSSL bufferevent: owns the socket and the SSL */
    struct bufferevent *filter;                    /* what evhttp reads and writes */
    struct evbuffer_cb_entry *output_watch;        /* the OpenSSL bufferevent's output: what the socket took */
    struct evbuffer_cb_entry *filter_output_watch; /* evhttp's output: an answer to hand down */
    struct event *timer;                           /* the current phase's deadline */
    struct event *resume; /* hands evhttp a pipelined request held back while the previous one was handled */
    struct event *flush;  /* hands evhttp's answer down to the OpenSSL bufferevent */
    phase_t phase;
    struct timespec since; /* when the phase began */
    size_t scanned;        /* bytes of the current head already searched for its end */
    long long body_left, body_got, discarded;
    bool counted; /* in the listener's open count */
    int listener; /* env->listener, kept for conn_free: env lives in the server, which may be freed first */
    addr_entry_t *addr;
} conn_t;

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

static void enter(conn_t *c, phase_t phase, long long timeout_s)
{
    c->phase = phase;
    clock_gettime(CLOCK_MONOTONIC, &c->since);
    evtimer_del(c->timer);
    if (timeout_s > 0) {
        struct timeval tv = {.tv_sec = (time_t)timeout_s};
        evtimer_add(c->timer, &tv);
    }
}

static double phase_seconds(const conn_t *c)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - c->since.tv_sec) + (double)(now.tv_nsec - c->since.tv_nsec) / 1e9;
}

/* Shut the socket: the OpenSSL bufferevent reads the end of stream and evhttp frees the connection on its own
 * path (aborting a request it handles), so nothing here frees what evhttp holds. */
static void shut(conn_t *c)
{
    c->phase = PH_CLOSING;
    evtimer_del(c->timer);
    evutil_socket_t fd = bufferevent_getfd(c->under);
    if (fd >= 0)
        shutdown(fd, SHUT_RDWR);
}

static void close_for(conn_t *c, lt_conn_close_t reason)
{
    lt_metrics_connection_closed_by_us(c->env->listener, reason);
    shut(c);
}

static void admit(conn_t *c)
{
    const lt_conn_limits_t *lim = c->env->limits;
    int listener = c->env->listener;
    if (listener >= 0 && listener < LT_METRICS_MAX_LISTENERS) {
        c->counted = true;
        if (atomic_fetch_add(&listener_open[listener], 1) >= lim->max_connections) {
            close_for(c, LT_CONN_CLOSE_LISTENER_CAP);
            return;
        }
    }
    /* An answer's last record must not wait for the client's delayed ACK (Nagle's algorithm: about 40 ms per
     * keep-alive answer). Accepted sockets do not inherit the option from the listener: set once per connection. */
    int one = 1;
    evutil_socket_t fd = bufferevent_getfd(c->under);
    if (fd >= 0)
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    int family = 0;
    unsigned char addr[16];
    if (peer_key(fd, &family, addr)) {
        c->addr = addr_take(listener, family, addr, lim->max_connections_per_address);
        if (c->addr == NULL) {
            close_for(c, LT_CONN_CLOSE_ADDRESS_CAP);
            return;
        }
    }
    enter(c, PH_TLS, lim->handshake_timeout_s);
}

/* Past the grace, the body must have come at the minimum rate on average since it began. */
static void check_body_rate(conn_t *c)
{
    const lt_conn_limits_t *lim = c->env->limits;
    double s = phase_seconds(c);
    if (s >= (double)lim->body_grace_s && (double)c->body_got < (double)lim->body_min_rate_bytes_s * s) {
        close_for(c, LT_CONN_CLOSE_BODY_TOO_SLOW);
        return;
    }
    struct timeval tv = {.tv_sec = 1};
    evtimer_add(c->timer, &tv);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    conn_t *c = arg;
    SSL *ssl = bufferevent_openssl_get_ssl(c->under);
    switch (c->phase) {
    case PH_ACCEPTING:
        admit(c);
        break;
    case PH_TLS:
        if (ssl != NULL && SSL_is_init_finished(ssl))
            enter(c, PH_WAIT_FIRST, c->env->limits->header_timeout_s);
        else
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
        shut(c); /* the lingering close has lasted long enough */
        break;
    case PH_HANDLED:
    case PH_CLOSING:
        break;
    }
}

/* evhttp starts reading the next request only after its answer has gone; the bytes of a pipelined one already
 * wait in the OpenSSL bufferevent, where no new socket event would ever hand them to the filter. */
static void on_resume(evutil_socket_t fd, short what, void *arg)
{
    conn_t *c = arg;
    if (evbuffer_get_length(bufferevent_get_input(c->under)) == 0 || c->phase != PH_IDLE)
        return;
    if (!(bufferevent_get_enabled(c->filter) & EV_READ)) {
        struct timeval tv = {.tv_usec = 1000}; /* evhttp has not started reading yet */
        evtimer_add(c->resume, &tv);
        return;
    }
    bufferevent_trigger(c->under, EV_READ, BEV_TRIG_IGNORE_WATERMARKS);
}

/* The socket took everything queued: an answer of evhttp's is out (keep-alive begins), or our refusal is. */
static void on_output(struct evbuffer *out, const struct evbuffer_cb_info *info, void *arg)
{
    conn_t *c = arg;
    if (info->n_deleted == 0 || evbuffer_get_length(out) != 0)
        return;
    if (c->phase != PH_ANSWERING && c->phase != PH_LINGER)
        bufferevent_trigger(c->filter, EV_WRITE, BEV_TRIG_DEFER_CALLBACKS); /* evhttp: the answer is out */
    if (c->phase == PH_HANDLED) {
        enter(c, PH_IDLE, c->env->idle_timeout_s);
        if (evbuffer_get_length(bufferevent_get_input(c->under)) > 0)
            event_active(c->resume, EV_TIMEOUT, 1);
    } else if (c->phase == PH_ANSWERING) {
        /* The client reads its answer, then the end of our stream; we keep reading so that its unread bytes
         * never make the kernel answer with a reset that would discard ours. */
        c->phase = PH_LINGER;
        evutil_socket_t fd = bufferevent_getfd(c->under);
        if (fd >= 0)
            shutdown(fd, SHUT_WR);
    }
}

/* ---- the head check and our own refusals -------------------------------------------------------------------- */

static const char *refusal_title(int status)
{
    switch (status) {
    case 411:
        return "Length Required";
    case 413:
        return lt_error_title(LT_ERR_TOO_LARGE);
    case 414:
        return "URI Too Long";
    case 431:
        return "Request Header Fields Too Large";
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

static void discard(conn_t *c, struct evbuffer *src)
{
    size_t n = evbuffer_get_length(src);
    evbuffer_drain(src, n);
    c->discarded += (long long)n;
    if (c->discarded > LINGER_MAX_BYTES && c->phase != PH_CLOSING)
        shut(c);
}

/* Tells the server (which may record the refusal in the audit trail) what was refused: method and path only. */
static void tell_refused(conn_t *c, int status, const char *code, const char *request_id, const lt_http_head_t *h)
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
    c->env->refused(c->env->refused_arg, bufferevent_openssl_get_ssl(c->under), &refusal);
}

/* Answers the head ourselves, the same problem document lt_request_reply_problem writes, then lingers. */
static void refuse(conn_t *c, struct evbuffer *src, int status, const char *code, const char *detail,
                   const lt_http_head_t *h)
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
    struct evbuffer *out = evbuffer_new();
    evbuffer_add_printf(out,
                        "HTTP/1.1 %d %s\r\nContent-Type: application/problem+json; charset=utf-8\r\n"
                        "Content-Length: %zu\r\nX-Request-Id: %s\r\nConnection: close\r\n\r\n%s",
                        status, refusal_title(status), body ? strlen(body) : 0, request_id, body ? body : "");
    free(body);
    lt_log_info("request %s: refused before routing: %d %s", request_id, status, code);
    tell_refused(c, status, code, request_id, h);
    lt_metrics_head_refused(c->env->listener, status);
    lt_metrics_connection_closed_by_us(c->env->listener, LT_CONN_CLOSE_REFUSED_REQUEST);
    enter(c, PH_ANSWERING, LINGER_S);
    bufferevent_enable(c->under, EV_WRITE);
    bufferevent_write_buffer(c->under, out);
    evbuffer_free(out);
    discard(c, src);
}

static void request_passed(conn_t *c, long long content_length)
{
    c->body_left = content_length;
    c->body_got = 0;
    if (content_length > 0) {
        enter(c, PH_BODY, 1);
    } else {
        enter(c, PH_HANDLED, 0);
    }
}

/* 1: the head passed to evhttp; 0: not complete yet; -1: refused. */
static int take_head(conn_t *c, struct evbuffer *src, struct evbuffer *dst)
{
    const lt_conn_limits_t *l = c->env->limits;
    lt_http_head_limits_t lim = {.max_request_line = (size_t)l->max_request_line_bytes,
                                 .max_headers = (size_t)l->max_header_fields,
                                 .max_head_bytes = (size_t)l->max_header_bytes};
    size_t len = evbuffer_get_length(src);
    size_t look = len < lim.max_head_bytes + 1 ? len : lim.max_head_bytes + 1;
    const char *buf = (const char *)evbuffer_pullup(src, (ev_ssize_t)look);
    size_t head_len = lt_http_head_end(buf, look, &c->scanned);
    lt_http_head_t h;
    lt_head_verdict_t v = lt_http_head_check(buf, look, head_len, &lim, &h);
    if (v == LT_HEAD_MORE)
        return 0;
    if (v == LT_HEAD_BAD) {
        refuse(c, src, h.status, h.code, h.detail, &h);
        return -1;
    }
    if (h.content_length > c->env->max_body_bytes) {
        char detail[64];
        snprintf(detail, sizeof(detail), "the body is over %lld bytes", c->env->max_body_bytes);
        refuse(c, src, 413, "body_too_large", detail, &h);
        return -1;
    }
    c->scanned = 0;
    evbuffer_remove_buffer(src, dst, head_len);
    request_passed(c, h.content_length);
    return 1;
}

/* libevent's filter contract: BEV_OK when bytes went to evhttp (it is then told to read), BEV_NEED_MORE when
 * none did, so that the filter loop stops on bytes we hold back. */
static enum bufferevent_filter_result on_input(struct evbuffer *src, struct evbuffer *dst, ev_ssize_t limit,
                                               enum bufferevent_flush_mode mode, void *ctx)
{
    conn_t *c = ctx;
    bool moved = false;
    for (;;) {
        size_t avail = evbuffer_get_length(src);
        switch (c->phase) {
        case PH_ACCEPTING:
        case PH_TLS:
        case PH_WAIT_FIRST:
        case PH_IDLE:
            if (avail == 0)
                return moved ? BEV_OK : BEV_NEED_MORE;
            c->scanned = 0;
            enter(c, PH_HEAD, c->env->limits->header_timeout_s);
            break;
        case PH_HEAD: {
            int r = take_head(c, src, dst);
            if (r == 0)
                return moved ? BEV_OK : BEV_NEED_MORE;
            moved = moved || r > 0;
            break;
        }
        case PH_BODY: {
            if (avail == 0)
                return moved ? BEV_OK : BEV_NEED_MORE;
            long long n = (long long)avail < c->body_left ? (long long)avail : c->body_left;
            evbuffer_remove_buffer(src, dst, (size_t)n);
            moved = true;
            c->body_left -= n;
            c->body_got += n;
            if (c->body_left == 0)
                enter(c, PH_HANDLED, 0);
            break;
        }
        case PH_HANDLED:
            return moved ? BEV_OK : BEV_NEED_MORE;
        case PH_ANSWERING:
        case PH_LINGER:
        case PH_CLOSING:
            discard(c, src);
            return moved ? BEV_OK : BEV_NEED_MORE;
        }
    }
}

/* The most plaintext one TLS record carries (RFC 8446 5.1). */
#define ANSWER_RECORD_MAX 16384

/*
 * evhttp's answers. libevent's filter would tell evhttp an answer is written as soon as it is handed down, and
 * evhttp then shuts and closes a Connection: close socket under bytes the OpenSSL bufferevent has not sent. So
 * the output filter hands bytes down without saying so (BEV_NEED_MORE), and on_output tells evhttp once the
 * socket took them. evhttp queues an answer before it enables writing, which the filter only looks at when
 * called: every answer is flushed down on the next loop turn.
 */
static enum bufferevent_filter_result hand_down(struct evbuffer *src, struct evbuffer *dst, ev_ssize_t limit,
                                                enum bufferevent_flush_mode mode, void *ctx)
{
    /* evhttp queues an answer's head and body as separate chunks, and the OpenSSL bufferevent makes one TLS record
     * (and one write) of each chunk: an answer that fits in one record goes down as one chunk. */
    size_t len = evbuffer_get_length(src);
    if (len > 0 && len <= ANSWER_RECORD_MAX)
        evbuffer_pullup(src, (ev_ssize_t)len);
    evbuffer_add_buffer(dst, src);
    return BEV_NEED_MORE;
}

static void on_filter_output(struct evbuffer *out, const struct evbuffer_cb_info *info, void *arg)
{
    conn_t *c = arg;
    if (info->n_added > 0)
        event_active(c->flush, EV_TIMEOUT, 1);
}

static void on_flush(evutil_socket_t fd, short what, void *arg)
{
    conn_t *c = arg;
    if (c->filter != NULL && evbuffer_get_length(bufferevent_get_output(c->filter)) > 0)
        bufferevent_flush(c->filter, EV_WRITE, BEV_FLUSH);
}

/* Runs when evhttp frees the connection (the filter), however it ended; the OpenSSL bufferevent goes with it. The
 * filter's callbacks are deferred, so at shutdown this runs from event_base_free, after the server and the env in
 * it are gone: nothing here may read c->env. */
static void conn_free(void *ctx)
{
    conn_t *c = ctx;
    evbuffer_remove_cb_entry(bufferevent_get_output(c->under), c->output_watch);
    evbuffer_remove_cb_entry(bufferevent_get_output(c->filter), c->filter_output_watch);
    event_free(c->timer);
    event_free(c->resume);
    event_free(c->flush);
    if (c->counted)
        atomic_fetch_sub(&listener_open[c->listener], 1);
    if (c->addr != NULL)
        addr_release(c->addr);
    free(c);
}

struct bufferevent *lt_conn_new(const lt_conn_env_t *env, SSL *ssl)
{
    struct bufferevent *under =
        bufferevent_openssl_socket_new(env->base, -1, ssl, BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
    if (under == NULL)
        return NULL;
    conn_t *c = calloc(1, sizeof(*c));
    c->env = env;
    c->listener = env->listener;
    c->under = under;
    c->timer = evtimer_new(env->base, on_timer, c);
    c->resume = evtimer_new(env->base, on_resume, c);
    c->flush = event_new(env->base, -1, 0, on_flush, c);
    c->filter = bufferevent_filter_new(under, on_input, hand_down, BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS,
                                       conn_free, c);
    if (c->filter == NULL) {
        event_free(c->timer);
        event_free(c->resume);
        event_free(c->flush);
        free(c);
        bufferevent_free(under);
        return NULL;
    }
    c->output_watch = evbuffer_add_cb(bufferevent_get_output(under), on_output, c);
    c->filter_output_watch = evbuffer_add_cb(bufferevent_get_output(c->filter), on_filter_output, c);
    /* evhttp sets the socket right after this returns; the caps need it, so they wait one loop turn. */
    c->phase = PH_ACCEPTING;
    event_active(c->timer, EV_TIMEOUT, 1);
    return c->filter;
}
