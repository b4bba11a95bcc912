/* TLS contexts for the listeners, and start-up checks of upstream TLS material. */
#include "lt_tls.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>
#include <pthread.h>
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lt_clients.h"
#include "lt_clock.h"
#include "lt_crl.h"
#include "lt_log.h"
#include "lt_metrics.h"

/* ---- trust: the client CAs and their revocation lists ------------------------------------------ */

struct lt_tls_trust {
    _Atomic int refs; /* the context's (while current), and each connection's that verifies with it */
    X509_STORE *store;
    lt_crl_set_t crls;
    /* SHA-256 of what a verification under it depends on (the CAs, the lists, what an expired list does): session
     * tickets carry it, so one verified under other lists, in this process or another sharing the ticket key file,
     * is not resumed. */
    unsigned char id[32];
    bool warn_expired;
    long long warn_interval_s;
    int64_t next_update; /* the earliest nextUpdate of its lists; 0: none */
};

/* One session ticket key: its name (sent in the clear in the ticket), and the AES-256-CBC and HMAC-SHA256 keys. */
typedef struct {
    unsigned char name[16];
    unsigned char aes[32];
    unsigned char hmac[32];
    bool set;
} ticket_key_t;

/*
 * The api listener's session ticket keys, shared by every worker (they all accept on the one SSL_CTX), so a ticket
 * one worker issued resumes on another. A key encrypts new tickets for one period, then still decrypts for one more
 * (renewing the ticket), then is gone. Rotated lazily by the handshake that finds its period over: nothing is
 * issued or accepted with a key past its time, and no timer is needed.
 */
typedef struct {
    pthread_mutex_t lock;
    int64_t period_ms;
    int64_t current_since_ms; /* random keys: lt_clock_ms() when current's period began */
    ticket_key_t current, previous;
    EVP_CIPHER *cipher; /* AES-256-CBC, fetched once */
    /* With listeners.api.ticket_key_file: each period's key is derived (HKDF-SHA256) from the file's secret and the
     * period's number on the wall clock, so every process holding the file (instances behind a balancer, this one
     * after a restart) has the same keys at the same time. */
    EVP_KDF *kdf;
    unsigned char secret[LT_TLS_TICKET_SECRET_MAX];
    size_t secret_len;
    int64_t epoch; /* derived keys: the period current belongs to */
} ticket_keys_t;

/* Hung on an api SSL_CTX: the trust new connections get, and the ticket keys. */
typedef struct {
    pthread_mutex_t lock;
    lt_tls_trust_t *current;
    STACK_OF(X509) * cas; /* client_ca's certificates, as loaded at start-up */
    uint64_t installs;
    ticket_keys_t tickets;
} verifier_t;

static void trust_release(lt_tls_trust_t *t)
{
    if (t == NULL || atomic_fetch_sub(&t->refs, 1) != 1)
        return;
    X509_STORE_free(t->store);
    lt_crl_set_free(&t->crls);
    free(t);
}

static int ctx_index = -1;
static pthread_once_t ctx_once = PTHREAD_ONCE_INIT;

static void on_ctx_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl, void *argp)
{
    verifier_t *v = ptr;
    if (v == NULL)
        return;
    trust_release(v->current);
    sk_X509_pop_free(v->cas, X509_free);
    pthread_mutex_destroy(&v->lock);
    EVP_CIPHER_free(v->tickets.cipher);
    EVP_KDF_free(v->tickets.kdf);
    OPENSSL_cleanse(v->tickets.secret, sizeof(v->tickets.secret));
    pthread_mutex_destroy(&v->tickets.lock);
    OPENSSL_cleanse(&v->tickets.current, sizeof(v->tickets.current));
    OPENSSL_cleanse(&v->tickets.previous, sizeof(v->tickets.previous));
    free(v);
}

static void make_ctx_index(void)
{
    ctx_index = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL, on_ctx_free);
}

static verifier_t *verifier_of(const SSL_CTX *ctx)
{
    return ctx != NULL && ctx_index >= 0 ? SSL_CTX_get_ex_data(ctx, ctx_index) : NULL;
}

/* A store of the CAs and lists: revocation is checked for every certificate of the chain once there are lists. */
static X509_STORE *store_of(const STACK_OF(X509) * cas, const lt_crl_set_t *crls)
{
    X509_STORE *st = X509_STORE_new();
    for (int i = 0; st != NULL && i < sk_X509_num(cas); i++)
        X509_STORE_add_cert(st, sk_X509_value(cas, i));
    for (size_t i = 0; st != NULL && i < crls->n; i++)
        X509_STORE_add_crl(st, crls->crls[i]);
    if (st != NULL && crls->n > 0)
        X509_STORE_set_flags(st, X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL);
    return st;
}

static int digest_der(EVP_MD_CTX *md, unsigned char *der, int len)
{
    int ok = len > 0 && EVP_DigestUpdate(md, der, (size_t)len) == 1;
    OPENSSL_free(der);
    return ok ? 0 : -1;
}

/* t->id: the SHA-256 of the CAs' and the lists' DER, and of what an expired list does. */
static int trust_id(lt_tls_trust_t *t, const STACK_OF(X509) * cas)
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    int rc = md != NULL && EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1 ? 0 : -1;
    for (int i = 0; rc == 0 && i < sk_X509_num(cas); i++) {
        unsigned char *der = NULL;
        rc = digest_der(md, der, i2d_X509(sk_X509_value(cas, i), &der));
    }
    for (size_t i = 0; rc == 0 && i < t->crls.n; i++) {
        unsigned char *der = NULL;
        rc = digest_der(md, der, i2d_X509_CRL(t->crls.crls[i], &der));
    }
    unsigned char warn = t->warn_expired;
    unsigned int n = 0;
    if (rc == 0 && (EVP_DigestUpdate(md, &warn, 1) != 1 || EVP_DigestFinal_ex(md, t->id, &n) != 1 || n != 32))
        rc = -1;
    EVP_MD_CTX_free(md);
    return rc;
}

lt_tls_trust_t *lt_tls_trust_new(SSL_CTX *ctx, const lt_listener_conf_t *api, lt_error_t *err)
{
    verifier_t *v = verifier_of(ctx);
    if (v == NULL) {
        lt_error_set(err, LT_ERR_INTERNAL, "tls", "this TLS context verifies no client certificates");
        return NULL;
    }
    lt_tls_trust_t *t = calloc(1, sizeof(*t));
    atomic_init(&t->refs, 1);
    if (lt_crl_set_load(&t->crls, api->crl_files, api->ncrl_files, v->cas, "listeners.api.crl_files", err) != 0 ||
        (t->store = store_of(v->cas, &t->crls)) == NULL) {
        if (t->store == NULL && err->detail[0] == '\0')
            lt_error_set(err, LT_ERR_INTERNAL, "tls", "cannot create a certificate store");
        trust_release(t);
        return NULL;
    }
    t->warn_expired = api->crl_expired != NULL && strcmp(api->crl_expired, "warn") == 0;
    t->warn_interval_s = api->crl_warn_interval_s;
    t->next_update = lt_crl_set_next_update(&t->crls);
    if (trust_id(t, v->cas) != 0) {
        lt_error_set(err, LT_ERR_INTERNAL, "tls", "cannot compute the trust's digest");
        trust_release(t);
        return NULL;
    }
    return t;
}

void lt_tls_trust_install(SSL_CTX *ctx, lt_tls_trust_t *trust)
{
    verifier_t *v = verifier_of(ctx);
    if (v == NULL) {
        trust_release(trust);
        return;
    }
    pthread_mutex_lock(&v->lock);
    ++v->installs;
    lt_tls_trust_t *old = v->current;
    v->current = trust;
    pthread_mutex_unlock(&v->lock);
    lt_crl_publish(&trust->crls, trust->warn_expired, trust->warn_interval_s);
    /* Connections that took the old one keep it until they are freed. */
    trust_release(old);
}

void lt_tls_trust_free(lt_tls_trust_t *trust)
{
    trust_release(trust);
}

/* ---- connection tracking: what /metrics and the log say about our listeners --------------------- */

typedef struct {
    int listener;
    bool handshake_done, failure_counted;
    bool crl_expired_accepted;      /* its verification went on past an expired list (crl_expired "warn") */
    int verify_error, verify_depth; /* the check that refused its certificate; 0: none did */
    char fingerprint[65];           /* SHA-256 of the certificate the check refused; "": none */
    lt_tls_trust_t *trust;          /* what it verifies with (a reference); NULL on a listener without client CAs */
    /* The listed client its certificate matched under matched_in (NULL: not matched yet). Renegotiation is off, so
     * the certificate cannot change while the connection lives: matched once, not per request. */
    const lt_config_t *matched_in;
    const lt_client_conf_t *client;
} tracked_t;

static int track_index = -1;
static pthread_once_t track_once = PTHREAD_ONCE_INIT;

/* Runs when OpenSSL frees the SSL, however the connection ended: the one place every connection passes. */
static void on_ssl_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl, void *argp)
{
    tracked_t *t = ptr;
    if (t == NULL)
        return;
    lt_metrics_connection_closed(t->listener);
    trust_release(t->trust);
    free(t);
}

static void make_track_index(void)
{
    track_index = SSL_get_ex_new_index(0, NULL, NULL, NULL, on_ssl_free);
}

static tracked_t *tracked_of(const SSL *ssl)
{
    return ssl != NULL && track_index >= 0 ? SSL_get_ex_data(ssl, track_index) : NULL;
}

/* The trust in force now, for this connection's whole life. */
static void take_trust(SSL *ssl, tracked_t *t)
{
    verifier_t *v = verifier_of(SSL_get_SSL_CTX(ssl));
    if (v == NULL)
        return;
    pthread_mutex_lock(&v->lock);
    t->trust = v->current;
    if (t->trust != NULL)
        atomic_fetch_add(&t->trust->refs, 1);
    pthread_mutex_unlock(&v->lock);
    if (t->trust != NULL)
        SSL_set1_verify_cert_store(ssl, t->trust->store);
}

void lt_tls_track(SSL *ssl, int listener)
{
    pthread_once(&track_once, make_track_index);
    tracked_t *t = calloc(1, sizeof(*t));
    t->listener = listener;
    if (SSL_set_ex_data(ssl, track_index, t) != 1) {
        free(t);
        return;
    }
    take_trust(ssl, t);
    lt_metrics_connection_opened(listener);
}

/* ---- why a handshake failed ---------------------------------------------------------------------- */

/* What the certificate check said, when it refused the client's certificate. */
static lt_tls_failure_t classify_verify_error(int e)
{
    switch (e) {
    case X509_V_ERR_CERT_REVOKED:
        return LT_TLS_FAIL_REVOKED;
    case X509_V_ERR_CERT_HAS_EXPIRED:
        return LT_TLS_FAIL_EXPIRED;
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
    case X509_V_ERR_CERT_UNTRUSTED:
        return LT_TLS_FAIL_UNKNOWN_CA;
    case X509_V_ERR_CRL_HAS_EXPIRED:
        return LT_TLS_FAIL_CRL_EXPIRED;
    case X509_V_ERR_UNABLE_TO_GET_CRL:
    case X509_V_ERR_UNABLE_TO_GET_CRL_ISSUER:
    case X509_V_ERR_CRL_NOT_YET_VALID:
    case X509_V_ERR_CRL_SIGNATURE_FAILURE:
    case X509_V_ERR_UNABLE_TO_DECRYPT_CRL_SIGNATURE:
    case X509_V_ERR_ERROR_IN_CRL_LAST_UPDATE_FIELD:
    case X509_V_ERR_ERROR_IN_CRL_NEXT_UPDATE_FIELD:
    case X509_V_ERR_KEYUSAGE_NO_CRL_SIGN:
    case X509_V_ERR_DIFFERENT_CRL_SCOPE:
        return LT_TLS_FAIL_CRL_UNAVAILABLE;
    default:
        return LT_TLS_FAIL_BAD_CERTIFICATE;
    }
}

/* The alert we send says why we refused; for a generic handshake_failure the error queue says more. */
static lt_tls_failure_t classify_alert(int alert)
{
    switch (alert) {
    case SSL_AD_CERTIFICATE_REQUIRED:
        return LT_TLS_FAIL_NO_CERTIFICATE;
    case SSL_AD_UNKNOWN_CA:
        return LT_TLS_FAIL_UNKNOWN_CA;
    case SSL_AD_CERTIFICATE_REVOKED:
        return LT_TLS_FAIL_REVOKED;
    case SSL_AD_CERTIFICATE_EXPIRED:
        return LT_TLS_FAIL_EXPIRED;
    case SSL_AD_BAD_CERTIFICATE:
    case SSL_AD_UNSUPPORTED_CERTIFICATE:
    case SSL_AD_CERTIFICATE_UNKNOWN:
        return LT_TLS_FAIL_BAD_CERTIFICATE;
    case SSL_AD_PROTOCOL_VERSION:
        return LT_TLS_FAIL_PROTOCOL;
    case SSL_AD_HANDSHAKE_FAILURE:
        switch (ERR_GET_REASON(ERR_peek_last_error())) {
        case SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE:
            return LT_TLS_FAIL_NO_CERTIFICATE;
        case SSL_R_NO_SHARED_CIPHER:
            return LT_TLS_FAIL_NO_SHARED_CIPHER;
        default:
            return LT_TLS_FAIL_OTHER;
        }
    default:
        return LT_TLS_FAIL_OTHER;
    }
}

/* "192.0.2.7:51234", "[2001:db8::1]:51234", or "-" when the socket says nothing. */
static void peer_address(const SSL *ssl, char *buf, size_t len)
{
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    char host[INET6_ADDRSTRLEN] = "";
    int fd = SSL_get_fd(ssl);
    snprintf(buf, len, "-");
    if (fd < 0 || getpeername(fd, (struct sockaddr *)&ss, &sl) != 0)
        return;
    if (ss.ss_family == AF_INET) {
        const struct sockaddr_in *a = (const struct sockaddr_in *)&ss;
        inet_ntop(AF_INET, &a->sin_addr, host, sizeof(host));
        snprintf(buf, len, "%s:%u", host, (unsigned)ntohs(a->sin_port));
    } else if (ss.ss_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)&ss;
        inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof(host));
        snprintf(buf, len, "[%s]:%u", host, (unsigned)ntohs(a->sin6_port));
    }
}

/* At most LT_TLS_LOG_PER_MINUTE lines a minute, process-wide, so a flood of bad clients cannot fill the disk;
 * what was left out is said with the next line after the minute. /metrics counts every failure. */
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static int64_t log_minute_start;
static int log_lines_this_minute;
static uint64_t log_left_out;

static bool may_log(int64_t now, uint64_t *left_out_before)
{
    pthread_mutex_lock(&log_lock);
    *left_out_before = 0;
    if (now - log_minute_start >= 60) {
        *left_out_before = log_left_out;
        log_left_out = 0;
        log_minute_start = now;
        log_lines_this_minute = 0;
    }
    bool ok = log_lines_this_minute < LT_TLS_LOG_PER_MINUTE;
    if (ok)
        log_lines_this_minute++;
    else
        log_left_out++;
    pthread_mutex_unlock(&log_lock);
    return ok;
}

/* The peer's address and certificate fingerprint name the client; no subject, which may name a person. */
static void log_failure(const SSL *ssl, const tracked_t *t, lt_tls_failure_t reason, int alert, bool ours)
{
    uint64_t left_out = 0;
    bool ok = may_log((int64_t)time(NULL), &left_out);
    if (left_out > 0)
        lt_log_warn("tls: %llu more handshake failure(s) were not logged in the minute before (at most %d lines a "
                    "minute; lienthong_tls_handshake_failures_total counts them all)",
                    (unsigned long long)left_out, LT_TLS_LOG_PER_MINUTE);
    if (!ok)
        return;
    char peer[INET6_ADDRSTRLEN + 16], detail[160], fingerprint[65];
    peer_address(ssl, peer, sizeof(peer));
    /* Refused by the check: its fingerprint was noted then. Failed after it: the session holds the certificate. */
    if (t->fingerprint[0] != '\0')
        memcpy(fingerprint, t->fingerprint, sizeof(fingerprint));
    else
        lt_clients_fingerprint(SSL_get0_peer_certificate(ssl), fingerprint);
    if (t->verify_error != 0)
        snprintf(detail, sizeof(detail), "%s (chain depth %d)", X509_verify_cert_error_string(t->verify_error),
                 t->verify_depth);
    else
        snprintf(detail, sizeof(detail), "%s alert %d (%s)", ours ? "sent" : "received", alert,
                 SSL_alert_desc_string_long(alert));
    lt_log_warn("tls: %s handshake failed: reason=%s peer=%s sha256=%s detail=\"%s\"",
                lt_metrics_listener_name(t->listener), lt_metrics_tls_failure_name(reason), peer,
                fingerprint[0] ? fingerprint : "-", detail);
}

/* A fatal alert before the handshake is done is a failed handshake: counted once, by its reason, and logged. */
static void on_info(const SSL *ssl, int where, int ret)
{
    tracked_t *t = tracked_of(ssl);
    if (t == NULL)
        return;
    if ((where & SSL_CB_HANDSHAKE_DONE) && !t->handshake_done) {
        t->handshake_done = true;
        if (SSL_session_reused(ssl))
            lt_metrics_tls_resumed(t->listener);
        if (t->crl_expired_accepted)
            lt_crl_note_expired(true, (int64_t)time(NULL));
    }
    if (!(where & SSL_CB_ALERT) || t->handshake_done || t->failure_counted || (ret >> 8) != SSL3_AL_FATAL)
        return;
    t->failure_counted = true;
    bool ours = (where & SSL_CB_WRITE) != 0;
    lt_tls_failure_t reason = !ours             ? LT_TLS_FAIL_PEER_ALERT
                              : t->verify_error ? classify_verify_error(t->verify_error)
                                                : classify_alert(ret & 0xff);
    lt_metrics_tls_failure(t->listener, reason);
    if (reason == LT_TLS_FAIL_CRL_EXPIRED)
        lt_crl_note_expired(false, (int64_t)time(NULL));
    log_failure(ssl, t, reason, ret & 0xff, ours);
}

/*
 * Every step of the client certificate's check: notes the certificate's fingerprint and the first refusal, and
 * with crl_expired "warn" lets a list past its nextUpdate count (a certificate it lists is still refused).
 */
static int on_verify(int ok, X509_STORE_CTX *x)
{
    SSL *ssl = X509_STORE_CTX_get_ex_data(x, SSL_get_ex_data_X509_STORE_CTX_idx());
    tracked_t *t = tracked_of(ssl);
    if (t == NULL)
        return ok;
    if (ok)
        return 1;
    int e = X509_STORE_CTX_get_error(x);
    if (e == X509_V_ERR_CRL_HAS_EXPIRED && t->trust != NULL && t->trust->warn_expired) {
        t->crl_expired_accepted = true;
        return 1;
    }
    if (t->verify_error == 0) {
        t->verify_error = e;
        t->verify_depth = X509_STORE_CTX_get_error_depth(x);
        /* Only a refused certificate is named in the log: an accepted one costs no digest. The chain's store
         * context is gone by the alert, and a refused certificate never becomes the session's peer. */
        lt_clients_fingerprint(X509_STORE_CTX_get0_cert(x), t->fingerprint);
    }
    return 0;
}

/* ---- session tickets: a resumption skips the certificate check, so only one under the same lists ---- */

static int on_ticket_new(SSL *ssl, void *arg)
{
    tracked_t *t = tracked_of(ssl);
    static const unsigned char none[32];
    return SSL_SESSION_set1_ticket_appdata(SSL_get_session(ssl), t != NULL && t->trust != NULL ? t->trust->id : none,
                                           32);
}

static SSL_TICKET_RETURN on_ticket_open(SSL *ssl, SSL_SESSION *sess, const unsigned char *keyname, size_t keylen,
                                        SSL_TICKET_STATUS status, void *arg)
{
    if (status == SSL_TICKET_FATAL_ERR_MALLOC || status == SSL_TICKET_FATAL_ERR_OTHER)
        return SSL_TICKET_RETURN_ABORT;
    if (status != SSL_TICKET_SUCCESS && status != SSL_TICKET_SUCCESS_RENEW)
        return SSL_TICKET_RETURN_IGNORE_RENEW; /* OpenSSL's own choice: a full handshake */
    tracked_t *t = tracked_of(ssl);
    void *data = NULL;
    size_t len = 0;
    if (t == NULL || t->trust == NULL || SSL_SESSION_get0_ticket_appdata(sess, &data, &len) != 1 ||
        len != sizeof(t->trust->id))
        return SSL_TICKET_RETURN_IGNORE_RENEW;
    /* Other lists since (a reload, another instance's), or one past its nextUpdate: the certificate must be checked
     * again. So must one past its notAfter since (a ticket outlives the check), and a session without a certificate
     * resumes nothing. */
    X509 *peer = SSL_SESSION_get0_peer(sess);
    bool stale = memcmp(data, t->trust->id, sizeof(t->trust->id)) != 0 ||
                 (t->trust->next_update != 0 && (int64_t)time(NULL) > t->trust->next_update) || peer == NULL ||
                 X509_cmp_current_time(X509_get0_notAfter(peer)) <= 0;
    if (stale)
        return SSL_TICKET_RETURN_IGNORE_RENEW;
    /* Always a new ticket: a TLS 1.3 client uses each ticket once (RFC 8446, C.4), and without one it would make a
     * full handshake next time; one the previous key sealed (SUCCESS_RENEW) is sealed again with the current key. */
    return SSL_TICKET_RETURN_USE_RENEW;
}

/* ---- session ticket keys: rotated, the same for every worker --------------------------------------- */

static const char *openssl_reason(void);

static int fresh_key(ticket_key_t *k)
{
    if (RAND_bytes(k->name, sizeof(k->name)) != 1 || RAND_bytes(k->aes, sizeof(k->aes)) != 1 ||
        RAND_bytes(k->hmac, sizeof(k->hmac)) != 1) {
        k->set = false;
        return -1;
    }
    k->set = true;
    return 0;
}

/* The key of period epoch, from the file's secret: HKDF-SHA256, the period's number and length as its info. */
static int derive_key(ticket_keys_t *tk, int64_t epoch, ticket_key_t *k)
{
    unsigned char info[16], out[sizeof(k->name) + sizeof(k->aes) + sizeof(k->hmac)];
    uint64_t e = (uint64_t)epoch, p = (uint64_t)tk->period_ms;
    for (int i = 0; i < 8; i++) {
        info[i] = (unsigned char)(e >> (56 - 8 * i));
        info[8 + i] = (unsigned char)(p >> (56 - 8 * i));
    }
    char digest[] = "SHA256", salt[] = "lienthong api session ticket key";
    OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest, 0),
                           OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, tk->secret, tk->secret_len),
                           OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, salt, sizeof(salt) - 1),
                           OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, info, sizeof(info)), OSSL_PARAM_END};
    EVP_KDF_CTX *kctx = EVP_KDF_CTX_new(tk->kdf);
    k->set = kctx != NULL && EVP_KDF_derive(kctx, out, sizeof(out), params) == 1;
    EVP_KDF_CTX_free(kctx);
    if (k->set) {
        memcpy(k->name, out, sizeof(k->name));
        memcpy(k->aes, out + sizeof(k->name), sizeof(k->aes));
        memcpy(k->hmac, out + sizeof(k->name) + sizeof(k->aes), sizeof(k->hmac));
    }
    OPENSSL_cleanse(out, sizeof(out));
    return k->set ? 0 : -1;
}

/* Derived keys: those of the period the wall clock is in, and of the one before (under tk->lock). */
static void derive_if_due(ticket_keys_t *tk)
{
    int64_t epoch = (int64_t)time(NULL) * 1000 / tk->period_ms;
    if (epoch == tk->epoch && tk->current.set)
        return;
    uint64_t moved = tk->current.set ? (uint64_t)(epoch > tk->epoch ? epoch - tk->epoch : tk->epoch - epoch) : 0;
    derive_key(tk, epoch, &tk->current);
    derive_key(tk, epoch - 1, &tk->previous);
    tk->epoch = epoch;
    if (moved > 0)
        lt_metrics_ticket_keys_rotated(moved);
}

/* Moves the keys on by the periods that have ended since current's began (under tk->lock). One period: current
 * becomes previous. Two or more: both are past their time. */
static void rotate_if_due(ticket_keys_t *tk, int64_t now_ms)
{
    if (tk->kdf != NULL) {
        derive_if_due(tk);
        return;
    }
    int64_t periods = (now_ms - tk->current_since_ms) / tk->period_ms;
    if (periods <= 0)
        return;
    if (periods == 1)
        tk->previous = tk->current;
    else
        tk->previous.set = false;
    fresh_key(&tk->current); /* a failure leaves no current key: no ticket is issued (see on_ticket_key) */
    tk->current_since_ms += periods * tk->period_ms;
    lt_metrics_ticket_keys_rotated((uint64_t)periods);
}

/* Copies the key to encrypt with (enc) or the one named name, rotating first when due; 0: none, 1: the current
 * key, 2: the previous one (the ticket is renewed). */
static int ticket_key(ticket_keys_t *tk, bool enc, const unsigned char *name, ticket_key_t *out)
{
    int which = 0;
    pthread_mutex_lock(&tk->lock);
    rotate_if_due(tk, lt_clock_ms());
    if (tk->current.set && (enc || memcmp(name, tk->current.name, sizeof(tk->current.name)) == 0)) {
        *out = tk->current;
        which = 1;
    } else if (!enc && tk->previous.set && memcmp(name, tk->previous.name, sizeof(tk->previous.name)) == 0) {
        *out = tk->previous;
        which = 2;
    }
    pthread_mutex_unlock(&tk->lock);
    return which;
}

static int set_hmac_key(EVP_MAC_CTX *hctx, unsigned char key[32])
{
    char digest[] = "SHA256";
    OSSL_PARAM params[] = {OSSL_PARAM_construct_octet_string(OSSL_MAC_PARAM_KEY, key, 32),
                           OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0), OSSL_PARAM_END};
    return EVP_MAC_CTX_set_params(hctx, params);
}

/*
 * SSL_CTX_set_tlsext_ticket_key_evp_cb: OpenSSL seals and opens the ticket with the cipher and MAC contexts set up
 * here. Encrypting: 1 with the current key, 0 when there is none (no ticket is issued, the handshake goes on).
 * Decrypting: 1 for the current key, 2 for the previous one (used, and renewed with the current), 0 for any other
 * (a full handshake).
 */
static int on_ticket_key(SSL *ssl, unsigned char key_name[16], unsigned char iv[EVP_MAX_IV_LENGTH],
                         EVP_CIPHER_CTX *cctx, EVP_MAC_CTX *hctx, int enc)
{
    verifier_t *v = verifier_of(SSL_get_SSL_CTX(ssl));
    if (v == NULL || v->tickets.cipher == NULL)
        return 0;
    ticket_key_t k;
    int which = ticket_key(&v->tickets, enc != 0, key_name, &k);
    int rc;
    if (which == 0) {
        rc = 0;
    } else if (enc) {
        int ivlen = EVP_CIPHER_get_iv_length(v->tickets.cipher);
        memcpy(key_name, k.name, sizeof(k.name));
        rc = RAND_bytes(iv, ivlen) == 1 && EVP_EncryptInit_ex(cctx, v->tickets.cipher, NULL, k.aes, iv) == 1 &&
                     set_hmac_key(hctx, k.hmac) == 1
                 ? 1
                 : -1;
    } else {
        rc = EVP_DecryptInit_ex(cctx, v->tickets.cipher, NULL, k.aes, iv) == 1 && set_hmac_key(hctx, k.hmac) == 1
                 ? which
                 : -1;
    }
    OPENSSL_cleanse(&k, sizeof(k));
    return rc;
}

/* The ticket keys of a new api context: a first random key, rotated every LT_TLS_TICKET_ROTATE_DEFAULT_S until
 * lt_tls_tickets_configure says otherwise. */
static int tickets_init(ticket_keys_t *tk)
{
    pthread_mutex_init(&tk->lock, NULL);
    tk->period_ms = (int64_t)LT_TLS_TICKET_ROTATE_DEFAULT_S * 1000;
    tk->current_since_ms = lt_clock_ms();
    tk->cipher = EVP_CIPHER_fetch(NULL, "AES-256-CBC", NULL);
    return tk->cipher != NULL && fresh_key(&tk->current) == 0 ? 0 : -1;
}

/* The ticket key file: a regular file other users cannot read, of 32 to LT_TLS_TICKET_SECRET_MAX random bytes
 * in hex (openssl rand -hex 32). */
static int read_ticket_secret(const char *path, ticket_keys_t *tk, lt_error_t *err)
{
    static const char what[] = "listeners.api.ticket_key_file";
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return lt_error_set(err, LT_ERR_INTERNAL, "config", "%s: cannot open '%s': %s", what, path, strerror(errno));
    struct stat st;
    char text[4 * LT_TLS_TICKET_SECRET_MAX];
    ssize_t n = -1;
    /* Whoever reads it can open every ticket, and so resume as any client that got one. */
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & (S_IROTH | S_IWOTH)) == 0)
        n = read(fd, text, sizeof(text) - 1);
    close(fd);
    if (n < 0) {
        return lt_error_set(err, LT_ERR_INTERNAL, "config",
                            "%s: '%s' must be a regular file that other users cannot read or write (chmod o-rwx)", what,
                            path);
    }
    while (n > 0 && (text[n - 1] == '\n' || text[n - 1] == '\r' || text[n - 1] == ' '))
        n--;
    text[n] = '\0';
    long len = 0;
    unsigned char *bytes = n > 0 ? OPENSSL_hexstr2buf(text, &len) : NULL;
    OPENSSL_cleanse(text, sizeof(text));
    int rc = 0;
    if (bytes == NULL || len < 32 || len > LT_TLS_TICKET_SECRET_MAX)
        rc = lt_error_set(err, LT_ERR_INTERNAL, "config",
                          "%s: '%s' must hold 32 to %d random bytes as hex (openssl rand -hex 32)", what, path,
                          LT_TLS_TICKET_SECRET_MAX);
    else {
        memcpy(tk->secret, bytes, (size_t)len);
        tk->secret_len = (size_t)len;
    }
    OPENSSL_clear_free(bytes, bytes != NULL ? (size_t)len : 0);
    return rc;
}

int lt_tls_tickets_configure(SSL_CTX *ctx, long long rotate_s, const char *key_file, lt_error_t *err)
{
    verifier_t *v = verifier_of(ctx);
    if (v == NULL)
        return 0;
    ticket_keys_t *tk = &v->tickets;
    if (rotate_s > 0)
        tk->period_ms = (int64_t)rotate_s * 1000;
    if (key_file != NULL) {
        if (read_ticket_secret(key_file, tk, err) != 0)
            return -1;
        if ((tk->kdf = EVP_KDF_fetch(NULL, "HKDF", NULL)) == NULL)
            return lt_error_set(err, LT_ERR_INTERNAL, "tls", "HKDF is not available: %s", openssl_reason());
        tk->current.set = false;
        derive_if_due(tk);
        if (!tk->current.set)
            return lt_error_set(err, LT_ERR_INTERNAL, "tls", "cannot derive a session ticket key: %s",
                                openssl_reason());
    }
    /* The session's lifetime, which OpenSSL also enforces on a resumption and announces in the ticket: two periods
     * (the longest a key opens a ticket it sealed), so the keys alone decide, at most a week (RFC 8446's bound).
     * Start-up only: the shared context is not changed once workers accept. */
    long long lifetime_s = 2 * (tk->period_ms / 1000);
    SSL_CTX_set_timeout(ctx, (long)(lifetime_s < 604800 ? lifetime_s : 604800));
    return 0;
}

/* The most recent OpenSSL error as text, for messages that also name the file. */
static const char *openssl_reason(void)
{
    static __thread char buf[256];
    unsigned long e = ERR_peek_last_error();
    if (e == 0)
        return "unknown error";
    ERR_error_string_n(e, buf, sizeof(buf));
    ERR_clear_error();
    return buf;
}

static int fail_file(lt_error_t *err, const char *what, const char *path)
{
    return lt_error_set(err, LT_ERR_INTERNAL, "tls", "%s '%s': %s", what, path, openssl_reason());
}

/* client_ca's certificates, for the trusts built from them. */
static STACK_OF(X509) * read_cas(const char *path)
{
    BIO *bio = BIO_new_file(path, "r");
    STACK_OF(X509) *cas = bio ? sk_X509_new_null() : NULL;
    X509 *x;
    while (cas != NULL && (x = PEM_read_bio_X509_AUX(bio, NULL, NULL, NULL)) != NULL)
        sk_X509_push(cas, x);
    ERR_clear_error(); /* the end of the file */
    BIO_free(bio);
    if (cas != NULL && sk_X509_num(cas) == 0) {
        sk_X509_free(cas);
        cas = NULL;
    }
    return cas;
}

/* The verifier of an api context, with a first trust of the CAs alone (main.c installs the configured one). */
static int add_verifier(SSL_CTX *ctx, const char *client_ca, lt_error_t *err)
{
    pthread_once(&ctx_once, make_ctx_index);
    verifier_t *v = calloc(1, sizeof(*v));
    pthread_mutex_init(&v->lock, NULL);
    v->cas = read_cas(client_ca);
    if (tickets_init(&v->tickets) != 0) {
        on_ctx_free(NULL, v, NULL, 0, 0, NULL);
        return lt_error_set(err, LT_ERR_INTERNAL, "tls", "cannot make a session ticket key: %s", openssl_reason());
    }
    if (v->cas == NULL || SSL_CTX_set_ex_data(ctx, ctx_index, v) != 1) {
        on_ctx_free(NULL, v, NULL, 0, 0, NULL);
        return lt_error_set(err, LT_ERR_INTERNAL, "tls", "client CA '%s': no certificate could be read", client_ca);
    }
    lt_listener_conf_t none = {0};
    lt_tls_trust_t *first = lt_tls_trust_new(ctx, &none, err);
    if (first == NULL)
        return -1;
    ++v->installs;
    v->current = first;
    return 0;
}

SSL_CTX *lt_tls_server_ctx_new(const char *cert, const char *key, const char *client_ca, lt_error_t *err)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (ctx == NULL) {
        lt_error_set(err, LT_ERR_INTERNAL, "tls", "cannot create a TLS context: %s", openssl_reason());
        return NULL;
    }
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_info_callback(ctx, on_info);
    /* No renegotiation, no compression; prefer our cipher order. */
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION | SSL_OP_CIPHER_SERVER_PREFERENCE);
    /* An idle keep-alive connection holds no record buffers (about 17 KiB each for reading and writing): a portal's
     * pool keeps many connections open between requests. */
    SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
    /* A record in one read(2) rather than two (its 5-byte header, then the rest); what is read beyond the record
     * waits in OpenSSL, and lt_conn asks for it (SSL_has_pending) since the socket will not say so. */
    SSL_CTX_set_read_ahead(ctx, 1);
    if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) {
        fail_file(err, "server certificate", cert);
        goto fail;
    }
    if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1) {
        fail_file(err, "server key", key);
        goto fail;
    }
    if (SSL_CTX_check_private_key(ctx) != 1) {
        lt_error_set(err, LT_ERR_INTERNAL, "tls", "server key '%s' does not match certificate '%s'", key, cert);
        goto fail;
    }
    if (client_ca != NULL) {
        if (SSL_CTX_load_verify_locations(ctx, client_ca, NULL) != 1) {
            fail_file(err, "client CA", client_ca);
            goto fail;
        }
        STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(client_ca);
        if (names == NULL) {
            fail_file(err, "client CA", client_ca);
            goto fail;
        }
        SSL_CTX_set_client_CA_list(ctx, names);
        if (add_verifier(ctx, client_ca, err) != 0)
            goto fail;
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, on_verify);
        SSL_CTX_set_verify_depth(ctx, 4);
        static const unsigned char sid_ctx[] = "lienthong-api";
        SSL_CTX_set_session_id_context(ctx, sid_ctx, sizeof(sid_ctx) - 1);
        /* Resumption by ticket only, where on_ticket_open sees it; a cached session would skip that check. */
        SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
        SSL_CTX_set_session_ticket_cb(ctx, on_ticket_new, on_ticket_open, NULL);
        /* Our rotated keys, not OpenSSL's: those are made once per context and never change. */
        SSL_CTX_set_tlsext_ticket_key_evp_cb(ctx, on_ticket_key);
        /* One TLS 1.3 ticket per handshake, not OpenSSL's two: each is a copy of the session that OpenSSL 3.0
         * makes by encoding and decoding it, the client's certificate with it, and the second copy cost about a
         * seventh of a full handshake. A client resumes its next connection with the ticket of its last, and every
         * resumption brings a new one. */
        SSL_CTX_set_num_tickets(ctx, 1);
    }
    return ctx;
fail:
    SSL_CTX_free(ctx);
    return NULL;
}

int lt_tls_check_client_files(const char *what, const char *cert, const char *key, const char *ca, lt_error_t *err)
{
    int rc = -1;
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    if (ctx == NULL)
        return lt_error_set(err, LT_ERR_INTERNAL, "tls", "cannot create a TLS context: %s", openssl_reason());
    char label[128];
    snprintf(label, sizeof(label), "%s client certificate", what);
    if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) {
        fail_file(err, label, cert);
        goto out;
    }
    snprintf(label, sizeof(label), "%s client key", what);
    if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1) {
        fail_file(err, label, key);
        goto out;
    }
    if (SSL_CTX_check_private_key(ctx) != 1) {
        lt_error_set(err, LT_ERR_INTERNAL, "tls", "%s client key '%s' does not match certificate '%s'", what, key,
                     cert);
        goto out;
    }
    snprintf(label, sizeof(label), "%s CA", what);
    if (SSL_CTX_load_verify_locations(ctx, ca, NULL) != 1) {
        fail_file(err, label, ca);
        goto out;
    }
    rc = 0;
out:
    SSL_CTX_free(ctx);
    return rc;
}

void lt_tls_peer_cn(SSL *ssl, char *buf, size_t buflen)
{
    buf[0] = '\0';
    if (ssl == NULL)
        return;
    X509 *peer = SSL_get0_peer_certificate(ssl);
    if (peer == NULL)
        return;
    X509_NAME_get_text_by_NID(X509_get_subject_name(peer), NID_commonName, buf, (int)buflen);
}

const lt_client_conf_t *lt_tls_peer_client(SSL *ssl, const lt_config_t *config)
{
    if (ssl == NULL)
        return NULL;
    tracked_t *t = tracked_of(ssl);
    if (t != NULL && t->matched_in == config)
        return t->client;
    const lt_client_conf_t *client = lt_clients_match(config, SSL_get0_peer_certificate(ssl));
    if (t != NULL) {
        t->matched_in = config;
        t->client = client;
    }
    return client;
}
