/*
 * A new payment from the portal's request (POST /v1/payments), and the signed
 * pay URL of a stored payment (icd/payment.md §1). Pure: no I/O, so the URL
 * of a payment is the same every time it is built, which is what lets an
 * Idempotency-Key replay answer the very same pay_url.
 */
#ifndef LT_PAY_NEW_H
#define LT_PAY_NEW_H

#include <jansson.h>

#include "lt_error.h"
#include "lt_pay_service.h"
#include "lt_payment.h"

typedef struct lt_pay_origin {
    const char *client;          /* the api client's certificate CN */
    const char *idempotency_key; /* the Idempotency-Key header, NULL when absent */
    int64_t now_ms;              /* wall clock */
} lt_pay_origin_t;

/* Validates body and fills a new pending payment with a fresh id. -1 with err (400) naming the bad field. */
int lt_pay_new_from_request(const lt_pay_service_t *svc, const json_t *body, const lt_pay_origin_t *origin,
                            lt_payment_t *out, lt_error_t *err);

/* The citizen's pay URL, malloc'd. */
char *lt_pay_url(const lt_pay_service_t *svc, const lt_payment_t *p);

/* What GET /v1/payments/{id} and the webhook events show of a payment (northbound.md). */
json_t *lt_pay_public_json(const lt_payment_t *p);

/* A payment id as the gateway mints them, checked before any store lookup. */
bool lt_pay_id_is_valid(const char *id);

#endif
