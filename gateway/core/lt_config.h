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
    /* The active health probe (lt_probe.h): a cheap call the ICD allows, or only a TLS handshake. */
    struct {
        bool enabled;
        long long interval_s, timeout_ms, down_after, up_after;
        const lt_operation_t *op; /* NULL: a TLS handshake only */
        json_t *input;            /* op's validated input (owned); NULL for a handshake */
        char *officer, *purpose;  /* who and why, for operations that carry personal data */
    } probe;
} lt_upstream_conf_t;

/* Where cached answers live: nowhere, in this process, or in Redis (shared by every instance). */
typedef enum { LT_CACHE_OFF, LT_CACHE_MEMORY, LT_CACHE_REDIS } lt_cache_backend_t;

/* How long an answer stays fresh, how long a "not found" answer does, and how long past freshness a copy is kept
 * to be served when the national system fails (stale-if-error). 0 s of ttl means "not cached". */
typedef struct lt_cache_ttls {
    long long ttl_s, not_found_ttl_s, max_stale_s;
} lt_cache_ttls_t;

typedef struct lt_cache_op_conf {
    char *system, *operation;
    lt_cache_ttls_t ttls;
} lt_cache_op_conf_t;

typedef struct lt_cache_aead_conf {
    int id; /* 1-255, written in front of every value so that keys can rotate */
    char *file;
} lt_cache_aead_conf_t;

typedef struct lt_cache_conf {
    lt_cache_backend_t backend;
    long long max_bytes, shards; /* the in-process store: its byte budget and lock shards */
    lt_cache_ttls_t defaults;
    lt_cache_op_conf_t *ops; /* per-operation overrides */
    size_t nops;
    char *hmac_key_file;        /* NULL with the memory backend: keys are then random per process */
    lt_cache_aead_conf_t *aead; /* every key that may decrypt */
    size_t naead;
    int encrypt_with; /* the id of the key that encrypts */
    struct {
        char *address; /* "host:port" (resolved once at start-up) or "unix:/path" */
        char *password_file, *prefix;
        long long db, timeout_ms, connect_timeout_ms, reconnect_min_ms, reconnect_max_ms, max_timeouts;
        long long l1_max_bytes, l1_ttl_s; /* optional in-process copy in front of Redis */
    } redis;
} lt_cache_conf_t;

/* Fee payments (issue 5): the national payment gateway, the store, the portal's webhook and reconciliation. */
typedef enum { LT_PAY_STORE_JOURNAL, LT_PAY_STORE_REDIS } lt_pay_backend_t;

typedef struct lt_payments_conf {
    bool enabled;           /* a "payments" section is present */
    char *base_url;         /* the payment gateway: {base}/paymentv2/vpcpay.html and querydr */
    char *ca;               /* CA of the payment gateway's server certificate (querydr); NULL: the system's */
    char *tmn_code;         /* vnp_TmnCode */
    char *hash_secret_file; /* the merchant hash secret */
    char *public_url;       /* how citizens' browsers reach the callbacks listener: vnp_ReturnUrl's base */
    char *order_type;       /* vnp_OrderType */
    long long min_expires_in_s, default_expires_in_s, max_expires_in_s; /* bounds of the portal's expires_in_s */
    char **ipn_allow; /* source addresses allowed to call the IPN; none: any */
    size_t nipn_allow;
    struct {
        lt_pay_backend_t backend;
        char *journal_dir;
        long long compact_bytes; /* compact once the journal grows past this */
        struct {
            char *address, *password_file, *prefix;
            long long db, timeout_ms, connect_timeout_ms;
        } redis;
    } store;
    struct {
        char *url; /* the portal's webhook; NULL: events wait in the outbox */
        char *secret_file, *ca;
        long long timeout_ms, max_attempts, base_delay_ms, max_delay_ms, poll_ms, batch;
    } webhook;
    struct {
        long long interval_s;  /* how often pending payments are looked at */
        long long ipn_grace_s; /* how long past expiry an IPN may still come before querydr is asked */
        long long batch;
        char *server_ip; /* vnp_IpAddr of the merchant server in querydr */
    } reconcile;
} lt_payments_conf_t;

typedef struct lt_config {
    char *path;
    long long workers; /* 0 = one per core */
    char *log_level;
    lt_listener_conf_t api, admin, callbacks; /* callbacks: only with payments */
    long long max_body_bytes;
    long long shutdown_grace_ms;
    long long idle_timeout_s;
    lt_upstream_conf_t *upstreams;
    size_t nupstreams;
    lt_cache_conf_t cache;
    lt_payments_conf_t payments;
} lt_config_t;

/* The "payments" section and the callbacks listener (lt_config_payments.c). */
int lt_config_load_payments(lt_config_t *c, const json_t *payments, const json_t *callbacks, lt_error_t *err);
void lt_config_free_payments(lt_config_t *c);

/* Loads and checks path. On failure returns NULL with err->detail naming the key or file. */
lt_config_t *lt_config_load(const char *path, lt_error_t *err);
void lt_config_free(lt_config_t *config);
const lt_upstream_conf_t *lt_config_upstream(const lt_config_t *config, const char *name);

/* Payments, and anything that is not idempotent, are never cached, whatever the configuration says. */
bool lt_config_cache_forbidden(const char *system, const lt_operation_t *op);
/* The TTLs of one operation: its override, or the section's defaults. */
const lt_cache_ttls_t *lt_config_cache_ttls(const lt_config_t *config, const char *system, const char *operation);

#endif
