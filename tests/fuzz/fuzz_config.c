/*
 * The configuration loader, lt_config_load() (gateway/core/lt_config.c, with
 * lt_config_payments.c, lt_conf.c and every adapter's settings_load), on the
 * input written to a file: the loader's entry point is a path.
 *
 * The file sits in the scratch directory beside a stand-in file named
 * "secret" (FUZZ_SECRET), so relative paths resolve there and a seed whose
 * every path is "secret" (tests/fuzz/make_seeds.py makes them from config/)
 * loads whole. Checked besides the sanitizers (leaks included): a refusal is
 * a config error with a message, and an accepted config has every adapter
 * it names with its settings.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "lt_adapters.h"
#include "lt_config.h"
#include "lt_modules.h"
#include "lt_text.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char path[256];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    fuzz_init();
    fuzz_file("secret", FUZZ_SECRET "\n");
    snprintf(path, sizeof(path), "%s/config.json", fuzz_dir());
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    FILE *f = fopen(path, "wb");
    if (f == NULL || fwrite(data, 1, size, f) != size || fclose(f) != 0)
        fuzz_fail("cannot write %s", path);
    lt_error_t err = {0};
    lt_config_t *c = lt_config_load(path, lt_adapters, lt_modules, &err);
    if (c == NULL) {
        FUZZ_CHECK(err.kind == LT_ERR_INTERNAL && strcmp(err.code, "config") == 0 && err.detail[0] != '\0',
                   "refused with kind %d, code %s, detail %s", (int)err.kind, err.code, err.detail);
        FUZZ_CHECK(lt_text_is_utf8(err.detail), "refused with a detail that is not UTF-8");
        return 0;
    }
    for (size_t i = 0; i < c->nupstreams; i++) {
        const lt_upstream_conf_t *u = &c->upstreams[i];
        FUZZ_CHECK(u->adapter != NULL && u->settings != NULL && strcmp(u->adapter->name, u->name) == 0,
                   "accepted upstream %s without its adapter or settings", u->name);
        FUZZ_CHECK(u->base_url != NULL && strncmp(u->base_url, "https://", 8) == 0,
                   "accepted upstream %s without an https base_url", u->name);
    }
    lt_config_free(c);
    return 0;
}
