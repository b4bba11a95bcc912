/*
 * The adapter interface: what every national system's adapter provides, and
 * the only thing the core knows about adapters.
 *
 * The core owns all I/O. An adapter never calls libevent, libcurl, hiredis or
 * a socket: it validates northbound input, builds the upstream request, and
 * parses the upstream response into a canonical JSON record or an error. That
 * keeps every adapter unit-testable with no network (nginx's upstream
 * create_request/process_header, HAProxy's mux_ops).
 *
 * An adapter is a `const lt_adapter_t` in its own folder under adapters/; the
 * build collects them into the table lt_adapters[] (adapters/lt_adapters.h),
 * as nginx builds ngx_modules[]. The ground never names that table: whoever
 * needs it (the roof, floor 4) hands it down, as to lt_config_load().
 *
 * Multi-step flows (first fetch an OAuth token, then the record) never hide a
 * blocking call: build() or parse() returns LT_STEP_AGAIN with the next request
 * filled in, and the core sends it and calls parse() again with its response.
 */
#ifndef LT_ADAPTER_H
#define LT_ADAPTER_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "lt_arena.h"
#include "lt_error.h"

#define LT_UPSTREAM_MAX_HEADERS 16

/* What the adapter asks the core to send. Everything lives in the call's arena. */
typedef struct lt_upstream_request {
    const char *method;                           /* "GET" or "POST" */
    const char *path;                             /* appended to the upstream's base_url; starts with '/' */
    const char *headers[LT_UPSTREAM_MAX_HEADERS]; /* "Name: value" */
    size_t nheaders;
    const char *body; /* NULL for none */
    size_t body_len;
} lt_upstream_request_t;

/* What came back. The body is NUL-terminated for convenience (body[body_len] == 0). */
typedef struct lt_upstream_response {
    long status;
    const char *content_type; /* NULL when absent */
    const char *retry_after;  /* raw Retry-After header, NULL when absent */
    const char *body;
    size_t body_len;
} lt_upstream_response_t;

/* Who is asking and why: taken from the northbound request, forwarded upstream where the ICD has a place. */
typedef struct lt_call_context {
    const char *request_id;     /* X-Request-Id, given or generated */
    const char *message_id;     /* a UUID for upstream message ids: the request id when that is a UUID */
    const char *officer_id;     /* X-Officer-Id */
    const char *purpose;        /* X-Purpose */
    const char *procedure_code; /* X-Procedure-Code, NULL when absent */
    const char *client;         /* the client certificate's CN */
} lt_call_context_t;

typedef struct lt_call {
    lt_arena_t *arena; /* the request's arena: allocate here, register cleanups here */
    const lt_call_context_t *ctx;
    const void *settings;              /* the adapter's parsed "service" section, read-only, shared by threads */
    json_t *input;                     /* validated northbound input (owned by the core) */
    const lt_upstream_request_t *sent; /* the request whose response parse() is reading */
    void *scratch;                     /* adapter-owned per-call state between steps (arena memory) */
    int step;                          /* 0 for the first parse() of a call, incremented on each AGAIN */
    int attempt;                       /* 0 for the first attempt; retries build() again with attempt + 1 */
    time_t now;                        /* wall-clock time for this build(), set by the core (tests set it too) */
    const char *token;                 /* bearer token, for adapters with token hooks; NULL otherwise */
} lt_call_t;

typedef enum {
    LT_STEP_DONE,   /* result (or nothing, for build) is ready */
    LT_STEP_AGAIN,  /* send `next`, then call parse() with its response */
    LT_STEP_FAIL,   /* err is set */
    LT_STEP_REAUTH, /* the upstream refused call->token (expired, revoked): get a new token, build() again, once */
} lt_step_t;

typedef enum {
    LT_INPUT_JSON_BODY,  /* POST with an application/json object body */
    LT_INPUT_PATH_PARAM, /* GET {route}{param}: the path after the route becomes input[param_name] */
} lt_input_kind_t;

typedef struct lt_operation {
    const char *name;   /* "lookup", "verify": used in config (cache TTLs), metrics and logs */
    const char *method; /* northbound method */
    const char *route;  /* "/v1/citizens/lookup"; for PATH_PARAM the prefix, e.g. "/v1/businesses/" */
    lt_input_kind_t input_kind;
    const char *param_name; /* PATH_PARAM only */
    int param_segments;     /* PATH_PARAM only: how many '/'-separated segments make the parameter (0 means 1);
                               "12616/12/345" for a parcel is one parameter of 3 segments */
    bool idempotent;        /* safe to retry upstream and to cache */
    bool personal_data;     /* requires X-Officer-Id and X-Purpose, and is audited */
    /* Top-level fields of the record that are sensitive personal data (ethnicity, religion): released only to a
     * client whose field list names them. NULL-terminated; NULL for none. */
    const char *const *sensitive_fields;

    /* Checks the northbound input before any upstream call. May normalise it in place (e.g. NFC). */
    int (*validate)(json_t *input, lt_error_t *err);
    /* Builds the first upstream request. */
    lt_step_t (*build)(lt_call_t *call, lt_upstream_request_t *out, lt_error_t *err);
    /* Reads one upstream response: a canonical record (*result, a new reference), another request, or an error. */
    lt_step_t (*parse)(lt_call_t *call, const lt_upstream_response_t *resp, json_t **result,
                       lt_upstream_request_t *next, lt_error_t *err);
} lt_operation_t;

typedef struct lt_adapter {
    const char *name;                 /* the national system, also its config section: upstreams.<name> */
    const char *title;                /* for people, Vietnamese · English: "Dân cư · Population" (/status) */
    const lt_operation_t *operations; /* terminated by an entry whose name is NULL */
    /* Reads upstreams.<name>.service; `path` is that key path for messages. Secrets come from files named there. */
    int (*settings_load)(const json_t *section, const char *path, void **settings, lt_error_t *err);
    void (*settings_free)(void *settings);

    /*
     * Optional: for upstreams that authorise with a bearer token (OAuth 2.0
     * client credentials). The core keeps one token per upstream for the
     * whole process, fetches it single-flight (concurrent requests on every
     * worker wait for the one fetch), refreshes it ahead of its expiry, keeps
     * the token endpoint under its rate limit, and hands it to build() as
     * call->token. parse() answers LT_STEP_REAUTH when the upstream refused it.
     */
    int (*token_build)(const void *settings, lt_arena_t *arena, lt_upstream_request_t *out, lt_error_t *err);
    /* Reads the token response: *token (arena copy) and its lifetime in seconds. */
    int (*token_parse)(const void *settings, lt_arena_t *arena, const lt_upstream_response_t *resp, const char **token,
                       long *expires_in_s, lt_error_t *err);
} lt_adapter_t;

/* The adapter called `name` in a NULL-terminated table, or NULL. */
const lt_adapter_t *lt_adapter_table_find(const lt_adapter_t *const *table, const char *name);

/*
 * Checks that no two operations of these adapters claim one route: the same
 * method, and some path that both would match (equal routes, a body route a
 * path-parameter prefix also serves, or two prefixes whose paths overlap).
 * Every route must have exactly one owner, or the router would serve it from
 * whichever upstream comes first. Returns 0, or -1 with err->detail naming both
 * adapters and the route.
 */
int lt_adapter_routes_check(const lt_adapter_t *const *adapters, size_t n, lt_error_t *err);

/* Longest Retry-After an upstream may ask of us: a day. */
#define LT_RETRY_AFTER_MAX_S 86400

/* An adapter's settings row for a Retry-After it gives when the upstream names none: member k of settings struct
 * T, 1 s to a day, def when absent. */
#define LT_ADAPTER_RETRY_AFTER_FIELD(T, k, def)                                                                        \
    {                                                                                                                  \
        .key = #k, .type = LT_CONF_INT, .offset = offsetof(T, k), .min = 1, .max = LT_RETRY_AFTER_MAX_S,               \
        .default_int = def                                                                                             \
    }

/*
 * Helper for adapters: an upstream's Retry-After as delta-seconds in (0, a
 * day]; anything else (absent, an HTTP date, junk) gives `fallback`.
 */
int lt_adapter_retry_after_seconds(const char *header, int fallback);

/* Helper for adapters: append "Name: value" to a request (arena-copied). Returns -1 when full. */
int lt_adapter_request_add_header(lt_arena_t *arena, lt_upstream_request_t *req, const char *name, const char *value);

#endif
