/*
 * lienthong-audit inventory: the processing inventory an impact assessment asks for (Decree 13/2023): for every
 * listed client, every operation its allow list grants, whether it carries personal data, the fields it may receive
 * and what it must say of its purpose. The operations are the adapters' own table (the same the gateway routes
 * with) for each configured upstream, plus the payment routes when the payments section is there; a grant is read
 * with the gateway's own rule (lt_client_allows).
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "audit_tool.h"
#include "lt_adapters.h"
#include "lt_client.h"
#include "lt_conf.h"

typedef struct {
    json_t *rows;
} inventory_t;

/* The client's allow list as the gateway reads it. */
static void read_allow(const json_t *client, lt_client_conf_t *c)
{
    const json_t *allow = json_object_get(client, "allow");
    c->allow = calloc(json_array_size(allow) + 1, sizeof(char *));
    size_t i;
    const json_t *v;
    json_array_foreach(allow, i, v)
    {
        if (json_is_string(v))
            c->allow[c->nallow++] = (char *)json_string_value(v);
    }
}

static json_t *purpose_rule(const json_t *client)
{
    const json_t *pattern = json_object_get(client, "purpose_pattern");
    bool procedure = json_is_true(json_object_get(client, "require_procedure_code"));
    return json_pack("{s:b, s:o, s:b}", "officer_required", true, "purpose_pattern",
                     json_is_string(pattern) ? json_incref((json_t *)pattern) : json_null(), "procedure_code_required",
                     procedure);
}

/* fields.<permission> of the client, or null: every field of the record. */
static json_t *fields_of(const json_t *client, const char *permission)
{
    const json_t *list = json_object_get(json_object_get(client, "fields"), permission);
    return json_is_array(list) ? json_deep_copy(list) : json_null();
}

static void add_row(inventory_t *inv, const char *client_id, const char *operation, const char *system,
                    bool personal_data, json_t *fields, json_t *purpose)
{
    json_array_append_new(inv->rows, json_pack("{s:s, s:s, s:s, s:b, s:o, s:o}", "client", client_id, "operation",
                                               operation, "system", system, "personal_data", personal_data, "fields",
                                               fields, "purpose", purpose));
}

static void client_rows(inventory_t *inv, const char *id, const json_t *client, const json_t *upstreams, bool payments)
{
    lt_client_conf_t c = {0};
    read_allow(client, &c);
    const char *system;
    const json_t *v;
    json_object_foreach((json_t *)upstreams, system, v)
    {
        if (lt_conf_is_comment(system))
            continue;
        const lt_adapter_t *a = lt_adapter_find(system);
        if (a == NULL) {
            fprintf(stderr, "lienthong-audit: upstreams.%s: no adapter of this name in this build\n", system);
            continue;
        }
        for (const lt_operation_t *op = a->operations; op->name != NULL; op++) {
            char permission[128];
            snprintf(permission, sizeof(permission), "%s.%s", system, op->name);
            if (lt_client_allows(&c, permission))
                add_row(inv, id, permission, system, op->personal_data, fields_of(client, permission),
                        op->personal_data ? purpose_rule(client) : json_null());
        }
    }
    if (payments && lt_client_allows(&c, "payments")) {
        /* A payment names no officer or purpose: the portal's dossier is its reason. */
        add_row(inv, id, "payments.create", "payment", true, fields_of(client, "payments"), json_null());
        add_row(inv, id, "payments.read", "payment", true, fields_of(client, "payments"), json_null());
    }
    free(c.allow);
}

/* "a,b,c" (or none), padded to width. */
static void print_list(const json_t *list, const char *none, int width)
{
    char text[1024] = "";
    size_t i, n = 0;
    const json_t *v;
    if (!json_is_array(list))
        snprintf(text, sizeof(text), "%s", none);
    json_array_foreach(list, i, v)
    {
        if (n < sizeof(text))
            n += (size_t)snprintf(text + n, sizeof(text) - n, "%s%s", i ? "," : "", json_string_value(v));
    }
    printf("%-*s", width, text);
}

static void print_text(const char *path, const json_t *audit, const json_t *rows)
{
    printf("Processing inventory of %s\n", path);
    if (json_is_object(audit))
        printf("Audit trail: %s (fsync %s)\n\n", json_string_value(json_object_get(audit, "dir")),
               json_is_string(json_object_get(audit, "fsync")) ? json_string_value(json_object_get(audit, "fsync"))
                                                               : "always");
    else
        printf("Audit trail: NOT CONFIGURED: personal-data operations are not audited\n\n");
    printf("%-20s %-22s %-9s %-30s %s\n", "client", "operation", "personal", "fields", "purpose rule");
    size_t i;
    const json_t *r;
    json_array_foreach(rows, i, r)
    {
        printf("%-20s %-22s %-9s ", json_string_value(json_object_get(r, "client")),
               json_string_value(json_object_get(r, "operation")),
               json_is_true(json_object_get(r, "personal_data")) ? "yes" : "no");
        print_list(json_object_get(r, "fields"), "all", 30);
        const json_t *p = json_object_get(r, "purpose");
        if (!json_is_object(p)) {
            printf("  %s\n", json_is_true(json_object_get(r, "personal_data")) ? "none (no officer or purpose)" : "-");
            continue;
        }
        const char *pattern = json_string_value(json_object_get(p, "purpose_pattern"));
        printf("  X-Officer-Id; X-Purpose %s%s%s; X-Procedure-Code %s\n", pattern ? "matching /" : "(any text)",
               pattern ? pattern : "", pattern ? "/" : "",
               json_is_true(json_object_get(p, "procedure_code_required")) ? "required" : "optional");
    }
    if (json_array_size(rows) == 0)
        printf("(no client may do anything: every request is refused)\n");
}

int cmd_inventory(int argc, char **argv)
{
    const char *path = NULL;
    bool as_json = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
            path = argv[++i];
        else if (strcmp(argv[i], "--json") == 0)
            as_json = true;
        else
            path = NULL, i = argc;
    }
    if (path == NULL) {
        fprintf(stderr, "Usage: lienthong-audit inventory --config FILE [--json]\n");
        return EXIT_USAGE;
    }
    json_error_t jerr;
    json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
    if (!json_is_object(root)) {
        fprintf(stderr, "lienthong-audit: %s:%d:%d: %s\n", path, jerr.line, jerr.column,
                root ? "not a JSON object" : jerr.text);
        json_decref(root);
        return EXIT_BAD;
    }
    inventory_t inv = {.rows = json_array()};
    const json_t *clients = json_object_get(root, "clients"), *upstreams = json_object_get(root, "upstreams");
    bool payments = json_is_object(json_object_get(root, "payments"));
    const char *id;
    const json_t *client;
    json_object_foreach((json_t *)clients, id, client)
    {
        if (json_is_object(client) && !lt_conf_is_comment(id))
            client_rows(&inv, id, client, upstreams, payments);
    }
    const json_t *audit = json_object_get(root, "audit");
    if (as_json) {
        json_t *doc =
            json_pack("{s:s, s:O, s:O}", "config", path, "audit", audit ? audit : json_null(), "rows", inv.rows);
        json_dumpf(doc, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        printf("\n");
        json_decref(doc);
    } else {
        print_text(path, audit, inv.rows);
    }
    json_decref(inv.rows);
    json_decref(root);
    return EXIT_OK;
}
