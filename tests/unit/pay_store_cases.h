/*
 * The payment store's contract, as cases that run against either backend (included by test_pay_journal.c and
 * test_pay_redis.c, which provide the fixture: a fresh, empty store and one conn on a loop).
 */
#ifndef PAY_STORE_CASES_H
#define PAY_STORE_CASES_H

#include <event2/event.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lt_pay_sealed.h"
#include "lt_pay_store.h"

typedef struct fx {
    struct event_base *base;
    lt_pay_store_t *store;
    lt_pay_conn_t *conn;
    lt_payments_conf_t conf;
    char dir[256]; /* journal: its directory; redis: the server's */
    char prefix[40];
} fx_t;

/* What a callback saw. */
typedef struct got {
    int calls;
    lt_pay_outcome_t outcome;
    lt_payment_t payment;
    lt_pay_event_t event;
    char detail[160];
    size_t n;
    char ids[16][48];     /* list answers: event ids, or payment ids for list_unsettled */
    char pay_ids[16][48]; /* claims: each event's payment */
    int attempts[16];
    lt_pay_counts_t counts;
} got_t;

static void on_done(void *arg, const lt_pay_result_t *r)
{
    got_t *g = arg;
    g->calls++;
    g->outcome = r->outcome;
    g->payment = r->payment;
    g->event = r->event;
    snprintf(g->detail, sizeof(g->detail), "%s", r->detail);
}

static void on_list(void *arg, const lt_pay_list_t *l)
{
    got_t *g = arg;
    g->calls++;
    g->outcome = l->outcome;
    g->n = l->n;
    snprintf(g->detail, sizeof(g->detail), "%s", l->detail);
    for (size_t i = 0; i < l->n && i < 16; i++) {
        if (l->events != NULL) {
            snprintf(g->ids[i], sizeof(g->ids[i]), "%s", l->events[i].event_id);
            g->attempts[i] = l->events[i].attempts;
            if (l->payments != NULL)
                snprintf(g->pay_ids[i], sizeof(g->pay_ids[i]), "%s", l->payments[i].id);
        } else {
            snprintf(g->ids[i], sizeof(g->ids[i]), "%s", l->payments[i].id);
        }
    }
}

static void on_counts(void *arg, const lt_pay_counts_t *c)
{
    got_t *g = arg;
    g->calls++;
    g->outcome = c->outcome;
    g->counts = *c;
}

/* Runs the loop until g has been called n times in all (fails after 5 s). */
static void wait_calls(fx_t *fx, const got_t *g, int n)
{
    for (int i = 0; i < 5000 && g->calls < n; i++) {
        event_base_loop(fx->base, EVLOOP_NONBLOCK);
        if (g->calls < n)
            usleep(1000);
    }
    assert_int_equal(g->calls, n);
}

/* Runs the loop for ms milliseconds. */
static void spin(fx_t *fx, int ms)
{
    for (int i = 0; i < ms; i++) {
        event_base_loop(fx->base, EVLOOP_NONBLOCK);
        usleep(1000);
    }
}

static lt_payment_t make_payment(const char *id, long long amount_vnd, int64_t created_at_ms, const char *idem,
                                 const char *fingerprint)
{
    lt_payment_t p;
    memset(&p, 0, sizeof(p));
    snprintf(p.id, sizeof(p.id), "%s", id);
    snprintf(p.dossier_id, sizeof(p.dossier_id), "HS-%s", id);
    p.amount_vnd = amount_vnd;
    snprintf(p.description, sizeof(p.description), "Lệ phí hồ sơ %s", id);
    snprintf(p.order_info, sizeof(p.order_info), "Le phi ho so %s", id);
    snprintf(p.return_url, sizeof(p.return_url), "https://portal.example/r/%s", id);
    snprintf(p.client_ip, sizeof(p.client_ip), "10.1.2.3");
    snprintf(p.locale, sizeof(p.locale), "vn");
    snprintf(p.client, sizeof(p.client), "portal");
    snprintf(p.idempotency, sizeof(p.idempotency), "%s", idem ? idem : "");
    snprintf(p.fingerprint, sizeof(p.fingerprint), "%s", fingerprint ? fingerprint : "fp");
    snprintf(p.create_date, sizeof(p.create_date), "20260101120000");
    snprintf(p.expire_date, sizeof(p.expire_date), "20260101121500");
    p.created_at_ms = created_at_ms;
    p.expires_at_ms = created_at_ms + 900000;
    p.updated_at_ms = created_at_ms;
    p.state = LT_PAY_PENDING;
    return p;
}

static lt_pay_settlement_t make_settlement(const char *id, long long amount_x100, lt_pay_state_t state, int64_t now_ms)
{
    lt_pay_settlement_t s;
    memset(&s, 0, sizeof(s));
    snprintf(s.payment_id, sizeof(s.payment_id), "%s", id);
    s.amount_x100 = amount_x100;
    s.state = state;
    snprintf(s.response_code, sizeof(s.response_code), state == LT_PAY_PAID ? "00" : "24");
    snprintf(s.transaction_status, sizeof(s.transaction_status), state == LT_PAY_PAID ? "00" : "02");
    snprintf(s.bank_code, sizeof(s.bank_code), "NCB");
    snprintf(s.transaction_no, sizeof(s.transaction_no), "1400%s", id + strlen(id) - 2);
    snprintf(s.pay_date, sizeof(s.pay_date), "20260101120500");
    snprintf(s.settled_by, sizeof(s.settled_by), "ipn");
    s.now_ms = now_ms;
    return s;
}

/* Each call below checks that the callback has not run inside the call (calls still 0 right after it). */
static lt_pay_outcome_t create_now(fx_t *fx, const lt_payment_t *p, got_t *g)
{
    memset(g, 0, sizeof(*g));
    lt_pay_create(fx->conn, p, on_done, g);
    assert_int_equal(g->calls, 0);
    wait_calls(fx, g, 1);
    return g->outcome;
}

static lt_pay_outcome_t get_now(fx_t *fx, const char *id, got_t *g)
{
    memset(g, 0, sizeof(*g));
    lt_pay_get(fx->conn, id, on_done, g);
    assert_int_equal(g->calls, 0);
    wait_calls(fx, g, 1);
    return g->outcome;
}

static lt_pay_outcome_t settle_now(fx_t *fx, const lt_pay_settlement_t *s, got_t *g)
{
    memset(g, 0, sizeof(*g));
    lt_pay_settle(fx->conn, s, on_done, g);
    assert_int_equal(g->calls, 0);
    wait_calls(fx, g, 1);
    return g->outcome;
}

static got_t *claim_now(fx_t *fx, int64_t now, int64_t lease, size_t max, got_t *g)
{
    memset(g, 0, sizeof(*g));
    lt_pay_outbox_claim(fx->conn, now, lease, max, on_list, g);
    assert_int_equal(g->calls, 0);
    wait_calls(fx, g, 1);
    assert_int_equal(g->outcome, LT_PAY_OK);
    return g;
}

static got_t *list_now(fx_t *fx, int state, size_t max, got_t *g)
{
    memset(g, 0, sizeof(*g));
    lt_pay_outbox_list(fx->conn, state, max, on_list, g);
    wait_calls(fx, g, 1);
    assert_int_equal(g->outcome, LT_PAY_OK);
    return g;
}

static lt_pay_counts_t counts_now(fx_t *fx)
{
    got_t g = {0};
    lt_pay_counts(fx->conn, on_counts, &g);
    assert_int_equal(g.calls, 0);
    wait_calls(fx, &g, 1);
    assert_int_equal(g.outcome, LT_PAY_OK);
    return g.counts;
}

static lt_pay_outcome_t delivered_now(fx_t *fx, const char *event_id, got_t *g)
{
    memset(g, 0, sizeof(*g));
    lt_pay_outbox_delivered(fx->conn, event_id, 90000, on_done, g);
    wait_calls(fx, g, 1);
    return g->outcome;
}

static lt_pay_outcome_t failed_now(fx_t *fx, const char *event_id, int attempts, int64_t next, bool dead, got_t *g)
{
    memset(g, 0, sizeof(*g));
    lt_pay_outbox_failed(fx->conn, event_id, attempts, next, dead, "HTTP 503", 80000, on_done, g);
    wait_calls(fx, g, 1);
    return g->outcome;
}

static lt_pay_outcome_t redrive_now(fx_t *fx, const char *event_id, int64_t now, got_t *g)
{
    memset(g, 0, sizeof(*g));
    lt_pay_outbox_redrive(fx->conn, event_id, now, on_done, g);
    wait_calls(fx, g, 1);
    return g->outcome;
}

/* ---- the cases ------------------------------------------------------------------------------------- */

/* The IPN's answers: 01 unknown, 04 amount, 00 settled once with its event, 02 for every repeat. */
static void case_settle_outcomes(void **state)
{
    fx_t *fx = *state;
    got_t g;
    lt_payment_t p = make_payment("PAY-A-01", 150000, 1000, NULL, NULL);
    assert_int_equal(create_now(fx, &p, &g), LT_PAY_OK);
    assert_string_equal(g.payment.id, "PAY-A-01");

    assert_int_equal(get_now(fx, "PAY-A-01", &g), LT_PAY_OK);
    assert_string_equal(g.payment.description, "Lệ phí hồ sơ PAY-A-01");
    assert_int_equal(g.payment.amount_vnd, 150000);
    assert_int_equal(g.payment.state, LT_PAY_PENDING);
    assert_int_equal(get_now(fx, "PAY-NOPE", &g), LT_PAY_NOT_FOUND);

    lt_pay_settlement_t unknown = make_settlement("PAY-NOPE", 15000000, LT_PAY_PAID, 2000);
    assert_int_equal(settle_now(fx, &unknown, &g), LT_PAY_NOT_FOUND);

    lt_pay_settlement_t wrong = make_settlement("PAY-A-01", 15000100, LT_PAY_PAID, 2000);
    assert_int_equal(settle_now(fx, &wrong, &g), LT_PAY_AMOUNT_MISMATCH);
    assert_int_equal(g.payment.state, LT_PAY_PENDING); /* returned, and untouched */

    lt_pay_settlement_t paid = make_settlement("PAY-A-01", 15000000, LT_PAY_PAID, 3000);
    assert_int_equal(settle_now(fx, &paid, &g), LT_PAY_OK);
    assert_int_equal(g.payment.state, LT_PAY_PAID);
    assert_string_equal(g.payment.response_code, "00");
    assert_string_equal(g.payment.bank_code, "NCB");
    assert_string_equal(g.payment.settled_by, "ipn");
    assert_true(g.payment.updated_at_ms == 3000);
    assert_string_equal(g.event.event_id, "evt-PAY-A-01");
    assert_string_equal(g.event.type, "payment.paid");
    assert_int_equal(g.event.state, LT_EVENT_PENDING);

    /* A repeat, even one claiming another outcome, changes nothing and mints no event. */
    lt_pay_settlement_t again = make_settlement("PAY-A-01", 15000000, LT_PAY_FAILED, 4000);
    assert_int_equal(settle_now(fx, &again, &g), LT_PAY_ALREADY_FINAL);
    assert_int_equal(g.payment.state, LT_PAY_PAID);
    assert_true(g.payment.updated_at_ms == 3000);
    /* The amount is checked before finality, as the ICD orders it (04 before 02). */
    assert_int_equal(settle_now(fx, &wrong, &g), LT_PAY_AMOUNT_MISMATCH);

    assert_int_equal(get_now(fx, "PAY-A-01", &g), LT_PAY_OK);
    assert_int_equal(g.payment.state, LT_PAY_PAID);
    assert_string_equal(g.payment.transaction_no, paid.transaction_no);

    /* Expiry skips the amount check. */
    lt_payment_t q = make_payment("PAY-A-02", 50000, 1500, NULL, NULL);
    assert_int_equal(create_now(fx, &q, &g), LT_PAY_OK);
    lt_pay_settlement_t expired = make_settlement("PAY-A-02", -1, LT_PAY_EXPIRED, 5000);
    assert_int_equal(settle_now(fx, &expired, &g), LT_PAY_OK);
    assert_string_equal(g.event.type, "payment.expired");

    lt_pay_counts_t c = counts_now(fx);
    assert_int_equal(c.by_state[LT_PAY_PENDING], 0);
    assert_int_equal(c.by_state[LT_PAY_PAID], 1);
    assert_int_equal(c.by_state[LT_PAY_EXPIRED], 1);
    assert_int_equal(c.outbox_backlog, 2); /* one event per final state, not per settle call */
    assert_int_equal(c.dead_letters, 0);
    assert_true(c.oldest_backlog_created_ms == 3000);
}

static void case_idempotency(void **state)
{
    fx_t *fx = *state;
    got_t g;
    lt_payment_t first = make_payment("PAY-I-01", 100000, 1000, "portal\nkey-1", "fp-1");
    assert_int_equal(create_now(fx, &first, &g), LT_PAY_OK);

    lt_payment_t retry = make_payment("PAY-I-02", 100000, 1100, "portal\nkey-1", "fp-1");
    assert_int_equal(create_now(fx, &retry, &g), LT_PAY_EXISTS);
    assert_string_equal(g.payment.id, "PAY-I-01");

    lt_payment_t reuse = make_payment("PAY-I-03", 999000, 1200, "portal\nkey-1", "fp-other");
    assert_int_equal(create_now(fx, &reuse, &g), LT_PAY_KEY_REUSED);
    assert_string_equal(g.payment.id, "PAY-I-01");
    assert_int_equal(g.payment.amount_vnd, 100000);

    /* Nothing was created by either. */
    assert_int_equal(get_now(fx, "PAY-I-02", &g), LT_PAY_NOT_FOUND);
    assert_int_equal(get_now(fx, "PAY-I-03", &g), LT_PAY_NOT_FOUND);
    assert_int_equal(counts_now(fx).by_state[LT_PAY_PENDING], 1);

    /* Another client's same key is another key. */
    lt_payment_t other = make_payment("PAY-I-04", 100000, 1300, "kiosk\nkey-1", "fp-1");
    assert_int_equal(create_now(fx, &other, &g), LT_PAY_OK);

    /* EXISTS still answers once the payment is final, with its final state. */
    lt_pay_settlement_t paid = make_settlement("PAY-I-01", 10000000, LT_PAY_PAID, 2000);
    assert_int_equal(settle_now(fx, &paid, &g), LT_PAY_OK);
    assert_int_equal(create_now(fx, &retry, &g), LT_PAY_EXISTS);
    assert_int_equal(g.payment.state, LT_PAY_PAID);
}

static void case_list_unsettled(void **state)
{
    fx_t *fx = *state;
    got_t g;
    const char *ids[] = {"PAY-U-03", "PAY-U-01", "PAY-U-02", "PAY-U-04"};
    const int64_t expires[] = {300, 100, 200, 400};
    for (int i = 0; i < 4; i++) {
        /* Listed by expiry, whatever the creation order (created later here expires sooner). */
        lt_payment_t p = make_payment(ids[i], 1000, 1000 - expires[i], NULL, NULL);
        p.expires_at_ms = expires[i];
        assert_int_equal(create_now(fx, &p, &g), LT_PAY_OK);
    }
    lt_pay_settlement_t s = make_settlement("PAY-U-02", 100000, LT_PAY_FAILED, 500);
    assert_int_equal(settle_now(fx, &s, &g), LT_PAY_OK);

    memset(&g, 0, sizeof(g));
    lt_pay_list_unsettled(fx->conn, 400, 10, on_list, &g); /* expired strictly before 400 */
    assert_int_equal(g.calls, 0);
    wait_calls(fx, &g, 1);
    assert_int_equal(g.outcome, LT_PAY_OK);
    assert_int_equal(g.n, 2);
    assert_string_equal(g.ids[0], "PAY-U-01");
    assert_string_equal(g.ids[1], "PAY-U-03");

    memset(&g, 0, sizeof(g));
    lt_pay_list_unsettled(fx->conn, 10000, 1, on_list, &g);
    wait_calls(fx, &g, 1);
    assert_int_equal(g.n, 1);
    assert_string_equal(g.ids[0], "PAY-U-01");
}

/* Two settled payments and their events, due at 3000 and 4000. */
static void two_events(fx_t *fx)
{
    got_t g;
    lt_payment_t a = make_payment("PAY-O-01", 1000, 100, NULL, NULL),
                 b = make_payment("PAY-O-02", 2000, 200, NULL, NULL);
    assert_int_equal(create_now(fx, &a, &g), LT_PAY_OK);
    assert_int_equal(create_now(fx, &b, &g), LT_PAY_OK);
    lt_pay_settlement_t sa = make_settlement("PAY-O-01", 100000, LT_PAY_PAID, 3000);
    lt_pay_settlement_t sb = make_settlement("PAY-O-02", 200000, LT_PAY_FAILED, 4000);
    assert_int_equal(settle_now(fx, &sa, &g), LT_PAY_OK);
    assert_int_equal(settle_now(fx, &sb, &g), LT_PAY_OK);
}

static void case_outbox_claim_lease(void **state)
{
    fx_t *fx = *state;
    got_t g;
    two_events(fx);
    assert_int_equal(claim_now(fx, 2999, 30000, 10, &g)->n, 0); /* not due yet */
    claim_now(fx, 5000, 30000, 10, &g);
    assert_int_equal(g.n, 2);
    assert_string_equal(g.ids[0], "evt-PAY-O-01"); /* the one due first */
    assert_string_equal(g.pay_ids[0], "PAY-O-01");
    assert_string_equal(g.ids[1], "evt-PAY-O-02");
    assert_string_equal(g.pay_ids[1], "PAY-O-02");
    /* Leased: another instance polling now gets nothing, until the lease runs out. */
    assert_int_equal(claim_now(fx, 5001, 30000, 10, &g)->n, 0);
    assert_int_equal(claim_now(fx, 35000, 30000, 1, &g)->n, 1);
    assert_int_equal(claim_now(fx, 35000, 30000, 10, &g)->n, 1);
}

static void case_outbox_failure_dead_redrive_delivered(void **state)
{
    fx_t *fx = *state;
    got_t g;
    two_events(fx);
    assert_int_equal(failed_now(fx, "evt-PAY-O-01", 1, 50000, false, &g), LT_PAY_OK);
    assert_int_equal(g.event.attempts, 1);
    assert_int_equal(claim_now(fx, 49999, 1000, 10, &g)->n, 1); /* only PAY-O-02; PAY-O-01 waits for 50000 */
    assert_string_equal(g.ids[0], "evt-PAY-O-02");

    assert_int_equal(failed_now(fx, "evt-PAY-O-02", 12, 0, true, &g), LT_PAY_OK);
    assert_int_equal(g.event.state, LT_EVENT_DEAD);
    assert_string_equal(g.event.last_error, "HTTP 503");
    assert_int_equal(list_now(fx, LT_EVENT_DEAD, 10, &g)->n, 1);
    assert_string_equal(g.ids[0], "evt-PAY-O-02");
    assert_int_equal(list_now(fx, LT_EVENT_PENDING, 10, &g)->n, 1);
    assert_string_equal(g.ids[0], "evt-PAY-O-01");
    assert_int_equal(list_now(fx, -1, 10, &g)->n, 2);
    assert_string_equal(g.ids[0], "evt-PAY-O-01"); /* oldest first */
    assert_int_equal(list_now(fx, -1, 1, &g)->n, 1);
    lt_pay_counts_t c = counts_now(fx);
    assert_int_equal(c.outbox_backlog, 1);
    assert_int_equal(c.dead_letters, 1);
    assert_int_equal(claim_now(fx, 1000000, 1000, 10, &g)->n, 1); /* a dead letter is never claimed */

    assert_int_equal(failed_now(fx, "evt-PAY-O-02", 13, 0, false, &g), LT_PAY_ALREADY_FINAL);
    assert_int_equal(redrive_now(fx, "evt-PAY-O-02", 60000, &g), LT_PAY_OK);
    assert_int_equal(g.event.state, LT_EVENT_PENDING);
    assert_int_equal(g.event.attempts, 0);
    assert_true(g.event.next_attempt_at_ms == 60000);
    assert_int_equal(redrive_now(fx, "evt-PAY-O-02", 60000, &g), LT_PAY_NOT_FOUND); /* not dead any more */
    assert_int_equal(redrive_now(fx, "evt-PAY-O-01", 60000, &g), LT_PAY_NOT_FOUND);

    assert_int_equal(delivered_now(fx, "evt-PAY-O-01", &g), LT_PAY_OK);
    assert_int_equal(delivered_now(fx, "evt-PAY-O-01", &g), LT_PAY_OK); /* a second 2xx: still delivered */
    assert_int_equal(failed_now(fx, "evt-PAY-O-01", 2, 0, false, &g), LT_PAY_ALREADY_FINAL); /* a late failure */
    assert_int_equal(delivered_now(fx, "evt-PAY-NOPE", &g), LT_PAY_NOT_FOUND);
    assert_int_equal(failed_now(fx, "evt-PAY-NOPE", 1, 0, false, &g), LT_PAY_NOT_FOUND);
    assert_int_equal(list_now(fx, -1, 10, &g)->n, 1);
    assert_string_equal(g.ids[0], "evt-PAY-O-02");
    c = counts_now(fx);
    assert_int_equal(c.outbox_backlog, 1);
    assert_int_equal(c.dead_letters, 0);
    assert_true(c.oldest_backlog_created_ms == 4000);
}

/* After lt_pay_conn_free, no callback: not for an answer already on its way either. */
static void case_no_callback_after_free(void **state)
{
    fx_t *fx = *state;
    got_t g = {0};
    lt_payment_t p = make_payment("PAY-F-01", 1000, 100, NULL, NULL);
    lt_pay_create(fx->conn, &p, on_done, &g);
    lt_pay_get(fx->conn, "PAY-F-01", on_done, &g);
    lt_pay_counts(fx->conn, on_counts, &g);
    lt_pay_conn_free(fx->conn);
    fx->conn = NULL;
    spin(fx, 100);
    assert_int_equal(g.calls, 0);
}

/* The citizen's part: a sealed payment comes back sealed, settled or not; one stored in clear (before sealing
 * existed) comes back in clear. The stores never open or re-seal anything. */
static void case_sealed_and_clear_payments(void **state)
{
    fx_t *fx = *state;
    lt_cache_keys_t keys;
    memset(&keys, 0, sizeof(keys));
    keys.aead[0].id = keys.encrypt_with = 3;
    memset(keys.aead[0].key, 0x42, 32);
    keys.naead = 1;
    got_t g;
    lt_payment_t sealed = make_payment("PAYSEALED01", 1000, 1000, NULL, NULL);
    assert_int_equal(lt_pay_seal(&keys, &sealed), 0);
    assert_int_equal(create_now(fx, &sealed, &g), LT_PAY_OK);
    lt_pay_settlement_t s = make_settlement("PAYSEALED01", 100000, LT_PAY_PAID, 2000);
    assert_int_equal(settle_now(fx, &s, &g), LT_PAY_OK);
    assert_int_equal(get_now(fx, "PAYSEALED01", &g), LT_PAY_OK);
    assert_int_equal(g.payment.state, LT_PAY_PAID);
    assert_string_equal(g.payment.sealed, sealed.sealed);
    assert_string_equal(g.payment.client_ip, ""); /* not stored in clear */
    assert_string_equal(g.payment.return_url, "");
    lt_error_t err;
    assert_int_equal(lt_pay_unseal(&keys, &g.payment, &err), 0);
    assert_string_equal(g.payment.client_ip, "10.1.2.3");
    assert_string_equal(g.payment.return_url, "https://portal.example/r/PAYSEALED01");

    lt_payment_t clear = make_payment("PAYCLEAR001", 1000, 1000, NULL, NULL);
    assert_int_equal(create_now(fx, &clear, &g), LT_PAY_OK);
    assert_int_equal(get_now(fx, "PAYCLEAR001", &g), LT_PAY_OK);
    assert_string_equal(g.payment.sealed, "");
    assert_string_equal(g.payment.client_ip, "10.1.2.3");
    assert_string_equal(g.payment.return_url, "https://portal.example/r/PAYCLEAR001");
}

static got_t *fee_pending_now(fx_t *fx, got_t *g)
{
    memset(g, 0, sizeof(*g));
    lt_pay_fee_pending(fx->conn, 10, on_list, g);
    assert_int_equal(g->calls, 0);
    wait_calls(fx, g, 1);
    assert_int_equal(g->outcome, LT_PAY_OK);
    return g;
}

static lt_pay_outcome_t fee_reported_now(fx_t *fx, const char *id)
{
    got_t g = {0};
    lt_pay_fee_reported(fx->conn, id, on_done, &g);
    assert_int_equal(g.calls, 0);
    wait_calls(fx, &g, 1);
    return g.outcome;
}

/* The dossier report: a paid payment for a dossier is owed to it from its settlement on, until reported; a failed
 * one, or one without a dossier, never is. A repeat of the report changes nothing. */
static void case_dossier_report(void **state)
{
    fx_t *fx = *state;
    got_t g;
    lt_payment_t paid = make_payment("PAY-F-01", 7000, 100, NULL, NULL);
    lt_payment_t failed = make_payment("PAY-F-02", 7000, 100, NULL, NULL);
    lt_payment_t loose = make_payment("PAY-F-03", 7000, 100, NULL, NULL);
    loose.dossier_id[0] = '\0';
    assert_int_equal(create_now(fx, &paid, &g), LT_PAY_OK);
    assert_int_equal(create_now(fx, &failed, &g), LT_PAY_OK);
    assert_int_equal(create_now(fx, &loose, &g), LT_PAY_OK);
    assert_int_equal(fee_pending_now(fx, &g)->n, 0); /* pending payments are owed nothing */
    lt_pay_settlement_t s = make_settlement("PAY-F-01", 700000, LT_PAY_PAID, 2000);
    assert_int_equal(settle_now(fx, &s, &g), LT_PAY_OK);
    s = make_settlement("PAY-F-02", 700000, LT_PAY_FAILED, 2001);
    assert_int_equal(settle_now(fx, &s, &g), LT_PAY_OK);
    s = make_settlement("PAY-F-03", 700000, LT_PAY_PAID, 2002);
    assert_int_equal(settle_now(fx, &s, &g), LT_PAY_OK);
    s = make_settlement("PAY-F-01", 700000, LT_PAY_PAID, 2003);
    assert_int_equal(settle_now(fx, &s, &g), LT_PAY_ALREADY_FINAL); /* a repeated IPN owes nothing more */
    fee_pending_now(fx, &g);
    assert_int_equal(g.n, 1);
    assert_string_equal(g.ids[0], "PAY-F-01");
    assert_int_equal(counts_now(fx).dossier_reports_owed, 1);
    assert_int_equal(fee_reported_now(fx, "PAY-F-01"), LT_PAY_OK);
    assert_int_equal(fee_reported_now(fx, "PAY-F-01"), LT_PAY_OK); /* again: nothing changes */
    assert_int_equal(fee_reported_now(fx, "PAY-NOBODY"), LT_PAY_OK);
    assert_int_equal(fee_pending_now(fx, &g)->n, 0);
    assert_int_equal(counts_now(fx).dossier_reports_owed, 0);
}

#define STORE_CASES(setup, teardown)                                                                                   \
    cmocka_unit_test_setup_teardown(case_settle_outcomes, setup, teardown),                                            \
        cmocka_unit_test_setup_teardown(case_sealed_and_clear_payments, setup, teardown),                              \
        cmocka_unit_test_setup_teardown(case_idempotency, setup, teardown),                                            \
        cmocka_unit_test_setup_teardown(case_list_unsettled, setup, teardown),                                         \
        cmocka_unit_test_setup_teardown(case_outbox_claim_lease, setup, teardown),                                     \
        cmocka_unit_test_setup_teardown(case_outbox_failure_dead_redrive_delivered, setup, teardown),                  \
        cmocka_unit_test_setup_teardown(case_no_callback_after_free, setup, teardown),                                 \
        cmocka_unit_test_setup_teardown(case_dossier_report, setup, teardown)

#endif
