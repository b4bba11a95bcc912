/* Checking and freeing a section's Redis settings (lt_config_redis.h). */
#include "lt_config_redis.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

static int redis_fail(lt_error_t *err, const char *path, const char *what)
{
    return lt_error_set(err, LT_ERR_INTERNAL, "config", "%s.%s", path, what);
}

/* "host:port" each, read out of the borrowed list so that the loaded config keeps no JSON. */
static int read_sentinels(lt_redis_conf_t *rc, const char *path, lt_error_t *err)
{
    const json_t *list = rc->sentinels_list;
    rc->sentinels_list = NULL;
    if (list == NULL)
        return 0;
    size_t n = json_array_size(list);
    if (n == 0 || n > 16)
        return redis_fail(err, path, "sentinels: list 1 to 16 Sentinels, \"host:port\" each");
    rc->sentinels = calloc(n, sizeof(*rc->sentinels));
    for (size_t i = 0; i < n; i++) {
        const char *a = json_string_value(json_array_get(list, i));
        const char *colon = a != NULL ? strrchr(a, ':') : NULL;
        if (a == NULL || colon == NULL || colon == a || atoi(colon + 1) <= 0 || atoi(colon + 1) > 65535)
            return lt_error_set(err, LT_ERR_INTERNAL, "config", "%s.sentinels[%zu]: want \"host:port\"", path, i);
        rc->sentinels[rc->nsentinels++] = strdup(a);
    }
    return 0;
}

int lt_config_check_redis(lt_redis_conf_t *rc, const char *path, lt_error_t *err)
{
    bool listed = rc->sentinels_list != NULL;
    if (read_sentinels(rc, path, err) != 0)
        return -1;
    if (listed && rc->address != NULL)
        return redis_fail(err, path, "address: give either address or sentinels with master_name, not both");
    if (listed && (rc->master_name == NULL || rc->master_name[0] == '\0'))
        return redis_fail(err, path, "master_name: required with sentinels: the name the Sentinels monitor");
    if (!listed && rc->master_name != NULL)
        return redis_fail(err, path, "sentinels: required with master_name");
    if (!listed && (rc->sentinel_password_file != NULL || rc->sentinel_username != NULL))
        return redis_fail(err, path, "sentinels: required with sentinel_password_file and sentinel_username");
    if (rc->username != NULL && rc->password_file == NULL)
        return redis_fail(err, path, "password_file: required with username");
    if (rc->sentinel_username != NULL && rc->sentinel_password_file == NULL)
        return redis_fail(err, path, "sentinel_password_file: required with sentinel_username");
    if (!listed && rc->address == NULL)
        rc->address = strdup("127.0.0.1:6379");
    if (rc->wait_replicas < 0)
        rc->wait_replicas = listed ? 1 : 0;
    if (rc->reconnect_max_ms < rc->reconnect_min_ms)
        return lt_error_set(err, LT_ERR_INTERNAL, "config", "%s.reconnect_max_ms: must be at least reconnect_min_ms",
                            path);
    if (rc->wait_replicas > 0 && rc->wait_timeout_ms >= rc->timeout_ms)
        return redis_fail(err, path, "wait_timeout_ms: must be below timeout_ms, which bounds the WAIT too");
    return 0;
}

void lt_config_free_redis(lt_redis_conf_t *rc)
{
    free(rc->address);
    free(rc->password_file);
    for (size_t i = 0; i < rc->nsentinels; i++)
        free(rc->sentinels[i]);
    free(rc->sentinels);
    free(rc->master_name);
    free(rc->username);
    free(rc->sentinel_password_file);
    free(rc->sentinel_username);
}
