/* The in-process store: LRU order, expiry, the byte budget under 10x its size, purge by tag, threads. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lt_cache_mem.h"

static void name_of(int i, unsigned char out[LT_CACHE_KEY_LEN])
{
    memset(out, 0, LT_CACHE_KEY_LEN);
    /* Spread like an HMAC would: every byte varies. */
    uint32_t x = (uint32_t)i * 2654435761u + 1;
    for (int k = 0; k < LT_CACHE_KEY_LEN; k++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        out[k] = (unsigned char)x;
    }
}

static int put(lt_cache_mem_t *m, int i, size_t len, int64_t expires, int64_t now)
{
    unsigned char name[LT_CACHE_KEY_LEN];
    unsigned char *v = malloc(len);
    memset(v, i & 0xff, len);
    name_of(i, name);
    int rc = lt_cache_mem_put(m, name, NULL, "population", v, len, expires, now);
    free(v);
    return rc;
}

static bool has(lt_cache_mem_t *m, int i, int64_t now)
{
    unsigned char name[LT_CACHE_KEY_LEN];
    size_t len;
    name_of(i, name);
    unsigned char *v = lt_cache_mem_get(m, name, now, &len);
    bool found = v != NULL && v[0] == (unsigned char)(i & 0xff);
    free(v);
    return found;
}

static void least_recently_used_goes_first(void **state)
{
    /* One shard that holds three 1000-byte entries and not four. */
    lt_cache_mem_t *m = lt_cache_mem_new(3600, 1);
    for (int i = 0; i < 3; i++)
        assert_int_equal(put(m, i, 1000, 1000, 0), 0);
    assert_true(has(m, 0, 1)); /* 0 is now the most recently used */
    assert_int_equal(put(m, 3, 1000, 1000, 1), 0);
    assert_true(has(m, 0, 2));
    assert_false(has(m, 1, 2));
    assert_true(has(m, 2, 2));
    assert_true(has(m, 3, 2));
    lt_cache_mem_free(m);
}

static void entries_expire(void **state)
{
    lt_cache_mem_t *m = lt_cache_mem_new(1 << 20, 4);
    put(m, 1, 100, 5000, 0);
    assert_true(has(m, 1, 4999));
    assert_false(has(m, 1, 5000));
    lt_cache_mem_stats_t s;
    lt_cache_mem_stats(m, &s);
    assert_int_equal(s.entries, 0);
    assert_int_equal(s.expirations, 1);
    lt_cache_mem_free(m);
}

static void stays_within_budget_after_ten_times_its_size(void **state)
{
    const size_t budget = 64 * 1024;
    lt_cache_mem_t *m = lt_cache_mem_new(budget, 4);
    lt_cache_mem_stats_t s = {0};
    for (int i = 0; s.inserted_bytes < 10 * budget; i++) {
        put(m, i, 200 + (size_t)(i * 37) % 1800, 1000000, i);
        lt_cache_mem_stats(m, &s);
        assert_true(s.bytes <= budget);
    }
    assert_true(s.entries > 10);
    assert_true(s.evictions > 0);
    assert_true(s.bytes > budget / 2); /* it was really used */
    lt_cache_mem_free(m);
}

static void a_value_larger_than_a_shard_is_refused(void **state)
{
    lt_cache_mem_t *m = lt_cache_mem_new(8192, 4);
    assert_int_equal(put(m, 1, 4000, 1000, 0), -1);
    assert_int_equal(put(m, 2, 1000, 1000, 0), 0);
    lt_cache_mem_free(m);
}

static void replacing_keeps_one_entry(void **state)
{
    lt_cache_mem_t *m = lt_cache_mem_new(1 << 20, 1);
    put(m, 7, 500, 1000, 0);
    lt_cache_mem_stats_t a, b;
    lt_cache_mem_stats(m, &a);
    put(m, 7, 500, 2000, 0);
    lt_cache_mem_stats(m, &b);
    assert_int_equal(a.entries, 1);
    assert_int_equal(b.entries, 1);
    assert_int_equal(a.bytes, b.bytes);
    assert_true(has(m, 7, 1500));
    lt_cache_mem_free(m);
}

static void purge_by_tag_and_system(void **state)
{
    lt_cache_mem_t *m = lt_cache_mem_new(1 << 20, 8);
    unsigned char tag[LT_CACHE_KEY_LEN], other[LT_CACHE_KEY_LEN], name[LT_CACHE_KEY_LEN];
    memset(tag, 0xaa, sizeof(tag));
    memset(other, 0xbb, sizeof(other));
    unsigned char v[10] = {0};
    for (int i = 0; i < 6; i++) {
        name_of(i, name);
        lt_cache_mem_put(m, name, i < 4 ? tag : other, i % 2 ? "tax" : "population", v, sizeof(v), 1000, 0);
    }
    assert_int_equal(lt_cache_mem_purge(m, tag, "tax"), 2);
    assert_int_equal(lt_cache_mem_purge(m, tag, NULL), 2);
    assert_int_equal(lt_cache_mem_purge(m, tag, NULL), 0);
    lt_cache_mem_stats_t s;
    lt_cache_mem_stats(m, &s);
    assert_int_equal(s.entries, 2);
    lt_cache_mem_free(m);
}

typedef struct {
    lt_cache_mem_t *m;
    int seed;
} worker_arg_t;

static void *hammer(void *p)
{
    worker_arg_t *a = p;
    unsigned int r = (unsigned int)a->seed;
    for (int i = 0; i < 20000; i++) {
        int k = (int)(rand_r(&r) % 512);
        if (rand_r(&r) % 3 == 0)
            put(a->m, k, 64 + (size_t)(rand_r(&r) % 900), 1000000, i);
        else
            has(a->m, k, i);
    }
    return NULL;
}

static void safe_across_threads(void **state)
{
    const size_t budget = 128 * 1024;
    lt_cache_mem_t *m = lt_cache_mem_new(budget, 8);
    pthread_t t[4];
    worker_arg_t args[4];
    for (int i = 0; i < 4; i++) {
        args[i] = (worker_arg_t){m, i + 1};
        pthread_create(&t[i], NULL, hammer, &args[i]);
    }
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    lt_cache_mem_stats_t s;
    lt_cache_mem_stats(m, &s);
    assert_true(s.bytes <= budget);
    assert_true(s.entries > 0);
    lt_cache_mem_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(least_recently_used_goes_first),
        cmocka_unit_test(entries_expire),
        cmocka_unit_test(stays_within_budget_after_ten_times_its_size),
        cmocka_unit_test(a_value_larger_than_a_shard_is_refused),
        cmocka_unit_test(replacing_keeps_one_entry),
        cmocka_unit_test(purge_by_tag_and_system),
        cmocka_unit_test(safe_across_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
