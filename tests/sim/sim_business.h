/*
 * sim_business: the National Business Registration Database (CSDL quốc gia về
 * đăng ký doanh nghiệp), REST/JSON with OAuth 2.0 client credentials, written
 * from the business registration ICD.
 */
#ifndef SIM_BUSINESS_H
#define SIM_BUSINESS_H

#include "sim_service.h"

#include <stdio.h>

extern const sim_service_t sim_business_service;

/*
 * Prints n enterprises the service holds, one JSON object per line:
 * {"code":"0100233488","name":"CÔNG TY ..."}. Deterministic for a given
 * population; every fourth line is a branch (NNNNNNNNNN-NNN). This is what
 * `--sample N --system business` should print; until sim_main.c dispatches
 * --sample to services, GET /control/business/sample?n=N answers the same lines.
 */
int sim_business_sample(const sim_people_t *people, size_t n, FILE *out);

#endif
