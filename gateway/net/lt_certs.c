/* The table of certificates held and seen, with their expiry. */
#include "lt_certs.h"

#include <openssl/pem.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static lt_cert_info_t table[LT_CERTS_MAX];
static X509 *noted[LT_CERTS_MAX]; /* the certificate each entry was made from (a reference): to see it again is
                                     one comparison of OpenSSL's cached digests, not a new parse of its fields */
static size_t ncerts;

static int64_t asn1_to_unix(const ASN1_TIME *t)
{
    struct tm tm;
    if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1)
        return 0;
    return (int64_t)timegm(&tm);
}

/*
 * Copies UTF-8 text for metrics labels, JSON and terminals: control characters become '?', and the text is cut
 * on a character boundary. The subject comes from a peer's certificate, recorded even when it failed
 * verification, so it is untrusted: raw bytes here would break the whole /metrics scrape or a terminal.
 */
static void copy_printable_utf8(const unsigned char *in, size_t n, char *out, size_t outlen)
{
    size_t o = 0;
    for (size_t i = 0; i < n && o + 1 < outlen;) {
        unsigned char c = in[i];
        size_t len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
        bool whole = len > 0 && i + len <= n;
        for (size_t k = 1; whole && k < len; k++)
            whole = (in[i + k] & 0xc0) == 0x80;
        if (!whole || c < 0x20 || c == 0x7f) { /* invalid UTF-8 or a control character */
            out[o++] = '?';
            i++;
            continue;
        }
        if (o + len >= outlen)
            break;
        memcpy(out + o, in + i, len);
        o += len;
        i += len;
    }
    out[o] = '\0';
}

void lt_certs_name_text(const X509_NAME *name, char *buf, size_t len)
{
    buf[0] = '\0';
    int i = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
    unsigned char *utf8 = NULL;
    int n = i >= 0 ? ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i))) : -1;
    if (n > 0) {
        copy_printable_utf8(utf8, (size_t)n, buf, len);
        OPENSSL_free(utf8);
        return;
    }
    OPENSSL_free(utf8);
    char line[256];
    X509_NAME_oneline(name, line, (int)sizeof(line)); /* escapes what is not printable ASCII */
    copy_printable_utf8((const unsigned char *)line, strlen(line), buf, len);
}

static void subject_of(const X509 *cert, char *buf, size_t len)
{
    lt_certs_name_text(X509_get_subject_name(cert), buf, len);
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
    lt_certs_note_seen(role, owner, cert, NULL);
}

/* Every new upstream connection shows its server's certificate again, nearly always the same one: then only the
 * time it was seen moves. A new certificate (or a new verdict) has its dates and subject read. */
void lt_certs_note_seen(const char *role, const char *owner, const X509 *cert, const char *verify_error)
{
    if (cert == NULL)
        return;
    const char *why = verify_error ? verify_error : "";
    pthread_mutex_lock(&lock);
    lt_cert_info_t *c = find_or_add(role, owner);
    if (c != NULL) {
        X509 **held = &noted[c - table];
        c->noted_at = (int64_t)time(NULL);
        if (*held == NULL || X509_cmp(*held, cert) != 0 ||
            strncmp(c->verify_error, why, sizeof(c->verify_error) - 1) != 0) {
            c->not_after = asn1_to_unix(X509_get0_notAfter(cert));
            subject_of(cert, c->subject, sizeof(c->subject));
            snprintf(c->verify_error, sizeof(c->verify_error), "%s", why);
            X509_free(*held);
            *held = X509_up_ref((X509 *)cert) == 1 ? (X509 *)cert : NULL;
        }
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
    for (size_t i = 0; i < ncerts; i++) {
        X509_free(noted[i]);
        noted[i] = NULL;
    }
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
