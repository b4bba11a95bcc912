/*
 * sim_json: small helpers of the payment and webhook simulators: JSON replies,
 * a JSON object body, and a shared secret read from a file.
 */
#ifndef SIM_JSON_H
#define SIM_JSON_H

#include "sim_service.h"

#include <jansson.h>
#include <stddef.h>
#include <stdio.h>

/* reply = status with doc as compact JSON (doc is consumed). */
void sim_json_reply(sim_reply_t *reply, int status, const char *reason, json_t *doc);
/* reply = status with {"error": message}. */
void sim_json_error(sim_reply_t *reply, int status, const char *reason, const char *message);
/* Prints doc as one compact line, in insertion order (--sample output); doc is consumed. 0, or -1. */
int sim_json_print_line(FILE *out, json_t *doc);
/* The request body as a JSON object (duplicate keys refused); NULL with a message in err. An empty body is {}. */
json_t *sim_json_body_object(const sim_request_t *req, char *err, size_t errlen);

/*
 * Reads a shared secret: the file's text without surrounding whitespace, as
 * issued (not the bytes it may encode), 1 to cap bytes. 0, or -1 with a
 * message in err.
 */
int sim_secret_load(const char *path, unsigned char *out, size_t cap, size_t *len, char *err, size_t errlen);

#endif
