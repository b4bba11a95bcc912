/*
 * sim_civil_status: the electronic civil-status database (CSDL hộ tịch điện
 * tử) of the Ministry of Justice, REST/JSON with a session token, written from
 * the civil-status ICD.
 */
#ifndef SIM_CIVIL_STATUS_H
#define SIM_CIVIL_STATUS_H

#include "sim_service.h"

#include <stdio.h>

extern const sim_service_t sim_civil_status_service;

/*
 * Prints n people the service knows, one JSON object per line, with what the
 * register holds about each: {"id","full_name","birth":true|false,
 * "marriages":N,"death":true|false,"marital_status":"DANG_CO_VO_CHONG"}. The
 * four people of the ICD's samples come first, then people spread evenly over
 * the population. Deterministic for a given population.
 */
int sim_civil_status_sample(const sim_people_t *people, size_t n, FILE *out);

#endif
