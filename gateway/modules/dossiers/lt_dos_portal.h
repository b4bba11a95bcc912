/*
 * The national public-service portal's wire format (dossiers floor, pure: no I/O), from icd/national-portal.md:
 * the session request, the two calls (DongBoHoSoMC for dossier snapshots, CapNhatTienDoHoSoMC for processing
 * steps) built from canonical records, and the answers read into one outcome. The portal's field names, its
 * status codes and its yyyyMMddHHmmss times live here and nowhere else, so the outbox knows only outcomes; unit
 * tests drive this file with the ICD's samples (gateway/modules/dossiers/tests/test_dos_portal.c).
 */
#ifndef LT_DOS_PORTAL_H
#define LT_DOS_PORTAL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "lt_dossier.h"

#define LT_PORTAL_BATCH_MAX   100 /* records per call (ICD, "Limits") */
#define LT_PORTAL_AUTH_PATH   "/auth"
#define LT_PORTAL_CALL_PATH   "/"
#define LT_PORTAL_SESSION_MAX 255

typedef enum { LT_PORTAL_SNAPSHOTS, LT_PORTAL_STEPS } lt_portal_service_t;

const char *lt_dos_portal_service_name(lt_portal_service_t service); /* "DongBoHoSoMC", "CapNhatTienDoHoSoMC" */

/* {"username","password"}, malloc'd. */
char *lt_dos_portal_auth_body(const char *username, const char *password);

/* One canonical snapshot or step as the portal's record (a new reference), MaHoSo first, absent fields left out. */
json_t *lt_dos_portal_record(lt_portal_service_t service, const char *dossier_id, const json_t *canonical);

/* A call's body, malloc'd: {"session","madonvi","service",("isUpdating"),"data":records}. Snapshots always go as
 * creations (isUpdating false): the ICD makes a creation of a held dossier a replacement, so a call need not know
 * which of its dossiers the portal holds, and never meets "replacing one it does not hold". */
char *lt_dos_portal_call_body(lt_portal_service_t service, const char *session, const char *unit_code,
                              const json_t *records);

typedef enum {
    LT_PORTAL_OK,          /* error_code 0 (the whole call was applied; a session for an auth) */
    LT_PORTAL_REAUTH,      /* error_code 401: authenticate again, then resend */
    LT_PORTAL_REFUSED,     /* error_code -1 naming one record of the call: nothing of the call was applied */
    LT_PORTAL_REFUSED_ALL, /* error_code -1 naming no record of the call ("too many records", a wrong account) */
    LT_PORTAL_BUSY,        /* HTTP 429: over 5 calls/s; wait retry_after_s */
    LT_PORTAL_DOWN,        /* HTTP 5xx: the portal is down (maintenance windows last hours) */
    LT_PORTAL_BAD,         /* an answer that says none of the above: another status, not JSON, no error_code */
} lt_portal_outcome_t;

typedef struct lt_portal_answer {
    lt_portal_outcome_t outcome;
    char dossier_id[LT_DOS_ID_MAX + 1];      /* REFUSED: the record the portal named */
    char message[300];                       /* the portal's message, or what was wrong with the answer */
    char session[LT_PORTAL_SESSION_MAX + 1]; /* an auth's OK */
    int retry_after_s;                       /* BUSY */
} lt_portal_answer_t;

/* Reads the answer to POST /auth. */
void lt_dos_portal_read_auth(long status, const char *retry_after, const char *body, size_t len,
                             lt_portal_answer_t *out);
/* Reads the answer to a call whose records are for the dossiers ids[0..n): a refusal names one of them. */
void lt_dos_portal_read_call(long status, const char *retry_after, const char *body, size_t len, const char *const *ids,
                             size_t n, lt_portal_answer_t *out);

#endif
