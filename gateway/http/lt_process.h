/*
 * The process as operators see it (floor 4): its name, version, start, last reload and whether an operator drained
 * it. The roof owns one; the admin listener sets `drained` (POST /drain, /undrain); /status.json, the page,
 * lienthong-ctl status and /metrics read it. Fields are atomics: reloads run on the main loop, readers too, but a
 * drained flag may also be read from elsewhere.
 *
 * Drained is X-Road's maintenance mode: /readyz answers 503 so that a load balancer sends new connections to the
 * other instances, while this one goes on serving every request it is given, in flight or new. It is not kept across
 * a restart: a restarted instance is ready.
 */
#ifndef LT_PROCESS_H
#define LT_PROCESS_H

#include <jansson.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "lt_mbuf.h"

typedef struct lt_process {
    const char *instance;           /* the configuration's instance (the host name by default) */
    long zone_offset_s;             /* the zone every time is shown in (the configuration's time_zone) */
    int64_t started_ms;             /* wall clock */
    _Atomic int64_t last_reload_ms; /* wall clock; 0: not reloaded since start */
    _Atomic int last_reload_status; /* what that reload answered: 200, or 400/500 when it was refused */
    _Atomic bool drained;
} lt_process_t;

/* Records a reload (POST /reload or SIGHUP) and its HTTP status. */
void lt_process_reloaded(lt_process_t *p, int status);

/* {name, version, started_at, uptime_s, last_reload: {at, ago_s, status} | null, time_zone, drained}. */
json_t *lt_process_json(const lt_process_t *p, int64_t now_ms);

/* The standard process_* families (CPU, memory, descriptors, start time, from /proc/self) and the gateway's
 * lienthong_drained and lienthong_last_reload_timestamp_seconds. */
void lt_process_metrics(const lt_process_t *p, lt_buf_t *b);

/* A time in the process's zone: "2026-12-01T06:18:07+07:00"; JSON null for 0. */
json_t *lt_process_time(const lt_process_t *p, int64_t unix_ms);

#endif
