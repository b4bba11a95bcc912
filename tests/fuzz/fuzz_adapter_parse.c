/*
 * Every adapter's response parsing, through the adapter table: each
 * operation's parse() and the token_parse() hook, with the status, content
 * type, Retry-After and body of the upstream response taken from the input.
 * Adapters are found by name in lt_adapters[], so a new adapter is fuzzed
 * without a new target (its settings come from config/dev.json).
 *
 * The input (see docs/development.md):
 *
 *   adapter: population
 *   operation: lookup                  ("token" for token_parse)
 *   input: {"id": "001095012345", ...} (the northbound input; must pass validate())
 *   message-id: <uuid>                 (optional: the upstream message id the call was built with)
 *   status: 200
 *   content-type: text/xml; charset=utf-8
 *   retry-after: 30                    (optional)
 *
 *   <the response body>
 *
 * A body may hold further responses after a line "--lt-fuzz-next--": each has
 * its own status/content-type/retry-after lines, an empty line and its body,
 * and is what parse() reads after it answered LT_STEP_AGAIN (the next step)
 * or LT_STEP_REAUTH (a fresh build with a new token).
 *
 * Besides the sanitizers, what parse() answers is checked: a record that is
 * an object and serialises, or an error that fuzz_check_error() accepts.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "lt_arena.h"

#define DEFAULT_MESSAGE_ID "6f1c2b9e-3d4a-4b5c-8d7e-9f0a1b2c3d4e" /* the one the adapters' fixtures echo */
#define NEXT_RESPONSE      "\n--lt-fuzz-next--\n"
#define MAX_STEPS          8
#define CALL_TIME          1767225600 /* 2026-01-01T00:00:00Z: the clock a build() signs with */

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    fuzz_init();
    fuzz_adapter_settings();
    return 0;
}

/* A status as curl reports one: three digits. Anything else is not a response this target can be given. */
static int read_status(const char *s, long *status)
{
    if (s == NULL || strlen(s) != 3 || strspn(s, "0123456789") != 3)
        return -1;
    *status = strtol(s, NULL, 10);
    return 0;
}

/* One response: its own header lines, then its body up to the next NEXT_RESPONSE (or the end). */
typedef struct response {
    fuzz_frame_t frame;
    lt_upstream_response_t resp;
} response_t;

/* Reads the response at text[0..len); *rest is what follows it (NULL when it is the last). */
static int response_read(const fuzz_frame_t *top, const char *text, size_t len, response_t *r, const char **rest,
                         size_t *rest_len)
{
    memset(r, 0, sizeof(*r));
    const char *end = memmem(text, len, NEXT_RESPONSE, strlen(NEXT_RESPONSE));
    size_t body_len = end ? (size_t)(end - text) : len;
    *rest = end ? end + strlen(NEXT_RESPONSE) : NULL;
    *rest_len = end ? len - body_len - strlen(NEXT_RESPONSE) : 0;
    if (top != NULL) {
        /* The first response's lines are the top frame's; its body runs to the first separator. */
        r->frame.body = fuzz_strndup((const uint8_t *)text, body_len);
        r->frame.body_len = body_len;
    } else if (fuzz_frame_read((const uint8_t *)text, body_len, &r->frame) != 0) {
        return -1;
    }
    const fuzz_frame_t *lines = top ? top : &r->frame;
    if (read_status(fuzz_frame_get(lines, "status"), &r->resp.status) != 0) {
        fuzz_frame_free(&r->frame);
        return -1;
    }
    r->resp.content_type = fuzz_frame_get(lines, "content-type");
    r->resp.retry_after = fuzz_frame_get(lines, "retry-after");
    r->resp.body = r->frame.body;
    r->resp.body_len = r->frame.body_len;
    return 0;
}

static void free_json(void *j)
{
    json_decref(j);
}

/* The validated northbound input, owned by the arena; NULL when it does not pass validate() (nothing to fuzz). */
static json_t *read_input(lt_arena_t *a, const lt_operation_t *op, const char *text)
{
    json_t *input = text ? json_loads(text, JSON_REJECT_DUPLICATES, NULL) : NULL;
    if (input == NULL)
        return NULL;
    lt_arena_on_destroy(a, free_json, input);
    lt_error_t err = {0};
    return json_is_object(input) && op->validate(input, &err) == 0 ? input : NULL;
}

static void check_step(lt_step_t step, json_t *result, const lt_error_t *err, const char *where)
{
    switch (step) {
    case LT_STEP_DONE:
        fuzz_check_record(result, where);
        break;
    case LT_STEP_FAIL:
        FUZZ_CHECK(result == NULL, "%s: failed and still gave a record", where);
        fuzz_check_error(err, 9, where);
        break;
    case LT_STEP_AGAIN:
    case LT_STEP_REAUTH:
        FUZZ_CHECK(result == NULL, "%s: asked for another request and still gave a record", where);
        break;
    default:
        fuzz_fail("%s: parse() answered step %d", where, (int)step);
    }
}

/* build(), then parse() over each response in turn, as lt_call would drive them. */
static void run_operation(const lt_adapter_t *a, const lt_operation_t *op, void *settings, const fuzz_frame_t *top)
{
    lt_arena_t *arena = lt_arena_new();
    json_t *input = read_input(arena, op, fuzz_frame_get(top, "input"));
    if (input == NULL) {
        lt_arena_destroy(arena);
        return;
    }
    const char *mid = fuzz_frame_get(top, "message-id");
    lt_call_context_t ctx = {.request_id = "fuzz-request",
                             .message_id = mid ? mid : DEFAULT_MESSAGE_ID,
                             .officer_id = "CB-0042",
                             .purpose = "HS-2026-000123",
                             .client = "portal"};
    lt_call_t call = {.arena = arena, .ctx = &ctx, .settings = settings, .input = input, .now = CALL_TIME};
    call.token = a->token_parse ? "fuzz-token-1" : NULL;
    char where[160];
    snprintf(where, sizeof(where), "%s/%s", a->name, op->name);

    lt_upstream_request_t sent = {0};
    lt_error_t err = {0};
    lt_step_t step = op->build(&call, &sent, &err);
    /* A message id that is not a UUID is refused by build(), which is right; there is nothing to parse then. */
    const char *text = top->body;
    size_t len = top->body_len;
    const fuzz_frame_t *lines = top;
    while (step == LT_STEP_DONE && text != NULL && call.step < MAX_STEPS) {
        response_t r;
        const char *rest;
        size_t rest_len;
        if (response_read(lines, text, len, &r, &rest, &rest_len) != 0)
            break;
        json_t *result = NULL;
        lt_upstream_request_t next = {0};
        lt_error_clear(&err);
        call.sent = &sent;
        step = op->parse(&call, &r.resp, &result, &next, &err);
        check_step(step, result, &err, where);
        json_decref(result);
        fuzz_frame_free(&r.frame);
        text = rest;
        len = rest_len;
        lines = NULL;
        if (step == LT_STEP_AGAIN) {
            FUZZ_CHECK(next.method != NULL && next.path != NULL && next.path[0] == '/',
                       "%s: asked for another request without a method and a path", where);
            sent = next;
            call.step++;
            step = LT_STEP_DONE;
        } else if (step == LT_STEP_REAUTH) {
            FUZZ_CHECK(a->token_parse != NULL, "%s: asked for a new token without token hooks", where);
            call.token = "fuzz-token-2";
            call.step = 0;
            call.scratch = NULL;
            call.attempt++;
            lt_error_clear(&err);
            step = op->build(&call, &sent, &err);
        }
    }
    lt_arena_destroy(arena);
}

static void run_token(const lt_adapter_t *a, void *settings, const fuzz_frame_t *top)
{
    response_t r;
    const char *rest;
    size_t rest_len;
    if (a->token_parse == NULL || response_read(top, top->body, top->body_len, &r, &rest, &rest_len) != 0)
        return;
    lt_arena_t *arena = lt_arena_new();
    const char *token = NULL;
    long expires_in = 0;
    lt_error_t err = {0};
    char where[160];
    snprintf(where, sizeof(where), "%s/token", a->name);
    if (a->token_parse(settings, arena, &r.resp, &token, &expires_in, &err) == 0) {
        /* The token goes into an Authorization header line: nothing that could end or split it. */
        FUZZ_CHECK(token != NULL && *token != '\0', "%s: succeeded without a token", where);
        for (const unsigned char *p = (const unsigned char *)token; *p; p++)
            FUZZ_CHECK(*p > 0x20 && *p < 0x7f, "%s: the token holds byte 0x%02x", where, *p);
        FUZZ_CHECK(expires_in > 0, "%s: the token's lifetime is %ld s", where, expires_in);
    } else {
        fuzz_check_error(&err, 9, where);
    }
    lt_arena_destroy(arena);
    fuzz_frame_free(&r.frame);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_frame_t top;
    if (fuzz_frame_read(data, size, &top) != 0)
        return 0;
    size_t index;
    const lt_adapter_t *a = fuzz_find_adapter(fuzz_frame_get(&top, "adapter"), &index);
    const char *opname = fuzz_frame_get(&top, "operation");
    if (a != NULL && opname != NULL && strcmp(opname, "token") == 0) {
        run_token(a, fuzz_adapter_settings()[index], &top);
    } else if (a != NULL) {
        const lt_operation_t *op = fuzz_find_operation(a, opname);
        if (op != NULL)
            run_operation(a, op, fuzz_adapter_settings()[index], &top);
    }
    fuzz_frame_free(&top);
    return 0;
}
