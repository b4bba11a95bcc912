/*
 * sim_ipn: delivering the payment gateway's IPN to the merchant (icd/payment.md §2).
 *
 * One delivery ("chain") sends one signed query to the merchant's IPN URL and
 * keeps re-sending it while the answer does not count: no answer, an HTTP
 * error, or a RspCode other than 00, 01, 02, 04 and 97. It stops after
 * SIM_IPN_MAX_ATTEMPTS attempts, as the ICD's "up to 10 times". The settings
 * are read live at every step, so a test may shorten the retry delays of a
 * delivery already waiting for its next attempt.
 *
 * With several URLs, a delivery either sends each attempt to the next URL in
 * turn (a load balancer in front of several merchant servers), or, with
 * concurrent_urls, every URL gets its own chain and the first attempts all
 * start in the same loop turn, as the ICD warns an IPN may arrive
 * concurrently at two merchant servers. `duplicates` re-sends an accepted IPN
 * that many more times, as the ICD warns the same IPN can arrive more than once.
 */
#ifndef SIM_IPN_H
#define SIM_IPN_H

#include "sim_fetch.h"

#include <stddef.h>

#define SIM_IPN_MAX_ATTEMPTS 10
#define SIM_IPN_MAX_DELAYS   32
#define SIM_IPN_MAX_URLS     8

typedef struct sim_ipn_settings {
    char *urls[SIM_IPN_MAX_URLS];
    size_t n_urls;
    long delays_ms[SIM_IPN_MAX_DELAYS]; /* delay before attempt k+2 is delays_ms[k]; the last one repeats */
    size_t n_delays;
    long timeout_ms; /* per attempt */
    int duplicates;  /* extra sends after an accepted answer */
    int concurrent_urls;
} sim_ipn_settings_t;

/* The defaults: no URL, the ICD-like schedule of about 24 h, a 5 s answer deadline, no duplicates. */
void sim_ipn_settings_default(sim_ipn_settings_t *s);
void sim_ipn_settings_copy(sim_ipn_settings_t *dst, const sim_ipn_settings_t *src);
void sim_ipn_settings_free(sim_ipn_settings_t *s);
/* Adds a URL; -1 when it is not http(s):// or the list is full. */
int sim_ipn_settings_add_url(sim_ipn_settings_t *s, const char *url);

/* What one attempt saw. Strings live only during the callback. */
typedef struct sim_ipn_attempt {
    unsigned chain;   /* which delivery of this transaction */
    unsigned attempt; /* 1-based within the chain; duplicates go on counting */
    int duplicate;    /* a re-send of an IPN already accepted */
    const char *url;  /* as called, with the query */
    long long at_ms;  /* wall clock when it started */
    long duration_ms;
    long http_status;     /* 0: no HTTP answer */
    const char *rsp_code; /* "" when the body held none */
    const char *message;
    const char *error; /* transport error, "" when an answer came */
    int accepted;      /* the answer counts: delivery stops (or turns to duplicates) */
} sim_ipn_attempt_t;

typedef void (*sim_ipn_record_fn)(void *ctx, const char *txn_ref, const sim_ipn_attempt_t *attempt);

typedef struct sim_ipn sim_ipn_t;

/* settings and *ca_file stay owned by the caller and are read at every attempt. */
sim_ipn_t *sim_ipn_new(sim_fetcher_t *fetcher, const sim_ipn_settings_t *settings, const char *ca_file,
                       sim_ipn_record_fn record, void *ctx);
void sim_ipn_free(sim_ipn_t *ipn);

/* Starts delivering query (signed, without '?') for txn_ref; chains are numbered from first_chain. Returns how many
 * chains started (0 when no URL is set). */
unsigned sim_ipn_deliver(sim_ipn_t *ipn, const char *txn_ref, const char *query, unsigned first_chain);
/* Deliveries of txn_ref still running or waiting to retry. */
size_t sim_ipn_active(const sim_ipn_t *ipn, const char *txn_ref);
/* Stops every delivery at once (a reset): no further attempt, no further record. */
void sim_ipn_cancel_all(sim_ipn_t *ipn);

#endif
