/* TLS contexts for the listeners, and start-up checks of upstream TLS material. */
#include "lt_tls.h"

#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "lt_metrics.h"

/* ---- connection tracking: what /metrics says about our listeners ------------------------------ */

typedef struct {
    int listener;
    bool handshake_done, failure_counted;
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
    free(t);
}

static void make_track_index(void)
{
    track_index = SSL_get_ex_new_index(0, NULL, NULL, NULL, on_ssl_free);
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
    lt_metrics_connection_opened(listener);
}

/* The alert we send says why we refused; for a generic handshake_failure the error queue says more. */
static lt_tls_failure_t classify_alert(int alert)
{
    switch (alert) {
    case SSL_AD_CERTIFICATE_REQUIRED:
        return LT_TLS_FAIL_NO_CERTIFICATE;
    case SSL_AD_UNKNOWN_CA:
        return LT_TLS_FAIL_UNKNOWN_CA;
    case SSL_AD_BAD_CERTIFICATE:
    case SSL_AD_UNSUPPORTED_CERTIFICATE:
    case SSL_AD_CERTIFICATE_REVOKED:
    case SSL_AD_CERTIFICATE_EXPIRED:
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

/* A fatal alert before the handshake is done is a failed handshake: counted once, by the alert's meaning. */
static void on_info(const SSL *ssl, int where, int ret)
{
    tracked_t *t = track_index >= 0 ? SSL_get_ex_data(ssl, track_index) : NULL;
    if (t == NULL)
        return;
    if (where & SSL_CB_HANDSHAKE_DONE)
        t->handshake_done = true;
    if (!(where & SSL_CB_ALERT) || t->handshake_done || t->failure_counted || (ret >> 8) != SSL3_AL_FATAL)
        return;
    t->failure_counted = true;
    lt_metrics_tls_failure(t->listener, (where & SSL_CB_WRITE) ? classify_alert(ret & 0xff) : LT_TLS_FAIL_PEER_ALERT);
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
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
        SSL_CTX_set_verify_depth(ctx, 4);
        static const unsigned char sid_ctx[] = "lienthong-api";
        SSL_CTX_set_session_id_context(ctx, sid_ctx, sizeof(sid_ctx) - 1);
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
