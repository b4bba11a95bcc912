/* The main loop's payments: outbox, reconciliation, and the admin view of them. */
#include "lt_pay_runtime.h"

#include <event2/buffer.h>
#include <event2/keyvalq_struct.h>
#include <stdlib.h>
#include <string.h>

#include "lt_log.h"
#include "lt_pay_outbox.h"
#include "lt_pay_reconcile.h"
#include "lt_pay_report.h"
#include "lt_upstream.h"

#define OUTBOX_PATH "/payments/outbox"
#define LIST_MAX    1000

struct lt_pay_runtime {
    lt_pay_service_t *svc;
    lt_pay_conn_t *conn;
    lt_upstream_client_t *client;
    lt_pay_outbox_t *outbox;
    lt_pay_reconciler_t *reconciler;
    lt_pay_reporter_t *reporter; /* paid payments to their dossiers' fee lists */
};

lt_pay_runtime_t *lt_pay_runtime_new(lt_pay_service_t *svc, struct event_base *base, const lt_module_peers_t *peers)
{
    lt_pay_runtime_t *rt = calloc(1, sizeof(*rt));
    rt->svc = svc;
    rt->conn = lt_pay_conn_new(svc->store, base);
    rt->client = lt_upstream_client_new(base);
    rt->outbox = lt_pay_outbox_new(svc, base, rt->conn, rt->client);
    rt->reconciler = lt_pay_reconciler_new(svc, base, rt->conn, rt->client);
    rt->reporter = lt_pay_reporter_new(svc, base, rt->conn, peers);
    return rt;
}

void lt_pay_runtime_free(lt_pay_runtime_t *rt)
{
    if (rt == NULL)
        return;
    lt_pay_outbox_free(rt->outbox);
    lt_pay_reconciler_free(rt->reconciler);
    lt_pay_reporter_free(rt->reporter);
    lt_pay_conn_free(rt->conn); /* after the users of its callbacks: none is called after this */
    lt_upstream_client_free(rt->client);
    free(rt);
}

void lt_pay_runtime_summary(void *arg, json_t *out)
{
    lt_pay_runtime_t *rt = arg;
    const lt_pay_counts_t *c = lt_pay_outbox_counts(rt->outbox);
    json_t *by_state = json_object(), *answers = json_object();
    for (int s = 0; s < LT_PAY_NSTATES; s++)
        json_object_set_new(by_state, lt_pay_state_name((lt_pay_state_t)s), json_integer(c->by_state[s]));
    for (int i = 0; i < LT_RSP_COUNT; i++)
        json_object_set_new(answers, lt_ipn_rsp_code((lt_ipn_rsp_t)i),
                            json_integer(atomic_load(&rt->svc->ipn_answers[i])));
    double oldest =
        c->oldest_backlog_created_ms > 0 ? (double)(lt_pay_now_ms() - c->oldest_backlog_created_ms) / 1e3 : 0.0;
    json_object_set_new(out, "backend", json_string(lt_pay_store_backend(rt->svc->store)));
    json_object_set_new(out, "store_ok", json_boolean(lt_pay_store_ok(rt->svc->store) && c->outcome == LT_PAY_OK));
    json_object_set_new(out, "by_state", by_state);
    json_t *redis = lt_pay_store_redis_status(rt->svc->store);
    if (redis != NULL)
        json_object_set_new(out, "redis", redis);
    json_object_set_new(out, "outbox",
                        json_pack("{s:I, s:I, s:f, s:b}", "backlog", (json_int_t)c->outbox_backlog, "dead_letters",
                                  (json_int_t)c->dead_letters, "oldest_backlog_age_s", oldest, "webhook_configured",
                                  rt->svc->conf->webhook.url != NULL));
    json_object_set_new(out, "ipn_answers", answers);
    json_object_set_new(out, "dossier_reports_owed", json_integer(c->dossier_reports_owed));
    const lt_pay_webhook_health_t *wh = lt_pay_outbox_webhook_health(rt->outbox);
    json_t *webhook = json_pack("{s:I, s:I, s:b}", "delivered", (json_int_t)atomic_load(&rt->svc->webhook_deliveries),
                                "failed", (json_int_t)atomic_load(&rt->svc->webhook_failures), "failing", wh->failing);
    if (wh->last_error_at_ms > 0) {
        char at[32];
        lt_pay_iso_time(wh->last_error_at_ms, at);
        json_object_set_new(webhook, "last_error", json_pack("{s:s, s:s}", "at", at, "detail", wh->last_error));
    }
    json_object_set_new(out, "webhook", webhook);
    json_object_set_new(out, "reconciled", json_integer(atomic_load(&rt->svc->reconciled)));
}

/* ---- admin routes ------------------------------------------------------------ */

static void send_json(struct evhttp_request *req, int status, json_t *body, const char *content_type)
{
    char *text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    struct evbuffer *buf = evbuffer_new();
    evbuffer_add(buf, text, strlen(text));
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", content_type);
    evhttp_send_reply(req, status, NULL, buf);
    evbuffer_free(buf);
    free(text);
}

static void send_problem(struct evhttp_request *req, int status, const char *title, const char *detail)
{
    send_json(
        req, status,
        json_pack("{s:s, s:s, s:i, s:s}", "type", "about:blank", "title", title, "status", status, "detail", detail),
        "application/problem+json");
}

static json_t *event_json(const lt_pay_event_t *ev)
{
    char next[32];
    lt_pay_iso_time(ev->next_attempt_at_ms, next);
    return json_pack("{s:s, s:s, s:s, s:s, s:i, s:s, s:s}", "event_id", ev->event_id, "event", ev->type, "payment_id",
                     ev->payment_id, "state", lt_event_state_name(ev->state), "attempts", ev->attempts,
                     "next_attempt_at", next, "last_error", ev->last_error);
}

/* Admin requests are answered even if the operator's client left: evhttp owns the request until it is sent. */
static void on_listed(void *arg, const lt_pay_list_t *list)
{
    struct evhttp_request *req = arg;
    if (list->outcome != LT_PAY_OK) {
        send_problem(req, 503, "Service Unavailable", list->detail);
        return;
    }
    json_t *events = json_array();
    for (size_t i = 0; i < list->n; i++)
        json_array_append_new(events, event_json(&list->events[i]));
    send_json(req, 200, json_pack("{s:o}", "events", events), "application/json");
}

static void on_redriven(void *arg, const lt_pay_result_t *res)
{
    struct evhttp_request *req = arg;
    /* The admin listener logged who asked (and the path, with the event id); this says what it changed. */
    if (res->outcome == LT_PAY_OK)
        lt_log_info("payments: outbox event %s re-driven by an operator: pending again, attempts reset",
                    res->event.event_id);
    else
        lt_log_warn("payments: outbox re-drive changed nothing: %s",
                    res->outcome == LT_PAY_NOT_FOUND ? "no dead letter with this event id" : res->detail);
    if (res->outcome == LT_PAY_OK)
        send_json(req, 200, json_pack("{s:s, s:s}", "event_id", res->event.event_id, "state", "pending"),
                  "application/json");
    else if (res->outcome == LT_PAY_NOT_FOUND)
        send_problem(req, 404, "Not Found", "no dead letter with this event id");
    else
        send_problem(req, 503, "Service Unavailable", res->detail);
}

static int state_filter(struct evhttp_request *req)
{
    struct evkeyvalq q;
    const char *query = evhttp_uri_get_query(evhttp_request_get_evhttp_uri(req));
    int state = -2;
    if (query == NULL)
        return LT_EVENT_PENDING;
    if (evhttp_parse_query_str(query, &q) != 0)
        return -2;
    const char *s = evhttp_find_header(&q, "state");
    if (s == NULL || strcmp(s, "pending") == 0)
        state = LT_EVENT_PENDING;
    else if (strcmp(s, "dead") == 0)
        state = LT_EVENT_DEAD;
    else if (strcmp(s, "all") == 0)
        state = -1;
    evhttp_clear_headers(&q);
    return state;
}

void lt_pay_runtime_admin(void *arg, struct evhttp_request *req)
{
    lt_pay_runtime_t *rt = arg;
    const char *path = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(req));
    enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
    const char *suffix = "/redrive";
    size_t plen = strlen(OUTBOX_PATH), n = path ? strlen(path) : 0;
    if (path != NULL && strcmp(path, OUTBOX_PATH) == 0 && cmd == EVHTTP_REQ_GET) {
        int state = state_filter(req);
        if (state == -2)
            send_problem(req, 400, "Bad Request", "state must be pending, dead or all");
        else
            lt_pay_outbox_list(rt->conn, state, LIST_MAX, on_listed, req);
    } else if (path != NULL && cmd == EVHTTP_REQ_POST && n > plen + 1 + strlen(suffix) &&
               strncmp(path, OUTBOX_PATH "/", plen + 1) == 0 && strcmp(path + n - strlen(suffix), suffix) == 0) {
        char id[LT_PAY_ID_MAX + 16];
        size_t idlen = n - plen - 1 - strlen(suffix);
        if (idlen >= sizeof(id) || memchr(path + plen + 1, '/', idlen) != NULL) {
            send_problem(req, 404, "Not Found", "no dead letter with this event id");
            return;
        }
        memcpy(id, path + plen + 1, idlen);
        id[idlen] = '\0';
        lt_pay_outbox_redrive(rt->conn, id, lt_pay_now_ms(), on_redriven, req);
    } else {
        send_problem(req, 404, "Not Found", "no such payments route");
    }
}
