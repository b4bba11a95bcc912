/*
 * sim_webhook: the portal's webhook receiver, for development and tests.
 *
 * Not a national system: it stands in for the province portal's end of the
 * payment events the gateway sends (northbound.md, "Payments"), so tests can
 * see what the portal would receive: which events, how many times, with a
 * valid signature or not, and how the gateway copes with an outage.
 */
#ifndef SIM_WEBHOOK_H
#define SIM_WEBHOOK_H

#include "sim_service.h"

extern const sim_service_t sim_webhook_service;

#endif
