/* Payments as a whole: secrets, the store, the peers, time in UTC+07:00, and the IPN answer table. */
#include "lt_pay_service.h"

#include <ctype.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lt_date.h"

#define VN_OFFSET_S (7 * 3600)
/* Used when a peer's CA is not configured: the system's trust store (Debian's ca-certificates). */
#define SYSTEM_CA_BUNDLE "/etc/ssl/certs/ca-certificates.crt"

static const struct {
    const char *code, *message;
} rsp_table[LT_RSP_COUNT] = {
    [LT_RSP_00_CONFIRMED] = {"00", "Confirm Success"},
    [LT_RSP_01_NOT_FOUND] = {"01", "Order not found"},
    [LT_RSP_02_ALREADY_CONFIRMED] = {"02", "Order already confirmed"},
    [LT_RSP_04_INVALID_AMOUNT] = {"04", "Invalid amount"},
    [LT_RSP_97_INVALID_SIGNATURE] = {"97", "Invalid signature"},
    [LT_RSP_99_UNKNOWN_ERROR] = {"99", "Unknown error"},
};

const char *lt_ipn_rsp_code(lt_ipn_rsp_t rsp)
{
    return rsp_table[rsp].code;
}

const char *lt_ipn_rsp_message(lt_ipn_rsp_t rsp)
{
    return rsp_table[rsp].message;
}

int lt_pay_secret_read(const char *path, const char *what, unsigned char *out, size_t *len, lt_error_t *err)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return lt_error_set(err, LT_ERR_INTERNAL, "config", "%s: cannot open '%s'", what, path);
    size_t n = fread(out, 1, LT_PAY_SECRET_MAX, f);
    bool too_long = n == LT_PAY_SECRET_MAX && fgetc(f) != EOF;
    fclose(f);
    while (n > 0 && isspace(out[n - 1]))
        n--;
    if (too_long || n < 8) {
        OPENSSL_cleanse(out, LT_PAY_SECRET_MAX);
        return lt_error_set(err, LT_ERR_INTERNAL, "config", "%s: '%s' must hold 8 to %d characters", what, path,
                            LT_PAY_SECRET_MAX - 1);
    }
    *len = n;
    return 0;
}

int lt_pay_keys_required(const lt_cache_conf_t *cache, lt_error_t *err)
{
    if (cache->hmac_key_file != NULL && cache->naead > 0)
        return 0;
    return lt_error_set(err, LT_ERR_INTERNAL, "config",
                        "cache.keys: required with payments (hmac and aead key files): stored payments seal the "
                        "citizen's address and return URL with them, and must open them again after a restart");
}

static void set_peer(lt_upstream_conf_t *peer, const char *name, const char *url, const char *ca, long long timeout_ms)
{
    peer->name = name;
    peer->base_url = (char *)url;
    peer->ca = (char *)(ca != NULL ? ca : SYSTEM_CA_BUNDLE);
    peer->connect_timeout_ms = timeout_ms < 3000 ? timeout_ms : 3000;
    peer->timeout_ms = timeout_ms;
    peer->max_response_bytes = 64 * 1024;
}

lt_pay_service_t *lt_pay_service_new(const lt_payments_conf_t *pc, const lt_cache_conf_t *cache, lt_error_t *err)
{
    lt_pay_service_t *svc = calloc(1, sizeof(*svc));
    svc->conf = pc;
    int rc = lt_pay_keys_required(cache, err);
    if (rc == 0)
        rc = lt_cache_crypto_keys_load(&svc->keys, cache, err);
    if (rc == 0)
        rc = lt_pay_secret_read(pc->hash_secret_file, "payments.hash_secret_file", svc->hash_secret,
                                &svc->hash_secret_len, err);
    if (rc == 0 && pc->webhook.secret_file != NULL)
        rc = lt_pay_secret_read(pc->webhook.secret_file, "payments.webhook.secret_file", svc->webhook_secret,
                                &svc->webhook_secret_len, err);
    if (rc == 0 && (svc->store = lt_pay_store_open(pc, err)) == NULL)
        rc = -1;
    if (rc != 0) {
        lt_pay_service_free(svc);
        return NULL;
    }
    set_peer(&svc->gateway_peer, "payment", pc->base_url, pc->ca, 10000);
    set_peer(&svc->webhook_peer, "webhook", pc->webhook.url, pc->webhook.ca, pc->webhook.timeout_ms);
    return svc;
}

void lt_pay_service_free(lt_pay_service_t *svc)
{
    if (svc == NULL)
        return;
    if (svc->store != NULL)
        lt_pay_store_close(svc->store);
    OPENSSL_cleanse(svc->hash_secret, sizeof(svc->hash_secret));
    OPENSSL_cleanse(svc->webhook_secret, sizeof(svc->webhook_secret));
    lt_cache_crypto_keys_wipe(&svc->keys);
    free(svc);
}

void lt_pay_vn_time(int64_t unix_s, char out[15])
{
    time_t t = (time_t)(unix_s + VN_OFFSET_S);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 15, "%Y%m%d%H%M%S", &tm);
}

int lt_pay_parse_vn_time(const char *s, int64_t *unix_s)
{
    if (s == NULL || strlen(s) != 14 || strspn(s, "0123456789") != 14)
        return -1;
    struct tm tm = {0};
    if (sscanf(s, "%4d%2d%2d%2d%2d%2d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec) != 6)
        return -1;
    /* A real calendar day and time: timegm() would silently move 31 February to March, or second 60 to the next
     * minute, and the portal would be told a payment time the payment gateway never sent. */
    if (tm.tm_year < 1970 || !lt_date_is_valid(tm.tm_year, tm.tm_mon, tm.tm_mday) || tm.tm_hour > 23 ||
        tm.tm_min > 59 || tm.tm_sec > 59)
        return -1;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    *unix_s = (int64_t)timegm(&tm) - VN_OFFSET_S;
    return 0;
}

void lt_pay_iso_time(int64_t unix_ms, char out[32])
{
    time_t t = (time_t)(unix_ms / 1000 + VN_OFFSET_S);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%S+07:00", &tm);
}

int64_t lt_pay_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
