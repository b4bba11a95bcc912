/*
 * Reconciliation (payments floor), run by the main loop: payments still
 * pending once their expiry (plus reconcile.ipn_grace_s, for a late IPN) has
 * passed are asked about with querydr (icd/payment.md §4). The answer's
 * signature is verified before it is believed; the payment is then settled as
 * paid, failed or expired through the same atomic store step as an IPN, so a
 * reconciliation racing an IPN still records one outcome and one event.
 */
#ifndef LT_PAY_RECONCILE_H
#define LT_PAY_RECONCILE_H

#include <event2/event.h>

#include "lt_pay_service.h"
#include "lt_pay_store.h"
#include "lt_upstream.h"

typedef struct lt_pay_reconciler lt_pay_reconciler_t;

lt_pay_reconciler_t *lt_pay_reconciler_new(lt_pay_service_t *svc, struct event_base *base, lt_pay_conn_t *conn,
                                           lt_upstream_client_t *client);
void lt_pay_reconciler_free(lt_pay_reconciler_t *rc);

/* The querydr request body for a payment (request id and now given, for tests), malloc'd. */
char *lt_pay_querydr_body(const lt_pay_service_t *svc, const lt_payment_t *p, const char *request_id, int64_t now_s);

/*
 * Reads a querydr answer for payment p into s. Returns 0 when s should be settled, -1 when the answer is unusable
 * (bad JSON, bad signature, about another payment, an error code): why says what, and it is asked again later.
 */
int lt_pay_querydr_read(const lt_pay_service_t *svc, const lt_payment_t *p, const char *body, size_t len,
                        int64_t now_ms, lt_pay_settlement_t *s, char *why, size_t whylen);

#endif
