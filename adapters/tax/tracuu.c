/* YeuCauTraCuu / KetQuaTraCuu of icd/tax.md: build, check, map results. */
#include "tracuu.h"

#include <libxml/xmlwriter.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "codes.h"
#include "lt_text.h"
#include "lt_xml.h"

#define NS LT_TAX_NS

#define BAD_RESPONSE "bad_response"
#define MOTA_MAX     120 /* bytes of the registry's MoTa worth showing */

/* ---- building ---- */

static int write_text(xmlTextWriterPtr w, const char *name, const char *text)
{
    return xmlTextWriterWriteElement(w, BAD_CAST name, BAD_CAST text) < 0 ? -1 : 0;
}

/* The ICD's shape: one default namespace on the root, the children inherit it. */
static int write_request(xmlTextWriterPtr w, const lt_tax_query_t *q)
{
    if (xmlTextWriterStartDocument(w, NULL, "UTF-8", NULL) < 0 ||
        xmlTextWriterStartElementNS(w, NULL, BAD_CAST "YeuCauTraCuu", BAD_CAST NS) < 0)
        return -1;
    int rc = write_text(w, "MaDonVi", q->unit_code);
    rc |= write_text(w, "MaYeuCau", q->message_id);
    rc |= write_text(w, "MaCanBo", q->officer_id);
    rc |= write_text(w, "MST", q->tax_code);
    if (rc != 0 || xmlTextWriterEndElement(w) < 0 || xmlTextWriterEndDocument(w) < 0)
        return -1;
    return 0;
}

int lt_tax_request_build(lt_arena_t *a, const lt_tax_query_t *q, const char **body, size_t *len, lt_error_t *err)
{
    /* xmlTextWriter escapes every value, so an officer id holding "<&" cannot change the document. */
    xmlBufferPtr buf = xmlBufferCreate();
    xmlTextWriterPtr w = buf ? xmlNewTextWriterMemory(buf, 0) : NULL;
    int rc = w == NULL ? -1 : write_request(w, q);
    xmlFreeTextWriter(w); /* flushes into buf */
    if (rc == 0) {
        *len = (size_t)xmlBufferLength(buf);
        *body = lt_arena_strndup(a, (const char *)xmlBufferContent(buf), *len);
    }
    xmlBufferFree(buf);
    if (rc != 0)
        return lt_error_set(err, LT_ERR_INTERNAL, "request_build", "could not write the tax lookup request");
    return 0;
}

/* ---- reading: HTTP statuses ---- */

static int bad_response(lt_error_t *err, const char *what)
{
    return lt_error_set(err, LT_ERR_UPSTREAM_BAD, BAD_RESPONSE, "%s", what);
}

static bool is_blank(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\n')
            return false;
    return true;
}

/*
 * The ICD's rate limit (30 requests/s per key) answers 503 with an empty body;
 * a 503 with a body is some proxy in between. Both are retryable. The limit is
 * an ICD rule, so its wait (the registry's Retry-After, else retry_after_s,
 * a second by default: the window is per second) also holds back the core's
 * own retry, which would otherwise only spend more of the same second. For a
 * proxy's page only a Retry-After it sent itself binds the retry.
 */
static int unavailable(const lt_tax_settings_t *s, const lt_upstream_response_t *resp, lt_error_t *err)
{
    bool rate_limit = is_blank(resp->body, resp->body_len);
    if (rate_limit)
        lt_error_set(err, LT_ERR_UPSTREAM_UNAVAILABLE, "upstream_rate_limited",
                     "the taxpayer registry is over its request rate limit for the province's key");
    else
        lt_error_set(err, LT_ERR_UPSTREAM_UNAVAILABLE, "upstream_http_503", "the taxpayer registry answered HTTP 503");
    err->retryable = true;
    err->retry_after_s = lt_adapter_retry_after_seconds(resp->retry_after, (int)s->retry_after_s);
    err->upstream_wait_s = rate_limit ? err->retry_after_s : lt_adapter_retry_after_seconds(resp->retry_after, 0);
    return -1;
}

static int key_rejected(lt_error_t *err)
{
    const lt_tax_result_t *row = lt_tax_result_find(LT_TAX_RESULT_KEY_REJECTED);
    return lt_error_set(err, row->kind, row->code, "%s", row->detail);
}

/* ---- reading: the document ---- */

/*
 * MoTa, if it is fit to show the caller: whitespace squeezed, cut to MOTA_MAX
 * bytes, and withheld entirely when it holds a run of 8 or more digits (it
 * might quote the tax code, which for a person is personal data).
 */
static const char *safe_mota(lt_arena_t *a, const char *mota)
{
    if (mota == NULL || *mota == '\0' || !lt_xml_is_valid_text(mota))
        return NULL;
    int run = 0;
    for (const char *p = mota; *p; p++) {
        run = (*p >= '0' && *p <= '9') ? run + 1 : 0;
        if (run >= 8)
            return NULL;
    }
    char *t = lt_text_squeeze(a, mota);
    for (char *p = t; *p; p++)
        if (*p == '"')
            *p = '\'';
    return lt_text_truncate_utf8(a, lt_text_nfc(a, t), MOTA_MAX);
}

/* A short run of digits is safe to quote; anything else is not shown. */
static bool is_short_number(const char *s)
{
    size_t n = strlen(s);
    return n > 0 && n <= 4 && strspn(s, "0123456789") == n;
}

static int map_result(lt_arena_t *a, const xmlNode *root, const char *ma, lt_error_t *err)
{
    const lt_tax_result_t *row = lt_tax_result_find(ma);
    if (row == NULL) {
        if (is_short_number(ma))
            lt_error_set(err, LT_ERR_UPSTREAM_BAD, "upstream_unknown_result",
                         "the taxpayer registry answered MaKetQua %s, which the ICD does not list", ma);
        else
            lt_error_set(err, LT_ERR_UPSTREAM_BAD, "upstream_unknown_result",
                         "the taxpayer registry answered a MaKetQua the ICD does not list");
        return -1;
    }
    lt_error_set(err, row->kind, row->code, "%s", row->detail);
    const char *mota = safe_mota(a, lt_xml_text(a, lt_xml_child(root, NS, "MoTa")));
    if (mota != NULL) {
        size_t used = strlen(err->detail);
        snprintf(err->detail + used, sizeof(err->detail) - used, " (national system says: \"%s\")", mota);
    }
    return -1;
}

/*
 * MaYeuCau, when the registry sends it, must echo ours: an answer to some
 * other request must never be read as the answer to this one. The ICD shows
 * the element but never says it is always sent, nor that a client must check
 * it, so an answer without one is read as the answer to this exchange.
 */
static int check_echo(lt_arena_t *a, const xmlNode *root, const char *message_id, lt_error_t *err)
{
    const char *id = lt_xml_text(a, lt_xml_child(root, NS, "MaYeuCau"));
    if (id == NULL || *id == '\0')
        return 0;
    if (message_id == NULL || strcmp(id, message_id) != 0)
        return lt_error_set(err, LT_ERR_UPSTREAM_BAD, "upstream_id_mismatch",
                            "response MaYeuCau does not match the request's id");
    return 0;
}

static int read_document(lt_arena_t *a, const lt_upstream_response_t *resp, const char *message_id,
                         xmlNodePtr *taxpayer, lt_error_t *err)
{
    /* lt_xml_parse takes a leading BOM and refuses any DTD before an entity is even declared. */
    xmlDocPtr doc = lt_xml_parse(a, resp->body, resp->body_len, err);
    if (doc == NULL)
        return -1;
    xmlNodePtr root = xmlDocGetRootElement(doc);
    if (!lt_xml_is(root, NS, "KetQuaTraCuu"))
        return bad_response(err, "response root is not KetQuaTraCuu in namespace " NS);
    const char *ma = lt_xml_text(a, lt_xml_child(root, NS, "MaKetQua"));
    if (ma == NULL || *ma == '\0')
        return bad_response(err, "response has no MaKetQua");
    if (check_echo(a, root, message_id, err) != 0)
        return -1;
    if (strcmp(ma, "0") != 0)
        return map_result(a, root, ma, err);
    *taxpayer = lt_xml_child(root, NS, "NguoiNopThue");
    if (*taxpayer == NULL)
        return bad_response(err, "response with MaKetQua 0 has no NguoiNopThue");
    return 0;
}

/* HTTP 500 carries a system error (MaKetQua 9) when the registry could still write one; anything else is the status. */
static int read_500(lt_arena_t *a, const lt_upstream_response_t *resp, const char *message_id, lt_error_t *err)
{
    xmlNodePtr ignored = NULL;
    if (read_document(a, resp, message_id, &ignored, err) != 0 && strcmp(err->code, "upstream_system_error") == 0)
        return -1;
    return lt_error_set(err, LT_ERR_UPSTREAM_BAD, "upstream_http_status", "the taxpayer registry answered HTTP 500");
}

int lt_tax_response_read(lt_arena_t *a, const lt_tax_settings_t *s, const lt_upstream_response_t *resp,
                         const char *message_id, xmlNodePtr *taxpayer, lt_error_t *err)
{
    switch (resp->status) {
    case 200: /* every business outcome, system errors included (ICD "Response") */
        return read_document(a, resp, message_id, taxpayer, err);
    case 401: /* MaKetQua 3: the status alone says it, whatever the body holds */
        return key_rejected(err);
    case 500:
        return read_500(a, resp, message_id, err);
    case 502:
        return lt_error_set(err, LT_ERR_UPSTREAM_BAD, "upstream_http_502", "the taxpayer registry answered HTTP 502");
    case 503:
        return unavailable(s, resp, err);
    case 504:
        lt_error_set(err, LT_ERR_UPSTREAM_TIMEOUT, "upstream_http_504", "the taxpayer registry answered HTTP 504");
        err->retryable = true;
        return -1;
    default:
        return lt_error_set(err, LT_ERR_UPSTREAM_BAD, "upstream_http_status", "the taxpayer registry answered HTTP %ld",
                            resp->status);
    }
}
