/*
 * sim_portal: the national public-service portal's dossier synchronisation (icd/national-portal.md), so that
 * tests can see every dossier and step the gateway pushed, in the order the portal applied them, and make the
 * portal down, slow, busy (429), forgetful of sessions (401) or refuse a named record.
 */
#ifndef SIM_PORTAL_H
#define SIM_PORTAL_H

#include "sim_service.h"

extern const sim_service_t sim_portal_service;

#endif
