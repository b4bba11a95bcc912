/*
 * The payment store (payments floor): one interface, two backends.
 *
 *   journal  a single instance (the default): the state lives in memory and
 *            every change is appended to a journal file. A writer thread
 *            batches appends and fsyncs them (group commit); no answer leaves
 *            the store before everything it has seen is on disk. The journal
 *            is replayed at start-up and compacted into a snapshot now and then.
 *   redis    shared by every instance: each change is one Lua script, so two
 *            instances that receive the same IPN at the same moment record it
 *            once. Durability is Redis's (appendonly yes, appendfsync always:
 *            docs/operations.md).
 *
 * Threads: the store is process-wide; each event loop that uses it opens its
 * own lt_pay_conn_t (a Redis connection, or the journal's completion queue).
 * Every operation is asynchronous and calls its callback exactly once, on the
 * conn's loop, never inside the call itself. A store that cannot answer (Redis
 * down, a disk error) answers LT_PAY_STORE_ERROR: callers turn that into 503
 * or RspCode 99, and nothing already stored is lost.
 */
#ifndef LT_PAY_STORE_H
#define LT_PAY_STORE_H

#include <event2/event.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lt_pay_config.h"
#include "lt_error.h"
#include "lt_payment.h"

typedef struct lt_pay_store lt_pay_store_t;
typedef struct lt_pay_conn lt_pay_conn_t;

typedef enum {
    LT_PAY_OK = 0,          /* done: created, found, settled, claimed... */
    LT_PAY_EXISTS,          /* create: the idempotency key already made this payment (returned) */
    LT_PAY_KEY_REUSED,      /* create: the key made another payment from a different request (returned) */
    LT_PAY_NOT_FOUND,       /* no such payment or event */
    LT_PAY_AMOUNT_MISMATCH, /* settle: the amount differs from the recorded one (payment returned) */
    LT_PAY_ALREADY_FINAL,   /* settle: not pending any more; nothing changed (payment returned) */
    LT_PAY_STORE_ERROR,     /* the store could not answer; detail says why */
} lt_pay_outcome_t;

typedef struct lt_pay_result {
    lt_pay_outcome_t outcome;
    lt_payment_t payment; /* valid for OK, EXISTS, KEY_REUSED, AMOUNT_MISMATCH, ALREADY_FINAL */
    lt_pay_event_t event; /* settle OK: the event it created; outbox redrive OK: the event */
    char detail[160];
} lt_pay_result_t;

typedef void (*lt_pay_done_fn)(void *arg, const lt_pay_result_t *res);

/* A list answer (outbox claims and listings, payments to reconcile). The arrays live until the callback returns. */
typedef struct lt_pay_list {
    lt_pay_outcome_t outcome; /* OK or STORE_ERROR */
    char detail[160];
    size_t n;
    const lt_pay_event_t *events; /* outbox answers: n events */
    const lt_payment_t *payments; /* outbox claims: each event's payment; reconcile: n payments */
} lt_pay_list_t;

typedef void (*lt_pay_list_fn)(void *arg, const lt_pay_list_t *list);

/* What the settling side learned: from an IPN, or from querydr. */
typedef struct lt_pay_settlement {
    char payment_id[LT_PAY_ID_MAX + 1]; /* vnp_TxnRef */
    long long amount_x100;              /* vnp_Amount as received; -1 skips the check (expiry) */
    lt_pay_state_t state;               /* PAID, FAILED or EXPIRED */
    char response_code[3], transaction_status[3];
    char bank_code[21], transaction_no[33], pay_date[15];
    char settled_by[8]; /* "ipn", "querydr" */
    int64_t now_ms;
} lt_pay_settlement_t;

typedef struct lt_pay_counts {
    lt_pay_outcome_t outcome;
    long long by_state[LT_PAY_NSTATES];
    long long outbox_backlog, dead_letters;
    int64_t oldest_backlog_created_ms; /* 0 when the backlog is empty */
    long long dossier_reports_owed;    /* paid payments not yet kept by their dossier (lt_pay_fee_pending) */
} lt_pay_counts_t;

typedef void (*lt_pay_counts_fn)(void *arg, const lt_pay_counts_t *counts);

/* Opens the configured backend. journal: takes an exclusive lock on the directory (a second process is refused),
 * replays the journal and starts the writer thread. redis: checks the address (it connects per conn). */
lt_pay_store_t *lt_pay_store_open(const lt_payments_conf_t *conf, lt_error_t *err);
/* After every conn is freed. Flushes and stops the writer thread. */
void lt_pay_store_close(lt_pay_store_t *store);
const char *lt_pay_store_backend(const lt_pay_store_t *store); /* "journal" or "redis" */
/* false while the backend cannot take writes (Redis down on every conn, journal write error). Thread-safe. */
bool lt_pay_store_ok(const lt_pay_store_t *store);
/* The Redis backend's connections: primary, role, failovers (lt_redis_stats_to_json). NULL for other backends. */
json_t *lt_pay_store_redis_status(lt_pay_store_t *store);

lt_pay_conn_t *lt_pay_conn_new(lt_pay_store_t *store, struct event_base *base);
/* Pending callbacks are not called after this. */
void lt_pay_conn_free(lt_pay_conn_t *conn);

/* Records a new pending payment. With p->idempotency set and already known: EXISTS (same fingerprint) or
 * KEY_REUSED (another one), with the stored payment; nothing is created. */
void lt_pay_create(lt_pay_conn_t *conn, const lt_payment_t *p, lt_pay_done_fn fn, void *arg);
void lt_pay_get(lt_pay_conn_t *conn, const char *payment_id, lt_pay_done_fn fn, void *arg);

/* Atomically: unknown → NOT_FOUND; amount differs → AMOUNT_MISMATCH; not pending → ALREADY_FINAL (nothing
 * changes); otherwise the payment takes s's state and fields, and its outbox event is created in the same step. */
void lt_pay_settle(lt_pay_conn_t *conn, const lt_pay_settlement_t *s, lt_pay_done_fn fn, void *arg);

/* Pending payments whose expiry is before expired_before_ms (soonest expiry first, at most max): reconciliation's
 * work list. By expiry, not creation, so that a long-lived payment does not hold back those expired before it. */
void lt_pay_list_unsettled(lt_pay_conn_t *conn, int64_t expired_before_ms, size_t max, lt_pay_list_fn fn, void *arg);

/* Outbox. claim: pending events due at now_ms (at most max), each with its payment; their next attempt moves to
 * now + lease_ms so that another instance does not deliver them at the same time. */
void lt_pay_outbox_claim(lt_pay_conn_t *conn, int64_t now_ms, int64_t lease_ms, size_t max, lt_pay_list_fn fn,
                         void *arg);
/* The portal took it (2xx): delivered. */
void lt_pay_outbox_delivered(lt_pay_conn_t *conn, const char *event_id, int64_t now_ms, lt_pay_done_fn fn, void *arg);
/* It failed: record the attempt; dead=true dead-letters it, otherwise it is due again at next_attempt_at_ms. */
void lt_pay_outbox_failed(lt_pay_conn_t *conn, const char *event_id, int attempts, int64_t next_attempt_at_ms,
                          bool dead, const char *error, int64_t now_ms, lt_pay_done_fn fn, void *arg);
/* A dead letter becomes pending again, due now, with its attempts reset. NOT_FOUND unless it was dead. */
void lt_pay_outbox_redrive(lt_pay_conn_t *conn, const char *event_id, int64_t now_ms, lt_pay_done_fn fn, void *arg);
/* Events in one state (LT_EVENT_PENDING or LT_EVENT_DEAD; -1 for both), at most max, oldest first. */
void lt_pay_outbox_list(lt_pay_conn_t *conn, int state, size_t max, lt_pay_list_fn fn, void *arg);

/*
 * The dossier report: a payment settled paid, with a dossier, is to be reported to its dossier (the hand-off of
 * lt_module.h) until the taker kept it: a second delivery flag beside the webhook's event, set in the same atomic
 * step as the final state, so that a crash between the IPN's 00 and the report loses nothing.
 * fee_pending: such payments (at most max), in list->payments. fee_reported: the taker
 * kept it; the flag is cleared (OK also when it was cleared already: a repeat changes nothing).
 */
void lt_pay_fee_pending(lt_pay_conn_t *conn, size_t max, lt_pay_list_fn fn, void *arg);
void lt_pay_fee_reported(lt_pay_conn_t *conn, const char *payment_id, lt_pay_done_fn fn, void *arg);

/* Payments by state and the outbox's backlog, for /status.json and /metrics. */
void lt_pay_counts(lt_pay_conn_t *conn, lt_pay_counts_fn fn, void *arg);

#endif
