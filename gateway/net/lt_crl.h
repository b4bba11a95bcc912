/*
 * Certificate revocation lists of the client CAs (floor 3).
 *
 * - Reading: each file named in listeners.api.crl_files holds one or more PEM
 *   lists, or one DER list. Every list must be signed by a CA of client_ca,
 *   no two may share an issuer, and every CA of client_ca must have its list
 *   (revocation is checked for the whole chain, so a CA without one would
 *   refuse every client it issued). Anything else stops start-up, or refuses a
 *   reload, naming the file.
 * - The lists in force: the api listener's verification uses the X509_CRLs
 *   themselves (lt_tls.c builds a store from them); this file keeps the
 *   process-wide picture of what is in force for /status.json and /metrics
 *   (issuer, lastUpdate, nextUpdate, how many certificates each revokes), a
 *   small table under one mutex as lt_certs keeps certificates.
 * - A list past its nextUpdate is said loudly in the log, at most once per
 *   listeners.api.crl_warn_interval_s, from the handshakes that meet it and from
 *   a timer (lt_crl_watch), with what happened since the last line.
 */
#ifndef LT_CRL_H
#define LT_CRL_H

#include <openssl/x509.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lt_error.h"
#include "lt_mbuf.h"

#define LT_CRL_MAX 16 /* lists per listener */

typedef struct lt_crl_info {
    char file[256];
    char issuer[128];                 /* the issuing CA's CN (lt_certs_name_text) */
    char number[48];                  /* crlNumber in decimal; "" when the list has none */
    int64_t last_update, next_update; /* Unix seconds; next_update 0: the list names no next update */
    long revoked;                     /* certificates it lists */
} lt_crl_info_t;

/* Where a list stands in its validity. */
typedef enum {
    LT_CRL_CURRENT,
    LT_CRL_DUE_SOON, /* less than a quarter of its validity (lastUpdate to nextUpdate) is left */
    LT_CRL_EXPIRED,  /* past its nextUpdate */
    LT_CRL_NOT_YET_VALID,
} lt_crl_time_t;

lt_crl_time_t lt_crl_time_state(const lt_crl_info_t *c, int64_t now_s);
const char *lt_crl_time_name(lt_crl_time_t t); /* "current", "due_soon", "expired", "not_yet_valid" */

/* Lists as loaded from their files. */
typedef struct lt_crl_set {
    X509_CRL **crls;
    lt_crl_info_t *info;
    size_t n;
} lt_crl_set_t;

/*
 * Reads every file into set (empty when nfiles is 0), checked against cas as the header says. `what` is the key
 * errors name ("listeners.api.crl_files"). On failure set is left empty.
 */
int lt_crl_set_load(lt_crl_set_t *set, char *const *files, size_t nfiles, const STACK_OF(X509) * cas, const char *what,
                    lt_error_t *err);
void lt_crl_set_free(lt_crl_set_t *set);
/* The earliest nextUpdate of the set's lists (0: none has one). */
int64_t lt_crl_set_next_update(const lt_crl_set_t *set);

/* ---- the lists in force ---------------------------------------------------------------------- */

typedef struct lt_crl_state {
    bool configured;                            /* revocation is checked: at least one list */
    bool warn_expired;                          /* listeners.api.crl_expired is "warn" */
    int64_t loaded_at;                          /* when these lists were put in force (Unix seconds) */
    uint64_t loads;                             /* how many times lists were put in force: start-up, then each reload */
    uint64_t expired_accepted, expired_refused; /* handshakes that met a list past its nextUpdate, since start */
    size_t n;
    lt_crl_info_t lists[LT_CRL_MAX];
} lt_crl_state_t;

/* The set now in force (its descriptions copied), and what an expired list does. Thread-safe. */
void lt_crl_publish(const lt_crl_set_t *set, bool warn_expired, long long warn_interval_s);
/* Logs the lists in force (after start-up, after a reload): each list, one not valid yet, one already expired. */
void lt_crl_announce(void);
void lt_crl_snapshot(lt_crl_state_t *out);
/* Forget everything (tests). */
void lt_crl_reset(void);

/* A handshake met a list past its nextUpdate and was accepted (crl_expired "warn") or refused. Thread-safe. */
void lt_crl_note_expired(bool accepted, int64_t now_s);
/* From a timer: a list past its nextUpdate is said again once per interval even when no client comes. */
void lt_crl_watch(int64_t now_s);

/* lienthong_crl_age_seconds, _next_update_seconds, _revoked_certificates, _loaded_timestamp_seconds,
 * _expired_handshakes_total. */
void lt_crl_render_metrics(lt_buf_t *b, int64_t now_s);

#endif
