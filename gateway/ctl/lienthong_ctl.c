/*
 * lienthong-ctl: the operators' command-line tool. It talks to the gateway's
 * admin listener over plain HTTP (loopback by default) and does nothing the
 * admin listener does not: so what it prints is what /status.json says, and
 * `status --json` prints that very document.
 *
 *   status [--json]            the picture of /status, as a terminal table
 *   reload                     POST /reload: apply what can change live
 *   drain, undrain             POST /drain, /undrain: /readyz 503 for a load balancer, serving goes on
 *   purge <identifier> [--system S]   POST /cache/purge
 *   outbox list [--dead|--pending] [--json]   GET /payments/outbox
 *   outbox redrive <event_id>  POST /payments/outbox/{id}/redrive
 *   dossiers list [--dead|--pending] [--json]   GET /dossiers/outbox
 *   dossiers redrive <record_id>  POST /dossiers/outbox/{id}/redrive
 *
 * Changes (reload, drain, undrain, purge, redrive) send `Authorization: Bearer` with the
 * admin token, read from --token-file, else from the token_file that the
 * gateway's configuration (--config) names, else $LIENTHONG_ADMIN_TOKEN_FILE.
 *
 * Exit codes: 0 done (status: green), 1 failed or unreachable, 2 usage,
 * 3 status amber, 4 status red.
 */
#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <libgen.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lt_date.h"

enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2, EXIT_AMBER = 3, EXIT_RED = 4 };

#define TOKEN_MAX 512 /* as the gateway's LT_ADMIN_TOKEN_MAX */

typedef struct {
    const char *admin; /* base URL */
    bool json;
    bool color; /* ANSI colours: only on a terminal */
    long timeout_ms;
    const char *token_file; /* NULL: changes go without a token, and the gateway refuses them (401) */
} ctl_t;

typedef struct {
    long status;
    char *body;
    size_t len;
    char ctype[128];
} reply_t;

static void usage(FILE *out)
{
    fputs("Usage: lienthong-ctl [--admin URL] [--config FILE | --token-file FILE] COMMAND [ARGS]\n"
          "\n"
          "Talks to the admin listener of lienthong-gateway.\n"
          "\n"
          "Commands:\n"
          "  status [--json]                   every national system, the cache, payments and\n"
          "                                    certificates, as /status shows them (--json: /status.json)\n"
          "  reload                            re-read the configuration; apply what can change live\n"
          "                                    and list what needs a restart\n"
          "  drain                             /readyz answers 503 so a load balancer moves traffic away,\n"
          "                                    while every request in flight (or still sent) is served\n"
          "  undrain                           /readyz answers as the gateway's state says again\n"
          "  purge IDENTIFIER [--system NAME]  remove every cached entry about one identifier\n"
          "  outbox list [--dead|--pending] [--json]\n"
          "                                    payment webhook events (default: pending and dead)\n"
          "  outbox redrive EVENT_ID           send a dead-lettered event again\n"
          "  dossiers list [--dead|--pending] [--json]\n"
          "                                    dossier records for the national public-service portal:\n"
          "                                    dead letters (refused by the portal, with its message) and\n"
          "                                    records waiting (default: both)\n"
          "  dossiers redrive RECORD_ID        send a refused record again, once fixed; RECORD_ID is\n"
          "                                    <dossier_id>:v<version> (a snapshot) or <dossier_id>:s<seq> (a step)\n"
          "\n"
          "Options:\n"
          "  --admin URL        the admin listener (default: listeners.admin.bind of --config,\n"
          "                     else $LIENTHONG_ADMIN, else http://127.0.0.1:9090)\n"
          "  --token-file FILE  the admin token, sent as Authorization: Bearer with every change\n"
          "                     (reload, drain, undrain, purge, redrive). Default: listeners.admin.token_file\n"
          "                     of --config, else $LIENTHONG_ADMIN_TOKEN_FILE. status and outbox list\n"
          "                     need no token.\n"
          "  --config FILE      the gateway's configuration (e.g. /etc/lienthong/gateway.json), read for\n"
          "                     the two defaults above\n"
          "  --timeout MS       give up after this long (default 5000)\n"
          "  -h, --help         this text\n"
          "  -V, --version      the version\n"
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

/* RFC 6750's b64token: what fits in the header as it is (and never a line break that would start another). */
static bool is_b64token(const char *s, size_t n)
{
    size_t i = 0;
    while (i < n && (isalnum((unsigned char)s[i]) || strchr("-._~+/", s[i]) != NULL))
        i++;
    while (i > 0 && i < n && s[i] == '=')
        i++;
    return i > 0 && i == n;
}

/* "Authorization: Bearer <the file's token>" into header; -1 with a message when the file cannot be used. */
static int token_header(const char *path, char *header, size_t cap)
{
    char buf[TOKEN_MAX + 64];
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        fprintf(stderr, "lienthong-ctl: cannot read the admin token file %s: %s\n", path, strerror(errno));
        return -1;
    }
    size_t n = fread(buf, 1, sizeof(buf), f);
    fclose(f);
    size_t start = 0;
    while (start < n && isspace((unsigned char)buf[start]))
        start++;
    while (n > start && isspace((unsigned char)buf[n - 1]))
        n--;
    int rc = 0;
    if (n == sizeof(buf) || n - start > TOKEN_MAX || !is_b64token(buf + start, n - start)) {
        fprintf(stderr, "lienthong-ctl: the admin token file %s must hold one token (A-Z a-z 0-9 - . _ ~ + /)\n", path);
        rc = -1;
    } else {
        snprintf(header, cap, "Authorization: Bearer %.*s", (int)(n - start), buf + start);
    }
    explicit_bzero(buf, sizeof(buf));
    return rc;
}

/* One request to the admin listener. Returns 0 with r filled, or -1 (message printed) when it cannot be reached. */
static int request(const ctl_t *ctl, const char *method, const char *path, const char *body, reply_t *r)
{
    memset(r, 0, sizeof(*r));
    char authorization[TOKEN_MAX + 64] = "";
    if (strcmp(method, "POST") == 0 && ctl->token_file != NULL &&
        token_header(ctl->token_file, authorization, sizeof(authorization)) != 0)
        return -1;
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
        if (authorization[0] != '\0')
            headers = curl_slist_append(headers, authorization);
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
    explicit_bzero(authorization, sizeof(authorization));
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
    if (r->status == 401)
        fprintf(stderr, "lienthong-ctl: changes need the admin token: --token-file FILE, --config FILE (its "
                        "listeners.admin.token_file) or $LIENTHONG_ADMIN_TOKEN_FILE\n");
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

/* "5 min ago" from an age in seconds; "never" for null. */
static void ago(const json_t *seconds, char out[32])
{
    if (json_is_integer(seconds))
        lt_date_ago((long long)json_integer_value(seconds), out);
    else
        snprintf(out, 32, "never");
}

/* Which instance answered, since when, its last reload, the zone of every time shown; and a drained instance. */
static void print_instance(const json_t *inst)
{
    if (!json_is_object(inst))
        return;
    char up[32], reloaded[32];
    lt_date_duration(num(inst, "uptime_s"), up);
    const json_t *reload = json_object_get(inst, "last_reload");
    ago(json_object_get(reload, "ago_s"), reloaded);
    printf("instance %s, up %s (since %s), last reload %s%s%s, times in %s\n", str(inst, "name"), up,
           str(inst, "started_at"), reloaded,
           json_is_object(reload) && num(reload, "status") != 200 ? " (refused)" : "",
           json_is_object(reload) ? "" : " since start", str(inst, "time_zone"));
    if (json_is_true(json_object_get(inst, "drained")))
        printf("DRAINED: /readyz answers 503, requests are still served (lienthong-ctl undrain to take traffic)\n");
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
    char success[32];
    ago(json_object_get(sys, "last_success_ago_s"), success);
    printf("%-12s %s%-6s%s %-20s %-10s %-13s %-11s %-11s %-9s %s\n", str(sys, "name"), paint(ctl, state), state,
           reset(ctl), json_is_true(json_object_get(probe, "enabled")) ? str(probe, "summary") : "off",
           str(json_object_get(sys, "circuit"), "state"), success, latency, calls, certs, token);
    printf("  %s\n", str(sys, "reason"));
    const json_t *err = json_object_get(sys, "last_error");
    char when[32];
    if (json_is_object(err))
        printf("  last error %s (%s) %s: %s%s\n", str(err, "at"), (ago(json_object_get(err, "ago_s"), when), when),
               str(err, "code"), str(err, "detail"), json_is_true(json_object_get(err, "probe")) ? " (probe)" : "");
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
    const json_t *webhook = json_object_get(pay, "webhook"), *last = json_object_get(webhook, "last_error");
    if (last != NULL)
        printf("  webhook %s, last error %s: %s\n",
               json_is_true(json_object_get(webhook, "failing")) ? "FAILING" : "ok", str(last, "at"),
               str(last, "detail"));
}

/* "2/3 (66.7 %)" as the status card writes it; "0/0" without a denominator. */
static void print_rate(const char *title, const json_t *fig, const char *part, const char *whole, const char *ratio)
{
    const json_t *r = json_object_get(fig, ratio);
    printf("%s %lld/%lld", title, num(fig, part), num(fig, whole));
    if (json_is_number(r))
        printf(" (%.1f %%)", json_number_value(r) * 100);
}

static void print_figures(const char *label, const json_t *fig)
{
    printf("  %s: dossiers %lld, ", label, num(fig, "dossiers"));
    print_rate("on time", fig, "finished_on_time", "finished_with_due", "on_time_rate");
    print_rate(", online", fig, "online", "dossiers", "online_rate");
    print_rate(", paid online", fig, "paid_online", "with_fees", "online_payment_rate");
    printf(", overdue now %lld\n", num(fig, "overdue"));
}

/* The province's indicators: the total, then each procedure and unit the gateway names (the rest is "other"). */
static void print_indicators(const json_t *ind)
{
    if (!json_is_object(ind))
        return;
    printf("  indicators%s\n", json_is_true(json_object_get(ind, "ready")) ? "" : " (being rebuilt from the store)");
    print_figures("total", json_object_get(ind, "total"));
    static const char *const dims[][3] = {{"by_procedure", "procedure", "procedure "}, {"by_unit", "unit", "unit "}};
    for (int d = 0; d < 2; d++) {
        size_t i;
        const json_t *row;
        json_array_foreach(json_object_get(ind, dims[d][0]), i, row)
        {
            char label[160];
            snprintf(label, sizeof(label), "%s%s", dims[d][2], str(row, dims[d][1]));
            print_figures(label, row);
        }
    }
}

/* Where the buckets are, whether Redis answers, and how many requests they refused. */
static void print_rate_limits(const json_t *doc)
{
    const json_t *rl = json_object_get(doc, "rate_limits");
    if (!json_is_true(json_object_get(rl, "configured"))) {
        printf("rate limits  none configured\n");
        return;
    }
    printf("rate limits  %-6s %s buckets, %s, %lld refused, %lld decided locally while Redis was away\n",
           str(rl, "color"), str(rl, "backend"), str(rl, "state"), num(rl, "limited"), num(rl, "fallback_decisions"));
}

static void print_dossiers(const json_t *doc)
{
    const json_t *dos = json_object_get(doc, "dossiers");
    if (!json_is_true(json_object_get(dos, "configured"))) {
        printf("dossiers     not configured\n");
        return;
    }
    const json_t *outbox = json_object_get(dos, "outbox");
    printf("dossiers     %-6s %s store%s, %lld dossiers, waiting %lld snapshots and %lld steps, dead letters %lld\n",
           str(dos, "color"), str(dos, "backend"),
           json_is_false(json_object_get(dos, "store_ok")) ? " UNAVAILABLE" : "", num(dos, "dossiers"),
           num(outbox, "snapshots_pending"), num(outbox, "steps_pending"), num(outbox, "dead_letters"));
    if (json_object_get(dos, "reason") != NULL)
        printf("  %s\n", str(dos, "reason"));
    print_indicators(json_object_get(dos, "indicators"));
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
        printf("Liên Thông %s: %s%s%s: %s\nupdated %s, figures over the last %lld s\n", str(doc, "version"),
               paint(ctl, state), state, reset(ctl), str(doc, "reason"), str(doc, "generated_at"),
               num(doc, "window_s"));
        print_instance(json_object_get(doc, "instance"));
        printf("\n%-12s %-6s %-20s %-10s %-13s %-11s %-11s %-9s %s\n", "SYSTEM", "STATE", "PROBE", "CIRCUIT",
               "LAST SUCCESS", "P50/P95 ms", "CALLS/ERR", "CERT DAYS", "TOKEN");
        size_t i;
        const json_t *sys;
        json_array_foreach(json_object_get(doc, "systems"), i, sys) print_system(ctl, sys);
        print_cache_and_payments(doc);
        print_rate_limits(doc);
        print_dossiers(doc);
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

/* drain / undrain: the load balancer's health check (/readyz) turns 503 or back; serving goes on either way. */
static int cmd_drain(const ctl_t *ctl, bool drained)
{
    reply_t r;
    if (request(ctl, "POST", drained ? "/drain" : "/undrain", "", &r) != 0)
        return EXIT_FAIL;
    json_t *doc = reply_json(&r);
    int rc = EXIT_OK;
    if (r.status != 200)
        rc = report_failure(&r, drained ? "drain" : "undrain");
    else if (ctl->json)
        fwrite(r.body, 1, r.len, stdout);
    else if (drained)
        printf("drained%s: /readyz answers 503, so the load balancer sends new connections elsewhere; requests in "
               "flight, and any still sent here, are served. `lienthong-ctl undrain` takes traffic again.\n",
               json_is_true(json_object_get(doc, "changed")) ? "" : " (it already was)");
    else
        printf("undrained%s: /readyz answers as the gateway's state says.\n",
               json_is_true(json_object_get(doc, "changed")) ? "" : " (it was not drained)");
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

/* ---- the outboxes: payment webhook events and dossier records ----------------------------------------------- */

/* One module's outbox as an operator lists it and re-drives a dead letter: the same two calls and answers. */
typedef struct {
    const char *module;  /* its admin prefix /<module>/outbox; off, it answers 404 <module>_not_configured */
    const char *off;     /* what to say when it is off */
    const char *list;    /* the command's name in failure messages: "outbox list" */
    const char *redrive; /* "outbox redrive" */
    const char *items;   /* the list's array in the answer */
    void (*print_header)(void);
    void (*print_item)(const json_t *item);
    void (*print_redriven)(const json_t *item);
} outbox_t;

static void event_header(void)
{
    printf("%-36s %-16s %-10s %8s  %-20s %s\n", "EVENT", "EVENT TYPE", "STATE", "ATTEMPTS", "NEXT ATTEMPT",
           "LAST ERROR");
}

static void event_row(const json_t *e)
{
    printf("%-36s %-16s %-10s %8lld  %-20s %s\n", str(e, "event_id"), str(e, "event"), str(e, "state"),
           num(e, "attempts"), str(e, "next_attempt_at"), str(e, "last_error"));
}

static void event_redriven(const json_t *e)
{
    printf("event %s is %s again: it will be delivered on the next round\n", str(e, "event_id"), str(e, "state"));
}

static void record_header(void)
{
    printf("%-40s %-8s %-8s %-26s %s\n", "RECORD", "KIND", "STATE", "SINCE", "PORTAL'S MESSAGE");
}

static void record_row(const json_t *rec)
{
    bool dead = strcmp(str(rec, "state"), "dead") == 0;
    printf("%-40s %-8s %-8s %-26s %s\n", str(rec, "id"), str(rec, "kind"), str(rec, "state"),
           dead ? str(rec, "dead_at") : str(rec, "accepted_at"), dead ? str(rec, "error") : "");
}

static void record_redriven(const json_t *rec)
{
    printf("%s is %s again: it goes to the portal with the next call\n", str(rec, "id"), str(rec, "state"));
}

static const outbox_t payment_events = {"payments",    "payments are not configured on this gateway: it has no outbox",
                                        "outbox list", "outbox redrive",
                                        "events",      event_header,
                                        event_row,     event_redriven};
static const outbox_t dossier_records = {
    "dossiers",      "dossiers are not configured on this gateway: it has no dossier outbox",
    "dossiers list", "dossiers redrive",
    "records",       record_header,
    record_row,      record_redriven};

static int outbox_failure(const outbox_t *ob, const reply_t *r, const char *what)
{
    json_t *doc = reply_json(r);
    const char *type = json_string_value(json_object_get(doc, "type"));
    char off[64];
    snprintf(off, sizeof(off), "%s_not_configured", ob->module);
    int rc;
    if (r->status == 404 && type != NULL && strstr(type, off) != NULL) {
        fprintf(stderr, "lienthong-ctl: %s\n", ob->off);
        rc = EXIT_FAIL;
    } else {
        rc = report_failure(r, what);
    }
    json_decref(doc);
    return rc;
}

static int cmd_outbox_list(const ctl_t *ctl, const outbox_t *ob, const char *state)
{
    char path[64];
    snprintf(path, sizeof(path), "/%s/outbox?state=%s", ob->module, state);
    reply_t r;
    if (request(ctl, "GET", path, NULL, &r) != 0)
        return EXIT_FAIL;
    int rc = EXIT_OK;
    json_t *doc = r.status == 200 ? reply_json(&r) : NULL;
    if (doc == NULL) {
        rc = outbox_failure(ob, &r, ob->list);
    } else if (ctl->json) {
        fwrite(r.body, 1, r.len, stdout);
    } else {
        ob->print_header();
        size_t i;
        const json_t *item;
        json_array_foreach(json_object_get(doc, ob->items), i, item) ob->print_item(item);
    }
    json_decref(doc);
    free(r.body);
    return rc;
}

static int cmd_outbox_redrive(const ctl_t *ctl, const outbox_t *ob, const char *id)
{
    char *escaped = curl_easy_escape(NULL, id, 0);
    char path[512];
    snprintf(path, sizeof(path), "/%s/outbox/%s/redrive", ob->module, escaped);
    curl_free(escaped);
    reply_t r;
    if (request(ctl, "POST", path, "", &r) != 0)
        return EXIT_FAIL;
    int rc = EXIT_OK;
    json_t *doc = r.status == 200 ? reply_json(&r) : NULL;
    if (doc == NULL)
        rc = outbox_failure(ob, &r, ob->redrive);
    else if (ctl->json)
        fwrite(r.body, 1, r.len, stdout);
    else
        ob->print_redriven(doc);
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
    if ((strcmp(cmd, "drain") == 0 || strcmp(cmd, "undrain") == 0) && argc == 1)
        return cmd_drain(ctl, strcmp(cmd, "drain") == 0);
    if (strcmp(cmd, "purge") == 0 && argc == 2)
        return cmd_purge(ctl, argv[1], f->system);
    const outbox_t *ob = strcmp(cmd, "outbox") == 0     ? &payment_events
                         : strcmp(cmd, "dossiers") == 0 ? &dossier_records
                                                        : NULL;
    if (ob != NULL && argc == 2 && strcmp(argv[1], "list") == 0 && !(f->dead && f->pending))
        return cmd_outbox_list(ctl, ob, f->dead ? "dead" : f->pending ? "pending" : "all");
    if (ob != NULL && argc == 3 && strcmp(argv[1], "redrive") == 0)
        return cmd_outbox_redrive(ctl, ob, argv[2]);
    usage(stderr);
    return EXIT_USAGE;
}

/* The defaults that the gateway's own configuration gives: its admin address and its token file. */
typedef struct {
    char admin[300];
    char token_file[4096];
} from_config_t;

static int read_config(const char *path, from_config_t *out)
{
    json_error_t jerr;
    json_t *root = json_load_file(path, 0, &jerr);
    if (root == NULL) {
        fprintf(stderr, "lienthong-ctl: cannot read the configuration %s: %s\n", path, jerr.text);
        return -1;
    }
    const json_t *admin = json_object_get(json_object_get(root, "listeners"), "admin");
    const char *bind = json_string_value(json_object_get(admin, "bind"));
    const char *token = json_string_value(json_object_get(admin, "token_file"));
    snprintf(out->admin, sizeof(out->admin), "http://%s", bind ? bind : "127.0.0.1:9090");
    if (token != NULL && token[0] != '/') { /* relative to the configuration's directory, as the gateway reads it */
        char *copy = strdup(path);
        snprintf(out->token_file, sizeof(out->token_file), "%s/%s", dirname(copy), token);
        free(copy);
    } else if (token != NULL) {
        snprintf(out->token_file, sizeof(out->token_file), "%s", token);
    }
    json_decref(root);
    return 0;
}

static const char *first_set(const char *a, const char *b, const char *c)
{
    if (a != NULL && *a != '\0')
        return a;
    if (b != NULL && *b != '\0')
        return b;
    return c != NULL && *c != '\0' ? c : NULL;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {{"admin", required_argument, NULL, 'a'},
                                         {"json", no_argument, NULL, 'j'},
                                         {"dead", no_argument, NULL, 'd'},
                                         {"pending", no_argument, NULL, 'p'},
                                         {"system", required_argument, NULL, 's'},
                                         {"timeout", required_argument, NULL, 't'},
                                         {"token-file", required_argument, NULL, 'k'},
                                         {"config", required_argument, NULL, 'c'},
                                         {"help", no_argument, NULL, 'h'},
                                         {"version", no_argument, NULL, 'V'},
                                         {NULL, 0, NULL, 0}};
    ctl_t ctl = {.color = isatty(1), .timeout_ms = 5000};
    const char *admin = NULL, *token_file = NULL, *config = NULL;
    flags_t f = {0};
    int opt;
    while ((opt = getopt_long(argc, argv, "hV", opts, NULL)) != -1) {
        switch (opt) {
        case 'a':
            admin = optarg;
            break;
        case 'k':
            token_file = optarg;
            break;
        case 'c':
            config = optarg;
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
    /* The command line first, then the gateway's configuration, then the environment. */
    from_config_t fc = {0};
    if (config != NULL && read_config(config, &fc) != 0)
        return EXIT_FAIL;
    ctl.admin = first_set(admin, fc.admin, getenv("LIENTHONG_ADMIN"));
    if (ctl.admin == NULL)
        ctl.admin = "http://127.0.0.1:9090";
    ctl.token_file = first_set(token_file, fc.token_file, getenv("LIENTHONG_ADMIN_TOKEN_FILE"));
    curl_global_init(CURL_GLOBAL_DEFAULT);
    int rc = dispatch(&ctl, &f, argc - optind, argv + optind);
    curl_global_cleanup();
    return rc;
}
