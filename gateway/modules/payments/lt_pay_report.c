/* Handing paid payments over to their dossiers' fee lists, until kept (lt_pay_report.h). */
#include "lt_pay_report.h"

#include <stdlib.h>
#include <string.h>

#include "lt_log.h"

#define REPORT_BATCH 50

typedef struct report report_t;

struct lt_pay_reporter {
    lt_pay_service_t *svc;
    lt_pay_conn_t *conn;
    const lt_module_t *taker;
    void *taker_state;
    struct event *poll_timer;
    bool asking;       /* a fee_pending call, or its batch, is under way: one at a time */
    size_t inflight;   /* the batch's reports not finished */
    bool full;         /* the batch was full: ask again at once */
    report_t *reports; /* the batch's, until each is finished: freed with the reporter otherwise */
};

struct report {
    lt_pay_reporter_t *rep;
    char payment_id[LT_PAY_ID_MAX + 1];
    report_t *prev, *next;
};

static void schedule(lt_pay_reporter_t *rep, long long ms)
{
    struct timeval tv = {.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000};
    evtimer_add(rep->poll_timer, &tv);
}

static void batch_over(lt_pay_reporter_t *rep)
{
    rep->asking = false;
    schedule(rep, rep->full ? 0 : rep->svc->conf->webhook.poll_ms);
}

static void report_finish(report_t *r)
{
    lt_pay_reporter_t *rep = r->rep;
    if (r->prev)
        r->prev->next = r->next;
    else
        rep->reports = r->next;
    if (r->next)
        r->next->prev = r->prev;
    free(r);
    if (--rep->inflight == 0)
        batch_over(rep);
}

static void on_cleared(void *arg, const lt_pay_result_t *res)
{
    report_t *r = arg;
    if (res->outcome != LT_PAY_OK) {
        lt_log_warn("payments: payment %s: its dossier kept it, but the store did not record that (%s); it is "
                    "handed over again, which adds nothing",
                    r->payment_id, res->detail);
        r->rep->full = false; /* not at once: the store is in trouble */
    }
    report_finish(r);
}

static void on_taken(void *arg, bool kept)
{
    report_t *r = arg;
    if (!kept) {
        r->rep->full = false;
        report_finish(r);
        return;
    }
    lt_pay_fee_reported(r->rep->conn, r->payment_id, on_cleared, r);
}

void lt_pay_final_of(const lt_payment_t *p, char paid_at[32], lt_payment_final_t *out)
{
    int64_t pay_s;
    paid_at[0] = '\0';
    if (p->state == LT_PAY_PAID && lt_pay_parse_vn_time(p->pay_date, &pay_s) == 0)
        lt_pay_iso_time(pay_s * 1000, paid_at);
    *out = (lt_payment_final_t){.payment_id = p->id,
                                .dossier_id = p->dossier_id,
                                .amount_vnd = p->amount_vnd,
                                .status = lt_pay_state_name(p->state),
                                .description = p->description,
                                .paid_at = paid_at,
                                .bank_code = p->bank_code,
                                .transaction_no = p->transaction_no};
}

static void hand_over(lt_pay_reporter_t *rep, const lt_payment_t *p)
{
    report_t *r = calloc(1, sizeof(*r));
    r->rep = rep;
    memcpy(r->payment_id, p->id, sizeof(r->payment_id));
    r->next = rep->reports;
    if (rep->reports)
        rep->reports->prev = r;
    rep->reports = r;
    rep->inflight++;
    char paid_at[32];
    lt_payment_final_t fin;
    lt_pay_final_of(p, paid_at, &fin);
    rep->taker->take_payment_final(rep->taker_state, &fin, on_taken, r);
}

static void on_pending(void *arg, const lt_pay_list_t *list)
{
    lt_pay_reporter_t *rep = arg;
    if (list->outcome != LT_PAY_OK || list->n == 0) {
        rep->full = false;
        batch_over(rep);
        return;
    }
    rep->full = list->n >= REPORT_BATCH;
    rep->inflight = 1; /* held while the batch is handed over: a taker answers from the loop, never inside */
    for (size_t i = 0; i < list->n; i++)
        hand_over(rep, &list->payments[i]);
    if (--rep->inflight == 0)
        batch_over(rep);
}

static void on_poll(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    lt_pay_reporter_t *rep = arg;
    if (rep->asking)
        return;
    rep->asking = true;
    lt_pay_fee_pending(rep->conn, REPORT_BATCH, on_pending, rep);
}

lt_pay_reporter_t *lt_pay_reporter_new(lt_pay_service_t *svc, struct event_base *base, lt_pay_conn_t *conn,
                                       const lt_module_peers_t *peers)
{
    lt_pay_reporter_t *rep = calloc(1, sizeof(*rep));
    rep->svc = svc;
    rep->conn = conn;
    rep->taker = lt_module_payment_taker(peers, &rep->taker_state);
    rep->poll_timer = evtimer_new(base, on_poll, rep);
    if (rep->taker != NULL) {
        lt_log_info("payments: paid payments are listed in their dossiers' fees by the %s module", rep->taker->name);
        schedule(rep, 0);
    }
    return rep;
}

void lt_pay_reporter_free(lt_pay_reporter_t *rep)
{
    if (rep == NULL)
        return;
    event_free(rep->poll_timer);
    while (rep->reports != NULL) {
        report_t *r = rep->reports;
        rep->reports = r->next;
        free(r);
    }
    free(rep);
}
