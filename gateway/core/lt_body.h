/*
 * A northbound request body's shape (the ground): the checks every adapter makes before reading its fields. An
 * unknown field is refused, and named only when its name cannot be personal data (a caller who put a citizen's
 * number where a field name goes must not find it echoed in a problem document or a log line).
 */
#ifndef LT_BODY_H
#define LT_BODY_H

#include <jansson.h>
#include <stdbool.h>

#include "lt_error.h"

/* The code of every refusal below (400 problem type "invalid_body"). */
#define LT_BODY_INVALID "invalid_body"

/* A JSON string without an embedded NUL (\u0000 would make C see another string than the caller sent). */
bool lt_body_is_c_string(const json_t *v);

/*
 * body is an object whose fields are all in `known` (NULL-terminated), and each field of `required`
 * (NULL-terminated, a subset of known) is present and a string per lt_body_is_c_string. -1 with LT_ERR_BAD_REQUEST:
 * "body must be a JSON object", "unknown field NAME" (or "body has an unknown field"), "field NAME is required",
 * "field NAME must be a string".
 */
int lt_body_check(const json_t *body, const char *const *known, const char *const *required, lt_error_t *err);

#endif
