/*
 * UUID v4 generation from OpenSSL's CSPRNG. Each thread draws random bytes for many ids at once into a pool of its
 * own and takes 16 bytes per id: RAND_bytes costs about as much for 512 bytes as for 16 (most of a call is the
 * generator's overhead), and this takes it off every request. A pool's bytes are used once and wiped as they go;
 * the process never forks after start-up (where it would, the child must not inherit a filled pool).
 */
#include "lt_uuid.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define POOL_IDS 32

static _Thread_local struct {
    unsigned char bytes[16 * POOL_IDS];
    size_t next; /* the next unused byte; sizeof(bytes): empty */
} pool = {.next = 16 * POOL_IDS};

static void take16(unsigned char b[16])
{
    if (pool.next == sizeof(pool.bytes)) {
        if (RAND_bytes(pool.bytes, sizeof(pool.bytes)) != 1) {
            fputs("lienthong: the random generator failed\n", stderr);
            abort();
        }
        pool.next = 0;
    }
    memcpy(b, pool.bytes + pool.next, 16);
    OPENSSL_cleanse(pool.bytes + pool.next, 16);
    pool.next += 16;
}

void lt_uuid_v4(char out[LT_UUID_LEN + 1])
{
    static const char digits[] = "0123456789abcdef";
    unsigned char b[16];
    take16(b);
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    char *p = out;
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            *p++ = '-';
        *p++ = digits[b[i] >> 4];
        *p++ = digits[b[i] & 15];
    }
    *p = '\0';
}
