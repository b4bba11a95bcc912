/* The payment store's front: picks the configured backend at open and forwards every call to it. */
#include "lt_pay_store.h"

#include <stdlib.h>

#include "lt_pay_journal.h"
#include "lt_pay_redis.h"

struct lt_pay_store {
    const lt_pay_backend_ops_t *ops;
    void *impl;
};

struct lt_pay_conn {
    const lt_pay_backend_ops_t *ops;
    void *impl;
};

lt_pay_store_t *lt_pay_store_open(const lt_payments_conf_t *conf, lt_error_t *err)
{
    const lt_pay_backend_ops_t *ops;
    void *impl;
    if (conf->store.backend == LT_PAY_STORE_REDIS) {
        ops = &lt_pay_redis_ops;
        impl = lt_pay_redis_open(conf, err);
    } else {
        ops = &lt_pay_journal_ops;
        impl = lt_pay_journal_open(conf->store.journal_dir, conf->store.compact_bytes, err);
    }
    if (impl == NULL)
        return NULL;
    lt_pay_store_t *store = calloc(1, sizeof(*store));
    store->ops = ops;
    store->impl = impl;
    return store;
}

void lt_pay_store_close(lt_pay_store_t *store)
{
    if (store == NULL)
        return;
    store->ops->close(store->impl);
    free(store);
}

const char *lt_pay_store_backend(const lt_pay_store_t *store)
{
    return store->ops->name;
}

bool lt_pay_store_ok(const lt_pay_store_t *store)
{
    return store->ops->ok(store->impl);
}

json_t *lt_pay_store_redis_status(lt_pay_store_t *store)
{
    return store->ops->redis_status != NULL ? store->ops->redis_status(store->impl) : NULL;
}

lt_pay_conn_t *lt_pay_conn_new(lt_pay_store_t *store, struct event_base *base)
{
    void *impl = store->ops->conn_new(store->impl, base);
    if (impl == NULL)
        return NULL;
    lt_pay_conn_t *conn = calloc(1, sizeof(*conn));
    conn->ops = store->ops;
    conn->impl = impl;
    return conn;
}

void lt_pay_conn_free(lt_pay_conn_t *conn)
{
    if (conn == NULL)
        return;
    conn->ops->conn_free(conn->impl);
    free(conn);
}

void lt_pay_create(lt_pay_conn_t *conn, const lt_payment_t *p, lt_pay_done_fn fn, void *arg)
{
    conn->ops->create(conn->impl, p, fn, arg);
}

void lt_pay_get(lt_pay_conn_t *conn, const char *payment_id, lt_pay_done_fn fn, void *arg)
{
    conn->ops->get(conn->impl, payment_id, fn, arg);
}

void lt_pay_settle(lt_pay_conn_t *conn, const lt_pay_settlement_t *s, lt_pay_done_fn fn, void *arg)
{
    conn->ops->settle(conn->impl, s, fn, arg);
}

void lt_pay_list_unsettled(lt_pay_conn_t *conn, int64_t expired_before_ms, size_t max, lt_pay_list_fn fn, void *arg)
{
    conn->ops->list_unsettled(conn->impl, expired_before_ms, max, fn, arg);
}

void lt_pay_outbox_claim(lt_pay_conn_t *conn, int64_t now_ms, int64_t lease_ms, size_t max, lt_pay_list_fn fn,
                         void *arg)
{
    conn->ops->outbox_claim(conn->impl, now_ms, lease_ms, max, fn, arg);
}

void lt_pay_outbox_delivered(lt_pay_conn_t *conn, const char *event_id, int64_t now_ms, lt_pay_done_fn fn, void *arg)
{
    conn->ops->outbox_delivered(conn->impl, event_id, now_ms, fn, arg);
}

void lt_pay_outbox_failed(lt_pay_conn_t *conn, const char *event_id, int attempts, int64_t next_attempt_at_ms,
                          bool dead, const char *error, int64_t now_ms, lt_pay_done_fn fn, void *arg)
{
    conn->ops->outbox_failed(conn->impl, event_id, attempts, next_attempt_at_ms, dead, error, now_ms, fn, arg);
}

void lt_pay_outbox_redrive(lt_pay_conn_t *conn, const char *event_id, int64_t now_ms, lt_pay_done_fn fn, void *arg)
{
    conn->ops->outbox_redrive(conn->impl, event_id, now_ms, fn, arg);
}

void lt_pay_outbox_list(lt_pay_conn_t *conn, int state, size_t max, lt_pay_list_fn fn, void *arg)
{
    conn->ops->outbox_list(conn->impl, state, max, fn, arg);
}

void lt_pay_counts(lt_pay_conn_t *conn, lt_pay_counts_fn fn, void *arg)
{
    conn->ops->counts(conn->impl, fn, arg);
}

void lt_pay_fee_pending(lt_pay_conn_t *conn, size_t max, lt_pay_list_fn fn, void *arg)
{
    conn->ops->fee_pending(conn->impl, max, fn, arg);
}

void lt_pay_fee_reported(lt_pay_conn_t *conn, const char *payment_id, lt_pay_done_fn fn, void *arg)
{
    conn->ops->fee_reported(conn->impl, payment_id, fn, arg);
}
