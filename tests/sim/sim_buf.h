/*
 * sim_buf: a growable byte buffer for building response bodies.
 *
 * The simulator writes its XML and JSON by hand so that it controls every
 * namespace prefix and byte on the wire. Running out of memory aborts: a test
 * stand-in has no better answer, and it keeps every caller free of error paths
 * that could never be exercised.
 */
#ifndef SIM_BUF_H
#define SIM_BUF_H

#include <stddef.h>

typedef struct sim_buf {
    char *data; /* always NUL-terminated once anything was appended */
    size_t len;
    size_t cap;
} sim_buf_t;

void sim_buf_init(sim_buf_t *b);
void sim_buf_free(sim_buf_t *b);
void sim_buf_append(sim_buf_t *b, const void *data, size_t len);
void sim_buf_puts(sim_buf_t *b, const char *s);
void sim_buf_printf(sim_buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Appends s with the five XML special characters escaped, safe in text and in attribute values. */
void sim_buf_xml_text(sim_buf_t *b, const char *s);
/* Appends <name>escaped text</name>, or <name/> when text is NULL or empty. */
void sim_buf_xml_element(sim_buf_t *b, const char *name, const char *text);

#endif
