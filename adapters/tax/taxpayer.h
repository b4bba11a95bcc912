/*
 * NguoiNopThue (icd/tax.md) to the canonical taxpayer record (docs/api.md):
 * English snake_case keys, ISO dates, every code mapped through codes.c and
 * kept as source_code, text NFC. The core adds "source"; this module never
 * sees the request.
 */
#ifndef LT_TAX_TAXPAYER_H
#define LT_TAX_TAXPAYER_H

#include <jansson.h>
#include <libxml/tree.h>

#include "lt_arena.h"
#include "lt_error.h"

/* *out is a new reference; tax_code and name are null when MST and TenNNT are missing. Fails with LT_ERR_UPSTREAM_BAD
 * "bad_response" for a date that is not a real dd/MM/yyyy. */
int lt_tax_taxpayer_to_json(lt_arena_t *a, const xmlNode *nnt, json_t **out, lt_error_t *err);

#endif
