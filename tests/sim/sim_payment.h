/*
 * sim_payment: the national payment gateway for fees (VNPAY 2.1.0-compatible),
 * written from icd/payment.md alone: the signed pay URL and its page, the
 * IPN to the merchant with the ICD's retries, the browser return, and the
 * querydr reconciliation API.
 */
#ifndef SIM_PAYMENT_H
#define SIM_PAYMENT_H

#include "sim_service.h"

extern const sim_service_t sim_payment_service;

#endif
