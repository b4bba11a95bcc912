/*
 * The payments module's config section, "payments" (docs/operations.md,
 * "Payments"): the national payment gateway, the store, the portal's webhook
 * and reconciliation. Its listener, listeners.callbacks, is the core's
 * (a module listener, lt_module.h).
 */
#ifndef LT_PAY_CONFIG_H
#define LT_PAY_CONFIG_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "lt_config.h"
#include "lt_error.h"

/* Where payments and their outbox are kept. */
typedef enum { LT_PAY_STORE_JOURNAL, LT_PAY_STORE_REDIS } lt_pay_backend_t;

typedef struct lt_payments_conf {
    char *base_url;         /* the payment gateway: {base}/paymentv2/vpcpay.html and querydr */
    char *ca;               /* CA of the payment gateway's server certificate (querydr); NULL: the system's */
    char *tmn_code;         /* vnp_TmnCode */
    char *hash_secret_file; /* the merchant hash secret */
    char *public_url;       /* how citizens' browsers reach the callbacks listener: vnp_ReturnUrl's base */
    char *order_type;       /* vnp_OrderType */
    long long min_expires_in_s, default_expires_in_s, max_expires_in_s; /* bounds of the portal's expires_in_s */
    char **ipn_allow; /* source addresses allowed to call the IPN; none: any */
    size_t nipn_allow;
    struct {
        lt_pay_backend_t backend;
        char *journal_dir;
        long long compact_bytes; /* compact once the journal grows past this */
        struct {
            lt_redis_conf_t conn;
            char *prefix;
        } redis;
    } store;
    struct {
        char *url; /* the portal's webhook; NULL: events wait in the outbox */
        char *secret_file, *ca;
        long long timeout_ms, max_attempts, base_delay_ms, max_delay_ms, poll_ms, batch;
    } webhook;
    struct {
        long long interval_s;  /* how often pending payments are looked at */
        long long ipn_grace_s; /* how long past expiry an IPN may still come before querydr is asked */
        long long batch;
        char *server_ip; /* vnp_IpAddr of the merchant server in querydr */
    } reconcile;
} lt_payments_conf_t;

/* The module's conf hooks (lt_module.h): read the section, check the files it names, free it. */
int lt_pay_config_load(const json_t *section, const char *path, const lt_config_t *config, void **conf,
                       lt_error_t *err);
int lt_pay_config_check(const void *conf, const lt_config_t *config, lt_error_t *err);
void lt_pay_config_free(void *conf);

#endif
