/*
 * Code tables: what a national system's code means, as const data (style.md:
 * code tables are data, not scattered ifs). Each adapter declares its tables
 * from its ICD with these types, in its own codes.c; a code a table does not
 * know has no meaning (JSON null, with the source code kept), never a guess.
 */
#ifndef LT_CODES_H
#define LT_CODES_H

#include <stddef.h>

typedef struct lt_code {
    const char *source; /* the upstream code as the ICD writes it (NFC), e.g. "CTCP" */
    const char *value;  /* its canonical meaning: an English enum ("joint_stock"), or a name ("Kinh") */
    const char *label;  /* what the ICD calls it, for people and documentation; NULL when it gives nothing more */
} lt_code_t;

typedef struct lt_code_table {
    const char *field; /* the ICD field or element, e.g. "loaiHinh.ma", for documentation and tests */
    const lt_code_t *rows;
    size_t nrows;
} lt_code_table_t;

/* A table over a static array of rows: LT_CODE_TABLE("TrangThai", status_rows). */
#define LT_CODE_TABLE(field, rows)                                                                                     \
    {                                                                                                                  \
        (field), (rows), sizeof(rows) / sizeof((rows)[0])                                                              \
    }

/* The row of a source code, or NULL when the table does not know it (or source is NULL). */
const lt_code_t *lt_code_lookup(const lt_code_table_t *table, const char *source);

/* The canonical value of a source code, or NULL when the table does not know it. */
const char *lt_code_value(const lt_code_table_t *table, const char *source);

#endif
