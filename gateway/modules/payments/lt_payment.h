/*
 * One fee payment (payments floor): the record every store backend keeps, and
 * its JSON form, which is both the journal's and Redis's representation and
 * the body of GET /v1/payments/{id} and of the portal's webhook events.
 *
 * A payment is created pending and reaches exactly one final state (paid,
 * failed or expired). Reaching it creates exactly one outbox event, whose id
 * is derived from the payment's, so that a repeat can never mint a second one.
 * Fixed-size fields keep records plain values that threads can copy freely.
 */
#ifndef LT_PAYMENT_H
#define LT_PAYMENT_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

typedef enum { LT_PAY_PENDING = 0, LT_PAY_PAID, LT_PAY_FAILED, LT_PAY_EXPIRED, LT_PAY_NSTATES } lt_pay_state_t;

#define LT_PAY_ID_MAX         40 /* payment_id, also vnp_TxnRef: [A-Za-z0-9_-] */
#define LT_PAY_DOSSIER_MAX    64 /* the portal's dossier id */
#define LT_PAY_URL_MAX        1024
#define LT_PAY_TEXT_MAX       1024 /* the portal's description, UTF-8 */
#define LT_PAY_ORDER_INFO_MAX 255
#define LT_PAY_IDEM_MAX       260 /* "<client CN, up to 127>\n<Idempotency-Key, up to 128>" */
/* The sealed citizen's part (lt_pay_sealed.h) as base64: "<client_ip>\n<return_url>", at most 63 + 1 + 1024 bytes,
 * plus the seal's 30, is 1118 bytes, 1492 in base64. */
#define LT_PAY_SEALED_MAX 1536

typedef struct lt_payment {
    char id[LT_PAY_ID_MAX + 1];
    char dossier_id[LT_PAY_DOSSIER_MAX + 1];
    long long amount_vnd;
    char description[LT_PAY_TEXT_MAX + 1];
    char order_info[LT_PAY_ORDER_INFO_MAX + 1]; /* vnp_OrderInfo: the description folded to ASCII */
    /* The citizen's part: in memory only. A stored payment keeps them in `sealed` (lt_pay_sealed.h), so they are
     * "" in a payment read from the store until lt_pay_unseal opens them. A payment stored before sealing existed
     * has them in clear and `sealed` "". */
    char return_url[LT_PAY_URL_MAX + 1]; /* the portal's, where the citizen ends up */
    char client_ip[64];                  /* vnp_IpAddr */
    char sealed[LT_PAY_SEALED_MAX + 1];
    char locale[3];                        /* "vn" or "en" */
    char client[128];                      /* the api client (certificate CN) that created it */
    char idempotency[LT_PAY_IDEM_MAX + 1]; /* scope + key, "" when none was given */
    char
        fingerprint[65]; /* HMAC-SHA256 hex (cache.keys.hmac) of the creating request: a retry, or a reuse of the key */
    char create_date[15], expire_date[15]; /* vnp_CreateDate and vnp_ExpireDate, yyyyMMddHHmmss UTC+07:00 */
    int64_t created_at_ms, expires_at_ms, updated_at_ms; /* Unix milliseconds (wall clock) */
    lt_pay_state_t state;
    /* Filled when the payment is settled (by IPN or querydr), "" before. */
    char response_code[3], transaction_status[3];
    char bank_code[21], transaction_no[33], pay_date[15];
    char settled_by[8]; /* "ipn", "querydr" */
} lt_payment_t;

const char *lt_pay_state_name(lt_pay_state_t s); /* "pending", "paid", "failed", "expired" */
int lt_pay_state_parse(const char *name, lt_pay_state_t *out);
static inline bool lt_pay_state_is_final(lt_pay_state_t s)
{
    return s != LT_PAY_PENDING;
}

/* The stored form: every field, but with `sealed` set, that instead of return_url and client_ip. */
json_t *lt_payment_to_json(const lt_payment_t *p);
/* Returns 0, or -1 when a field is missing, mistyped or too long. Reads either form: `sealed`, or (a payment
 * stored before sealing) return_url and client_ip in clear. */
int lt_payment_from_json(const json_t *obj, lt_payment_t *p);

/* The outbox event of a payment that reached a final state. */
typedef enum { LT_EVENT_PENDING = 0, LT_EVENT_DELIVERED, LT_EVENT_DEAD } lt_event_state_t;

typedef struct lt_pay_event {
    char event_id[LT_PAY_ID_MAX + 8]; /* "evt-" + payment id: one final state, one event */
    char payment_id[LT_PAY_ID_MAX + 1];
    char type[24]; /* "payment.paid", "payment.failed", "payment.expired" */
    lt_event_state_t state;
    int attempts;
    int64_t created_at_ms, next_attempt_at_ms, updated_at_ms;
    char last_error[160];
} lt_pay_event_t;

const char *lt_event_state_name(lt_event_state_t s); /* "pending", "delivered", "dead" */
void lt_pay_event_for(const lt_payment_t *p, int64_t now_ms, lt_pay_event_t *ev);
json_t *lt_pay_event_to_json(const lt_pay_event_t *ev);
int lt_pay_event_from_json(const json_t *obj, lt_pay_event_t *ev);

#endif
