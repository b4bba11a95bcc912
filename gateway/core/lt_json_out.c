/* JSON text as json_dumps(JSON_COMPACT) writes it (lt_json_out.h). */
#include "lt_json_out.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "lt_text.h"

/* The length of s when jansson writes it unchanged between quotes (no quote, backslash or control character, and
 * ASCII only: the rest is checked as UTF-8 by jansson on the other path); -1 otherwise. One pass, as this runs for
 * every string of every audit record and answer. */
static long plain_length(const char *s)
{
    const char *p = s;
    for (unsigned char c; (c = (unsigned char)*p) != '\0'; p++)
        if (c < 0x20 || c > 0x7f || c == '"' || c == '\\')
            return -1;
    return p - s;
}

int lt_json_out_string(lt_buf_t *o, const char *s)
{
    long n = plain_length(s);
    if (n >= 0) {
        lt_buf_reserve(o, (size_t)n + 2);
        char *p = o->data + o->len;
        p[0] = '"';
        memcpy(p + 1, s, (size_t)n);
        p[n + 1] = '"';
        p[n + 2] = '\0';
        o->len += (size_t)n + 2;
        return 0;
    }
    json_t *j = json_string(s);
    char *text = j != NULL ? json_dumps(j, JSON_ENCODE_ANY | JSON_COMPACT) : NULL;
    json_decref(j);
    if (text == NULL)
        return -1;
    lt_buf_adds(o, text);
    free(text);
    return 0;
}

void lt_json_out_string_or_null(lt_buf_t *o, const char *s)
{
    if (s == NULL || lt_json_out_string(o, s) != 0)
        lt_buf_add(o, "null", 4);
}

void lt_json_out_int(lt_buf_t *o, long long v)
{
    char digits[24];
    size_t n = 0;
    unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
    do {
        digits[sizeof(digits) - 1 - n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u != 0);
    if (v < 0)
        digits[sizeof(digits) - 1 - n++] = '-';
    lt_buf_add(o, digits + sizeof(digits) - n, n);
}

/* Keys in the order jansson's JSON_SORT_KEYS gives: bytes compared as unsigned, a prefix first (strcmp). */
static int by_key(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int lt_json_out_flat_sorted(lt_buf_t *o, const json_t *obj)
{
    size_t n = json_object_size(obj);
    if (!json_is_object(obj) || n > LT_JSON_OUT_FLAT_MAX)
        return -1;
    const char *keys[LT_JSON_OUT_FLAT_MAX];
    size_t i = 0;
    const char *key;
    json_t *value;
    json_object_foreach((json_t *)obj, key, value)
    {
        /* a string with a NUL inside is not what its C text says: jansson writes it */
        if (!json_is_string(value) || strlen(json_string_value(value)) != json_string_length(value))
            return -1;
        keys[i++] = key;
    }
    qsort(keys, n, sizeof(keys[0]), by_key);
    size_t start = o->len;
    lt_buf_add(o, "{", 1);
    for (i = 0; i < n; i++) {
        if (i > 0)
            lt_buf_add(o, ",", 1);
        int rc = lt_json_out_string(o, keys[i]);
        lt_buf_add(o, ":", 1);
        if (rc != 0 || lt_json_out_string(o, json_string_value(json_object_get(obj, keys[i]))) != 0) {
            o->len = start; /* not UTF-8: jansson refuses it, and says so */
            o->data[start] = '\0';
            return -1;
        }
    }
    lt_buf_add(o, "}", 1);
    return 0;
}

/* v as jansson writes it; -1 when it cannot (a string that is not UTF-8). */
static int out_jansson(lt_buf_t *o, const json_t *v)
{
    char *text = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
    if (text == NULL)
        return -1;
    lt_buf_adds(o, text);
    free(text);
    return 0;
}

/* A jansson string: valid UTF-8 (unless made with a _nocheck call), which json_dumps copies unchanged (no
 * JSON_ENSURE_ASCII). A quote, a backslash, a control character, a NUL inside or any byte past ASCII in a string
 * that is not UTF-8 needs jansson: it escapes the first kind and refuses the last. */
static int out_json_string(lt_buf_t *o, const json_t *s)
{
    const char *text = json_string_value(s);
    size_t len = json_string_length(s);
    bool ascii = true;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)text[i];
        if (c < 0x20 || c == '"' || c == '\\')
            return out_jansson(o, s);
        ascii = ascii && c < 0x80;
    }
    if (!ascii && !lt_text_is_utf8(text))
        return -1;
    lt_buf_add(o, "\"", 1);
    lt_buf_add(o, text, len);
    lt_buf_add(o, "\"", 1);
    return 0;
}

static int out_value(lt_buf_t *o, const json_t *v, int depth)
{
    const char *key;
    json_t *member;
    size_t i, n = 0;
    if (depth > LT_JSON_OUT_DEPTH_MAX)
        return -1;
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        lt_buf_add(o, "{", 1);
        json_object_foreach((json_t *)v, key, member)
        {
            if (n++ > 0)
                lt_buf_add(o, ",", 1);
            if (lt_json_out_string(o, key) != 0)
                return -1;
            lt_buf_add(o, ":", 1);
            if (out_value(o, member, depth + 1) != 0)
                return -1;
        }
        lt_buf_add(o, "}", 1);
        return 0;
    case JSON_ARRAY:
        lt_buf_add(o, "[", 1);
        json_array_foreach(v, i, member)
        {
            if (i > 0)
                lt_buf_add(o, ",", 1);
            if (out_value(o, member, depth + 1) != 0)
                return -1;
        }
        lt_buf_add(o, "]", 1);
        return 0;
    case JSON_STRING:
        return out_json_string(o, v);
    case JSON_INTEGER:
        lt_json_out_int(o, (long long)json_integer_value(v));
        return 0;
    case JSON_TRUE:
        lt_buf_add(o, "true", 4);
        return 0;
    case JSON_FALSE:
        lt_buf_add(o, "false", 5);
        return 0;
    case JSON_NULL:
        lt_buf_add(o, "null", 4);
        return 0;
    default: /* JSON_REAL: its digits are jansson's to choose */
        return out_jansson(o, v);
    }
}

int lt_json_out_value(lt_buf_t *o, const json_t *v)
{
    return out_value(o, v, 0);
}
