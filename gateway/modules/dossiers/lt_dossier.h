/*
 * The canonical dossier (dossiers floor, pure): what the one-stop system hands over, read strictly and put in one
 * normal form, before anything is stored. A snapshot is the dossier's current state with its `version`; a step is
 * one processing step with its `seq`. Both are checked field by field against a table (unknown fields, wrong
 * types, bad times and statuses are 400 with the field named), text is put in NFC, and every time becomes ISO 8601
 * in +07:00, so that two bodies that say the same thing have the same canonical text and fingerprint.
 *
 * Which fields are required: only the gateway's own `version` and `seq`. The portal's ICD shows every other field
 * without requiring any, so the gateway requires none of them either (docs/api.md).
 *
 * The portal's own names and codes are not here: lt_dos_portal.c maps the canonical record onto the wire.
 */
#ifndef LT_DOSSIER_H
#define LT_DOSSIER_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "lt_error.h"

#define LT_DOS_ID_MAX 64 /* a dossier id (MaHoSo) */
/* version and seq: at most 14 digits, exact in every JSON reader and in Redis's Lua (whose numbers print with
 * 14 significant digits); a timestamp such as 20261122090000 or Unix milliseconds fits. */
#define LT_DOS_NUMBER_MAX    99999999999999LL
#define LT_DOS_RECORD_ID_MAX (LT_DOS_ID_MAX + 24) /* "<dossier_id>:v<version>" or ":s<seq>" */

/* 1-64 characters of A-Z, a-z, 0-9, '.', '-' and '_': the dossier ids the portal's samples show. */
bool lt_dos_id_is_valid(const char *id);

/* The statuses of a dossier and of a step, in the portal's code order (northbound.md). NULL-terminated. */
extern const char *const lt_dos_statuses[];
/* The index of a status name in lt_dos_statuses, or -1. */
int lt_dos_status_index(const char *name);

/*
 * Reads a PUT body for dossier `id`: *canonical (a new reference) holds the normal form, version included, and
 * *version its version. 400 problems name the field. The body may repeat `dossier_id`, which must then equal id.
 */
int lt_dos_snapshot_read(const char *id, const json_t *body, json_t **canonical, long long *version, lt_error_t *err);
/* The same for a step body: *seq is its seq. */
int lt_dos_step_read(const char *id, const json_t *body, json_t **canonical, long long *seq, lt_error_t *err);

/* Reads one fee object as a snapshot's `fees` entry is read ({"name","code","collection_method_code","amount_vnd",
 * "type_code"}, each optional): *canonical (a new reference) is its normal form; a 400 problem otherwise. */
int lt_dos_fee_read(const json_t *body, json_t **canonical, lt_error_t *err);
/* Appends the fees of `fees` (a JSON array text of canonical fees; NULL or "[]": none) to a canonical snapshot's own
 * `fees`: what the portal gets is the one-stop system's fee list and then the gateway's. */
void lt_dos_with_fees(json_t *canonical, const char *fees);

/* The canonical text of a record: compact JSON with sorted keys (malloc'd). Equal records have equal texts. */
char *lt_dos_canonical_text(const json_t *canonical);
/* SHA-256 of that text, in hex: what tells a repeat from a different body. */
void lt_dos_fingerprint(const char *text, char out[65]);

/* A record's id in the outbox: "<dossier_id>:v<version>" for a snapshot, "<dossier_id>:s<seq>" for a step. */
void lt_dos_record_id(const char *dossier_id, bool step, long long number, char out[LT_DOS_RECORD_ID_MAX + 1]);
/* The reverse: 0, or -1 when text is not such an id. */
int lt_dos_record_id_parse(const char *text, char dossier_id[LT_DOS_ID_MAX + 1], bool *step, long long *number);

#endif
