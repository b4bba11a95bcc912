/* Sealing and opening the citizen's part of a payment (lt_pay_sealed.h). */
#include "lt_pay_sealed.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The associated data lt_cache_crypto binds a value to: here, the payment's id. A plain digest, not the HMAC key,
 * so that only the AEAD keys matter to a stored payment (rotating the HMAC key leaves every payment readable). */
static void bound_name(const char *payment_id, unsigned char name[LT_CACHE_KEY_LEN])
{
    static const char domain[] = "lienthong payment|";
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    unsigned int n = 0;
    if (ctx == NULL || !EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) ||
        !EVP_DigestUpdate(ctx, domain, sizeof(domain) - 1) || !EVP_DigestUpdate(ctx, payment_id, strlen(payment_id)) ||
        !EVP_DigestFinal_ex(ctx, name, &n))
        abort(); /* SHA-256 does not fail but for want of memory */
    EVP_MD_CTX_free(ctx);
}

int lt_pay_seal(const lt_cache_keys_t *keys, lt_payment_t *p)
{
    char plain[sizeof(p->client_ip) + 1 + sizeof(p->return_url)];
    int len = snprintf(plain, sizeof(plain), "%s\n%s", p->client_ip, p->return_url);
    unsigned char name[LT_CACHE_KEY_LEN], *sealed = NULL;
    size_t sealed_len = 0;
    bound_name(p->id, name);
    int rc = lt_cache_crypto_seal(keys, name, plain, (size_t)len, &sealed, &sealed_len);
    OPENSSL_cleanse(plain, sizeof(plain));
    if (rc != 0)
        return -1;
    /* Base64 (OpenSSL's): 4 characters for every 3 bytes, and the NUL. */
    if (4 * ((sealed_len + 2) / 3) + 1 > sizeof(p->sealed))
        rc = -1;
    else
        EVP_EncodeBlock((unsigned char *)p->sealed, sealed, (int)sealed_len);
    free(sealed);
    return rc;
}

static int unreadable(lt_payment_t *p, lt_error_t *err, const char *why)
{
    p->client_ip[0] = p->return_url[0] = '\0';
    return lt_error_set(err, LT_ERR_INTERNAL, "payment_sealed_unreadable",
                        "payment %s: the sealed return URL and address do not open (%s)", p->id, why);
}

/* The sealed bytes from base64; EVP_DecodeBlock counts the padding's bytes too, so they are taken off. */
static int decode(const char *text, unsigned char *out, size_t *out_len)
{
    size_t n = strlen(text);
    if (n == 0 || n % 4 != 0)
        return -1;
    int len = EVP_DecodeBlock(out, (const unsigned char *)text, (int)n);
    if (len < 0)
        return -1;
    size_t pad = (text[n - 1] == '=') + (text[n - 2] == '=');
    *out_len = (size_t)len - pad;
    return 0;
}

int lt_pay_unseal(const lt_cache_keys_t *keys, lt_payment_t *p, lt_error_t *err)
{
    if (p->sealed[0] == '\0')
        return 0;
    unsigned char bytes[LT_PAY_SEALED_MAX], name[LT_CACHE_KEY_LEN];
    size_t len = 0;
    if (decode(p->sealed, bytes, &len) != 0)
        return unreadable(p, err, "not base64");
    bound_name(p->id, name);
    char *plain = NULL;
    size_t plain_len = 0;
    lt_error_t why;
    if (lt_cache_crypto_open(keys, name, bytes, len, &plain, &plain_len, &why) != 0)
        return unreadable(p, err, why.detail);
    const char *nl = memchr(plain, '\n', plain_len);
    size_t ip_len = nl ? (size_t)(nl - plain) : 0, url_len = nl ? plain_len - ip_len - 1 : 0;
    int rc = 0;
    if (nl == NULL || ip_len >= sizeof(p->client_ip) || url_len >= sizeof(p->return_url)) {
        rc = unreadable(p, err, "no address and URL inside");
    } else {
        memcpy(p->client_ip, plain, ip_len);
        p->client_ip[ip_len] = '\0';
        memcpy(p->return_url, nl + 1, url_len);
        p->return_url[url_len] = '\0';
    }
    OPENSSL_cleanse(plain, plain_len);
    free(plain);
    return rc;
}
