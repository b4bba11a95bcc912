/* The dossier outbox on the admin listener: listing and re-driving. */
#include "lt_dos_admin.h"

#include <event2/buffer.h>
#include <event2/keyvalq_struct.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lt_date.h"
#include "lt_log.h"

#define OUTBOX_PATH LT_DOS_ADMIN_PREFIX "outbox"
#define LIST_MAX    1000

typedef enum { LIST_DEAD, LIST_PENDING, LIST_ALL, LIST_BAD } which_t;

/* A listing in progress: "all" is the dead letters, then the records waiting. */
typedef struct listing {
    struct evhttp_request *req;
    lt_dos_conn_t *conn;
    which_t which;
    json_t *records;
} listing_t;

typedef struct redrive {
    struct evhttp_request *req;
    lt_dos_outbox_t *outbox;
    char id[LT_DOS_RECORD_ID_MAX + 1];
} redrive_t;

static void send_json(struct evhttp_request *req, int status, json_t *body, const char *content_type)
{
    char *text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    struct evbuffer *buf = evbuffer_new();
    evbuffer_add(buf, text, strlen(text));
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", content_type);
    evhttp_send_reply(req, status, NULL, buf);
    evbuffer_free(buf);
    free(text);
}

static void send_problem(struct evhttp_request *req, int status, const char *title, const char *detail)
{
    send_json(
        req, status,
        json_pack("{s:s, s:s, s:i, s:s}", "type", "about:blank", "title", title, "status", status, "detail", detail),
        "application/problem+json");
}

static json_t *iso_or_null(int64_t ms)
{
    if (ms <= 0)
        return json_null();
    char iso[32];
    lt_date_format_iso8601((time_t)(ms / 1000), iso);
    return json_string(iso);
}

static json_t *record_json(const lt_dos_record_t *r)
{
    char id[LT_DOS_RECORD_ID_MAX + 1];
    lt_dos_record_id(r->dossier_id, r->step, r->number, id);
    json_t *o = json_pack("{s:s, s:s, s:s, s:I, s:s, s:o}", "id", id, "dossier_id", r->dossier_id, "kind",
                          r->step ? "step" : "snapshot", r->step ? "seq" : "version", (json_int_t)r->number, "state",
                          r->dead  ? "dead"
                          : r->due ? "due"
                                   : "waiting",
                          "accepted_at", iso_or_null(r->accepted_at_ms));
    if (r->dead) {
        json_object_set_new(o, "dead_at", iso_or_null(r->dead_at_ms));
        json_object_set_new(o, "error", json_string(r->error));
    }
    return o;
}

static void on_listed(void *arg, const lt_dos_list_t *list)
{
    listing_t *l = arg;
    if (list->outcome != LT_DOS_OK) {
        send_problem(l->req, 503, "Service Unavailable", list->detail);
        json_decref(l->records);
        free(l);
        return;
    }
    for (size_t i = 0; i < list->n; i++)
        json_array_append_new(l->records, record_json(&list->records[i]));
    if (l->which == LIST_ALL) {
        l->which = LIST_PENDING; /* the dead letters are in: now what waits */
        lt_dos_list(l->conn, false, LIST_MAX, on_listed, l);
        return;
    }
    send_json(l->req, 200, json_pack("{s:o}", "records", l->records), "application/json");
    free(l);
}

static which_t which_of(struct evhttp_request *req)
{
    const char *query = evhttp_uri_get_query(evhttp_request_get_evhttp_uri(req));
    if (query == NULL)
        return LIST_ALL;
    struct evkeyvalq q;
    if (evhttp_parse_query_str(query, &q) != 0)
        return LIST_BAD;
    const char *s = evhttp_find_header(&q, "state");
    which_t w = s == NULL || strcmp(s, "all") == 0 ? LIST_ALL
                : strcmp(s, "dead") == 0           ? LIST_DEAD
                : strcmp(s, "pending") == 0        ? LIST_PENDING
                                                   : LIST_BAD;
    evhttp_clear_headers(&q);
    return w;
}

static void list_records(lt_dos_conn_t *conn, struct evhttp_request *req)
{
    which_t which = which_of(req);
    if (which == LIST_BAD) {
        send_problem(req, 400, "Bad Request", "state must be dead, pending or all");
        return;
    }
    listing_t *l = calloc(1, sizeof(*l));
    l->req = req;
    l->conn = conn;
    l->which = which;
    l->records = json_array();
    lt_dos_list(conn, which == LIST_PENDING ? false : true, LIST_MAX, on_listed, l);
}

static void on_redriven(void *arg, const lt_dos_result_t *res)
{
    redrive_t *d = arg;
    if (res->outcome == LT_DOS_OK) {
        lt_log_info("dossiers outbox: %s re-driven by an operator", d->id);
        send_json(d->req, 200, json_pack("{s:s, s:s}", "id", d->id, "state", "pending"), "application/json");
        lt_dos_outbox_kick(d->outbox);
    } else if (res->outcome == LT_DOS_NOT_FOUND) {
        send_problem(d->req, 404, "Not Found", "no dead letter with this record id");
    } else {
        send_problem(d->req, 503, "Service Unavailable", res->detail);
    }
    free(d);
}

static void redrive(lt_dos_conn_t *conn, lt_dos_outbox_t *outbox, struct evhttp_request *req, const char *id,
                    size_t len)
{
    char text[3 * LT_DOS_RECORD_ID_MAX + 1], dossier[LT_DOS_ID_MAX + 1]; /* room for %XX escapes */
    bool step;
    long long number;
    char *decoded = NULL;
    if (len < sizeof(text)) {
        memcpy(text, id, len);
        text[len] = '\0';
        decoded = evhttp_uridecode(text, 0, NULL); /* lienthong-ctl escapes the ':' */
    }
    if (decoded == NULL || lt_dos_record_id_parse(decoded, dossier, &step, &number) != 0) {
        free(decoded);
        send_problem(req, 404, "Not Found", "no dead letter with this record id (<dossier_id>:v<version> or :s<seq>)");
        return;
    }
    redrive_t *d = calloc(1, sizeof(*d));
    d->req = req;
    d->outbox = outbox;
    snprintf(d->id, sizeof(d->id), "%s", decoded);
    free(decoded);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    lt_dos_redrive(conn, step, dossier, number, (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000, on_redriven, d);
}

void lt_dos_admin_handle(lt_dos_conn_t *conn, lt_dos_outbox_t *outbox, struct evhttp_request *req)
{
    const char *path = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(req));
    enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
    static const char suffix[] = "/redrive";
    size_t plen = strlen(OUTBOX_PATH), slen = strlen(suffix), n = path ? strlen(path) : 0;
    if (path != NULL && strcmp(path, OUTBOX_PATH) == 0 && cmd == EVHTTP_REQ_GET)
        list_records(conn, req);
    else if (path != NULL && cmd == EVHTTP_REQ_POST && n > plen + 1 + slen &&
             strncmp(path, OUTBOX_PATH "/", plen + 1) == 0 && strcmp(path + n - slen, suffix) == 0 &&
             memchr(path + plen + 1, '/', n - plen - 1 - slen) == NULL)
        redrive(conn, outbox, req, path + plen + 1, n - plen - 1 - slen);
    else
        send_problem(req, 404, "Not Found", "no such dossiers route");
}
