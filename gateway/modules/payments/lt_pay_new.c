/* Validating a new payment, building its signed pay URL, and its public JSON form. */
#include "lt_pay_new.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lt_text.h"

#define MAX_AMOUNT_VND  9999999999LL /* vnp_Amount is amount × 100 in at most 12 digits */
#define PAY_RETURN_PATH "/payments/vnpay/return"

static int bad(lt_error_t *err, const char *code, const char *detail)
{
    return lt_error_set(err, LT_ERR_BAD_REQUEST, code, "%s", detail);
}

static bool only_chars(const char *s, const char *extra)
{
    for (const char *p = s; *p; p++)
        if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
              strchr(extra, *p) != NULL))
            return false;
    return true;
}

bool lt_pay_id_is_valid(const char *id)
{
    size_t n = strlen(id);
    return n >= 8 && n <= LT_PAY_ID_MAX && only_chars(id, "-_");
}

static bool has_control_or_space(const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p <= 0x20 || *p == 0x7f)
            return true;
    return false;
}

static const char *string_field(const json_t *body, const char *key)
{
    const json_t *v = json_object_get(body, key);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

static int read_known_keys(const json_t *body, lt_error_t *err)
{
    static const char *const known[] = {"dossier_id", "amount_vnd", "description",  "return_url",
                                        "client_ip",  "locale",     "expires_in_s", NULL};
    const char *key;
    const json_t *v;
    json_object_foreach((json_t *)body, key, v)
    {
        bool found = false;
        for (size_t i = 0; known[i] != NULL && !found; i++)
            found = strcmp(known[i], key) == 0;
        if (!found)
            return lt_error_set(err, LT_ERR_BAD_REQUEST, "unknown_field", "unknown field '%.64s'", key);
    }
    return 0;
}

static int read_dossier_and_amount(const json_t *body, lt_payment_t *p, lt_error_t *err)
{
    const char *dossier = string_field(body, "dossier_id");
    if (dossier == NULL || dossier[0] == '\0' || strlen(dossier) > LT_PAY_DOSSIER_MAX || !only_chars(dossier, ".-_/"))
        return bad(err, "invalid_dossier_id",
                   "dossier_id must be 1-64 characters of A-Z, a-z, 0-9, '.', '-', '_' or '/'");
    snprintf(p->dossier_id, sizeof(p->dossier_id), "%s", dossier);
    const json_t *amount = json_object_get(body, "amount_vnd");
    if (!json_is_integer(amount) || json_integer_value(amount) <= 0 || json_integer_value(amount) > MAX_AMOUNT_VND)
        return bad(err, "invalid_amount", "amount_vnd must be a positive integer number of dong, at most 9999999999");
    p->amount_vnd = json_integer_value(amount);
    return 0;
}

static int read_description(const json_t *body, lt_payment_t *p, lt_error_t *err)
{
    const char *d = string_field(body, "description");
    if (d == NULL || d[0] == '\0' || strlen(d) > LT_PAY_TEXT_MAX || !lt_text_is_utf8(d))
        return bad(err, "invalid_description", "description must be 1-1024 bytes of UTF-8 text");
    snprintf(p->description, sizeof(p->description), "%s", d);
    /* vnp_OrderInfo: plain ASCII (ICD §1); text that folds to nothing still says what is paid for. */
    if (lt_vnp_fold_ascii(d, p->order_info, LT_PAY_ORDER_INFO_MAX) == 0)
        snprintf(p->order_info, sizeof(p->order_info), "Thanh toan le phi ho so %s", p->dossier_id);
    return 0;
}

/* The URL's parts as libcurl's URL API reads them; every pointer is curl's (curl_free), NULL when absent. */
typedef struct {
    char *scheme, *user, *password, *host, *url;
} url_parts_t;

static void url_parts_free(url_parts_t *u)
{
    curl_free(u->scheme);
    curl_free(u->user);
    curl_free(u->password);
    curl_free(u->host);
    curl_free(u->url);
}

static bool url_parse(const char *text, url_parts_t *u)
{
    memset(u, 0, sizeof(*u));
    CURLU *h = curl_url();
    bool ok = h != NULL && curl_url_set(h, CURLUPART_URL, text, 0) == CURLUE_OK &&
              curl_url_get(h, CURLUPART_SCHEME, &u->scheme, 0) == CURLUE_OK &&
              curl_url_get(h, CURLUPART_HOST, &u->host, 0) == CURLUE_OK &&
              curl_url_get(h, CURLUPART_URL, &u->url, 0) == CURLUE_OK;
    /* CURLUE_NO_USER / CURLUE_NO_PASSWORD leave these NULL: no userinfo. An empty one ("https://@host/") is set. */
    if (ok) {
        curl_url_get(h, CURLUPART_USER, &u->user, 0);
        curl_url_get(h, CURLUPART_PASSWORD, &u->password, 0);
    }
    curl_url_cleanup(h);
    return ok;
}

static int bad_return_url(lt_error_t *err, const char *why)
{
    return lt_error_set(err, LT_ERR_BAD_REQUEST, "invalid_return_url", "return_url %s", why);
}

/* The citizen's browser is sent to return_url after paying: it must be the calling client's own site. */
static int read_return_url(const json_t *body, const lt_pay_origin_t *o, lt_payment_t *p, lt_error_t *err)
{
    const char *id = o->client ? o->client : "";
    if (o->client_conf == NULL || o->client_conf->nreturn_url_hosts == 0)
        return lt_error_set(err, LT_ERR_BAD_REQUEST, "invalid_return_url",
                            "this client may not name a return_url: the gateway's configuration lists no host for "
                            "it (clients.%.64s.return_url_hosts)",
                            id);
    const char *url = string_field(body, "return_url");
    if (url == NULL || strlen(url) > LT_PAY_URL_MAX)
        return bad_return_url(err, "must be an https URL of at most 1024 characters");
    /* Browsers read '\' as '/' in an https URL and libcurl does not: refuse what the two could read apart. */
    if (has_control_or_space(url) || strchr(url, '\\') != NULL)
        return bad_return_url(err, "must not hold spaces, control characters or backslashes");
    url_parts_t u;
    int rc = 0;
    if (!url_parse(url, &u) || strlen(u.url) > LT_PAY_URL_MAX)
        rc = bad_return_url(err, "is not a URL (RFC 3986) of at most 1024 characters");
    else if (strcmp(u.scheme, "https") != 0)
        rc = bad_return_url(err, "must be https");
    else if (u.user != NULL || u.password != NULL)
        rc = bad_return_url(err, "must not hold a user name or password (userinfo)");
    else if (!lt_client_return_host_allowed(o->client_conf, u.host))
        rc = lt_error_set(err, LT_ERR_BAD_REQUEST, "invalid_return_url",
                          "return_url's host '%.64s' is not one of clients.%.64s.return_url_hosts", u.host, id);
    else
        snprintf(p->return_url, sizeof(p->return_url), "%s", u.url);
    url_parts_free(&u);
    return rc;
}

static int read_client_ip(const json_t *body, lt_payment_t *p, lt_error_t *err)
{
    const char *ip = string_field(body, "client_ip");
    unsigned char addr[16];
    if (ip == NULL || strlen(ip) >= sizeof(p->client_ip) ||
        (inet_pton(AF_INET, ip, addr) != 1 && inet_pton(AF_INET6, ip, addr) != 1))
        return bad(err, "invalid_client_ip", "client_ip must be the citizen's IPv4 or IPv6 address");
    snprintf(p->client_ip, sizeof(p->client_ip), "%s", ip);
    return 0;
}

static int read_locale_and_expiry(const lt_pay_service_t *svc, const json_t *body, lt_payment_t *p,
                                  long long *expires_in_s, lt_error_t *err)
{
    const json_t *locale = json_object_get(body, "locale");
    const char *l = json_is_string(locale) ? json_string_value(locale) : NULL;
    if (locale != NULL && (l == NULL || (strcmp(l, "vn") != 0 && strcmp(l, "en") != 0)))
        return bad(err, "invalid_locale", "locale must be \"vn\" or \"en\"");
    snprintf(p->locale, sizeof(p->locale), "%s", l ? l : "vn");
    const json_t *exp = json_object_get(body, "expires_in_s");
    *expires_in_s = svc->conf->default_expires_in_s;
    if (exp != NULL) {
        if (!json_is_integer(exp) || json_integer_value(exp) < svc->conf->min_expires_in_s ||
            json_integer_value(exp) > svc->conf->max_expires_in_s)
            return lt_error_set(err, LT_ERR_BAD_REQUEST, "invalid_expires_in_s",
                                "expires_in_s must be an integer from %lld to %lld", svc->conf->min_expires_in_s,
                                svc->conf->max_expires_in_s);
        *expires_in_s = json_integer_value(exp);
    }
    return 0;
}

static int read_idempotency(const lt_pay_service_t *svc, const lt_pay_origin_t *o, const json_t *body, lt_payment_t *p,
                            lt_error_t *err)
{
    snprintf(p->client, sizeof(p->client), "%s", o->client ? o->client : "");
    if (o->idempotency_key == NULL)
        return 0;
    size_t n = strlen(o->idempotency_key);
    if (n == 0 || n > 128 || !only_chars(o->idempotency_key, "-_.:"))
        return bad(err, "invalid_idempotency_key",
                   "Idempotency-Key must be 1-128 characters of A-Z, a-z, 0-9, '-', '_', '.' or ':'");
    /* Keys are scoped by client: two portals choosing the same key never see each other's payment. */
    snprintf(p->idempotency, sizeof(p->idempotency), "%s\n%s", p->client, o->idempotency_key);
    /* Keyed: a plain digest of a body whose other fields are known would give the citizen's address away to a
     * search of the address space. */
    char *canonical = json_dumps(body, JSON_COMPACT | JSON_SORT_KEYS);
    unsigned char mac[LT_CACHE_KEY_LEN];
    lt_cache_crypto_key_derive(&svc->keys, "payments", "fingerprint", canonical, strlen(canonical), mac);
    free(canonical);
    lt_cache_crypto_hex(mac, p->fingerprint);
    return 0;
}

void lt_pay_legacy_fingerprint(const json_t *body, char out[65])
{
    char *canonical = json_dumps(body, JSON_COMPACT | JSON_SORT_KEYS);
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int md_len = 0;
    EVP_Digest(canonical, strlen(canonical), md, &md_len, EVP_sha256(), NULL);
    free(canonical);
    lt_cache_crypto_hex(md, out);
}

/* "LT" + the creation day in UTC+07:00 + 16 random hex digits: unique without coordination between instances,
 * and readable by the people who reconcile. */
static void mint_id(const char create_date[15], char out[LT_PAY_ID_MAX + 1])
{
    unsigned char rnd[8];
    RAND_bytes(rnd, sizeof(rnd));
    int n = snprintf(out, LT_PAY_ID_MAX + 1, "LT%.8s-", create_date);
    for (size_t i = 0; i < sizeof(rnd); i++)
        n += snprintf(out + n, (size_t)(LT_PAY_ID_MAX + 1 - n), "%02x", rnd[i]);
}

int lt_pay_new_from_request(const lt_pay_service_t *svc, const json_t *body, const lt_pay_origin_t *origin,
                            lt_payment_t *p, lt_error_t *err)
{
    memset(p, 0, sizeof(*p));
    long long expires_in_s = 0;
    if (read_known_keys(body, err) != 0 || read_dossier_and_amount(body, p, err) != 0 ||
        read_description(body, p, err) != 0 || read_return_url(body, origin, p, err) != 0 ||
        read_client_ip(body, p, err) != 0 || read_locale_and_expiry(svc, body, p, &expires_in_s, err) != 0 ||
        read_idempotency(svc, origin, body, p, err) != 0)
        return -1;
    p->created_at_ms = p->updated_at_ms = origin->now_ms;
    p->expires_at_ms = origin->now_ms + expires_in_s * 1000;
    lt_pay_vn_time(p->created_at_ms / 1000, p->create_date);
    lt_pay_vn_time(p->expires_at_ms / 1000, p->expire_date);
    mint_id(p->create_date, p->id);
    p->state = LT_PAY_PENDING;
    return 0;
}

char *lt_pay_url(const lt_pay_service_t *svc, const lt_payment_t *p)
{
    char amount[24], return_url[256];
    snprintf(amount, sizeof(amount), "%lld", p->amount_vnd * 100);
    snprintf(return_url, sizeof(return_url), "%s%s", svc->conf->public_url, PAY_RETURN_PATH);
    lt_vnp_params_t ps = {0};
    lt_vnp_params_add(&ps, "vnp_Version", "2.1.0");
    lt_vnp_params_add(&ps, "vnp_Command", "pay");
    lt_vnp_params_add(&ps, "vnp_TmnCode", svc->conf->tmn_code);
    lt_vnp_params_add(&ps, "vnp_Amount", amount);
    lt_vnp_params_add(&ps, "vnp_CurrCode", "VND");
    lt_vnp_params_add(&ps, "vnp_TxnRef", p->id);
    lt_vnp_params_add(&ps, "vnp_OrderInfo", p->order_info);
    lt_vnp_params_add(&ps, "vnp_OrderType", svc->conf->order_type);
    lt_vnp_params_add(&ps, "vnp_Locale", p->locale);
    lt_vnp_params_add(&ps, "vnp_ReturnUrl", return_url);
    lt_vnp_params_add(&ps, "vnp_IpAddr", p->client_ip);
    lt_vnp_params_add(&ps, "vnp_CreateDate", p->create_date);
    lt_vnp_params_add(&ps, "vnp_ExpireDate", p->expire_date);
    char *query = lt_vnp_signed_query(&ps, svc->hash_secret, svc->hash_secret_len);
    lt_vnp_params_free(&ps);
    size_t cap = strlen(svc->conf->base_url) + strlen(query) + 32;
    char *url = malloc(cap);
    snprintf(url, cap, "%s/paymentv2/vpcpay.html?%s", svc->conf->base_url, query);
    free(query);
    return url;
}

static json_t *string_or_null(const char *s)
{
    return s[0] != '\0' ? json_string(s) : json_null();
}

json_t *lt_pay_public_json(const lt_payment_t *p)
{
    char updated[32], created[32], expires[32], paid_at[32];
    lt_pay_iso_time(p->updated_at_ms, updated);
    lt_pay_iso_time(p->created_at_ms, created);
    lt_pay_iso_time(p->expires_at_ms, expires);
    int64_t pay_s;
    json_t *paid = json_null();
    if (p->state == LT_PAY_PAID && lt_pay_parse_vn_time(p->pay_date, &pay_s) == 0) {
        lt_pay_iso_time(pay_s * 1000, paid_at);
        paid = json_string(paid_at);
    }
    return json_pack("{s:s, s:s, s:I, s:s, s:o, s:o, s:o, s:o, s:s, s:s, s:s}", "payment_id", p->id, "dossier_id",
                     p->dossier_id, "amount_vnd", (json_int_t)p->amount_vnd, "status", lt_pay_state_name(p->state),
                     "bank_code", string_or_null(p->bank_code), "transaction_no", string_or_null(p->transaction_no),
                     "paid_at", paid, "response_code", string_or_null(p->response_code), "updated_at", updated,
                     "created_at", created, "expires_at", expires);
}
