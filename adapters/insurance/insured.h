/*
 * The "data" object of an icd/social-insurance.md lookup to the canonical
 * insured person (docs/api.md): English snake_case keys, ISO dates (a year
 * alone stays a year), codes mapped through codes.c and kept as source_code,
 * text trimmed and composed as NFC. The core adds "source"; this module never
 * sees the request.
 */
#ifndef LT_INSURANCE_INSURED_H
#define LT_INSURANCE_INSURED_H

#include <jansson.h>

#include "lt_arena.h"
#include "lt_error.h"

/* *out is a new reference. Fails with LT_ERR_UPSTREAM_BAD "bad_response" naming the field, never its value. */
int lt_insurance_insured_to_json(lt_arena_t *a, const json_t *data, json_t **out, lt_error_t *err);

#endif
