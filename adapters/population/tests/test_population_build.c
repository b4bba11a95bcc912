/*
 * The population adapter's build(): the request the core will send, read back
 * with libxml2's XPath (not the adapter's own helpers) and checked field by
 * field against icd/population.md, including escaping of hostile values.
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
    *state = fixture_call_new("lookup");
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

static built_t build_ok(fixture_call_t *fc, const char *op)
{
    built_t b = {0};
    lt_error_t err = {0};
    lt_step_t step = fixture_operation(op)->build(&fc->call, &b.req, &err);
    if (step != LT_STEP_DONE)
        fail_msg("build failed: %s %s", err.code, err.detail);
    assert_non_null(b.req.body);
    assert_int_equal(strlen(b.req.body), b.req.body_len);
    b.doc = xmlReadMemory(b.req.body, (int)b.req.body_len, NULL, NULL, XML_PARSE_NONET);
    assert_non_null(b.doc);
    b.xp = xmlXPathNewContext(b.doc);
    /* Prefixes chosen here on purpose unlike the request's: only the URIs must match. */
    xmlXPathRegisterNs(b.xp, BAD_CAST "s", BAD_CAST "http://schemas.xmlsoap.org/soap/envelope/");
    xmlXPathRegisterNs(b.xp, BAD_CAST "x", BAD_CAST "http://x-road.eu/xsd/xroad.xsd");
    xmlXPathRegisterNs(b.xp, BAD_CAST "i", BAD_CAST "http://x-road.eu/xsd/identifiers");
    xmlXPathRegisterNs(b.xp, BAD_CAST "d", BAD_CAST "http://dancuquocgia.bca");
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

static void check_envelope(built_t *b, const char *op, const char *procedure)
{
    char p[256];
    assert_count(b, "/s:Envelope/*", 2);
    assert_count(b, "/s:Envelope/s:Header/*", 6);
    assert_xpath(b, "/s:Envelope/s:Header/x:client/@i:objectType", "SUBSYSTEM");
    assert_xpath(b, "/s:Envelope/s:Header/x:client/i:xRoadInstance", "VN");
    assert_xpath(b, "/s:Envelope/s:Header/x:client/i:memberClass", "GOV");
    assert_xpath(b, "/s:Envelope/s:Header/x:client/i:memberCode", "000.00.00.H53");
    assert_xpath(b, "/s:Envelope/s:Header/x:client/i:subsystemCode", "LGSP");
    assert_count(b, "/s:Envelope/s:Header/x:client/*", 4);
    assert_xpath(b, "/s:Envelope/s:Header/x:service/@i:objectType", "SERVICE");
    assert_xpath(b, "/s:Envelope/s:Header/x:service/i:xRoadInstance", "VN");
    assert_xpath(b, "/s:Envelope/s:Header/x:service/i:memberClass", "GOV");
    assert_xpath(b, "/s:Envelope/s:Header/x:service/i:memberCode", "000.00.00.G01");
    assert_xpath(b, "/s:Envelope/s:Header/x:service/i:subsystemCode", "CSDLQGDC");
    assert_xpath(b, "/s:Envelope/s:Header/x:service/i:serviceCode", op);
    assert_xpath(b, "/s:Envelope/s:Header/x:service/i:serviceVersion", "v1");
    assert_count(b, "/s:Envelope/s:Header/x:service/*", 6);
    assert_xpath(b, "/s:Envelope/s:Header/x:id", MESSAGE_ID);
    assert_xpath(b, "/s:Envelope/s:Header/x:protocolVersion", "4.0");
    snprintf(p, sizeof(p), "/s:Envelope/s:Body/d:%s", op);
    assert_count(b, "/s:Envelope/s:Body/*", 1);
    assert_count(b, p, 1);
    snprintf(p, sizeof(p), "/s:Envelope/s:Body/d:%s/*", op);
    assert_count(b, p, 7);
    snprintf(p, sizeof(p), "/s:Envelope/s:Body/d:%s/d:MaYeuCau", op);
    assert_xpath(b, p, MESSAGE_ID);
    snprintf(p, sizeof(p), "/s:Envelope/s:Body/d:%s/d:MaDVC", op);
    assert_xpath(b, p, procedure);
    snprintf(p, sizeof(p), "/s:Envelope/s:Body/d:%s/d:MaTichHop", op);
    assert_xpath(b, p, "037");
    snprintf(p, sizeof(p), "/s:Envelope/s:Body/d:%s/d:SoDinhDanh", op);
    assert_xpath(b, p, "001095012345");
}

static void check_http(built_t *b, const char *soap_action)
{
    assert_string_equal(b->req.method, "POST");
    assert_string_equal(b->req.path, "/ws/dancu/v1");
    assert_int_equal(b->req.nheaders, 2);
    assert_string_equal(b->req.headers[0], "Content-Type: text/xml; charset=utf-8");
    assert_string_equal(b->req.headers[1], soap_action);
}

static void lookup_request(void **state)
{
    fixture_call_t *fc = *state;
    built_t b = build_ok(fc, "lookup");
    check_http(&b, "SOAPAction: \"TraCuuThongTinCongDan\"");
    check_envelope(&b, "TraCuuThongTinCongDan", "1.001612"); /* no X-Procedure-Code: the default */
    assert_xpath(&b, "/s:Envelope/s:Header/x:userId", "CB-0042");
    assert_xpath(&b, "/s:Envelope/s:Header/x:issue", "HS-2026-000123");
    assert_xpath(&b, "//d:TraCuuThongTinCongDan/d:MaCanBo", "CB-0042");
    assert_xpath(&b, "//d:TraCuuThongTinCongDan/d:HoVaTen", "Nguy\xe1\xbb\x85n V\xc4\x83n An");
    assert_xpath(&b, "//d:TraCuuThongTinCongDan/d:NgayThangNamSinh/d:NgayThangNam", "1995-03-12");
    assert_count(&b, "//d:TraCuuThongTinCongDan/d:NgayThangNamSinh/*", 1);
    /* UTF-8 on the wire, not character references. */
    assert_non_null(strstr(b.req.body, "Nguy\xe1\xbb\x85n V\xc4\x83n An"));
    assert_string_equal(fc->call.scratch, MESSAGE_ID);
    built_free(&b);
}

static void verify_request_with_procedure_and_year(void **state)
{
    fixture_call_t *fc = *state;
    fc->ctx.procedure_code = "2.002154";
    json_object_set_new(fc->call.input, "birth_date", json_string("1995"));
    built_t b = build_ok(fc, "verify");
    check_http(&b, "SOAPAction: \"XacThucThongTinCongDan\"");
    check_envelope(&b, "XacThucThongTinCongDan", "2.002154");
    assert_xpath(&b, "//d:XacThucThongTinCongDan/d:NgayThangNamSinh/d:NgayThangNam", "1995");
    assert_count(&b, "//d:TraCuuThongTinCongDan", 0);
    built_free(&b);
}

/* Values with markup characters stay values: read back equal, never raw in the bytes. */
static void escapes_hostile_values(void **state)
{
    fixture_call_t *fc = *state;
    const char *name = "L\xc3\xaa <Th\xe1\xbb\x8b> & \"Hoa\" ]]> '";
    fc->ctx.officer_id = "CB<1>&\"2\"";
    fc->ctx.purpose = "HS&amp;</xrd:issue><xrd:id>evil</xrd:id>";
    json_object_set_new(fc->call.input, "full_name", json_string(name));
    built_t b = build_ok(fc, "lookup");
    assert_xpath(&b, "//d:TraCuuThongTinCongDan/d:HoVaTen", name);
    assert_xpath(&b, "/s:Envelope/s:Header/x:userId", "CB<1>&\"2\"");
    assert_xpath(&b, "//d:TraCuuThongTinCongDan/d:MaCanBo", "CB<1>&\"2\"");
    assert_xpath(&b, "/s:Envelope/s:Header/x:issue", "HS&amp;</xrd:issue><xrd:id>evil</xrd:id>");
    assert_xpath(&b, "/s:Envelope/s:Header/x:id", MESSAGE_ID); /* still exactly one xrd:id */
    assert_null(strstr(b.req.body, "<Th"));
    assert_null(strstr(b.req.body, "CB<1>"));
    assert_null(strstr(b.req.body, "& "));
    assert_null(strstr(b.req.body, "<xrd:id>evil"));
    built_free(&b);
}

/* What build() sends, answered with its own requestHash, parses: the two halves agree on the bytes. */
static void build_then_parse(void **state)
{
    fixture_call_t *fc = *state;
    built_t b = build_ok(fc, "verify");
    const char *hash = fixture_sha512_base64(fc->arena, b.req.body, b.req.body_len);
    const char *resp_body = lt_arena_sprintf(
        fc->arena,
        "<e:Envelope xmlns:e='http://schemas.xmlsoap.org/soap/envelope/'><e:Header>"
        "<id xmlns='http://x-road.eu/xsd/xroad.xsd'>%s</id>"
        "<h:requestHash xmlns:h='http://x-road.eu/xsd/xroad.xsd' "
        "algorithmId='http://www.w3.org/2001/04/xmlenc#sha512'>%s</h:requestHash></e:Header>"
        "<e:Body><XacThucThongTinCongDanResponse xmlns='http://dancuquocgia.bca'><MaYeuCau>%s</MaYeuCau>"
        "<KetQua>true</KetQua></XacThucThongTinCongDanResponse></e:Body></e:Envelope>",
        MESSAGE_ID, hash, MESSAGE_ID);
    lt_upstream_response_t resp = {.status = 200, .body = resp_body, .body_len = strlen(resp_body)};
    fc->call.sent = &b.req;
    json_t *result = NULL;
    lt_error_t err = {0};
    lt_upstream_request_t next = {0};
    if (fixture_operation("verify")->parse(&fc->call, &resp, &result, &next, &err) != LT_STEP_DONE)
        fail_msg("parse: %s %s", err.code, err.detail);
    assert_true(json_is_true(json_object_get(result, "match")));
    json_decref(result);
    built_free(&b);
}

static void assert_build_fails(fixture_call_t *fc, lt_error_kind_t kind, const char *code)
{
    lt_upstream_request_t req;
    lt_error_t err = {0};
    assert_int_equal(fixture_operation("lookup")->build(&fc->call, &req, &err), LT_STEP_FAIL);
    assert_int_equal(err.kind, kind);
    assert_string_equal(err.code, code);
}

static void refuses_bad_context(void **state)
{
    fixture_call_t *fc = *state;
    fc->ctx.officer_id = NULL;
    assert_build_fails(fc, LT_ERR_BAD_REQUEST, "missing_header");
    fc->ctx.officer_id = "";
    assert_build_fails(fc, LT_ERR_BAD_REQUEST, "missing_header");
    fc->ctx.officer_id = "CB-0042";
    fc->ctx.purpose = "HS\x01";
    assert_build_fails(fc, LT_ERR_BAD_REQUEST, "invalid_header");
    fc->ctx.purpose = "HS-1";
    fc->ctx.procedure_code = "1.0\x1b";
    assert_build_fails(fc, LT_ERR_BAD_REQUEST, "invalid_header");
    fc->ctx.procedure_code = NULL;
    fc->ctx.message_id = "not-a-uuid";
    assert_build_fails(fc, LT_ERR_INTERNAL, "bad_message_id");
}

int main(void)
{
    lt_xml_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(lookup_request, setup, teardown),
        cmocka_unit_test_setup_teardown(verify_request_with_procedure_and_year, setup, teardown),
        cmocka_unit_test_setup_teardown(escapes_hostile_values, setup, teardown),
        cmocka_unit_test_setup_teardown(build_then_parse, setup, teardown),
        cmocka_unit_test_setup_teardown(refuses_bad_context, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
