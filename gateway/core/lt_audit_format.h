/*
 * The audit trail's record and line format (the ground): pure functions shared by the gateway's trail writer
 * (gateway/net/lt_audit.h) and the `lienthong-audit` program, so that what one writes the other reads.
 *
 * One record is one line of JSON, its members in a fixed order:
 *
 *   {"prev":"<64 hex>","seq":42,"time":"2026-11-22T21:48:12.345+07:00","instance":"gw-1",
 *    "request_id":"...","message_id":"...","client":"portal","officer":"CB-000123",
 *    "purpose":"HS-2025-000042","procedure":null,"operation":"population.lookup",
 *    "subject":"001090012345","released":["id","full_name"],"withheld":[],
 *    "status":200,"cache":"hit","code":null}
 *
 * `prev` is the SHA-256 (lowercase hex) of the previous line's bytes, without its newline; the first line of a
 * trail carries 64 zeros. `seq` counts records from 1 and never restarts: a trail continues across files and
 * restarts. So editing, removing, inserting or reordering a line breaks the chain at the line after it.
 */
#ifndef LT_AUDIT_FORMAT_H
#define LT_AUDIT_FORMAT_H

#include <openssl/types.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LT_AUDIT_HASH_HEX   64 /* SHA-256 in hex */
#define LT_AUDIT_TAG_HEX    32 /* a subject's index tag: HMAC-SHA256 truncated to 16 bytes, in hex */
#define LT_AUDIT_KEY_LEN    32 /* the index key */
#define LT_AUDIT_TIME_LEN   96
#define LT_AUDIT_MAX_FIELDS 128

/* The prev of a trail's very first line. */
extern const char lt_audit_genesis[LT_AUDIT_HASH_HEX + 1];

/* One personal-data operation, as the caller knows it. Strings are borrowed for the call. */
typedef struct lt_audit_record {
    int64_t time_ms;        /* wall-clock milliseconds; 0: now */
    const char *request_id; /* X-Request-Id, given or generated */
    const char *message_id; /* the upstream message id this request's call carries (X-Road), NULL: none */
    const char *client;     /* the listed client's id; "-" for a certificate that matches none */
    const char *officer;    /* X-Officer-Id once it passed its checks; NULL: absent or refused */
    const char *purpose;    /* X-Purpose once accepted; NULL: absent or refused (a refused value is never kept) */
    const char *procedure;  /* X-Procedure-Code once it passed its checks; NULL: absent or refused */
    const char *operation;  /* "population.lookup", "payments.create"; "-" before the gateway knows what was asked */
    const char *subject;    /* the subject's identifier, in full; NULL: none was read */
    const char *const *released; /* top-level fields of the record the caller received */
    size_t nreleased;
    const char *const *withheld; /* fields the record had that the caller may not see */
    size_t nwithheld;
    int status;        /* the HTTP status answered */
    const char *cache; /* "hit", "miss", "stale", "bypass"; NULL: no cache involved ("none") */
    const char *code;  /* the problem code of an error answer; NULL for a success */
} lt_audit_record_t;

/* The record as a compact JSON object without prev and seq (malloc'd, *len). instance: the gateway's id. */
char *lt_audit_format_body(const lt_audit_record_t *rec, const char *instance, size_t *len);

/*
 * The line for `body` (an object's text from lt_audit_format_body) chained after `prev` with number `seq`:
 * `{"prev":"<prev>","seq":<seq>,` then body's members, then "\n". Returns its length, newline included, or 0 when
 * the line does not fit in `cap` bytes (out is always NUL-terminated when cap > 0).
 */
size_t lt_audit_format_line(const char prev[LT_AUDIT_HASH_HEX + 1], uint64_t seq, const char *body, size_t body_len,
                            char *out, size_t cap);
/* The bytes a line needs with lt_audit_format_line (newline and NUL included). */
size_t lt_audit_line_size(size_t body_len);

/* SHA-256 of a line's bytes (len without the newline), as the next line's prev. */
void lt_audit_hash(const char *line, size_t len, char out[LT_AUDIT_HASH_HEX + 1]);

/* The same with a digest context of the caller's, reused from line to line (one thread at a time). */
void lt_audit_hash_with(EVP_MD_CTX *ctx, const char *line, size_t len, char out[LT_AUDIT_HASH_HEX + 1]);

/* Reads a line's prev and seq (len without the newline). -1 when it is not a JSON object with both. */
int lt_audit_line_chain(const char *line, size_t len, char prev[LT_AUDIT_HASH_HEX + 1], uint64_t *seq);

/* The index tag of a subject: HMAC-SHA256(key, subject), first 16 bytes in hex. It names no one without the key. */
void lt_audit_subject_tag(const unsigned char key[LT_AUDIT_KEY_LEN], const char *subject,
                          char out[LT_AUDIT_TAG_HEX + 1]);

/* The same tag with a context keyed once (lt_audit_tagger_new; one thread at a time), reset for each subject. */
EVP_MAC_CTX *lt_audit_tagger_new(const unsigned char key[LT_AUDIT_KEY_LEN]);
void lt_audit_subject_tag_with(EVP_MAC_CTX *tagger, const char *subject, char out[LT_AUDIT_TAG_HEX + 1]);

/* ms as "2026-11-22T21:48:12.345+07:00" (Vietnam time). */
void lt_audit_format_time(int64_t ms, char out[LT_AUDIT_TIME_LEN]);
/*
 * "yyyy-MM-dd", "yyyy-MM-ddTHH:mm[:ss[.fff]]" with "Z", "±HH:MM" or nothing (Vietnam time) as milliseconds since
 * the epoch. A date alone is its first millisecond. -1 when s is none of these.
 */
int lt_audit_parse_time(const char *s, int64_t *ms);

/* The day (days since the epoch) and hour (hours since the epoch) of ms in Vietnam time. */
int64_t lt_audit_local_day(int64_t ms);
int64_t lt_audit_local_hour(int64_t ms);

/* Wall-clock milliseconds. */
int64_t lt_audit_now_ms(void);

/* Trail files are named audit-<time>-<first seq>.jsonl, so that their names sort in the trail's order. */
#define LT_AUDIT_FILE_PREFIX "audit-"
#define LT_AUDIT_FILE_SUFFIX ".jsonl"

/* Whether a directory entry's name is a trail file's. */
bool lt_audit_is_trail_name(const char *name);

#endif
