/*
 * sim_insurance: the social insurance and health insurance service of Vietnam
 * Social Security (BHXH Việt Nam), REST/JSON with HMAC-signed requests,
 * written from the social insurance ICD.
 */
#ifndef SIM_INSURANCE_H
#define SIM_INSURANCE_H

#include "sim_service.h"

#include <stdio.h>

/* The one client id the simulated service knows (the secret is --certs-dir's insurance-hmac.secret). */
#define SIM_INSURANCE_CLIENT_ID "LT-DEV-PROVINCE"

extern const sim_service_t sim_insurance_service;

/*
 * Writes n insured persons as JSON lines {"insurance_number","personal_id",
 * "full_name"}, picked as sim_people_sample() picks them. Returns 0, or -1 on
 * a write error. For `--sample N --system insurance` (see the report: the
 * service table has no per-system sample hook yet) and /control/insurance/sample.
 */
int sim_insurance_print_sample(const sim_people_t *people, size_t n, FILE *out);

#endif
