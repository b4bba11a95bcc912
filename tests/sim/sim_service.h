/*
 * sim_service: what one simulated national system provides to the server.
 *
 * The server owns the sockets, TLS, timers and the transport-level faults
 * (HTML error pages, resets, truncation, hangs). A service owns the meaning:
 * it turns one request into one reply and injects the faults of its own
 * protocol (SOAP faults for population, JSON errors for the REST systems).
 * It never touches libevent, so it can be driven from a unit test with bytes.
 *
 * Adding a national system means one sim_<system>.c exporting one of these
 * and one line in the table in sim_main.c.
 *
 * A service with protocol state (issued and revoked tokens, seen nonces, a
 * skewed clock) keeps it behind state_new(); the server hands it back to every
 * handle() and control() call, and /control/<system>/reset calls state_reset().
 *
 * A few systems need more: flags of their own (the payment gateway's terminal
 * code and IPN URLs) and work of their own on the loop (the payment gateway
 * calls the merchant back). They declare `options` and a `start` hook; start()
 * is the one place a service may touch the loop, and handle() stays pure.
 */
#ifndef SIM_SERVICE_H
#define SIM_SERVICE_H

#include "sim_buf.h"
#include "sim_people.h"

#include <stddef.h>
#include <stdio.h>

struct event_base;

typedef struct sim_request sim_request_t;
struct sim_request {
    const char *method; /* "POST", "GET", ... */
    const char *path;   /* without the query string */
    const char *query;  /* the raw query string without '?', NULL when there is none */
    /* Case-insensitive header lookup, NULL when absent. */
    const char *(*header)(const sim_request_t *req, const char *name);
    void *header_ctx;
    const unsigned char *body;
    size_t body_len;
};

#define SIM_REPLY_MAX_HEADERS 4
/* Long enough for a Location carrying a signed payment result (return URL + a dozen signed parameters). */
#define SIM_REPLY_HEADER_VALUE_MAX 4096

typedef struct sim_reply {
    int status;
    const char *reason;       /* static string */
    const char *content_type; /* static string, NULL for none */
    sim_buf_t body;
    struct {
        char name[40];
        char value[SIM_REPLY_HEADER_VALUE_MAX];
    } headers[SIM_REPLY_MAX_HEADERS]; /* extra headers, e.g. Retry-After, WWW-Authenticate, Location */
    int nheaders;
    /* Set by a service that plays dead (the webhook receiver's outage): the server aborts the connection with no
     * answer at all, whatever status and body say. */
    int drop_connection;
} sim_reply_t;

/* Adds an extra reply header (silently dropped past SIM_REPLY_MAX_HEADERS). */
void sim_reply_add_header(sim_reply_t *reply, const char *name, const char *value);

/* A command-line flag of one system only, e.g. --ipn-url URL. Every one takes one argument and may repeat. */
typedef struct sim_service_option {
    const char *name; /* without "--"; NULL ends the list */
    const char *arg;  /* the argument's name in --help, e.g. "URL" */
    const char *help; /* one line for --help */
} sim_service_option_t;

/* What the national system asks of its clients' certificates (each ICD's "Transport" section). */
typedef enum sim_client_auth {
    SIM_CLIENT_CERT_REQUIRED = 0, /* mutual TLS: no certificate, no handshake (population) */
    SIM_CLIENT_CERT_OPTIONAL,     /* verified when presented (business registration) */
    SIM_CLIENT_CERT_NONE,         /* server authentication only: none is asked for (tax) */
} sim_client_auth_t;

typedef struct sim_service {
    const char *name;      /* --system value and the control path segment */
    const char *path;      /* the HTTP path the service answers on (see owns_path) */
    const char *cert_name; /* --certs-dir DIR uses DIR/<cert_name>.crt and .key */
    int default_port;      /* service listener; control listens on default_port + 100 */
    sim_client_auth_t client_auth;
    const char *const *ops; /* NULL-terminated operation names, the keys of the request counters */
    /* NULL-terminated faults the service injects itself; fault names are
     * matched exactly and passed back to handle(). */
    const char *const *faults;

    /* Optional: true when the service answers on this path; NULL means exactly `path`. */
    int (*owns_path)(const char *path);
    /* Index into ops of the operation this request asks for, or -1. Must not fail. */
    int (*operation_of)(const sim_request_t *req);
    /*
     * Builds the reply. fault is NULL or one of faults[]; the service decides
     * what it means. reply->body is initialised empty. state is what
     * state_new() returned (NULL for stateless services).
     */
    void (*handle)(void *state, const sim_people_t *people, const sim_request_t *req, const char *fault,
                   sim_reply_t *reply);

    /* Optional: protocol state. certs_dir is --certs-dir (shared secrets live there too), may be NULL. */
    void *(*state_new)(const sim_people_t *people, const char *certs_dir);
    void (*state_reset)(void *state);
    void (*state_free)(void *state);
    /* Optional: --sample N prints N of this system's records as JSON lines (0 on success). NULL: people. */
    int (*sample)(const sim_people_t *people, size_t n, FILE *out);
    /* Optional: extra control verbs under /control/<system>/<verb>. Returns 0 when handled, -1 for an unknown verb. */
    int (*control)(void *state, const char *verb, const sim_request_t *req, sim_reply_t *reply);

    /* Optional: flags of this system alone. sim_main passes each occurrence to set_option(), in command-line order,
     * right after state_new(); 0, or -1 with a message in err (a usage error). */
    const sim_service_option_t *options;
    int (*set_option)(void *state, const char *name, const char *value, char *err, size_t errlen);
    /* Optional: runs once the options are set and before the listeners open: load files the options name, and
     * attach whatever the service does by itself to the loop (outgoing calls, timers). 0, or -1 with a message. */
    int (*start)(void *state, struct event_base *base, char *err, size_t errlen);
} sim_service_t;

#endif
