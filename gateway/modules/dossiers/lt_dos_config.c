/* Reading and checking the "dossiers" section (docs/operations.md, "Dossiers"). */
#include "lt_dos_config.h"

#include <ctype.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lt_conf.h"

#define NESTED(sec, k, t, req) .key = #k, .type = t, .offset = offsetof(lt_dossiers_conf_t, sec.k), .required = req

typedef struct {
    const json_t *portal, *store, *outbox, *indicators, *payment_fees;
} dossiers_t;

static const lt_conf_field_t dossiers_fields[] = {
    {LT_CONF_FIELD(dossiers_t, portal, LT_CONF_OBJECT, true)},
    {LT_CONF_FIELD(dossiers_t, store, LT_CONF_OBJECT, false)},
    {LT_CONF_FIELD(dossiers_t, outbox, LT_CONF_OBJECT, false)},
    {LT_CONF_FIELD(dossiers_t, indicators, LT_CONF_OBJECT, false)},
    {LT_CONF_FIELD(dossiers_t, payment_fees, LT_CONF_OBJECT, false)},
    LT_CONF_END,
};

/* The fee entry a payment settled by the gateway becomes (docs/operations.md, "dossiers"). */
static const lt_conf_field_t payment_fees_fields[] = {
    {NESTED(payment_fees, collection_method_code, LT_CONF_STRING, false)},
    {NESTED(payment_fees, code, LT_CONF_STRING, false)},
    {NESTED(payment_fees, type_code, LT_CONF_STRING, false)},
    LT_CONF_END,
};

typedef struct {
    const json_t *online_channel_codes, *online_payment_codes;
    long long top_procedures, top_units, rescan_s;
} indicators_t;

static const lt_conf_field_t indicators_fields[] = {
    {LT_CONF_FIELD(indicators_t, online_channel_codes, LT_CONF_ARRAY, false)},
    {LT_CONF_FIELD(indicators_t, online_payment_codes, LT_CONF_ARRAY, false)},
    {LT_CONF_FIELD(indicators_t, top_procedures, LT_CONF_INT, false), .min = 1, .max = 200, .default_int = 20},
    {LT_CONF_FIELD(indicators_t, top_units, LT_CONF_INT, false), .min = 1, .max = 200, .default_int = 20},
    {LT_CONF_FIELD(indicators_t, rescan_s, LT_CONF_INT, false), .min = 0, .max = 86400, .default_int = 300},
    LT_CONF_END,
};

static const lt_conf_field_t portal_fields[] = {
    {NESTED(portal, url, LT_CONF_STRING, true)},
    {NESTED(portal, ca, LT_CONF_FILE, false)},
    {NESTED(portal, cert, LT_CONF_FILE, false)},
    {NESTED(portal, key, LT_CONF_FILE, false)},
    {NESTED(portal, username, LT_CONF_STRING, true)},
    {NESTED(portal, password_file, LT_CONF_FILE, true)},
    {NESTED(portal, dstcode, LT_CONF_STRING, true)},
    {NESTED(portal, unit_code, LT_CONF_STRING, true)},
    /* Above the 30 s the ICD promises: a call we gave up on must not be applied after a later one. */
    {NESTED(portal, timeout_ms, LT_CONF_INT, false), .min = 1000, .max = 300000, .default_int = 35000},
    {NESTED(portal, connect_timeout_ms, LT_CONF_INT, false), .min = 100, .max = 60000, .default_int = 3000},
    LT_CONF_END,
};

typedef struct {
    char *backend, *journal_dir;
    long long compact_bytes;
    const json_t *redis;
} store_t;

static const lt_conf_field_t store_fields[] = {
    {LT_CONF_FIELD(store_t, backend, LT_CONF_STRING, false), .default_str = "journal"},
    {LT_CONF_FIELD(store_t, journal_dir, LT_CONF_STRING, false), .default_str = "dossiers"},
    {LT_CONF_FIELD(store_t, compact_bytes, LT_CONF_INT, false), .min = 4096, .max = 1LL << 40, .default_int = 64 << 20},
    {LT_CONF_FIELD(store_t, redis, LT_CONF_OBJECT, false)},
    LT_CONF_END,
};

typedef struct {
    lt_redis_conf_t conn;
    char *prefix;
} store_redis_t;

static const lt_conf_field_t redis_fields[] = {
    LT_REDIS_CONF_FIELDS(store_redis_t, conn, LT_REDIS_LIMITS(10, 4000, 1500), LT_REDIS_LIMITS(10, 10000, 1000),
                         LT_REDIS_LIMITS(1, 600000, 2000)),
    {LT_CONF_FIELD(store_redis_t, prefix, LT_CONF_STRING, false), .default_str = "lt:dos:"},
    LT_CONF_END,
};

static const lt_conf_field_t outbox_fields[] = {
    {NESTED(outbox, batch, LT_CONF_INT, false), .min = 1, .max = 100, .default_int = 100},
    {NESTED(outbox, poll_ms, LT_CONF_INT, false), .min = 10, .max = 60000, .default_int = 500},
    {NESTED(outbox, min_interval_ms, LT_CONF_INT, false), .min = 0, .max = 60000, .default_int = 250},
    {NESTED(outbox, base_delay_ms, LT_CONF_INT, false), .min = 10, .max = 3600000, .default_int = 2000},
    {NESTED(outbox, max_delay_ms, LT_CONF_INT, false), .min = 10, .max = 86400000, .default_int = 600000},
    {NESTED(outbox, session_idle_s, LT_CONF_INT, false), .min = 10, .max = 1800, .default_int = 1500},
    LT_CONF_END,
};

static int fail(lt_error_t *err, const char *what)
{
    return lt_error_set(err, LT_ERR_INTERNAL, "config", "%s", what);
}

static int read_section(const json_t *obj, const char *path, const lt_conf_field_t *fields, void *dest, lt_error_t *err)
{
    json_t *empty = json_object();
    int rc = lt_conf_read(obj ? obj : empty, path, fields, dest, err);
    json_decref(empty);
    return rc;
}

static int load_store(lt_dossiers_conf_t *dc, const json_t *obj, lt_error_t *err)
{
    store_t s = {0};
    int rc = read_section(obj, "dossiers.store", store_fields, &s, err);
    dc->store.journal_dir = s.journal_dir ? lt_conf_resolve_path(s.journal_dir) : NULL;
    dc->store.compact_bytes = s.compact_bytes;
    free(s.journal_dir);
    if (rc == 0 && strcmp(s.backend, "journal") == 0)
        dc->store.backend = LT_DOS_STORE_JOURNAL;
    else if (rc == 0 && strcmp(s.backend, "redis") == 0)
        dc->store.backend = LT_DOS_STORE_REDIS;
    else if (rc == 0)
        rc = fail(err, "dossiers.store.backend: must be journal or redis");
    free(s.backend);
    if (rc == 0) {
        store_redis_t r = {0};
        rc = read_section(s.redis, "dossiers.store.redis", redis_fields, &r, err);
        dc->store.redis.conn = r.conn;
        dc->store.redis.prefix = r.prefix;
    }
    if (rc == 0 && lt_config_check_redis(&dc->store.redis.conn, "dossiers.store.redis", err) != 0)
        rc = -1;
    if (rc == 0 && (strlen(dc->store.redis.prefix) > 32 || strchr(dc->store.redis.prefix, ' ') != NULL))
        rc = fail(err, "dossiers.store.redis.prefix: at most 32 characters, without spaces");
    return rc;
}

/* A list of the portal's codes (1-4 digits, as channel_code and collection_method_code), NULL-terminated. */
static int read_codes(const json_t *list, const char *path, char ***out, lt_error_t *err)
{
    size_t n = json_array_size(list);
    *out = calloc(n + 1, sizeof(**out));
    if (n > 10)
        return lt_error_set(err, LT_ERR_INTERNAL, "config", "%s: at most 10 codes", path);
    for (size_t i = 0; i < n; i++) {
        const char *code = json_string_value(json_array_get(list, i));
        size_t len = code ? strlen(code) : 0;
        if (len == 0 || len > 4 || strspn(code, "0123456789") != len)
            return lt_error_set(err, LT_ERR_INTERNAL, "config", "%s[%zu]: must be a code of 1 to 4 digits, as a string",
                                path, i);
        (*out)[i] = strdup(code);
    }
    return 0;
}

static int load_indicators(lt_dossiers_conf_t *dc, const json_t *obj, lt_error_t *err)
{
    indicators_t in = {0};
    int rc = read_section(obj, "dossiers.indicators", indicators_fields, &in, err);
    dc->indicators.top_procedures = in.top_procedures;
    dc->indicators.top_units = in.top_units;
    dc->indicators.rescan_s = in.rescan_s;
    if (rc == 0)
        rc = read_codes(in.online_channel_codes, "dossiers.indicators.online_channel_codes",
                        &dc->indicators.online_channel_codes, err);
    if (rc == 0)
        rc = read_codes(in.online_payment_codes, "dossiers.indicators.online_payment_codes",
                        &dc->indicators.online_payment_codes, err);
    return rc;
}

static bool is_digits(const char *s, size_t max)
{
    size_t n = s ? strlen(s) : 0;
    return n >= 1 && n <= max && strspn(s, "0123456789") == n;
}

/* The codes of the gateway's fee entries, checked as a snapshot's fees are (lt_dossier.c). Without
 * collection_method_code, the first online payment code: an entry the indicators count as paid online. */
static int load_payment_fees(lt_dossiers_conf_t *dc, const json_t *obj, lt_error_t *err)
{
    if (read_section(obj, "dossiers.payment_fees", payment_fees_fields, dc, err) != 0)
        return -1;
    if (dc->payment_fees.collection_method_code == NULL && dc->indicators.online_payment_codes[0] != NULL)
        dc->payment_fees.collection_method_code = strdup(dc->indicators.online_payment_codes[0]);
    if (dc->payment_fees.collection_method_code != NULL && !is_digits(dc->payment_fees.collection_method_code, 4))
        return fail(err, "dossiers.payment_fees.collection_method_code: must be a code of 1 to 4 digits");
    if (dc->payment_fees.type_code != NULL && !is_digits(dc->payment_fees.type_code, 4))
        return fail(err, "dossiers.payment_fees.type_code: must be a code of 1 to 4 digits");
    const char *code = dc->payment_fees.code;
    size_t n = code ? strlen(code) : 1;
    if (n < 1 || n > 64 ||
        (code != NULL && strspn(code, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789.-_/") != n))
        return fail(err, "dossiers.payment_fees.code: 1-64 characters of A-Z a-z 0-9 . - _ /");
    return 0;
}

static bool printable_token(const char *s, size_t max)
{
    size_t n = strlen(s);
    for (size_t i = 0; i < n; i++)
        if (!isgraph((unsigned char)s[i]))
            return false;
    return n >= 1 && n <= max;
}

static int check_portal(const lt_dossiers_conf_t *dc, lt_error_t *err)
{
    const char *url = dc->portal.url;
    size_t n = strlen(url);
    if (strncmp(url, "https://", 8) != 0 || n <= 8)
        return fail(err, "dossiers.portal.url: must start with https:// (the portal's adapter URL)");
    if (url[n - 1] == '/')
        return fail(err, "dossiers.portal.url: without a trailing '/' (calls go to {url}/ and {url}/auth)");
    if ((dc->portal.cert == NULL) != (dc->portal.key == NULL))
        return fail(err, "dossiers.portal.cert and dossiers.portal.key: give both or neither");
    if (!printable_token(dc->portal.dstcode, 64))
        return fail(err, "dossiers.portal.dstcode: 1-64 printable characters without spaces (a header value)");
    if (!printable_token(dc->portal.unit_code, 64))
        return fail(err, "dossiers.portal.unit_code: 1-64 printable characters without spaces (madonvi)");
    return 0;
}

int lt_dos_config_load(const json_t *section, const char *path, const lt_config_t *config, void **conf, lt_error_t *err)
{
    lt_dossiers_conf_t *dc = calloc(1, sizeof(*dc));
    *conf = dc; /* freed by the core through conf_free, also after a failure */
    dossiers_t raw = {0};
    if (lt_conf_read(section, path, dossiers_fields, &raw, err) != 0)
        return -1;
    if (read_section(raw.portal, "dossiers.portal", portal_fields, dc, err) != 0 ||
        load_store(dc, raw.store, err) != 0 ||
        read_section(raw.outbox, "dossiers.outbox", outbox_fields, dc, err) != 0 ||
        load_indicators(dc, raw.indicators, err) != 0 || load_payment_fees(dc, raw.payment_fees, err) != 0)
        return -1;
    if (dc->outbox.base_delay_ms > dc->outbox.max_delay_ms)
        return fail(err, "dossiers.outbox.base_delay_ms: must not exceed max_delay_ms");
    return check_portal(dc, err);
}

char *lt_dos_config_password(const lt_dossiers_conf_t *dc, lt_error_t *err)
{
    FILE *f = fopen(dc->portal.password_file, "rb");
    if (f == NULL) {
        lt_error_set(err, LT_ERR_INTERNAL, "config", "dossiers.portal.password_file: cannot open '%s'",
                     dc->portal.password_file);
        return NULL;
    }
    char buf[512];
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    bool too_long = n == sizeof(buf) - 1 && fgetc(f) != EOF;
    fclose(f);
    while (n > 0 && isspace((unsigned char)buf[n - 1]))
        n--;
    buf[n] = '\0';
    char *password = NULL;
    if (too_long || n == 0)
        lt_error_set(err, LT_ERR_INTERNAL, "config", "dossiers.portal.password_file: '%s' must hold 1 to 510 bytes",
                     dc->portal.password_file);
    else
        password = strdup(buf);
    OPENSSL_cleanse(buf, sizeof(buf));
    return password;
}

/* What start-up reads besides the file: the password (the store opens at start). */
int lt_dos_config_check(const void *conf, const lt_config_t *config, lt_error_t *err)
{
    char *password = lt_dos_config_password(conf, err);
    if (password == NULL)
        return -1;
    OPENSSL_cleanse(password, strlen(password));
    free(password);
    return 0;
}

void lt_dos_config_free(void *conf)
{
    lt_dossiers_conf_t *dc = conf;
    if (dc == NULL)
        return;
    free(dc->portal.url);
    free(dc->portal.ca);
    free(dc->portal.cert);
    free(dc->portal.key);
    free(dc->portal.username);
    free(dc->portal.password_file);
    free(dc->portal.dstcode);
    free(dc->portal.unit_code);
    free(dc->store.journal_dir);
    lt_config_free_redis(&dc->store.redis.conn);
    free(dc->payment_fees.collection_method_code);
    free(dc->payment_fees.code);
    free(dc->payment_fees.type_code);
    free(dc->store.redis.prefix);
    for (int l = 0; l < 2; l++) {
        char **codes = l == 0 ? dc->indicators.online_channel_codes : dc->indicators.online_payment_codes;
        for (size_t i = 0; codes != NULL && codes[i] != NULL; i++)
            free(codes[i]);
        free(codes);
    }
    free(dc);
}
