/*
 * The strict reading of one HTTP/1.1 request head (floor 4): the one parser of the listeners' requests. What a
 * lenient parser lets through and a front proxy may read differently (two Content-Lengths, "+5",
 * "Content-Length : 5", obs-fold, a NUL that cuts a value short, a missing Host) is each a request-smuggling
 * primitive, so lt_conn reads a request only once this check has passed its head, answers a failed check itself,
 * and then cuts the passed head into its parts (lt_http_head_split). Pure: bytes in, verdict out.
 */
#ifndef LT_HTTP_HEAD_H
#define LT_HTTP_HEAD_H

#include <stdbool.h>
#include <stddef.h>

typedef struct lt_http_head_limits {
    size_t max_request_line; /* bytes of the request line, without its CRLF: 414 past it */
    size_t max_headers;      /* header fields: 431 past it */
    size_t max_head_bytes;   /* the whole head with its blank line: 431 past it */
} lt_http_head_limits_t;

typedef enum {
    LT_HEAD_MORE, /* no complete head yet, and nothing wrong so far */
    LT_HEAD_OK,   /* a complete head of head_len bytes that passed every check */
    LT_HEAD_BAD,  /* refused: status, code and detail say why */
} lt_head_verdict_t;

typedef struct lt_http_head {
    size_t head_len;          /* LT_HEAD_OK: bytes of the head, blank line included */
    long long content_length; /* LT_HEAD_OK: the body's length, 0 without a Content-Length */
    int status;               /* LT_HEAD_BAD: 400, 411, 414 or 431 */
    const char *code;         /* LT_HEAD_BAD: the problem type's last part ("duplicate_content_length") */
    const char *detail;       /* LT_HEAD_BAD: for the problem document; never a byte of the request */
    const char *request_id;   /* X-Request-Id's value in the buffer when one was read, else NULL */
    size_t request_id_len;
    const char *method, *target; /* the request line's, in the buffer, once it was read well; else NULL */
    size_t method_len, target_len;
    size_t nfields; /* LT_HEAD_OK: the head's field lines (what lt_http_head_split needs room for) */
} lt_http_head_t;

/*
 * Where the head ends in buf[0, len): scans only from *scanned (the bytes an earlier call already searched,
 * updated) so that a head arriving byte by byte costs linear time. Returns the head's length with its blank
 * line, 0 when it has not ended yet. A bare LF ends the search too, so that the check refuses it at once.
 */
size_t lt_http_head_end(const char *buf, size_t len, size_t *scanned);

/* Checks buf[0, len), the start of a connection's input. LT_HEAD_MORE until a head is complete, unless the bytes
 * so far already break a limit. */
lt_head_verdict_t lt_http_head_check(const char *buf, size_t len, size_t head_len, const lt_http_head_limits_t *lim,
                                     lt_http_head_t *out);

/* One header field of a split head: both NUL-terminated, the value without its surrounding whitespace. */
typedef struct lt_http_field {
    const char *name, *value;
} lt_http_field_t;

/* A head cut into its parts, pointing into the head's own (writable) copy. */
typedef struct lt_http_head_parts {
    const char *method, *target; /* NUL-terminated */
    int minor_version;           /* HTTP/1.<minor_version> */
    lt_http_field_t *fields;     /* nfields of them, in the order sent */
    size_t nfields;
} lt_http_head_parts_t;

/*
 * Cuts head[0, head_len), a head lt_http_head_check passed (LT_HEAD_OK), into its parts in place: each CRLF, the
 * request line's spaces and each field's colon become NULs. fields has room for the check's nfields. Only a
 * head that passed may be split: nothing here checks again.
 */
void lt_http_head_split(char *head, size_t head_len, lt_http_field_t *fields, lt_http_head_parts_t *out);

/* The first field of that name, case-insensitively; NULL without one. */
const char *lt_http_field_find(const lt_http_field_t *fields, size_t nfields, const char *name);

/* Whether a comma-separated header value (Connection, Expect) names `token`, case-insensitively. */
bool lt_http_list_has(const char *value, const char *token);

#endif
