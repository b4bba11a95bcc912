/* The growable byte buffer (lt_buf.h). */
#include "lt_buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_CAP 4096

static void grow_to(lt_buf_t *b, size_t cap)
{
    char *p = realloc(b->data, cap);
    if (p == NULL)
        abort();
    b->data = p;
    b->cap = cap;
}

void lt_buf_init(lt_buf_t *b, size_t cap)
{
    b->data = NULL;
    b->len = b->cap = 0;
    grow_to(b, cap > 0 ? cap : DEFAULT_CAP);
    b->data[0] = '\0';
}

void lt_buf_reserve(lt_buf_t *b, size_t more)
{
    if (b->len + more + 1 <= b->cap)
        return;
    size_t cap = b->cap ? b->cap : DEFAULT_CAP;
    while (cap < b->len + more + 1)
        cap *= 2;
    grow_to(b, cap);
}

void lt_buf_add(lt_buf_t *b, const void *s, size_t n)
{
    lt_buf_reserve(b, n);
    if (n > 0)
        memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void lt_buf_adds(lt_buf_t *b, const char *s)
{
    lt_buf_add(b, s, strlen(s));
}

void lt_buf_printf(lt_buf_t *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n <= 0)
        return;
    lt_buf_reserve(b, (size_t)n);
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

char *lt_buf_take(lt_buf_t *b)
{
    char *data = b->data;
    b->data = NULL;
    b->len = b->cap = 0;
    return data;
}

void lt_buf_free(lt_buf_t *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}
