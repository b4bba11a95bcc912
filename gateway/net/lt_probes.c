/* Probe timers, one probe at a time per national system, and their results fed to lt_health. */
#include "lt_probes.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lt_clock.h"
#include "lt_log.h"
#include "lt_uuid.h"

typedef struct probe_slot {
    lt_probes_t *owner;
    const lt_upstream_conf_t *conf;
    lt_upstream_state_t *state;
    struct event *timer;
    lt_health_t health;
    lt_arena_t *arena;                /* the probe in flight's, NULL when idle */
    lt_call_run_t *run;               /* an operation probe in flight */
    lt_upstream_exchange_t *exchange; /* a handshake probe in flight */
    struct timespec started;
    uint64_t attempts_before; /* probe_attempts when this probe started: did it reach the system at all? */
} probe_slot_t;

struct lt_probes {
    struct event_base *base;
    lt_upstream_client_t *client;
    lt_call_env_t *env;
    probe_slot_t *slots;
    size_t n;
};

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static double seconds_since(const struct timespec *t0)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - t0->tv_sec) + (double)(now.tv_nsec - t0->tv_nsec) / 1e9;
}

/* A business answer (not found, refused input) means the system is up and answering, but only if the probe did
 * reach it: the same kinds of error raised here, before anything was sent (a probe input or header our own
 * checks refuse), say nothing about the system. */
static bool system_answered(const probe_slot_t *s, const lt_error_t *err)
{
    bool reached = atomic_load(&s->state->probe_attempts) != s->attempts_before;
    return err == NULL || (reached && lt_error_is(err->kind, LT_ERRF_ANSWER));
}

static void ended(probe_slot_t *s, const lt_error_t *err)
{
    bool ok = system_answered(s, err);
    bool reached = atomic_load(&s->state->probe_attempts) != s->attempts_before;
    char why[400];
    if (!ok)
        snprintf(why, sizeof(why), "%s%s: %s", reached ? "" : "probe not sent: ", err->code, err->detail);
    /* Only a real operation speaks for the calls the breaker guards: a TLS handshake does not (a system can
     * accept connections and fail every call). */
    if (s->conf->probe.op != NULL)
        lt_breaker_probe_result(&s->state->breaker, ok, lt_clock_ms());
    lt_health_state_t before = s->health.state;
    if (lt_health_report(&s->health, ok, ok ? NULL : why, seconds_since(&s->started), wall_ms())) {
        /* Transitions only: a steady state is not news. The reason holds error details, never personal data. */
        if (s->health.state == LT_HEALTH_UP)
            lt_log_info("probe: %s is up (was %s): %s", s->conf->name, lt_health_state_name(before), s->health.reason);
        else
            lt_log_warn("probe: %s is %s (was %s): %s", s->conf->name, lt_health_state_name(s->health.state),
                        lt_health_state_name(before), s->health.reason);
    }
    s->run = NULL;
    s->exchange = NULL;
    lt_arena_destroy(s->arena);
    s->arena = NULL;
}

static void on_call_done(void *arg, json_t *result, const lt_error_t *err)
{
    json_decref(result);
    ended(arg, err);
}

/* A handshake probe is not an lt_call, so it counts itself, in the same probe counters. */
static void on_handshake_done(void *arg, const lt_upstream_response_t *resp, const lt_error_t *err)
{
    probe_slot_t *s = arg;
    lt_outcome_t outcome = lt_outcome_classify(err, 0);
    lt_histogram_observe(&s->state->probe_seconds, seconds_since(&s->started));
    atomic_fetch_add(&s->state->probe_outcomes[outcome], 1);
    /* A handshake proves the port answers TLS, not that the service does (a load balancer completes it while
     * every real call fails), so it never moves the system's "last success"; its health slot records it. */
    if (err != NULL)
        lt_call_state_note_error(s->state, err, true);
    ended(s, err);
}

static void free_json(void *v)
{
    json_decref(v);
}

static void start_call(probe_slot_t *s)
{
    lt_arena_t *a = s->arena;
    lt_call_context_t *ctx = lt_arena_alloc(a, sizeof(*ctx));
    char uuid[LT_UUID_LEN + 1];
    lt_uuid_v4(uuid);
    ctx->request_id = lt_arena_sprintf(a, "probe-%s", uuid);
    ctx->message_id = lt_arena_strdup(a, uuid);
    ctx->officer_id = s->conf->probe.officer;
    ctx->purpose = s->conf->probe.purpose;
    ctx->client = "lienthong-probe";
    lt_call_t *call = lt_arena_alloc(a, sizeof(*call));
    call->arena = a;
    call->ctx = ctx;
    call->settings = s->conf->settings;
    call->input = json_deep_copy(s->conf->probe.input); /* adapters may annotate their input */
    lt_arena_on_destroy(a, free_json, call->input);
    s->run = lt_call_start_probe(s->owner->env, s->conf, s->conf->probe.op, call, on_call_done, s);
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
    probe_slot_t *s = arg;
    if (s->arena != NULL) /* the last probe has not ended yet (its timeout is longer than the interval) */
        return;
    s->arena = lt_arena_new();
    clock_gettime(CLOCK_MONOTONIC, &s->started);
    s->attempts_before = atomic_load(&s->state->probe_attempts);
    if (s->conf->probe.op != NULL) {
        start_call(s);
        return;
    }
    atomic_fetch_add(&s->state->probe_attempts, 1);
    lt_error_t err;
    lt_error_clear(&err);
    s->exchange =
        lt_upstream_handshake(s->owner->client, s->conf, (long)s->conf->probe.timeout_ms, on_handshake_done, s, &err);
    if (s->exchange == NULL)
        ended(s, &err);
}

lt_probes_t *lt_probes_new(struct event_base *base, const lt_config_t *config, lt_upstream_state_t *states)
{
    lt_probes_t *p = calloc(1, sizeof(*p));
    p->base = base;
    p->client = lt_upstream_client_new(base);
    p->env = lt_call_env_new(base, p->client, config, states);
    p->n = config->nupstreams;
    p->slots = calloc(p->n + 1, sizeof(*p->slots));
    for (size_t i = 0; i < p->n; i++) {
        probe_slot_t *s = &p->slots[i];
        s->owner = p;
        s->conf = &config->upstreams[i];
        s->state = &states[i];
        if (!s->conf->probe.enabled)
            continue;
        lt_health_init(&s->health, (int)s->conf->probe.down_after, (int)s->conf->probe.up_after, wall_ms());
        s->timer = event_new(base, -1, EV_PERSIST, on_tick, s);
        struct timeval tv = {.tv_sec = (time_t)s->conf->probe.interval_s};
        event_add(s->timer, &tv);
        /* The first probe now, so health is known from the start. Not event_active(EV_TIMEOUT): libevent would then
         * schedule the next run from the planned time, one interval late. Nothing here calls back synchronously. */
        on_tick(-1, 0, s);
    }
    return p;
}

void lt_probes_free(lt_probes_t *p)
{
    if (p == NULL)
        return;
    for (size_t i = 0; i < p->n; i++) {
        probe_slot_t *s = &p->slots[i];
        if (s->timer != NULL)
            event_free(s->timer);
        if (s->run != NULL)
            lt_call_cancel(s->run);
        if (s->exchange != NULL)
            lt_upstream_cancel(s->exchange);
        lt_arena_destroy(s->arena);
    }
    lt_call_env_free(p->env);
    lt_upstream_client_free(p->client);
    free(p->slots);
    free(p);
}

const lt_health_t *lt_probes_health(const lt_probes_t *p, size_t i)
{
    if (p == NULL || i >= p->n || !p->slots[i].conf->probe.enabled)
        return NULL;
    return &p->slots[i].health;
}

const char *lt_probes_kind(const lt_probes_t *p, size_t i)
{
    if (p == NULL || i >= p->n)
        return "none";
    const lt_operation_t *op = p->slots[i].conf->probe.op;
    return op != NULL ? op->name : "tls";
}
