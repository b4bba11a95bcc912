/*
 * The tax adapter's build(): the request the core will send, read back with
 * libxml2's XPath (not the adapter's own helpers) and checked field by field
 * against icd/tax.md ("Request"), including headers, the API key from its
 * file, and escaping of hostile values.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <libxml/parser.h>
#include <libxml/xpath.h>
#include <libxml/xpathInternals.h>
#include <string.h>

#include "fixture.h"
#include "lt_test_fixture.h"
#include "lt_xml.h"

static int setup(void **state)
{
    *state = fixture_call_new(NULL);
    return 0;
}

static int teardown(void **state)
{
    fixture_call_free(*state);
    return 0;
}

typedef struct built {
    xmlDocPtr doc;
    xmlXPathContextPtr xp;
    lt_upstream_request_t req;
} built_t;

static void built_free(built_t *b)
{
    xmlXPathFreeContext(b->xp);
    xmlFreeDoc(b->doc);
}

static built_t build_ok(fixture_call_t *fc)
{
    built_t b = {0};
    lt_error_t err = {0};
    lt_step_t step = fixture_operation()->build(&fc->call, &b.req, &err);
    if (step != LT_STEP_DONE)
        fail_msg("build failed: %s %s", err.code, err.detail);
    assert_non_null(b.req.body);
    assert_int_equal(strlen(b.req.body), b.req.body_len);
    b.doc = xmlReadMemory(b.req.body, (int)b.req.body_len, NULL, NULL, XML_PARSE_NONET);
    assert_non_null(b.doc);
    b.xp = xmlXPathNewContext(b.doc);
    /* A prefix chosen here on purpose: the request uses a default namespace, and only the URI must match. */
    xmlXPathRegisterNs(b.xp, BAD_CAST "q", BAD_CAST "urn:gdt:tracuu:nnt:1.0");
    return b;
}

static void assert_xpath(built_t *b, const char *path, const char *want)
{
    lt_test_assert_xpath(b->xp, path, want);
}

static void assert_count(built_t *b, const char *path, int n)
{
    lt_test_assert_xpath_count(b->xp, path, n);
}

static const char *header_value(const lt_upstream_request_t *req, const char *name)
{
    size_t n = strlen(name);
    for (size_t i = 0; i < req->nheaders; i++)
        if (strncasecmp(req->headers[i], name, n) == 0 && req->headers[i][n] == ':')
            return req->headers[i] + n + 1 + (req->headers[i][n + 1] == ' ');
    return NULL;
}

static void check_document(built_t *b, const char *officer, const char *tax_code)
{
    /* Exactly the ICD's four fields, in its order, all in its namespace. */
    assert_count(b, "/q:YeuCauTraCuu", 1);
    assert_count(b, "/q:YeuCauTraCuu/*", 4);
    assert_count(b, "/q:YeuCauTraCuu/q:*", 4);
    assert_xpath(b, "/q:YeuCauTraCuu/*[1][self::q:MaDonVi]", UNIT_CODE);
    assert_xpath(b, "/q:YeuCauTraCuu/*[2][self::q:MaYeuCau]", MESSAGE_ID);
    assert_xpath(b, "/q:YeuCauTraCuu/*[3][self::q:MaCanBo]", officer);
    assert_xpath(b, "/q:YeuCauTraCuu/*[4][self::q:MST]", tax_code);
}

static void request_matches_icd(void **state)
{
    fixture_call_t *fc = *state;
    built_t b = build_ok(fc);
    assert_string_equal(b.req.method, "POST");
    assert_string_equal(b.req.path, "/api/tracuu/nnt");
    assert_string_equal(header_value(&b.req, "Content-Type"), "application/xml; charset=utf-8");
    /* The key as the file holds it, without the file's surrounding whitespace. */
    assert_string_equal(header_value(&b.req, "X-API-Key"), API_KEY);
    assert_int_equal(b.req.nheaders, 2);
    assert_memory_equal(b.req.body, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>", 38);
    check_document(&b, "CB-0042", TAX_CODE);
    /* The id the response must echo is the one sent. */
    assert_string_equal(fc->call.scratch, MESSAGE_ID);
    built_free(&b);
}

static void branch_code_sent_as_given(void **state)
{
    fixture_call_t *fc = *state;
    json_object_set_new(fc->call.input, "tax_code", json_string("0100233488-001"));
    built_t b = build_ok(fc);
    check_document(&b, "CB-0042", "0100233488-001");
    built_free(&b);
}

/* Values from callers are escaped by the writer: they cannot add elements or break the document. */
static void hostile_officer_escaped(void **state)
{
    fixture_call_t *fc = *state;
    const char *officer = "CB</MaCanBo><MST>0100233488-999</MST><x a=\"&amp;'\">Đặng";
    fc->ctx.officer_id = officer;
    built_t b = build_ok(fc);
    check_document(&b, officer, TAX_CODE);
    built_free(&b);
}

static void bad_context_refused(void **state)
{
    fixture_call_t *fc = *state;
    lt_upstream_request_t req;
    lt_error_t err;
    fc->ctx.officer_id = NULL;
    assert_int_equal(fixture_operation()->build(&fc->call, &req, &err), LT_STEP_FAIL);
    assert_int_equal(lt_error_http_status(err.kind), 400);
    assert_string_equal(err.code, "missing_header");
    fc->ctx.officer_id = "";
    assert_int_equal(fixture_operation()->build(&fc->call, &req, &err), LT_STEP_FAIL);
    assert_string_equal(err.code, "missing_header");
    fc->ctx.officer_id = "CB\x01";
    assert_int_equal(fixture_operation()->build(&fc->call, &req, &err), LT_STEP_FAIL);
    assert_int_equal(lt_error_http_status(err.kind), 400);
    assert_string_equal(err.code, "invalid_header");
    fc->ctx.officer_id = "CB-0042";
    fc->ctx.message_id = "not-a-uuid";
    assert_int_equal(fixture_operation()->build(&fc->call, &req, &err), LT_STEP_FAIL);
    assert_int_equal(lt_error_http_status(err.kind), 500);
}

/* build() runs again for every retry; each run must give a complete, identical request. */
static void rebuild_is_stable(void **state)
{
    fixture_call_t *fc = *state;
    built_t a = build_ok(fc);
    fc->call.attempt = 1;
    built_t b = build_ok(fc);
    assert_int_equal(a.req.body_len, b.req.body_len);
    assert_memory_equal(a.req.body, b.req.body, a.req.body_len);
    built_free(&a);
    built_free(&b);
}

int main(void)
{
    lt_xml_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(request_matches_icd, setup, teardown),
        cmocka_unit_test_setup_teardown(branch_code_sent_as_given, setup, teardown),
        cmocka_unit_test_setup_teardown(hostile_officer_escaped, setup, teardown),
        cmocka_unit_test_setup_teardown(bad_context_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(rebuild_is_stable, setup, teardown),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    fixture_files_cleanup();
    return rc;
}
