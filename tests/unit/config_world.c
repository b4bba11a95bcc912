#include "config_world.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int config_world_setup(void **state)
{
    config_world_t *w = calloc(1, sizeof(*w));
    snprintf(w->dir, sizeof(w->dir), "/tmp/lt-config-test-XXXXXX");
    assert_non_null(mkdtemp(w->dir));
    snprintf(w->config, sizeof(w->config), "%s/gateway.json", w->dir);
    snprintf(w->secret, sizeof(w->secret), "%s/secret", w->dir);
    FILE *f = fopen(w->secret, "w");
    assert_non_null(f);
    fputs("0123456789abcdef0123456789abcdef\n", f);
    fclose(f);
    *state = w;
    return 0;
}

int config_world_teardown(void **state)
{
    config_world_t *w = *state;
    unlink(w->config);
    unlink(w->secret);
    rmdir(w->dir);
    free(w);
    return 0;
}
