/*
 * The dossier report (payments floor, main loop): every paid payment the store flags as owed to its dossier
 * (lt_pay_fee_pending) is handed to the module that takes payments' final states (lt_module.h,
 * take_payment_final), and its flag is cleared once that module kept it. Until then it is handed over again, at
 * the next poll or after a restart: at least once, and the taker adds nothing for a repeat. Without a taker (the
 * dossiers module off) nothing is asked of the store, and the flags wait for one.
 */
#ifndef LT_PAY_REPORT_H
#define LT_PAY_REPORT_H

#include <event2/event.h>

#include "lt_module.h"
#include "lt_pay_service.h"

typedef struct lt_pay_reporter lt_pay_reporter_t;

lt_pay_reporter_t *lt_pay_reporter_new(lt_pay_service_t *svc, struct event_base *base, lt_pay_conn_t *conn,
                                       const lt_module_peers_t *peers);
/* Before the conn is freed; after the taker stopped answering (the main loop no longer runs). */
void lt_pay_reporter_free(lt_pay_reporter_t *rep);

/* The payment as the hand-off carries it; its strings point into p and paid_at (32 bytes). Pure. */
void lt_pay_final_of(const lt_payment_t *p, char paid_at[32], lt_payment_final_t *out);

#endif
