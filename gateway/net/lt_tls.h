/*
 * TLS contexts (floor 3). The api listener's context requires a client
 * certificate that chains to the provincial CA, and speaks TLS 1.2 and 1.3
 * only; one SSL_CTX is built at start-up and shared read-only by every worker
 * (OpenSSL 3 makes SSL_new on a shared context thread-safe).
 *
 * Revocation: the client certificates are verified against a trust, an
 * X509_STORE with the client CAs and their revocation lists (lt_crl.h), that
 * a reload replaces without touching the shared SSL_CTX. The context holds a
 * pointer to the current trust under a mutex; lt_tls_track takes a reference
 * to it and installs its store on each new connection
 * (SSL_set1_verify_cert_store), so a handshake uses the lists that were in
 * force when its connection was accepted, connections already open keep
 * going, and the old store is freed when its last connection is. Session
 * tickets carry the trust they were verified under: one from an older trust,
 * or resumed after a list's nextUpdate, makes a full handshake (the stateful
 * session cache is off, so tickets are the only way to resume).
 *
 * Session tickets are sealed with our own keys (SSL_CTX_set_tlsext_ticket_key_evp_cb: AES-256-CBC and
 * HMAC-SHA256, keys from RAND_bytes), held on the api context and so shared by every worker: a ticket issued on
 * one worker resumes on another. A key seals new tickets for one period (listeners.api.ticket_key_rotate_s), then
 * only opens them for one more, renewing each ticket it opens, then is dropped: a ticket is good for at least one
 * period and at most two. The keys live in memory only; a restart makes new ones, unless they are derived from
 * the operator's ticket key file (listeners.api.ticket_key_file), which instances behind one balancer may share.
 */
#ifndef LT_TLS_H
#define LT_TLS_H

#include <openssl/ssl.h>
#include <stddef.h>

#include "lt_config.h"
#include "lt_error.h"

/* Server context for mutual TLS. Errors name the file that failed. */
SSL_CTX *lt_tls_server_ctx_new(const char *cert, const char *key, const char *client_ca, lt_error_t *err);

/* How long a session ticket key seals new tickets before the next one takes over, for a context with a client_ca
 * (LT_TLS_TICKET_ROTATE_DEFAULT_S until this is called), and the ticket key file (NULL: random keys in memory).
 * With a file, each period's key is derived from its secret and the period's number on the wall clock, so every
 * process holding the file seals and opens with the same keys. Start-up only, before any worker accepts on ctx;
 * -1 with err when the file cannot be used. */
#define LT_TLS_TICKET_ROTATE_DEFAULT_S 10800
#define LT_TLS_TICKET_SECRET_MAX       64
int lt_tls_tickets_configure(SSL_CTX *ctx, long long rotate_s, const char *key_file, lt_error_t *err);

/*
 * A trust for ctx (made by lt_tls_server_ctx_new with a client_ca): its client CAs and the revocation lists api
 * names (crl_files, none: no revocation check), with what an expired list does (crl_expired). Reads and checks
 * the files (lt_crl_set_load); NULL with err set when one is refused. Main loop only.
 */
typedef struct lt_tls_trust lt_tls_trust_t;
lt_tls_trust_t *lt_tls_trust_new(SSL_CTX *ctx, const lt_listener_conf_t *api, lt_error_t *err);
/* Puts trust in force for ctx's new connections (taking it over), and publishes its lists (lt_crl_publish). Safe
 * while workers accept on ctx. */
void lt_tls_trust_install(SSL_CTX *ctx, lt_tls_trust_t *trust);
/* A trust that was not installed. */
void lt_tls_trust_free(lt_tls_trust_t *trust);

/* Loads an upstream's client certificate, key and CA the way libcurl will, so bad files stop start-up. */
int lt_tls_check_client_files(const char *what, const char *cert, const char *key, const char *ca, lt_error_t *err);

/*
 * Counts a connection of a listener (lt_metrics_listener slot) in lienthong_open_connections until its SSL is
 * freed, and, when its handshake fails, the reason in lienthong_tls_handshake_failures_total, with a log line
 * (reason, peer address, the certificate's SHA-256 fingerprint; at most LT_TLS_LOG_PER_MINUTE lines a minute).
 * On a context with client CAs it also installs the trust in force. Call it on every SSL made from a context of
 * lt_tls_server_ctx_new (whose info and verify callbacks read it).
 */
#define LT_TLS_LOG_PER_MINUTE 20
void lt_tls_track(SSL *ssl, int listener);

/* The listed client (lt_clients_match) the peer certificate of ssl is under config, NULL for none: matched on the
 * connection's first request and remembered for its others (the certificate cannot change: no renegotiation). */
const lt_client_conf_t *lt_tls_peer_client(SSL *ssl, const lt_config_t *config);

/* The peer certificate's subject CN into buf ("" when none). */
void lt_tls_peer_cn(SSL *ssl, char *buf, size_t buflen);

#endif
