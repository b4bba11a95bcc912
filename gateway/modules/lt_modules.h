/*
 * The table of every module the build knows (lt_module.h), generated from the
 * folders under gateway/modules/ (module_table.c.in). Only the roof includes
 * this: it hands the table to the config loader, and through the config
 * snapshot to the workers, the router, admin and status.
 */
#ifndef LT_MODULES_H
#define LT_MODULES_H

#include "lt_module.h"

extern const lt_module_t *const lt_modules[];

#endif
