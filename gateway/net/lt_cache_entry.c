/* Cached answers: from a record or a "not found", to an answer, their plain text form, freshness and sealing. */
#include "lt_cache_entry.h"

#include <errno.h>
#include <inttypes.h>
#include <openssl/crypto.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lt_json_out.h"

int64_t lt_cache_entry_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

long long lt_cache_entry_age_s(const lt_cache_entry_t *e, int64_t now_ms)
{
    return now_ms > e->fetched_ms ? (long long)((now_ms - e->fetched_ms) / 1000) : 0;
}

static _Atomic uint64_t records_encoded;

/* Takes text (malloc'd) as the body. */
static int set_body(lt_cache_entry_t *e, lt_cache_kind_t kind, char *text, int64_t fetched_ms)
{
    memset(e, 0, sizeof(*e));
    if (text == NULL)
        return -1;
    e->kind = kind;
    e->body = text;
    e->body_len = strlen(text);
    e->fetched_ms = fetched_ms;
    return 0;
}

int lt_cache_entry_from_record(lt_cache_entry_t *e, const json_t *record, int64_t fetched_ms)
{
    if (!json_is_object(record)) {
        memset(e, 0, sizeof(*e));
        return -1;
    }
    atomic_fetch_add(&records_encoded, 1);
    lt_buf_t text;
    lt_buf_init(&text, 1024);
    /* json_dumps' compact text, without its per-character escaping loop */
    if (lt_json_out_value(&text, record) != 0) {
        lt_buf_free(&text);
        memset(e, 0, sizeof(*e));
        return -1;
    }
    return set_body(e, LT_CACHE_FOUND, lt_buf_take(&text), fetched_ms);
}

uint64_t lt_cache_entry_records_encoded(void)
{
    return atomic_load(&records_encoded);
}

/*
 * The record's text is json_dumps' compact form of an object, "{" members "}", and so is "source" as the member
 * jansson writes with JSON_EMBED (an object's members without its braces): the answer is the record's members,
 * then source, inside the record's braces. Nothing is parsed, so a hit could skip the parse as a miss does.
 */
char *lt_cache_entry_answer(const lt_cache_entry_t *e, const json_t *source, size_t *len)
{
    if (e->kind != LT_CACHE_FOUND || e->body_len < 2 || e->body[0] != '{' || e->body[e->body_len - 1] != '}')
        return NULL;
    json_t *member = json_pack("{s:O}", "source", source);
    char *tail = member ? json_dumps(member, JSON_COMPACT | JSON_EMBED) : NULL;
    json_decref(member);
    if (tail == NULL)
        return NULL;
    size_t members = e->body_len - 2, tail_len = strlen(tail);
    char *out = malloc(e->body_len + 1 + tail_len + 1);
    size_t n = e->body_len - 1; /* the record up to its closing brace */
    memcpy(out, e->body, n);
    if (members > 0)
        out[n++] = ',';
    memcpy(out + n, tail, tail_len);
    n += tail_len;
    out[n++] = '}';
    out[n] = '\0';
    free(tail);
    *len = n;
    return out;
}

/* ---- a record's members, from its stored text ---- */

/* p at a string's opening quote: just past its closing one, or NULL. */
static const char *skip_string(const char *p, const char *end)
{
    for (p++; p < end; p++) {
        if (*p == '\\')
            p++;
        else if (*p == '"')
            return p + 1;
    }
    return NULL;
}

/* p at a member's value: the ',' or '}' that ends it at the object's depth, or NULL. */
static const char *skip_value(const char *p, const char *end)
{
    int depth = 0;
    while (p < end) {
        char c = *p;
        if (c == '"') {
            if ((p = skip_string(p, end)) == NULL)
                return NULL;
            continue;
        }
        if (c == '{' || c == '[') {
            depth++;
        } else if (c == '}' || c == ']') {
            if (depth == 0)
                return c == '}' ? p : NULL;
            depth--;
        } else if (c == ',' && depth == 0) {
            return p;
        } else if (c == ' ' || c == '\n' || c == '\t' || c == '\r') {
            return NULL; /* not the compact form */
        }
        p++;
    }
    return NULL;
}

int lt_cache_entry_members(const lt_cache_entry_t *e, lt_cache_member_t *out, int max)
{
    if (e->kind != LT_CACHE_FOUND || e->body_len < 2 || e->body[0] != '{' || e->body[e->body_len - 1] != '}')
        return -1;
    const char *p = e->body + 1, *end = e->body + e->body_len;
    if (p == end - 1)
        return 0;
    int n = 0;
    for (;;) {
        if (n == max || *p != '"')
            return -1;
        const char *key_end = skip_string(p, end);
        if (key_end == NULL || key_end >= end || *key_end != ':')
            return -1;
        const char *value_end = skip_value(key_end + 1, end);
        if (value_end == NULL || value_end == key_end + 1)
            return -1;
        out[n] = (lt_cache_member_t){
            .key = p + 1, .key_len = (size_t)(key_end - p - 2), .text = p, .text_len = (size_t)(value_end - p)};
        out[n].key_plain = memchr(out[n].key, '\\', out[n].key_len) == NULL;
        n++;
        if (*value_end == '}')
            return value_end == end - 1 ? n : -1;
        p = value_end + 1;
    }
}

static int put_source(lt_buf_t *o, const lt_cache_answer_source_t *s)
{
    lt_buf_adds(o, "\"source\":{\"system\":");
    if (lt_json_out_string(o, s->system) != 0)
        return -1;
    lt_buf_adds(o, ",\"request_id\":");
    if (lt_json_out_string(o, s->request_id) != 0)
        return -1;
    lt_buf_adds(o, ",\"fetched_at\":");
    if (lt_json_out_string(o, s->fetched_at) != 0)
        return -1;
    lt_buf_adds(o, ",\"cache\":");
    if (lt_json_out_string(o, s->cache) != 0)
        return -1;
    if (s->nwithheld > 0) {
        lt_buf_adds(o, ",\"withheld\":[");
        for (size_t i = 0; i < s->nwithheld; i++) {
            if (i > 0)
                lt_buf_add(o, ",", 1);
            /* the key as the record's text writes it: the same escapes jansson writes for a string */
            lt_buf_add(o, "\"", 1);
            lt_buf_add(o, s->withheld[i]->key, s->withheld[i]->key_len);
            lt_buf_add(o, "\"", 1);
        }
        lt_buf_add(o, "]", 1);
    }
    lt_buf_add(o, "}", 1);
    return 0;
}

char *lt_cache_entry_answer_members(const lt_cache_member_t *const *members, size_t n,
                                    const lt_cache_answer_source_t *source, size_t *len)
{
    size_t size = 256;
    for (size_t i = 0; i < n; i++)
        size += members[i]->text_len + 1;
    lt_buf_t o;
    lt_buf_init(&o, size);
    lt_buf_add(&o, "{", 1);
    for (size_t i = 0; i < n; i++) {
        lt_buf_add(&o, members[i]->text, members[i]->text_len);
        lt_buf_add(&o, ",", 1);
    }
    if (put_source(&o, source) != 0) {
        free(o.data);
        return NULL;
    }
    lt_buf_add(&o, "}", 1);
    *len = o.len;
    return lt_buf_take(&o);
}

int lt_cache_entry_from_not_found(lt_cache_entry_t *e, const lt_error_t *not_found, int64_t fetched_ms)
{
    json_t *problem = json_pack("{s:s, s:s}", "code", not_found->code, "detail", not_found->detail);
    char *text = problem ? json_dumps(problem, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    json_decref(problem);
    return set_body(e, LT_CACHE_NOT_FOUND, text, fetched_ms);
}

int lt_cache_entry_not_found_error(const lt_cache_entry_t *e, lt_error_t *err)
{
    json_t *body = json_loadb(e->body, e->body_len, 0, NULL);
    if (e->kind != LT_CACHE_NOT_FOUND || !json_is_object(body)) {
        json_decref(body);
        return lt_error_set(err, LT_ERR_INTERNAL, "internal", "a cached answer could not be read");
    }
    const char *code = json_string_value(json_object_get(body, "code"));
    const char *detail = json_string_value(json_object_get(body, "detail"));
    lt_error_set(err, LT_ERR_NOT_FOUND, code ? code : "not_found", "%s", detail ? detail : "no such record");
    json_decref(body);
    return 0;
}

char *lt_cache_entry_encode(const lt_cache_entry_t *e, size_t *len)
{
    char head[96];
    int n = snprintf(head, sizeof(head), "%c %" PRId64 " %" PRId64 " %" PRId64 "\n", (char)e->kind, e->fetched_ms,
                     e->fresh_until_ms, e->stale_until_ms);
    char *text = malloc((size_t)n + e->body_len + 1);
    memcpy(text, head, (size_t)n);
    memcpy(text + n, e->body, e->body_len);
    text[(size_t)n + e->body_len] = '\0';
    *len = (size_t)n + e->body_len;
    return text;
}

/* " <integer>" at *p (a space, then what strtoll reads), advancing *p past it. */
static bool read_field(const char **p, const char *end, int64_t *out)
{
    if (*p >= end || **p != ' ')
        return false;
    char *after;
    errno = 0;
    long long v = strtoll(*p + 1, &after, 10);
    if (after == *p + 1 || after > end || errno != 0)
        return false;
    *out = (int64_t)v;
    *p = after;
    return true;
}

int lt_cache_entry_decode(const char *text, size_t len, lt_cache_entry_t *e)
{
    memset(e, 0, sizeof(*e));
    const char *nl = memchr(text, '\n', len);
    if (nl == NULL || nl - text > 90 || nl == text)
        return -1;
    /* The head lt_cache_entry_encode writes: "<kind> <fetched> <fresh until> <stale until>\n". */
    char kind = text[0];
    const char *p = text + 1;
    if (!read_field(&p, nl, &e->fetched_ms) || !read_field(&p, nl, &e->fresh_until_ms) ||
        !read_field(&p, nl, &e->stale_until_ms) || p != nl || (kind != LT_CACHE_FOUND && kind != LT_CACHE_NOT_FOUND)) {
        memset(e, 0, sizeof(*e));
        return -1;
    }
    e->kind = (lt_cache_kind_t)kind;
    e->body_len = len - (size_t)(nl + 1 - text);
    e->body = malloc(e->body_len + 1);
    memcpy(e->body, nl + 1, e->body_len);
    e->body[e->body_len] = '\0';
    return 0;
}

int lt_cache_entry_seal(const lt_cache_keys_t *keys, const unsigned char name[LT_CACHE_KEY_LEN],
                        const lt_cache_entry_t *e, unsigned char **sealed, size_t *sealed_len)
{
    size_t len;
    char *text = lt_cache_entry_encode(e, &len);
    int rc = lt_cache_crypto_seal(keys, name, text, len, sealed, sealed_len);
    OPENSSL_cleanse(text, len);
    free(text);
    return rc;
}

static int decode_opened(char *text, size_t len, lt_cache_entry_t *e, lt_error_t *err)
{
    int rc = lt_cache_entry_decode(text, len, e);
    OPENSSL_cleanse(text, len);
    free(text);
    if (rc != 0)
        return lt_error_set(err, LT_ERR_INTERNAL, "cache_unreadable", "cached value opened but is malformed");
    return 0;
}

int lt_cache_entry_open(const lt_cache_keys_t *keys, const unsigned char name[LT_CACHE_KEY_LEN],
                        const unsigned char *sealed, size_t sealed_len, lt_cache_entry_t *e, lt_error_t *err)
{
    char *text;
    size_t len;
    if (lt_cache_crypto_open(keys, name, sealed, sealed_len, &text, &len, err) != 0)
        return -1;
    return decode_opened(text, len, e, err);
}

int lt_cache_entry_open_on(lt_cache_crypto_loop_t *loop, const lt_cache_keys_t *keys,
                           const unsigned char name[LT_CACHE_KEY_LEN], const unsigned char *sealed, size_t sealed_len,
                           lt_cache_entry_t *e, lt_error_t *err)
{
    char *text;
    size_t len;
    if (lt_cache_crypto_open_on(loop, keys, name, sealed, sealed_len, &text, &len, err) != 0)
        return -1;
    return decode_opened(text, len, e, err);
}

void lt_cache_entry_copy(lt_cache_entry_t *dst, const lt_cache_entry_t *src)
{
    *dst = *src;
    dst->body = malloc(src->body_len + 1);
    memcpy(dst->body, src->body, src->body_len + 1);
}

void lt_cache_entry_clear(lt_cache_entry_t *e)
{
    if (e->body != NULL) {
        OPENSSL_cleanse(e->body, e->body_len);
        free(e->body);
    }
    memset(e, 0, sizeof(*e));
}
