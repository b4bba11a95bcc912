/*
 * The social insurance adapter's settings and the ICD's fixed names, shared by
 * its files and its tests. See README.md in this folder.
 */
#ifndef LT_INSURANCE_H
#define LT_INSURANCE_H

#include <stddef.h>

#define LT_INSURANCE_PATH         "/api/v1/nguoi-tham-gia"
#define LT_INSURANCE_QUERY_NUMBER "maSo"
#define LT_INSURANCE_SECRET_MIN   16   /* bytes: shorter is no secret worth the name */
#define LT_INSURANCE_SECRET_MAX   1024 /* bytes */

/* upstreams.insurance.service, read once at start-up and shared read-only by every thread. */
typedef struct lt_insurance_settings {
    char *client_id;                      /* X-VSS-Client */
    char *hmac_secret_file;               /* path; the secret is the file's text, trimmed */
    long long rate_limited_retry_after_s; /* RATE_LIMITED without a usable Retry-After */
    long long unavailable_retry_after_s;  /* HTTP 503 without a usable Retry-After */
    /* Not from the key table: loaded from hmac_secret_file, wiped on free. */
    unsigned char *secret;
    size_t secret_len;
} lt_insurance_settings_t;

#endif
