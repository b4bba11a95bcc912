/*
 * sim_insurance: the insured person lookup of Vietnam Social Security, as the
 * social insurance ICD describes it and nothing more.
 *
 * Every request is authenticated the way the ICD says, with this file's own
 * reading of the canonical string (it shares no code with the gateway):
 * a known X-VSS-Client, a signature over the six canonical parts, a timestamp
 * within 300 s of the server clock, and a nonce not seen in the last
 * 10 minutes. The server clock can be skewed over the control API, so tests
 * can provoke AUTH_EXPIRED without touching the host's clock.
 *
 * Insured persons are derived from sim_people: the same personal
 * identification number and birth date, the name in upper case, and a
 * 10-digit BHXH number that is a bijection of the person's index, so a lookup
 * by either number needs no extra index.
 */
#include "sim_insurance.h"
#include "sim_text.h"

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <utf8proc.h>

#define SIM_INS_PATH        "/api/v1/nguoi-tham-gia"
#define SIM_INS_SECRET_FILE "insurance-hmac.secret"
#define SIM_INS_WINDOW_S    300 /* ICD: AUTH_EXPIRED beyond 300 s of the server clock */
#define SIM_INS_NONCE_TTL_S 600 /* ICD: AUTH_REPLAY within 10 minutes */
#define SIM_INS_NONCE_MIN   16
#define SIM_INS_NONCE_MAX   64
#define SIM_INS_SECRET_MAX  1024
#define SIM_INS_BUCKETS     4096
#define SIM_INS_SWEEP_EVERY 4096
#define SIM_INS_RETRY_AFTER "20" /* seconds, on RATE_LIMITED */
#define SIM_INS_MAX_SKEW_S  (10LL * 366 * 86400)
#define SIM_INS_MAX_PARAMS  16
#define SIM_INS_SAMPLE_MAX  1000
#define SIM_INS_NOW_YEAR    2025 /* the reference year of sim_people */

/*
 * BHXH number = 2-digit province of the personal id + an 8-digit sequence that
 * is a bijection of the person's index: affine, digits reversed, affine again,
 * all mod 10^8, so evenly spaced indices do not give numbers sharing a tail.
 */
#define SIM_INS_SEQ_MOD  100000000ULL
#define SIM_INS_SEQ_MUL1 48271ULL /* odd and not a multiple of 5: invertible mod 10^8 */
#define SIM_INS_SEQ_ADD1 13579246ULL
#define SIM_INS_SEQ_MUL2 69621ULL
#define SIM_INS_SEQ_ADD2 2468013ULL

#define SIM_COUNT(a) (sizeof(a) / sizeof((a)[0]))

static const char *const sim_ins_ops[] = {"nguoi-tham-gia", NULL};
static const char *const sim_ins_faults[] = {"NOT_FOUND",   "INVALID", "RATE_LIMITED", "AUTH_SIGNATURE", "AUTH_EXPIRED",
                                             "AUTH_REPLAY", "http500", "garbage",      "other_person",   "nfd",
                                             NULL};

/* ---- the insured persons ---- */

typedef struct sim_ins_unit {
    const char *code;
    const char *name;
} sim_ins_unit_t;

/* Employers (donVi): invented, with codes in the ICD's sample shape. */
static const sim_ins_unit_t sim_ins_employers[] = {
    {"TA0001A", "Công ty cổ phần phần mềm Hà Thành"},    {"TB0123C", "Công ty TNHH Thương mại Dịch vụ Sao Việt"},
    {"YN0042A", "Trường Trung học phổ thông Nguyễn Du"}, {"HB0007D", "Bệnh viện Đa khoa Hòa Bình"},
    {"QA0311B", "Công ty TNHH May mặc Đồng Tiến"},       {"TD0450A", "Ủy ban nhân dân phường Bến Nghé"},
};

/* Kinds of initial care facility; the facility is "<kind> tỉnh|thành phố <province>". */
static const char *const sim_ins_facility_kinds[] = {"Bệnh viện Đa khoa", "Trung tâm Y tế",
                                                     "Bệnh viện Y học cổ truyền"};

/* ICD bhxh.trangThai. */
enum { SIM_INS_CONTRIBUTING, SIM_INS_SUSPENDED, SIM_INS_STOPPED, SIM_INS_BENEFITS };
static const char *const sim_ins_statuses[] = {"DANG_THAM_GIA", "TAM_DUNG", "DA_NGHI", "HUONG_CHE_DO"};

typedef struct sim_insured {
    const sim_person_t *p;
    char number[11];     /* maSoBhxh */
    char full_name[256]; /* hoTen: upper case, NFC */
    char birth[11];      /* dd/MM/yyyy or yyyy */
    const char *sex;     /* "Nam" or "Nữ" */
    int has_card;
    char card[16];
    char card_from[11], card_to[11];
    char facility_code[6];
    char facility_name[192];
    int benefit;
    int status;
    const sim_ins_unit_t *employer; /* NULL: a voluntary participant */
    int years, months;
} sim_insured_t;

/* splitmix64, private to this service so the draws below never shift the population's. */
static uint64_t sim_ins_next(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static unsigned sim_ins_below(uint64_t *s, unsigned n)
{
    return (unsigned)(sim_ins_next(s) % n);
}

static int sim_ins_digits(const char *s, size_t n)
{
    return strlen(s) == n && strspn(s, "0123456789") == n;
}

/* The ICD README's rule for a 12-digit personal identification number. */
static int sim_ins_valid_personal_id(const char *s)
{
    if (!sim_ins_digits(s, 12))
        return 0;
    int province = (s[0] - '0') * 100 + (s[1] - '0') * 10 + (s[2] - '0');
    return province >= 1 && province <= 96 && s[3] <= '3';
}

/* x^-1 mod m by the extended Euclidean algorithm (x and m coprime). */
static uint64_t sim_ins_inverse(uint64_t x, uint64_t m)
{
    int64_t t = 0, nt = 1, r = (int64_t)m, nr = (int64_t)x;
    while (nr != 0) {
        int64_t q = r / nr, tmp = t - q * nt;
        t = nt;
        nt = tmp;
        tmp = r - q * nr;
        r = nr;
        nr = tmp;
    }
    return (uint64_t)(t < 0 ? t + (int64_t)m : t);
}

static uint64_t sim_ins_reverse8(uint64_t x)
{
    uint64_t r = 0;
    for (int i = 0; i < 8; i++, x /= 10)
        r = r * 10 + x % 10;
    return r;
}

static uint64_t sim_ins_affine(uint64_t x, uint64_t mul, uint64_t add)
{
    return (x * mul + add) % SIM_INS_SEQ_MOD;
}

static uint64_t sim_ins_affine_inverse(uint64_t y, uint64_t mul, uint64_t add)
{
    return (y + SIM_INS_SEQ_MOD - add) % SIM_INS_SEQ_MOD * sim_ins_inverse(mul, SIM_INS_SEQ_MOD) % SIM_INS_SEQ_MOD;
}

static uint64_t sim_ins_scramble(uint64_t index)
{
    uint64_t x = sim_ins_affine(index, SIM_INS_SEQ_MUL1, SIM_INS_SEQ_ADD1);
    return sim_ins_affine(sim_ins_reverse8(x), SIM_INS_SEQ_MUL2, SIM_INS_SEQ_ADD2);
}

static uint64_t sim_ins_unscramble(uint64_t seq)
{
    uint64_t x = sim_ins_reverse8(sim_ins_affine_inverse(seq, SIM_INS_SEQ_MUL2, SIM_INS_SEQ_ADD2));
    return sim_ins_affine_inverse(x, SIM_INS_SEQ_MUL1, SIM_INS_SEQ_ADD1);
}

static void sim_ins_number_of(const sim_person_t *p, size_t index, char out[11])
{
    int province = (p->id[0] - '0') * 100 + (p->id[1] - '0') * 10 + (p->id[2] - '0');
    uint64_t seq = sim_ins_scramble(index);
    /* The moduli only tell the compiler the ranges the arithmetic already guarantees. */
    snprintf(out, 11, "%02u%08u", (unsigned)province % 100u, (unsigned)(seq % SIM_INS_SEQ_MOD));
}

/* The person index behind a BHXH number, or -1 when no one holds it. */
static long long sim_ins_index_of_number(const sim_people_t *people, const char *number)
{
    if (!sim_ins_digits(number, 10))
        return -1;
    uint64_t index = sim_ins_unscramble(strtoull(number + 2, NULL, 10));
    const sim_person_t *p = sim_people_at(people, (size_t)index);
    char check[11];
    if (p == NULL)
        return -1;
    sim_ins_number_of(p, (size_t)index, check);
    return strcmp(check, number) == 0 ? (long long)index : -1;
}

/* s in upper case, composed as NFC; Vietnamese letters have simple one-to-one upper cases. */
static void sim_ins_upper(const char *s, char *out, size_t len)
{
    utf8proc_uint8_t buf[1024];
    utf8proc_ssize_t used = 0;
    const utf8proc_uint8_t *p = (const utf8proc_uint8_t *)s;
    utf8proc_ssize_t left = (utf8proc_ssize_t)strlen(s);
    while (left > 0 && used + 4 < (utf8proc_ssize_t)sizeof(buf) - 1) {
        utf8proc_int32_t cp;
        utf8proc_ssize_t n = utf8proc_iterate(p, left, &cp);
        if (n <= 0)
            break;
        used += utf8proc_encode_char(utf8proc_toupper(cp), buf + used);
        p += n;
        left -= n;
    }
    buf[used] = '\0';
    utf8proc_uint8_t *nfc = utf8proc_NFC(buf);
    const char *src = nfc ? (const char *)nfc : (const char *)buf;
    size_t n = strlen(src);
    if (n >= len) /* cut at a character boundary: a name never gets this long, but a cut must stay UTF-8 */
        for (n = len - 1; n > 0 && ((unsigned char)src[n] & 0xC0) == 0x80; n--)
            ;
    memcpy(out, src, n);
    out[n] = '\0';
    free(nfc);
}

static int sim_ins_days_in_month(int y, int m)
{
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap ? 29 : days[m - 1];
}

/* A year's card from the first of a month of 2025 to the day before that date in 2026. */
static void sim_ins_card_dates(uint64_t *s, sim_insured_t *in)
{
    int m = 1 + (int)sim_ins_below(s, 12);
    snprintf(in->card_from, sizeof in->card_from, "01/%02u/2025", (unsigned)m % 100u);
    if (m == 1)
        snprintf(in->card_to, sizeof in->card_to, "31/12/2025");
    else
        snprintf(in->card_to, sizeof in->card_to, "%02u/%02u/2026", (unsigned)sim_ins_days_in_month(2026, m - 1) % 100u,
                 (unsigned)(m - 1) % 100u);
}

/* Card group by who pays: TE children under 6, HT pensioners, DN employees, HS pupils, GD households. */
static void sim_ins_card(uint64_t *s, sim_insured_t *in, int age)
{
    const sim_person_t *p = in->p;
    const char *group = age < 6                          ? "TE"
                        : in->status == SIM_INS_BENEFITS ? "HT"
                        : in->employer != NULL           ? "DN"
                        : age < 18                       ? "HS"
                                                         : "GD";
    in->benefit = age < 6 ? 1 : in->status == SIM_INS_BENEFITS ? 2 : 4;
    sim_address_view_t v;
    sim_address_view(&p->permanent, &v); /* always the post-2025 shape */
    snprintf(in->card, sizeof in->card, "%s%d%s%s", group, in->benefit, v.province_code, in->number);
    sim_ins_card_dates(s, in);
    unsigned kind = sim_ins_below(s, SIM_COUNT(sim_ins_facility_kinds));
    const sim_province_t *prov = sim_places_new(p->permanent.province);
    snprintf(in->facility_code, sizeof in->facility_code, "%s%03u", v.province_code, kind + 1);
    snprintf(in->facility_name, sizeof in->facility_name, "%s %s %s", sim_ins_facility_kinds[kind],
             prov->is_city ? "thành phố" : "tỉnh", prov->name);
}

static int sim_ins_pick_status(uint64_t *s, int age)
{
    unsigned r = sim_ins_below(s, 100);
    if (age >= 60)
        return r < 75 ? SIM_INS_BENEFITS : r < 85 ? SIM_INS_STOPPED : SIM_INS_CONTRIBUTING;
    return r < 62 ? SIM_INS_CONTRIBUTING : r < 74 ? SIM_INS_SUSPENDED : r < 90 ? SIM_INS_STOPPED : SIM_INS_BENEFITS;
}

/* Everything the service knows about person `index`: a pure function of the person. */
static void sim_ins_derive(const sim_people_t *people, size_t index, sim_insured_t *in)
{
    memset(in, 0, sizeof *in);
    const sim_person_t *p = sim_people_at(people, index);
    in->p = p;
    uint64_t s = 0x5EED1A5u;
    for (int i = 0; i < 12; i++)
        s = s * 10 + (uint64_t)(p->id[i] - '0');
    sim_ins_next(&s);
    sim_ins_number_of(p, index, in->number);
    char name[256];
    sim_person_full_name(p, name, sizeof name);
    sim_ins_upper(name, in->full_name, sizeof in->full_name);
    if (sim_person_year_only(p))
        snprintf(in->birth, sizeof in->birth, "%04u", p->birth.year % 10000u);
    else
        snprintf(in->birth, sizeof in->birth, "%02u/%02u/%04u", p->birth.day % 100u, p->birth.month % 100u,
                 p->birth.year % 10000u);
    /* The ICD knows only Nam and Nữ: the sex the identifier encodes (digit 4 even: male). */
    in->sex = (p->id[3] - '0') % 2 ? "Nữ" : "Nam";
    int age = SIM_INS_NOW_YEAR - p->birth.year;
    in->status = sim_ins_pick_status(&s, age);
    /* Pensioners and people who stopped have no current employer; a quarter of the others are voluntary. */
    int voluntary = sim_ins_below(&s, 100) < 25;
    if (in->status != SIM_INS_BENEFITS && in->status != SIM_INS_STOPPED && !voluntary)
        in->employer = &sim_ins_employers[sim_ins_below(&s, SIM_COUNT(sim_ins_employers))];
    int max_years = age - 18 < 0 ? 0 : age - 18 > 45 ? 45 : age - 18;
    in->years = (int)sim_ins_below(&s, (unsigned)max_years + 1);
    in->months = (int)sim_ins_below(&s, 12);
    in->has_card = sim_ins_below(&s, 100) >= 18;
    if (in->has_card)
        sim_ins_card(&s, in, age);
}

static size_t sim_ins_index_of(const sim_people_t *people, const sim_person_t *p)
{
    return (size_t)(p - sim_people_at(people, 0));
}

/* ---- service state ---- */

typedef struct sim_ins_nonce {
    struct sim_ins_nonce *next;
    long long seen; /* server clock */
    char text[SIM_INS_NONCE_MAX + 1];
} sim_ins_nonce_t;

typedef struct sim_ins_last {
    int have;
    char client[80], timestamp[32], nonce[80], signature[80];
    char officer_id[80], purpose[300], request_id[160], query[300];
} sim_ins_last_t;

typedef struct sim_ins_state {
    const sim_people_t *people;
    unsigned char secret[SIM_INS_SECRET_MAX];
    size_t secret_len;
    long long skew_s;
    sim_ins_nonce_t *buckets[SIM_INS_BUCKETS];
    size_t nonces;
    unsigned inserts;
    sim_ins_last_t last;
} sim_ins_state_t;

static long long sim_ins_now(const sim_ins_state_t *st)
{
    return (long long)time(NULL) + st->skew_s;
}

static size_t sim_ins_bucket(const char *nonce)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (const unsigned char *p = (const unsigned char *)nonce; *p; p++)
        h = (h ^ *p) * 16777619u;
    return h % SIM_INS_BUCKETS;
}

/* Drops the nonces of one bucket older than the replay window. */
static void sim_ins_expire(sim_ins_state_t *st, size_t b, long long now)
{
    for (sim_ins_nonce_t **pp = &st->buckets[b]; *pp;) {
        sim_ins_nonce_t *e = *pp;
        if (now - e->seen > SIM_INS_NONCE_TTL_S) {
            *pp = e->next;
            free(e);
            st->nonces--;
        } else {
            pp = &e->next;
        }
    }
}

static int sim_ins_nonce_seen(sim_ins_state_t *st, const char *nonce, long long now)
{
    size_t b = sim_ins_bucket(nonce);
    sim_ins_expire(st, b, now);
    for (const sim_ins_nonce_t *e = st->buckets[b]; e; e = e->next)
        if (strcmp(e->text, nonce) == 0)
            return 1;
    return 0;
}

static void sim_ins_nonce_add(sim_ins_state_t *st, const char *nonce, long long now)
{
    sim_ins_nonce_t *e = calloc(1, sizeof *e);
    if (e == NULL)
        abort(); /* a test stand-in has no better answer (see sim_buf.h) */
    snprintf(e->text, sizeof e->text, "%s", nonce);
    e->seen = now;
    size_t b = sim_ins_bucket(nonce);
    e->next = st->buckets[b];
    st->buckets[b] = e;
    st->nonces++;
    /* Every so often, sweep all buckets, so memory stays bounded by the window, not by the run. */
    if (++st->inserts % SIM_INS_SWEEP_EVERY == 0)
        for (size_t i = 0; i < SIM_INS_BUCKETS; i++)
            sim_ins_expire(st, i, now);
}

static void sim_ins_forget_nonces(sim_ins_state_t *st)
{
    for (size_t i = 0; i < SIM_INS_BUCKETS; i++) {
        while (st->buckets[i]) {
            sim_ins_nonce_t *e = st->buckets[i];
            st->buckets[i] = e->next;
            free(e);
        }
    }
    st->nonces = 0;
}

/* The shared secret is the file's text without surrounding whitespace, as issued (not the bytes it may encode). */
static int sim_ins_load_secret(sim_ins_state_t *st, const char *certs_dir)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", certs_dir, SIM_INS_SECRET_FILE);
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        fprintf(stderr, "lienthong-sim: insurance: cannot open the HMAC secret %s\n", path);
        return -1;
    }
    unsigned char buf[SIM_INS_SECRET_MAX + 64];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    size_t start = 0;
    while (start < n && (buf[start] == ' ' || buf[start] == '\t' || buf[start] == '\r' || buf[start] == '\n'))
        start++;
    while (n > start && (buf[n - 1] == ' ' || buf[n - 1] == '\t' || buf[n - 1] == '\r' || buf[n - 1] == '\n'))
        n--;
    if (n - start == 0 || n - start > SIM_INS_SECRET_MAX) {
        fprintf(stderr, "lienthong-sim: insurance: %s must hold one secret of 1-%d bytes\n", path, SIM_INS_SECRET_MAX);
        return -1;
    }
    memcpy(st->secret, buf + start, n - start);
    st->secret_len = n - start;
    OPENSSL_cleanse(buf, sizeof buf);
    return 0;
}

static const char *sim_ins_check_nfc(void)
{
    for (size_t i = 0; i < SIM_COUNT(sim_ins_employers); i++)
        if (!sim_text_is_nfc(sim_ins_employers[i].name))
            return sim_ins_employers[i].name;
    for (size_t i = 0; i < SIM_COUNT(sim_ins_facility_kinds); i++)
        if (!sim_text_is_nfc(sim_ins_facility_kinds[i]))
            return sim_ins_facility_kinds[i];
    return NULL;
}

static void *sim_ins_state_new(const sim_people_t *people, const char *certs_dir)
{
    const char *bad = sim_ins_check_nfc();
    if (bad != NULL) {
        fprintf(stderr, "lienthong-sim: insurance: internal table entry is not NFC: %s\n", bad);
        return NULL;
    }
    if (certs_dir == NULL) {
        fprintf(stderr, "lienthong-sim: insurance: needs --certs-dir: the HMAC secret is DIR/%s\n",
                SIM_INS_SECRET_FILE);
        return NULL;
    }
    sim_ins_state_t *st = calloc(1, sizeof *st);
    if (st == NULL)
        return NULL;
    st->people = people;
    if (sim_ins_load_secret(st, certs_dir) < 0) {
        free(st);
        return NULL;
    }
    return st;
}

static void sim_ins_state_reset(void *state)
{
    sim_ins_state_t *st = state;
    st->skew_s = 0;
    sim_ins_forget_nonces(st);
    memset(&st->last, 0, sizeof st->last);
}

static void sim_ins_state_free(void *state)
{
    sim_ins_state_t *st = state;
    if (st == NULL)
        return;
    sim_ins_forget_nonces(st);
    OPENSSL_cleanse(st->secret, sizeof st->secret);
    free(st);
}

/* ---- the query: RFC 3986 percent-decoding and encoding ---- */

typedef struct sim_ins_param {
    char *name;    /* decoded */
    char *value;   /* decoded */
    char *encoded; /* value re-encoded for the canonical string */
} sim_ins_param_t;

typedef struct sim_ins_query {
    sim_ins_param_t p[SIM_INS_MAX_PARAMS];
    size_t n;
} sim_ins_query_t;

static int sim_ins_hex(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Decodes s[0..len) into a new string; NULL for a broken escape or an encoded NUL. '+' is a plus (RFC 3986). */
static char *sim_ins_decode(const char *s, size_t len)
{
    char *out = malloc(len + 1), *w = out;
    if (out == NULL)
        abort();
    for (size_t i = 0; i < len; i++) {
        if (s[i] != '%') {
            *w++ = s[i];
            continue;
        }
        int hi = i + 2 < len ? sim_ins_hex(s[i + 1]) : -1;
        int lo = i + 2 < len ? sim_ins_hex(s[i + 2]) : -1;
        if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
            free(out);
            return NULL;
        }
        *w++ = (char)(hi * 16 + lo);
        i += 2;
    }
    *w = '\0';
    return out;
}

static char *sim_ins_encode(const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    char *out = malloc(strlen(s) * 3 + 1), *w = out;
    if (out == NULL)
        abort();
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        int unreserved = (*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
                         *p == '-' || *p == '.' || *p == '_' || *p == '~';
        if (unreserved) {
            *w++ = (char)*p;
        } else {
            *w++ = '%';
            *w++ = hex[*p >> 4];
            *w++ = hex[*p & 15];
        }
    }
    *w = '\0';
    return out;
}

static void sim_ins_query_free(sim_ins_query_t *q)
{
    for (size_t i = 0; i < q->n; i++) {
        free(q->p[i].name);
        free(q->p[i].value);
        free(q->p[i].encoded);
    }
    q->n = 0;
}

/* Splits the raw query on '&' and '='. -1 for a broken escape or too many parameters. */
static int sim_ins_parse_query(const char *raw, sim_ins_query_t *q)
{
    memset(q, 0, sizeof *q);
    if (raw == NULL || *raw == '\0')
        return 0;
    for (const char *p = raw;;) {
        const char *amp = strchr(p, '&');
        size_t len = amp ? (size_t)(amp - p) : strlen(p);
        if (len > 0) {
            if (q->n == SIM_INS_MAX_PARAMS)
                return -1;
            const char *eq = memchr(p, '=', len);
            size_t nlen = eq ? (size_t)(eq - p) : len;
            sim_ins_param_t *e = &q->p[q->n];
            e->name = sim_ins_decode(p, nlen);
            e->value = eq ? sim_ins_decode(eq + 1, len - nlen - 1) : strdup("");
            if (e->name == NULL || e->value == NULL) {
                free(e->name);
                free(e->value);
                return -1;
            }
            e->encoded = sim_ins_encode(e->value);
            q->n++;
        }
        if (amp == NULL)
            return 0;
        p = amp + 1;
    }
}

static int sim_ins_param_cmp(const void *a, const void *b)
{
    const sim_ins_param_t *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c ? c : strcmp(x->encoded, y->encoded);
}

/* ---- authentication ---- */

static const char *sim_ins_header(const sim_request_t *req, const char *name)
{
    const char *v = req->header(req, name);
    return v && *v ? v : NULL;
}

/* The ICD's six parts joined by LF, from the request as received. */
static void sim_ins_canonical(const sim_request_t *req, sim_ins_query_t *q, const char *ts, const char *nonce,
                              sim_buf_t *out)
{
    sim_buf_printf(out, "%s\n%s\n", req->method, req->path);
    qsort(q->p, q->n, sizeof q->p[0], sim_ins_param_cmp);
    for (size_t i = 0; i < q->n; i++)
        sim_buf_printf(out, "%s%s=%s", i ? "&" : "", q->p[i].name, q->p[i].encoded);
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int md_len = 0;
    EVP_Digest(req->body, req->body_len, md, &md_len, EVP_sha256(), NULL);
    sim_buf_printf(out, "\n%s\n%s\n", ts, nonce);
    for (unsigned int i = 0; i < md_len; i++)
        sim_buf_printf(out, "%02x", md[i]);
}

static int sim_ins_signature_ok(const sim_ins_state_t *st, const sim_buf_t *canonical, const char *given)
{
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (HMAC(EVP_sha256(), st->secret, (int)st->secret_len, (const unsigned char *)canonical->data, canonical->len, mac,
             &len) == NULL)
        return 0;
    char want[4 * ((EVP_MAX_MD_SIZE + 2) / 3) + 1];
    EVP_EncodeBlock((unsigned char *)want, mac, (int)len);
    size_t n = strlen(want);
    return strlen(given) == n && CRYPTO_memcmp(want, given, n) == 0;
}

static int sim_ins_nonce_format_ok(const char *nonce)
{
    size_t n = strlen(nonce);
    size_t ok = strspn(nonce, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789");
    return ok == n && n >= SIM_INS_NONCE_MIN && n <= SIM_INS_NONCE_MAX;
}

static int sim_ins_parse_timestamp(const char *ts, long long *out)
{
    size_t n = strlen(ts);
    if (n == 0 || n > 15 || strspn(ts, "0123456789") != n)
        return 0;
    *out = strtoll(ts, NULL, 10);
    return 1;
}

/*
 * NULL when the request is authentic, else the ICD's 401 status, with the
 * reason (for the simulator's stderr only: the ICD's bodies carry none).
 * The signature is checked before the clock and the nonce, so an unsigned
 * request learns nothing about either; a nonce is remembered only once the
 * request proved itself.
 */
static const char *sim_ins_authenticate(sim_ins_state_t *st, const sim_request_t *req, sim_ins_query_t *q,
                                        const char **why)
{
    const char *client = sim_ins_header(req, "X-VSS-Client"), *ts = sim_ins_header(req, "X-VSS-Timestamp");
    const char *nonce = sim_ins_header(req, "X-VSS-Nonce"), *sig = sim_ins_header(req, "X-VSS-Signature");
    long long t;
    if (!client || !ts || !nonce || !sig)
        return *why = "a signing header is missing", "AUTH_SIGNATURE";
    if (strcmp(client, SIM_INSURANCE_CLIENT_ID) != 0)
        return *why = "unknown X-VSS-Client", "AUTH_SIGNATURE";
    if (!sim_ins_nonce_format_ok(nonce))
        return *why = "X-VSS-Nonce is not 16-64 characters of [A-Za-z0-9]", "AUTH_SIGNATURE";
    if (!sim_ins_parse_timestamp(ts, &t))
        return *why = "X-VSS-Timestamp is not unix seconds", "AUTH_SIGNATURE";
    sim_buf_t canonical;
    sim_buf_init(&canonical);
    sim_ins_canonical(req, q, ts, nonce, &canonical);
    int ok = sim_ins_signature_ok(st, &canonical, sig);
    sim_buf_free(&canonical);
    if (!ok)
        return *why = "the signature does not match", "AUTH_SIGNATURE";
    long long now = sim_ins_now(st);
    if (t - now > SIM_INS_WINDOW_S || now - t > SIM_INS_WINDOW_S)
        return *why = "the timestamp is more than 300 s from the server clock", "AUTH_EXPIRED";
    if (sim_ins_nonce_seen(st, nonce, now))
        return *why = "the nonce was used in the last 10 minutes", "AUTH_REPLAY";
    sim_ins_nonce_add(st, nonce, now);
    return NULL;
}

static void sim_ins_copy_header(const sim_request_t *req, const char *name, char *out, size_t len)
{
    const char *v = req->header(req, name);
    snprintf(out, len, "%s", v ? v : "");
}

static void sim_ins_remember(sim_ins_state_t *st, const sim_request_t *req)
{
    sim_ins_last_t *l = &st->last;
    l->have = 1;
    sim_ins_copy_header(req, "X-VSS-Client", l->client, sizeof l->client);
    sim_ins_copy_header(req, "X-VSS-Timestamp", l->timestamp, sizeof l->timestamp);
    sim_ins_copy_header(req, "X-VSS-Nonce", l->nonce, sizeof l->nonce);
    sim_ins_copy_header(req, "X-VSS-Signature", l->signature, sizeof l->signature);
    sim_ins_copy_header(req, "X-Officer-ID", l->officer_id, sizeof l->officer_id);
    sim_ins_copy_header(req, "X-Purpose", l->purpose, sizeof l->purpose);
    sim_ins_copy_header(req, "X-Request-ID", l->request_id, sizeof l->request_id);
    snprintf(l->query, sizeof l->query, "%s", req->query ? req->query : "");
}

/* ---- replies ---- */

static void sim_ins_reply_json(sim_reply_t *reply, int status, const char *reason, json_t *doc)
{
    char *text = json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(doc);
    reply->status = status;
    reply->reason = reason;
    reply->content_type = "application/json; charset=utf-8";
    if (text != NULL)
        sim_buf_puts(&reply->body, text);
    free(text);
}

/* {"status": ..., "message": ...}: the ICD's error bodies; 401 bodies carry the status alone, as the ICD shows. */
static void sim_ins_reply_status(sim_reply_t *reply, int status, const char *reason, const char *code,
                                 const char *message)
{
    json_t *doc = json_pack("{s:s}", "status", code);
    if (message != NULL)
        json_object_set_new(doc, "message", json_string(message));
    sim_ins_reply_json(reply, status, reason, doc);
}

static void sim_ins_reply_auth(sim_reply_t *reply, const char *code, const char *why)
{
    fprintf(stderr, "lienthong-sim: insurance: 401 %s: %s\n", code, why);
    sim_ins_reply_status(reply, 401, "Unauthorized", code, NULL);
}

static json_t *sim_ins_unit_json(const char *code, const char *name)
{
    return json_pack("{s:s,s:s}", "ma", code, "ten", name);
}

static json_t *sim_ins_record(const sim_insured_t *in, int nfd)
{
    char *name = NULL;
    if (nfd)
        name = (char *)utf8proc_NFD((const utf8proc_uint8_t *)in->full_name);
    json_t *card = json_null();
    if (in->has_card)
        card = json_pack("{s:s,s:s,s:s,s:o,s:i}", "maThe", in->card, "giaTriTu", in->card_from, "giaTriDen",
                         in->card_to, "noiDkKcbBanDau", sim_ins_unit_json(in->facility_code, in->facility_name),
                         "mucHuong", in->benefit);
    json_t *bhxh = json_pack("{s:s,s:o,s:{s:i,s:i}}", "trangThai", sim_ins_statuses[in->status], "donVi",
                             in->employer ? sim_ins_unit_json(in->employer->code, in->employer->name) : json_null(),
                             "tongThoiGianDong", "nam", in->years, "thang", in->months);
    json_t *data = json_pack("{s:s,s:s,s:s,s:s,s:s,s:o,s:o}", "maSoBhxh", in->number, "soDinhDanh", in->p->id, "hoTen",
                             name ? name : in->full_name, "ngaySinh", in->birth, "gioiTinh", in->sex, "theBhyt", card,
                             "bhxh", bhxh);
    free(name);
    return data;
}

/* ---- the lookup ---- */

/* The person a maSo names: a BHXH number or a personal identification number. -1 when nobody. */
static long long sim_ins_find(const sim_people_t *people, const char *ma_so)
{
    if (strlen(ma_so) == 10)
        return sim_ins_index_of_number(people, ma_so);
    const sim_person_t *p = sim_people_find(people, ma_so);
    return p ? (long long)sim_ins_index_of(people, p) : -1;
}

/* The request's maSo, or NULL with a reason for the INVALID answer. */
static const char *sim_ins_ma_so(const sim_request_t *req, const sim_ins_query_t *q, const char **problem)
{
    if (!sim_ins_header(req, "X-Officer-ID") || !sim_ins_header(req, "X-Purpose"))
        return *problem = "Thiếu X-Officer-ID hoặc X-Purpose", NULL;
    const char *ma_so = NULL;
    for (size_t i = 0; i < q->n; i++) {
        if (strcmp(q->p[i].name, "maSo") != 0)
            return *problem = "Tham số truy vấn không được hỗ trợ", NULL;
        if (ma_so != NULL)
            return *problem = "Tham số maSo lặp lại", NULL;
        ma_so = q->p[i].value;
    }
    if (ma_so == NULL)
        return *problem = "Thiếu tham số maSo", NULL;
    if (!sim_ins_digits(ma_so, 10) && !sim_ins_valid_personal_id(ma_so))
        return *problem = "maSo phải là mã số BHXH 10 chữ số hoặc số định danh cá nhân 12 chữ số", NULL;
    return ma_so;
}

static void sim_ins_answer(const sim_people_t *people, const char *ma_so, const char *fault, sim_reply_t *reply)
{
    long long index = sim_ins_find(people, ma_so);
    if (index < 0) {
        sim_ins_reply_status(reply, 404, "Not Found", "NOT_FOUND", "Không tìm thấy thông tin người tham gia");
        return;
    }
    int other = fault && strcmp(fault, "other_person") == 0;
    if (other) /* someone else's record: the client must notice */
        index = (index + 1) % (long long)sim_people_count(people);
    sim_insured_t in;
    sim_ins_derive(people, (size_t)index, &in);
    int nfd = fault && strcmp(fault, "nfd") == 0;
    sim_ins_reply_json(reply, 200, "OK", json_pack("{s:s,s:o}", "status", "OK", "data", sim_ins_record(&in, nfd)));
}

/* Faults that replace the answer once the request is authentic. 1 when one answered. */
static int sim_ins_business_fault(const char *fault, sim_reply_t *reply)
{
    if (fault == NULL)
        return 0;
    if (strcmp(fault, "NOT_FOUND") == 0) {
        sim_ins_reply_status(reply, 404, "Not Found", "NOT_FOUND", "Không tìm thấy thông tin người tham gia");
    } else if (strcmp(fault, "INVALID") == 0) {
        sim_ins_reply_status(reply, 400, "Bad Request", "INVALID", "Yêu cầu không hợp lệ");
    } else if (strcmp(fault, "RATE_LIMITED") == 0) {
        sim_ins_reply_status(reply, 429, "Too Many Requests", "RATE_LIMITED", NULL);
        sim_reply_add_header(reply, "Retry-After", SIM_INS_RETRY_AFTER);
    } else if (strcmp(fault, "http500") == 0) {
        sim_ins_reply_status(reply, 500, "Internal Server Error", "ERROR", "Lỗi hệ thống");
    } else if (strcmp(fault, "garbage") == 0) {
        reply->status = 200;
        reply->reason = "OK";
        reply->content_type = "text/html; charset=utf-8";
        sim_buf_puts(&reply->body, "<html><body>OK</body></html>\n");
    } else {
        return 0;
    }
    return 1;
}

/* Forced authentication failures, answered whatever the request carries. */
static int sim_ins_auth_fault(const char *fault, sim_reply_t *reply)
{
    if (fault == NULL || strncmp(fault, "AUTH_", 5) != 0)
        return 0;
    sim_ins_reply_auth(reply, fault, "injected fault");
    return 1;
}

static void sim_ins_handle(void *state, const sim_people_t *people, const sim_request_t *req, const char *fault,
                           sim_reply_t *reply)
{
    sim_ins_state_t *st = state;
    if (strcmp(req->method, "GET") != 0) {
        reply->status = 405;
        reply->reason = "Method Not Allowed";
        reply->content_type = "text/plain; charset=utf-8";
        sim_buf_puts(&reply->body, "GET only\n");
        return;
    }
    sim_ins_remember(st, req);
    sim_ins_query_t q;
    if (sim_ins_parse_query(req->query, &q) < 0) {
        sim_ins_query_free(&q);
        sim_ins_reply_status(reply, 400, "Bad Request", "INVALID", "Chuỗi truy vấn không hợp lệ");
        return;
    }
    const char *why = NULL, *problem = NULL, *auth = NULL, *ma_so = NULL;
    if (sim_ins_auth_fault(fault, reply))
        goto out;
    if ((auth = sim_ins_authenticate(st, req, &q, &why)) != NULL) {
        sim_ins_reply_auth(reply, auth, why);
        goto out;
    }
    if (sim_ins_business_fault(fault, reply))
        goto out;
    if ((ma_so = sim_ins_ma_so(req, &q, &problem)) == NULL)
        sim_ins_reply_status(reply, 400, "Bad Request", "INVALID", problem);
    else
        sim_ins_answer(people, ma_so, fault, reply);
out:
    sim_ins_query_free(&q);
}

static int sim_ins_operation_of(const sim_request_t *req)
{
    return strcmp(req->method, "GET") == 0 ? 0 : -1;
}

/* ---- sample ---- */

int sim_insurance_print_sample(const sim_people_t *people, size_t n, FILE *out)
{
    size_t *picks = calloc(n ? n : 1, sizeof *picks);
    if (picks == NULL)
        return -1;
    n = sim_people_sample(people, n, picks);
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        sim_insured_t in;
        sim_ins_derive(people, picks[i], &in);
        json_t *line = json_pack("{s:s,s:s,s:s}", "insurance_number", in.number, "personal_id", in.p->id, "full_name",
                                 in.full_name);
        char *text = line ? json_dumps(line, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
        if (text == NULL || fprintf(out, "%s\n", text) < 0)
            rc = -1;
        free(text);
        json_decref(line);
    }
    free(picks);
    return rc;
}

/* ---- control verbs ---- */

static void sim_ins_control_error(sim_reply_t *reply, int status, const char *reason, const char *message)
{
    sim_ins_reply_json(reply, status, reason, json_pack("{s:s}", "error", message));
}

static json_t *sim_ins_clock_json(const sim_ins_state_t *st)
{
    return json_pack("{s:I,s:I}", "skew_s", (json_int_t)st->skew_s, "now", (json_int_t)sim_ins_now(st));
}

/* GET or PUT {"skew_s": N}: the server clock is the host's plus N seconds. */
static void sim_ins_control_clock(sim_ins_state_t *st, const sim_request_t *req, sim_reply_t *reply)
{
    if (strcmp(req->method, "PUT") == 0) {
        json_t *doc = json_loadb((const char *)req->body, req->body_len, JSON_REJECT_DUPLICATES, NULL);
        json_t *skew = json_object_get(doc, "skew_s");
        if (!json_is_object(doc) || json_object_size(doc) != 1 || !json_is_integer(skew) ||
            json_integer_value(skew) > SIM_INS_MAX_SKEW_S || json_integer_value(skew) < -SIM_INS_MAX_SKEW_S) {
            json_decref(doc);
            sim_ins_control_error(reply, 400, "Bad Request", "body must be {\"skew_s\": N}, |N| at most ten years");
            return;
        }
        st->skew_s = (long long)json_integer_value(skew);
        json_decref(doc);
    } else if (strcmp(req->method, "GET") != 0) {
        sim_ins_control_error(reply, 405, "Method Not Allowed", "GET or PUT");
        return;
    }
    sim_ins_reply_json(reply, 200, "OK", sim_ins_clock_json(st));
}

/* GET ?n=N: the identities --sample prints, as JSON lines. */
static void sim_ins_control_sample(sim_ins_state_t *st, const sim_request_t *req, sim_reply_t *reply)
{
    long n = 20;
    if (req->query && strncmp(req->query, "n=", 2) == 0) {
        char *end;
        n = strtol(req->query + 2, &end, 10);
        if (*end != '\0')
            n = -1;
    }
    if (n < 1 || n > SIM_INS_SAMPLE_MAX || (size_t)n > sim_people_count(st->people)) {
        sim_ins_control_error(reply, 400, "Bad Request", "n must be 1-1000 and at most the population");
        return;
    }
    char *text = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&text, &len);
    int rc = mem ? sim_insurance_print_sample(st->people, (size_t)n, mem) : -1;
    if (mem)
        fclose(mem);
    if (rc < 0) {
        free(text);
        sim_ins_control_error(reply, 500, "Internal Server Error", "cannot write the sample");
        return;
    }
    reply->status = 200;
    reply->reason = "OK";
    reply->content_type = "application/x-ndjson; charset=utf-8";
    sim_buf_append(&reply->body, text, len);
    free(text);
}

static void sim_ins_control_last(const sim_ins_state_t *st, sim_reply_t *reply)
{
    const sim_ins_last_t *l = &st->last;
    if (!l->have) {
        sim_ins_control_error(reply, 404, "Not Found", "no request yet");
        return;
    }
    sim_ins_reply_json(reply, 200, "OK",
                       json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "client", l->client, "timestamp", l->timestamp,
                                 "nonce", l->nonce, "signature", l->signature, "officer_id", l->officer_id, "purpose",
                                 l->purpose, "request_id", l->request_id, "query", l->query));
}

static int sim_ins_control(void *state, const char *verb, const sim_request_t *req, sim_reply_t *reply)
{
    sim_ins_state_t *st = state;
    if (strcmp(verb, "clock") == 0) {
        sim_ins_control_clock(st, req, reply);
    } else if (strcmp(verb, "sample") == 0 || strcmp(verb, "last_request") == 0 || strcmp(verb, "nonces") == 0) {
        if (strcmp(req->method, "GET") != 0)
            sim_ins_control_error(reply, 405, "Method Not Allowed", "GET only");
        else if (verb[0] == 's')
            sim_ins_control_sample(st, req, reply);
        else if (verb[0] == 'l')
            sim_ins_control_last(st, reply);
        else
            sim_ins_reply_json(reply, 200, "OK", json_pack("{s:I}", "remembered", (json_int_t)st->nonces));
    } else {
        return -1;
    }
    return 0;
}

const sim_service_t sim_insurance_service = {
    .name = "insurance",
    .path = SIM_INS_PATH,
    .cert_name = "insurance-sim",
    .default_port = 9104,
    .ops = sim_ins_ops,
    .faults = sim_ins_faults,
    .operation_of = sim_ins_operation_of,
    .handle = sim_ins_handle,
    .state_new = sim_ins_state_new,
    .state_reset = sim_ins_state_reset,
    .state_free = sim_ins_state_free,
    .control = sim_ins_control,
    .sample = sim_insurance_print_sample,
};
