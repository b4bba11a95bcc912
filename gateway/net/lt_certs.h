/*
 * Certificate expiry, for /metrics and /status (floor 3): every certificate the
 * gateway holds (its api server certificate, its client certificate toward each
 * national system) or has seen (each national system's server certificate, as
 * presented on the last new connection). A small table under one mutex: workers
 * note what a handshake showed, the admin listener reads a copy.
 *
 * A certificate is named by its role and its owner: ("api_server", "api"),
 * ("upstream_client", "population"), ("upstream_server", "population"). Roles
 * are free strings, so another listener (callbacks) can add its own.
 */
#ifndef LT_CERTS_H
#define LT_CERTS_H

#include <openssl/x509.h>
#include <stddef.h>
#include <stdint.h>

#define LT_CERTS_MAX 64

typedef struct lt_cert_info {
    char role[24];
    char owner[48];
    char subject[128]; /* the subject's CN, or its one-line name when it has none */
    int64_t not_after; /* Unix seconds */
    int64_t noted_at;  /* when this copy was taken (Unix seconds): for a seen certificate, its handshake */
    /* A seen certificate that failed verification at its last handshake: why ("" when it verified, and for the
     * certificates we hold, which start-up checked). */
    char verify_error[96];
} lt_cert_info_t;

/* Records (or replaces) the certificate for (role, owner). Thread-safe; cheap when nothing changed. */
void lt_certs_note(const char *role, const char *owner, const X509 *cert);
/* As lt_certs_note, for a peer's certificate as its handshake's verification left it (verify_error NULL: it
 * verified). */
void lt_certs_note_seen(const char *role, const char *owner, const X509 *cert, const char *verify_error);
/* Reads the first certificate of a PEM file (start-up only: it reads the disk). Returns -1 when unreadable. */
int lt_certs_note_file(const char *role, const char *owner, const char *path);
/* Copies up to max entries, in the order they were first noted. */
size_t lt_certs_snapshot(lt_cert_info_t *out, size_t max);
/* Forget everything (tests). */
void lt_certs_reset(void);

/* A name (a subject, a CRL's issuer) as text for labels, JSON and logs: its CN converted to UTF-8 from whatever
 * string type it uses, else the whole one-line name; control characters and invalid UTF-8 become '?'. */
void lt_certs_name_text(const X509_NAME *name, char *buf, size_t len);

/* Seconds from now_s to not_after, rounded down to whole days (negative once expired). */
long lt_certs_days_left(int64_t not_after, int64_t now_s);

#endif
