/*
 * The land ICD's parcel document (thuaDat and giayChungNhan) to the canonical
 * parcel record. Pure: arena and jansson only. See README.md for the mapping.
 */
#ifndef LT_LAND_PARCEL_H
#define LT_LAND_PARCEL_H

#include <jansson.h>

#include "lt_arena.h"
#include "lt_error.h"

/*
 * Maps the 200 body's document to {"parcel", "certificates"} (a new
 * reference in *out). Nothing is required except that the document is an
 * object: absent members give null. A member of the wrong type or shape is
 * LT_ERR_UPSTREAM_BAD "bad_response", naming the member's path, never its value.
 */
int lt_land_document_to_json(lt_arena_t *a, const json_t *doc, json_t **out, lt_error_t *err);

/*
 * An ICD area ("152,5": digits, optionally a decimal comma and digits, no
 * sign, no thousands separator, no leading zero) as an exact decimal string
 * with a point ("152.5"), in arena memory; NULL when the text is not such an
 * area. Never goes through a double, so "0,1" stays "0.1".
 */
char *lt_land_area_decimal(lt_arena_t *a, const char *text);

/* The ICD's "no end" term (thoiHan), NFC. */
#define LT_LAND_TERM_PERMANENT "L\xc3\xa2u d\xc3\xa0i" /* "Lâu dài" */

#endif
