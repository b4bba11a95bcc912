/*
 * The business registration ICD's code tables and its error mapping, as const
 * data in one place (style.md: code tables are data, not scattered ifs). The
 * tables hold only what icd/business-registration.md defines. A code they do
 * not know maps to JSON null with the source code kept, never to a guess: the
 * ICD says loaiHinh may gain codes later.
 */
#ifndef LT_BUSINESS_CODES_H
#define LT_BUSINESS_CODES_H

#include <stdbool.h>
#include <stddef.h>

#include "lt_codes.h"
#include "lt_error.h"

extern const lt_code_table_t lt_business_types;    /* loaiHinh.ma */
extern const lt_code_table_t lt_business_statuses; /* tinhTrang.ma */

/* Which delay an error's Retry-After takes when the response has no usable header of its own. */
typedef enum {
    LT_BUSINESS_WAIT_NONE,
    LT_BUSINESS_WAIT_RATE,        /* settings rate_retry_after_s */
    LT_BUSINESS_WAIT_UNAVAILABLE, /* settings unavailable_retry_after_s */
} lt_business_wait_t;

/*
 * One row of the lookup's error mapping: an HTTP status, optionally narrowed to
 * the body's maLoi. Rows are tried in order; the first whose status matches
 * (0 = any 5xx) and whose maLoi matches (NULL = any body) wins.
 */
typedef struct lt_business_fault {
    long status;
    const char *maloi;
    lt_error_kind_t kind;
    const char *code; /* our stable code: the maLoi when the ICD defines it */
    bool retryable;
    lt_business_wait_t wait;
    const char *detail;
} lt_business_fault_t;

extern const lt_business_fault_t lt_business_faults[];
extern const size_t lt_business_nfaults;

/* The row for a lookup answer that is not 200 or 401; never NULL (the last row catches everything). */
const lt_business_fault_t *lt_business_fault_find(long status, const char *maloi);

/* RFC 6749 §5.2 error codes of the token endpoint, and what each means for the operator. */
typedef struct lt_business_token_error {
    const char *error; /* RFC 6749 "error" */
    const char *code;  /* our stable code */
    const char *detail;
} lt_business_token_error_t;

extern const lt_business_token_error_t lt_business_token_errors[];
extern const size_t lt_business_ntoken_errors;

/* The row for an RFC 6749 error code, or NULL for one the RFC does not define. */
const lt_business_token_error_t *lt_business_token_error_find(const char *error);

#endif
