/*
 * The province's systems that may call the api listener, and what each may do
 * (the "clients" section; docs/operations.md, "Clients"). A client is known by
 * its certificate: the issuer's name and one of its subject CN, a subjectAltName
 * or its SHA-256 fingerprint (gateway/net/lt_clients.c matches them). Its `id`
 * is what logs, metrics, payment ownership and idempotency scopes use.
 *
 * Default deny: a certificate that matches no client is refused on every route,
 * and a client may use only the permissions it lists.
 */
#ifndef LT_CLIENT_H
#define LT_CLIENT_H

#include <regex.h>
#include <stdbool.h>
#include <stddef.h>

typedef enum { LT_CLIENT_BY_CN, LT_CLIENT_BY_SAN, LT_CLIENT_BY_FINGERPRINT } lt_client_match_t;

/* The fields of one operation's record that a client may see (top-level keys of the canonical record). */
typedef struct lt_client_fields {
    char *permission; /* "population.lookup" */
    char **fields;
    size_t nfields;
} lt_client_fields_t;

/*
 * One rate limit of a client (clients.<id>.rate_limits, lt_config_ratelimit.c): `rate` requests per `period_s`,
 * with up to `burst` at once, for every operation `pattern` covers ("population.verify", "tax.*", "payments", "*").
 * Each covered operation has its own bucket: "tax.*" limits every tax operation separately, at this rate.
 */
typedef struct lt_client_rate {
    char *pattern;
    long long rate, period_s, burst;
} lt_client_rate_t;

typedef struct lt_client_conf {
    char *id;
    char *issuer; /* the issuing CA's subject, RFC 2253 ("CN=...,O=...,C=VN") */
    lt_client_match_t match;
    char *match_value; /* the CN, one subjectAltName (DNS, URI or e-mail), or 64 lowercase hex digits */
    /* "population.verify" (system.operation), "tax.*" (every operation of a system), "payments" (a module's
     * routes), or "*" (everything). */
    char **allow;
    size_t nallow;
    lt_client_fields_t *fields; /* per permission: the record's fields it may see; absent: all but sensitive ones */
    size_t nfields;
    bool require_procedure_code; /* personal-data requests must carry X-Procedure-Code */
    char *purpose_pattern;       /* X-Purpose must match this POSIX extended regular expression (a dossier id) */
    regex_t purpose_re;
    char **return_url_hosts; /* hosts a payment's return_url may name */
    size_t nreturn_url_hosts;
    lt_client_rate_t *rates; /* its rate limits; none: no limit */
    size_t nrates;
} lt_client_conf_t;

/* Does the client's allow list grant `permission` ("population.verify", "payments")? */
bool lt_client_allows(const lt_client_conf_t *client, const char *permission);
/* The client's field list for a permission, or NULL when it has none (then every non-sensitive field). */
const lt_client_fields_t *lt_client_fields_for(const lt_client_conf_t *client, const char *permission);
/* Is host (exactly, case-insensitively) on the client's return_url allow-list? */
bool lt_client_return_host_allowed(const lt_client_conf_t *client, const char *host);

/* The rate limit that governs `operation` for the client: an exact name before "system.*", before "*"; NULL: none. */
const lt_client_rate_t *lt_client_rate_for(const lt_client_conf_t *client, const char *operation);

#endif
