/*
 * What one call of the dossier store answers, whichever backend made it (lt_dos_journal, lt_dos_redis): which of
 * the caller's callbacks it goes to, and the answer it fills. Each backend's operation embeds one, fills it, and
 * hands it over with lt_dos_answer_deliver.
 */
#ifndef LT_DOS_ANSWER_H
#define LT_DOS_ANSWER_H

#include <stddef.h>

#include "lt_dos_store.h"

typedef enum { LT_DOS_ANSWER_DONE, LT_DOS_ANSWER_LIST, LT_DOS_ANSWER_VIEW, LT_DOS_ANSWER_COUNTS } lt_dos_answer_kind_t;

typedef struct lt_dos_answer {
    lt_dos_answer_kind_t kind;
    lt_dos_done_fn done;
    lt_dos_list_fn list_fn;
    lt_dos_view_fn view_fn;
    lt_dos_counts_fn counts_fn;
    void *arg;
    lt_dos_result_t res;
    lt_dos_list_t list;
    lt_dos_view_t view;
    lt_dos_counts_t counts;
    lt_dos_record_t *records; /* the list's or the view's, with their texts (owned) */
    size_t nrecords;
    char *snapshot_text; /* the view's (owned) */
} lt_dos_answer_t;

/* Every part of the answer says the store failed: "<prefix><why>" (prefix "" or "dossier store: "). */
void lt_dos_answer_fail(lt_dos_answer_t *a, const char *prefix, const char *why);

/* Points the list and the view at the records, and calls the callback of the answer's kind. */
void lt_dos_answer_deliver(lt_dos_answer_t *a);

/* Frees what the answer owns (not the answer itself, which is part of its operation). */
void lt_dos_answer_release(lt_dos_answer_t *a);

#endif
