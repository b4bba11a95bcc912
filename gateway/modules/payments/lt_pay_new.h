/*
 * A new payment from the portal's request (POST /v1/payments), and the signed
 * pay URL of a stored payment (icd/payment.md §1). Pure: no I/O, so the URL
 * of a payment is the same every time it is built, which is what lets an
 * Idempotency-Key replay answer the very same pay_url.
 */
#ifndef LT_PAY_NEW_H
#define LT_PAY_NEW_H

#include <jansson.h>

#include "lt_client.h"
#include "lt_error.h"
#include "lt_pay_service.h"
#include "lt_payment.h"

typedef struct lt_pay_origin {
    const char *client;                  /* the api client's id (lt_client_conf_t.id) */
    const lt_client_conf_t *client_conf; /* its entry in config: return_url_hosts; NULL: it lists none */
    const char *idempotency_key;         /* the Idempotency-Key header, NULL when absent */
    int64_t now_ms;                      /* wall clock */
} lt_pay_origin_t;

/* Validates body and fills a new pending payment with a fresh id. -1 with err (400) naming the bad field.
 * return_url must be https, without userinfo, whitespace, control characters or backslashes, and name a host on
 * the client's return_url_hosts; it is kept as libcurl's URL API writes it back, so that the redirect goes where
 * the check looked. */
int lt_pay_new_from_request(const lt_pay_service_t *svc, const json_t *body, const lt_pay_origin_t *origin,
                            lt_payment_t *out, lt_error_t *err);

/* How a payment stored before fingerprints were keyed was fingerprinted (SHA-256 of the canonical body), so that a
 * retry of it still replays rather than looking like a reuse of its Idempotency-Key. */
void lt_pay_legacy_fingerprint(const json_t *body, char out[65]);

/* The citizen's pay URL, malloc'd. Without p->client_ip (a sealed part that no longer opens) vnp_IpAddr is left
 * out, as the ICD leaves out every empty parameter. */
char *lt_pay_url(const lt_pay_service_t *svc, const lt_payment_t *p);

/* What GET /v1/payments/{id} and the webhook events show of a payment (northbound.md). */
json_t *lt_pay_public_json(const lt_payment_t *p);

/* A payment id as the gateway mints them, checked before any store lookup. */
bool lt_pay_id_is_valid(const char *id);

#endif
