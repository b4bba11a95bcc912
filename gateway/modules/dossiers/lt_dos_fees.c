/* Fees the gateway collected itself, listed in their dossiers (lt_dos_fees.h). */
#include "lt_dos_fees.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <event2/event.h>
#include <sys/time.h>

#include "lt_arena.h"
#include "lt_dossier.h"
#include "lt_log.h"
#include "lt_text.h"

#define FEE_NAME_MAX 500 /* a fee's name in a snapshot (lt_dossier.c) */

typedef struct take take_t;

struct lt_dos_fees {
    const lt_dossiers_conf_t *conf;
    struct event_base *base;
    lt_dos_conn_t *conn;
    lt_dos_ind_t *indicators;
    void (*kick)(void *arg);
    void *kick_arg;
    take_t *pending; /* the takes the store has not answered: dropped with the conn */
    bool failing;    /* the store refused the last listing: said once, until one succeeds */
};

struct take {
    lt_dos_fees_t *fees;
    lt_payment_final_done_fn done;
    void *arg;
    char dossier_id[LT_DOS_ID_MAX + 1];
    char *entry;
    struct event *nothing; /* answers a take with nothing to list, from the loop */
    take_t *prev, *next;
};

lt_dos_fees_t *lt_dos_fees_new(const lt_dossiers_conf_t *conf, struct event_base *base, lt_dos_conn_t *conn,
                               lt_dos_ind_t *indicators, void (*kick)(void *arg), void *kick_arg)
{
    lt_dos_fees_t *f = calloc(1, sizeof(*f));
    *f = (lt_dos_fees_t){
        .conf = conf, .base = base, .conn = conn, .indicators = indicators, .kick = kick, .kick_arg = kick_arg};
    return f;
}

static void take_free(take_t *t)
{
    if (t->nothing != NULL)
        event_free(t->nothing);
    free(t->entry);
    free(t);
}

void lt_dos_fees_free(lt_dos_fees_t *f)
{
    if (f == NULL)
        return;
    while (f->pending != NULL) {
        take_t *t = f->pending;
        f->pending = t->next;
        take_free(t);
    }
    free(f);
}

static void set_code(json_t *obj, const char *key, const char *value)
{
    if (value != NULL && value[0] != '\0')
        json_object_set_new(obj, key, json_string(value));
}

json_t *lt_dos_fee_of_payment(const lt_dossiers_conf_t *conf, const lt_payment_final_t *p)
{
    if (p->status == NULL || strcmp(p->status, "paid") != 0 || !lt_dos_id_is_valid(p->dossier_id) ||
        p->payment_id == NULL || p->payment_id[0] == '\0')
        return NULL;
    json_t *body = json_object();
    json_object_set_new(body, "amount_vnd", json_integer(p->amount_vnd));
    set_code(body, "collection_method_code", conf->payment_fees.collection_method_code);
    set_code(body, "code", conf->payment_fees.code);
    set_code(body, "type_code", conf->payment_fees.type_code);
    json_t *fee = NULL;
    lt_error_t err;
    /* The fee's name is what the citizen paid for; one the fee fields refuse (a control character) is left out. */
    if (p->description != NULL && p->description[0] != '\0') {
        lt_arena_t *a = lt_arena_new();
        json_t *named = json_deep_copy(body);
        json_object_set_new(named, "name", json_string(lt_text_truncate_utf8(a, p->description, FEE_NAME_MAX)));
        lt_arena_destroy(a);
        lt_dos_fee_read(named, &fee, &err);
        json_decref(named);
    }
    if (fee == NULL)
        lt_dos_fee_read(body, &fee, &err);
    json_decref(body);
    return fee;
}

static void unlink_take(take_t *t)
{
    if (t->prev)
        t->prev->next = t->next;
    else
        t->fees->pending = t->next;
    if (t->next)
        t->next->prev = t->prev;
}

static void on_listed(void *arg, const lt_dos_result_t *res)
{
    take_t *t = arg;
    lt_dos_fees_t *f = t->fees;
    unlink_take(t);
    bool kept = res->outcome == LT_DOS_OK || res->outcome == LT_DOS_REPEAT;
    char masked[32];
    if (kept && f->failing) {
        f->failing = false;
        lt_log_info("dossiers: paid fees are listed again");
    }
    if (res->outcome == LT_DOS_OK) {
        size_t n = strlen(t->entry) + 3;
        char *fees = malloc(n);
        snprintf(fees, n, "[%s]", t->entry);
        lt_dos_ind_note_fees(f->indicators, t->dossier_id, fees);
        free(fees);
        lt_log_info("dossiers: dossier %s: a paid fee listed; its snapshot goes to the portal again",
                    lt_log_mask(t->dossier_id, masked, sizeof(masked)));
        if (f->kick != NULL)
            f->kick(f->kick_arg);
    } else if (!kept && !f->failing) {
        f->failing = true; /* the publisher hands it over again at every poll: said once */
        lt_log_warn("dossiers: dossier %s: a paid fee could not be listed yet (%s); paid fees are handed over again "
                    "until the store takes them",
                    lt_log_mask(t->dossier_id, masked, sizeof(masked)), res->detail);
    }
    t->done(t->arg, kept);
    take_free(t);
}

static void on_nothing(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    take_t *t = arg;
    unlink_take(t);
    t->done(t->arg, true);
    take_free(t);
}

static int64_t wall_ms(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

void lt_dos_fees_take(lt_dos_fees_t *f, const lt_payment_final_t *p, lt_payment_final_done_fn done, void *arg)
{
    take_t *t = calloc(1, sizeof(*t));
    t->fees = f;
    t->done = done;
    t->arg = arg;
    t->next = f->pending;
    if (f->pending)
        f->pending->prev = t;
    f->pending = t;
    json_t *fee = lt_dos_fee_of_payment(f->conf, p);
    if (fee == NULL && p->status != NULL && strcmp(p->status, "paid") == 0)
        lt_log_info("dossiers: payment %s names no dossier id the portal takes: not listed in any dossier's fees",
                    p->payment_id ? p->payment_id : "?");
    if (fee == NULL) {
        /* Not a fee collected (failed, expired) or no dossier to list it in: kept as nothing, answered from the
         * loop, never inside the call. */
        t->nothing = evtimer_new(f->base, on_nothing, t);
        event_active(t->nothing, EV_TIMEOUT, 0);
        return;
    }
    snprintf(t->dossier_id, sizeof(t->dossier_id), "%s", p->dossier_id);
    t->entry = lt_dos_canonical_text(fee);
    json_decref(fee);
    lt_dos_add_fee(f->conn, p->dossier_id, p->payment_id, t->entry, wall_ms(), on_listed, t);
}
