/*
 * What a dossier store backend provides (internal to the dossiers module): the operations of lt_dos_store.h on
 * the backend's own store and conn types. lt_dos_store.c picks the backend and forwards every call.
 */
#ifndef LT_DOS_BACKEND_H
#define LT_DOS_BACKEND_H

#include "lt_dos_store.h"

typedef struct lt_dos_backend_ops {
    const char *name;
    void (*close)(void *store);
    bool (*ok)(const void *store);
    void *(*conn_new)(void *store, struct event_base *base);
    void (*conn_free)(void *conn);
    void (*put_snapshot)(void *conn, const char *id, long long version, const char *fp, const char *text,
                         int64_t now_ms, lt_dos_done_fn fn, void *arg);
    void (*add_step)(void *conn, const char *id, long long seq, const char *fp, const char *text, int64_t now_ms,
                     lt_dos_done_fn fn, void *arg);
    void (*view)(void *conn, const char *id, lt_dos_view_fn fn, void *arg);
    void (*add_fee)(void *conn, const char *id, const char *key, const char *entry, int64_t now_ms, lt_dos_done_fn fn,
                    void *arg);
    void (*claim)(void *conn, bool step, size_t max, const char *owner, int64_t lease_ms, int64_t now_ms,
                  lt_dos_list_fn fn, void *arg);
    void (*delivered)(void *conn, bool step, const lt_dos_ref_t *refs, size_t n, int64_t now_ms, lt_dos_done_fn fn,
                      void *arg);
    void (*dead)(void *conn, bool step, const char *id, long long number, const char *error, int64_t now_ms,
                 lt_dos_done_fn fn, void *arg);
    void (*redrive)(void *conn, bool step, const char *id, long long number, int64_t now_ms, lt_dos_done_fn fn,
                    void *arg);
    void (*list)(void *conn, bool dead, size_t max, lt_dos_list_fn fn, void *arg);
    void (*counts)(void *conn, lt_dos_counts_fn fn, void *arg);
    void (*snapshots)(void *conn, const char *cursor, size_t max, lt_dos_list_fn fn, void *arg);
    void (*release)(void *conn, const char *owner, lt_dos_done_fn fn, void *arg);
} lt_dos_backend_ops_t;

extern const lt_dos_backend_ops_t lt_dos_journal_ops;
extern const lt_dos_backend_ops_t lt_dos_redis_ops;

void *lt_dos_journal_open(const lt_dossiers_conf_t *conf, lt_error_t *err);
void *lt_dos_redis_open(const lt_dossiers_conf_t *conf, lt_error_t *err);

#endif
