/* Reading the "clients" section (lt_client.h, docs/operations.md "Clients"), and what a client may do. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lt_conf.h"
#include "lt_config.h"
#include "lt_text.h"

typedef struct {
    char *issuer, *cn, *san, *fingerprint, *purpose_pattern;
    bool require_procedure_code;
    const json_t *allow, *fields, *return_url_hosts, *rate_limits;
} client_t;

static const lt_conf_field_t client_fields[] = {
    {LT_CONF_FIELD(client_t, issuer, LT_CONF_STRING, true)},
    {LT_CONF_FIELD(client_t, cn, LT_CONF_STRING, false)},
    {LT_CONF_FIELD(client_t, san, LT_CONF_STRING, false)},
    {LT_CONF_FIELD(client_t, fingerprint, LT_CONF_STRING, false)},
    {LT_CONF_FIELD(client_t, allow, LT_CONF_ARRAY, true)},
    {LT_CONF_FIELD(client_t, fields, LT_CONF_OBJECT, false)},
    {LT_CONF_FIELD(client_t, require_procedure_code, LT_CONF_BOOL, false), .default_int = 0},
    {LT_CONF_FIELD(client_t, purpose_pattern, LT_CONF_STRING, false)},
    {LT_CONF_FIELD(client_t, return_url_hosts, LT_CONF_ARRAY, false)},
    {LT_CONF_FIELD(client_t, rate_limits, LT_CONF_OBJECT, false)},
    LT_CONF_END,
};

static int fail(lt_error_t *err, const char *path, const char *what)
{
    return lt_error_set(err, LT_ERR_INTERNAL, "config", "%s: %s", path, what);
}

/* A list of non-empty strings, copied. */
static int read_strings(const json_t *list, const char *path, char ***out, size_t *n, lt_error_t *err)
{
    *out = calloc(json_array_size(list) + 1, sizeof(char *));
    size_t i;
    const json_t *v;
    json_array_foreach(list, i, v)
    {
        const char *s = json_string_value(v);
        if (s == NULL || *s == '\0')
            return fail(err, path, "must be a list of non-empty strings");
        (*out)[(*n)++] = strdup(s);
    }
    return 0;
}

/* Is `name` a permission some module's route requires ("payments")? */
static bool is_module_permission(const lt_config_t *c, const char *name)
{
    for (size_t m = 0; m < c->nmodules; m++)
        for (const lt_module_route_t *r = c->modules[m]->routes; r && r->handle; r++)
            if (r->permission != NULL && strcmp(r->permission, name) == 0)
                return true;
    return false;
}

/* "system.operation" or "system.*" of an adapter the build knows. */
static bool is_operation_permission(const lt_config_t *c, const char *name)
{
    const char *dot = strrchr(name, '.');
    if (dot == NULL || dot == name)
        return false;
    char system[64];
    size_t n = (size_t)(dot - name);
    if (n >= sizeof(system))
        return false;
    memcpy(system, name, n);
    system[n] = '\0';
    const lt_adapter_t *a = lt_adapter_table_find(c->adapters, system);
    if (a == NULL)
        return false;
    if (strcmp(dot + 1, "*") == 0)
        return true;
    for (const lt_operation_t *op = a->operations; op->name != NULL; op++)
        if (strcmp(op->name, dot + 1) == 0)
            return true;
    return false;
}

bool lt_config_is_permission(const lt_config_t *c, const char *name)
{
    return strcmp(name, "*") == 0 || is_module_permission(c, name) || is_operation_permission(c, name);
}

/* A typo in an allow list must stop start-up, not silently deny (or grant) something else. */
static int check_permissions(const lt_config_t *c, const lt_client_conf_t *cl, const char *path, lt_error_t *err)
{
    for (size_t i = 0; i < cl->nallow; i++) {
        const char *p = cl->allow[i];
        if (!lt_config_is_permission(c, p))
            return lt_error_set(err, LT_ERR_INTERNAL, "config",
                                "%s.allow: '%s' names no operation (system.operation or system.*) and no module's "
                                "routes",
                                path, p);
    }
    return 0;
}

static int read_field_lists(const lt_config_t *c, lt_client_conf_t *cl, const json_t *obj, const char *path,
                            lt_error_t *err)
{
    cl->fields = calloc(json_object_size(obj) + 1, sizeof(*cl->fields));
    const char *perm;
    const json_t *list;
    json_object_foreach((json_t *)obj, perm, list)
    {
        if (lt_conf_is_comment(perm))
            continue;
        char sub[256];
        snprintf(sub, sizeof(sub), "%s.fields.%s", path, perm);
        if (!json_is_array(list))
            return fail(err, sub, "must be a list of field names");
        if (!is_operation_permission(c, perm) || strchr(perm, '*') != NULL)
            return fail(err, sub, "must name one operation (system.operation)");
        lt_client_fields_t *f = &cl->fields[cl->nfields++];
        f->permission = strdup(perm);
        if (read_strings(list, sub, &f->fields, &f->nfields, err) != 0)
            return -1;
    }
    return 0;
}

static int read_match(lt_client_conf_t *cl, client_t *raw, const char *path, lt_error_t *err)
{
    int given = (raw->cn != NULL) + (raw->san != NULL) + (raw->fingerprint != NULL);
    if (given != 1)
        return fail(err, path, "needs exactly one of cn, san or fingerprint (with issuer)");
    if (raw->cn != NULL) {
        cl->match = LT_CLIENT_BY_CN;
        cl->match_value = raw->cn;
        raw->cn = NULL;
    } else if (raw->san != NULL) {
        cl->match = LT_CLIENT_BY_SAN;
        cl->match_value = raw->san;
        raw->san = NULL;
    } else {
        /* "AB:CD:..." as openssl prints it, or plain hex: kept as 64 lowercase hex digits. */
        char hex[65];
        size_t n = 0;
        for (const char *p = raw->fingerprint; *p; p++) {
            if (*p == ':')
                continue;
            if (!isxdigit((unsigned char)*p) || n == 64)
                return fail(err, path, "fingerprint: must be the certificate's SHA-256 fingerprint (64 hex digits)");
            hex[n++] = (char)tolower((unsigned char)*p);
        }
        if (n != 64)
            return fail(err, path, "fingerprint: must be the certificate's SHA-256 fingerprint (64 hex digits)");
        hex[n] = '\0';
        cl->match = LT_CLIENT_BY_FINGERPRINT;
        cl->match_value = strdup(hex);
    }
    return 0;
}

/* clients.<id>.rate_limits: each pattern an allow-list name, each limit read by lt_config_ratelimit.c. */
static int read_rates(const lt_config_t *c, lt_client_conf_t *cl, const json_t *obj, const char *path, lt_error_t *err)
{
    cl->rates = calloc(json_object_size(obj) + 1, sizeof(*cl->rates));
    const char *pattern;
    const json_t *v;
    json_object_foreach((json_t *)obj, pattern, v)
    {
        if (lt_conf_is_comment(pattern))
            continue;
        char sub[300];
        snprintf(sub, sizeof(sub), "%s.rate_limits.%s", path, pattern);
        /* The same names as the allow list, so a typo stops start-up instead of leaving an operation unlimited. */
        if (!lt_config_is_permission(c, pattern))
            return fail(err, sub,
                        "names no operation (system.operation or system.*), no module's routes and is not \"*\"");
        lt_client_rate_t *r = &cl->rates[cl->nrates++];
        r->pattern = strdup(pattern);
        if (lt_config_read_client_rate(r, v, sub, err) != 0)
            return -1;
    }
    return 0;
}

static void free_rates(lt_client_conf_t *cl)
{
    for (size_t i = 0; i < cl->nrates; i++)
        free(cl->rates[i].pattern);
    free(cl->rates);
    cl->rates = NULL;
    cl->nrates = 0;
}

static int load_client(lt_config_t *c, lt_client_conf_t *cl, const char *id, const json_t *obj, lt_error_t *err)
{
    char path[160];
    snprintf(path, sizeof(path), "clients.%s", id);
    cl->id = strdup(id);
    if (!lt_text_is_token(id, 64, "._-"))
        return fail(err, path, "a client id is 1-64 characters of A-Z, a-z, 0-9, '.', '_' or '-'");
    client_t raw = {0};
    int rc = lt_conf_read(obj, path, client_fields, &raw, err);
    if (rc == 0)
        rc = read_match(cl, &raw, path, err);
    cl->issuer = raw.issuer;
    raw.issuer = NULL;
    cl->require_procedure_code = raw.require_procedure_code;
    if (rc == 0)
        rc = read_strings(raw.allow, path, &cl->allow, &cl->nallow, err);
    if (rc == 0 && raw.fields != NULL)
        rc = read_field_lists(c, cl, raw.fields, path, err);
    if (rc == 0 && raw.return_url_hosts != NULL)
        rc = read_strings(raw.return_url_hosts, path, &cl->return_url_hosts, &cl->nreturn_url_hosts, err);
    if (rc == 0 && raw.rate_limits != NULL)
        rc = read_rates(c, cl, raw.rate_limits, path, err);
    if (rc == 0 && raw.purpose_pattern != NULL) {
        if (regcomp(&cl->purpose_re, raw.purpose_pattern, REG_EXTENDED | REG_NOSUB) != 0)
            rc = fail(err, path, "purpose_pattern: not a valid POSIX extended regular expression");
        else
            cl->purpose_pattern = strdup(raw.purpose_pattern);
    }
    lt_conf_free(client_fields, &raw);
    return rc == 0 ? check_permissions(c, cl, path, err) : rc;
}

int lt_config_load_clients(lt_config_t *c, const json_t *obj, lt_error_t *err)
{
    if (obj == NULL)
        return fail(err, "clients", "required: every caller of the api listener is a listed client (default deny)");
    c->clients = calloc(json_object_size(obj) + 1, sizeof(*c->clients));
    const char *id;
    const json_t *v;
    json_object_foreach((json_t *)obj, id, v)
    {
        if (lt_conf_is_comment(id))
            continue;
        if (!json_is_object(v))
            return lt_error_set(err, LT_ERR_INTERNAL, "config", "clients.%s: must be an object", id);
        if (load_client(c, &c->clients[c->nclients++], id, v, err) != 0)
            return -1;
    }
    return 0;
}

static void free_strings(char **list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(list[i]);
    free(list);
}

void lt_config_free_clients(lt_config_t *c)
{
    for (size_t i = 0; i < c->nclients; i++) {
        lt_client_conf_t *cl = &c->clients[i];
        free(cl->id);
        free(cl->issuer);
        free(cl->match_value);
        free_strings(cl->allow, cl->nallow);
        for (size_t f = 0; f < cl->nfields; f++) {
            free(cl->fields[f].permission);
            free_strings(cl->fields[f].fields, cl->fields[f].nfields);
        }
        free(cl->fields);
        if (cl->purpose_pattern != NULL)
            regfree(&cl->purpose_re);
        free(cl->purpose_pattern);
        free_strings(cl->return_url_hosts, cl->nreturn_url_hosts);
        free_rates(cl);
    }
    free(c->clients);
}

/* ---- what a client may do ------------------------------------------------------------------------------ */

/* "tax.*" grants every "tax.<operation>"; rate-limit patterns cover operations by the same rule. */
static bool grant_covers(const char *grant, const char *permission)
{
    if (strcmp(grant, "*") == 0 || strcmp(grant, permission) == 0)
        return true;
    size_t n = strlen(grant);
    return n >= 2 && strcmp(grant + n - 2, ".*") == 0 && strncmp(grant, permission, n - 1) == 0 &&
           strchr(permission + n - 1, '.') == NULL;
}

bool lt_client_allows(const lt_client_conf_t *client, const char *permission)
{
    for (size_t i = 0; client != NULL && i < client->nallow; i++)
        if (grant_covers(client->allow[i], permission))
            return true;
    return false;
}

/* An exact name is the most specific, then "system.*", then "*". */
static int pattern_rank(const char *pattern)
{
    size_t n = strlen(pattern);
    return strcmp(pattern, "*") == 0 ? 1 : n >= 2 && strcmp(pattern + n - 2, ".*") == 0 ? 2 : 3;
}

const lt_client_rate_t *lt_client_rate_for(const lt_client_conf_t *client, const char *operation)
{
    const lt_client_rate_t *best = NULL;
    for (size_t i = 0; client != NULL && i < client->nrates; i++) {
        const lt_client_rate_t *r = &client->rates[i];
        if (grant_covers(r->pattern, operation) &&
            (best == NULL || pattern_rank(r->pattern) > pattern_rank(best->pattern)))
            best = r;
    }
    return best;
}

const lt_client_fields_t *lt_client_fields_for(const lt_client_conf_t *client, const char *permission)
{
    for (size_t i = 0; client != NULL && i < client->nfields; i++)
        if (strcmp(client->fields[i].permission, permission) == 0)
            return &client->fields[i];
    return NULL;
}

bool lt_client_return_host_allowed(const lt_client_conf_t *client, const char *host)
{
    for (size_t i = 0; client != NULL && i < client->nreturn_url_hosts; i++)
        if (strcasecmp(client->return_url_hosts[i], host) == 0)
            return true;
    return false;
}
