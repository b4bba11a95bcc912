/* The audit trail's writer (gateway/net/lt_audit.c) on a real loop and a temporary directory: answers, rotation,
 * the chain across files and restarts, files 0600, and a file taken away. The chain is checked line by line here. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <event2/event.h>
#include <event2/thread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lt_audit.h"

typedef struct {
    char dir[256];
    lt_config_t config;
    struct event_base *base;
    int answered, accepted;
} fixture_t;

static int setup(void **state)
{
    fixture_t *fx = calloc(1, sizeof(*fx));
    snprintf(fx->dir, sizeof(fx->dir), "/tmp/lt-audit-unit-XXXXXX");
    assert_non_null(mkdtemp(fx->dir));
    char *trail = malloc(strlen(fx->dir) + 16);
    sprintf(trail, "%s/trail", fx->dir);
    fx->config.audit = (lt_audit_conf_t){.enabled = true,
                                         .dir = trail,
                                         .fsync = LT_AUDIT_FSYNC_ALWAYS,
                                         .fsync_interval_ms = 1000,
                                         .rotate_bytes = 4096,
                                         .queue_max = 1000,
                                         .instance = "unit",
                                         .unusual_subjects_per_hour = 0};
    fx->base = event_base_new();
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    fixture_t *fx = *state;
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", fx->dir);
    assert_int_equal(system(cmd), 0);
    free(fx->config.audit.dir);
    event_base_free(fx->base);
    free(fx);
    return 0;
}

static void on_done(void *arg, bool accepted)
{
    fixture_t *fx = arg;
    fx->answered++;
    fx->accepted += accepted;
}

static void submit_and_wait(fixture_t *fx, lt_audit_t *a, int n)
{
    lt_audit_loop_t *loop = lt_audit_loop_new(a, fx->base);
    fx->answered = fx->accepted = 0;
    for (int i = 0; i < n; i++) {
        char subject[32];
        snprintf(subject, sizeof(subject), "0010900%05d", i);
        lt_audit_record_t rec = {.request_id = "r",
                                 .client = "portal",
                                 .operation = "population.lookup",
                                 .subject = subject,
                                 .status = 200,
                                 .cache = "miss"};
        assert_int_equal(lt_audit_submit(loop, &rec, on_done, fx), 0);
        assert_int_equal(fx->answered, 0); /* never inside the call */
    }
    while (fx->answered < n)
        event_base_loop(fx->base, EVLOOP_ONCE);
    lt_audit_loop_free(loop);
}

/* Every line of every trail file, in name order, chained; returns the number of records and files. */
static int check_chain(const char *dir, int *files)
{
    struct dirent **names;
    int n = scandir(dir, &names, NULL, alphasort), records = 0;
    char prev[LT_AUDIT_HASH_HEX + 1];
    memcpy(prev, lt_audit_genesis, sizeof(prev));
    *files = 0;
    for (int i = 0; i < n; i++) {
        const char *name = names[i]->d_name;
        size_t len = strlen(name);
        char path[512];
        snprintf(path, sizeof(path), "%s/%s", dir, name);
        struct stat st;
        if (name[0] != '.') {
            assert_int_equal(stat(path, &st), 0);
            assert_int_equal(st.st_mode & 0777, 0600);
        }
        if (len > 6 && strcmp(name + len - 6, ".jsonl") == 0) {
            (*files)++;
            FILE *f = fopen(path, "r");
            char *line = NULL;
            size_t cap = 0;
            ssize_t got;
            while ((got = getline(&line, &cap, f)) > 0) {
                char p[LT_AUDIT_HASH_HEX + 1];
                uint64_t seq;
                assert_int_equal(line[got - 1], '\n');
                assert_int_equal(lt_audit_line_chain(line, (size_t)got - 1, p, &seq), 0);
                assert_string_equal(p, prev);
                assert_int_equal(seq, (uint64_t)++records);
                lt_audit_hash(line, (size_t)got - 1, prev);
            }
            free(line);
            fclose(f);
        }
        free(names[i]);
    }
    free(names);
    return records;
}

static void records_are_chained_across_rotation_and_restart(void **state)
{
    fixture_t *fx = *state;
    lt_error_t err = {0};
    lt_audit_t *a = lt_audit_new(&fx->config, &err);
    assert_non_null(a);
    submit_and_wait(fx, a, 30);
    assert_int_equal(fx->accepted, 30);
    lt_audit_free(a);
    int files;
    assert_int_equal(check_chain(fx->config.audit.dir, &files), 30);
    assert_true(files >= 3); /* 30 records of some 300 bytes in 4 KiB files */
    a = lt_audit_new(&fx->config, &err);
    assert_non_null(a);
    submit_and_wait(fx, a, 2);
    lt_audit_free(a);
    int more;
    assert_int_equal(check_chain(fx->config.audit.dir, &more), 32);
    assert_int_equal(more, files + 1);
}

static void a_second_gateway_is_refused_the_directory(void **state)
{
    fixture_t *fx = *state;
    lt_error_t err = {0};
    lt_audit_t *a = lt_audit_new(&fx->config, &err);
    assert_non_null(a);
    assert_null(lt_audit_new(&fx->config, &err));
    assert_non_null(strstr(err.detail, "in use by another gateway"));
    lt_audit_free(a);
}

static void a_file_taken_away_makes_the_trail_unavailable(void **state)
{
    fixture_t *fx = *state;
    lt_error_t err = {0};
    lt_audit_t *a = lt_audit_new(&fx->config, &err);
    assert_non_null(a);
    submit_and_wait(fx, a, 1);
    assert_int_equal(fx->accepted, 1);
    /* The directory becomes a file: the current trail file is no longer at its name, and no new one can be made. */
    char moved[300];
    snprintf(moved, sizeof(moved), "%s.moved", fx->config.audit.dir);
    assert_int_equal(rename(fx->config.audit.dir, moved), 0);
    FILE *f = fopen(fx->config.audit.dir, "w");
    fclose(f);
    submit_and_wait(fx, a, 1);
    assert_int_equal(fx->accepted, 0);
    assert_false(lt_audit_available(a));
    lt_audit_loop_t *loop = lt_audit_loop_new(a, fx->base);
    lt_audit_record_t rec = {.request_id = "r", .status = 200};
    assert_int_equal(lt_audit_submit(loop, &rec, on_done, fx), -1); /* refused at once */
    lt_audit_loop_free(loop);
    json_t *st = lt_audit_status(a);
    assert_string_equal(json_string_value(json_object_get(st, "color")), "red");
    json_decref(st);
    lt_audit_free(a);
    unlink(fx->config.audit.dir);
    assert_int_equal(rename(moved, fx->config.audit.dir), 0);
    int files;
    assert_int_equal(check_chain(fx->config.audit.dir, &files), 1);
}

int main(void)
{
    evthread_use_pthreads();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(records_are_chained_across_rotation_and_restart, setup, teardown),
        cmocka_unit_test_setup_teardown(a_second_gateway_is_refused_the_directory, setup, teardown),
        cmocka_unit_test_setup_teardown(a_file_taken_away_makes_the_trail_unavailable, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
