/*
 * The dossier store (dossiers floor): what the one-stop system handed over, and what the portal has
 * acknowledged, behind one interface with two backends, as the payment store has (docs/dossier-store.md):
 *
 *   journal  one instance (the default): the state lives in memory, every change is a journal record made durable
 *            by the shared engine (lt_journal: group commit, fdatasync on a writer thread) before it is answered;
 *   redis    shared by every instance: each change is one Lua script, run atomically by Redis (appendonly yes,
 *            appendfsync always); one instance at a time sends to the portal (a lease in Redis).
 *
 * Per dossier it keeps the accepted snapshot (the highest version, its canonical text) and every step (by seq),
 * and what the portal acknowledged: the snapshot version it holds and the steps up to acked_seq. The outbox is
 * derived from that, never stored apart from it, so a record cannot be accepted and forgotten:
 *   - a snapshot is due while its version is above the acknowledged one and it is not a dead letter; a newer PUT
 *     replaces it in place (newest wins), dead or not;
 *   - the fees the gateway lists itself (fee payments settled here, by payment id) are the dossier's too: a new
 *     one raises the dossier's fee revision, and its snapshot is due again while that revision is above the one
 *     the portal acknowledged, so the portal gets the same version again with the longer fee list;
 *   - a step is due when it is acked_seq + 1, is not a dead letter, and the portal holds the dossier (some
 *     snapshot acknowledged): steps go one at a time per dossier, in seq order, and a gap or a dead letter holds
 *     back every step after it.
 *
 * Every operation answers exactly once, through its callback, on the loop of the conn it was made on, never
 * inside the call; after lt_dos_conn_free no callback runs. STORE_ERROR means the store could not answer (Redis
 * down or slow, a disk error): the caller answers 503 and nothing already stored is lost.
 */
#ifndef LT_DOS_STORE_H
#define LT_DOS_STORE_H

#include <event2/event.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lt_dos_config.h"
#include "lt_dossier.h"
#include "lt_error.h"

#define LT_DOS_ERROR_MAX 300 /* the portal's message on a dead letter */

typedef struct lt_dos_store lt_dos_store_t;
typedef struct lt_dos_conn lt_dos_conn_t;

typedef enum {
    LT_DOS_OK = 0,      /* accepted, recorded, found */
    LT_DOS_REPEAT,      /* the same step (seq and body) or the same snapshot (version and body) is already here */
    LT_DOS_CONFLICT,    /* the seq holds another step; or a version not higher than the accepted one */
    LT_DOS_NOT_FOUND,   /* no such dossier; redrive: no such dead letter */
    LT_DOS_BUSY,        /* claim: another instance is the sender now (redis); nothing claimed */
    LT_DOS_STORE_ERROR, /* the store could not answer; detail says why */
} lt_dos_outcome_t;

typedef struct lt_dos_result {
    lt_dos_outcome_t outcome;
    long long version; /* put_snapshot REPEAT and CONFLICT: the accepted version */
    char detail[200];
} lt_dos_result_t;

typedef void (*lt_dos_done_fn)(void *arg, const lt_dos_result_t *res);

/* A record: one to send (claim: text set), one set aside (dead letters: error set), one waiting (listing). */
typedef struct lt_dos_record {
    bool step;
    char dossier_id[LT_DOS_ID_MAX + 1];
    long long number; /* the snapshot's version, or the step's seq */
    const char *text; /* claim: the canonical text */
    /* Snapshots (claim, snapshots): the gateway's own fee entries, a JSON array of canonical fees ("[]" or NULL:
     * none), and their revision, which a delivered ref hands back. */
    const char *fees;
    long long fee_rev;
    bool dead, due; /* listing: a dead letter; due now (else waiting for a gap, the dossier or a dead letter) */
    int64_t accepted_at_ms, dead_at_ms;
    char error[LT_DOS_ERROR_MAX + 1];
} lt_dos_record_t;

/* A list answer; its records live until the callback returns. */
typedef struct lt_dos_list {
    lt_dos_outcome_t outcome; /* OK, BUSY or STORE_ERROR */
    char detail[200];
    size_t n;
    const lt_dos_record_t *records;
    char cursor[48]; /* lt_dos_snapshots: the next page's cursor; "" once every dossier was seen */
} lt_dos_list_t;

typedef void (*lt_dos_list_fn)(void *arg, const lt_dos_list_t *list);

/* What a dossier's sync answer is made of. */
typedef struct lt_dos_view {
    lt_dos_outcome_t outcome; /* OK, NOT_FOUND or STORE_ERROR */
    char detail[200];
    long long version; /* the accepted snapshot's, 0: none yet */
    int64_t accepted_at_ms;
    const char *snapshot_text; /* its canonical text, NULL without one */
    long long acked_version;   /* what the portal holds, 0: nothing */
    int64_t acked_at_ms;
    long long fee_rev, acked_fee_rev; /* the gateway's fees listed, and with how many the portal holds it */
    bool snapshot_dead;               /* the accepted version was refused */
    int64_t snapshot_dead_at_ms;
    char snapshot_error[LT_DOS_ERROR_MAX + 1];
    long long steps;     /* how many steps are stored */
    long long last_seq;  /* the highest seq stored */
    long long acked_seq; /* every step up to this one is at the portal */
    int64_t steps_acked_at_ms;
    size_t npending;
    const lt_dos_record_t *pending; /* the steps not acknowledged, by seq: waiting, due or dead */
} lt_dos_view_t;

typedef void (*lt_dos_view_fn)(void *arg, const lt_dos_view_t *view);

typedef struct lt_dos_counts {
    lt_dos_outcome_t outcome;
    long long dossiers;
    long long snapshots_pending, steps_pending; /* accepted, not acknowledged, not dead */
    long long snapshots_dead, steps_dead;
    long long due;             /* of those pending, what the next claims would send now */
    int64_t oldest_pending_ms; /* accepted_at of the oldest pending record; 0 when none */
} lt_dos_counts_t;

typedef void (*lt_dos_counts_fn)(void *arg, const lt_dos_counts_t *counts);

/* A record the portal took or refused, for delivered and dead. */
typedef struct lt_dos_ref {
    char dossier_id[LT_DOS_ID_MAX + 1];
    long long number;
    long long fee_rev; /* a snapshot's: the fee revision the call carried (its claim's record's) */
} lt_dos_ref_t;

lt_dos_store_t *lt_dos_store_open(const lt_dossiers_conf_t *conf, lt_error_t *err);
void lt_dos_store_close(lt_dos_store_t *store); /* after every conn is freed */
const char *lt_dos_store_backend(const lt_dos_store_t *store);
bool lt_dos_store_ok(const lt_dos_store_t *store); /* thread-safe */

lt_dos_conn_t *lt_dos_conn_new(lt_dos_store_t *store, struct event_base *base);
void lt_dos_conn_free(lt_dos_conn_t *conn);

/* Accepts a snapshot whose version is above the accepted one: OK. The accepted version with the same body:
 * REPEAT; any other version not above it: CONFLICT (res->version says which is accepted). Nothing changes then. */
void lt_dos_put_snapshot(lt_dos_conn_t *conn, const char *id, long long version, const char *fingerprint,
                         const char *text, int64_t now_ms, lt_dos_done_fn fn, void *arg);
/* Accepts a step: OK; the seq with the same body: REPEAT; with another: CONFLICT. */
void lt_dos_add_step(lt_dos_conn_t *conn, const char *id, long long seq, const char *fingerprint, const char *text,
                     int64_t now_ms, lt_dos_done_fn fn, void *arg);
void lt_dos_view(lt_dos_conn_t *conn, const char *id, lt_dos_view_fn fn, void *arg);
/* Lists a fee the gateway collected (a paid payment, `key` its payment id; `entry` one canonical fee as JSON) in the
 * dossier's fees: OK, and the snapshot is due again; the key listed already: REPEAT, nothing changes. A dossier
 * not handed over yet keeps it for its first snapshot. */
void lt_dos_add_fee(lt_dos_conn_t *conn, const char *id, const char *key, const char *entry, int64_t now_ms,
                    lt_dos_done_fn fn, void *arg);

/*
 * Outbox. claim: the due snapshots (step false) or due steps (true), at most max, the oldest accepted first, at
 * most one record per dossier. With the redis backend it also takes (or renews) the sender's lease for lease_ms
 * under `owner`, and answers BUSY while another owner holds it.
 */
void lt_dos_claim(lt_dos_conn_t *conn, bool step, size_t max, const char *owner, int64_t lease_ms, int64_t now_ms,
                  lt_dos_list_fn fn, void *arg);
/* The portal applied these records: each snapshot's version is what it holds now (never lower than before), each
 * step is acknowledged when it is the next one. One atomic change for the whole call. */
void lt_dos_delivered(lt_dos_conn_t *conn, bool step, const lt_dos_ref_t *refs, size_t n, int64_t now_ms,
                      lt_dos_done_fn fn, void *arg);
/* The portal refused this record: a dead letter with its message. A snapshot superseded meanwhile by a newer
 * version is left alone (OK): the newer one goes instead. */
void lt_dos_dead(lt_dos_conn_t *conn, bool step, const char *id, long long number, const char *error, int64_t now_ms,
                 lt_dos_done_fn fn, void *arg);
/* A dead letter is due again. NOT_FOUND unless that record is a dead letter. */
void lt_dos_redrive(lt_dos_conn_t *conn, bool step, const char *id, long long number, int64_t now_ms, lt_dos_done_fn fn,
                    void *arg);
/* Dead letters (dead true), or records waiting to be acknowledged (false), oldest first, at most max. */
void lt_dos_list(lt_dos_conn_t *conn, bool dead, size_t max, lt_dos_list_fn fn, void *arg);
void lt_dos_counts(lt_dos_conn_t *conn, lt_dos_counts_fn fn, void *arg);
/*
 * Every accepted snapshot, a page at a time, for what is rebuilt from the store (the indicators): records with
 * number (the version) and text, and the gateway's fees (a dossier with fees and no snapshot yet comes with
 * number 0 and text NULL); about max per page (a backend may give a few more or fewer, even none, before
 * the end). Start with cursor "", go on with list->cursor until it is "". A scan sees every dossier that existed
 * when it began; one that changed during it may show twice, with either version (take the higher).
 */
void lt_dos_snapshots(lt_dos_conn_t *conn, const char *cursor, size_t max, lt_dos_list_fn fn, void *arg);
/* The redis backend: gives the sender's lease up when owner holds it (at shutdown). The journal answers OK. */
void lt_dos_release(lt_dos_conn_t *conn, const char *owner, lt_dos_done_fn fn, void *arg);

#endif
