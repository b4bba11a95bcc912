/*
 * What the fuzz targets share: a scratch directory with stand-in secret files,
 * every adapter's settings, the framing of an input into header lines and a
 * body, and the checks every lt_error_t must pass whatever the input was.
 *
 * A check that fails calls fuzz_fail(), which aborts: libFuzzer then saves the
 * input as a crash like any ASan or UBSan report.
 */
#ifndef LT_FUZZ_HARNESS_H
#define LT_FUZZ_HARNESS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lt_adapter.h"
#include "lt_error.h"

/* The secret every stand-in secret file holds: 64 hex digits, which every adapter's secret rules accept. */
#define FUZZ_SECRET "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

/* Prints the broken property and aborts. */
void fuzz_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
#define FUZZ_CHECK(cond, ...)                                                                                          \
    do {                                                                                                               \
        if (!(cond))                                                                                                   \
            fuzz_fail(__VA_ARGS__);                                                                                    \
    } while (0)

/* Quiet logs, libxml2 initialised, the scratch directory made (removed at exit). Call from LLVMFuzzerInitialize. */
void fuzz_init(void);

/* The scratch directory, and a file in it holding text (created once per name; the path is static memory). */
const char *fuzz_dir(void);
const char *fuzz_file(const char *name, const char *text);

/*
 * The settings of every adapter in lt_adapters[], loaded once with the
 * adapter's own settings_load from config/dev.json's upstreams.<name>.service
 * (or tests/fuzz/samples.json's <name>.service, when the dev config's cannot
 * do), every "*_file" key pointing at a stand-in file holding FUZZ_SECRET. A
 * new adapter is fuzzed as soon as it is in the table and in config/dev.json;
 * one whose settings do not load stops the target with the adapter's message.
 * Indexed like lt_adapters[].
 */
void *const *fuzz_adapter_settings(void);

/* The adapter and operation called adapter/operation, or NULL. */
const lt_adapter_t *fuzz_find_adapter(const char *name, size_t *index);
const lt_operation_t *fuzz_find_operation(const lt_adapter_t *a, const char *name);

/*
 * A fuzz input framed like an HTTP message: "name: value" lines up to an
 * empty line, then the body (the rest of the input, binary). Values and body
 * are copies, NUL-terminated, in exactly sized heap blocks so that ASan sees
 * any read past their end.
 */
#define FUZZ_MAX_HEADERS 16
typedef struct fuzz_frame {
    struct {
        char *name, *value;
    } headers[FUZZ_MAX_HEADERS];
    size_t nheaders;
    char *body;
    size_t body_len;
} fuzz_frame_t;

/* Splits data into frame. Returns -1 when there is no empty line (no body). Frees with fuzz_frame_free. */
int fuzz_frame_read(const uint8_t *data, size_t size, fuzz_frame_t *frame);
void fuzz_frame_free(fuzz_frame_t *frame);
/* The value of the first header with this name (case-sensitive), or NULL. */
const char *fuzz_frame_get(const fuzz_frame_t *frame, const char *name);

/* A copy of data[0..size) with a NUL after it, exactly sized (free()). */
char *fuzz_strndup(const uint8_t *data, size_t size);

/*
 * What every error must be, whatever came in: a kind with a 4xx or 5xx
 * status; a code of [A-Za-z0-9._-], not empty; a detail of valid UTF-8
 * (it goes into a JSON problem document) and without a run of
 * `max_digits` + 1 digits or more (the detail is shown and logged, so it must
 * not carry an identifier: 10 and 12 digits are tax codes and personal
 * numbers). `where` names the call in the message.
 */
void fuzz_check_error(const lt_error_t *err, int max_digits, const char *where);

/* A JSON value that must be a record: an object that serialises. */
void fuzz_check_record(const json_t *record, const char *where);

#endif
