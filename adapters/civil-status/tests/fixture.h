/* Shared helpers for the civil-status adapter's unit tests: fixture files, settings with a password file, a call. */
#ifndef LT_CIVIL_STATUS_TEST_FIXTURE_H
#define LT_CIVIL_STATUS_TEST_FIXTURE_H

#include <jansson.h>
#include <stddef.h>

#include "lt_adapter.h"
#include "lt_test_fixture.h"

#define MESSAGE_ID   "6f1c2b9e-3d4a-4b5c-8d7e-9f0a1b2c3d4e"
#define TOKEN        "s3ss10n-T0k3n_42"
#define UNIT_CODE    "000.00.00.H33"
#define USER_NAME    "lienthong-h33"
#define PASSWORD     "Mat-khau \"dai\" 2026\\x"
#define SERVICE_PATH "upstreams.civil-status.service"
/* The people of the ICD's samples (fixtures/): the child of KS, his mother (KS, KH, TTHN), the deceased of KT. */
#define CHILD_ID    "034219004321"
#define MOTHER_ID   "034195001234"
#define HUSBAND_ID  "034093004567"
#define DECEASED_ID "034045000789"

extern const lt_adapter_t lt_civil_status_adapter;

/* fixtures/<name> in arena memory, NUL-terminated; the test fails if it cannot be read. */
char *fixture_read(lt_arena_t *a, const char *name, size_t *len);

/* settings_load over a JSON text (the password file path is substituted for "@PASSWORD@"). 0 or -1 with err. */
int fixture_settings(const char *json, const char *password_text, void **settings, lt_error_t *err);

/* The adapter's only operation. */
const lt_operation_t *fixture_lookup(void);

/* One test's world: arena, settings, context, input {"id", "type"[, "full_name"]}, and a session token. */
typedef struct fixture_call {
    lt_arena_t *arena;
    void *settings;
    lt_call_context_t ctx;
    lt_call_t call;
} fixture_call_t;

fixture_call_t *fixture_call_new(const char *id, const char *type, const char *full_name);
void fixture_call_free(fixture_call_t *fc);

/* parse() over fixtures/<name> answered with HTTP status. */
lt_test_outcome_t fixture_parse(fixture_call_t *fc, long status, const char *name);
/* parse() over a body given as text. */
lt_test_outcome_t fixture_parse_text(fixture_call_t *fc, long status, const char *body, const char *retry_after);

#endif
