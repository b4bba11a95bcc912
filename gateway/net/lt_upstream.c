/* libcurl multi on libevent: socket and timer callbacks, exchanges, and transport error mapping. */
#include "lt_upstream.h"

#include <curl/curl.h>
#include <openssl/ssl.h>
#include <stdlib.h>
#include <string.h>

#include "lt_buf.h"
#include "lt_certs.h"
#include "lt_log.h"

struct lt_upstream_client {
    struct event_base *base;
    CURLM *multi;
    struct event *timer;
    lt_upstream_exchange_t *exchanges; /* every exchange in flight, so free() can cancel them */
};

struct lt_upstream_exchange {
    lt_upstream_client_t *client;
    lt_upstream_exchange_t *prev, *next;
    CURL *easy;
    struct curl_slist *headers;
    const lt_upstream_conf_t *conf;
    lt_buf_t body;
    size_t max;
    bool too_large;
    bool connect_only; /* a TLS handshake and nothing more (lt_upstream_handshake) */
    char retry_after[64];
    lt_upstream_done_fn done;
    void *arg;
};

typedef struct {
    struct event *ev;
    lt_upstream_client_t *client;
} sock_watch_t;

static void check_multi_info(lt_upstream_client_t *client);

static int owner_index = -1; /* SSL_CTX ex_data: the upstream's name, for the verify callback */

int lt_upstream_global_init(lt_error_t *err)
{
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return lt_error_set(err, LT_ERR_INTERNAL, "curl", "libcurl failed to initialise");
    owner_index = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL, NULL);
    return 0;
}

/* ---- the national system's certificate, as its handshake shows it ------------------------ */

/*
 * Sees the server's leaf whether or not it verifies, so an expired or wrong certificate still shows on /status
 * with its dates and why it failed. OpenSSL calls this from the top of the chain down to the leaf and stops at the
 * first failure, so the leaf is recorded at a failure at any depth, and at depth 0 when all verified. It changes
 * no verdict: it returns OpenSSL's own.
 */
static int on_verify(int ok, X509_STORE_CTX *store)
{
    if (ok && X509_STORE_CTX_get_error_depth(store) != 0)
        return ok;
    SSL *ssl = X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx());
    const char *owner = ssl != NULL ? SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), owner_index) : NULL;
    const char *why = ok ? NULL : X509_verify_cert_error_string(X509_STORE_CTX_get_error(store));
    if (owner != NULL)
        lt_certs_note_seen("upstream_server", owner, X509_STORE_CTX_get0_cert(store), why);
    return ok;
}

/* CURLOPT_SSL_CTX_FUNCTION: libcurl makes one SSL_CTX per new connection, so this runs once per handshake. */
static CURLcode on_ssl_ctx(CURL *easy, void *sslctx, void *userptr)
{
    SSL_CTX *ctx = sslctx;
    SSL_CTX_set_ex_data(ctx, owner_index, userptr);
    SSL_CTX_set_verify(ctx, SSL_CTX_get_verify_mode(ctx), on_verify);
    return CURLE_OK;
}

/* ---- event plumbing ---------------------------------------------------- */

static void on_socket_event(evutil_socket_t fd, short what, void *arg)
{
    lt_upstream_client_t *client = arg;
    int action = ((what & EV_READ) ? CURL_CSELECT_IN : 0) | ((what & EV_WRITE) ? CURL_CSELECT_OUT : 0);
    int running;
    curl_multi_socket_action(client->multi, fd, action, &running);
    check_multi_info(client);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    lt_upstream_client_t *client = arg;
    int running;
    curl_multi_socket_action(client->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    check_multi_info(client);
}

/* CURLMOPT_SOCKETFUNCTION: map CURL_POLL_* onto one persistent event per socket. */
static int curl_socket_cb(CURL *easy, curl_socket_t s, int what, void *userp, void *socketp)
{
    lt_upstream_client_t *client = userp;
    sock_watch_t *w = socketp;
    if (what == CURL_POLL_REMOVE) {
        if (w != NULL) {
            event_free(w->ev);
            free(w);
            curl_multi_assign(client->multi, s, NULL);
        }
        return 0;
    }
    short kind = (short)(((what & CURL_POLL_IN) ? EV_READ : 0) | ((what & CURL_POLL_OUT) ? EV_WRITE : 0) | EV_PERSIST);
    if (w == NULL) {
        w = calloc(1, sizeof(*w));
        w->client = client;
        w->ev = event_new(client->base, s, kind, on_socket_event, client);
        curl_multi_assign(client->multi, s, w);
    } else {
        event_del(w->ev);
        event_assign(w->ev, client->base, s, kind, on_socket_event, client);
    }
    event_add(w->ev, NULL);
    return 0;
}

/* CURLMOPT_TIMERFUNCTION: one evtimer per multi handle. */
static int curl_timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
    lt_upstream_client_t *client = userp;
    if (timeout_ms < 0) {
        evtimer_del(client->timer);
        return 0;
    }
    struct timeval tv = {.tv_sec = timeout_ms / 1000, .tv_usec = (timeout_ms % 1000) * 1000};
    evtimer_add(client->timer, &tv);
    return 0;
}

lt_upstream_client_t *lt_upstream_client_new(struct event_base *base)
{
    lt_upstream_client_t *client = calloc(1, sizeof(*client));
    client->base = base;
    client->multi = curl_multi_init();
    client->timer = evtimer_new(base, on_timer, client);
    curl_multi_setopt(client->multi, CURLMOPT_SOCKETFUNCTION, curl_socket_cb);
    curl_multi_setopt(client->multi, CURLMOPT_SOCKETDATA, client);
    curl_multi_setopt(client->multi, CURLMOPT_TIMERFUNCTION, curl_timer_cb);
    curl_multi_setopt(client->multi, CURLMOPT_TIMERDATA, client);
    /* Enough idle connections for every upstream to keep a few warm. */
    curl_multi_setopt(client->multi, CURLMOPT_MAXCONNECTS, 64L);
    return client;
}

/* ---- exchanges ---------------------------------------------------------- */

static void exchange_unlink(lt_upstream_exchange_t *x)
{
    if (x->prev != NULL)
        x->prev->next = x->next;
    else
        x->client->exchanges = x->next;
    if (x->next != NULL)
        x->next->prev = x->prev;
    x->prev = x->next = NULL;
}

static void exchange_free(lt_upstream_exchange_t *x)
{
    curl_multi_remove_handle(x->client->multi, x->easy);
    curl_easy_cleanup(x->easy);
    curl_slist_free_all(x->headers);
    lt_buf_free(&x->body);
    free(x);
}

void lt_upstream_cancel(lt_upstream_exchange_t *x)
{
    if (x == NULL)
        return;
    exchange_unlink(x);
    exchange_free(x);
}

void lt_upstream_client_free(lt_upstream_client_t *client)
{
    if (client == NULL)
        return;
    while (client->exchanges != NULL)
        lt_upstream_cancel(client->exchanges);
    curl_multi_cleanup(client->multi);
    event_free(client->timer);
    free(client);
}

/* Collects the body up to the configured bound; a hostile upstream cannot make us buffer without limit. */
static size_t on_body(char *data, size_t size, size_t nmemb, void *userp)
{
    lt_upstream_exchange_t *x = userp;
    size_t n = size * nmemb;
    if (x->body.len + n > x->max) {
        x->too_large = true;
        return 0; /* aborts the transfer with CURLE_WRITE_ERROR */
    }
    lt_buf_add(&x->body, data, n);
    return n;
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *userp)
{
    lt_upstream_exchange_t *x = userp;
    size_t n = size * nmemb;
    static const char name[] = "retry-after:";
    if (n > sizeof(name) && strncasecmp(data, name, sizeof(name) - 1) == 0) {
        const char *v = data + sizeof(name) - 1;
        size_t vlen = n - (sizeof(name) - 1);
        while (vlen > 0 && (*v == ' ' || *v == '\t'))
            v++, vlen--;
        while (vlen > 0 && (v[vlen - 1] == '\r' || v[vlen - 1] == '\n' || v[vlen - 1] == ' '))
            vlen--;
        if (vlen >= sizeof(x->retry_after))
            vlen = sizeof(x->retry_after) - 1;
        memcpy(x->retry_after, v, vlen);
        x->retry_after[vlen] = '\0';
    }
    return n;
}

static void set_tls_options(CURL *easy, const lt_upstream_conf_t *conf)
{
    curl_easy_setopt(easy, CURLOPT_SSLCERT, conf->cert);
    curl_easy_setopt(easy, CURLOPT_SSLKEY, conf->key);
    curl_easy_setopt(easy, CURLOPT_CAINFO, conf->ca);
    curl_easy_setopt(easy, CURLOPT_CAPATH, NULL);
    curl_easy_setopt(easy, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(easy, CURLOPT_SSL_VERIFYHOST, 2L);
    curl_easy_setopt(easy, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
    curl_easy_setopt(easy, CURLOPT_SSL_CTX_FUNCTION, on_ssl_ctx);
    curl_easy_setopt(easy, CURLOPT_SSL_CTX_DATA, (void *)conf->name);
}

static int build_easy(lt_upstream_exchange_t *x, const lt_upstream_request_t *req, long timeout_ms, lt_error_t *err)
{
    const lt_upstream_conf_t *conf = x->conf;
    CURL *easy = x->easy;
    char url[2048];
    if (snprintf(url, sizeof(url), "%s%s", conf->base_url, req->path) >= (int)sizeof(url))
        return lt_error_set(err, LT_ERR_INTERNAL, "url_too_long", "upstream URL too long");
    curl_easy_setopt(easy, CURLOPT_URL, url);
    curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "https");
    curl_easy_setopt(easy, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
    curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS, (long)conf->connect_timeout_ms);
    curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(easy, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(easy, CURLOPT_WRITEDATA, x);
    curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(easy, CURLOPT_HEADERDATA, x);
    curl_easy_setopt(easy, CURLOPT_PRIVATE, x);
    set_tls_options(easy, conf);
    for (size_t i = 0; i < req->nheaders; i++)
        x->headers = curl_slist_append(x->headers, req->headers[i]);
    /* No "Expect: 100-continue" round trip before a SOAP body. */
    x->headers = curl_slist_append(x->headers, "Expect:");
    curl_easy_setopt(easy, CURLOPT_HTTPHEADER, x->headers);
    if (strcmp(req->method, "POST") == 0) {
        curl_easy_setopt(easy, CURLOPT_POST, 1L);
        curl_easy_setopt(easy, CURLOPT_POSTFIELDS, req->body ? req->body : "");
        curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)(req->body ? req->body_len : 0));
    } else if (strcmp(req->method, "GET") != 0) {
        curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, req->method);
    }
    return 0;
}

static lt_upstream_exchange_t *start(lt_upstream_client_t *client, lt_upstream_exchange_t *x, lt_error_t *err)
{
    if (curl_multi_add_handle(client->multi, x->easy) != CURLM_OK) {
        lt_error_set(err, LT_ERR_INTERNAL, "curl", "cannot start an upstream transfer");
        curl_slist_free_all(x->headers);
        curl_easy_cleanup(x->easy);
        free(x);
        return NULL;
    }
    x->next = client->exchanges;
    if (client->exchanges != NULL)
        client->exchanges->prev = x;
    client->exchanges = x;
    return x;
}

lt_upstream_exchange_t *lt_upstream_handshake(lt_upstream_client_t *client, const lt_upstream_conf_t *conf,
                                              long timeout_ms, lt_upstream_done_fn done, void *arg, lt_error_t *err)
{
    lt_upstream_exchange_t *x = calloc(1, sizeof(*x));
    x->client = client;
    x->conf = conf;
    x->done = done;
    x->arg = arg;
    x->connect_only = true;
    x->easy = curl_easy_init();
    if (x->easy == NULL) {
        free(x);
        lt_error_set(err, LT_ERR_INTERNAL, "curl", "cannot create an upstream transfer");
        return NULL;
    }
    char url[2048];
    snprintf(url, sizeof(url), "%s/", conf->base_url);
    curl_easy_setopt(x->easy, CURLOPT_URL, url);
    curl_easy_setopt(x->easy, CURLOPT_PROTOCOLS_STR, "https");
    curl_easy_setopt(x->easy, CURLOPT_NOSIGNAL, 1L);
    /* A real handshake every time, on a connection nobody else will reuse: it measures the system, not our pool. */
    curl_easy_setopt(x->easy, CURLOPT_CONNECT_ONLY, 1L);
    curl_easy_setopt(x->easy, CURLOPT_FRESH_CONNECT, 1L);
    curl_easy_setopt(x->easy, CURLOPT_FORBID_REUSE, 1L);
    curl_easy_setopt(x->easy, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
    curl_easy_setopt(x->easy, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(x->easy, CURLOPT_PRIVATE, x);
    set_tls_options(x->easy, conf);
    return start(client, x, err);
}

lt_upstream_exchange_t *lt_upstream_send(lt_upstream_client_t *client, const lt_upstream_conf_t *conf,
                                         const lt_upstream_request_t *req, long timeout_ms, lt_upstream_done_fn done,
                                         void *arg, lt_error_t *err)
{
    lt_upstream_exchange_t *x = calloc(1, sizeof(*x));
    x->client = client;
    x->conf = conf;
    x->max = (size_t)conf->max_response_bytes;
    x->done = done;
    x->arg = arg;
    x->easy = curl_easy_init();
    if (x->easy == NULL || build_easy(x, req, timeout_ms, err) != 0) {
        if (x->easy == NULL)
            lt_error_set(err, LT_ERR_INTERNAL, "curl", "cannot create an upstream transfer");
        curl_slist_free_all(x->headers);
        curl_easy_cleanup(x->easy);
        free(x);
        return NULL;
    }
    return start(client, x, err);
}

/* ---- completion ---------------------------------------------------------- */

/* Maps a transfer failure below HTTP to the northbound error model. */
static void map_transport_error(CURLcode rc, const lt_upstream_exchange_t *x, lt_error_t *err)
{
    const char *name = x->conf->name;
    switch (rc) {
    case CURLE_OPERATION_TIMEDOUT:
        lt_error_set(err, LT_ERR_UPSTREAM_TIMEOUT, "timeout", "%s did not answer in time", name);
        err->retryable = true;
        break;
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
        lt_error_set(err, LT_ERR_UPSTREAM_UNAVAILABLE, "connect", "cannot connect to %s", name);
        err->retryable = true;
        err->retry_after_s = 5;
        break;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CIPHER:
        lt_error_set(err, LT_ERR_UPSTREAM_BAD, "tls", "TLS handshake with %s failed: %s", name, curl_easy_strerror(rc));
        break;
    case CURLE_WRITE_ERROR:
        if (x->too_large) {
            lt_error_set(err, LT_ERR_UPSTREAM_BAD, "response_too_large", "%s sent a response over %zu bytes", name,
                         x->max);
            break;
        }
        /* fall through */
    case CURLE_PARTIAL_FILE:
        lt_error_set(err, LT_ERR_UPSTREAM_BAD, "truncated", "%s closed the connection before the whole response", name);
        err->retryable = true;
        break;
    case CURLE_GOT_NOTHING:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
        lt_error_set(err, LT_ERR_UPSTREAM_BAD, "reset", "%s reset the connection", name);
        err->retryable = true;
        break;
    default:
        lt_error_set(err, LT_ERR_UPSTREAM_BAD, "transport", "exchange with %s failed: %s", name,
                     curl_easy_strerror(rc));
        break;
    }
}

static void finish(lt_upstream_exchange_t *x, CURLcode rc)
{
    lt_error_t err;
    lt_error_clear(&err);
    exchange_unlink(x);
    if (rc != CURLE_OK) {
        map_transport_error(rc, x, &err);
        lt_log_debug("upstream %s: %s (curl: %s)", x->conf->name, err.code, curl_easy_strerror(rc));
        x->done(x->arg, NULL, &err);
    } else {
        lt_upstream_response_t resp = {0};
        char *ctype = NULL;
        curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &resp.status);
        curl_easy_getinfo(x->easy, CURLINFO_CONTENT_TYPE, &ctype);
        resp.content_type = ctype;
        resp.retry_after = x->retry_after[0] ? x->retry_after : NULL;
        resp.body = x->body.data ? x->body.data : "";
        resp.body_len = x->body.len;
        x->done(x->arg, &resp, NULL);
    }
    exchange_free(x);
}

static void check_multi_info(lt_upstream_client_t *client)
{
    CURLMsg *msg;
    int pending;
    while ((msg = curl_multi_info_read(client->multi, &pending)) != NULL) {
        if (msg->msg != CURLMSG_DONE)
            continue;
        lt_upstream_exchange_t *x = NULL;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&x);
        finish(x, msg->data.result);
    }
}
