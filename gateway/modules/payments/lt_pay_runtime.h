/*
 * The payments work of the main loop (payments floor): its store conn, the
 * outbox, reconciliation and the dossier report, and what the admin listener asks about payments
 * (the summary in /status.json and /metrics, and the outbox routes under
 * /payments/ used by lienthong-ctl).
 */
#ifndef LT_PAY_RUNTIME_H
#define LT_PAY_RUNTIME_H

#include <event2/event.h>
#include <event2/http.h>
#include <jansson.h>

#include "lt_module.h"
#include "lt_pay_service.h"

typedef struct lt_pay_runtime lt_pay_runtime_t;

/* peers: the other modules, for the dossier report's taker (lt_pay_report.h). */
lt_pay_runtime_t *lt_pay_runtime_new(lt_pay_service_t *svc, struct event_base *base, const lt_module_peers_t *peers);
void lt_pay_runtime_free(lt_pay_runtime_t *rt);

/* Fills out with {"backend","store_ok","by_state":{...},"outbox":{...},"ipn_answers":{...},"dossier_reports_owed"}. */
void lt_pay_runtime_summary(void *rt, json_t *out);

/*
 * Admin routes (arg is the runtime):
 *   GET  /payments/outbox?state=pending|dead|all   the events, oldest first
 *   POST /payments/outbox/{event_id}/redrive       a dead letter becomes pending, due now
 */
void lt_pay_runtime_admin(void *rt, struct evhttp_request *req);

#endif
