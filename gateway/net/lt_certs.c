/* The table of certificates held and seen, with their expiry. */
#include "lt_certs.h"

#include <openssl/pem.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static lt_cert_info_t table[LT_CERTS_MAX];
static size_t ncerts;

static int64_t asn1_to_unix(const ASN1_TIME *t)
{
    struct tm tm;
    if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1)
        return 0;
    return (int64_t)timegm(&tm);
}

static void subject_of(const X509 *cert, char *buf, size_t len)
{
    const X509_NAME *name = X509_get_subject_name(cert);
    buf[0] = '\0';
    if (X509_NAME_get_text_by_NID((X509_NAME *)name, NID_commonName, buf, (int)len) > 0)
        return;
    X509_NAME_oneline(name, buf, (int)len);
}

static lt_cert_info_t *find_or_add(const char *role, const char *owner)
{
    for (size_t i = 0; i < ncerts; i++)
        if (strcmp(table[i].role, role) == 0 && strcmp(table[i].owner, owner) == 0)
            return &table[i];
    if (ncerts == LT_CERTS_MAX)
        return NULL;
    lt_cert_info_t *c = &table[ncerts++];
    snprintf(c->role, sizeof(c->role), "%s", role);
    snprintf(c->owner, sizeof(c->owner), "%s", owner);
    return c;
}

void lt_certs_note(const char *role, const char *owner, const X509 *cert)
{
    if (cert == NULL)
        return;
    int64_t not_after = asn1_to_unix(X509_get0_notAfter(cert));
    char subject[sizeof(table[0].subject)];
    subject_of(cert, subject, sizeof(subject));
    pthread_mutex_lock(&lock);
    lt_cert_info_t *c = find_or_add(role, owner);
    if (c != NULL) {
        c->not_after = not_after;
        c->noted_at = (int64_t)time(NULL);
        snprintf(c->subject, sizeof(c->subject), "%s", subject);
    }
    pthread_mutex_unlock(&lock);
}

int lt_certs_note_file(const char *role, const char *owner, const char *path)
{
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return -1;
    X509 *cert = PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    if (cert == NULL)
        return -1;
    lt_certs_note(role, owner, cert);
    X509_free(cert);
    return 0;
}

size_t lt_certs_snapshot(lt_cert_info_t *out, size_t max)
{
    pthread_mutex_lock(&lock);
    size_t n = ncerts < max ? ncerts : max;
    memcpy(out, table, n * sizeof(*out));
    pthread_mutex_unlock(&lock);
    return n;
}

void lt_certs_reset(void)
{
    pthread_mutex_lock(&lock);
    ncerts = 0;
    memset(table, 0, sizeof(table));
    pthread_mutex_unlock(&lock);
}

long lt_certs_days_left(int64_t not_after, int64_t now_s)
{
    int64_t s = not_after - now_s;
    /* Floor, not truncation: a certificate that expired an hour ago has -1 days left, not 0. */
    return (long)(s >= 0 ? s / 86400 : -((-s + 86399) / 86400));
}
