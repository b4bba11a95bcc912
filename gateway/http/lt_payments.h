/*
 * The portal's payment routes on the api listener (floor 4):
 *   POST /v1/payments       create a payment and answer its pay URL
 *                           (Idempotency-Key: a retry answers the same payment)
 *   GET  /v1/payments/{id}  the payment's state
 * Validation and the URL are lt_pay_new's; the state is the store's.
 */
#ifndef LT_PAYMENTS_H
#define LT_PAYMENTS_H

#include <stdbool.h>

#include "lt_request.h"

bool lt_payments_owns_path(const char *path);
void lt_payments_handle(lt_request_t *r);

#endif
