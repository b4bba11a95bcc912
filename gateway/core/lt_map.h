/* A string-keyed hash map (chained, FNV-1a), for the journal backends' in-memory tables. Not thread-safe. */
#ifndef LT_MAP_H
#define LT_MAP_H

#include <stddef.h>

typedef struct lt_map_node {
    char *key;
    void *val;
    struct lt_map_node *next;
} lt_map_node_t;

typedef struct lt_map {
    lt_map_node_t **buckets;
    size_t nbuckets, n;
} lt_map_t;

void lt_map_init(lt_map_t *m);
/* Frees the nodes and keys; values are the caller's (free them first with lt_map_foreach). */
void lt_map_clear(lt_map_t *m);
void *lt_map_get(const lt_map_t *m, const char *key);
/* Sets key to val; returns the value it replaces, or NULL. */
void *lt_map_put(lt_map_t *m, const char *key, void *val);
/* Removes key; returns its value, or NULL. */
void *lt_map_del(lt_map_t *m, const char *key);
void lt_map_foreach(const lt_map_t *m, void (*fn)(void *ctx, const char *key, void *val), void *ctx);

#endif
