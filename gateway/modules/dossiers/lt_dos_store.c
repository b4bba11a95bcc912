/* The dossier store's front: picks the configured backend at open and forwards every call to it. */
#include "lt_dos_store.h"

#include <stdlib.h>

#include "lt_dos_backend.h"

struct lt_dos_store {
    const lt_dos_backend_ops_t *ops;
    void *impl;
};

struct lt_dos_conn {
    const lt_dos_backend_ops_t *ops;
    void *impl;
};

lt_dos_store_t *lt_dos_store_open(const lt_dossiers_conf_t *conf, lt_error_t *err)
{
    bool redis = conf->store.backend == LT_DOS_STORE_REDIS;
    const lt_dos_backend_ops_t *ops = redis ? &lt_dos_redis_ops : &lt_dos_journal_ops;
    void *impl = redis ? lt_dos_redis_open(conf, err) : lt_dos_journal_open(conf, err);
    if (impl == NULL)
        return NULL;
    lt_dos_store_t *store = calloc(1, sizeof(*store));
    store->ops = ops;
    store->impl = impl;
    return store;
}

void lt_dos_store_close(lt_dos_store_t *store)
{
    if (store == NULL)
        return;
    store->ops->close(store->impl);
    free(store);
}

const char *lt_dos_store_backend(const lt_dos_store_t *store)
{
    return store->ops->name;
}

bool lt_dos_store_ok(const lt_dos_store_t *store)
{
    return store->ops->ok(store->impl);
}

lt_dos_conn_t *lt_dos_conn_new(lt_dos_store_t *store, struct event_base *base)
{
    lt_dos_conn_t *conn = calloc(1, sizeof(*conn));
    conn->ops = store->ops;
    conn->impl = store->ops->conn_new(store->impl, base);
    return conn;
}

void lt_dos_conn_free(lt_dos_conn_t *conn)
{
    if (conn == NULL)
        return;
    conn->ops->conn_free(conn->impl);
    free(conn);
}

void lt_dos_put_snapshot(lt_dos_conn_t *conn, const char *id, long long version, const char *fingerprint,
                         const char *text, int64_t now_ms, lt_dos_done_fn fn, void *arg)
{
    conn->ops->put_snapshot(conn->impl, id, version, fingerprint, text, now_ms, fn, arg);
}

void lt_dos_add_step(lt_dos_conn_t *conn, const char *id, long long seq, const char *fingerprint, const char *text,
                     int64_t now_ms, lt_dos_done_fn fn, void *arg)
{
    conn->ops->add_step(conn->impl, id, seq, fingerprint, text, now_ms, fn, arg);
}

void lt_dos_view(lt_dos_conn_t *conn, const char *id, lt_dos_view_fn fn, void *arg)
{
    conn->ops->view(conn->impl, id, fn, arg);
}

void lt_dos_add_fee(lt_dos_conn_t *conn, const char *id, const char *key, const char *entry, int64_t now_ms,
                    lt_dos_done_fn fn, void *arg)
{
    conn->ops->add_fee(conn->impl, id, key, entry, now_ms, fn, arg);
}

void lt_dos_claim(lt_dos_conn_t *conn, bool step, size_t max, const char *owner, int64_t lease_ms, int64_t now_ms,
                  lt_dos_list_fn fn, void *arg)
{
    conn->ops->claim(conn->impl, step, max, owner, lease_ms, now_ms, fn, arg);
}

void lt_dos_delivered(lt_dos_conn_t *conn, bool step, const lt_dos_ref_t *refs, size_t n, int64_t now_ms,
                      lt_dos_done_fn fn, void *arg)
{
    conn->ops->delivered(conn->impl, step, refs, n, now_ms, fn, arg);
}

void lt_dos_dead(lt_dos_conn_t *conn, bool step, const char *id, long long number, const char *error, int64_t now_ms,
                 lt_dos_done_fn fn, void *arg)
{
    conn->ops->dead(conn->impl, step, id, number, error, now_ms, fn, arg);
}

void lt_dos_redrive(lt_dos_conn_t *conn, bool step, const char *id, long long number, int64_t now_ms, lt_dos_done_fn fn,
                    void *arg)
{
    conn->ops->redrive(conn->impl, step, id, number, now_ms, fn, arg);
}

void lt_dos_list(lt_dos_conn_t *conn, bool dead, size_t max, lt_dos_list_fn fn, void *arg)
{
    conn->ops->list(conn->impl, dead, max, fn, arg);
}

void lt_dos_counts(lt_dos_conn_t *conn, lt_dos_counts_fn fn, void *arg)
{
    conn->ops->counts(conn->impl, fn, arg);
}

void lt_dos_snapshots(lt_dos_conn_t *conn, const char *cursor, size_t max, lt_dos_list_fn fn, void *arg)
{
    conn->ops->snapshots(conn->impl, cursor ? cursor : "", max, fn, arg);
}

void lt_dos_release(lt_dos_conn_t *conn, const char *owner, lt_dos_done_fn fn, void *arg)
{
    conn->ops->release(conn->impl, owner, fn, arg);
}
