/* Shared helpers for the business adapter's unit tests: fixture files, settings with a secret file, a call to run. */
#ifndef LT_BUSINESS_TEST_FIXTURE_H
#define LT_BUSINESS_TEST_FIXTURE_H

#include <jansson.h>
#include <stddef.h>

#include "lt_adapter.h"

#define MESSAGE_ID   "6f1c2b9e-3d4a-4b5c-8d7e-9f0a1b2c3d4e"
#define TOKEN        "mF_9.B5f-4.1JqM~tOk3n"
#define CLIENT_ID    "lienthong-dev"
#define SECRET       "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
#define ICD_CODE     "0100233488"
#define BRANCH_CODE  "0100233488-001"
#define BIG_CODE     "0312345673"
#define SERVICE_PATH "upstreams.business.service"

extern const lt_adapter_t lt_business_adapter;

/* fixtures/<name> in arena memory, NUL-terminated; the test fails if it cannot be read. */
char *fixture_read(lt_arena_t *a, const char *name, size_t *len);

/* A copy of s with every occurrence of from replaced by to, in arena memory (fails if from does not occur). */
char *fixture_replace(lt_arena_t *a, const char *s, const char *from, const char *to);

/* settings_load over a JSON text (the secret file path is substituted for "@SECRET@"). 0 or -1 with err. */
int fixture_settings(const char *json, const char *secret_text, void **settings, lt_error_t *err);

/* The adapter's only operation. */
const lt_operation_t *fixture_lookup(void);

/* One test's world: arena, settings, context, input {"code": code}, and a bearer token. */
typedef struct fixture_call {
    lt_arena_t *arena;
    void *settings;
    lt_call_context_t ctx;
    lt_call_t call;
} fixture_call_t;

fixture_call_t *fixture_call_new(const char *code);
void fixture_call_free(fixture_call_t *fc);

#endif
