/*
 * sim_places: the province code tables and the synthetic addresses built on them.
 *
 * Vietnam recorded addresses in two shapes (population ICD, "Addresses before
 * and after the 2025 administrative reform"): the 63 former provinces with a
 * district level, and since 1 July 2025 the 34 new provinces without one. The
 * province codes here are the real ones. The district and commune names and
 * codes below them are synthetic but deterministic: the same address always
 * renders to the same codes and text.
 */
#ifndef SIM_PLACES_H
#define SIM_PLACES_H

#include <stddef.h>
#include <stdint.h>

typedef struct sim_province {
    int code;         /* 2-digit administrative code; the 3-digit ID prefix is the same number */
    const char *name; /* without its "Tỉnh" / "Thành phố" prefix */
    int is_city;      /* centrally governed city: "Thành phố", otherwise "Tỉnh" */
} sim_province_t;

size_t sim_places_old_count(void);
const sim_province_t *sim_places_old(size_t i);
size_t sim_places_new_count(void);
const sim_province_t *sim_places_new(size_t i);

typedef enum sim_addr_shape {
    SIM_ADDR_NONE = 0,
    SIM_ADDR_OLD, /* former province code, district present, former names */
    SIM_ADDR_NEW, /* new province code, no district */
} sim_addr_shape_t;

/* Compact on purpose: a few million people carry three of these each. */
typedef struct sim_address {
    uint8_t shape;    /* sim_addr_shape_t */
    uint8_t province; /* index into the old or the new table, by shape */
    uint8_t district; /* 0..SIM_PLACES_DISTRICTS-1, old shape only */
    uint8_t commune;  /* 0..SIM_PLACES_COMMUNES-1 */
    uint8_t urban;    /* 1: phường / quận, 0: xã / huyện */
    uint8_t street;   /* street of an urban house number */
    uint16_t house;   /* house number (urban) or hamlet (rural); 0 = none recorded */
} sim_address_t;

#define SIM_PLACES_DISTRICTS 10
#define SIM_PLACES_COMMUNES  30

/* An address as it appears on the wire. */
typedef struct sim_address_view {
    char province_code[3];
    char district_code[4]; /* empty for the new shape */
    char commune_code[6];
    char text[320];
} sim_address_view_t;

void sim_address_view(const sim_address_t *a, sim_address_view_t *out);

/* Every name table must hold NFC text (ICD README); returns the first string that does not, or NULL. */
const char *sim_places_check_nfc(void);

#endif
