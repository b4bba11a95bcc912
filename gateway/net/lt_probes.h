/*
 * Active probes (floor 3): per national system, a cheap call its ICD allows,
 * every `probe.interval_s`, so that health is known without traffic. Either
 * one idempotent operation on a configured test input (for example verifying a
 * test identity), or only a TLS handshake where no request is safe. Runs on
 * the main loop, with its own curl multi handle: never on a worker, never in
 * the way of a citizen's request.
 *
 * Probe traffic goes through lt_call_start_probe (or lt_upstream_handshake)
 * and is counted in the probe_* counters of lt_upstream_state_t, never in the
 * citizens' counters. Each result feeds an lt_health_t (up, degraded, down,
 * with hysteresis and a reason), read by /status and /metrics on the same loop.
 */
#ifndef LT_PROBES_H
#define LT_PROBES_H

#include <event2/event.h>

#include "lt_call.h"
#include "lt_config.h"
#include "lt_health.h"

typedef struct lt_probes lt_probes_t;

/* Starts every enabled probe at once (the first runs on the next loop turn). */
lt_probes_t *lt_probes_new(struct event_base *base, const lt_config_t *config, lt_upstream_state_t *states);
/* Cancels probes in flight. */
void lt_probes_free(lt_probes_t *probes);
/* Health of the i-th upstream (config order); NULL when its probe is disabled. Main loop only. */
const lt_health_t *lt_probes_health(const lt_probes_t *probes, size_t i);
/* "tls" or the probed operation's name. */
const char *lt_probes_kind(const lt_probes_t *probes, size_t i);

#endif
