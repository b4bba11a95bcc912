/* A real redis-server for a unit test (lt_test_redis.h). */
#include "lt_test_redis.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_ARGS 32

static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(a);
    int port = -1;
    if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 && getsockname(fd, (struct sockaddr *)&a, &len) == 0)
        port = ntohs(a.sin_port);
    if (fd >= 0)
        close(fd);
    return port;
}

redisReply *lt_test_redis_command(const lt_test_redis_t *r, const char *password, int db, const char *fmt, ...)
{
    struct timeval tv = {0, 200000};
    redisContext *rc = redisConnectWithTimeout("127.0.0.1", atoi(r->port), tv);
    redisReply *reply = NULL;
    if (rc != NULL && rc->err == 0 && password != NULL)
        freeReplyObject(redisCommand(rc, "AUTH %s", password));
    if (rc != NULL && rc->err == 0 && db != 0)
        freeReplyObject(redisCommand(rc, "SELECT %d", db));
    if (rc != NULL && rc->err == 0) {
        va_list ap;
        va_start(ap, fmt);
        reply = redisvCommand(rc, fmt, ap);
        va_end(ap);
    }
    if (rc != NULL)
        redisFree(rc);
    return reply;
}

void lt_test_redis_restart(lt_test_redis_t *r)
{
    char log[sizeof(r->dir) + 16];
    snprintf(log, sizeof(log), "%s/redis.log", r->dir);
    const char *argv[MAX_ARGS] = {"redis-server", "--port", r->port,     "--bind", "127.0.0.1", "--save", "",
                                  "--dir",        r->dir,   "--logfile", log};
    int n = 11;
    for (size_t i = 0; r->extra_args != NULL && r->extra_args[i] != NULL && n < MAX_ARGS - 1; i++)
        argv[n++] = r->extra_args[i];
    argv[n] = NULL;
    r->pid = fork();
    if (r->pid == 0) {
        execvp("redis-server", (char *const *)argv);
        _exit(127);
    }
    for (int i = 0; i < 500; i++) {
        redisReply *reply = lt_test_redis_command(r, NULL, 0, "PING");
        if (reply != NULL) {
            freeReplyObject(reply);
            return;
        }
        usleep(10000);
    }
    fail_msg("redis-server did not start on port %s (its log: %s)", r->port, log);
}

int lt_test_redis_start(lt_test_redis_t *r, const char *name, const char *const *extra_args)
{
    memset(r, 0, sizeof(*r));
    r->pid = -1;
    r->extra_args = extra_args;
    snprintf(r->dir, sizeof(r->dir), "/tmp/lt-%s-XXXXXX", name);
    if (mkdtemp(r->dir) == NULL)
        return -1;
    snprintf(r->port, sizeof(r->port), "%d", free_port());
    snprintf(r->address, sizeof(r->address), "127.0.0.1:%s", r->port);
    lt_test_redis_restart(r);
    return 0;
}

void lt_test_redis_kill(lt_test_redis_t *r)
{
    if (r->pid > 0) {
        kill(r->pid, SIGCONT);
        kill(r->pid, SIGKILL);
        waitpid(r->pid, NULL, 0);
    }
    r->pid = -1;
}

int lt_test_redis_stop(lt_test_redis_t *r)
{
    lt_test_redis_kill(r);
    if (r->dir[0] == '\0')
        return 0;
    char cmd[sizeof(r->dir) + 16];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", r->dir);
    return system(cmd) == 0 ? 0 : -1;
}
