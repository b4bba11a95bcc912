/* The payment record and its event (gateway/modules/payments/lt_payment.c): the stored JSON keeps every field, and
 * refuses what a store must never load silently; the citizen's part is stored sealed (lt_pay_sealed.c); a new
 * payment's return_url and Idempotency-Key fingerprint (lt_pay_new.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lt_pay_new.h"
#include "lt_pay_sealed.h"
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

/* ---- the citizen's part, sealed ----------------------------------------------------------------------------- */

/* AEAD keys with the given ids (each key's bytes made from its id), sealing with encrypt_with. */
static lt_cache_keys_t keys_with(const int *ids, int n, int encrypt_with)
{
    lt_cache_keys_t k;
    memset(&k, 0, sizeof(k));
    k.hmac_len = 32;
    memset(k.hmac, 0x5a, 32);
    for (int i = 0; i < n; i++) {
        k.aead[i].id = ids[i];
        memset(k.aead[i].key, 0x10 + ids[i], 32);
    }
    k.naead = n;
    k.encrypt_with = encrypt_with;
    return k;
}

static char *stored_text(const lt_payment_t *p)
{
    json_t *obj = lt_payment_to_json(p);
    char *text = json_dumps(obj, JSON_COMPACT);
    json_decref(obj);
    return text;
}

static int load_text(const char *text, lt_payment_t *p)
{
    json_t *obj = json_loads(text, 0, NULL);
    int rc = lt_payment_from_json(obj, p);
    json_decref(obj);
    return rc;
}

static void sealed_payment_stores_no_address_or_url(void **state)
{
    const int one[] = {1};
    lt_cache_keys_t keys = keys_with(one, 1, 1);
    lt_payment_t p = sample(), q;
    assert_int_equal(lt_pay_seal(&keys, &p), 0);
    assert_string_equal(p.client_ip, "10.0.0.7"); /* kept in memory, for the answer */
    char *text = stored_text(&p);
    assert_null(strstr(text, "10.0.0.7"));
    assert_null(strstr(text, "portal.example"));
    assert_null(strstr(text, "client_ip"));
    assert_null(strstr(text, "return_url"));
    assert_non_null(strstr(text, "\"sealed\":\""));

    /* Read back: sealed until opened, then the same as it was; and it stores the same text again. */
    assert_int_equal(load_text(text, &q), 0);
    assert_string_equal(q.client_ip, "");
    assert_string_equal(q.return_url, "");
    char *again = stored_text(&q);
    assert_string_equal(again, text);
    lt_error_t err;
    assert_int_equal(lt_pay_unseal(&keys, &q, &err), 0);
    assert_string_equal(q.client_ip, "10.0.0.7");
    assert_string_equal(q.return_url, "https://portal.example/return?x=1");
    free(again);
    free(text);

    /* A payment stored before sealing keeps both in clear: it loads, and opening it changes nothing. */
    lt_payment_t clear = sample();
    text = stored_text(&clear);
    assert_non_null(strstr(text, "\"client_ip\":\"10.0.0.7\""));
    assert_int_equal(load_text(text, &q), 0);
    assert_int_equal(lt_pay_unseal(&keys, &q, &err), 0);
    assert_string_equal(q.client_ip, "10.0.0.7");
    assert_string_equal(q.return_url, "https://portal.example/return?x=1");
    free(text);

    /* An empty sealed part is damage, not a clear record. */
    json_t *obj = lt_payment_to_json(&p);
    json_object_set_new(obj, "sealed", json_string(""));
    assert_int_equal(lt_payment_from_json(obj, &q), -1);
    json_decref(obj);
}

static void sealed_part_opens_only_for_its_payment_with_a_key_held(void **state)
{
    const int one[] = {1}, both[] = {1, 2}, two[] = {2};
    lt_cache_keys_t old = keys_with(one, 1, 1), rotating = keys_with(both, 2, 2), only_new = keys_with(two, 1, 2);
    lt_payment_t p = sample(), q;
    lt_error_t err;
    assert_int_equal(lt_pay_seal(&old, &p), 0);

    /* Moved onto another payment, it does not open, and leaves nothing half-filled. */
    q = p;
    q.client_ip[0] = q.return_url[0] = '\0';
    snprintf(q.id, sizeof(q.id), "P20260101OTHER1");
    assert_int_equal(lt_pay_unseal(&old, &q, &err), -1);
    assert_string_equal(err.code, "payment_sealed_unreadable");
    assert_string_equal(q.client_ip, "");
    assert_string_equal(q.return_url, "");
    assert_null(strstr(err.detail, "10.0.0.7"));

    /* Rotation: a gateway holding the old and the new key (sealing with the new) opens what the old one sealed. */
    q = p;
    q.client_ip[0] = q.return_url[0] = '\0';
    assert_int_equal(lt_pay_unseal(&rotating, &q, &err), 0);
    assert_string_equal(q.client_ip, "10.0.0.7");
    /* Once the old key is removed, that part no longer opens; what the new key sealed does. */
    q.client_ip[0] = '\0';
    assert_int_equal(lt_pay_unseal(&only_new, &q, &err), -1);
    lt_payment_t fresh = sample();
    assert_int_equal(lt_pay_seal(&rotating, &fresh), 0);
    fresh.client_ip[0] = '\0';
    assert_int_equal(lt_pay_unseal(&only_new, &fresh, &err), 0);
    assert_string_equal(fresh.client_ip, "10.0.0.7");
    assert_int_equal(lt_pay_unseal(&old, &fresh, &err), -1);

    /* Altered: one character of the base64 changed, or not base64 at all. */
    q = p;
    q.sealed[20] = q.sealed[20] == 'A' ? 'B' : 'A';
    assert_int_equal(lt_pay_unseal(&old, &q, &err), -1);
    q = p;
    snprintf(q.sealed, sizeof(q.sealed), "not base64!");
    assert_int_equal(lt_pay_unseal(&old, &q, &err), -1);

    /* A key set that cannot seal (encrypt_with names no key) refuses rather than storing in clear. */
    lt_cache_keys_t none = keys_with(one, 1, 9);
    lt_payment_t r = sample();
    assert_int_equal(lt_pay_seal(&none, &r), -1);
}

/* ---- a new payment: return_url and the Idempotency-Key fingerprint -------------------------------------------- */

typedef struct {
    lt_payments_conf_t conf;
    lt_pay_service_t svc;
    lt_client_conf_t client;
    char *hosts[1];
} new_env_t;

static void new_env(new_env_t *e)
{
    memset(e, 0, sizeof(*e));
    e->conf.min_expires_in_s = 60;
    e->conf.default_expires_in_s = 900;
    e->conf.max_expires_in_s = 86400;
    e->svc.conf = &e->conf;
    const int one[] = {1};
    e->svc.keys = keys_with(one, 1, 1);
    e->hosts[0] = "portal.example.vn";
    e->client.id = "portal";
    e->client.return_url_hosts = e->hosts;
    e->client.nreturn_url_hosts = 1;
}

static json_t *body_with_return_url(const char *url)
{
    return json_pack("{s:s, s:i, s:s, s:s, s:s}", "dossier_id", "HS-1", "amount_vnd", 150000, "description", "Le phi",
                     "return_url", url, "client_ip", "203.0.113.7");
}

static int try_return_url(new_env_t *e, const lt_client_conf_t *client, const char *url, lt_payment_t *p,
                          lt_error_t *err)
{
    json_t *body = body_with_return_url(url);
    lt_pay_origin_t origin = {.client = "portal", .client_conf = client, .now_ms = 1767243600000};
    lt_error_clear(err);
    int rc = lt_pay_new_from_request(&e->svc, body, &origin, p, err);
    json_decref(body);
    return rc;
}

static void expect_refused(new_env_t *e, const lt_client_conf_t *client, const char *url, const char *words)
{
    lt_payment_t p;
    lt_error_t err;
    assert_int_equal(try_return_url(e, client, url, &p, &err), -1);
    assert_int_equal(err.kind, LT_ERR_BAD_REQUEST);
    assert_string_equal(err.code, "invalid_return_url");
    if (strstr(err.detail, words) == NULL)
        fail_msg("%s: the detail '%s' does not say '%s'", url, err.detail, words);
}

static void return_url_is_the_clients_own_https_site(void **state)
{
    new_env_t e;
    new_env(&e);
    lt_payment_t p;
    lt_error_t err;
    assert_int_equal(try_return_url(&e, &e.client, "https://portal.example.vn/ho-so?x=1", &p, &err), 0);
    assert_string_equal(p.return_url, "https://portal.example.vn/ho-so?x=1");
    assert_int_equal(try_return_url(&e, &e.client, "https://PORTAL.example.VN:8443/a", &p, &err), 0);
    /* Kept as the parser writes it back: the redirect goes where the check looked. */
    assert_int_equal(try_return_url(&e, &e.client, "https://portal.example.vn#@evil.example", &p, &err), 0);
    assert_string_equal(p.return_url, "https://portal.example.vn/#@evil.example");

    expect_refused(&e, &e.client, "https://portal.example.vn@evil.example/", "userinfo");
    expect_refused(&e, &e.client, "https://user:secret@portal.example.vn/", "userinfo");
    expect_refused(&e, &e.client, "https://@portal.example.vn/", "userinfo");
    expect_refused(&e, &e.client, "http://portal.example.vn/", "https");
    expect_refused(&e, &e.client, "ftp://portal.example.vn/", "https");
    expect_refused(&e, &e.client, "https://evil.example/", "clients.portal.return_url_hosts");
    expect_refused(&e, &e.client, "https://www.portal.example.vn/", "clients.portal.return_url_hosts");
    expect_refused(&e, &e.client, "https://portal.example.vn./", "clients.portal.return_url_hosts");
    expect_refused(&e, &e.client, "https://portal.example.vn/a\tb", "control characters");
    expect_refused(&e, &e.client, "https://portal.example.vn/a b", "spaces");
    expect_refused(&e, &e.client, "https://evil.example\\@portal.example.vn/", "backslashes");
    expect_refused(&e, &e.client, "portal.example.vn/ho-so", "URL");
    expect_refused(&e, &e.client, "https://portal.example.vn:99999/", "URL");

    /* A client without return_url_hosts may name none; the detail names the key to set. */
    lt_client_conf_t bare = {.id = "portal"};
    expect_refused(&e, &bare, "https://portal.example.vn/", "clients.portal.return_url_hosts");
    expect_refused(&e, NULL, "https://portal.example.vn/", "clients.portal.return_url_hosts");
}

static void fingerprint(new_env_t *e, const json_t *body, char out[65])
{
    lt_pay_origin_t origin = {
        .client = "portal", .client_conf = &e->client, .idempotency_key = "k-1", .now_ms = 1767243600000};
    lt_payment_t p;
    lt_error_t err;
    assert_int_equal(lt_pay_new_from_request(&e->svc, body, &origin, &p, &err), 0);
    memcpy(out, p.fingerprint, 65);
}

static void idempotency_fingerprint_is_keyed(void **state)
{
    new_env_t e;
    new_env(&e);
    json_t *body = body_with_return_url("https://portal.example.vn/r");
    char a[65], b[65], legacy[65], other_key[65], other_body[65];
    fingerprint(&e, body, a);
    fingerprint(&e, body, b);
    assert_string_equal(a, b); /* a retry is recognised */
    assert_int_equal(strlen(a), 64);
    /* Not the plain digest that a search over the address space could match: that is the legacy form only. */
    lt_pay_legacy_fingerprint(body, legacy);
    assert_int_equal(strlen(legacy), 64);
    assert_string_not_equal(a, legacy);
    memset(e.svc.keys.hmac, 0x33, 32);
    fingerprint(&e, body, other_key);
    assert_string_not_equal(a, other_key);
    json_object_set_new(body, "client_ip", json_string("203.0.113.8"));
    fingerprint(&e, body, other_body);
    assert_string_not_equal(other_key, other_body);
    json_decref(body);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(payment_round_trips_every_field),
        cmocka_unit_test(payment_refuses_missing_mistyped_or_long_fields),
        cmocka_unit_test(state_names_round_trip),
        cmocka_unit_test(event_id_is_derived_from_the_payment),
        cmocka_unit_test(event_round_trips),
        cmocka_unit_test(sealed_payment_stores_no_address_or_url),
        cmocka_unit_test(sealed_part_opens_only_for_its_payment_with_a_key_held),
        cmocka_unit_test(return_url_is_the_clients_own_https_site),
        cmocka_unit_test(idempotency_fingerprint_is_keyed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
