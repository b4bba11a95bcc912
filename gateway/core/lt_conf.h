/*
 * Config primitives: typed key tables over a jansson object, in the spirit of
 * pgbouncer's CF_ABS rows. A table lists every key a section may hold; any
 * other key, a wrong type or an out-of-range value stops start-up with a
 * message that names the full key path (e.g. "upstreams.population.timeout_ms").
 * The core reads its own sections with this, and each adapter reads its
 * "service" section with the same tables.
 */
#ifndef LT_CONF_H
#define LT_CONF_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "lt_error.h"

typedef enum {
    LT_CONF_STRING, /* char *, malloc'd copy */
    LT_CONF_INT,    /* long long, within [min, max] */
    LT_CONF_BOOL,   /* bool */
    LT_CONF_FILE,   /* char *: a path that must exist and be readable at load time */
    LT_CONF_OBJECT, /* json_t * borrowed: a nested section read by its own table */
    LT_CONF_ARRAY,  /* json_t * borrowed: a list, read by its owner */
} lt_conf_type_t;

typedef struct lt_conf_field {
    const char *key;
    lt_conf_type_t type;
    size_t offset; /* offsetof(dest struct, member) */
    bool required;
    long long min, max;      /* LT_CONF_INT only */
    const char *default_str; /* LT_CONF_STRING default when absent, may be NULL */
    long long default_int;   /* LT_CONF_INT / LT_CONF_BOOL default when absent */
} lt_conf_field_t;

/* The row of member k of struct s, key "k" in the file: LT_CONF_FIELD(my_t, timeout_ms, LT_CONF_INT, false). */
#define LT_CONF_FIELD(s, k, t, req) .key = #k, .type = t, .offset = offsetof(s, k), .required = req

#define LT_CONF_END                                                                                                    \
    {                                                                                                                  \
        NULL, 0, 0, false, 0, 0, NULL, 0                                                                               \
    }

/*
 * Reads obj into dest according to fields (terminated by LT_CONF_END).
 * `path` is the key path of obj itself, used in messages ("" for the root).
 * Strings are malloc'd; free them with lt_conf_free().
 */
/*
 * Relative LT_CONF_FILE paths are resolved against this directory (the config
 * file's own), so a config works from any working directory. The stored value
 * is the resolved path. NULL or "" means the working directory.
 */
void lt_conf_set_base_dir(const char *dir);
/* malloc'd path: absolute paths as given, relative ones joined to the base directory (for paths that need not
 * exist yet, such as a data directory). */
char *lt_conf_resolve_path(const char *p);

/*
 * JSON has no comments, so a key that starts with "//" is one, at any depth
 * ("// why": "..."): it is skipped wherever the config is read, so sample
 * configs can explain themselves. Every other unknown key stays an error.
 */
bool lt_conf_is_comment(const char *key);

int lt_conf_read(const json_t *obj, const char *path, const lt_conf_field_t *fields, void *dest, lt_error_t *err);

/*
 * An observer sees every row of every table lt_conf_read reads a section with, whether the file gives the key or
 * not (`path` is the section's key path): `lienthong-gateway --print-config-keys` lists them, so the tests can hold
 * schemas/config.schema.json to the tables. NULL, the default, observes nothing. Set it before loading, on the
 * thread that loads.
 */
typedef void (*lt_conf_observer_t)(const char *path, const lt_conf_field_t *field, void *ctx);
void lt_conf_set_observer(lt_conf_observer_t observer, void *ctx);
/* A key a loader reads by hand rather than with a table (a list of objects, say), shown to the observer as a row. */
void lt_conf_note(const char *path, const char *key, lt_conf_type_t type);

void lt_conf_free(const lt_conf_field_t *fields, void *dest);

#endif
