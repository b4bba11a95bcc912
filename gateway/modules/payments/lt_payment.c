/* The payment record and its outbox event, to and from their stored JSON form (lt_payment.h). */
#include "lt_payment.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>

static const char *const state_names[LT_PAY_NSTATES] = {"pending", "paid", "failed", "expired"};
static const char *const event_state_names[] = {"pending", "delivered", "dead"};

const char *lt_pay_state_name(lt_pay_state_t s)
{
    return (unsigned)s < LT_PAY_NSTATES ? state_names[s] : "unknown";
}

int lt_pay_state_parse(const char *name, lt_pay_state_t *out)
{
    for (int i = 0; name != NULL && i < LT_PAY_NSTATES; i++) {
        if (strcmp(name, state_names[i]) == 0) {
            *out = (lt_pay_state_t)i;
            return 0;
        }
    }
    return -1;
}

const char *lt_event_state_name(lt_event_state_t s)
{
    return (unsigned)s <= LT_EVENT_DEAD ? event_state_names[s] : "unknown";
}

static int event_state_parse(const char *name, lt_event_state_t *out)
{
    for (int i = 0; name != NULL && i <= LT_EVENT_DEAD; i++) {
        if (strcmp(name, event_state_names[i]) == 0) {
            *out = (lt_event_state_t)i;
            return 0;
        }
    }
    return -1;
}

/* ---- field tables: one row per stored field, so to_json and from_json cannot drift apart ---- */

typedef enum { F_STR, F_INT, F_INT64, F_LLONG } field_kind_t;

typedef struct {
    const char *key;
    field_kind_t kind;
    size_t offset, size; /* size: the char array's, NUL included */
} field_t;

#define STR(type, f)                                                                                                   \
    {                                                                                                                  \
#f, F_STR, offsetof(type, f), sizeof(((type *)0)->f)                                                           \
    }
#define INT(type, f)                                                                                                   \
    {                                                                                                                  \
#f, F_INT, offsetof(type, f), 0                                                                                \
    }
#define I64(type, f)                                                                                                   \
    {                                                                                                                  \
#f, F_INT64, offsetof(type, f), 0                                                                              \
    }
#define LLONG(type, f)                                                                                                 \
    {                                                                                                                  \
#f, F_LLONG, offsetof(type, f), 0                                                                              \
    }

static const field_t payment_fields[] = {
    STR(lt_payment_t, id),
    STR(lt_payment_t, dossier_id),
    LLONG(lt_payment_t, amount_vnd),
    STR(lt_payment_t, description),
    STR(lt_payment_t, order_info),
    STR(lt_payment_t, locale),
    STR(lt_payment_t, client),
    STR(lt_payment_t, idempotency),
    STR(lt_payment_t, fingerprint),
    STR(lt_payment_t, create_date),
    STR(lt_payment_t, expire_date),
    I64(lt_payment_t, created_at_ms),
    I64(lt_payment_t, expires_at_ms),
    I64(lt_payment_t, updated_at_ms),
    STR(lt_payment_t, response_code),
    STR(lt_payment_t, transaction_status),
    STR(lt_payment_t, bank_code),
    STR(lt_payment_t, transaction_no),
    STR(lt_payment_t, pay_date),
    STR(lt_payment_t, settled_by),
};

/* The citizen's part: sealed, or in clear in a payment stored before sealing existed. */
static const field_t sealed_fields[] = {STR(lt_payment_t, sealed)};
static const field_t clear_fields[] = {STR(lt_payment_t, return_url), STR(lt_payment_t, client_ip)};

static const field_t event_fields[] = {
    STR(lt_pay_event_t, event_id),      STR(lt_pay_event_t, payment_id),    STR(lt_pay_event_t, type),
    INT(lt_pay_event_t, attempts),      I64(lt_pay_event_t, created_at_ms), I64(lt_pay_event_t, next_attempt_at_ms),
    I64(lt_pay_event_t, updated_at_ms), STR(lt_pay_event_t, last_error),
};

static void fields_to_json(json_t *obj, const field_t *fields, size_t n, const void *rec)
{
    const char *base = rec;
    for (size_t i = 0; i < n; i++) {
        const field_t *f = &fields[i];
        const void *at = base + f->offset;
        if (f->kind == F_STR)
            json_object_set_new(obj, f->key, json_string(at));
        else if (f->kind == F_INT)
            json_object_set_new(obj, f->key, json_integer(*(const int *)at));
        else if (f->kind == F_INT64)
            json_object_set_new(obj, f->key, json_integer(*(const int64_t *)at));
        else
            json_object_set_new(obj, f->key, json_integer(*(const long long *)at));
    }
}

static int fields_from_json(const json_t *obj, const field_t *fields, size_t n, void *rec)
{
    char *base = rec;
    for (size_t i = 0; i < n; i++) {
        const field_t *f = &fields[i];
        const json_t *v = json_object_get(obj, f->key);
        void *at = base + f->offset;
        if (f->kind == F_STR) {
            /* json_string_length, not strlen: an embedded NUL would otherwise pass as a shorter string. */
            if (!json_is_string(v) || json_string_length(v) >= f->size ||
                strlen(json_string_value(v)) != json_string_length(v))
                return -1;
            memcpy(at, json_string_value(v), json_string_length(v) + 1);
        } else if (!json_is_integer(v)) {
            return -1;
        } else if (f->kind == F_INT) {
            json_int_t x = json_integer_value(v);
            if (x < 0 || x > 1000000000)
                return -1;
            *(int *)at = (int)x;
        } else if (f->kind == F_INT64) {
            *(int64_t *)at = json_integer_value(v);
        } else {
            *(long long *)at = json_integer_value(v);
        }
    }
    return 0;
}

#define NFIELDS(a) (sizeof(a) / sizeof((a)[0]))

json_t *lt_payment_to_json(const lt_payment_t *p)
{
    json_t *obj = json_object();
    fields_to_json(obj, payment_fields, NFIELDS(payment_fields), p);
    if (p->sealed[0] != '\0')
        fields_to_json(obj, sealed_fields, NFIELDS(sealed_fields), p);
    else
        fields_to_json(obj, clear_fields, NFIELDS(clear_fields), p);
    json_object_set_new(obj, "state", json_string(lt_pay_state_name(p->state)));
    return obj;
}

int lt_payment_from_json(const json_t *obj, lt_payment_t *p)
{
    memset(p, 0, sizeof(*p));
    if (!json_is_object(obj) || fields_from_json(obj, payment_fields, NFIELDS(payment_fields), p) != 0)
        return -1;
    int rc = json_object_get(obj, "sealed") != NULL ? fields_from_json(obj, sealed_fields, NFIELDS(sealed_fields), p)
                                                    : fields_from_json(obj, clear_fields, NFIELDS(clear_fields), p);
    if (rc != 0 || (json_object_get(obj, "sealed") != NULL && p->sealed[0] == '\0'))
        return -1;
    return lt_pay_state_parse(json_string_value(json_object_get(obj, "state")), &p->state);
}

void lt_pay_event_for(const lt_payment_t *p, int64_t now_ms, lt_pay_event_t *ev)
{
    memset(ev, 0, sizeof(*ev));
    snprintf(ev->event_id, sizeof(ev->event_id), "evt-%s", p->id);
    snprintf(ev->payment_id, sizeof(ev->payment_id), "%s", p->id);
    snprintf(ev->type, sizeof(ev->type), "payment.%s", lt_pay_state_name(p->state));
    ev->state = LT_EVENT_PENDING;
    ev->created_at_ms = ev->next_attempt_at_ms = ev->updated_at_ms = now_ms;
}

json_t *lt_pay_event_to_json(const lt_pay_event_t *ev)
{
    json_t *obj = json_object();
    fields_to_json(obj, event_fields, NFIELDS(event_fields), ev);
    json_object_set_new(obj, "state", json_string(lt_event_state_name(ev->state)));
    return obj;
}

int lt_pay_event_from_json(const json_t *obj, lt_pay_event_t *ev)
{
    memset(ev, 0, sizeof(*ev));
    if (!json_is_object(obj) || fields_from_json(obj, event_fields, NFIELDS(event_fields), ev) != 0)
        return -1;
    return event_state_parse(json_string_value(json_object_get(obj, "state")), &ev->state);
}
