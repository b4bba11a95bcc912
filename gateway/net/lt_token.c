/* Process-wide bearer tokens with single-flight fetches and a client-side rate limit. */
#include "lt_token.h"

#include <stdlib.h>
#include <string.h>

struct lt_token_waiters {
    lt_token_store_t *store;
    struct event *wake_ev; /* activated from any thread when a fetch ends */
    lt_token_wait_t *head;
};

void lt_token_store_init(lt_token_store_t *s, int rate_limit, int64_t rate_window_ms, int64_t refresh_margin_ms)
{
    memset(s, 0, sizeof(*s));
    pthread_mutex_init(&s->lock, NULL);
    s->rate_limit = rate_limit > LT_TOKEN_RATE_SLOTS ? LT_TOKEN_RATE_SLOTS : rate_limit;
    s->rate_window_ms = rate_window_ms;
    s->refresh_margin_ms = refresh_margin_ms;
}

void lt_token_store_destroy(lt_token_store_t *s)
{
    pthread_mutex_destroy(&s->lock);
}

/* Fetch times inside the window; returns ms until a slot frees, or 0 when one is free. */
static int64_t rate_wait_ms(lt_token_store_t *s, int64_t now_ms)
{
    if (s->rate_limit <= 0)
        return 0;
    int kept = 0;
    for (int i = 0; i < s->nfetch_times; i++)
        if (now_ms - s->fetch_times[i] < s->rate_window_ms)
            s->fetch_times[kept++] = s->fetch_times[i];
    s->nfetch_times = kept;
    if (kept < s->rate_limit)
        return 0;
    return s->rate_window_ms - (now_ms - s->fetch_times[0]);
}

lt_token_verdict_t lt_token_acquire(lt_token_store_t *s, int64_t now_ms, const char *rejected, uint64_t *ticket,
                                    char *token, size_t tokenlen, lt_error_t *err)
{
    lt_token_verdict_t v;
    pthread_mutex_lock(&s->lock);
    uint64_t waited_for = *ticket;
    *ticket = 0;
    /* Only the token that was refused is dropped: a newer one fetched meanwhile stays. */
    if (rejected != NULL && s->expires_at_ms != 0 && strcmp(rejected, s->token) == 0)
        s->expires_at_ms = 0;
    if (s->expires_at_ms != 0 && now_ms < s->expires_at_ms - s->refresh_margin_ms) {
        snprintf(token, tokenlen, "%s", s->token);
        v = LT_TOKEN_READY;
    } else if (s->last_error.kind != LT_ERR_NONE && !s->fetching &&
               ((waited_for != 0 && s->generation >= waited_for) ||
                now_ms - s->failed_at_ms < LT_TOKEN_FAILURE_HOLD_MS)) {
        /* The fetch this caller waited for, or one a moment ago, failed: share its error rather than fetch again. */
        *err = s->last_error;
        v = LT_TOKEN_FAILED;
    } else if (s->fetching) {
        *ticket = s->generation + 1; /* the outcome of the fetch under way */
        v = LT_TOKEN_WAIT;
    } else {
        int64_t wait = rate_wait_ms(s, now_ms);
        if (wait > 0 && s->expires_at_ms != 0 && now_ms < s->expires_at_ms) {
            /* Inside the refresh margin but rate-limited: the current token is still good. */
            snprintf(token, tokenlen, "%s", s->token);
            v = LT_TOKEN_READY;
        } else if (wait > 0) {
            lt_error_set(err, LT_ERR_UPSTREAM_UNAVAILABLE, "token_rate_limit",
                         "the token endpoint's rate limit is reached; no token for %lld ms", (long long)wait);
            err->retry_after_s = (int)((wait + 999) / 1000);
            v = LT_TOKEN_LIMIT;
        } else {
            s->fetching = true;
            /* Only a limited store keeps fetch times (rate_wait_ms prunes them to below rate_limit <= slots). */
            if (s->rate_limit > 0)
                s->fetch_times[s->nfetch_times++] = now_ms;
            s->fetches++;
            v = LT_TOKEN_FETCH;
        }
    }
    pthread_mutex_unlock(&s->lock);
    return v;
}

/* Called with the lock held: wake every worker; each re-acquires on its own loop. */
static void wake_all(lt_token_store_t *s)
{
    s->generation++;
    for (int i = 0; i < s->nworkers; i++)
        event_active(s->workers[i]->wake_ev, EV_READ, 0);
}

void lt_token_fetched(lt_token_store_t *s, const char *token, long expires_in_s, int64_t started_ms)
{
    pthread_mutex_lock(&s->lock);
    snprintf(s->token, sizeof(s->token), "%s", token);
    s->expires_at_ms = started_ms + (int64_t)expires_in_s * 1000;
    s->fetching = false;
    lt_error_clear(&s->last_error);
    wake_all(s);
    pthread_mutex_unlock(&s->lock);
}

void lt_token_fetch_failed(lt_token_store_t *s, const lt_error_t *err, int64_t now_ms)
{
    pthread_mutex_lock(&s->lock);
    s->fetching = false;
    s->last_error = *err;
    s->failed_at_ms = now_ms;
    wake_all(s);
    pthread_mutex_unlock(&s->lock);
}

void lt_token_fetch_abandoned(lt_token_store_t *s)
{
    pthread_mutex_lock(&s->lock);
    s->fetching = false;
    lt_error_clear(&s->last_error); /* nothing failed: waiters must retry, not inherit an old error */
    wake_all(s);
    pthread_mutex_unlock(&s->lock);
}

int64_t lt_token_remaining_ms(lt_token_store_t *s, int64_t now_ms)
{
    pthread_mutex_lock(&s->lock);
    int64_t left = s->expires_at_ms ? s->expires_at_ms - now_ms : 0;
    pthread_mutex_unlock(&s->lock);
    return left;
}

uint64_t lt_token_fetch_count(lt_token_store_t *s)
{
    pthread_mutex_lock(&s->lock);
    uint64_t n = s->fetches;
    pthread_mutex_unlock(&s->lock);
    return n;
}

/* ---- per worker --------------------------------------------------------- */

static void on_wake(evutil_socket_t fd, short what, void *arg)
{
    lt_token_waiters_t *ws = arg;
    /* Detach the whole list first: a woken waiter may wait again (e.g. the fetch failed and it fetches now). */
    lt_token_wait_t *w = ws->head;
    ws->head = NULL;
    while (w != NULL) {
        lt_token_wait_t *next = w->next;
        w->prev = w->next = NULL;
        w->wake(w);
        w = next;
    }
}

lt_token_waiters_t *lt_token_waiters_new(lt_token_store_t *s, struct event_base *base)
{
    lt_token_waiters_t *ws = calloc(1, sizeof(*ws));
    ws->store = s;
    ws->wake_ev = event_new(base, -1, 0, on_wake, ws);
    pthread_mutex_lock(&s->lock);
    if (s->nworkers < LT_TOKEN_MAX_WORKERS)
        s->workers[s->nworkers++] = ws;
    pthread_mutex_unlock(&s->lock);
    return ws;
}

void lt_token_waiters_free(lt_token_waiters_t *ws)
{
    if (ws == NULL)
        return;
    lt_token_store_t *s = ws->store;
    pthread_mutex_lock(&s->lock);
    for (int i = 0; i < s->nworkers; i++)
        if (s->workers[i] == ws) {
            s->workers[i] = s->workers[--s->nworkers];
            break;
        }
    pthread_mutex_unlock(&s->lock);
    event_free(ws->wake_ev);
    free(ws);
}

void lt_token_wait_add(lt_token_waiters_t *ws, lt_token_wait_t *w)
{
    w->prev = NULL;
    w->next = ws->head;
    if (ws->head != NULL)
        ws->head->prev = w;
    ws->head = w;
}

void lt_token_wait_cancel(lt_token_waiters_t *ws, lt_token_wait_t *w)
{
    if (w->prev != NULL)
        w->prev->next = w->next;
    else if (ws->head == w)
        ws->head = w->next;
    if (w->next != NULL)
        w->next->prev = w->prev;
    w->prev = w->next = NULL;
}
