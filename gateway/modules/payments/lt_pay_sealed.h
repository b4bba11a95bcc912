/*
 * The citizen's part of a stored payment, sealed (payments floor).
 *
 * Of what a payment keeps, two fields are about the citizen rather than the
 * fee: the citizen's IP address (vnp_IpAddr, needed to build the pay URL, and
 * again only to build the very same URL for an Idempotency-Key replay; querydr
 * sends the merchant server's address instead) and the portal's return_url
 * (where the browser return sends the citizen, which may name the dossier).
 * Everything else is what the stores' checks, scans and scripts read, and what
 * reconciliation and the portal's webhook need: it stays in clear.
 *
 * Those two are sealed together, as "<client_ip>\n<return_url>", with the
 * cache's AEAD keys (lt_cache_crypto.h: AES-256-GCM, a random nonce, the id of
 * the key that sealed it in front), bound to the payment's id as associated
 * data, so a sealed part copied onto another payment does not open. It is
 * stored as base64 in the payment's `sealed` field. New parts are sealed with
 * `encrypt_with`; a part opens with any configured key, which is how keys
 * rotate (docs/payment-store.md).
 */
#ifndef LT_PAY_SEALED_H
#define LT_PAY_SEALED_H

#include "lt_cache_crypto.h"
#include "lt_error.h"
#include "lt_payment.h"

/* Seals p's client_ip and return_url into p->sealed (which lt_payment_to_json then stores instead of them); the
 * clear fields stay as they are, for the answer. -1 when the keys cannot seal. */
int lt_pay_seal(const lt_cache_keys_t *keys, lt_payment_t *p);

/* Fills p's client_ip and return_url from p->sealed. A payment stored before sealing (sealed "") already has them:
 * 0. -1 (err set, both left "") when the part does not open: altered, moved from another payment, or sealed with
 * a key this gateway no longer holds. */
int lt_pay_unseal(const lt_cache_keys_t *keys, lt_payment_t *p, lt_error_t *err);

#endif
