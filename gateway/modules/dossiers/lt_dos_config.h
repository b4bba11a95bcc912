/*
 * The dossiers module's config section, "dossiers" (docs/operations.md, "Dossiers"): the national public-service
 * portal (its adapter URL, account and codes), the store, and the outbox's pace.
 */
#ifndef LT_DOS_CONFIG_H
#define LT_DOS_CONFIG_H

#include <jansson.h>
#include <stdbool.h>

#include "lt_config.h"
#include "lt_error.h"

typedef enum { LT_DOS_STORE_JOURNAL, LT_DOS_STORE_REDIS } lt_dos_backend_t;

typedef struct lt_dossiers_conf {
    struct {
        char *url;             /* {adapter_url}: POST {url}/auth, POST {url}/ */
        char *ca, *cert, *key; /* the portal's CA (NULL: the system's); an optional client certificate */
        char *username, *password_file;
        char *dstcode;   /* the dstcode header: the destination code issued to the province */
        char *unit_code; /* madonvi */
        long long timeout_ms, connect_timeout_ms;
    } portal;
    struct {
        lt_dos_backend_t backend;
        char *journal_dir;
        long long compact_bytes;
        struct {
            lt_redis_conf_t conn; /* the connection layer's keys, as cache.redis and payments.store.redis */
            char *prefix;
        } redis;
    } store;
    struct {
        long long batch;           /* records per call, at most the ICD's 100 */
        long long poll_ms;         /* how often the store is asked for due records when idle */
        long long min_interval_ms; /* between two calls to the portal: the ICD allows 5 calls/s per province */
        long long base_delay_ms, max_delay_ms; /* backoff while the portal is down */
        long long session_idle_s; /* re-authenticate after this long unused (the portal forgets after 30 min) */
    } outbox;
    struct {
        char **online_channel_codes;         /* channel_code values that mean "received online"; NULL-terminated */
        char **online_payment_codes;         /* fees[].collection_method_code values that mean "paid online" */
        long long top_procedures, top_units; /* label bounding: the rest is "other" */
        long long rescan_s; /* redis: how often the store is scanned again (other instances' PUTs); 0: never */
    } indicators;
    struct {
        /* A paid payment's entry in its dossier's fees: HinhThucThu (default: the first online payment code; none:
         * left out), MaPhiLePhi and LoaiPhiLePhi (none: left out). NULL when not given. */
        char *collection_method_code, *code, *type_code;
    } payment_fees;
} lt_dossiers_conf_t;

int lt_dos_config_load(const json_t *section, const char *path, const lt_config_t *config, void **conf,
                       lt_error_t *err);
int lt_dos_config_check(const void *conf, const lt_config_t *config, lt_error_t *err);
void lt_dos_config_free(void *conf);

/* The portal password from password_file, trimmed, malloc'd; NULL with err set. */
char *lt_dos_config_password(const lt_dossiers_conf_t *conf, lt_error_t *err);

#endif
