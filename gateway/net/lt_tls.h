/*
 * TLS contexts (floor 3). The api listener's context requires a client
 * certificate that chains to the provincial CA, and speaks TLS 1.2 and 1.3
 * only; one SSL_CTX is built at start-up and shared read-only by every worker
 * (OpenSSL 3 makes SSL_new on a shared context thread-safe).
 */
#ifndef LT_TLS_H
#define LT_TLS_H

#include <openssl/ssl.h>
#include <stddef.h>

#include "lt_error.h"

/* Server context for mutual TLS. Errors name the file that failed. */
SSL_CTX *lt_tls_server_ctx_new(const char *cert, const char *key, const char *client_ca, lt_error_t *err);

/* Loads an upstream's client certificate, key and CA the way libcurl will, so bad files stop start-up. */
int lt_tls_check_client_files(const char *what, const char *cert, const char *key, const char *ca, lt_error_t *err);

/*
 * Counts a connection of a listener (lt_metrics_listener slot) in lienthong_open_connections until its SSL is
 * freed, and, when its handshake fails, the reason in lienthong_tls_handshake_failures_total. Call it on every SSL
 * made from a context of lt_tls_server_ctx_new (whose info callback reads the alerts).
 */
void lt_tls_track(SSL *ssl, int listener);

/* The peer certificate's subject CN into buf ("" when none). */
void lt_tls_peer_cn(SSL *ssl, char *buf, size_t buflen);

#endif
