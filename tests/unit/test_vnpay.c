/*
 * The payment gateway's encoding rules (gateway/pay/lt_vnpay.c), held to
 * icd/payment.md §1. Expected strings are written out by hand from the ICD's
 * rules; the known-answer vectors are those of tests/integration/test_vnpay_vectors.py, with their expected
 * signatures computed by the openssl command line over the hand-written hash data.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lt_pay_ipn.h"
#include "lt_vnpay.h"

static void check_encoding(const char *in, const char *expected)
{
    char *out = lt_vnp_encode(in);
    assert_string_equal(out, expected);
    free(out);
}

static void encoding_keeps_only_the_icd_set(void **state)
{
    (void)state;
    check_encoding("AZaz09-_.", "AZaz09-_.");
    check_encoding("a b", "a+b");
    /* Characters that common URL encoders leave alone but the ICD does not. */
    check_encoding("~*/:?", "%7E%2A%2F%3A%3F");
    check_encoding("https://x.vn/r?a=1&b=2", "https%3A%2F%2Fx.vn%2Fr%3Fa%3D1%26b%3D2");
    /* UTF-8 bytes, upper-case hex: "Lệ" is 4C E1 BB 87. */
    check_encoding("L\xE1\xBB\x87", "L%E1%BB%87");
    check_encoding("+%", "%2B%25");
}

static void hash_data_sorts_skips_empty_and_the_hash(void **state)
{
    (void)state;
    lt_vnp_params_t ps = {0};
    lt_vnp_params_add(&ps, "vnp_TxnRef", "T 1");
    lt_vnp_params_add(&ps, "vnp_Amount", "15000000");
    lt_vnp_params_add(&ps, "vnp_BankCode", "");
    lt_vnp_params_add(&ps, "vnp_SecureHash", "abc");
    lt_vnp_params_add(&ps, "vnp_SecureHashType", "HmacSHA512");
    lt_vnp_params_add(&ps, "other", "x");
    lt_vnp_params_add(&ps, "vnp_Command", "pay");
    char *data = lt_vnp_hash_data(&ps);
    assert_string_equal(data, "vnp_Amount=15000000&vnp_Command=pay&vnp_TxnRef=T+1");
    free(data);
    lt_vnp_params_free(&ps);
}

static void byte_order_puts_capitals_first(void **state)
{
    (void)state;
    lt_vnp_params_t ps = {0};
    lt_vnp_params_add(&ps, "vnp_amount", "2");
    lt_vnp_params_add(&ps, "vnp_Amount", "1");
    char *data = lt_vnp_hash_data(&ps);
    assert_string_equal(data, "vnp_Amount=1&vnp_amount=2");
    free(data);
    lt_vnp_params_free(&ps);
}

static void signed_query_verifies_and_tampering_does_not(void **state)
{
    (void)state;
    const unsigned char secret[] = "SECRETKEY";
    lt_vnp_params_t ps = {0};
    lt_vnp_params_add(&ps, "vnp_Amount", "15000000");
    lt_vnp_params_add(&ps, "vnp_OrderInfo", "Thanh toan le phi");
    char *q = lt_vnp_signed_query(&ps, secret, 9);
    lt_vnp_params_free(&ps);

    lt_vnp_params_t back = {0};
    assert_int_equal(lt_vnp_parse_query(q, &back), 0);
    assert_string_equal(lt_vnp_params_get(&back, "vnp_OrderInfo"), "Thanh toan le phi");
    assert_true(lt_vnp_verify(&back, secret, 9));
    assert_false(lt_vnp_verify(&back, (const unsigned char *)"OTHER", 5));
    lt_vnp_params_free(&back);

    /* One amount digit changed. */
    char *tampered = strdup(q);
    tampered[strlen("vnp_Amount=1")] = '9';
    assert_int_equal(lt_vnp_parse_query(tampered, &back), 0);
    assert_false(lt_vnp_verify(&back, secret, 9));
    lt_vnp_params_free(&back);
    free(tampered);
    free(q);
}

static void hash_comparison_ignores_case_only(void **state)
{
    (void)state;
    char a[LT_VNP_HASH_HEX + 1], b[LT_VNP_HASH_HEX + 1];
    memset(a, 'a', LT_VNP_HASH_HEX);
    memset(b, 'A', LT_VNP_HASH_HEX);
    a[LT_VNP_HASH_HEX] = b[LT_VNP_HASH_HEX] = '\0';
    assert_true(lt_vnp_hash_equal(a, b));
    b[5] = 'B';
    assert_false(lt_vnp_hash_equal(a, b));
    assert_false(lt_vnp_hash_equal(a, "aaaa"));
}

static void parse_refuses_what_cannot_be_verified(void **state)
{
    (void)state;
    lt_vnp_params_t ps = {0};
    assert_int_equal(lt_vnp_parse_query("vnp_A=1&vnp_A=2", &ps), -1); /* which one was signed? */
    assert_int_equal(lt_vnp_parse_query("vnp_A=%4", &ps), -1);
    assert_int_equal(lt_vnp_parse_query("vnp_A=%zz", &ps), -1);
    assert_int_equal(lt_vnp_parse_query("vnp_A=a%00b", &ps), -1);
    assert_int_equal(lt_vnp_parse_query("vnp_A=a+b%2B&&vnp_B=", &ps), 0);
    assert_string_equal(lt_vnp_params_get(&ps, "vnp_A"), "a b+");
    assert_string_equal(lt_vnp_params_get(&ps, "vnp_B"), "");
    lt_vnp_params_free(&ps);
}

/* ---- known-answer vectors: the same as tests/integration/test_vnpay_vectors.py ------------------------------ */

#define VECTOR_KEY "VECTORKEY0123456789abcdefABCDEF"

/* The expectation is the openssl command line's HMAC over the hand-written hash data, not the code under test. */
static void openssl_hmac_sha512(const char *data, char out[LT_VNP_HASH_HEX + 1])
{
    char path[] = "/tmp/lt-vnpay-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, data, strlen(data)), (ssize_t)strlen(data));
    close(fd);
    char cmd[256];
    snprintf(cmd, sizeof(cmd), "openssl dgst -sha512 -hmac '%s' < %s", VECTOR_KEY, path);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    char line[512] = "";
    assert_non_null(fgets(line, sizeof(line), p));
    pclose(p);
    unlink(path);
    const char *hex = strrchr(line, ' ');
    assert_non_null(hex);
    snprintf(out, LT_VNP_HASH_HEX + 1, "%s", hex + 1);
}

static void check_vector(lt_vnp_params_t *ps, const char *hand_written)
{
    char *data = lt_vnp_hash_data(ps);
    assert_string_equal(data, hand_written);
    free(data);
    char expected[LT_VNP_HASH_HEX + 1], ours[LT_VNP_HASH_HEX + 1];
    openssl_hmac_sha512(hand_written, expected);
    lt_vnp_hmac_hex((const unsigned char *)VECTOR_KEY, strlen(VECTOR_KEY), hand_written, strlen(hand_written), ours);
    assert_string_equal(ours, expected);
    lt_vnp_params_add(ps, "vnp_SecureHash", expected);
    assert_true(lt_vnp_verify(ps, (const unsigned char *)VECTOR_KEY, strlen(VECTOR_KEY)));
    lt_vnp_params_free(ps);
}

static void vector_pay_url_like_the_icd_example(void **state)
{
    (void)state;
    lt_vnp_params_t ps = {0};
    static const char *const kv[][2] = {
        {"vnp_Version", "2.1.0"},
        {"vnp_Command", "pay"},
        {"vnp_TmnCode", "LTDEV001"},
        {"vnp_Amount", "15000000"},
        {"vnp_CurrCode", "VND"},
        {"vnp_TxnRef", "LT241122000001"},
        {"vnp_OrderInfo", "Thanh toan le phi ho so 000.00.12.H53-241122-0001"},
        {"vnp_OrderType", "billpayment"},
        {"vnp_Locale", "vn"},
        {"vnp_ReturnUrl", "https://cong.example.gov.vn/payments/return?lang=vi"},
        {"vnp_IpAddr", "203.0.113.10"},
        {"vnp_CreateDate", "20241122103000"},
        {"vnp_ExpireDate", "20241122104500"},
    };
    for (size_t i = 0; i < sizeof(kv) / sizeof(kv[0]); i++)
        lt_vnp_params_add(&ps, kv[i][0], kv[i][1]);
    check_vector(&ps, "vnp_Amount=15000000&vnp_Command=pay&vnp_CreateDate=20241122103000&vnp_CurrCode=VND"
                      "&vnp_ExpireDate=20241122104500&vnp_IpAddr=203.0.113.10&vnp_Locale=vn"
                      "&vnp_OrderInfo=Thanh+toan+le+phi+ho+so+000.00.12.H53-241122-0001&vnp_OrderType=billpayment"
                      "&vnp_ReturnUrl=https%3A%2F%2Fcong.example.gov.vn%2Fpayments%2Freturn%3Flang%3Dvi"
                      "&vnp_TmnCode=LTDEV001&vnp_TxnRef=LT241122000001&vnp_Version=2.1.0");
}

/* Vietnamese, spaces, ~ * / : ?, IPv6, byte-order sorting, and what is left out of the hash. */
static void vector_vietnamese_and_specials(void **state)
{
    (void)state;
    lt_vnp_params_t ps = {0};
    static const char *const kv[][2] = {
        {"vnp_TxnRef", "HS-2024_001"},
        {"vnp_Txn_Note", "x"},
        {"vnp_OrderInfo", "Thanh to\xC3\xA1n l\xE1\xBB\x87 ph\xC3\xAD h\xE1\xBB\x93 s\xC6\xA1"},
        {"vnp_Bill_FirstName", "Nguy\xE1\xBB\x85n V\xC4\x83n An"},
        {"vnp_BankCode", "NCB"},
        {"vnp_Inv_Company", "\xC4\x90\xC4\x83ng k\xC3\xBD ~*/:?"},
        {"vnp_IpAddr", "2001:db8::1"},
        {"vnp_ReturnUrl", "https://c\xE1\xBB\x95ng.vn/tr\xE1\xBA\xA3 v\xE1\xBB\x81?a=1&b=~x*y"},
        {"vnp_Locale", ""},
        {"vnp_SecureHashType", "HmacSHA512"},
        {"lang", "vi"},
    };
    for (size_t i = 0; i < sizeof(kv) / sizeof(kv[0]); i++)
        lt_vnp_params_add(&ps, kv[i][0], kv[i][1]);
    check_vector(&ps, "vnp_BankCode=NCB"
                      "&vnp_Bill_FirstName=Nguy%E1%BB%85n+V%C4%83n+An"
                      "&vnp_Inv_Company=%C4%90%C4%83ng+k%C3%BD+%7E%2A%2F%3A%3F"
                      "&vnp_IpAddr=2001%3Adb8%3A%3A1"
                      "&vnp_OrderInfo=Thanh+to%C3%A1n+l%E1%BB%87+ph%C3%AD+h%E1%BB%93+s%C6%A1"
                      "&vnp_ReturnUrl=https%3A%2F%2Fc%E1%BB%95ng.vn%2Ftr%E1%BA%A3+v%E1%BB%81%3Fa%3D1%26b%3D%7Ex%2Ay"
                      "&vnp_TxnRef=HS-2024_001"
                      "&vnp_Txn_Note=x");
}

static void vector_querydr_pipe_hash(void **state)
{
    (void)state;
    const char *fields[] = {"a1b2c3d4e5f60718293a4b5c6d7e8f90",
                            "2.1.0",
                            "querydr",
                            "LTDEV001",
                            "LT241122000001",
                            "20241122103000",
                            "20241122120000",
                            "10.0.0.5",
                            "Truy van giao dich LT241122000001"};
    char ours[LT_VNP_HASH_HEX + 1], expected[LT_VNP_HASH_HEX + 1];
    lt_vnp_pipe_hash(fields, 9, (const unsigned char *)VECTOR_KEY, strlen(VECTOR_KEY), ours);
    openssl_hmac_sha512("a1b2c3d4e5f60718293a4b5c6d7e8f90|2.1.0|querydr|LTDEV001|LT241122000001|20241122103000"
                        "|20241122120000|10.0.0.5|Truy van giao dich LT241122000001",
                        expected);
    assert_string_equal(ours, expected);
}

/* ---- reading an IPN: the terminal code --------------------------------------------------------------------- */

/* An IPN signed with the secret (openssl's HMAC over the hand-written hash data), its terminal code as given
 * ("" leaves it out), as the payment gateway would send it. */
static void signed_ipn(const char *tmn_code, char *out, size_t outlen)
{
    char data[512], hash[LT_VNP_HASH_HEX + 1];
    snprintf(data, sizeof(data),
             "vnp_Amount=15000000&vnp_BankCode=NCB&vnp_PayDate=20261123103000&vnp_ResponseCode=00%s%s"
             "&vnp_TransactionNo=14123456&vnp_TransactionStatus=00&vnp_TxnRef=LT20261123-0123456789abcdef",
             tmn_code[0] ? "&vnp_TmnCode=" : "", tmn_code);
    openssl_hmac_sha512(data, hash);
    snprintf(out, outlen, "%s&vnp_SecureHash=%s", data, hash);
}

static void ipn_for_another_terminal_is_refused(void **state)
{
    (void)state;
    lt_payments_conf_t conf = {.tmn_code = "LTDEV001"};
    lt_pay_service_t svc = {.conf = &conf, .hash_secret_len = strlen(VECTOR_KEY)};
    memcpy(svc.hash_secret, VECTOR_KEY, strlen(VECTOR_KEY));
    char query[1024];
    lt_pay_settlement_t s;

    signed_ipn("LTDEV001", query, sizeof(query));
    assert_int_equal(lt_ipn_read(&svc, query, 1, &s), LT_IPN_VERIFIED);
    assert_string_equal(s.payment_id, "LT20261123-0123456789abcdef");
    assert_int_equal(s.state, LT_PAY_PAID);

    /* Correctly signed (the secret is the same), but for another merchant's terminal: nothing to settle. */
    signed_ipn("OTHER002", query, sizeof(query));
    assert_int_equal(lt_ipn_read(&svc, query, 1, &s), LT_IPN_OTHER_TERMINAL);
    assert_string_equal(s.payment_id, "");
    signed_ipn("ltdev001", query, sizeof(query)); /* terminal codes are compared exactly */
    assert_int_equal(lt_ipn_read(&svc, query, 1, &s), LT_IPN_OTHER_TERMINAL);

    /* The ICD's checks do not name vnp_TmnCode: one that is absent is not required. */
    signed_ipn("", query, sizeof(query));
    assert_int_equal(lt_ipn_read(&svc, query, 1, &s), LT_IPN_VERIFIED);

    /* A foreign terminal code slipped into a query signed for ours breaks the signature first. */
    signed_ipn("LTDEV001", query, sizeof(query));
    char *at = strstr(query, "LTDEV001");
    memcpy(at, "OTHER002", 8);
    assert_int_equal(lt_ipn_read(&svc, query, 1, &s), LT_IPN_BAD_SIGNATURE);
}

static void check_fold(const char *in, const char *expected, size_t max)
{
    char out[300];
    size_t n = lt_vnp_fold_ascii(in, out, max);
    assert_string_equal(out, expected);
    assert_int_equal(n, strlen(expected));
}

static void order_info_is_folded_to_ascii(void **state)
{
    (void)state;
    /* "Thanh toán lệ phí hồ sơ Đăng ký kinh doanh, đợt 2!" */
    check_fold("Thanh to\xC3\xA1n l\xE1\xBB\x87 ph\xC3\xAD h\xE1\xBB\x93 s\xC6\xA1 \xC4\x90\xC4\x83ng k\xC3\xBD kinh "
               "doanh, \xC4\x91\xE1\xBB\xA3t 2!",
               "Thanh toan le phi ho so Dang ky kinh doanh dot 2", 255);
    check_fold("h\xE1\xBB\x93 s\xC6\xA1 000.00.12.H53-241122-0001", "ho so 000.00.12.H53-241122-0001", 255);
    check_fold("  a  /  b  ", "a b", 255); /* dropped characters leave one space, none at the ends */
    check_fold("\xC3\x9D \xE1\xBB\xB2 \xC6\xAF\xC6\xA0", "Y Y UO", 255);
    check_fold("abcdef", "abc", 3);
    check_fold("", "", 255);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(encoding_keeps_only_the_icd_set),
        cmocka_unit_test(hash_data_sorts_skips_empty_and_the_hash),
        cmocka_unit_test(byte_order_puts_capitals_first),
        cmocka_unit_test(signed_query_verifies_and_tampering_does_not),
        cmocka_unit_test(hash_comparison_ignores_case_only),
        cmocka_unit_test(parse_refuses_what_cannot_be_verified),
        cmocka_unit_test(order_info_is_folded_to_ascii),
        cmocka_unit_test(vector_pay_url_like_the_icd_example),
        cmocka_unit_test(vector_vietnamese_and_specials),
        cmocka_unit_test(vector_querydr_pipe_hash),
        cmocka_unit_test(ipn_for_another_terminal_is_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
