/* A string-keyed hash map (chained, FNV-1a), for the journal backend's in-memory tables. Not thread-safe. */
#ifndef LT_PAY_MAP_H
#define LT_PAY_MAP_H

#include <stddef.h>

typedef struct lt_pay_map_node {
    char *key;
    void *val;
    struct lt_pay_map_node *next;
} lt_pay_map_node_t;

typedef struct lt_pay_map {
    lt_pay_map_node_t **buckets;
    size_t nbuckets, n;
} lt_pay_map_t;

void lt_pay_map_init(lt_pay_map_t *m);
/* Frees the nodes and keys; values are the caller's (free them first with lt_pay_map_foreach). */
void lt_pay_map_clear(lt_pay_map_t *m);
void *lt_pay_map_get(const lt_pay_map_t *m, const char *key);
/* Sets key to val; returns the value it replaces, or NULL. */
void *lt_pay_map_put(lt_pay_map_t *m, const char *key, void *val);
/* Removes key; returns its value, or NULL. */
void *lt_pay_map_del(lt_pay_map_t *m, const char *key);
void lt_pay_map_foreach(const lt_pay_map_t *m, void (*fn)(void *ctx, const char *key, void *val), void *ctx);

#endif
