/*
 * sim_buf: the growable buffer behind every response body the simulator writes.
 */
#include "sim_buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void sim_buf_init(sim_buf_t *b)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
}

void sim_buf_free(sim_buf_t *b)
{
    free(b->data);
    sim_buf_init(b);
}

static void sim_buf_reserve(sim_buf_t *b, size_t extra)
{
    size_t need = b->len + extra + 1;
    if (need <= b->cap)
        return;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < need)
        cap *= 2;
    char *p = realloc(b->data, cap);
    if (p == NULL) {
        fputs("lienthong-sim: out of memory\n", stderr);
        abort();
    }
    b->data = p;
    b->cap = cap;
}

void sim_buf_append(sim_buf_t *b, const void *data, size_t len)
{
    sim_buf_reserve(b, len);
    if (len)
        memcpy(b->data + b->len, data, len);
    b->len += len;
    b->data[b->len] = '\0';
}

void sim_buf_puts(sim_buf_t *b, const char *s)
{
    sim_buf_append(b, s, strlen(s));
}

void sim_buf_printf(sim_buf_t *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    sim_buf_reserve(b, (size_t)n);
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

void sim_buf_xml_text(sim_buf_t *b, const char *s)
{
    const char *run = s;
    for (; *s; s++) {
        const char *esc = NULL;
        switch (*s) {
        case '&':
            esc = "&amp;";
            break;
        case '<':
            esc = "&lt;";
            break;
        case '>':
            esc = "&gt;";
            break;
        case '"':
            esc = "&quot;";
            break;
        case '\'':
            esc = "&apos;";
            break;
        default:
            continue;
        }
        sim_buf_append(b, run, (size_t)(s - run));
        sim_buf_puts(b, esc);
        run = s + 1;
    }
    sim_buf_append(b, run, (size_t)(s - run));
}

void sim_buf_xml_element(sim_buf_t *b, const char *name, const char *text)
{
    if (text == NULL || *text == '\0') {
        sim_buf_printf(b, "<%s/>", name);
        return;
    }
    sim_buf_printf(b, "<%s>", name);
    sim_buf_xml_text(b, text);
    sim_buf_printf(b, "</%s>", name);
}
