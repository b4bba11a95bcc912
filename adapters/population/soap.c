/* SOAP 1.1 + X-Road v4 envelopes for the population ICD: build, check, map faults. */
#include "soap.h"

#include <libxml/xmlwriter.h>
#include <openssl/evp.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "codes.h"
#include "lt_text.h"
#include "lt_xml.h"

#define SOAP LT_POPULATION_NS_SOAP
#define XRD  LT_POPULATION_NS_XRD
#define DC   LT_POPULATION_NS_DC

#define BAD_RESPONSE     "bad_response"
#define FAULTSTRING_MAX  120 /* bytes of the upstream faultstring worth showing */
#define SHA512_ALGORITHM "http://www.w3.org/2001/04/xmlenc#sha512"

/* ---- building ---- */

static int write_text(xmlTextWriterPtr w, const char *qname, const char *text)
{
    return xmlTextWriterWriteElement(w, BAD_CAST qname, BAD_CAST text) < 0 ? -1 : 0;
}

static int write_start(xmlTextWriterPtr w, const char *qname, const char *object_type)
{
    if (xmlTextWriterStartElement(w, BAD_CAST qname) < 0)
        return -1;
    if (object_type && xmlTextWriterWriteAttribute(w, BAD_CAST "id:objectType", BAD_CAST object_type) < 0)
        return -1;
    return 0;
}

static int write_end(xmlTextWriterPtr w)
{
    return xmlTextWriterEndElement(w) < 0 ? -1 : 0;
}

/* The envelope start with every namespace the request uses declared once, on the root. */
static int write_envelope_start(xmlTextWriterPtr w)
{
    static const char *const decls[][2] = {
        {"xmlns:SOAP-ENV", SOAP}, {"xmlns:xrd", XRD}, {"xmlns:id", LT_POPULATION_NS_ID}, {"xmlns:dc", DC}};
    if (xmlTextWriterStartDocument(w, NULL, "UTF-8", NULL) < 0 || write_start(w, "SOAP-ENV:Envelope", NULL) != 0)
        return -1;
    for (size_t i = 0; i < sizeof(decls) / sizeof(decls[0]); i++)
        if (xmlTextWriterWriteAttribute(w, BAD_CAST decls[i][0], BAD_CAST decls[i][1]) < 0)
            return -1;
    return 0;
}

static int write_header(xmlTextWriterPtr w, const lt_population_settings_t *s, const lt_population_query_t *q)
{
    int rc = write_start(w, "SOAP-ENV:Header", NULL);
    rc |= write_start(w, "xrd:client", "SUBSYSTEM");
    rc |= write_text(w, "id:xRoadInstance", s->xroad_instance);
    rc |= write_text(w, "id:memberClass", s->member_class);
    rc |= write_text(w, "id:memberCode", s->member_code);
    rc |= write_text(w, "id:subsystemCode", s->subsystem_code);
    rc |= write_end(w);
    /* The service lives on the same X-Road instance and member class as the client (the ICD's example). */
    rc |= write_start(w, "xrd:service", "SERVICE");
    rc |= write_text(w, "id:xRoadInstance", s->xroad_instance);
    rc |= write_text(w, "id:memberClass", s->member_class);
    rc |= write_text(w, "id:memberCode", s->service_member_code);
    rc |= write_text(w, "id:subsystemCode", s->service_subsystem_code);
    rc |= write_text(w, "id:serviceCode", q->operation);
    rc |= write_text(w, "id:serviceVersion", s->service_version);
    rc |= write_end(w);
    rc |= write_text(w, "xrd:id", q->message_id);
    rc |= write_text(w, "xrd:userId", q->officer_id);
    rc |= write_text(w, "xrd:issue", q->purpose);
    rc |= write_text(w, "xrd:protocolVersion", "4.0");
    return rc | write_end(w);
}

static int write_body(xmlTextWriterPtr w, const lt_population_settings_t *s, const lt_population_query_t *q)
{
    char op[64];
    snprintf(op, sizeof(op), "dc:%s", q->operation);
    int rc = write_start(w, "SOAP-ENV:Body", NULL);
    rc |= write_start(w, op, NULL);
    rc |= write_text(w, "dc:MaYeuCau", q->message_id);
    rc |= write_text(w, "dc:MaDVC", q->procedure_code);
    rc |= write_text(w, "dc:MaTichHop", s->integration_code);
    rc |= write_text(w, "dc:MaCanBo", q->officer_id);
    rc |= write_text(w, "dc:SoDinhDanh", q->id);
    rc |= write_text(w, "dc:HoVaTen", q->full_name);
    rc |= write_start(w, "dc:NgayThangNamSinh", NULL);
    rc |= write_text(w, "dc:NgayThangNam", q->birth_date);
    rc |= write_end(w);
    rc |= write_end(w);
    return rc | write_end(w);
}

int lt_population_soap_build(lt_arena_t *a, const lt_population_settings_t *s, const lt_population_query_t *q,
                             const char **body, size_t *len, lt_error_t *err)
{
    /* xmlTextWriter escapes every value, so a name or purpose holding "<&" cannot change the document. */
    xmlBufferPtr buf = xmlBufferCreate();
    xmlTextWriterPtr w = buf ? xmlNewTextWriterMemory(buf, 0) : NULL;
    int rc = w == NULL ? -1 : 0;
    if (rc == 0)
        rc = write_envelope_start(w) | write_header(w, s, q) | write_body(w, s, q);
    if (rc == 0 && xmlTextWriterEndDocument(w) < 0)
        rc = -1;
    xmlFreeTextWriter(w); /* flushes into buf */
    if (rc == 0) {
        *len = (size_t)xmlBufferLength(buf);
        *body = lt_arena_strndup(a, (const char *)xmlBufferContent(buf), *len);
    }
    xmlBufferFree(buf);
    if (rc != 0)
        return lt_error_set(err, LT_ERR_INTERNAL, "request_build", "could not write the SOAP request");
    return 0;
}

/* ---- reading ---- */

char *lt_population_request_hash(lt_arena_t *a, const char *body, size_t len)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    if (EVP_Digest(body, len, md, &mdlen, EVP_sha512(), NULL) != 1)
        return NULL;
    char *out = lt_arena_alloc(a, 4 * ((mdlen + 2) / 3) + 1);
    EVP_EncodeBlock((unsigned char *)out, md, (int)mdlen);
    return out;
}

static int bad_response(lt_error_t *err, const char *what)
{
    return lt_error_set(err, LT_ERR_UPSTREAM_BAD, BAD_RESPONSE, "%s", what);
}

/* Non-SOAP answers: the platform's HTML error pages, a proxy's 502/503/504, anything unexpected. */
static int map_http_status(const lt_population_settings_t *s, const lt_upstream_response_t *resp, lt_error_t *err)
{
    switch (resp->status) {
    case 502:
        return lt_error_set(err, LT_ERR_UPSTREAM_BAD, "upstream_http_502", "the national platform answered HTTP 502");
    case 503:
        lt_error_set(err, LT_ERR_UPSTREAM_UNAVAILABLE, "upstream_http_503", "the national platform answered HTTP 503");
        err->retryable = true;
        err->retry_after_s = lt_adapter_retry_after_seconds(resp->retry_after, (int)s->platform_retry_after_s);
        /* Only a wait the platform itself asked for holds back our retries; our default is advice to callers. */
        err->upstream_wait_s = lt_adapter_retry_after_seconds(resp->retry_after, 0);
        return -1;
    case 504:
        lt_error_set(err, LT_ERR_UPSTREAM_TIMEOUT, "upstream_http_504", "the national platform answered HTTP 504");
        err->retryable = true;
        return -1;
    default:
        return lt_error_set(err, LT_ERR_UPSTREAM_BAD, "upstream_http_status", "the national system answered HTTP %ld",
                            resp->status);
    }
}

/* A run of 8 or more digits might be an identifier or a birth date: upstream text holding one is never shown. */
static bool has_long_digit_run(const char *s)
{
    int run = 0;
    for (const char *p = s; *p; p++) {
        run = (*p >= '0' && *p <= '9') ? run + 1 : 0;
        if (run >= 8)
            return true;
    }
    return false;
}

/*
 * The faultstring, if it is fit to show the caller: whitespace squeezed, cut to
 * FAULTSTRING_MAX bytes, and withheld entirely when it holds a run of 8 or more
 * digits. NULL when withheld.
 */
static const char *safe_faultstring(lt_arena_t *a, const char *fs)
{
    if (fs == NULL || *fs == '\0' || !lt_xml_is_valid_text(fs) || has_long_digit_run(fs))
        return NULL;
    char *t = lt_text_squeeze(a, fs);
    for (char *p = t; *p; p++)
        if (*p == '"')
            *p = '\'';
    return lt_text_truncate_utf8(a, t, FAULTSTRING_MAX);
}

/* True for a short token made of [A-Za-z0-9._-], without a long run of digits: safe to use as a code or to quote. */
static bool is_token(const char *s, size_t max)
{
    size_t n = 0;
    for (; s[n]; n++) {
        char c = s[n];
        bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
                  c == '-';
        if (!ok || n >= max)
            return false;
    }
    return n > 0 && !has_long_digit_run(s);
}

/* SOAP 1.1 fault children are unqualified, but a default-namespace rewrite can put them in the envelope's. */
static xmlNodePtr fault_child(const xmlNode *fault, const char *local)
{
    xmlNodePtr n = lt_xml_child(fault, NULL, local);
    return n ? n : lt_xml_child(fault, SOAP, local);
}

static void append_faultstring(lt_error_t *err, const char *fs)
{
    if (fs == NULL)
        return;
    size_t used = strlen(err->detail);
    snprintf(err->detail + used, sizeof(err->detail) - used, " (national system says: \"%s\")", fs);
}

static int map_dc_fault(const lt_population_settings_t *s, const char *maloi, lt_error_t *err)
{
    const lt_population_fault_t *row = lt_population_fault_find(maloi);
    if (row == NULL) {
        bool quotable = is_token(maloi, 40);
        return lt_error_set(err, LT_ERR_UPSTREAM_BAD, quotable ? maloi : "upstream_fault",
                            "%s%sthe national system answered with a fault code the ICD does not list",
                            quotable ? maloi : "", quotable ? ": " : "");
    }
    lt_error_set(err, row->kind, row->maloi, "%s: %s", row->maloi, row->detail);
    err->retryable = row->retryable;
    switch (row->retry_after) {
    case LT_POPULATION_RETRY_QUOTA:
        /* The ICD: the quota is exhausted until the minute ends; calling again sooner only spends more. */
        err->retry_after_s = (int)s->quota_retry_after_s;
        err->upstream_wait_s = (int)s->quota_retry_after_s;
        break;
    case LT_POPULATION_RETRY_MAINTENANCE:
        err->retry_after_s = (int)s->maintenance_retry_after_s;
        break;
    case LT_POPULATION_RETRY_PLATFORM:
        err->retry_after_s = (int)s->platform_retry_after_s;
        break;
    case LT_POPULATION_RETRY_NONE:
        break;
    }
    return -1;
}

/* X-Road's own faults: "Server.*" is the platform failing (try later), "Client.*" is a request it refused. */
static int map_xroad_fault(const lt_population_settings_t *s, const char *faultcode, lt_error_t *err)
{
    const char *local = lt_xml_qname_local(faultcode);
    const char *shown = local && is_token(local, 80) ? local : "?";
    if (local && strncmp(local, "Server.", 7) == 0) {
        lt_error_set(err, LT_ERR_UPSTREAM_UNAVAILABLE, "xroad_server_fault",
                     "the national data exchange platform failed: %s", shown);
        err->retryable = true;
        err->retry_after_s = (int)s->platform_retry_after_s;
        return -1;
    }
    if (local && strncmp(local, "Client.", 7) == 0)
        return lt_error_set(err, LT_ERR_UPSTREAM_BAD, "xroad_client_fault",
                            "the national data exchange platform refused the gateway's request: %s", shown);
    return lt_error_set(err, LT_ERR_UPSTREAM_BAD, "upstream_fault",
                        "the national system answered with a SOAP fault that has no error code");
}

static int map_fault(lt_arena_t *a, const lt_population_settings_t *s, const xmlNode *fault, lt_error_t *err)
{
    const char *faultcode = lt_xml_text(a, fault_child(fault, "faultcode"));
    const char *fs = safe_faultstring(a, lt_xml_text(a, fault_child(fault, "faultstring")));
    const char *maloi = lt_xml_text(a, lt_xml_child(fault_child(fault, "detail"), DC, "MaLoi"));
    if (maloi != NULL && *maloi != '\0')
        map_dc_fault(s, maloi, err);
    else
        map_xroad_fault(s, faultcode, err);
    append_faultstring(err, fs);
    return -1;
}

/* xrd:id must echo ours: a response to some other message must never be read as the answer to this one. */
static int check_message_id(lt_arena_t *a, const xmlNode *header, const char *message_id, bool required,
                            lt_error_t *err)
{
    const char *id = lt_xml_text(a, lt_xml_child(header, XRD, "id"));
    if (id == NULL && !required)
        return 0;
    if (id == NULL)
        return bad_response(err, "response header has no xrd:id");
    if (message_id == NULL || strcmp(id, message_id) != 0)
        return lt_error_set(err, LT_ERR_UPSTREAM_BAD, "upstream_id_mismatch",
                            "response xrd:id does not match the request's message id");
    return 0;
}

/* base64 may arrive wrapped over lines: compare without whitespace. */
static char *strip_space(lt_arena_t *a, const char *s)
{
    char *out = lt_arena_strdup(a, s), *w = out;
    for (const char *r = s; *r; r++)
        if (*r != ' ' && *r != '\t' && *r != '\r' && *r != '\n')
            *w++ = *r;
    *w = '\0';
    return out;
}

static int check_request_hash(lt_arena_t *a, const xmlNode *header, const lt_upstream_request_t *sent, lt_error_t *err)
{
    xmlNodePtr node = lt_xml_child(header, XRD, "requestHash");
    if (node == NULL)
        return 0; /* optional in the ICD ("should check") */
    const char *algorithm = lt_xml_attr_ns(a, node, NULL, "algorithmId");
    if (algorithm != NULL && strcmp(algorithm, SHA512_ALGORITHM) != 0)
        return lt_error_set(err, LT_ERR_UPSTREAM_BAD, "upstream_request_hash_mismatch",
                            "response requestHash uses an algorithm other than SHA-512");
    const char *got = strip_space(a, lt_xml_text(a, node));
    const char *want = sent && sent->body ? lt_population_request_hash(a, sent->body, sent->body_len) : NULL;
    if (want == NULL || strcmp(got, want) != 0)
        return lt_error_set(err, LT_ERR_UPSTREAM_BAD, "upstream_request_hash_mismatch",
                            "response requestHash does not match the request that was sent");
    return 0;
}

static int check_response_element(lt_arena_t *a, const xmlNode *el, const char *response_local, const char *message_id,
                                  lt_error_t *err)
{
    if (!lt_xml_is(el, DC, response_local))
        return lt_error_set(err, LT_ERR_UPSTREAM_BAD, BAD_RESPONSE, "SOAP body does not hold dc:%s", response_local);
    /* MaYeuCau repeats the id inside the body; when present it must agree too. */
    const char *echo = lt_xml_text(a, lt_xml_child(el, DC, "MaYeuCau"));
    if (echo != NULL && *echo != '\0' && (message_id == NULL || strcmp(echo, message_id) != 0))
        return lt_error_set(err, LT_ERR_UPSTREAM_BAD, "upstream_id_mismatch",
                            "response MaYeuCau does not match the request's message id");
    return 0;
}

static int read_envelope(lt_arena_t *a, const lt_upstream_response_t *resp, xmlNodePtr *header, xmlNodePtr *body,
                         lt_error_t *err)
{
    xmlDocPtr doc = lt_xml_parse(a, resp->body, resp->body_len, err);
    if (doc == NULL)
        return -1;
    xmlNodePtr env = xmlDocGetRootElement(doc);
    if (!lt_xml_is(env, SOAP, "Envelope"))
        return bad_response(err, "response is not a SOAP 1.1 envelope");
    *header = lt_xml_child(env, SOAP, "Header");
    *body = lt_xml_child(env, SOAP, "Body");
    if (*body == NULL)
        return bad_response(err, "SOAP envelope has no Body");
    return 0;
}

int lt_population_soap_parse(lt_arena_t *a, const lt_population_settings_t *s, const lt_upstream_response_t *resp,
                             const lt_upstream_request_t *sent, const char *message_id, const char *response_local,
                             xmlNodePtr *response, lt_error_t *err)
{
    bool ok_status = resp->status >= 200 && resp->status < 300;
    /* SOAP 1.1 puts faults on HTTP 500; every other status is the platform or a proxy talking. */
    if (!ok_status && resp->status != 500)
        return map_http_status(s, resp, err);
    xmlNodePtr header = NULL, body = NULL;
    if (read_envelope(a, resp, &header, &body, err) != 0)
        return -1;
    xmlNodePtr first = lt_xml_first_element(body);
    if (lt_xml_is(first, SOAP, "Fault")) {
        /* X-Road's own faults may come without a header; a header that is there must still be ours. */
        if (header != NULL && check_message_id(a, header, message_id, false, err) != 0)
            return -1;
        return map_fault(a, s, first, err);
    }
    if (!ok_status)
        return bad_response(err, "the national system answered HTTP 500 without a SOAP fault");
    if (header == NULL)
        return bad_response(err, "SOAP envelope has no X-Road header");
    if (check_message_id(a, header, message_id, true, err) != 0 || check_request_hash(a, header, sent, err) != 0 ||
        check_response_element(a, first, response_local, message_id, err) != 0)
        return -1;
    *response = first;
    return 0;
}
