/*
 * The callbacks listener (floor 4): HTTPS with a server certificate only,
 * served by every worker beside its api listener (lt_server with this
 * handler), for the national payment gateway and citizens' browsers:
 *   GET /payments/vnpay/ipn     the IPN, answered exactly per icd/payment.md §2
 *   GET /payments/vnpay/return  the browser return: verified, then redirected
 *                               to the portal; never changes a payment
 */
#ifndef LT_CALLBACKS_H
#define LT_CALLBACKS_H

#include "lt_request.h"

void lt_callbacks_handle(lt_request_t *r);

#endif
