/*
 * The journal backend (lt_pay_journal.h).
 *
 * Every operation runs in two halves:
 *   1. On the caller's loop, under the store's mutex: read or change the in-memory tables, append the change (if
 *      any) to the pending buffer as one JSON line, and note the sequence number the answer depends on: the last
 *      record that wrote what the operation looked at.
 *   2. The answer waits until the writer thread has made that record durable (write + fdatasync), then is queued
 *      on the conn and its loop is woken (event_active), where the callback runs.
 * So no answer, not even "already final" or a read, leaves the store before what it saw is on disk: a crash can
 * never lose a state an IPN was answered about. A disk error makes the store refuse everything it cannot prove
 * durable until a restart replays what is on disk (an fdatasync that failed cannot be retried safely).
 *
 * Files in journal_dir:
 *   lock          flock'd for the life of the process: one gateway per directory; holds its pid
 *   snapshot      the live state at the last compaction; its first line names the journal that follows it
 *   journal.<g>   the changes since that snapshot, one JSON line each
 */
#include "lt_pay_journal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lt_log.h"
#include "lt_pay_map.h"

/* ---- a growable byte buffer ---------------------------------------------------------- */

typedef struct {
    char *data;
    size_t len, cap;
} buf_t;

static void buf_add(buf_t *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n + 1)
            cap *= 2;
        b->data = realloc(b->data, cap);
        b->cap = cap;
    }
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
}

static void buf_adds(buf_t *b, const char *s)
{
    buf_add(b, s, strlen(s));
}

static void buf_free(buf_t *b)
{
    free(b->data);
    memset(b, 0, sizeof(*b));
}

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
    struct op *next;
    struct jconn *conn;
    uint64_t seq; /* answered once durable_seq reaches this */
    op_kind_t kind;
    lt_pay_done_fn done;
    lt_pay_list_fn list_fn;
    lt_pay_counts_fn counts_fn;
    void *arg;
    lt_pay_result_t res;
    lt_pay_list_t list; /* its arrays are the op's */
    lt_pay_counts_t counts;
} op_t;

typedef struct {
    op_t *head, *tail;
} op_queue_t;

struct lt_pay_journal {
    char *dir;
    int dir_fd, lock_fd, journal_fd;
    unsigned gen; /* journal.<gen> is the one being appended to */
    long long compact_bytes;
    off_t journal_bytes; /* the writer's alone */
    pthread_t writer;
    _Atomic bool broken;

    pthread_mutex_t lock;                /* everything below */
    pthread_cond_t wake;                 /* the writer waits on it */
    lt_pay_map_t payments, idem, events; /* id → pay_entry_t, idempotency → pay_entry_t, event id → ev_entry_t */
    long long by_state[LT_PAY_NSTATES];
    uint64_t last_seq, durable_seq;
    buf_t pending;      /* lines appended but not yet written */
    op_queue_t waiting; /* ops whose answer waits for a record to be durable */
    bool stop;
    char broken_why[120];
};

typedef struct jconn {
    lt_pay_journal_t *j;
    struct event *wake; /* activated (from any thread) when ready has ops */
    pthread_mutex_t lock;
    op_queue_t ready;
    bool *alive; /* set while the wake callback runs, so a callback may free the conn */
} jconn_t;

static void q_push(op_queue_t *q, op_t *op)
{
    op->next = NULL;
    if (q->tail != NULL)
        q->tail->next = op;
    else
        q->head = op;
    q->tail = op;
}

static op_t *q_pop(op_queue_t *q)
{
    op_t *op = q->head;
    if (op != NULL) {
        q->head = op->next;
        if (q->head == NULL)
            q->tail = NULL;
    }
    return op;
}

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
    pay_entry_t *e = lt_pay_map_get(&j->payments, p->id);
    if (e == NULL) {
        e = calloc(1, sizeof(*e));
        lt_pay_map_put(&j->payments, p->id, e);
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
        lt_pay_map_put(&j->idem, p->idempotency, e);
    return e;
}

static void put_event(lt_pay_journal_t *j, const lt_pay_event_t *ev, uint64_t seq)
{
    if (ev->state == LT_EVENT_DELIVERED) {
        free(lt_pay_map_del(&j->events, ev->event_id));
        return;
    }
    ev_entry_t *e = lt_pay_map_get(&j->events, ev->event_id);
    if (e == NULL) {
        e = calloc(1, sizeof(*e));
        lt_pay_map_put(&j->events, ev->event_id, e);
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

/* Appends one journal line: {"op":op,"p":payment,"ev":event} (either part may be absent). jansson escapes every
 * control character inside strings, so a record never spans two lines. Returns the record's sequence number. */
static uint64_t append_record(lt_pay_journal_t *j, const char *op, const char *pjson, const char *evjson)
{
    buf_adds(&j->pending, "{\"op\":\"");
    buf_adds(&j->pending, op);
    buf_adds(&j->pending, "\"");
    if (pjson != NULL) {
        buf_adds(&j->pending, ",\"p\":");
        buf_adds(&j->pending, pjson);
    }
    if (evjson != NULL) {
        buf_adds(&j->pending, ",\"ev\":");
        buf_adds(&j->pending, evjson);
    }
    buf_adds(&j->pending, "}\n");
    pthread_cond_signal(&j->wake);
    return ++j->last_seq;
}

/* ---- answering ---------------------------------------------------------------------------- */

static void push_ready(jconn_t *c, op_t *op)
{
    pthread_mutex_lock(&c->lock);
    q_push(&c->ready, op);
    pthread_mutex_unlock(&c->lock);
    event_active(c->wake, EV_TIMEOUT, 0);
}

static void fail_op(op_t *op, const char *why)
{
    free((void *)op->list.events);
    free((void *)op->list.payments);
    memset(&op->list, 0, sizeof(op->list));
    op->res.outcome = op->list.outcome = op->counts.outcome = LT_PAY_STORE_ERROR;
    set_detail(op->res.detail, sizeof(op->res.detail), why);
    set_detail(op->list.detail, sizeof(op->list.detail), why);
}

/* With the lock held: answer now if what op saw is durable, else park it until the writer gets there. */
static void submit(lt_pay_journal_t *j, op_t *op)
{
    if (op->seq > j->durable_seq && atomic_load(&j->broken))
        fail_op(op, j->broken_why); /* it saw something that will never be durable */
    if (op->seq <= j->durable_seq || atomic_load(&j->broken))
        push_ready(op->conn, op);
    else
        q_push(&j->waiting, op);
}

/* With the lock held, after durable_seq moved or the store broke: every parked op that can now be answered. */
static void release_waiting(lt_pay_journal_t *j)
{
    op_queue_t still = {0};
    for (op_t *op; (op = q_pop(&j->waiting)) != NULL;) {
        if (op->seq <= j->durable_seq) {
            push_ready(op->conn, op);
        } else if (atomic_load(&j->broken)) {
            fail_op(op, j->broken_why);
            push_ready(op->conn, op);
        } else {
            q_push(&still, op);
        }
    }
    j->waiting = still;
}

static void deliver(op_t *op)
{
    if (op->kind == OP_DONE)
        op->done(op->arg, &op->res);
    else if (op->kind == OP_LIST)
        op->list_fn(op->arg, &op->list);
    else
        op->counts_fn(op->arg, &op->counts);
}

/* On the conn's loop: runs the callbacks of every answered op, one at a time, so a callback may free the conn. */
static void on_wake(evutil_socket_t fd, short what, void *arg)
{
    jconn_t *c = arg;
    bool alive = true;
    c->alive = &alive;
    for (;;) {
        pthread_mutex_lock(&c->lock);
        op_t *op = q_pop(&c->ready);
        pthread_mutex_unlock(&c->lock);
        if (op == NULL)
            break;
        deliver(op);
        op_free(op);
        if (!alive)
            return;
    }
    c->alive = NULL;
}

static op_t *op_new(jconn_t *c, op_kind_t kind, void *arg)
{
    op_t *op = calloc(1, sizeof(*op));
    op->conn = c;
    op->kind = kind;
    op->arg = arg;
    return op;
}

/* Refuses a change while the store is broken: memory must not run ahead of a disk that no longer takes writes. */
static bool refuse_if_broken(lt_pay_journal_t *j, op_t *op)
{
    if (!atomic_load(&j->broken))
        return false;
    fail_op(op, j->broken_why);
    return true;
}

/*
 * Every operation has one shape: a new op of this conn, its work done under the store mutex, then the op handed
 * to the writer (submit), which answers it once everything it observed is durable. begin_* take the mutex;
 * end_op hands the op over and releases it.
 */
static op_t *begin_done(void *conn, lt_pay_done_fn fn, void *arg)
{
    jconn_t *c = conn;
    op_t *op = op_new(c, OP_DONE, arg);
    op->done = fn;
    pthread_mutex_lock(&c->j->lock);
    return op;
}

static op_t *begin_list(void *conn, lt_pay_list_fn fn, void *arg)
{
    jconn_t *c = conn;
    op_t *op = op_new(c, OP_LIST, arg);
    op->list_fn = fn;
    pthread_mutex_lock(&c->j->lock);
    return op;
}

static void end_op(op_t *op)
{
    lt_pay_journal_t *j = op->conn->j;
    submit(j, op);
    pthread_mutex_unlock(&j->lock);
}

/* ---- operations (each: lock, decide, append, submit, unlock) ----------------------------- */

static void do_create(lt_pay_journal_t *j, op_t *op, const lt_payment_t *p)
{
    pay_entry_t *known = p->idempotency[0] != '\0' ? lt_pay_map_get(&j->idem, p->idempotency) : NULL;
    if (known != NULL) {
        op->res.outcome = strcmp(known->fingerprint, p->fingerprint) == 0 ? LT_PAY_EXISTS : LT_PAY_KEY_REUSED;
        op->seq = known->seq;
        if (load_payment(known, &op->res.payment) != 0)
            fail_op(op, "payments journal: a stored payment does not parse");
        return;
    }
    if (lt_pay_map_get(&j->payments, p->id) != NULL) {
        fail_op(op, "payment id already exists");
        return;
    }
    op->res.payment = *p;
    op->res.payment.state = LT_PAY_PENDING;
    char *json = payment_json(&op->res.payment);
    op->seq = append_record(j, "create", json, NULL);
    put_payment(j, &op->res.payment, json, op->seq);
    op->res.outcome = LT_PAY_OK;
}

static void jcreate(void *conn, const lt_payment_t *p, lt_pay_done_fn fn, void *arg)
{
    op_t *op = begin_done(conn, fn, arg);
    lt_pay_journal_t *j = op->conn->j;
    if (!refuse_if_broken(j, op))
        do_create(j, op, p);
    end_op(op);
}

static void jget(void *conn, const char *payment_id, lt_pay_done_fn fn, void *arg)
{
    op_t *op = begin_done(conn, fn, arg);
    lt_pay_journal_t *j = op->conn->j;
    pay_entry_t *e = lt_pay_map_get(&j->payments, payment_id);
    op->res.outcome = e != NULL ? LT_PAY_OK : LT_PAY_NOT_FOUND;
    if (e != NULL) {
        op->seq = e->seq;
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
    pay_entry_t *e = lt_pay_map_get(&j->payments, s->payment_id);
    if (e == NULL) {
        op->res.outcome = LT_PAY_NOT_FOUND;
        return;
    }
    op->seq = e->seq;
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
    /* One record holds both, so the final state and its event are durable together or not at all. */
    op->seq = append_record(j, "settle", pjson, evjson);
    free(evjson);
    put_payment(j, &op->res.payment, pjson, op->seq);
    put_event(j, &op->res.event, op->seq);
    op->res.outcome = LT_PAY_OK;
}

static void jsettle(void *conn, const lt_pay_settlement_t *s, lt_pay_done_fn fn, void *arg)
{
    op_t *op = begin_done(conn, fn, arg);
    lt_pay_journal_t *j = op->conn->j;
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
    lt_pay_map_foreach(&j->payments, collect_unsettled, &c);
    collect_sort(&c, by_expiry);
    size_t n = c.n < max ? c.n : max;
    lt_payment_t *out = calloc(n ? n : 1, sizeof(*out));
    for (size_t i = 0; i < n; i++)
        load_payment(c.items[i], &out[i]);
    free(c.items);
    op->list.payments = out;
    op->list.n = n;
    op->seq = j->last_seq;
}

static void jlist_unsettled(void *conn, int64_t expired_before_ms, size_t max, lt_pay_list_fn fn, void *arg)
{
    op_t *op = begin_list(conn, fn, arg);
    lt_pay_journal_t *j = op->conn->j;
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
    lt_pay_map_foreach(&j->events, collect_due, &c);
    collect_sort(&c, by_next_attempt);
    size_t n = c.n < max ? c.n : max;
    lt_pay_event_t *evs = calloc(n ? n : 1, sizeof(*evs));
    lt_payment_t *pays = calloc(n ? n : 1, sizeof(*pays));
    for (size_t i = 0; i < n; i++) {
        ev_entry_t *e = c.items[i];
        e->ev.next_attempt_at_ms = now_ms + lease_ms;
        evs[i] = e->ev;
        pay_entry_t *pe = lt_pay_map_get(&j->payments, e->ev.payment_id);
        if (pe != NULL)
            load_payment(pe, &pays[i]);
    }
    free(c.items);
    op->list.events = evs;
    op->list.payments = pays;
    op->list.n = n;
    op->seq = j->last_seq;
}

static void jclaim(void *conn, int64_t now_ms, int64_t lease_ms, size_t max, lt_pay_list_fn fn, void *arg)
{
    op_t *op = begin_list(conn, fn, arg);
    lt_pay_journal_t *j = op->conn->j;
    if (!refuse_if_broken(j, op))
        do_claim(j, op, now_ms, lease_ms, max);
    end_op(op);
}

/* An event that is gone was delivered when its payment is final (delivered events are dropped). */
static pay_entry_t *final_payment_of(lt_pay_journal_t *j, const char *event_id)
{
    const char *pid = lt_pay_event_payment_id(event_id);
    pay_entry_t *pe = pid != NULL ? lt_pay_map_get(&j->payments, pid) : NULL;
    return pe != NULL && lt_pay_state_is_final(pe->state) ? pe : NULL;
}

static void record_event(lt_pay_journal_t *j, op_t *op, ev_entry_t *e)
{
    op->res.event = e->ev;
    char *evjson = event_json(&e->ev);
    op->seq = append_record(j, "event", NULL, evjson);
    free(evjson);
    put_event(j, &op->res.event, op->seq); /* may free e (delivered) */
    op->res.outcome = LT_PAY_OK;
}

static void do_delivered(lt_pay_journal_t *j, op_t *op, const char *event_id, int64_t now_ms)
{
    ev_entry_t *e = lt_pay_map_get(&j->events, event_id);
    pay_entry_t *pe = e == NULL ? final_payment_of(j, event_id) : NULL;
    if (e == NULL) {
        op->res.outcome = pe != NULL ? LT_PAY_OK : LT_PAY_NOT_FOUND; /* delivered twice: still delivered */
        op->seq = pe != NULL ? pe->seq : 0;
        return;
    }
    e->ev.state = LT_EVENT_DELIVERED;
    e->ev.updated_at_ms = now_ms;
    record_event(j, op, e);
}

static void jdelivered(void *conn, const char *event_id, int64_t now_ms, lt_pay_done_fn fn, void *arg)
{
    op_t *op = begin_done(conn, fn, arg);
    lt_pay_journal_t *j = op->conn->j;
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
    ev_entry_t *e = lt_pay_map_get(&j->events, event_id);
    if (e == NULL || e->ev.state != LT_EVENT_PENDING) {
        pay_entry_t *pe = e == NULL ? final_payment_of(j, event_id) : NULL;
        /* Dead already, or delivered (by another attempt whose lease ran out): the failure changes nothing. */
        op->res.outcome = e != NULL || pe != NULL ? LT_PAY_ALREADY_FINAL : LT_PAY_NOT_FOUND;
        op->seq = e != NULL ? e->seq : pe != NULL ? pe->seq : 0;
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
    lt_pay_journal_t *j = op->conn->j;
    if (!refuse_if_broken(j, op))
        do_failed(j, op, event_id, &f);
    end_op(op);
}

static void do_redrive(lt_pay_journal_t *j, op_t *op, const char *event_id, int64_t now_ms)
{
    ev_entry_t *e = lt_pay_map_get(&j->events, event_id);
    if (e == NULL || e->ev.state != LT_EVENT_DEAD) {
        op->res.outcome = LT_PAY_NOT_FOUND;
        op->seq = e != NULL ? e->seq : 0;
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
    lt_pay_journal_t *j = op->conn->j;
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
    lt_pay_journal_t *j = op->conn->j;
    collect_t col = {.state = state};
    lt_pay_map_foreach(&j->events, collect_in_state, &col);
    collect_sort(&col, by_event_created);
    size_t n = col.n < max ? col.n : max;
    lt_pay_event_t *evs = calloc(n ? n : 1, sizeof(*evs));
    for (size_t i = 0; i < n; i++)
        evs[i] = ((ev_entry_t *)col.items[i])->ev;
    free(col.items);
    op->list.events = evs;
    op->list.n = n;
    op->seq = j->last_seq;
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
    pthread_mutex_lock(&j->lock);
    memcpy(op->counts.by_state, j->by_state, sizeof(j->by_state));
    lt_pay_map_foreach(&j->events, count_event, &op->counts);
    op->seq = j->last_seq;
    submit(j, op);
    pthread_mutex_unlock(&j->lock);
}

/* ---- conns -------------------------------------------------------------------------------- */

static void *jconn_new(void *store, struct event_base *base)
{
    jconn_t *c = calloc(1, sizeof(*c));
    c->j = store;
    pthread_mutex_init(&c->lock, NULL);
    c->wake = event_new(base, -1, 0, on_wake, c);
    return c;
}

static void jconn_free(void *conn)
{
    jconn_t *c = conn;
    if (c == NULL)
        return;
    if (c->alive != NULL)
        *c->alive = false;
    lt_pay_journal_t *j = c->j;
    /* Under the store's lock nobody else can be handing this conn an answer: the writer only does so holding it. */
    pthread_mutex_lock(&j->lock);
    op_queue_t keep = {0};
    for (op_t *op; (op = q_pop(&j->waiting)) != NULL;) {
        if (op->conn == c)
            op_free(op);
        else
            q_push(&keep, op);
    }
    j->waiting = keep;
    pthread_mutex_unlock(&j->lock);
    for (op_t *op; (op = q_pop(&c->ready)) != NULL;)
        op_free(op);
    event_free(c->wake);
    pthread_mutex_destroy(&c->lock);
    free(c);
}

/* ---- files -------------------------------------------------------------------------------- */

static char *path_in(const lt_pay_journal_t *j, const char *name)
{
    size_t n = strlen(j->dir) + strlen(name) + 2;
    char *p = malloc(n);
    snprintf(p, n, "%s/%s", j->dir, name);
    return p;
}

static char *journal_path(const lt_pay_journal_t *j, unsigned gen)
{
    char name[32];
    snprintf(name, sizeof(name), "journal.%u", gen);
    return path_in(j, name);
}

static int write_all(int fd, const char *data, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, data, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        data += n;
        len -= (size_t)n;
    }
    return 0;
}

/* With the lock held: from now on the store answers only what is already durable. */
static void go_broken(lt_pay_journal_t *j, const char *what, int errnum)
{
    snprintf(j->broken_why, sizeof(j->broken_why), "payments journal: %s: %s", what, strerror(errnum));
    lt_log_error("%s; payments are refused until a restart replays the journal", j->broken_why);
    atomic_store(&j->broken, true);
    buf_free(&j->pending); /* their ops fail below; their records never reach the disk */
    release_waiting(j);
}

/* The snapshot's lines: a header naming the journal that follows it, then every payment and every event still
 * pending or dead. Payments keep their final state forever: that is what answers a late duplicate. */
static void put_snapshot_payment(void *ctx, const char *key, void *val)
{
    buf_t *b = ctx;
    buf_adds(b, "{\"op\":\"payment\",\"p\":");
    buf_adds(b, ((pay_entry_t *)val)->json);
    buf_adds(b, "}\n");
}

static void put_snapshot_event(void *ctx, const char *key, void *val)
{
    buf_t *b = ctx;
    char *evjson = event_json(&((ev_entry_t *)val)->ev);
    buf_adds(b, "{\"op\":\"event\",\"ev\":");
    buf_adds(b, evjson);
    buf_adds(b, "}\n");
    free(evjson);
}

static void serialize_state(lt_pay_journal_t *j, unsigned next_gen, buf_t *out)
{
    char header[160];
    snprintf(header, sizeof(header), "{\"snapshot\":1,\"next_journal\":%u,\"payments\":%zu,\"events\":%zu}\n", next_gen,
             j->payments.n, j->events.n);
    buf_adds(out, header);
    lt_pay_map_foreach(&j->payments, put_snapshot_payment, out);
    lt_pay_map_foreach(&j->events, put_snapshot_event, out);
}

/*
 * Writes the snapshot and switches to journal.<next_gen>. The order makes every crash point safe:
 *   1. create journal.<next_gen>, empty. Nothing names it yet: a crash leaves an orphan that start-up deletes.
 *   2. write snapshot.tmp and fsync it, so its bytes are on disk before any name points at them.
 *   3. rename snapshot.tmp → snapshot: atomic. Before it, start-up reads the old snapshot + journal.<gen>, which
 *      are intact; after it, the new snapshot + journal.<next_gen>.
 *   4. fsync the directory: the rename and journal.<next_gen>'s entry are durable before any record is committed
 *      to journal.<next_gen>, before the records folded into the snapshot are answered, and before step 5.
 *   5. unlink journal.<gen>, superseded (a crash before it leaves an orphan that start-up deletes).
 * Returns the new journal's fd, or -1 with errno and *what set.
 */
static int write_snapshot_files(lt_pay_journal_t *j, unsigned next_gen, const buf_t *snap, const char **what)
{
    char *jpath = journal_path(j, next_gen), *tmp = path_in(j, "snapshot.tmp"), *final = path_in(j, "snapshot");
    int fd = -1, tfd = -1, rc = -1;
    *what = "create the next journal";
    if ((fd = open(jpath, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0600)) < 0)
        goto out;
    *what = "write snapshot.tmp";
    if ((tfd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) < 0 ||
        write_all(tfd, snap->data, snap->len) || fsync(tfd) != 0)
        goto out;
    *what = "rename snapshot.tmp";
    if (rename(tmp, final) != 0)
        goto out;
    *what = "fsync the journal directory";
    if (fsync(j->dir_fd) != 0)
        goto out;
    char *old = journal_path(j, j->gen);
    unlink(old);
    free(old);
    rc = 0;
out:;
    int saved = errno;
    if (tfd >= 0)
        close(tfd);
    if (rc != 0 && fd >= 0) {
        close(fd);
        fd = -1;
    }
    free(jpath);
    free(tmp);
    free(final);
    errno = saved;
    return fd;
}

/* On the writer thread, lock held. The lock is held only to serialize the state (memory work, mostly copying the
 * payments' stored JSON); the disk work runs without it. Records still pending are folded into the snapshot. */
static void compact(lt_pay_journal_t *j)
{
    unsigned next_gen = j->gen + 1;
    buf_t snap = {0};
    serialize_state(j, next_gen, &snap);
    buf_free(&j->pending);
    uint64_t upto = j->last_seq;
    pthread_mutex_unlock(&j->lock);

    const char *what = NULL;
    int fd = write_snapshot_files(j, next_gen, &snap, &what);
    int errnum = errno;
    size_t bytes = snap.len;
    buf_free(&snap);

    pthread_mutex_lock(&j->lock);
    if (fd < 0) {
        go_broken(j, what, errnum);
        return;
    }
    close(j->journal_fd);
    j->journal_fd = fd;
    j->gen = next_gen;
    j->journal_bytes = 0;
    j->durable_seq = upto;
    release_waiting(j);
    lt_log_info("payments journal: compacted into a %zu-byte snapshot; now appending to journal.%u", bytes, next_gen);
}

static bool compaction_due(const lt_pay_journal_t *j)
{
    return !atomic_load(&j->broken) && j->journal_bytes >= j->compact_bytes;
}

/* Group commit: everything appended while the last batch was being written goes out in one write, one fdatasync. */
static void commit_pending(lt_pay_journal_t *j)
{
    buf_t batch = j->pending;
    memset(&j->pending, 0, sizeof(j->pending));
    uint64_t upto = j->last_seq;
    pthread_mutex_unlock(&j->lock);

    const char *what = "write";
    int rc = write_all(j->journal_fd, batch.data, batch.len);
    if (rc == 0) {
        what = "fdatasync";
        rc = fdatasync(j->journal_fd);
    }
    int errnum = errno;

    pthread_mutex_lock(&j->lock);
    if (rc != 0) {
        go_broken(j, what, errnum);
    } else {
        j->journal_bytes += (off_t)batch.len;
        j->durable_seq = upto;
        release_waiting(j);
    }
    buf_free(&batch);
}

static void *writer_main(void *arg)
{
    lt_pay_journal_t *j = arg;
    pthread_mutex_lock(&j->lock);
    for (;;) {
        while (!j->stop && j->pending.len == 0 && !compaction_due(j))
            pthread_cond_wait(&j->wake, &j->lock);
        if (j->pending.len > 0)
            commit_pending(j);
        if (compaction_due(j))
            compact(j);
        if (j->stop && j->pending.len == 0)
            break;
    }
    pthread_mutex_unlock(&j->lock);
    return NULL;
}

/* ---- start-up: lock, snapshot, replay -------------------------------------------------------- */

static int open_fail(lt_error_t *err, const char *fmt, const char *a, const char *b)
{
    return lt_error_set(err, LT_ERR_INTERNAL, "payments", fmt, a, b);
}

static int take_lock(lt_pay_journal_t *j, lt_error_t *err)
{
    char *path = path_in(j, "lock");
    j->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (j->lock_fd < 0) {
        open_fail(err, "payments.store.journal_dir: cannot open '%s': %s", path, strerror(errno));
        free(path);
        return -1;
    }
    if (flock(j->lock_fd, LOCK_EX | LOCK_NB) != 0) {
        char holder[32] = "";
        ssize_t n = pread(j->lock_fd, holder, sizeof(holder) - 1, 0);
        holder[n > 0 ? n : 0] = '\0';
        holder[strcspn(holder, "\n")] = '\0';
        lt_error_set(err, LT_ERR_INTERNAL, "payments",
                     "payments.store.journal_dir '%s' is in use by another gateway (pid %s): one process per journal",
                     j->dir, holder[0] ? holder : "unknown");
        free(path);
        return -1;
    }
    free(path);
    char pid[32];
    int len = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
    if (ftruncate(j->lock_fd, 0) != 0 || pwrite(j->lock_fd, pid, (size_t)len, 0) != len)
        lt_log_warn("payments journal: cannot write the pid into %s/lock", j->dir);
    return 0;
}

/* Reads a whole file; 1 when it does not exist. */
static int read_file(const char *path, buf_t *out)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? 1 : -1;
    char chunk[65536];
    ssize_t n;
    while ((n = read(fd, chunk, sizeof(chunk))) > 0 || (n < 0 && errno == EINTR))
        if (n > 0)
            buf_add(out, chunk, (size_t)n);
    int saved = errno;
    close(fd);
    errno = saved;
    return n < 0 ? -1 : 0;
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
    if (pj != NULL)
        put_payment(j, &p, json_dumps(pj, JSON_COMPACT), 0);
    if (evj != NULL)
        put_event(j, &ev, 0);
    rc = 0;
out:
    json_decref(rec);
    return rc;
}

static int load_snapshot(lt_pay_journal_t *j, lt_error_t *err)
{
    char *path = path_in(j, "snapshot");
    buf_t b = {0};
    int rc = read_file(path, &b);
    if (rc != 0) {
        if (rc < 0)
            open_fail(err, "payments journal: cannot read '%s': %s", path, strerror(errno));
        free(path);
        buf_free(&b);
        return rc < 0 ? -1 : 0;
    }
    char *nl = b.data ? memchr(b.data, '\n', b.len) : NULL;
    json_t *hdr = nl ? json_loadb(b.data, (size_t)(nl - b.data), 0, NULL) : NULL;
    json_int_t next = json_integer_value(json_object_get(hdr, "next_journal"));
    json_int_t npay = json_integer_value(json_object_get(hdr, "payments"));
    json_int_t nev = json_integer_value(json_object_get(hdr, "events"));
    json_decref(hdr);
    rc = hdr == NULL || next <= 0 ? -1 : 0;
    if (rc != 0)
        open_fail(err, "payments journal: '%s' line 1: not a snapshot header%s", path, "");
    size_t off = nl ? (size_t)(nl - b.data) + 1 : b.len;
    for (int lineno = 2; rc == 0 && off < b.len; lineno++) {
        char *end = memchr(b.data + off, '\n', b.len - off);
        const char *why = "incomplete line";
        if (end == NULL || apply_line(j, b.data + off, (size_t)(end - b.data) - off, &why) != 0) {
            lt_error_set(err, LT_ERR_INTERNAL, "payments", "payments journal: '%s' line %d: %s; refusing to start",
                         path, lineno, why);
            rc = -1;
            break;
        }
        off = (size_t)(end - b.data) + 1;
    }
    if (rc == 0 && ((json_int_t)j->payments.n != npay || (json_int_t)j->events.n != nev))
        rc = open_fail(err, "payments journal: '%s' is truncated (fewer records than its header says)%s", path, "");
    j->gen = (unsigned)next;
    free(path);
    buf_free(&b);
    return rc;
}

/* A crash mid-write leaves at most the end of the last batch half-written; that batch was never acknowledged (its
 * fdatasync had not returned), so dropping it loses nothing anyone was told. Anything bad before the end is real
 * corruption, and start-up stops rather than guess. */
static bool all_nul(const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != '\0')
            return false;
    return true;
}

static int replay_journal(lt_pay_journal_t *j, lt_error_t *err)
{
    char *path = journal_path(j, j->gen);
    buf_t b = {0};
    int rc = read_file(path, &b);
    if (rc < 0)
        open_fail(err, "payments journal: cannot read '%s': %s", path, strerror(errno));
    rc = rc < 0 ? -1 : 0; /* a journal that does not exist yet is empty */
    size_t off = 0;
    for (int lineno = 1; rc == 0 && off < b.len; lineno++) {
        char *end = memchr(b.data + off, '\n', b.len - off);
        bool last = end == NULL || (size_t)(end - b.data) + 1 == b.len;
        const char *why = "incomplete line";
        if (end != NULL && apply_line(j, b.data + off, (size_t)(end - b.data) - off, &why) == 0) {
            off = (size_t)(end - b.data) + 1;
            continue;
        }
        /* Only an unfinished last line is a torn write (its batch's fdatasync never returned, so nobody was
         * answered about it). A whole line that does not parse is damage, even at the end. */
        if (!last || (end != NULL && !all_nul(b.data + off, (size_t)(end - b.data) - off))) {
            lt_error_set(err, LT_ERR_INTERNAL, "payments", "payments journal: '%s' line %d: %s; refusing to start",
                         path, lineno, why);
            rc = -1;
            break;
        }
        lt_log_warn("payments journal: '%s' line %d is torn (%s, %zu bytes; a crash mid-write); truncating it", path,
                    lineno, why, b.len - off);
        if (truncate(path, (off_t)off) != 0)
            rc = open_fail(err, "payments journal: cannot truncate '%s': %s", path, strerror(errno));
        b.len = off;
    }
    j->journal_bytes = (off_t)b.len;
    free(path);
    buf_free(&b);
    return rc;
}

/*
 * What an interrupted compaction can leave, given its order (new empty journal.G+1, snapshot.tmp, rename, fsync
 * the directory, unlink journal.G): snapshot.tmp; an empty journal.G+1 (crash before the rename); journal.G-1
 * (crash after it, whose records the snapshot holds). Any other journal is not ours to delete: it may hold
 * acknowledged payments (a snapshot lost or restored from an old backup), so start-up stops instead.
 */
static bool is_compaction_leftover(const lt_pay_journal_t *j, unsigned g, const char *path)
{
    struct stat st;
    return g < j->gen || (g == j->gen + 1 && stat(path, &st) == 0 && st.st_size == 0);
}

static int remove_leftovers(lt_pay_journal_t *j, lt_error_t *err)
{
    char *tmp = path_in(j, "snapshot.tmp");
    unlink(tmp);
    free(tmp);
    DIR *d = opendir(j->dir);
    int rc = 0;
    for (struct dirent *de; rc == 0 && d != NULL && (de = readdir(d)) != NULL;) {
        unsigned g;
        char extra;
        if (sscanf(de->d_name, "journal.%u%c", &g, &extra) != 1 || g == j->gen)
            continue;
        char *p = path_in(j, de->d_name);
        if (is_compaction_leftover(j, g, p)) {
            lt_log_warn("payments journal: removing %s, left by an interrupted compaction", p);
            unlink(p);
        } else {
            char live[32];
            snprintf(live, sizeof(live), "journal.%u", j->gen);
            rc = lt_error_set(err, LT_ERR_INTERNAL, "payments",
                              "payments journal: '%s' is not the live journal (the snapshot names %s) and may hold "
                              "payments; refusing to start (docs/operations.md, Payments)",
                              p, live);
        }
        free(p);
    }
    if (d != NULL)
        closedir(d);
    return rc;
}

/* mkdir -p: a fresh deployment (or `make run`) names a directory whose parents may not exist yet. */
static int make_dirs(const char *dir)
{
    char path[PATH_MAX];
    if (snprintf(path, sizeof(path), "%s", dir) >= (int)sizeof(path)) {
        errno = ENAMETOOLONG;
        return -1;
    }
    for (char *p = path + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(path, 0700) != 0 && errno != EEXIST)
            return -1;
        *p = '/';
    }
    return mkdir(path, 0700) != 0 && errno != EEXIST ? -1 : 0;
}

static int open_dir(lt_pay_journal_t *j, lt_error_t *err)
{
    if (make_dirs(j->dir) != 0)
        return open_fail(err, "payments.store.journal_dir: cannot create '%s': %s", j->dir, strerror(errno));
    j->dir_fd = open(j->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (j->dir_fd < 0)
        return open_fail(err, "payments.store.journal_dir: cannot open '%s': %s", j->dir, strerror(errno));
    return 0;
}

static int open_journal_for_append(lt_pay_journal_t *j, lt_error_t *err)
{
    char *path = journal_path(j, j->gen);
    j->journal_fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    int rc = j->journal_fd < 0 || fsync(j->dir_fd) != 0
                 ? open_fail(err, "payments journal: cannot open '%s': %s", path, strerror(errno))
                 : 0;
    free(path);
    return rc;
}

static void free_tables(lt_pay_journal_t *j)
{
    lt_pay_map_foreach(&j->payments, free_pay_entry, NULL);
    lt_pay_map_foreach(&j->events, free_ev_entry, NULL);
    lt_pay_map_clear(&j->payments);
    lt_pay_map_clear(&j->idem);
    lt_pay_map_clear(&j->events);
}

static void free_journal(lt_pay_journal_t *j)
{
    free_tables(j);
    buf_free(&j->pending);
    if (j->journal_fd >= 0)
        close(j->journal_fd);
    if (j->dir_fd >= 0)
        close(j->dir_fd);
    if (j->lock_fd >= 0)
        close(j->lock_fd); /* releases the flock */
    pthread_mutex_destroy(&j->lock);
    pthread_cond_destroy(&j->wake);
    free(j->dir);
    free(j);
}

lt_pay_journal_t *lt_pay_journal_open(const char *dir, long long compact_bytes, lt_error_t *err)
{
    lt_pay_journal_t *j = calloc(1, sizeof(*j));
    j->dir = strdup(dir);
    j->dir_fd = j->lock_fd = j->journal_fd = -1;
    j->compact_bytes = compact_bytes;
    pthread_mutex_init(&j->lock, NULL);
    pthread_cond_init(&j->wake, NULL);
    lt_pay_map_init(&j->payments);
    lt_pay_map_init(&j->idem);
    lt_pay_map_init(&j->events);
    if (open_dir(j, err) != 0 || take_lock(j, err) != 0 || load_snapshot(j, err) != 0 ||
        remove_leftovers(j, err) != 0 || replay_journal(j, err) != 0) {
        free_journal(j);
        return NULL;
    }
    if (open_journal_for_append(j, err) != 0) {
        free_journal(j);
        return NULL;
    }
    lt_log_info("payments journal: %zu payments, %zu events outstanding, from %s", j->payments.n, j->events.n, dir);
    pthread_create(&j->writer, NULL, writer_main, j);
    return j;
}

static void jclose(void *store)
{
    lt_pay_journal_t *j = store;
    pthread_mutex_lock(&j->lock);
    j->stop = true;
    pthread_cond_signal(&j->wake);
    pthread_mutex_unlock(&j->lock);
    pthread_join(j->writer, NULL);
    free_journal(j);
}

static bool jok(const void *store)
{
    return !atomic_load(&((const lt_pay_journal_t *)store)->broken);
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
};
