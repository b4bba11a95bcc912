/* POST /v1/payments and GET /v1/payments/{id}. */
#include "lt_payments.h"

#include <string.h>

#include "lt_log.h"
#include "lt_pay_new.h"
#include "lt_pay_sealed.h"
#include "lt_pay_service.h"
#include "lt_pay_store.h"

#define OP_CREATE "payments.create"
#define OP_READ   "payments.read"

/* Every answer's callback needs the request and this worker's payments. */
typedef struct pay_visit {
    lt_request_t *r;
    lt_pay_worker_t *w;
    char legacy_fingerprint[65]; /* create with an Idempotency-Key: the body's unkeyed fingerprint */
    const char *id;              /* the payment read, for its audit record */
} pay_visit_t;

/* ---- the audit trail: every answer of a payment route (a payment is personal data: who paid what, from where) --- */

/* A payment's record: its subject is the payment id (a payment holds no identification number); released, the
 * top-level fields of the body answered. */
static void audit_payment(lt_request_t *r, const char *operation, const char *payment_id, int status,
                          const json_t *body)
{
    const char *fields[32];
    size_t n = 0;
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)body, key, v)
    {
        if (n < sizeof(fields) / sizeof(fields[0]))
            fields[n++] = key;
    }
    lt_audit_record_t rec;
    lt_request_audit_record(r, &rec, operation);
    rec.subject = payment_id;
    rec.status = status;
    rec.released = fields;
    rec.nreleased = n;
    lt_request_audit(r, &rec);
}

static void reply_payment(lt_request_t *r, const char *operation, const char *payment_id, int status, json_t *body)
{
    audit_payment(r, operation, payment_id, status, body);
    lt_request_reply_json(r, status, body);
}

static void reply_store_error(lt_request_t *r, const lt_pay_result_t *res, const char *operation, const char *id)
{
    lt_error_t err;
    lt_log_warn("request %s: payment store: %s", r->ctx.request_id, res->detail);
    lt_error_set(&err, LT_ERR_UPSTREAM_UNAVAILABLE, "payment_store_unavailable",
                 "the payment store cannot answer now; retry with the same Idempotency-Key");
    err.retry_after_s = 5;
    lt_request_reply_audited_problem(r, operation, id, &err);
}

static json_t *created_body(const pay_visit_t *v, const lt_payment_t *stored)
{
    /* A replay's payment comes from the store: its address is sealed, and the pay URL needs it. */
    lt_payment_t opened = *stored, *p = &opened;
    lt_error_t err;
    if (lt_pay_unseal(&v->w->svc->keys, p, &err) != 0)
        lt_log_warn("request %s: %s; its pay_url goes without vnp_IpAddr", v->r->ctx.request_id, err.detail);
    char expires[32];
    lt_pay_iso_time(p->expires_at_ms, expires);
    char *url = lt_pay_url(v->w->svc, p);
    json_t *body = json_pack("{s:s, s:s, s:s, s:s}", "payment_id", p->id, "status", lt_pay_state_name(p->state),
                             "pay_url", url, "expires_at", expires);
    free(url);
    return body;
}

static void on_created(void *arg, const lt_pay_result_t *res)
{
    pay_visit_t *v = arg;
    lt_request_t *r = v->r;
    if (lt_request_is_aborted(r)) {
        lt_request_unref(r);
        return;
    }
    lt_error_t err;
    switch (res->outcome) {
    case LT_PAY_OK:
        lt_log_info("request %s: payment %s created", r->ctx.request_id, res->payment.id);
        reply_payment(r, OP_CREATE, res->payment.id, 201, created_body(v, &res->payment));
        break;
    case LT_PAY_EXISTS:
        lt_request_add_header(r, "Idempotent-Replayed", "true");
        reply_payment(r, OP_CREATE, res->payment.id, 200, created_body(v, &res->payment));
        break;
    case LT_PAY_KEY_REUSED:
        /* Stored before fingerprints were keyed, and the very same request: a retry after all. */
        if (strcmp(res->payment.fingerprint, v->legacy_fingerprint) == 0) {
            lt_request_add_header(r, "Idempotent-Replayed", "true");
            lt_request_reply_json(r, 200, created_body(v, &res->payment));
            break;
        }
        lt_error_set(&err, LT_ERR_CONFLICT, "idempotency_key_reused",
                     "this Idempotency-Key already created payment %s from a different request", res->payment.id);
        lt_request_reply_audited_problem(r, OP_CREATE, res->payment.id, &err);
        break;
    default:
        reply_store_error(r, res, OP_CREATE, NULL);
        break;
    }
    lt_request_unref(r);
}

static pay_visit_t *visit_new(lt_request_t *r, lt_pay_worker_t *w)
{
    pay_visit_t *v = lt_arena_alloc(r->arena, sizeof(*v));
    v->r = r;
    v->w = w;
    v->legacy_fingerprint[0] = '\0';
    return v;
}

static void create_payment(lt_request_t *r, lt_pay_worker_t *w)
{
    lt_error_t err;
    lt_error_clear(&err);
    lt_payment_t p;
    json_t *body = lt_request_read_json_body(r, &err);
    lt_pay_origin_t origin = {.client = r->ctx.client,
                              .client_conf = r->client,
                              .idempotency_key = lt_request_header(r, "Idempotency-Key"),
                              .now_ms = lt_pay_now_ms()};
    if (body == NULL || lt_pay_new_from_request(w->svc, body, &origin, &p, &err) != 0) {
        lt_request_reply_audited_problem(r, OP_CREATE, NULL, &err);
        return;
    }
    /* The store keeps the citizen's address and return URL sealed only. */
    if (lt_pay_seal(&w->svc->keys, &p) != 0) {
        lt_log_warn("request %s: the payment's return URL and address cannot be sealed", r->ctx.request_id);
        lt_error_set(&err, LT_ERR_INTERNAL, "internal_error", "the payment cannot be stored now");
        lt_request_reply_problem(r, &err);
        return;
    }
    pay_visit_t *v = visit_new(r, w);
    if (p.idempotency[0] != '\0')
        lt_pay_legacy_fingerprint(body, v->legacy_fingerprint);
    lt_request_ref(r);
    lt_pay_create(w->conn, &p, on_created, v);
}

static void on_found(void *arg, const lt_pay_result_t *res)
{
    const pay_visit_t *v = arg;
    lt_request_t *r = v->r;
    if (lt_request_is_aborted(r)) {
        lt_request_unref(r);
        return;
    }
    lt_error_t err;
    /* A payment is read by the client that created it; to any other it does not exist (no hint that it does). */
    bool visible = res->outcome == LT_PAY_OK && strcmp(res->payment.client, r->ctx.client ? r->ctx.client : "") == 0;
    if (visible) {
        reply_payment(r, OP_READ, v->id, 200, lt_pay_public_json(&res->payment));
    } else if (res->outcome == LT_PAY_NOT_FOUND || res->outcome == LT_PAY_OK) {
        lt_error_set(&err, LT_ERR_NOT_FOUND, "payment_not_found", "no payment with this id");
        lt_request_reply_audited_problem(r, OP_READ, v->id, &err);
    } else {
        reply_store_error(r, res, OP_READ, v->id);
    }
    lt_request_unref(r);
}

static void read_payment(lt_request_t *r, lt_pay_worker_t *w, const char *id)
{
    lt_error_t err;
    if (!lt_pay_id_is_valid(id)) {
        lt_error_set(&err, LT_ERR_BAD_REQUEST, "invalid_payment_id",
                     "a payment id is 8-40 characters of A-Z, a-z, 0-9, '-' or '_'");
        lt_request_reply_audited_problem(r, OP_READ, NULL, &err);
        return;
    }
    lt_request_ref(r);
    pay_visit_t *v = visit_new(r, w);
    v->id = id;
    lt_pay_get(w->conn, id, on_found, v);
}

static void refuse_method(lt_request_t *r, const char *operation, const char *allow)
{
    lt_error_t err;
    lt_request_add_header(r, "Allow", allow);
    lt_error_set(&err, LT_ERR_METHOD, "method_not_allowed", "this path accepts %s", allow);
    lt_request_reply_audited_problem(r, operation, NULL, &err);
}

void lt_payments_handle(lt_request_t *r, void *worker_ctx)
{
    lt_pay_worker_t *w = worker_ctx;
    const char *path = lt_request_path(r);
    const char *method = lt_request_method(r);
    const char *id = path[strlen(LT_PAYMENTS_COLLECTION)] == '/' ? path + strlen(LT_PAYMENTS_COLLECTION) + 1 : NULL;
    r->route = id ? "GET /v1/payments/{payment_id}" : "POST /v1/payments";
    lt_error_t err;
    if (lt_request_audit_ready(r, &err) != 0) { /* nothing is created or read that could not be answered */
        lt_request_reply_problem(r, &err);
    } else if (id == NULL) {
        if (strcmp(method, "POST") == 0)
            create_payment(r, w);
        else
            refuse_method(r, OP_CREATE, "POST");
    } else if (strcmp(method, "GET") == 0) {
        read_payment(r, w, id);
    } else {
        refuse_method(r, OP_READ, "GET");
    }
}
