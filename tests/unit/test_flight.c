/* Single flight: one leader per name, every waiter woken once on its own loop, abandonment, late joiners. */
#include <event2/event.h>
#include <event2/thread.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lt_flight.h"

typedef struct {
    _Atomic int refs;
    int value;
} res_t;

static _Atomic int alive;

static void res_ref(void *p)
{
    atomic_fetch_add(&((res_t *)p)->refs, 1);
}

static void res_unref(void *p)
{
    res_t *r = p;
    if (atomic_fetch_sub(&r->refs, 1) == 1) {
        free(r);
        atomic_fetch_sub(&alive, 1);
    }
}

static res_t *res_new(int value)
{
    res_t *r = calloc(1, sizeof(*r));
    atomic_init(&r->refs, 1);
    r->value = value;
    atomic_fetch_add(&alive, 1);
    return r;
}

typedef struct {
    lt_flight_wait_t w;
    int calls, value;
    pthread_t thread;
    struct event_base *stop; /* break this loop when called */
} waiter_t;

static void on_done(lt_flight_wait_t *w, void *result)
{
    waiter_t *x = w->arg;
    x->calls++;
    x->value = ((res_t *)result)->value;
    x->thread = pthread_self();
    if (x->stop != NULL)
        event_base_loopbreak(x->stop);
}

static void waiter_init(waiter_t *x)
{
    memset(x, 0, sizeof(*x));
    x->w.done = on_done;
    x->w.arg = x;
}

static const unsigned char NAME[LT_CACHE_KEY_LEN] = {1, 2, 3};

static void run_once(struct event_base *base)
{
    event_base_loop(base, EVLOOP_NONBLOCK);
}

static void one_leader_and_every_waiter_gets_the_result(void **state)
{
    struct event_base *base = event_base_new();
    lt_flight_table_t *t = lt_flight_table_new(res_ref, res_unref);
    lt_flight_loop_t *l = lt_flight_loop_new(t, base);
    waiter_t w[5];
    bool leader;
    for (int i = 0; i < 5; i++)
        waiter_init(&w[i]);
    lt_flight_t *f = lt_flight_join(l, NAME, false, &w[0].w, &leader);
    assert_true(leader);
    for (int i = 1; i < 3; i++) {
        assert_ptr_equal(lt_flight_join(l, NAME, false, &w[i].w, &leader), f);
        assert_false(leader);
    }
    assert_int_equal(lt_flight_loop_owned(l), 1);
    lt_flight_complete(f, res_new(42));
    assert_int_equal(w[0].calls, 0); /* never inside complete: on the loop */
    run_once(base);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(w[i].calls, 1);
        assert_int_equal(w[i].value, 42);
    }
    /* Completed but not released (a Redis write still on its way): a late joiner gets the same answer. */
    assert_ptr_equal(lt_flight_join(l, NAME, false, &w[3].w, &leader), f);
    assert_false(leader);
    run_once(base);
    assert_int_equal(w[3].value, 42);
    lt_flight_release(f);
    assert_int_equal(lt_flight_loop_owned(l), 0);
    assert_int_equal(atomic_load(&alive), 0);
    f = lt_flight_join(l, NAME, false, &w[4].w, &leader);
    assert_true(leader); /* released: the next miss asks again */
    assert_int_equal(lt_flight_table_size(t), 1);
    lt_flight_complete(f, res_new(43));
    run_once(base);
    assert_int_equal(w[4].value, 43);
    lt_flight_release(f);
    assert_int_equal(atomic_load(&alive), 0);
    lt_flight_loop_free(l);
    lt_flight_table_free(t);
    event_base_free(base);
}

static int abandoned_calls;
static lt_flight_t *abandoned_flight;

static void on_abandoned(void *arg)
{
    abandoned_calls++;
    lt_flight_release(abandoned_flight);
}

static void the_last_waiter_leaving_abandons_the_flight(void **state)
{
    struct event_base *base = event_base_new();
    lt_flight_table_t *t = lt_flight_table_new(res_ref, res_unref);
    lt_flight_loop_t *l = lt_flight_loop_new(t, base);
    waiter_t a, b, c;
    waiter_init(&a);
    waiter_init(&b);
    waiter_init(&c);
    bool leader;
    abandoned_calls = 0;
    abandoned_flight = lt_flight_join(l, NAME, false, &a.w, &leader);
    lt_flight_on_abandon(abandoned_flight, on_abandoned, NULL);
    lt_flight_join(l, NAME, false, &b.w, &leader);
    lt_flight_wait_cancel(&a.w);
    run_once(base);
    assert_int_equal(abandoned_calls, 0); /* b still waits */
    lt_flight_wait_cancel(&b.w);
    run_once(base);
    assert_int_equal(abandoned_calls, 1);
    assert_int_equal(lt_flight_table_size(t), 0);
    assert_int_equal(a.calls + b.calls, 0);

    /* Someone joining between the last cancel and the leader's turn keeps the flight alive. */
    abandoned_flight = lt_flight_join(l, NAME, false, &a.w, &leader);
    lt_flight_on_abandon(abandoned_flight, on_abandoned, NULL);
    lt_flight_wait_cancel(&a.w);
    lt_flight_join(l, NAME, false, &c.w, &leader);
    assert_false(leader);
    run_once(base);
    assert_int_equal(abandoned_calls, 1);
    lt_flight_complete(abandoned_flight, res_new(7));
    run_once(base);
    assert_int_equal(c.calls, 1);
    lt_flight_release(abandoned_flight);
    assert_int_equal(atomic_load(&alive), 0);
    lt_flight_loop_free(l);
    lt_flight_table_free(t);
    event_base_free(base);
}

static void a_ready_waiter_can_still_cancel(void **state)
{
    struct event_base *base = event_base_new();
    lt_flight_table_t *t = lt_flight_table_new(res_ref, res_unref);
    lt_flight_loop_t *l = lt_flight_loop_new(t, base);
    waiter_t a;
    waiter_init(&a);
    bool leader;
    lt_flight_t *f = lt_flight_join(l, NAME, false, &a.w, &leader);
    lt_flight_complete(f, res_new(1));
    lt_flight_release(f);
    lt_flight_wait_cancel(&a.w); /* woken but not yet run: the client hung up meanwhile */
    run_once(base);
    assert_int_equal(a.calls, 0);
    assert_int_equal(atomic_load(&alive), 0);
    lt_flight_loop_free(l);
    lt_flight_table_free(t);
    event_base_free(base);
}

static void private_flights_are_never_shared(void **state)
{
    struct event_base *base = event_base_new();
    lt_flight_table_t *t = lt_flight_table_new(res_ref, res_unref);
    lt_flight_loop_t *l = lt_flight_loop_new(t, base);
    waiter_t a, b;
    waiter_init(&a);
    waiter_init(&b);
    bool la, lb;
    lt_flight_t *fa = lt_flight_join(l, NAME, true, &a.w, &la);
    lt_flight_t *fb = lt_flight_join(l, NAME, false, &b.w, &lb);
    assert_true(la && lb);
    assert_ptr_not_equal(fa, fb);
    lt_flight_complete(fa, res_new(1));
    lt_flight_complete(fb, res_new(2));
    run_once(base);
    assert_int_equal(a.value, 1);
    assert_int_equal(b.value, 2);
    lt_flight_release(fa);
    lt_flight_release(fb);
    lt_flight_loop_free(l);
    lt_flight_table_free(t);
    event_base_free(base);
}

/* ---- across threads ---- */

#define NTHREADS 4

typedef struct {
    lt_flight_table_t *t;
    waiter_t w;
    pthread_t self;
    pthread_barrier_t *joined;
} thread_arg_t;

static void keepalive(evutil_socket_t fd, short what, void *arg) {}

static void *worker(void *p)
{
    thread_arg_t *a = p;
    a->self = pthread_self();
    struct event_base *base = event_base_new();
    struct event *idle = event_new(base, -1, EV_PERSIST, keepalive, NULL);
    struct timeval ten = {10, 0};
    event_add(idle, &ten);
    lt_flight_loop_t *l = lt_flight_loop_new(a->t, base);
    waiter_init(&a->w);
    a->w.stop = base;
    bool leader;
    lt_flight_join(l, NAME, false, &a->w.w, &leader);
    assert_false(leader);
    pthread_barrier_wait(a->joined);
    event_base_dispatch(base);
    lt_flight_loop_free(l);
    event_free(idle);
    event_base_free(base);
    return NULL;
}

static void waiters_on_other_threads_are_woken_on_their_own_loops(void **state)
{
    struct event_base *base = event_base_new();
    lt_flight_table_t *t = lt_flight_table_new(res_ref, res_unref);
    lt_flight_loop_t *l = lt_flight_loop_new(t, base);
    waiter_t lead;
    waiter_init(&lead);
    bool leader;
    lt_flight_t *f = lt_flight_join(l, NAME, false, &lead.w, &leader);
    assert_true(leader);
    pthread_barrier_t joined;
    pthread_barrier_init(&joined, NULL, NTHREADS + 1);
    pthread_t threads[NTHREADS];
    thread_arg_t args[NTHREADS];
    for (int i = 0; i < NTHREADS; i++) {
        args[i] = (thread_arg_t){.t = t, .joined = &joined};
        pthread_create(&threads[i], NULL, worker, &args[i]);
    }
    pthread_barrier_wait(&joined);
    lt_flight_complete(f, res_new(99));
    lt_flight_release(f);
    for (int i = 0; i < NTHREADS; i++) {
        pthread_join(threads[i], NULL);
        assert_int_equal(args[i].w.calls, 1);
        assert_int_equal(args[i].w.value, 99);
        assert_true(pthread_equal(args[i].w.thread, args[i].self));
    }
    run_once(base);
    assert_int_equal(lead.calls, 1);
    assert_int_equal(atomic_load(&alive), 0);
    pthread_barrier_destroy(&joined);
    lt_flight_loop_free(l);
    lt_flight_table_free(t);
    event_base_free(base);
}

int main(void)
{
    evthread_use_pthreads();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(one_leader_and_every_waiter_gets_the_result),
        cmocka_unit_test(the_last_waiter_leaving_abandons_the_flight),
        cmocka_unit_test(a_ready_waiter_can_still_cancel),
        cmocka_unit_test(private_flights_are_never_shared),
        cmocka_unit_test(waiters_on_other_threads_are_woken_on_their_own_loops),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
