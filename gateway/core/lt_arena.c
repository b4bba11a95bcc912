/* Request arena: bump allocation in chained blocks plus a cleanup list. */
#include "lt_arena.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LT_ARENA_BLOCK 4096
#define LT_ARENA_ALIGN 16

typedef struct lt_block {
    struct lt_block *next;
    size_t used, size;
    _Alignas(LT_ARENA_ALIGN) unsigned char data[];
} lt_block_t;

typedef struct lt_cleanup {
    struct lt_cleanup *next;
    lt_cleanup_fn fn;
    void *data;
} lt_cleanup_t;

struct lt_arena {
    lt_block_t *blocks;
    lt_cleanup_t *cleanups;
};

static void *xmalloc(size_t n)
{
    void *p = malloc(n);
    if (p == NULL) {
        fputs("lienthong: out of memory\n", stderr);
        abort();
    }
    return p;
}

lt_arena_t *lt_arena_new(void)
{
    lt_arena_t *a = xmalloc(sizeof(*a));
    a->blocks = NULL;
    a->cleanups = NULL;
    return a;
}

void lt_arena_destroy(lt_arena_t *arena)
{
    if (arena == NULL)
        return;
    /* Cleanups first: they may still read arena memory. */
    for (lt_cleanup_t *c = arena->cleanups; c != NULL; c = c->next)
        c->fn(c->data);
    lt_block_t *b = arena->blocks;
    while (b != NULL) {
        lt_block_t *next = b->next;
        free(b);
        b = next;
    }
    free(arena);
}

void *lt_arena_alloc(lt_arena_t *arena, size_t size)
{
    size_t need = (size + LT_ARENA_ALIGN - 1) & ~(size_t)(LT_ARENA_ALIGN - 1);
    if (need == 0)
        need = LT_ARENA_ALIGN;
    lt_block_t *b = arena->blocks;
    if (b == NULL || b->size - b->used < need) {
        size_t cap = need > LT_ARENA_BLOCK ? need : LT_ARENA_BLOCK;
        lt_block_t *nb = xmalloc(sizeof(*nb) + cap);
        nb->size = cap;
        nb->used = 0;
        /* A large one-off allocation goes behind the current block so the
         * current block's free space stays usable for small allocations. */
        if (b != NULL && need > LT_ARENA_BLOCK) {
            nb->next = b->next;
            b->next = nb;
        } else {
            nb->next = b;
            arena->blocks = nb;
        }
        b = nb;
    }
    void *p = b->data + b->used;
    b->used += need;
    memset(p, 0, size);
    return p;
}

char *lt_arena_strndup(lt_arena_t *arena, const char *s, size_t n)
{
    if (s == NULL)
        return NULL;
    char *d = lt_arena_alloc(arena, n + 1);
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

char *lt_arena_join(lt_arena_t *arena, const char *const *parts, size_t nparts)
{
    size_t n = 1;
    for (size_t i = 0; i < nparts; i++)
        n += strlen(parts[i]);
    char *out = lt_arena_alloc(arena, n), *p = out;
    for (size_t i = 0; i < nparts; i++)
        p = stpcpy(p, parts[i]);
    return out;
}

char *lt_arena_strdup(lt_arena_t *arena, const char *s)
{
    return s == NULL ? NULL : lt_arena_strndup(arena, s, strlen(s));
}

char *lt_arena_vsprintf(lt_arena_t *arena, const char *fmt, va_list ap)
{
    va_list copy;
    va_copy(copy, ap);
    int n = vsnprintf(NULL, 0, fmt, copy);
    va_end(copy);
    if (n < 0)
        return lt_arena_strdup(arena, "");
    char *d = lt_arena_alloc(arena, (size_t)n + 1);
    vsnprintf(d, (size_t)n + 1, fmt, ap);
    return d;
}

char *lt_arena_sprintf(lt_arena_t *arena, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *d = lt_arena_vsprintf(arena, fmt, ap);
    va_end(ap);
    return d;
}

void lt_arena_on_destroy(lt_arena_t *arena, lt_cleanup_fn fn, void *data)
{
    lt_cleanup_t *c = lt_arena_alloc(arena, sizeof(*c));
    c->fn = fn;
    c->data = data;
    c->next = arena->cleanups;
    arena->cleanups = c;
}
