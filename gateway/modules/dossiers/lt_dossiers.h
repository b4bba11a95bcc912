/*
 * The dossiers module's api routes (dossiers floor), on a worker:
 *   PUT  /v1/dossiers/{dossier_id}        a snapshot with its version: 202 once durable, 409 when not newer
 *   POST /v1/dossiers/{dossier_id}/steps  a step with its seq: 202 once durable, 200 for a repeat, 409 for another
 *                                         body under a seq already taken
 *   GET  /v1/dossiers/{dossier_id}/sync   what the portal acknowledged, what waits and why, what was refused
 * The one-stop system never waits for the portal: these answer from the store alone.
 */
#ifndef LT_DOSSIERS_H
#define LT_DOSSIERS_H

#include <event2/event.h>

#include "lt_dos_indicators.h"
#include "lt_dos_store.h"
#include "lt_request.h"

#define LT_DOSSIERS_COLLECTION "/v1/dossiers"

typedef struct lt_dos_worker {
    lt_dos_conn_t *conn;      /* this loop's store conn */
    lt_dos_ind_t *indicators; /* the process's: each snapshot accepted updates them */
} lt_dos_worker_t;

void lt_dossiers_handle(lt_request_t *r, void *worker_ctx);

/* The sync answer of a dossier from the store's view (also what the unit tests read). */
json_t *lt_dossiers_sync_json(const char *dossier_id, const lt_dos_view_t *view);

#endif
