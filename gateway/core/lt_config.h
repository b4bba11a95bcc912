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
#include "lt_client.h"
#include "lt_config_ratelimit.h"
#include "lt_config_redis.h"
#include "lt_error.h"
#include "lt_module.h"

typedef struct lt_listener_conf {
    char *bind; /* "host:port" */
    char *cert; /* TLS listeners only */
    char *key;
    char *client_ca; /* api only: the provincial CA that client certificates must chain to */
    /* api only: the client CAs' certificate revocation lists (PEM or DER files, gateway/net/lt_crl.h). None: no
     * revocation check. With some, every certificate of a client's chain is checked against them. */
    char **crl_files;
    size_t ncrl_files;
    char *crl_expired;             /* a list past its nextUpdate: "refuse" every client, or "warn" and accept */
    long long crl_warn_interval_s; /* how often an expired list is said again in the log */
    long long ticket_key_rotate_s; /* api only: how long a session ticket key seals new tickets (lt_tls.h) */
    char *ticket_key_file;         /* api only: the secret ticket keys are derived from; NULL: random keys */
} lt_listener_conf_t;

/*
 * listeners.admin (lt_config_admin.c): plain HTTP, so loopback only. Changes (every POST) need the bearer token
 * the token file holds; reads stay open to the box. docs/operations.md, "The admin listener".
 */
#define LT_ADMIN_TOKEN_MIN        32
#define LT_ADMIN_TOKEN_MAX        512
#define LT_ADMIN_TOKEN_DIGEST_LEN 32 /* SHA-256: tokens are kept and compared as digests */

typedef struct lt_admin_conf {
    char *bind;       /* "127.0.0.1:9090" or "[::1]:9090": a loopback address, checked at load */
    char *token_file; /* NULL: no token, and every admin change is refused */
    char **hosts;     /* extra Host names it answers to (a local reverse proxy's), as configured */
    size_t nhosts;
} lt_admin_conf_t;

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
    /* The active health probe (lt_probes.h): a cheap call the ICD allows, or only a TLS handshake. */
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
        lt_redis_conf_t conn;
        char *prefix;
        long long l1_max_bytes, l1_ttl_s; /* optional in-process copy in front of Redis */
    } redis;
} lt_cache_conf_t;

/* When the audit trail's writer makes what it wrote durable (gateway/net/lt_audit.h). */
typedef enum { LT_AUDIT_FSYNC_ALWAYS, LT_AUDIT_FSYNC_INTERVAL, LT_AUDIT_FSYNC_NEVER } lt_audit_fsync_t;

/* The "audit" section (lt_config_audit.c; docs/operations.md, "audit"): the trail of personal-data operations. */
typedef struct lt_audit_conf {
    bool enabled; /* the section is present */
    char *dir;    /* resolved against the config file's directory */
    lt_audit_fsync_t fsync;
    long long fsync_interval_ms;         /* with LT_AUDIT_FSYNC_INTERVAL */
    long long rotate_bytes;              /* a new file once the current one is this big */
    bool rotate_daily;                   /* and at midnight, Vietnam time */
    long long queue_max;                 /* records waiting for the writer; more are refused (503) */
    char *instance;                      /* this gateway's id in every record; default: the host name */
    long long unusual_subjects_per_hour; /* a client reading more distinct subjects in an hour is flagged; 0: off */
} lt_audit_conf_t;

/* A listener that a module brings (lt_module.h), read from listeners.<name>. */
typedef struct lt_module_listener_conf {
    char *name;
    lt_listener_conf_t conf;
    size_t module; /* the index in the module table of the module it belongs to */
} lt_module_listener_conf_t;

/* limits: what one client connection may cost (lt_conn enforces them on every listener lt_server serves). */
typedef struct lt_conn_limits {
    long long handshake_timeout_s;         /* accept to a finished TLS handshake */
    long long header_timeout_s;            /* first byte (or the handshake) to a complete request head */
    long long body_grace_s;                /* a body may be slow this long... */
    long long body_min_rate_bytes_s;       /* ...then it must average at least this rate */
    long long max_connections;             /* open on one listener, all workers together */
    long long max_connections_per_address; /* open on one listener from one client address */
    long long max_request_line_bytes, max_header_fields, max_header_bytes;
} lt_conn_limits_t;

typedef struct lt_config {
    char *path;
    const lt_adapter_t *const *adapters; /* every adapter the build knows, as handed to lt_config_load */
    long long workers;                   /* 0 = one per core */
    char *log_level;
    char *log_format; /* "json" (the default) or "text" */
    char *instance;   /* this gateway's name in logs and status (the host name by default) */
    char *time_zone;  /* the zone of every time on the status page and in lienthong-ctl status: "+07:00" */
    long time_zone_offset_s;
    lt_listener_conf_t api;
    lt_admin_conf_t admin;
    long long max_body_bytes;
    long long shutdown_grace_ms;
    long long idle_timeout_s;
    lt_conn_limits_t conn;
    lt_upstream_conf_t *upstreams;
    size_t nupstreams;
    lt_cache_conf_t cache;
    /* The modules this snapshot was loaded for (the roof's table), and per module its section as the module
     * read it: NULL when the section is absent and the module is off (or the module has no section). */
    const lt_module_t *const *modules;
    size_t nmodules;
    void **module_conf;
    bool *module_on;
    lt_module_listener_conf_t *listeners; /* the modules' listeners that are configured */
    size_t nlisteners;
    lt_client_conf_t *clients; /* who may call the api listener (lt_client.h) */
    size_t nclients;
    lt_audit_conf_t audit;
    lt_ratelimit_conf_t ratelimit;
} lt_config_t;

/* listeners.admin (lt_config_admin.c). `admin` may be NULL (the section is absent: every default). */
int lt_config_load_admin(lt_config_t *c, const json_t *admin, lt_error_t *err);
void lt_config_free_admin(lt_config_t *c);
/*
 * Reads the admin token file (one token of LT_ADMIN_TOKEN_MIN-MAX characters of RFC 6750's b64token, surrounding
 * white space ignored; a regular file that other users cannot read) and gives its SHA-256. err names
 * listeners.admin.token_file. The token itself is wiped from memory before returning.
 */
int lt_admin_token_file_digest(const char *path, unsigned char digest[LT_ADMIN_TOKEN_DIGEST_LEN], lt_error_t *err);
/* SHA-256 of a presented token, to compare with CRYPTO_memcmp against the file's whatever the lengths. */
void lt_admin_token_digest(const char *token, size_t len, unsigned char digest[LT_ADMIN_TOKEN_DIGEST_LEN]);

/* The "clients" section (lt_config_clients.c). */
int lt_config_load_clients(lt_config_t *c, const json_t *clients, lt_error_t *err);
void lt_config_free_clients(lt_config_t *c);
/* Is name a permission an allow list may hold: "*", "system.operation" or "system.*" of a known adapter, or a
 * module's route permission ("payments")? */
bool lt_config_is_permission(const lt_config_t *c, const char *name);
/* The "audit" section (lt_config_audit.c); NULL: absent, the trail is off. */
int lt_config_load_audit(lt_config_t *c, const json_t *audit, lt_error_t *err);
void lt_config_free_audit(lt_config_t *c);
/* "always", "interval", "never". */
const char *lt_config_audit_fsync_name(lt_audit_fsync_t f);

/*
 * Loads and checks path. `adapters` is the NULL-terminated table of every adapter the build knows (the roof
 * passes lt_adapters[]): each upstreams.<name> needs one called <name>. `modules` is the roof's module table
 * (NULL-terminated): each module's section is read by its own conf_load. On failure returns NULL with
 * err->detail naming the key or file.
 */
lt_config_t *lt_config_load(const char *path, const lt_adapter_t *const *adapters, const lt_module_t *const *modules,
                            lt_error_t *err);
void lt_config_free(lt_config_t *config);
const lt_upstream_conf_t *lt_config_upstream(const lt_config_t *config, const char *name);
/* A module's section as its conf_load made it; NULL when the module is off or has no section. */
const void *lt_config_module_conf(const lt_config_t *config, const lt_module_t *module);
/* Is the module on: it has no section, or its section is present? */
bool lt_config_module_on(const lt_config_t *config, const lt_module_t *module);
/* A module's configured listener by name; NULL when it is not configured. */
const lt_module_listener_conf_t *lt_config_listener(const lt_config_t *config, const char *name);

/* Payments, and anything that is not idempotent, are never cached, whatever the configuration says. */
bool lt_config_cache_forbidden(const char *system, const lt_operation_t *op);
/* The TTLs of one operation: its override, or the section's defaults. */
const lt_cache_ttls_t *lt_config_cache_ttls(const lt_config_t *config, const char *system, const char *operation);

#endif
