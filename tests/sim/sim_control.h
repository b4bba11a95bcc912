/*
 * sim_control: the knobs and counters that tests turn and read.
 *
 * One process simulates one system, so there is one control block. It holds
 * the injected fault (with how many requests it still applies to), the added
 * latency, and the request counters, and it answers the small JSON control
 * API. It is plain state and JSON: the server feeds it requests and asks it
 * which fault applies to each service request.
 */
#ifndef SIM_CONTROL_H
#define SIM_CONTROL_H

#include "sim_service.h"

#define SIM_CONTROL_MAX_OPS     8
#define SIM_CONTROL_MAX_LATENCY 3600000L /* one hour, in ms */

/* How the server must treat one request. SERVICE faults go to the service's handle(). */
typedef enum sim_fault_kind {
    SIM_FAULT_NONE,
    SIM_FAULT_SERVICE,
    SIM_FAULT_HTML502,
    SIM_FAULT_HTML503,
    SIM_FAULT_HTML504,
    SIM_FAULT_RESET,
    SIM_FAULT_TRUNCATE,
    SIM_FAULT_HANG,
} sim_fault_kind_t;

typedef struct sim_fault_pick {
    sim_fault_kind_t kind;
    char name[32]; /* the fault's name, "none" for SIM_FAULT_NONE */
    long latency_ms;
} sim_fault_pick_t;

typedef struct sim_control {
    const sim_service_t *service;
    void *state; /* the service's state, for reset and extra control verbs */
    size_t n_ops;
    long latency_ms;
    char fault[32];
    long remaining; /* requests the fault still applies to, -1 = until changed */
    unsigned long long requests;
    unsigned long long by_op[SIM_CONTROL_MAX_OPS];
} sim_control_t;

void sim_control_init(sim_control_t *c, const sim_service_t *service, void *state);
/* 1 when name is "none", a transport fault, or one of the service's faults. */
int sim_control_fault_known(const sim_control_t *c, const char *name);
/* Space-separated list of every fault name, for help and error messages. */
void sim_control_fault_names(const sim_control_t *c, sim_buf_t *out);
/* 0, or -1 with a message in err when name is unknown or remaining < -1. */
int sim_control_set_fault(sim_control_t *c, const char *name, long remaining, char *err, size_t errlen);
int sim_control_set_latency(sim_control_t *c, long latency_ms, char *err, size_t errlen);

/* Counts one request that reached the service path; op is the operation index or -1. */
void sim_control_count(sim_control_t *c, int op);
/* The fault and latency for the next service request; consumes one unit of "remaining". */
sim_fault_pick_t sim_control_take(sim_control_t *c);

/* The control API: GET .../stats, GET|PUT .../faults, POST .../reset under /control/<system>/. */
void sim_control_handle(sim_control_t *c, const sim_request_t *req, sim_reply_t *reply);

#endif
