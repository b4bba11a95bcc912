/*
 * The dossiers module's admin routes (dossiers floor), on the main loop with its store conn:
 *   GET  /dossiers/outbox?state=dead|pending|all   records set aside (dead letters) or waiting for the portal
 *   POST /dossiers/outbox/{record_id}/redrive      a dead letter goes to the portal again
 * A record id is "<dossier_id>:v<version>" for a snapshot, "<dossier_id>:s<seq>" for a step.
 */
#ifndef LT_DOS_ADMIN_H
#define LT_DOS_ADMIN_H

#include <event2/http.h>

#include "lt_dos_outbox.h"
#include "lt_dos_store.h"

#define LT_DOS_ADMIN_PREFIX "/dossiers/"

void lt_dos_admin_handle(lt_dos_conn_t *conn, lt_dos_outbox_t *outbox, struct evhttp_request *req);

#endif
