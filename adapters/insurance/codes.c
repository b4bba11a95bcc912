/* Code tables and the error-answer mapping of icd/social-insurance.md. */
#include "codes.h"

#include <string.h>

/* The codes are words already: the ICD gives no other label. "Nữ" is written as bytes so that it stays NFC. */
static const lt_code_t sex_rows[] = {{"Nam", "male", NULL}, {"N\xe1\xbb\xaf", "female", NULL}};
const lt_code_table_t lt_insurance_sex = LT_CODE_TABLE("gioiTinh", sex_rows);

/* Labelled as the ICD glosses each value. */
static const lt_code_t status_rows[] = {
    {"DANG_THAM_GIA", "contributing", "contributing"},
    {"TAM_DUNG", "suspended", "suspended"},
    {"DA_NGHI", "stopped", "stopped"},
    {"HUONG_CHE_DO", "receiving_benefits", "receiving benefits"},
};
const lt_code_table_t lt_insurance_status = LT_CODE_TABLE("bhxh.trangThai", status_rows);

/*
 * The three 401 answers are each a different operator problem, so each has its
 * own code and a detail that says what to check: a wrong secret or client id,
 * a clock out of step, or a nonce seen before. None is the caller's fault, so
 * all are 502. Only a replay can clear on its own: build() makes a fresh nonce
 * for every attempt.
 * RATE_LIMITED is the province's quota: the caller may come back after
 * Retry-After, but retrying inside the call would only spend more of it.
 */
const lt_insurance_answer_t lt_insurance_answers[] = {
    {401, "AUTH_SIGNATURE", LT_ERR_UPSTREAM_BAD, "upstream_auth_signature", false, false, true,
     "the social insurance system rejected the request signature (AUTH_SIGNATURE): the configured HMAC secret or "
     "client id does not match what the national system holds; operators must check upstreams.insurance.service"},
    {401, "AUTH_EXPIRED", LT_ERR_UPSTREAM_BAD, "upstream_auth_expired", false, false, true,
     "the social insurance system rejected the request timestamp as more than 300 s away from its clock "
     "(AUTH_EXPIRED): the gateway's clock or the national system's is off; operators must check time "
     "synchronisation"},
    {401, "AUTH_REPLAY", LT_ERR_UPSTREAM_BAD, "upstream_auth_replay", true, false, true,
     "the social insurance system rejected the request nonce as already used in the last 10 minutes (AUTH_REPLAY)"},
    {404, "NOT_FOUND", LT_ERR_NOT_FOUND, "insured_not_found", false, false, false,
     "the social insurance system has no insured person with this number"},
    {400, "INVALID", LT_ERR_BAD_REQUEST, "upstream_invalid_request", false, false, false,
     "the social insurance system rejected the request as invalid"},
    {429, NULL, LT_ERR_UPSTREAM_UNAVAILABLE, "upstream_rate_limited", false, true, false,
     "the province's request rate at the social insurance system is exhausted (RATE_LIMITED)"},
};
const size_t lt_insurance_nanswers = sizeof(lt_insurance_answers) / sizeof(lt_insurance_answers[0]);

const lt_insurance_answer_t *lt_insurance_answer_find(long http_status, const char *status)
{
    for (size_t i = 0; i < lt_insurance_nanswers; i++) {
        const lt_insurance_answer_t *row = &lt_insurance_answers[i];
        if (row->http_status != http_status)
            continue;
        if (row->status == NULL || (status != NULL && strcmp(row->status, status) == 0))
            return row;
    }
    return NULL;
}
