/*
 * A growable byte buffer, kept NUL-terminated so that text in it can be used as a C string: what the metrics page,
 * the journals' records, the audit trail's lines, an upstream's answer and the hit path's JSON are written into.
 * Running out of memory aborts, as the arena does: the process has nothing sensible left to do.
 */
#ifndef LT_BUF_H
#define LT_BUF_H

#include <stddef.h>

typedef struct lt_buf {
    char *data; /* NULL until the first write; then malloc'd and NUL-terminated */
    size_t len, cap;
} lt_buf_t;

/* Room for more further bytes (and the NUL); an empty buffer starts at 4 KiB, and a full one doubles. */
void lt_buf_reserve(lt_buf_t *b, size_t more);
/* An empty buffer that already holds cap bytes: for a writer that knows its usual size. */
void lt_buf_init(lt_buf_t *b, size_t cap);
void lt_buf_add(lt_buf_t *b, const void *s, size_t n);
void lt_buf_adds(lt_buf_t *b, const char *s);
void lt_buf_printf(lt_buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Hands the bytes over to the caller (who frees them) and leaves the buffer empty; NULL if nothing was written. */
char *lt_buf_take(lt_buf_t *b);
void lt_buf_free(lt_buf_t *b);

#endif
