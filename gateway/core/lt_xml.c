/* Hardened libxml2 parsing and namespace-aware navigation. */
#include "lt_xml.h"

#include <libxml/parser.h>
#include <libxml/xmlerror.h>
#include <limits.h>
#include <string.h>
#include <utf8proc.h>

#include "lt_text.h"

#define BAD_RESPONSE "bad_response"

/* XML_PARSE_NOENT, DTDLOAD, DTDATTR, DTDVALID, XINCLUDE and HUGE are left out on purpose. XML_PARSE_COMPACT keeps
 * short text inside its node rather than in an allocation of its own: the trees are only read, never changed. */
#define LT_XML_OPTIONS                                                                                                 \
    (XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING | XML_PARSE_NOCDATA | XML_PARSE_COMPACT)

void lt_xml_init(void)
{
    xmlInitParser();
}

/* Swallows libxml2's structured errors for this context only; xmlCtxtGetLastError() still has them. */
static void quiet_error(void *data, xmlErrorPtr error)
{
    (void)data;
    (void)error;
}

/*
 * SAX hook for "<!DOCTYPE": stop at once, before the internal subset (and so
 * any entity declaration) is even read. xmlStopParser() leaves
 * XML_ERR_USER_STOP in ctxt->errNo, which is how lt_xml_parse() tells this
 * refusal apart; the half-built document it may still return is discarded.
 */
static void refuse_doctype(void *ctx, const xmlChar *name, const xmlChar *external_id, const xmlChar *system_id)
{
    (void)name;
    (void)external_id;
    (void)system_id;
    xmlStopParser((xmlParserCtxtPtr)ctx);
}

static void free_doc(void *doc)
{
    xmlFreeDoc(doc);
}

static int refuse_dtd(lt_error_t *err)
{
    return lt_error_set(err, LT_ERR_UPSTREAM_BAD, BAD_RESPONSE, "response contains a DTD; refused");
}

xmlDocPtr lt_xml_parse(lt_arena_t *a, const char *buf, size_t len, lt_error_t *err)
{
    if (buf == NULL || len == 0) {
        lt_error_set(err, LT_ERR_UPSTREAM_BAD, BAD_RESPONSE, "response body is empty");
        return NULL;
    }
    if (len > INT_MAX) {
        lt_error_set(err, LT_ERR_UPSTREAM_BAD, BAD_RESPONSE, "response body is too large to parse");
        return NULL;
    }
    xmlParserCtxtPtr ctxt = xmlNewParserCtxt();
    if (ctxt == NULL) {
        lt_error_set(err, LT_ERR_INTERNAL, "out_of_memory", "cannot allocate an XML parser");
        return NULL;
    }
    /* Per-context handlers: nothing global, so concurrent parses on other threads are unaffected. */
    ctxt->sax->serror = quiet_error;
    ctxt->sax->internalSubset = refuse_doctype;
    ctxt->sax->externalSubset = refuse_doctype;
    xmlDocPtr doc = xmlCtxtReadMemory(ctxt, buf, (int)len, NULL, NULL, LT_XML_OPTIONS);
    /* xmlStopParser() sets errNo but raises no error, so lastError does not show the stop. */
    bool stopped = ctxt->errNo == XML_ERR_USER_STOP;
    xmlErrorPtr last = xmlCtxtGetLastError(ctxt);
    int line = last != NULL ? last->line : 0, code = last != NULL ? last->code : 0;
    xmlFreeParserCtxt(ctxt);
    if (doc != NULL && (stopped || doc->intSubset != NULL || doc->extSubset != NULL)) {
        xmlFreeDoc(doc);
        doc = NULL;
        stopped = true;
    }
    if (doc == NULL) {
        /* libxml2's message text is not copied: it can quote element names and content. */
        if (stopped)
            refuse_dtd(err);
        else
            lt_error_set(err, LT_ERR_UPSTREAM_BAD, BAD_RESPONSE, "response is not well-formed XML (error %d, line %d)",
                         code, line);
        return NULL;
    }
    lt_arena_on_destroy(a, free_doc, doc);
    return doc;
}

bool lt_xml_is(const xmlNode *n, const char *ns_uri, const char *local)
{
    if (n == NULL || n->type != XML_ELEMENT_NODE || !xmlStrEqual(n->name, (const xmlChar *)local))
        return false;
    if (ns_uri == NULL)
        return n->ns == NULL;
    return n->ns != NULL && xmlStrEqual(n->ns->href, (const xmlChar *)ns_uri);
}

xmlNodePtr lt_xml_first_element(const xmlNode *parent)
{
    if (parent == NULL)
        return NULL;
    for (xmlNodePtr c = parent->children; c != NULL; c = c->next)
        if (c->type == XML_ELEMENT_NODE)
            return c;
    return NULL;
}

xmlNodePtr lt_xml_next_element(const xmlNode *n)
{
    for (xmlNodePtr c = n ? n->next : NULL; c != NULL; c = c->next)
        if (c->type == XML_ELEMENT_NODE)
            return c;
    return NULL;
}

xmlNodePtr lt_xml_child(const xmlNode *parent, const char *ns_uri, const char *local)
{
    for (xmlNodePtr c = lt_xml_first_element(parent); c != NULL; c = lt_xml_next_element(c))
        if (lt_xml_is(c, ns_uri, local))
            return c;
    return NULL;
}

bool lt_xml_has_element_children(const xmlNode *n)
{
    return lt_xml_first_element(n) != NULL;
}

char *lt_xml_text(lt_arena_t *a, const xmlNode *n)
{
    if (n == NULL)
        return NULL;
    xmlChar *content = xmlNodeGetContent(n);
    char *out = lt_text_trim(a, content ? (const char *)content : "");
    xmlFree(content);
    return out;
}

const char *lt_xml_attr_ns(lt_arena_t *a, const xmlNode *n, const char *ns_uri, const char *local)
{
    if (n == NULL || n->type != XML_ELEMENT_NODE)
        return NULL;
    xmlChar *v = ns_uri ? xmlGetNsProp(n, (const xmlChar *)local, (const xmlChar *)ns_uri)
                        : xmlGetNoNsProp(n, (const xmlChar *)local);
    if (v == NULL)
        return NULL;
    char *out = lt_arena_strdup(a, (const char *)v);
    xmlFree(v);
    return out;
}

const char *lt_xml_qname_local(const char *qname)
{
    if (qname == NULL)
        return NULL;
    const char *colon = strchr(qname, ':');
    return colon ? colon + 1 : qname;
}

static bool is_xml_char(utf8proc_int32_t c)
{
    return c == 0x9 || c == 0xA || c == 0xD || (c >= 0x20 && c <= 0xD7FF) || (c >= 0xE000 && c <= 0xFFFD) ||
           (c >= 0x10000 && c <= 0x10FFFF);
}

bool lt_xml_is_valid_text(const char *s)
{
    if (s == NULL)
        return false;
    const utf8proc_uint8_t *p = (const utf8proc_uint8_t *)s;
    utf8proc_ssize_t left = (utf8proc_ssize_t)strlen(s);
    while (left > 0) {
        utf8proc_int32_t cp;
        utf8proc_ssize_t n = utf8proc_iterate(p, left, &cp);
        if (n <= 0 || !is_xml_char(cp))
            return false;
        p += n;
        left -= n;
    }
    return true;
}
