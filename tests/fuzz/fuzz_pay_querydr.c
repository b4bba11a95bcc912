/*
 * The payment gateway's querydr answer (icd/payment.md §4), read by
 * lt_pay_querydr_read() (lt_pay_reconcile.c) during reconciliation. The input
 * is the response body.
 *
 * As in fuzz_pay_query.c, an answer that is a JSON object is read a second
 * time re-signed with the merchant's secret (vnp_SecureHash over the ICD's
 * fields joined with '|'), to reach what follows a good signature. Checked
 * besides the sanitizers:
 *   - an answer the gateway signed itself never fails on its signature;
 *   - a settlement is only made for this payment, terminal and command, is
 *     PAID only for ResponseCode 00 with TransactionStatus 00, and EXPIRED
 *     ones skip the amount check (-1);
 *   - a refusal says why.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "lt_pay_reconcile.h"
#include "lt_vnpay.h"

/* tests/integration/test_vnpay_vectors.py's key, terminal and payment, so that its querydr vector is a seed. */
#define HASH_SECRET "VECTORKEY0123456789abcdefABCDEF"
#define TMN_CODE    "LTDEV001"
#define PAYMENT_ID  "LT241122000001"
#define NOW_MS      1767225600000LL

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static lt_payments_conf_t conf;
static lt_pay_service_t svc;
static lt_payment_t payment;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    fuzz_init();
    conf.tmn_code = TMN_CODE;
    svc.conf = &conf;
    memcpy(svc.hash_secret, HASH_SECRET, strlen(HASH_SECRET));
    svc.hash_secret_len = strlen(HASH_SECRET);
    snprintf(payment.id, sizeof(payment.id), "%s", PAYMENT_ID);
    payment.amount_vnd = 150000;
    payment.state = LT_PAY_PENDING;
    return 0;
}

static const char *field(const json_t *obj, const char *key)
{
    const json_t *v = json_object_get(obj, key);
    return json_is_string(v) ? json_string_value(v) : "";
}

/* The answer with vnp_SecureHash set to what the payment gateway would sign (icd/payment.md §4), as text. */
static char *resign(json_t *obj)
{
    static const char *const signed_fields[] = {"vnp_ResponseId",    "vnp_Command",         "vnp_ResponseCode",
                                                "vnp_Message",       "vnp_TmnCode",         "vnp_TxnRef",
                                                "vnp_Amount",        "vnp_BankCode",        "vnp_PayDate",
                                                "vnp_TransactionNo", "vnp_TransactionType", "vnp_TransactionStatus",
                                                "vnp_OrderInfo",     "vnp_PromotionCode",   "vnp_PromotionAmount"};
    enum { N = sizeof(signed_fields) / sizeof(signed_fields[0]) };
    const char *values[N];
    for (size_t i = 0; i < N; i++)
        values[i] = field(obj, signed_fields[i]);
    char hash[LT_VNP_HASH_HEX + 1];
    lt_vnp_pipe_hash(values, N, svc.hash_secret, svc.hash_secret_len, hash);
    json_object_set_new(obj, "vnp_SecureHash", json_string(hash));
    return json_dumps(obj, JSON_COMPACT);
}

static void check(const json_t *obj, int rc, const lt_pay_settlement_t *s, const char *why)
{
    if (rc != 0) {
        FUZZ_CHECK(why[0] != '\0', "querydr answer refused without a reason");
        return;
    }
    FUZZ_CHECK(json_is_object(obj), "querydr answer settled that is not a JSON object");
    FUZZ_CHECK(strcmp(field(obj, "vnp_Command"), "querydr") == 0 && strcmp(field(obj, "vnp_TmnCode"), TMN_CODE) == 0 &&
                   strcmp(field(obj, "vnp_TxnRef"), PAYMENT_ID) == 0,
               "querydr answer about another command, terminal or payment was settled");
    FUZZ_CHECK(strcmp(s->payment_id, PAYMENT_ID) == 0 && strcmp(s->settled_by, "querydr") == 0,
               "querydr settlement for %s by %s", s->payment_id, s->settled_by);
    bool paid =
        strcmp(field(obj, "vnp_ResponseCode"), "00") == 0 && strcmp(field(obj, "vnp_TransactionStatus"), "00") == 0;
    FUZZ_CHECK((s->state == LT_PAY_PAID) == paid, "querydr settlement state %d", (int)s->state);
    FUZZ_CHECK(s->state == LT_PAY_PAID || s->state == LT_PAY_FAILED || s->state == LT_PAY_EXPIRED,
               "querydr settlement state %d", (int)s->state);
    FUZZ_CHECK(s->state == LT_PAY_EXPIRED ? s->amount_x100 == -1 : s->amount_x100 >= 0,
               "querydr settlement amount %lld", s->amount_x100);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    lt_pay_settlement_t s;
    char why[160] = "";
    json_t *obj = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);
    int rc = lt_pay_querydr_read(&svc, &payment, (const char *)data, size, NOW_MS, &s, why, sizeof(why));
    check(obj, rc, &s, why);
    if (json_is_object(obj)) {
        char *text = resign(obj);
        why[0] = '\0';
        rc = lt_pay_querydr_read(&svc, &payment, text, strlen(text), NOW_MS, &s, why, sizeof(why));
        FUZZ_CHECK(rc == 0 || strstr(why, "signature") == NULL, "an answer signed by the gateway's rules: %s", why);
        check(obj, rc, &s, why);
        free(text);
    }
    json_decref(obj);
    return 0;
}
