/* IPN and return parameters: signature, meaning, and the answer table. */
#include "lt_pay_ipn.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void copy_param(const lt_vnp_params_t *ps, const char *name, char *out, size_t outlen)
{
    const char *v = lt_vnp_params_get(ps, name);
    snprintf(out, outlen, "%s", v ? v : "");
}

/* A value that does not fit is not cut: a cut reference could name another payment, and a cut "000" reads "00". */
static bool copy_exact(const lt_vnp_params_t *ps, const char *name, char *out, size_t outlen)
{
    const char *v = lt_vnp_params_get(ps, name);
    out[0] = '\0';
    if (v == NULL || strlen(v) >= outlen)
        return false;
    memcpy(out, v, strlen(v) + 1);
    return true;
}

static bool is_two_digits(const char *s)
{
    return strlen(s) == 2 && strspn(s, "0123456789") == 2;
}

/* vnp_Amount as sent; 0 (which matches no payment) when it is not 1-12 digits. */
static long long amount_of(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > 12 || strspn(s, "0123456789") != n)
        return 0;
    return strtoll(s, NULL, 10);
}

/* A signed answer for another terminal must not settle ours: two terminals may share a secret, and their payment
 * references may collide. */
static bool names_another_terminal(const lt_vnp_params_t *ps, const char *ours)
{
    const char *tmn = lt_vnp_params_get(ps, "vnp_TmnCode");
    return tmn != NULL && tmn[0] != '\0' && strcmp(tmn, ours) != 0;
}

lt_ipn_verdict_t lt_ipn_read(const lt_pay_service_t *svc, const char *query, int64_t now_ms, lt_pay_settlement_t *s)
{
    memset(s, 0, sizeof(*s));
    lt_vnp_params_t ps = {0};
    if (lt_vnp_parse_query(query, &ps) != 0)
        return LT_IPN_BAD_SIGNATURE;
    lt_ipn_verdict_t verdict = LT_IPN_BAD_SIGNATURE;
    if (!lt_vnp_verify(&ps, svc->hash_secret, svc->hash_secret_len)) {
        verdict = LT_IPN_BAD_SIGNATURE;
    } else if (names_another_terminal(&ps, svc->conf->tmn_code)) {
        verdict = LT_IPN_OTHER_TERMINAL;
    } else {
        copy_exact(&ps, "vnp_TxnRef", s->payment_id, sizeof(s->payment_id)); /* too long: unknown, 01 */
        s->amount_x100 = amount_of(lt_vnp_params_get(&ps, "vnp_Amount"));
        copy_exact(&ps, "vnp_ResponseCode", s->response_code, sizeof(s->response_code));
        copy_exact(&ps, "vnp_TransactionStatus", s->transaction_status, sizeof(s->transaction_status));
        copy_param(&ps, "vnp_BankCode", s->bank_code, sizeof(s->bank_code));
        copy_param(&ps, "vnp_TransactionNo", s->transaction_no, sizeof(s->transaction_no));
        copy_param(&ps, "vnp_PayDate", s->pay_date, sizeof(s->pay_date));
        /* Paid only on the ICD's exact pair; anything else, malformed codes included, is a failed payment. */
        bool paid = is_two_digits(s->response_code) && is_two_digits(s->transaction_status) &&
                    strcmp(s->response_code, "00") == 0 && strcmp(s->transaction_status, "00") == 0;
        s->state = paid ? LT_PAY_PAID : LT_PAY_FAILED;
        snprintf(s->settled_by, sizeof(s->settled_by), "ipn");
        s->now_ms = now_ms;
        verdict = LT_IPN_VERIFIED;
    }
    lt_vnp_params_free(&ps);
    return verdict;
}

const char *lt_ipn_verdict_reason(lt_ipn_verdict_t v)
{
    switch (v) {
    case LT_IPN_VERIFIED:
        return "verified";
    case LT_IPN_OTHER_TERMINAL:
        return "vnp_TmnCode is another merchant's, not payments.tmn_code";
    default:
        return "the signature does not verify";
    }
}

lt_ipn_rsp_t lt_ipn_rsp_for(lt_pay_outcome_t outcome)
{
    switch (outcome) {
    case LT_PAY_OK:
        return LT_RSP_00_CONFIRMED;
    case LT_PAY_NOT_FOUND:
        return LT_RSP_01_NOT_FOUND;
    case LT_PAY_AMOUNT_MISMATCH:
        return LT_RSP_04_INVALID_AMOUNT;
    case LT_PAY_ALREADY_FINAL:
        return LT_RSP_02_ALREADY_CONFIRMED;
    default:
        /* 99 makes the payment gateway send the IPN again later: right for a store that could not answer. */
        return LT_RSP_99_UNKNOWN_ERROR;
    }
}

json_t *lt_ipn_answer(lt_ipn_rsp_t rsp)
{
    return json_pack("{s:s, s:s}", "RspCode", lt_ipn_rsp_code(rsp), "Message", lt_ipn_rsp_message(rsp));
}
