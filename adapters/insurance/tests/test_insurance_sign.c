/*
 * The signing primitives against vectors computed outside this code.
 *
 * Every expected canonical string below is written out by hand from
 * icd/social-insurance.md, and every expected signature was computed with the
 * key "0123456789abcdef" x 4 (the 64 characters of TEST_SECRET, as text) by
 * both Python and OpenSSL's command line, which agreed:
 *
 *   python3: base64.b64encode(hmac.new(key, canonical.encode(), hashlib.sha256).digest())
 *            with the query written as "&".join(n + "=" + urllib.parse.quote(v, safe="-._~")
 *            for n, v in sorted(params))
 *   shell:   printf '%s' "$canonical" | openssl dgst -sha256 -hmac "$KEY" -binary | openssl base64 -A
 *   body:    printf '{"maSo":"0123456789"}' | openssl dgst -sha256
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdbool.h>
#include <string.h>

#include "fixture.h"
#include "signing.h"

#define EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

static const unsigned char KEY[] = TEST_SECRET;
#define KEY_LEN (sizeof(KEY) - 1)

static int setup(void **state)
{
    *state = lt_arena_new();
    return 0;
}

static int teardown(void **state)
{
    lt_arena_destroy(*state);
    return 0;
}

/* The plain lookup the adapter sends. */
static void vector_plain_lookup(void **state)
{
    lt_arena_t *a = *state;
    const lt_insurance_param_t params[] = {{"maSo", "0123456789"}};
    const char *c = lt_insurance_canonical(a, "GET", "/api/v1/nguoi-tham-gia", params, 1, "1767225600",
                                           "AbCdEfGhIjKlMnOpQrStUvWxYz012345", NULL, 0);
    assert_string_equal(c, "GET\n/api/v1/nguoi-tham-gia\nmaSo=0123456789\n1767225600\n"
                           "AbCdEfGhIjKlMnOpQrStUvWxYz012345\n" EMPTY_SHA256);
    assert_string_equal(lt_insurance_sign(a, KEY, KEY_LEN, c), "VpKawvB8LsE1eZ0VwNc2kqy2xYGR32w1G50sFZw5GEk=");
}

/*
 * Parameters given out of order, a value that needs encoding (Vietnamese
 * letters, space, & / + =) next to the unreserved - . _ ~, and an empty value.
 */
static void vector_sorted_and_encoded(void **state)
{
    lt_arena_t *a = *state;
    const lt_insurance_param_t params[] = {
        {"maSo", "001095012345"},
        {"ghiChu", "Nguy\xe1\xbb\x85n V\xc4\x83n An & co/1+1=2~x.y_z-"}, /* "Nguyễn Văn An & co/1+1=2~x.y_z-" */
        {"kieu", ""},
    };
    const char *c = lt_insurance_canonical(a, "GET", "/api/v1/nguoi-tham-gia", params, 3, "1767225601",
                                           "ZYXWVUTSRQPONMLKJIHGFEDCBA9876543210zyxwvu", NULL, 0);
    assert_string_equal(c,
                        "GET\n/api/v1/nguoi-tham-gia\n"
                        "ghiChu=Nguy%E1%BB%85n%20V%C4%83n%20An%20%26%20co%2F1%2B1%3D2~x.y_z-&kieu=&maSo=001095012345\n"
                        "1767225601\nZYXWVUTSRQPONMLKJIHGFEDCBA9876543210zyxwvu\n" EMPTY_SHA256);
    assert_string_equal(lt_insurance_sign(a, KEY, KEY_LEN, c), "ojmHAH6kJvlgNCgmApcH1yezePtvC4ZDdGtRtH/XxVs=");
    /* The query that is sent is exactly part 3. */
    assert_string_equal(lt_insurance_query(a, params, 3),
                        "ghiChu=Nguy%E1%BB%85n%20V%C4%83n%20An%20%26%20co%2F1%2B1%3D2~x.y_z-&kieu=&maSo=001095012345");
}

/* A body, no query (an empty third line) and a lower-case method. */
static void vector_body_no_query(void **state)
{
    lt_arena_t *a = *state;
    const char *body = "{\"maSo\":\"0123456789\"}";
    const char *c =
        lt_insurance_canonical(a, "post", "/api/v1/x", NULL, 0, "1767225602", "abcdefghijklmnop", body, strlen(body));
    assert_string_equal(c, "POST\n/api/v1/x\n\n1767225602\nabcdefghijklmnop\n"
                           "891821c225155adde8a836c7af9909130ba4ea811770fea3e4aa9ca5d30ea73b");
    assert_string_equal(lt_insurance_sign(a, KEY, KEY_LEN, c), "ul4g+GuXuxvRVmPUqKieI5nyG5otE08w3mwsYRgx7+M=");
}

/* One key byte off, one canonical byte off: a different signature (the vectors are not vacuous). */
static void signature_depends_on_key_and_text(void **state)
{
    lt_arena_t *a = *state;
    unsigned char other[sizeof(KEY)];
    memcpy(other, KEY, sizeof(KEY));
    other[0] = '1';
    const char *c = "GET\n/api/v1/nguoi-tham-gia\nmaSo=0123456789\n1767225600\n"
                    "AbCdEfGhIjKlMnOpQrStUvWxYz012345\n" EMPTY_SHA256;
    assert_string_not_equal(lt_insurance_sign(a, other, KEY_LEN, c), "VpKawvB8LsE1eZ0VwNc2kqy2xYGR32w1G50sFZw5GEk=");
    const char *c2 = "GET\n/api/v1/nguoi-tham-gia\nmaSo=0123456789\n1767225601\n"
                     "AbCdEfGhIjKlMnOpQrStUvWxYz012345\n" EMPTY_SHA256;
    assert_string_not_equal(lt_insurance_sign(a, KEY, KEY_LEN, c2), "VpKawvB8LsE1eZ0VwNc2kqy2xYGR32w1G50sFZw5GEk=");
}

static void percent_encoding(void **state)
{
    lt_arena_t *a = *state;
    assert_string_equal(lt_insurance_percent_encode(a, "AZaz09-._~"), "AZaz09-._~");
    assert_string_equal(lt_insurance_percent_encode(a, " "), "%20"); /* never '+' */
    assert_string_equal(lt_insurance_percent_encode(a, "+%?#[]@!$'()*,;:="), "%2B%25%3F%23%5B%5D%40%21%24%27%28%29%2A"
                                                                             "%2C%3B%3A%3D");
    assert_string_equal(lt_insurance_percent_encode(a, "\xc4\x91"), "%C4%91"); /* "đ": upper-case hex per byte */
    assert_string_equal(lt_insurance_percent_encode(a, ""), "");
}

static void sha256_hex(void **state)
{
    lt_arena_t *a = *state;
    assert_string_equal(lt_insurance_sha256_hex(a, NULL, 0), EMPTY_SHA256);
    assert_string_equal(lt_insurance_sha256_hex(a, "", 0), EMPTY_SHA256);
}

static bool is_alnum_ascii(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* 32 characters of [A-Za-z0-9], different every time, and over many draws every character shows up. */
static void nonce_format_and_freshness(void **state)
{
    char seen[256] = {0};
    char prev[LT_INSURANCE_NONCE_LEN + 1] = "";
    for (int i = 0; i < 200; i++) {
        char n[LT_INSURANCE_NONCE_LEN + 1];
        lt_error_t err;
        assert_int_equal(lt_insurance_nonce(n, &err), 0);
        assert_int_equal(strlen(n), LT_INSURANCE_NONCE_LEN);
        for (size_t k = 0; k < LT_INSURANCE_NONCE_LEN; k++) {
            assert_true(is_alnum_ascii(n[k]));
            seen[(unsigned char)n[k]] = 1;
        }
        assert_string_not_equal(n, prev);
        memcpy(prev, n, sizeof(n));
    }
    int distinct = 0;
    for (int c = 0; c < 256; c++)
        distinct += seen[c];
    assert_int_equal(distinct, 62); /* 6400 draws: missing one of 62 has odds below 1e-40 */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(vector_plain_lookup, setup, teardown),
        cmocka_unit_test_setup_teardown(vector_sorted_and_encoded, setup, teardown),
        cmocka_unit_test_setup_teardown(vector_body_no_query, setup, teardown),
        cmocka_unit_test_setup_teardown(signature_depends_on_key_and_text, setup, teardown),
        cmocka_unit_test_setup_teardown(percent_encoding, setup, teardown),
        cmocka_unit_test_setup_teardown(sha256_hex, setup, teardown),
        cmocka_unit_test(nonce_format_and_freshness),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
