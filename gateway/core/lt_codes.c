/* Looking codes up in the adapters' code tables. */
#include "lt_codes.h"

#include <string.h>

const lt_code_t *lt_code_lookup(const lt_code_table_t *table, const char *source)
{
    if (source == NULL)
        return NULL;
    for (size_t i = 0; i < table->nrows; i++)
        if (strcmp(table->rows[i].source, source) == 0)
            return &table->rows[i];
    return NULL;
}

const char *lt_code_value(const lt_code_table_t *table, const char *source)
{
    const lt_code_t *row = lt_code_lookup(table, source);
    return row != NULL ? row->value : NULL;
}
