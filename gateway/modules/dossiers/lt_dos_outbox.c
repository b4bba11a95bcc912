/* Pushing due dossier records to the national public-service portal, one call at a time, from the main loop. */
#include "lt_dos_outbox.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lt_clock.h"
#include "lt_date.h"
#include "lt_dos_portal.h"
#include "lt_log.h"

#define COUNTS_EVERY_MS 1000
#define SERVICES        3 /* auth, snapshots, steps */
#define OUTCOMES        (LT_PORTAL_BAD + 1)

typedef enum { IDLE, AUTHING, CLAIMING, SENDING, RECORDING } phase_t;

static const char *const service_names[SERVICES] = {"auth", "DongBoHoSoMC", "CapNhatTienDoHoSoMC"};
static const char *const outcome_names[OUTCOMES] = {"ok", "reauth", "refused", "refused_all", "busy", "down", "bad"};

struct lt_dos_outbox {
    const lt_dossiers_conf_t *conf;
    char *password;
    struct event_base *base;
    lt_dos_conn_t *conn;
    lt_upstream_client_t *client;
    lt_upstream_conf_t peer;
    char owner[300]; /* this instance, for the sender's lease (redis) */
    struct event *timer, *counts_timer;
    phase_t phase;
    bool counting;

    char session[LT_PORTAL_SESSION_MAX + 1]; /* "" when none */
    int64_t session_used_ms;                 /* monotonic */
    int reauths_in_row;                      /* 401 right after a fresh session: the portal is not taking it */

    int64_t next_call_ms; /* monotonic: no call before this (pace, backoff, Retry-After) */
    int failures;         /* calls in a row that failed as a whole */
    size_t limit;         /* records per call now: `batch`, halved after a refusal of a whole call */
    bool prefer_steps, tried_other;

    /* The call in flight. */
    lt_portal_service_t service;
    lt_dos_ref_t *refs;
    size_t nrefs;
    char *body;
    char *dstcode_header;
    lt_upstream_exchange_t *exchange;
    void (*answer)(lt_dos_outbox_t *ob, const lt_upstream_response_t *resp, const lt_error_t *err);

    /* What the operators see. */
    lt_dos_counts_t counts;
    char dead_example[LT_DOS_ERROR_MAX + LT_DOS_RECORD_ID_MAX + 8];
    char last_error[400];
    int64_t last_error_at_ms, last_success_at_ms; /* wall clock */
    long long calls[SERVICES][OUTCOMES];
    long long delivered[2], dead_lettered[2]; /* [0] snapshots, [1] steps */
};

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t lt_dos_outbox_backoff_ms(long long base_ms, long long max_ms, int attempts, unsigned random)
{
    int64_t d = base_ms;
    for (int i = 1; i < attempts && d < max_ms; i++)
        d *= 2;
    if (d > max_ms)
        d = max_ms;
    return d / 2 + (int64_t)(random % (unsigned)(d / 2 + 1));
}

/* ---- scheduling --------------------------------------------------------------------------------------- */

static void schedule_in(lt_dos_outbox_t *ob, int64_t ms)
{
    if (ms < 0)
        ms = 0;
    struct timeval tv = {.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000};
    evtimer_add(ob->timer, &tv);
}

/* The next round, as soon as the pace allows. */
static void next_round(lt_dos_outbox_t *ob)
{
    ob->phase = IDLE;
    schedule_in(ob, ob->next_call_ms - lt_clock_ms());
}

static void idle(lt_dos_outbox_t *ob)
{
    ob->phase = IDLE;
    schedule_in(ob, ob->conf->outbox.poll_ms);
}

static void note_error(lt_dos_outbox_t *ob, const char *fmt, const char *a, const char *b)
{
    snprintf(ob->last_error, sizeof(ob->last_error), fmt, a, b);
    ob->last_error_at_ms = wall_ms();
}

/* The portal failed as a whole: wait longer each time, for as long as it takes. */
static void back_off(lt_dos_outbox_t *ob, const char *why)
{
    unsigned rnd = 0;
    RAND_bytes((unsigned char *)&rnd, sizeof(rnd));
    ob->failures++;
    int64_t delay =
        lt_dos_outbox_backoff_ms(ob->conf->outbox.base_delay_ms, ob->conf->outbox.max_delay_ms, ob->failures, rnd);
    int64_t at = lt_clock_ms() + delay;
    if (at > ob->next_call_ms)
        ob->next_call_ms = at;
    note_error(ob, "%s%s", why, "");
    lt_log_warn("dossiers outbox: %s; trying again in %lld ms (failure %d in a row)", why, (long long)delay,
                ob->failures);
    next_round(ob);
}

/* No call sooner than min_interval_ms after this one started. */
static void pace(lt_dos_outbox_t *ob)
{
    int64_t at = lt_clock_ms() + ob->conf->outbox.min_interval_ms;
    if (at > ob->next_call_ms)
        ob->next_call_ms = at;
}

static void clear_call(lt_dos_outbox_t *ob)
{
    free(ob->refs);
    ob->refs = NULL;
    ob->nrefs = 0;
    free(ob->body);
    ob->body = NULL;
    ob->exchange = NULL;
}

/* ---- sending ------------------------------------------------------------------------------------------- */

static void on_exchange(void *arg, const lt_upstream_response_t *resp, const lt_error_t *err);

static bool send_to_portal(lt_dos_outbox_t *ob, const char *path, char *body)
{
    ob->body = body;
    lt_upstream_request_t req = {.method = "POST",
                                 .path = path,
                                 .headers = {"Content-Type: application/json", ob->dstcode_header},
                                 .nheaders = 2,
                                 .body = body,
                                 .body_len = strlen(body)};
    lt_error_t err;
    pace(ob);
    ob->session_used_ms = lt_clock_ms();
    ob->exchange =
        lt_upstream_send(ob->client, &ob->peer, &req, (long)ob->conf->portal.timeout_ms, on_exchange, ob, &err);
    if (ob->exchange == NULL) {
        clear_call(ob);
        back_off(ob, err.detail);
        return false;
    }
    return true;
}

static void count_call(lt_dos_outbox_t *ob, int service, lt_portal_outcome_t outcome)
{
    ob->calls[service][outcome]++;
}

/* A failure below HTTP is the portal being unreachable: the same as its 5xx. */
static void transport_answer(const lt_error_t *err, lt_portal_answer_t *a)
{
    memset(a, 0, sizeof(*a));
    a->outcome = LT_PORTAL_DOWN;
    snprintf(a->message, sizeof(a->message), "the portal did not answer: %.250s", err ? err->detail : "unknown");
}

static void start_round(lt_dos_outbox_t *ob);

static void on_auth(lt_dos_outbox_t *ob, const lt_upstream_response_t *resp, const lt_error_t *err)
{
    lt_portal_answer_t a;
    if (resp != NULL)
        lt_dos_portal_read_auth(resp->status, resp->retry_after, resp->body, resp->body_len, &a);
    else
        transport_answer(err, &a);
    count_call(ob, 0, a.outcome);
    OPENSSL_cleanse(ob->body, strlen(ob->body)); /* it held the password */
    clear_call(ob);
    if (a.outcome == LT_PORTAL_OK) {
        snprintf(ob->session, sizeof(ob->session), "%s", a.session);
        lt_log_info("dossiers outbox: a new portal session");
        next_round(ob);
    } else if (a.outcome == LT_PORTAL_BUSY) {
        ob->next_call_ms = lt_clock_ms() + (int64_t)a.retry_after_s * 1000;
        next_round(ob);
    } else if (a.outcome == LT_PORTAL_REFUSED_ALL) {
        char why[400];
        snprintf(why, sizeof(why), "the portal refused the account (dossiers.portal.username): %s", a.message);
        back_off(ob, why);
    } else {
        back_off(ob, a.message);
    }
}

static void authenticate(lt_dos_outbox_t *ob)
{
    ob->phase = AUTHING;
    ob->answer = on_auth;
    send_to_portal(ob, LT_PORTAL_AUTH_PATH, lt_dos_portal_auth_body(ob->conf->portal.username, ob->password));
}

static bool call_is_steps(const lt_dos_outbox_t *ob)
{
    return ob->service == LT_PORTAL_STEPS;
}

static void on_recorded(void *arg, const lt_dos_result_t *res)
{
    lt_dos_outbox_t *ob = arg;
    if (res->outcome == LT_DOS_STORE_ERROR)
        lt_log_warn("dossiers outbox: cannot record what the portal did (%s); the records go again", res->detail);
    clear_call(ob);
    next_round(ob);
}

static void delivered(lt_dos_outbox_t *ob)
{
    ob->failures = 0;
    ob->reauths_in_row = 0;
    ob->limit = (size_t)ob->conf->outbox.batch;
    ob->last_success_at_ms = wall_ms();
    ob->delivered[call_is_steps(ob)] += (long long)ob->nrefs;
    ob->prefer_steps = !call_is_steps(ob); /* take turns, so that neither kind starves the other */
    ob->phase = RECORDING;
    lt_dos_delivered(ob->conn, call_is_steps(ob), ob->refs, ob->nrefs, wall_ms(), on_recorded, ob);
}

static void refused(lt_dos_outbox_t *ob, const lt_portal_answer_t *a)
{
    bool step = call_is_steps(ob);
    long long number = 0;
    for (size_t i = 0; i < ob->nrefs; i++)
        if (strcmp(ob->refs[i].dossier_id, a->dossier_id) == 0)
            number = ob->refs[i].number;
    char masked[32];
    /* The portal's message stays out of the log (it may quote the record); the store keeps it for operators. */
    lt_log_warn("dossiers outbox: the portal refused %s %lld of dossier %s: a dead letter (lienthong-ctl dossiers "
                "list --dead shows why)",
                step ? "step" : "snapshot version", number, lt_log_mask(a->dossier_id, masked, sizeof(masked)));
    ob->dead_lettered[step]++;
    snprintf(ob->dead_example, sizeof(ob->dead_example), "%s", a->message);
    ob->phase = RECORDING;
    /* The rest of the call goes again in the next round: the store no longer offers this one. */
    lt_dos_dead(ob->conn, step, a->dossier_id, number, a->message, wall_ms(), on_recorded, ob);
}

static void on_call(lt_dos_outbox_t *ob, const lt_upstream_response_t *resp, const lt_error_t *err)
{
    const char **ids = calloc(ob->nrefs ? ob->nrefs : 1, sizeof(char *));
    for (size_t i = 0; i < ob->nrefs; i++)
        ids[i] = ob->refs[i].dossier_id;
    lt_portal_answer_t a;
    if (resp != NULL)
        lt_dos_portal_read_call(resp->status, resp->retry_after, resp->body, resp->body_len, ids, ob->nrefs, &a);
    else
        transport_answer(err, &a);
    free(ids);
    count_call(ob, 1 + call_is_steps(ob), a.outcome);
    free(ob->body);
    ob->body = NULL;
    ob->exchange = NULL;
    switch (a.outcome) {
    case LT_PORTAL_OK:
        delivered(ob);
        return;
    case LT_PORTAL_REFUSED:
        refused(ob, &a);
        return;
    case LT_PORTAL_REAUTH:
        ob->session[0] = '\0';
        clear_call(ob);
        if (++ob->reauths_in_row > 1) {
            back_off(ob, "the portal refuses every new session (error_code 401 right after authenticating)");
            return;
        }
        next_round(ob); /* authenticate, then claim the same records again */
        return;
    case LT_PORTAL_REFUSED_ALL:
        clear_call(ob);
        ob->limit = ob->limit > 1 ? ob->limit / 2 : 1;
        back_off(ob, a.message[0] ? a.message : "the portal refused the call without naming a record");
        return;
    case LT_PORTAL_BUSY:
        clear_call(ob);
        ob->next_call_ms = lt_clock_ms() + (int64_t)a.retry_after_s * 1000;
        note_error(ob, "%s%s", a.message, "");
        next_round(ob);
        return;
    case LT_PORTAL_DOWN:
    case LT_PORTAL_BAD:
        clear_call(ob);
        back_off(ob, a.message);
        return;
    }
}

static void on_exchange(void *arg, const lt_upstream_response_t *resp, const lt_error_t *err)
{
    lt_dos_outbox_t *ob = arg;
    ob->exchange = NULL;
    ob->answer(ob, resp, err);
}

/* A call with the claimed records, each read back from its canonical text (a snapshot with the gateway's own fees
 * after its own) and put in the portal's form. */
static void send_records(lt_dos_outbox_t *ob, bool step, const lt_dos_list_t *list)
{
    ob->service = step ? LT_PORTAL_STEPS : LT_PORTAL_SNAPSHOTS;
    ob->refs = calloc(list->n, sizeof(*ob->refs));
    json_t *records = json_array();
    for (size_t i = 0; i < list->n; i++) {
        const lt_dos_record_t *r = &list->records[i];
        json_t *canonical = json_loads(r->text, 0, NULL);
        if (!step)
            lt_dos_with_fees(canonical, r->fees);
        json_array_append_new(records, lt_dos_portal_record(ob->service, r->dossier_id, canonical));
        json_decref(canonical);
        snprintf(ob->refs[ob->nrefs].dossier_id, sizeof(ob->refs[0].dossier_id), "%s", r->dossier_id);
        ob->refs[ob->nrefs].fee_rev = r->fee_rev;
        ob->refs[ob->nrefs++].number = r->number;
    }
    char *body = lt_dos_portal_call_body(ob->service, ob->session, ob->conf->portal.unit_code, records);
    json_decref(records);
    ob->phase = SENDING;
    ob->answer = on_call;
    send_to_portal(ob, LT_PORTAL_CALL_PATH, body);
}

static void claim(lt_dos_outbox_t *ob, bool step);

static bool session_stale(const lt_dos_outbox_t *ob)
{
    return ob->session[0] == '\0' || lt_clock_ms() - ob->session_used_ms > ob->conf->outbox.session_idle_s * 1000;
}

/* The session is asked for only once there is something to send, so an idle gateway does not log in every half
 * hour; the round after it claims the same records again. */
static void send_or_authenticate(lt_dos_outbox_t *ob, bool step, const lt_dos_list_t *list)
{
    if (session_stale(ob))
        authenticate(ob);
    else
        send_records(ob, step, list);
}

static void on_claimed_kind(lt_dos_outbox_t *ob, bool step, const lt_dos_list_t *list)
{
    if (list->outcome == LT_DOS_BUSY) {
        idle(ob); /* another instance sends now */
        return;
    }
    if (list->outcome != LT_DOS_OK) {
        lt_log_warn("dossiers outbox: cannot read the outbox: %s", list->detail);
        idle(ob);
        return;
    }
    if (list->n > 0) {
        send_or_authenticate(ob, step, list);
        return;
    }
    if (!ob->tried_other) {
        ob->tried_other = true;
        claim(ob, !step);
        return;
    }
    idle(ob);
}

static void on_claimed_steps(void *arg, const lt_dos_list_t *list)
{
    on_claimed_kind(arg, true, list);
}

static void on_claimed_snapshots(void *arg, const lt_dos_list_t *list)
{
    on_claimed_kind(arg, false, list);
}

static void claim(lt_dos_outbox_t *ob, bool step)
{
    ob->phase = CLAIMING;
    /* The lease outlives a call, so that no other instance sends while this one waits for an answer. */
    int64_t lease = ob->conf->portal.timeout_ms + 10000;
    lt_dos_claim(ob->conn, step, ob->limit, ob->owner, lease, wall_ms(), step ? on_claimed_steps : on_claimed_snapshots,
                 ob);
}

static void start_round(lt_dos_outbox_t *ob)
{
    int64_t wait = ob->next_call_ms - lt_clock_ms();
    if (wait > 0) {
        schedule_in(ob, wait);
        return;
    }
    ob->tried_other = false;
    claim(ob, ob->prefer_steps);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    lt_dos_outbox_t *ob = arg;
    if (ob->phase != IDLE)
        return; /* a round is under way; it schedules the next */
    start_round(ob);
}

/* ---- counts, for status and metrics ----------------------------------------------------------------------- */

static void on_dead_example(void *arg, const lt_dos_list_t *list)
{
    lt_dos_outbox_t *ob = arg;
    if (list->outcome == LT_DOS_OK && list->n > 0) {
        char id[LT_DOS_RECORD_ID_MAX + 1];
        lt_dos_record_id(list->records[0].dossier_id, list->records[0].step, list->records[0].number, id);
        snprintf(ob->dead_example, sizeof(ob->dead_example), "%s: %.250s", id, list->records[0].error);
    }
    ob->counting = false;
}

static void on_counts(void *arg, const lt_dos_counts_t *counts)
{
    lt_dos_outbox_t *ob = arg;
    ob->counts = *counts;
    if (counts->outcome == LT_DOS_OK && counts->snapshots_dead + counts->steps_dead > 0) {
        lt_dos_list(ob->conn, true, 1, on_dead_example, ob); /* the oldest dead letter, shown on /status */
        return;
    }
    if (counts->outcome == LT_DOS_OK)
        ob->dead_example[0] = '\0';
    ob->counting = false;
}

static void on_counts_timer(evutil_socket_t fd, short what, void *arg)
{
    lt_dos_outbox_t *ob = arg;
    if (!ob->counting) {
        ob->counting = true;
        lt_dos_counts(ob->conn, on_counts, ob);
    }
}

/* ---- life --------------------------------------------------------------------------------------------- */

lt_dos_outbox_t *lt_dos_outbox_new(const lt_dossiers_conf_t *conf, const char *password, const char *owner,
                                   struct event_base *base, lt_dos_conn_t *conn, lt_upstream_client_t *client)
{
    lt_dos_outbox_t *ob = calloc(1, sizeof(*ob));
    ob->conf = conf;
    ob->password = strdup(password);
    ob->base = base;
    ob->conn = conn;
    ob->client = client;
    ob->limit = (size_t)conf->outbox.batch;
    ob->counts.outcome = LT_DOS_STORE_ERROR; /* until the first count */
    snprintf(ob->owner, sizeof(ob->owner), "%s", owner);
    ob->peer.name = "portal";
    ob->peer.base_url = conf->portal.url;
    ob->peer.cert = conf->portal.cert;
    ob->peer.key = conf->portal.key;
    ob->peer.ca = conf->portal.ca ? conf->portal.ca : "/etc/ssl/certs/ca-certificates.crt";
    ob->peer.connect_timeout_ms = conf->portal.connect_timeout_ms;
    ob->peer.timeout_ms = conf->portal.timeout_ms;
    ob->peer.max_response_bytes = 64 * 1024;
    if (asprintf(&ob->dstcode_header, "dstcode: %s", conf->portal.dstcode) < 0)
        ob->dstcode_header = NULL;
    ob->timer = evtimer_new(base, on_timer, ob);
    ob->counts_timer = event_new(base, -1, EV_PERSIST, on_counts_timer, ob);
    struct timeval every = {.tv_sec = COUNTS_EVERY_MS / 1000, .tv_usec = (COUNTS_EVERY_MS % 1000) * 1000};
    event_add(ob->counts_timer, &every);
    event_active(ob->counts_timer, EV_TIMEOUT, 0);
    schedule_in(ob, 0);
    return ob;
}

static void on_released(void *arg, const lt_dos_result_t *res) {}

void lt_dos_outbox_free(lt_dos_outbox_t *ob)
{
    if (ob == NULL)
        return;
    if (ob->exchange != NULL)
        lt_upstream_cancel(ob->exchange);
    lt_dos_release(ob->conn, ob->owner, on_released, NULL); /* never answered: the conn goes next */
    if (ob->body != NULL)
        OPENSSL_cleanse(ob->body, strlen(ob->body));
    clear_call(ob);
    event_free(ob->timer);
    event_free(ob->counts_timer);
    OPENSSL_cleanse(ob->password, strlen(ob->password));
    free(ob->password);
    free(ob->dstcode_header);
    free(ob);
}

void lt_dos_outbox_kick(lt_dos_outbox_t *ob)
{
    if (ob->phase == IDLE)
        schedule_in(ob, ob->next_call_ms - lt_clock_ms());
}

/* ---- the operators' view ---------------------------------------------------------------------------------- */

static json_t *iso_or_null(int64_t ms)
{
    if (ms <= 0)
        return json_null();
    char iso[32];
    lt_date_format_iso8601((time_t)(ms / 1000), iso);
    return json_string(iso);
}

void lt_dos_outbox_summary(const lt_dos_outbox_t *ob, json_t *out)
{
    const lt_dos_counts_t *c = &ob->counts;
    double oldest = c->oldest_pending_ms > 0 ? (double)(wall_ms() - c->oldest_pending_ms) / 1e3 : 0.0;
    json_object_set_new(out, "store_ok", json_boolean(c->outcome == LT_DOS_OK));
    json_object_set_new(out, "dossiers", json_integer(c->dossiers));
    json_object_set_new(out, "outbox",
                        json_pack("{s:I, s:I, s:I, s:I, s:I, s:f, s:s?}", "snapshots_pending",
                                  (json_int_t)c->snapshots_pending, "steps_pending", (json_int_t)c->steps_pending,
                                  "due", (json_int_t)c->due, "dead_letters",
                                  (json_int_t)(c->snapshots_dead + c->steps_dead), "steps_dead",
                                  (json_int_t)c->steps_dead, "oldest_pending_age_s", oldest, "dead_letter_example",
                                  ob->dead_example[0] ? ob->dead_example : NULL));
    int64_t wait = ob->next_call_ms - lt_clock_ms();
    json_t *portal =
        json_pack("{s:s, s:b, s:i, s:I, s:o, s:o}", "url", ob->conf->portal.url, "session", ob->session[0] != '\0',
                  "failures_in_row", ob->failures, "next_call_in_ms", (json_int_t)(wait > 0 ? wait : 0), "last_success",
                  iso_or_null(ob->last_success_at_ms), "last_error_at", iso_or_null(ob->last_error_at_ms));
    if (ob->last_error[0] != '\0')
        json_object_set_new(portal, "last_error", json_string(ob->last_error));
    json_object_set_new(out, "portal", portal);
    json_t *calls = json_object();
    for (int s = 0; s < SERVICES; s++) {
        json_t *by = json_object();
        for (int o = 0; o < OUTCOMES; o++)
            if (ob->calls[s][o] > 0)
                json_object_set_new(by, outcome_names[o], json_integer(ob->calls[s][o]));
        json_object_set_new(calls, service_names[s], by);
    }
    json_object_set_new(out, "calls", calls);
    json_object_set_new(out, "records",
                        json_pack("{s:{s:I, s:I}, s:{s:I, s:I}}", "delivered", "snapshots",
                                  (json_int_t)ob->delivered[0], "steps", (json_int_t)ob->delivered[1], "dead_lettered",
                                  "snapshots", (json_int_t)ob->dead_lettered[0], "steps",
                                  (json_int_t)ob->dead_lettered[1]));
}
