/* The payment record and its event (gateway/pay/lt_payment.c): the stored JSON keeps every field, and refuses what
 * a store must never load silently. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lt_payment.h"

static lt_payment_t sample(void)
{
    lt_payment_t p = {0};
    snprintf(p.id, sizeof(p.id), "P20260101ABCDEF");
    snprintf(p.dossier_id, sizeof(p.dossier_id), "HS-2026-000123");
    p.amount_vnd = 150000;
    snprintf(p.description, sizeof(p.description), "Lệ phí cấp đổi \"giấy\" phép\nlái xe");
    snprintf(p.order_info, sizeof(p.order_info), "Le phi cap doi giay phep lai xe");
    snprintf(p.return_url, sizeof(p.return_url), "https://portal.example/return?x=1");
    snprintf(p.client_ip, sizeof(p.client_ip), "10.0.0.7");
    snprintf(p.locale, sizeof(p.locale), "vn");
    snprintf(p.client, sizeof(p.client), "portal");
    snprintf(p.idempotency, sizeof(p.idempotency), "portal\nkey-1");
    memset(p.fingerprint, 'a', 64);
    snprintf(p.create_date, sizeof(p.create_date), "20260101120000");
    snprintf(p.expire_date, sizeof(p.expire_date), "20260101121500");
    p.created_at_ms = 1767243600123;
    p.expires_at_ms = 1767244500123;
    p.updated_at_ms = 1767243600123;
    p.state = LT_PAY_PAID;
    snprintf(p.response_code, sizeof(p.response_code), "00");
    snprintf(p.transaction_status, sizeof(p.transaction_status), "00");
    snprintf(p.bank_code, sizeof(p.bank_code), "NCB");
    snprintf(p.transaction_no, sizeof(p.transaction_no), "14000001");
    snprintf(p.pay_date, sizeof(p.pay_date), "20260101120500");
    snprintf(p.settled_by, sizeof(p.settled_by), "ipn");
    return p;
}

static void payment_round_trips_every_field(void **state)
{
    lt_payment_t p = sample(), q;
    json_t *obj = lt_payment_to_json(&p);
    char *text = json_dumps(obj, JSON_COMPACT);
    json_decref(obj);
    assert_null(strchr(text, '\n')); /* a journal record is one line, whatever the description holds */
    obj = json_loads(text, 0, NULL);
    assert_int_equal(lt_payment_from_json(obj, &q), 0);
    assert_int_equal(json_object_size(obj), 23); /* every field of lt_payment_t */
    json_decref(obj);
    /* Every field survived: the record read back writes the same JSON, and spot checks on the tricky ones. */
    obj = lt_payment_to_json(&q);
    char *again = json_dumps(obj, JSON_COMPACT);
    json_decref(obj);
    assert_string_equal(again, text);
    assert_string_equal(q.description, p.description);
    assert_true(q.created_at_ms == p.created_at_ms);
    assert_int_equal(q.state, LT_PAY_PAID);
    free(again);
    free(text);
}

static void payment_refuses_missing_mistyped_or_long_fields(void **state)
{
    lt_payment_t p = sample(), q;
    json_t *obj = lt_payment_to_json(&p);
    json_object_del(obj, "amount_vnd");
    assert_int_equal(lt_payment_from_json(obj, &q), -1);
    json_decref(obj);

    obj = lt_payment_to_json(&p);
    json_object_set_new(obj, "created_at_ms", json_string("1767243600123"));
    assert_int_equal(lt_payment_from_json(obj, &q), -1);
    json_decref(obj);

    obj = lt_payment_to_json(&p);
    char longid[LT_PAY_ID_MAX + 2];
    memset(longid, 'x', sizeof(longid) - 1);
    longid[sizeof(longid) - 1] = '\0';
    json_object_set_new(obj, "id", json_string(longid));
    assert_int_equal(lt_payment_from_json(obj, &q), -1);
    json_decref(obj);

    obj = lt_payment_to_json(&p);
    json_object_set_new(obj, "state", json_string("refunded"));
    assert_int_equal(lt_payment_from_json(obj, &q), -1);
    json_decref(obj);

    obj = lt_payment_to_json(&p);
    json_object_set_new(obj, "bank_code", json_stringn("NC\0B", 4)); /* an embedded NUL would shorten it */
    assert_int_equal(lt_payment_from_json(obj, &q), -1);
    json_decref(obj);
}

static void state_names_round_trip(void **state)
{
    for (int i = 0; i < LT_PAY_NSTATES; i++) {
        lt_pay_state_t s;
        assert_int_equal(lt_pay_state_parse(lt_pay_state_name((lt_pay_state_t)i), &s), 0);
        assert_int_equal(s, i);
    }
    assert_string_equal(lt_pay_state_name(LT_PAY_EXPIRED), "expired");
    lt_pay_state_t s;
    assert_int_equal(lt_pay_state_parse("PAID", &s), -1);
    assert_false(lt_pay_state_is_final(LT_PAY_PENDING));
    assert_true(lt_pay_state_is_final(LT_PAY_FAILED));
    assert_string_equal(lt_event_state_name(LT_EVENT_DEAD), "dead");
}

static void event_id_is_derived_from_the_payment(void **state)
{
    lt_payment_t p = sample();
    lt_pay_event_t ev, again;
    lt_pay_event_for(&p, 1767243700000, &ev);
    assert_string_equal(ev.event_id, "evt-P20260101ABCDEF");
    assert_string_equal(ev.payment_id, p.id);
    assert_string_equal(ev.type, "payment.paid");
    assert_int_equal(ev.state, LT_EVENT_PENDING);
    assert_int_equal(ev.attempts, 0);
    assert_int_equal(ev.next_attempt_at_ms, 1767243700000);
    /* A repeat, later, cannot mint another id. */
    lt_pay_event_for(&p, 1767243799999, &again);
    assert_string_equal(again.event_id, ev.event_id);

    p.state = LT_PAY_EXPIRED;
    lt_pay_event_for(&p, 1, &ev);
    assert_string_equal(ev.type, "payment.expired");

    char longest[LT_PAY_ID_MAX + 1];
    memset(longest, 'Z', LT_PAY_ID_MAX);
    longest[LT_PAY_ID_MAX] = '\0';
    memcpy(p.id, longest, sizeof(longest));
    lt_pay_event_for(&p, 1, &ev);
    assert_int_equal(strlen(ev.event_id), 4 + LT_PAY_ID_MAX); /* nothing cut off */
}

static void event_round_trips(void **state)
{
    lt_payment_t p = sample();
    lt_pay_event_t ev, back;
    lt_pay_event_for(&p, 1767243700000, &ev);
    ev.attempts = 3;
    ev.state = LT_EVENT_DEAD;
    snprintf(ev.last_error, sizeof(ev.last_error), "HTTP 503 from the portal");
    json_t *obj = lt_pay_event_to_json(&ev);
    assert_int_equal(lt_pay_event_from_json(obj, &back), 0);
    assert_string_equal(back.event_id, ev.event_id);
    assert_string_equal(back.last_error, ev.last_error);
    assert_int_equal(back.attempts, 3);
    assert_int_equal(back.state, LT_EVENT_DEAD);
    assert_true(back.created_at_ms == ev.created_at_ms && back.updated_at_ms == ev.updated_at_ms);
    json_object_set_new(obj, "attempts", json_integer(-1));
    assert_int_equal(lt_pay_event_from_json(obj, &back), -1);
    json_decref(obj);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(payment_round_trips_every_field),
        cmocka_unit_test(payment_refuses_missing_mistyped_or_long_fields),
        cmocka_unit_test(state_names_round_trip),
        cmocka_unit_test(event_id_is_derived_from_the_payment),
        cmocka_unit_test(event_round_trips),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
