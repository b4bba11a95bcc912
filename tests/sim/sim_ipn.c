/*
 * sim_ipn: IPN deliveries, their retries and duplicates (see sim_ipn.h).
 *
 * Each chain waits on its own evtimer between attempts and owns at most one
 * call at a time. Everything runs on the simulator's loop through sim_fetch,
 * so a chain is touched only from loop callbacks and needs no lock.
 */
#include "sim_ipn.h"
#include "sim_clock.h"

#include <event2/event.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The ICD says "up to 10 times over about 24 hours": nine waits that add up to 23 h 51 min. */
static const long sim_ipn_default_delays_ms[] = {
    60000L, 300000L, 900000L, 1800000L, 3600000L, 7200000L, 14400000L, 21600000L, 36000000L,
};
#define SIM_IPN_DEFAULT_TIMEOUT_MS 5000L /* the ICD: "The merchant must answer within 5 s." */

/* RspCodes after which the gateway stops re-sending (ICD §2 "Delivery"). */
static const char *const sim_ipn_final_codes[] = {"00", "01", "02", "04", "97"};

typedef struct sim_ipn_chain sim_ipn_chain_t;

struct sim_ipn {
    sim_fetcher_t *fetcher;
    const sim_ipn_settings_t *settings;
    const char *ca_file;
    sim_ipn_record_fn record;
    void *ctx;
    sim_ipn_chain_t *chains;
};

struct sim_ipn_chain {
    sim_ipn_t *ipn;
    char *txn_ref;
    char *query;
    char *fixed_url; /* concurrent_urls: this chain's URL; NULL: the next URL in turn at every attempt */
    unsigned id;
    unsigned attempts;      /* sends so far, duplicates included */
    unsigned real_attempts; /* sends before the first accepted answer, at most SIM_IPN_MAX_ATTEMPTS */
    int duplicates_left;
    int duplicating;
    char *url_in_flight;
    long long started_ms;
    sim_fetch_t *call;
    struct event *timer;
    sim_ipn_chain_t *prev, *next;
};

/* ---- settings ---- */

void sim_ipn_settings_default(sim_ipn_settings_t *s)
{
    memset(s, 0, sizeof *s);
    s->n_delays = sizeof sim_ipn_default_delays_ms / sizeof sim_ipn_default_delays_ms[0];
    memcpy(s->delays_ms, sim_ipn_default_delays_ms, sizeof sim_ipn_default_delays_ms);
    s->timeout_ms = SIM_IPN_DEFAULT_TIMEOUT_MS;
}

void sim_ipn_settings_free(sim_ipn_settings_t *s)
{
    for (size_t i = 0; i < s->n_urls; i++)
        free(s->urls[i]);
    s->n_urls = 0;
}

void sim_ipn_settings_copy(sim_ipn_settings_t *dst, const sim_ipn_settings_t *src)
{
    *dst = *src;
    for (size_t i = 0; i < src->n_urls; i++)
        if ((dst->urls[i] = strdup(src->urls[i])) == NULL)
            abort(); /* a test stand-in has no better answer (see sim_buf.h) */
}

int sim_ipn_settings_add_url(sim_ipn_settings_t *s, const char *url)
{
    if (s->n_urls == SIM_IPN_MAX_URLS || (strncmp(url, "https://", 8) != 0 && strncmp(url, "http://", 7) != 0) ||
        strlen(url) > 1024)
        return -1;
    if ((s->urls[s->n_urls] = strdup(url)) == NULL)
        abort();
    s->n_urls++;
    return 0;
}

/* ---- chains ---- */

static void sim_ipn_chain_free(sim_ipn_chain_t *ch)
{
    sim_ipn_t *ipn = ch->ipn;
    if (ch->prev)
        ch->prev->next = ch->next;
    else
        ipn->chains = ch->next;
    if (ch->next)
        ch->next->prev = ch->prev;
    if (ch->call)
        sim_fetch_cancel(ch->call);
    if (ch->timer)
        event_free(ch->timer);
    free(ch->txn_ref);
    free(ch->query);
    free(ch->fixed_url);
    free(ch->url_in_flight);
    free(ch);
}

/* The URL of the next attempt, with the query appended; NULL when no URL is configured any more. */
static char *sim_ipn_next_url(const sim_ipn_chain_t *ch)
{
    const sim_ipn_settings_t *s = ch->ipn->settings;
    const char *base = ch->fixed_url;
    if (base == NULL && s->n_urls == 0)
        return NULL;
    if (base == NULL)
        base = s->urls[ch->attempts % s->n_urls];
    size_t len = strlen(base) + 1 + strlen(ch->query) + 1;
    char *url = malloc(len);
    if (url == NULL)
        abort();
    snprintf(url, len, "%s%c%s", base, strchr(base, '?') ? '&' : '?', ch->query);
    return url;
}

static int sim_ipn_code_is_final(const char *code)
{
    for (size_t i = 0; i < sizeof sim_ipn_final_codes / sizeof sim_ipn_final_codes[0]; i++)
        if (strcmp(code, sim_ipn_final_codes[i]) == 0)
            return 1;
    return 0;
}

/* RspCode and Message of the merchant's JSON answer; both stay "" when the body is not that. */
static void sim_ipn_read_answer(const char *body, size_t len, char *code, size_t codelen, char *msg, size_t msglen)
{
    code[0] = msg[0] = '\0';
    json_t *doc = json_loadb(body, len, 0, NULL);
    const char *c = json_string_value(json_object_get(doc, "RspCode"));
    const char *m = json_string_value(json_object_get(doc, "Message"));
    snprintf(code, codelen, "%s", c ? c : "");
    snprintf(msg, msglen, "%s", m ? m : "");
    json_decref(doc);
}

static void sim_ipn_schedule(sim_ipn_chain_t *ch, long delay_ms);

/* After an attempt: retry, turn to duplicates, or stop (freeing the chain). */
static void sim_ipn_after(sim_ipn_chain_t *ch, int accepted)
{
    const sim_ipn_settings_t *s = ch->ipn->settings;
    if (ch->duplicating) {
        if (--ch->duplicates_left > 0)
            sim_ipn_schedule(ch, 0);
        else
            sim_ipn_chain_free(ch);
    } else if (accepted) {
        ch->duplicates_left = s->duplicates;
        ch->duplicating = s->duplicates > 0;
        if (ch->duplicating)
            sim_ipn_schedule(ch, 0);
        else
            sim_ipn_chain_free(ch);
    } else if (ch->real_attempts >= SIM_IPN_MAX_ATTEMPTS || s->n_delays == 0) {
        sim_ipn_chain_free(ch); /* the gateway gives up; reconciliation (querydr) is the merchant's way out */
    } else {
        size_t k = ch->real_attempts - 1 < s->n_delays ? ch->real_attempts - 1 : s->n_delays - 1;
        sim_ipn_schedule(ch, s->delays_ms[k]);
    }
}

static void sim_ipn_on_answer(void *arg, const sim_fetch_result_t *r)
{
    sim_ipn_chain_t *ch = arg;
    ch->call = NULL;
    char code[8], msg[160];
    sim_ipn_read_answer(r->body, r->body_len, code, sizeof code, msg, sizeof msg);
    int accepted = r->status >= 200 && r->status < 300 && sim_ipn_code_is_final(code);
    sim_ipn_attempt_t a = {
        .chain = ch->id,
        .attempt = ch->attempts,
        .duplicate = ch->duplicating,
        .url = ch->url_in_flight,
        .at_ms = ch->started_ms,
        .duration_ms = r->duration_ms,
        .http_status = r->status,
        .rsp_code = code,
        .message = msg,
        .error = r->error,
        .accepted = accepted,
    };
    ch->ipn->record(ch->ipn->ctx, ch->txn_ref, &a);
    sim_ipn_after(ch, accepted);
}

static void sim_ipn_send(sim_ipn_chain_t *ch)
{
    free(ch->url_in_flight);
    ch->url_in_flight = sim_ipn_next_url(ch);
    if (ch->url_in_flight == NULL) {
        sim_ipn_chain_free(ch); /* every URL was removed while this delivery waited */
        return;
    }
    ch->attempts++;
    if (!ch->duplicating)
        ch->real_attempts++;
    ch->started_ms = sim_clock_now_ms();
    const sim_ipn_settings_t *s = ch->ipn->settings;
    ch->call =
        sim_fetch_get(ch->ipn->fetcher, ch->url_in_flight, ch->ipn->ca_file, s->timeout_ms, sim_ipn_on_answer, ch);
    if (ch->call == NULL) {
        sim_fetch_result_t r = {.body = "", .error = "cannot start the call"};
        sim_ipn_on_answer(ch, &r);
    }
}

static void sim_ipn_on_timer(evutil_socket_t fd, short what, void *arg)
{
    sim_ipn_send(arg);
}

static void sim_ipn_schedule(sim_ipn_chain_t *ch, long delay_ms)
{
    struct timeval tv = {.tv_sec = delay_ms / 1000, .tv_usec = (delay_ms % 1000) * 1000};
    evtimer_add(ch->timer, &tv);
}

static sim_ipn_chain_t *sim_ipn_chain_new(sim_ipn_t *ipn, const char *txn_ref, const char *query, const char *url,
                                          unsigned id)
{
    sim_ipn_chain_t *ch = calloc(1, sizeof *ch);
    if (ch == NULL || (ch->timer = evtimer_new(sim_fetcher_base(ipn->fetcher), sim_ipn_on_timer, ch)) == NULL)
        abort();
    ch->ipn = ipn;
    ch->id = id;
    ch->txn_ref = strdup(txn_ref);
    ch->query = strdup(query);
    ch->fixed_url = url ? strdup(url) : NULL;
    if (ch->txn_ref == NULL || ch->query == NULL || (url && ch->fixed_url == NULL))
        abort();
    ch->next = ipn->chains;
    if (ipn->chains)
        ipn->chains->prev = ch;
    ipn->chains = ch;
    return ch;
}

/* ---- the API ---- */

sim_ipn_t *sim_ipn_new(sim_fetcher_t *fetcher, const sim_ipn_settings_t *settings, const char *ca_file,
                       sim_ipn_record_fn record, void *ctx)
{
    sim_ipn_t *ipn = calloc(1, sizeof *ipn);
    if (ipn == NULL)
        return NULL;
    ipn->fetcher = fetcher;
    ipn->settings = settings;
    ipn->ca_file = ca_file;
    ipn->record = record;
    ipn->ctx = ctx;
    return ipn;
}

void sim_ipn_free(sim_ipn_t *ipn)
{
    if (ipn == NULL)
        return;
    sim_ipn_cancel_all(ipn);
    free(ipn);
}

unsigned sim_ipn_deliver(sim_ipn_t *ipn, const char *txn_ref, const char *query, unsigned first_chain)
{
    const sim_ipn_settings_t *s = ipn->settings;
    if (s->n_urls == 0)
        return 0;
    size_t n = s->concurrent_urls ? s->n_urls : 1;
    sim_ipn_chain_t *started[SIM_IPN_MAX_URLS];
    for (size_t i = 0; i < n; i++)
        started[i] =
            sim_ipn_chain_new(ipn, txn_ref, query, s->concurrent_urls ? s->urls[i] : NULL, first_chain + (unsigned)i);
    /* All first attempts in this loop turn: concurrent deliveries leave together. */
    for (size_t i = 0; i < n; i++)
        sim_ipn_schedule(started[i], 0);
    return (unsigned)n;
}

size_t sim_ipn_active(const sim_ipn_t *ipn, const char *txn_ref)
{
    size_t n = 0;
    for (const sim_ipn_chain_t *ch = ipn->chains; ch; ch = ch->next)
        n += strcmp(ch->txn_ref, txn_ref) == 0;
    return n;
}

void sim_ipn_cancel_all(sim_ipn_t *ipn)
{
    while (ipn->chains)
        sim_ipn_chain_free(ipn->chains);
}
