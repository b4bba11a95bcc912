/*
 * sim_land: the national land database's parcel and certificate lookups
 * (CSDL quốc gia về đất đai), REST/JSON over mutual TLS, written from the land
 * ICD alone.
 */
#ifndef SIM_LAND_H
#define SIM_LAND_H

#include "sim_people.h"
#include "sim_service.h"

#include <stddef.h>
#include <stdio.h>

extern const sim_service_t sim_land_service;

/*
 * Writes n parcels that exist, one JSON object per line:
 * {"commune","sheet","parcel","serials":[newest first],"land_use_codes":[...]}.
 * The ICD's own example comes first; every fourth line is a parcel with a
 * land-use code the ICD does not list. GET /control/land/sample?n=N serves the
 * same lines.
 */
int sim_land_print_sample(const sim_people_t *people, size_t n, FILE *out);

#endif
