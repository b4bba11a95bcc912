/* The province's own indicators: facts per dossier, summed when read (lt_dos_indicators.h). */
#include "lt_dos_indicators.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "lt_date.h"
#include "lt_map.h"

/* ---- facts and sums (pure) ---------------------------------------------------------------------------- */

static bool among(const char *value, const char *const *codes)
{
    for (size_t i = 0; value != NULL && codes != NULL && codes[i] != NULL; i++)
        if (strcmp(codes[i], value) == 0)
            return true;
    return false;
}

static time_t time_at(const json_t *o, const char *key)
{
    time_t t;
    const char *s = json_string_value(json_object_get(o, key));
    return s != NULL && lt_date_parse_iso8601(s, &t) == 0 ? t : 0;
}

static char *dup_or_null(const char *s)
{
    return s != NULL ? strdup(s) : NULL;
}

int lt_dos_facts_read(const char *text, const lt_dos_ind_conf_t *conf, lt_dos_facts_t *out, char **procedure,
                      char **unit)
{
    memset(out, 0, sizeof(*out));
    *procedure = *unit = NULL;
    json_t *d = text ? json_loads(text, 0, NULL) : NULL;
    if (!json_is_object(d)) {
        json_decref(d);
        return -1;
    }
    out->due = time_at(d, "due_at");
    out->finished = time_at(d, "finished_at");
    const char *status = json_string_value(json_object_get(d, "status"));
    static const char *const finished_statuses[] = {"finished", "result_delivered", NULL};
    static const char *const closing_statuses[] = {"withdrawn", "stopped", "not_received", NULL};
    out->finished_status = among(status, finished_statuses);
    out->closed = out->finished != 0 || out->finished_status || among(status, closing_statuses);
    out->online = among(json_string_value(json_object_get(d, "channel_code")), conf->online_channel_codes);
    const json_t *fees = json_object_get(d, "fees");
    out->has_fees = json_array_size(fees) > 0;
    size_t i;
    const json_t *fee;
    json_array_foreach(fees, i, fee)
    {
        if (among(json_string_value(json_object_get(fee, "collection_method_code")), conf->online_payment_codes))
            out->paid_online = true;
    }
    *procedure = dup_or_null(json_string_value(json_object_get(d, "procedure_code")));
    *unit = dup_or_null(json_string_value(json_object_get(d, "processing_unit")));
    json_decref(d);
    return 0;
}

void lt_dos_figures_add(lt_dos_figures_t *f, const lt_dos_facts_t *x, time_t now)
{
    f->dossiers++;
    if (x->finished != 0 || x->finished_status)
        f->finished++;
    if (x->finished != 0 && x->due != 0) {
        f->finished_with_due++;
        if (x->finished <= x->due)
            f->finished_on_time++;
    }
    if (x->online)
        f->online++;
    if (x->has_fees) {
        f->with_fees++;
        if (x->paid_online)
            f->paid_online++;
    }
    if (!x->closed && x->due != 0 && x->due < now)
        f->overdue++;
}

static void add_sums(lt_dos_figures_t *to, const lt_dos_figures_t *from)
{
    to->dossiers += from->dossiers;
    to->finished += from->finished;
    to->finished_with_due += from->finished_with_due;
    to->finished_on_time += from->finished_on_time;
    to->online += from->online;
    to->with_fees += from->with_fees;
    to->paid_online += from->paid_online;
    to->overdue += from->overdue;
}

static json_t *rate(long long part, long long whole)
{
    return whole > 0 ? json_real((double)part / (double)whole) : json_null();
}

json_t *lt_dos_figures_json(const lt_dos_figures_t *f)
{
    return json_pack("{s:I, s:I, s:I, s:I, s:o, s:I, s:o, s:I, s:I, s:o, s:I}", "dossiers", (json_int_t)f->dossiers,
                     "finished", (json_int_t)f->finished, "finished_with_due", (json_int_t)f->finished_with_due,
                     "finished_on_time", (json_int_t)f->finished_on_time, "on_time_rate",
                     rate(f->finished_on_time, f->finished_with_due), "online", (json_int_t)f->online, "online_rate",
                     rate(f->online, f->dossiers), "with_fees", (json_int_t)f->with_fees, "paid_online",
                     (json_int_t)f->paid_online, "online_payment_rate", rate(f->paid_online, f->with_fees), "overdue",
                     (json_int_t)f->overdue);
}

/* ---- folding ------------------------------------------------------------------------------------------ */

static int by_size_then_name(const void *a, const void *b)
{
    const lt_dos_group_t *x = *(const lt_dos_group_t *const *)a, *y = *(const lt_dos_group_t *const *)b;
    if (x->figures.dossiers != y->figures.dossiers)
        return x->figures.dossiers > y->figures.dossiers ? -1 : 1;
    return strcmp(x->name, y->name);
}

size_t lt_dos_groups_fold(const lt_dos_group_t *in, size_t n, size_t top, lt_dos_group_t *out)
{
    const lt_dos_group_t **named = calloc(n ? n : 1, sizeof(*named));
    lt_dos_group_t other = {.name = LT_DOS_IND_OTHER}, none = {.name = LT_DOS_IND_NONE};
    size_t nnamed = 0;
    bool any_none = false;
    for (size_t i = 0; i < n; i++) {
        if (in[i].name != NULL) {
            named[nnamed++] = &in[i];
        } else {
            add_sums(&none.figures, &in[i].figures);
            any_none = true;
        }
    }
    qsort(named, nnamed, sizeof(*named), by_size_then_name);
    size_t k = 0;
    for (size_t i = 0; i < nnamed && i < top; i++)
        out[k++] = *named[i];
    for (size_t i = top; i < nnamed; i++)
        add_sums(&other.figures, &named[i]->figures);
    if (nnamed > top)
        out[k++] = other;
    if (any_none)
        out[k++] = none;
    free(named);
    return k;
}

/* ---- the table ---------------------------------------------------------------------------------------- */

typedef struct group {
    char *name;
    lt_dos_figures_t sums; /* scratch, while a read sums */
} group_t;

typedef struct entry {
    long long version; /* 0: only the gateway's fees are known yet, no snapshot: not counted */
    lt_dos_facts_t facts;
    bool gateway_fees, gateway_paid_online; /* fees the gateway collected itself, whatever the snapshot says */
    group_t *procedure, *unit;              /* interned; NULL: none given */
} entry_t;

struct lt_dos_ind {
    pthread_mutex_t mu;
    char **channel_codes, **payment_codes; /* copies, NULL-terminated */
    lt_dos_ind_conf_t conf;
    lt_map_t dossiers;   /* id → entry_t */
    lt_map_t procedures; /* code → group_t */
    lt_map_t units;      /* name → group_t */
    bool ready;
    char *error;
};

static char **copy_codes(const char *const *codes)
{
    size_t n = 0;
    while (codes != NULL && codes[n] != NULL)
        n++;
    char **out = calloc(n + 1, sizeof(*out));
    for (size_t i = 0; i < n; i++)
        out[i] = strdup(codes[i]);
    return out;
}

lt_dos_ind_t *lt_dos_ind_new(const lt_dos_ind_conf_t *conf)
{
    lt_dos_ind_t *ind = calloc(1, sizeof(*ind));
    pthread_mutex_init(&ind->mu, NULL);
    ind->channel_codes = copy_codes(conf->online_channel_codes);
    ind->payment_codes = copy_codes(conf->online_payment_codes);
    ind->conf = *conf;
    ind->conf.online_channel_codes = (const char *const *)ind->channel_codes;
    ind->conf.online_payment_codes = (const char *const *)ind->payment_codes;
    lt_map_init(&ind->dossiers);
    lt_map_init(&ind->procedures);
    lt_map_init(&ind->units);
    return ind;
}

static void free_value(void *ctx, const char *key, void *val)
{
    (void)ctx;
    (void)key;
    free(val);
}

static void free_group(void *ctx, const char *key, void *val)
{
    (void)ctx;
    (void)key;
    group_t *g = val;
    free(g->name);
    free(g);
}

static void free_codes(char **codes)
{
    for (size_t i = 0; codes[i] != NULL; i++)
        free(codes[i]);
    free(codes);
}

void lt_dos_ind_free(lt_dos_ind_t *ind)
{
    if (ind == NULL)
        return;
    lt_map_foreach(&ind->dossiers, free_value, NULL);
    lt_map_foreach(&ind->procedures, free_group, NULL);
    lt_map_foreach(&ind->units, free_group, NULL);
    lt_map_clear(&ind->dossiers);
    lt_map_clear(&ind->procedures);
    lt_map_clear(&ind->units);
    free_codes(ind->channel_codes);
    free_codes(ind->payment_codes);
    free(ind->error);
    pthread_mutex_destroy(&ind->mu);
    free(ind);
}

/* Takes name (malloc'd or NULL): the group of that name, made on first sight. */
static group_t *intern(lt_map_t *groups, char *name)
{
    if (name == NULL)
        return NULL;
    group_t *g = lt_map_get(groups, name);
    if (g == NULL) {
        g = calloc(1, sizeof(*g));
        g->name = name;
        lt_map_put(groups, name, g);
    } else {
        free(name);
    }
    return g;
}

void lt_dos_ind_update(lt_dos_ind_t *ind, const char *id, long long version, const char *text)
{
    lt_dos_facts_t facts;
    char *procedure, *unit;
    if (lt_dos_facts_read(text, &ind->conf, &facts, &procedure, &unit) != 0)
        return; /* the store only holds canonical objects: nothing to count otherwise */
    pthread_mutex_lock(&ind->mu);
    entry_t *e = lt_map_get(&ind->dossiers, id);
    if (e == NULL) {
        e = calloc(1, sizeof(*e));
        lt_map_put(&ind->dossiers, id, e);
    }
    if (version > e->version) {
        e->version = version;
        e->facts = facts;
        e->procedure = intern(&ind->procedures, procedure);
        e->unit = intern(&ind->units, unit);
        procedure = unit = NULL;
    }
    pthread_mutex_unlock(&ind->mu);
    free(procedure);
    free(unit);
}

void lt_dos_ind_note_fees(lt_dos_ind_t *ind, const char *id, const char *fees)
{
    json_t *list = fees != NULL ? json_loads(fees, 0, NULL) : NULL;
    if (json_array_size(list) == 0) {
        json_decref(list);
        return;
    }
    bool online = false;
    size_t i;
    const json_t *fee;
    json_array_foreach(list, i, fee)
    {
        if (among(json_string_value(json_object_get(fee, "collection_method_code")), ind->conf.online_payment_codes))
            online = true;
    }
    json_decref(list);
    pthread_mutex_lock(&ind->mu);
    entry_t *e = lt_map_get(&ind->dossiers, id);
    if (e == NULL) {
        e = calloc(1, sizeof(*e));
        lt_map_put(&ind->dossiers, id, e);
    }
    e->gateway_fees = true;
    e->gateway_paid_online |= online;
    pthread_mutex_unlock(&ind->mu);
}

void lt_dos_ind_set_ready(lt_dos_ind_t *ind, bool ready, const char *error)
{
    pthread_mutex_lock(&ind->mu);
    ind->ready = ready;
    free(ind->error);
    ind->error = error ? strdup(error) : NULL;
    pthread_mutex_unlock(&ind->mu);
}

/* ---- reading: sum every dossier into its groups, then fold ------------------------------------------------ */

typedef struct {
    time_t now;
    lt_dos_figures_t total, no_procedure, no_unit;
} summing_t;

static void reset_group(void *ctx, const char *key, void *val)
{
    (void)ctx;
    (void)key;
    memset(&((group_t *)val)->sums, 0, sizeof(lt_dos_figures_t));
}

static void sum_dossier(void *ctx, const char *key, void *val)
{
    (void)key;
    summing_t *s = ctx;
    const entry_t *e = val;
    if (e->version == 0)
        return;
    lt_dos_facts_t facts = e->facts;
    facts.has_fees |= e->gateway_fees;
    facts.paid_online |= e->gateway_paid_online;
    lt_dos_figures_add(&s->total, &facts, s->now);
    lt_dos_figures_add(e->procedure ? &e->procedure->sums : &s->no_procedure, &facts, s->now);
    lt_dos_figures_add(e->unit ? &e->unit->sums : &s->no_unit, &facts, s->now);
}

typedef struct {
    lt_dos_group_t *groups;
    size_t n;
} gathering_t;

static void gather_group(void *ctx, const char *key, void *val)
{
    (void)key;
    gathering_t *g = ctx;
    const group_t *grp = val;
    if (grp->sums.dossiers > 0) /* a name no dossier carries any more (a later snapshot changed it) */
        g->groups[g->n++] = (lt_dos_group_t){.name = grp->name, .figures = grp->sums};
}

static json_t *folded_json(const lt_map_t *groups, const lt_dos_figures_t *nameless, size_t top, const char *label)
{
    gathering_t g = {.groups = calloc(groups->n + 1, sizeof(lt_dos_group_t))};
    lt_map_foreach(groups, gather_group, &g);
    if (nameless->dossiers > 0)
        g.groups[g.n++] = (lt_dos_group_t){.name = NULL, .figures = *nameless};
    lt_dos_group_t *out = calloc(top + 2, sizeof(*out));
    size_t k = lt_dos_groups_fold(g.groups, g.n, top, out);
    json_t *list = json_array();
    for (size_t i = 0; i < k; i++) {
        json_t *row = lt_dos_figures_json(&out[i].figures);
        json_object_set_new(row, label, json_string(out[i].name));
        json_array_append_new(list, row);
    }
    free(out);
    free(g.groups);
    return list;
}

static json_t *codes_json(char **codes)
{
    json_t *list = json_array();
    for (size_t i = 0; codes[i] != NULL; i++)
        json_array_append_new(list, json_string(codes[i]));
    return list;
}

json_t *lt_dos_ind_json(lt_dos_ind_t *ind, time_t now)
{
    summing_t s = {.now = now};
    pthread_mutex_lock(&ind->mu);
    lt_map_foreach(&ind->procedures, reset_group, NULL);
    lt_map_foreach(&ind->units, reset_group, NULL);
    lt_map_foreach(&ind->dossiers, sum_dossier, &s);
    char as_of[32];
    lt_date_format_iso8601(now, as_of);
    json_t *out = json_pack("{s:b, s:s, s:o, s:o, s:o, s:o, s:o}", "ready", ind->ready, "as_of", as_of,
                            "online_channel_codes", codes_json(ind->channel_codes), "online_payment_codes",
                            codes_json(ind->payment_codes), "total", lt_dos_figures_json(&s.total), "by_procedure",
                            folded_json(&ind->procedures, &s.no_procedure, ind->conf.top_procedures, "procedure"),
                            "by_unit", folded_json(&ind->units, &s.no_unit, ind->conf.top_units, "unit"));
    if (ind->error != NULL)
        json_object_set_new(out, "error", json_string(ind->error));
    pthread_mutex_unlock(&ind->mu);
    return out;
}
