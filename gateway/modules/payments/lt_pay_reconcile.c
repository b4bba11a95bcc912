/* querydr for payments whose outcome never arrived. */
#include "lt_pay_reconcile.h"

#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lt_log.h"

typedef struct query {
    lt_pay_reconciler_t *rc;
    lt_payment_t payment;
    char *body;
    lt_upstream_exchange_t *exchange;
    struct query *next;
} query_t;

/* A payment whose querydr failed is asked again later, and later each time, so that a few payments the payment
 * gateway cannot answer about do not fill every round's batch. */
#define BACKOFF_SLOTS  256
#define BACKOFF_MAX_MS (3600 * 1000)
#define LIST_FACTOR    4 /* list this many times the batch, to have room for skipping payments in backoff */

typedef struct backoff {
    char id[LT_PAY_ID_MAX + 1];
    int failures;
    int64_t next_ms;
} backoff_t;

struct lt_pay_reconciler {
    lt_pay_service_t *svc;
    lt_pay_conn_t *conn;
    lt_upstream_client_t *client;
    struct event *timer;
    bool listing;
    int inflight;
    query_t *queries;
    backoff_t backoff[BACKOFF_SLOTS];
};

char *lt_pay_querydr_body(const lt_pay_service_t *svc, const lt_payment_t *p, const char *request_id, int64_t now_s)
{
    const lt_payments_conf_t *pc = svc->conf;
    char now[15], hash[LT_VNP_HASH_HEX + 1];
    lt_pay_vn_time(now_s, now);
    /* §4: RequestId|Version|Command|TmnCode|TxnRef|TransactionDate|CreateDate|IpAddr|OrderInfo */
    const char *fields[] = {request_id,   "2.1.0",        "querydr", pc->tmn_code,
                            p->id,        p->create_date, now,       pc->reconcile.server_ip,
                            p->order_info};
    lt_vnp_pipe_hash(fields, sizeof(fields) / sizeof(fields[0]), svc->hash_secret, svc->hash_secret_len, hash);
    json_t *body = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "vnp_RequestId", request_id,
                             "vnp_Version", "2.1.0", "vnp_Command", "querydr", "vnp_TmnCode", pc->tmn_code,
                             "vnp_TxnRef", p->id, "vnp_OrderInfo", p->order_info, "vnp_TransactionDate", p->create_date,
                             "vnp_CreateDate", now, "vnp_IpAddr", pc->reconcile.server_ip, "vnp_SecureHash", hash);
    char *text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    return text;
}

static const char *field(const json_t *obj, const char *key)
{
    const json_t *v = json_object_get(obj, key);
    return json_is_string(v) ? json_string_value(v) : "";
}

static bool answer_verifies(const lt_pay_service_t *svc, const json_t *obj)
{
    static const char *const signed_fields[] = {"vnp_ResponseId",    "vnp_Command",         "vnp_ResponseCode",
                                                "vnp_Message",       "vnp_TmnCode",         "vnp_TxnRef",
                                                "vnp_Amount",        "vnp_BankCode",        "vnp_PayDate",
                                                "vnp_TransactionNo", "vnp_TransactionType", "vnp_TransactionStatus",
                                                "vnp_OrderInfo",     "vnp_PromotionCode",   "vnp_PromotionAmount"};
    enum { N = sizeof(signed_fields) / sizeof(signed_fields[0]) };
    const char *values[N];
    for (size_t i = 0; i < N; i++)
        values[i] = field(obj, signed_fields[i]);
    char expected[LT_VNP_HASH_HEX + 1];
    lt_vnp_pipe_hash(values, N, svc->hash_secret, svc->hash_secret_len, expected);
    return lt_vnp_hash_equal(field(obj, "vnp_SecureHash"), expected);
}

static void fill_settlement(const json_t *obj, const lt_payment_t *p, int64_t now_ms, lt_pay_settlement_t *s)
{
    memset(s, 0, sizeof(*s));
    snprintf(s->payment_id, sizeof(s->payment_id), "%s", p->id);
    /* Kept only whole, as the IPN's (lt_pay_ipn.c): a cut "00x" would read "00". */
    const char *status = field(obj, "vnp_TransactionStatus");
    if (strlen(status) < sizeof(s->transaction_status))
        memcpy(s->transaction_status, status, strlen(status) + 1);
    snprintf(s->bank_code, sizeof(s->bank_code), "%s", field(obj, "vnp_BankCode"));
    snprintf(s->transaction_no, sizeof(s->transaction_no), "%s", field(obj, "vnp_TransactionNo"));
    snprintf(s->pay_date, sizeof(s->pay_date), "%s", field(obj, "vnp_PayDate"));
    snprintf(s->settled_by, sizeof(s->settled_by), "querydr");
    const char *amount = field(obj, "vnp_Amount");
    size_t n = strlen(amount);
    s->amount_x100 = n > 0 && n <= 12 && strspn(amount, "0123456789") == n ? strtoll(amount, NULL, 10) : 0;
    s->now_ms = now_ms;
}

int lt_pay_querydr_read(const lt_pay_service_t *svc, const lt_payment_t *p, const char *body, size_t len,
                        int64_t now_ms, lt_pay_settlement_t *s, char *why, size_t whylen)
{
    json_t *obj = json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL);
    int rc = -1;
    const char *code = field(obj, "vnp_ResponseCode");
    if (!json_is_object(obj)) {
        snprintf(why, whylen, "the answer is not a JSON object");
    } else if (!answer_verifies(svc, obj)) {
        snprintf(why, whylen, "the answer's signature does not verify");
    } else if (strcmp(field(obj, "vnp_Command"), "querydr") != 0 ||
               strcmp(field(obj, "vnp_TmnCode"), svc->conf->tmn_code) != 0 ||
               strcmp(field(obj, "vnp_TxnRef"), p->id) != 0) {
        snprintf(why, whylen, "the answer is about another command, terminal or payment");
    } else if (strcmp(code, "91") == 0) {
        /* The payment gateway never saw it: the citizen never reached the pay page before expiry. */
        memset(s, 0, sizeof(*s));
        snprintf(s->payment_id, sizeof(s->payment_id), "%s", p->id);
        s->amount_x100 = -1;
        s->state = LT_PAY_EXPIRED;
        snprintf(s->response_code, sizeof(s->response_code), "91");
        snprintf(s->settled_by, sizeof(s->settled_by), "querydr");
        s->now_ms = now_ms;
        rc = 0;
    } else if (strcmp(code, "00") != 0) {
        snprintf(why, whylen, "querydr answered vnp_ResponseCode %.4s", code);
    } else {
        fill_settlement(obj, p, now_ms, s);
        /* The state follows the status as sent, never a shortened copy of it. */
        const char *status = field(obj, "vnp_TransactionStatus");
        if (strcmp(status, "00") == 0) {
            s->state = LT_PAY_PAID;
            snprintf(s->response_code, sizeof(s->response_code), "00");
        } else if (strcmp(status, "01") == 0) {
            /* Not completed, and past its expiry: it can no longer be paid (§1, vnp_ExpireDate). */
            s->state = LT_PAY_EXPIRED;
            s->amount_x100 = -1;
        } else {
            s->state = LT_PAY_FAILED;
        }
        rc = 0;
    }
    json_decref(obj);
    return rc;
}

/* ---- the loop ---------------------------------------------------------------- */

static void schedule(lt_pay_reconciler_t *rc)
{
    struct timeval tv = {.tv_sec = rc->svc->conf->reconcile.interval_s, .tv_usec = 0};
    evtimer_add(rc->timer, &tv);
}

static void unlink_query(query_t *q)
{
    for (query_t **p = &q->rc->queries; *p != NULL; p = &(*p)->next)
        if (*p == q) {
            *p = q->next;
            break;
        }
    free(q->body);
    free(q);
}

static void on_settled(void *arg, const lt_pay_result_t *res)
{
    lt_pay_reconciler_t *rc = arg;
    if (res->outcome == LT_PAY_OK) {
        atomic_fetch_add(&rc->svc->reconciled, 1);
        lt_log_info("reconcile: payment %s settled as %s by querydr", res->payment.id,
                    lt_pay_state_name(res->payment.state));
    } else if (res->outcome != LT_PAY_ALREADY_FINAL) {
        lt_log_warn("reconcile: payment %s: the store answered %d (%s)", res->payment.id, (int)res->outcome,
                    res->detail);
    }
}

static backoff_t *backoff_find(lt_pay_reconciler_t *rc, const char *id)
{
    for (size_t i = 0; i < BACKOFF_SLOTS; i++)
        if (strcmp(rc->backoff[i].id, id) == 0)
            return &rc->backoff[i];
    return NULL;
}

/* Doubles the wait of a payment after each failed query; the slot whose wait ends soonest is reused when full. */
static void backoff_note_failure(lt_pay_reconciler_t *rc, const char *id, int64_t now_ms)
{
    backoff_t *b = backoff_find(rc, id);
    for (size_t i = 0; b == NULL && i < BACKOFF_SLOTS; i++)
        if (rc->backoff[i].id[0] == '\0' || rc->backoff[i].next_ms < now_ms)
            b = &rc->backoff[i];
    if (b == NULL)
        b = &rc->backoff[0];
    if (strcmp(b->id, id) != 0) {
        snprintf(b->id, sizeof(b->id), "%s", id);
        b->failures = 0;
    }
    int64_t wait = rc->svc->conf->reconcile.interval_s * 1000;
    for (int i = 0; i < b->failures && wait < BACKOFF_MAX_MS; i++)
        wait *= 2;
    b->failures++;
    b->next_ms = now_ms + (wait < BACKOFF_MAX_MS ? wait : BACKOFF_MAX_MS);
}

static bool in_backoff(lt_pay_reconciler_t *rc, const char *id, int64_t now_ms)
{
    const backoff_t *b = backoff_find(rc, id);
    return b != NULL && b->next_ms > now_ms;
}

static void on_answer(void *arg, const lt_upstream_response_t *resp, const lt_error_t *err)
{
    query_t *q = arg;
    lt_pay_reconciler_t *rc = q->rc;
    q->exchange = NULL;
    rc->inflight--;
    char why[160] = "";
    lt_pay_settlement_t s;
    if (resp == NULL)
        snprintf(why, sizeof(why), "%.150s", err->detail);
    else if (resp->status != 200)
        snprintf(why, sizeof(why), "querydr answered HTTP %ld", resp->status);
    else if (lt_pay_querydr_read(rc->svc, &q->payment, resp->body, resp->body_len, lt_pay_now_ms(), &s, why,
                                 sizeof(why)) == 0)
        lt_pay_settle(rc->conn, &s, on_settled, rc);
    if (why[0] != '\0') {
        lt_log_warn("reconcile: payment %s: %s; asking again later", q->payment.id, why);
        backoff_note_failure(rc, q->payment.id, lt_pay_now_ms());
    }
    unlink_query(q);
}

static void query_one(lt_pay_reconciler_t *rc, const lt_payment_t *p)
{
    query_t *q = calloc(1, sizeof(*q));
    q->rc = rc;
    q->payment = *p;
    unsigned char rnd[16];
    char request_id[33];
    RAND_bytes(rnd, sizeof(rnd));
    for (size_t i = 0; i < sizeof(rnd); i++)
        snprintf(request_id + 2 * i, 3, "%02x", rnd[i]);
    q->body = lt_pay_querydr_body(rc->svc, p, request_id, lt_pay_now_ms() / 1000);
    lt_upstream_request_t req = {.method = "POST",
                                 .path = "/merchant_webapp/api/transaction",
                                 .headers = {"Content-Type: application/json"},
                                 .nheaders = 1,
                                 .body = q->body,
                                 .body_len = strlen(q->body)};
    lt_error_t err;
    q->next = rc->queries;
    rc->queries = q;
    q->exchange = lt_upstream_send(rc->client, &rc->svc->gateway_peer, &req, 10000, on_answer, q, &err);
    if (q->exchange == NULL) {
        lt_log_warn("reconcile: payment %s: %s", p->id, err.detail);
        unlink_query(q);
        return;
    }
    rc->inflight++;
}

static void on_listed(void *arg, const lt_pay_list_t *list)
{
    lt_pay_reconciler_t *rc = arg;
    rc->listing = false;
    int64_t now = lt_pay_now_ms();
    long long asked = 0;
    if (list->outcome != LT_PAY_OK)
        lt_log_warn("reconcile: cannot list pending payments: %s", list->detail);
    for (size_t i = 0; list->outcome == LT_PAY_OK && i < list->n && asked < rc->svc->conf->reconcile.batch; i++)
        if (!in_backoff(rc, list->payments[i].id, now)) {
            query_one(rc, &list->payments[i]);
            asked++;
        }
    schedule(rc);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    lt_pay_reconciler_t *rc = arg;
    if (rc->inflight > 0 || rc->listing) {
        schedule(rc);
        return;
    }
    rc->listing = true;
    int64_t cutoff = lt_pay_now_ms() - rc->svc->conf->reconcile.ipn_grace_s * 1000;
    lt_pay_list_unsettled(rc->conn, cutoff, (size_t)rc->svc->conf->reconcile.batch * LIST_FACTOR, on_listed, rc);
}

lt_pay_reconciler_t *lt_pay_reconciler_new(lt_pay_service_t *svc, struct event_base *base, lt_pay_conn_t *conn,
                                           lt_upstream_client_t *client)
{
    lt_pay_reconciler_t *rc = calloc(1, sizeof(*rc));
    rc->svc = svc;
    rc->conn = conn;
    rc->client = client;
    rc->timer = evtimer_new(base, on_timer, rc);
    schedule(rc);
    return rc;
}

void lt_pay_reconciler_free(lt_pay_reconciler_t *rc)
{
    if (rc == NULL)
        return;
    while (rc->queries != NULL) {
        if (rc->queries->exchange != NULL)
            lt_upstream_cancel(rc->queries->exchange);
        unlink_query(rc->queries);
    }
    event_free(rc->timer);
    free(rc);
}
