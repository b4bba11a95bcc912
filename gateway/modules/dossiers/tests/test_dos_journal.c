/*
 * The journal backend of the dossier store (lt_dos_journal.c on lt_journal), on real files in a temporary
 * directory: the shared contract (dos_store_cases.h), then what only a journal has: replay, compaction, a torn
 * last line, a damaged one, and the directory lock.
 */
#include <event2/thread.h>
#include <fcntl.h>
#include <sys/stat.h>

#include "dos_store_cases.h"

static char root[] = "/tmp/lt-dos-journal-XXXXXX";
static int ndirs;

static void open_store(fx_t *fx)
{
    lt_error_t err = {0};
    fx->store = lt_dos_store_open(&fx->conf, &err);
    if (fx->store == NULL)
        fail_msg("open: %s", err.detail);
    assert_string_equal(lt_dos_store_backend(fx->store), "journal");
    assert_true(lt_dos_store_ok(fx->store));
    fx->conn = lt_dos_conn_new(fx->store, fx->base);
}

static void close_store(fx_t *fx)
{
    lt_dos_conn_free(fx->conn);
    fx->conn = NULL;
    lt_dos_store_close(fx->store);
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
    fx->conf.store.backend = LT_DOS_STORE_JOURNAL;
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
    int rc = system(cmd);
    free(fx);
    return rc == 0 ? 0 : -1;
}

/* A dossier in every state a record can be in: acknowledged, due, waiting, dead. */
static void fill(fx_t *fx)
{
    got_t g;
    put(fx, "D1", 1, "v1", 1000, &g);
    delivered(fx, false, "D1", 1);
    put(fx, "D1", 2, "v2", 1001, &g);
    add(fx, "D1", 1, "s1", 1002, &g);
    delivered(fx, true, "D1", 1);
    add(fx, "D1", 2, "s2", 1003, &g);
    add(fx, "D1", 4, "s4", 1004, &g);
    put(fx, "D2", 5, "w5", 1005, &g);
    dead(fx, false, "D2", 5, "MaHoSo D2: sai");
}

static void check_filled(fx_t *fx)
{
    got_t g;
    view(fx, "D1", &g);
    assert_int_equal(g.view.version, 2);
    assert_string_equal(g.snapshot_text, "v2");
    assert_int_equal(g.view.acked_version, 1);
    assert_int_equal(g.view.acked_seq, 1);
    assert_int_equal(g.view.steps, 3);
    assert_int_equal(g.n, 2);
    assert_true(g.rec[0].due);
    assert_int_equal(g.rec[1].number, 4);
    assert_int_equal(add(fx, "D1", 1, "s1", 2000, &g), LT_DOS_REPEAT); /* acknowledged, still known by its body */
    assert_int_equal(add(fx, "D1", 1, "other", 2000, &g), LT_DOS_CONFLICT);
    assert_int_equal(put(fx, "D2", 5, "w5", 2000, &g), LT_DOS_REPEAT);
    view(fx, "D2", &g);
    assert_true(g.view.snapshot_dead);
    assert_string_equal(g.view.snapshot_error, "MaHoSo D2: sai");
}

/* The gateway's fees: one acknowledged and one not (the snapshot due again), and those of a dossier not here yet. */
static void fill_fees(fx_t *fx)
{
    got_t g;
    put(fx, "F-D3", 1, "x1", 1006, &g);
    add_fee(fx, "F-D3", "PAY-1", FEE_A, 1007);
    delivered_with_fees(fx, "F-D3", 1, 1);
    add_fee(fx, "F-D3", "PAY-2", FEE_B, 1008);
    add_fee(fx, "F-D4", "PAY-3", FEE_C, 1009);
}

static void check_fees(fx_t *fx)
{
    got_t g;
    view(fx, "F-D3", &g);
    assert_int_equal(g.view.fee_rev, 2);
    assert_int_equal(g.view.acked_fee_rev, 1);
    assert_int_equal(add_fee(fx, "F-D3", "PAY-1", FEE_A, 2000), LT_DOS_REPEAT);
    assert_int_equal(add_fee(fx, "F-D4", "PAY-3", FEE_C, 2000), LT_DOS_REPEAT);
    claim(fx, false, 10, &g);
    bool d3 = false;
    for (size_t i = 0; i < g.n; i++) {
        if (strcmp(g.rec[i].dossier_id, "F-D3") == 0) {
            d3 = true;
            assert_string_equal(g.rec[i].fees, "[" FEE_A "," FEE_B "]");
        }
        assert_string_not_equal(g.rec[i].dossier_id, "F-D4"); /* no snapshot: nothing to send */
    }
    assert_true(d3);
}

static void replay_restores_everything(void **state)
{
    fx_t *fx = *state;
    fill(fx);
    fill_fees(fx);
    reopen(fx);
    check_filled(fx);
    check_fees(fx);
    lt_dos_counts_t c = counts(fx);
    assert_int_equal(c.dossiers, 4);
    assert_int_equal(c.snapshots_dead, 1);
    assert_int_equal(c.due, 3); /* D1's snapshot and step 2, D3's snapshot for PAY-2 */
}

static void compaction_keeps_everything(void **state)
{
    fx_t *fx = *state;
    close_store(fx);
    fx->conf.store.compact_bytes = 4096;
    open_store(fx);
    fill(fx);
    fill_fees(fx);
    got_t g;
    char text[300];
    memset(text, 'x', sizeof(text) - 1);
    text[sizeof(text) - 1] = '\0';
    for (int i = 0; i < 40; i++) { /* past compact_bytes: the writer compacts */
        char id[16];
        snprintf(id, sizeof(id), "F%d", i);
        put(fx, id, 1, text, 3000 + i, &g);
    }
    reopen(fx);
    struct stat st;
    char path[300];
    snprintf(path, sizeof(path), "%s/snapshot", fx->dir);
    assert_int_equal(stat(path, &st), 0);
    check_filled(fx);
    check_fees(fx);
    lt_dos_counts_t c = counts(fx);
    assert_int_equal(c.dossiers, 44);
    assert_int_equal(c.snapshots_dead, 1);
    assert_int_equal(c.due, 43); /* D1's snapshot and step 2, D3's snapshot, and the forty */
}

static void append_raw(const fx_t *fx, const char *bytes)
{
    char path[300];
    snprintf(path, sizeof(path), "%s/journal.0", fx->dir);
    int fd = open(path, O_WRONLY | O_APPEND);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, bytes, strlen(bytes)), (ssize_t)strlen(bytes));
    close(fd);
}

static void a_torn_last_line_is_dropped(void **state)
{
    fx_t *fx = *state;
    fill(fx);
    close_store(fx);
    append_raw(fx, "{\"op\":\"snapshot\",\"id\":\"D3\",\"ver");
    open_store(fx);
    check_filled(fx);
    got_t g;
    assert_int_equal(view(fx, "D3", &g)->outcome, LT_DOS_NOT_FOUND);
    assert_int_equal(put(fx, "D3", 1, "x", 4000, &g), LT_DOS_OK); /* appends after the truncation */
    reopen(fx);
    assert_int_equal(view(fx, "D3", &g)->outcome, LT_DOS_OK);
}

static void a_damaged_line_refuses_to_start(void **state)
{
    fx_t *fx = *state;
    fill(fx);
    close_store(fx);
    append_raw(fx, "{\"op\":\"step\",\"id\":\"D1\"}\n{\"op\":\"snapshot\"}\n");
    lt_error_t err = {0};
    assert_null(lt_dos_store_open(&fx->conf, &err));
    assert_non_null(strstr(err.detail, "line 10"));
    assert_non_null(strstr(err.detail, "refusing to start"));
}

static void a_second_gateway_on_the_directory_is_refused(void **state)
{
    fx_t *fx = *state;
    lt_error_t err = {0};
    assert_null(lt_dos_store_open(&fx->conf, &err));
    assert_non_null(strstr(err.detail, "is in use by another gateway"));
}

int main(void)
{
    evthread_use_pthreads(); /* the writer thread wakes conns' loops */
    if (mkdtemp(root) == NULL)
        return 1;
    const struct CMUnitTest tests[] = {
        STORE_CASES(setup, teardown),
        cmocka_unit_test_setup_teardown(replay_restores_everything, setup, teardown),
        cmocka_unit_test_setup_teardown(compaction_keeps_everything, setup, teardown),
        cmocka_unit_test_setup_teardown(a_torn_last_line_is_dropped, setup, teardown),
        cmocka_unit_test_setup_teardown(a_damaged_line_refuses_to_start, setup, teardown),
        cmocka_unit_test_setup_teardown(a_second_gateway_on_the_directory_is_refused, setup, teardown),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    rmdir(root);
    return rc;
}
