/* The land ICD's "Errors" and "Limits" tables, and its nightly synchronisation window. */
#include "errors.h"

#include <jansson.h>
#include <string.h>

#include "lt_date.h"
#include "lt_log.h"

#define DAY_S 86400

int lt_land_parse_clock(const char *t)
{
    if (t == NULL || strlen(t) != 5 || t[2] != ':' || strspn(t, "0123456789") != 2 || strspn(t + 3, "0123456789") != 2)
        return -1;
    int h = (t[0] - '0') * 10 + (t[1] - '0'), m = (t[3] - '0') * 10 + (t[4] - '0');
    return h < 24 && m < 60 ? (h * 60 + m) * 60 : -1;
}

int lt_land_window_remaining_s(const lt_land_settings_t *s, time_t t)
{
    /* Vietnam has no daylight saving time: local seconds after midnight are UTC + 7 h, modulo a day. */
    long long local = ((long long)t + LT_DATE_VN_OFFSET_S) % DAY_S;
    if (local < 0)
        local += DAY_S;
    long long start = s->window_start_s, end = s->window_end_s;
    bool inside = start < end ? (local >= start && local < end) : (local >= start || local < end);
    return inside ? (int)((end - local + DAY_S) % DAY_S) : 0;
}

/* One documented answer: the HTTP status and the body's "ma" the ICD gives for it. */
typedef struct answer {
    long status;
    const char *ma;
    lt_error_kind_t kind;
    bool operator_problem; /* logged for operators: the province's own registration or unit */
    const char *detail;
} answer_t;

/*
 * DD-403 refuses the province itself (its certificate or its unit), which the
 * caller cannot fix: 502, as population's DC-403, and a warning for operators.
 * DD-400 after our own validation means the database reads the request
 * differently from the ICD; it is still its word on the request: 400.
 */
static const answer_t answers[] = {
    {400, "DD-400", LT_ERR_BAD_REQUEST, false, "the land database rejected the request as invalid (DD-400)"},
    {403, "DD-403", LT_ERR_UPSTREAM_BAD, true,
     "the land database refused the province (DD-403): its client certificate is not registered there, or the unit "
     "in upstreams.land.service.unit_code may not query this commune"},
    {404, "DD-404", LT_ERR_NOT_FOUND, false, NULL},
};

/* The body's "ma", or NULL when the body is not the ICD's JSON (an HTML page from a proxy, say). */
static char *body_code(const lt_upstream_response_t *resp, char *buf, size_t len)
{
    if (resp->body == NULL || resp->body_len == 0)
        return NULL;
    json_t *doc = json_loadb(resp->body, resp->body_len, JSON_REJECT_DUPLICATES, NULL);
    const char *ma = json_string_value(json_object_get(doc, "ma"));
    char *out = NULL;
    if (ma != NULL && strlen(ma) < len) {
        strcpy(buf, ma);
        out = buf;
    }
    json_decref(doc);
    return out;
}

static const answer_t *answer_find(long status, const char *ma)
{
    for (size_t i = 0; i < sizeof(answers) / sizeof(answers[0]); i++)
        if (answers[i].status == status && ma != NULL && strcmp(answers[i].ma, ma) == 0)
            return &answers[i];
    return NULL;
}

static int map_documented(const answer_t *row, lt_land_asked_t asked, lt_error_t *err)
{
    const char *detail = row->detail;
    if (row->kind == LT_ERR_NOT_FOUND)
        detail = asked == LT_LAND_ASKED_PARCEL ? "the land database has no such parcel (DD-404)"
                                               : "the land database has no certificate with this serial (DD-404)";
    lt_error_set(err, row->kind, row->ma, "%s", detail);
    if (row->operator_problem)
        lt_log_warn("land: the land database refused the province: %s", row->ma);
    return -1;
}

/* 429: the ICD's 10 requests/s per unit. Its Retry-After is obeyed by our own retry as well as told to callers. */
static int map_rate_limited(const lt_land_settings_t *s, const lt_upstream_response_t *resp, lt_error_t *err)
{
    lt_error_set(err, LT_ERR_UPSTREAM_UNAVAILABLE, "DD-429",
                 "the province's request rate at the land database is exhausted (DD-429)");
    err->retry_after_s = lt_adapter_retry_after_seconds(resp->retry_after, (int)s->rate_limited_retry_after_s);
    err->upstream_wait_s = err->retry_after_s;
    err->retryable = true;
    return -1;
}

/*
 * 503: during the nightly window the database answers 503, possibly HTML,
 * without Retry-After, for hours. Retrying, or letting the next caller try,
 * only hammers it: the wait runs to the window's end, for every caller
 * (upstream_closed_s). A Retry-After the database sends itself is its own word
 * and wins; a 503 outside the window is an ordinary outage.
 */
static int map_unavailable(const lt_land_settings_t *s, const lt_upstream_response_t *resp, time_t now, lt_error_t *err)
{
    int header = lt_adapter_retry_after_seconds(resp->retry_after, 0);
    int window = header > 0 ? 0 : lt_land_window_remaining_s(s, now);
    if (window > 0) {
        lt_error_set(err, LT_ERR_UPSTREAM_UNAVAILABLE, "upstream_sync_window",
                     "the land database is closed for its nightly synchronisation (%s to %s, UTC+07:00)",
                     s->sync_window_start, s->sync_window_end);
        err->retry_after_s = window;
        err->upstream_closed_s = window;
        return -1;
    }
    lt_error_set(err, LT_ERR_UPSTREAM_UNAVAILABLE, "upstream_http_503", "the land database answered HTTP 503");
    err->retryable = true;
    err->retry_after_s = header > 0 ? header : (int)s->unavailable_retry_after_s;
    err->upstream_wait_s = header;
    return -1;
}

int lt_land_map_answer(const lt_land_settings_t *s, const lt_upstream_response_t *resp, lt_land_asked_t asked,
                       time_t now, lt_error_t *err)
{
    char buf[32];
    const answer_t *row = answer_find(resp->status, body_code(resp, buf, sizeof(buf)));
    if (row != NULL)
        return map_documented(row, asked, err);
    switch (resp->status) {
    case 429:
        return map_rate_limited(s, resp, err);
    case 503:
        return map_unavailable(s, resp, now, err);
    case 502:
        return lt_error_set(err, LT_ERR_UPSTREAM_BAD, "upstream_http_502", "the land database answered HTTP 502");
    case 504:
        lt_error_set(err, LT_ERR_UPSTREAM_TIMEOUT, "upstream_http_504", "the land database answered HTTP 504");
        err->retryable = true;
        return -1;
    default:
        /* A 404 or 400 without the ICD's body is a wrong base_url or a proxy: never "no such parcel". */
        return lt_error_set(err, LT_ERR_UPSTREAM_BAD, "upstream_http_status", "the land database answered HTTP %ld",
                            resp->status);
    }
}
