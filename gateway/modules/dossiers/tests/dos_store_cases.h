/*
 * The dossier store's contract (lt_dos_store.h), as cases that run against either backend: included by
 * test_dos_journal.c and test_dos_redis.c, which provide the fixture (a fresh, empty store and one conn on a loop).
 */
#ifndef DOS_STORE_CASES_H
#define DOS_STORE_CASES_H

#include <event2/event.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lt_dos_store.h"

typedef struct fx {
    struct event_base *base;
    lt_dos_store_t *store;
    lt_dos_conn_t *conn;
    lt_dossiers_conf_t conf;
    char dir[256]; /* journal: its directory */
    char prefix[40];
} fx_t;

#define MAXREC 16

/* What a callback saw, copied out (the store's arrays live only during the callback). */
typedef struct got {
    int calls;
    lt_dos_outcome_t outcome;
    long long version;
    char detail[200];
    size_t n;
    lt_dos_record_t rec[MAXREC];
    char text[MAXREC][256];
    char fees[MAXREC][256]; /* a snapshot's gateway fees, "" when none */
    lt_dos_view_t view;
    char snapshot_text[256];
    lt_dos_counts_t counts;
} got_t;

static void on_done(void *arg, const lt_dos_result_t *r)
{
    got_t *g = arg;
    g->calls++;
    g->outcome = r->outcome;
    g->version = r->version;
    snprintf(g->detail, sizeof(g->detail), "%s", r->detail);
}

static void copy_records(got_t *g, const lt_dos_record_t *records, size_t n)
{
    g->n = n;
    for (size_t i = 0; i < n && i < MAXREC; i++) {
        g->rec[i] = records[i];
        snprintf(g->text[i], sizeof(g->text[i]), "%s", records[i].text ? records[i].text : "");
        g->rec[i].text = g->text[i];
        snprintf(g->fees[i], sizeof(g->fees[i]), "%s", records[i].fees ? records[i].fees : "");
        g->rec[i].fees = g->fees[i];
    }
}

static void on_list(void *arg, const lt_dos_list_t *l)
{
    got_t *g = arg;
    g->calls++;
    g->outcome = l->outcome;
    snprintf(g->detail, sizeof(g->detail), "%s", l->detail);
    copy_records(g, l->records, l->n);
}

static void on_view(void *arg, const lt_dos_view_t *v)
{
    got_t *g = arg;
    g->calls++;
    g->outcome = v->outcome;
    g->view = *v;
    snprintf(g->snapshot_text, sizeof(g->snapshot_text), "%s", v->snapshot_text ? v->snapshot_text : "");
    g->view.snapshot_text = NULL;
    copy_records(g, v->pending, v->npending);
    g->view.pending = NULL;
}

static void on_counts(void *arg, const lt_dos_counts_t *c)
{
    got_t *g = arg;
    g->calls++;
    g->outcome = c->outcome;
    g->counts = *c;
}

/* Runs the loop until g has been called (fails after 5 s). Each operation is checked not to answer inside the
 * call itself. */
static void wait_call(fx_t *fx, got_t *g)
{
    assert_int_equal(g->calls, 0);
    for (int i = 0; i < 5000 && g->calls < 1; i++) {
        event_base_loop(fx->base, EVLOOP_NONBLOCK);
        if (g->calls < 1)
            usleep(1000);
    }
    assert_int_equal(g->calls, 1);
}

static void fp_of(const char *text, char fp[65])
{
    /* Any 64 hex digits do for the store: it compares them, it never computes them. */
    unsigned h = 2166136261u;
    for (const char *p = text; *p; p++)
        h = (h ^ (unsigned char)*p) * 16777619u;
    for (int i = 0; i < 8; i++)
        snprintf(fp + 8 * i, 9, "%08x", h + (unsigned)i);
}

static lt_dos_outcome_t put(fx_t *fx, const char *id, long long version, const char *text, int64_t now, got_t *g)
{
    char fp[65];
    fp_of(text, fp);
    memset(g, 0, sizeof(*g));
    lt_dos_put_snapshot(fx->conn, id, version, fp, text, now, on_done, g);
    wait_call(fx, g);
    return g->outcome;
}

static lt_dos_outcome_t add(fx_t *fx, const char *id, long long seq, const char *text, int64_t now, got_t *g)
{
    char fp[65];
    fp_of(text, fp);
    memset(g, 0, sizeof(*g));
    lt_dos_add_step(fx->conn, id, seq, fp, text, now, on_done, g);
    wait_call(fx, g);
    return g->outcome;
}

static got_t *claim(fx_t *fx, bool step, size_t max, got_t *g)
{
    memset(g, 0, sizeof(*g));
    lt_dos_claim(fx->conn, step, max, "me", 10000, 5000, on_list, g);
    wait_call(fx, g);
    assert_int_equal(g->outcome, LT_DOS_OK);
    return g;
}

/* A snapshot's call carried the fees up to revision fee_rev. */
static void delivered_with_fees(fx_t *fx, const char *id, long long number, long long fee_rev)
{
    got_t g = {0};
    lt_dos_ref_t ref = {.number = number, .fee_rev = fee_rev};
    snprintf(ref.dossier_id, sizeof(ref.dossier_id), "%s", id);
    lt_dos_delivered(fx->conn, false, &ref, 1, 6000, on_done, &g);
    wait_call(fx, &g);
    assert_int_equal(g.outcome, LT_DOS_OK);
}

static lt_dos_outcome_t add_fee(fx_t *fx, const char *id, const char *key, const char *entry, int64_t now)
{
    got_t g = {0};
    lt_dos_add_fee(fx->conn, id, key, entry, now, on_done, &g);
    wait_call(fx, &g);
    return g.outcome;
}

static void delivered(fx_t *fx, bool step, const char *id, long long number)
{
    got_t g = {0};
    lt_dos_ref_t ref = {.number = number};
    snprintf(ref.dossier_id, sizeof(ref.dossier_id), "%s", id);
    lt_dos_delivered(fx->conn, step, &ref, 1, 6000, on_done, &g);
    wait_call(fx, &g);
    assert_int_equal(g.outcome, LT_DOS_OK);
}

static lt_dos_outcome_t dead(fx_t *fx, bool step, const char *id, long long number, const char *error)
{
    got_t g = {0};
    lt_dos_dead(fx->conn, step, id, number, error, 7000, on_done, &g);
    wait_call(fx, &g);
    return g.outcome;
}

static lt_dos_outcome_t redrive(fx_t *fx, bool step, const char *id, long long number)
{
    got_t g = {0};
    lt_dos_redrive(fx->conn, step, id, number, 8000, on_done, &g);
    wait_call(fx, &g);
    return g.outcome;
}

static got_t *view(fx_t *fx, const char *id, got_t *g)
{
    memset(g, 0, sizeof(*g));
    lt_dos_view(fx->conn, id, on_view, g);
    wait_call(fx, g);
    return g;
}

static got_t *list(fx_t *fx, bool dead_ones, got_t *g)
{
    memset(g, 0, sizeof(*g));
    lt_dos_list(fx->conn, dead_ones, 100, on_list, g);
    wait_call(fx, g);
    assert_int_equal(g->outcome, LT_DOS_OK);
    return g;
}

static lt_dos_counts_t counts(fx_t *fx)
{
    got_t g = {0};
    lt_dos_counts(fx->conn, on_counts, &g);
    wait_call(fx, &g);
    assert_int_equal(g.outcome, LT_DOS_OK);
    return g.counts;
}

/* ---- the cases ------------------------------------------------------------------------------------------ */

static void snapshots_are_newest_wins(void **state)
{
    fx_t *fx = *state;
    got_t g;
    assert_int_equal(put(fx, "D1", 3, "{\"version\":3}", 1000, &g), LT_DOS_OK);
    assert_int_equal(put(fx, "D1", 3, "{\"version\":3}", 1001, &g), LT_DOS_REPEAT);
    assert_int_equal(g.version, 3);
    assert_int_equal(put(fx, "D1", 3, "{\"version\":3,\"x\":1}", 1002, &g), LT_DOS_CONFLICT);
    assert_int_equal(put(fx, "D1", 2, "{\"version\":2}", 1003, &g), LT_DOS_CONFLICT);
    assert_int_equal(g.version, 3);
    assert_int_equal(put(fx, "D1", 7, "{\"version\":7}", 1004, &g), LT_DOS_OK);
    view(fx, "D1", &g);
    assert_int_equal(g.outcome, LT_DOS_OK);
    assert_int_equal(g.view.version, 7);
    assert_string_equal(g.snapshot_text, "{\"version\":7}");
    assert_int_equal(g.view.acked_version, 0);
    claim(fx, false, 10, &g);
    assert_int_equal(g.n, 1); /* one record per dossier: the newest */
    assert_int_equal(g.rec[0].number, 7);
    assert_string_equal(g.rec[0].text, "{\"version\":7}");
    assert_int_equal(view(fx, "nobody", &g)->outcome, LT_DOS_NOT_FOUND);
}

static void a_step_is_accepted_once(void **state)
{
    fx_t *fx = *state;
    got_t g;
    assert_int_equal(add(fx, "D1", 1, "{\"seq\":1}", 1000, &g), LT_DOS_OK);
    assert_int_equal(add(fx, "D1", 1, "{\"seq\":1}", 1001, &g), LT_DOS_REPEAT);
    assert_int_equal(add(fx, "D1", 1, "{\"seq\":1,\"x\":2}", 1002, &g), LT_DOS_CONFLICT);
    view(fx, "D1", &g);
    assert_int_equal(g.view.version, 0);
    assert_int_equal(g.view.steps, 1);
    assert_int_equal(g.n, 1);
    assert_false(g.rec[0].due); /* the portal does not hold the dossier yet */
}

/* Steps go one per dossier, in seq order, once the portal holds the dossier; a gap holds back what follows it. */
static void steps_wait_for_the_dossier_and_for_gaps(void **state)
{
    fx_t *fx = *state;
    got_t g;
    add(fx, "D1", 1, "s1", 1000, &g);
    add(fx, "D1", 2, "s2", 1001, &g);
    add(fx, "D1", 4, "s4", 1002, &g);
    add(fx, "D2", 1, "t1", 1003, &g);
    assert_int_equal(claim(fx, true, 10, &g)->n, 0);
    put(fx, "D1", 1, "v1", 1004, &g);
    put(fx, "D2", 1, "w1", 1005, &g);
    assert_int_equal(claim(fx, true, 10, &g)->n, 0); /* accepted is not acknowledged */
    delivered(fx, false, "D1", 1);
    delivered(fx, false, "D2", 1);
    assert_int_equal(claim(fx, false, 10, &g)->n, 0);
    claim(fx, true, 10, &g);
    assert_int_equal(g.n, 2);
    assert_string_equal(g.rec[0].dossier_id, "D1"); /* the oldest accepted first */
    assert_int_equal(g.rec[0].number, 1);
    assert_string_equal(g.rec[0].text, "s1");
    assert_string_equal(g.rec[1].dossier_id, "D2");
    assert_int_equal(claim(fx, true, 1, &g)->n, 1); /* max */
    delivered(fx, true, "D1", 1);
    delivered(fx, true, "D1", 1); /* twice: no harm */
    delivered(fx, true, "D1", 4); /* not the next one: ignored */
    claim(fx, true, 10, &g);
    assert_int_equal(g.n, 2);
    assert_int_equal(g.rec[0].number, 2);
    delivered(fx, true, "D1", 2);
    claim(fx, true, 10, &g);
    assert_int_equal(g.n, 1); /* D1 waits for step 3 */
    assert_string_equal(g.rec[0].dossier_id, "D2");
    view(fx, "D1", &g);
    assert_int_equal(g.view.acked_seq, 2);
    assert_int_equal(g.view.last_seq, 4);
    assert_int_equal(g.n, 1);
    assert_int_equal(g.rec[0].number, 4);
    assert_false(g.rec[0].due);
    add(fx, "D1", 3, "s3", 1010, &g);
    claim(fx, true, 10, &g);
    assert_int_equal(g.n, 2);
    assert_int_equal(g.rec[1].number, 3);
}

static void a_newer_snapshot_after_an_acknowledged_one_is_due_again(void **state)
{
    fx_t *fx = *state;
    got_t g;
    put(fx, "D1", 1, "v1", 1000, &g);
    claim(fx, false, 10, &g);
    put(fx, "D1", 2, "v2", 1001, &g); /* while v1 is on its way */
    delivered(fx, false, "D1", 1);
    view(fx, "D1", &g);
    assert_int_equal(g.view.acked_version, 1);
    assert_int_equal(g.view.version, 2);
    claim(fx, false, 10, &g);
    assert_int_equal(g.n, 1);
    assert_int_equal(g.rec[0].number, 2);
    delivered(fx, false, "D1", 2);
    assert_int_equal(claim(fx, false, 10, &g)->n, 0);
    delivered(fx, false, "D1", 1); /* a late acknowledgement of v1 never moves it back */
    assert_int_equal(view(fx, "D1", &g)->view.acked_version, 2);
}

static void a_refused_snapshot_is_a_dead_letter_until_redriven_or_superseded(void **state)
{
    fx_t *fx = *state;
    got_t g;
    put(fx, "D1", 1, "v1", 1000, &g);
    put(fx, "D2", 1, "w1", 1001, &g);
    assert_int_equal(dead(fx, false, "D1", 1, "MaHoSo D1: sai"), LT_DOS_OK);
    assert_int_equal(dead(fx, false, "D1", 1, "again"), LT_DOS_OK); /* dead already: nothing changes */
    assert_int_equal(dead(fx, false, "nobody", 1, "x"), LT_DOS_NOT_FOUND);
    claim(fx, false, 10, &g);
    assert_int_equal(g.n, 1);
    assert_string_equal(g.rec[0].dossier_id, "D2");
    list(fx, true, &g);
    assert_int_equal(g.n, 1);
    assert_true(g.rec[0].dead);
    assert_false(g.rec[0].step);
    assert_string_equal(g.rec[0].error, "MaHoSo D1: sai");
    lt_dos_counts_t c = counts(fx);
    assert_int_equal(c.snapshots_dead, 1);
    assert_int_equal(c.snapshots_pending, 1);
    assert_int_equal(c.dossiers, 2);
    view(fx, "D1", &g);
    assert_true(g.view.snapshot_dead);
    assert_string_equal(g.view.snapshot_error, "MaHoSo D1: sai");
    assert_int_equal(redrive(fx, false, "D1", 1), LT_DOS_OK);
    assert_int_equal(redrive(fx, false, "D1", 1), LT_DOS_NOT_FOUND); /* not dead any more */
    assert_int_equal(claim(fx, false, 10, &g)->n, 2);
    assert_int_equal(counts(fx).snapshots_dead, 0);
    dead(fx, false, "D1", 1, "again refused");
    put(fx, "D1", 2, "v2", 1002, &g); /* a newer version supersedes the dead letter */
    assert_int_equal(counts(fx).snapshots_dead, 0);
    assert_int_equal(list(fx, true, &g)->n, 0);
    assert_int_equal(claim(fx, false, 10, &g)->n, 2);
    delivered(fx, false, "D2", 1);
    assert_int_equal(dead(fx, false, "D2", 1, "late"), LT_DOS_OK); /* acknowledged already: not set aside */
    assert_int_equal(counts(fx).snapshots_dead, 0);
}

static void a_refused_step_holds_back_the_steps_after_it(void **state)
{
    fx_t *fx = *state;
    got_t g;
    put(fx, "D1", 1, "v1", 1000, &g);
    delivered(fx, false, "D1", 1);
    add(fx, "D1", 1, "s1", 1001, &g);
    add(fx, "D1", 2, "s2", 1002, &g);
    assert_int_equal(dead(fx, true, "D1", 1, "MaHoSo D1: bước sai"), LT_DOS_OK);
    assert_int_equal(claim(fx, true, 10, &g)->n, 0);
    view(fx, "D1", &g);
    assert_int_equal(g.n, 2);
    assert_true(g.rec[0].dead);
    assert_string_equal(g.rec[0].error, "MaHoSo D1: bước sai");
    assert_false(g.rec[1].dead);
    assert_false(g.rec[1].due);
    lt_dos_counts_t c = counts(fx);
    assert_int_equal(c.steps_dead, 1);
    assert_int_equal(c.steps_pending, 1);
    assert_int_equal(c.due, 0);
    list(fx, false, &g);
    assert_int_equal(g.n, 1);
    assert_int_equal(g.rec[0].number, 2);
    assert_int_equal(redrive(fx, true, "D1", 2), LT_DOS_NOT_FOUND);
    assert_int_equal(redrive(fx, true, "D1", 1), LT_DOS_OK);
    claim(fx, true, 10, &g);
    assert_int_equal(g.n, 1);
    assert_int_equal(g.rec[0].number, 1);
    delivered(fx, true, "D1", 1);
    assert_int_equal(claim(fx, true, 10, &g)->rec[0].number, 2);
    delivered(fx, true, "D1", 2);
    c = counts(fx);
    assert_int_equal(c.steps_pending + c.steps_dead + c.snapshots_pending + c.due, 0);
    assert_int_equal(c.oldest_pending_ms, 0);
    view(fx, "D1", &g);
    assert_int_equal(g.view.acked_seq, 2);
    assert_int_equal(g.n, 0);
}

static void counts_follow_the_outbox(void **state)
{
    fx_t *fx = *state;
    got_t g;
    put(fx, "D1", 1, "v1", 1000, &g);
    add(fx, "D1", 1, "s1", 900, &g);
    add(fx, "D2", 1, "t1", 1100, &g);
    lt_dos_counts_t c = counts(fx);
    assert_int_equal(c.dossiers, 2);
    assert_int_equal(c.snapshots_pending, 1);
    assert_int_equal(c.steps_pending, 2);
    assert_int_equal(c.due, 1);
    assert_int_equal(c.oldest_pending_ms, 900);
}

#define FEE_A "{\"amount_vnd\":75000,\"name\":\"A\"}"
#define FEE_B "{\"amount_vnd\":60000,\"name\":\"B\"}"
#define FEE_C "{\"amount_vnd\":1,\"name\":\"C\"}"

/* A fee the gateway lists makes a snapshot the portal holds due again, with the fees, once per key; the portal's
 * acknowledgement of an older fee revision leaves it due. */
static void a_fee_makes_a_snapshot_due_again(void **state)
{
    fx_t *fx = *state;
    got_t g;
    put(fx, "D1", 1, "v1", 1000, &g);
    claim(fx, false, 10, &g);
    assert_string_equal(g.rec[0].fees, ""); /* none yet */
    delivered_with_fees(fx, "D1", 1, g.rec[0].fee_rev);
    assert_int_equal(claim(fx, false, 10, &g)->n, 0);

    assert_int_equal(add_fee(fx, "D1", "PAY-1", FEE_A, 1100), LT_DOS_OK);
    assert_int_equal(add_fee(fx, "D1", "PAY-1", FEE_A, 1101), LT_DOS_REPEAT); /* a repeat adds nothing */
    lt_dos_counts_t c = counts(fx);
    assert_int_equal(c.snapshots_pending, 1);
    assert_int_equal(c.due, 1);
    view(fx, "D1", &g);
    assert_int_equal(g.view.fee_rev, 1);
    assert_int_equal(g.view.acked_fee_rev, 0);
    assert_int_equal(g.view.acked_version, 1);
    claim(fx, false, 10, &g);
    assert_int_equal(g.n, 1);
    assert_int_equal(g.rec[0].number, 1); /* the same version again */
    assert_string_equal(g.rec[0].text, "v1");
    assert_string_equal(g.rec[0].fees, "[" FEE_A "]");
    long long sent = g.rec[0].fee_rev;
    assert_int_equal(add_fee(fx, "D1", "PAY-2", FEE_B, 1200), LT_DOS_OK); /* while that call is on its way */
    delivered_with_fees(fx, "D1", 1, sent);
    claim(fx, false, 10, &g);
    assert_int_equal(g.n, 1); /* the portal lacks PAY-2 */
    assert_string_equal(g.rec[0].fees, "[" FEE_A "," FEE_B "]");
    delivered_with_fees(fx, "D1", 1, g.rec[0].fee_rev);
    assert_int_equal(claim(fx, false, 10, &g)->n, 0);
    c = counts(fx);
    assert_int_equal(c.snapshots_pending + c.due, 0);
    delivered_with_fees(fx, "D1", 1, sent); /* a late acknowledgement never moves it back */
    assert_int_equal(claim(fx, false, 10, &g)->n, 0);
    assert_int_equal(view(fx, "D1", &g)->view.acked_fee_rev, 2);

    put(fx, "D1", 2, "v2", 1300, &g); /* a newer version keeps the dossier's fees */
    claim(fx, false, 10, &g);
    assert_int_equal(g.rec[0].number, 2);
    assert_string_equal(g.rec[0].fees, "[" FEE_A "," FEE_B "]");
}

/* A fee for a dossier not handed over yet waits for its first snapshot, which carries it. */
static void a_fee_before_the_snapshot_goes_with_it(void **state)
{
    fx_t *fx = *state;
    got_t g;
    assert_int_equal(add_fee(fx, "D1", "PAY-1", FEE_A, 1000), LT_DOS_OK);
    assert_int_equal(claim(fx, false, 10, &g)->n, 0);
    assert_int_equal(counts(fx).snapshots_pending, 0);
    view(fx, "D1", &g);
    assert_int_equal(g.outcome, LT_DOS_OK);
    assert_int_equal(g.view.version, 0);
    put(fx, "D1", 1, "v1", 1100, &g);
    claim(fx, false, 10, &g);
    assert_int_equal(g.n, 1);
    assert_string_equal(g.rec[0].fees, "[" FEE_A "]");
    delivered_with_fees(fx, "D1", 1, g.rec[0].fee_rev);
    assert_int_equal(claim(fx, false, 10, &g)->n, 0);
    assert_int_equal(counts(fx).snapshots_pending, 0);
}

/* A snapshot refused after a fee made it due is a dead letter; a fee on a dead letter leaves it dead. */
static void a_fee_on_a_refused_snapshot_waits_for_its_redrive(void **state)
{
    fx_t *fx = *state;
    got_t g;
    put(fx, "D1", 1, "v1", 1000, &g);
    delivered_with_fees(fx, "D1", 1, 0);
    add_fee(fx, "D1", "PAY-1", FEE_A, 1100);
    assert_int_equal(dead(fx, false, "D1", 1, "MaHoSo D1: sai"), LT_DOS_OK);
    lt_dos_counts_t c = counts(fx);
    assert_int_equal(c.snapshots_dead, 1);
    assert_int_equal(c.snapshots_pending, 0);
    add_fee(fx, "D1", "PAY-2", FEE_B, 1200);
    assert_int_equal(claim(fx, false, 10, &g)->n, 0);
    assert_int_equal(counts(fx).snapshots_pending, 0);
    assert_int_equal(redrive(fx, false, "D1", 1), LT_DOS_OK);
    claim(fx, false, 10, &g);
    assert_int_equal(g.n, 1);
    assert_string_equal(g.rec[0].fees, "[" FEE_A "," FEE_B "]");
}

/* What a whole scan saw: the highest version and its text per dossier, and how many pages it took. */
#define SCAN_DOSSIERS 40
typedef struct scan {
    int calls, pages;
    lt_dos_outcome_t outcome;
    char cursor[48];
    long long version[SCAN_DOSSIERS + 1];
    char text[SCAN_DOSSIERS + 1][32];
    char fees[SCAN_DOSSIERS + 1][64];
    int strangers; /* ids the test never put a snapshot under */
} scan_t;

static void on_scan(void *arg, const lt_dos_list_t *l)
{
    scan_t *s = arg;
    s->calls++;
    s->pages++;
    s->outcome = l->outcome;
    snprintf(s->cursor, sizeof(s->cursor), "%s", l->cursor);
    for (size_t i = 0; i < l->n; i++) {
        int k = -1;
        if (sscanf(l->records[i].dossier_id, "S%d", &k) != 1 || k < 0 || k >= SCAN_DOSSIERS) {
            s->strangers++;
            continue;
        }
        if (l->records[i].fees != NULL)
            snprintf(s->fees[k], sizeof(s->fees[k]), "%s", l->records[i].fees);
        if (l->records[i].number > s->version[k]) {
            s->version[k] = l->records[i].number;
            snprintf(s->text[k], sizeof(s->text[k]), "%s", l->records[i].text ? l->records[i].text : "");
        }
    }
}

/* The scan the indicators are rebuilt from: every accepted snapshot once at least, the highest version with its
 * text, in pages; a dossier with steps only is not in it. */
static void a_scan_sees_every_snapshot(void **state)
{
    fx_t *fx = *state;
    got_t g;
    char id[16], text[32];
    for (int k = 0; k < SCAN_DOSSIERS - 1; k++) {
        snprintf(id, sizeof(id), "S%d", k);
        snprintf(text, sizeof(text), "{\"version\":1,\"k\":%d}", k);
        put(fx, id, 1, text, 1000 + k, &g);
        if (k % 3 == 0) {
            snprintf(text, sizeof(text), "{\"version\":2,\"k\":%d}", k);
            put(fx, id, 2, text, 2000 + k, &g);
        }
    }
    add(fx, "T1", 1, "only a step", 3000, &g);
    add_fee(fx, "S1", "PAY-1", FEE_C, 3001);
    add_fee(fx, "S39", "PAY-2", FEE_C, 3002); /* below: S39 has fees and no snapshot */
    scan_t s = {0};
    do {
        char cursor[48];
        snprintf(cursor, sizeof(cursor), "%s", s.cursor);
        s.calls = 0;
        lt_dos_snapshots(fx->conn, cursor, 3, on_scan, &s);
        assert_int_equal(s.calls, 0); /* never inside the call */
        for (int i = 0; i < 5000 && s.calls < 1; i++) {
            event_base_loop(fx->base, EVLOOP_NONBLOCK);
            if (s.calls < 1)
                usleep(1000);
        }
        assert_int_equal(s.calls, 1);
        assert_int_equal(s.outcome, LT_DOS_OK);
        assert_true(s.pages < 1000);
    } while (s.cursor[0] != '\0');
    assert_true(s.pages > 1); /* 40 dossiers do not fit in pages of about 3 */
    assert_int_equal(s.strangers, 0);
    for (int k = 0; k < SCAN_DOSSIERS - 1; k++) {
        snprintf(text, sizeof(text), "{\"version\":%d,\"k\":%d}", k % 3 == 0 ? 2 : 1, k);
        assert_int_equal(s.version[k], k % 3 == 0 ? 2 : 1);
        assert_string_equal(s.text[k], text);
        assert_string_equal(s.fees[k], k == 1 ? "[" FEE_C "]" : "");
    }
    assert_int_equal(s.version[SCAN_DOSSIERS - 1], 0); /* fees only: listed for the indicators, no snapshot */
    assert_string_equal(s.fees[SCAN_DOSSIERS - 1], "[" FEE_C "]");
}

#define STORE_CASES(setup, teardown)                                                                                   \
    cmocka_unit_test_setup_teardown(snapshots_are_newest_wins, setup, teardown),                                       \
        cmocka_unit_test_setup_teardown(a_step_is_accepted_once, setup, teardown),                                     \
        cmocka_unit_test_setup_teardown(steps_wait_for_the_dossier_and_for_gaps, setup, teardown),                     \
        cmocka_unit_test_setup_teardown(a_newer_snapshot_after_an_acknowledged_one_is_due_again, setup, teardown),     \
        cmocka_unit_test_setup_teardown(a_refused_snapshot_is_a_dead_letter_until_redriven_or_superseded, setup,       \
                                        teardown),                                                                     \
        cmocka_unit_test_setup_teardown(a_refused_step_holds_back_the_steps_after_it, setup, teardown),                \
        cmocka_unit_test_setup_teardown(counts_follow_the_outbox, setup, teardown),                                    \
        cmocka_unit_test_setup_teardown(a_scan_sees_every_snapshot, setup, teardown),                                  \
        cmocka_unit_test_setup_teardown(a_fee_makes_a_snapshot_due_again, setup, teardown),                            \
        cmocka_unit_test_setup_teardown(a_fee_before_the_snapshot_goes_with_it, setup, teardown),                      \
        cmocka_unit_test_setup_teardown(a_fee_on_a_refused_snapshot_waits_for_its_redrive, setup, teardown)

#endif
