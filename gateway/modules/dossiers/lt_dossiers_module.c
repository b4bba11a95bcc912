/*
 * The dossiers module (lt_module.h): every dossier the one-stop system handles, pushed to the national
 * public-service portal (icd/national-portal.md). Its section is "dossiers". On the main loop it keeps the store
 * and the outbox (its own store conn and upstream client); on each worker, a store conn for the api routes.
 */
#include <event2/event.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lt_config.h"
#include "lt_dos_admin.h"
#include "lt_date.h"
#include "lt_dos_config.h"
#include "lt_dos_fees.h"
#include "lt_dos_indicators.h"
#include "lt_dos_outbox.h"
#include "lt_dos_store.h"
#include "lt_dossiers.h"
#include "lt_log.h"
#include "lt_metrics.h"
#include "lt_module.h"
#include "lt_upstream.h"

typedef struct dos_state {
    const lt_dossiers_conf_t *conf;
    lt_dos_store_t *store;
    lt_dos_conn_t *conn; /* the main loop's: outbox, admin, status */
    lt_upstream_client_t *client;
    lt_dos_outbox_t *outbox;
    lt_dos_ind_t *indicators;
    lt_dos_fees_t *fees;      /* paid payments handed over, listed in their dossiers' fees */
    struct event *scan_timer; /* the next scan of the store for the indicators */
} dos_state_t;

/* ---- the indicators, rebuilt from the store ------------------------------------------------------------- */

#define SCAN_PAGE    500
#define SCAN_RETRY_S 5

static void scan_later(dos_state_t *st, long long seconds)
{
    struct timeval tv = {.tv_sec = (time_t)seconds};
    evtimer_add(st->scan_timer, &tv);
}

/* One page of the store's snapshots into the table, then the next page; a failure tries again from the start. */
static void on_scan_page(void *arg, const lt_dos_list_t *page)
{
    dos_state_t *st = arg;
    if (page->outcome != LT_DOS_OK) {
        lt_log_warn("dossiers: indicators: the store cannot be read (%s); again in %d s", page->detail, SCAN_RETRY_S);
        lt_dos_ind_set_ready(st->indicators, false, "the dossier store could not be read; the figures are partial");
        scan_later(st, SCAN_RETRY_S);
        return;
    }
    for (size_t i = 0; i < page->n; i++) {
        lt_dos_ind_update(st->indicators, page->records[i].dossier_id, page->records[i].number, page->records[i].text);
        lt_dos_ind_note_fees(st->indicators, page->records[i].dossier_id, page->records[i].fees);
    }
    if (page->cursor[0] != '\0') {
        lt_dos_snapshots(st->conn, page->cursor, SCAN_PAGE, on_scan_page, st);
        return;
    }
    lt_dos_ind_set_ready(st->indicators, true, NULL);
    /* With Redis other instances accept PUTs too: scan again now and then to count theirs. */
    if (st->conf->store.backend == LT_DOS_STORE_REDIS && st->conf->indicators.rescan_s > 0)
        scan_later(st, st->conf->indicators.rescan_s);
}

static void on_scan_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    dos_state_t *st = arg;
    lt_dos_snapshots(st->conn, "", SCAN_PAGE, on_scan_page, st);
}

static lt_dos_ind_t *indicators_new(const lt_dossiers_conf_t *conf)
{
    lt_dos_ind_conf_t ic = {
        .online_channel_codes = (const char *const *)conf->indicators.online_channel_codes,
        .online_payment_codes = (const char *const *)conf->indicators.online_payment_codes,
        .top_procedures = (size_t)conf->indicators.top_procedures,
        .top_units = (size_t)conf->indicators.top_units,
    };
    return lt_dos_ind_new(&ic);
}

/* ---- process state and workers ------------------------------------------------------------------- */

/* This instance in the sender's lease: the host and the api listener, the same across restarts. */
static void owner_name(const lt_config_t *config, char *out, size_t n)
{
    char host[256] = "localhost";
    gethostname(host, sizeof(host) - 1);
    snprintf(out, n, "%.200s/%.80s", host, config->api.bind ? config->api.bind : "-");
}

static void kick_outbox(void *outbox)
{
    lt_dos_outbox_kick(outbox);
}

static void dos_take_payment_final(void *state, const lt_payment_final_t *p, lt_payment_final_done_fn done, void *arg)
{
    dos_state_t *st = state;
    lt_dos_fees_take(st->fees, p, done, arg);
}

static void *dos_start(const lt_module_start_t *start, lt_error_t *err)
{
    const lt_dossiers_conf_t *conf = start->conf;
    char *password = lt_dos_config_password(conf, err);
    if (password == NULL)
        return NULL;
    lt_dos_store_t *store = lt_dos_store_open(conf, err);
    if (store == NULL) {
        OPENSSL_cleanse(password, strlen(password));
        free(password);
        return NULL;
    }
    dos_state_t *st = calloc(1, sizeof(*st));
    st->conf = conf;
    st->store = store;
    st->conn = lt_dos_conn_new(store, start->base);
    st->client = lt_upstream_client_new(start->base);
    char owner[300];
    owner_name(start->config, owner, sizeof(owner));
    st->outbox = lt_dos_outbox_new(conf, password, owner, start->base, st->conn, st->client);
    OPENSSL_cleanse(password, strlen(password));
    free(password);
    st->indicators = indicators_new(conf);
    st->fees = lt_dos_fees_new(conf, start->base, st->conn, st->indicators, kick_outbox, st->outbox);
    st->scan_timer = evtimer_new(start->base, on_scan_timer, st);
    scan_later(st, 0); /* rebuilt from the store, on the loop: start-up does not wait for it */
    lt_log_info("dossiers: %s store, portal %s", lt_dos_store_backend(store), conf->portal.url);
    return st;
}

/* After the workers: their conns are gone; then the outbox, the main loop's conn, and the store. */
static void dos_stop(void *state)
{
    dos_state_t *st = state;
    lt_dos_outbox_free(st->outbox);
    event_free(st->scan_timer);
    lt_dos_conn_free(st->conn); /* no scan page or fee listing answers after this */
    lt_dos_fees_free(st->fees);
    lt_upstream_client_free(st->client);
    lt_dos_store_close(st->store);
    lt_dos_ind_free(st->indicators);
    free(st);
}

static void *dos_worker_new(const lt_worker_env_t *env)
{
    dos_state_t *st = env->state;
    lt_dos_worker_t *w = calloc(1, sizeof(*w));
    w->conn = lt_dos_conn_new(st->store, env->base);
    w->indicators = st->indicators;
    return w;
}

static void dos_worker_free(void *worker_ctx)
{
    lt_dos_worker_t *w = worker_ctx;
    lt_dos_conn_free(w->conn);
    free(w);
}

static void dos_admin(void *state, struct evhttp_request *req)
{
    dos_state_t *st = state;
    lt_dos_admin_handle(st->conn, st->outbox, req);
}

/* ---- status and metrics ----------------------------------------------------------------------------- */

static long long int_at(const json_t *obj, const char *a, const char *b)
{
    const json_t *v = json_object_get(obj, a);
    return (long long)json_integer_value(b ? json_object_get(v, b) : v);
}

static const char *str_at(const json_t *obj, const char *a, const char *b)
{
    const char *s = json_string_value(json_object_get(json_object_get(obj, a), b));
    return s ? s : "";
}

static json_t *card_row(const char *label, const char *value)
{
    return json_pack("[s, s]", label, value);
}

/* "2/3 (66.7 %)", or "0/0" when the rate has no denominator. */
static void rate_text(const json_t *fig, const char *part, const char *whole, const char *ratio, char *out, size_t n)
{
    const json_t *r = json_object_get(fig, ratio);
    if (json_is_number(r))
        snprintf(out, n, "%lld/%lld (%.1f %%)", int_at(fig, part, NULL), int_at(fig, whole, NULL),
                 json_number_value(r) * 100);
    else
        snprintf(out, n, "%lld/%lld", int_at(fig, part, NULL), int_at(fig, whole, NULL));
}

/* One group's figures on one line: "15 hồ sơ · dossiers; on time 10/10 (100.0 %); online …; overdue now 2". */
static void group_text(const json_t *fig, char *out, size_t n)
{
    char on_time[64], online[64], paid[64];
    rate_text(fig, "finished_on_time", "finished_with_due", "on_time_rate", on_time, sizeof(on_time));
    rate_text(fig, "online", "dossiers", "online_rate", online, sizeof(online));
    rate_text(fig, "paid_online", "with_fees", "online_payment_rate", paid, sizeof(paid));
    snprintf(out, n,
             "%lld hồ sơ · dossiers; đúng hạn · on time %s; trực tuyến · online %s; thanh toán trực tuyến · "
             "paid online %s; quá hạn · overdue now %lld",
             int_at(fig, "dossiers", NULL), on_time, online, paid, int_at(fig, "overdue", NULL));
}

/* The totals, then one row per procedure and per unit as bounded in the indicators (at most top + 2 each). */
static void indicator_rows(json_t *rows, const json_t *ind)
{
    char text[600];
    const json_t *total = json_object_get(ind, "total");
    rate_text(total, "finished_on_time", "finished_with_due", "on_time_rate", text, sizeof(text));
    json_array_append_new(rows, card_row("Đúng hạn · On time", text));
    rate_text(total, "online", "dossiers", "online_rate", text, sizeof(text));
    json_array_append_new(rows, card_row("Trực tuyến · Online", text));
    rate_text(total, "paid_online", "with_fees", "online_payment_rate", text, sizeof(text));
    json_array_append_new(rows, card_row("Thanh toán trực tuyến · Paid online", text));
    snprintf(text, sizeof(text), "%lld", int_at(total, "overdue", NULL));
    json_array_append_new(rows, card_row("Quá hạn · Overdue now", text));
    static const char *const dims[][3] = {{"by_procedure", "procedure", "Thủ tục · Procedure"},
                                          {"by_unit", "unit", "Đơn vị · Unit"}};
    for (int d = 0; d < 2; d++) {
        size_t i;
        const json_t *row;
        json_array_foreach(json_object_get(ind, dims[d][0]), i, row)
        {
            char label[600];
            const char *name = json_string_value(json_object_get(row, dims[d][1]));
            snprintf(label, sizeof(label), "%s %s", dims[d][2], name ? name : "");
            group_text(row, text, sizeof(text));
            json_array_append_new(rows, card_row(label, text));
        }
    }
    if (!json_is_true(json_object_get(ind, "ready")))
        json_array_append_new(rows, card_row("Chỉ số · Indicators", "đang tính · being rebuilt from the store"));
}

static json_t *status_card(const json_t *d, const char *backend)
{
    char text[400];
    json_t *rows = json_array();
    json_array_append_new(
        rows, card_row("Kho · Store", json_is_true(json_object_get(d, "store_ok")) ? "ok" : "lỗi · unavailable"));
    snprintf(text, sizeof(text), "%lld", int_at(d, "dossiers", NULL));
    json_array_append_new(rows, card_row("Hồ sơ · Dossiers", text));
    const json_t *ob = json_object_get(d, "outbox");
    snprintf(text, sizeof(text),
             "%lld hồ sơ · snapshots, %lld bước · steps, %lld hỏng · dead letters, cũ nhất · "
             "oldest %.0f s",
             int_at(d, "outbox", "snapshots_pending"), int_at(d, "outbox", "steps_pending"),
             int_at(d, "outbox", "dead_letters"), json_number_value(json_object_get(ob, "oldest_pending_age_s")));
    json_array_append_new(rows, card_row("Chờ gửi · Outbox", text));
    const char *last_error = str_at(d, "portal", "last_error"), *last_ok = str_at(d, "portal", "last_success");
    snprintf(text, sizeof(text), "thành công gần nhất · last success %s", last_ok[0] ? last_ok : "-");
    json_array_append_new(rows, card_row("Cổng quốc gia · Portal", text));
    if (last_error[0])
        json_array_append_new(rows, card_row("Lỗi gần nhất · Last error", last_error));
    indicator_rows(rows, json_object_get(d, "indicators"));
    return json_pack("{s:s, s:o}", "subtitle", backend, "rows", rows);
}

/* Red while the store cannot answer; amber while records are dead letters, or while the portal keeps failing. */
static void dos_status(void *state, json_t *out)
{
    dos_state_t *st = state;
    lt_dos_outbox_summary(st->outbox, out);
    json_object_set_new(out, "backend", json_string(lt_dos_store_backend(st->store)));
    json_object_set_new(out, "indicators", lt_dos_ind_json(st->indicators, time(NULL)));
    bool store_ok = json_is_true(json_object_get(out, "store_ok")) && lt_dos_store_ok(st->store);
    json_object_set_new(out, "store_ok", json_boolean(store_ok));
    long long dead = int_at(out, "outbox", "dead_letters");
    long long failures = int_at(out, "portal", "failures_in_row");
    const char *example = json_string_value(json_object_get(json_object_get(out, "outbox"), "dead_letter_example"));
    if (!store_ok) {
        json_object_set_new(out, "color", json_string("red"));
        json_object_set_new(out, "reason", json_string("the dossier store is unavailable"));
    } else if (dead > 0) {
        json_object_set_new(out, "color", json_string("amber"));
        json_object_set_new(out, "reason",
                            json_sprintf("%lld record(s) refused by the portal (dead letters)%s%s", dead,
                                         example ? "; the oldest: " : "", example ? example : ""));
    } else if (failures > 0 && int_at(out, "outbox", "due") > 0) {
        json_object_set_new(out, "color", json_string("amber"));
        json_object_set_new(
            out, "reason",
            json_sprintf("the portal is failing (%lld in a row): %s", failures, str_at(out, "portal", "last_error")));
    } else {
        json_object_set_new(out, "color", json_string("green"));
    }
    json_object_set_new(out, "card", status_card(out, lt_dos_store_backend(st->store)));
}

/* The counts of a figures object, in this order, and the three rates with their parts. */
static const char *const figure_names[] = {"dossiers",         "finished", "finished_with_due",
                                           "finished_on_time", "online",   "with_fees",
                                           "paid_online",      "overdue",  NULL};
static const char *const rate_names[][2] = {
    {"on_time", "on_time_rate"}, {"online", "online_rate"}, {"online_payment", "online_payment_rate"}, {NULL, NULL}};

static void indicator_labels(lt_buf_t *b, const char *by, const char *group)
{
    lt_buf_printf(b, "by=\"%s\",group=\"", by);
    lt_mbuf_label_value(b, group);
    lt_buf_printf(b, "\"");
}

static void indicator_series(lt_buf_t *b, bool ratios, const char *by, const char *group, const json_t *fig)
{
    if (ratios) {
        for (int i = 0; rate_names[i][0] != NULL; i++) {
            const json_t *r = json_object_get(fig, rate_names[i][1]);
            if (!json_is_number(r))
                continue; /* no denominator: no rate, rather than a made-up 0 */
            lt_buf_printf(b, "lienthong_dossier_indicator_ratio{indicator=\"%s\",", rate_names[i][0]);
            indicator_labels(b, by, group);
            lt_buf_printf(b, "} %.6f\n", json_number_value(r));
        }
        return;
    }
    for (int i = 0; figure_names[i] != NULL; i++) {
        lt_buf_printf(b, "lienthong_dossier_indicator_dossiers{figure=\"%s\",", figure_names[i]);
        indicator_labels(b, by, group);
        lt_buf_printf(b, "} %lld\n", int_at(fig, figure_names[i], NULL));
    }
}

/* The indicators: the total (group "all"), then per procedure and per unit, bounded (lt_dos_indicators.h). */
static void indicator_metrics(lt_buf_t *b, const json_t *ind)
{
    lt_mbuf_family(b, "lienthong_dossier_indicators_ready", "gauge",
                   "1 once the indicators were rebuilt from the store since start-up (0: partial figures).");
    lt_buf_printf(b, "lienthong_dossier_indicators_ready %d\n", json_is_true(json_object_get(ind, "ready")) ? 1 : 0);
    static const char *const families[] = {"lienthong_dossier_indicator_dossiers", "lienthong_dossier_indicator_ratio"};
    static const char *const helps[] = {
        "Dossiers counted by the province's indicators, by figure, in total (by=\"total\") or by procedure or "
        "processing unit (the largest ones; the rest is group=\"other\", those without one \"none\").",
        "The on-time, online and online-payment rates (0 to 1), with the same labels; absent without a denominator."};
    for (int f = 0; f < 2; f++) {
        lt_mbuf_family(b, families[f], "gauge", helps[f]);
        indicator_series(b, f == 1, "total", "all", json_object_get(ind, "total"));
        static const char *const dims[][2] = {{"procedure", "by_procedure"}, {"unit", "by_unit"}};
        for (int d = 0; d < 2; d++) {
            size_t i;
            const json_t *row;
            json_array_foreach(json_object_get(ind, dims[d][1]), i, row)
            {
                indicator_series(b, f == 1, dims[d][0], json_string_value(json_object_get(row, dims[d][0])), row);
            }
        }
    }
}

static void dos_metrics(void *state, lt_buf_t *b)
{
    dos_state_t *st = state;
    json_t *d = json_object();
    lt_dos_outbox_summary(st->outbox, d);
    const json_t *ob = json_object_get(d, "outbox");
    lt_mbuf_family(b, "lienthong_dossiers", "gauge", "Dossiers in the store.");
    lt_buf_printf(b, "lienthong_dossiers %lld\n", int_at(d, "dossiers", NULL));
    lt_mbuf_family(b, "lienthong_dossier_outbox_backlog", "gauge",
                   "Records accepted and not yet acknowledged by the portal (dead letters apart), by kind.");
    lt_buf_printf(b, "lienthong_dossier_outbox_backlog{kind=\"snapshot\"} %lld\n",
                  int_at(d, "outbox", "snapshots_pending"));
    lt_buf_printf(b, "lienthong_dossier_outbox_backlog{kind=\"step\"} %lld\n", int_at(d, "outbox", "steps_pending"));
    lt_mbuf_family(b, "lienthong_dossier_outbox_due", "gauge",
                   "Records the next calls would send now (the rest wait for a gap or the dossier).");
    lt_buf_printf(b, "lienthong_dossier_outbox_due %lld\n", int_at(d, "outbox", "due"));
    lt_mbuf_family(b, "lienthong_dossier_outbox_dead_letters", "gauge",
                   "Records the portal refused, set aside until re-driven (lienthong-ctl dossiers redrive), by kind.");
    long long dead = int_at(d, "outbox", "dead_letters"), dead_steps = int_at(d, "outbox", "steps_dead");
    lt_buf_printf(b, "lienthong_dossier_outbox_dead_letters{kind=\"snapshot\"} %lld\n", dead - dead_steps);
    lt_buf_printf(b, "lienthong_dossier_outbox_dead_letters{kind=\"step\"} %lld\n", dead_steps);
    lt_mbuf_family(b, "lienthong_dossier_outbox_oldest_pending_seconds", "gauge",
                   "Age of the oldest record waiting for the portal.");
    lt_buf_printf(b, "lienthong_dossier_outbox_oldest_pending_seconds %.0f\n",
                  json_number_value(json_object_get(ob, "oldest_pending_age_s")));
    lt_mbuf_family(b, "lienthong_dossier_portal_calls_total", "counter",
                   "Calls to the national public-service portal, by service and outcome.");
    const char *service, *outcome;
    json_t *by, *n;
    json_object_foreach(json_object_get(d, "calls"), service, by)
    {
        json_object_foreach(by, outcome, n)
        {
            lt_buf_printf(b, "lienthong_dossier_portal_calls_total{service=\"%s\",outcome=\"%s\"} %lld\n", service,
                          outcome, (long long)json_integer_value(n));
        }
    }
    lt_mbuf_family(b, "lienthong_dossier_records_total", "counter",
                   "Records the portal acknowledged (delivered) or refused (dead_lettered), by kind.");
    const json_t *rec = json_object_get(d, "records");
    static const char *const results[] = {"delivered", "dead_lettered"};
    for (int i = 0; i < 2; i++) {
        const json_t *r = json_object_get(rec, results[i]);
        lt_buf_printf(b, "lienthong_dossier_records_total{result=\"%s\",kind=\"snapshot\"} %lld\n", results[i],
                      (long long)json_integer_value(json_object_get(r, "snapshots")));
        lt_buf_printf(b, "lienthong_dossier_records_total{result=\"%s\",kind=\"step\"} %lld\n", results[i],
                      (long long)json_integer_value(json_object_get(r, "steps")));
    }
    json_decref(d);
    json_t *ind = lt_dos_ind_json(st->indicators, time(NULL));
    indicator_metrics(b, ind);
    json_decref(ind);
}

/* ---- the table entry --------------------------------------------------------------------------------------- */

static const lt_module_route_t dos_routes[] = {
    {.listener = LT_LISTENER_API,
     .path = LT_DOSSIERS_COLLECTION,
     .prefix = true,
     .permission = "dossiers",
     .handle = lt_dossiers_handle},
    {.handle = NULL},
};

const lt_module_t lt_dossiers_module = {
    .name = "dossiers",
    .title = "Hồ sơ · Dossiers",
    .section = "dossiers",
    .conf_load = lt_dos_config_load,
    .conf_check = lt_dos_config_check,
    .conf_free = lt_dos_config_free,
    .start = dos_start,
    .stop = dos_stop,
    .worker_new = dos_worker_new,
    .worker_free = dos_worker_free,
    .routes = dos_routes,
    .admin_prefix = LT_DOS_ADMIN_PREFIX,
    .admin = dos_admin,
    .status = dos_status,
    .metrics = dos_metrics,
    .take_payment_final = dos_take_payment_final,
};
