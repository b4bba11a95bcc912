/*
 * sim_payment: the national payment gateway, as icd/payment.md describes it
 * and nothing more.
 *
 *   GET  /paymentv2/vpcpay.html?...        §1: checks the signed pay URL, records the transaction and shows the
 *                                          citizen a page with Pay and Cancel (HTML, vi/en, no external assets)
 *   POST /paymentv2/complete               the page's form: pay (00/00) or cancel (24/02); completes, sends the
 *                                          IPN (§2) and redirects the browser to vnp_ReturnUrl (§3)
 *   POST /merchant_webapp/api/transaction  §4: querydr
 *
 * Refusals of a pay URL are HTML pages with a 4xx status and a code, in the
 * page (<code id="error">) and in X-Sim-Error:
 *   400 invalid_format      a parameter missing, repeated or malformed; vnp_SecureHashType present (the ICD says
 *                           do not send it in 2.1.0, so a client that does is told, not silently tolerated)
 *   403 unknown_terminal    vnp_TmnCode is not this terminal
 *   403 invalid_signature   vnp_SecureHash does not match the hash data
 *   410 expired             vnp_ExpireDate (UTC+07:00) has passed
 *   409 txn_ref_reused      the TxnRef is known with another amount
 *   409 already_completed   the TxnRef is known and already paid, failed or cancelled
 * The same TxnRef with the same amount while still pending shows the page again (a browser reload).
 *
 * Service faults (PUT /control/payment/faults), for querydr only: "querydr99" answers vnp_ResponseCode 99,
 * "bad_hash" answers the true result with a wrong vnp_SecureHash. The transport faults apply to every path.
 *
 * The IPN runs on the loop through sim_ipn and sim_fetch (libcurl multi),
 * so the simulator keeps answering while a merchant is slow.
 */
#include "sim_payment.h"
#include "sim_json.h"
#include "sim_payment_int.h"
#include "sim_text.h"
#include "sim_vnp.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SIM_PAY_URL_PATH       "/paymentv2/vpcpay.html"
#define SIM_PAY_QUERY_PATH     "/merchant_webapp/api/transaction"
#define SIM_PAY_DEFAULT_TMN    "LTDEV001"
#define SIM_PAY_SECRET_NAME    "payment-hash.secret"
#define SIM_PAY_IPN_CA_NAME    "province-ca.crt"
#define SIM_PAY_VERSION        "2.1.0"
#define SIM_PAY_REQUEST_ID_MAX 32
#define SIM_PAY_FIRST_TXN_NO   14000001ULL /* the ICD's example numbers look like this */
#define SIM_PAY_DEFAULT_BANK   "NCB"
#define SIM_PAY_SAMPLE_MAX     100000

#define SIM_COUNT(a) (sizeof(a) / sizeof((a)[0]))

enum { SIM_PAY_OP_PAY, SIM_PAY_OP_COMPLETE, SIM_PAY_OP_QUERYDR };
static const char *const sim_pay_ops[] = {"pay", "complete", "querydr", NULL};
static const char *const sim_pay_faults[] = {"querydr99", "bad_hash", NULL};

static const sim_service_option_t sim_pay_options[] = {
    {"tmn-code", "CODE", "terminal code, 8 letters or digits (default " SIM_PAY_DEFAULT_TMN ")"},
    {"payment-secret-file", "FILE", "hash secret (default DIR/" SIM_PAY_SECRET_NAME ")"},
    {"ipn-url", "URL", "merchant IPN URL; repeat for several (see concurrent_urls)"},
    {"ipn-ca", "FILE", "CA that verifies the merchant's IPN server (default DIR/" SIM_PAY_IPN_CA_NAME ")"},
    {NULL, NULL, NULL},
};

/* querydr fields in the order their values are signed (ICD §4). */
static const char *const sim_pay_qdr_request_fields[] = {
    "vnp_RequestId",       "vnp_Version",    "vnp_Command", "vnp_TmnCode",   "vnp_TxnRef",
    "vnp_TransactionDate", "vnp_CreateDate", "vnp_IpAddr",  "vnp_OrderInfo",
};
enum {
    QDR_IN_REQUEST_ID,
    QDR_IN_VERSION,
    QDR_IN_COMMAND,
    QDR_IN_TMN_CODE,
    QDR_IN_TXN_REF,
    QDR_IN_TRANSACTION_DATE,
    QDR_IN_CREATE_DATE,
    QDR_IN_IP_ADDR,
    QDR_IN_ORDER_INFO,
    QDR_IN_NFIELDS
};
_Static_assert(SIM_COUNT(sim_pay_qdr_request_fields) == QDR_IN_NFIELDS, "one index per signed request field");
static const char *const sim_pay_qdr_response_fields[] = {
    "vnp_ResponseId", "vnp_Command",       "vnp_ResponseCode",    "vnp_Message",
    "vnp_TmnCode",    "vnp_TxnRef",        "vnp_Amount",          "vnp_BankCode",
    "vnp_PayDate",    "vnp_TransactionNo", "vnp_TransactionType", "vnp_TransactionStatus",
    "vnp_OrderInfo",  "vnp_PromotionCode", "vnp_PromotionAmount",
};
enum {
    QDR_RESPONSE_ID,
    QDR_COMMAND,
    QDR_RESPONSE_CODE,
    QDR_MESSAGE,
    QDR_TMN_CODE,
    QDR_TXN_REF,
    QDR_AMOUNT,
    QDR_BANK_CODE,
    QDR_PAY_DATE,
    QDR_TRANSACTION_NO,
    QDR_TRANSACTION_TYPE,
    QDR_TRANSACTION_STATUS,
    QDR_ORDER_INFO,
    QDR_PROMOTION_CODE,
    QDR_PROMOTION_AMOUNT,
    QDR_NFIELDS
};
_Static_assert(SIM_COUNT(sim_pay_qdr_response_fields) == QDR_NFIELDS, "one value per signed response field");

/* ---- character classes ---- */

static int sim_pay_alnum(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static int sim_pay_all(const char *s, size_t min, size_t max, int (*ok)(char))
{
    size_t n = strlen(s);
    if (n < min || n > max)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!ok(s[i]))
            return 0;
    return 1;
}

static int sim_pay_digit(char c)
{
    return c >= '0' && c <= '9';
}

static int sim_pay_ref_char(char c)
{
    return sim_pay_alnum(c) || c == '_' || c == '-';
}

/* "Vietnamese without diacritics, no special characters": ASCII letters, digits, spaces and the punctuation of the
 * ICD's example (. -) plus , : / _ that a dossier number or a date may need. */
static int sim_pay_order_info_char(char c)
{
    return sim_pay_alnum(c) || (c != '\0' && strchr(" .,-_:/", c) != NULL);
}

static int sim_pay_order_type_char(char c)
{
    return sim_pay_alnum(c) || c == '_';
}

/* No control bytes and no spaces; UTF-8 is left to the browser. */
static int sim_pay_url_char(char c)
{
    unsigned char u = (unsigned char)c;
    return u > 0x20 && u != 0x7f;
}

/* Printable ASCII except '|', which would make the querydr hash data ambiguous. */
static int sim_pay_request_id_char(char c)
{
    return c > 0x20 && c < 0x7f && c != '|';
}

int sim_pay_code_valid(const char *s)
{
    return sim_pay_all(s, 2, 2, sim_pay_digit);
}

int sim_pay_bank_code_valid(const char *s)
{
    return sim_pay_all(s, 1, SIM_PAY_BANK_MAX, sim_pay_alnum);
}

/* Amount × 100 of a whole number of dong: 1-12 digits, no leading zero, ending in 00. */
static int sim_pay_amount_valid(const char *s)
{
    size_t n = strlen(s);
    return sim_pay_all(s, 3, SIM_PAY_AMOUNT_MAX, sim_pay_digit) && s[0] != '0' && strcmp(s + n - 2, "00") == 0;
}

static int sim_pay_ip_valid(const char *s)
{
    unsigned char addr[16];
    return strlen(s) <= SIM_PAY_IP_MAX && (inet_pton(AF_INET, s, addr) == 1 || inet_pton(AF_INET6, s, addr) == 1);
}

static int sim_pay_return_url_valid(const char *s)
{
    return (strncmp(s, "https://", 8) == 0 || strncmp(s, "http://", 7) == 0) &&
           sim_pay_all(s, 1, SIM_PAY_URL_MAX, sim_pay_url_char);
}

static void sim_pay_copy(char *dst, size_t cap, const char *src)
{
    snprintf(dst, cap, "%s", src ? src : "");
}

/* ---- the transactions ---- */

sim_pay_txn_t *sim_pay_find(const sim_pay_state_t *st, const char *txn_ref)
{
    for (size_t i = 0; i < st->n_txns; i++)
        if (strcmp(st->txns[i]->txn_ref, txn_ref) == 0)
            return st->txns[i];
    return NULL;
}

static void sim_pay_txn_free(sim_pay_txn_t *t)
{
    for (size_t i = 0; i < t->n_attempts; i++) {
        free(t->attempts[i].url);
        free(t->attempts[i].error);
    }
    free(t->attempts);
    free(t->result.query);
    free(t);
}

static sim_pay_txn_t *sim_pay_add(sim_pay_state_t *st, const sim_pay_txn_t *proto)
{
    if (st->n_txns == st->cap_txns) {
        size_t cap = st->cap_txns ? st->cap_txns * 2 : 64;
        sim_pay_txn_t **txns = realloc(st->txns, cap * sizeof *txns);
        if (txns == NULL)
            abort(); /* a test stand-in has no better answer (see sim_buf.h) */
        st->txns = txns;
        st->cap_txns = cap;
    }
    sim_pay_txn_t *t = malloc(sizeof *t);
    if (t == NULL)
        abort();
    *t = *proto;
    st->txns[st->n_txns++] = t;
    return t;
}

static void sim_pay_forget_all(sim_pay_state_t *st)
{
    for (size_t i = 0; i < st->n_txns; i++)
        sim_pay_txn_free(st->txns[i]);
    free(st->txns);
    st->txns = NULL;
    st->n_txns = st->cap_txns = 0;
    for (size_t i = 0; i < st->n_request_ids; i++)
        free(st->request_ids[i]);
    free(st->request_ids);
    st->request_ids = NULL;
    st->n_request_ids = st->cap_request_ids = 0;
}

/* Keeps one IPN attempt with its transaction; attempts of a transaction reset away are dropped. */
static void sim_pay_record_attempt(void *ctx, const char *txn_ref, const sim_ipn_attempt_t *a)
{
    sim_pay_txn_t *t = sim_pay_find(ctx, txn_ref);
    if (t == NULL)
        return;
    if (t->n_attempts == t->cap_attempts) {
        size_t cap = t->cap_attempts ? t->cap_attempts * 2 : 4;
        sim_pay_attempt_t *grown = realloc(t->attempts, cap * sizeof *grown);
        if (grown == NULL)
            abort();
        t->attempts = grown;
        t->cap_attempts = cap;
    }
    sim_pay_attempt_t *r = &t->attempts[t->n_attempts++];
    *r = (sim_pay_attempt_t){.chain = a->chain,
                             .attempt = a->attempt,
                             .duplicate = a->duplicate,
                             .accepted = a->accepted,
                             .url = strdup(a->url),
                             .at_ms = a->at_ms,
                             .duration_ms = a->duration_ms,
                             .http_status = a->http_status,
                             .error = strdup(a->error)};
    if (r->url == NULL || r->error == NULL)
        abort();
    sim_pay_copy(r->rsp_code, sizeof r->rsp_code, a->rsp_code);
    sim_pay_copy(r->message, sizeof r->message, a->message);
}

/* ---- state, options and start ---- */

static void *sim_pay_state_new(const sim_people_t *people, const char *certs_dir)
{
    sim_pay_state_t *st = calloc(1, sizeof *st);
    if (st == NULL)
        return NULL;
    sim_pay_copy(st->tmn_code, sizeof st->tmn_code, SIM_PAY_DEFAULT_TMN);
    if (certs_dir != NULL) {
        sim_pay_copy(st->certs_dir, sizeof st->certs_dir, certs_dir);
        snprintf(st->secret_file, sizeof st->secret_file, "%s/%s", certs_dir, SIM_PAY_SECRET_NAME);
        snprintf(st->ipn_ca, sizeof st->ipn_ca, "%s/%s", certs_dir, SIM_PAY_IPN_CA_NAME);
    }
    sim_ipn_settings_default(&st->boot);
    sim_ipn_settings_default(&st->live);
    st->next_transaction_no = SIM_PAY_FIRST_TXN_NO;
    return st;
}

static int sim_pay_set_option(void *state, const char *name, const char *value, char *err, size_t errlen)
{
    sim_pay_state_t *st = state;
    if (strcmp(name, "tmn-code") == 0) {
        if (!sim_pay_all(value, SIM_PAY_TMN_LEN, SIM_PAY_TMN_LEN, sim_pay_alnum)) {
            snprintf(err, errlen, "a terminal code is 8 letters or digits");
            return -1;
        }
        sim_pay_copy(st->tmn_code, sizeof st->tmn_code, value);
    } else if (strcmp(name, "payment-secret-file") == 0) {
        sim_pay_copy(st->secret_file, sizeof st->secret_file, value);
    } else if (strcmp(name, "ipn-ca") == 0) {
        sim_pay_copy(st->ipn_ca, sizeof st->ipn_ca, value);
    } else if (strcmp(name, "ipn-url") == 0) {
        if (sim_ipn_settings_add_url(&st->boot, value) < 0 || sim_ipn_settings_add_url(&st->live, value) < 0) {
            snprintf(err, errlen, "needs an http:// or https:// URL, at most %d of them", SIM_IPN_MAX_URLS);
            return -1;
        }
    } else {
        snprintf(err, errlen, "not a payment flag");
        return -1;
    }
    return 0;
}

static int sim_pay_start(void *state, struct event_base *base, char *err, size_t errlen)
{
    sim_pay_state_t *st = state;
    if (st->secret_file[0] == '\0') {
        snprintf(err, errlen, "needs --certs-dir or --payment-secret-file (the hash secret)");
        return -1;
    }
    if (sim_secret_load(st->secret_file, st->secret, sizeof st->secret, &st->secret_len, err, errlen) < 0)
        return -1;
    FILE *ca = st->ipn_ca[0] ? fopen(st->ipn_ca, "r") : NULL;
    if (st->ipn_ca[0] && ca == NULL) {
        snprintf(err, errlen, "cannot read the IPN CA %s", st->ipn_ca);
        return -1;
    }
    if (ca != NULL)
        fclose(ca);
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK || (st->fetcher = sim_fetcher_new(base)) == NULL) {
        snprintf(err, errlen, "cannot set up the IPN client (libcurl)");
        return -1;
    }
    st->ipn = sim_ipn_new(st->fetcher, &st->live, st->ipn_ca[0] ? st->ipn_ca : NULL, sim_pay_record_attempt, st);
    if (st->ipn == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    return 0;
}

static void sim_pay_state_reset(void *state)
{
    sim_pay_state_t *st = state;
    if (st->ipn)
        sim_ipn_cancel_all(st->ipn);
    sim_pay_forget_all(st);
    sim_ipn_settings_free(&st->live);
    sim_ipn_settings_copy(&st->live, &st->boot);
    st->next_transaction_no = SIM_PAY_FIRST_TXN_NO;
}

static void sim_pay_state_free(void *state)
{
    sim_pay_state_t *st = state;
    if (st == NULL)
        return;
    sim_ipn_free(st->ipn);
    if (st->fetcher != NULL) {
        sim_fetcher_free(st->fetcher);
        curl_global_cleanup();
    }
    sim_pay_forget_all(st);
    sim_ipn_settings_free(&st->boot);
    sim_ipn_settings_free(&st->live);
    OPENSSL_cleanse(st->secret, sizeof st->secret);
    free(st);
}

/* ---- checking a pay URL (ICD §1) ---- */

typedef struct sim_pay_refusal {
    int status;
    const char *reason;
    const char *code;
    const char *vi, *en;
    char detail[300];
} sim_pay_refusal_t;

static int sim_pay_refuse(sim_pay_refusal_t *r, int status, const char *code, const char *vi, const char *en,
                          const char *fmt, ...) __attribute__((format(printf, 6, 7)));

static int sim_pay_refuse(sim_pay_refusal_t *r, int status, const char *code, const char *vi, const char *en,
                          const char *fmt, ...)
{
    r->status = status;
    r->reason = status == 400 ? "Bad Request" : status == 403 ? "Forbidden" : status == 409 ? "Conflict" : "Gone";
    r->code = code;
    r->vi = vi;
    r->en = en;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->detail, sizeof r->detail, fmt, ap);
    va_end(ap);
    return -1;
}

#define SIM_PAY_BAD_FORMAT(r, ...)                                                                                     \
    sim_pay_refuse(r, 400, "invalid_format", "Dữ liệu không đúng định dạng", "Invalid data format", __VA_ARGS__)

/* Every parameter §1 requires, in the ICD's order. */
static const char *const sim_pay_required[] = {
    "vnp_Version",   "vnp_Command", "vnp_TmnCode",   "vnp_Amount", "vnp_CurrCode",   "vnp_TxnRef",     "vnp_OrderInfo",
    "vnp_OrderType", "vnp_Locale",  "vnp_ReturnUrl", "vnp_IpAddr", "vnp_CreateDate", "vnp_ExpireDate", "vnp_SecureHash",
};

static int sim_pay_check_presence(const sim_vnp_params_t *ps, sim_pay_refusal_t *r)
{
    if (sim_vnp_params_get(ps, "vnp_SecureHashType") != NULL)
        return SIM_PAY_BAD_FORMAT(r, "vnp_SecureHashType must not be sent in version 2.1.0");
    for (size_t i = 0; i < SIM_COUNT(sim_pay_required); i++) {
        const char *v = sim_vnp_params_get(ps, sim_pay_required[i]);
        if (v == NULL || v[0] == '\0')
            return SIM_PAY_BAD_FORMAT(r, "%s is missing or empty", sim_pay_required[i]);
    }
    if (strcmp(sim_vnp_params_get(ps, "vnp_Version"), SIM_PAY_VERSION) != 0)
        return SIM_PAY_BAD_FORMAT(r, "vnp_Version must be " SIM_PAY_VERSION);
    if (strcmp(sim_vnp_params_get(ps, "vnp_Command"), "pay") != 0)
        return SIM_PAY_BAD_FORMAT(r, "vnp_Command must be pay");
    return 0;
}

static int sim_pay_check_signature(const sim_pay_state_t *st, const sim_vnp_params_t *ps, sim_pay_refusal_t *r)
{
    if (strcmp(sim_vnp_params_get(ps, "vnp_TmnCode"), st->tmn_code) != 0)
        return sim_pay_refuse(r, 403, "unknown_terminal", "Không tìm thấy mã website (TmnCode)",
                              "Unknown terminal (TmnCode)", "vnp_TmnCode is not %s", st->tmn_code);
    char want[SIM_VNP_HASH_HEX + 1];
    sim_vnp_sign(ps, st->secret, st->secret_len, want);
    if (!sim_vnp_hash_equal(sim_vnp_params_get(ps, "vnp_SecureHash"), want))
        return sim_pay_refuse(r, 403, "invalid_signature", "Sai chữ ký", "Invalid signature",
                              "vnp_SecureHash does not match the hash data (ICD section 1, Signature)");
    return 0;
}

/* One field's rule: the check and what the refusal says. */
typedef struct sim_pay_rule {
    const char *name;
    int (*valid)(const char *);
    const char *rule;
} sim_pay_rule_t;

static int sim_pay_txn_ref_valid(const char *s)
{
    return sim_pay_all(s, 1, SIM_PAY_REF_MAX, sim_pay_ref_char);
}

static int sim_pay_order_info_valid(const char *s)
{
    return sim_pay_all(s, 1, SIM_PAY_ORDER_INFO_MAX, sim_pay_order_info_char);
}

static int sim_pay_order_type_valid(const char *s)
{
    return sim_pay_all(s, 1, SIM_PAY_ORDER_TYPE_MAX, sim_pay_order_type_char);
}

static int sim_pay_locale_valid(const char *s)
{
    return strcmp(s, "vn") == 0 || strcmp(s, "en") == 0;
}

static int sim_pay_curr_valid(const char *s)
{
    return strcmp(s, "VND") == 0;
}

static const sim_pay_rule_t sim_pay_rules[] = {
    {"vnp_Amount", sim_pay_amount_valid, "amount in VND x 100: 3-12 digits, no leading zero, ending in 00"},
    {"vnp_CurrCode", sim_pay_curr_valid, "must be VND"},
    {"vnp_TxnRef", sim_pay_txn_ref_valid, "1-100 of A-Z a-z 0-9 _ -"},
    {"vnp_OrderInfo", sim_pay_order_info_valid,
     "1-255 characters without diacritics: letters, digits, spaces and . , - _ : /"},
    {"vnp_OrderType", sim_pay_order_type_valid, "1-100 of A-Z a-z 0-9 _"},
    {"vnp_Locale", sim_pay_locale_valid, "must be vn or en"},
    {"vnp_ReturnUrl", sim_pay_return_url_valid, "an http(s) URL of at most 255 characters, without spaces"},
    {"vnp_IpAddr", sim_pay_ip_valid, "an IPv4 or IPv6 address"},
    {"vnp_CreateDate", sim_clock_vn_stamp_valid, "yyyyMMddHHmmss"},
    {"vnp_ExpireDate", sim_clock_vn_stamp_valid, "yyyyMMddHHmmss"},
};

static int sim_pay_check_fields(const sim_vnp_params_t *ps, sim_pay_refusal_t *r)
{
    for (size_t i = 0; i < SIM_COUNT(sim_pay_rules); i++)
        if (!sim_pay_rules[i].valid(sim_vnp_params_get(ps, sim_pay_rules[i].name)))
            return SIM_PAY_BAD_FORMAT(r, "%s: %s", sim_pay_rules[i].name, sim_pay_rules[i].rule);
    const char *bank = sim_vnp_params_get(ps, "vnp_BankCode");
    if (bank != NULL && bank[0] != '\0' && !sim_pay_bank_code_valid(bank))
        return SIM_PAY_BAD_FORMAT(r, "vnp_BankCode: 1-20 letters or digits");
    return 0;
}

static int sim_pay_expired(const char *expire_date)
{
    char now[SIM_CLOCK_VN_LEN + 1];
    sim_clock_vn_stamp(time(NULL), now);
    return strcmp(expire_date, now) <= 0;
}

static void sim_pay_txn_from(const sim_vnp_params_t *ps, sim_pay_txn_t *t)
{
    memset(t, 0, sizeof *t);
    sim_pay_copy(t->txn_ref, sizeof t->txn_ref, sim_vnp_params_get(ps, "vnp_TxnRef"));
    sim_pay_copy(t->amount, sizeof t->amount, sim_vnp_params_get(ps, "vnp_Amount"));
    sim_pay_copy(t->order_info, sizeof t->order_info, sim_vnp_params_get(ps, "vnp_OrderInfo"));
    sim_pay_copy(t->order_type, sizeof t->order_type, sim_vnp_params_get(ps, "vnp_OrderType"));
    sim_pay_copy(t->locale, sizeof t->locale, sim_vnp_params_get(ps, "vnp_Locale"));
    sim_pay_copy(t->return_url, sizeof t->return_url, sim_vnp_params_get(ps, "vnp_ReturnUrl"));
    sim_pay_copy(t->ip_addr, sizeof t->ip_addr, sim_vnp_params_get(ps, "vnp_IpAddr"));
    sim_pay_copy(t->create_date, sizeof t->create_date, sim_vnp_params_get(ps, "vnp_CreateDate"));
    sim_pay_copy(t->expire_date, sizeof t->expire_date, sim_vnp_params_get(ps, "vnp_ExpireDate"));
    sim_pay_copy(t->bank_code, sizeof t->bank_code, sim_vnp_params_get(ps, "vnp_BankCode"));
    t->created_ms = sim_clock_now_ms();
}

/* The transaction a valid pay URL names, recorded when new; NULL with r filled when the URL is refused. */
static sim_pay_txn_t *sim_pay_accept_url(sim_pay_state_t *st, const sim_request_t *req, sim_pay_refusal_t *r)
{
    sim_vnp_params_t ps;
    sim_vnp_params_init(&ps);
    sim_pay_txn_t *t = NULL;
    char err[200];
    const char *q = req->query ? req->query : "";
    if (sim_vnp_params_parse(&ps, q, strlen(q), err, sizeof err) < 0) {
        SIM_PAY_BAD_FORMAT(r, "%s", err);
    } else if (sim_pay_check_presence(&ps, r) == 0 && sim_pay_check_signature(st, &ps, r) == 0 &&
               sim_pay_check_fields(&ps, r) == 0) {
        sim_pay_txn_t proto;
        sim_pay_txn_from(&ps, &proto);
        sim_pay_txn_t *known = sim_pay_find(st, proto.txn_ref);
        if (sim_pay_expired(proto.expire_date))
            sim_pay_refuse(r, 410, "expired", "Giao dịch đã quá thời gian chờ thanh toán",
                           "The payment window has expired", "vnp_ExpireDate %s (UTC+07:00) has passed",
                           proto.expire_date);
        else if (known != NULL && strcmp(known->amount, proto.amount) != 0)
            sim_pay_refuse(r, 409, "txn_ref_reused", "Mã giao dịch đã tồn tại", "This TxnRef was already used",
                           "vnp_TxnRef %s was used with vnp_Amount %s", known->txn_ref, known->amount);
        else if (known != NULL && known->completed)
            sim_pay_refuse(r, 409, "already_completed", "Giao dịch đã được xử lý",
                           "This transaction is already complete", "vnp_TxnRef %s completed with vnp_ResponseCode %s",
                           known->txn_ref, known->result.response_code);
        else
            t = known != NULL ? known : sim_pay_add(st, &proto);
    }
    sim_vnp_params_free(&ps);
    return t;
}

static void sim_pay_handle_url(sim_pay_state_t *st, const sim_request_t *req, sim_reply_t *reply)
{
    sim_pay_refusal_t r;
    sim_pay_txn_t *t = sim_pay_accept_url(st, req, &r);
    if (t == NULL)
        sim_pay_page_error(reply, r.status, r.reason, r.code, r.vi, r.en, r.detail);
    else
        sim_pay_page_pay(reply, t, st->tmn_code);
}

/* ---- completing: the result, the IPN and the browser return (ICD §2, §3) ---- */

static void sim_pay_sign_result(const sim_pay_state_t *st, sim_pay_txn_t *t)
{
    const sim_pay_result_t *res = &t->result;
    sim_vnp_params_t ps;
    sim_vnp_params_init(&ps);
    /* The ICD's IPN list; empty values (no bank transaction for a cancelled payment) are neither signed nor sent. */
    sim_vnp_params_add(&ps, "vnp_Amount", t->amount);
    sim_vnp_params_add(&ps, "vnp_BankCode", res->bank_code);
    sim_vnp_params_add(&ps, "vnp_BankTranNo", res->bank_tran_no);
    sim_vnp_params_add(&ps, "vnp_CardType", res->card_type);
    sim_vnp_params_add(&ps, "vnp_OrderInfo", t->order_info);
    sim_vnp_params_add(&ps, "vnp_PayDate", res->pay_date);
    sim_vnp_params_add(&ps, "vnp_ResponseCode", res->response_code);
    sim_vnp_params_add(&ps, "vnp_TmnCode", st->tmn_code);
    sim_vnp_params_add(&ps, "vnp_TransactionNo", res->transaction_no);
    sim_vnp_params_add(&ps, "vnp_TransactionStatus", res->transaction_status);
    sim_vnp_params_add(&ps, "vnp_TxnRef", t->txn_ref);
    sim_buf_t q;
    sim_buf_init(&q);
    sim_vnp_signed_query(&ps, st->secret, st->secret_len, &q);
    free(t->result.query);
    t->result.query = q.data; /* the buffer's bytes now belong to the transaction */
    sim_vnp_params_free(&ps);
}

unsigned sim_pay_send_ipn(sim_pay_state_t *st, sim_pay_txn_t *t)
{
    if (st->ipn == NULL || !t->completed)
        return 0;
    unsigned n = sim_ipn_deliver(st->ipn, t->txn_ref, t->result.query, t->chains + 1);
    t->chains += n;
    return n;
}

void sim_pay_complete(sim_pay_state_t *st, sim_pay_txn_t *t, const char *response_code, const char *transaction_status,
                      const char *bank_code, int send_ipn)
{
    sim_pay_result_t *res = &t->result;
    int paid = strcmp(response_code, "00") == 0 && strcmp(transaction_status, "00") == 0;
    t->completed = 1;
    sim_pay_copy(res->response_code, sizeof res->response_code, response_code);
    sim_pay_copy(res->transaction_status, sizeof res->transaction_status, transaction_status);
    snprintf(res->transaction_no, sizeof res->transaction_no, "%llu", st->next_transaction_no++);
    sim_clock_vn_stamp(time(NULL), res->pay_date);
    sim_pay_copy(res->bank_code, sizeof res->bank_code,
                 bank_code && bank_code[0] ? bank_code
                 : t->bank_code[0]         ? t->bank_code
                                           : SIM_PAY_DEFAULT_BANK);
    if (paid)
        snprintf(res->bank_tran_no, sizeof res->bank_tran_no, "VNP%s", res->transaction_no);
    sim_pay_copy(res->card_type, sizeof res->card_type, "ATM");
    sim_pay_sign_result(st, t);
    if (send_ipn)
        sim_pay_send_ipn(st, t);
}

char *sim_pay_redirect_url(const sim_pay_txn_t *t)
{
    if (!t->completed)
        return NULL;
    size_t len = strlen(t->return_url) + 1 + strlen(t->result.query) + 1;
    char *url = malloc(len);
    if (url == NULL)
        abort();
    snprintf(url, len, "%s%c%s", t->return_url, strchr(t->return_url, '?') ? '&' : '?', t->result.query);
    return url;
}

/* The pay page's form: txn_ref, action pay|cancel, bank_code. */
static void sim_pay_handle_form(sim_pay_state_t *st, const sim_request_t *req, sim_reply_t *reply)
{
    sim_vnp_params_t ps;
    sim_vnp_params_init(&ps);
    char err[200] = "";
    const char *ct = req->header(req, "Content-Type");
    if (ct == NULL || !sim_text_media_type_is(ct, "application/x-www-form-urlencoded"))
        snprintf(err, sizeof err, "the form must be application/x-www-form-urlencoded");
    else
        sim_vnp_params_parse(&ps, (const char *)req->body, req->body_len, err, sizeof err);
    const char *ref = sim_vnp_params_get(&ps, "txn_ref");
    const char *action = sim_vnp_params_get(&ps, "action");
    const char *bank = sim_vnp_params_get(&ps, "bank_code");
    sim_pay_txn_t *t = ref ? sim_pay_find(st, ref) : NULL;
    if (err[0] == '\0' && (action == NULL || (strcmp(action, "pay") != 0 && strcmp(action, "cancel") != 0)))
        snprintf(err, sizeof err, "action must be pay or cancel");
    if (err[0] == '\0' && bank != NULL && !sim_pay_bank_code_valid(bank))
        snprintf(err, sizeof err, "bank_code: 1-20 letters or digits");
    if (err[0] != '\0') {
        sim_pay_page_error(reply, 400, "Bad Request", "invalid_format", "Dữ liệu không đúng định dạng",
                           "Invalid data format", err);
    } else if (t == NULL) {
        sim_pay_page_error(reply, 404, "Not Found", "unknown_transaction", "Không tìm thấy giao dịch",
                           "Transaction not found", "no transaction with this txn_ref");
    } else if (t->completed) {
        sim_pay_page_error(reply, 409, "Conflict", "already_completed", "Giao dịch đã được xử lý",
                           "This transaction is already complete", "it cannot be paid or cancelled again");
    } else {
        /* Paying after vnp_ExpireDate fails with 11, "payment window expired" (ICD §2 code list). */
        int pay = strcmp(action, "pay") == 0, late = sim_pay_expired(t->expire_date);
        sim_pay_complete(st, t, !pay ? "24" : late ? "11" : "00", pay && !late ? "00" : "02", bank, 1);
        char *url = sim_pay_redirect_url(t);
        sim_pay_page_redirect(reply, url);
        free(url);
    }
    sim_vnp_params_free(&ps);
}

/* ---- querydr (ICD §4) ---- */

typedef struct sim_pay_qdr {
    const char *code;
    const char *message;
    const char *in[QDR_IN_NFIELDS]; /* the request's values, NULL when absent */
} sim_pay_qdr_t;

static int sim_pay_qdr_fail(sim_pay_qdr_t *q, const char *code, const char *message)
{
    q->code = code;
    q->message = message;
    return -1;
}

/* Every field present as a non-empty string in the ICD's format; -1 with code 03 otherwise. */
static int sim_pay_qdr_read(const json_t *doc, sim_pay_qdr_t *q)
{
    for (size_t i = 0; i < SIM_COUNT(sim_pay_qdr_request_fields); i++) {
        const char *v = json_string_value(json_object_get(doc, sim_pay_qdr_request_fields[i]));
        q->in[i] = v;
        if (v == NULL || v[0] == '\0')
            return sim_pay_qdr_fail(q, "03", "Invalid data format: a field is missing, empty or not a string");
    }
    if (!json_is_string(json_object_get(doc, "vnp_SecureHash")))
        return sim_pay_qdr_fail(q, "03", "Invalid data format: vnp_SecureHash is missing");
    if (strcmp(q->in[QDR_IN_VERSION], SIM_PAY_VERSION) != 0 || strcmp(q->in[QDR_IN_COMMAND], "querydr") != 0)
        return sim_pay_qdr_fail(q, "03", "Invalid data format: vnp_Version 2.1.0 and vnp_Command querydr");
    if (!sim_pay_all(q->in[QDR_IN_REQUEST_ID], 1, SIM_PAY_REQUEST_ID_MAX, sim_pay_request_id_char) ||
        !sim_pay_txn_ref_valid(q->in[QDR_IN_TXN_REF]) || !sim_clock_vn_stamp_valid(q->in[QDR_IN_TRANSACTION_DATE]) ||
        !sim_clock_vn_stamp_valid(q->in[QDR_IN_CREATE_DATE]) || !sim_pay_ip_valid(q->in[QDR_IN_IP_ADDR]) ||
        strlen(q->in[QDR_IN_ORDER_INFO]) > SIM_PAY_ORDER_INFO_MAX)
        return sim_pay_qdr_fail(q, "03", "Invalid data format");
    return 0;
}

static int sim_pay_request_id_seen(sim_pay_state_t *st, const char *id)
{
    for (size_t i = 0; i < st->n_request_ids; i++)
        if (strcmp(st->request_ids[i], id) == 0)
            return 1;
    if (st->n_request_ids == st->cap_request_ids) {
        size_t cap = st->cap_request_ids ? st->cap_request_ids * 2 : 64;
        char **ids = realloc(st->request_ids, cap * sizeof *ids);
        if (ids == NULL)
            abort();
        st->request_ids = ids;
        st->cap_request_ids = cap;
    }
    if ((st->request_ids[st->n_request_ids] = strdup(id)) == NULL)
        abort();
    st->n_request_ids++;
    return 0;
}

/* The request as a JSON object; NULL with code 03 when it is not one. */
static json_t *sim_pay_qdr_parse(const sim_request_t *req, sim_pay_qdr_t *q)
{
    const char *ct = req->header(req, "Content-Type");
    if (ct == NULL || !sim_text_media_type_is(ct, "application/json")) {
        sim_pay_qdr_fail(q, "03", "Invalid data format: Content-Type must be application/json");
        return NULL;
    }
    json_t *doc = json_loadb((const char *)req->body, req->body_len, JSON_REJECT_DUPLICATES, NULL);
    if (!json_is_object(doc)) {
        sim_pay_qdr_fail(q, "03", "Invalid data format: the body is not a JSON object");
        json_decref(doc);
        return NULL;
    }
    return doc;
}

/* Checks in this order: format (03), terminal (02), checksum (97), request id (94), transaction (91). The
 * transaction when every check passes, else NULL with q's code and message set. */
static sim_pay_txn_t *sim_pay_qdr_check(sim_pay_state_t *st, const json_t *doc, sim_pay_qdr_t *q)
{
    if (sim_pay_qdr_read(doc, q) < 0)
        return NULL;
    char want[SIM_VNP_HASH_HEX + 1];
    sim_vnp_pipe_sign(q->in, QDR_IN_NFIELDS, st->secret, st->secret_len, want);
    sim_pay_txn_t *t = sim_pay_find(st, q->in[QDR_IN_TXN_REF]);
    if (strcmp(q->in[QDR_IN_TMN_CODE], st->tmn_code) != 0)
        sim_pay_qdr_fail(q, "02", "Merchant is not valid (TmnCode)");
    else if (!sim_vnp_hash_equal(json_string_value(json_object_get(doc, "vnp_SecureHash")), want))
        sim_pay_qdr_fail(q, "97", "Invalid Checksum");
    else if (sim_pay_request_id_seen(st, q->in[QDR_IN_REQUEST_ID]))
        sim_pay_qdr_fail(q, "94", "Duplicate request: vnp_RequestId was used before");
    /* vnp_TransactionDate is the payment's vnp_CreateDate: with another one, it is another payment. */
    else if (t == NULL || strcmp(t->create_date, q->in[QDR_IN_TRANSACTION_DATE]) != 0)
        sim_pay_qdr_fail(q, "91", "Transaction not found");
    else
        return t;
    return NULL;
}

static void sim_pay_qdr_fill(const sim_pay_state_t *st, const sim_pay_txn_t *t, const sim_pay_qdr_t *q, const char *tmn,
                             const char *ref, const char *info, const char *v[QDR_NFIELDS])
{
    for (size_t i = 0; i < QDR_NFIELDS; i++)
        v[i] = "";
    v[QDR_COMMAND] = "querydr";
    v[QDR_RESPONSE_CODE] = q->code;
    v[QDR_MESSAGE] = q->message;
    v[QDR_TMN_CODE] = tmn;
    v[QDR_TXN_REF] = ref;
    v[QDR_ORDER_INFO] = info;
    if (t == NULL)
        return;
    v[QDR_TMN_CODE] = st->tmn_code;
    v[QDR_AMOUNT] = t->amount;
    v[QDR_ORDER_INFO] = t->order_info;
    v[QDR_TRANSACTION_TYPE] = "01";                                                 /* a payment */
    v[QDR_TRANSACTION_STATUS] = t->completed ? t->result.transaction_status : "01"; /* 01: not completed */
    if (!t->completed)
        return;
    v[QDR_BANK_CODE] = t->result.bank_code;
    v[QDR_PAY_DATE] = t->result.pay_date;
    v[QDR_TRANSACTION_NO] = t->result.transaction_no;
}

static void sim_pay_qdr_response_id(char out[33])
{
    unsigned char rnd[16];
    if (RAND_bytes(rnd, sizeof rnd) != 1)
        abort();
    for (size_t i = 0; i < sizeof rnd; i++)
        snprintf(out + 2 * i, 3, "%02x", rnd[i]);
}

static void sim_pay_handle_querydr(sim_pay_state_t *st, const sim_request_t *req, const char *fault, sim_reply_t *reply)
{
    sim_pay_qdr_t q = {.code = "00", .message = "QueryDR Success"};
    json_t *doc = sim_pay_qdr_parse(req, &q);
    sim_pay_txn_t *t = doc ? sim_pay_qdr_check(st, doc, &q) : NULL;
    if (fault != NULL && strcmp(fault, "querydr99") == 0) {
        sim_pay_qdr_fail(&q, "99", "Unknown error");
        t = NULL;
    }
    if (t != NULL)
        t->queries++;
    const char *tmn = json_string_value(json_object_get(doc, "vnp_TmnCode"));
    const char *ref = json_string_value(json_object_get(doc, "vnp_TxnRef"));
    const char *info = json_string_value(json_object_get(doc, "vnp_OrderInfo"));
    const char *v[QDR_NFIELDS];
    sim_pay_qdr_fill(st, t, &q, tmn ? tmn : "", ref ? ref : "", info ? info : "", v);
    char response_id[33];
    sim_pay_qdr_response_id(response_id);
    v[QDR_RESPONSE_ID] = response_id;
    char hash[SIM_VNP_HASH_HEX + 1];
    sim_vnp_pipe_sign(v, QDR_NFIELDS, st->secret, st->secret_len, hash);
    if (fault != NULL && strcmp(fault, "bad_hash") == 0)
        hash[0] = hash[0] == '0' ? '1' : '0';
    json_t *out = json_object();
    for (size_t i = 0; i < QDR_NFIELDS; i++)
        json_object_set_new(out, sim_pay_qdr_response_fields[i], json_string(v[i]));
    json_object_set_new(out, "vnp_SecureHash", json_string(hash));
    json_decref(doc); /* last: v[] points into it */
    sim_json_reply(reply, 200, "OK", out);
}

/* ---- the service ---- */

static int sim_pay_owns_path(const char *path)
{
    return strcmp(path, SIM_PAY_URL_PATH) == 0 || strcmp(path, SIM_PAY_COMPLETE_PATH) == 0 ||
           strcmp(path, SIM_PAY_QUERY_PATH) == 0;
}

static int sim_pay_operation_of(const sim_request_t *req)
{
    if (strcmp(req->path, SIM_PAY_URL_PATH) == 0)
        return SIM_PAY_OP_PAY;
    return strcmp(req->path, SIM_PAY_COMPLETE_PATH) == 0 ? SIM_PAY_OP_COMPLETE : SIM_PAY_OP_QUERYDR;
}

static void sim_pay_not_allowed(sim_reply_t *reply, const char *allow)
{
    reply->status = 405;
    reply->reason = "Method Not Allowed";
    reply->content_type = "text/plain; charset=utf-8";
    sim_reply_add_header(reply, "Allow", allow);
    sim_buf_printf(&reply->body, "method not allowed; use %s\n", allow);
}

static void sim_pay_handle(void *state, const sim_people_t *people, const sim_request_t *req, const char *fault,
                           sim_reply_t *reply)
{
    sim_pay_state_t *st = state;
    int op = sim_pay_operation_of(req);
    const char *want = op == SIM_PAY_OP_PAY ? "GET" : "POST";
    if (strcmp(req->method, want) != 0)
        sim_pay_not_allowed(reply, want);
    else if (op == SIM_PAY_OP_PAY)
        sim_pay_handle_url(st, req, reply);
    else if (op == SIM_PAY_OP_COMPLETE)
        sim_pay_handle_form(st, req, reply);
    else
        sim_pay_handle_querydr(st, req, fault, reply);
}

/* ---- --sample: what a portal would ask the gateway to collect (northbound POST /v1/payments bodies) ---- */

static const long sim_pay_sample_fees[] = {15000, 20000, 30000, 50000, 100000, 150000, 200000, 500000};
static const char *const sim_pay_sample_agencies[] = {"000.00.12.H53", "000.00.15.H53", "000.20.31.H53",
                                                      "000.33.21.H53"};

static int sim_pay_print_sample(const sim_people_t *people, size_t n, FILE *out)
{
    if (n > SIM_PAY_SAMPLE_MAX)
        n = SIM_PAY_SAMPLE_MAX;
    for (size_t i = 0; i < n; i++) {
        char dossier[64], description[128];
        snprintf(dossier, sizeof dossier, "%s-%06u-%04zu", sim_pay_sample_agencies[i % 4],
                 (unsigned)(250101 + (i / 28) % 12 * 100 + i % 28), i + 1);
        snprintf(description, sizeof description, "Thanh toan le phi ho so %s", dossier);
        json_t *line = json_pack("{s:s,s:I,s:s,s:s,s:s,s:s}", "dossier_id", dossier, "amount_vnd",
                                 (json_int_t)sim_pay_sample_fees[(i * 5 + 3) % SIM_COUNT(sim_pay_sample_fees)],
                                 "description", description, "return_url", "https://localhost/portal/payments/return",
                                 "client_ip", "203.0.113.10", "locale", i % 5 == 4 ? "en" : "vn");
        if (sim_json_print_line(out, line) != 0)
            return -1;
    }
    return 0;
}

const sim_service_t sim_payment_service = {
    .name = "payment",
    .path = SIM_PAY_URL_PATH,
    .cert_name = "payment-sim",
    .default_port = 9105,
    .client_auth = SIM_CLIENT_CERT_NONE,
    .ops = sim_pay_ops,
    .faults = sim_pay_faults,
    .owns_path = sim_pay_owns_path,
    .operation_of = sim_pay_operation_of,
    .handle = sim_pay_handle,
    .state_new = sim_pay_state_new,
    .state_reset = sim_pay_state_reset,
    .state_free = sim_pay_state_free,
    .sample = sim_pay_print_sample,
    .control = sim_pay_control,
    .options = sim_pay_options,
    .set_option = sim_pay_set_option,
    .start = sim_pay_start,
};
