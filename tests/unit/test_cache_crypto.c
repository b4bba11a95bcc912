/* Cache names (HMAC), sealed values (AES-256-GCM with key ids), key files, entries, and what is never cached. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "lt_cache_crypto.h"
#include "lt_cache_entry.h"
#include "lt_config.h"

static void keys_with(lt_cache_keys_t *k, int id, unsigned char fill)
{
    memset(k, 0, sizeof(*k));
    k->hmac_len = 32;
    memset(k->hmac, 0x11, 32);
    k->aead[0].id = id;
    memset(k->aead[0].key, fill, 32);
    k->naead = 1;
    k->encrypt_with = id;
}

static void names_are_deterministic_and_distinct(void **state)
{
    lt_cache_keys_t k, other;
    keys_with(&k, 1, 1);
    keys_with(&other, 1, 1);
    other.hmac[0] ^= 1;
    unsigned char a[32], b[32], c[32], d[32], e[32];
    const char *in = "{\"id\":\"001095012345\"}";
    lt_cache_crypto_key_derive(&k, "population", "lookup", in, strlen(in), a);
    lt_cache_crypto_key_derive(&k, "population", "lookup", in, strlen(in), b);
    lt_cache_crypto_key_derive(&k, "population", "verify", in, strlen(in), c);
    lt_cache_crypto_key_derive(&other, "population", "lookup", in, strlen(in), d);
    lt_cache_crypto_key_derive(&k, "population", "lookup", in, strlen(in) - 1, e);
    assert_memory_equal(a, b, 32);
    assert_memory_not_equal(a, c, 32);
    assert_memory_not_equal(a, d, 32);
    assert_memory_not_equal(a, e, 32);
    char hex[LT_CACHE_HEX_LEN + 1];
    lt_cache_crypto_hex(a, hex);
    assert_int_equal(strlen(hex), 64);
    assert_null(strstr(hex, "001095012345"));
}

static void sealed_values_open_only_intact_and_under_their_name(void **state)
{
    lt_cache_keys_t k;
    keys_with(&k, 7, 0x42);
    unsigned char name[32], other[32];
    memset(name, 1, 32);
    memset(other, 2, 32);
    const char *plain = "{\"full_name\":\"Nguyễn Văn An\"}";
    unsigned char *sealed;
    size_t len;
    assert_int_equal(lt_cache_crypto_seal(&k, name, plain, strlen(plain), &sealed, &len), 0);
    assert_int_equal(len, strlen(plain) + LT_CACHE_SEAL_OVERHEAD);
    assert_int_equal(sealed[1], 7);
    assert_null(memmem(sealed, len, "Nguy", 4));
    char *out;
    size_t outlen;
    lt_error_t err;
    assert_int_equal(lt_cache_crypto_open(&k, name, sealed, len, &out, &outlen, &err), 0);
    assert_string_equal(out, plain);
    free(out);
    assert_int_equal(lt_cache_crypto_open(&k, other, sealed, len, &out, &outlen, &err), -1);
    assert_string_equal(err.code, "cache_unreadable");
    for (size_t i = 0; i < len; i++) {
        sealed[i] ^= 0x80;
        assert_int_equal(lt_cache_crypto_open(&k, name, sealed, len, &out, &outlen, &err), -1);
        sealed[i] ^= 0x80;
    }
    assert_int_equal(lt_cache_crypto_open(&k, name, sealed, len - 1, &out, &outlen, &err), -1);
    free(sealed);
}

/* A loop's contexts, used again and again (a refused value between), give what fresh contexts give. The HMAC is
 * checked against a value computed outside this code (Python: hmac.new(bytes([0x11]) * 32, b"population|lookup|"
 * + input, "sha256")). */
static void a_loops_reused_contexts_give_the_same_names_and_values(void **state)
{
    lt_cache_keys_t k;
    keys_with(&k, 1, 0x22);
    lt_cache_crypto_loop_t loop;
    lt_cache_crypto_loop_init(&loop, &k);
    const char *ins[] = {"{\"id\":\"001095012345\"}", "{\"tax_code\":\"0100109106\"}", ""};
    for (int round = 0; round < 2; round++)
        for (size_t i = 0; i < 3; i++) {
            unsigned char fresh[32], reused[32];
            lt_cache_crypto_key_derive(&k, "population", "lookup", ins[i], strlen(ins[i]), fresh);
            lt_cache_crypto_key_derive_on(&loop, "population", "lookup", ins[i], strlen(ins[i]), reused);
            assert_memory_equal(fresh, reused, 32);
            if (i == 0) {
                char hex[LT_CACHE_HEX_LEN + 1];
                lt_cache_crypto_hex(reused, hex);
                assert_string_equal(hex, "60ca254f3a0ff932689bcfee982d6dbab1ca4a69955766d5b4e30aa2dbe54821");
            }
        }
    unsigned char name[32], other[32];
    memset(name, 3, 32);
    memset(other, 4, 32);
    unsigned char *sealed;
    size_t len, outlen;
    char *out;
    lt_error_t err;
    assert_int_equal(lt_cache_crypto_seal(&k, name, "value", 5, &sealed, &len), 0);
    for (int round = 0; round < 3; round++) {
        assert_int_equal(lt_cache_crypto_open_on(&loop, &k, name, sealed, len, &out, &outlen, &err), 0);
        assert_string_equal(out, "value");
        free(out);
        assert_int_equal(lt_cache_crypto_open_on(&loop, &k, other, sealed, len, &out, &outlen, &err), -1);
    }
    free(sealed);
    lt_cache_crypto_loop_free(&loop);
}

static void keys_rotate_by_id(void **state)
{
    lt_cache_keys_t old, ring, retired;
    keys_with(&old, 1, 0xa1);
    keys_with(&ring, 1, 0xa1);
    ring.aead[1].id = 2;
    memset(ring.aead[1].key, 0xb2, 32);
    ring.naead = 2;
    ring.encrypt_with = 2;
    keys_with(&retired, 2, 0xb2);
    unsigned char name[32] = {0};
    unsigned char *s1, *s2;
    size_t l1, l2, n;
    char *out;
    lt_error_t err;
    lt_cache_crypto_seal(&old, name, "one", 3, &s1, &l1);
    lt_cache_crypto_seal(&ring, name, "two", 3, &s2, &l2);
    assert_int_equal(s2[1], 2);
    assert_int_equal(lt_cache_crypto_open(&ring, name, s1, l1, &out, &n, &err), 0);
    free(out);
    assert_int_equal(lt_cache_crypto_open(&retired, name, s2, l2, &out, &n, &err), 0);
    free(out);
    assert_int_equal(lt_cache_crypto_open(&retired, name, s1, l1, &out, &n, &err), -1);
    assert_non_null(strstr(err.detail, "key id"));
    free(s1);
    free(s2);
}

/* A loop's open context keeps its key schedule between opens: alternating keys, and a reload that changes the key
 * bytes in place (same struct, same id), must each open exactly what the key in hand seals. */
static void a_loops_open_follows_the_key_in_hand(void **state)
{
    lt_cache_keys_t ring;
    keys_with(&ring, 1, 0xa1);
    ring.aead[1].id = 2;
    memset(ring.aead[1].key, 0xb2, 32);
    ring.naead = 2;
    lt_cache_crypto_loop_t loop;
    lt_cache_crypto_loop_init(&loop, &ring);
    unsigned char name[32] = {0}, *s1, *s2, *s3;
    size_t l1, l2, l3, n;
    char *out;
    lt_error_t err;
    ring.encrypt_with = 1;
    lt_cache_crypto_seal(&ring, name, "one", 3, &s1, &l1);
    ring.encrypt_with = 2;
    lt_cache_crypto_seal(&ring, name, "two", 3, &s2, &l2);
    for (int round = 0; round < 2; round++) {
        assert_int_equal(lt_cache_crypto_open_on(&loop, &ring, name, s1, l1, &out, &n, &err), 0);
        assert_string_equal(out, "one");
        free(out);
        assert_int_equal(lt_cache_crypto_open_on(&loop, &ring, name, s2, l2, &out, &n, &err), 0);
        assert_string_equal(out, "two");
        free(out);
    }
    /* key 2's bytes replaced where they lie: its old entries no longer open, the new key's do */
    memset(ring.aead[1].key, 0xc3, 32);
    lt_cache_crypto_seal(&ring, name, "three", 5, &s3, &l3);
    assert_int_equal(lt_cache_crypto_open_on(&loop, &ring, name, s2, l2, &out, &n, &err), -1);
    assert_int_equal(lt_cache_crypto_open_on(&loop, &ring, name, s3, l3, &out, &n, &err), 0);
    assert_string_equal(out, "three");
    free(out);
    memset(ring.aead[1].key, 0xb2, 32);
    assert_int_equal(lt_cache_crypto_open_on(&loop, &ring, name, s3, l3, &out, &n, &err), -1);
    assert_int_equal(lt_cache_crypto_open_on(&loop, &ring, name, s2, l2, &out, &n, &err), 0);
    assert_string_equal(out, "two");
    free(out);
    free(s1);
    free(s2);
    free(s3);
    lt_cache_crypto_loop_free(&loop);
}

static char *write_file(const char *text)
{
    static char path[64];
    snprintf(path, sizeof(path), "/tmp/lt-key-XXXXXX");
    int fd = mkstemp(path);
    assert_true(write(fd, text, strlen(text)) == (ssize_t)strlen(text));
    close(fd);
    return path;
}

static void key_files_are_hex(void **state)
{
    unsigned char key[64];
    size_t len;
    lt_error_t err;
    char *p = write_file("00112233445566778899aabbccddeeff00112233445566778899AABBCCDDEEFF\n");
    assert_int_equal(lt_cache_crypto_key_file_read(p, key, 32, 32, &len, &err), 0);
    assert_int_equal(len, 32);
    assert_int_equal(key[31], 0xff);
    unlink(p);
    p = write_file("0011");
    assert_int_equal(lt_cache_crypto_key_file_read(p, key, 32, 32, &len, &err), -1);
    unlink(p);
    p = write_file("zz112233445566778899aabbccddeeff00112233445566778899aabbccddeeff");
    assert_int_equal(lt_cache_crypto_key_file_read(p, key, 32, 32, &len, &err), -1);
    unlink(p);
    assert_int_equal(lt_cache_crypto_key_file_read("/nonexistent/key", key, 32, 32, &len, &err), -1);
}

static void entries_round_trip_and_age(void **state)
{
    lt_cache_keys_t k;
    keys_with(&k, 3, 0x33);
    unsigned char name[32] = {9};
    char body[] = "{\"id\":\"001095012345\"}";
    lt_cache_entry_t e = {.kind = LT_CACHE_FOUND,
                          .fetched_ms = 1000,
                          .fresh_until_ms = 61000,
                          .stale_until_ms = 3661000,
                          .body = body,
                          .body_len = strlen(body)};
    unsigned char *sealed;
    size_t len;
    assert_int_equal(lt_cache_entry_seal(&k, name, &e, &sealed, &len), 0);
    lt_cache_entry_t back;
    lt_error_t err;
    assert_int_equal(lt_cache_entry_open(&k, name, sealed, len, &back, &err), 0);
    assert_int_equal(back.kind, LT_CACHE_FOUND);
    assert_int_equal(back.fetched_ms, 1000);
    assert_int_equal(back.stale_until_ms, 3661000);
    assert_string_equal(back.body, body);
    assert_true(lt_cache_entry_is_fresh(&back, 60999));
    assert_false(lt_cache_entry_is_fresh(&back, 61000));
    assert_true(lt_cache_entry_is_usable(&back, 3660999));
    assert_false(lt_cache_entry_is_usable(&back, 3661000));
    assert_int_equal(lt_cache_entry_age_s(&back, 3999), 2);
    lt_cache_entry_clear(&back);
    free(sealed);
    assert_int_equal(lt_cache_entry_decode("X 1 2 3\n{}", 10, &back), -1);
    assert_int_equal(lt_cache_entry_decode("no header", 9, &back), -1);
}

static void payments_and_non_idempotent_operations_are_never_cached(void **state)
{
    lt_operation_t lookup = {.name = "lookup", .idempotent = true};
    lt_operation_t create = {.name = "create", .idempotent = false};
    assert_false(lt_config_cache_forbidden("population", &lookup));
    assert_true(lt_config_cache_forbidden("population", &create));
    assert_true(lt_config_cache_forbidden("payment", &lookup));
    assert_true(lt_config_cache_forbidden("payments", &lookup));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(names_are_deterministic_and_distinct),
        cmocka_unit_test(sealed_values_open_only_intact_and_under_their_name),
        cmocka_unit_test(a_loops_reused_contexts_give_the_same_names_and_values),
        cmocka_unit_test(keys_rotate_by_id),
        cmocka_unit_test(a_loops_open_follows_the_key_in_hand),
        cmocka_unit_test(key_files_are_hex),
        cmocka_unit_test(entries_round_trip_and_age),
        cmocka_unit_test(payments_and_non_idempotent_operations_are_never_cached),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
