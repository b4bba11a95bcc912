/*
 * Payments as a whole (payments floor): what every loop that touches payments
 * shares, read-only once built (the config, the merchant's hash secret, the
 * webhook secret, the store), plus a few process-wide counters.
 *
 * Who runs what:
 *   - api workers create and read payments (POST/GET /v1/payments), each with
 *     its own store conn;
 *   - the main loop runs the callbacks listener (IPN, browser return), the
 *     outbox (webhook delivery) and reconciliation (querydr), with its conn.
 */
#ifndef LT_PAY_SERVICE_H
#define LT_PAY_SERVICE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "lt_cache_crypto.h"
#include "lt_error.h"
#include "lt_pay_config.h"
#include "lt_pay_store.h"
#include "lt_vnpay.h"

/* The IPN answers of icd/payment.md §2, in the order counters keep them. */
typedef enum {
    LT_RSP_00_CONFIRMED,
    LT_RSP_01_NOT_FOUND,
    LT_RSP_02_ALREADY_CONFIRMED,
    LT_RSP_04_INVALID_AMOUNT,
    LT_RSP_97_INVALID_SIGNATURE,
    LT_RSP_99_UNKNOWN_ERROR,
    LT_RSP_COUNT
} lt_ipn_rsp_t;

const char *lt_ipn_rsp_code(lt_ipn_rsp_t rsp);    /* "00" */
const char *lt_ipn_rsp_message(lt_ipn_rsp_t rsp); /* "Confirm Success" */

#define LT_PAY_SECRET_MAX 256

typedef struct lt_pay_service {
    const lt_payments_conf_t *conf;
    unsigned char hash_secret[LT_PAY_SECRET_MAX];
    size_t hash_secret_len;
    unsigned char webhook_secret[LT_PAY_SECRET_MAX];
    size_t webhook_secret_len;
    /* The cache's keys (cache.keys): the AEAD keys seal the citizen's part of every stored payment
     * (lt_pay_sealed.h), the HMAC key makes Idempotency-Key fingerprints. */
    lt_cache_keys_t keys;
    lt_pay_store_t *store;
    /* For lt_upstream_send: the payment gateway (querydr) and the portal's webhook, as plain HTTPS peers. */
    lt_upstream_conf_t gateway_peer, webhook_peer;
    _Atomic long long ipn_answers[LT_RSP_COUNT];
    _Atomic long long webhook_deliveries, webhook_failures, reconciled;
} lt_pay_service_t;

/* Reads the secrets and the cache's keys, and opens the store. NULL (err set) when payments are configured but
 * cannot start. */
lt_pay_service_t *lt_pay_service_new(const lt_payments_conf_t *conf, const lt_cache_conf_t *cache, lt_error_t *err);
void lt_pay_service_free(lt_pay_service_t *svc);

/* Payments need the cache's key files (cache.keys), whatever the cache's backend: a process's random keys would
 * not open what it stored before a restart. -1 (err names cache.keys) without them. */
int lt_pay_keys_required(const lt_cache_conf_t *cache, lt_error_t *err);

/* A secret file's text, trailing whitespace removed, used as the key bytes as is (the payment gateway issues
 * hash secrets as text). */
int lt_pay_secret_read(const char *path, const char *what, unsigned char *out, size_t *len, lt_error_t *err);

/* vnp_CreateDate / vnp_ExpireDate: yyyyMMddHHmmss in UTC+07:00 for a Unix time. */
void lt_pay_vn_time(int64_t unix_s, char out[15]);
/* The reverse; -1 when s is not a real date and time as yyyyMMddHHmmss, from 1970 on. */
int lt_pay_parse_vn_time(const char *s, int64_t *unix_s);
/* ISO 8601 with the +07:00 offset the province lives in, e.g. "2026-11-23T07:15:00+07:00". */
void lt_pay_iso_time(int64_t unix_ms, char out[32]);

int64_t lt_pay_now_ms(void); /* wall clock, Unix milliseconds */

#endif
