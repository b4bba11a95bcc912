/*
 * The dossier outbox (dossiers floor), run by the main loop: it takes what the store says is due and pushes it to
 * the national public-service portal, one call at a time, so that nothing reaches the portal out of order.
 *
 * A round: a session if there is none (POST /auth; again after the portal's error_code 401, or when it has been
 * idle long enough for the portal to forget it), then up to `batch` (at most 100) due records of one kind, the
 * oldest first and at most one per dossier, in one call. Then:
 *   - error_code 0: the whole call was applied; the store records it in one step, and the next round starts;
 *   - error_code -1 naming one of the call's dossiers: nothing was applied (the ICD); that record becomes a dead
 *     letter with the portal's message, and the next round sends the rest again at once;
 *   - -1 naming none of them: the call as a whole was refused (a wrong account, too many records): the batch
 *     limit halves and the outbox backs off; nothing becomes a dead letter on a guess;
 *   - HTTP 429: it waits the portal's Retry-After; 5xx, a timeout or a reset: it backs off, exponentially with
 *     jitter from base_delay_ms up to max_delay_ms, for as long as the portal is down (its maintenance windows
 *     last hours), and every record stays due.
 * Calls are at least min_interval_ms apart (the ICD allows 5 calls/s per province). A call's timeout is above the
 * 30 s the portal promises, so that a call given up on is not applied after the next one.
 *
 * Exactly once in effect: a record is acknowledged in the store only after the portal's error_code 0. A crash or
 * a timeout in between sends it again: a repeated step is "equal in every field" and ignored by the portal (the
 * ICD), and a repeated snapshot is the same version again. Nothing older than what the portal holds is ever sent,
 * because the store only ever holds the newest snapshot and a step only becomes due after the one before it.
 */
#ifndef LT_DOS_OUTBOX_H
#define LT_DOS_OUTBOX_H

#include <event2/event.h>
#include <jansson.h>
#include <stdint.h>

#include "lt_dos_config.h"
#include "lt_dos_store.h"
#include "lt_upstream.h"

typedef struct lt_dos_outbox lt_dos_outbox_t;

/* password and owner are copied. owner names this instance in the sender's lease (redis): the same across its
 * restarts, so that a restarted instance takes its own lease back at once, and distinct between instances. */
lt_dos_outbox_t *lt_dos_outbox_new(const lt_dossiers_conf_t *conf, const char *password, const char *owner,
                                   struct event_base *base, lt_dos_conn_t *conn, lt_upstream_client_t *client);
void lt_dos_outbox_free(lt_dos_outbox_t *ob);
/* Look for due records now (after a redrive). */
void lt_dos_outbox_kick(lt_dos_outbox_t *ob);

/* The delay before attempt `attempts` + 1: base × 2^(attempts-1), capped at max, half of it fixed and half random,
 * so that a retry never comes sooner than half the schedule and instances that failed together spread out. */
int64_t lt_dos_outbox_backoff_ms(long long base_ms, long long max_ms, int attempts, unsigned random);

/* Fills the module's part of /status.json: the store's counts (refreshed every second), the portal's state, the
 * calls made. */
void lt_dos_outbox_summary(const lt_dos_outbox_t *ob, json_t *out);

#endif
