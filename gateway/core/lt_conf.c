/* Typed key tables over jansson objects. */
#include "lt_conf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char base_dir[4096];
static lt_conf_observer_t observer;
static void *observer_ctx;

void lt_conf_set_observer(lt_conf_observer_t fn, void *ctx)
{
    observer = fn;
    observer_ctx = ctx;
}

void lt_conf_note(const char *path, const char *key, lt_conf_type_t type)
{
    const lt_conf_field_t row = {.key = key, .type = type};
    if (observer != NULL)
        observer(path, &row, observer_ctx);
}

void lt_conf_set_base_dir(const char *dir)
{
    snprintf(base_dir, sizeof(base_dir), "%s", dir ? dir : "");
}

bool lt_conf_is_comment(const char *key)
{
    return key[0] == '/' && key[1] == '/';
}

char *lt_conf_resolve_path(const char *p)
{
    char *out;
    if (p[0] == '/' || base_dir[0] == '\0')
        return strdup(p);
    if (asprintf(&out, "%s/%s", base_dir, p) < 0)
        return NULL;
    return out;
}

static const char *type_name(lt_conf_type_t t)
{
    switch (t) {
    case LT_CONF_STRING:
        return "a string";
    case LT_CONF_INT:
        return "an integer";
    case LT_CONF_BOOL:
        return "true or false";
    case LT_CONF_FILE:
        return "a file path";
    case LT_CONF_OBJECT:
        return "an object";
    case LT_CONF_ARRAY:
        return "a list";
    }
    return "?";
}

static int fail(lt_error_t *err, const char *path, const char *key, const char *what)
{
    return lt_error_set(err, LT_ERR_INTERNAL, "config", "%s%s%s: %s", path, *path ? "." : "", key, what);
}

static const lt_conf_field_t *find_field(const lt_conf_field_t *fields, const char *key)
{
    for (const lt_conf_field_t *f = fields; f->key != NULL; f++)
        if (strcmp(f->key, key) == 0)
            return f;
    return NULL;
}

static int read_field(const lt_conf_field_t *f, const json_t *v, const char *path, void *dest, lt_error_t *err)
{
    char *slot = (char *)dest + f->offset;
    char msg[256];
    switch (f->type) {
    case LT_CONF_STRING:
    case LT_CONF_FILE:
        if (!json_is_string(v))
            break;
        free(*(char **)slot);
        *(char **)slot =
            f->type == LT_CONF_FILE ? lt_conf_resolve_path(json_string_value(v)) : strdup(json_string_value(v));
        if (f->type == LT_CONF_FILE && access(*(char **)slot, R_OK) != 0) {
            snprintf(msg, sizeof(msg), "cannot read file '%s'", *(char **)slot);
            return fail(err, path, f->key, msg);
        }
        return 0;
    case LT_CONF_INT:
        if (!json_is_integer(v))
            break;
        if (json_integer_value(v) < f->min || json_integer_value(v) > f->max) {
            snprintf(msg, sizeof(msg), "must be between %lld and %lld", f->min, f->max);
            return fail(err, path, f->key, msg);
        }
        *(long long *)slot = json_integer_value(v);
        return 0;
    case LT_CONF_BOOL:
        if (!json_is_boolean(v))
            break;
        *(bool *)slot = json_is_true(v);
        return 0;
    case LT_CONF_OBJECT:
        if (!json_is_object(v))
            break;
        *(const json_t **)slot = v;
        return 0;
    case LT_CONF_ARRAY:
        if (!json_is_array(v))
            break;
        *(const json_t **)slot = v;
        return 0;
    }
    snprintf(msg, sizeof(msg), "must be %s", type_name(f->type));
    return fail(err, path, f->key, msg);
}

static void set_default(const lt_conf_field_t *f, void *dest)
{
    char *slot = (char *)dest + f->offset;
    switch (f->type) {
    case LT_CONF_STRING:
    case LT_CONF_FILE:
        *(char **)slot = f->default_str ? strdup(f->default_str) : NULL;
        break;
    case LT_CONF_INT:
        *(long long *)slot = f->default_int;
        break;
    case LT_CONF_BOOL:
        *(bool *)slot = f->default_int != 0;
        break;
    case LT_CONF_OBJECT:
    case LT_CONF_ARRAY:
        *(const json_t **)slot = NULL;
        break;
    }
}

int lt_conf_read(const json_t *obj, const char *path, const lt_conf_field_t *fields, void *dest, lt_error_t *err)
{
    for (const lt_conf_field_t *f = fields; observer != NULL && f->key != NULL; f++)
        observer(path, f, observer_ctx);
    if (!json_is_object(obj))
        return lt_error_set(err, LT_ERR_INTERNAL, "config", "%s: must be an object", *path ? path : "(root)");
    const char *key;
    const json_t *v;
    json_object_foreach((json_t *)obj, key, v)
    {
        if (lt_conf_is_comment(key))
            continue;
        if (find_field(fields, key) == NULL)
            return fail(err, path, key, "unknown key");
    }
    for (const lt_conf_field_t *f = fields; f->key != NULL; f++) {
        v = json_object_get(obj, f->key);
        if (v == NULL) {
            if (f->required)
                return fail(err, path, f->key, "required key is missing");
            set_default(f, dest);
            continue;
        }
        if (read_field(f, v, path, dest, err) != 0)
            return -1;
    }
    return 0;
}

void lt_conf_free(const lt_conf_field_t *fields, void *dest)
{
    for (const lt_conf_field_t *f = fields; f->key != NULL; f++) {
        if (f->type == LT_CONF_STRING || f->type == LT_CONF_FILE) {
            char **slot = (char **)((char *)dest + f->offset);
            free(*slot);
            *slot = NULL;
        }
    }
}
