/*
 * A real redis-server for a unit test (cmocka): started on a free loopback port in a temporary directory of its
 * own, killed and restarted at will, removed with its directory at the end. Nothing is mocked: the code under test
 * talks to it over the wire, and the test reads it back through a blocking connection of its own.
 */
#ifndef LT_TEST_REDIS_H
#define LT_TEST_REDIS_H

#include <hiredis/hiredis.h>
#include <sys/types.h>

typedef struct lt_test_redis {
    char dir[64];                  /* its directory: the log, and its files when it persists */
    char port[16];                 /* as redis-server's --port takes it */
    char address[64];              /* "127.0.0.1:<port>", as the gateway's configuration names it */
    pid_t pid;                     /* -1 while it is not running */
    const char *const *extra_args; /* more redis-server arguments, NULL-terminated (may be NULL) */
} lt_test_redis_t;

/* Makes the directory, picks the port and starts it (the test fails if it does not answer PING). 0, or -1 when the
 * directory cannot be made. extra_args is kept for each restart. */
int lt_test_redis_start(lt_test_redis_t *r, const char *name, const char *const *extra_args);
/* Starts it again on the same port and directory, after lt_test_redis_kill. */
void lt_test_redis_restart(lt_test_redis_t *r);
/* SIGKILL (after a SIGCONT, in case the test stopped it), and waits for it. */
void lt_test_redis_kill(lt_test_redis_t *r);
/* Kills it and removes its directory. 0, or -1 when the directory could not be removed. */
int lt_test_redis_stop(lt_test_redis_t *r);
/* A command on the test's own blocking connection, after AUTH password (when not NULL) and SELECT db (when not 0);
 * NULL when it does not answer. */
redisReply *lt_test_redis_command(const lt_test_redis_t *r, const char *password, int db, const char *fmt, ...);

#endif
