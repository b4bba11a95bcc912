/*
 * The journal backend of the payment store (lt_pay_journal.h), on the shared journal engine (lt_journal.h: the
 * directory's lock, group commit with fdatasync on a writer thread, answers only once durable, replay and
 * compaction). This file says what the records are and how each operation reads and changes the tables:
 *
 * Every operation runs in two halves:
 *   1. On the caller's loop, under the store's mutex (the engine's): read or change the in-memory tables, append the
 *      change (if any) as one JSON line, and note the sequence number the answer depends on: the last record that
 *      wrote what the operation looked at.
 *   2. The engine answers it on the conn's loop once that record is durable.
 * So no answer, not even "already final" or a read, leaves the store before what it saw is on disk: a crash can
 * never lose a state an IPN was answered about. A disk error makes the store refuse everything it cannot prove
 * durable until a restart replays what is on disk.
 *
 * Records: {"op":"create"|"settle"|"event","p":payment,"ev":event}; a settle that is to be reported to its dossier
 * (paid, with a dossier) carries "fee":true, and {"op":"fee_reported","id":payment id} clears that. The snapshot
 * holds one "payment" or "event" record per live entry, and {"op":"fee","id"} per report still owed
 * (docs/payment-store.md).
 */
#include "lt_pay_journal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lt_journal.h"
#include "lt_log.h"
#include "lt_map.h"

/* ---- the store ------------------------------------------------------------------------ */

/* A payment in memory: its stored JSON (parsed when asked for: a few hundred bytes instead of a 3 kB struct), and
 * what scans and checks need without parsing. */
typedef struct {
    char id[LT_PAY_ID_MAX + 1];
    char *json;
    lt_pay_state_t state;
    long long amount_vnd;
    int64_t expires_at_ms; /* reconciliation lists pending payments by expiry */
    char fingerprint[65];
    uint64_t seq; /* the record that last wrote it */
} pay_entry_t;

/* Only pending and dead events stay in memory: a delivered one is dropped, and the payment's final state is what
 * still tells a late duplicate apart (an IPN repeat answers 02 from the payment, not from its event). */
typedef struct {
    lt_pay_event_t ev;
    uint64_t seq;
} ev_entry_t;

typedef enum { OP_DONE, OP_LIST, OP_COUNTS } op_kind_t;

typedef struct op {
    lt_journal_op_t base; /* first: the engine hands it back */
    struct lt_pay_journal *j;
    op_kind_t kind;
    lt_pay_done_fn done;
    lt_pay_list_fn list_fn;
    lt_pay_counts_fn counts_fn;
    void *arg;
    lt_pay_result_t res;
    lt_pay_list_t list; /* its arrays are the op's */
    lt_pay_counts_t counts;
} op_t;

struct lt_pay_journal {
    lt_journal_t *jr;                /* the engine; its lock guards everything below */
    lt_map_t payments, idem, events; /* id → pay_entry_t, idempotency → pay_entry_t, event id → ev_entry_t */
    lt_map_t fees; /* id → pay_entry_t (not owned): paid payments not reported to their dossier yet */
    long long by_state[LT_PAY_NSTATES];
};

typedef struct jconn {
    lt_pay_journal_t *j;
    lt_journal_conn_t *jc;
} jconn_t;

static void op_free(op_t *op)
{
    free((void *)op->list.events);
    free((void *)op->list.payments);
    free(op);
}

/* ---- the tables (callers hold the lock, or are single-threaded start-up) ---------------- */

static void set_detail(char *detail, size_t n, const char *why)
{
    snprintf(detail, n, "%s", why);
}

static void free_pay_entry(void *ctx, const char *key, void *val)
{
    pay_entry_t *e = val;
    free(e->json);
    free(e);
}

static void free_ev_entry(void *ctx, const char *key, void *val)
{
    free(val);
}

/* Records p (whose stored JSON is json, now owned by the table) as the payment's current value. */
static pay_entry_t *put_payment(lt_pay_journal_t *j, const lt_payment_t *p, char *json, uint64_t seq)
{
    pay_entry_t *e = lt_map_get(&j->payments, p->id);
    if (e == NULL) {
        e = calloc(1, sizeof(*e));
        lt_map_put(&j->payments, p->id, e);
    } else {
        j->by_state[e->state]--;
        free(e->json);
    }
    memcpy(e->id, p->id, sizeof(e->id));
    e->json = json;
    e->state = p->state;
    e->amount_vnd = p->amount_vnd;
    e->expires_at_ms = p->expires_at_ms;
    memcpy(e->fingerprint, p->fingerprint, sizeof(e->fingerprint));
    e->seq = seq;
    j->by_state[p->state]++;
    if (p->idempotency[0] != '\0')
        lt_map_put(&j->idem, p->idempotency, e);
    return e;
}

static void put_event(lt_pay_journal_t *j, const lt_pay_event_t *ev, uint64_t seq)
{
    if (ev->state == LT_EVENT_DELIVERED) {
        free(lt_map_del(&j->events, ev->event_id));
        return;
    }
    ev_entry_t *e = lt_map_get(&j->events, ev->event_id);
    if (e == NULL) {
        e = calloc(1, sizeof(*e));
        lt_map_put(&j->events, ev->event_id, e);
    }
    e->ev = *ev;
    e->seq = seq;
}

static int load_payment(const pay_entry_t *e, lt_payment_t *p)
{
    json_t *obj = json_loads(e->json, 0, NULL);
    int rc = lt_payment_from_json(obj, p);
    json_decref(obj);
    return rc;
}

static char *payment_json(const lt_payment_t *p)
{
    json_t *obj = lt_payment_to_json(p);
    char *s = json_dumps(obj, JSON_COMPACT);
    json_decref(obj);
    return s;
}

static char *event_json(const lt_pay_event_t *ev)
{
    json_t *obj = lt_pay_event_to_json(ev);
    char *s = json_dumps(obj, JSON_COMPACT);
    json_decref(obj);
    return s;
}

/* Appends one journal record: {"op":op,"p":payment,"ev":event} (either part may be absent). jansson escapes every
 * control character inside strings, so a record never spans two lines. Returns the record's sequence number. */
static uint64_t append_record_with(lt_pay_journal_t *j, const char *op, const char *pjson, const char *evjson,
                                   const char *extra)
{
    lt_buf_t line = {0};
    lt_buf_adds(&line, "{\"op\":\"");
    lt_buf_adds(&line, op);
    lt_buf_adds(&line, "\"");
    if (pjson != NULL) {
        lt_buf_adds(&line, ",\"p\":");
        lt_buf_adds(&line, pjson);
    }
    if (evjson != NULL) {
        lt_buf_adds(&line, ",\"ev\":");
        lt_buf_adds(&line, evjson);
    }
    if (extra != NULL)
        lt_buf_adds(&line, extra);
    lt_buf_adds(&line, "}");
    uint64_t seq = lt_journal_append(j->jr, line.data);
    lt_buf_free(&line);
    return seq;
}

static uint64_t append_record(lt_pay_journal_t *j, const char *op, const char *pjson, const char *evjson)
{
    return append_record_with(j, op, pjson, evjson, NULL);
}

/* A payment to report to its dossier: paid, for a dossier. */
static bool owes_fee_report(const lt_payment_t *p)
{
    return p->state == LT_PAY_PAID && p->dossier_id[0] != '\0';
}

/* ---- answering ---------------------------------------------------------------------------- */

static void fail_op(op_t *op, const char *why)
{
    free((void *)op->list.events);
    free((void *)op->list.payments);
    memset(&op->list, 0, sizeof(op->list));
    op->res.outcome = op->list.outcome = op->counts.outcome = LT_PAY_STORE_ERROR;
    set_detail(op->res.detail, sizeof(op->res.detail), why);
    set_detail(op->list.detail, sizeof(op->list.detail), why);
}

/* On the conn's loop, once what the op saw is durable (failure NULL), or never will be. */
static void answer(lt_journal_op_t *base, const char *failure)
{
    op_t *op = (op_t *)base;
    if (failure != NULL)
        fail_op(op, failure);
    if (op->kind == OP_DONE)
        op->done(op->arg, &op->res);
    else if (op->kind == OP_LIST)
        op->list_fn(op->arg, &op->list);
    else
        op->counts_fn(op->arg, &op->counts);
    op_free(op);
}

static void discard(lt_journal_op_t *base)
{
    op_free((op_t *)base);
}

static op_t *op_new(jconn_t *c, op_kind_t kind, void *arg)
{
    op_t *op = calloc(1, sizeof(*op));
    op->base.conn = c->jc;
    op->base.answer = answer;
    op->base.discard = discard;
    op->j = c->j;
    op->kind = kind;
    op->arg = arg;
    return op;
}

/* Refuses a change while the store is broken: memory must not run ahead of a disk that no longer takes writes. */
static bool refuse_if_broken(lt_pay_journal_t *j, op_t *op)
{
    const char *why = lt_journal_broken(j->jr);
    if (why != NULL)
        fail_op(op, why);
    return why != NULL;
}

/*
 * Every operation has one shape: a new op of this conn, its work done under the store mutex, then the op handed
 * to the engine (lt_journal_submit), which answers it once everything it observed is durable. begin_* take the
 * mutex; end_op hands the op over and releases it.
 */
static op_t *begin_done(void *conn, lt_pay_done_fn fn, void *arg)
{
    jconn_t *c = conn;
    op_t *op = op_new(c, OP_DONE, arg);
    op->done = fn;
    lt_journal_lock(c->j->jr);
    return op;
}

static op_t *begin_list(void *conn, lt_pay_list_fn fn, void *arg)
{
    jconn_t *c = conn;
    op_t *op = op_new(c, OP_LIST, arg);
    op->list_fn = fn;
    lt_journal_lock(c->j->jr);
    return op;
}

static void end_op(op_t *op)
{
    lt_pay_journal_t *j = op->j;
    lt_journal_submit(j->jr, &op->base);
    lt_journal_unlock(j->jr);
}

/* ---- operations (each: lock, decide, append, submit, unlock) ----------------------------- */

static void do_create(lt_pay_journal_t *j, op_t *op, const lt_payment_t *p)
{
    pay_entry_t *known = p->idempotency[0] != '\0' ? lt_map_get(&j->idem, p->idempotency) : NULL;
    if (known != NULL) {
        op->res.outcome = strcmp(known->fingerprint, p->fingerprint) == 0 ? LT_PAY_EXISTS : LT_PAY_KEY_REUSED;
        op->base.seq = known->seq;
        if (load_payment(known, &op->res.payment) != 0)
            fail_op(op, "payments journal: a stored payment does not parse");
        return;
    }
    if (lt_map_get(&j->payments, p->id) != NULL) {
        fail_op(op, "payment id already exists");
        return;
    }
    op->res.payment = *p;
    op->res.payment.state = LT_PAY_PENDING;
    char *json = payment_json(&op->res.payment);
    op->base.seq = append_record(j, "create", json, NULL);
    put_payment(j, &op->res.payment, json, op->base.seq);
    op->res.outcome = LT_PAY_OK;
}

static void jcreate(void *conn, const lt_payment_t *p, lt_pay_done_fn fn, void *arg)
{
    op_t *op = begin_done(conn, fn, arg);
    lt_pay_journal_t *j = op->j;
    if (!refuse_if_broken(j, op))
        do_create(j, op, p);
    end_op(op);
}

static void jget(void *conn, const char *payment_id, lt_pay_done_fn fn, void *arg)
{
    op_t *op = begin_done(conn, fn, arg);
    lt_pay_journal_t *j = op->j;
    pay_entry_t *e = lt_map_get(&j->payments, payment_id);
    op->res.outcome = e != NULL ? LT_PAY_OK : LT_PAY_NOT_FOUND;
    if (e != NULL) {
        op->base.seq = e->seq;
        if (load_payment(e, &op->res.payment) != 0)
            fail_op(op, "payments journal: a stored payment does not parse");
    }
    end_op(op);
}

static void apply_settlement(lt_payment_t *p, const lt_pay_settlement_t *s)
{
    p->state = s->state;
    memcpy(p->response_code, s->response_code, sizeof(p->response_code));
    memcpy(p->transaction_status, s->transaction_status, sizeof(p->transaction_status));
    memcpy(p->bank_code, s->bank_code, sizeof(p->bank_code));
    memcpy(p->transaction_no, s->transaction_no, sizeof(p->transaction_no));
    memcpy(p->pay_date, s->pay_date, sizeof(p->pay_date));
    memcpy(p->settled_by, s->settled_by, sizeof(p->settled_by));
    p->updated_at_ms = s->now_ms;
}

/* The checks in the ICD's order: unknown (01), amount (04), already final (02). */
static void do_settle(lt_pay_journal_t *j, op_t *op, const lt_pay_settlement_t *s)
{
    pay_entry_t *e = lt_map_get(&j->payments, s->payment_id);
    if (e == NULL) {
        op->res.outcome = LT_PAY_NOT_FOUND;
        return;
    }
    op->base.seq = e->seq;
    if (load_payment(e, &op->res.payment) != 0) {
        fail_op(op, "payments journal: a stored payment does not parse");
        return;
    }
    if (s->amount_x100 >= 0 && s->amount_x100 != e->amount_vnd * 100) {
        op->res.outcome = LT_PAY_AMOUNT_MISMATCH;
        return;
    }
    if (lt_pay_state_is_final(e->state)) {
        op->res.outcome = LT_PAY_ALREADY_FINAL;
        return;
    }
    if (!lt_pay_state_is_final(s->state)) {
        fail_op(op, "settle needs a final state");
        return;
    }
    apply_settlement(&op->res.payment, s);
    lt_pay_event_for(&op->res.payment, s->now_ms, &op->res.event);
    char *pjson = payment_json(&op->res.payment);
    char *evjson = event_json(&op->res.event);
    /* One record holds both (and the dossier report owed), so the final state and its deliveries are durable
     * together or not at all. */
    bool fee = owes_fee_report(&op->res.payment);
    op->base.seq = append_record_with(j, "settle", pjson, evjson, fee ? ",\"fee\":true" : NULL);
    free(evjson);
    pay_entry_t *settled = put_payment(j, &op->res.payment, pjson, op->base.seq);
    if (fee)
        lt_map_put(&j->fees, settled->id, settled);
    put_event(j, &op->res.event, op->base.seq);
    op->res.outcome = LT_PAY_OK;
}

static void jsettle(void *conn, const lt_pay_settlement_t *s, lt_pay_done_fn fn, void *arg)
{
    op_t *op = begin_done(conn, fn, arg);
    lt_pay_journal_t *j = op->j;
    if (!refuse_if_broken(j, op))
        do_settle(j, op, s);
    end_op(op);
}

/* ---- lists: collect matching entries, sort, keep the first max ---------------------------- */

typedef struct {
    void **items;
    size_t n, cap;
    int64_t before; /* filters */
    int state;
} collect_t;

static void collect_add(collect_t *c, void *item)
{
    if (c->n == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 64;
        c->items = realloc(c->items, c->cap * sizeof(void *));
    }
    c->items[c->n++] = item;
}

/* qsort with nothing to sort: its array is NULL, which qsort may not be handed. */
static void collect_sort(collect_t *c, int (*cmp)(const void *, const void *))
{
    if (c->n > 1)
        qsort(c->items, c->n, sizeof(void *), cmp);
}

static void collect_unsettled(void *ctx, const char *key, void *val)
{
    collect_t *c = ctx;
    pay_entry_t *e = val;
    if (e->state == LT_PAY_PENDING && e->expires_at_ms < c->before)
        collect_add(c, e);
}

/* Soonest expiry first, ties by id: the order of a Redis sorted set, so both backends list alike. */
static int by_expiry(const void *a, const void *b)
{
    const pay_entry_t *x = *(pay_entry_t *const *)a, *y = *(pay_entry_t *const *)b;
    if (x->expires_at_ms != y->expires_at_ms)
        return x->expires_at_ms < y->expires_at_ms ? -1 : 1;
    return strcmp(x->id, y->id);
}

/* List answers observe the whole table, absences included: they wait for everything appended so far. */
static void do_list_unsettled(lt_pay_journal_t *j, op_t *op, int64_t before, size_t max)
{
    collect_t c = {.before = before};
    lt_map_foreach(&j->payments, collect_unsettled, &c);
    collect_sort(&c, by_expiry);
    size_t n = c.n < max ? c.n : max;
    lt_payment_t *out = calloc(n ? n : 1, sizeof(*out));
    for (size_t i = 0; i < n; i++)
        load_payment(c.items[i], &out[i]);
    free(c.items);
    op->list.payments = out;
    op->list.n = n;
    op->base.seq = lt_journal_last_seq(j->jr);
}

static void jlist_unsettled(void *conn, int64_t expired_before_ms, size_t max, lt_pay_list_fn fn, void *arg)
{
    op_t *op = begin_list(conn, fn, arg);
    lt_pay_journal_t *j = op->j;
    do_list_unsettled(j, op, expired_before_ms, max);
    end_op(op);
}

static void collect_due(void *ctx, const char *key, void *val)
{
    collect_t *c = ctx;
    ev_entry_t *e = val;
    if (e->ev.state == LT_EVENT_PENDING && e->ev.next_attempt_at_ms <= c->before)
        collect_add(c, e);
}

static int by_next_attempt(const void *a, const void *b)
{
    const ev_entry_t *x = *(ev_entry_t *const *)a, *y = *(ev_entry_t *const *)b;
    if (x->ev.next_attempt_at_ms != y->ev.next_attempt_at_ms)
        return x->ev.next_attempt_at_ms < y->ev.next_attempt_at_ms ? -1 : 1;
    return strcmp(x->ev.event_id, y->ev.event_id);
}

/* The lease is not journaled: after a crash a claimed event is simply due again (delivery is at least once). */
static void do_claim(lt_pay_journal_t *j, op_t *op, int64_t now_ms, int64_t lease_ms, size_t max)
{
    collect_t c = {.before = now_ms};
    lt_map_foreach(&j->events, collect_due, &c);
    collect_sort(&c, by_next_attempt);
    size_t n = c.n < max ? c.n : max;
    lt_pay_event_t *evs = calloc(n ? n : 1, sizeof(*evs));
    lt_payment_t *pays = calloc(n ? n : 1, sizeof(*pays));
    for (size_t i = 0; i < n; i++) {
        ev_entry_t *e = c.items[i];
        e->ev.next_attempt_at_ms = now_ms + lease_ms;
        evs[i] = e->ev;
        pay_entry_t *pe = lt_map_get(&j->payments, e->ev.payment_id);
        if (pe != NULL)
            load_payment(pe, &pays[i]);
    }
    free(c.items);
    op->list.events = evs;
    op->list.payments = pays;
    op->list.n = n;
    op->base.seq = lt_journal_last_seq(j->jr);
}

static void jclaim(void *conn, int64_t now_ms, int64_t lease_ms, size_t max, lt_pay_list_fn fn, void *arg)
{
    op_t *op = begin_list(conn, fn, arg);
    lt_pay_journal_t *j = op->j;
    if (!refuse_if_broken(j, op))
        do_claim(j, op, now_ms, lease_ms, max);
    end_op(op);
}

/* An event that is gone was delivered when its payment is final (delivered events are dropped). */
static pay_entry_t *final_payment_of(lt_pay_journal_t *j, const char *event_id)
{
    const char *pid = lt_pay_event_payment_id(event_id);
    pay_entry_t *pe = pid != NULL ? lt_map_get(&j->payments, pid) : NULL;
    return pe != NULL && lt_pay_state_is_final(pe->state) ? pe : NULL;
}

static void record_event(lt_pay_journal_t *j, op_t *op, ev_entry_t *e)
{
    op->res.event = e->ev;
    char *evjson = event_json(&e->ev);
    op->base.seq = append_record(j, "event", NULL, evjson);
    free(evjson);
    put_event(j, &op->res.event, op->base.seq); /* may free e (delivered) */
    op->res.outcome = LT_PAY_OK;
}

static void do_delivered(lt_pay_journal_t *j, op_t *op, const char *event_id, int64_t now_ms)
{
    ev_entry_t *e = lt_map_get(&j->events, event_id);
    pay_entry_t *pe = e == NULL ? final_payment_of(j, event_id) : NULL;
    if (e == NULL) {
        op->res.outcome = pe != NULL ? LT_PAY_OK : LT_PAY_NOT_FOUND; /* delivered twice: still delivered */
        op->base.seq = pe != NULL ? pe->seq : 0;
        return;
    }
    e->ev.state = LT_EVENT_DELIVERED;
    e->ev.updated_at_ms = now_ms;
    record_event(j, op, e);
}

static void jdelivered(void *conn, const char *event_id, int64_t now_ms, lt_pay_done_fn fn, void *arg)
{
    op_t *op = begin_done(conn, fn, arg);
    lt_pay_journal_t *j = op->j;
    if (!refuse_if_broken(j, op))
        do_delivered(j, op, event_id, now_ms);
    end_op(op);
}

typedef struct {
    int attempts;
    int64_t next_attempt_at_ms;
    bool dead;
    const char *error;
    int64_t now_ms;
} failure_t;

static void do_failed(lt_pay_journal_t *j, op_t *op, const char *event_id, const failure_t *f)
{
    ev_entry_t *e = lt_map_get(&j->events, event_id);
    if (e == NULL || e->ev.state != LT_EVENT_PENDING) {
        pay_entry_t *pe = e == NULL ? final_payment_of(j, event_id) : NULL;
        /* Dead already, or delivered (by another attempt whose lease ran out): the failure changes nothing. */
        op->res.outcome = e != NULL || pe != NULL ? LT_PAY_ALREADY_FINAL : LT_PAY_NOT_FOUND;
        op->base.seq = e != NULL ? e->seq : pe != NULL ? pe->seq : 0;
        if (e != NULL)
            op->res.event = e->ev;
        return;
    }
    e->ev.attempts = f->attempts;
    e->ev.next_attempt_at_ms = f->next_attempt_at_ms;
    e->ev.state = f->dead ? LT_EVENT_DEAD : LT_EVENT_PENDING;
    e->ev.updated_at_ms = f->now_ms;
    snprintf(e->ev.last_error, sizeof(e->ev.last_error), "%s", f->error ? f->error : "");
    record_event(j, op, e);
}

static void jfailed(void *conn, const char *event_id, int attempts, int64_t next_attempt_at_ms, bool dead,
                    const char *error, int64_t now_ms, lt_pay_done_fn fn, void *arg)
{
    failure_t f = {attempts, next_attempt_at_ms, dead, error, now_ms};
    op_t *op = begin_done(conn, fn, arg);
    lt_pay_journal_t *j = op->j;
    if (!refuse_if_broken(j, op))
        do_failed(j, op, event_id, &f);
    end_op(op);
}

static void do_redrive(lt_pay_journal_t *j, op_t *op, const char *event_id, int64_t now_ms)
{
    ev_entry_t *e = lt_map_get(&j->events, event_id);
    if (e == NULL || e->ev.state != LT_EVENT_DEAD) {
        op->res.outcome = LT_PAY_NOT_FOUND;
        op->base.seq = e != NULL ? e->seq : 0;
        return;
    }
    e->ev.state = LT_EVENT_PENDING;
    e->ev.attempts = 0;
    e->ev.next_attempt_at_ms = now_ms;
    e->ev.updated_at_ms = now_ms;
    record_event(j, op, e);
}

static void jredrive(void *conn, const char *event_id, int64_t now_ms, lt_pay_done_fn fn, void *arg)
{
    op_t *op = begin_done(conn, fn, arg);
    lt_pay_journal_t *j = op->j;
    if (!refuse_if_broken(j, op))
        do_redrive(j, op, event_id, now_ms);
    end_op(op);
}

static void collect_in_state(void *ctx, const char *key, void *val)
{
    collect_t *c = ctx;
    ev_entry_t *e = val;
    if (c->state < 0 || (int)e->ev.state == c->state)
        collect_add(c, e);
}

static int by_event_created(const void *a, const void *b)
{
    const ev_entry_t *x = *(ev_entry_t *const *)a, *y = *(ev_entry_t *const *)b;
    if (x->ev.created_at_ms != y->ev.created_at_ms)
        return x->ev.created_at_ms < y->ev.created_at_ms ? -1 : 1;
    return strcmp(x->ev.event_id, y->ev.event_id);
}

static void jlist(void *conn, int state, size_t max, lt_pay_list_fn fn, void *arg)
{
    op_t *op = begin_list(conn, fn, arg);
    lt_pay_journal_t *j = op->j;
    collect_t col = {.state = state};
    lt_map_foreach(&j->events, collect_in_state, &col);
    collect_sort(&col, by_event_created);
    size_t n = col.n < max ? col.n : max;
    lt_pay_event_t *evs = calloc(n ? n : 1, sizeof(*evs));
    for (size_t i = 0; i < n; i++)
        evs[i] = ((ev_entry_t *)col.items[i])->ev;
    free(col.items);
    op->list.events = evs;
    op->list.n = n;
    op->base.seq = lt_journal_last_seq(j->jr);
    end_op(op);
}

static void count_event(void *ctx, const char *key, void *val)
{
    lt_pay_counts_t *k = ctx;
    const lt_pay_event_t *ev = &((ev_entry_t *)val)->ev;
    if (ev->state == LT_EVENT_DEAD) {
        k->dead_letters++;
        return;
    }
    k->outbox_backlog++;
    if (k->oldest_backlog_created_ms == 0 || ev->created_at_ms < k->oldest_backlog_created_ms)
        k->oldest_backlog_created_ms = ev->created_at_ms;
}

static void jcounts(void *conn, lt_pay_counts_fn fn, void *arg)
{
    jconn_t *c = conn;
    lt_pay_journal_t *j = c->j;
    op_t *op = op_new(c, OP_COUNTS, arg);
    op->counts_fn = fn;
    lt_journal_lock(j->jr);
    memcpy(op->counts.by_state, j->by_state, sizeof(j->by_state));
    lt_map_foreach(&j->events, count_event, &op->counts);
    op->counts.dossier_reports_owed = (long long)j->fees.n;
    op->base.seq = lt_journal_last_seq(j->jr);
    lt_journal_submit(j->jr, &op->base);
    lt_journal_unlock(j->jr);
}

/* ---- the dossier report ---------------------------------------------------------------------------- */

static void collect_fee(void *ctx, const char *key, void *val)
{
    collect_add(ctx, val);
}

/* The order they were settled in since start-up (their records' order), those replayed first, by id. */
static int by_settled(const void *a, const void *b)
{
    const pay_entry_t *x = *(const pay_entry_t *const *)a, *y = *(const pay_entry_t *const *)b;
    return x->seq != y->seq ? (x->seq < y->seq ? -1 : 1) : strcmp(x->id, y->id);
}

static void jfee_pending(void *conn, size_t max, lt_pay_list_fn fn, void *arg)
{
    op_t *op = begin_list(conn, fn, arg);
    lt_pay_journal_t *j = op->j;
    collect_t c = {0};
    lt_map_foreach(&j->fees, collect_fee, &c);
    collect_sort(&c, by_settled);
    size_t n = c.n < max ? c.n : max;
    lt_payment_t *out = calloc(n ? n : 1, sizeof(*out));
    for (size_t i = 0; i < n; i++) {
        const pay_entry_t *e = c.items[i];
        if (load_payment(e, &out[i]) != 0) {
            free(out);
            free(c.items);
            fail_op(op, "payments journal: a stored payment does not parse");
            end_op(op);
            return;
        }
        if (e->seq > op->base.seq)
            op->base.seq = e->seq;
    }
    free(c.items);
    op->list.payments = out;
    op->list.n = n;
    op->list.outcome = LT_PAY_OK;
    end_op(op);
}

static void jfee_reported(void *conn, const char *payment_id, lt_pay_done_fn fn, void *arg)
{
    op_t *op = begin_done(conn, fn, arg);
    lt_pay_journal_t *j = op->j;
    pay_entry_t *e = lt_map_get(&j->fees, payment_id);
    if (!refuse_if_broken(j, op)) {
        op->res.outcome = LT_PAY_OK;
        if (e != NULL) {
            json_t *rec = json_pack("{s:s, s:s}", "op", "fee_reported", "id", payment_id);
            char *line = json_dumps(rec, JSON_COMPACT);
            json_decref(rec);
            op->base.seq = lt_journal_append(j->jr, line);
            free(line);
            lt_map_del(&j->fees, payment_id);
        } else {
            op->base.seq = lt_journal_last_seq(j->jr); /* cleared already: by a record before this one */
        }
    }
    end_op(op);
}

/* ---- conns, replay and compaction ---------------------------------------------------------------- */

static void *jconn_new(void *store, struct event_base *base)
{
    jconn_t *c = calloc(1, sizeof(*c));
    c->j = store;
    c->jc = lt_journal_conn_new(c->j->jr, base);
    return c;
}

static void jconn_free(void *conn)
{
    jconn_t *c = conn;
    if (c == NULL)
        return;
    lt_journal_conn_free(c->jc);
    free(c);
}

/* fee (snapshot) and fee_reported: the report owed to a payment's dossier, set or cleared. */
static int apply_fee_flag(lt_pay_journal_t *j, const json_t *rec, bool owed, const char **why)
{
    const char *id = json_string_value(json_object_get(rec, "id"));
    pay_entry_t *e = id != NULL ? lt_map_get(&j->payments, id) : NULL;
    *why = "a dossier report of an unknown payment";
    if (e == NULL)
        return -1;
    if (owed)
        lt_map_put(&j->fees, e->id, e);
    else
        lt_map_del(&j->fees, e->id);
    return 0;
}

/* Applies one record. Both halves are parsed before either is applied, so a bad line changes nothing. */
static int apply_line(lt_pay_journal_t *j, const char *line, size_t len, const char **why)
{
    json_t *rec = json_loadb(line, len, 0, NULL);
    const char *op = json_string_value(json_object_get(rec, "op"));
    const json_t *pj = json_object_get(rec, "p"), *evj = json_object_get(rec, "ev");
    lt_payment_t p;
    lt_pay_event_t ev;
    int rc = -1;
    *why = "not a JSON object";
    if (rec == NULL || op == NULL)
        goto out;
    if (strcmp(op, "fee") == 0 || strcmp(op, "fee_reported") == 0) {
        rc = apply_fee_flag(j, rec, op[3] == '\0', why);
        goto out;
    }
    *why = "unknown record";
    if (strcmp(op, "create") != 0 && strcmp(op, "settle") != 0 && strcmp(op, "event") != 0 &&
        strcmp(op, "payment") != 0)
        goto out;
    *why = "a payment with a missing or bad field";
    if (pj != NULL && lt_payment_from_json(pj, &p) != 0)
        goto out;
    *why = "an event with a missing or bad field";
    if (evj != NULL && lt_pay_event_from_json(evj, &ev) != 0)
        goto out;
    if (pj != NULL) {
        pay_entry_t *e = put_payment(j, &p, json_dumps(pj, JSON_COMPACT), 0);
        if (strcmp(op, "settle") == 0 && json_is_true(json_object_get(rec, "fee")))
            lt_map_put(&j->fees, e->id, e);
    }
    if (evj != NULL)
        put_event(j, &ev, 0);
    rc = 0;
out:
    json_decref(rec);
    return rc;
}

static int replay(void *owner, const char *line, size_t len, const char **why)
{
    return apply_line(owner, line, len, why);
}

/* The snapshot's records: every payment and every event still pending or dead. Payments keep their final state
 * forever: that is what answers a late duplicate. */
static void put_snapshot_payment(void *ctx, const char *key, void *val)
{
    lt_buf_t *b = ctx;
    lt_buf_adds(b, "{\"op\":\"payment\",\"p\":");
    lt_buf_adds(b, ((pay_entry_t *)val)->json);
    lt_buf_adds(b, "}\n");
}

static void put_snapshot_event(void *ctx, const char *key, void *val)
{
    lt_buf_t *b = ctx;
    char *evjson = event_json(&((ev_entry_t *)val)->ev);
    lt_buf_adds(b, "{\"op\":\"event\",\"ev\":");
    lt_buf_adds(b, evjson);
    lt_buf_adds(b, "}\n");
    free(evjson);
}

static void put_snapshot_fee(void *ctx, const char *key, void *val)
{
    lt_buf_t *b = ctx;
    json_t *rec = json_pack("{s:s, s:s}", "op", "fee", "id", key);
    char *text = json_dumps(rec, JSON_COMPACT);
    lt_buf_adds(b, text);
    lt_buf_adds(b, "\n");
    free(text);
    json_decref(rec);
}

/* On the writer thread, with the lock held. The payments first: a fee record names one. */
static size_t serialize(void *owner, lt_buf_t *out)
{
    lt_pay_journal_t *j = owner;
    lt_map_foreach(&j->payments, put_snapshot_payment, out);
    lt_map_foreach(&j->events, put_snapshot_event, out);
    lt_map_foreach(&j->fees, put_snapshot_fee, out);
    return j->payments.n + j->events.n + j->fees.n;
}

static void free_tables(lt_pay_journal_t *j)
{
    lt_map_foreach(&j->payments, free_pay_entry, NULL);
    lt_map_foreach(&j->events, free_ev_entry, NULL);
    lt_map_clear(&j->payments);
    lt_map_clear(&j->idem);
    lt_map_clear(&j->events);
    lt_map_clear(&j->fees);
}

lt_pay_journal_t *lt_pay_journal_open(const char *dir, long long compact_bytes, lt_error_t *err)
{
    lt_pay_journal_t *j = calloc(1, sizeof(*j));
    lt_map_init(&j->payments);
    lt_map_init(&j->idem);
    lt_map_init(&j->events);
    lt_map_init(&j->fees);
    lt_journal_conf_t conf = {.dir = dir,
                              .compact_bytes = compact_bytes,
                              .name = "payments journal",
                              .config_key = "payments.store.journal_dir"};
    lt_journal_hooks_t hooks = {.owner = j, .replay = replay, .serialize = serialize};
    j->jr = lt_journal_open(&conf, &hooks, err);
    if (j->jr == NULL) {
        free_tables(j);
        free(j);
        return NULL;
    }
    lt_log_info("payments journal: %zu payments, %zu events outstanding, from %s", j->payments.n, j->events.n, dir);
    return j;
}

/* The engine first: its writer may be compacting, which reads the tables. */
static void jclose(void *store)
{
    lt_pay_journal_t *j = store;
    lt_journal_close(j->jr);
    free_tables(j);
    free(j);
}

static bool jok(const void *store)
{
    return lt_journal_ok(((const lt_pay_journal_t *)store)->jr);
}

const lt_pay_backend_ops_t lt_pay_journal_ops = {
    .name = "journal",
    .close = jclose,
    .ok = jok,
    .conn_new = jconn_new,
    .conn_free = jconn_free,
    .create = jcreate,
    .get = jget,
    .settle = jsettle,
    .list_unsettled = jlist_unsettled,
    .outbox_claim = jclaim,
    .outbox_delivered = jdelivered,
    .outbox_failed = jfailed,
    .outbox_redrive = jredrive,
    .outbox_list = jlist,
    .counts = jcounts,
    .fee_pending = jfee_pending,
    .fee_reported = jfee_reported,
};
