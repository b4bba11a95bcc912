/* UUID v4 generation. RAND_bytes is thread-safe in OpenSSL 3 and never blocks once seeded. */
#include "lt_uuid.h"

#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>

void lt_uuid_v4(char out[LT_UUID_LEN + 1])
{
    unsigned char b[16];
    if (RAND_bytes(b, sizeof(b)) != 1) {
        fputs("lienthong: the random generator failed\n", stderr);
        abort();
    }
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    snprintf(out, LT_UUID_LEN + 1, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
             b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
}
