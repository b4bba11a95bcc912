/*
 * A durable journal for a store that keeps its live state in memory (floor 3): the engine under a store's
 * tables, generalised from the payment store's journal so that every store with the same needs (the dossier
 * outbox today) shares one implementation of the parts that are hard to get right.
 *
 * What it does, and the store does not have to:
 *   - one process per directory: a `lock` file held with flock for the life of the process, holding its pid;
 *   - group commit: records appended under the store's mutex go to disk in one write and one fdatasync per round,
 *     on a writer thread, so no loop ever waits for the disk;
 *   - no answer before durability: an operation is handed to the journal with the sequence number of the last
 *     record it depended on, and its answer runs on its conn's loop only once that record is on disk;
 *   - a disk error makes the journal broken for good (an fdatasync that failed cannot be retried safely): every
 *     operation that depends on something not durable is answered with the failure, until a restart replays what
 *     is really on disk;
 *   - start-up: the snapshot, then the journal that follows it, replayed through the store's `replay` hook; a torn
 *     last line (a crash mid-write: its batch was never acknowledged) is truncated away, any other bad line stops
 *     start-up with the file and line number;
 *   - compaction on the writer thread once the journal passes compact_bytes: the store serializes its live state
 *     under the mutex (`serialize`), and the snapshot and the next journal are switched in a crash-safe order.
 *
 * Files in the directory: `lock`, `snapshot` (line 1 {"snapshot":1,"next_journal":G,"records":N}, then N
 * records), `journal.<G>` (one record per line). A record is one line of JSON written by the store; the journal
 * never looks inside it.
 *
 * Threads: the store's mutex is the journal's (lt_journal_lock). Records are appended and operations submitted
 * with it held, from any thread; answers run on the loop of the conn the operation was made on.
 */
#ifndef LT_JOURNAL_H
#define LT_JOURNAL_H

#include <event2/event.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lt_buf.h"
#include "lt_error.h"

typedef struct lt_journal lt_journal_t;
typedef struct lt_journal_conn lt_journal_conn_t;

/*
 * One operation waiting for durability, embedded first in the store's own operation struct. The journal calls
 * exactly one of answer (on the conn's loop: failure is NULL when everything the operation saw is durable, else
 * why the journal could not make it so) or discard (the conn was freed first; from lt_journal_conn_free). Both
 * own the operation and free it.
 */
typedef struct lt_journal_op {
    struct lt_journal_op *next;
    lt_journal_conn_t *conn;
    uint64_t seq;        /* answered once this record is durable; 0 depends on nothing */
    const char *failure; /* the journal's: set when the operation failed */
    void (*answer)(struct lt_journal_op *op, const char *failure);
    void (*discard)(struct lt_journal_op *op);
} lt_journal_op_t;

typedef struct lt_journal_hooks {
    void *owner;
    /* Start-up, single-threaded: applies one record (a line without its newline). -1 with *why refuses it. */
    int (*replay)(void *owner, const char *line, size_t len, const char **why);
    /* Compaction, with the lock held: appends the live state to out as records, one line each; returns how many. */
    size_t (*serialize)(void *owner, lt_buf_t *out);
} lt_journal_hooks_t;

typedef struct lt_journal_conf {
    const char *dir;         /* created if missing (mode 0700) */
    long long compact_bytes; /* compact once the journal passes this */
    const char *name;        /* for messages: "dossiers journal" */
    const char *config_key;  /* for messages: "dossiers.store.journal_dir" */
} lt_journal_conf_t;

/* Takes the lock, replays the snapshot and the journal through hooks->replay, and starts the writer thread. NULL
 * with err set when the directory is in use by another process, unreadable, or holds a bad record. */
lt_journal_t *lt_journal_open(const lt_journal_conf_t *conf, const lt_journal_hooks_t *hooks, lt_error_t *err);
/* After every conn is freed: writes what is pending, stops the writer and releases the lock. */
void lt_journal_close(lt_journal_t *j);
/* false once a write or fdatasync failed. Thread-safe. */
bool lt_journal_ok(const lt_journal_t *j);

lt_journal_conn_t *lt_journal_conn_new(lt_journal_t *j, struct event_base *base);
/* Operations of this conn still waiting are discarded, not answered. */
void lt_journal_conn_free(lt_journal_conn_t *c);

void lt_journal_lock(lt_journal_t *j);
void lt_journal_unlock(lt_journal_t *j);

/* ---- with the lock held --------------------------------------------------------------------------------- */

/* NULL while the journal takes writes; else why not. A store refuses changes then: memory must not run ahead of a
 * disk that no longer takes them. */
const char *lt_journal_broken(const lt_journal_t *j);
/* Appends one record (line must not hold a newline: jansson's compact output never does). Returns its sequence
 * number, for the operations that depend on it. */
uint64_t lt_journal_append(lt_journal_t *j, const char *line);
/* The last record appended: what an answer that observed the whole state (a list, a count, an absence) waits for. */
uint64_t lt_journal_last_seq(const lt_journal_t *j);
/* Hands op (op->conn and op->seq set) to the journal: answered as soon as op->seq is durable, or failed when the
 * journal broke before it could be. */
void lt_journal_submit(lt_journal_t *j, lt_journal_op_t *op);

#endif
