/* Shared helpers for the land adapter's unit tests: fixture files, settings, a call to run. */
#ifndef LT_LAND_TEST_FIXTURE_H
#define LT_LAND_TEST_FIXTURE_H

#include <jansson.h>
#include <stddef.h>

#include "lt_adapter.h"

#define UNIT_CODE  "000.00.00.H53"
#define REQUEST_ID "6f1c2b9e-3d4a-4b5c-8d7e-9f0a1b2c3d4e"
#define OFFICER_ID "CB-0042"
#define PURPOSE    "HS-2026-000123"

/* 2026-01-01T07:00:00+07:00, outside the nightly window. */
#define NOON_ISH 1767225600

extern const lt_adapter_t lt_land_adapter;

/* fixtures/<name> in arena memory, NUL-terminated; the test fails if it cannot be read. */
char *fixture_read(lt_arena_t *a, const char *name, size_t *len);
/* A copy of s with every occurrence of from replaced by to; fails if from does not occur. */
char *fixture_replace(lt_arena_t *a, const char *s, const char *from, const char *to);

/* The operation "parcel" or "certificate". */
const lt_operation_t *fixture_operation(const char *name);

/* The settings JSON every test uses; extra is spliced in before the closing brace ("" for none). */
json_t *fixture_settings_json(const char *extra);

/* One test's world: arena, settings, context, validated input. */
typedef struct fixture_call {
    lt_arena_t *arena;
    void *settings;
    const lt_operation_t *op;
    lt_call_context_t ctx;
    lt_upstream_request_t sent;
    lt_call_t call;
} fixture_call_t;

/* A validated call of op ("parcel" or "certificate") on its path parameter, at now = NOON_ISH. */
fixture_call_t *fixture_call_new(const char *op, const char *param);
void fixture_call_free(fixture_call_t *fc);

#endif
