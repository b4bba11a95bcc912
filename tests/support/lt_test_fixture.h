/* Test support shared by every adapter's unit tests: fixture files and text surgery on them (cmocka). */
#ifndef LT_TEST_FIXTURE_H
#define LT_TEST_FIXTURE_H

#include <stddef.h>

#include <libxml/xpath.h>

#include "lt_adapter.h"
#include "lt_arena.h"

/* dir/name in arena memory, NUL-terminated; the test fails if it cannot be read. len may be NULL. */
char *lt_test_read_file(lt_arena_t *a, const char *dir, const char *name, size_t *len);

/* A copy of s with every occurrence of from replaced by to. The test fails when from does not occur, since a
 * replacement that changes nothing would make its test vacuous. */
char *lt_test_replace(lt_arena_t *a, const char *s, const char *from, const char *to);

/* A file in /tmp holding len bytes of text (a secret or key file for settings_load); its path, malloc'd. Remove it
 * with lt_test_temp_file_remove. */
char *lt_test_temp_file(const char *text, size_t len);
void lt_test_temp_file_remove(char *path);

/* adapter->settings_load(json, key) after every placeholder in json (if any) is replaced by the path of a temporary
 * file holding file_text, removed again after the load: a secret file's content is what the test varies. */
int lt_test_settings_load(const lt_adapter_t *adapter, const char *json, const char *placeholder, const char *file_text,
                          const char *key, void **settings, lt_error_t *err);

/* The string value of the single node at an XPath (fails unless exactly one node matches). */
void lt_test_assert_xpath(xmlXPathContextPtr xp, const char *path, const char *want);
/* Exactly n nodes match the XPath. */
void lt_test_assert_xpath_count(xmlXPathContextPtr xp, const char *path, int n);

/* What one parse() of one upstream response gave. */
typedef struct lt_test_outcome {
    lt_step_t step;
    json_t *result;
    lt_error_t err;
} lt_test_outcome_t;

/*
 * Runs op->parse() on one response. Asserts what holds for every adapter: no
 * ICD here is multi-step (never AGAIN), and an answer that is not a record
 * never leaves one behind.
 */
lt_test_outcome_t lt_test_parse(const lt_operation_t *op, lt_call_t *call, long status, const char *content_type,
                                const char *body, size_t len, const char *retry_after);

#endif
