/*
 * The portal's payment routes on the api listener (payments module):
 *   POST /v1/payments       create a payment and answer its pay URL
 *                           (Idempotency-Key: a retry answers the same payment)
 *   GET  /v1/payments/{id}  the payment's state
 * Validation and the URL are lt_pay_new's; the state is the store's.
 */
#ifndef LT_PAYMENTS_H
#define LT_PAYMENTS_H

#include "lt_pay_worker.h"
#include "lt_request.h"

/* The collection's path; the module routes it and every path below it here. */
#define LT_PAYMENTS_COLLECTION "/v1/payments"

/* A route handler (lt_module.h): worker_ctx is this worker's lt_pay_worker_t. */
void lt_payments_handle(lt_request_t *r, void *worker_ctx);

#endif
