/*
 * Hardened libxml2 helpers for upstream XML (SOAP and plain XML responses).
 *
 * Parsing never loads a DTD, never substitutes entities and never touches the
 * network, and it refuses any document with a DOCTYPE outright: the national
 * systems have no reason to send one, and refusing it closes XXE and "billion
 * laughs" for good instead of relying on libxml2's expansion limits. libxml2's
 * own messages are never printed; they could quote response content.
 *
 * Navigation goes by namespace URI and local name, never by prefix: the ICDs say
 * prefixes are free and responses may use default namespaces.
 *
 * Threads: call lt_xml_init() once in main() before any worker thread starts
 * (xmlInitParser() is not safe to race in libxml2 2.9). After that every
 * function here is safe to use from several threads, one document per thread.
 */
#ifndef LT_XML_H
#define LT_XML_H

#include <libxml/tree.h>
#include <stdbool.h>
#include <stddef.h>

#include "lt_arena.h"
#include "lt_error.h"

/* Initialises libxml2 once for the process. Call from main() before starting threads. */
void lt_xml_init(void);

/*
 * Parses buf[0..len) (a leading UTF-8 BOM is fine). The document is freed with
 * the arena. Fails with LT_ERR_UPSTREAM_BAD, code "bad_response", for malformed
 * XML or any DTD ("response contains a DTD; refused").
 */
xmlDocPtr lt_xml_parse(lt_arena_t *a, const char *buf, size_t len, lt_error_t *err);

/* True when n is an element with this namespace URI (NULL: no namespace) and local name. */
bool lt_xml_is(const xmlNode *n, const char *ns_uri, const char *local);

/* The first child element of parent with this namespace URI (NULL: none) and local name, or NULL. */
xmlNodePtr lt_xml_child(const xmlNode *parent, const char *ns_uri, const char *local);

/* The first child element of parent whatever its name, or NULL (also for a NULL parent). */
xmlNodePtr lt_xml_first_element(const xmlNode *parent);

/* The next sibling element of n, or NULL. */
xmlNodePtr lt_xml_next_element(const xmlNode *n);

/* True when n has at least one child element. */
bool lt_xml_has_element_children(const xmlNode *n);

/* n's text content (descendants' text concatenated), trimmed: NULL for a NULL node, "" when empty. */
char *lt_xml_text(lt_arena_t *a, const xmlNode *n);

/* The attribute's value in the arena, or NULL when absent. ns_uri NULL means an unqualified attribute. */
const char *lt_xml_attr_ns(lt_arena_t *a, const xmlNode *n, const char *ns_uri, const char *local);

/* The local part of a QName held as text ("SOAP-ENV:Server.X" gives "Server.X"); NULL in, NULL out. */
const char *lt_xml_qname_local(const char *qname);

/*
 * True when s is valid UTF-8 made only of characters XML 1.0 can carry
 * (tab, LF, CR, U+0020-U+D7FF, U+E000-U+FFFD, U+10000-U+10FFFF). Check caller
 * input with this before writing it into a request: libxml2's writer would
 * otherwise emit control characters that make the whole document malformed.
 */
bool lt_xml_is_valid_text(const char *s);

#endif
