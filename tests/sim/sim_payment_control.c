/*
 * sim_payment_control: the payment simulator's control verbs, under
 * /control/payment/ beside stats, faults and reset (which also forgets every
 * transaction, stops every IPN delivery and restores the command line's IPN
 * settings):
 *
 *   GET  transactions[?txn_ref=R]  {"transactions":[...]}: each with its state, result and IPN attempts
 *   GET  config                    the terminal and the IPN settings
 *   POST config                    {"ipn_urls":[...],"duplicates":N,"concurrent_urls":B,
 *                                   "ipn_retry_delays_ms":[...],"ipn_timeout_ms":N}, any subset; answers as GET
 *   POST complete                  {"txn_ref","response_code","transaction_status"?,"bank_code"?,"send_ipn"?}
 *   POST ipn                       {"txn_ref"}: one more IPN delivery of a completed transaction
 */
#include "sim_json.h"
#include "sim_payment_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SIM_PAY_MAX_DUPLICATES 100
#define SIM_PAY_MAX_DELAY_MS   86400000L /* one day */
#define SIM_PAY_MIN_TIMEOUT_MS 50L
#define SIM_PAY_MAX_TIMEOUT_MS 600000L

/* ---- transactions as JSON ---- */

static json_t *sim_pay_attempt_json(const sim_pay_attempt_t *a)
{
    char at[SIM_CLOCK_ISO_LEN + 1];
    sim_clock_iso(a->at_ms, at);
    json_t *j = json_object();
    json_object_set_new(j, "chain", json_integer(a->chain));
    json_object_set_new(j, "attempt", json_integer(a->attempt));
    json_object_set_new(j, "duplicate", json_boolean(a->duplicate));
    json_object_set_new(j, "url", json_string(a->url));
    json_object_set_new(j, "at", json_string(at));
    json_object_set_new(j, "duration_ms", json_integer(a->duration_ms));
    json_object_set_new(j, "http_status", a->http_status ? json_integer(a->http_status) : json_null());
    json_object_set_new(j, "rsp_code", a->rsp_code[0] ? json_string(a->rsp_code) : json_null());
    json_object_set_new(j, "message", json_string(a->message));
    json_object_set_new(j, "error", a->error[0] ? json_string(a->error) : json_null());
    json_object_set_new(j, "accepted", json_boolean(a->accepted));
    return j;
}

/* none: never sent; sending: a delivery runs or waits to retry; delivered: an answer counted; gave_up: none did. */
static const char *sim_pay_ipn_state(const sim_pay_state_t *st, const sim_pay_txn_t *t)
{
    if (st->ipn != NULL && sim_ipn_active(st->ipn, t->txn_ref) > 0)
        return "sending";
    for (size_t i = 0; i < t->n_attempts; i++)
        if (t->attempts[i].accepted)
            return "delivered";
    return t->n_attempts ? "gave_up" : "none";
}

static json_t *sim_pay_ipn_json(const sim_pay_state_t *st, const sim_pay_txn_t *t)
{
    json_t *attempts = json_array();
    for (size_t i = 0; i < t->n_attempts; i++)
        json_array_append_new(attempts, sim_pay_attempt_json(&t->attempts[i]));
    return json_pack("{s:s,s:i,s:o}", "state", sim_pay_ipn_state(st, t), "deliveries", (int)t->chains, "attempts",
                     attempts);
}

static json_t *sim_pay_result_json(const sim_pay_txn_t *t)
{
    if (!t->completed)
        return json_null();
    const sim_pay_result_t *r = &t->result;
    char *redirect = sim_pay_redirect_url(t);
    json_t *j = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "response_code", r->response_code,
                          "transaction_status", r->transaction_status, "transaction_no", r->transaction_no, "pay_date",
                          r->pay_date, "bank_code", r->bank_code, "bank_tran_no", r->bank_tran_no, "card_type",
                          r->card_type, "query", r->query, "redirect_url", redirect);
    free(redirect);
    return j;
}

static json_t *sim_pay_txn_json(const sim_pay_state_t *st, const sim_pay_txn_t *t)
{
    char created[SIM_CLOCK_ISO_LEN + 1];
    sim_clock_iso(t->created_ms, created);
    json_t *j = json_object();
    json_object_set_new(j, "txn_ref", json_string(t->txn_ref));
    json_object_set_new(j, "state", json_string(t->completed ? "completed" : "pending"));
    json_object_set_new(j, "amount", json_string(t->amount));
    json_object_set_new(j, "order_info", json_string(t->order_info));
    json_object_set_new(j, "order_type", json_string(t->order_type));
    json_object_set_new(j, "locale", json_string(t->locale));
    json_object_set_new(j, "return_url", json_string(t->return_url));
    json_object_set_new(j, "ip_addr", json_string(t->ip_addr));
    json_object_set_new(j, "create_date", json_string(t->create_date));
    json_object_set_new(j, "expire_date", json_string(t->expire_date));
    json_object_set_new(j, "bank_code", json_string(t->bank_code));
    json_object_set_new(j, "created_at", json_string(created));
    json_object_set_new(j, "result", sim_pay_result_json(t));
    json_object_set_new(j, "ipn", sim_pay_ipn_json(st, t));
    json_object_set_new(j, "queries", json_integer(t->queries));
    return j;
}

static void sim_pay_control_transactions(const sim_pay_state_t *st, const sim_request_t *req, sim_reply_t *reply)
{
    const char *only = req->query && strncmp(req->query, "txn_ref=", 8) == 0 ? req->query + 8 : NULL;
    json_t *list = json_array();
    for (size_t i = 0; i < st->n_txns; i++)
        if (only == NULL || strcmp(st->txns[i]->txn_ref, only) == 0)
            json_array_append_new(list, sim_pay_txn_json(st, st->txns[i]));
    if (only != NULL && json_array_size(list) == 0) {
        json_decref(list);
        sim_json_error(reply, 404, "Not Found", "no transaction with this txn_ref");
        return;
    }
    sim_json_reply(reply, 200, "OK", json_pack("{s:o}", "transactions", list));
}

/* ---- config ---- */

static json_t *sim_pay_config_json(const sim_pay_state_t *st)
{
    const sim_ipn_settings_t *s = &st->live;
    json_t *urls = json_array(), *delays = json_array();
    for (size_t i = 0; i < s->n_urls; i++)
        json_array_append_new(urls, json_string(s->urls[i]));
    for (size_t i = 0; i < s->n_delays; i++)
        json_array_append_new(delays, json_integer(s->delays_ms[i]));
    return json_pack("{s:s,s:o,s:s?,s:i,s:b,s:o,s:I,s:i}", "tmn_code", st->tmn_code, "ipn_urls", urls, "ipn_ca",
                     st->ipn_ca[0] ? st->ipn_ca : NULL, "duplicates", s->duplicates, "concurrent_urls",
                     s->concurrent_urls, "ipn_retry_delays_ms", delays, "ipn_timeout_ms", (json_int_t)s->timeout_ms,
                     "ipn_max_attempts", SIM_IPN_MAX_ATTEMPTS);
}

static int sim_pay_config_urls(sim_ipn_settings_t *s, const json_t *v, char *err, size_t errlen)
{
    if (!json_is_array(v) || json_array_size(v) > SIM_IPN_MAX_URLS) {
        snprintf(err, errlen, "ipn_urls must be an array of at most %d URLs", SIM_IPN_MAX_URLS);
        return -1;
    }
    sim_ipn_settings_free(s);
    size_t i;
    json_t *u;
    json_array_foreach(v, i, u)
    {
        if (!json_is_string(u) || sim_ipn_settings_add_url(s, json_string_value(u)) < 0) {
            snprintf(err, errlen, "ipn_urls[%zu] is not an http:// or https:// URL", i);
            return -1;
        }
    }
    return 0;
}

static int sim_pay_config_delays(sim_ipn_settings_t *s, const json_t *v, char *err, size_t errlen)
{
    if (!json_is_array(v) || json_array_size(v) == 0 || json_array_size(v) > SIM_IPN_MAX_DELAYS) {
        snprintf(err, errlen, "ipn_retry_delays_ms must be an array of 1-%d delays", SIM_IPN_MAX_DELAYS);
        return -1;
    }
    size_t i;
    json_t *d;
    json_array_foreach(v, i, d)
    {
        if (!json_is_integer(d) || json_integer_value(d) < 0 || json_integer_value(d) > SIM_PAY_MAX_DELAY_MS) {
            snprintf(err, errlen, "ipn_retry_delays_ms[%zu] must be 0-%ld ms", i, SIM_PAY_MAX_DELAY_MS);
            return -1;
        }
        s->delays_ms[i] = (long)json_integer_value(d);
    }
    s->n_delays = json_array_size(v);
    return 0;
}

static int sim_pay_config_scalars(sim_ipn_settings_t *s, const json_t *doc, char *err, size_t errlen)
{
    const json_t *dup = json_object_get(doc, "duplicates");
    const json_t *conc = json_object_get(doc, "concurrent_urls");
    const json_t *tmo = json_object_get(doc, "ipn_timeout_ms");
    if (dup &&
        (!json_is_integer(dup) || json_integer_value(dup) < 0 || json_integer_value(dup) > SIM_PAY_MAX_DUPLICATES)) {
        snprintf(err, errlen, "duplicates must be 0-%d", SIM_PAY_MAX_DUPLICATES);
        return -1;
    }
    if (conc && !json_is_boolean(conc)) {
        snprintf(err, errlen, "concurrent_urls must be true or false");
        return -1;
    }
    if (tmo && (!json_is_integer(tmo) || json_integer_value(tmo) < SIM_PAY_MIN_TIMEOUT_MS ||
                json_integer_value(tmo) > SIM_PAY_MAX_TIMEOUT_MS)) {
        snprintf(err, errlen, "ipn_timeout_ms must be %ld-%ld", SIM_PAY_MIN_TIMEOUT_MS, SIM_PAY_MAX_TIMEOUT_MS);
        return -1;
    }
    if (dup)
        s->duplicates = (int)json_integer_value(dup);
    if (conc)
        s->concurrent_urls = json_is_true(conc);
    if (tmo)
        s->timeout_ms = (long)json_integer_value(tmo);
    return 0;
}

static int sim_pay_config_known_keys(const json_t *doc, char *err, size_t errlen)
{
    static const char *const known[] = {"ipn_urls", "duplicates", "concurrent_urls", "ipn_retry_delays_ms",
                                        "ipn_timeout_ms"};
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)doc, key, v)
    {
        size_t i = 0;
        while (i < sizeof known / sizeof known[0] && strcmp(known[i], key) != 0)
            i++;
        if (i == sizeof known / sizeof known[0]) {
            snprintf(err, errlen,
                     "unknown field \"%s\" (known: ipn_urls, duplicates, concurrent_urls, "
                     "ipn_retry_delays_ms, ipn_timeout_ms)",
                     key);
            return -1;
        }
    }
    return 0;
}

/* Checks every field on a copy before anything changes, so a bad POST changes nothing. */
static int sim_pay_config_apply(sim_pay_state_t *st, const json_t *doc, char *err, size_t errlen)
{
    sim_ipn_settings_t next;
    sim_ipn_settings_copy(&next, &st->live);
    const json_t *urls = json_object_get(doc, "ipn_urls");
    const json_t *delays = json_object_get(doc, "ipn_retry_delays_ms");
    int rc = sim_pay_config_known_keys(doc, err, errlen);
    if (rc == 0 && urls)
        rc = sim_pay_config_urls(&next, urls, err, errlen);
    if (rc == 0 && delays)
        rc = sim_pay_config_delays(&next, delays, err, errlen);
    if (rc == 0)
        rc = sim_pay_config_scalars(&next, doc, err, errlen);
    if (rc < 0) {
        sim_ipn_settings_free(&next);
        return -1;
    }
    sim_ipn_settings_free(&st->live);
    st->live = next; /* deliveries read the settings live, through the same struct */
    return 0;
}

static void sim_pay_control_config(sim_pay_state_t *st, const sim_request_t *req, sim_reply_t *reply)
{
    char err[300];
    if (strcmp(req->method, "POST") == 0 || strcmp(req->method, "PUT") == 0) {
        json_t *doc = sim_json_body_object(req, err, sizeof err);
        int rc = doc ? sim_pay_config_apply(st, doc, err, sizeof err) : -1;
        json_decref(doc);
        if (rc < 0) {
            sim_json_error(reply, 400, "Bad Request", err);
            return;
        }
    } else if (strcmp(req->method, "GET") != 0) {
        sim_json_error(reply, 405, "Method Not Allowed", "GET or POST");
        return;
    }
    sim_json_reply(reply, 200, "OK", sim_pay_config_json(st));
}

/* ---- complete and ipn ---- */

/* The transaction a control body names; NULL after replying 400, 404 or 409 (want_completed says which state). */
static sim_pay_txn_t *sim_pay_control_txn(sim_pay_state_t *st, const json_t *doc, int want_completed,
                                          sim_reply_t *reply)
{
    const char *ref = json_string_value(json_object_get(doc, "txn_ref"));
    sim_pay_txn_t *t = ref ? sim_pay_find(st, ref) : NULL;
    if (ref == NULL)
        sim_json_error(reply, 400, "Bad Request", "txn_ref (a string) is required");
    else if (t == NULL)
        sim_json_error(reply, 404, "Not Found", "no transaction with this txn_ref");
    else if (t->completed != want_completed)
        sim_json_error(reply, 409, "Conflict",
                       want_completed ? "the transaction is not completed yet"
                                      : "the transaction is already completed");
    else
        return t;
    return NULL;
}

/* response_code and the optional fields, checked; -1 after replying 400. */
static int sim_pay_complete_fields(const json_t *doc, const char **code, const char **status, const char **bank,
                                   int *send_ipn, sim_reply_t *reply)
{
    const json_t *ipn = json_object_get(doc, "send_ipn");
    *code = json_string_value(json_object_get(doc, "response_code"));
    *status = json_string_value(json_object_get(doc, "transaction_status"));
    *bank = json_string_value(json_object_get(doc, "bank_code"));
    if (*code == NULL || !sim_pay_code_valid(*code)) {
        sim_json_error(reply, 400, "Bad Request", "response_code must be two digits, e.g. \"00\" or \"24\"");
        return -1;
    }
    if ((json_object_get(doc, "transaction_status") && (*status == NULL || !sim_pay_code_valid(*status))) ||
        (json_object_get(doc, "bank_code") && (*bank == NULL || !sim_pay_bank_code_valid(*bank))) ||
        (ipn && !json_is_boolean(ipn))) {
        sim_json_error(reply, 400, "Bad Request",
                       "transaction_status is two digits, bank_code 1-20 letters or digits, send_ipn a boolean");
        return -1;
    }
    if (*status == NULL)
        *status = strcmp(*code, "00") == 0 ? "00" : "02";
    *send_ipn = ipn == NULL || json_is_true(ipn);
    return 0;
}

static void sim_pay_control_complete(sim_pay_state_t *st, const json_t *doc, sim_reply_t *reply)
{
    sim_pay_txn_t *t = sim_pay_control_txn(st, doc, 0, reply);
    const char *code, *status, *bank;
    int send_ipn;
    if (t == NULL || sim_pay_complete_fields(doc, &code, &status, &bank, &send_ipn, reply) < 0)
        return;
    sim_pay_complete(st, t, code, status, bank, send_ipn);
    sim_json_reply(reply, 200, "OK", json_pack("{s:o}", "transaction", sim_pay_txn_json(st, t)));
}

static void sim_pay_control_ipn(sim_pay_state_t *st, const json_t *doc, sim_reply_t *reply)
{
    sim_pay_txn_t *t = sim_pay_control_txn(st, doc, 1, reply);
    if (t == NULL)
        return;
    if (st->live.n_urls == 0) {
        sim_json_error(reply, 409, "Conflict", "no IPN URL is configured (--ipn-url or POST config {\"ipn_urls\"})");
        return;
    }
    unsigned n = sim_pay_send_ipn(st, t);
    sim_json_reply(reply, 202, "Accepted", json_pack("{s:s,s:i}", "txn_ref", t->txn_ref, "deliveries_started", (int)n));
}

/* POST verbs with a JSON object body. */
static void sim_pay_control_post(sim_pay_state_t *st, const char *verb, const sim_request_t *req, sim_reply_t *reply)
{
    char err[300];
    if (strcmp(req->method, "POST") != 0) {
        sim_json_error(reply, 405, "Method Not Allowed", "POST only");
        return;
    }
    json_t *doc = sim_json_body_object(req, err, sizeof err);
    if (doc == NULL)
        sim_json_error(reply, 400, "Bad Request", err);
    else if (strcmp(verb, "complete") == 0)
        sim_pay_control_complete(st, doc, reply);
    else
        sim_pay_control_ipn(st, doc, reply);
    json_decref(doc);
}

int sim_pay_control(void *state, const char *verb, const sim_request_t *req, sim_reply_t *reply)
{
    sim_pay_state_t *st = state;
    if (strcmp(verb, "transactions") == 0) {
        if (strcmp(req->method, "GET") != 0)
            sim_json_error(reply, 405, "Method Not Allowed", "GET only");
        else
            sim_pay_control_transactions(st, req, reply);
    } else if (strcmp(verb, "config") == 0) {
        sim_pay_control_config(st, req, reply);
    } else if (strcmp(verb, "complete") == 0 || strcmp(verb, "ipn") == 0) {
        sim_pay_control_post(st, verb, req, reply);
    } else {
        return -1;
    }
    return 0;
}
