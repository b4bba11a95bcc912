/*
 * sim_payment_int: what the payment simulator's three files share: the
 * transactions, the state, and the functions the control verbs and the pages
 * call. Not for other services.
 *
 *   sim_payment.c          the service: pay URL, browser completion, querydr, state
 *   sim_payment_control.c  /control/payment/... verbs
 *   sim_payment_page.c     the HTML pages a citizen's browser sees
 */
#ifndef SIM_PAYMENT_INT_H
#define SIM_PAYMENT_INT_H

#include "sim_clock.h"
#include "sim_fetch.h"
#include "sim_ipn.h"
#include "sim_service.h"

#include <stddef.h>

#define SIM_PAY_TMN_LEN        8   /* vnp_TmnCode: 8 alphanumeric characters */
#define SIM_PAY_REF_MAX        100 /* vnp_TxnRef */
#define SIM_PAY_AMOUNT_MAX     12  /* vnp_Amount digits */
#define SIM_PAY_ORDER_INFO_MAX 255
#define SIM_PAY_ORDER_TYPE_MAX 100
#define SIM_PAY_URL_MAX        255 /* vnp_ReturnUrl */
#define SIM_PAY_IP_MAX         45  /* the longest IPv6 text */
#define SIM_PAY_BANK_MAX       20
#define SIM_PAY_SECRET_MAX     256
#define SIM_PAY_PATH_MAX       4096

/* One IPN attempt as recorded for the control API. */
typedef struct sim_pay_attempt {
    unsigned chain, attempt;
    int duplicate, accepted;
    char *url;
    long long at_ms;
    long duration_ms;
    long http_status;
    char rsp_code[8];
    char message[160];
    char *error;
} sim_pay_attempt_t;

/* What completing a transaction decided; empty until then. */
typedef struct sim_pay_result {
    char response_code[3];
    char transaction_status[3];
    char transaction_no[16];
    char pay_date[SIM_CLOCK_VN_LEN + 1];
    char bank_code[SIM_PAY_BANK_MAX + 1];
    char bank_tran_no[24];
    char card_type[16];
    char *query; /* the signed parameters of the IPN and of the browser return */
} sim_pay_result_t;

typedef struct sim_pay_txn {
    char txn_ref[SIM_PAY_REF_MAX + 1];
    char amount[SIM_PAY_AMOUNT_MAX + 1];
    char order_info[SIM_PAY_ORDER_INFO_MAX + 1];
    char order_type[SIM_PAY_ORDER_TYPE_MAX + 1];
    char locale[3];
    char return_url[SIM_PAY_URL_MAX + 1];
    char ip_addr[SIM_PAY_IP_MAX + 1];
    char create_date[SIM_CLOCK_VN_LEN + 1];
    char expire_date[SIM_CLOCK_VN_LEN + 1];
    char bank_code[SIM_PAY_BANK_MAX + 1]; /* asked for in the pay URL, "" when not */
    long long created_ms;
    int completed;
    sim_pay_result_t result;
    sim_pay_attempt_t *attempts;
    size_t n_attempts, cap_attempts;
    unsigned chains;  /* IPN deliveries started */
    unsigned queries; /* querydr requests that found it */
} sim_pay_txn_t;

typedef struct sim_pay_state {
    char certs_dir[SIM_PAY_PATH_MAX]; /* "" without --certs-dir */
    char tmn_code[SIM_PAY_TMN_LEN + 1];
    char secret_file[SIM_PAY_PATH_MAX];
    char ipn_ca[SIM_PAY_PATH_MAX]; /* "" : the system's CAs */
    unsigned char secret[SIM_PAY_SECRET_MAX];
    size_t secret_len;
    sim_ipn_settings_t boot; /* from the command line; a reset returns to it */
    sim_ipn_settings_t live; /* what the control API changed */
    sim_fetcher_t *fetcher;
    sim_ipn_t *ipn;
    sim_pay_txn_t **txns;
    size_t n_txns, cap_txns;
    char **request_ids; /* querydr vnp_RequestId values seen */
    size_t n_request_ids, cap_request_ids;
    unsigned long long next_transaction_no;
} sim_pay_state_t;

/* The transaction with this reference, NULL when unknown. */
sim_pay_txn_t *sim_pay_find(const sim_pay_state_t *st, const char *txn_ref);
/* 1 when s is a 2-digit code (ResponseCode, TransactionStatus). */
int sim_pay_code_valid(const char *s);
/* 1 when s is 1-20 of [A-Za-z0-9] (vnp_BankCode). */
int sim_pay_bank_code_valid(const char *s);
/*
 * Completes a pending transaction: assigns vnp_TransactionNo and vnp_PayDate, signs the result parameters, and (when
 * send_ipn) starts the IPN. bank_code NULL or "" keeps the one of the pay URL, or NCB.
 */
void sim_pay_complete(sim_pay_state_t *st, sim_pay_txn_t *t, const char *response_code, const char *transaction_status,
                      const char *bank_code, int send_ipn);
/* Starts one more IPN delivery of a completed transaction; how many chains started (0: no URL). */
unsigned sim_pay_send_ipn(sim_pay_state_t *st, sim_pay_txn_t *t);
/* Where the browser goes after completion: return URL + the signed result parameters (malloc'd). */
char *sim_pay_redirect_url(const sim_pay_txn_t *t);

/* Control verbs under /control/payment/ (sim_payment_control.c). */
int sim_pay_control(void *state, const char *verb, const sim_request_t *req, sim_reply_t *reply);

/* Pages (sim_payment_page.c). The pay page's form posts to SIM_PAY_COMPLETE_PATH. */
#define SIM_PAY_COMPLETE_PATH "/paymentv2/complete"
void sim_pay_page_pay(sim_reply_t *reply, const sim_pay_txn_t *t, const char *tmn_code);
void sim_pay_page_error(sim_reply_t *reply, int status, const char *reason, const char *code, const char *vi,
                        const char *en, const char *detail);
void sim_pay_page_redirect(sim_reply_t *reply, const char *url);

#endif
