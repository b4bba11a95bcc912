/* Re-read, check, apply the live part, and say what needs a restart. */
#include "lt_reload.h"

#include <openssl/crypto.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "lt_adapters.h"
#include "lt_cache_crypto.h"
#include "lt_certs.h"
#include "lt_crl.h"
#include "lt_log.h"
#include "lt_module.h"
#include "lt_tls.h"

/* Every section path (up to two levels: "upstreams.population", "listeners.api") whose JSON differs. */
static void diff_sections(const json_t *old, const json_t *new, const char *prefix, int depth, json_t *out)
{
    const char *key;
    json_t *v;
    json_t *keys = json_object();
    json_object_foreach((json_t *)old, key, v) json_object_set_new(keys, key, json_true());
    json_object_foreach((json_t *)new, key, v) json_object_set_new(keys, key, json_true());
    json_object_foreach(keys, key, v)
    {
        const json_t *a = json_object_get(old, key), *b = json_object_get(new, key);
        if (strncmp(key, "//", 2) == 0 || json_equal((json_t *)a, (json_t *)b))
            continue;
        char path[256];
        snprintf(path, sizeof(path), "%s%s%s", prefix, prefix[0] ? "." : "", key);
        if (depth < 2 && json_is_object(a) && json_is_object(b))
            diff_sections(a, b, path, depth + 1, out);
        else
            json_array_append_new(out, json_string(path));
    }
    json_decref(keys);
}

/* The running process noted each certificate it loaded: a file that now holds another one was renewed in place. */
static void renewed_files(const lt_config_t *c, json_t *out)
{
    lt_cert_info_t held[LT_CERTS_MAX];
    size_t n = lt_certs_snapshot(held, LT_CERTS_MAX);
    for (size_t i = 0; i < n; i++) {
        const char *path = NULL, *key = NULL;
        if (strcmp(held[i].role, "api_server") == 0) {
            path = c->api.cert;
            key = "listeners.api.cert";
        }
        for (size_t u = 0; u < c->nupstreams && path == NULL; u++)
            if (strcmp(held[i].role, "upstream_client") == 0 && strcmp(held[i].owner, c->upstreams[u].name) == 0)
                path = c->upstreams[u].cert, key = "upstreams.*.cert";
        if (path == NULL)
            continue;
        FILE *f = fopen(path, "r");
        X509 *x = f ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;
        if (f != NULL)
            fclose(f);
        if (x == NULL)
            continue;
        struct tm tm;
        time_t not_after = ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm) == 1 ? timegm(&tm) : 0;
        X509_free(x);
        if ((int64_t)not_after != held[i].not_after)
            json_array_append_new(out, json_sprintf("%s (%s: the file holds a new certificate)", key, path));
    }
}

/* What start-up would refuse must not pass a reload either: the modules' listeners and what their sections name. */
static int check_module_files(const lt_config_t *c, lt_error_t *err)
{
    for (size_t i = 0; i < c->nlisteners; i++) {
        SSL_CTX *ctx = lt_tls_server_ctx_new(c->listeners[i].conf.cert, c->listeners[i].conf.key, NULL, err);
        if (ctx == NULL)
            return -1;
        SSL_CTX_free(ctx);
    }
    for (size_t m = 0; m < c->nmodules; m++)
        if (c->module_on[m] && c->modules[m]->conf_check != NULL &&
            c->modules[m]->conf_check(c->module_conf[m], c, err) != 0)
            return -1;
    return 0;
}

/* Each running module applies what it can of its new section; the rest stays listed as needing a restart. */
static void reload_modules(const lt_config_t *running, const lt_config_t *next, void *const *module_state,
                           json_t *applied)
{
    for (size_t m = 0; m < running->nmodules && module_state != NULL; m++)
        if (module_state[m] != NULL && running->modules[m]->reload != NULL && next->module_on[m])
            running->modules[m]->reload(module_state[m], next->module_conf[m], applied);
}

/* The cache's key files, as lt_cache_new reads them at start-up. */
static int check_cache_keys(const lt_config_t *c, lt_error_t *err)
{
    if (c->cache.hmac_key_file == NULL)
        return 0;
    lt_cache_keys_t keys = {0};
    int rc = lt_cache_crypto_keys_load(&keys, &c->cache, err);
    lt_cache_crypto_keys_wipe(&keys);
    return rc;
}

static int check_files(const lt_config_t *c, lt_error_t *err)
{
    SSL_CTX *ctx = lt_tls_server_ctx_new(c->api.cert, c->api.key, c->api.client_ca, err);
    if (ctx == NULL)
        return -1;
    SSL_CTX_free(ctx);
    for (size_t i = 0; i < c->nupstreams; i++) {
        char what[128];
        snprintf(what, sizeof(what), "upstreams.%s", c->upstreams[i].name);
        if (lt_tls_check_client_files(what, c->upstreams[i].cert, c->upstreams[i].key, c->upstreams[i].ca, err) != 0)
            return -1;
    }
    return check_module_files(c, err) == 0 && check_cache_keys(c, err) == 0 ? 0 : -1;
}

/* Keys that a reload applies, so they are not listed as needing a restart. */
static void drop_applied_keys(json_t *restart)
{
    static const char *const live[] = {"log_level", "listeners.api.crl_files", "listeners.api.crl_expired",
                                       "listeners.api.crl_warn_interval_s", NULL};
    for (size_t i = json_array_size(restart); i-- > 0;)
        for (const char *const *k = live; *k != NULL; k++)
            if (strcmp(json_string_value(json_array_get(restart, i)), *k) == 0) {
                json_array_remove(restart, i);
                break;
            }
}

/* The revocation lists now in force, as the report says them. */
static void report_crls(const lt_config_t *next, json_t *applied)
{
    lt_crl_state_t st;
    lt_crl_snapshot(&st);
    long revoked = 0;
    for (size_t i = 0; i < st.n; i++)
        revoked += st.lists[i].revoked;
    if (st.n == 0)
        return; /* nothing was read: nothing to report */
    json_array_append_new(applied, json_sprintf("listeners.api.crl_files: %zu list(s) read again, %ld "
                                                "certificate(s) revoked, crl_expired=%s",
                                                st.n, revoked, next->api.crl_expired));
}

int lt_reload_run(const char *path, const lt_config_t *running, const json_t *running_raw, void *const *module_state,
                  SSL_CTX *api_tls, json_t *report)
{
    lt_error_t err;
    lt_error_clear(&err);
    json_t *applied = json_array(), *restart = json_array();
    json_object_set_new(report, "applied", applied);
    json_object_set_new(report, "restart_needed", restart);
    lt_config_t *next = lt_config_load(path, running->adapters, running->modules, &err);
    lt_tls_trust_t *trust = NULL;
    json_t *raw = next ? json_load_file(path, 0, NULL) : NULL;
    lt_log_level_t level;
    if (next != NULL && lt_log_parse_level(next->log_level, &level) != 0)
        lt_error_set(&err, LT_ERR_INTERNAL, "config", "log_level: must be error, warn, info or debug");
    else if (next != NULL && raw != NULL && check_files(next, &err) == 0 &&
             (api_tls == NULL || (trust = lt_tls_trust_new(api_tls, &next->api, &err)) != NULL)) {
        /* The level in force: the running config's until a reload changes it (main loop only). */
        static char in_force[16];
        if (in_force[0] == '\0')
            snprintf(in_force, sizeof(in_force), "%s", running->log_level);
        if (strcmp(next->log_level, in_force) != 0) {
            lt_log_set_level(level);
            snprintf(in_force, sizeof(in_force), "%s", next->log_level);
            json_array_append_new(applied, json_sprintf("log_level=%s", next->log_level));
        }
        if (trust != NULL) { /* every file checked: only now does anything change */
            lt_tls_trust_install(api_tls, trust);
            report_crls(next, applied);
            lt_crl_announce();
        }
        diff_sections(running_raw, raw, "", 0, restart);
        drop_applied_keys(restart);
        reload_modules(running, next, module_state, applied);
        renewed_files(running, restart);
        json_decref(raw);
        lt_config_free(next);
        lt_log_info("reload: %zu change(s) applied, %zu need a restart", json_array_size(applied),
                    json_array_size(restart));
        return 200;
    }
    json_decref(raw);
    lt_config_free(next);
    json_object_set_new(report, "error", json_string(err.detail[0] ? err.detail : "the configuration did not load"));
    lt_log_warn("reload: refused, nothing changed: %s", err.detail);
    return 400;
}
