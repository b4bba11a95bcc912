/* Delivering payment events to the portal's webhook, at least once. */
#include "lt_pay_outbox.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lt_log.h"
#include "lt_pay_new.h"

#define COUNTS_EVERY_MS 1000

typedef struct delivery {
    lt_pay_outbox_t *ob;
    lt_pay_event_t event;
    char *body, *signature_header, *event_header;
    lt_upstream_exchange_t *exchange;
    struct delivery *next;
} delivery_t;

struct lt_pay_outbox {
    lt_pay_service_t *svc;
    struct event_base *base;
    lt_pay_conn_t *conn;
    lt_upstream_client_t *client;
    struct event *poll_timer, *counts_timer;
    bool claiming, counting;
    int inflight;
    delivery_t *deliveries;
    lt_pay_counts_t counts;
    lt_pay_webhook_health_t health; /* the last delivery's outcome, for status */
};

char *lt_pay_webhook_body(const lt_pay_event_t *ev, const lt_payment_t *p)
{
    json_t *body =
        json_pack("{s:s, s:s, s:o}", "event", ev->type, "event_id", ev->event_id, "payment", lt_pay_public_json(p));
    char *text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    return text;
}

char *lt_pay_webhook_signature(const lt_pay_service_t *svc, const char *body, size_t len)
{
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int mac_len = 0;
    HMAC(EVP_sha256(), svc->webhook_secret, (int)svc->webhook_secret_len, (const unsigned char *)body, len, mac,
         &mac_len);
    char *out = malloc(7 + 2 * mac_len + 1);
    strcpy(out, "sha256=");
    for (unsigned i = 0; i < mac_len; i++)
        snprintf(out + 7 + 2 * i, 3, "%02x", mac[i]);
    return out;
}

int64_t lt_pay_outbox_backoff_ms(long long base_ms, long long max_ms, int attempts, unsigned random)
{
    int64_t d = base_ms;
    for (int i = 1; i < attempts && d < max_ms; i++)
        d *= 2;
    if (d > max_ms)
        d = max_ms;
    /* Half fixed, half random: instances that failed together do not retry together, and no retry comes
     * sooner than half the schedule. */
    return d / 2 + (int64_t)(random % (unsigned)(d / 2 + 1));
}

static void schedule_poll(lt_pay_outbox_t *ob)
{
    long long ms = ob->svc->conf->webhook.poll_ms;
    struct timeval tv = {.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000};
    evtimer_add(ob->poll_timer, &tv);
}

static void unlink_delivery(delivery_t *d)
{
    for (delivery_t **p = &d->ob->deliveries; *p != NULL; p = &(*p)->next)
        if (*p == d) {
            *p = d->next;
            break;
        }
    free(d->body);
    free(d->signature_header);
    free(d->event_header);
    free(d);
}

static void on_recorded(void *arg, const lt_pay_result_t *res)
{
    lt_pay_outbox_t *ob = arg;
    if (res->outcome == LT_PAY_STORE_ERROR)
        lt_log_warn("outbox: recording a delivery result failed (%s); the lease runs out and it is sent again",
                    res->detail);
    (void)ob;
}

static void record_failure(delivery_t *d, const char *why)
{
    lt_pay_outbox_t *ob = d->ob;
    const lt_payments_conf_t *pc = ob->svc->conf;
    int attempts = d->event.attempts + 1;
    bool dead = attempts >= pc->webhook.max_attempts;
    unsigned rnd = 0;
    RAND_bytes((unsigned char *)&rnd, sizeof(rnd));
    int64_t now = lt_pay_now_ms();
    int64_t next = now + lt_pay_outbox_backoff_ms(pc->webhook.base_delay_ms, pc->webhook.max_delay_ms, attempts, rnd);
    atomic_fetch_add(&ob->svc->webhook_failures, 1);
    ob->health.failing = true;
    ob->health.last_error_at_ms = now;
    snprintf(ob->health.last_error, sizeof(ob->health.last_error), "%s", why);
    if (dead)
        lt_log_error("outbox: event %s is a dead letter after %d attempts (%s)", d->event.event_id, attempts, why);
    else
        lt_log_warn("outbox: event %s attempt %d failed (%s); next in %lld ms", d->event.event_id, attempts, why,
                    (long long)(next - now));
    lt_pay_outbox_failed(ob->conn, d->event.event_id, attempts, next, dead, why, now, on_recorded, ob);
}

static void on_webhook_answer(void *arg, const lt_upstream_response_t *resp, const lt_error_t *err)
{
    delivery_t *d = arg;
    lt_pay_outbox_t *ob = d->ob;
    d->exchange = NULL;
    ob->inflight--;
    if (resp != NULL && resp->status >= 200 && resp->status < 300) {
        atomic_fetch_add(&ob->svc->webhook_deliveries, 1);
        ob->health.failing = false;
        lt_log_info("outbox: event %s delivered (HTTP %ld)", d->event.event_id, resp->status);
        lt_pay_outbox_delivered(ob->conn, d->event.event_id, lt_pay_now_ms(), on_recorded, ob);
    } else {
        char why[160];
        if (resp != NULL)
            snprintf(why, sizeof(why), "the webhook answered HTTP %ld", resp->status);
        else
            snprintf(why, sizeof(why), "%.150s", err->detail);
        record_failure(d, why);
    }
    unlink_delivery(d);
}

static void deliver(lt_pay_outbox_t *ob, const lt_pay_event_t *ev, const lt_payment_t *p)
{
    delivery_t *d = calloc(1, sizeof(*d));
    d->ob = ob;
    d->event = *ev;
    d->body = lt_pay_webhook_body(ev, p);
    char *sig = d->body ? lt_pay_webhook_signature(ob->svc, d->body, strlen(d->body)) : NULL;
    if (sig == NULL || asprintf(&d->signature_header, "X-Signature: %s", sig) < 0)
        d->signature_header = NULL;
    if (asprintf(&d->event_header, "X-Event-Id: %s", ev->event_id) < 0)
        d->event_header = NULL;
    free(sig);
    d->next = ob->deliveries;
    ob->deliveries = d;
    if (d->signature_header == NULL || d->event_header == NULL) {
        record_failure(d, "out of memory building the delivery");
        unlink_delivery(d);
        return;
    }
    lt_upstream_request_t req = {.method = "POST",
                                 .path = "",
                                 .headers = {"Content-Type: application/json", d->signature_header, d->event_header},
                                 .nheaders = 3,
                                 .body = d->body,
                                 .body_len = strlen(d->body)};
    lt_error_t err;
    d->exchange = lt_upstream_send(ob->client, &ob->svc->webhook_peer, &req, (long)ob->svc->conf->webhook.timeout_ms,
                                   on_webhook_answer, d, &err);
    if (d->exchange == NULL) {
        record_failure(d, err.detail);
        unlink_delivery(d);
        return;
    }
    ob->inflight++;
}

static void on_claimed(void *arg, const lt_pay_list_t *list)
{
    lt_pay_outbox_t *ob = arg;
    ob->claiming = false;
    if (list->outcome != LT_PAY_OK)
        lt_log_warn("outbox: cannot claim events: %s", list->detail);
    for (size_t i = 0; list->outcome == LT_PAY_OK && i < list->n; i++)
        deliver(ob, &list->events[i], &list->payments[i]);
    schedule_poll(ob);
}

static void on_poll(evutil_socket_t fd, short what, void *arg)
{
    lt_pay_outbox_t *ob = arg;
    const lt_payments_conf_t *pc = ob->svc->conf;
    /* One batch at a time: the lease outlives a delivery's timeout, so nothing is sent twice by us. */
    if (ob->inflight > 0 || ob->claiming) {
        schedule_poll(ob);
        return;
    }
    ob->claiming = true;
    int64_t lease = pc->webhook.timeout_ms + 10000;
    lt_pay_outbox_claim(ob->conn, lt_pay_now_ms(), lease, (size_t)pc->webhook.batch, on_claimed, ob);
}

static void on_counts(void *arg, const lt_pay_counts_t *counts)
{
    lt_pay_outbox_t *ob = arg;
    ob->counting = false;
    if (counts->outcome == LT_PAY_OK)
        ob->counts = *counts;
    else
        ob->counts.outcome = counts->outcome;
}

static void on_counts_timer(evutil_socket_t fd, short what, void *arg)
{
    lt_pay_outbox_t *ob = arg;
    if (!ob->counting) {
        ob->counting = true;
        lt_pay_counts(ob->conn, on_counts, ob);
    }
}

lt_pay_outbox_t *lt_pay_outbox_new(lt_pay_service_t *svc, struct event_base *base, lt_pay_conn_t *conn,
                                   lt_upstream_client_t *client)
{
    lt_pay_outbox_t *ob = calloc(1, sizeof(*ob));
    ob->svc = svc;
    ob->base = base;
    ob->conn = conn;
    ob->client = client;
    ob->counts.outcome = LT_PAY_STORE_ERROR; /* until the first count */
    ob->poll_timer = evtimer_new(base, on_poll, ob);
    ob->counts_timer = event_new(base, -1, EV_PERSIST, on_counts_timer, ob);
    struct timeval every = {.tv_sec = COUNTS_EVERY_MS / 1000, .tv_usec = (COUNTS_EVERY_MS % 1000) * 1000};
    event_add(ob->counts_timer, &every);
    event_active(ob->counts_timer, EV_TIMEOUT, 0);
    if (svc->conf->webhook.url != NULL)
        schedule_poll(ob);
    else
        lt_log_warn("payments: no webhook.url: payment events wait in the outbox");
    return ob;
}

void lt_pay_outbox_free(lt_pay_outbox_t *ob)
{
    if (ob == NULL)
        return;
    while (ob->deliveries != NULL) {
        if (ob->deliveries->exchange != NULL)
            lt_upstream_cancel(ob->deliveries->exchange);
        unlink_delivery(ob->deliveries);
    }
    event_free(ob->poll_timer);
    event_free(ob->counts_timer);
    free(ob);
}

const lt_pay_webhook_health_t *lt_pay_outbox_webhook_health(const lt_pay_outbox_t *ob)
{
    return &ob->health;
}

const lt_pay_counts_t *lt_pay_outbox_counts(const lt_pay_outbox_t *ob)
{
    return &ob->counts;
}
