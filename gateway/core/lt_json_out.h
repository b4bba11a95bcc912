/*
 * Writing JSON text byte for byte as jansson's json_dumps(JSON_COMPACT) writes it, without building json_t
 * values first: for the texts a cached hit writes (its answer's "source", its audit record), where building and
 * serialising a tree cost more than the rest of the hit. Plain strings are copied; any other string is escaped
 * by jansson itself, so the escaping rules are jansson's, not a copy of them. The text goes into an lt_buf_t
 * (lt_buf_add and lt_buf_adds for ready-made text and punctuation).
 */
#ifndef LT_JSON_OUT_H
#define LT_JSON_OUT_H

#include <jansson.h>
#include <stddef.h>

#include "lt_buf.h"

/* s as a JSON string. -1 (nothing written) when s is not valid UTF-8, which json_string() refuses too. */
int lt_json_out_string(lt_buf_t *o, const char *s);
/* s as a JSON string, or null when s is NULL or not valid UTF-8. */
void lt_json_out_string_or_null(lt_buf_t *o, const char *s);
void lt_json_out_int(lt_buf_t *o, long long v);

/*
 * obj as json_dumps(obj, JSON_COMPACT | JSON_SORT_KEYS) writes it, when it is an object of at most
 * LT_JSON_OUT_FLAT_MAX members whose values are all strings (a lookup's validated input): 0. -1, with nothing
 * written, for anything else (the caller asks jansson).
 */
#define LT_JSON_OUT_FLAT_MAX 16
int lt_json_out_flat_sorted(lt_buf_t *o, const json_t *obj);

/*
 * v as json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY) writes it: objects in their members' order, arrays, strings,
 * integers, true, false and null walked here; a real, a string needing escapes and any key that is not plain
 * written by jansson itself. For a record stored as the text of its members (a cache entry). 0, or -1 for what
 * jansson cannot write either (a string that is not UTF-8) and for nesting deeper than LT_JSON_OUT_DEPTH_MAX (a
 * record is a few levels deep; a cycle never ends): then o holds part of the text, for the caller to drop.
 */
#define LT_JSON_OUT_DEPTH_MAX 64
int lt_json_out_value(lt_buf_t *o, const json_t *v);

#endif
