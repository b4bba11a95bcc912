/*
 * The table of every national system the build knows (nginx's ngx_modules[]).
 * Registering a new adapter is one extern line and one table entry here.
 */
#include "lt_adapter.h"

#include <string.h>

extern const lt_adapter_t lt_population_adapter;

const lt_adapter_t *const lt_adapters[] = {
    &lt_population_adapter,
    NULL,
};

const lt_adapter_t *lt_adapter_find(const char *name)
{
    for (size_t i = 0; lt_adapters[i] != NULL; i++)
        if (strcmp(lt_adapters[i]->name, name) == 0)
            return lt_adapters[i];
    return NULL;
}
