/* The process-wide single-flight table, with wake-ups on each waiter's own loop. */
#include "lt_flight.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define NBUCKETS 256

enum { W_WAITING = 1, W_READY, W_DONE, W_CANCELLED };

struct lt_flight {
    lt_flight_t *chain;
    unsigned char name[LT_CACHE_KEY_LEN];
    lt_flight_loop_t *owner;
    bool in_table, done, abandoned;
    void *result;
    lt_flight_wait_t *waiters;
    int nwaiters;
    struct event *abandon_ev;
    void (*on_abandon)(void *arg);
    void *abandon_arg;
};

struct lt_flight_table {
    pthread_mutex_t lock;
    lt_flight_t *buckets[NBUCKETS];
    size_t size;
    void (*ref)(void *);
    void (*unref)(void *);
};

struct lt_flight_loop {
    lt_flight_table_t *table;
    struct event_base *base;
    struct event *wake_ev;
    lt_flight_wait_t *ready_head, *ready_tail; /* guarded by the table's lock */
    int owned;                                 /* touched only on this loop */
    void (*idle)(void *arg);
    void *idle_arg;
};

lt_flight_table_t *lt_flight_table_new(void (*ref)(void *), void (*unref)(void *))
{
    lt_flight_table_t *t = calloc(1, sizeof(*t));
    pthread_mutex_init(&t->lock, NULL);
    t->ref = ref;
    t->unref = unref;
    return t;
}

void lt_flight_table_free(lt_flight_table_t *t)
{
    if (t == NULL)
        return;
    pthread_mutex_destroy(&t->lock);
    free(t);
}

size_t lt_flight_table_size(lt_flight_table_t *t)
{
    pthread_mutex_lock(&t->lock);
    size_t n = t->size;
    pthread_mutex_unlock(&t->lock);
    return n;
}

static lt_flight_t **bucket(lt_flight_table_t *t, const unsigned char name[LT_CACHE_KEY_LEN])
{
    return &t->buckets[name[0]];
}

static void table_remove(lt_flight_table_t *t, lt_flight_t *f)
{
    if (!f->in_table)
        return;
    for (lt_flight_t **p = bucket(t, f->name); *p != NULL; p = &(*p)->chain)
        if (*p == f) {
            *p = f->chain;
            break;
        }
    f->in_table = false;
    t->size--;
}

/* ---- waking waiters on their own loops ------------------------------------------ */

static lt_flight_wait_t *pop_ready(lt_flight_loop_t *l)
{
    lt_flight_wait_t *w = l->ready_head;
    if (w != NULL) {
        l->ready_head = w->next;
        if (l->ready_head != NULL)
            l->ready_head->prev = NULL;
        else
            l->ready_tail = NULL;
        w->prev = w->next = NULL;
        w->state = W_DONE;
    }
    return w;
}

static void on_wake(evutil_socket_t fd, short what, void *arg)
{
    lt_flight_loop_t *l = arg;
    lt_flight_table_t *t = l->table;
    /* One at a time: a done callback may cancel another waiter of this loop. */
    for (;;) {
        pthread_mutex_lock(&t->lock);
        lt_flight_wait_t *w = pop_ready(l);
        pthread_mutex_unlock(&t->lock);
        if (w == NULL)
            return;
        void *result = w->result;
        w->result = NULL;
        w->done(w, result); /* may free w */
        t->unref(result);
    }
}

/* The table's lock is held. */
static void deliver(lt_flight_table_t *t, lt_flight_wait_t *w, void *result)
{
    lt_flight_loop_t *l = w->loop;
    t->ref(result);
    w->result = result;
    w->state = W_READY;
    w->next = NULL;
    w->prev = l->ready_tail;
    if (l->ready_tail != NULL)
        l->ready_tail->next = w;
    else
        l->ready_head = w;
    l->ready_tail = w;
    event_active(l->wake_ev, EV_READ, 0);
}

lt_flight_loop_t *lt_flight_loop_new(lt_flight_table_t *t, struct event_base *base)
{
    lt_flight_loop_t *l = calloc(1, sizeof(*l));
    l->table = t;
    l->base = base;
    l->wake_ev = event_new(base, -1, 0, on_wake, l);
    return l;
}

void lt_flight_loop_free(lt_flight_loop_t *l)
{
    if (l == NULL)
        return;
    lt_flight_table_t *t = l->table;
    pthread_mutex_lock(&t->lock);
    lt_flight_wait_t *w;
    while ((w = pop_ready(l)) != NULL) {
        t->unref(w->result);
        w->result = NULL;
    }
    pthread_mutex_unlock(&t->lock);
    event_free(l->wake_ev);
    free(l);
}

int lt_flight_loop_owned(const lt_flight_loop_t *l)
{
    return l->owned;
}

void lt_flight_loop_on_idle(lt_flight_loop_t *l, void (*idle)(void *arg), void *arg)
{
    l->idle = idle;
    l->idle_arg = arg;
}

/* ---- joining and leaving ------------------------------------------------------- */

static void on_abandon_ev(evutil_socket_t fd, short what, void *arg)
{
    lt_flight_t *f = arg;
    lt_flight_table_t *t = f->owner->table;
    pthread_mutex_lock(&t->lock);
    /* Someone may have joined since the last waiter left: only a flight still unwanted is abandoned. */
    bool go = !f->done && !f->abandoned && f->nwaiters == 0;
    if (go) {
        f->abandoned = true;
        table_remove(t, f);
    }
    pthread_mutex_unlock(&t->lock);
    if (go && f->on_abandon != NULL)
        f->on_abandon(f->abandon_arg);
}

static void add_waiter(lt_flight_t *f, lt_flight_wait_t *w)
{
    w->flight = f;
    w->state = W_WAITING;
    w->prev = NULL;
    w->next = f->waiters;
    if (f->waiters != NULL)
        f->waiters->prev = w;
    f->waiters = w;
    f->nwaiters++;
}

static lt_flight_t *new_flight(lt_flight_loop_t *l, const unsigned char name[LT_CACHE_KEY_LEN], bool shared)
{
    lt_flight_t *f = calloc(1, sizeof(*f));
    memcpy(f->name, name, LT_CACHE_KEY_LEN);
    f->owner = l;
    f->abandon_ev = event_new(l->base, -1, 0, on_abandon_ev, f);
    if (shared) {
        lt_flight_t **b = bucket(l->table, name);
        f->chain = *b;
        *b = f;
        f->in_table = true;
        l->table->size++;
    }
    l->owned++;
    return f;
}

lt_flight_t *lt_flight_join(lt_flight_loop_t *l, const unsigned char name[LT_CACHE_KEY_LEN], bool private_flight,
                            lt_flight_wait_t *w, bool *leader)
{
    lt_flight_table_t *t = l->table;
    w->loop = l;
    w->flight = NULL;
    w->result = NULL;
    pthread_mutex_lock(&t->lock);
    lt_flight_t *f = NULL;
    if (!private_flight)
        for (f = *bucket(t, name); f != NULL && memcmp(f->name, name, LT_CACHE_KEY_LEN) != 0; f = f->chain)
            ;
    *leader = f == NULL;
    if (f == NULL)
        f = new_flight(l, name, !private_flight);
    if (f->done)
        deliver(t, w, f->result);
    else
        add_waiter(f, w);
    pthread_mutex_unlock(&t->lock);
    return f;
}

void lt_flight_wait_cancel(lt_flight_wait_t *w)
{
    if (w->loop == NULL)
        return;
    lt_flight_table_t *t = w->loop->table;
    void *result = NULL;
    pthread_mutex_lock(&t->lock);
    if (w->state == W_WAITING) {
        lt_flight_t *f = w->flight;
        if (w->prev != NULL)
            w->prev->next = w->next;
        else
            f->waiters = w->next;
        if (w->next != NULL)
            w->next->prev = w->prev;
        /* The leader decides on its own loop whether to stop: someone may still join meanwhile. */
        if (--f->nwaiters == 0 && !f->done)
            event_active(f->abandon_ev, EV_READ, 0);
    } else if (w->state == W_READY) {
        lt_flight_loop_t *l = w->loop;
        if (w->prev != NULL)
            w->prev->next = w->next;
        else
            l->ready_head = w->next;
        if (w->next != NULL)
            w->next->prev = w->prev;
        else
            l->ready_tail = w->prev;
        result = w->result;
        w->result = NULL;
    }
    w->state = W_CANCELLED;
    w->prev = w->next = NULL;
    pthread_mutex_unlock(&t->lock);
    if (result != NULL)
        t->unref(result);
}

void lt_flight_on_abandon(lt_flight_t *f, void (*abandoned)(void *arg), void *arg)
{
    f->on_abandon = abandoned;
    f->abandon_arg = arg;
}

void lt_flight_complete(lt_flight_t *f, void *result)
{
    lt_flight_table_t *t = f->owner->table;
    pthread_mutex_lock(&t->lock);
    f->done = true;
    f->result = result;
    for (lt_flight_wait_t *w = f->waiters, *next; w != NULL; w = next) {
        next = w->next;
        deliver(t, w, result);
    }
    f->waiters = NULL;
    f->nwaiters = 0;
    pthread_mutex_unlock(&t->lock);
}

void lt_flight_release(lt_flight_t *f)
{
    lt_flight_loop_t *l = f->owner;
    lt_flight_table_t *t = l->table;
    pthread_mutex_lock(&t->lock);
    table_remove(t, f);
    pthread_mutex_unlock(&t->lock);
    if (f->result != NULL)
        t->unref(f->result);
    event_free(f->abandon_ev);
    free(f);
    if (--l->owned == 0 && l->idle != NULL)
        l->idle(l->idle_arg);
}
