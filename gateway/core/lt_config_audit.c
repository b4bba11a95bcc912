/* Reading the "audit" section (lt_config.h's lt_audit_conf_t; docs/operations.md, "audit"). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lt_conf.h"
#include "lt_config.h"
#include "lt_text.h"

#define INSTANCE_MAX   64
#define INSTANCE_CHARS "._-"

typedef struct {
    char *dir, *fsync, *instance;
    long long fsync_interval_ms, rotate_bytes, queue_max, unusual_subjects_per_hour;
    bool rotate_daily;
} audit_t;

static const lt_conf_field_t audit_fields[] = {
    {LT_CONF_FIELD(audit_t, dir, LT_CONF_STRING, true)},
    {LT_CONF_FIELD(audit_t, fsync, LT_CONF_STRING, false), .default_str = "always"},
    {LT_CONF_FIELD(audit_t, fsync_interval_ms, LT_CONF_INT, false), .min = 1, .max = 60000, .default_int = 1000},
    {LT_CONF_FIELD(audit_t, rotate_bytes, LT_CONF_INT, false), .min = 4096, .max = 1LL << 40,
     .default_int = 64LL << 20},
    {LT_CONF_FIELD(audit_t, rotate_daily, LT_CONF_BOOL, false), .default_int = 1},
    {LT_CONF_FIELD(audit_t, queue_max, LT_CONF_INT, false), .min = 1, .max = 1000000, .default_int = 10000},
    {LT_CONF_FIELD(audit_t, instance, LT_CONF_STRING, false)},
    {LT_CONF_FIELD(audit_t, unusual_subjects_per_hour, LT_CONF_INT, false), .min = 0, .max = 1000000,
     .default_int = 1000},
    LT_CONF_END,
};

static int fail(lt_error_t *err, const char *what)
{
    return lt_error_set(err, LT_ERR_INTERNAL, "config", "audit.%s", what);
}

const char *lt_config_audit_fsync_name(lt_audit_fsync_t f)
{
    return f == LT_AUDIT_FSYNC_ALWAYS ? "always" : f == LT_AUDIT_FSYNC_INTERVAL ? "interval" : "never";
}

static int read_fsync(const char *name, lt_audit_fsync_t *out)
{
    for (lt_audit_fsync_t f = LT_AUDIT_FSYNC_ALWAYS; f <= LT_AUDIT_FSYNC_NEVER; f++)
        if (strcmp(name, lt_config_audit_fsync_name(f)) == 0) {
            *out = f;
            return 0;
        }
    return -1;
}

/* The host name, when it can be an instance id; "gateway" otherwise. */
static char *default_instance(void)
{
    char host[256] = "";
    if (gethostname(host, sizeof(host) - 1) != 0 || !lt_text_is_token(host, INSTANCE_MAX, INSTANCE_CHARS))
        snprintf(host, sizeof(host), "gateway");
    return strdup(host);
}

int lt_config_load_audit(lt_config_t *c, const json_t *obj, lt_error_t *err)
{
    lt_audit_conf_t *ac = &c->audit;
    if (obj == NULL)
        return 0;
    audit_t raw = {0};
    if (lt_conf_read(obj, "audit", audit_fields, &raw, err) != 0) {
        lt_conf_free(audit_fields, &raw);
        return -1;
    }
    ac->enabled = true;
    ac->dir = lt_conf_resolve_path(raw.dir);
    ac->fsync_interval_ms = raw.fsync_interval_ms;
    ac->rotate_bytes = raw.rotate_bytes;
    ac->rotate_daily = raw.rotate_daily;
    ac->queue_max = raw.queue_max;
    ac->unusual_subjects_per_hour = raw.unusual_subjects_per_hour;
    ac->instance = raw.instance != NULL ? raw.instance : default_instance();
    raw.instance = NULL;
    int rc = 0;
    if (raw.dir[0] == '\0')
        rc = fail(err, "dir: must name a directory");
    else if (read_fsync(raw.fsync, &ac->fsync) != 0)
        rc = fail(err, "fsync: must be always, interval or never");
    else if (!lt_text_is_token(ac->instance, INSTANCE_MAX, INSTANCE_CHARS))
        rc = fail(err, "instance: 1-64 characters of A-Z, a-z, 0-9, '.', '_' or '-'");
    free(raw.dir);
    free(raw.fsync);
    return rc;
}

void lt_config_free_audit(lt_config_t *c)
{
    free(c->audit.dir);
    free(c->audit.instance);
    memset(&c->audit, 0, sizeof(c->audit));
}
