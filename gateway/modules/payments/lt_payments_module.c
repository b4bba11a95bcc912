/*
 * The payments module (lt_module.h): fee payments through the national
 * payment gateway. Its section is "payments" and its listener is "callbacks"
 * (the IPN and citizens' browsers, server certificate only). On the main loop
 * it keeps the service (secrets and store) and the runtime (outbox and
 * reconciliation); on each worker, a store conn for its handlers.
 */
#include <stdio.h>
#include <stdlib.h>

#include "lt_callbacks.h"
#include "lt_client.h"
#include "lt_config.h"
#include "lt_log.h"
#include "lt_metrics.h"
#include "lt_module.h"
#include "lt_pay_config.h"
#include "lt_pay_runtime.h"
#include "lt_pay_service.h"
#include "lt_pay_store.h"
#include "lt_pay_worker.h"
#include "lt_payments.h"
#include "lt_redis.h"

typedef struct pay_state {
    lt_pay_service_t *svc;
    lt_pay_runtime_t *runtime;
} pay_state_t;

/* ---- process state and workers ------------------------------------------------------------- */

/* A client that may take payments but lists no return_url host has every payment refused (400): say so now. */
static void warn_clients_without_return_hosts(const lt_config_t *config)
{
    for (size_t i = 0; i < config->nclients; i++) {
        const lt_client_conf_t *cl = &config->clients[i];
        if (lt_client_allows(cl, "payments") && cl->nreturn_url_hosts == 0)
            lt_log_warn("payments: client '%s' may create payments but clients.%s.return_url_hosts lists no host: "
                        "its payments will be refused (400 invalid_return_url)",
                        cl->id, cl->id);
    }
}

/* The store (journal replay, or Redis), then the main loop's outbox and reconciliation. */
static void *pay_start(const lt_module_start_t *start, lt_error_t *err)
{
    lt_pay_service_t *svc = lt_pay_service_new(start->conf, &start->config->cache, err);
    if (svc == NULL)
        return NULL;
    pay_state_t *st = calloc(1, sizeof(*st));
    st->svc = svc;
    st->runtime = lt_pay_runtime_new(svc, start->base, start->peers);
    const lt_module_listener_conf_t *cb = lt_config_listener(start->config, "callbacks");
    lt_log_info("payments: %s store, callbacks on %s", lt_pay_store_backend(svc->store), cb ? cb->conf.bind : "-");
    warn_clients_without_return_hosts(start->config);
    return st;
}

/* After the workers: their store conns are gone, then the main loop's, then the store. */
static void pay_stop(void *state)
{
    pay_state_t *st = state;
    lt_pay_runtime_free(st->runtime);
    lt_pay_service_free(st->svc);
    free(st);
}

static void *pay_worker_new(const lt_worker_env_t *env)
{
    pay_state_t *st = env->state;
    lt_pay_worker_t *w = calloc(1, sizeof(*w));
    w->svc = st->svc;
    w->conn = lt_pay_conn_new(st->svc->store, env->base);
    w->base = env->base;
    return w;
}

static void pay_worker_free(void *worker_ctx)
{
    lt_pay_worker_t *w = worker_ctx;
    lt_pay_conn_free(w->conn);
    free(w);
}

static void pay_admin(void *state, struct evhttp_request *req)
{
    pay_state_t *st = state;
    lt_pay_runtime_admin(st->runtime, req);
}

/* ---- status and metrics -------------------------------------------------------------------------- */

static long long int_at(const json_t *obj, const char *a, const char *b)
{
    const json_t *v = json_object_get(obj, a);
    return (long long)json_integer_value(b ? json_object_get(v, b) : v);
}

static json_t *card_row(const char *label, const char *value)
{
    return json_pack("[s, s]", label, value);
}

/* The page's card: the store, the outbox, and the payments by state. */
static json_t *status_card(const json_t *p)
{
    char text[200];
    json_t *rows = json_array();
    json_array_append_new(
        rows, card_row("Kho · Store", json_is_true(json_object_get(p, "store_ok")) ? "ok" : "lỗi · unavailable"));
    snprintf(text, sizeof(text), "%lld chờ · backlog, %lld hỏng · dead letters, cũ nhất · oldest %.0f s",
             int_at(p, "outbox", "backlog"), int_at(p, "outbox", "dead_letters"),
             json_number_value(json_object_get(json_object_get(p, "outbox"), "oldest_backlog_age_s")));
    json_array_append_new(rows, card_row("Hộp thư đi · Outbox", text));
    const json_t *redis = json_object_get(p, "redis");
    if (json_is_true(json_object_get(redis, "sentinels"))) {
        const json_t *primary = json_object_get(redis, "primary"), *role = json_object_get(redis, "role");
        const json_t *since = json_object_get(redis, "seconds_since_failover");
        snprintf(text, sizeof(text), "%s (%s), %lld chuyển đổi · failovers",
                 json_is_string(primary) ? json_string_value(primary) : "?",
                 json_is_string(role) ? json_string_value(role) : "?",
                 (long long)json_integer_value(json_object_get(redis, "failovers")));
        json_array_append_new(rows, card_row("Redis chính · Redis primary", text));
        if (json_is_number(since)) {
            snprintf(text, sizeof(text), "%.0f s", json_number_value(since));
            json_array_append_new(rows, card_row("Từ lần chuyển gần nhất · Since the last failover", text));
        }
    }
    const json_t *webhook = json_object_get(p, "webhook"), *last_error = json_object_get(webhook, "last_error");
    if (last_error != NULL) {
        snprintf(text, sizeof(text), "%s (%s)", json_string_value(json_object_get(last_error, "detail")),
                 json_string_value(json_object_get(last_error, "at")));
        json_array_append_new(rows, card_row("Lỗi webhook gần nhất · Last webhook error", text));
    }
    const char *k;
    json_t *v;
    json_object_foreach(json_object_get(p, "by_state"), k, v)
    {
        snprintf(text, sizeof(text), "%lld", (long long)json_integer_value(v));
        json_array_append_new(rows, card_row(k, text));
    }
    return json_pack("{s:s, s:o}", "subtitle", json_string_value(json_object_get(p, "backend")), "rows", rows);
}

/* Red while the store cannot answer; amber while webhook events gave up (dead letters). */
static void pay_status(void *state, json_t *out)
{
    pay_state_t *st = state;
    lt_pay_runtime_summary(st->runtime, out);
    long long dead = int_at(out, "outbox", "dead_letters");
    const json_t *webhook = json_object_get(out, "webhook"), *last_error = json_object_get(webhook, "last_error");
    if (json_is_false(json_object_get(out, "store_ok"))) {
        json_object_set_new(out, "color", json_string("red"));
        json_object_set_new(out, "reason", json_string("the payment store is unavailable"));
    } else if (dead > 0) {
        json_object_set_new(out, "color", json_string("amber"));
        json_object_set_new(out, "reason", json_sprintf("%lld webhook event(s) gave up (dead letters)", dead));
    } else if (json_is_true(json_object_get(webhook, "failing"))) {
        json_object_set_new(out, "color", json_string("amber"));
        json_object_set_new(out, "reason",
                            json_sprintf("the portal's webhook is failing: %s",
                                         json_string_value(json_object_get(last_error, "detail"))));
    } else {
        json_object_set_new(out, "color", json_string("green"));
    }
    json_object_set_new(out, "card", status_card(out));
}

static void render_by_key(lt_buf_t *b, const char *family, const char *label, const json_t *obj)
{
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)obj, k, v)
    {
        lt_buf_printf(b, "%s{%s=\"", family, label);
        lt_mbuf_label_value(b, k);
        lt_buf_printf(b, "\"} %lld\n", (long long)json_integer_value(v));
    }
}

/* With Sentinels: the primary the store's connections reached, the failovers they followed, and the outcomes
 * refused because too few replicas confirmed them. */
static void render_store_redis(lt_buf_t *b, const json_t *redis)
{
    if (!json_is_true(json_object_get(redis, "sentinels")))
        return;
    lt_redis_stats_metrics(b, "lienthong_payment_redis", "the payment store's", redis);
    lt_mbuf_family(b, "lienthong_payment_redis_wait_shortfalls_total", "counter",
                   "Payment store writes refused because WAIT confirmed too few replicas (the IPN answered 99).");
    lt_buf_printf(b, "lienthong_payment_redis_wait_shortfalls_total %lld\n",
                  (long long)json_integer_value(json_object_get(redis, "wait_shortfalls")));
}

static void pay_metrics(void *state, lt_buf_t *b)
{
    pay_state_t *st = state;
    json_t *p = json_object();
    lt_pay_runtime_summary(st->runtime, p);
    lt_mbuf_family(b, "lienthong_payments", "gauge", "Payments in the store, by state.");
    render_by_key(b, "lienthong_payments", "state", json_object_get(p, "by_state"));
    lt_mbuf_family(b, "lienthong_payment_outbox_backlog", "gauge", "Webhook events waiting to be delivered.");
    lt_buf_printf(b, "lienthong_payment_outbox_backlog %lld\n", int_at(p, "outbox", "backlog"));
    lt_mbuf_family(b, "lienthong_payment_outbox_dead_letters", "gauge",
                   "Webhook events that gave up after every attempt (redrive them with lienthong-ctl).");
    lt_buf_printf(b, "lienthong_payment_outbox_dead_letters %lld\n", int_at(p, "outbox", "dead_letters"));
    lt_mbuf_family(b, "lienthong_payment_dossier_reports_owed", "gauge",
                   "Paid payments not yet listed in their dossier's fees (the dossiers module keeps them).");
    lt_buf_printf(b, "lienthong_payment_dossier_reports_owed %lld\n", int_at(p, "dossier_reports_owed", NULL));
    lt_mbuf_family(b, "lienthong_payment_ipn_answers_total", "counter",
                   "IPN callbacks answered, by the RspCode of the answer.");
    render_by_key(b, "lienthong_payment_ipn_answers_total", "rsp_code", json_object_get(p, "ipn_answers"));
    render_store_redis(b, json_object_get(p, "redis"));
    json_decref(p);
}

/* ---- the table entry ------------------------------------------------------------------------------ */

static const lt_module_listener_t pay_listeners[] = {
    {.name = "callbacks", .default_bind = "0.0.0.0:8444"},
    {.name = NULL},
};

static const lt_module_route_t pay_routes[] = {
    {.listener = LT_LISTENER_API,
     .path = LT_PAYMENTS_COLLECTION,
     .prefix = true,
     .permission = "payments",
     .personal_data = true,
     .handle = lt_payments_handle},
    /* Every path of its own listener: lt_callbacks answers unknown paths and methods as the payment gateway
     * expects (plain text). */
    {.listener = "callbacks", .path = "/", .prefix = true, .handle = lt_callbacks_handle},
    {.handle = NULL},
};

const lt_module_t lt_payments_module = {
    .name = "payments",
    .title = "Thanh toán · Payments",
    .section = "payments",
    .conf_load = lt_pay_config_load,
    .conf_check = lt_pay_config_check,
    .conf_free = lt_pay_config_free,
    .listeners = pay_listeners,
    .start = pay_start,
    .stop = pay_stop,
    .worker_new = pay_worker_new,
    .worker_free = pay_worker_free,
    .routes = pay_routes,
    .admin_prefix = "/payments/",
    .admin = pay_admin,
    .status = pay_status,
    .metrics = pay_metrics,
};
