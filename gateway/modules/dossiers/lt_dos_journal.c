/*
 * The journal backend of the dossier store (lt_dos_store.h), on the shared engine lt_journal (group commit,
 * fdatasync on its writer thread, answers only once durable, replay, compaction).
 *
 * Every change is one journal record, and the same function applies it live and at replay (apply_record), so
 * what a restart rebuilds is what was answered:
 *   {"op":"snapshot","id","version","fp","at","text"}   a snapshot accepted (it replaces the one before)
 *   {"op":"step","id","seq","fp","at","text"}            a step accepted
 *   {"op":"fee","id","key","at","entry"}                a fee the gateway collected (key: its payment id) listed
 *   {"op":"acked","kind":"v"|"s","at","refs":[[id,n,r]...]} the portal applied one call: all its records at once
 *                                                        (r: a snapshot's fee revision; absent before fees existed)
 *   {"op":"dead","kind","id","n","at","error"}           the portal refused a record
 *   {"op":"redrive","kind","id","n","at"}                an operator sent a dead letter back to the outbox
 *   {"op":"dossier",...}                                 a whole dossier (snapshot files, after compaction)
 * A record's canonical text travels as a JSON string, so it comes back byte for byte (its fingerprint too).
 *
 * In memory: every dossier by id, and `active`, the dossiers with something not acknowledged, which is all that
 * claims, counts and lists scan. A step keeps its text until the portal acknowledges it, then only its
 * fingerprint, which is what tells a late repeat (200) from a different body (409).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lt_dos_answer.h"
#include "lt_dos_backend.h"
#include "lt_journal.h"
#include "lt_log.h"
#include "lt_map.h"

typedef enum { ST_PENDING, ST_DEAD, ST_ACKED } step_state_t;

static const char *const step_state_names[] = {"pending", "dead", "acked"};

typedef struct {
    long long seq;
    char fp[65];
    char *text; /* NULL once acknowledged */
    step_state_t state;
    int64_t accepted_at_ms, dead_at_ms;
    char *error; /* a dead letter's */
} step_t;

/* A fee the gateway collected itself, listed with the dossier's own. */
typedef struct {
    char *key;   /* the payment id: one entry per payment */
    char *entry; /* one canonical fee, JSON */
} fee_t;

typedef struct {
    char id[LT_DOS_ID_MAX + 1];
    long long version; /* 0: steps came first, no snapshot yet */
    char fp[65];
    char *text;
    int64_t accepted_at_ms;
    long long acked_version;
    int64_t acked_at_ms;
    bool snap_dead;
    int64_t snap_dead_at_ms;
    char *snap_error;
    long long acked_seq;
    int64_t steps_acked_at_ms;
    step_t *steps; /* by seq */
    size_t nsteps, cap;
    fee_t *fees; /* in the order they came (listed by key) */
    size_t nfees;
    long long fee_rev, acked_fee_rev; /* fees listed (the revision), and with how many the portal holds it */
    uint64_t seq;                     /* the journal record that last wrote it */
} dossier_t;

typedef struct {
    lt_journal_t *j;
    lt_map_t dossiers; /* id → dossier_t */
    lt_map_t active;   /* id → dossier_t with a record not acknowledged (pending or dead) */
} store_t;

typedef struct {
    lt_journal_op_t base; /* first: the journal hands it back */
    store_t *store;
    lt_dos_answer_t a; /* what the call answers, and to which callback */
} op_t;

typedef struct {
    store_t *store;
    lt_journal_conn_t *jc;
} conn_t;

/* ---- the tables ------------------------------------------------------------------------------------ */

static dossier_t *dossier_get(store_t *s, const char *id)
{
    return lt_map_get(&s->dossiers, id);
}

static dossier_t *dossier_make(store_t *s, const char *id)
{
    dossier_t *d = dossier_get(s, id);
    if (d == NULL) {
        d = calloc(1, sizeof(*d));
        snprintf(d->id, sizeof(d->id), "%s", id);
        lt_map_put(&s->dossiers, id, d);
    }
    return d;
}

static step_t *step_find(const dossier_t *d, long long seq)
{
    size_t lo = 0, hi = d ? d->nsteps : 0;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (d->steps[mid].seq == seq)
            return &d->steps[mid];
        if (d->steps[mid].seq < seq)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

static step_t *step_insert(dossier_t *d, long long seq)
{
    step_t *known = step_find(d, seq);
    if (known != NULL)
        return known;
    if (d->nsteps == d->cap) {
        d->cap = d->cap ? d->cap * 2 : 8;
        d->steps = realloc(d->steps, d->cap * sizeof(*d->steps));
    }
    size_t at = d->nsteps;
    while (at > 0 && d->steps[at - 1].seq > seq)
        at--;
    memmove(&d->steps[at + 1], &d->steps[at], (d->nsteps - at) * sizeof(*d->steps));
    d->nsteps++;
    memset(&d->steps[at], 0, sizeof(d->steps[at]));
    d->steps[at].seq = seq;
    return &d->steps[at];
}

/* The portal lacks the accepted version, or the fees listed since it got it. */
static bool snapshot_behind(const dossier_t *d)
{
    return d->version > 0 && (d->version > d->acked_version || d->fee_rev > d->acked_fee_rev);
}

static bool snapshot_pending(const dossier_t *d)
{
    return snapshot_behind(d) && !d->snap_dead;
}

static const fee_t *fee_find(const dossier_t *d, const char *key)
{
    for (size_t i = 0; d != NULL && i < d->nfees; i++)
        if (strcmp(d->fees[i].key, key) == 0)
            return &d->fees[i];
    return NULL;
}

static void fee_append(dossier_t *d, const char *key, const char *entry)
{
    d->fees = realloc(d->fees, (d->nfees + 1) * sizeof(*d->fees));
    d->fees[d->nfees++] = (fee_t){.key = strdup(key), .entry = strdup(entry)};
}

static int by_key(const void *a, const void *b)
{
    return strcmp((*(const fee_t *const *)a)->key, (*(const fee_t *const *)b)->key);
}

/* The fees as one JSON array text (malloc'd), by key as Redis lists them; NULL when there are none. */
static char *fees_text(const dossier_t *d)
{
    if (d->nfees == 0)
        return NULL;
    const fee_t **sorted = malloc(d->nfees * sizeof(*sorted));
    for (size_t i = 0; i < d->nfees; i++)
        sorted[i] = &d->fees[i];
    qsort(sorted, d->nfees, sizeof(*sorted), by_key);
    /* The entries' own texts, joined: byte for byte what Redis's script joins. */
    size_t n = 3;
    for (size_t i = 0; i < d->nfees; i++)
        n += strlen(sorted[i]->entry) + 1;
    char *text = malloc(n), *at = text;
    *at++ = '[';
    for (size_t i = 0; i < d->nfees; i++) {
        if (i > 0)
            *at++ = ',';
        size_t len = strlen(sorted[i]->entry);
        memcpy(at, sorted[i]->entry, len);
        at += len;
    }
    *at++ = ']';
    *at = '\0';
    free(sorted);
    return text;
}

/* The step the portal should get next, when it may: the dossier is at the portal, and the next seq is here and
 * not a dead letter. */
static const step_t *step_due(const dossier_t *d)
{
    const step_t *s = d->acked_version > 0 ? step_find(d, d->acked_seq + 1) : NULL;
    return s != NULL && s->state == ST_PENDING ? s : NULL;
}

static bool is_active(const dossier_t *d)
{
    if (snapshot_behind(d))
        return true;
    for (size_t i = 0; i < d->nsteps; i++)
        if (d->steps[i].state != ST_ACKED)
            return true;
    return false;
}

static void refresh_active(store_t *s, dossier_t *d)
{
    if (is_active(d))
        lt_map_put(&s->active, d->id, d);
    else
        lt_map_del(&s->active, d->id);
}

static char *dup_capped(const char *s)
{
    return s ? strndup(s, LT_DOS_ERROR_MAX) : NULL;
}

static void free_dossier(void *ctx, const char *key, void *val)
{
    dossier_t *d = val;
    for (size_t i = 0; i < d->nsteps; i++) {
        free(d->steps[i].text);
        free(d->steps[i].error);
    }
    free(d->steps);
    for (size_t i = 0; i < d->nfees; i++) {
        free(d->fees[i].key);
        free(d->fees[i].entry);
    }
    free(d->fees);
    free(d->text);
    free(d->snap_error);
    free(d);
}

/* ---- records: built live, applied live and at replay ----------------------------------------------- */

static const char *str_at(const json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

static long long int_at(const json_t *o, const char *k)
{
    return (long long)json_integer_value(json_object_get(o, k));
}

static bool has_fp(const json_t *o)
{
    const char *fp = str_at(o, "fp");
    return fp != NULL && strlen(fp) == 64;
}

static int apply_snapshot(store_t *s, const json_t *rec, uint64_t seq)
{
    const char *id = str_at(rec, "id"), *text = str_at(rec, "text");
    if (!lt_dos_id_is_valid(id) || text == NULL || !has_fp(rec) || int_at(rec, "version") < 1)
        return -1;
    dossier_t *d = dossier_make(s, id);
    d->version = int_at(rec, "version");
    memcpy(d->fp, str_at(rec, "fp"), 65);
    free(d->text);
    d->text = strdup(text);
    d->accepted_at_ms = int_at(rec, "at");
    d->snap_dead = false; /* a newer version supersedes a refused one */
    free(d->snap_error);
    d->snap_error = NULL;
    d->seq = seq;
    return 0;
}

static int apply_step(store_t *s, const json_t *rec, uint64_t seq)
{
    const char *id = str_at(rec, "id"), *text = str_at(rec, "text");
    if (!lt_dos_id_is_valid(id) || text == NULL || !has_fp(rec) || int_at(rec, "seq") < 1)
        return -1;
    dossier_t *d = dossier_make(s, id);
    step_t *st = step_insert(d, int_at(rec, "seq"));
    memcpy(st->fp, str_at(rec, "fp"), 65);
    free(st->text);
    st->text = strdup(text);
    st->state = ST_PENDING;
    st->accepted_at_ms = int_at(rec, "at");
    d->seq = seq;
    return 0;
}

/* A fee entry has to be one JSON object (it was built by the gateway; replay checks it all the same). */
static bool entry_is_object(const char *entry)
{
    json_t *e = entry ? json_loads(entry, 0, NULL) : NULL;
    bool ok = json_is_object(e);
    json_decref(e);
    return ok;
}

static int apply_fee(store_t *s, const json_t *rec, uint64_t seq)
{
    const char *id = str_at(rec, "id"), *key = str_at(rec, "key"), *entry = str_at(rec, "entry");
    if (!lt_dos_id_is_valid(id) || key == NULL || key[0] == '\0' || !entry_is_object(entry))
        return -1;
    dossier_t *d = dossier_make(s, id);
    if (fee_find(d, key) == NULL) {
        fee_append(d, key, entry);
        d->fee_rev++;
    }
    d->seq = seq;
    return 0;
}

static void ack_one(dossier_t *d, bool step, long long n, long long fee_rev, int64_t at)
{
    if (!step) {
        if (n > d->acked_version) {
            d->acked_version = n;
            d->acked_at_ms = at;
        }
        if (fee_rev > d->acked_fee_rev)
            d->acked_fee_rev = fee_rev;
        return;
    }
    step_t *st = step_find(d, n);
    if (st == NULL || n != d->acked_seq + 1 || st->state == ST_ACKED)
        return;
    st->state = ST_ACKED;
    free(st->text);
    st->text = NULL;
    d->acked_seq = n;
    d->steps_acked_at_ms = at;
}

static int apply_acked(store_t *s, const json_t *rec, uint64_t seq)
{
    const char *kind = str_at(rec, "kind");
    const json_t *refs = json_object_get(rec, "refs");
    if (kind == NULL || (strcmp(kind, "v") != 0 && strcmp(kind, "s") != 0) || !json_is_array(refs))
        return -1;
    size_t i;
    const json_t *ref;
    json_array_foreach(refs, i, ref)
    {
        dossier_t *d = dossier_get(s, json_string_value(json_array_get(ref, 0)));
        if (d == NULL)
            continue;
        ack_one(d, kind[0] == 's', (long long)json_integer_value(json_array_get(ref, 1)),
                (long long)json_integer_value(json_array_get(ref, 2)), int_at(rec, "at"));
        d->seq = seq;
        refresh_active(s, d);
    }
    return 0;
}

/* dead and redrive: the record they name. */
static int apply_mark(store_t *s, const json_t *rec, uint64_t seq, bool dead)
{
    const char *kind = str_at(rec, "kind");
    dossier_t *d = dossier_get(s, str_at(rec, "id"));
    long long n = int_at(rec, "n");
    if (kind == NULL || d == NULL)
        return -1;
    if (kind[0] == 'v' && d->version == n) {
        d->snap_dead = dead;
        d->snap_dead_at_ms = dead ? int_at(rec, "at") : 0;
        free(d->snap_error);
        d->snap_error = dead ? dup_capped(str_at(rec, "error")) : NULL;
    } else if (kind[0] == 's' && step_find(d, n) != NULL) {
        step_t *st = step_find(d, n);
        st->state = dead ? ST_DEAD : ST_PENDING;
        st->dead_at_ms = dead ? int_at(rec, "at") : 0;
        free(st->error);
        st->error = dead ? dup_capped(str_at(rec, "error")) : NULL;
    }
    d->seq = seq;
    return 0;
}

static int apply_whole(store_t *s, const json_t *rec, uint64_t seq)
{
    const char *id = str_at(rec, "id");
    if (!lt_dos_id_is_valid(id) || dossier_get(s, id) != NULL)
        return -1;
    dossier_t *d = dossier_make(s, id);
    d->version = int_at(rec, "version");
    if (d->version > 0 && (str_at(rec, "text") == NULL || !has_fp(rec)))
        return -1;
    if (d->version > 0) {
        memcpy(d->fp, str_at(rec, "fp"), 65);
        d->text = strdup(str_at(rec, "text"));
    }
    d->accepted_at_ms = int_at(rec, "at");
    d->acked_version = int_at(rec, "acked_version");
    d->acked_at_ms = int_at(rec, "acked_at");
    d->acked_seq = int_at(rec, "acked_seq");
    d->steps_acked_at_ms = int_at(rec, "steps_acked_at");
    const json_t *dead = json_object_get(rec, "dead");
    if (dead != NULL) {
        d->snap_dead = true;
        d->snap_dead_at_ms = int_at(dead, "at");
        d->snap_error = dup_capped(str_at(dead, "error"));
    }
    size_t i;
    const json_t *fj;
    json_array_foreach(json_object_get(rec, "fees"), i, fj)
    {
        const char *key = json_string_value(json_array_get(fj, 0)), *entry = json_string_value(json_array_get(fj, 1));
        if (key == NULL || !entry_is_object(entry))
            return -1;
        fee_append(d, key, entry);
    }
    d->fee_rev = int_at(rec, "fee_rev");
    d->acked_fee_rev = int_at(rec, "acked_fee_rev");
    const json_t *sj;
    json_array_foreach(json_object_get(rec, "steps"), i, sj)
    {
        const char *state = str_at(sj, "state");
        if (int_at(sj, "seq") < 1 || !has_fp(sj) || state == NULL)
            return -1;
        step_t *st = step_insert(d, int_at(sj, "seq"));
        memcpy(st->fp, str_at(sj, "fp"), 65);
        st->state = strcmp(state, "acked") == 0 ? ST_ACKED : strcmp(state, "dead") == 0 ? ST_DEAD : ST_PENDING;
        st->text = str_at(sj, "text") ? strdup(str_at(sj, "text")) : NULL;
        if (st->state != ST_ACKED && st->text == NULL)
            return -1;
        st->accepted_at_ms = int_at(sj, "at");
        st->dead_at_ms = int_at(sj, "dead_at");
        st->error = dup_capped(str_at(sj, "error"));
    }
    d->seq = seq;
    return 0;
}

static int apply_record(store_t *s, const json_t *rec, uint64_t seq)
{
    const char *op = str_at(rec, "op");
    int rc = -1;
    if (op == NULL)
        return -1;
    if (strcmp(op, "snapshot") == 0)
        rc = apply_snapshot(s, rec, seq);
    else if (strcmp(op, "step") == 0)
        rc = apply_step(s, rec, seq);
    else if (strcmp(op, "fee") == 0)
        rc = apply_fee(s, rec, seq);
    else if (strcmp(op, "acked") == 0)
        return apply_acked(s, rec, seq); /* refreshes each dossier it names */
    else if (strcmp(op, "dead") == 0)
        rc = apply_mark(s, rec, seq, true);
    else if (strcmp(op, "redrive") == 0)
        rc = apply_mark(s, rec, seq, false);
    else if (strcmp(op, "dossier") == 0)
        rc = apply_whole(s, rec, seq);
    dossier_t *d = dossier_get(s, str_at(rec, "id") ? str_at(rec, "id") : "");
    if (d != NULL)
        refresh_active(s, d);
    return rc;
}

static int replay(void *owner, const char *line, size_t len, const char **why)
{
    json_t *rec = json_loadb(line, len, 0, NULL);
    *why = rec ? "a record with a missing or bad field" : "not a JSON object";
    int rc = rec ? apply_record(owner, rec, 0) : -1;
    json_decref(rec);
    return rc;
}

/* Writes rec to the journal and applies it: the one way anything changes. Returns its sequence number. */
static uint64_t commit(store_t *s, json_t *rec)
{
    char *line = json_dumps(rec, JSON_COMPACT);
    uint64_t seq = lt_journal_append(s->j, line);
    free(line);
    apply_record(s, rec, seq);
    json_decref(rec);
    return seq;
}

/* ---- compaction ------------------------------------------------------------------------------------ */

static json_t *whole_record(const dossier_t *d)
{
    json_t *rec = json_pack("{s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:I}", "op", "dossier", "id", d->id, "version",
                            (json_int_t)d->version, "at", (json_int_t)d->accepted_at_ms, "acked_version",
                            (json_int_t)d->acked_version, "acked_at", (json_int_t)d->acked_at_ms, "acked_seq",
                            (json_int_t)d->acked_seq, "steps_acked_at", (json_int_t)d->steps_acked_at_ms);
    if (d->version > 0) {
        json_object_set_new(rec, "fp", json_string(d->fp));
        json_object_set_new(rec, "text", json_string(d->text));
    }
    if (d->snap_dead)
        json_object_set_new(
            rec, "dead",
            json_pack("{s:I, s:s}", "at", (json_int_t)d->snap_dead_at_ms, "error", d->snap_error ? d->snap_error : ""));
    if (d->nfees > 0) {
        json_t *fees = json_array();
        for (size_t i = 0; i < d->nfees; i++)
            json_array_append_new(fees, json_pack("[s, s]", d->fees[i].key, d->fees[i].entry));
        json_object_set_new(rec, "fees", fees);
        json_object_set_new(rec, "fee_rev", json_integer(d->fee_rev));
        json_object_set_new(rec, "acked_fee_rev", json_integer(d->acked_fee_rev));
    }
    json_t *steps = json_array();
    for (size_t i = 0; i < d->nsteps; i++) {
        const step_t *st = &d->steps[i];
        json_t *sj = json_pack("{s:I, s:s, s:s, s:I}", "seq", (json_int_t)st->seq, "fp", st->fp, "state",
                               step_state_names[st->state], "at", (json_int_t)st->accepted_at_ms);
        if (st->text != NULL)
            json_object_set_new(sj, "text", json_string(st->text));
        if (st->state == ST_DEAD)
            json_object_set_new(sj, "dead_at", json_integer(st->dead_at_ms));
        if (st->error != NULL)
            json_object_set_new(sj, "error", json_string(st->error));
        json_array_append_new(steps, sj);
    }
    json_object_set_new(rec, "steps", steps);
    return rec;
}

static void serialize_one(void *ctx, const char *key, void *val)
{
    lt_buf_t *out = ctx;
    json_t *rec = whole_record(val);
    char *line = json_dumps(rec, JSON_COMPACT);
    lt_buf_adds(out, line);
    lt_buf_add(out, "\n", 1);
    free(line);
    json_decref(rec);
}

static size_t serialize(void *owner, lt_buf_t *out)
{
    store_t *s = owner;
    lt_map_foreach(&s->dossiers, serialize_one, out);
    return s->dossiers.n;
}

/* ---- operations: begin (lock), decide, commit, end (submit, unlock) --------------------------------- */

static void free_op(op_t *op)
{
    lt_dos_answer_release(&op->a);
    free(op);
}

static void fail_op(op_t *op, const char *why)
{
    lt_dos_answer_fail(&op->a, "", why);
}

static void answer(lt_journal_op_t *base, const char *failure)
{
    op_t *op = (op_t *)base;
    if (failure != NULL)
        fail_op(op, failure);
    lt_dos_answer_deliver(&op->a);
    free_op(op);
}

static void discard(lt_journal_op_t *base)
{
    free_op((op_t *)base);
}

static op_t *begin(void *conn, lt_dos_answer_kind_t kind, void *arg)
{
    conn_t *c = conn;
    op_t *op = calloc(1, sizeof(*op));
    op->base.conn = c->jc;
    op->base.answer = answer;
    op->base.discard = discard;
    op->store = c->store;
    op->a.kind = kind;
    op->a.arg = arg;
    lt_journal_lock(c->store->j);
    return op;
}

static void end(op_t *op)
{
    lt_journal_submit(op->store->j, &op->base);
    lt_journal_unlock(op->store->j);
}

/* Changes are refused while the journal is broken: memory must not run ahead of a disk that takes no writes. */
static bool refused(op_t *op)
{
    const char *why = lt_journal_broken(op->store->j);
    if (why != NULL)
        fail_op(op, why);
    return why != NULL;
}

static void do_put_snapshot(op_t *op, const char *id, long long version, const char *fp, const char *text, int64_t now)
{
    store_t *s = op->store;
    dossier_t *d = dossier_get(s, id);
    if (d != NULL && d->version >= version) {
        op->a.res.outcome = d->version == version && strcmp(d->fp, fp) == 0 ? LT_DOS_REPEAT : LT_DOS_CONFLICT;
        op->a.res.version = d->version;
        op->base.seq = d->seq;
        return;
    }
    op->base.seq = commit(s, json_pack("{s:s, s:s, s:I, s:s, s:I, s:s}", "op", "snapshot", "id", id, "version",
                                       (json_int_t)version, "fp", fp, "at", (json_int_t)now, "text", text));
    op->a.res.outcome = LT_DOS_OK;
    op->a.res.version = version;
}

static void jput_snapshot(void *conn, const char *id, long long version, const char *fp, const char *text,
                          int64_t now_ms, lt_dos_done_fn fn, void *arg)
{
    op_t *op = begin(conn, LT_DOS_ANSWER_DONE, arg);
    op->a.done = fn;
    if (!refused(op))
        do_put_snapshot(op, id, version, fp, text, now_ms);
    end(op);
}

static void do_add_step(op_t *op, const char *id, long long seq, const char *fp, const char *text, int64_t now)
{
    store_t *s = op->store;
    dossier_t *d = dossier_get(s, id);
    const step_t *known = step_find(d, seq);
    if (known != NULL) {
        op->a.res.outcome = strcmp(known->fp, fp) == 0 ? LT_DOS_REPEAT : LT_DOS_CONFLICT;
        op->base.seq = d->seq;
        return;
    }
    op->base.seq = commit(s, json_pack("{s:s, s:s, s:I, s:s, s:I, s:s}", "op", "step", "id", id, "seq", (json_int_t)seq,
                                       "fp", fp, "at", (json_int_t)now, "text", text));
    op->a.res.outcome = LT_DOS_OK;
}

static void jadd_step(void *conn, const char *id, long long seq, const char *fp, const char *text, int64_t now_ms,
                      lt_dos_done_fn fn, void *arg)
{
    op_t *op = begin(conn, LT_DOS_ANSWER_DONE, arg);
    op->a.done = fn;
    if (!refused(op))
        do_add_step(op, id, seq, fp, text, now_ms);
    end(op);
}

static void do_add_fee(op_t *op, const char *id, const char *key, const char *entry, int64_t now)
{
    store_t *s = op->store;
    dossier_t *d = dossier_get(s, id);
    if (fee_find(d, key) != NULL) {
        op->a.res.outcome = LT_DOS_REPEAT;
        op->base.seq = d->seq;
        return;
    }
    op->base.seq = commit(s, json_pack("{s:s, s:s, s:s, s:I, s:s}", "op", "fee", "id", id, "key", key, "at",
                                       (json_int_t)now, "entry", entry));
    op->a.res.outcome = LT_DOS_OK;
}

static void jadd_fee(void *conn, const char *id, const char *key, const char *entry, int64_t now_ms, lt_dos_done_fn fn,
                     void *arg)
{
    op_t *op = begin(conn, LT_DOS_ANSWER_DONE, arg);
    op->a.done = fn;
    if (!refused(op)) {
        if (!lt_dos_id_is_valid(id) || key == NULL || key[0] == '\0' || !entry_is_object(entry))
            fail_op(op, "a fee entry needs a dossier id, a key and one JSON object");
        else
            do_add_fee(op, id, key, entry, now_ms);
    }
    end(op);
}

static lt_dos_record_t *add_record(op_t *op, bool step, const char *id, long long number)
{
    op->a.records = realloc(op->a.records, (op->a.nrecords + 1) * sizeof(*op->a.records));
    lt_dos_record_t *r = &op->a.records[op->a.nrecords++];
    memset(r, 0, sizeof(*r));
    r->step = step;
    snprintf(r->dossier_id, sizeof(r->dossier_id), "%s", id);
    r->number = number;
    return r;
}

static void set_error(lt_dos_record_t *r, const char *error)
{
    snprintf(r->error, sizeof(r->error), "%s", error ? error : "");
}

static void jview(void *conn, const char *id, lt_dos_view_fn fn, void *arg)
{
    op_t *op = begin(conn, LT_DOS_ANSWER_VIEW, arg);
    op->a.view_fn = fn;
    const dossier_t *d = dossier_get(op->store, id);
    lt_dos_view_t *v = &op->a.view;
    v->outcome = d != NULL ? LT_DOS_OK : LT_DOS_NOT_FOUND;
    op->base.seq = d != NULL ? d->seq : lt_journal_last_seq(op->store->j); /* an absence depends on everything */
    if (d != NULL) {
        v->version = d->version;
        v->accepted_at_ms = d->accepted_at_ms;
        op->a.snapshot_text = d->text ? strdup(d->text) : NULL;
        v->acked_version = d->acked_version;
        v->acked_at_ms = d->acked_at_ms;
        v->fee_rev = d->fee_rev;
        v->acked_fee_rev = d->acked_fee_rev;
        v->snapshot_dead = d->snap_dead;
        v->snapshot_dead_at_ms = d->snap_dead_at_ms;
        snprintf(v->snapshot_error, sizeof(v->snapshot_error), "%s", d->snap_error ? d->snap_error : "");
        v->steps = (long long)d->nsteps;
        v->last_seq = d->nsteps ? d->steps[d->nsteps - 1].seq : 0;
        v->acked_seq = d->acked_seq;
        v->steps_acked_at_ms = d->steps_acked_at_ms;
        const step_t *due = step_due(d);
        for (size_t i = 0; i < d->nsteps; i++) {
            const step_t *st = &d->steps[i];
            if (st->state == ST_ACKED)
                continue;
            lt_dos_record_t *r = add_record(op, true, d->id, st->seq);
            r->dead = st->state == ST_DEAD;
            r->due = st == due;
            r->accepted_at_ms = st->accepted_at_ms;
            r->dead_at_ms = st->dead_at_ms;
            set_error(r, st->error);
        }
        v->npending = op->a.nrecords;
    }
    end(op);
}

/* ---- claims and lists: collect, sort, keep the first max -------------------------------------------- */

typedef struct {
    op_t *op;
    bool step, dead;
} collect_t;

static void collect_due(void *ctx, const char *key, void *val)
{
    collect_t *c = ctx;
    const dossier_t *d = val;
    if (!c->step && snapshot_pending(d)) {
        lt_dos_record_t *r = add_record(c->op, false, d->id, d->version);
        r->text = strdup(d->text);
        r->fees = fees_text(d);
        r->fee_rev = d->fee_rev;
        r->due = true;
        r->accepted_at_ms = d->accepted_at_ms;
    } else if (c->step && step_due(d) != NULL) {
        const step_t *st = step_due(d);
        lt_dos_record_t *r = add_record(c->op, true, d->id, st->seq);
        r->text = strdup(st->text);
        r->due = true;
        r->accepted_at_ms = st->accepted_at_ms;
    }
}

/* Dead letters, or records waiting for the portal (due or not). */
static void collect_listed(void *ctx, const char *key, void *val)
{
    collect_t *c = ctx;
    const dossier_t *d = val;
    if (c->dead ? d->snap_dead : snapshot_pending(d)) {
        lt_dos_record_t *r = add_record(c->op, false, d->id, d->version);
        r->dead = d->snap_dead;
        r->due = !d->snap_dead;
        r->accepted_at_ms = d->accepted_at_ms;
        r->dead_at_ms = d->snap_dead_at_ms;
        set_error(r, d->snap_error);
    }
    const step_t *due = step_due(d);
    for (size_t i = 0; i < d->nsteps; i++) {
        const step_t *st = &d->steps[i];
        if (st->state != (c->dead ? ST_DEAD : ST_PENDING))
            continue;
        lt_dos_record_t *r = add_record(c->op, true, d->id, st->seq);
        r->dead = st->state == ST_DEAD;
        r->due = st == due;
        r->accepted_at_ms = st->accepted_at_ms;
        r->dead_at_ms = st->dead_at_ms;
        set_error(r, st->error);
    }
}

/* Oldest first (dead letters: by when they died), ties by dossier then number: the order of a sorted set. */
static int by_age(const void *a, const void *b)
{
    const lt_dos_record_t *x = a, *y = b;
    int64_t tx = x->dead ? x->dead_at_ms : x->accepted_at_ms, ty = y->dead ? y->dead_at_ms : y->accepted_at_ms;
    if (tx != ty)
        return tx < ty ? -1 : 1;
    int c = strcmp(x->dossier_id, y->dossier_id);
    if (c != 0)
        return c;
    if (x->step != y->step)
        return x->step ? 1 : -1;
    return x->number < y->number ? -1 : x->number > y->number;
}

static void keep_first(op_t *op, size_t max)
{
    if (op->a.nrecords > 1)
        qsort(op->a.records, op->a.nrecords, sizeof(*op->a.records), by_age);
    for (size_t i = max; i < op->a.nrecords; i++) {
        free((char *)op->a.records[i].text);
        free((char *)op->a.records[i].fees);
    }
    if (op->a.nrecords > max)
        op->a.nrecords = max;
    op->a.list.n = op->a.nrecords;
}

/* One process per journal (its lock): the sender needs no lease here. Claims see the whole table, so they wait for
 * everything appended: nothing not yet durable is ever sent. */
static void jclaim(void *conn, bool step, size_t max, const char *owner, int64_t lease_ms, int64_t now_ms,
                   lt_dos_list_fn fn, void *arg)
{
    op_t *op = begin(conn, LT_DOS_ANSWER_LIST, arg);
    op->a.list_fn = fn;
    collect_t c = {.op = op, .step = step};
    lt_map_foreach(&op->store->active, collect_due, &c);
    keep_first(op, max);
    op->base.seq = lt_journal_last_seq(op->store->j);
    end(op);
}

static void jlist(void *conn, bool dead, size_t max, lt_dos_list_fn fn, void *arg)
{
    op_t *op = begin(conn, LT_DOS_ANSWER_LIST, arg);
    op->a.list_fn = fn;
    collect_t c = {.op = op, .dead = dead};
    lt_map_foreach(&op->store->active, collect_listed, &c);
    keep_first(op, max);
    op->base.seq = lt_journal_last_seq(op->store->j);
    end(op);
}

static void jdelivered(void *conn, bool step, const lt_dos_ref_t *refs, size_t n, int64_t now_ms, lt_dos_done_fn fn,
                       void *arg)
{
    op_t *op = begin(conn, LT_DOS_ANSWER_DONE, arg);
    op->a.done = fn;
    if (!refused(op)) {
        json_t *list = json_array();
        for (size_t i = 0; i < n; i++)
            json_array_append_new(list, step ? json_pack("[s, I]", refs[i].dossier_id, (json_int_t)refs[i].number)
                                             : json_pack("[s, I, I]", refs[i].dossier_id, (json_int_t)refs[i].number,
                                                         (json_int_t)refs[i].fee_rev));
        op->base.seq = commit(op->store, json_pack("{s:s, s:s, s:I, s:o}", "op", "acked", "kind", step ? "s" : "v",
                                                   "at", (json_int_t)now_ms, "refs", list));
        op->a.res.outcome = LT_DOS_OK;
    }
    end(op);
}

static json_t *mark_record(const char *op, bool step, const char *id, long long n, int64_t now)
{
    return json_pack("{s:s, s:s, s:s, s:I, s:I}", "op", op, "kind", step ? "s" : "v", "id", id, "n", (json_int_t)n,
                     "at", (json_int_t)now);
}

static void do_dead(op_t *op, bool step, const char *id, long long n, const char *error, int64_t now)
{
    dossier_t *d = dossier_get(op->store, id);
    const step_t *st = step ? step_find(d, n) : NULL;
    bool changes = step ? st != NULL && st->state == ST_PENDING : d != NULL && d->version == n && snapshot_pending(d);
    op->a.res.outcome = (step ? st != NULL : d != NULL && d->version > 0) ? LT_DOS_OK : LT_DOS_NOT_FOUND;
    op->base.seq = d != NULL ? d->seq : 0;
    if (!changes)
        return; /* superseded, acknowledged meanwhile, or dead already: nothing to set aside */
    json_t *rec = mark_record("dead", step, id, n, now);
    json_object_set_new(rec, "error", json_string(error ? error : ""));
    op->base.seq = commit(op->store, rec);
}

static void jdead(void *conn, bool step, const char *id, long long number, const char *error, int64_t now_ms,
                  lt_dos_done_fn fn, void *arg)
{
    op_t *op = begin(conn, LT_DOS_ANSWER_DONE, arg);
    op->a.done = fn;
    if (!refused(op))
        do_dead(op, step, id, number, error, now_ms);
    end(op);
}

static void do_redrive(op_t *op, bool step, const char *id, long long n, int64_t now)
{
    dossier_t *d = dossier_get(op->store, id);
    const step_t *st = step ? step_find(d, n) : NULL;
    bool dead = step ? st != NULL && st->state == ST_DEAD : d != NULL && d->version == n && d->snap_dead;
    op->a.res.outcome = dead ? LT_DOS_OK : LT_DOS_NOT_FOUND;
    op->base.seq = d != NULL ? d->seq : lt_journal_last_seq(op->store->j);
    if (dead)
        op->base.seq = commit(op->store, mark_record("redrive", step, id, n, now));
}

static void jredrive(void *conn, bool step, const char *id, long long number, int64_t now_ms, lt_dos_done_fn fn,
                     void *arg)
{
    op_t *op = begin(conn, LT_DOS_ANSWER_DONE, arg);
    op->a.done = fn;
    if (!refused(op))
        do_redrive(op, step, id, number, now_ms);
    end(op);
}

static void count_one(void *ctx, const char *key, void *val)
{
    lt_dos_counts_t *k = ctx;
    const dossier_t *d = val;
    if (snapshot_pending(d)) {
        k->snapshots_pending++;
        k->due++;
        if (k->oldest_pending_ms == 0 || d->accepted_at_ms < k->oldest_pending_ms)
            k->oldest_pending_ms = d->accepted_at_ms;
    }
    k->snapshots_dead += d->snap_dead;
    k->due += step_due(d) != NULL;
    for (size_t i = 0; i < d->nsteps; i++) {
        const step_t *st = &d->steps[i];
        k->steps_dead += st->state == ST_DEAD;
        if (st->state != ST_PENDING)
            continue;
        k->steps_pending++;
        if (k->oldest_pending_ms == 0 || st->accepted_at_ms < k->oldest_pending_ms)
            k->oldest_pending_ms = st->accepted_at_ms;
    }
}

static void jcounts(void *conn, lt_dos_counts_fn fn, void *arg)
{
    op_t *op = begin(conn, LT_DOS_ANSWER_COUNTS, arg);
    op->a.counts_fn = fn;
    op->a.counts.dossiers = (long long)op->store->dossiers.n;
    lt_map_foreach(&op->store->active, count_one, &op->a.counts);
    op->base.seq = lt_journal_last_seq(op->store->j);
    end(op);
}

/* A page is the dossiers of whole buckets of the table, from the cursor's bucket on ("<bucket>/<buckets>"). Nothing
 * frees a dossier; a table that grew (rehashed) since the last page starts the scan again, since its dossiers may
 * have moved behind the cursor: repeats are harmless, a miss is not. Growth doubles, so that happens rarely. */
static void jsnapshots(void *conn, const char *cursor, size_t max, lt_dos_list_fn fn, void *arg)
{
    op_t *op = begin(conn, LT_DOS_ANSWER_LIST, arg);
    op->a.list_fn = fn;
    const lt_map_t *m = &op->store->dossiers;
    size_t b = 0, nbuckets = 0;
    if (sscanf(cursor, "%zu/%zu", &b, &nbuckets) != 2 || nbuckets != m->nbuckets)
        b = 0;
    for (; b < m->nbuckets && op->a.nrecords < max; b++) {
        for (const lt_map_node_t *node = m->buckets[b]; node != NULL; node = node->next) {
            const dossier_t *d = node->val;
            if ((d->version == 0 || d->text == NULL) && d->nfees == 0)
                continue; /* steps only, no snapshot yet (fees without one are listed: the indicators keep them) */
            op->a.records = realloc(op->a.records, (op->a.nrecords + 1) * sizeof(*op->a.records));
            lt_dos_record_t *rec = &op->a.records[op->a.nrecords++];
            memset(rec, 0, sizeof(*rec));
            snprintf(rec->dossier_id, sizeof(rec->dossier_id), "%s", d->id);
            rec->number = d->version;
            rec->text = d->text ? strdup(d->text) : NULL;
            rec->fees = fees_text(d);
            rec->fee_rev = d->fee_rev;
            rec->accepted_at_ms = d->accepted_at_ms;
        }
    }
    op->a.list.n = op->a.nrecords;
    if (b < m->nbuckets)
        snprintf(op->a.list.cursor, sizeof(op->a.list.cursor), "%zu/%zu", b, m->nbuckets);
    op->base.seq = lt_journal_last_seq(op->store->j); /* what it read is durable before it is answered */
    end(op);
}

static void jrelease(void *conn, const char *owner, lt_dos_done_fn fn, void *arg)
{
    op_t *op = begin(conn, LT_DOS_ANSWER_DONE, arg);
    op->a.done = fn;
    op->a.res.outcome = LT_DOS_OK;
    end(op);
}

/* ---- the store and its conns --------------------------------------------------------------------- */

static void *jconn_new(void *store, struct event_base *base)
{
    store_t *s = store;
    conn_t *c = calloc(1, sizeof(*c));
    c->store = s;
    c->jc = lt_journal_conn_new(s->j, base);
    return c;
}

static void jconn_free(void *conn)
{
    conn_t *c = conn;
    if (c == NULL)
        return;
    lt_journal_conn_free(c->jc);
    free(c);
}

static void free_tables(store_t *s)
{
    lt_map_foreach(&s->dossiers, free_dossier, NULL);
    lt_map_clear(&s->dossiers);
    lt_map_clear(&s->active);
}

void *lt_dos_journal_open(const lt_dossiers_conf_t *conf, lt_error_t *err)
{
    store_t *s = calloc(1, sizeof(*s));
    lt_map_init(&s->dossiers);
    lt_map_init(&s->active);
    lt_journal_conf_t jc = {.dir = conf->store.journal_dir,
                            .compact_bytes = conf->store.compact_bytes,
                            .name = "dossiers journal",
                            .config_key = "dossiers.store.journal_dir"};
    lt_journal_hooks_t hooks = {.owner = s, .replay = replay, .serialize = serialize};
    s->j = lt_journal_open(&jc, &hooks, err);
    if (s->j == NULL) {
        free_tables(s);
        free(s);
        return NULL;
    }
    lt_log_info("dossiers journal: %zu dossiers, %zu with records for the portal, from %s", s->dossiers.n, s->active.n,
                conf->store.journal_dir);
    return s;
}

static void jclose(void *store)
{
    store_t *s = store;
    lt_journal_close(s->j);
    free_tables(s);
    free(s);
}

static bool jok(const void *store)
{
    return lt_journal_ok(((const store_t *)store)->j);
}

const lt_dos_backend_ops_t lt_dos_journal_ops = {
    .name = "journal",
    .close = jclose,
    .ok = jok,
    .conn_new = jconn_new,
    .conn_free = jconn_free,
    .put_snapshot = jput_snapshot,
    .add_step = jadd_step,
    .view = jview,
    .add_fee = jadd_fee,
    .claim = jclaim,
    .delivered = jdelivered,
    .dead = jdead,
    .redrive = jredrive,
    .list = jlist,
    .counts = jcounts,
    .snapshots = jsnapshots,
    .release = jrelease,
};
