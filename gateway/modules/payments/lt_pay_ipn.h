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

/* What reading an IPN or a return found. Anything but VERIFIED is answered RspCode 97 and changes nothing. */
typedef enum {
    LT_IPN_VERIFIED,       /* s is ready for lt_pay_settle */
    LT_IPN_BAD_SIGNATURE,  /* malformed, or the signature does not match */
    LT_IPN_OTHER_TERMINAL, /* correctly signed, but vnp_TmnCode names another merchant's terminal */
} lt_ipn_verdict_t;

/*
 * Verifies the query's signature and its terminal, and fills s (state PAID only for ResponseCode 00 with
 * TransactionStatus 00, FAILED for every other pair). A vnp_TmnCode that is present must be payments.tmn_code;
 * one that is absent is not required (ICD §2's checks do not name it), since the signature binds the rest.
 */
lt_ipn_verdict_t lt_ipn_read(const lt_pay_service_t *svc, const char *query, int64_t now_ms, lt_pay_settlement_t *s);
/* For the log: "the signature does not verify", "vnp_TmnCode is another merchant's". */
const char *lt_ipn_verdict_reason(lt_ipn_verdict_t v);

/* The answer for what the store did with a settlement. */
lt_ipn_rsp_t lt_ipn_rsp_for(lt_pay_outcome_t outcome);

/* {"RspCode":"..","Message":".."} */
json_t *lt_ipn_answer(lt_ipn_rsp_t rsp);

#endif
