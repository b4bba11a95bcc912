/* Revocation lists: reading and checking them, the lists in force, and the loud line an expired one earns. */
#include "lt_crl.h"

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lt_certs.h"
#include "lt_log.h"

/* ---- reading ------------------------------------------------------------------------------------ */

static int64_t asn1_to_unix(const ASN1_TIME *t)
{
    struct tm tm;
    if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1)
        return 0;
    return (int64_t)timegm(&tm);
}

static const char *openssl_reason(char *buf, size_t len)
{
    unsigned long e = ERR_peek_last_error();
    if (e == 0)
        snprintf(buf, len, "not a certificate revocation list");
    else
        ERR_error_string_n(e, buf, len);
    ERR_clear_error();
    return buf;
}

static void crl_number(const X509_CRL *crl, char *buf, size_t len)
{
    buf[0] = '\0';
    ASN1_INTEGER *num = X509_CRL_get_ext_d2i(crl, NID_crl_number, NULL, NULL);
    BIGNUM *bn = num ? ASN1_INTEGER_to_BN(num, NULL) : NULL;
    char *dec = bn ? BN_bn2dec(bn) : NULL;
    if (dec != NULL)
        snprintf(buf, len, "%s", dec);
    OPENSSL_free(dec);
    BN_free(bn);
    ASN1_INTEGER_free(num);
}

static void describe(const X509_CRL *crl, const char *file, lt_crl_info_t *out)
{
    memset(out, 0, sizeof(*out));
    snprintf(out->file, sizeof(out->file), "%s", file);
    lt_certs_name_text(X509_CRL_get_issuer(crl), out->issuer, sizeof(out->issuer));
    crl_number(crl, out->number, sizeof(out->number));
    out->last_update = asn1_to_unix(X509_CRL_get0_lastUpdate(crl));
    out->next_update = asn1_to_unix(X509_CRL_get0_nextUpdate(crl));
    STACK_OF(X509_REVOKED) *revoked = X509_CRL_get_REVOKED((X509_CRL *)crl);
    out->revoked = revoked ? sk_X509_REVOKED_num(revoked) : 0;
}

static int add_crl(lt_crl_set_t *set, X509_CRL *crl, const char *file, const char *what, lt_error_t *err)
{
    if (set->n == LT_CRL_MAX) {
        X509_CRL_free(crl);
        return lt_error_set(err, LT_ERR_INTERNAL, "config", "%s: more than %d revocation lists", what, LT_CRL_MAX);
    }
    set->crls[set->n] = crl;
    describe(crl, file, &set->info[set->n]);
    set->n++;
    return 0;
}

/* One or more PEM lists, else one DER list. */
static int read_file(lt_crl_set_t *set, const char *file, const char *what, lt_error_t *err)
{
    char why[256];
    BIO *bio = BIO_new_file(file, "rb");
    if (bio == NULL)
        return lt_error_set(err, LT_ERR_INTERNAL, "config", "%s: cannot read '%s': %s", what, file,
                            openssl_reason(why, sizeof(why)));
    size_t before = set->n;
    X509_CRL *crl;
    int rc = 0;
    while (rc == 0 && (crl = PEM_read_bio_X509_CRL(bio, NULL, NULL, NULL)) != NULL)
        rc = add_crl(set, crl, file, what, err);
    unsigned long last = ERR_peek_last_error();
    if (rc == 0 && ERR_GET_REASON(last) == PEM_R_NO_START_LINE) {
        ERR_clear_error(); /* the normal end of a PEM file, or no PEM at all */
    } else if (rc == 0) {
        rc = lt_error_set(err, LT_ERR_INTERNAL, "config", "%s: '%s': %s", what, file, openssl_reason(why, sizeof(why)));
    }
    if (rc == 0 && set->n == before) {
        (void)BIO_seek(bio, 0);
        crl = d2i_X509_CRL_bio(bio, NULL);
        rc = crl != NULL ? add_crl(set, crl, file, what, err)
                         : lt_error_set(err, LT_ERR_INTERNAL, "config", "%s: '%s': %s (PEM or DER expected)", what,
                                        file, openssl_reason(why, sizeof(why)));
    }
    BIO_free(bio);
    return rc;
}

/* The CA of cas that issued and signed crl; NULL with err set when none did. */
static const X509 *signer_of(const X509_CRL *crl, const STACK_OF(X509) * cas, const lt_crl_info_t *info,
                             const char *what, lt_error_t *err)
{
    bool named = false;
    for (int i = 0; i < sk_X509_num(cas); i++) {
        X509 *ca = sk_X509_value(cas, i);
        if (X509_NAME_cmp(X509_CRL_get_issuer(crl), X509_get_subject_name(ca)) != 0)
            continue;
        named = true;
        if (X509_CRL_verify((X509_CRL *)crl, X509_get0_pubkey(ca)) == 1)
            return ca;
    }
    ERR_clear_error();
    if (named)
        lt_error_set(err, LT_ERR_INTERNAL, "config", "%s: '%s': the list of %s does not verify with that CA's key",
                     what, info->file, info->issuer);
    else
        lt_error_set(err, LT_ERR_INTERNAL, "config",
                     "%s: '%s': the list is issued by %s, which is not a CA of "
                     "client_ca",
                     what, info->file, info->issuer);
    return NULL;
}

/* Each list signed by a CA of cas, one list per CA, and every CA with its list. */
static int check_against_cas(const lt_crl_set_t *set, const STACK_OF(X509) * cas, const char *what, lt_error_t *err)
{
    for (size_t i = 0; i < set->n; i++) {
        if (signer_of(set->crls[i], cas, &set->info[i], what, err) == NULL)
            return -1;
        for (size_t j = 0; j < i; j++)
            if (X509_NAME_cmp(X509_CRL_get_issuer(set->crls[i]), X509_CRL_get_issuer(set->crls[j])) == 0)
                return lt_error_set(err, LT_ERR_INTERNAL, "config",
                                    "%s: '%s' and '%s' both hold a list of %s: "
                                    "give one list per CA",
                                    what, set->info[j].file, set->info[i].file, set->info[i].issuer);
    }
    for (int c = 0; set->n > 0 && c < sk_X509_num(cas); c++) {
        const X509_NAME *subject = X509_get_subject_name(sk_X509_value(cas, c));
        bool found = false;
        for (size_t i = 0; i < set->n && !found; i++)
            found = X509_NAME_cmp(X509_CRL_get_issuer(set->crls[i]), subject) == 0;
        if (!found) {
            char name[128];
            lt_certs_name_text(subject, name, sizeof(name));
            return lt_error_set(err, LT_ERR_INTERNAL, "config",
                                "%s: no list of %s, a CA of client_ca: revocation "
                                "is checked for the whole chain, so every client CA needs its list",
                                what, name);
        }
    }
    return 0;
}

int lt_crl_set_load(lt_crl_set_t *set, char *const *files, size_t nfiles, const STACK_OF(X509) * cas, const char *what,
                    lt_error_t *err)
{
    memset(set, 0, sizeof(*set));
    set->crls = calloc(LT_CRL_MAX, sizeof(*set->crls));
    set->info = calloc(LT_CRL_MAX, sizeof(*set->info));
    int rc = 0;
    for (size_t f = 0; f < nfiles && rc == 0; f++)
        rc = read_file(set, files[f], what, err);
    if (rc == 0)
        rc = check_against_cas(set, cas, what, err);
    if (rc != 0) {
        lt_crl_set_free(set);
        set->crls = calloc(1, sizeof(*set->crls));
        set->info = calloc(1, sizeof(*set->info));
    }
    return rc;
}

void lt_crl_set_free(lt_crl_set_t *set)
{
    for (size_t i = 0; i < set->n; i++)
        X509_CRL_free(set->crls[i]);
    free(set->crls);
    free(set->info);
    memset(set, 0, sizeof(*set));
}

int64_t lt_crl_set_next_update(const lt_crl_set_t *set)
{
    int64_t first = 0;
    for (size_t i = 0; i < set->n; i++)
        if (set->info[i].next_update != 0 && (first == 0 || set->info[i].next_update < first))
            first = set->info[i].next_update;
    return first;
}

lt_crl_time_t lt_crl_time_state(const lt_crl_info_t *c, int64_t now_s)
{
    if (c->last_update > now_s)
        return LT_CRL_NOT_YET_VALID;
    if (c->next_update == 0)
        return LT_CRL_CURRENT;
    if (now_s > c->next_update)
        return LT_CRL_EXPIRED;
    /* A quarter of its own validity: a weekly list is due soon for its last 42 hours, a daily one for 6. */
    int64_t validity = c->next_update - c->last_update;
    return (c->next_update - now_s) * 4 < validity ? LT_CRL_DUE_SOON : LT_CRL_CURRENT;
}

const char *lt_crl_time_name(lt_crl_time_t t)
{
    static const char *const names[] = {"current", "due_soon", "expired", "not_yet_valid"};
    return (unsigned)t < sizeof(names) / sizeof(names[0]) ? names[t] : "current";
}

/* ---- the lists in force --------------------------------------------------------------------------- */

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static lt_crl_state_t state;
static long long warn_interval_s = 300;
static int64_t warned_at;                      /* the last loud line */
static uint64_t accepted_since, refused_since; /* handshakes on an expired list since that line */
static bool lists_removed;                     /* the last publish took every list away */

static void iso(int64_t t, char *buf, size_t len)
{
    time_t tt = (time_t)t;
    struct tm tm;
    gmtime_r(&tt, &tm);
    strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* "40 min", "5 h", "12 days": how long ago a list expired, in the unit an operator reads it in. */
static void ago(int64_t seconds, char *buf, size_t len)
{
    if (seconds < 3 * 3600)
        snprintf(buf, len, "%lld min", (long long)(seconds / 60));
    else if (seconds < 3 * 86400)
        snprintf(buf, len, "%lld h", (long long)(seconds / 3600));
    else
        snprintf(buf, len, "%lld days", (long long)(seconds / 86400));
}

static const lt_crl_info_t *first_expired(int64_t now_s)
{
    for (size_t i = 0; i < state.n; i++)
        if (lt_crl_time_state(&state.lists[i], now_s) == LT_CRL_EXPIRED)
            return &state.lists[i];
    return NULL;
}

/* Under the lock: the loud line, when one is due, written into line (level in *level); false when none is. */
static bool loud_line(int64_t now_s, char *line, size_t len, lt_log_level_t *level)
{
    const lt_crl_info_t *c = first_expired(now_s);
    if (c == NULL || (warned_at != 0 && now_s - warned_at < warn_interval_s))
        return false;
    char when[32];
    iso(c->next_update, when, sizeof(when));
    char since[32];
    ago(now_s - c->next_update, since, sizeof(since));
    if (state.warn_expired) {
        *level = LT_LOG_WARN;
        snprintf(line, len,
                 "crl: the revocation list of %s ('%s') is past its nextUpdate (%s, %s ago): clients are "
                 "accepted on it, only the certificates it lists are refused (listeners.api.crl_expired=warn); %llu "
                 "handshake(s) accepted on it since the last warning. Install a current list and reload (SIGHUP)",
                 c->issuer, c->file, when, since, (unsigned long long)accepted_since);
    } else {
        *level = LT_LOG_ERROR;
        snprintf(line, len,
                 "crl: the revocation list of %s ('%s') is past its nextUpdate (%s, %s ago): every client is "
                 "refused (listeners.api.crl_expired=refuse); %llu handshake(s) refused since the last warning. "
                 "Install a current list and reload (SIGHUP)",
                 c->issuer, c->file, when, since, (unsigned long long)refused_since);
    }
    warned_at = now_s;
    accepted_since = refused_since = 0;
    return true;
}

static void say_if_due(int64_t now_s)
{
    char line[768];
    lt_log_level_t level = LT_LOG_WARN;
    pthread_mutex_lock(&lock);
    bool due = loud_line(now_s, line, sizeof(line), &level);
    pthread_mutex_unlock(&lock);
    if (due)
        lt_log(level, "%s", line);
}

void lt_crl_publish(const lt_crl_set_t *set, bool warn_expired, long long interval_s)
{
    pthread_mutex_lock(&lock);
    lists_removed = state.configured && set->n == 0;
    state.configured = set->n > 0;
    state.warn_expired = warn_expired;
    state.loaded_at = (int64_t)time(NULL);
    state.loads++;
    state.n = set->n < LT_CRL_MAX ? set->n : LT_CRL_MAX;
    memcpy(state.lists, set->info, state.n * sizeof(state.lists[0]));
    warn_interval_s = interval_s > 0 ? interval_s : 300;
    warned_at = 0; /* new lists: an expired one is said at once */
    pthread_mutex_unlock(&lock);
}

static void log_list(const lt_crl_info_t *c, int64_t now)
{
    char last[32], next[32] = "never";
    iso(c->last_update, last, sizeof(last));
    if (c->next_update != 0)
        iso(c->next_update, next, sizeof(next));
    lt_log_info("crl: in force for the api listener: the list of %s ('%s', number %s, %ld revoked, issued %s, next "
                "update %s)",
                c->issuer, c->file, c->number[0] ? c->number : "-", c->revoked, last, next);
    if (lt_crl_time_state(c, now) == LT_CRL_NOT_YET_VALID)
        lt_log_error("crl: the list of %s ('%s') is not valid yet (its lastUpdate is in the future): every client is "
                     "refused; check this machine's clock",
                     c->issuer, c->file);
}

void lt_crl_announce(void)
{
    int64_t now = (int64_t)time(NULL);
    lt_crl_state_t copy;
    pthread_mutex_lock(&lock);
    copy = state;
    bool removed = lists_removed;
    pthread_mutex_unlock(&lock);
    if (removed)
        lt_log_warn("crl: no revocation lists any more: client certificates are not checked for revocation");
    for (size_t i = 0; i < copy.n; i++)
        log_list(&copy.lists[i], now);
    say_if_due(now);
}

void lt_crl_snapshot(lt_crl_state_t *out)
{
    pthread_mutex_lock(&lock);
    *out = state;
    pthread_mutex_unlock(&lock);
}

void lt_crl_reset(void)
{
    pthread_mutex_lock(&lock);
    memset(&state, 0, sizeof(state));
    warned_at = 0;
    accepted_since = refused_since = 0;
    lists_removed = false;
    pthread_mutex_unlock(&lock);
}

void lt_crl_note_expired(bool accepted, int64_t now_s)
{
    pthread_mutex_lock(&lock);
    if (accepted) {
        state.expired_accepted++;
        accepted_since++;
    } else {
        state.expired_refused++;
        refused_since++;
    }
    pthread_mutex_unlock(&lock);
    say_if_due(now_s);
}

void lt_crl_watch(int64_t now_s)
{
    say_if_due(now_s);
}

/* ---- /metrics ------------------------------------------------------------------------------------- */

static void sample(lt_buf_t *b, const char *name, const lt_crl_info_t *c)
{
    lt_buf_printf(b, "%s{listener=\"api\",issuer=\"", name);
    lt_mbuf_label_value(b, c->issuer);
    lt_buf_printf(b, "\"}");
}

void lt_crl_render_metrics(lt_buf_t *b, int64_t now_s)
{
    lt_crl_state_t s;
    lt_crl_snapshot(&s);
    lt_mbuf_family(b, "lienthong_crl_age_seconds", "gauge",
                   "Seconds since the revocation list in force was issued (its lastUpdate), per client CA.");
    for (size_t i = 0; i < s.n; i++) {
        sample(b, "lienthong_crl_age_seconds", &s.lists[i]);
        lt_buf_printf(b, " %lld\n", (long long)(now_s - s.lists[i].last_update));
    }
    lt_mbuf_family(b, "lienthong_crl_next_update_seconds", "gauge",
                   "Seconds until the revocation list's nextUpdate, negative once past it (lists without one are "
                   "absent).");
    for (size_t i = 0; i < s.n; i++) {
        if (s.lists[i].next_update == 0)
            continue;
        sample(b, "lienthong_crl_next_update_seconds", &s.lists[i]);
        lt_buf_printf(b, " %lld\n", (long long)(s.lists[i].next_update - now_s));
    }
    lt_mbuf_family(b, "lienthong_crl_revoked_certificates", "gauge",
                   "Certificates the revocation list in force lists as revoked.");
    for (size_t i = 0; i < s.n; i++) {
        sample(b, "lienthong_crl_revoked_certificates", &s.lists[i]);
        lt_buf_printf(b, " %ld\n", s.lists[i].revoked);
    }
    lt_mbuf_family(b, "lienthong_crl_loaded_timestamp_seconds", "gauge",
                   "When the revocation lists in force were loaded (start-up or the last reload), Unix seconds.");
    if (s.configured)
        lt_buf_printf(b, "lienthong_crl_loaded_timestamp_seconds{listener=\"api\"} %lld\n", (long long)s.loaded_at);
    lt_mbuf_family(b, "lienthong_crl_expired_handshakes_total", "counter",
                   "Client handshakes that met a revocation list past its nextUpdate: accepted (crl_expired warn) or "
                   "refused (crl_expired refuse).");
    lt_buf_printf(b, "lienthong_crl_expired_handshakes_total{listener=\"api\",action=\"accepted\"} %llu\n",
                  (unsigned long long)s.expired_accepted);
    lt_buf_printf(b, "lienthong_crl_expired_handshakes_total{listener=\"api\",action=\"refused\"} %llu\n",
                  (unsigned long long)s.expired_refused);
}
