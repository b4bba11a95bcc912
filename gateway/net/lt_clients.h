/*
 * Which listed client (lt_client.h) a peer certificate is: its issuer's name,
 * and its CN, one of its subjectAltNames or its SHA-256 fingerprint, as the
 * client's entry says. The handshake has already verified the chain to the
 * provincial CA; this decides who, among the CA's certificates, may do what.
 */
#ifndef LT_CLIENTS_H
#define LT_CLIENTS_H

#include <openssl/x509.h>

#include "lt_config.h"

/* The first client whose entry matches peer, or NULL (peer NULL: no certificate). */
const lt_client_conf_t *lt_clients_match(const lt_config_t *config, X509 *peer);

/* The certificate's SHA-256 fingerprint as 64 lowercase hex digits, for logs that must name a refused peer. */
void lt_clients_fingerprint(X509 *peer, char out[65]);

#endif
