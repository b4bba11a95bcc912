/*
 * Single flight for cache misses, across the whole process (floor 3).
 *
 * Identical misses on any worker join one flight, keyed by the entry's name;
 * the first one leads it on its own loop (reads the shared store, calls the
 * national system, stores the answer) and every waiter gets that one result,
 * or its error. The table is shared by every worker and guarded by one mutex;
 * a waiter is always woken on its own worker's loop, through an event that
 * the completing thread activates (the pattern of lt_token.h), so no callback
 * ever runs on another worker's thread, nor inside lt_flight_join().
 *
 * A completed flight stays in the table until its leader releases it, so a
 * request that arrives after the answer but before the store has it (a Redis
 * write still on its way) gets the answer instead of starting another call.
 * When every waiter has left a running flight (their clients hung up), the
 * leader is told on its loop, and may stop the upstream call.
 *
 * Results are opaque here, shared between threads by reference counting
 * (the table's ref and unref functions).
 */
#ifndef LT_FLIGHT_H
#define LT_FLIGHT_H

#include <event2/event.h>
#include <stdbool.h>
#include <stddef.h>

#include "lt_cache_crypto.h"

typedef struct lt_flight_table lt_flight_table_t;
typedef struct lt_flight_loop lt_flight_loop_t;
typedef struct lt_flight lt_flight_t;

typedef struct lt_flight_wait {
    struct lt_flight_wait *prev, *next;
    lt_flight_loop_t *loop;
    /* On the waiter's loop. `result` is only borrowed: it is unreferenced when done returns. */
    void (*done)(struct lt_flight_wait *w, void *result);
    void *arg;
    lt_flight_t *flight; /* internal */
    void *result;        /* internal */
    int state;           /* internal */
} lt_flight_wait_t;

lt_flight_table_t *lt_flight_table_new(void (*ref)(void *), void (*unref)(void *));
void lt_flight_table_free(lt_flight_table_t *t);
/* Flights in the table (running or lingering): for status and tests. */
size_t lt_flight_table_size(lt_flight_table_t *t);

/* One per worker loop, created before the threads start. */
lt_flight_loop_t *lt_flight_loop_new(lt_flight_table_t *t, struct event_base *base);
void lt_flight_loop_free(lt_flight_loop_t *l);
/* Flights this loop leads and has not released yet. */
int lt_flight_loop_owned(const lt_flight_loop_t *l);
/* Called on the loop when the count of flights it leads falls to 0 (a draining worker waits for it). */
void lt_flight_loop_on_idle(lt_flight_loop_t *l, void (*idle)(void *arg), void *arg);

/*
 * Joins the flight for name, or starts one led by this loop (*leader set). A private flight is never shared
 * (a client's no-cache refresh). w->done and w->arg must be set.
 */
lt_flight_t *lt_flight_join(lt_flight_loop_t *l, const unsigned char name[LT_CACHE_KEY_LEN], bool private_flight,
                            lt_flight_wait_t *w, bool *leader);
/* Stops waiting; done will not be called. Safe on the waiter's loop at any time before done ran. */
void lt_flight_wait_cancel(lt_flight_wait_t *w);

/* ---- the leader, on its loop ---- */

/* abandoned(arg) runs on the leader's loop once no one waits any more; the leader then releases the flight. */
void lt_flight_on_abandon(lt_flight_t *f, void (*abandoned)(void *arg), void *arg);
/* Hands result (the caller's reference) to every waiter, present and to come until the release. */
void lt_flight_complete(lt_flight_t *f, void *result);
/* Leaves the table and frees the flight: after lt_flight_complete, or once abandoned. */
void lt_flight_release(lt_flight_t *f);

#endif
