/*
 * The callbacks listener (payments module): HTTPS with a server certificate only,
 * served by every worker beside its api listener (lt_server with this
 * handler), for the national payment gateway and citizens' browsers:
 *   GET /payments/vnpay/ipn     the IPN, answered exactly per icd/payment.md §2
 *   GET /payments/vnpay/return  the browser return: verified, then redirected
 *                               to the portal; never changes a payment
 */
#ifndef LT_CALLBACKS_H
#define LT_CALLBACKS_H

#include "lt_pay_worker.h"
#include "lt_request.h"

/* A route handler (lt_module.h) for every path of the callbacks listener: worker_ctx is this worker's
 * lt_pay_worker_t. */
void lt_callbacks_handle(lt_request_t *r, void *worker_ctx);

#endif
