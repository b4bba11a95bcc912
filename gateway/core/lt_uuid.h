/* Random (version 4) UUIDs for request and message ids, from OpenSSL's CSPRNG. */
#ifndef LT_UUID_H
#define LT_UUID_H

#define LT_UUID_LEN 36

void lt_uuid_v4(char out[LT_UUID_LEN + 1]);

#endif
