/* Code tables and error mapping of icd/business-registration.md. */
#include "codes.h"

#include <string.h>

/* loaiHinh.ma: the five legal forms the ICD lists, labelled with their names in the Law on Enterprises 2020 (the
 * ICD's own sample gives "Công ty cổ phần" for CTCP). */
static const lt_code_t type_rows[] = {
    {"DNTN", "private_enterprise", "Doanh nghiệp tư nhân"},
    {"TNHH1TV", "single_member_llc", "Công ty TNHH một thành viên"},
    {"TNHH2TV", "multi_member_llc", "Công ty TNHH hai thành viên trở lên"},
    {"CTCP", "joint_stock", "Công ty cổ phần"},
    {"CTHD", "partnership", "Công ty hợp danh"},
};
const lt_code_table_t lt_business_types = LT_CODE_TABLE("loaiHinh", type_rows);

/* tinhTrang.ma, labelled as the ICD describes each value. */
static const lt_code_t status_rows[] = {
    {"01", "active", "in operation"},
    {"02", "suspended", "business suspended"},
    {"03", "dissolving", "dissolution in progress"},
    {"04", "dissolved", "dissolved"},
    {"05", "revoked", "certificate revoked"},
    {"06", "bankrupt", "bankrupt"},
};
const lt_code_table_t lt_business_statuses = LT_CODE_TABLE("tinhTrang", status_rows);

/*
 * A 400 or 404 without its maLoi did not come from the lookup service (a
 * proxy, a wrong base_url): that is the platform failing, not a business
 * answer, so it is a 502 and moves the breaker.
 * DN-429 is a per-second limit: the ICD's Retry-After is short, so a retry
 * after it is cheap and likely to succeed; the core keeps it inside the
 * call's deadline.
 */
const lt_business_fault_t lt_business_faults[] = {
    {400, "DN-400", LT_ERR_BAD_REQUEST, "DN-400", false, LT_BUSINESS_WAIT_NONE,
     "the national system rejected the enterprise code as malformed"},
    {404, "DN-404", LT_ERR_NOT_FOUND, "DN-404", false, LT_BUSINESS_WAIT_NONE,
     "the national system has no enterprise with this code"},
    {429, NULL, LT_ERR_UPSTREAM_UNAVAILABLE, "DN-429", true, LT_BUSINESS_WAIT_RATE,
     "the gateway is over the national system's request rate"},
    {400, NULL, LT_ERR_UPSTREAM_BAD, "upstream_http_400", false, LT_BUSINESS_WAIT_NONE,
     "the national system answered HTTP 400 without DN-400"},
    {403, NULL, LT_ERR_UPSTREAM_BAD, "upstream_http_403", false, LT_BUSINESS_WAIT_NONE,
     "the national system refused the gateway's access token for this lookup; operators must check the scope"},
    {404, NULL, LT_ERR_UPSTREAM_BAD, "upstream_http_404", false, LT_BUSINESS_WAIT_NONE,
     "the national system answered HTTP 404 without DN-404; operators must check base_url"},
    {500, NULL, LT_ERR_UPSTREAM_BAD, "upstream_http_500", false, LT_BUSINESS_WAIT_NONE,
     "the national system had an internal error"},
    {502, NULL, LT_ERR_UPSTREAM_BAD, "upstream_http_502", false, LT_BUSINESS_WAIT_NONE,
     "the national system's gateway answered HTTP 502"},
    {503, NULL, LT_ERR_UPSTREAM_UNAVAILABLE, "upstream_http_503", true, LT_BUSINESS_WAIT_UNAVAILABLE,
     "the national system is unavailable"},
    {504, NULL, LT_ERR_UPSTREAM_TIMEOUT, "upstream_http_504", true, LT_BUSINESS_WAIT_NONE,
     "the national system's gateway timed out"},
    {0, NULL, LT_ERR_UPSTREAM_BAD, "upstream_http_5xx", false, LT_BUSINESS_WAIT_NONE,
     "the national system answered with a server error"},
    {-1, NULL, LT_ERR_UPSTREAM_BAD, "upstream_http_status", false, LT_BUSINESS_WAIT_NONE,
     "the national system answered with an HTTP status the interface does not define"},
};
const size_t lt_business_nfaults = sizeof(lt_business_faults) / sizeof(lt_business_faults[0]);

static bool status_matches(long row, long status)
{
    if (row == -1)
        return true;
    if (row == 0)
        return status >= 500 && status <= 599;
    return row == status;
}

const lt_business_fault_t *lt_business_fault_find(long status, const char *maloi)
{
    for (size_t i = 0; i < lt_business_nfaults; i++) {
        const lt_business_fault_t *f = &lt_business_faults[i];
        if (!status_matches(f->status, status))
            continue;
        if (f->maloi == NULL || (maloi != NULL && strcmp(f->maloi, maloi) == 0))
            return f;
    }
    return &lt_business_faults[lt_business_nfaults - 1];
}

/*
 * Every RFC 6749 §5.2 error means the gateway's request or credentials are
 * wrong: nothing a caller can fix, so each is a 502 that operators must act on.
 */
const lt_business_token_error_t lt_business_token_errors[] = {
    {"invalid_client", "token_invalid_client",
     "the national system does not accept the gateway's client id or secret; operators must check "
     "upstreams.business.service"},
    {"invalid_scope", "token_invalid_scope",
     "the national system does not grant the configured scope to the gateway; operators must check "
     "upstreams.business.service.scope"},
    {"unauthorized_client", "token_unauthorized_client",
     "the national system does not allow the gateway's client the client-credentials grant"},
    {"invalid_grant", "token_invalid_grant", "the token endpoint refused the gateway's grant"},
    {"invalid_request", "token_invalid_request", "the token endpoint found the gateway's request malformed"},
    {"unsupported_grant_type", "token_unsupported_grant_type",
     "the token endpoint does not support the client-credentials grant"},
};
const size_t lt_business_ntoken_errors = sizeof(lt_business_token_errors) / sizeof(lt_business_token_errors[0]);

const lt_business_token_error_t *lt_business_token_error_find(const char *error)
{
    if (error == NULL)
        return NULL;
    for (size_t i = 0; i < lt_business_ntoken_errors; i++)
        if (strcmp(lt_business_token_errors[i].error, error) == 0)
            return &lt_business_token_errors[i];
    return NULL;
}
