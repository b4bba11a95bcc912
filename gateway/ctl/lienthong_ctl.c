/*
 * lienthong-ctl: the operators' command-line tool. It talks to the gateway's
 * admin listener over plain HTTP (loopback by default) and does nothing the
 * admin listener does not: so what it prints is what /status.json says, and
 * `status --json` prints that very document.
 *
 *   status [--json]            the picture of /status, as a terminal table
 *   reload                     POST /reload: apply what can change live
 *   purge <identifier> [--system S]   POST /cache/purge
 *   outbox list [--dead|--pending] [--json]   GET /payments/outbox
 *   outbox redrive <event_id>  POST /payments/outbox/{id}/redrive
 *
 * Exit codes: 0 done (status: green), 1 failed or unreachable, 2 usage,
 * 3 status amber, 4 status red.
 */
#include <curl/curl.h>
#include <getopt.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2, EXIT_AMBER = 3, EXIT_RED = 4 };

typedef struct {
    const char *admin; /* base URL */
    bool json;
    bool color; /* ANSI colours: only on a terminal */
    long timeout_ms;
} ctl_t;

typedef struct {
    long status;
    char *body;
    size_t len;
    char ctype[128];
} reply_t;

static void usage(FILE *out)
{
    fputs("Usage: lienthong-ctl [--admin URL] COMMAND [ARGS]\n"
          "\n"
          "Talks to the admin listener of lienthong-gateway.\n"
          "\n"
          "Commands:\n"
          "  status [--json]                   every national system, the cache, payments and\n"
          "                                    certificates, as /status shows them (--json: /status.json)\n"
          "  reload                            re-read the configuration; apply what can change live\n"
          "                                    and list what needs a restart\n"
          "  purge IDENTIFIER [--system NAME]  remove every cached entry about one identifier\n"
          "  outbox list [--dead|--pending] [--json]\n"
          "                                    payment webhook events (default: pending and dead)\n"
          "  outbox redrive EVENT_ID           send a dead-lettered event again\n"
          "\n"
          "Options:\n"
          "  --admin URL     the admin listener (default $LIENTHONG_ADMIN, else http://127.0.0.1:9090)\n"
          "  --timeout MS    give up after this long (default 5000)\n"
          "  -h, --help      this text\n"
          "  -V, --version   the version\n"
          "\n"
          "Exit codes: 0 done (status: green), 1 failed or unreachable, 2 usage error,\n"
          "3 status amber, 4 status red.\n",
          out);
}

/* ---- HTTP ------------------------------------------------------------------------------------ */

static size_t on_body(char *data, size_t size, size_t nmemb, void *userp)
{
    reply_t *r = userp;
    size_t n = size * nmemb;
    char *p = realloc(r->body, r->len + n + 1);
    if (p == NULL)
        return 0;
    r->body = p;
    memcpy(r->body + r->len, data, n);
    r->len += n;
    r->body[r->len] = '\0';
    return n;
}

/* One request to the admin listener. Returns 0 with r filled, or -1 (message printed) when it cannot be reached. */
static int request(const ctl_t *ctl, const char *method, const char *path, const char *body, reply_t *r)
{
    memset(r, 0, sizeof(*r));
    char url[2048];
    snprintf(url, sizeof(url), "%s%s", ctl->admin, path);
    CURL *easy = curl_easy_init();
    struct curl_slist *headers = NULL;
    curl_easy_setopt(easy, CURLOPT_URL, url);
    curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, ctl->timeout_ms);
    curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(easy, CURLOPT_WRITEDATA, r);
    if (strcmp(method, "POST") == 0) {
        headers = curl_slist_append(headers, "Content-Type: application/json");
        curl_easy_setopt(easy, CURLOPT_HTTPHEADER, headers);
        curl_easy_setopt(easy, CURLOPT_POSTFIELDS, body ? body : "");
    }
    CURLcode rc = curl_easy_perform(easy);
    if (rc == CURLE_OK) {
        char *ctype = NULL;
        curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &r->status);
        curl_easy_getinfo(easy, CURLINFO_CONTENT_TYPE, &ctype);
        snprintf(r->ctype, sizeof(r->ctype), "%s", ctype ? ctype : "");
    } else {
        fprintf(stderr, "lienthong-ctl: cannot reach the admin listener at %s: %s\n", ctl->admin,
                curl_easy_strerror(rc));
    }
    curl_slist_free_all(headers);
    curl_easy_cleanup(easy);
    return rc == CURLE_OK ? 0 : -1;
}

static json_t *reply_json(const reply_t *r)
{
    return r->body ? json_loadb(r->body, r->len, 0, NULL) : NULL;
}

/* An answer that is not the one hoped for: say what the gateway said, in its words. */
static int report_failure(const reply_t *r, const char *what)
{
    json_t *doc = reply_json(r);
    const char *msg = json_string_value(json_object_get(doc, "detail"));
    if (msg == NULL)
        msg = json_string_value(json_object_get(doc, "error"));
    fprintf(stderr, "lienthong-ctl: %s: HTTP %ld%s%s\n", what, r->status, msg ? ": " : "", msg ? msg : "");
    json_decref(doc);
    return EXIT_FAIL;
}

static const char *str(const json_t *obj, const char *key)
{
    const char *v = json_string_value(json_object_get(obj, key));
    return v ? v : "-";
}

static long long num(const json_t *obj, const char *key)
{
    return (long long)json_number_value(json_object_get(obj, key));
}

/* ---- status ---------------------------------------------------------------------------------- */

static const char *paint(const ctl_t *ctl, const char *state)
{
    if (!ctl->color)
        return "";
    if (strcmp(state, "red") == 0)
        return "\033[1;31m";
    if (strcmp(state, "amber") == 0)
        return "\033[1;33m";
    if (strcmp(state, "green") == 0)
        return "\033[32m";
    return "";
}

static const char *reset(const ctl_t *ctl)
{
    return ctl->color ? "\033[0m" : "";
}

/* The fewest days left among a system's certificates (-1 when it has none). */
static long long min_cert_days(const json_t *certs, bool *any)
{
    long long min = 0;
    size_t i;
    const json_t *c;
    *any = false;
    json_array_foreach(certs, i, c)
    {
        long long d = num(c, "days_left");
        if (!*any || d < min)
            min = d;
        *any = true;
    }
    return min;
}

static void print_system(const ctl_t *ctl, const json_t *sys)
{
    const json_t *probe = json_object_get(sys, "probe"), *lat = json_object_get(sys, "latency_ms");
    const json_t *recent = json_object_get(sys, "recent"), *tok = json_object_get(sys, "token");
    char latency[32] = "-", certs[16] = "-", token[24] = "-", calls[32];
    if (json_is_object(lat))
        snprintf(latency, sizeof(latency), "%.0f/%.0f", json_number_value(json_object_get(lat, "p50")),
                 json_number_value(json_object_get(lat, "p95")));
    bool any;
    long long days = min_cert_days(json_object_get(sys, "certificates"), &any);
    if (any)
        snprintf(certs, sizeof(certs), "%lld", days);
    if (json_is_object(tok))
        snprintf(token, sizeof(token), "%s %llds", str(tok, "state"), num(tok, "remaining_s"));
    snprintf(calls, sizeof(calls), "%lld/%lld", num(recent, "calls"), num(recent, "errors"));
    const char *state = str(sys, "state");
    printf("%-12s %s%-6s%s %-9s %-10s %-21s %-11s %-11s %-9s %s\n", str(sys, "name"), paint(ctl, state), state,
           reset(ctl), json_is_true(json_object_get(probe, "enabled")) ? str(probe, "state") : "off",
           str(json_object_get(sys, "circuit"), "state"), str(sys, "last_success"), latency, calls, certs, token);
    printf("  %s\n", str(sys, "reason"));
    const json_t *err = json_object_get(sys, "last_error");
    if (json_is_object(err))
        printf("  last error %s %s: %s%s\n", str(err, "at"), str(err, "code"), str(err, "detail"),
               json_is_true(json_object_get(err, "probe")) ? " (probe)" : "");
}

static void print_cache_and_payments(const json_t *doc)
{
    const json_t *cache = json_object_get(doc, "cache"), *pay = json_object_get(doc, "payments");
    printf("\ncache        %-6s %s, hit ratio %.0f %%%s%s\n", str(cache, "color"), str(cache, "backend"),
           json_number_value(json_object_get(cache, "hit_ratio")) * 100, json_object_get(cache, "detail") ? ": " : "",
           json_object_get(cache, "detail") ? str(cache, "detail") : "");
    if (!json_is_true(json_object_get(pay, "configured"))) {
        printf("payments     not configured\n");
        return;
    }
    const json_t *outbox = json_object_get(pay, "outbox");
    printf("payments     %-6s %s store%s, outbox backlog %lld, dead letters %lld, oldest %.0f s\n", str(pay, "color"),
           str(pay, "backend"), json_is_false(json_object_get(pay, "store_ok")) ? " UNAVAILABLE" : "",
           num(outbox, "backlog"), num(outbox, "dead_letters"),
           json_number_value(json_object_get(outbox, "oldest_backlog_age_s")));
}

static void print_certificates(const ctl_t *ctl, const json_t *doc)
{
    printf("\n%-12s %-17s %-28s %6s  %s\n", "CERTIFICATE", "ROLE", "SUBJECT", "DAYS", "EXPIRES");
    size_t i;
    const json_t *c;
    json_array_foreach(json_object_get(doc, "certificates"), i, c)
    {
        const char *state = str(c, "state");
        printf("%-12s %-17s %-28s %s%6lld%s  %s\n", str(c, "owner"), str(c, "role"), str(c, "subject"),
               paint(ctl, state), num(c, "days_left"), reset(ctl), str(c, "not_after"));
    }
}

/* A document without a known state (a wrong --admin, a proxy's page) is a failure, never "green". */
static int exit_for(const char *state)
{
    if (strcmp(state, "green") == 0)
        return EXIT_OK;
    return strcmp(state, "red") == 0 ? EXIT_RED : strcmp(state, "amber") == 0 ? EXIT_AMBER : EXIT_FAIL;
}

static int cmd_status(const ctl_t *ctl)
{
    reply_t r;
    if (request(ctl, "GET", "/status.json", NULL, &r) != 0)
        return EXIT_FAIL;
    json_t *doc = r.status == 200 ? reply_json(&r) : NULL;
    if (doc == NULL) {
        int rc = report_failure(&r, "status");
        free(r.body);
        return rc;
    }
    /* --json: the document exactly as the gateway sent it, so scripts and /status.json never disagree. */
    if (ctl->json)
        fwrite(r.body, 1, r.len, stdout);
    else {
        const char *state = str(doc, "state");
        printf("Liên Thông %s: %s%s%s: %s\nupdated %s, figures over the last %lld s\n\n", str(doc, "version"),
               paint(ctl, state), state, reset(ctl), str(doc, "reason"), str(doc, "generated_at"),
               num(doc, "window_s"));
        printf("%-12s %-6s %-9s %-10s %-21s %-11s %-11s %-9s %s\n", "SYSTEM", "STATE", "PROBE", "CIRCUIT",
               "LAST SUCCESS", "P50/P95 ms", "CALLS/ERR", "CERT DAYS", "TOKEN");
        size_t i;
        const json_t *sys;
        json_array_foreach(json_object_get(doc, "systems"), i, sys) print_system(ctl, sys);
        print_cache_and_payments(doc);
        print_certificates(ctl, doc);
    }
    int rc = exit_for(str(doc, "state"));
    json_decref(doc);
    free(r.body);
    return rc;
}

/* ---- reload and purge -------------------------------------------------------------------------- */

static void print_list(const char *title, const json_t *list)
{
    size_t i;
    const json_t *v;
    printf("%s:%s\n", title, json_array_size(list) ? "" : " none");
    json_array_foreach(list, i, v) printf("  %s\n", json_string_value(v));
}

static int cmd_reload(const ctl_t *ctl)
{
    reply_t r;
    if (request(ctl, "POST", "/reload", "", &r) != 0)
        return EXIT_FAIL;
    json_t *doc = reply_json(&r);
    int rc = EXIT_OK;
    if (r.status != 200) {
        rc = report_failure(&r, "reload refused, nothing changed");
    } else if (ctl->json) {
        fwrite(r.body, 1, r.len, stdout);
    } else {
        print_list("applied", json_object_get(doc, "applied"));
        print_list("needs a restart", json_object_get(doc, "restart_needed"));
    }
    json_decref(doc);
    free(r.body);
    return rc;
}

static int cmd_purge(const ctl_t *ctl, const char *identifier, const char *system)
{
    json_t *body = json_pack("{s:s}", "identifier", identifier);
    if (system != NULL)
        json_object_set_new(body, "system", json_string(system));
    char *text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    reply_t r;
    int rc = request(ctl, "POST", "/cache/purge", text, &r) == 0 ? EXIT_OK : EXIT_FAIL;
    free(text);
    if (rc != EXIT_OK)
        return rc;
    json_t *doc = reply_json(&r);
    if (r.status != 200) {
        rc = report_failure(&r, "purge");
    } else if (ctl->json) {
        fwrite(r.body, 1, r.len, stdout);
    } else {
        const json_t *p = json_object_get(doc, "purged");
        printf("purged %lld entr%s in memory and %lld in Redis\n", num(p, "memory"),
               num(p, "memory") == 1 ? "y" : "ies", num(p, "redis"));
    }
    json_decref(doc);
    free(r.body);
    return rc;
}

/* ---- outbox ---------------------------------------------------------------------------------- */

/* Payments answer through a hook; a gateway without payments answers 404 payments_not_configured. */
static int payments_failure(const reply_t *r, const char *what)
{
    json_t *doc = reply_json(r);
    const char *type = json_string_value(json_object_get(doc, "type"));
    int rc;
    if (r->status == 404 && type != NULL && strstr(type, "payments_not_configured") != NULL) {
        fprintf(stderr, "lienthong-ctl: payments are not configured on this gateway: it has no outbox\n");
        rc = EXIT_FAIL;
    } else {
        rc = report_failure(r, what);
    }
    json_decref(doc);
    return rc;
}

static int cmd_outbox_list(const ctl_t *ctl, const char *state)
{
    char path[64];
    snprintf(path, sizeof(path), "/payments/outbox?state=%s", state);
    reply_t r;
    if (request(ctl, "GET", path, NULL, &r) != 0)
        return EXIT_FAIL;
    int rc = EXIT_OK;
    json_t *doc = r.status == 200 ? reply_json(&r) : NULL;
    if (doc == NULL) {
        rc = payments_failure(&r, "outbox list");
    } else if (ctl->json) {
        fwrite(r.body, 1, r.len, stdout);
    } else {
        printf("%-36s %-16s %-10s %8s  %-20s %s\n", "EVENT", "EVENT TYPE", "STATE", "ATTEMPTS", "NEXT ATTEMPT",
               "LAST ERROR");
        size_t i;
        const json_t *e;
        json_array_foreach(json_object_get(doc, "events"), i, e)
        {
            printf("%-36s %-16s %-10s %8lld  %-20s %s\n", str(e, "event_id"), str(e, "event"), str(e, "state"),
                   num(e, "attempts"), str(e, "next_attempt_at"), str(e, "last_error"));
        }
    }
    json_decref(doc);
    free(r.body);
    return rc;
}

static int cmd_outbox_redrive(const ctl_t *ctl, const char *event_id)
{
    char *escaped = curl_easy_escape(NULL, event_id, 0);
    char path[512];
    snprintf(path, sizeof(path), "/payments/outbox/%s/redrive", escaped);
    curl_free(escaped);
    reply_t r;
    if (request(ctl, "POST", path, "", &r) != 0)
        return EXIT_FAIL;
    int rc = EXIT_OK;
    json_t *doc = r.status == 200 ? reply_json(&r) : NULL;
    if (doc == NULL)
        rc = payments_failure(&r, "outbox redrive");
    else if (ctl->json)
        fwrite(r.body, 1, r.len, stdout);
    else
        printf("event %s is %s again: it will be delivered on the next round\n", str(doc, "event_id"),
               str(doc, "state"));
    json_decref(doc);
    free(r.body);
    return rc;
}

/* ---- command line -------------------------------------------------------------------------- */

typedef struct {
    bool dead, pending;
    const char *system;
} flags_t;

static int dispatch(const ctl_t *ctl, const flags_t *f, int argc, char **argv)
{
    const char *cmd = argv[0];
    if (strcmp(cmd, "status") == 0 && argc == 1)
        return cmd_status(ctl);
    if (strcmp(cmd, "reload") == 0 && argc == 1)
        return cmd_reload(ctl);
    if (strcmp(cmd, "purge") == 0 && argc == 2)
        return cmd_purge(ctl, argv[1], f->system);
    if (strcmp(cmd, "outbox") == 0 && argc == 2 && strcmp(argv[1], "list") == 0 && !(f->dead && f->pending))
        return cmd_outbox_list(ctl, f->dead ? "dead" : f->pending ? "pending" : "all");
    if (strcmp(cmd, "outbox") == 0 && argc == 3 && strcmp(argv[1], "redrive") == 0)
        return cmd_outbox_redrive(ctl, argv[2]);
    usage(stderr);
    return EXIT_USAGE;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {{"admin", required_argument, NULL, 'a'},
                                         {"json", no_argument, NULL, 'j'},
                                         {"dead", no_argument, NULL, 'd'},
                                         {"pending", no_argument, NULL, 'p'},
                                         {"system", required_argument, NULL, 's'},
                                         {"timeout", required_argument, NULL, 't'},
                                         {"help", no_argument, NULL, 'h'},
                                         {"version", no_argument, NULL, 'V'},
                                         {NULL, 0, NULL, 0}};
    const char *env = getenv("LIENTHONG_ADMIN");
    ctl_t ctl = {.admin = env && *env ? env : "http://127.0.0.1:9090", .color = isatty(1), .timeout_ms = 5000};
    flags_t f = {0};
    int opt;
    while ((opt = getopt_long(argc, argv, "hV", opts, NULL)) != -1) {
        switch (opt) {
        case 'a':
            ctl.admin = optarg;
            break;
        case 'j':
            ctl.json = true;
            break;
        case 'd':
            f.dead = true;
            break;
        case 'p':
            f.pending = true;
            break;
        case 's':
            f.system = optarg;
            break;
        case 't':
            ctl.timeout_ms = atol(optarg) > 0 ? atol(optarg) : 5000;
            break;
        case 'h':
            usage(stdout);
            return EXIT_OK;
        case 'V':
            printf("lienthong-ctl %s\n", LT_VERSION);
            return EXIT_OK;
        default:
            usage(stderr);
            return EXIT_USAGE;
        }
    }
    if (optind >= argc) {
        usage(stderr);
        return EXIT_USAGE;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    int rc = dispatch(&ctl, &f, argc - optind, argv + optind);
    curl_global_cleanup();
    return rc;
}
