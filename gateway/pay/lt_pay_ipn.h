/*
 * Reading what the payment gateway sends back (icd/payment.md §2 and §3): the
 * IPN and the browser return carry the same signed parameters. Pure: the
 * store decides 01, 04, 02 and 00 (in that order, atomically); this module
 * decides 97, and what the parameters mean for the payment's state.
 */
#ifndef LT_PAY_IPN_H
#define LT_PAY_IPN_H

#include "lt_pay_service.h"
#include "lt_pay_store.h"

/*
 * Verifies the query's signature and fills s (state PAID only for ResponseCode 00 with TransactionStatus 00,
 * FAILED for every other pair). Returns LT_RSP_00_CONFIRMED when s is ready for lt_pay_settle, or
 * LT_RSP_97_INVALID_SIGNATURE when the query is malformed or its signature does not match.
 */
lt_ipn_rsp_t lt_ipn_read(const lt_pay_service_t *svc, const char *query, int64_t now_ms, lt_pay_settlement_t *s);

/* The answer for what the store did with a settlement. */
lt_ipn_rsp_t lt_ipn_rsp_for(lt_pay_outcome_t outcome);

/* {"RspCode":"..","Message":".."} */
json_t *lt_ipn_answer(lt_ipn_rsp_t rsp);

#endif
