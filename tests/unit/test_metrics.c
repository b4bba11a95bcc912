/* The metrics module: label escaping, histogram exposition, outcome classification, the bounded request table. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "lt_metrics.h"

static void test_label_values_are_escaped(void **state)
{
    lt_buf_t b = {0};
    lt_mbuf_label_value(&b, "plain-CN.example");
    assert_string_equal(b.data, "plain-CN.example");
    b.len = 0;
    lt_mbuf_label_value(&b, "a\"quote\\back\nline");
    assert_string_equal(b.data, "a\\\"quote\\\\back\\nline");
    assert_int_equal(b.len, strlen(b.data));
    lt_buf_free(&b);
}

static void test_a_hostile_client_cn_stays_one_valid_sample(void **state)
{
    lt_metrics_reset();
    lt_metrics_request("/v1/x", 200, "evil\"} 1\nfake_metric 2\\", 0.001);
    lt_buf_t b = {0};
    lt_metrics_render_requests(&b);
    assert_non_null(strstr(b.data, "lienthong_http_requests_total{route=\"/v1/x\",status=\"200\",client=\"evil\\\"} "
                                   "1\\nfake_metric 2\\\\\"} 1\n"));
    assert_null(strstr(b.data, "\nfake_metric"));
    lt_buf_free(&b);
}

static void test_histogram_buckets_are_cumulative(void **state)
{
    lt_histogram_t h;
    memset(&h, 0, sizeof(h));
    lt_histogram_observe(&h, 0.001);
    lt_histogram_observe(&h, 0.3);
    lt_histogram_observe(&h, 99);
    lt_buf_t b = {0};
    lt_mbuf_histogram(&b, "m_seconds", "upstream=\"u\"", &h);
    assert_non_null(strstr(b.data, "m_seconds_bucket{upstream=\"u\",le=\"0.005\"} 1\n"));
    assert_non_null(strstr(b.data, "m_seconds_bucket{upstream=\"u\",le=\"0.25\"} 1\n"));
    assert_non_null(strstr(b.data, "m_seconds_bucket{upstream=\"u\",le=\"0.5\"} 2\n"));
    assert_non_null(strstr(b.data, "m_seconds_bucket{upstream=\"u\",le=\"10\"} 2\n"));
    assert_non_null(strstr(b.data, "m_seconds_bucket{upstream=\"u\",le=\"+Inf\"} 3\n"));
    assert_non_null(strstr(b.data, "m_seconds_sum{upstream=\"u\"} 99.301"));
    assert_non_null(strstr(b.data, "m_seconds_count{upstream=\"u\"} 3\n"));
    lt_buf_free(&b);
    lt_mbuf_histogram(&b, "n_seconds", "", &h);
    assert_non_null(strstr(b.data, "n_seconds_bucket{le=\"+Inf\"} 3\n"));
    assert_non_null(strstr(b.data, "n_seconds_count 3\n"));
    lt_buf_free(&b);
}

static void test_the_request_table_is_bounded(void **state)
{
    lt_metrics_reset();
    char client[32];
    for (int i = 0; i < LT_METRICS_MAX_SERIES + 100; i++) {
        snprintf(client, sizeof(client), "client-%d", i);
        lt_metrics_request("/v1/x", 200, client, 0.01);
    }
    lt_metrics_request("/v1/x", 200, "client-0", 0.01); /* an existing series still counts */
    lt_buf_t b = {0};
    lt_metrics_render_requests(&b);
    assert_non_null(strstr(b.data, "{route=\"/v1/x\",status=\"200\",client=\"client-0\"} 2\n"));
    assert_non_null(strstr(b.data, "{route=\"other\",status=\"200\",client=\"other\"} 100\n"));
    assert_null(strstr(b.data, "client=\"client-600\""));
    int lines = 0;
    for (const char *p = b.data; (p = strstr(p, "lienthong_http_requests_total{")) != NULL; p++)
        lines++;
    assert_int_equal(lines, LT_METRICS_MAX_SERIES + 1);
    lt_buf_free(&b);
    /* Over-long labels are cut, not grown. */
    lt_metrics_reset();
    char longname[200];
    memset(longname, 'a', sizeof(longname) - 1);
    longname[sizeof(longname) - 1] = '\0';
    lt_metrics_request(longname, 200, NULL, 0.01);
    lt_metrics_render_requests(&b);
    char expect[LT_METRICS_LABEL_MAX + 40];
    snprintf(expect, sizeof(expect), "{route=\"%.*s\",status=\"200\",client=\"-\"} 1\n", LT_METRICS_LABEL_MAX,
             longname);
    assert_non_null(strstr(b.data, expect));
    lt_buf_free(&b);
    /* ... and never inside a UTF-8 sequence: 63 ASCII bytes then a 2-byte letter keeps 63 bytes. */
    lt_metrics_reset();
    char utf[80];
    memset(utf, 'b', LT_METRICS_LABEL_MAX - 1);
    strcpy(utf + LT_METRICS_LABEL_MAX - 1, "\xc4\x90xyz");
    lt_metrics_request("/v1/y", 200, utf, 0.01);
    lt_metrics_render_requests(&b);
    snprintf(expect, sizeof(expect), "client=\"%.*s\"} 1\n", LT_METRICS_LABEL_MAX - 1, utf);
    assert_non_null(strstr(b.data, expect));
    lt_buf_free(&b);
}

static lt_outcome_t classify(lt_error_kind_t kind, const char *code, long status)
{
    lt_error_t err;
    lt_error_set(&err, kind, code, "x");
    return lt_outcome_classify(&err, status);
}

static void test_outcomes_are_classified(void **state)
{
    assert_int_equal(lt_outcome_classify(NULL, 200), LT_OUTCOME_OK);
    assert_int_equal(classify(LT_ERR_UPSTREAM_TIMEOUT, "timeout", 0), LT_OUTCOME_TIMEOUT);
    assert_int_equal(classify(LT_ERR_UPSTREAM_UNAVAILABLE, "connect", 0), LT_OUTCOME_CONNECT);
    assert_int_equal(classify(LT_ERR_UPSTREAM_BAD, "reset", 0), LT_OUTCOME_CONNECT);
    assert_int_equal(classify(LT_ERR_UPSTREAM_BAD, "tls", 0), LT_OUTCOME_TLS);
    assert_int_equal(classify(LT_ERR_UPSTREAM_BAD, "truncated", 0), LT_OUTCOME_BAD_RESPONSE);
    assert_int_equal(classify(LT_ERR_NOT_FOUND, "DC-404", 200), LT_OUTCOME_HTTP_4XX);
    assert_int_equal(classify(LT_ERR_BAD_REQUEST, "DC-400", 500), LT_OUTCOME_HTTP_4XX);
    assert_int_equal(classify(LT_ERR_UPSTREAM_UNAVAILABLE, "upstream_http_503", 503), LT_OUTCOME_HTTP_5XX);
    assert_int_equal(classify(LT_ERR_UPSTREAM_TIMEOUT, "upstream_http_504", 504), LT_OUTCOME_HTTP_5XX);
    assert_int_equal(classify(LT_ERR_UPSTREAM_BAD, "upstream_http_status", 418), LT_OUTCOME_HTTP_4XX);
    assert_int_equal(classify(LT_ERR_UPSTREAM_BAD, "bad_response", 200), LT_OUTCOME_BAD_RESPONSE);
    assert_int_equal(classify(LT_ERR_UPSTREAM_BAD, "DC-500", 500), LT_OUTCOME_FAULT);
    assert_int_equal(classify(LT_ERR_UPSTREAM_UNAVAILABLE, "xroad_server_fault", 500), LT_OUTCOME_FAULT);
    assert_string_equal(lt_outcome_name(LT_OUTCOME_BAD_RESPONSE), "bad_response");
    assert_string_equal(lt_outcome_name(LT_OUTCOME_HTTP_4XX), "http_4xx");
}

/* Bounds 0.005 0.01 0.025 0.05 0.1 ...: the same arithmetic as Prometheus' histogram_quantile(). */
static void test_quantiles_interpolate_inside_their_bucket(void **state)
{
    uint64_t b[LT_METRICS_NBUCKETS + 1] = {0};
    assert_true(lt_histogram_quantile(b, 0.5) < 0); /* nothing observed */
    b[0] = 10;                                      /* ten in (0, 5 ms] */
    assert_float_equal(lt_histogram_quantile(b, 0.5), 0.0025, 1e-9);
    b[4] = 10; /* ten more in (50 ms, 100 ms] */
    assert_float_equal(lt_histogram_quantile(b, 0.5), 0.005, 1e-9);
    assert_float_equal(lt_histogram_quantile(b, 0.95), 0.05 + 0.05 * 0.9, 1e-9);
    memset(b, 0, sizeof(b));
    b[LT_METRICS_NBUCKETS] = 3; /* only beyond the largest bound: that bound is all we can say */
    assert_float_equal(lt_histogram_quantile(b, 0.99), 10.0, 1e-9);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_label_values_are_escaped),
        cmocka_unit_test(test_a_hostile_client_cn_stays_one_valid_sample),
        cmocka_unit_test(test_histogram_buckets_are_cumulative),
        cmocka_unit_test(test_the_request_table_is_bounded),
        cmocka_unit_test(test_outcomes_are_classified),
        cmocka_unit_test(test_quantiles_interpolate_inside_their_bucket),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
