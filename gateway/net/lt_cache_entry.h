/*
 * One cached answer (floor 3): a canonical record, or a "not found", with the
 * wall-clock times that say when it was fetched, until when it is fresh and
 * until when it may still be served if the national system fails. Wall-clock
 * rather than monotonic, because instances that share Redis compare them.
 * In the store an entry is always sealed (lt_cache_crypto.h); its plain text is
 * one header line and the JSON body.
 */
#ifndef LT_CACHE_ENTRY_H
#define LT_CACHE_ENTRY_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lt_cache_crypto.h"
#include "lt_error.h"

typedef enum {
    LT_CACHE_FOUND = 'F',     /* body: the canonical record, compact JSON, without "source" */
    LT_CACHE_NOT_FOUND = 'N', /* body: {"code", "detail"} of the national system's "no such record" */
} lt_cache_kind_t;

typedef struct lt_cache_entry {
    lt_cache_kind_t kind;
    int64_t fetched_ms, fresh_until_ms, stale_until_ms;
    char *body; /* malloc'd, NUL-terminated */
    size_t body_len;
} lt_cache_entry_t;

/* Wall-clock milliseconds. */
int64_t lt_cache_entry_now_ms(void);

static inline bool lt_cache_entry_is_fresh(const lt_cache_entry_t *e, int64_t now_ms)
{
    return now_ms < e->fresh_until_ms;
}

static inline bool lt_cache_entry_is_usable(const lt_cache_entry_t *e, int64_t now_ms)
{
    return now_ms < e->stale_until_ms;
}

/* Whole seconds since the entry was fetched: the Age header. */
long long lt_cache_entry_age_s(const lt_cache_entry_t *e, int64_t now_ms);

/*
 * A national system's record as an entry (FOUND, fetched at fetched_ms; the caller sets its TTLs): the one
 * serialisation a record gets on its way to the caller, and to the store when it is cached. -1 when the record is
 * not a JSON object, or cannot be encoded.
 */
int lt_cache_entry_from_record(lt_cache_entry_t *e, const json_t *record, int64_t fetched_ms);
/* Records lt_cache_entry_from_record has serialised, process-wide: a miss serialises its record once, and building
 * its answers (one per waiter) never does again. */
uint64_t lt_cache_entry_records_encoded(void);

/*
 * The 200 body: a FOUND entry's record with "source" added as its last member (malloc'd, NUL-terminated, *len).
 * The one place an answer is built from a record; it uses the record's text as stored, without parsing it. NULL
 * when the body is not a JSON object's text.
 */
char *lt_cache_entry_answer(const lt_cache_entry_t *e, const json_t *source, size_t *len);

/*
 * One top-level member of a FOUND entry's record, as its stored text writes it: what a hit copies into its answer
 * instead of parsing the record and serialising it again.
 */
typedef struct lt_cache_member {
    const char *key; /* the key's text between its quotes, escapes as written */
    size_t key_len;
    bool key_plain;   /* no escape in it: the text is the key itself */
    const char *text; /* the whole member, "key":value */
    size_t text_len;
} lt_cache_member_t;

/*
 * Splits a FOUND entry's body into its top-level members, in order, into out (at most max): their number, or -1
 * when the body is not the compact text of an object lt_cache_entry_from_record writes (json_dumps' JSON_COMPACT,
 * no white space) or has more than max members. Values are skipped, not checked: the text is jansson's own, and
 * in the store it is sealed (lt_cache_entry_open refuses any change). A caller of -1 parses the body instead.
 */
int lt_cache_entry_members(const lt_cache_entry_t *e, lt_cache_member_t *out, int max);

/* The "source" member of an answer, as lt_cache_entry_answer_members writes it. */
typedef struct lt_cache_answer_source {
    const char *system, *request_id, *fetched_at, *cache;
    const lt_cache_member_t *const *withheld; /* members left out, named in "withheld" when there are any */
    size_t nwithheld;
} lt_cache_answer_source_t;

/*
 * The 200 body from n members of an entry's record (lt_cache_entry_members), the ones the caller may see, in
 * order, with "source" as the last member: byte for byte what json_dumps(JSON_COMPACT) writes for the record
 * without the other members and with source set (its members in the order above). malloc'd, NUL-terminated,
 * *len; NULL when a source text is not valid UTF-8 (jansson refuses it too).
 */
char *lt_cache_entry_answer_members(const lt_cache_member_t *const *members, size_t n,
                                    const lt_cache_answer_source_t *source, size_t *len);

/* A national system's "no such record" as an entry (NOT_FOUND, fetched at fetched_ms): its problem code and
 * detail, to answer the same 404 again. */
int lt_cache_entry_from_not_found(lt_cache_entry_t *e, const lt_error_t *not_found, int64_t fetched_ms);
/* The 404 a NOT_FOUND entry answers with; -1 (err: LT_ERR_INTERNAL) when its body cannot be read. */
int lt_cache_entry_not_found_error(const lt_cache_entry_t *e, lt_error_t *err);

/* The plain text form (malloc'd). */
char *lt_cache_entry_encode(const lt_cache_entry_t *e, size_t *len);
int lt_cache_entry_decode(const char *text, size_t len, lt_cache_entry_t *e);

int lt_cache_entry_seal(const lt_cache_keys_t *keys, const unsigned char name[LT_CACHE_KEY_LEN],
                        const lt_cache_entry_t *e, unsigned char **sealed, size_t *sealed_len);
/* Fails (LT_ERR_INTERNAL "cache_unreadable") on any tampering or an unknown key; the caller counts it a miss. */
int lt_cache_entry_open(const lt_cache_keys_t *keys, const unsigned char name[LT_CACHE_KEY_LEN],
                        const unsigned char *sealed, size_t sealed_len, lt_cache_entry_t *e, lt_error_t *err);

/* lt_cache_entry_open with a loop's contexts (lt_cache_crypto_loop_t). */
int lt_cache_entry_open_on(lt_cache_crypto_loop_t *loop, const lt_cache_keys_t *keys,
                           const unsigned char name[LT_CACHE_KEY_LEN], const unsigned char *sealed, size_t sealed_len,
                           lt_cache_entry_t *e, lt_error_t *err);

void lt_cache_entry_copy(lt_cache_entry_t *dst, const lt_cache_entry_t *src);
void lt_cache_entry_clear(lt_cache_entry_t *e);

#endif
