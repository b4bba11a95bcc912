/* Shared helpers for the tax adapter's unit tests: fixture files, settings with a key file, a call to run. */
#ifndef LT_TAX_TEST_FIXTURE_H
#define LT_TAX_TEST_FIXTURE_H

#include <jansson.h>
#include <stddef.h>

#include "lt_adapter.h"

#define MESSAGE_ID "6f1c2b9e-3d4a-4b5c-8d7e-9f0a1b2c3d4e"
#define UNIT_CODE  "000.00.00.H53"
#define TAX_CODE   "0100233488" /* the ICD's example */
/* What the key file holds, surrounding whitespace included, and the key the adapter must send. */
#define API_KEY_FILE_TEXT "  \t3f9a0c27e1b84d6a9c5e2f7b1d3a8e4c6b0f9d2a7e5c1b3d8f4a6e0c2b9d7f1a\n\n"
#define API_KEY           "3f9a0c27e1b84d6a9c5e2f7b1d3a8e4c6b0f9d2a7e5c1b3d8f4a6e0c2b9d7f1a"

extern const lt_adapter_t lt_tax_adapter;

/* fixtures/<name> in arena memory, NUL-terminated; the test fails if it cannot be read. */
char *fixture_read(lt_arena_t *a, const char *name, size_t *len);

/* A copy of s with every occurrence of from replaced by to, in arena memory; fails if from does not occur. */
char *fixture_replace(lt_arena_t *a, const char *s, const char *from, const char *to);

/* A temporary file holding text (removed by fixture_files_cleanup()); its path in arena memory. */
char *fixture_temp_file(lt_arena_t *a, const char *text, size_t len);
void fixture_files_cleanup(void);

/* The settings object of the tests: unit_code UNIT_CODE, api_key_file a temp file with API_KEY_FILE_TEXT. */
json_t *fixture_settings_json(lt_arena_t *a);

const lt_operation_t *fixture_operation(void);

/* One test's world: arena, settings, context, input. */
typedef struct fixture_call {
    lt_arena_t *arena;
    void *settings;
    lt_call_context_t ctx;
    lt_upstream_request_t sent;
    lt_call_t call;
} fixture_call_t;

/* A call for tax_code (TAX_CODE when NULL) with message id MESSAGE_ID and officer CB-0042. */
fixture_call_t *fixture_call_new(const char *tax_code);
void fixture_call_free(fixture_call_t *fc);

#endif
