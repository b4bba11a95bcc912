/*
 * The ICD's enterprise object (the lookup's 200 body) to the canonical
 * business record of README.md. Pure: JSON in, JSON out.
 */
#ifndef LT_BUSINESS_ENTERPRISE_H
#define LT_BUSINESS_ENTERPRISE_H

#include <jansson.h>

#include "lt_arena.h"
#include "lt_error.h"

/*
 * Maps doc to a new canonical record (*out, a new reference, without "source").
 * `code` is the enterprise code that was asked about: a record for any other
 * code is refused. Fails with LT_ERR_UPSTREAM_BAD.
 */
int lt_business_enterprise_to_json(lt_arena_t *a, const json_t *doc, const char *code, json_t **out, lt_error_t *err);

#endif
