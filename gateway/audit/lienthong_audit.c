/*
 * lienthong-audit: the data protection officer's tool over the gateway's audit trail (docs/operations.md,
 * "The audit trail"). It reads files; it talks to no gateway.
 *
 *   verify FILES...               is the chain intact? names the first bad line (file:line), exit 1
 *   who-read ID [--from T] [--to T] [--json] [--scan] FILES...
 *                                 every access to one subject: when, which client, officer, purpose, fields
 *   inventory --config FILE [--json]
 *                                 every (client, operation, fields, purpose rule) a configuration allows
 *
 * Exit codes: 0 done (verify: intact), 1 a bad trail or an unreadable file, 2 usage.
 */
#include <stdlib.h>
#include <string.h>

#include "audit_files.h"
#include "audit_tool.h"

static void usage(FILE *out)
{
    fputs("Usage: lienthong-audit COMMAND [ARGS]\n"
          "\n"
          "Reads the audit trail of lienthong-gateway: one chained JSON line per personal-data\n"
          "operation, in audit-*.jsonl files under the configuration's audit.dir.\n"
          "\n"
          "Commands:\n"
          "  verify FILE|DIR...          check the hash chain: an edited, removed, inserted or\n"
          "                              reordered line is named (file:line) and exits 1; 0 means intact.\n"
          "                              A directory means its trail files in order.\n"
          "  who-read ID [--from T] [--to T] [--json] [--scan] FILE|DIR...\n"
          "                              every record about one subject (identification number, tax code,\n"
          "                              payment id...): time, client, officer, purpose, operation, status\n"
          "                              and the fields released. T: 2026-11-22 or 2026-11-22T08:00[:00]\n"
          "                              with Z or +07:00 (default +07:00); --to with a date alone\n"
          "                              includes that day. --scan ignores the index files.\n"
          "  inventory --config FILE [--json]\n"
          "                              every client, the operations it may use, the fields it may\n"
          "                              receive and the purpose it must state: the processing inventory\n"
          "                              of an impact assessment\n"
          "\n"
          "  -h, --help                  this text\n"
          "  -V, --version               the version\n"
          "\n"
          "Exit codes: 0 done (verify: intact), 1 a bad trail or an unreadable file, 2 usage error.\n",
          out);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "-h") == 0 || strcmp(cmd, "--help") == 0) {
        usage(stdout);
        return EXIT_OK;
    }
    if (strcmp(cmd, "-V") == 0 || strcmp(cmd, "--version") == 0) {
        printf("lienthong-audit %s\n", LT_VERSION);
        return EXIT_OK;
    }
    if (strcmp(cmd, "verify") == 0)
        return cmd_verify(argc - 1, argv + 1);
    if (strcmp(cmd, "who-read") == 0)
        return cmd_who_read(argc - 1, argv + 1);
    if (strcmp(cmd, "inventory") == 0)
        return cmd_inventory(argc - 1, argv + 1);
    fprintf(stderr, "lienthong-audit: unknown command '%s'\n\n", cmd);
    usage(stderr);
    return EXIT_USAGE;
}
