/*
 * sim_fetch: libcurl's multi interface on a libevent loop (see sim_fetch.h).
 *
 * curl asks, through the socket callback, for events on its sockets; each
 * socket's event is kept with curl_multi_assign so that the next request for
 * the same socket finds it. The timer callback arms one evtimer. Whenever an
 * event or the timer fires we hand it to curl_multi_socket_action and then
 * collect the calls that completed. Completions are delivered from there,
 * outside every curl callback, so a done callback may start the next call.
 */
#include "sim_fetch.h"
#include "sim_buf.h"

#include <curl/curl.h>
#include <event2/event.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct sim_fetcher {
    struct event_base *base;
    CURLM *multi;
    struct event *timer;
    sim_fetch_t *calls; /* every call not finished or cancelled, for sim_fetcher_free */
};

struct sim_fetch {
    sim_fetcher_t *fetcher;
    CURL *easy;
    sim_buf_t body;
    char error[CURL_ERROR_SIZE];
    struct timespec started;
    sim_fetch_done_fn done;
    void *arg;
    sim_fetch_t *prev, *next;
};

static long sim_fetch_ms_since(const struct timespec *t0)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (long)((now.tv_sec - t0->tv_sec) * 1000 + (now.tv_nsec - t0->tv_nsec) / 1000000);
}

static void sim_fetch_link(sim_fetcher_t *f, sim_fetch_t *c)
{
    c->next = f->calls;
    if (f->calls)
        f->calls->prev = c;
    f->calls = c;
}

static void sim_fetch_unlink(sim_fetch_t *c)
{
    sim_fetcher_t *f = c->fetcher;
    if (c->prev)
        c->prev->next = c->next;
    else
        f->calls = c->next;
    if (c->next)
        c->next->prev = c->prev;
}

/* Takes the call out of curl and frees it. */
static void sim_fetch_destroy(sim_fetch_t *c)
{
    sim_fetch_unlink(c);
    curl_multi_remove_handle(c->fetcher->multi, c->easy);
    curl_easy_cleanup(c->easy);
    sim_buf_free(&c->body);
    free(c);
}

/* ---- completions ---- */

static void sim_fetch_finish(sim_fetch_t *c, CURLcode code)
{
    sim_fetch_result_t r = {.error = "", .duration_ms = sim_fetch_ms_since(&c->started)};
    if (code == CURLE_OK) {
        curl_easy_getinfo(c->easy, CURLINFO_RESPONSE_CODE, &r.status);
    } else {
        r.error = c->error[0] ? c->error : curl_easy_strerror(code);
    }
    sim_buf_append(&c->body, "", 0);
    r.body = c->body.data;
    r.body_len = c->body.len;
    /* Out of curl before the callback, which may start another call or free the caller's record. */
    sim_fetch_unlink(c);
    curl_multi_remove_handle(c->fetcher->multi, c->easy);
    c->done(c->arg, &r);
    curl_easy_cleanup(c->easy);
    sim_buf_free(&c->body);
    free(c);
}

static void sim_fetch_collect(sim_fetcher_t *f)
{
    CURLMsg *msg;
    int left;
    while ((msg = curl_multi_info_read(f->multi, &left)) != NULL) {
        if (msg->msg != CURLMSG_DONE)
            continue;
        sim_fetch_t *c = NULL;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&c);
        if (c != NULL)
            sim_fetch_finish(c, msg->data.result);
    }
}

/* ---- curl's socket and timer callbacks, and libevent's ---- */

static void sim_fetch_on_socket_event(evutil_socket_t fd, short what, void *arg)
{
    sim_fetcher_t *f = arg;
    int action = ((what & EV_READ) ? CURL_CSELECT_IN : 0) | ((what & EV_WRITE) ? CURL_CSELECT_OUT : 0);
    int running;
    curl_multi_socket_action(f->multi, fd, action, &running);
    sim_fetch_collect(f);
}

static void sim_fetch_on_timer(evutil_socket_t fd, short what, void *arg)
{
    sim_fetcher_t *f = arg;
    int running;
    curl_multi_socket_action(f->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    sim_fetch_collect(f);
}

static int sim_fetch_socket_cb(CURL *easy, curl_socket_t s, int what, void *userp, void *socketp)
{
    sim_fetcher_t *f = userp;
    struct event *ev = socketp;
    if (what == CURL_POLL_REMOVE) {
        if (ev != NULL) {
            event_free(ev);
            curl_multi_assign(f->multi, s, NULL);
        }
        return 0;
    }
    short kind = (short)(((what & CURL_POLL_IN) ? EV_READ : 0) | ((what & CURL_POLL_OUT) ? EV_WRITE : 0) | EV_PERSIST);
    if (ev == NULL) {
        ev = event_new(f->base, s, kind, sim_fetch_on_socket_event, f);
        if (ev == NULL)
            return -1;
        curl_multi_assign(f->multi, s, ev);
    } else {
        event_del(ev);
        event_assign(ev, f->base, s, kind, sim_fetch_on_socket_event, f);
    }
    event_add(ev, NULL);
    return 0;
}

/* curl wants to be woken after timeout_ms (0: as soon as possible, from the loop, not from here). */
static int sim_fetch_timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
    sim_fetcher_t *f = userp;
    if (timeout_ms < 0) {
        evtimer_del(f->timer);
        return 0;
    }
    struct timeval tv = {.tv_sec = timeout_ms / 1000, .tv_usec = (timeout_ms % 1000) * 1000};
    return evtimer_add(f->timer, &tv) == 0 ? 0 : -1;
}

static size_t sim_fetch_on_body(char *data, size_t size, size_t n, void *arg)
{
    sim_fetch_t *c = arg;
    size_t len = size * n;
    size_t room = c->body.len < SIM_FETCH_MAX_BODY ? SIM_FETCH_MAX_BODY - c->body.len : 0;
    sim_buf_append(&c->body, data, len < room ? len : room); /* the rest is read and dropped */
    return len;
}

/* ---- the API ---- */

sim_fetcher_t *sim_fetcher_new(struct event_base *base)
{
    sim_fetcher_t *f = calloc(1, sizeof *f);
    if (f == NULL)
        return NULL;
    f->base = base;
    f->multi = curl_multi_init();
    f->timer = evtimer_new(base, sim_fetch_on_timer, f);
    if (f->multi == NULL || f->timer == NULL) {
        sim_fetcher_free(f);
        return NULL;
    }
    curl_multi_setopt(f->multi, CURLMOPT_SOCKETFUNCTION, sim_fetch_socket_cb);
    curl_multi_setopt(f->multi, CURLMOPT_SOCKETDATA, f);
    curl_multi_setopt(f->multi, CURLMOPT_TIMERFUNCTION, sim_fetch_timer_cb);
    curl_multi_setopt(f->multi, CURLMOPT_TIMERDATA, f);
    return f;
}

struct event_base *sim_fetcher_base(const sim_fetcher_t *f)
{
    return f->base;
}

void sim_fetcher_free(sim_fetcher_t *f)
{
    if (f == NULL)
        return;
    while (f->calls)
        sim_fetch_destroy(f->calls);
    if (f->multi)
        curl_multi_cleanup(f->multi); /* closes cached connections, through the socket callback */
    if (f->timer)
        event_free(f->timer);
    free(f);
}

static void sim_fetch_configure(sim_fetch_t *c, const char *url, const char *ca_file, long timeout_ms)
{
    CURL *e = c->easy;
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L); /* the ICD's caller does not follow redirects either */
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
    if (ca_file != NULL)
        curl_easy_setopt(e, CURLOPT_CAINFO, ca_file);
    curl_easy_setopt(e, CURLOPT_USERAGENT, "lienthong-sim payment-gateway");
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, sim_fetch_on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, c);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, c->error);
    curl_easy_setopt(e, CURLOPT_PRIVATE, (char *)c);
}

sim_fetch_t *sim_fetch_get(sim_fetcher_t *f, const char *url, const char *ca_file, long timeout_ms,
                           sim_fetch_done_fn done, void *arg)
{
    sim_fetch_t *c = calloc(1, sizeof *c);
    if (c == NULL)
        return NULL;
    c->easy = curl_easy_init();
    if (c->easy == NULL) {
        free(c);
        return NULL;
    }
    c->fetcher = f;
    c->done = done;
    c->arg = arg;
    sim_buf_init(&c->body);
    sim_fetch_configure(c, url, ca_file, timeout_ms);
    clock_gettime(CLOCK_MONOTONIC, &c->started);
    if (curl_multi_add_handle(f->multi, c->easy) != CURLM_OK) {
        curl_easy_cleanup(c->easy);
        free(c);
        return NULL;
    }
    sim_fetch_link(f, c);
    return c;
}

void sim_fetch_cancel(sim_fetch_t *call)
{
    if (call != NULL)
        sim_fetch_destroy(call);
}
