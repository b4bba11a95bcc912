/*
 * sim_server: the HTTP side of a simulator, on one libevent loop.
 *
 * Two listeners: the service listener speaks HTTPS with a mandatory, verified
 * client certificate, as the national platform does; the control listener is
 * plain HTTP on a loopback address, for tests. The server owns request
 * lifetimes: added latency, transport faults (HTML error pages, resets,
 * truncated bodies, hangs) and clients that go away while a reply is pending.
 */
#ifndef SIM_SERVER_H
#define SIM_SERVER_H

#include "sim_control.h"
#include "sim_people.h"
#include "sim_service.h"

#include <event2/event.h>
#include <stddef.h>

typedef struct sim_server_config {
    const sim_service_t *service;
    const sim_people_t *people;
    void *state; /* the service's state_new() result, or NULL */
    sim_control_t *control;
    const char *listen;         /* host:port of the service, [v6]:port accepted; port 0 = any */
    const char *control_listen; /* host:port of the control API */
    const char *cert;           /* PEM server certificate (chain) */
    const char *key;            /* PEM private key */
    const char *client_ca;      /* PEM CA that client certificates must chain to */
} sim_server_config_t;

typedef struct sim_server sim_server_t;

/* Creates the TLS context and binds both listeners. NULL with a message in err on failure. */
sim_server_t *sim_server_new(struct event_base *base, const sim_server_config_t *cfg, char *err, size_t errlen);
/* The URLs actually bound, with the real port when 0 was asked for. */
const char *sim_server_service_url(const sim_server_t *srv);
const char *sim_server_control_url(const sim_server_t *srv);
/* Splits "host:port" or "[v6]:port"; 0 on success, -1 when malformed. */
int sim_server_parse_address(const char *spec, char *host, size_t hostlen, unsigned *port);
/* Drops requests still pending (delayed or hanging) and closes everything. */
void sim_server_free(sim_server_t *srv);

#endif
