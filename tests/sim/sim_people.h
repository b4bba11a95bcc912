/*
 * sim_people: the synthetic citizens every simulator serves.
 *
 * The population is a pure function of (seed, index): person i is the same in
 * every run, in every simulator and for every population size larger than i,
 * so the population, business, tax and insurance simulators agree on who
 * exists and under which personal identification number. The model is
 * deliberately generic (name, number, birth date, sex, addresses, household);
 * each service renders it in its own ICD's shape.
 */
#ifndef SIM_PEOPLE_H
#define SIM_PEOPLE_H

#include "sim_places.h"

#include <stddef.h>
#include <stdint.h>

#define SIM_PEOPLE_MAX 5000000

typedef struct sim_date {
    uint16_t year;
    uint8_t month; /* 0 when only the year is recorded */
    uint8_t day;
} sim_date_t;

typedef struct sim_person {
    char id[13];        /* personal identification number, 12 digits */
    char old_id[10];    /* old 9-digit identity card number, "" when none */
    const char *family; /* Ho */
    const char *middle; /* ChuDem, "" for some */
    const char *given;  /* Ten */
    sim_date_t birth;
    uint8_t sex;             /* as recorded: 0 unknown, 1 male, 2 female */
    uint8_t ethnicity;       /* DanToc code, 1 = Kinh */
    uint8_t religion;        /* TonGiao code, 0 = none */
    uint8_t blood;           /* 0 unknown, 1 O, 2 A, 3 B, 4 AB */
    uint8_t marital;         /* 0 unknown, 1 single, 2 married, 3 divorced */
    uint8_t relation;        /* relation to the head of household, see sim_person_relation */
    uint8_t has_note;        /* the record carries a free-text remark */
    int32_t head;            /* index of the head of household, -1 when none recorded */
    sim_address_t origin;    /* QueQuan */
    sim_address_t permanent; /* ThuongTru */
    sim_address_t current;   /* NoiOHienTai, shape NONE when not recorded */
} sim_person_t;

typedef struct sim_people sim_people_t;

/* NULL when count is 0 or above SIM_PEOPLE_MAX, or on allocation failure. */
sim_people_t *sim_people_new(uint64_t seed, size_t count);
void sim_people_free(sim_people_t *people);
size_t sim_people_count(const sim_people_t *people);
const sim_person_t *sim_people_at(const sim_people_t *people, size_t i);
/* The person with this 12-digit number, or NULL. */
const sim_person_t *sim_people_find(const sim_people_t *people, const char *id);

/*
 * n indices spread evenly over the population; when n >= 20 at least one of
 * them is a person known only by birth year. Returns how many were written.
 */
size_t sim_people_sample(const sim_people_t *people, size_t n, size_t *out);

/* "Nguyễn Văn An": the parts that are not empty, joined by one space. */
void sim_person_full_name(const sim_person_t *p, char *out, size_t len);
/* "1995-03-12" (iso) or "19950312"; "1995" for a person known only by year. */
void sim_person_birth_text(const sim_person_t *p, int iso, char *out, size_t len);
/* "Con", "Vợ", ...: how this person relates to the head of household. */
const char *sim_person_relation(const sim_person_t *p);
int sim_person_year_only(const sim_person_t *p);

/* The first table string that is not NFC, or NULL. */
const char *sim_people_check_nfc(void);

#endif
