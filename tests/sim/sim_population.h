/*
 * sim_population: the National Population Database service (CSDL quốc gia về
 * dân cư), SOAP 1.1 with X-Road v4 headers, written from the population ICD.
 */
#ifndef SIM_POPULATION_H
#define SIM_POPULATION_H

#include "sim_service.h"

extern const sim_service_t sim_population_service;

#endif
