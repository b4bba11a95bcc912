/*
 * sim_webhook: the portal's webhook receiver (northbound.md, "Payments").
 *
 * POST /webhook with a JSON event {"event":"payment.paid|payment.failed|payment.expired","event_id","payment":{...}}
 * and X-Signature: sha256=<hex HMAC-SHA256(webhook secret, raw body)>. The secret is the trimmed text of
 * --webhook-secret-file (default DIR/webhook.secret).
 *
 *   204  a correctly signed, well-formed event; recorded by event_id (deliveries, first and last time)
 *   401  X-Signature missing, malformed or wrong; recorded as rejected
 *   415  not application/json; 400 not such an event (payment.status, when present, must match the event)
 *
 * Control verbs under /control/webhook/ (besides stats, faults, reset):
 *   GET  events   {"events":[...],"counts":{...},"requests":[the last 1000 requests, oldest first]}
 *   GET  config   {"status":0,"down":false,"remaining":-1}
 *   POST config   replaces the outage setting as a whole: {"status":503} answers 503 to every request (recorded
 *                 as "outage"), {"down":true} aborts every connection without an answer (recorded as "down"),
 *                 {} is back to normal; "remaining":N limits the outage to the next N requests.
 */
#include "sim_webhook.h"
#include "sim_clock.h"
#include "sim_json.h"
#include "sim_text.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SIM_WH_PATH         "/webhook"
#define SIM_WH_SECRET_NAME  "webhook.secret"
#define SIM_WH_SECRET_MAX   256
#define SIM_WH_PATH_MAX     4096
#define SIM_WH_LOG_MAX      1000
#define SIM_WH_EVENT_ID_MAX 200
#define SIM_WH_SIG_PREFIX   "sha256="
#define SIM_WH_SAMPLE_MAX   100000

#define SIM_COUNT(a) (sizeof(a) / sizeof((a)[0]))

static const char *const sim_wh_ops[] = {"webhook", NULL};
static const char *const sim_wh_no_faults[] = {NULL};

static const sim_service_option_t sim_wh_options[] = {
    {"webhook-secret-file", "FILE", "webhook signing secret (default DIR/" SIM_WH_SECRET_NAME ")"},
    {NULL, NULL, NULL},
};

/* The events and the payment status each one implies. */
static const struct {
    const char *event;
    const char *status;
} sim_wh_events[] = {
    {"payment.paid", "paid"},
    {"payment.failed", "failed"},
    {"payment.expired", "expired"},
};

typedef struct sim_wh_event {
    char *event_id, *event, *payment_id;
    char *first_body; /* to notice a retry that does not carry the same bytes */
    size_t first_len;
    json_t *payment; /* as last received */
    unsigned deliveries;
    long long first_ms, last_ms;
    int body_changed;
} sim_wh_event_t;

typedef struct sim_wh_logged {
    long long at_ms;
    int status;
    const char *outcome; /* accepted, rejected, outage, down */
    char reason[160];
    char event_id[SIM_WH_EVENT_ID_MAX + 1];
} sim_wh_logged_t;

typedef struct sim_wh_outage {
    int status; /* 0: answer normally */
    int down;
    long remaining; /* requests the outage still applies to, -1: until changed */
} sim_wh_outage_t;

typedef struct sim_wh_state {
    char secret_file[SIM_WH_PATH_MAX];
    unsigned char secret[SIM_WH_SECRET_MAX];
    size_t secret_len;
    sim_wh_event_t *events;
    size_t n_events, cap_events;
    sim_wh_logged_t log[SIM_WH_LOG_MAX]; /* a ring: the last SIM_WH_LOG_MAX requests */
    size_t log_next, log_n;
    unsigned long long received, accepted, rejected, outages;
    sim_wh_outage_t outage;
} sim_wh_state_t;

/* ---- state ---- */

static void *sim_wh_state_new(const sim_people_t *people, const char *certs_dir)
{
    sim_wh_state_t *st = calloc(1, sizeof *st);
    if (st == NULL)
        return NULL;
    if (certs_dir != NULL)
        snprintf(st->secret_file, sizeof st->secret_file, "%s/%s", certs_dir, SIM_WH_SECRET_NAME);
    st->outage.remaining = -1;
    return st;
}

static int sim_wh_set_option(void *state, const char *name, const char *value, char *err, size_t errlen)
{
    sim_wh_state_t *st = state;
    if (strcmp(name, "webhook-secret-file") != 0) {
        snprintf(err, errlen, "not a webhook flag");
        return -1;
    }
    snprintf(st->secret_file, sizeof st->secret_file, "%s", value);
    return 0;
}

static int sim_wh_start(void *state, struct event_base *base, char *err, size_t errlen)
{
    sim_wh_state_t *st = state;
    if (st->secret_file[0] == '\0') {
        snprintf(err, errlen, "needs --certs-dir or --webhook-secret-file (the signing secret)");
        return -1;
    }
    return sim_secret_load(st->secret_file, st->secret, sizeof st->secret, &st->secret_len, err, errlen);
}

static void sim_wh_forget(sim_wh_state_t *st)
{
    for (size_t i = 0; i < st->n_events; i++) {
        sim_wh_event_t *e = &st->events[i];
        free(e->event_id);
        free(e->event);
        free(e->payment_id);
        free(e->first_body);
        json_decref(e->payment);
    }
    free(st->events);
    st->events = NULL;
    st->n_events = st->cap_events = 0;
    st->log_next = st->log_n = 0;
    st->received = st->accepted = st->rejected = st->outages = 0;
}

static void sim_wh_state_reset(void *state)
{
    sim_wh_state_t *st = state;
    sim_wh_forget(st);
    st->outage = (sim_wh_outage_t){.remaining = -1};
}

static void sim_wh_state_free(void *state)
{
    sim_wh_state_t *st = state;
    if (st == NULL)
        return;
    sim_wh_forget(st);
    OPENSSL_cleanse(st->secret, sizeof st->secret);
    free(st);
}

/* ---- recording ---- */

static void sim_wh_log(sim_wh_state_t *st, int status, const char *outcome, const char *reason, const char *event_id)
{
    sim_wh_logged_t *l = &st->log[st->log_next];
    l->at_ms = sim_clock_now_ms();
    l->status = status;
    l->outcome = outcome;
    snprintf(l->reason, sizeof l->reason, "%s", reason ? reason : "");
    snprintf(l->event_id, sizeof l->event_id, "%s", event_id ? event_id : "");
    st->log_next = (st->log_next + 1) % SIM_WH_LOG_MAX;
    if (st->log_n < SIM_WH_LOG_MAX)
        st->log_n++;
}

static sim_wh_event_t *sim_wh_find(sim_wh_state_t *st, const char *event_id)
{
    for (size_t i = 0; i < st->n_events; i++)
        if (strcmp(st->events[i].event_id, event_id) == 0)
            return &st->events[i];
    return NULL;
}

static char *sim_wh_dup(const void *s, size_t len)
{
    char *d = malloc(len + 1);
    if (d == NULL)
        abort(); /* a test stand-in has no better answer (see sim_buf.h) */
    memcpy(d, s, len);
    d[len] = '\0';
    return d;
}

static sim_wh_event_t *sim_wh_add(sim_wh_state_t *st, const char *event_id, const char *event, const char *payment_id,
                                  const sim_request_t *req, long long now)
{
    if (st->n_events == st->cap_events) {
        size_t cap = st->cap_events ? st->cap_events * 2 : 32;
        sim_wh_event_t *grown = realloc(st->events, cap * sizeof *grown);
        if (grown == NULL)
            abort();
        st->events = grown;
        st->cap_events = cap;
    }
    sim_wh_event_t *e = &st->events[st->n_events++];
    *e = (sim_wh_event_t){.event_id = sim_wh_dup(event_id, strlen(event_id)),
                          .event = sim_wh_dup(event, strlen(event)),
                          .payment_id = sim_wh_dup(payment_id, strlen(payment_id)),
                          .first_body = sim_wh_dup(req->body, req->body_len),
                          .first_len = req->body_len,
                          .first_ms = now};
    return e;
}

static void sim_wh_record_event(sim_wh_state_t *st, const json_t *doc, const sim_request_t *req)
{
    const char *event_id = json_string_value(json_object_get(doc, "event_id"));
    const char *event = json_string_value(json_object_get(doc, "event"));
    json_t *payment = json_object_get(doc, "payment");
    const char *payment_id = json_string_value(json_object_get(payment, "payment_id"));
    long long now = sim_clock_now_ms();
    sim_wh_event_t *e = sim_wh_find(st, event_id);
    if (e == NULL)
        e = sim_wh_add(st, event_id, event, payment_id, req, now);
    else if (e->first_len != req->body_len || memcmp(e->first_body, req->body, req->body_len) != 0)
        e->body_changed = 1; /* the same event_id must mean the same event */
    e->deliveries++;
    e->last_ms = now;
    json_decref(e->payment);
    e->payment = json_deep_copy(payment);
}

/* ---- checking a request ---- */

static int sim_wh_hex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* NULL when X-Signature is sha256=<HMAC-SHA256(secret, body) in hex, any case>; else why not. */
static const char *sim_wh_signature_problem(const sim_wh_state_t *st, const sim_request_t *req)
{
    const char *sig = req->header(req, "X-Signature");
    if (sig == NULL)
        return "X-Signature is missing";
    size_t plen = strlen(SIM_WH_SIG_PREFIX);
    if (strncmp(sig, SIM_WH_SIG_PREFIX, plen) != 0 || strlen(sig + plen) != 64)
        return "X-Signature is not sha256=<64 hex digits>";
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int maclen = 0;
    HMAC(EVP_sha256(), st->secret, (int)st->secret_len, req->body, req->body_len, mac, &maclen);
    static const char digits[] = "0123456789abcdef";
    unsigned diff = 0;
    for (unsigned i = 0; i < 64; i++) {
        char c = sig[plen + i];
        if (!sim_wh_hex(c))
            return "X-Signature is not sha256=<64 hex digits>";
        char lower = (char)(c >= 'A' && c <= 'F' ? c + 32 : c);
        diff |= (unsigned)(lower ^ digits[(mac[i / 2] >> (i % 2 ? 0 : 4)) & 15]);
    }
    return diff == 0 && maclen == 32 ? NULL : "X-Signature does not match the body";
}

/* NULL when doc is an event of the northbound contract; else why not. */
static const char *sim_wh_event_problem(const json_t *doc)
{
    const char *event = json_string_value(json_object_get(doc, "event"));
    const char *event_id = json_string_value(json_object_get(doc, "event_id"));
    const json_t *payment = json_object_get(doc, "payment");
    const char *payment_id = json_string_value(json_object_get(payment, "payment_id"));
    const json_t *status = json_object_get(payment, "status");
    size_t k = 0;
    while (event != NULL && k < SIM_COUNT(sim_wh_events) && strcmp(event, sim_wh_events[k].event) != 0)
        k++;
    if (!json_is_object(doc))
        return "the body is not a JSON object";
    if (event == NULL || k == SIM_COUNT(sim_wh_events))
        return "event must be payment.paid, payment.failed or payment.expired";
    if (event_id == NULL || event_id[0] == '\0' || strlen(event_id) > SIM_WH_EVENT_ID_MAX)
        return "event_id must be a non-empty string";
    if (!json_is_object(payment) || payment_id == NULL || payment_id[0] == '\0')
        return "payment must be an object with a payment_id";
    if (status != NULL && (!json_is_string(status) || strcmp(json_string_value(status), sim_wh_events[k].status)))
        return "payment.status does not match the event";
    return NULL;
}

/* ---- the service ---- */

static int sim_wh_operation_of(const sim_request_t *req)
{
    return 0;
}

/* The outage setting for this request, using up one of "remaining"; status 0 and not down when none applies. */
static sim_wh_outage_t sim_wh_take_outage(sim_wh_state_t *st)
{
    sim_wh_outage_t o = st->outage;
    if (o.status == 0 && !o.down)
        return o;
    if (st->outage.remaining > 0 && --st->outage.remaining == 0)
        st->outage = (sim_wh_outage_t){.remaining = -1}; /* this was the last request of the outage */
    return o;
}

static const char *sim_wh_reason(int status)
{
    switch (status) {
    case 429:
        return "Too Many Requests";
    case 500:
        return "Internal Server Error";
    case 502:
        return "Bad Gateway";
    case 503:
        return "Service Unavailable";
    case 504:
        return "Gateway Timeout";
    default:
        return "Simulated Outage";
    }
}

static void sim_wh_reject(sim_wh_state_t *st, sim_reply_t *reply, int status, const char *reason, const char *why)
{
    st->rejected++;
    sim_wh_log(st, status, "rejected", why, NULL);
    sim_json_error(reply, status, reason, why);
}

static void sim_wh_receive(sim_wh_state_t *st, const sim_request_t *req, sim_reply_t *reply)
{
    const char *problem = sim_wh_signature_problem(st, req);
    if (problem != NULL) {
        sim_reply_add_header(reply, "WWW-Authenticate", "Signature header=\"X-Signature\"");
        sim_wh_reject(st, reply, 401, "Unauthorized", problem);
        return;
    }
    const char *ct = req->header(req, "Content-Type");
    if (ct == NULL || !sim_text_media_type_is(ct, "application/json")) {
        sim_wh_reject(st, reply, 415, "Unsupported Media Type", "Content-Type must be application/json");
        return;
    }
    json_t *doc = json_loadb((const char *)req->body, req->body_len, JSON_REJECT_DUPLICATES, NULL);
    problem = doc ? sim_wh_event_problem(doc) : "the body is not JSON";
    if (problem != NULL) {
        sim_wh_reject(st, reply, 400, "Bad Request", problem);
    } else {
        sim_wh_record_event(st, doc, req);
        st->accepted++;
        sim_wh_log(st, 204, "accepted", NULL, json_string_value(json_object_get(doc, "event_id")));
        reply->status = 204;
        reply->reason = "No Content";
    }
    json_decref(doc);
}

static void sim_wh_handle(void *state, const sim_people_t *people, const sim_request_t *req, const char *fault,
                          sim_reply_t *reply)
{
    sim_wh_state_t *st = state;
    if (strcmp(req->method, "POST") != 0) {
        sim_reply_add_header(reply, "Allow", "POST");
        sim_json_error(reply, 405, "Method Not Allowed", "POST only");
        return;
    }
    st->received++;
    sim_wh_outage_t o = sim_wh_take_outage(st);
    if (o.down) {
        st->outages++;
        sim_wh_log(st, 0, "down", "connection aborted without an answer", NULL);
        reply->drop_connection = 1;
    } else if (o.status != 0) {
        st->outages++;
        sim_wh_log(st, o.status, "outage", "simulated outage", NULL);
        sim_json_error(reply, o.status, sim_wh_reason(o.status), "simulated outage");
    } else {
        sim_wh_receive(st, req, reply);
    }
}

/* ---- control verbs ---- */

static json_t *sim_wh_event_json(const sim_wh_event_t *e)
{
    char first[SIM_CLOCK_ISO_LEN + 1], last[SIM_CLOCK_ISO_LEN + 1];
    sim_clock_iso(e->first_ms, first);
    sim_clock_iso(e->last_ms, last);
    return json_pack("{s:s,s:s,s:s,s:O,s:i,s:s,s:s,s:b}", "event_id", e->event_id, "event", e->event, "payment_id",
                     e->payment_id, "payment", e->payment, "deliveries", (int)e->deliveries, "first_at", first,
                     "last_at", last, "body_changed", e->body_changed);
}

static json_t *sim_wh_logged_json(const sim_wh_logged_t *l)
{
    char at[SIM_CLOCK_ISO_LEN + 1];
    sim_clock_iso(l->at_ms, at);
    return json_pack("{s:s,s:o,s:s,s:s?,s:s?}", "at", at, "status", l->status ? json_integer(l->status) : json_null(),
                     "outcome", l->outcome, "reason", l->reason[0] ? l->reason : NULL, "event_id",
                     l->event_id[0] ? l->event_id : NULL);
}

static json_t *sim_wh_events_json(const sim_wh_state_t *st)
{
    json_t *events = json_array(), *requests = json_array();
    for (size_t i = 0; i < st->n_events; i++)
        json_array_append_new(events, sim_wh_event_json(&st->events[i]));
    size_t oldest = (st->log_next + SIM_WH_LOG_MAX - st->log_n) % SIM_WH_LOG_MAX;
    for (size_t i = 0; i < st->log_n; i++)
        json_array_append_new(requests, sim_wh_logged_json(&st->log[(oldest + i) % SIM_WH_LOG_MAX]));
    json_t *counts =
        json_pack("{s:I,s:I,s:I,s:I}", "received", (json_int_t)st->received, "accepted", (json_int_t)st->accepted,
                  "rejected", (json_int_t)st->rejected, "outage", (json_int_t)st->outages);
    return json_pack("{s:o,s:o,s:o}", "events", events, "counts", counts, "requests", requests);
}

static json_t *sim_wh_outage_json(const sim_wh_outage_t *o)
{
    return json_pack("{s:i,s:b,s:I}", "status", o->status, "down", o->down, "remaining", (json_int_t)o->remaining);
}

/* The whole outage setting from a body; -1 with err, changing nothing, when a field is wrong or unknown. */
static int sim_wh_parse_outage(const json_t *doc, sim_wh_outage_t *o, char *err, size_t errlen)
{
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)doc, key, v)
    {
        if (strcmp(key, "status") != 0 && strcmp(key, "down") != 0 && strcmp(key, "remaining") != 0) {
            snprintf(err, errlen, "unknown field \"%s\" (known: status, down, remaining)", key);
            return -1;
        }
    }
    const json_t *status = json_object_get(doc, "status");
    const json_t *down = json_object_get(doc, "down");
    const json_t *remaining = json_object_get(doc, "remaining");
    json_int_t s = status && !json_is_null(status) ? json_integer_value(status) : 0;
    if ((status && !json_is_null(status) && !json_is_integer(status)) || (s != 0 && (s < 300 || s > 599))) {
        snprintf(err, errlen, "status must be 0 (normal) or 300-599");
        return -1;
    }
    if ((down && !json_is_boolean(down)) ||
        (remaining && (!json_is_integer(remaining) || json_integer_value(remaining) < -1))) {
        snprintf(err, errlen, "down must be a boolean and remaining -1 (until changed) or a count");
        return -1;
    }
    *o = (sim_wh_outage_t){.status = (int)s,
                           .down = down && json_is_true(down),
                           .remaining = remaining ? (long)json_integer_value(remaining) : -1};
    if (o->remaining == 0)
        *o = (sim_wh_outage_t){.remaining = -1};
    return 0;
}

static void sim_wh_control_config(sim_wh_state_t *st, const sim_request_t *req, sim_reply_t *reply)
{
    char err[200];
    if (strcmp(req->method, "POST") == 0 || strcmp(req->method, "PUT") == 0) {
        json_t *doc = sim_json_body_object(req, err, sizeof err);
        sim_wh_outage_t next;
        int rc = doc ? sim_wh_parse_outage(doc, &next, err, sizeof err) : -1;
        json_decref(doc);
        if (rc < 0) {
            sim_json_error(reply, 400, "Bad Request", err);
            return;
        }
        st->outage = next;
    } else if (strcmp(req->method, "GET") != 0) {
        sim_json_error(reply, 405, "Method Not Allowed", "GET or POST");
        return;
    }
    sim_json_reply(reply, 200, "OK", sim_wh_outage_json(&st->outage));
}

static int sim_wh_control(void *state, const char *verb, const sim_request_t *req, sim_reply_t *reply)
{
    sim_wh_state_t *st = state;
    if (strcmp(verb, "events") == 0) {
        if (strcmp(req->method, "GET") != 0)
            sim_json_error(reply, 405, "Method Not Allowed", "GET only");
        else
            sim_json_reply(reply, 200, "OK", sim_wh_events_json(st));
    } else if (strcmp(verb, "config") == 0) {
        sim_wh_control_config(st, req, reply);
    } else {
        return -1;
    }
    return 0;
}

/* ---- --sample: events as the gateway would send them (unsigned bodies) ---- */

static int sim_wh_print_sample(const sim_people_t *people, size_t n, FILE *out)
{
    static const char *const results[][2] = {
        {"payment.paid", "paid"}, {"payment.failed", "failed"}, {"payment.expired", "expired"}};
    if (n > SIM_WH_SAMPLE_MAX)
        n = SIM_WH_SAMPLE_MAX;
    for (size_t i = 0; i < n; i++) {
        char event_id[40], payment_id[40], dossier[64];
        size_t k = i % 5 == 3 ? 1 : i % 5 == 4 ? 2 : 0;
        snprintf(event_id, sizeof event_id, "evt-%08zu", i + 1);
        snprintf(payment_id, sizeof payment_id, "pay-%08zu", i + 1);
        snprintf(dossier, sizeof dossier, "000.00.12.H53-250101-%04zu", i + 1);
        json_t *line = json_pack("{s:s,s:s,s:{s:s,s:s,s:I,s:s}}", "event", results[k][0], "event_id", event_id,
                                 "payment", "payment_id", payment_id, "dossier_id", dossier, "amount_vnd",
                                 (json_int_t)150000, "status", results[k][1]);
        if (sim_json_print_line(out, line) != 0)
            return -1;
    }
    return 0;
}

const sim_service_t sim_webhook_service = {
    .name = "webhook",
    .path = SIM_WH_PATH,
    .cert_name = "webhook-sim",
    .default_port = 9106,
    .client_auth = SIM_CLIENT_CERT_NONE,
    .ops = sim_wh_ops,
    .faults = sim_wh_no_faults,
    .operation_of = sim_wh_operation_of,
    .handle = sim_wh_handle,
    .state_new = sim_wh_state_new,
    .state_reset = sim_wh_state_reset,
    .state_free = sim_wh_state_free,
    .sample = sim_wh_print_sample,
    .control = sim_wh_control,
    .options = sim_wh_options,
    .set_option = sim_wh_set_option,
    .start = sim_wh_start,
};
