/* The strict request-head check (gateway/http/lt_http_head.c): where a head ends, what passes, what is refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "lt_http_head.h"

static const lt_http_head_limits_t LIMITS = {.max_request_line = 64, .max_headers = 4, .max_head_bytes = 256};

static lt_head_verdict_t check(const char *head, lt_http_head_t *out)
{
    size_t scanned = 0, len = strlen(head);
    size_t end = lt_http_head_end(head, len, &scanned);
    return lt_http_head_check(head, len, end, &LIMITS, out);
}

/* A head arriving one byte at a time is found where it ends, and nowhere before. */
static void the_end_is_found_byte_by_byte(void **state)
{
    const char *head = "GET / HTTP/1.1\r\nHost: a\r\n\r\nBODY";
    size_t scanned = 0, end = 0, n;
    for (n = 1; n <= strlen(head) && end == 0; n++)
        end = lt_http_head_end(head, n, &scanned);
    assert_int_equal(end, strlen("GET / HTTP/1.1\r\nHost: a\r\n\r\n"));
    assert_int_equal(n - 1, end);
}

static void a_plain_head_passes_with_its_length_and_request_id(void **state)
{
    lt_http_head_t h;
    assert_int_equal(check("POST /v1/x HTTP/1.1\r\nHost: a\r\nContent-Length:  12 \r\nX-Request-Id: r-1\r\n\r\n", &h),
                     LT_HEAD_OK);
    assert_int_equal(h.content_length, 12);
    assert_int_equal(h.request_id_len, 3);
    assert_memory_equal(h.request_id, "r-1", 3);
}

static void expect_refused(const char *head, int status, const char *code)
{
    lt_http_head_t h;
    assert_int_equal(check(head, &h), LT_HEAD_BAD);
    assert_int_equal(h.status, status);
    assert_string_equal(h.code, code);
}

static void framing_ambiguities_are_refused(void **state)
{
    /* Even two equal Content-Lengths: RFC 9112 lets a recipient merge them, a front proxy may not. */
    expect_refused("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\ncontent-length: 5\r\n\r\n", 400,
                   "duplicate_content_length");
    expect_refused("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 5\r\n\r\n", 400, "invalid_content_length");
    expect_refused("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n", 400, "invalid_content_length");
    expect_refused("POST / HTTP/1.1\r\nHost: a\r\nContent-Length:\r\n\r\n", 400, "invalid_content_length");
    expect_refused("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1234567890123456\r\n\r\n", 400,
                   "invalid_content_length");
    expect_refused("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n", 400,
                   "transfer_encoding_with_content_length");
    expect_refused("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n", 411, "length_required");
    expect_refused("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400, "duplicate_host");
}

static void host_is_required_on_http11_only(void **state)
{
    lt_http_head_t h;
    expect_refused("GET / HTTP/1.1\r\nX: y\r\n\r\n", 400, "missing_host");
    assert_int_equal(check("GET / HTTP/1.0\r\n\r\n", &h), LT_HEAD_OK);
}

static void malformed_lines_are_refused(void **state)
{
    expect_refused("GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n b\r\n\r\n", 400, "obsolete_line_folding");
    expect_refused("GET / HTTP/1.1\r\nHost : a\r\n\r\n", 400, "bad_header_name");
    expect_refused("GET / HTTP/1.1\r\nHost: a\r\nX\x7fY: a\r\n\r\n", 400, "bad_header_name");
    expect_refused("GET / HTTP/1.1\r\nHost: a\r\nX: a\rb\r\n\r\n", 400, "bad_header_value");
    expect_refused("GET / HTTP/1.1\r\nHost: a\nX: a\r\n\r\n", 400, "bare_line_feed");
    expect_refused("GET  / HTTP/1.1\r\nHost: a\r\n\r\n", 400, "bad_request_line");
    expect_refused("GET / HTTP/2.0\r\nHost: a\r\n\r\n", 400, "bad_request_line");
    expect_refused("\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", 400, "bad_request_line");
}

static void a_nul_in_a_value_is_refused(void **state)
{
    const char head[] = "GET / HTTP/1.1\r\nHost: a\r\nX-Purpose: a\0b\r\n\r\n";
    size_t scanned = 0, len = sizeof(head) - 1;
    lt_http_head_t h;
    size_t end = lt_http_head_end(head, len, &scanned);
    assert_int_equal(lt_http_head_check(head, len, end, &LIMITS, &h), LT_HEAD_BAD);
    assert_string_equal(h.code, "bad_header_value");
}

static void limits_apply_before_the_head_is_complete(void **state)
{
    char line[200];
    memset(line, 'a', sizeof(line));
    lt_http_head_t h;
    /* a request line past its limit, no CRLF yet */
    assert_int_equal(lt_http_head_check(line, sizeof(line), 0, &LIMITS, &h), LT_HEAD_BAD);
    assert_int_equal(h.status, 414);
    expect_refused("GET / HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n\r\n", 431, "too_many_headers");
    char big[400] = "GET / HTTP/1.1\r\nHost: a\r\nX: ";
    memset(big + strlen(big), 'v', 300);
    assert_int_equal(lt_http_head_check(big, strlen(big), 0, &LIMITS, &h), LT_HEAD_BAD);
    assert_int_equal(h.status, 431);
    assert_int_equal(lt_http_head_check("GET / HT", 8, 0, &LIMITS, &h), LT_HEAD_MORE);
}

/* A passed head cut in place: the request line's parts, and each field trimmed of the whitespace around it. */
static void a_passed_head_is_split_into_its_parts(void **state)
{
    char head[] = "POST /v1/x?y=1 HTTP/1.0\r\nHost: a\r\nX-Purpose:\t HS 1 \t\r\nEmpty:\r\n\r\n";
    size_t len = strlen(head);
    lt_http_head_t h;
    assert_int_equal(check(head, &h), LT_HEAD_OK);
    assert_int_equal(h.nfields, 3);
    lt_http_field_t fields[8];
    lt_http_head_parts_t parts;
    lt_http_head_split(head, len, fields, &parts);
    assert_string_equal(parts.method, "POST");
    assert_string_equal(parts.target, "/v1/x?y=1");
    assert_int_equal(parts.minor_version, 0);
    assert_int_equal(parts.nfields, 3);
    assert_string_equal(fields[0].name, "Host");
    assert_string_equal(fields[0].value, "a");
    assert_string_equal(fields[1].name, "X-Purpose");
    assert_string_equal(fields[1].value, "HS 1");
    assert_string_equal(fields[2].name, "Empty");
    assert_string_equal(fields[2].value, "");
}

/* Connection and Expect are lists: a token counts wherever it stands, in any case, and only as a whole word. */
static void a_list_names_a_token_as_a_whole_word(void **state)
{
    assert_true(lt_http_list_has("close", "close"));
    assert_true(lt_http_list_has("Keep-Alive, Upgrade", "keep-alive"));
    assert_true(lt_http_list_has("upgrade ,\tCLOSE ", "close"));
    assert_false(lt_http_list_has("closed", "close"));
    assert_false(lt_http_list_has("x-close, keep", "close"));
    assert_false(lt_http_list_has("", "close"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(the_end_is_found_byte_by_byte),
        cmocka_unit_test(a_plain_head_passes_with_its_length_and_request_id),
        cmocka_unit_test(framing_ambiguities_are_refused),
        cmocka_unit_test(host_is_required_on_http11_only),
        cmocka_unit_test(malformed_lines_are_refused),
        cmocka_unit_test(a_nul_in_a_value_is_refused),
        cmocka_unit_test(limits_apply_before_the_head_is_complete),
        cmocka_unit_test(a_passed_head_is_split_into_its_parts),
        cmocka_unit_test(a_list_names_a_token_as_a_whole_word),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
