/*
 * Fees the gateway collected itself (dossiers floor): a paid payment handed over by the module that settles
 * payments (lt_module.h, take_payment_final) becomes one canonical fee of its dossier, listed in the store
 * (lt_dos_add_fee), so that the portal's next DongBoHoSoMC of that dossier carries it and the indicators count
 * it. Runs on the main loop, with the main loop's store conn.
 */
#ifndef LT_DOS_FEES_H
#define LT_DOS_FEES_H

#include <jansson.h>

#include "lt_dos_config.h"
#include "lt_dos_indicators.h"
#include "lt_dos_store.h"
#include "lt_module.h"

typedef struct lt_dos_fees lt_dos_fees_t;

/* kick: called once an entry is listed (the outbox's wake-up), with kick_arg. */
lt_dos_fees_t *lt_dos_fees_new(const lt_dossiers_conf_t *conf, struct event_base *base, lt_dos_conn_t *conn,
                               lt_dos_ind_t *indicators, void (*kick)(void *arg), void *kick_arg);
/* After the conn is freed: the answers still pending are dropped (their publisher hands them over again). */
void lt_dos_fees_free(lt_dos_fees_t *fees);

/* The canonical fee entry of a paid payment (a new reference), or NULL when it is not one the fee list takes (not
 * paid, no dossier, an amount or a text the fee fields refuse). Pure. */
json_t *lt_dos_fee_of_payment(const lt_dossiers_conf_t *conf, const lt_payment_final_t *p);

/* take_payment_final: a paid payment is listed in its dossier's fees; anything else is kept as nothing to list. */
void lt_dos_fees_take(lt_dos_fees_t *fees, const lt_payment_final_t *p, lt_payment_final_done_fn done, void *arg);

#endif
