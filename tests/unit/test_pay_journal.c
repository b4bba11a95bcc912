/*
 * The journal backend of the payment store (gateway/pay/lt_pay_journal.c), on real files in a temporary
 * directory: the shared contract (pay_store_cases.h), then what only a journal has: replay, a torn last line,
 * corruption, compaction, and the directory lock.
 */
#include <event2/thread.h>
#include <fcntl.h>
#include <sys/stat.h>

#include "pay_store_cases.h"

static char root[] = "/tmp/lt-pay-journal-XXXXXX";
static int ndirs;

static void open_store(fx_t *fx)
{
    lt_error_t err = {0};
    fx->store = lt_pay_store_open(&fx->conf, &err);
    if (fx->store == NULL)
        fail_msg("open: %s", err.detail);
    assert_string_equal(lt_pay_store_backend(fx->store), "journal");
    assert_true(lt_pay_store_ok(fx->store));
    fx->conn = lt_pay_conn_new(fx->store, fx->base);
}

static void close_store(fx_t *fx)
{
    lt_pay_conn_free(fx->conn);
    fx->conn = NULL;
    lt_pay_store_close(fx->store);
    fx->store = NULL;
}

static void reopen(fx_t *fx)
{
    close_store(fx);
    open_store(fx);
}

static int setup(void **state)
{
    fx_t *fx = calloc(1, sizeof(*fx));
    fx->base = event_base_new();
    snprintf(fx->dir, sizeof(fx->dir), "%s/j%d", root, ndirs++);
    fx->conf.store.backend = LT_PAY_STORE_JOURNAL;
    fx->conf.store.journal_dir = fx->dir;
    fx->conf.store.compact_bytes = 64 << 20;
    open_store(fx);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    fx_t *fx = *state;
    if (fx->store != NULL)
        close_store(fx);
    event_base_free(fx->base);
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", fx->dir);
    assert_int_equal(system(cmd), 0);
    free(fx);
    return 0;
}

static off_t file_size(const fx_t *fx, const char *name)
{
    char path[300];
    snprintf(path, sizeof(path), "%s/%s", fx->dir, name);
    struct stat st;
    return stat(path, &st) == 0 ? st.st_size : -1;
}

static void append_bytes(const fx_t *fx, const char *name, const char *data, size_t len)
{
    char path[300];
    snprintf(path, sizeof(path), "%s/%s", fx->dir, name);
    FILE *f = fopen(path, "a");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    fclose(f);
}

static void append_to(const fx_t *fx, const char *name, const char *text)
{
    append_bytes(fx, name, text, strlen(text));
}

/* Everything the shared cases leave behind, checked after a reopen. */
static void outbox_state_survives(fx_t *fx, int others_paid)
{
    got_t g;
    assert_int_equal(get_now(fx, "PAY-O-01", &g), LT_PAY_OK);
    assert_int_equal(g.payment.state, LT_PAY_PAID);
    assert_int_equal(get_now(fx, "PAY-O-02", &g), LT_PAY_OK);
    assert_int_equal(g.payment.state, LT_PAY_FAILED);
    assert_string_equal(g.payment.response_code, "24");
    assert_int_equal(list_now(fx, LT_EVENT_DEAD, 10, &g)->n, 1);
    assert_string_equal(g.ids[0], "evt-PAY-O-02");
    assert_int_equal(g.attempts[0], 7);
    assert_int_equal(list_now(fx, LT_EVENT_PENDING, 10, &g)->n, others_paid);
    /* evt-PAY-O-01 was delivered: gone, yet still known as delivered, and its payment still refuses a repeat. */
    assert_int_equal(delivered_now(fx, "evt-PAY-O-01", &g), LT_PAY_OK);
    lt_pay_settlement_t again = make_settlement("PAY-O-01", 100000, LT_PAY_PAID, 9000);
    assert_int_equal(settle_now(fx, &again, &g), LT_PAY_ALREADY_FINAL);
    lt_pay_counts_t c = counts_now(fx);
    assert_int_equal(c.by_state[LT_PAY_PAID], 1 + others_paid);
    assert_int_equal(c.by_state[LT_PAY_FAILED], 1);
    assert_int_equal(c.dead_letters, 1);
    assert_int_equal(c.outbox_backlog, others_paid);
}

static void make_outbox_state(fx_t *fx)
{
    got_t g;
    two_events(fx);
    assert_int_equal(delivered_now(fx, "evt-PAY-O-01", &g), LT_PAY_OK);
    assert_int_equal(failed_now(fx, "evt-PAY-O-02", 7, 0, true, &g), LT_PAY_OK);
}

static void replay_restores_everything(void **state)
{
    fx_t *fx = *state;
    got_t g;
    lt_payment_t idem = make_payment("PAY-R-01", 5000, 100, "portal\nk", "fp-r");
    assert_int_equal(create_now(fx, &idem, &g), LT_PAY_OK);
    make_outbox_state(fx);
    reopen(fx);
    outbox_state_survives(fx, 0);
    assert_int_equal(get_now(fx, "PAY-R-01", &g), LT_PAY_OK);
    assert_string_equal(g.payment.description, "Lệ phí hồ sơ PAY-R-01");
    lt_payment_t retry = make_payment("PAY-R-02", 5000, 200, "portal\nk", "fp-r");
    assert_int_equal(create_now(fx, &retry, &g), LT_PAY_EXISTS);
    assert_string_equal(g.payment.id, "PAY-R-01");
    /* PAY-O-01 was paid: its dossier report is still owed after the restart, and once made, stays made. */
    fee_pending_now(fx, &g);
    assert_int_equal(g.n, 1);
    assert_string_equal(g.ids[0], "PAY-O-01");
    assert_int_equal(fee_reported_now(fx, "PAY-O-01"), LT_PAY_OK);
    reopen(fx);
    assert_int_equal(fee_pending_now(fx, &g)->n, 0);
}

static void torn_last_line_is_dropped(void **state)
{
    fx_t *fx = *state;
    got_t g;
    lt_payment_t p = make_payment("PAY-T-01", 5000, 100, NULL, NULL);
    assert_int_equal(create_now(fx, &p, &g), LT_PAY_OK);
    close_store(fx);
    off_t good = file_size(fx, "journal.0");
    append_to(fx, "journal.0", "{\"op\":\"create\",\"p\":{\"id\":\"PAY-T-02\",\"amou");
    open_store(fx);
    assert_int_equal(file_size(fx, "journal.0"), good); /* truncated back to the last whole record */
    assert_int_equal(get_now(fx, "PAY-T-01", &g), LT_PAY_OK);
    assert_int_equal(get_now(fx, "PAY-T-02", &g), LT_PAY_NOT_FOUND);
    /* Records appended after the truncation start on a line of their own. */
    lt_payment_t q = make_payment("PAY-T-03", 5000, 300, NULL, NULL);
    assert_int_equal(create_now(fx, &q, &g), LT_PAY_OK);
    reopen(fx);
    assert_int_equal(get_now(fx, "PAY-T-03", &g), LT_PAY_OK);

    /* Zeros a crash left where unsynced blocks were (no record) are torn too. */
    close_store(fx);
    off_t before_zeros = file_size(fx, "journal.0");
    append_bytes(fx, "journal.0", "\0\0\0\0", 4);
    open_store(fx);
    assert_int_equal(file_size(fx, "journal.0"), before_zeros);
    assert_int_equal(get_now(fx, "PAY-T-03", &g), LT_PAY_OK);

    /* But a whole last line that does not parse was written completely: it is damage, not a torn write, and
     * might be an acknowledged record. Start-up stops, and the file is left as it was. */
    close_store(fx);
    append_to(fx, "journal.0", "\x01\x02garbage\n");
    off_t size = file_size(fx, "journal.0");
    lt_error_t err = {0};
    assert_null(lt_pay_store_open(&fx->conf, &err));
    assert_non_null(strstr(err.detail, "line 3"));
    assert_int_equal(file_size(fx, "journal.0"), size);
}

static void corruption_mid_file_refuses_to_start(void **state)
{
    fx_t *fx = *state;
    got_t g;
    lt_payment_t p = make_payment("PAY-C-01", 5000, 100, NULL, NULL);
    assert_int_equal(create_now(fx, &p, &g), LT_PAY_OK);
    close_store(fx);
    append_to(fx, "journal.0", "{\"op\":\"create\",\"p\":{\"id\":\"broken\"}}\n");
    append_to(fx, "journal.0", "{\"op\":\"event\"}\n");
    off_t size = file_size(fx, "journal.0");
    lt_error_t err = {0};
    assert_null(lt_pay_store_open(&fx->conf, &err));
    assert_non_null(strstr(err.detail, "journal.0"));
    assert_non_null(strstr(err.detail, "line 2"));
    assert_non_null(strstr(err.detail, "payment"));
    /* Nothing was truncated: the operator gets the file as it was. */
    assert_int_equal(file_size(fx, "journal.0"), size);
}

static void compaction_keeps_state_across_reopen(void **state)
{
    fx_t *fx = *state;
    got_t g;
    close_store(fx);
    fx->conf.store.compact_bytes = 4096;
    open_store(fx);
    make_outbox_state(fx);
    char id[32];
    for (int i = 0; i < 40; i++) {
        snprintf(id, sizeof(id), "PAY-K-%02d", i);
        lt_payment_t p = make_payment(id, 1000 + i, 1000 + i, i % 2 ? "portal\nkk" : NULL, "fp-k");
        bool created = i % 2 == 0 || i == 1; /* the other odd ones reuse PAY-K-01's key */
        assert_int_equal(create_now(fx, &p, &g), created ? LT_PAY_OK : LT_PAY_EXISTS);
        if (created && i % 3 == 0) {
            lt_pay_settlement_t s = make_settlement(id, (1000 + i) * 100LL, LT_PAY_PAID, 5000 + i);
            assert_int_equal(settle_now(fx, &s, &g), LT_PAY_OK);
        }
    }
    spin(fx, 50);
    assert_true(file_size(fx, "snapshot") > 0);
    assert_int_equal(file_size(fx, "journal.0"), -1); /* superseded and removed */
    assert_int_equal(file_size(fx, "snapshot.tmp"), -1);
    lt_pay_counts_t before = counts_now(fx);
    assert_int_equal(fee_reported_now(fx, "PAY-K-00"), LT_PAY_OK); /* owed: PAY-O-01 and six of the seven */
    reopen(fx);
    assert_int_equal(fee_pending_now(fx, &g)->n, 7); /* the flags are in the snapshot */
    outbox_state_survives(fx, 7);                    /* PAY-K-00, 06, ... 36 */
    lt_pay_counts_t after = counts_now(fx);
    for (int s = 0; s < LT_PAY_NSTATES; s++)
        assert_int_equal(after.by_state[s], before.by_state[s]);
    assert_int_equal(after.outbox_backlog, before.outbox_backlog);
    for (int i = 0; i < 40; i++) {
        snprintf(id, sizeof(id), "PAY-K-%02d", i);
        assert_int_equal(get_now(fx, id, &g), i % 2 == 1 && i != 1 ? LT_PAY_NOT_FOUND : LT_PAY_OK);
        if (g.outcome == LT_PAY_OK)
            assert_int_equal(g.payment.state, i % 3 == 0 ? LT_PAY_PAID : LT_PAY_PENDING);
    }
    lt_payment_t retry = make_payment("PAY-K-99", 1, 1, "portal\nkk", "fp-k"); /* the index survived too */
    assert_int_equal(create_now(fx, &retry, &g), LT_PAY_EXISTS);
    assert_string_equal(g.payment.id, "PAY-K-01");
}

/* A crash between the snapshot's rename and the old journal's removal leaves both: the snapshot wins. */
static void interrupted_compaction_leftovers_are_removed(void **state)
{
    fx_t *fx = *state;
    got_t g;
    lt_payment_t p = make_payment("PAY-L-01", 5000, 100, NULL, NULL);
    assert_int_equal(create_now(fx, &p, &g), LT_PAY_OK);
    close_store(fx);
    /* What a compaction interrupted before its rename leaves: the next, still empty journal and snapshot.tmp. */
    append_to(fx, "journal.1", "");
    append_to(fx, "snapshot.tmp", "half a snapshot");
    open_store(fx);
    assert_int_equal(file_size(fx, "journal.1"), -1);
    assert_int_equal(file_size(fx, "snapshot.tmp"), -1);
    assert_int_equal(get_now(fx, "PAY-L-01", &g), LT_PAY_OK);
}

/* A journal the snapshot does not explain (a snapshot lost, or restored from an old backup) may hold acknowledged
 * payments: start-up stops rather than delete it. */
static void unexplained_journal_refuses_to_start(void **state)
{
    fx_t *fx = *state;
    close_store(fx);
    append_to(fx, "journal.7", "{\"op\":\"create\",\"p\":{}}\n");
    lt_error_t err = {0};
    assert_null(lt_pay_store_open(&fx->conf, &err));
    assert_non_null(strstr(err.detail, "journal.7"));
    assert_true(file_size(fx, "journal.7") > 0);
}

static void second_opener_is_refused(void **state)
{
    fx_t *fx = *state;
    lt_error_t err = {0};
    assert_null(lt_pay_store_open(&fx->conf, &err));
    assert_non_null(strstr(err.detail, "in use by another gateway"));
    char pid[32];
    snprintf(pid, sizeof(pid), "pid %ld", (long)getpid());
    assert_non_null(strstr(err.detail, pid));
}

/* A snapshot written before the journal engine was shared counts its records by kind; it still loads, and a
 * count that does not match its records is still refused. */
static void a_snapshot_with_the_older_header_loads(void **state)
{
    fx_t *fx = *state;
    got_t g;
    close_store(fx);
    lt_payment_t p = make_payment("PAY-H-01", 5000, 100, NULL, NULL);
    json_t *pj = lt_payment_to_json(&p);
    char *pay = json_dumps(pj, JSON_COMPACT);
    json_decref(pj);
    char text[4096];
    snprintf(text, sizeof(text),
             "{\"snapshot\":1,\"next_journal\":3,\"payments\":1,\"events\":0}\n"
             "{\"op\":\"payment\",\"p\":%s}\n",
             pay);
    append_to(fx, "snapshot", text);
    open_store(fx);
    assert_int_equal(get_now(fx, "PAY-H-01", &g), LT_PAY_OK);
    close_store(fx);
    char path[300];
    snprintf(path, sizeof(path), "%s/snapshot", fx->dir);
    unlink(path);
    snprintf(text, sizeof(text),
             "{\"snapshot\":1,\"next_journal\":3,\"payments\":2,\"events\":0}\n"
             "{\"op\":\"payment\",\"p\":%s}\n",
             pay);
    append_to(fx, "snapshot", text);
    free(pay);
    lt_error_t err = {0};
    assert_null(lt_pay_store_open(&fx->conf, &err));
    assert_non_null(strstr(err.detail, "truncated"));
}

/* Answers come on the conn's loop: a conn on another loop never runs this one's callbacks. */
static void answers_run_on_the_conns_loop(void **state)
{
    fx_t *fx = *state;
    struct event_base *other = event_base_new();
    lt_pay_conn_t *c2 = lt_pay_conn_new(fx->store, other);
    got_t g = {0};
    lt_pay_get(c2, "PAY-NOPE", on_done, &g);
    spin(fx, 30);
    assert_int_equal(g.calls, 0);
    for (int i = 0; i < 100 && g.calls == 0; i++) {
        event_base_loop(other, EVLOOP_NONBLOCK);
        usleep(1000);
    }
    assert_int_equal(g.calls, 1);
    assert_int_equal(g.outcome, LT_PAY_NOT_FOUND);
    lt_pay_conn_free(c2);
    event_base_free(other);
}

int main(void)
{
    evthread_use_pthreads(); /* the writer thread wakes conns' loops */
    if (mkdtemp(root) == NULL)
        return 1;
    const struct CMUnitTest tests[] = {
        STORE_CASES(setup, teardown),
        cmocka_unit_test_setup_teardown(replay_restores_everything, setup, teardown),
        cmocka_unit_test_setup_teardown(torn_last_line_is_dropped, setup, teardown),
        cmocka_unit_test_setup_teardown(corruption_mid_file_refuses_to_start, setup, teardown),
        cmocka_unit_test_setup_teardown(compaction_keeps_state_across_reopen, setup, teardown),
        cmocka_unit_test_setup_teardown(interrupted_compaction_leftovers_are_removed, setup, teardown),
        cmocka_unit_test_setup_teardown(unexplained_journal_refuses_to_start, setup, teardown),
        cmocka_unit_test_setup_teardown(second_opener_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(answers_run_on_the_conns_loop, setup, teardown),
        cmocka_unit_test_setup_teardown(a_snapshot_with_the_older_header_loads, setup, teardown),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    rmdir(root);
    return rc;
}
