/* Shared helpers for the population adapter's unit tests: fixture files, settings, a call to run. */
#ifndef LT_POPULATION_TEST_FIXTURE_H
#define LT_POPULATION_TEST_FIXTURE_H

#include <jansson.h>
#include <stddef.h>

#include "lt_adapter.h"

#define MESSAGE_ID "6f1c2b9e-3d4a-4b5c-8d7e-9f0a1b2c3d4e"

/* The settings every test uses: config/dev.json's population service section. */
#define SETTINGS_JSON                                                                                                  \
    "{\"xroad_instance\":\"VN\",\"member_class\":\"GOV\",\"member_code\":\"000.00.00.H53\","                           \
    "\"subsystem_code\":\"LGSP\",\"service_member_code\":\"000.00.00.G01\",\"service_subsystem_code\":\"CSDLQGDC\","   \
    "\"service_version\":\"v1\",\"integration_code\":\"037\",\"default_procedure_code\":\"1.001612\"}"

/* fixtures/<name> in arena memory, NUL-terminated; the test fails if it cannot be read. */
char *fixture_read(lt_arena_t *a, const char *name, size_t *len);

/* A copy of s with every occurrence of from replaced by to, in arena memory. */
char *fixture_replace(lt_arena_t *a, const char *s, const char *from, const char *to);

/* base64(SHA-512(data)) computed here with OpenSSL's BIO base64 filter, independent of the adapter's code. */
char *fixture_sha512_base64(lt_arena_t *a, const char *data, size_t len);

/* The adapter's operation by name ("lookup", "verify"). */
const lt_operation_t *fixture_operation(const char *name);

/* One test's world: arena, settings, context, input, the request that was "sent". */
typedef struct fixture_call {
    lt_arena_t *arena;
    void *settings;
    lt_call_context_t ctx;
    lt_upstream_request_t sent;
    lt_call_t call;
} fixture_call_t;

/* Sets up a call for SoDinhDanh 001095012345, Nguyễn Văn An, 1995-03-12, sent = fixtures/request-<op>.xml. */
fixture_call_t *fixture_call_new(const char *op);
void fixture_call_free(fixture_call_t *fc);

#endif
