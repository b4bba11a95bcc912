/*
 * What a payment store backend provides (internal to gateway/pay): the operations of lt_pay_store.h, on the
 * backend's own store and conn types. lt_pay_store.c picks the backend and forwards every call.
 */
#ifndef LT_PAY_BACKEND_H
#define LT_PAY_BACKEND_H

#include "lt_pay_store.h"

typedef struct lt_pay_backend_ops {
    const char *name;
    void (*close)(void *store);
    bool (*ok)(const void *store);
    /* Optional: the Redis connections' picture (lt_redis_stats_to_json), new reference; NULL when none. */
    json_t *(*redis_status)(void *store);
    void *(*conn_new)(void *store, struct event_base *base);
    void (*conn_free)(void *conn);
    void (*create)(void *conn, const lt_payment_t *p, lt_pay_done_fn fn, void *arg);
    void (*get)(void *conn, const char *payment_id, lt_pay_done_fn fn, void *arg);
    void (*settle)(void *conn, const lt_pay_settlement_t *s, lt_pay_done_fn fn, void *arg);
    void (*list_unsettled)(void *conn, int64_t expired_before_ms, size_t max, lt_pay_list_fn fn, void *arg);
    void (*outbox_claim)(void *conn, int64_t now_ms, int64_t lease_ms, size_t max, lt_pay_list_fn fn, void *arg);
    void (*outbox_delivered)(void *conn, const char *event_id, int64_t now_ms, lt_pay_done_fn fn, void *arg);
    void (*outbox_failed)(void *conn, const char *event_id, int attempts, int64_t next_attempt_at_ms, bool dead,
                          const char *error, int64_t now_ms, lt_pay_done_fn fn, void *arg);
    void (*outbox_redrive)(void *conn, const char *event_id, int64_t now_ms, lt_pay_done_fn fn, void *arg);
    void (*outbox_list)(void *conn, int state, size_t max, lt_pay_list_fn fn, void *arg);
    void (*counts)(void *conn, lt_pay_counts_fn fn, void *arg);
    void (*fee_pending)(void *conn, size_t max, lt_pay_list_fn fn, void *arg);
    void (*fee_reported)(void *conn, const char *payment_id, lt_pay_done_fn fn, void *arg);
} lt_pay_backend_ops_t;

/* The payment id an outbox event belongs to ("evt-" + payment id), or NULL when event_id is not one. */
static inline const char *lt_pay_event_payment_id(const char *event_id)
{
    return event_id != NULL && event_id[0] == 'e' && event_id[1] == 'v' && event_id[2] == 't' && event_id[3] == '-'
               ? event_id + 4
               : NULL;
}

#endif
