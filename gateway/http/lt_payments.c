/* POST /v1/payments and GET /v1/payments/{id}. */
#include "lt_payments.h"

#include <string.h>

#include "lt_log.h"
#include "lt_pay_new.h"
#include "lt_pay_service.h"
#include "lt_pay_store.h"
#include "lt_proxy.h"
#include "lt_server.h"

#define COLLECTION "/v1/payments"

bool lt_payments_owns_path(const char *path)
{
    size_t n = strlen(COLLECTION);
    return strncmp(path, COLLECTION, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

static void reply_store_error(lt_request_t *r, const lt_pay_result_t *res)
{
    lt_error_t err;
    lt_log_warn("request %s: payment store: %s", r->ctx.request_id, res->detail);
    lt_error_set(&err, LT_ERR_UPSTREAM_UNAVAILABLE, "payment_store_unavailable",
                 "the payment store cannot answer now; retry with the same Idempotency-Key");
    err.retry_after_s = 5;
    lt_request_reply_problem(r, &err);
}

static json_t *created_body(lt_request_t *r, const lt_payment_t *p)
{
    char expires[32];
    lt_pay_iso_time(p->expires_at_ms, expires);
    char *url = lt_pay_url(lt_server_payments(r->server), p);
    json_t *body = json_pack("{s:s, s:s, s:s, s:s}", "payment_id", p->id, "status", lt_pay_state_name(p->state),
                             "pay_url", url, "expires_at", expires);
    free(url);
    return body;
}

static void on_created(void *arg, const lt_pay_result_t *res)
{
    lt_request_t *r = arg;
    if (lt_request_is_aborted(r)) {
        lt_request_unref(r);
        return;
    }
    lt_error_t err;
    switch (res->outcome) {
    case LT_PAY_OK:
        lt_log_info("request %s: payment %s created", r->ctx.request_id, res->payment.id);
        lt_request_reply_json(r, 201, created_body(r, &res->payment));
        break;
    case LT_PAY_EXISTS:
        lt_request_add_header(r, "Idempotent-Replayed", "true");
        lt_request_reply_json(r, 200, created_body(r, &res->payment));
        break;
    case LT_PAY_KEY_REUSED:
        lt_error_set(&err, LT_ERR_CONFLICT, "idempotency_key_reused",
                     "this Idempotency-Key already created payment %s from a different request", res->payment.id);
        lt_request_reply_problem(r, &err);
        break;
    default:
        reply_store_error(r, res);
        break;
    }
    lt_request_unref(r);
}

static void create_payment(lt_request_t *r)
{
    lt_error_t err;
    lt_error_clear(&err);
    lt_payment_t p;
    json_t *body = lt_proxy_read_json_body(r, &err);
    lt_pay_origin_t origin = {
        .client = r->ctx.client, .idempotency_key = lt_request_header(r, "Idempotency-Key"), .now_ms = lt_pay_now_ms()};
    if (body == NULL || lt_pay_new_from_request(lt_server_payments(r->server), body, &origin, &p, &err) != 0) {
        lt_request_reply_problem(r, &err);
        return;
    }
    lt_request_ref(r);
    lt_pay_create(lt_server_pay_conn(r->server), &p, on_created, r);
}

static void on_found(void *arg, const lt_pay_result_t *res)
{
    lt_request_t *r = arg;
    if (lt_request_is_aborted(r)) {
        lt_request_unref(r);
        return;
    }
    lt_error_t err;
    /* A payment is read by the client that created it; to any other it does not exist (no hint that it does). */
    bool visible = res->outcome == LT_PAY_OK && strcmp(res->payment.client, r->ctx.client ? r->ctx.client : "") == 0;
    if (visible) {
        lt_request_reply_json(r, 200, lt_pay_public_json(&res->payment));
    } else if (res->outcome == LT_PAY_NOT_FOUND || res->outcome == LT_PAY_OK) {
        lt_error_set(&err, LT_ERR_NOT_FOUND, "payment_not_found", "no payment with this id");
        lt_request_reply_problem(r, &err);
    } else {
        reply_store_error(r, res);
    }
    lt_request_unref(r);
}

static void read_payment(lt_request_t *r, const char *id)
{
    lt_error_t err;
    if (!lt_pay_id_is_valid(id)) {
        lt_error_set(&err, LT_ERR_BAD_REQUEST, "invalid_payment_id",
                     "a payment id is 8-40 characters of A-Z, a-z, 0-9, '-' or '_'");
        lt_request_reply_problem(r, &err);
        return;
    }
    lt_request_ref(r);
    lt_pay_get(lt_server_pay_conn(r->server), id, on_found, r);
}

static void refuse_method(lt_request_t *r, const char *allow)
{
    lt_error_t err;
    lt_request_add_header(r, "Allow", allow);
    lt_error_set(&err, LT_ERR_METHOD, "method_not_allowed", "this path accepts %s", allow);
    lt_request_reply_problem(r, &err);
}

void lt_payments_handle(lt_request_t *r)
{
    const char *path = lt_request_path(r);
    const char *method = lt_proxy_method(r);
    const char *id = path[strlen(COLLECTION)] == '/' ? path + strlen(COLLECTION) + 1 : NULL;
    lt_error_t err;
    r->route = id ? "GET /v1/payments/{payment_id}" : "POST /v1/payments";
    if (lt_server_payments(r->server) == NULL) {
        lt_error_set(&err, LT_ERR_NOT_FOUND, "payments_not_configured",
                     "this gateway has no payments section in its configuration");
        lt_request_reply_problem(r, &err);
    } else if (id == NULL) {
        if (strcmp(method, "POST") == 0)
            create_payment(r);
        else
            refuse_method(r, "POST");
    } else if (strcmp(method, "GET") == 0) {
        read_payment(r, id);
    } else {
        refuse_method(r, "GET");
    }
}
