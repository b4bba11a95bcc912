/*
 * What the payment gateway sends to the callbacks listener: the IPN and the
 * browser return carry the same signed query string, read by lt_ipn_read()
 * (lt_pay_ipn.c) with lt_vnp_parse_query() and lt_vnp_verify() (lt_vnpay.c).
 * The input is the query string (up to its first NUL, as evhttp hands it on).
 *
 * A fuzzer cannot forge HMAC-SHA512, so each input is read twice: as it is
 * (almost always a bad signature), and re-signed with the merchant's secret
 * (lt_vnp_signed_query over what lt_vnp_parse_query decoded), which reaches
 * what follows a good signature. Checked besides the sanitizers:
 *   - only 00 (ready to settle) or 97 (bad signature) come back;
 *   - what the gateway itself signed always verifies (encoding and decoding
 *     agree on every byte);
 *   - a settlement is PAID exactly for ResponseCode 00 with TransactionStatus
 *     00, carries vnp_TxnRef only when it fits whole, and a non-negative
 *     amount;
 *   - vnp_PayDate, when it parses (lt_pay_parse_vn_time), formats back to the
 *     same text: a date that is not on the calendar is refused, not moved.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "lt_pay_ipn.h"
#include "lt_vnpay.h"

/* tests/integration/test_vnpay_vectors.py's key, so that its signed vectors verify as seeds. */
#define HASH_SECRET "VECTORKEY0123456789abcdefABCDEF"
#define NOW_MS      1767225600000LL

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static lt_pay_service_t svc;
/* Our merchant's terminal: a signed query naming another one is refused (LT_IPN_OTHER_TERMINAL). */
static lt_payments_conf_t conf = {.tmn_code = "LTDEV001"};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    fuzz_init();
    memcpy(svc.hash_secret, HASH_SECRET, strlen(HASH_SECRET));
    svc.hash_secret_len = strlen(HASH_SECRET);
    svc.conf = &conf;
    return 0;
}

static void check_settlement(const lt_vnp_params_t *ps, const lt_pay_settlement_t *s)
{
    const char *rc = lt_vnp_params_get(ps, "vnp_ResponseCode"), *ts = lt_vnp_params_get(ps, "vnp_TransactionStatus");
    bool paid = rc && ts && strcmp(rc, "00") == 0 && strcmp(ts, "00") == 0;
    FUZZ_CHECK(s->state == (paid ? LT_PAY_PAID : LT_PAY_FAILED), "settlement state %d for ResponseCode %s, status %s",
               (int)s->state, rc ? rc : "-", ts ? ts : "-");
    const char *ref = lt_vnp_params_get(ps, "vnp_TxnRef");
    FUZZ_CHECK(s->payment_id[0] == '\0' || (ref != NULL && strcmp(ref, s->payment_id) == 0),
               "settlement names a payment that is not vnp_TxnRef");
    FUZZ_CHECK(s->amount_x100 >= 0, "settlement amount %lld", s->amount_x100);
    FUZZ_CHECK(strcmp(s->settled_by, "ipn") == 0 && s->now_ms == NOW_MS, "settlement not marked as an IPN's");
}

static void check_pay_date(const char *pay_date)
{
    int64_t unix_s;
    if (lt_pay_parse_vn_time(pay_date, &unix_s) != 0)
        return;
    char back[15];
    lt_pay_vn_time(unix_s, back);
    FUZZ_CHECK(strcmp(back, pay_date) == 0, "lt_pay_parse_vn_time read %s as %s", pay_date, back);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *query = fuzz_strndup(data, size);
    lt_pay_settlement_t s;
    lt_ipn_verdict_t v = lt_ipn_read(&svc, query, NOW_MS, &s);
    FUZZ_CHECK(v == LT_IPN_VERIFIED || v == LT_IPN_BAD_SIGNATURE || v == LT_IPN_OTHER_TERMINAL,
               "lt_ipn_read answered %d", (int)v);
    lt_vnp_params_t ps = {0};
    if (lt_vnp_parse_query(query, &ps) == 0) {
        if (v == LT_IPN_VERIFIED)
            check_settlement(&ps, &s);
        char *signed_query = lt_vnp_signed_query(&ps, svc.hash_secret, svc.hash_secret_len);
        lt_vnp_params_t again = {0};
        FUZZ_CHECK(lt_vnp_parse_query(signed_query, &again) == 0, "the gateway's own signed query does not parse: %s",
                   signed_query);
        v = lt_ipn_read(&svc, signed_query, NOW_MS, &s);
        const char *tmn = lt_vnp_params_get(&again, "vnp_TmnCode");
        bool ours = tmn == NULL || strcmp(tmn, conf.tmn_code) == 0;
        FUZZ_CHECK(v == (ours ? LT_IPN_VERIFIED : LT_IPN_OTHER_TERMINAL),
                   "the gateway's own signed query read as %d (terminal %s): %s", (int)v, tmn ? tmn : "-",
                   signed_query);
        if (v == LT_IPN_VERIFIED)
            check_settlement(&again, &s);
        check_pay_date(lt_vnp_params_get(&again, "vnp_PayDate"));
        lt_vnp_params_free(&again);
        free(signed_query);
        lt_vnp_params_free(&ps);
    } else {
        FUZZ_CHECK(v == LT_IPN_BAD_SIGNATURE, "a query that does not parse was accepted");
    }
    free(query);
    return 0;
}
