/*
 * The table of every national system the build knows (nginx's ngx_modules[]).
 * Registering a new adapter is one extern line and one table entry here.
 */
#include "lt_adapter.h"

extern const lt_adapter_t lt_population_adapter;

const lt_adapter_t *const lt_adapters[] = {
    &lt_population_adapter,
    NULL,
};
