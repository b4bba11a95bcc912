/*
 * dc:CongDan (icd/population.md) to the canonical citizen record
 * (docs/api.md): English snake_case keys, ISO dates, every code mapped through
 * codes.c and kept as source_code, names and addresses NFC. The core adds
 * "source"; this module never sees the request.
 */
#ifndef LT_POPULATION_CITIZEN_H
#define LT_POPULATION_CITIZEN_H

#include <jansson.h>
#include <libxml/tree.h>

#include "lt_arena.h"
#include "lt_error.h"

/* *out is a new reference. Fails with LT_ERR_UPSTREAM_BAD "bad_response" when a required element is missing. */
int lt_population_citizen_to_json(lt_arena_t *a, const xmlNode *congdan, json_t **out, lt_error_t *err);

#endif
