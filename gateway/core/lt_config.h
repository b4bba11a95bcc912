/*
 * The configuration snapshot: one JSON file, read once at start-up into plain
 * structs that every thread then reads without locks (it never changes while
 * the process runs). Unknown keys, wrong types and unreadable files stop
 * start-up with a message naming the key path. See docs/operations.md for
 * every key.
 */
#ifndef LT_CONFIG_H
#define LT_CONFIG_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "lt_adapter.h"
#include "lt_error.h"

typedef struct lt_listener_conf {
    char *bind; /* "host:port" */
    char *cert; /* TLS listeners only */
    char *key;
    char *client_ca; /* api only: the provincial CA that client certificates must chain to */
} lt_listener_conf_t;

typedef struct lt_upstream_conf {
    const char *name; /* the national system, e.g. "population" (the adapter's name) */
    const lt_adapter_t *adapter;
    void *settings; /* the adapter's parsed "service" section */
    char *base_url;
    char *cert, *key, *ca; /* mutual TLS toward the national side */
    long long connect_timeout_ms;
    long long timeout_ms; /* total time for one upstream exchange */
    long long max_response_bytes;
    long long deadline_ms;  /* the whole call, retries and backoff included */
    long long max_inflight; /* calls in flight to this upstream across the process; more get 503 */
    struct {
        long long max_attempts, base_delay_ms, max_delay_ms;
    } retry;
    struct {
        long long consecutive_failures, window, min_calls, cooldown_ms;
        double failure_ratio;
    } breaker;
    struct {
        long long rate_per_minute, refresh_margin_s;
    } token;
} lt_upstream_conf_t;

typedef struct lt_config {
    char *path;
    long long workers; /* 0 = one per core */
    char *log_level;
    lt_listener_conf_t api, admin;
    long long max_body_bytes;
    long long shutdown_grace_ms;
    long long idle_timeout_s;
    lt_upstream_conf_t *upstreams;
    size_t nupstreams;
} lt_config_t;

/* Loads and checks path. On failure returns NULL with err->detail naming the key or file. */
lt_config_t *lt_config_load(const char *path, lt_error_t *err);
void lt_config_free(lt_config_t *config);
const lt_upstream_conf_t *lt_config_upstream(const lt_config_t *config, const char *name);

#endif
