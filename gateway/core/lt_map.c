/* A string-keyed hash map: chained buckets, doubled when the load passes 1. */
#include "lt_map.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static uint64_t hash(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

void lt_map_init(lt_map_t *m)
{
    m->nbuckets = 64;
    m->n = 0;
    m->buckets = calloc(m->nbuckets, sizeof(*m->buckets));
}

void lt_map_clear(lt_map_t *m)
{
    for (size_t i = 0; i < m->nbuckets; i++) {
        for (lt_map_node_t *n = m->buckets[i], *next; n != NULL; n = next) {
            next = n->next;
            free(n->key);
            free(n);
        }
    }
    free(m->buckets);
    m->buckets = NULL;
    m->nbuckets = m->n = 0;
}

static lt_map_node_t **slot(const lt_map_t *m, const char *key)
{
    lt_map_node_t **at = &m->buckets[hash(key) & (m->nbuckets - 1)];
    while (*at != NULL && strcmp((*at)->key, key) != 0)
        at = &(*at)->next;
    return at;
}

void *lt_map_get(const lt_map_t *m, const char *key)
{
    lt_map_node_t *n = *slot(m, key);
    return n != NULL ? n->val : NULL;
}

static void grow(lt_map_t *m)
{
    size_t nb = m->nbuckets * 2;
    lt_map_node_t **b = calloc(nb, sizeof(*b));
    for (size_t i = 0; i < m->nbuckets; i++) {
        for (lt_map_node_t *n = m->buckets[i], *next; n != NULL; n = next) {
            next = n->next;
            size_t at = hash(n->key) & (nb - 1);
            n->next = b[at];
            b[at] = n;
        }
    }
    free(m->buckets);
    m->buckets = b;
    m->nbuckets = nb;
}

void *lt_map_put(lt_map_t *m, const char *key, void *val)
{
    lt_map_node_t **at = slot(m, key);
    if (*at != NULL) {
        void *old = (*at)->val;
        (*at)->val = val;
        return old;
    }
    lt_map_node_t *n = calloc(1, sizeof(*n));
    n->key = strdup(key);
    n->val = val;
    *at = n;
    if (++m->n > m->nbuckets)
        grow(m);
    return NULL;
}

void *lt_map_del(lt_map_t *m, const char *key)
{
    lt_map_node_t **at = slot(m, key);
    lt_map_node_t *n = *at;
    if (n == NULL)
        return NULL;
    void *val = n->val;
    *at = n->next;
    free(n->key);
    free(n);
    m->n--;
    return val;
}

void lt_map_foreach(const lt_map_t *m, void (*fn)(void *ctx, const char *key, void *val), void *ctx)
{
    for (size_t i = 0; i < m->nbuckets; i++)
        for (lt_map_node_t *n = m->buckets[i]; n != NULL; n = n->next)
            fn(ctx, n->key, n->val);
}
