/* Hardened XML parsing and namespace-aware navigation (gateway/core/lt_xml.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <libxml/parser.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lt_xml.h"

#define NS_A "urn:test:a"
#define NS_B "urn:test:b"

static int setup(void **state)
{
    *state = lt_arena_new();
    return 0;
}

static int teardown(void **state)
{
    lt_arena_destroy(*state);
    return 0;
}

static xmlDocPtr parse(lt_arena_t *a, const char *s, lt_error_t *err)
{
    return lt_xml_parse(a, s, strlen(s), err);
}

static void assert_dtd_refused(lt_arena_t *a, const char *doc)
{
    lt_error_t err = {0};
    assert_null(parse(a, doc, &err));
    assert_int_equal(err.kind, LT_ERR_UPSTREAM_BAD);
    assert_string_equal(err.code, "bad_response");
    assert_string_equal(err.detail, "response contains a DTD; refused");
}

/* The same document, once with prefixes and once with default namespaces, navigates the same way. */
static void navigates_by_uri_not_prefix(void **state)
{
    const char *docs[] = {
        "<p:r xmlns:p='" NS_A "' xmlns:q='" NS_B "'><q:x>  one </q:x><p:x>two</p:x><x>three</x></p:r>",
        "<r xmlns='" NS_A "'><x xmlns='" NS_B "'>  one </x><x>two</x><x xmlns=''>three</x></r>",
        "<zz:r xmlns:zz='" NS_A "'><x xmlns='" NS_B "'>one</x><zz:x>two</zz:x><x xmlns=''>three</x></zz:r>",
    };
    for (size_t i = 0; i < 3; i++) {
        lt_arena_t *a = *state;
        lt_error_t err = {0};
        xmlDocPtr doc = parse(a, docs[i], &err);
        assert_non_null(doc);
        xmlNodePtr root = xmlDocGetRootElement(doc);
        assert_true(lt_xml_is(root, NS_A, "r"));
        assert_false(lt_xml_is(root, NS_B, "r"));
        assert_false(lt_xml_is(root, NULL, "r"));
        assert_string_equal(lt_xml_text(a, lt_xml_child(root, NS_B, "x")), "one");
        assert_string_equal(lt_xml_text(a, lt_xml_child(root, NS_A, "x")), "two");
        assert_string_equal(lt_xml_text(a, lt_xml_child(root, NULL, "x")), "three");
        assert_null(lt_xml_child(root, NS_A, "y"));
        assert_true(lt_xml_is(lt_xml_first_element(root), NS_B, "x"));
        assert_true(lt_xml_is(lt_xml_next_element(lt_xml_first_element(root)), NS_A, "x"));
    }
}

static void text_and_attributes(void **state)
{
    lt_arena_t *a = *state;
    lt_error_t err = {0};
    xmlDocPtr doc = parse(a,
                          "<r xmlns:i='" NS_B "' i:kind='SUB' plain='p'><e/><n>\n <a> A </a><b>B</b>\n</n>"
                          "<c><![CDATA[x<y]]></c></r>",
                          &err);
    assert_non_null(doc);
    xmlNodePtr root = xmlDocGetRootElement(doc);
    assert_string_equal(lt_xml_text(a, lt_xml_child(root, NULL, "e")), "");
    assert_string_equal(lt_xml_text(a, lt_xml_child(root, NULL, "n")), "A B");
    assert_string_equal(lt_xml_text(a, lt_xml_child(root, NULL, "c")), "x<y");
    assert_null(lt_xml_text(a, NULL));
    assert_true(lt_xml_has_element_children(lt_xml_child(root, NULL, "n")));
    assert_false(lt_xml_has_element_children(lt_xml_child(root, NULL, "e")));
    assert_string_equal(lt_xml_attr_ns(a, root, NS_B, "kind"), "SUB");
    assert_null(lt_xml_attr_ns(a, root, NULL, "kind"));
    assert_string_equal(lt_xml_attr_ns(a, root, NULL, "plain"), "p");
    assert_null(lt_xml_attr_ns(a, root, NS_A, "plain"));
}

static void bom_and_character_references(void **state)
{
    lt_arena_t *a = *state;
    lt_error_t err = {0};
    xmlDocPtr doc = parse(
        a, "\xEF\xBB\xBF<?xml version='1.0' encoding='UTF-8'?><r>Nguy&#7877;n &#x56;&#x103;n &amp; &lt;An&gt;</r>",
        &err);
    assert_non_null(doc);
    assert_string_equal(lt_xml_text(a, xmlDocGetRootElement(doc)), "Nguy\xE1\xBB\x85n V\xC4\x83n & <An>");
}

static void refuses_any_dtd(void **state)
{
    lt_arena_t *a = *state;
    assert_dtd_refused(a, "<!DOCTYPE r><r/>");
    assert_dtd_refused(a, "<?xml version='1.0'?>\n<!DOCTYPE r [<!ELEMENT r ANY>]><r/>");
    assert_dtd_refused(a, "<!DOCTYPE r SYSTEM 'http://127.0.0.1:1/evil.dtd'><r/>");
    assert_dtd_refused(a, "\xEF\xBB\xBF<!DOCTYPE r PUBLIC '-//X//Y' 'file:///etc/passwd'><r/>");
    assert_dtd_refused(a, "<!DOCTYPE html><html><body>502 Bad Gateway</body></html>");
}

/* Control for the refusal tests: plain libxml2 does accept this document, so refusing it is our doing. */
static void dtd_document_is_otherwise_well_formed(void **state)
{
    const char *s = "<!DOCTYPE r [<!ENTITY e 'x'>]><r>&e;</r>";
    xmlDocPtr plain = xmlReadMemory(s, (int)strlen(s), NULL, NULL, XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    assert_non_null(plain);
    assert_non_null(plain->intSubset);
    xmlFreeDoc(plain);
    assert_dtd_refused(*state, s);
}

static void refuses_billion_laughs_without_expanding(void **state)
{
    const char *bomb = "<?xml version=\"1.0\"?>\n"
                       "<!DOCTYPE lolz [\n"
                       " <!ENTITY lol \"lol\">\n"
                       " <!ENTITY lol1 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">\n"
                       " <!ENTITY lol2 \"&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;\">\n"
                       " <!ENTITY lol3 \"&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;\">\n"
                       " <!ENTITY lol4 \"&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;\">\n"
                       " <!ENTITY lol5 \"&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;\">\n"
                       " <!ENTITY lol6 \"&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;\">\n"
                       " <!ENTITY lol7 \"&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;\">\n"
                       " <!ENTITY lol8 \"&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;\">\n"
                       " <!ENTITY lol9 \"&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;\">\n"
                       "]>\n"
                       "<lolz a=\"&lol9;\">&lol9;</lolz>";
    clock_t start = clock();
    assert_dtd_refused(*state, bomb);
    /* Expanding 10^9 "lol"s would take seconds and gigabytes; a refusal before the subset takes microseconds. */
    assert_true((double)(clock() - start) / CLOCKS_PER_SEC < 0.5);
}

static void refuses_external_entity(void **state)
{
    assert_dtd_refused(*state, "<!DOCTYPE r [<!ENTITY xxe SYSTEM 'file:///etc/passwd'>]><r>&xxe;</r>");
    assert_dtd_refused(*state, "<!DOCTYPE r [<!ENTITY % p SYSTEM 'http://127.0.0.1:1/x'> %p;]><r/>");
}

static void undeclared_entity_is_malformed(void **state)
{
    lt_error_t err = {0};
    assert_null(parse(*state, "<r>&xxe;</r>", &err));
    assert_int_equal(err.kind, LT_ERR_UPSTREAM_BAD);
    assert_string_equal(err.code, "bad_response");
    assert_non_null(strstr(err.detail, "not well-formed"));
}

static void malformed_is_quiet(void **state)
{
    lt_arena_t *a = *state;
    char path[] = "/tmp/lt_xml_stderr_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    fflush(stderr);
    int saved = dup(STDERR_FILENO);
    dup2(fd, STDERR_FILENO);
    lt_error_t err = {0};
    xmlDocPtr d1 = parse(a, "<r><Ho>secret-name</Ten></r>", &err);
    xmlDocPtr d2 = parse(a, "<r>&undefined;</r>", &err);
    xmlDocPtr d3 = parse(a, "<!DOCTYPE r [<!ENTITY x 'y'>]><r>&x;</r>", &err);
    xmlDocPtr d4 = parse(a, "not xml at all", &err);
    fflush(stderr);
    dup2(saved, STDERR_FILENO);
    close(saved);
    struct stat st;
    fstat(fd, &st);
    close(fd);
    unlink(path);
    assert_null(d1);
    assert_null(d2);
    assert_null(d3);
    assert_null(d4);
    assert_int_equal(st.st_size, 0);
    assert_null(strstr(err.detail, "xml at all"));
}

static int global_errors;

static void count_error(void *data, xmlErrorPtr error)
{
    (void)data;
    (void)error;
    global_errors++;
}

/* A process-wide handler set elsewhere (another library, a debug hook) must not see response content either. */
static void ignores_global_error_handler(void **state)
{
    lt_error_t err = {0};
    global_errors = 0;
    xmlSetStructuredErrorFunc(NULL, count_error);
    xmlDocPtr doc = parse(*state, "<r><Ho>secret-name</Ten></r>", &err);
    xmlSetStructuredErrorFunc(NULL, NULL);
    assert_null(doc);
    assert_int_equal(global_errors, 0);
    /* Control: the same input through a plain parse does reach the global handler. */
    xmlSetStructuredErrorFunc(NULL, count_error);
    xmlDocPtr plain = xmlReadMemory("<r><Ho>x</Ten></r>", 18, NULL, NULL, 0);
    xmlSetStructuredErrorFunc(NULL, NULL);
    assert_null(plain);
    assert_true(global_errors > 0);
}

static void empty_body(void **state)
{
    lt_error_t err = {0};
    assert_null(lt_xml_parse(*state, "", 0, &err));
    assert_int_equal(err.kind, LT_ERR_UPSTREAM_BAD);
    assert_null(lt_xml_parse(*state, NULL, 0, &err));
}

static void qname_local(void **state)
{
    assert_string_equal(lt_xml_qname_local("SOAP-ENV:Server.ServerProxy.ServiceFailed"),
                        "Server.ServerProxy.ServiceFailed");
    assert_string_equal(lt_xml_qname_local("Client.BadRequest"), "Client.BadRequest");
    assert_string_equal(lt_xml_qname_local(""), "");
    assert_null(lt_xml_qname_local(NULL));
}

static void valid_text(void **state)
{
    assert_true(lt_xml_is_valid_text("Nguy\xE1\xBB\x85n V\xC4\x83n An"));
    assert_true(lt_xml_is_valid_text("tab\there\r\n<&\">"));
    assert_true(lt_xml_is_valid_text(""));
    assert_false(lt_xml_is_valid_text("bell\x07"));
    assert_false(lt_xml_is_valid_text("esc\x1b[0m"));
    assert_false(lt_xml_is_valid_text("\xEF\xBF\xBE")); /* U+FFFE */
    assert_false(lt_xml_is_valid_text("\xC0\xAF"));
    assert_false(lt_xml_is_valid_text(NULL));
}

int main(void)
{
    lt_xml_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(navigates_by_uri_not_prefix, setup, teardown),
        cmocka_unit_test_setup_teardown(text_and_attributes, setup, teardown),
        cmocka_unit_test_setup_teardown(bom_and_character_references, setup, teardown),
        cmocka_unit_test_setup_teardown(refuses_any_dtd, setup, teardown),
        cmocka_unit_test_setup_teardown(dtd_document_is_otherwise_well_formed, setup, teardown),
        cmocka_unit_test_setup_teardown(refuses_billion_laughs_without_expanding, setup, teardown),
        cmocka_unit_test_setup_teardown(refuses_external_entity, setup, teardown),
        cmocka_unit_test_setup_teardown(undeclared_entity_is_malformed, setup, teardown),
        cmocka_unit_test_setup_teardown(malformed_is_quiet, setup, teardown),
        cmocka_unit_test_setup_teardown(ignores_global_error_handler, setup, teardown),
        cmocka_unit_test_setup_teardown(empty_body, setup, teardown),
        cmocka_unit_test(qname_local),
        cmocka_unit_test(valid_text),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
