#include "lt_body.h"

#include <string.h>

/* Longer names are never quoted: no field of ours is this long. */
#define FIELD_NAME_MAX 40

static bool in_list(const char *const *list, const char *key)
{
    for (size_t i = 0; list[i] != NULL; i++)
        if (strcmp(list[i], key) == 0)
            return true;
    return false;
}

/* A field name is quoted back only when it cannot be personal data: letters, '_' and '-', no digits. */
static bool is_quotable_name(const char *key)
{
    size_t n = 0;
    for (; key[n]; n++) {
        char c = key[n];
        if (n >= FIELD_NAME_MAX || !((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == '-'))
            return false;
    }
    return n > 0;
}

bool lt_body_is_c_string(const json_t *v)
{
    return json_is_string(v) && strlen(json_string_value(v)) == json_string_length(v);
}

int lt_body_check(const json_t *body, const char *const *known, const char *const *required, lt_error_t *err)
{
    if (!json_is_object(body))
        return lt_error_set(err, LT_ERR_BAD_REQUEST, LT_BODY_INVALID, "body must be a JSON object");
    const char *key;
    const json_t *v;
    json_object_foreach((json_t *)body, key, v)
    {
        if (in_list(known, key))
            continue;
        if (is_quotable_name(key))
            return lt_error_set(err, LT_ERR_BAD_REQUEST, LT_BODY_INVALID, "unknown field %s", key);
        return lt_error_set(err, LT_ERR_BAD_REQUEST, LT_BODY_INVALID, "body has an unknown field");
    }
    for (size_t i = 0; required[i] != NULL; i++) {
        v = json_object_get(body, required[i]);
        if (v == NULL)
            return lt_error_set(err, LT_ERR_BAD_REQUEST, LT_BODY_INVALID, "field %s is required", required[i]);
        if (!lt_body_is_c_string(v))
            return lt_error_set(err, LT_ERR_BAD_REQUEST, LT_BODY_INVALID, "field %s must be a string", required[i]);
    }
    return 0;
}
