/* A call's life: admission (in-flight cap, breaker), token, adapter steps, retries inside the deadline. */
#include "lt_call.h"

#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lt_clock.h"
#include "lt_log.h"

#define LT_CALL_MAX_STEPS 4

struct lt_call_env {
    struct event_base *base;
    lt_upstream_client_t *client;
    const lt_config_t *config;
    lt_upstream_state_t *states;
    lt_token_waiters_t **waiters; /* per upstream: this worker's token waiters */
};

struct lt_call_run {
    lt_call_env_t *env;
    lt_upstream_state_t *state;
    const lt_upstream_conf_t *conf;
    const lt_operation_t *op;
    lt_call_t *call;
    lt_call_done_fn done;
    void *arg;
    int64_t deadline_ms;
    lt_upstream_request_t req;
    lt_upstream_exchange_t *exchange;
    struct event *timer;        /* backoff, and deferred completion */
    lt_token_wait_t token_wait; /* while waiting for another worker's token fetch */
    bool waiting_token, fetching_token, probe, reauthed, finished;
    bool health_probe;           /* lt_call_start_probe: counted apart, one attempt, outside the cap and the breaker */
    uint64_t token_ticket;       /* the fetch this call waits for (lt_token_acquire) */
    int64_t token_fetch_started; /* when this call's own token fetch was sent */
    const char *rejected_token;
    lt_error_t pending_err; /* a failure to report from the timer (never synchronously from start) */
    bool pending;
    struct timespec attempt_started; /* of the exchange in flight, for its duration */
};

static void attempt(lt_call_run_t *run);
static void get_token(lt_call_run_t *run);
static void send_request(lt_call_run_t *run,
                         void (*on_done)(void *, const lt_upstream_response_t *, const lt_error_t *));

/* ---- shared and per-worker state ----------------------------------------- */

lt_upstream_state_t *lt_call_states_new(const lt_config_t *config)
{
    lt_upstream_state_t *states = calloc(config->nupstreams + 1, sizeof(*states));
    int64_t now = lt_clock_ms();
    for (size_t i = 0; i < config->nupstreams; i++) {
        const lt_upstream_conf_t *u = &config->upstreams[i];
        lt_breaker_conf_t bc = {
            .consecutive_failures = (int)u->breaker.consecutive_failures,
            .failure_ratio = u->breaker.failure_ratio,
            .window = (int)u->breaker.window,
            .min_calls = (int)u->breaker.min_calls,
            .cooldown_ms = u->breaker.cooldown_ms,
        };
        states[i].conf = u;
        pthread_mutex_init(&states[i].note_lock, NULL);
        lt_breaker_init(&states[i].breaker, &bc, now);
        lt_token_store_init(&states[i].token, (int)u->token.rate_per_minute, 60000, u->token.refresh_margin_s * 1000);
    }
    return states;
}

void lt_call_states_free(lt_upstream_state_t *states, size_t n)
{
    if (states == NULL)
        return;
    for (size_t i = 0; i < n; i++) {
        lt_breaker_destroy(&states[i].breaker);
        pthread_mutex_destroy(&states[i].note_lock);
        lt_token_store_destroy(&states[i].token);
    }
    free(states);
}

lt_call_env_t *lt_call_env_new(struct event_base *base, lt_upstream_client_t *client, const lt_config_t *config,
                               lt_upstream_state_t *states)
{
    lt_call_env_t *env = calloc(1, sizeof(*env));
    env->base = base;
    env->client = client;
    env->config = config;
    env->states = states;
    env->waiters = calloc(config->nupstreams + 1, sizeof(*env->waiters));
    for (size_t i = 0; i < config->nupstreams; i++)
        env->waiters[i] = lt_token_waiters_new(&states[i].token, base);
    return env;
}

void lt_call_env_free(lt_call_env_t *env)
{
    if (env == NULL)
        return;
    for (size_t i = 0; i < env->config->nupstreams; i++)
        lt_token_waiters_free(env->waiters[i]);
    free(env->waiters);
    free(env);
}

static size_t upstream_index(const lt_call_env_t *env, const lt_upstream_conf_t *u)
{
    return (size_t)(u - env->config->upstreams);
}

lt_upstream_state_t *lt_call_env_state(lt_call_env_t *env, const lt_upstream_conf_t *upstream)
{
    return &env->states[upstream_index(env, upstream)];
}

int64_t lt_call_backoff_delay_ms(int64_t base_ms, int64_t cap_ms, int retry, uint32_t random)
{
    int64_t ceiling = base_ms;
    for (int i = 0; i < retry && ceiling < cap_ms; i++)
        ceiling *= 2;
    if (ceiling > cap_ms)
        ceiling = cap_ms;
    return (int64_t)((uint64_t)random % (uint64_t)(ceiling + 1));
}

static uint32_t random32(void)
{
    uint32_t r = 0;
    RAND_bytes((unsigned char *)&r, sizeof(r));
    return r;
}

void lt_call_state_last_error(lt_upstream_state_t *st, int64_t *at_ms, bool *probe, char *code, size_t code_len,
                              char *detail, size_t detail_len)
{
    pthread_mutex_lock(&st->note_lock);
    *at_ms = st->last_error.at_ms;
    *probe = st->last_error.probe;
    snprintf(code, code_len, "%s", st->last_error.code);
    snprintf(detail, detail_len, "%s", st->last_error.detail);
    pthread_mutex_unlock(&st->note_lock);
}

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void lt_call_state_note_ok(lt_upstream_state_t *st)
{
    atomic_store(&st->last_ok_ms, wall_ms());
}

void lt_call_state_note_error(lt_upstream_state_t *st, const lt_error_t *err, bool probe)
{
    pthread_mutex_lock(&st->note_lock);
    st->last_error.at_ms = wall_ms();
    st->last_error.probe = probe;
    snprintf(st->last_error.code, sizeof(st->last_error.code), "%s", err->code);
    snprintf(st->last_error.detail, sizeof(st->last_error.detail), "%s", err->detail);
    pthread_mutex_unlock(&st->note_lock);
}

/* What an operator at 3 a.m. reads first on /status: when it last worked, and what went wrong last. A business
 * answer (404, a refused input: 4xx toward the caller) is the system working; an HTTP 401 or 403 that refuses
 * the province itself (502 toward the caller) is not, whatever its HTTP class. */
static void note_result(lt_call_run_t *run, const lt_error_t *err)
{
    if (err == NULL || lt_error_is(err->kind, LT_ERRF_ANSWER))
        lt_call_state_note_ok(run->state);
    else
        lt_call_state_note_error(run->state, err, run->health_probe);
}

/* One exchange with the upstream ended: count how, and how long it took. Cancelled exchanges are not counted. */
static void attempt_ended_as(lt_call_run_t *run, lt_outcome_t outcome)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    double s =
        (double)(now.tv_sec - run->attempt_started.tv_sec) + (double)(now.tv_nsec - run->attempt_started.tv_nsec) / 1e9;
    if (run->health_probe) {
        lt_histogram_observe(&run->state->probe_seconds, s);
        atomic_fetch_add(&run->state->probe_outcomes[outcome], 1);
        return;
    }
    lt_histogram_observe(&run->state->attempt_seconds, s);
    atomic_fetch_add(&run->state->outcomes[outcome], 1);
}

static void attempt_ended(lt_call_run_t *run, const lt_upstream_response_t *resp, const lt_error_t *err)
{
    lt_outcome_t outcome = lt_outcome_classify(err, resp ? resp->status : 0);
    attempt_ended_as(run, outcome);
    note_result(run, err);
}

/* ---- ending ---------------------------------------------------------------- */

static void release(lt_call_run_t *run)
{
    run->finished = true;
    if (run->timer != NULL) {
        event_free(run->timer);
        run->timer = NULL;
    }
    if (run->exchange != NULL) {
        lt_upstream_cancel(run->exchange);
        run->exchange = NULL;
    }
    if (run->waiting_token) {
        lt_token_wait_cancel(run->env->waiters[upstream_index(run->env, run->conf)], &run->token_wait);
        run->waiting_token = false;
    }
    if (run->fetching_token) {
        /* Others wait on this fetch: let one of them take over. */
        lt_token_fetch_abandoned(&run->state->token);
        run->fetching_token = false;
    }
    if (run->probe) {
        lt_breaker_release_probe(&run->state->breaker);
        run->probe = false;
    }
    if (!run->health_probe)
        atomic_fetch_sub(&run->state->inflight, 1);
}

static void finish(lt_call_run_t *run, json_t *result, const lt_error_t *err)
{
    if (run->finished) {
        json_decref(result);
        return;
    }
    release(run);
    run->done(run->arg, result, err);
}

void lt_call_cancel(lt_call_run_t *run)
{
    if (run != NULL && !run->finished)
        release(run);
}

/* Failures of the national system itself (not of our input, and not business answers like 404 or 422) move the
 * breaker; our own token rate limit says nothing about the system. */
bool lt_call_counts_against_breaker(const lt_error_t *err)
{
    return lt_error_is(err->kind, LT_ERRF_BREAKER) && strcmp(err->code, "token_rate_limit") != 0;
}

static void report(lt_call_run_t *run, bool failed)
{
    if (run->health_probe)
        return;
    lt_breaker_report(&run->state->breaker, failed, run->probe, lt_clock_ms());
    run->probe = false;
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    lt_call_run_t *run = arg;
    if (run->pending) {
        run->pending = false;
        finish(run, NULL, &run->pending_err);
        return;
    }
    attempt(run);
}

static void arm_timer(lt_call_run_t *run, int64_t ms)
{
    struct timeval tv = {.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000};
    evtimer_add(run->timer, &tv);
}

/* Fail from the loop, not from inside lt_call_start(): callers never see their callback before the call returns. */
static void fail_soon(lt_call_run_t *run, const lt_error_t *err)
{
    run->pending_err = *err;
    run->pending = true;
    arm_timer(run, 0);
}

/* A failed attempt: retry when the operation, the failure and the deadline all allow it; otherwise answer. */
static void attempt_failed(lt_call_run_t *run, const lt_error_t *err)
{
    bool was_probe = run->probe;
    if (lt_call_counts_against_breaker(err))
        report(run, true);
    /* The system said it is closed to everyone until a known time: every worker's calls wait for it, not only
     * this one's retries, so a night-long window costs the national system one request, not one per call. */
    if (err->upstream_closed_s > 0 && !run->health_probe) {
        int64_t now = lt_clock_ms();
        lt_breaker_hold_open(&run->state->breaker, now, now + (int64_t)err->upstream_closed_s * 1000);
        finish(run, NULL, err);
        return;
    }
    lt_call_t *call = run->call;
    int next = call->attempt + 1;
    if (!err->retryable || !run->op->idempotent || was_probe || run->health_probe ||
        next >= run->conf->retry.max_attempts) {
        finish(run, NULL, err);
        return;
    }
    int64_t delay = lt_call_backoff_delay_ms(run->conf->retry.base_delay_ms, run->conf->retry.max_delay_ms,
                                             call->attempt, random32());
    /* Honour a wait the upstream demanded; our own Retry-After advice to callers does not hold retries back. */
    if (err->upstream_wait_s > 0 && (int64_t)err->upstream_wait_s * 1000 > delay)
        delay = (int64_t)err->upstream_wait_s * 1000;
    /* A retry that could not finish inside the deadline only delays an answer the caller needs now. */
    if (lt_clock_ms() + delay + 50 >= run->deadline_ms) {
        finish(run, NULL, err);
        return;
    }
    atomic_fetch_add(&run->state->retries, 1);
    lt_log_info("request %s: %s %s attempt %d failed (%s); retrying in %lld ms", call->ctx->request_id, run->conf->name,
                run->op->name, call->attempt + 1, err->code, (long long)delay);
    call->attempt = next;
    arm_timer(run, delay);
}

/* ---- the adapter's steps ----------------------------------------------------- */

static void on_response(void *arg, const lt_upstream_response_t *resp, const lt_error_t *transport_err)
{
    lt_call_run_t *run = arg;
    run->exchange = NULL;
    if (transport_err != NULL) {
        attempt_ended(run, NULL, transport_err);
        attempt_failed(run, transport_err);
        return;
    }
    lt_call_t *call = run->call;
    lt_error_t err;
    lt_error_clear(&err);
    json_t *result = NULL;
    lt_upstream_request_t next = {0};
    call->sent = &run->req;
    lt_step_t step = run->op->parse(call, resp, &result, &next, &err);
    call->step++;
    if (step == LT_STEP_REAUTH) /* the token was refused: an HTTP 401 or the system's equivalent */
        attempt_ended_as(run, LT_OUTCOME_HTTP_4XX);
    else
        attempt_ended(run, resp, step == LT_STEP_FAIL ? &err : NULL);
    switch (step) {
    case LT_STEP_DONE:
        report(run, false);
        finish(run, result, NULL);
        return;
    case LT_STEP_AGAIN:
        if (call->step >= LT_CALL_MAX_STEPS) {
            lt_error_set(&err, LT_ERR_INTERNAL, "too_many_steps", "the %s adapter did not finish", run->conf->name);
            finish(run, NULL, &err);
            return;
        }
        run->req = next;
        send_request(run, on_response);
        return;
    case LT_STEP_REAUTH:
        if (run->reauthed || run->state->conf->adapter->token_build == NULL) {
            lt_error_set(&err, LT_ERR_UPSTREAM_BAD, "token_refused", "%s refused a freshly issued token",
                         run->conf->name);
            attempt_failed(run, &err);
            return;
        }
        /* Refresh once and retry once: the token expired or was revoked. */
        run->reauthed = true;
        run->rejected_token = call->token;
        call->token = NULL;
        get_token(run);
        return;
    case LT_STEP_FAIL:
        if (lt_call_counts_against_breaker(&err)) {
            attempt_failed(run, &err);
        } else {
            report(run, false); /* a business answer (404, 400): the system is healthy */
            finish(run, NULL, &err);
        }
        return;
    }
}

static void send_request(lt_call_run_t *run,
                         void (*on_done)(void *, const lt_upstream_response_t *, const lt_error_t *))
{
    lt_error_t err;
    int64_t left = run->deadline_ms - lt_clock_ms();
    long timeout = (long)(left < run->conf->timeout_ms ? left : run->conf->timeout_ms);
    if (timeout <= 0) {
        lt_error_set(&err, LT_ERR_UPSTREAM_TIMEOUT, "deadline", "%s: no time left for another attempt",
                     run->conf->name);
        finish(run, NULL, &err);
        return;
    }
    atomic_fetch_add(run->health_probe ? &run->state->probe_attempts : &run->state->attempts, 1);
    clock_gettime(CLOCK_MONOTONIC, &run->attempt_started);
    run->exchange = lt_upstream_send(run->env->client, run->conf, &run->req, timeout, on_done, run, &err);
    if (run->exchange == NULL)
        finish(run, NULL, &err);
}

static void build_and_send(lt_call_run_t *run)
{
    lt_call_t *call = run->call;
    lt_error_t err;
    lt_error_clear(&err);
    call->step = 0;
    call->now = time(NULL);
    memset(&run->req, 0, sizeof(run->req));
    lt_step_t step = run->op->build(call, &run->req, &err);
    if (step == LT_STEP_FAIL) {
        finish(run, NULL, &err);
        return;
    }
    send_request(run, on_response);
}

/* ---- tokens ---------------------------------------------------------------- */

static void on_token_response(void *arg, const lt_upstream_response_t *resp, const lt_error_t *transport_err)
{
    lt_call_run_t *run = arg;
    run->exchange = NULL;
    run->fetching_token = false;
    lt_error_t err;
    lt_error_clear(&err);
    const char *token = NULL;
    long expires_in = 0;
    const lt_adapter_t *adapter = run->conf->adapter;
    if (transport_err != NULL) {
        err = *transport_err;
        attempt_ended(run, NULL, &err);
    } else if (adapter->token_parse(run->conf->settings, run->call->arena, resp, &token, &expires_in, &err) == 0) {
        attempt_ended(run, resp, NULL);
        lt_token_fetched(&run->state->token, token, expires_in, run->token_fetch_started);
        run->call->token = token;
        build_and_send(run);
        return;
    } else {
        attempt_ended(run, resp, &err);
    }
    lt_token_fetch_failed(&run->state->token, &err, lt_clock_ms());
    attempt_failed(run, &err);
}

static void on_token_wake(lt_token_wait_t *w)
{
    lt_call_run_t *run = w->arg;
    run->waiting_token = false;
    get_token(run);
}

static void get_token(lt_call_run_t *run)
{
    lt_error_t err;
    lt_error_clear(&err);
    char token[LT_TOKEN_MAX];
    lt_token_store_t *store = &run->state->token;
    switch (
        lt_token_acquire(store, lt_clock_ms(), run->rejected_token, &run->token_ticket, token, sizeof(token), &err)) {
    case LT_TOKEN_READY:
        run->rejected_token = NULL;
        run->call->token = lt_arena_strdup(run->call->arena, token);
        build_and_send(run);
        return;
    case LT_TOKEN_WAIT:
        run->rejected_token = NULL;
        run->waiting_token = true;
        run->token_wait.wake = on_token_wake;
        run->token_wait.arg = run;
        lt_token_wait_add(run->env->waiters[upstream_index(run->env, run->conf)], &run->token_wait);
        return;
    case LT_TOKEN_LIMIT:
        finish(run, NULL, &err);
        return;
    case LT_TOKEN_FAILED:
        /* The one fetch for everybody failed; answer with its error (its attempt already counted it). */
        finish(run, NULL, &err);
        return;
    case LT_TOKEN_FETCH:
        run->rejected_token = NULL;
        run->fetching_token = true;
        run->token_fetch_started = lt_clock_ms();
        memset(&run->req, 0, sizeof(run->req));
        if (run->conf->adapter->token_build(run->conf->settings, run->call->arena, &run->req, &err) != 0) {
            run->fetching_token = false;
            lt_token_fetch_failed(store, &err, lt_clock_ms());
            finish(run, NULL, &err);
            return;
        }
        send_request(run, on_token_response);
        return;
    }
}

/* ---- attempts ------------------------------------------------------------- */

static void attempt(lt_call_run_t *run)
{
    lt_error_t err;
    lt_error_clear(&err);
    int64_t retry_after_ms = 0;
    switch (run->health_probe ? LT_BREAKER_ALLOW
                              : lt_breaker_admit(&run->state->breaker, lt_clock_ms(), &retry_after_ms)) {
    case LT_BREAKER_DENY:
        atomic_fetch_add(&run->state->refused_open, 1);
        lt_error_set(&err, LT_ERR_UPSTREAM_UNAVAILABLE, "circuit_open",
                     "%s is failing; calls are paused for a cool-down", run->conf->name);
        err.retry_after_s = (int)((retry_after_ms + 999) / 1000);
        if (err.retry_after_s < 1)
            err.retry_after_s = 1;
        finish(run, NULL, &err);
        return;
    case LT_BREAKER_PROBE:
        run->probe = true;
        break;
    case LT_BREAKER_ALLOW:
        break;
    }
    if (run->conf->adapter->token_build != NULL && run->call->token == NULL)
        get_token(run);
    else
        build_and_send(run);
}

/* A run in the call's arena, with its deadline and timer; citizens' calls and probes differ only after this. */
static lt_call_run_t *run_new(lt_call_env_t *env, const lt_upstream_conf_t *upstream, const lt_operation_t *op,
                              lt_call_t *call, lt_call_done_fn done, void *arg, long long deadline_ms)
{
    lt_call_run_t *run = lt_arena_alloc(call->arena, sizeof(*run));
    run->env = env;
    run->state = lt_call_env_state(env, upstream);
    run->conf = upstream;
    run->op = op;
    run->call = call;
    run->done = done;
    run->arg = arg;
    run->deadline_ms = lt_clock_ms() + deadline_ms;
    run->timer = evtimer_new(env->base, on_timer, run);
    return run;
}

lt_call_run_t *lt_call_start(lt_call_env_t *env, const lt_upstream_conf_t *upstream, const lt_operation_t *op,
                             lt_call_t *call, lt_call_done_fn done, void *arg)
{
    lt_call_run_t *run = run_new(env, upstream, op, call, done, arg, upstream->deadline_ms);
    atomic_fetch_add(&run->state->calls, 1);
    if (atomic_fetch_add(&run->state->inflight, 1) >= upstream->max_inflight) {
        atomic_fetch_add(&run->state->refused_busy, 1);
        lt_error_t err;
        lt_error_set(&err, LT_ERR_UPSTREAM_UNAVAILABLE, "too_many_inflight",
                     "too many calls to %s are already waiting; try again shortly", upstream->name);
        err.retry_after_s = 1;
        fail_soon(run, &err);
        return run;
    }
    /* The first attempt also starts from the loop, so a breaker refusal never answers inside this call. */
    arm_timer(run, 0);
    return run;
}

lt_call_run_t *lt_call_start_probe(lt_call_env_t *env, const lt_upstream_conf_t *upstream, const lt_operation_t *op,
                                   lt_call_t *call, lt_call_done_fn done, void *arg)
{
    lt_call_run_t *run = run_new(env, upstream, op, call, done, arg, upstream->probe.timeout_ms);
    run->health_probe = true;
    arm_timer(run, 0);
    return run;
}
