#include "lt_dos_answer.h"

#include <stdio.h>
#include <stdlib.h>

void lt_dos_answer_fail(lt_dos_answer_t *a, const char *prefix, const char *why)
{
    a->res.outcome = a->list.outcome = a->view.outcome = a->counts.outcome = LT_DOS_STORE_ERROR;
    snprintf(a->res.detail, sizeof(a->res.detail), "%s%s", prefix, why);
    snprintf(a->list.detail, sizeof(a->list.detail), "%s%s", prefix, why);
    snprintf(a->view.detail, sizeof(a->view.detail), "%s%s", prefix, why);
    a->list.n = 0;
    a->view.npending = 0;
}

void lt_dos_answer_deliver(lt_dos_answer_t *a)
{
    a->list.records = a->records;
    a->view.pending = a->records;
    a->view.snapshot_text = a->snapshot_text;
    switch (a->kind) {
    case LT_DOS_ANSWER_DONE:
        a->done(a->arg, &a->res);
        break;
    case LT_DOS_ANSWER_LIST:
        a->list_fn(a->arg, &a->list);
        break;
    case LT_DOS_ANSWER_VIEW:
        a->view_fn(a->arg, &a->view);
        break;
    case LT_DOS_ANSWER_COUNTS:
        a->counts_fn(a->arg, &a->counts);
        break;
    }
}

void lt_dos_answer_release(lt_dos_answer_t *a)
{
    for (size_t i = 0; i < a->nrecords; i++) {
        free((char *)a->records[i].text);
        free((char *)a->records[i].fees);
    }
    free(a->records);
    free(a->snapshot_text);
}
