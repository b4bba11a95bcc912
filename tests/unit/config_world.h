/*
 * A scratch directory for the unit tests that load a configuration file: the path of the file to write, and one
 * secret file that every file key of it may name (the loader checks that files exist and read; what a secret must
 * hold, 32 hex digits here, is enough for each of them). cmocka setup and teardown functions.
 */
#ifndef CONFIG_WORLD_H
#define CONFIG_WORLD_H

typedef struct config_world {
    char dir[64];
    char config[128], secret[128];
} config_world_t;

/* *state becomes a new world: a fresh directory under /tmp with its secret written. */
int config_world_setup(void **state);

/* Removes the directory and what the test wrote in it (the configuration and the secret). */
int config_world_teardown(void **state);

#endif
