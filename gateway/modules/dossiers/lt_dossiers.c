/* PUT /v1/dossiers/{id}, POST /v1/dossiers/{id}/steps and GET /v1/dossiers/{id}/sync. */
#include "lt_dossiers.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lt_date.h"
#include "lt_dossier.h"
#include "lt_log.h"

/* What an answer's callback needs. */
typedef struct visit {
    lt_request_t *r;
    char id[LT_DOS_ID_MAX + 1];
    long long number; /* the version or seq handed over */
    bool step;
    lt_dos_ind_t *indicators; /* a snapshot: told once it is accepted */
    const char *text;         /* its canonical text (in the request's arena) */
} visit_t;

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static json_t *iso_or_null(int64_t ms)
{
    if (ms <= 0)
        return json_null();
    char iso[32];
    lt_date_format_iso8601((time_t)(ms / 1000), iso);
    return json_string(iso);
}

static void reply_store_error(lt_request_t *r, const char *detail)
{
    lt_error_t err;
    lt_log_warn("request %s: dossier store: %s", r->ctx.request_id, detail);
    lt_error_set(&err, LT_ERR_UPSTREAM_UNAVAILABLE, "dossier_store_unavailable",
                 "the dossier store cannot answer now; nothing was accepted: send it again");
    err.retry_after_s = 5;
    lt_request_reply_problem(r, &err);
}

static json_t *accepted_body(const visit_t *v, const char *outcome)
{
    return json_pack("{s:s, s:I, s:s}", "dossier_id", v->id, v->step ? "seq" : "version", (json_int_t)v->number,
                     "outcome", outcome);
}

/* A request's callbacks may outlive it (the client hung up): check, then let go. */
static bool gone(lt_request_t *r)
{
    if (!lt_request_is_aborted(r))
        return false;
    lt_request_unref(r);
    return true;
}

static void on_accepted(void *arg, const lt_dos_result_t *res)
{
    visit_t *v = arg;
    lt_request_t *r = v->r;
    /* Accepted is accepted, whether or not the caller still listens (the request holds v until the unref). */
    if (res->outcome == LT_DOS_OK && !v->step && v->indicators != NULL)
        lt_dos_ind_update(v->indicators, v->id, v->number, v->text);
    if (gone(r))
        return;
    lt_error_t err;
    char location[160], masked[32];
    switch (res->outcome) {
    case LT_DOS_OK:
        snprintf(location, sizeof(location), "%s/%s/sync", LT_DOSSIERS_COLLECTION, v->id);
        lt_request_add_header(r, "Location", location);
        lt_log_info("request %s: dossier %s %s %lld accepted", r->ctx.request_id,
                    lt_log_mask(v->id, masked, sizeof(masked)), v->step ? "step" : "version", v->number);
        lt_request_reply_json(r, 202, accepted_body(v, "accepted"));
        break;
    case LT_DOS_REPEAT:
        if (v->step) {
            lt_request_reply_json(r, 200, accepted_body(v, "already_accepted"));
            break;
        }
        lt_error_set(&err, LT_ERR_STATE_CONFLICT, "version_already_accepted",
                     "version %lld of this dossier, with this body, is already accepted; nothing changes",
                     res->version);
        lt_request_reply_problem(r, &err);
        break;
    case LT_DOS_CONFLICT:
        if (v->step)
            lt_error_set(&err, LT_ERR_STATE_CONFLICT, "seq_conflict",
                         "step %lld of this dossier is already accepted with another body; a step never changes",
                         v->number);
        else
            lt_error_set(&err, LT_ERR_STATE_CONFLICT, "version_not_newer",
                         "version %lld is not newer than version %lld, already accepted: it is never sent", v->number,
                         res->version);
        lt_request_reply_problem(r, &err);
        break;
    default:
        reply_store_error(r, res->detail);
        break;
    }
    lt_request_unref(r);
}

static visit_t *visit_new(lt_request_t *r, const char *id, bool step, long long number)
{
    visit_t *v = lt_arena_alloc(r->arena, sizeof(*v));
    v->r = r;
    snprintf(v->id, sizeof(v->id), "%s", id);
    v->step = step;
    v->number = number;
    return v;
}

static void free_json(void *v)
{
    json_decref(v);
}

/* A snapshot or a step: accountability, body, canonical form, then the store; the answer comes once durable. */
static void hand_over(lt_request_t *r, lt_dos_worker_t *w, const char *id, bool step)
{
    lt_error_t err;
    lt_error_clear(&err);
    json_t *body, *canonical = NULL;
    long long number = 0;
    if (lt_request_admit_accountability(r, &err) != 0 || (body = lt_request_read_json_body(r, &err)) == NULL ||
        (step ? lt_dos_step_read(id, body, &canonical, &number, &err)
              : lt_dos_snapshot_read(id, body, &canonical, &number, &err)) != 0) {
        lt_request_reply_problem(r, &err);
        return;
    }
    lt_arena_on_destroy(r->arena, free_json, canonical);
    char *text = lt_dos_canonical_text(canonical);
    char fp[65];
    lt_dos_fingerprint(text, fp);
    lt_request_ref(r);
    visit_t *v = visit_new(r, id, step, number);
    v->indicators = w->indicators;
    v->text = lt_arena_strdup(r->arena, text);
    if (step)
        lt_dos_add_step(w->conn, id, number, fp, text, now_ms(), on_accepted, v);
    else
        lt_dos_put_snapshot(w->conn, id, number, fp, text, now_ms(), on_accepted, v);
    free(text);
}

/* ---- the sync answer ---------------------------------------------------------------------------------- */

static json_t *snapshot_json(const lt_dos_view_t *v)
{
    if (v->version == 0)
        return json_null();
    const char *state = v->snapshot_dead                                                   ? "refused"
                        : v->acked_version >= v->version && v->acked_fee_rev >= v->fee_rev ? "synced"
                                                                                           : "pending";
    json_t *refused = v->snapshot_dead ? json_pack("{s:s, s:o}", "message", v->snapshot_error, "at",
                                                   iso_or_null(v->snapshot_dead_at_ms))
                                       : json_null();
    return json_pack("{s:I, s:o, s:s, s:o, s:o, s:o}", "version", (json_int_t)v->version, "accepted_at",
                     iso_or_null(v->accepted_at_ms), "state", state, "acknowledged_version",
                     v->acked_version > 0 ? json_integer(v->acked_version) : json_null(), "acknowledged_at",
                     iso_or_null(v->acked_at_ms), "refused", refused);
}

/* Why a step that is not a dead letter has not reached the portal yet, in the order that blocks it first. */
static json_t *waiting_json(const lt_dos_view_t *v, const lt_dos_record_t *s)
{
    char detail[200];
    const char *reason;
    long long before = v->acked_seq + 1; /* the first seq after the acknowledged ones that is not here */
    long long refused = 0;
    for (size_t i = 0; i < v->npending && v->pending[i].number < s->number; i++) {
        if (v->pending[i].number == before)
            before++;
        if (v->pending[i].dead && refused == 0)
            refused = v->pending[i].number;
    }
    if (s->due) {
        reason = "sending";
        snprintf(detail, sizeof(detail), "goes to the portal with the next call");
    } else if (v->acked_version == 0) {
        reason = "dossier_not_at_portal";
        snprintf(detail, sizeof(detail), "waits until the portal holds the dossier (a snapshot acknowledged)");
    } else if (refused > 0) {
        reason = "behind_refused";
        snprintf(detail, sizeof(detail), "waits behind step %lld, which the portal refused: re-drive it", refused);
    } else if (before < s->number) {
        reason = "gap";
        snprintf(detail, sizeof(detail), "waits for step %lld, not received yet", before);
    } else {
        reason = "queued";
        snprintf(detail, sizeof(detail), "waits for the steps before it to reach the portal");
    }
    return json_pack("{s:I, s:s, s:s, s:o}", "seq", (json_int_t)s->number, "reason", reason, "detail", detail,
                     "accepted_at", iso_or_null(s->accepted_at_ms));
}

json_t *lt_dossiers_sync_json(const char *dossier_id, const lt_dos_view_t *v)
{
    json_t *waiting = json_array(), *refused = json_array();
    for (size_t i = 0; i < v->npending; i++) {
        const lt_dos_record_t *s = &v->pending[i];
        if (s->dead)
            json_array_append_new(refused, json_pack("{s:I, s:s, s:o}", "seq", (json_int_t)s->number, "message",
                                                     s->error, "at", iso_or_null(s->dead_at_ms)));
        else
            json_array_append_new(waiting, waiting_json(v, s));
    }
    bool in_sync = v->version > 0 && v->acked_version >= v->version && v->acked_fee_rev >= v->fee_rev &&
                   !v->snapshot_dead && v->npending == 0;
    json_t *steps = json_pack("{s:I, s:I, s:I, s:o, s:o, s:o}", "received", (json_int_t)v->steps, "last_seq",
                              (json_int_t)v->last_seq, "acknowledged_seq", (json_int_t)v->acked_seq, "acknowledged_at",
                              iso_or_null(v->steps_acked_at_ms), "waiting", waiting, "refused", refused);
    return json_pack("{s:s, s:b, s:o, s:o}", "dossier_id", dossier_id, "in_sync", in_sync, "snapshot", snapshot_json(v),
                     "steps", steps);
}

static void on_view(void *arg, const lt_dos_view_t *view)
{
    visit_t *v = arg;
    lt_request_t *r = v->r;
    if (gone(r))
        return;
    lt_error_t err;
    if (view->outcome == LT_DOS_OK) {
        lt_request_reply_json(r, 200, lt_dossiers_sync_json(v->id, view));
    } else if (view->outcome == LT_DOS_NOT_FOUND) {
        lt_error_set(&err, LT_ERR_NOT_FOUND, "dossier_not_found",
                     "no snapshot or step of this dossier was handed over");
        lt_request_reply_problem(r, &err);
    } else {
        reply_store_error(r, view->detail);
    }
    lt_request_unref(r);
}

/* ---- routing ------------------------------------------------------------------------------------------------ */

static void refuse_method(lt_request_t *r, const char *allow)
{
    lt_error_t err;
    lt_request_add_header(r, "Allow", allow);
    lt_error_set(&err, LT_ERR_METHOD, "method_not_allowed", "this path accepts %s", allow);
    lt_request_reply_problem(r, &err);
}

void lt_dossiers_handle(lt_request_t *r, void *worker_ctx)
{
    lt_dos_worker_t *w = worker_ctx;
    const char *path = lt_request_path(r), *method = lt_request_method(r);
    lt_error_t err;
    size_t base = strlen(LT_DOSSIERS_COLLECTION);
    const char *rest = path[base] == '/' ? path + base + 1 : "";
    size_t idlen = strcspn(rest, "/");
    const char *tail = rest + idlen;
    char id[LT_DOS_ID_MAX + 1] = "";
    if (strcmp(tail, "") == 0)
        r->route = "PUT /v1/dossiers/{dossier_id}";
    else if (strcmp(tail, "/steps") == 0)
        r->route = "POST /v1/dossiers/{dossier_id}/steps";
    else if (strcmp(tail, "/sync") == 0)
        r->route = "GET /v1/dossiers/{dossier_id}/sync";
    if (idlen == 0 || (strcmp(tail, "") != 0 && strcmp(tail, "/steps") != 0 && strcmp(tail, "/sync") != 0)) {
        lt_error_set(&err, LT_ERR_NOT_FOUND, "no_route", "no operation at this path");
        lt_request_reply_problem(r, &err);
        return;
    }
    if (idlen <= LT_DOS_ID_MAX) {
        memcpy(id, rest, idlen);
        id[idlen] = '\0';
    }
    if (!lt_dos_id_is_valid(id)) {
        lt_error_set(&err, LT_ERR_BAD_REQUEST, "invalid_dossier_id",
                     "a dossier id is 1-64 characters of A-Z, a-z, 0-9, '.', '-' or '_'");
        lt_request_reply_problem(r, &err);
        return;
    }
    if (strcmp(tail, "") == 0) {
        if (strcmp(method, "PUT") == 0)
            hand_over(r, w, id, false);
        else
            refuse_method(r, "PUT");
    } else if (strcmp(tail, "/steps") == 0) {
        if (strcmp(method, "POST") == 0)
            hand_over(r, w, id, true);
        else
            refuse_method(r, "POST");
    } else if (strcmp(method, "GET") == 0) {
        lt_request_ref(r);
        lt_dos_view(w->conn, id, on_view, visit_new(r, id, false, 0));
    } else {
        refuse_method(r, "GET");
    }
}
