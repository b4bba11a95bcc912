/*
 * What the portal sends: each operation's validate() on the northbound input
 * read as the gateway reads it (lt_proxy.c), then build() on what validate()
 * let through. Adapters are found by name in lt_adapters[], as in
 * fuzz_adapter_parse.c.
 *
 * The input:
 *
 *   adapter: population
 *   operation: lookup
 *
 *   <the request body (JSON body operations) or the path segment (path parameter operations)>
 *
 * Checked besides the sanitizers: a refusal is a 400 whose detail passes
 * fuzz_check_error() (no identifier quoted back), and an input validate()
 * accepted builds an upstream request: nothing validate() passes may make
 * build() fail for want of a check.
 */
#include <stdio.h>
#include <string.h>

#include "harness.h"
#include "lt_arena.h"

#define CALL_TIME 1767225600 /* 2026-01-01T00:00:00Z */

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    fuzz_init();
    fuzz_adapter_settings();
    return 0;
}

/* As lt_proxy.c reads it: a JSON object body, or {param_name: segment} for a non-empty segment without '/'. */
static json_t *read_input(const lt_operation_t *op, const char *body, size_t len)
{
    if (op->input_kind == LT_INPUT_JSON_BODY) {
        json_t *input = json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL);
        if (input != NULL && !json_is_object(input)) {
            json_decref(input);
            return NULL;
        }
        return input;
    }
    /* evhttp hands the path over as a C string: it ends at the first NUL. */
    if (body[0] == '\0' || strchr(body, '/') != NULL)
        return NULL;
    json_t *input = json_object();
    json_object_set_new(input, op->param_name, json_string_nocheck(body));
    return input;
}

static void check_build(const lt_adapter_t *a, const lt_operation_t *op, void *settings, json_t *input,
                        const char *where)
{
    lt_arena_t *arena = lt_arena_new();
    lt_call_context_t ctx = {.request_id = "fuzz-request",
                             .message_id = "6f1c2b9e-3d4a-4b5c-8d7e-9f0a1b2c3d4e",
                             .officer_id = "CB-0042",
                             .purpose = "HS-2026-000123",
                             .client = "portal"};
    lt_call_t call = {.arena = arena, .ctx = &ctx, .settings = settings, .input = input, .now = CALL_TIME};
    call.token = a->token_parse ? "fuzz-token-1" : NULL;
    lt_upstream_request_t out = {0};
    lt_error_t err = {0};
    lt_step_t step = op->build(&call, &out, &err);
    FUZZ_CHECK(step == LT_STEP_DONE, "%s: validate() accepted an input that build() refuses: %s: %s", where, err.code,
               err.detail);
    FUZZ_CHECK(out.method != NULL && out.path != NULL && out.path[0] == '/', "%s: build() gave no method or path",
               where);
    for (size_t i = 0; i < out.nheaders; i++)
        for (const unsigned char *p = (const unsigned char *)out.headers[i]; *p; p++)
            FUZZ_CHECK(*p >= 0x20 && *p != 0x7f, "%s: header \"%s\" holds byte 0x%02x", where, out.headers[i], *p);
    lt_arena_destroy(arena);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_frame_t frame;
    if (fuzz_frame_read(data, size, &frame) != 0)
        return 0;
    size_t index;
    const lt_adapter_t *a = fuzz_find_adapter(fuzz_frame_get(&frame, "adapter"), &index);
    const lt_operation_t *op = a ? fuzz_find_operation(a, fuzz_frame_get(&frame, "operation")) : NULL;
    json_t *input = op ? read_input(op, frame.body, frame.body_len) : NULL;
    if (input != NULL) {
        char where[160];
        snprintf(where, sizeof(where), "%s/%s validate", a->name, op->name);
        lt_error_t err = {0};
        if (op->validate(input, &err) == 0) {
            FUZZ_CHECK(json_is_object(input), "%s: accepted, and left something other than an object", where);
            check_build(a, op, fuzz_adapter_settings()[index], input, where);
        } else {
            FUZZ_CHECK(err.kind == LT_ERR_BAD_REQUEST, "%s: refused with error kind %d, not 400", where, (int)err.kind);
            fuzz_check_error(&err, 9, where);
        }
        json_decref(input);
    }
    fuzz_frame_free(&frame);
    return 0;
}
