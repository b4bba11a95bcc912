/*
 * sim_fetch: outgoing HTTP(S) GETs on the simulator's own loop.
 *
 * The simulator is one thread with one libevent loop, and a national system
 * that calls out (the payment gateway's IPN) must not stop answering while it
 * waits for the merchant. So calls run in a libcurl multi handle driven by the
 * loop (curl's hiperfifo pattern): curl tells us which sockets to watch and
 * when to wake it, and we call it back from libevent. No thread, no lock, and
 * a slow merchant costs nothing but a socket. curl resolves names in its own
 * resolver thread, so a host name does not block the loop either.
 */
#ifndef SIM_FETCH_H
#define SIM_FETCH_H

#include <stddef.h>

struct event_base;

typedef struct sim_fetcher sim_fetcher_t;
typedef struct sim_fetch sim_fetch_t;

/* How one call ended. status is 0 when no HTTP answer came (error says why: refused, TLS, timeout...). */
typedef struct sim_fetch_result {
    long status;
    const char *body; /* NUL-terminated, at most SIM_FETCH_MAX_BODY bytes kept */
    size_t body_len;
    const char *error; /* "" when an HTTP answer came */
    long duration_ms;
} sim_fetch_result_t;

#define SIM_FETCH_MAX_BODY (64 * 1024)

/* Called once per call that was not cancelled; the call is gone when it returns. */
typedef void (*sim_fetch_done_fn)(void *arg, const sim_fetch_result_t *result);

/* NULL on failure (curl or libevent out of resources). */
sim_fetcher_t *sim_fetcher_new(struct event_base *base);
/* The loop the fetcher runs on, for callers that keep timers of their own beside their calls. */
struct event_base *sim_fetcher_base(const sim_fetcher_t *f);
/* Cancels every call still running (their done callbacks never run) and frees the fetcher. */
void sim_fetcher_free(sim_fetcher_t *f);

/*
 * Starts GET url. ca_file (NULL: the system's) verifies an https server, host name included; timeout_ms bounds the
 * whole call. The returned handle is valid until done runs or sim_fetch_cancel; NULL when the call cannot start.
 * Must not be called from inside curl (a done callback is fine: it runs outside curl).
 */
sim_fetch_t *sim_fetch_get(sim_fetcher_t *f, const char *url, const char *ca_file, long timeout_ms,
                           sim_fetch_done_fn done, void *arg);
/* Stops a call; its done callback never runs. */
void sim_fetch_cancel(sim_fetch_t *call);

#endif
