/* The IPN and the browser return. */
#include "lt_callbacks.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "lt_log.h"
#include "lt_pay_ipn.h"
#include "lt_pay_sealed.h"
#include "lt_pay_service.h"
#include "lt_uuid.h"

#define IPN_PATH "/payments/vnpay/ipn"
/* The ICD wants an answer within 5 s. A store slower than this (a stalled disk, a compaction) answers 99, which
 * the payment gateway re-sends; if the outcome was recorded after all, the repeat hears 02. */
#define IPN_ANSWER_WITHIN_MS 4000
#define RETURN_PATH          "/payments/vnpay/return"

typedef struct ipn_visit {
    lt_request_t *r;
    lt_pay_service_t *svc;
    struct event *deadline;
    bool timed_out;
} ipn_visit_t;

typedef struct return_visit {
    lt_request_t *r;
    const lt_pay_service_t *svc;
    lt_pay_settlement_t claimed; /* what the signed return says happened */
} return_visit_t;

static const char *query_of(const lt_request_t *r)
{
    const char *q = lt_request_query(r);
    return q ? q : "";
}

/* ---- IPN ------------------------------------------------------------------ */

static void answer_ipn(lt_pay_service_t *svc, lt_request_t *r, lt_ipn_rsp_t rsp)
{
    atomic_fetch_add(&svc->ipn_answers[rsp], 1);
    lt_request_reply_json(r, 200, lt_ipn_answer(rsp));
}

/* An address as 16 bytes, IPv4 as IPv4-mapped IPv6, so that "192.0.2.1" matches a dual-stack socket's
 * "::ffff:192.0.2.1". */
static bool address_bytes(const char *s, unsigned char out[16])
{
    unsigned char v4[4];
    if (inet_pton(AF_INET, s, v4) == 1) {
        memset(out, 0, 10);
        out[10] = out[11] = 0xff;
        memcpy(out + 12, v4, 4);
        return true;
    }
    return inet_pton(AF_INET6, s, out) == 1;
}

static bool same_address(const char *a, const char *b)
{
    unsigned char x[16], y[16];
    return address_bytes(a, x) && address_bytes(b, y) && memcmp(x, y, 16) == 0;
}

static bool source_allowed(const lt_request_t *r, const lt_payments_conf_t *pc)
{
    if (pc->nipn_allow == 0)
        return true;
    char host[64];
    if (!lt_request_peer_address(r, host, sizeof(host)))
        return false;
    for (size_t i = 0; i < pc->nipn_allow; i++)
        if (same_address(host, pc->ipn_allow[i]))
            return true;
    return false;
}

static void on_ipn_deadline(evutil_socket_t fd, short what, void *arg)
{
    ipn_visit_t *v = arg;
    v->timed_out = true;
    lt_log_warn("ipn %s: the payment store did not answer within %d ms: RspCode 99", v->r->ctx.request_id,
                IPN_ANSWER_WITHIN_MS);
    if (!lt_request_is_aborted(v->r))
        answer_ipn(v->svc, v->r, LT_RSP_99_UNKNOWN_ERROR);
}

static void on_settled(void *arg, const lt_pay_result_t *res)
{
    ipn_visit_t *v = arg;
    lt_request_t *r = v->r;
    lt_ipn_rsp_t rsp = lt_ipn_rsp_for(res->outcome);
    event_free(v->deadline);
    if (res->outcome == LT_PAY_STORE_ERROR)
        lt_log_warn("ipn %s: payment store: %s", r->ctx.request_id, res->detail);
    else
        lt_log_info("ipn %s: payment %s: RspCode %s%s%s", r->ctx.request_id, res->payment.id[0] ? res->payment.id : "-",
                    lt_ipn_rsp_code(rsp), res->outcome == LT_PAY_OK ? ", now " : "",
                    res->outcome == LT_PAY_OK ? lt_pay_state_name(res->payment.state) : "");
    /* An IPN whose connection is gone, or answered 99 already, still counts: the state is recorded, and the next
     * delivery hears 02. */
    if (!lt_request_is_aborted(r) && !v->timed_out)
        answer_ipn(v->svc, r, rsp);
    lt_request_unref(r);
    free(v);
}

static void handle_ipn(lt_request_t *r, lt_pay_worker_t *w)
{
    lt_pay_service_t *svc = w->svc;
    r->route = "GET " IPN_PATH;
    if (!source_allowed(r, svc->conf)) {
        lt_log_warn("ipn %s: refused: the source address is not in payments.ipn_allow", r->ctx.request_id);
        lt_request_reply_text(r, 403, "text/plain; charset=utf-8", "forbidden\n");
        return;
    }
    lt_pay_settlement_t s;
    lt_ipn_verdict_t verdict = lt_ipn_read(svc, query_of(r), lt_pay_now_ms(), &s);
    if (verdict != LT_IPN_VERIFIED) {
        lt_log_warn("ipn %s: RspCode 97: %s", r->ctx.request_id, lt_ipn_verdict_reason(verdict));
        answer_ipn(svc, r, LT_RSP_97_INVALID_SIGNATURE);
        return;
    }
    ipn_visit_t *v = calloc(1, sizeof(*v));
    v->r = r;
    v->svc = svc;
    v->deadline = evtimer_new(w->base, on_ipn_deadline, v);
    struct timeval within = {.tv_sec = IPN_ANSWER_WITHIN_MS / 1000, .tv_usec = (IPN_ANSWER_WITHIN_MS % 1000) * 1000};
    evtimer_add(v->deadline, &within);
    lt_request_ref(r);
    lt_pay_settle(w->conn, &s, on_settled, v);
}

/* ---- browser return ------------------------------------------------------------ */

static void reply_page(lt_request_t *r, int status, const char *vi, const char *en)
{
    char html[1024];
    snprintf(html, sizeof(html),
             "<!DOCTYPE html><html lang=\"vi\"><head><meta charset=\"utf-8\">"
             "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
             "<title>Thanh to\xC3\xA1n / Payment</title></head>"
             "<body style=\"font-family:sans-serif;max-width:32em;margin:2em auto;padding:0 1em\">"
             "<h1>%s</h1><p lang=\"en\">%s</p></body></html>",
             vi, en);
    lt_request_reply_text(r, status, "text/html; charset=utf-8", html);
}

/* The portal's return_url with the outcome added to its query (before any #fragment). */
static char *redirect_target(const lt_payment_t *p, const lt_pay_settlement_t *claimed)
{
    const char *result = claimed->state == LT_PAY_PAID ? "success" : "failure";
    size_t base_len = strcspn(p->return_url, "#");
    const char *fragment = p->return_url + base_len;
    const char *sep = memchr(p->return_url, '?', base_len) ? "&" : "?";
    char *url = NULL;
    /* The result is what the signed return says; status is the store's, which only the IPN or querydr moves. */
    if (asprintf(&url, "%.*s%spayment_id=%s&result=%s&status=%s%s", (int)base_len, p->return_url, sep, p->id, result,
                 lt_pay_state_name(p->state), fragment) < 0)
        return NULL;
    return url;
}

/* The portal's return URL is sealed in the store; one that no longer opens (its key was removed) leaves the
 * citizen a page that says where to go instead. */
static bool open_return_url(const return_visit_t *v, lt_payment_t *p)
{
    lt_error_t err;
    if (lt_pay_unseal(&v->svc->keys, p, &err) != 0) {
        lt_log_warn("return %s: %s", v->r->ctx.request_id, err.detail);
        return false;
    }
    return p->return_url[0] != '\0';
}

static void on_return_found(void *arg, const lt_pay_result_t *res)
{
    return_visit_t *v = arg;
    lt_request_t *r = v->r;
    char *url = NULL;
    lt_payment_t p = res->payment;
    if (lt_request_is_aborted(r)) {
    } else if (res->outcome == LT_PAY_OK && !open_return_url(v, &p)) {
        reply_page(r, 200,
                   "Vui l\xC3\xB2ng quay l\xE1\xBA\xA1i c\xE1\xBB\x95ng d\xE1\xBB\x8B\x63h v\xE1\xBB\xA5 "
                   "\xC4\x91\xE1\xBB\x83 xem k\xE1\xBA\xBFt qu\xE1\xBA\xA3 thanh to\xC3\xA1n",
                   "Please return to the portal to see the payment's outcome");
    } else if (res->outcome == LT_PAY_OK && (url = redirect_target(&p, &v->claimed)) != NULL) {
        lt_request_add_header(r, "Location", url);
        lt_request_add_header(r, "Cache-Control", "no-store");
        reply_page(r, 303,
                   "\xC4\x90\x61ng chuy\xE1\xBB\x83n v\xE1\xBB\x81 c\xE1\xBB\x95ng d\xE1\xBB\x8B\x63h v\xE1\xBB\xA5",
                   "Returning to the portal");
        free(url);
    } else if (res->outcome == LT_PAY_NOT_FOUND) {
        reply_page(r, 404, "Kh\xC3\xB4ng t\xC3\xACm th\xE1\xBA\xA5y giao d\xE1\xBB\x8B\x63h", "Payment not found");
    } else {
        reply_page(r, 503,
                   "H\xE1\xBB\x87 th\xE1\xBB\x91ng \xC4\x91\x61ng b\xE1\xBA\xADn, vui l\xC3\xB2ng th\xE1\xBB\xAD "
                   "l\xE1\xBA\xA1i",
                   "The service is busy, please try again");
    }
    lt_request_unref(r);
    free(v);
}

static void handle_return(lt_request_t *r, lt_pay_worker_t *w)
{
    lt_pay_service_t *svc = w->svc;
    r->route = "GET " RETURN_PATH;
    return_visit_t *v = calloc(1, sizeof(*v));
    lt_ipn_verdict_t verdict = lt_ipn_read(svc, query_of(r), lt_pay_now_ms(), &v->claimed);
    if (verdict != LT_IPN_VERIFIED) {
        free(v);
        lt_log_warn("return %s: refused: %s", r->ctx.request_id, lt_ipn_verdict_reason(verdict));
        if (verdict == LT_IPN_OTHER_TERMINAL)
            reply_page(r, 400,
                       "Giao d\xE1\xBB\x8B\x63h kh\xC3\xB4ng thu\xE1\xBB\x99\x63 \xC4\x91\xC6\xA1n v\xE1\xBB\x8B "
                       "n\xC3\xA0y",
                       "This payment is not for this merchant");
        else
            reply_page(r, 400, "Ch\xE1\xBB\xAF k\xC3\xBD kh\xC3\xB4ng h\xE1\xBB\xA3p l\xE1\xBB\x87",
                       "Invalid signature");
        return;
    }
    v->r = r;
    v->svc = svc;
    lt_request_ref(r);
    lt_pay_get(w->conn, v->claimed.payment_id, on_return_found, v);
}

void lt_callbacks_handle(lt_request_t *r, void *worker_ctx)
{
    lt_pay_worker_t *w = worker_ctx;
    char id[LT_UUID_LEN + 1];
    lt_uuid_v4(id);
    r->ctx.request_id = lt_arena_strdup(r->arena, id);
    r->ctx.client = "payment-gateway";
    const char *path = lt_request_path(r);
    bool known = strcmp(path, IPN_PATH) == 0 || strcmp(path, RETURN_PATH) == 0;
    if (!known) {
        lt_request_reply_text(r, 404, "text/plain; charset=utf-8", "not found\n");
    } else if (strcmp(lt_request_method(r), "GET") != 0) {
        lt_request_add_header(r, "Allow", "GET");
        lt_request_reply_text(r, 405, "text/plain; charset=utf-8", "method not allowed\n");
    } else if (strcmp(path, IPN_PATH) == 0) {
        handle_ipn(r, w);
    } else {
        handle_return(r, w);
    }
}
