/*
 * sim_people: deterministic synthetic citizens and the id -> person index.
 *
 * Each person draws from a private random stream seeded by (seed, index), so
 * adding people never changes the ones before them. The only cross-person
 * dependencies point backwards (the head of household is an earlier person,
 * and an identifier that collides with an earlier one is redrawn), which keeps
 * that prefix property.
 */
#include "sim_people.h"
#include "sim_text.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SIM_COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* Reference year for ages; the ICD describes the state after the 2025 reform. */
#define SIM_NOW_YEAR 2025

struct sim_people {
    sim_person_t *persons;
    size_t count;
    uint32_t *slots; /* open addressing: person index + 1, 0 = empty */
    size_t slot_mask;
};

typedef struct sim_weighted {
    const char *text;
    unsigned weight;
} sim_weighted_t;

/* Roughly the real frequencies: Nguyễn alone is close to four in ten. */
static const sim_weighted_t sim_family_names[] = {
    {"Nguyễn", 38}, {"Trần", 11},  {"Lê", 9},    {"Phạm", 7}, {"Hoàng", 5}, {"Huỳnh", 4}, {"Phan", 4},  {"Vũ", 4},
    {"Võ", 3},      {"Đặng", 2},   {"Bùi", 2},   {"Đỗ", 2},   {"Hồ", 2},    {"Ngô", 2},   {"Dương", 1}, {"Lý", 1},
    {"Đinh", 1},    {"Trương", 1}, {"Lương", 1}, {"Mai", 1},  {"Tạ", 1},    {"Lâm", 1},
};

static const sim_weighted_t sim_middle_male[] = {
    {"Văn", 30}, {"Hữu", 6},   {"Đức", 8},  {"Minh", 10}, {"Thanh", 5},   {"Quốc", 5},       {"Công", 4},
    {"Xuân", 4}, {"Quang", 5}, {"Tuấn", 3}, {"Gia", 3},   {"Văn Đức", 1}, {"Hoàng Minh", 1},
};

static const sim_weighted_t sim_middle_female[] = {
    {"Thị", 30},   {"Ngọc", 8}, {"Thu", 6},   {"Thanh", 5}, {"Minh", 4},     {"Kim", 4},      {"Mỹ", 3},
    {"Phương", 3}, {"Bảo", 3},  {"Khánh", 3}, {"Hồng", 3},  {"Thị Minh", 1}, {"Ngọc Bảo", 1},
};

static const char *const sim_given_male[] = {
    "An",    "Bình", "Dũng", "Đạt", "Hùng",  "Khánh", "Quân", "Tuấn", "Minh",  "Long", "Nam",   "Phúc", "Sơn", "Thắng",
    "Trung", "Việt", "Hải",  "Huy", "Cường", "Hoàng", "Kiên", "Lộc",  "Nghĩa", "Tâm",  "Thành", "Vinh", "Đức",
};

static const char *const sim_given_female[] = {
    "An",   "Chi",   "Giang", "Hà",   "Hương", "Linh",  "Phương", "Thảo", "Trang", "Yến",
    "Ánh",  "Lan",   "Mai",   "Ngọc", "Nhung", "Oanh",  "Quỳnh",  "Thủy", "Vy",    "Hạnh",
    "Hằng", "Huyền", "Loan",  "Nga",  "My",    "Tuyết", "Vân",    "Bình", "Khánh",
};

/* Indexed by sim_person_t.relation. */
static const char *const sim_relations[] = {"",    "Con", "Vợ", "Chồng", "Bố",  "Mẹ",
                                            "Anh", "Chị", "Em", "Cháu",  "Ông", "Bà"};
enum {
    SIM_REL_NONE,
    SIM_REL_CON,
    SIM_REL_VO,
    SIM_REL_CHONG,
    SIM_REL_BO,
    SIM_REL_ME,
    SIM_REL_ANH,
    SIM_REL_CHI,
    SIM_REL_EM,
    SIM_REL_CHAU,
    SIM_REL_ONG,
    SIM_REL_BA
};

/* splitmix64: tiny, fast, and good enough that neighbouring seeds look unrelated. */
static uint64_t sim_rng_next(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* The modulo bias is below 1e-9 for these ranges: irrelevant to test data. */
static unsigned sim_rng_below(uint64_t *s, unsigned n)
{
    return (unsigned)(sim_rng_next(s) % n);
}

static int sim_rng_percent(uint64_t *s, unsigned pct)
{
    return sim_rng_below(s, 100) < pct;
}

static const char *sim_pick_weighted(uint64_t *s, const sim_weighted_t *t, size_t n)
{
    unsigned total = 0;
    for (size_t i = 0; i < n; i++)
        total += t[i].weight;
    unsigned r = sim_rng_below(s, total);
    for (size_t i = 0; i < n; i++) {
        if (r < t[i].weight)
            return t[i].text;
        r -= t[i].weight;
    }
    return t[0].text;
}

static int sim_days_in_month(int year, int month)
{
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    return month == 2 && leap ? 29 : days[month - 1];
}

/* 1 male, 2 female: what the identifier encodes, whatever GioiTinh says. */
static int sim_true_sex(const sim_person_t *p)
{
    return ((p->id[3] - '0') % 2) ? 2 : 1;
}

static uint64_t sim_id_key(const char *id)
{
    uint64_t k = 0;
    for (int i = 0; i < 12; i++)
        k = k * 10 + (uint64_t)(id[i] - '0');
    return k;
}

static size_t sim_slot_of(const sim_people_t *pp, uint64_t key)
{
    uint64_t h = key;
    return (size_t)sim_rng_next(&h) & pp->slot_mask;
}

static const sim_person_t *sim_index_get(const sim_people_t *pp, const char *id)
{
    uint64_t key = sim_id_key(id);
    for (size_t s = sim_slot_of(pp, key);; s = (s + 1) & pp->slot_mask) {
        uint32_t v = pp->slots[s];
        if (v == 0)
            return NULL;
        if (memcmp(pp->persons[v - 1].id, id, 12) == 0)
            return &pp->persons[v - 1];
    }
}

static void sim_index_put(sim_people_t *pp, size_t i)
{
    size_t s = sim_slot_of(pp, sim_id_key(pp->persons[i].id));
    while (pp->slots[s] != 0)
        s = (s + 1) & pp->slot_mask;
    pp->slots[s] = (uint32_t)(i + 1);
}

/* Table positions of the two big cities, checked against their codes in sim_people_new. */
#define SIM_OLD_HANOI 0
#define SIM_OLD_HCMC  49
#define SIM_NEW_HANOI 0
#define SIM_NEW_HCMC  27

/* Hà Nội and Hồ Chí Minh City register far more births than any other province. */
static size_t sim_pick_old_province(uint64_t *s)
{
    unsigned r = sim_rng_below(s, 100);
    if (r < 12)
        return SIM_OLD_HANOI;
    if (r < 24)
        return SIM_OLD_HCMC;
    return sim_rng_below(s, (unsigned)sim_places_old_count());
}

static size_t sim_pick_new_province(uint64_t *s)
{
    unsigned r = sim_rng_below(s, 100);
    if (r < 15)
        return SIM_NEW_HANOI;
    if (r < 30)
        return SIM_NEW_HCMC;
    return sim_rng_below(s, (unsigned)sim_places_new_count());
}

static void sim_gen_birth(uint64_t *s, sim_person_t *p)
{
    p->birth.year = (uint16_t)(1940 + sim_rng_below(s, 2010 - 1940 + 1));
    if (sim_rng_percent(s, 5)) {
        p->birth.month = 0; /* known only by year: old registers often lost the day */
        p->birth.day = 0;
        return;
    }
    p->birth.month = (uint8_t)(1 + sim_rng_below(s, 12));
    p->birth.day = (uint8_t)(1 + sim_rng_below(s, (unsigned)sim_days_in_month(p->birth.year, p->birth.month)));
}

static void sim_gen_name(uint64_t *s, sim_person_t *p, int sex)
{
    p->family = sim_pick_weighted(s, sim_family_names, SIM_COUNT(sim_family_names));
    if (sim_rng_percent(s, 3))
        p->middle = ""; /* some names have no middle part at all */
    else if (sex == 1)
        p->middle = sim_pick_weighted(s, sim_middle_male, SIM_COUNT(sim_middle_male));
    else
        p->middle = sim_pick_weighted(s, sim_middle_female, SIM_COUNT(sim_middle_female));
    if (sex == 1)
        p->given = sim_given_male[sim_rng_below(s, SIM_COUNT(sim_given_male))];
    else
        p->given = sim_given_female[sim_rng_below(s, SIM_COUNT(sim_given_female))];
}

/* Digits 1-3 province of birth, 4 century and sex, 5-6 birth year, 7-12 a sequence redrawn on collision. */
static void sim_gen_id(uint64_t *s, sim_people_t *pp, sim_person_t *p, size_t birth_province, int sex)
{
    int century_sex = (p->birth.year >= 2000 ? 2 : 0) + (sex == 2 ? 1 : 0);
    do {
        snprintf(p->id, sizeof p->id, "%03d%d%02d%06u", sim_places_old(birth_province)->code, century_sex,
                 p->birth.year % 100, sim_rng_below(s, 1000000));
    } while (sim_index_get(pp, p->id) != NULL);
}

static void sim_gen_old_id(uint64_t *s, sim_person_t *p)
{
    p->old_id[0] = '\0';
    if (p->birth.year < 2000 && sim_rng_percent(s, 45))
        snprintf(p->old_id, sizeof p->old_id, "%u%08u", sim_rng_below(s, 4), sim_rng_below(s, 100000000));
}

static void sim_gen_address(uint64_t *s, sim_address_t *a, sim_addr_shape_t shape, size_t province, int with_house)
{
    a->shape = (uint8_t)shape;
    a->province = (uint8_t)province;
    a->district = shape == SIM_ADDR_OLD ? (uint8_t)sim_rng_below(s, SIM_PLACES_DISTRICTS) : 0;
    a->commune = (uint8_t)sim_rng_below(s, SIM_PLACES_COMMUNES);
    a->urban = (uint8_t)sim_rng_percent(s, 35);
    a->street = (uint8_t)sim_rng_below(s, 256);
    a->house = with_house ? (uint16_t)(1 + sim_rng_below(s, 250)) : 0;
}

/*
 * Place of origin usually keeps the pre-2025 shape; permanent residence has
 * been updated to the new shape; current residence, when recorded, is mostly
 * new but sometimes still old, because the database does not rewrite history.
 */
static void sim_gen_addresses(uint64_t *s, sim_person_t *p, size_t birth_province)
{
    size_t origin = sim_rng_percent(s, 70) ? birth_province : sim_pick_old_province(s);
    if (sim_rng_percent(s, 90))
        sim_gen_address(s, &p->origin, SIM_ADDR_OLD, origin, 0);
    else
        sim_gen_address(s, &p->origin, SIM_ADDR_NEW, sim_pick_new_province(s), 0);
    sim_gen_address(s, &p->permanent, SIM_ADDR_NEW, sim_pick_new_province(s), 1);
    memset(&p->current, 0, sizeof p->current);
    if (!sim_rng_percent(s, 55))
        return;
    if (sim_rng_percent(s, 15))
        sim_gen_address(s, &p->current, SIM_ADDR_OLD, sim_pick_old_province(s), 1);
    else if (sim_rng_percent(s, 30))
        p->current = p->permanent;
    else
        sim_gen_address(s, &p->current, SIM_ADDR_NEW, sim_pick_new_province(s), 1);
}

static int sim_is_adult(const sim_person_t *p)
{
    return SIM_NOW_YEAR - p->birth.year >= 18;
}

/* A relation that the two birth years and sexes make plausible. */
static uint8_t sim_relation_to(uint64_t *s, const sim_person_t *p, int sex, const sim_person_t *head)
{
    int d = p->birth.year - head->birth.year; /* > 0: this person is younger */
    if (d >= 40)
        return SIM_REL_CHAU;
    if (d >= 17)
        return SIM_REL_CON;
    if (d <= -40)
        return sex == 1 ? SIM_REL_ONG : SIM_REL_BA;
    if (d <= -17)
        return sex == 1 ? SIM_REL_BO : SIM_REL_ME;
    if (sim_is_adult(p) && sim_is_adult(head) && sex != sim_true_sex(head) && sim_rng_percent(s, 60))
        return sex == 2 ? SIM_REL_VO : SIM_REL_CHONG;
    if (d > 0)
        return SIM_REL_EM;
    return sex == 1 ? SIM_REL_ANH : SIM_REL_CHI;
}

static void sim_gen_household(uint64_t *s, sim_people_t *pp, size_t i, sim_person_t *p, int sex)
{
    p->head = -1;
    p->relation = SIM_REL_NONE;
    if (i == 0 || !sim_rng_percent(s, 55))
        return;
    /* Look only a little way back, so households stay local whatever the population size. */
    size_t window = i < 5000 ? i : 5000;
    const sim_person_t *head = &pp->persons[i - 1 - sim_rng_below(s, (unsigned)window)];
    p->head = (int32_t)(head - pp->persons);
    p->relation = sim_relation_to(s, p, sex, head);
    /* Children of a father who heads the household carry his family name. */
    if (p->relation == SIM_REL_CON && sim_true_sex(head) == 1)
        p->family = head->family;
}

static uint8_t sim_gen_marital(uint64_t *s, const sim_person_t *p)
{
    if (p->relation == SIM_REL_VO || p->relation == SIM_REL_CHONG)
        return 2;
    if (!sim_is_adult(p))
        return sim_rng_percent(s, 95) ? 1 : 0;
    unsigned r = sim_rng_below(s, 100);
    return r < 4 ? 0 : r < 26 ? 1 : r < 90 ? 2 : 3;
}

static void sim_gen_person(sim_people_t *pp, uint64_t seed, size_t i)
{
    sim_person_t *p = &pp->persons[i];
    uint64_t s = seed * 0xD1B54A32D192ED03ull ^ ((uint64_t)i + 1) * 0x9E3779B97F4A7C15ull;
    sim_rng_next(&s);

    int sex = sim_rng_percent(&s, 50) ? 1 : 2;
    size_t birth_province = sim_pick_old_province(&s);
    sim_gen_birth(&s, p);
    sim_gen_name(&s, p, sex);
    sim_gen_id(&s, pp, p, birth_province, sex);
    sim_gen_old_id(&s, p);
    p->sex = (uint8_t)(sim_rng_below(&s, 200) == 0 ? 0 : sex); /* about 0.5% recorded as unknown */
    p->ethnicity = (uint8_t)(sim_rng_percent(&s, 86) ? 1 : 2 + sim_rng_below(&s, 53));
    p->religion = (uint8_t)(sim_rng_percent(&s, 80) ? 0 : 1 + sim_rng_below(&s, 16));
    p->blood = (uint8_t)(sim_rng_percent(&s, 30) ? 0 : 1 + sim_rng_below(&s, 4));
    sim_gen_addresses(&s, p, birth_province);
    sim_gen_household(&s, pp, i, p, sex);
    p->marital = sim_gen_marital(&s, p);
    p->has_note = (uint8_t)sim_rng_percent(&s, 3);
}

sim_people_t *sim_people_new(uint64_t seed, size_t count)
{
    if (count == 0 || count > SIM_PEOPLE_MAX)
        return NULL;
    if (sim_places_old(SIM_OLD_HANOI)->code != 1 || sim_places_old(SIM_OLD_HCMC)->code != 79 ||
        sim_places_new(SIM_NEW_HANOI)->code != 1 || sim_places_new(SIM_NEW_HCMC)->code != 79)
        return NULL; /* the tables were edited without updating the positions above */
    sim_people_t *pp = calloc(1, sizeof *pp);
    if (pp == NULL)
        return NULL;
    size_t slots = 1;
    while (slots < count * 2)
        slots *= 2;
    pp->persons = calloc(count, sizeof *pp->persons);
    pp->slots = calloc(slots, sizeof *pp->slots);
    if (pp->persons == NULL || pp->slots == NULL) {
        sim_people_free(pp);
        return NULL;
    }
    pp->slot_mask = slots - 1;
    for (size_t i = 0; i < count; i++) {
        sim_gen_person(pp, seed, i);
        sim_index_put(pp, i);
        pp->count = i + 1;
    }
    return pp;
}

void sim_people_free(sim_people_t *pp)
{
    if (pp == NULL)
        return;
    free(pp->persons);
    free(pp->slots);
    free(pp);
}

size_t sim_people_count(const sim_people_t *pp)
{
    return pp->count;
}

const sim_person_t *sim_people_at(const sim_people_t *pp, size_t i)
{
    return i < pp->count ? &pp->persons[i] : NULL;
}

const sim_person_t *sim_people_find(const sim_people_t *pp, const char *id)
{
    if (strlen(id) != 12 || strspn(id, "0123456789") != 12)
        return NULL;
    return sim_index_get(pp, id);
}

int sim_person_year_only(const sim_person_t *p)
{
    return p->birth.month == 0;
}

static int sim_sample_has(const size_t *out, size_t n, size_t v)
{
    for (size_t i = 0; i < n; i++)
        if (out[i] == v)
            return 1;
    return 0;
}

size_t sim_people_sample(const sim_people_t *pp, size_t n, size_t *out)
{
    if (n > pp->count)
        n = pp->count;
    int have_year_only = 0;
    for (size_t k = 0; k < n; k++) {
        out[k] = (size_t)((unsigned long long)k * pp->count / n);
        have_year_only |= sim_person_year_only(&pp->persons[out[k]]);
    }
    if (n < 20 || have_year_only)
        return n;
    /* Swap the last pick for the next year-only person, so tests always meet one. */
    for (size_t step = 0; step < pp->count; step++) {
        size_t i = (out[n - 1] + step) % pp->count;
        if (sim_person_year_only(&pp->persons[i]) && !sim_sample_has(out, n - 1, i)) {
            out[n - 1] = i;
            break;
        }
    }
    return n;
}

void sim_person_full_name(const sim_person_t *p, char *out, size_t len)
{
    const char *parts[] = {p->family, p->middle, p->given};
    size_t used = 0;
    out[0] = '\0';
    for (size_t i = 0; i < SIM_COUNT(parts); i++) {
        if (parts[i][0] == '\0')
            continue;
        int n = snprintf(out + used, len - used, "%s%s", used ? " " : "", parts[i]);
        if (n < 0 || (size_t)n >= len - used)
            return;
        used += (size_t)n;
    }
}

void sim_person_birth_text(const sim_person_t *p, int iso, char *out, size_t len)
{
    if (sim_person_year_only(p))
        snprintf(out, len, "%04u", (unsigned)p->birth.year);
    else if (iso)
        snprintf(out, len, "%04u-%02u-%02u", (unsigned)p->birth.year, (unsigned)p->birth.month, (unsigned)p->birth.day);
    else
        snprintf(out, len, "%04u%02u%02u", (unsigned)p->birth.year, (unsigned)p->birth.month, (unsigned)p->birth.day);
}

const char *sim_person_relation(const sim_person_t *p)
{
    return p->relation < SIM_COUNT(sim_relations) ? sim_relations[p->relation] : "";
}

static const char *sim_check_weighted(const sim_weighted_t *t, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!sim_text_is_nfc(t[i].text))
            return t[i].text;
    return NULL;
}

static const char *sim_check_list(const char *const *t, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!sim_text_is_nfc(t[i]))
            return t[i];
    return NULL;
}

const char *sim_people_check_nfc(void)
{
    const char *bad;
    if ((bad = sim_check_weighted(sim_family_names, SIM_COUNT(sim_family_names))) != NULL ||
        (bad = sim_check_weighted(sim_middle_male, SIM_COUNT(sim_middle_male))) != NULL ||
        (bad = sim_check_weighted(sim_middle_female, SIM_COUNT(sim_middle_female))) != NULL ||
        (bad = sim_check_list(sim_given_male, SIM_COUNT(sim_given_male))) != NULL ||
        (bad = sim_check_list(sim_given_female, SIM_COUNT(sim_given_female))) != NULL ||
        (bad = sim_check_list(sim_relations, SIM_COUNT(sim_relations))) != NULL)
        return bad;
    return sim_places_check_nfc();
}
