/*
 * One memory arena per request, with cleanup handlers (nginx ngx_pool_t, h2o
 * h2o_mem_pool_t). Everything a request allocates, including libxml2 documents
 * and jansson values registered with lt_arena_on_destroy(), is released in one
 * place when the request ends, whichever callback ends it.
 */
#ifndef LT_ARENA_H
#define LT_ARENA_H

#include <stdarg.h>
#include <stddef.h>

typedef struct lt_arena lt_arena_t;
typedef void (*lt_cleanup_fn)(void *data);

lt_arena_t *lt_arena_new(void);
/* Runs cleanups in reverse order of registration, then frees every block. NULL is a no-op. */
void lt_arena_destroy(lt_arena_t *arena);

/* Allocation never fails: out of memory aborts the process, as nginx and Redis do. */
void *lt_arena_alloc(lt_arena_t *arena, size_t size);    /* zeroed */
char *lt_arena_strdup(lt_arena_t *arena, const char *s); /* NULL in, NULL out */
char *lt_arena_strndup(lt_arena_t *arena, const char *s, size_t n);
/* The strings one after another: for names a request builds every time, where a format string costs more. */
char *lt_arena_join(lt_arena_t *arena, const char *const *parts, size_t nparts);
char *lt_arena_sprintf(lt_arena_t *arena, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
char *lt_arena_vsprintf(lt_arena_t *arena, const char *fmt, va_list ap);

/* Register fn(data) to run when the arena is destroyed. */
void lt_arena_on_destroy(lt_arena_t *arena, lt_cleanup_fn fn, void *data);

#endif
