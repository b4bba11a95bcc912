/*
 * sim_tax: the taxpayer registry's lookup service (Tổng cục Thuế), XML over
 * HTTPS with an API key, written from the tax ICD.
 */
#ifndef SIM_TAX_H
#define SIM_TAX_H

#include "sim_people.h"
#include "sim_service.h"

#include <stddef.h>
#include <stdio.h>

extern const sim_service_t sim_tax_service;

/*
 * Writes n taxpayers that exist, one {"tax_code","name"} JSON object per line:
 * what `--sample N --system tax` should print. sim_main.c prints people for
 * every system today; this is the hook it can call once services may supply
 * their own sample. GET /control/tax/sample?n=N serves the same lines.
 */
int sim_tax_print_sample(const sim_people_t *people, size_t n, FILE *out);

#endif
