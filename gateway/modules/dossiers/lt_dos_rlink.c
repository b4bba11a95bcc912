/* The dossier store's Redis link: its scripts on the shared connection layer (lt_redis), one answer per call. */
#include "lt_dos_rlink.h"

#include <stdio.h>
#include <stdlib.h>

#include "lt_redis.h"

struct lt_dos_rserver {
    lt_redis_server_t *server;
    lt_redis_use_t use;
    const lt_redis_script_t **scripts;
    size_t nscripts;
};

struct lt_dos_rlink {
    lt_dos_rserver_t *server;
    struct event_base *base;
    lt_redis_t *r;
    lt_dos_rcall_t *calls; /* outstanding */
};

struct lt_dos_rcall {
    lt_dos_rcall_t *prev, *next;
    lt_dos_rlink_t *link;
    lt_redis_cmd_t *cmd;      /* while Redis has it */
    struct event *refused_ev; /* answers a call the layer refused (not connected), on the next loop turn */
    lt_dos_rlink_fn fn;
    void *arg;
};

/* ---- the server ---------------------------------------------------------------------------------- */

lt_dos_rserver_t *lt_dos_rserver_new(const lt_dos_rserver_conf_t *conf, const char *const *scripts, size_t n,
                                     lt_error_t *err)
{
    lt_dos_rserver_t *s = calloc(1, sizeof(*s));
    s->use = (lt_redis_use_t){.config_path = conf->config_path, .label = conf->label, .while_down = conf->while_down};
    if ((s->server = lt_redis_server_new(conf->conn, &s->use, err)) == NULL) {
        free(s);
        return NULL;
    }
    s->scripts = calloc(n, sizeof(*s->scripts));
    s->nscripts = n;
    for (size_t i = 0; i < n; i++)
        s->scripts[i] = conf->writes != NULL && conf->writes[i] ? lt_redis_server_write_script(s->server, scripts[i])
                                                                : lt_redis_server_script(s->server, scripts[i]);
    return s;
}

void lt_dos_rserver_free(lt_dos_rserver_t *s)
{
    if (s == NULL)
        return;
    lt_redis_server_free(s->server);
    free(s->scripts);
    free(s);
}

bool lt_dos_rserver_up(lt_dos_rserver_t *s)
{
    lt_redis_stats_t st;
    lt_redis_server_stats(s->server, &st);
    return st.up > 0;
}

/* ---- links ------------------------------------------------------------------------------------------- */

lt_dos_rlink_t *lt_dos_rlink_new(lt_dos_rserver_t *s, struct event_base *base)
{
    lt_dos_rlink_t *l = calloc(1, sizeof(*l));
    l->server = s;
    l->base = base;
    l->r = lt_redis_new(s->server, base);
    return l;
}

static void unlink_call(lt_dos_rcall_t *c)
{
    if (c->prev != NULL)
        c->prev->next = c->next;
    else
        c->link->calls = c->next;
    if (c->next != NULL)
        c->next->prev = c->prev;
}

static void free_call(lt_dos_rcall_t *c)
{
    if (c->refused_ev != NULL)
        event_free(c->refused_ev);
    free(c);
}

void lt_dos_rlink_free(lt_dos_rlink_t *l)
{
    if (l == NULL)
        return;
    for (lt_dos_rcall_t *c = l->calls, *next; c != NULL; c = next) {
        next = c->next;
        lt_redis_cancel(c->cmd); /* so that lt_redis_free answers none of them */
        free_call(c);
    }
    lt_redis_free(l->r);
    free(l);
}

/* The layer calls this on the loop from a clean stack: the callback may free the link. */
static void on_reply(void *arg, const redisReply *reply)
{
    lt_dos_rcall_t *c = arg;
    lt_dos_rlink_t *l = c->link;
    char failure[200] = "";
    if (reply == NULL) {
        const char *why = lt_redis_failure(l->r);
        snprintf(failure, sizeof(failure), "Redis did not answer: %s", why[0] ? why : "timeout or connection lost");
    }
    unlink_call(c);
    lt_dos_rlink_fn fn = c->fn;
    void *fn_arg = c->arg;
    free_call(c);
    fn(fn_arg, reply, reply ? NULL : failure);
}

static void on_refused(evutil_socket_t fd, short what, void *arg)
{
    lt_dos_rcall_t *c = arg;
    unlink_call(c);
    lt_dos_rlink_fn fn = c->fn;
    void *fn_arg = c->arg;
    free_call(c);
    fn(fn_arg, NULL, "Redis is not connected");
}

lt_dos_rcall_t *lt_dos_rlink_eval(lt_dos_rlink_t *l, int script, int argc, const char *const *argv,
                                  const size_t *argvlen, lt_dos_rlink_fn fn, void *arg)
{
    lt_dos_rcall_t *c = calloc(1, sizeof(*c));
    c->link = l;
    c->fn = fn;
    c->arg = arg;
    c->next = l->calls;
    if (l->calls != NULL)
        l->calls->prev = c;
    l->calls = c;
    c->cmd = lt_redis_eval(l->r, l->server->scripts[script], 0, on_reply, c, argc, (const char **)argv, argvlen);
    if (c->cmd == NULL) {
        c->refused_ev = event_new(l->base, -1, 0, on_refused, c);
        event_active(c->refused_ev, EV_TIMEOUT, 0);
    }
    return c;
}
