/*
 * Configuration reload (roof): POST /reload on the admin listener and SIGHUP.
 * The smallest honest version: re-read the configuration file and check it as
 * --check-config does (every key, every certificate and key file), apply what
 * can change in a running process, and name everything else that changed and
 * needs a restart. Nothing is half-applied: a file that does not load changes
 * nothing.
 *
 * Applied live: log_level, and the api listener's revocation lists (listeners.api.crl_files, crl_expired,
 * crl_warn_interval_s): the files are read again on every reload, checked, and a new trust is put in force for new
 * connections (lt_tls_trust_install). Needs a restart: every other key, and certificate
 * files whose content changed under an unchanged path (a renewed certificate
 * is picked up by a rolling restart, which drains; see docs/operations.md).
 */
#ifndef LT_RELOAD_H
#define LT_RELOAD_H

#include <jansson.h>
#include <openssl/ssl.h>

#include "lt_config.h"

/*
 * Reloads `path` against the running configuration (`running`, and `running_raw`, the file's JSON as it was
 * loaded). Fills report: {"applied": [...], "restart_needed": [...], "error"?}. Returns the HTTP status to answer:
 * module_state is the modules' process state (per module of running->modules), for their reload hooks; api_tls the
 * api listener's shared context, whose revocation lists a valid reload replaces.
 * 200 when the file is valid, 400 when it is not (nothing applied).
 */
int lt_reload_run(const char *path, const lt_config_t *running, const json_t *running_raw, void *const *module_state,
                  SSL_CTX *api_tls, json_t *report);

#endif
