/*
 * The province's own service indicators (dossiers floor), live: what the national portal will publish from the
 * dossiers the gateway syncs (icd/national-portal.md: on-time, online and online-payment rates), and the dossiers
 * overdue now. Definitions and edge cases: docs/operations.md, "Dossier indicators".
 *
 * The table keeps, per dossier, the few facts of its accepted (highest) snapshot; it is fed by every snapshot the
 * store accepts and, at start-up, by a scan of the store, so a restart rebuilds it. A snapshot replaces what the
 * table knew of its dossier only when its version is higher (newest wins, as in the store), so a scan and live
 * PUTs may arrive in any order. The figures are summed when read, against the time of reading: "overdue now"
 * changes with the clock, never with a write.
 *
 * Label bounding: per procedure and per unit, the `top` groups with the most dossiers keep their name, every other
 * group is folded into "other", and dossiers without one are "none": at most top + 2 values per dimension.
 *
 * Thread-safe: workers update it, the main loop reads it (one mutex).
 */
#ifndef LT_DOS_INDICATORS_H
#define LT_DOS_INDICATORS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#define LT_DOS_IND_OTHER "other" /* the groups beyond the top ones */
#define LT_DOS_IND_NONE  "none"  /* dossiers without a procedure code or a processing unit */

typedef struct lt_dos_ind_conf {
    const char *const *online_channel_codes; /* channel_code values that mean "received online"; NULL-terminated */
    const char *const *online_payment_codes; /* fees[].collection_method_code values that mean "paid online" */
    size_t top_procedures, top_units;
} lt_dos_ind_conf_t;

/* The facts of one snapshot the indicators need. */
typedef struct lt_dos_facts {
    time_t due, finished; /* 0: not given */
    bool closed;          /* finished, delivered, withdrawn, stopped or not received: never overdue */
    bool finished_status; /* status finished or result_delivered (with or without finished_at) */
    bool online;          /* channel_code is one of the online channel codes */
    bool has_fees;        /* at least one fee entry */
    bool paid_online;     /* a fee's collection_method_code is one of the online payment codes */
} lt_dos_facts_t;

/* One group's sums (or the total). */
typedef struct lt_dos_figures {
    long long dossiers;
    long long finished;          /* finished_at given, or status finished / result_delivered */
    long long finished_with_due; /* finished_at and due_at both given: the on-time rate's denominator */
    long long finished_on_time;  /* of those, finished_at <= due_at */
    long long online;
    long long with_fees, paid_online;
    long long overdue; /* not closed, due_at before now */
} lt_dos_figures_t;

/* Reads the facts from a snapshot's canonical text; -1 when it is not a JSON object. */
int lt_dos_facts_read(const char *text, const lt_dos_ind_conf_t *conf, lt_dos_facts_t *out, char **procedure,
                      char **unit);
/* Adds one dossier's facts to a group's sums, as of `now`. */
void lt_dos_figures_add(lt_dos_figures_t *f, const lt_dos_facts_t *facts, time_t now);
/* The figures as JSON: the counts and the three rates (null when their denominator is 0). */
json_t *lt_dos_figures_json(const lt_dos_figures_t *f);

/* A named group's sums, as the folding sees them. */
typedef struct lt_dos_group {
    const char *name; /* NULL: dossiers without one */
    lt_dos_figures_t figures;
} lt_dos_group_t;

/*
 * Folds groups (in any order, names distinct) into at most top + 2: the `top` with the most dossiers (ties by
 * name) keep their names, in that order, then "other" (the rest, when any) and "none" (the nameless, when any).
 * out must hold top + 2 entries; returns how many it filled. Its names point into the input or are constants.
 */
size_t lt_dos_groups_fold(const lt_dos_group_t *in, size_t n, size_t top, lt_dos_group_t *out);

typedef struct lt_dos_ind lt_dos_ind_t;

lt_dos_ind_t *lt_dos_ind_new(const lt_dos_ind_conf_t *conf);
void lt_dos_ind_free(lt_dos_ind_t *ind);
/* Dossier id's snapshot at version, as accepted by the store: replaces what the table knew when newer. */
void lt_dos_ind_update(lt_dos_ind_t *ind, const char *id, long long version, const char *text);
/* Fees the gateway collected itself for dossier id (a JSON array text of canonical fees, as the store lists them):
 * the dossier has fees, and is paid online when one's collection_method_code says so, whatever its snapshots say.
 * Kept for a dossier whose snapshot is not here yet, and counted once it is. */
void lt_dos_ind_note_fees(lt_dos_ind_t *ind, const char *id, const char *fees);
/* The start-up scan is complete (or failed: ready stays false and `error` says why). */
void lt_dos_ind_set_ready(lt_dos_ind_t *ind, bool ready, const char *error);
/* {ready, error?, dossiers, online_channel_codes, online_payment_codes, total, by_procedure, by_unit}, as of now. */
json_t *lt_dos_ind_json(lt_dos_ind_t *ind, time_t now);

#endif
