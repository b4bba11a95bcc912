/*
 * The province's own indicators (lt_dos_indicators.c): the facts a snapshot gives, the sums and rates, "overdue
 * now" against the time of reading, newest-wins across versions, and the label bounding (top N, "other", "none").
 * Every expected figure below is counted by hand from the dossiers the test writes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lt_date.h"
#include "lt_dos_indicators.h"

static const char *const channels[] = {"1", "2", NULL};
static const char *const payments[] = {"3", NULL};

static lt_dos_ind_conf_t conf(size_t top)
{
    return (lt_dos_ind_conf_t){
        .online_channel_codes = channels, .online_payment_codes = payments, .top_procedures = top, .top_units = top};
}

static time_t at(const char *iso)
{
    time_t t;
    assert_int_equal(lt_date_parse_iso8601(iso, &t), 0);
    return t;
}

#define NOW "2026-12-01T12:00:00+07:00"

static lt_dos_facts_t facts_of(const char *text)
{
    lt_dos_ind_conf_t c = conf(5);
    lt_dos_facts_t f;
    char *p, *u;
    assert_int_equal(lt_dos_facts_read(text, &c, &f, &p, &u), 0);
    free(p);
    free(u);
    return f;
}

static lt_dos_figures_t sum_of(const char *const *texts, time_t now)
{
    lt_dos_figures_t fig = {0};
    for (size_t i = 0; texts[i] != NULL; i++) {
        lt_dos_facts_t f = facts_of(texts[i]);
        lt_dos_figures_add(&fig, &f, now);
    }
    return fig;
}

/* Finished by due_at is on time, the same second included; a finish without a due date is out of the rate. */
static void on_time_counts_finished_dossiers_with_both_times(void **state)
{
    const char *const texts[] = {
        "{\"version\":1,\"due_at\":\"2026-11-20T17:00:00+07:00\",\"finished_at\":\"2026-11-19T10:00:00+07:00\"}",
        "{\"version\":1,\"due_at\":\"2026-11-20T17:00:00+07:00\",\"finished_at\":\"2026-11-20T17:00:00+07:00\"}",
        "{\"version\":1,\"due_at\":\"2026-11-20T17:00:00+07:00\",\"finished_at\":\"2026-11-20T17:00:01+07:00\"}",
        "{\"version\":1,\"finished_at\":\"2026-11-20T17:00:00+07:00\"}",
        "{\"version\":1,\"status\":\"result_delivered\",\"due_at\":\"2026-11-20T17:00:00+07:00\"}",
        "{\"version\":1,\"due_at\":\"2026-12-20T17:00:00+07:00\"}",
        NULL,
    };
    lt_dos_figures_t f = sum_of(texts, at(NOW));
    assert_int_equal(f.dossiers, 6);
    assert_int_equal(f.finished, 5); /* four with finished_at, one by its status */
    assert_int_equal(f.finished_with_due, 3);
    assert_int_equal(f.finished_on_time, 2);
    json_t *j = lt_dos_figures_json(&f);
    assert_true(json_number_value(json_object_get(j, "on_time_rate")) == 2.0 / 3.0);
    json_decref(j);
}

/* Overdue: not closed and due before the time of reading; the same dossiers read a week earlier are not. */
static void overdue_is_against_the_time_of_reading(void **state)
{
    const char *const texts[] = {
        "{\"version\":1,\"status\":\"processing\",\"due_at\":\"2026-11-28T17:00:00+07:00\"}",
        "{\"version\":1,\"due_at\":\"2026-11-25T17:00:00+07:00\"}",
        "{\"version\":1,\"status\":\"withdrawn\",\"due_at\":\"2026-11-25T17:00:00+07:00\"}",
        "{\"version\":1,\"status\":\"stopped\",\"due_at\":\"2026-11-25T17:00:00+07:00\"}",
        "{\"version\":1,\"status\":\"finished\",\"due_at\":\"2026-11-25T17:00:00+07:00\"}",
        "{\"version\":1,\"finished_at\":\"2026-11-29T08:00:00+07:00\",\"due_at\":\"2026-11-25T17:00:00+07:00\"}",
        "{\"version\":1,\"status\":\"processing\"}",
        "{\"version\":1,\"status\":\"processing\",\"due_at\":\"2026-12-05T17:00:00+07:00\"}",
        NULL,
    };
    assert_int_equal(sum_of(texts, at(NOW)).overdue, 2);
    assert_int_equal(sum_of(texts, at("2026-11-27T12:00:00+07:00")).overdue, 1);
    assert_int_equal(sum_of(texts, at("2026-11-20T12:00:00+07:00")).overdue, 0);
    assert_int_equal(sum_of(texts, at("2026-12-06T12:00:00+07:00")).overdue, 3);
}

/* Online: channel_code among the configured codes; paid online: a fee whose method is among its codes, over the
 * dossiers with fees. Without a denominator a rate is null, never 0. */
static void online_and_online_payment_rates(void **state)
{
    const char *const texts[] = {
        "{\"version\":1,\"channel_code\":\"1\",\"fees\":[{\"collection_method_code\":\"3\",\"amount_vnd\":1}]}",
        "{\"version\":1,\"channel_code\":\"2\",\"fees\":[{\"collection_method_code\":\"1\"},"
        "{\"collection_method_code\":\"3\"}]}",
        "{\"version\":1,\"channel_code\":\"0\",\"fees\":[{\"collection_method_code\":\"1\"}]}",
        "{\"version\":1,\"channel_code\":\"12\",\"fees\":[]}",
        "{\"version\":1}",
        NULL,
    };
    lt_dos_figures_t f = sum_of(texts, at(NOW));
    assert_int_equal(f.dossiers, 5);
    assert_int_equal(f.online, 2);
    assert_int_equal(f.with_fees, 3);
    assert_int_equal(f.paid_online, 2);
    json_t *j = lt_dos_figures_json(&f);
    assert_true(json_number_value(json_object_get(j, "online_rate")) == 2.0 / 5.0);
    assert_true(json_number_value(json_object_get(j, "online_payment_rate")) == 2.0 / 3.0);
    assert_true(json_is_null(json_object_get(j, "on_time_rate")));
    json_decref(j);
    lt_dos_figures_t none = {0};
    j = lt_dos_figures_json(&none);
    assert_true(json_is_null(json_object_get(j, "online_rate")));
    assert_true(json_is_null(json_object_get(j, "online_payment_rate")));
    json_decref(j);
}

static lt_dos_group_t group(const char *name, long long dossiers)
{
    return (lt_dos_group_t){.name = name, .figures = {.dossiers = dossiers, .online = dossiers / 2}};
}

/* The top groups by size keep their names (ties by name), the rest sum into "other", the nameless into "none". */
static void folding_bounds_the_labels(void **state)
{
    lt_dos_group_t in[] = {group("b", 5), group("a", 5),  group("c", 9), group("d", 1),
                           group("e", 2), group(NULL, 4), group("f", 3)};
    lt_dos_group_t out[5];
    size_t k = lt_dos_groups_fold(in, 7, 3, out);
    assert_int_equal(k, 5);
    assert_string_equal(out[0].name, "c");
    assert_string_equal(out[1].name, "a");
    assert_string_equal(out[2].name, "b");
    assert_string_equal(out[3].name, LT_DOS_IND_OTHER);
    assert_int_equal(out[3].figures.dossiers, 1 + 2 + 3);
    assert_int_equal(out[3].figures.online, 0 + 1 + 1);
    assert_string_equal(out[4].name, LT_DOS_IND_NONE);
    assert_int_equal(out[4].figures.dossiers, 4);
    long long sum = 0;
    for (size_t i = 0; i < k; i++)
        sum += out[i].figures.dossiers;
    assert_int_equal(sum, 5 + 5 + 9 + 1 + 2 + 4 + 3); /* folding loses no dossier */

    /* Fewer groups than the bound: no "other", no "none". */
    lt_dos_group_t few[] = {group("x", 1), group("y", 2)};
    lt_dos_group_t out2[4];
    assert_int_equal(lt_dos_groups_fold(few, 2, 2, out2), 2);
    assert_string_equal(out2[0].name, "y");
    assert_int_equal(lt_dos_groups_fold(few, 0, 2, out2), 0);
}

static const json_t *row_named(const json_t *list, const char *label, const char *name)
{
    size_t i;
    const json_t *row;
    json_array_foreach(list, i, row)
    {
        if (strcmp(json_string_value(json_object_get(row, label)), name) == 0)
            return row;
    }
    return NULL;
}

static long long count(const json_t *obj, const char *key)
{
    return (long long)json_integer_value(json_object_get(obj, key));
}

/* A dossier counts once, by its highest version: an older version arriving later (a scan after a PUT) changes
 * nothing; a newer one that moves it to another procedure moves it. */
static void the_table_keeps_the_newest_version(void **state)
{
    lt_dos_ind_conf_t c = conf(1);
    lt_dos_ind_t *ind = lt_dos_ind_new(&c);
    lt_dos_ind_update(ind, "D1", 2, "{\"version\":2,\"procedure_code\":\"P1\",\"processing_unit\":\"Xã A\"}");
    lt_dos_ind_update(ind, "D1", 1, "{\"version\":1,\"procedure_code\":\"P9\",\"channel_code\":\"1\"}");
    lt_dos_ind_update(ind, "D2", 1, "{\"version\":1,\"procedure_code\":\"P1\",\"channel_code\":\"1\"}");
    lt_dos_ind_update(ind, "D3", 1, "{\"version\":1,\"procedure_code\":\"P2\"}");
    lt_dos_ind_update(ind, "D3", 1, "not json");
    json_t *j = lt_dos_ind_json(ind, at(NOW));
    assert_false(json_is_true(json_object_get(j, "ready")));
    assert_int_equal(count(json_object_get(j, "total"), "dossiers"), 3);
    assert_int_equal(count(json_object_get(j, "total"), "online"), 1);
    const json_t *byp = json_object_get(j, "by_procedure");
    assert_int_equal(json_array_size(byp), 2); /* top 1, then "other"; every dossier has a procedure */
    assert_int_equal(count(row_named(byp, "procedure", "P1"), "dossiers"), 2);
    assert_int_equal(count(row_named(byp, "procedure", LT_DOS_IND_OTHER), "dossiers"), 1);
    assert_null(row_named(byp, "procedure", "P9"));
    const json_t *byu = json_object_get(j, "by_unit");
    assert_int_equal(count(row_named(byu, "unit", "Xã A"), "dossiers"), 1);
    assert_int_equal(count(row_named(byu, "unit", LT_DOS_IND_NONE), "dossiers"), 2);
    json_decref(j);

    /* D1 and D2 move to P2: P1 carries nobody any more and is gone from the list. */
    lt_dos_ind_update(ind, "D1", 3, "{\"version\":3,\"procedure_code\":\"P2\"}");
    lt_dos_ind_update(ind, "D2", 5, "{\"version\":5,\"procedure_code\":\"P2\"}");
    lt_dos_ind_set_ready(ind, true, NULL);
    j = lt_dos_ind_json(ind, at(NOW));
    assert_true(json_is_true(json_object_get(j, "ready")));
    byp = json_object_get(j, "by_procedure");
    assert_int_equal(json_array_size(byp), 1);
    assert_int_equal(count(row_named(byp, "procedure", "P2"), "dossiers"), 3);
    assert_int_equal(count(json_object_get(j, "total"), "online"), 0);
    assert_string_equal(json_string_value(json_array_get(json_object_get(j, "online_channel_codes"), 1)), "2");
    json_decref(j);
    lt_dos_ind_free(ind);
}

/* Fees the gateway collected count for their dossier whatever its snapshots say, once it has a snapshot. */
static void the_gateways_fees_count_with_the_snapshot(void **state)
{
    lt_dos_ind_conf_t c = conf(5);
    lt_dos_ind_t *ind = lt_dos_ind_new(&c);
    lt_dos_ind_note_fees(ind, "D1", "[{\"amount_vnd\":1,\"collection_method_code\":\"3\"}]");
    lt_dos_ind_note_fees(ind, "D2", "[{\"amount_vnd\":1,\"collection_method_code\":\"9\"}]");
    lt_dos_ind_note_fees(ind, "D3", "[]");
    lt_dos_ind_note_fees(ind, "D3", NULL);
    json_t *j = lt_dos_ind_json(ind, at(NOW));
    assert_int_equal(count(json_object_get(j, "total"), "dossiers"), 0); /* no snapshot yet: not counted */
    json_decref(j);
    lt_dos_ind_update(ind, "D1", 1, "{\"version\":1}");
    lt_dos_ind_update(ind, "D2", 1, "{\"version\":1}");
    lt_dos_ind_update(ind, "D3", 1, "{\"version\":1}");
    lt_dos_ind_update(ind, "D1", 2, "{\"version\":2}"); /* a newer snapshot without fees keeps the gateway's */
    j = lt_dos_ind_json(ind, at(NOW));
    const json_t *total = json_object_get(j, "total");
    assert_int_equal(count(total, "dossiers"), 3);
    assert_int_equal(count(total, "with_fees"), 2);
    assert_int_equal(count(total, "paid_online"), 1); /* "9" is not an online payment code */
    json_decref(j);
    lt_dos_ind_free(ind);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(on_time_counts_finished_dossiers_with_both_times),
        cmocka_unit_test(overdue_is_against_the_time_of_reading),
        cmocka_unit_test(online_and_online_payment_rates),
        cmocka_unit_test(folding_bounds_the_labels),
        cmocka_unit_test(the_table_keeps_the_newest_version),
        cmocka_unit_test(the_gateways_fees_count_with_the_snapshot),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
