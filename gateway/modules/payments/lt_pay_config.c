/* Reading and checking the "payments" section (docs/operations.md, "Payments"). */
#include "lt_pay_config.h"

#include <arpa/inet.h>
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

#include "lt_conf.h"
#include "lt_pay_service.h"

/* A key of a nested section read straight into lt_payments_conf_t (payments.webhook.url → webhook.url). */
#define NESTED(sec, k, t, req) .key = #k, .type = t, .offset = offsetof(lt_payments_conf_t, sec.k), .required = req

typedef struct {
    char *base_url, *ca, *tmn_code, *hash_secret_file, *public_url, *order_type;
    long long min_expires_in_s, default_expires_in_s, max_expires_in_s;
    const json_t *ipn_allow, *store, *webhook, *reconcile;
} payments_t;

static const lt_conf_field_t payments_fields[] = {
    {LT_CONF_FIELD(payments_t, base_url, LT_CONF_STRING, true)},
    {LT_CONF_FIELD(payments_t, ca, LT_CONF_FILE, false)},
    {LT_CONF_FIELD(payments_t, tmn_code, LT_CONF_STRING, true)},
    {LT_CONF_FIELD(payments_t, hash_secret_file, LT_CONF_FILE, true)},
    {LT_CONF_FIELD(payments_t, public_url, LT_CONF_STRING, true)},
    {LT_CONF_FIELD(payments_t, order_type, LT_CONF_STRING, false), .default_str = "billpayment"},
    {LT_CONF_FIELD(payments_t, min_expires_in_s, LT_CONF_INT, false), .min = 1, .max = 7 * 86400, .default_int = 60},
    {LT_CONF_FIELD(payments_t, default_expires_in_s, LT_CONF_INT, false), .min = 60, .max = 7 * 86400,
     .default_int = 900},
    {LT_CONF_FIELD(payments_t, max_expires_in_s, LT_CONF_INT, false), .min = 60, .max = 7 * 86400,
     .default_int = 86400},
    {LT_CONF_FIELD(payments_t, ipn_allow, LT_CONF_ARRAY, false)},
    {LT_CONF_FIELD(payments_t, store, LT_CONF_OBJECT, false)},
    {LT_CONF_FIELD(payments_t, webhook, LT_CONF_OBJECT, false)},
    {LT_CONF_FIELD(payments_t, reconcile, LT_CONF_OBJECT, false)},
    LT_CONF_END,
};

typedef struct {
    char *backend, *journal_dir;
    long long compact_bytes;
    const json_t *redis;
} store_t;

static const lt_conf_field_t store_fields[] = {
    {LT_CONF_FIELD(store_t, backend, LT_CONF_STRING, false), .default_str = "journal"},
    {LT_CONF_FIELD(store_t, journal_dir, LT_CONF_STRING, false), .default_str = "payments"},
    {LT_CONF_FIELD(store_t, compact_bytes, LT_CONF_INT, false), .min = 4096, .max = 1LL << 40, .default_int = 64 << 20},
    {LT_CONF_FIELD(store_t, redis, LT_CONF_OBJECT, false)},
    LT_CONF_END,
};

typedef struct {
    lt_redis_conf_t conn;
    char *prefix;
} store_redis_t;

static const lt_conf_field_t store_redis_fields[] = {
    /* Generous next to the cache's: an IPN may take up to 5 s, and an fsync'd Redis write is slower than a read.
     * Payments wait for Redis rather than go elsewhere: reconnect quickly, without hammering a Redis that is down. */
    LT_REDIS_CONF_FIELDS(store_redis_t, conn, LT_REDIS_LIMITS(10, 4000, 1500), LT_REDIS_LIMITS(10, 10000, 1000),
                         LT_REDIS_LIMITS(1, 600000, 2000)),
    {LT_CONF_FIELD(store_redis_t, prefix, LT_CONF_STRING, false), .default_str = "lt:pay:"},
    LT_CONF_END,
};

static const lt_conf_field_t webhook_fields[] = {
    {NESTED(webhook, url, LT_CONF_STRING, false)},
    {NESTED(webhook, secret_file, LT_CONF_FILE, false)},
    {NESTED(webhook, ca, LT_CONF_FILE, false)},
    {NESTED(webhook, timeout_ms, LT_CONF_INT, false), .min = 100, .max = 60000, .default_int = 5000},
    {NESTED(webhook, max_attempts, LT_CONF_INT, false), .min = 1, .max = 100, .default_int = 12},
    {NESTED(webhook, base_delay_ms, LT_CONF_INT, false), .min = 10, .max = 3600000, .default_int = 2000},
    {NESTED(webhook, max_delay_ms, LT_CONF_INT, false), .min = 10, .max = 86400000, .default_int = 3600000},
    {NESTED(webhook, poll_ms, LT_CONF_INT, false), .min = 10, .max = 60000, .default_int = 500},
    {NESTED(webhook, batch, LT_CONF_INT, false), .min = 1, .max = 1000, .default_int = 32},
    LT_CONF_END,
};

static const lt_conf_field_t reconcile_fields[] = {
    {NESTED(reconcile, interval_s, LT_CONF_INT, false), .min = 1, .max = 86400, .default_int = 60},
    {NESTED(reconcile, ipn_grace_s, LT_CONF_INT, false), .min = 0, .max = 86400, .default_int = 300},
    {NESTED(reconcile, batch, LT_CONF_INT, false), .min = 1, .max = 1000, .default_int = 20},
    {NESTED(reconcile, server_ip, LT_CONF_STRING, false), .default_str = "127.0.0.1"},
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

static int load_store_redis(lt_payments_conf_t *pc, const json_t *obj, lt_error_t *err)
{
    store_redis_t r = {0};
    int rc = read_section(obj, "payments.store.redis", store_redis_fields, &r, err);
    pc->store.redis.conn = r.conn;
    pc->store.redis.prefix = r.prefix;
    if (rc == 0 && lt_config_check_redis(&pc->store.redis.conn, "payments.store.redis", err) != 0)
        return -1;
    if (rc == 0 && (strlen(r.prefix) > 32 || strchr(r.prefix, ' ') != NULL))
        return fail(err, "payments.store.redis.prefix: at most 32 characters, without spaces");
    return rc;
}

static int load_store(lt_payments_conf_t *pc, const json_t *obj, lt_error_t *err)
{
    store_t s = {0};
    int rc = read_section(obj, "payments.store", store_fields, &s, err);
    /* A section refused (an unknown key, a wrong type) may leave journal_dir unset, without its default. */
    pc->store.journal_dir = s.journal_dir != NULL ? lt_conf_resolve_path(s.journal_dir) : NULL;
    free(s.journal_dir);
    pc->store.compact_bytes = s.compact_bytes;
    if (rc == 0 && strcmp(s.backend, "journal") == 0)
        pc->store.backend = LT_PAY_STORE_JOURNAL;
    else if (rc == 0 && strcmp(s.backend, "redis") == 0)
        pc->store.backend = LT_PAY_STORE_REDIS;
    else if (rc == 0)
        rc = fail(err, "payments.store.backend: must be journal or redis");
    free(s.backend);
    return rc == 0 ? load_store_redis(pc, s.redis, err) : rc;
}

static int load_ipn_allow(lt_payments_conf_t *pc, const json_t *list, lt_error_t *err)
{
    if (list == NULL)
        return 0;
    pc->ipn_allow = calloc(json_array_size(list) + 1, sizeof(char *));
    size_t i;
    const json_t *v;
    json_array_foreach(list, i, v)
    {
        unsigned char addr[16];
        const char *s = json_string_value(v);
        if (s == NULL || (inet_pton(AF_INET, s, addr) != 1 && inet_pton(AF_INET6, s, addr) != 1))
            return fail(err, "payments.ipn_allow: must be a list of IPv4 or IPv6 addresses");
        pc->ipn_allow[pc->nipn_allow++] = strdup(json_string_value(v));
    }
    return 0;
}

/* A return URL over the ICD's 255 characters would be refused by the payment gateway on every payment. */
static int check_urls(const lt_payments_conf_t *pc, lt_error_t *err)
{
    if (strncmp(pc->base_url, "https://", 8) != 0)
        return fail(err, "payments.base_url: must start with https://");
    if (strncmp(pc->public_url, "https://", 8) != 0)
        return fail(err, "payments.public_url: must start with https://");
    if (strlen(pc->public_url) > 200)
        return fail(err, "payments.public_url: at most 200 characters (vnp_ReturnUrl holds 255)");
    if (pc->webhook.url != NULL && strncmp(pc->webhook.url, "https://", 8) != 0)
        return fail(err, "payments.webhook.url: must start with https://");
    if (pc->webhook.url != NULL && pc->webhook.secret_file == NULL)
        return fail(err, "payments.webhook.secret_file: required with webhook.url (events are signed)");
    size_t n = strlen(pc->tmn_code);
    if (n != 8 || strspn(pc->tmn_code, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789") != n)
        return fail(err, "payments.tmn_code: must be 8 letters or digits (vnp_TmnCode)");
    if (pc->default_expires_in_s > pc->max_expires_in_s || pc->default_expires_in_s < pc->min_expires_in_s)
        return fail(err, "payments.default_expires_in_s: must lie between min_expires_in_s and max_expires_in_s");
    return 0;
}

static int load_section(lt_payments_conf_t *pc, const json_t *payments, const char *path, lt_error_t *err)
{
    payments_t raw = {0};
    if (lt_conf_read(payments, path, payments_fields, &raw, err) != 0) {
        lt_conf_free(payments_fields, &raw);
        return -1;
    }
    pc->base_url = raw.base_url;
    pc->ca = raw.ca;
    pc->tmn_code = raw.tmn_code;
    pc->hash_secret_file = raw.hash_secret_file;
    pc->public_url = raw.public_url;
    pc->order_type = raw.order_type;
    pc->min_expires_in_s = raw.min_expires_in_s;
    pc->default_expires_in_s = raw.default_expires_in_s;
    pc->max_expires_in_s = raw.max_expires_in_s;
    if (load_ipn_allow(pc, raw.ipn_allow, err) != 0 || load_store(pc, raw.store, err) != 0)
        return -1;
    if (read_section(raw.webhook, "payments.webhook", webhook_fields, pc, err) != 0)
        return -1;
    if (read_section(raw.reconcile, "payments.reconcile", reconcile_fields, pc, err) != 0)
        return -1;
    return check_urls(pc, err);
}

int lt_pay_config_load(const json_t *section, const char *path, const lt_config_t *config, void **conf, lt_error_t *err)
{
    lt_payments_conf_t *pc = calloc(1, sizeof(*pc));
    *conf = pc; /* freed by the core through conf_free, also after a failure */
    return load_section(pc, section, path, err);
}

/* What start-up reads besides the file: the cache's keys are there (payments seal with them), the hash secret and
 * the webhook's secret (the store opens at start). */
int lt_pay_config_check(const void *conf, const lt_config_t *config, lt_error_t *err)
{
    const lt_payments_conf_t *pc = conf;
    unsigned char secret[LT_PAY_SECRET_MAX];
    size_t len = 0;
    if (lt_pay_keys_required(&config->cache, err) != 0)
        return -1;
    int rc = lt_pay_secret_read(pc->hash_secret_file, "payments.hash_secret_file", secret, &len, err);
    if (rc == 0 && pc->webhook.secret_file != NULL)
        rc = lt_pay_secret_read(pc->webhook.secret_file, "payments.webhook.secret_file", secret, &len, err);
    OPENSSL_cleanse(secret, sizeof(secret));
    return rc;
}

void lt_pay_config_free(void *conf)
{
    lt_payments_conf_t *pc = conf;
    if (pc == NULL)
        return;
    free(pc->base_url);
    free(pc->ca);
    free(pc->tmn_code);
    free(pc->hash_secret_file);
    free(pc->public_url);
    free(pc->order_type);
    for (size_t i = 0; i < pc->nipn_allow; i++)
        free(pc->ipn_allow[i]);
    free(pc->ipn_allow);
    free(pc->store.journal_dir);
    lt_config_free_redis(&pc->store.redis.conn);
    free(pc->store.redis.prefix);
    free(pc->webhook.url);
    free(pc->webhook.secret_file);
    free(pc->webhook.ca);
    free(pc->reconcile.server_ip);
    free(pc);
}
