/*
 * The portal notification outbox (payments floor), run by the main loop.
 *
 * Every final state wrote one event into the store in the same atomic step as
 * the state itself, so an event cannot be lost between "paid" and "tell the
 * portal". This module delivers them: it claims due events (a lease, so that
 * another instance does not send the same one at the same moment), POSTs each
 * to the portal's webhook signed with X-Signature, and records the result: 2xx
 * is delivered; anything else is retried with exponential backoff and jitter,
 * and after webhook.max_attempts the event is a dead letter, which an operator
 * can re-drive (admin: POST /payments/outbox/{event_id}/redrive).
 * Delivery is at least once: a crash between the portal's 2xx and our record
 * of it sends the event again, with the same event_id.
 */
#ifndef LT_PAY_OUTBOX_H
#define LT_PAY_OUTBOX_H

#include <event2/event.h>

#include "lt_pay_service.h"
#include "lt_pay_store.h"
#include "lt_upstream.h"

typedef struct lt_pay_outbox lt_pay_outbox_t;

lt_pay_outbox_t *lt_pay_outbox_new(lt_pay_service_t *svc, struct event_base *base, lt_pay_conn_t *conn,
                                   lt_upstream_client_t *client);
void lt_pay_outbox_free(lt_pay_outbox_t *ob);

/* The webhook body of an event and its X-Signature value ("sha256=<hex>"), malloc'd. */
char *lt_pay_webhook_body(const lt_pay_event_t *ev, const lt_payment_t *p);
char *lt_pay_webhook_signature(const lt_pay_service_t *svc, const char *body, size_t len);

/* The delay before attempt number `attempts` + 1: base × 2^(attempts-1), capped, with jitter in its upper half. */
int64_t lt_pay_outbox_backoff_ms(long long base_ms, long long max_ms, int attempts, unsigned random);

/* The last counts read from the store (refreshed every second), for /status.json and /metrics. */
const lt_pay_counts_t *lt_pay_outbox_counts(const lt_pay_outbox_t *ob);

/* How the portal's webhook answered lately (main loop only): failing until a delivery succeeds again. */
typedef struct lt_pay_webhook_health {
    bool failing;
    int64_t last_error_at_ms; /* 0: never failed */
    char last_error[160];
} lt_pay_webhook_health_t;
const lt_pay_webhook_health_t *lt_pay_outbox_webhook_health(const lt_pay_outbox_t *ob);

#endif
