/*
 * The SOAP 1.1 / X-Road v4 envelope of icd/population.md: building the request
 * bytes and reading a response down to the operation's response element, with
 * every transport-level and fault-level outcome mapped to an lt_error_t.
 * Nothing here knows what a citizen looks like (citizen.c does).
 */
#ifndef LT_POPULATION_SOAP_H
#define LT_POPULATION_SOAP_H

#include <libxml/tree.h>
#include <stddef.h>

#include "lt_adapter.h"
#include "lt_arena.h"
#include "lt_error.h"

#define LT_POPULATION_NS_SOAP "http://schemas.xmlsoap.org/soap/envelope/"
#define LT_POPULATION_NS_XRD  "http://x-road.eu/xsd/xroad.xsd"
#define LT_POPULATION_NS_ID   "http://x-road.eu/xsd/identifiers"
#define LT_POPULATION_NS_DC   "http://dancuquocgia.bca"

#define LT_POPULATION_OP_LOOKUP "TraCuuThongTinCongDan"
#define LT_POPULATION_OP_VERIFY "XacThucThongTinCongDan"

/* upstreams.population.service, read once at start-up and shared read-only by every thread. */
typedef struct lt_population_settings {
    char *xroad_instance, *member_class, *member_code, *subsystem_code; /* the client subsystem */
    char *service_member_code, *service_subsystem_code, *service_version;
    char *integration_code;              /* MaTichHop */
    char *default_procedure_code;        /* MaDVC when the call has none */
    long long quota_retry_after_s;       /* DC-429 */
    long long maintenance_retry_after_s; /* DC-503 */
    long long platform_retry_after_s;    /* X-Road Server.* faults, HTTP 503 without a usable Retry-After */
} lt_population_settings_t;

/* One request's fields, all already validated. */
typedef struct lt_population_query {
    const char *operation; /* LT_POPULATION_OP_LOOKUP or LT_POPULATION_OP_VERIFY */
    const char *message_id, *officer_id, *purpose, *procedure_code;
    const char *id, *full_name, *birth_date;
} lt_population_query_t;

/* The request envelope, UTF-8, in arena memory. */
int lt_population_soap_build(lt_arena_t *a, const lt_population_settings_t *s, const lt_population_query_t *q,
                             const char **body, size_t *len, lt_error_t *err);

/*
 * Reads an upstream response. On success *response is the Body's element
 * dc:<response_local> (alive as long as the arena). Otherwise err holds the
 * mapped HTTP status, SOAP fault, X-Road fault or protocol violation (wrong
 * xrd:id, wrong requestHash, unexpected element).
 */
int lt_population_soap_parse(lt_arena_t *a, const lt_population_settings_t *s, const lt_upstream_response_t *resp,
                             const lt_upstream_request_t *sent, const char *message_id, const char *response_local,
                             xmlNodePtr *response, lt_error_t *err);

/* base64(SHA-512(body)) as X-Road's requestHash carries it, in arena memory. */
char *lt_population_request_hash(lt_arena_t *a, const char *body, size_t len);

#endif
