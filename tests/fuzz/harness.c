/* Shared by the fuzz targets: scratch files, adapter settings, input framing, error checks. */
#include "harness.h"

#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lt_adapters.h"
#include "lt_log.h"
#include "lt_text.h"
#include "lt_xml.h"

#ifndef LT_SOURCE_DIR
#error "LT_SOURCE_DIR must name the source tree (config/dev.json is read from it)"
#endif

static char scratch[64];

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    return remove(path);
}

static void remove_scratch(void)
{
    if (scratch[0] != '\0')
        nftw(scratch, remove_entry, 8, FTW_DEPTH | FTW_PHYS);
}

void fuzz_fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("fuzz check failed: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    /* libFuzzer ends the process from its signal handler, so atexit() would not clean up. */
    remove_scratch();
    abort();
}

void fuzz_init(void)
{
    if (scratch[0] != '\0')
        return;
    /* Errors only: a warning per input (an upstream refusing our signature, say) would drown libFuzzer's output. */
    lt_log_set_level(LT_LOG_ERROR);
    lt_xml_init();
    const char *tmp = getenv("TMPDIR");
    snprintf(scratch, sizeof(scratch), "%s/lt-fuzz-XXXXXX", tmp && *tmp && strlen(tmp) < 40 ? tmp : "/tmp");
    if (mkdtemp(scratch) == NULL)
        fuzz_fail("cannot make a scratch directory under %s", scratch);
    atexit(remove_scratch);
}

const char *fuzz_dir(void)
{
    fuzz_init();
    return scratch;
}

/* A few names, made once each: the settings and the config target need no more. */
#define MAX_FILES 16
static struct {
    char name[32];
    char path[128];
} files[MAX_FILES];

const char *fuzz_file(const char *name, const char *text)
{
    size_t i = 0;
    for (; i < MAX_FILES && files[i].name[0] != '\0'; i++)
        if (strcmp(files[i].name, name) == 0)
            return files[i].path;
    if (i == MAX_FILES || strlen(name) >= sizeof(files[i].name))
        fuzz_fail("fuzz_file: too many files, or the name %s is too long", name);
    snprintf(files[i].path, sizeof(files[i].path), "%s/%s", fuzz_dir(), name);
    FILE *f = fopen(files[i].path, "w");
    if (f == NULL || fputs(text, f) < 0 || fclose(f) != 0)
        fuzz_fail("cannot write %s", files[i].path);
    snprintf(files[i].name, sizeof(files[i].name), "%s", name);
    return files[i].path;
}

/* ---- adapter settings ---- */

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

/*
 * The adapter's service section: tests/fuzz/samples.json's "<name>"."service" when it has one (for settings the
 * dev config's cannot stand in for), else config/dev.json's upstreams.<name>.service; in a copy whose every
 * "*_file" string names the stand-in secret file (a new reference).
 */
static json_t *service_section(const json_t *samples, const json_t *dev, const char *name)
{
    const json_t *section = json_object_get(json_object_get(samples, name), "service");
    if (section == NULL)
        section = json_object_get(json_object_get(json_object_get(dev, "upstreams"), name), "service");
    if (!json_is_object(section))
        fuzz_fail("config/dev.json has no upstreams.%s.service (nor tests/fuzz/samples.json a %s.service): add one so "
                  "that the adapter can be fuzzed",
                  name, name);
    json_t *copy = json_deep_copy(section);
    const char *key;
    json_t *v;
    json_object_foreach(copy, key, v)
    {
        if (ends_with(key, "_file") && json_is_string(v))
            json_object_set_new(copy, key, json_string(fuzz_file("secret", FUZZ_SECRET "\n")));
    }
    return copy;
}

static json_t *load_json(const char *path)
{
    json_error_t jerr;
    json_t *doc = json_load_file(path, 0, &jerr);
    if (doc == NULL)
        fuzz_fail("%s: %s", path, jerr.text);
    return doc;
}

static void *settings[64];

static void free_settings(void)
{
    for (size_t i = 0; lt_adapters[i] != NULL && i < 64; i++)
        if (settings[i] != NULL)
            lt_adapters[i]->settings_free(settings[i]);
}

void *const *fuzz_adapter_settings(void)
{
    static bool loaded;
    if (loaded)
        return settings;
    json_t *dev = load_json(LT_SOURCE_DIR "/config/dev.json");
    json_t *samples = load_json(LT_SOURCE_DIR "/tests/fuzz/samples.json");
    for (size_t i = 0; lt_adapters[i] != NULL; i++) {
        if (i >= 64)
            fuzz_fail("more than 64 adapters: make harness.c's table bigger");
        const lt_adapter_t *a = lt_adapters[i];
        json_t *section = service_section(samples, dev, a->name);
        char path[128];
        snprintf(path, sizeof(path), "upstreams.%s.service", a->name);
        lt_error_t err = {0};
        if (a->settings_load(section, path, &settings[i], &err) != 0)
            fuzz_fail("%s: settings_load: %s (the section is config/dev.json's, or tests/fuzz/samples.json's)", a->name,
                      err.detail);
        json_decref(section);
    }
    json_decref(dev);
    json_decref(samples);
    loaded = true;
    atexit(free_settings);
    return settings;
}

const lt_adapter_t *fuzz_find_adapter(const char *name, size_t *index)
{
    for (size_t i = 0; name != NULL && lt_adapters[i] != NULL; i++)
        if (strcmp(lt_adapters[i]->name, name) == 0) {
            if (index != NULL)
                *index = i;
            return lt_adapters[i];
        }
    return NULL;
}

const lt_operation_t *fuzz_find_operation(const lt_adapter_t *a, const char *name)
{
    for (const lt_operation_t *op = a->operations; name != NULL && op->name != NULL; op++)
        if (strcmp(op->name, name) == 0)
            return op;
    return NULL;
}

/* ---- framing ---- */

char *fuzz_strndup(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (size > 0)
        memcpy(s, data, size);
    s[size] = '\0';
    return s;
}

int fuzz_frame_read(const uint8_t *data, size_t size, fuzz_frame_t *frame)
{
    memset(frame, 0, sizeof(*frame));
    size_t pos = 0;
    while (pos < size) {
        const uint8_t *nl = memchr(data + pos, '\n', size - pos);
        if (nl == NULL)
            break;
        size_t len = (size_t)(nl - (data + pos));
        if (len == 0) {
            frame->body = fuzz_strndup(data + pos + 1, size - pos - 1);
            frame->body_len = size - pos - 1;
            return 0;
        }
        const uint8_t *colon = memchr(data + pos, ':', len);
        if (colon != NULL && frame->nheaders < FUZZ_MAX_HEADERS) {
            size_t nlen = (size_t)(colon - (data + pos));
            size_t vstart = nlen + 1;
            while (vstart < len && data[pos + vstart] == ' ')
                vstart++;
            frame->headers[frame->nheaders].name = fuzz_strndup(data + pos, nlen);
            frame->headers[frame->nheaders].value = fuzz_strndup(data + pos + vstart, len - vstart);
            frame->nheaders++;
        }
        pos += len + 1;
    }
    fuzz_frame_free(frame);
    return -1;
}

void fuzz_frame_free(fuzz_frame_t *frame)
{
    for (size_t i = 0; i < frame->nheaders; i++) {
        free(frame->headers[i].name);
        free(frame->headers[i].value);
    }
    free(frame->body);
    memset(frame, 0, sizeof(*frame));
}

const char *fuzz_frame_get(const fuzz_frame_t *frame, const char *name)
{
    for (size_t i = 0; i < frame->nheaders; i++)
        if (strcmp(frame->headers[i].name, name) == 0)
            return frame->headers[i].value;
    return NULL;
}

/* ---- properties ---- */

static bool is_code_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
           c == '-';
}

void fuzz_check_error(const lt_error_t *err, int max_digits, const char *where)
{
    int status = lt_error_http_status(err->kind);
    FUZZ_CHECK(err->kind > LT_ERR_NONE && err->kind <= LT_ERR_CONFLICT && status >= 400 && status < 600,
               "%s: failed with error kind %d", where, (int)err->kind);
    FUZZ_CHECK(err->code[0] != '\0', "%s: failed with an empty error code", where);
    for (const char *p = err->code; *p; p++)
        FUZZ_CHECK(is_code_char(*p), "%s: error code \"%s\" has a character outside [A-Za-z0-9._-]", where, err->code);
    FUZZ_CHECK(memchr(err->detail, '\0', sizeof(err->detail)) != NULL, "%s: error detail is not terminated", where);
    FUZZ_CHECK(lt_text_is_utf8(err->detail), "%s: error detail is not valid UTF-8: %s", where, err->detail);
    int run = 0;
    for (const char *p = err->detail; *p; p++) {
        run = (*p >= '0' && *p <= '9') ? run + 1 : 0;
        FUZZ_CHECK(run <= max_digits, "%s: error detail holds a run of more than %d digits: %s", where, max_digits,
                   err->detail);
    }
    FUZZ_CHECK(err->retry_after_s >= 0 && err->retry_after_s <= LT_RETRY_AFTER_MAX_S,
               "%s: retry_after_s %d is outside [0, %d]", where, err->retry_after_s, LT_RETRY_AFTER_MAX_S);
    FUZZ_CHECK(err->upstream_wait_s >= 0 && err->upstream_wait_s <= LT_RETRY_AFTER_MAX_S,
               "%s: upstream_wait_s %d is outside [0, %d]", where, err->upstream_wait_s, LT_RETRY_AFTER_MAX_S);
}

void fuzz_check_record(const json_t *record, const char *where)
{
    FUZZ_CHECK(json_is_object(record), "%s: the record is not a JSON object", where);
    char *text = json_dumps(record, JSON_COMPACT);
    FUZZ_CHECK(text != NULL, "%s: the record does not serialise", where);
    free(text);
}
