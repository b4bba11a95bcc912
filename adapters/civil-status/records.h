/*
 * The records of icd/civil-status.md (KS birth, KH marriages, KT death, TTHN
 * marital status) to the canonical civil-status answer of README.md. Pure:
 * JSON in, JSON out.
 */
#ifndef LT_CIVIL_STATUS_RECORDS_H
#define LT_CIVIL_STATUS_RECORDS_H

#include <jansson.h>

#include "codes.h"
#include "lt_arena.h"
#include "lt_error.h"

/*
 * Maps the envelope's `value` for one lookup type to a new canonical answer
 * (*out, a new reference, without "source"): {"type", "record"} or, for
 * marriages, {"type", "records"}. `asked` is the personal identification
 * number the lookup was about: a record that names another person is refused.
 * An empty (or absent) value is LT_ERR_NOT_FOUND; anything unusable is
 * LT_ERR_UPSTREAM_BAD.
 */
int lt_civil_status_answer_to_json(lt_arena_t *a, const lt_civil_status_type_t *type, const json_t *value,
                                   const char *asked, json_t **out, lt_error_t *err);

#endif
