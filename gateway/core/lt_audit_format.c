/* The audit trail's record and line format, its hash chain and its index tags (lt_audit_format.h). */
#include "lt_audit_format.h"

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/core_names.h>
#include <openssl/params.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lt_date.h"
#include "lt_json_out.h"

const char lt_audit_genesis[LT_AUDIT_HASH_HEX + 1] = "0000000000000000000000000000000000000000000000000000000000000000";

/* A string member: its value, or null when absent or not UTF-8 (json_string() refuses such text: the value is
 * recorded as absent rather than lose its record). */
static void member(lt_buf_t *o, const char *name, const char *value)
{
    lt_buf_adds(o, name);
    lt_json_out_string_or_null(o, value);
}

/* Only UTF-8 items: any other is left out, as json_string() refuses it. */
static void string_list(lt_buf_t *o, const char *name, const char *const *list, size_t n)
{
    lt_buf_adds(o, name);
    lt_buf_add(o, "[", 1);
    size_t empty = o->len;
    for (size_t i = 0; i < n && i < LT_AUDIT_MAX_FIELDS; i++) {
        if (list[i] == NULL)
            continue;
        size_t before = o->len;
        if (before != empty)
            lt_buf_add(o, ",", 1);
        if (lt_json_out_string(o, list[i]) != 0) { /* not UTF-8: its comma goes too */
            o->len = before;
            o->data[before] = '\0';
        }
    }
    lt_buf_add(o, "]", 1);
}

/* Written member by member, as json_dumps(JSON_COMPACT) writes the object of these members in this order. */
char *lt_audit_format_body(const lt_audit_record_t *rec, const char *instance, size_t *len)
{
    char at[LT_AUDIT_TIME_LEN];
    lt_audit_format_time(rec->time_ms != 0 ? rec->time_ms : lt_audit_now_ms(), at);
    lt_buf_t o;
    lt_buf_init(&o, 512);
    member(&o, "{\"time\":", at);
    member(&o, ",\"instance\":", instance);
    member(&o, ",\"request_id\":", rec->request_id);
    member(&o, ",\"message_id\":", rec->message_id);
    member(&o, ",\"client\":", rec->client ? rec->client : "-");
    member(&o, ",\"officer\":", rec->officer);
    member(&o, ",\"purpose\":", rec->purpose);
    member(&o, ",\"procedure\":", rec->procedure);
    member(&o, ",\"operation\":", rec->operation ? rec->operation : "-");
    member(&o, ",\"subject\":", rec->subject);
    string_list(&o, ",\"released\":", rec->released, rec->nreleased);
    string_list(&o, ",\"withheld\":", rec->withheld, rec->nwithheld);
    lt_buf_adds(&o, ",\"status\":");
    lt_json_out_int(&o, rec->status);
    member(&o, ",\"cache\":", rec->cache ? rec->cache : "none");
    member(&o, ",\"code\":", rec->code && rec->code[0] ? rec->code : NULL);
    lt_buf_add(&o, "}", 1);
    *len = o.len;
    return lt_buf_take(&o);
}

#define LINE_HEAD_FMT "{\"prev\":\"%s\",\"seq\":%llu,"

size_t lt_audit_line_size(size_t body_len)
{
    /* head: {"prev":"<64>","seq":<up to 20 digits>, = 9 + 64 + 8 + 20 + 1 */
    return body_len + 9 + LT_AUDIT_HASH_HEX + 8 + 20 + 1 + 2;
}

size_t lt_audit_format_line(const char prev[LT_AUDIT_HASH_HEX + 1], uint64_t seq, const char *body, size_t body_len,
                            char *out, size_t cap)
{
    if (cap == 0)
        return 0;
    out[0] = '\0';
    if (body_len < 2 || body[0] != '{' || body[body_len - 1] != '}')
        return 0;
    int head = snprintf(out, cap, LINE_HEAD_FMT, prev, (unsigned long long)seq);
    /* body's members follow the head's comma: everything after its '{' */
    size_t rest = body_len - 1;
    if (head < 0 || (size_t)head + rest + 2 > cap)
        return 0;
    if (rest == 1) /* "{}": no members, so no comma either */
        out[--head] = '\0';
    memcpy(out + head, body + 1, rest);
    out[head + rest] = '\n';
    out[head + rest + 1] = '\0';
    return (size_t)head + rest + 1;
}

static void to_hex(const unsigned char *bytes, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[bytes[i] >> 4];
        out[2 * i + 1] = digits[bytes[i] & 15];
    }
    out[2 * n] = '\0';
}

/* Fetched once: OpenSSL 3 would otherwise look them up (under a lock) for every line and every tag. */
static EVP_MD *sha256_md;
static EVP_MAC *hmac_mac;
static pthread_once_t algs_once = PTHREAD_ONCE_INIT;

static void fetch_algs(void)
{
    sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
    hmac_mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    if (sha256_md == NULL || hmac_mac == NULL) {
        fprintf(stderr, "lienthong: OpenSSL lacks SHA-256 or HMAC\n");
        abort();
    }
}

static void algs(void)
{
    pthread_once(&algs_once, fetch_algs);
}

void lt_audit_hash(const char *line, size_t len, char out[LT_AUDIT_HASH_HEX + 1])
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    lt_audit_hash_with(ctx, line, len, out);
    EVP_MD_CTX_free(ctx);
}

void lt_audit_hash_with(EVP_MD_CTX *ctx, const char *line, size_t len, char out[LT_AUDIT_HASH_HEX + 1])
{
    algs();
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    if (ctx == NULL || !EVP_DigestInit_ex2(ctx, sha256_md, NULL) || !EVP_DigestUpdate(ctx, line, len) ||
        !EVP_DigestFinal_ex(ctx, md, &n))
        abort();
    to_hex(md, 32, out);
}

static bool is_hash_hex(const char *s)
{
    if (s == NULL || strlen(s) != LT_AUDIT_HASH_HEX)
        return false;
    for (const char *p = s; *p; p++)
        if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
            return false;
    return true;
}

int lt_audit_line_chain(const char *line, size_t len, char prev[LT_AUDIT_HASH_HEX + 1], uint64_t *seq)
{
    json_t *o = json_loadb(line, len, JSON_REJECT_DUPLICATES, NULL);
    const json_t *p = json_object_get(o, "prev"), *s = json_object_get(o, "seq");
    int rc = -1;
    if (json_is_object(o) && is_hash_hex(json_string_value(p)) && json_is_integer(s) && json_integer_value(s) > 0) {
        memcpy(prev, json_string_value(p), LT_AUDIT_HASH_HEX + 1);
        *seq = (uint64_t)json_integer_value(s);
        rc = 0;
    }
    json_decref(o);
    return rc;
}

EVP_MAC_CTX *lt_audit_tagger_new(const unsigned char key[LT_AUDIT_KEY_LEN])
{
    algs();
    char digest[] = "SHA256";
    OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0), OSSL_PARAM_END};
    EVP_MAC_CTX *ctx = EVP_MAC_CTX_new(hmac_mac);
    if (ctx == NULL || !EVP_MAC_init(ctx, key, LT_AUDIT_KEY_LEN, params))
        abort();
    return ctx;
}

void lt_audit_subject_tag_with(EVP_MAC_CTX *tagger, const char *subject, char out[LT_AUDIT_TAG_HEX + 1])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    size_t n = 0;
    /* Without a key, EVP_MAC_init starts a new message under the key the context holds. */
    if (!EVP_MAC_init(tagger, NULL, 0, NULL) ||
        !EVP_MAC_update(tagger, (const unsigned char *)subject, strlen(subject)) ||
        !EVP_MAC_final(tagger, md, &n, sizeof(md)))
        abort();
    to_hex(md, LT_AUDIT_TAG_HEX / 2, out);
}

void lt_audit_subject_tag(const unsigned char key[LT_AUDIT_KEY_LEN], const char *subject,
                          char out[LT_AUDIT_TAG_HEX + 1])
{
    EVP_MAC_CTX *tagger = lt_audit_tagger_new(key);
    lt_audit_subject_tag_with(tagger, subject, out);
    EVP_MAC_CTX_free(tagger);
}

void lt_audit_format_time(int64_t ms, char out[LT_AUDIT_TIME_LEN])
{
    size_t n = lt_date_format_seconds((time_t)(ms / 1000) + LT_DATE_VN_OFFSET_S, out);
    int milli = (int)(ms % 1000);
    char *p = out + n;
    *p++ = '.';
    for (int i = 2; i >= 0; i--, milli /= 10)
        p[i] = (char)('0' + milli % 10);
    memcpy(p + 3, "+07:00", sizeof("+07:00"));
}

/* "Z", "+HH:MM", "-HH:MM" or "" (Vietnam time) as seconds east of UTC; -1 for anything else. */
static int parse_offset(const char *s, long *east_s)
{
    int hh, mm, n = 0;
    if (*s == '\0') {
        *east_s = LT_DATE_VN_OFFSET_S;
        return 0;
    }
    if (strcmp(s, "Z") == 0) {
        *east_s = 0;
        return 0;
    }
    if ((s[0] != '+' && s[0] != '-') || sscanf(s + 1, "%2d:%2d%n", &hh, &mm, &n) != 2 || n != 5 || s[6] != '\0' ||
        hh > 14 || mm > 59)
        return -1;
    *east_s = (s[0] == '-' ? -1 : 1) * (hh * 3600L + mm * 60L);
    return 0;
}

int lt_audit_parse_time(const char *s, int64_t *ms)
{
    int y, mo, d, h = 0, mi = 0, sec = 0, frac = 0, n = 0;
    if (sscanf(s, "%4d-%2d-%2d%n", &y, &mo, &d, &n) != 3 || n != 10 || !lt_date_is_valid(y, mo, d))
        return -1;
    const char *p = s + n;
    if (*p == 'T') {
        int m = 0;
        if (sscanf(p, "T%2d:%2d%n", &h, &mi, &m) != 2 || m != 6)
            return -1;
        p += m;
        if (*p == ':') {
            if (sscanf(p, ":%2d%n", &sec, &m) != 1 || m != 3)
                return -1;
            p += m;
            if (*p == '.') {
                int digits = 0;
                for (p++; *p >= '0' && *p <= '9'; p++, digits++)
                    if (digits < 3)
                        frac = frac * 10 + (*p - '0');
                if (digits == 0)
                    return -1;
                for (; digits < 3; digits++)
                    frac *= 10;
            }
        }
        if (h > 23 || mi > 59 || sec > 60)
            return -1;
    }
    long east;
    if (parse_offset(p, &east) != 0)
        return -1;
    struct tm tm = {.tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d, .tm_hour = h, .tm_min = mi, .tm_sec = sec};
    *ms = ((int64_t)timegm(&tm) - east) * 1000 + frac;
    return 0;
}

int64_t lt_audit_local_day(int64_t ms)
{
    int64_t s = ms / 1000 + LT_DATE_VN_OFFSET_S;
    return s >= 0 ? s / 86400 : -((-s + 86399) / 86400);
}

int64_t lt_audit_local_hour(int64_t ms)
{
    int64_t s = ms / 1000 + LT_DATE_VN_OFFSET_S;
    return s >= 0 ? s / 3600 : -((-s + 3599) / 3600);
}

int64_t lt_audit_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

bool lt_audit_is_trail_name(const char *name)
{
    size_t n = strlen(name), p = strlen(LT_AUDIT_FILE_PREFIX), s = strlen(LT_AUDIT_FILE_SUFFIX);
    return n > p + s && strncmp(name, LT_AUDIT_FILE_PREFIX, p) == 0 && strcmp(name + n - s, LT_AUDIT_FILE_SUFFIX) == 0;
}
