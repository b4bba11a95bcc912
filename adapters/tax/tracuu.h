/*
 * The wire protocol of icd/tax.md: the YeuCauTraCuu request bytes, and a
 * response read down to its NguoiNopThue element, with every HTTP status and
 * every MaKetQua mapped to an lt_error_t. Nothing here knows what the
 * canonical taxpayer looks like (taxpayer.c does).
 */
#ifndef LT_TAX_TRACUU_H
#define LT_TAX_TRACUU_H

#include <libxml/tree.h>
#include <stddef.h>

#include "lt_adapter.h"
#include "lt_arena.h"
#include "lt_error.h"

#define LT_TAX_NS   "urn:gdt:tracuu:nnt:1.0"
#define LT_TAX_PATH "/api/tracuu/nnt"

/* upstreams.tax.service, read once at start-up and shared read-only by every thread. */
typedef struct lt_tax_settings {
    char *unit_code;         /* MaDonVi: the requesting unit */
    char *api_key_file;      /* where the province's API key lives (never the key itself in config) */
    long long retry_after_s; /* Retry-After on HTTP 503 without a usable one of its own */
    char *api_key;           /* api_key_file's content, trimmed, read at load */
} lt_tax_settings_t;

/* One request's fields, all already validated. */
typedef struct lt_tax_query {
    const char *unit_code, *message_id, *officer_id, *tax_code;
} lt_tax_query_t;

/* The YeuCauTraCuu document, UTF-8, in arena memory. Values are escaped by libxml2's writer. */
int lt_tax_request_build(lt_arena_t *a, const lt_tax_query_t *q, const char **body, size_t *len, lt_error_t *err);

/*
 * Reads an upstream response. On success *taxpayer is the NguoiNopThue
 * element of a MaKetQua 0 answer (alive as long as the arena). Otherwise err
 * holds the mapped HTTP status, MaKetQua or protocol violation (DTD, wrong
 * root, MaYeuCau that is not ours).
 */
int lt_tax_response_read(lt_arena_t *a, const lt_tax_settings_t *s, const lt_upstream_response_t *resp,
                         const char *message_id, xmlNodePtr *taxpayer, lt_error_t *err);

#endif
