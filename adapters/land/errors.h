/*
 * The land database's non-200 answers as errors, and its nightly window.
 * Pure: the time is passed in (call->now), so every local hour is testable.
 */
#ifndef LT_LAND_ERRORS_H
#define LT_LAND_ERRORS_H

#include <time.h>

#include "land.h"
#include "lt_adapter.h"
#include "lt_error.h"

/* What was asked, for the 404's detail. */
typedef enum { LT_LAND_ASKED_PARCEL, LT_LAND_ASKED_CERTIFICATE } lt_land_asked_t;

/*
 * Maps one non-200 answer to err and returns -1. `now` decides whether an
 * HTTP 503 without Retry-After is the nightly synchronisation window: then the
 * error says how long the system stays closed (retry_after_s and
 * upstream_closed_s, to the window's end) and is not retryable.
 */
int lt_land_map_answer(const lt_land_settings_t *s, const lt_upstream_response_t *resp, lt_land_asked_t asked,
                       time_t now, lt_error_t *err);

#endif
