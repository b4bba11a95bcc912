/*
 * What keeps a cache dump unreadable (floor 3). Nothing personal is ever
 * stored in clear, in Redis or in this process:
 *   - an entry's name is HMAC-SHA256(hmac key, system | operation | normalised
 *     input), and the purge index's name is HMAC-SHA256(hmac key, "index" |
 *     identifier), so neither reveals whom it is about;
 *   - an entry's value is sealed with AES-256-GCM under a random 96-bit nonce,
 *     with the entry's name as associated data, so a value copied under
 *     another name, or altered, fails to open.
 * A sealed value starts with a format byte and the id of the key that sealed
 * it, so keys rotate: several keys may open, one seals.
 * Key files hold the key as hex (`openssl rand -hex 32`), as certs/gen-pki.sh
 * writes cache-hmac.key and cache-aead.key.
 */
#ifndef LT_CACHE_CRYPTO_H
#define LT_CACHE_CRYPTO_H

#include <openssl/types.h>
#include <stdbool.h>
#include <stddef.h>

#include "lt_config.h"
#include "lt_error.h"

#define LT_CACHE_KEY_LEN       32 /* HMAC-SHA256 */
#define LT_CACHE_HEX_LEN       (2 * LT_CACHE_KEY_LEN)
#define LT_CACHE_AEAD_MAX_KEYS 16
#define LT_CACHE_SEAL_OVERHEAD (2 + 12 + 16) /* format, key id, nonce; tag */

typedef struct lt_cache_keys {
    unsigned char hmac[64];
    size_t hmac_len;
    struct {
        int id;
        unsigned char key[32];
    } aead[LT_CACHE_AEAD_MAX_KEYS];
    int naead;
    int encrypt_with;
} lt_cache_keys_t;

/* Reads the key files named by the cache section. */
int lt_cache_crypto_keys_load(lt_cache_keys_t *keys, const lt_cache_conf_t *conf, lt_error_t *err);
/* Random keys for one process: enough for the in-process store, which nothing else reads. */
void lt_cache_crypto_keys_random(lt_cache_keys_t *keys);
void lt_cache_crypto_keys_wipe(lt_cache_keys_t *keys);
/* A hex key file: at least min and at most max bytes once decoded. */
int lt_cache_crypto_key_file_read(const char *path, unsigned char *out, size_t min, size_t max, size_t *len,
                                  lt_error_t *err);

void lt_cache_crypto_key_derive(const lt_cache_keys_t *keys, const char *system, const char *operation,
                                const char *input, size_t input_len, unsigned char out[LT_CACHE_KEY_LEN]);
void lt_cache_crypto_index_derive(const lt_cache_keys_t *keys, const char *identifier,
                                  unsigned char out[LT_CACHE_KEY_LEN]);
void lt_cache_crypto_hex(const unsigned char key[LT_CACHE_KEY_LEN], char out[LT_CACHE_HEX_LEN + 1]);

/*
 * One loop's reusable contexts (made once per worker, used on its thread only): the name key's HMAC, keyed once
 * and reset for every name instead of made and keyed again, and an AES-256-GCM context for opening values. The
 * functions below that take one give the same results as those that do not.
 */
typedef struct lt_cache_crypto_loop {
    EVP_MAC_CTX *hmac;
    EVP_CIPHER_CTX *open;
    /* The key open's context was scheduled with: an entry sealed under it sets only its nonce (the key schedule is
     * a third of an open). A copy, compared byte by byte, so a reload that frees and reallocates keys is safe. */
    unsigned char open_key[32];
    bool open_keyed;
} lt_cache_crypto_loop_t;
void lt_cache_crypto_loop_init(lt_cache_crypto_loop_t *loop, const lt_cache_keys_t *keys);
void lt_cache_crypto_loop_free(lt_cache_crypto_loop_t *loop);
void lt_cache_crypto_key_derive_on(lt_cache_crypto_loop_t *loop, const char *system, const char *operation,
                                   const char *input, size_t input_len, unsigned char out[LT_CACHE_KEY_LEN]);
int lt_cache_crypto_open_on(lt_cache_crypto_loop_t *loop, const lt_cache_keys_t *keys,
                            const unsigned char name[LT_CACHE_KEY_LEN], const unsigned char *sealed, size_t len,
                            char **plain, size_t *plain_len, lt_error_t *err);

/* *sealed is malloc'd: LT_CACHE_SEAL_OVERHEAD + len bytes. */
int lt_cache_crypto_seal(const lt_cache_keys_t *keys, const unsigned char name[LT_CACHE_KEY_LEN], const void *plain,
                         size_t len, unsigned char **sealed, size_t *sealed_len);
/* *plain is malloc'd and NUL-terminated. Fails (LT_ERR_INTERNAL, "cache_unreadable") on any alteration, an unknown
 * key id, or a value sealed under another name. */
int lt_cache_crypto_open(const lt_cache_keys_t *keys, const unsigned char name[LT_CACHE_KEY_LEN],
                         const unsigned char *sealed, size_t len, char **plain, size_t *plain_len, lt_error_t *err);

#endif
