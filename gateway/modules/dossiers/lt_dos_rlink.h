/*
 * The dossier store's Redis link (dossiers floor): everything Redis-specific below the scripts, in one place, on
 * the shared Redis connection layer of floor 3 (lt_redis.h: one connection per loop, a timeout per command,
 * reconnection with backoff, the scripts loaded on every new connection, EVALSHA with the NOSCRIPT fallback).
 * What it adds for the store:
 *
 *   - A call made while the connection is not up is answered (with a failure) on the next loop turn, so every
 *     call gets exactly one answer and never inside lt_dos_rlink_eval.
 *   - Answers are delivered on the link's loop from a clean stack (the layer's guarantee), so a callback may free
 *     the link; freeing the link cancels the calls still waiting, which are then not answered.
 */
#ifndef LT_DOS_RLINK_H
#define LT_DOS_RLINK_H

#include <event2/event.h>
#include <hiredis/hiredis.h>
#include <stdbool.h>
#include <stddef.h>

#include "lt_config.h"
#include "lt_error.h"

typedef struct lt_dos_rserver lt_dos_rserver_t;
typedef struct lt_dos_rlink lt_dos_rlink_t;
typedef struct lt_dos_rcall lt_dos_rcall_t;

typedef struct lt_dos_rserver_conf {
    const lt_redis_conf_t *conn; /* dossiers.store.redis: the connection layer's keys */
    const char *config_path;     /* for messages: "dossiers.store.redis" */
    const char *label;           /* for logs: "dossiers redis" */
    const char *while_down;      /* what an outage means to this user */
    const bool *writes; /* per script: its writes wait for replicas (lt_redis_server_write_script); NULL: none */
} lt_dos_rserver_conf_t;

/* Resolves the address (start-up only: it may block) and reads the password. conf's strings and the scripts (n of
 * them) must outlive it. */
lt_dos_rserver_t *lt_dos_rserver_new(const lt_dos_rserver_conf_t *conf, const char *const *scripts, size_t n,
                                     lt_error_t *err);
void lt_dos_rserver_free(lt_dos_rserver_t *s); /* after every link */
/* true while any link's connection is up. Thread-safe. */
bool lt_dos_rserver_up(lt_dos_rserver_t *s);

lt_dos_rlink_t *lt_dos_rlink_new(lt_dos_rserver_t *s, struct event_base *base);
/* Calls still waiting are not answered. */
void lt_dos_rlink_free(lt_dos_rlink_t *l);

/* reply is NULL when the call failed; failure then says why. reply is valid only during the callback. */
typedef void (*lt_dos_rlink_fn)(void *arg, const redisReply *reply, const char *failure);

/* EVALSHA of script number `script` with no keys and argv as ARGV. Always answers exactly once, later. */
lt_dos_rcall_t *lt_dos_rlink_eval(lt_dos_rlink_t *l, int script, int argc, const char *const *argv,
                                  const size_t *argvlen, lt_dos_rlink_fn fn, void *arg);

#endif
