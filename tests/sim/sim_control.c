/*
 * sim_control: fault injection state, request counters, and the JSON control API.
 */
#include "sim_control.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Faults the server applies itself, whatever the system's protocol. */
static const struct {
    const char *name;
    sim_fault_kind_t kind;
} sim_transport_faults[] = {
    {"none", SIM_FAULT_NONE},       {"html502", SIM_FAULT_HTML502}, {"html503", SIM_FAULT_HTML503},
    {"html504", SIM_FAULT_HTML504}, {"reset", SIM_FAULT_RESET},     {"truncate", SIM_FAULT_TRUNCATE},
    {"hang", SIM_FAULT_HANG},
};

#define SIM_COUNT(a) (sizeof(a) / sizeof((a)[0]))

static int sim_service_fault_index(const sim_service_t *svc, const char *name)
{
    for (int i = 0; svc->faults && svc->faults[i]; i++)
        if (strcmp(svc->faults[i], name) == 0)
            return i;
    return -1;
}

static sim_fault_kind_t sim_fault_kind_of(const char *name)
{
    for (size_t i = 0; i < SIM_COUNT(sim_transport_faults); i++)
        if (strcmp(sim_transport_faults[i].name, name) == 0)
            return sim_transport_faults[i].kind;
    return SIM_FAULT_SERVICE;
}

static void sim_control_clear_fault(sim_control_t *c)
{
    snprintf(c->fault, sizeof c->fault, "%s", "none");
    c->remaining = -1;
}

void sim_control_init(sim_control_t *c, const sim_service_t *service, void *state)
{
    memset(c, 0, sizeof *c);
    c->service = service;
    c->state = state;
    while (service->ops[c->n_ops] != NULL && c->n_ops < SIM_CONTROL_MAX_OPS)
        c->n_ops++;
    sim_control_clear_fault(c);
}

int sim_control_fault_known(const sim_control_t *c, const char *name)
{
    for (size_t i = 0; i < SIM_COUNT(sim_transport_faults); i++)
        if (strcmp(sim_transport_faults[i].name, name) == 0)
            return 1;
    return sim_service_fault_index(c->service, name) >= 0;
}

void sim_control_fault_names(const sim_control_t *c, sim_buf_t *out)
{
    for (size_t i = 0; i < SIM_COUNT(sim_transport_faults); i++)
        sim_buf_printf(out, "%s%s", i ? " " : "", sim_transport_faults[i].name);
    for (size_t i = 0; c->service->faults && c->service->faults[i]; i++)
        sim_buf_printf(out, " %s", c->service->faults[i]);
}

int sim_control_set_fault(sim_control_t *c, const char *name, long remaining, char *err, size_t errlen)
{
    if (!sim_control_fault_known(c, name)) {
        sim_buf_t names;
        sim_buf_init(&names);
        sim_control_fault_names(c, &names);
        snprintf(err, errlen, "unknown fault \"%s\"; known: %s", name, names.data);
        sim_buf_free(&names);
        return -1;
    }
    if (remaining < -1) {
        snprintf(err, errlen, "remaining must be -1 (until changed) or a count >= 0");
        return -1;
    }
    snprintf(c->fault, sizeof c->fault, "%s", name);
    c->remaining = remaining;
    /* "none" and an exhausted count look the same from outside. */
    if (strcmp(name, "none") == 0 || remaining == 0)
        sim_control_clear_fault(c);
    return 0;
}

int sim_control_set_latency(sim_control_t *c, long latency_ms, char *err, size_t errlen)
{
    if (latency_ms < 0 || latency_ms > SIM_CONTROL_MAX_LATENCY) {
        snprintf(err, errlen, "latency_ms must be between 0 and %ld", SIM_CONTROL_MAX_LATENCY);
        return -1;
    }
    c->latency_ms = latency_ms;
    return 0;
}

void sim_control_count(sim_control_t *c, int op)
{
    c->requests++;
    if (op >= 0 && (size_t)op < c->n_ops)
        c->by_op[op]++;
}

sim_fault_pick_t sim_control_take(sim_control_t *c)
{
    sim_fault_pick_t pick;
    pick.latency_ms = c->latency_ms;
    snprintf(pick.name, sizeof pick.name, "%s", c->fault);
    pick.kind = sim_fault_kind_of(c->fault);
    if (pick.kind != SIM_FAULT_NONE && c->remaining > 0 && --c->remaining == 0)
        sim_control_clear_fault(c);
    return pick;
}

/* ---- the JSON control API ---- */

static void sim_reply_json(sim_reply_t *reply, int status, const char *reason, json_t *doc)
{
    char *text = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    reply->status = status;
    reply->reason = reason;
    reply->content_type = "application/json";
    if (text != NULL) {
        sim_buf_puts(&reply->body, text);
        sim_buf_puts(&reply->body, "\n");
        free(text);
    }
}

static void sim_reply_error(sim_reply_t *reply, int status, const char *reason, const char *message)
{
    sim_reply_json(reply, status, reason, json_pack("{s:s}", "error", message));
}

static json_t *sim_control_stats(const sim_control_t *c)
{
    json_t *by_op = json_object();
    for (size_t i = 0; i < c->n_ops; i++)
        json_object_set_new(by_op, c->service->ops[i], json_integer((json_int_t)c->by_op[i]));
    return json_pack("{s:I,s:o}", "requests", (json_int_t)c->requests, "by_operation", by_op);
}

static json_t *sim_control_faults(const sim_control_t *c)
{
    return json_pack("{s:I,s:s,s:I}", "latency_ms", (json_int_t)c->latency_ms, "fault", c->fault, "remaining",
                     (json_int_t)c->remaining);
}

/* Validates every field before changing anything, so a bad PUT changes nothing. */
static int sim_control_put_faults(sim_control_t *c, const sim_request_t *req, char *err, size_t errlen)
{
    json_error_t jerr;
    json_t *doc = json_loadb((const char *)req->body, req->body_len, JSON_REJECT_DUPLICATES, &jerr);
    if (doc == NULL || !json_is_object(doc)) {
        snprintf(err, errlen, "body must be a JSON object: %s", doc ? "not an object" : jerr.text);
        json_decref(doc);
        return -1;
    }
    const char *key;
    json_t *val;
    json_object_foreach(doc, key, val)
    {
        if (strcmp(key, "latency_ms") != 0 && strcmp(key, "fault") != 0 && strcmp(key, "remaining") != 0) {
            snprintf(err, errlen, "unknown field \"%s\" (known: latency_ms, fault, remaining)", key);
            goto fail;
        }
    }
    json_t *lat = json_object_get(doc, "latency_ms");
    json_t *fault = json_object_get(doc, "fault");
    json_t *rem = json_object_get(doc, "remaining");
    if ((lat && !json_is_integer(lat)) || (fault && !json_is_string(fault)) || (rem && !json_is_integer(rem))) {
        snprintf(err, errlen, "latency_ms and remaining must be integers, fault a string");
        goto fail;
    }
    sim_control_t next = *c;
    /* A new fault without "remaining" lasts until changed; "remaining" alone re-arms the current fault. */
    const char *name = fault ? json_string_value(fault) : c->fault;
    long remaining = rem ? (long)json_integer_value(rem) : fault ? -1 : c->remaining;
    if (sim_control_set_fault(&next, name, remaining, err, errlen) < 0)
        goto fail;
    if (lat && sim_control_set_latency(&next, (long)json_integer_value(lat), err, errlen) < 0)
        goto fail;
    *c = next;
    json_decref(doc);
    return 0;
fail:
    json_decref(doc);
    return -1;
}

static void sim_control_reset_all(sim_control_t *c)
{
    sim_control_init(c, c->service, c->state);
    if (c->service->state_reset != NULL && c->state != NULL)
        c->service->state_reset(c->state);
}

void sim_control_handle(sim_control_t *c, const sim_request_t *req, sim_reply_t *reply)
{
    char prefix[64];
    snprintf(prefix, sizeof prefix, "/control/%s/", c->service->name);
    if (strncmp(req->path, prefix, strlen(prefix)) != 0) {
        sim_reply_error(reply, 404, "Not Found", "no such control path; try /control/<system>/stats");
        return;
    }
    const char *what = req->path + strlen(prefix);
    const char *m = req->method;
    char err[512];
    if (strcmp(what, "stats") == 0) {
        if (strcmp(m, "GET") != 0)
            goto not_allowed;
        sim_reply_json(reply, 200, "OK", sim_control_stats(c));
    } else if (strcmp(what, "faults") == 0) {
        if (strcmp(m, "PUT") == 0) {
            if (sim_control_put_faults(c, req, err, sizeof err) < 0) {
                sim_reply_error(reply, 400, "Bad Request", err);
                return;
            }
        } else if (strcmp(m, "GET") != 0) {
            goto not_allowed;
        }
        sim_reply_json(reply, 200, "OK", sim_control_faults(c));
    } else if (strcmp(what, "reset") == 0) {
        if (strcmp(m, "POST") != 0)
            goto not_allowed;
        sim_control_reset_all(c);
        sim_reply_json(reply, 200, "OK", json_pack("{s:b}", "reset", 1));
    } else if (c->service->control == NULL || c->service->control(c->state, what, req, reply) != 0) {
        sim_reply_error(reply, 404, "Not Found", "unknown control path; known: stats, faults, reset");
    }
    return;
not_allowed:
    sim_reply_error(reply, 405, "Method Not Allowed", "method not allowed on this control path");
}
