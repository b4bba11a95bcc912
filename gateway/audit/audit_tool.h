/*
 * lienthong-audit's commands (gateway/audit/): verify, who-read and inventory; audit_files.h reads the files. The
 * trail's format is the ground's (lt_audit_format.h), the same code the gateway's writer uses.
 */
#ifndef AUDIT_TOOL_H
#define AUDIT_TOOL_H

#include "lt_audit_format.h"

enum { EXIT_OK = 0, EXIT_BAD = 1, EXIT_USAGE = 2 };

int cmd_verify(int argc, char **argv);
int cmd_who_read(int argc, char **argv);
int cmd_inventory(int argc, char **argv);

#endif
