/*
 * The strict request-head check and the split that follows it (lt_http_head), on the bytes a client sends: the
 * one parser between a hostile connection and the gateway.
 *
 * Checked besides the sanitizers:
 *   - a head is found no later than the bytes hold one, and the same wherever the bytes are cut in two reads;
 *   - a passed head is split into a method and target with no space or control character, and into as many
 *     fields as the check counted, whose names are non-empty and hold no ':' and whose values hold no CR or
 *     LF and no whitespace at either end;
 *   - a refusal has a 4xx status, a code and a detail.
 */
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "lt_http_head.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const lt_http_head_limits_t LIMITS = {.max_request_line = 512, .max_headers = 32, .max_head_bytes = 4096};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    fuzz_init();
    return 0;
}

static bool has_control_or_space(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s <= 0x20 || *s == 0x7f)
            return true;
    return false;
}

static void check_split(const char *buf, size_t head_len, size_t nfields)
{
    char *head = malloc(head_len + 1);
    memcpy(head, buf, head_len);
    head[head_len] = '\0';
    lt_http_field_t *fields = calloc(nfields + 1, sizeof(*fields));
    lt_http_head_parts_t parts;
    lt_http_head_split(head, head_len, fields, &parts);
    FUZZ_CHECK(parts.nfields == nfields, "split: %zu fields, the check counted %zu", parts.nfields, nfields);
    FUZZ_CHECK(*parts.method && !has_control_or_space(parts.method), "split: a bad method");
    FUZZ_CHECK(*parts.target && !has_control_or_space(parts.target), "split: a bad target");
    FUZZ_CHECK(parts.minor_version == 0 || parts.minor_version == 1, "split: HTTP/1.%d", parts.minor_version);
    for (size_t i = 0; i < parts.nfields; i++) {
        const char *n = fields[i].name, *v = fields[i].value;
        FUZZ_CHECK(*n && strchr(n, ':') == NULL && !has_control_or_space(n), "split: field %zu's name", i);
        FUZZ_CHECK(strpbrk(v, "\r\n") == NULL, "split: field %zu's value holds a line break", i);
        size_t vl = strlen(v);
        FUZZ_CHECK(vl == 0 || (v[0] != ' ' && v[0] != '\t' && v[vl - 1] != ' ' && v[vl - 1] != '\t'),
                   "split: field %zu's value is not trimmed", i);
    }
    free(fields);
    free(head);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *buf = (const char *)data;
    size_t scanned = 0;
    size_t end = lt_http_head_end(buf, size, &scanned);
    /* the same bytes in two reads, cut where the first byte says */
    size_t cut = size > 0 ? data[0] % (size + 1) : 0, scanned2 = 0;
    size_t end2 = lt_http_head_end(buf, cut, &scanned2);
    if (end2 == 0)
        end2 = lt_http_head_end(buf, size, &scanned2);
    FUZZ_CHECK(end == end2, "the head ends at %zu in one read, %zu in two", end, end2);
    FUZZ_CHECK(end <= size, "the head ends past the bytes");
    lt_http_head_t h;
    lt_head_verdict_t v = lt_http_head_check(buf, size, end, &LIMITS, &h);
    if (v == LT_HEAD_BAD)
        FUZZ_CHECK(h.status >= 400 && h.status < 500 && h.code != NULL && h.detail != NULL, "a refusal without why");
    if (v == LT_HEAD_OK) {
        FUZZ_CHECK(end > 0 && h.content_length >= 0, "a passed head without a length");
        check_split(buf, end, h.nfields);
    }
    return 0;
}
