/* Cache entry names (HMAC-SHA256) and sealed values (AES-256-GCM with key ids), and the key files they come from. */
#include "lt_cache_crypto.h"

#include <ctype.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FORMAT_V1 1
#define NONCE_LEN 12
#define TAG_LEN   16
#define HEAD_LEN  (2 + NONCE_LEN)

/* Fetched once: OpenSSL 3 would otherwise look the algorithms up (under a lock) on every hit. */
static EVP_MAC *hmac_alg;
static EVP_CIPHER *gcm_alg;
static pthread_once_t algs_once = PTHREAD_ONCE_INIT;

static void fetch_algs(void)
{
    hmac_alg = EVP_MAC_fetch(NULL, "HMAC", NULL);
    gcm_alg = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL);
    if (hmac_alg == NULL || gcm_alg == NULL) {
        fprintf(stderr, "lienthong-gateway: OpenSSL lacks HMAC or AES-256-GCM\n");
        abort();
    }
}

static void algs(void)
{
    pthread_once(&algs_once, fetch_algs);
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = tolower(c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Start-up only: a blocking read is fine before the loops run. */
int lt_cache_crypto_key_file_read(const char *path, unsigned char *out, size_t min, size_t max, size_t *len,
                                  lt_error_t *err)
{
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return lt_error_set(err, LT_ERR_INTERNAL, "config", "cache key '%s': cannot read the file", path);
    char text[1024];
    size_t n = fread(text, 1, sizeof(text) - 1, f);
    fclose(f);
    text[n] = '\0';
    while (n > 0 && isspace((unsigned char)text[n - 1]))
        text[--n] = '\0';
    size_t bytes = n / 2;
    int bad = n % 2 != 0 || bytes < min || bytes > max;
    for (size_t i = 0; !bad && i < bytes; i++) {
        int hi = hexval((unsigned char)text[2 * i]), lo = hexval((unsigned char)text[2 * i + 1]);
        bad = hi < 0 || lo < 0;
        if (!bad)
            out[i] = (unsigned char)(hi << 4 | lo);
    }
    OPENSSL_cleanse(text, sizeof(text));
    if (bad)
        return lt_error_set(err, LT_ERR_INTERNAL, "config",
                            "cache key '%s': must hold %zu to %zu random bytes as hex (openssl rand -hex 32)", path,
                            min, max);
    *len = bytes;
    return 0;
}

int lt_cache_crypto_keys_load(lt_cache_keys_t *keys, const lt_cache_conf_t *conf, lt_error_t *err)
{
    memset(keys, 0, sizeof(*keys));
    if (conf->naead > LT_CACHE_AEAD_MAX_KEYS)
        return lt_error_set(err, LT_ERR_INTERNAL, "config", "cache.keys.aead: at most %d keys", LT_CACHE_AEAD_MAX_KEYS);
    if (lt_cache_crypto_key_file_read(conf->hmac_key_file, keys->hmac, 32, sizeof(keys->hmac), &keys->hmac_len, err) !=
        0)
        return -1;
    for (size_t i = 0; i < conf->naead; i++) {
        size_t len;
        if (lt_cache_crypto_key_file_read(conf->aead[i].file, keys->aead[i].key, 32, 32, &len, err) != 0)
            return -1;
        keys->aead[i].id = conf->aead[i].id;
    }
    keys->naead = (int)conf->naead;
    keys->encrypt_with = conf->encrypt_with;
    return 0;
}

void lt_cache_crypto_keys_random(lt_cache_keys_t *keys)
{
    memset(keys, 0, sizeof(*keys));
    keys->hmac_len = 32;
    RAND_bytes(keys->hmac, 32);
    RAND_bytes(keys->aead[0].key, 32);
    keys->aead[0].id = 1;
    keys->naead = 1;
    keys->encrypt_with = 1;
}

void lt_cache_crypto_keys_wipe(lt_cache_keys_t *keys)
{
    OPENSSL_cleanse(keys, sizeof(*keys));
}

/* A context keyed with the name key. */
static EVP_MAC_CTX *hmac_keyed(const lt_cache_keys_t *keys)
{
    algs();
    char digest[] = "SHA256";
    OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0), OSSL_PARAM_END};
    EVP_MAC_CTX *ctx = EVP_MAC_CTX_new(hmac_alg);
    if (ctx == NULL || !EVP_MAC_init(ctx, keys->hmac, keys->hmac_len, params))
        abort();
    return ctx;
}

/* ctx keyed and ready for its first message (hmac_keyed, or reset with EVP_MAC_init without a key). */
static void hmac_run(EVP_MAC_CTX *ctx, const void *const *parts, const size_t *lens, int nparts,
                     unsigned char out[LT_CACHE_KEY_LEN])
{
    size_t outlen = 0;
    for (int i = 0; i < nparts; i++)
        EVP_MAC_update(ctx, parts[i], lens[i]);
    EVP_MAC_final(ctx, out, &outlen, LT_CACHE_KEY_LEN);
}

static void hmac_parts(const lt_cache_keys_t *keys, const void *const *parts, const size_t *lens, int nparts,
                       unsigned char out[LT_CACHE_KEY_LEN])
{
    EVP_MAC_CTX *ctx = hmac_keyed(keys);
    hmac_run(ctx, parts, lens, nparts, out);
    EVP_MAC_CTX_free(ctx);
}

void lt_cache_crypto_loop_init(lt_cache_crypto_loop_t *loop, const lt_cache_keys_t *keys)
{
    loop->hmac = hmac_keyed(keys);
    loop->open = EVP_CIPHER_CTX_new();
    loop->open_keyed = false;
    if (loop->open == NULL)
        abort();
}

void lt_cache_crypto_loop_free(lt_cache_crypto_loop_t *loop)
{
    EVP_MAC_CTX_free(loop->hmac);
    EVP_CIPHER_CTX_free(loop->open);
    OPENSSL_cleanse(loop, sizeof(*loop)); /* the key copy too */
}

void lt_cache_crypto_key_derive_on(lt_cache_crypto_loop_t *loop, const char *system, const char *operation,
                                   const char *input, size_t input_len, unsigned char out[LT_CACHE_KEY_LEN])
{
    /* Without a key, EVP_MAC_init starts a new message under the key the context holds. */
    if (!EVP_MAC_init(loop->hmac, NULL, 0, NULL))
        abort();
    const void *parts[] = {system, "|", operation, "|", input};
    size_t lens[] = {strlen(system), 1, strlen(operation), 1, input_len};
    hmac_run(loop->hmac, parts, lens, 5, out);
}

void lt_cache_crypto_key_derive(const lt_cache_keys_t *keys, const char *system, const char *operation,
                                const char *input, size_t input_len, unsigned char out[LT_CACHE_KEY_LEN])
{
    /* System and operation names never hold '|', so the parts cannot run into each other. */
    const void *parts[] = {system, "|", operation, "|", input};
    size_t lens[] = {strlen(system), 1, strlen(operation), 1, input_len};
    hmac_parts(keys, parts, lens, 5, out);
}

void lt_cache_crypto_index_derive(const lt_cache_keys_t *keys, const char *identifier,
                                  unsigned char out[LT_CACHE_KEY_LEN])
{
    const void *parts[] = {"index|", identifier};
    size_t lens[] = {6, strlen(identifier)};
    hmac_parts(keys, parts, lens, 2, out);
}

void lt_cache_crypto_hex(const unsigned char key[LT_CACHE_KEY_LEN], char out[LT_CACHE_HEX_LEN + 1])
{
    static const char digits[] = "0123456789abcdef";
    for (int i = 0; i < LT_CACHE_KEY_LEN; i++) {
        out[2 * i] = digits[key[i] >> 4];
        out[2 * i + 1] = digits[key[i] & 15];
    }
    out[LT_CACHE_HEX_LEN] = '\0';
}

static const unsigned char *aead_key(const lt_cache_keys_t *keys, int id)
{
    for (int i = 0; i < keys->naead; i++)
        if (keys->aead[i].id == id)
            return keys->aead[i].key;
    return NULL;
}

int lt_cache_crypto_seal(const lt_cache_keys_t *keys, const unsigned char name[LT_CACHE_KEY_LEN], const void *plain,
                         size_t len, unsigned char **sealed, size_t *sealed_len)
{
    algs();
    const unsigned char *key = aead_key(keys, keys->encrypt_with);
    if (key == NULL || len > (size_t)1 << 30)
        return -1;
    unsigned char *out = malloc(HEAD_LEN + len + TAG_LEN);
    out[0] = FORMAT_V1;
    out[1] = (unsigned char)keys->encrypt_with;
    if (RAND_bytes(out + 2, NONCE_LEN) != 1) {
        free(out);
        return -1;
    }
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int n = 0, fin = 0;
    /* The header and the entry's name are authenticated: a value moved to another name does not open. */
    int ok = ctx != NULL && EVP_EncryptInit_ex2(ctx, gcm_alg, key, out + 2, NULL) &&
             EVP_EncryptUpdate(ctx, NULL, &n, out, 2) && EVP_EncryptUpdate(ctx, NULL, &n, name, LT_CACHE_KEY_LEN) &&
             EVP_EncryptUpdate(ctx, out + HEAD_LEN, &n, plain, (int)len) &&
             EVP_EncryptFinal_ex(ctx, out + HEAD_LEN + n, &fin) &&
             EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, TAG_LEN, out + HEAD_LEN + len);
    EVP_CIPHER_CTX_free(ctx);
    if (!ok) {
        free(out);
        return -1;
    }
    *sealed = out;
    *sealed_len = HEAD_LEN + len + TAG_LEN;
    return 0;
}

static int unreadable(lt_error_t *err, const char *why)
{
    return lt_error_set(err, LT_ERR_INTERNAL, "cache_unreadable", "cached value %s", why);
}

/* Sets ctx for one open: the cipher and key when *keyed does not already hold this key, and the nonce always. */
static bool open_init(EVP_CIPHER_CTX *ctx, const unsigned char key[32], const unsigned char *nonce,
                      unsigned char keyed_with[32], bool *keyed)
{
    if (keyed != NULL && *keyed && memcmp(keyed_with, key, 32) == 0)
        return EVP_DecryptInit_ex2(ctx, NULL, NULL, nonce, NULL) > 0;
    if (keyed != NULL)
        *keyed = false;
    if (!EVP_DecryptInit_ex2(ctx, gcm_alg, key, nonce, NULL))
        return false;
    if (keyed != NULL) {
        memcpy(keyed_with, key, 32);
        *keyed = true;
    }
    return true;
}

/* Opens with ctx, a GCM context of its own or a loop's reused one. keyed_with and keyed: what a loop's ctx was last
 * keyed with; NULL for a context used once. */
static int open_with(EVP_CIPHER_CTX *ctx, unsigned char keyed_with[32], bool *keyed, const lt_cache_keys_t *keys,
                     const unsigned char name[LT_CACHE_KEY_LEN], const unsigned char *sealed, size_t len, char **plain,
                     size_t *plain_len, lt_error_t *err)
{
    algs();
    if (len < HEAD_LEN + TAG_LEN || sealed[0] != FORMAT_V1)
        return unreadable(err, "has an unknown format");
    const unsigned char *key = aead_key(keys, sealed[1]);
    if (key == NULL)
        return unreadable(err, "was sealed with a key id this gateway does not hold");
    size_t clen = len - HEAD_LEN - TAG_LEN;
    char *out = malloc(clen + 1);
    int n = 0, fin = 0;
    int ok = ctx != NULL && open_init(ctx, key, sealed + 2, keyed_with, keyed) &&
             EVP_DecryptUpdate(ctx, NULL, &n, sealed, 2) && EVP_DecryptUpdate(ctx, NULL, &n, name, LT_CACHE_KEY_LEN) &&
             EVP_DecryptUpdate(ctx, (unsigned char *)out, &n, sealed + HEAD_LEN, (int)clen) &&
             EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, TAG_LEN, (void *)(sealed + HEAD_LEN + clen)) &&
             EVP_DecryptFinal_ex(ctx, (unsigned char *)out + n, &fin) > 0;
    if (!ok) {
        if (keyed != NULL)
            *keyed = false; /* the next open starts from the key again, whatever state the failure left */
        OPENSSL_cleanse(out, clen + 1);
        free(out);
        return unreadable(err, "failed authentication (altered, or sealed under another key or name)");
    }
    out[clen] = '\0';
    *plain = out;
    *plain_len = clen;
    return 0;
}

int lt_cache_crypto_open(const lt_cache_keys_t *keys, const unsigned char name[LT_CACHE_KEY_LEN],
                         const unsigned char *sealed, size_t len, char **plain, size_t *plain_len, lt_error_t *err)
{
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int rc = open_with(ctx, NULL, NULL, keys, name, sealed, len, plain, plain_len, err);
    EVP_CIPHER_CTX_free(ctx);
    return rc;
}

int lt_cache_crypto_open_on(lt_cache_crypto_loop_t *loop, const lt_cache_keys_t *keys,
                            const unsigned char name[LT_CACHE_KEY_LEN], const unsigned char *sealed, size_t len,
                            char **plain, size_t *plain_len, lt_error_t *err)
{
    return open_with(loop->open, loop->open_key, &loop->open_keyed, keys, name, sealed, len, plain, plain_len, err);
}
