/* Admin endpoints: /healthz and /readyz. */
#include "lt_admin.h"

#include <event2/buffer.h>
#include <event2/http.h>
#include <stdlib.h>
#include <string.h>

#include "lt_server.h"

struct lt_admin {
    lt_admin_deps_t deps;
    struct evhttp *http;
};

static void reply_json(struct evhttp_request *req, int status, json_t *body)
{
    char *text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    struct evbuffer *buf = evbuffer_new();
    evbuffer_add(buf, text, strlen(text));
    evbuffer_add(buf, "\n", 1);
    free(text);
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", "application/json");
    evhttp_add_header(evhttp_request_get_output_headers(req), "Cache-Control", "no-store");
    evhttp_send_reply(req, status, NULL, buf);
    evbuffer_free(buf);
}

/* 200 while the process runs: a liveness probe must not depend on upstreams. */
static void on_healthz(struct evhttp_request *req, void *arg)
{
    reply_json(req, 200, json_pack("{s:s}", "status", "ok"));
}

static void on_readyz(struct evhttp_request *req, void *arg)
{
    lt_admin_t *admin = arg;
    json_t *reasons = json_array();
    bool ready = admin->deps.is_ready(admin->deps.arg, reasons);
    reply_json(req, ready ? 200 : 503,
               json_pack("{s:s, s:o}", "status", ready ? "ready" : "not_ready", "reasons", reasons));
}

static void on_other(struct evhttp_request *req, void *arg)
{
    reply_json(req, 404, json_pack("{s:s}", "error", "no such admin endpoint"));
}

lt_admin_t *lt_admin_new(const lt_admin_deps_t *deps, lt_error_t *err)
{
    struct sockaddr_storage ss;
    int sslen;
    if (lt_parse_bind(deps->bind, &ss, &sslen, err) != 0)
        return NULL;
    lt_admin_t *admin = calloc(1, sizeof(*admin));
    admin->deps = *deps;
    admin->http = evhttp_new(deps->base);
    evhttp_set_allowed_methods(admin->http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD | EVHTTP_REQ_POST);
    evhttp_set_cb(admin->http, "/healthz", on_healthz, admin);
    evhttp_set_cb(admin->http, "/readyz", on_readyz, admin);
    evhttp_set_gencb(admin->http, on_other, admin);
    evhttp_set_timeout(admin->http, 30);
    char host[256];
    snprintf(host, sizeof(host), "%s", deps->bind);
    char *colon = strrchr(host, ':');
    *colon = '\0';
    const char *h = host;
    if (host[0] == '[') { /* [::1]:9090 */
        h = host + 1;
        host[strlen(host) - 1] = '\0';
    }
    if (evhttp_bind_socket_with_handle(admin->http, h, (ev_uint16_t)atoi(colon + 1)) == NULL) {
        lt_error_set(err, LT_ERR_INTERNAL, "listen", "cannot listen on admin address %s", deps->bind);
        lt_admin_free(admin);
        return NULL;
    }
    return admin;
}

void lt_admin_free(lt_admin_t *admin)
{
    if (admin == NULL)
        return;
    evhttp_free(admin->http);
    free(admin);
}
