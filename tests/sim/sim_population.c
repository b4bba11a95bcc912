/*
 * sim_population: the population lookup and verification service, as the
 * population ICD describes it and nothing more.
 *
 * It reads SOAP 1.1 with X-Road v4 headers by namespace URI, never by prefix,
 * and it answers with prefixes unlike the ICD's on purpose ("s:", "x:", "ids:"
 * and a default namespace for the body), because the ICD says prefixes are
 * free and a client that matches on "SOAP-ENV:" or "dc:" must fail here rather
 * than in production.
 */
#include "sim_population.h"
#include "sim_text.h"

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <limits.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define SIM_NS_SOAP    "http://schemas.xmlsoap.org/soap/envelope/"
#define SIM_NS_XRD     "http://x-road.eu/xsd/xroad.xsd"
#define SIM_NS_ID      "http://x-road.eu/xsd/identifiers"
#define SIM_NS_DC      "http://dancuquocgia.bca"
#define SIM_SHA512_URI "http://www.w3.org/2001/04/xmlenc#sha512"

/* The service's own identity, from the header example in the ICD. */
#define SIM_SERVICE_INSTANCE  "VN"
#define SIM_SERVICE_CLASS     "GOV"
#define SIM_SERVICE_MEMBER    "000.00.00.G01"
#define SIM_SERVICE_SUBSYSTEM "CSDLQGDC"
#define SIM_SERVICE_VERSION   "v1"

#define SIM_COUNT(a) (sizeof(a) / sizeof((a)[0]))

enum { SIM_OP_LOOKUP, SIM_OP_VERIFY };
static const char *const sim_pop_ops[] = {"TraCuuThongTinCongDan", "XacThucThongTinCongDan", NULL};
static const char *const sim_pop_faults[] = {"DC-400", "DC-403", "DC-404",   "DC-429",   "DC-500",
                                             "DC-503", "xroad",  "wrong_id", "bad_hash", NULL};

/* The ICD's fault table. faultcode is qualified with the envelope prefix when written. */
typedef struct sim_dc_fault {
    const char *code;
    const char *faultcode;
    const char *text;
} sim_dc_fault_t;

static const sim_dc_fault_t sim_dc_faults[] = {
    {"DC-400", "Client", "Yêu cầu không hợp lệ"},
    {"DC-403", "Client", "Đơn vị không được phép sử dụng dịch vụ này"},
    {"DC-404", "Client", "Không tìm thấy thông tin công dân"},
    {"DC-429", "Server", "Đơn vị đã hết hạn mức truy vấn, vui lòng thử lại sau một phút"},
    {"DC-500", "Server", "Lỗi hệ thống"},
    {"DC-503", "Server", "Hệ thống đang bảo trì"},
};

#define SIM_POP_MAX_STRINGS 40

typedef struct sim_xroad_party {
    const char *instance, *member_class, *member_code, *subsystem_code, *service_code, *service_version;
} sim_xroad_party_t;

/* Everything one request carries, and what the answer echoes. */
typedef struct sim_pop_call {
    const sim_request_t *req;
    int op;        /* from SOAPAction; -1 when not one of ours */
    int header_ok; /* the X-Road header was complete, so replies can echo it */
    sim_xroad_party_t client, service;
    const char *id, *user_id, *issue, *protocol_version;
    const char *ma_yeu_cau, *ma_dvc, *ma_tich_hop, *ma_can_bo, *so_dinh_danh, *ho_va_ten, *ngay_sinh;
    char problem[256]; /* the first reason for DC-400, in Vietnamese */
    /* fault knobs that keep the reply well-formed but wrong */
    int wrong_id;
    int bad_hash;
    char echo_id[64];
    char hash_b64[96];
    char *strings[SIM_POP_MAX_STRINGS]; /* every extracted text, freed together */
    size_t n_strings;
} sim_pop_call_t;

/* ---- small helpers ---- */

static int sim_pop_operation_from_action(const char *action)
{
    if (action == NULL)
        return -1;
    size_t len;
    const char *a = sim_text_trim(action, &len);
    /* The ICD quotes the action, as SOAP 1.1 requires; tolerate a client that does not. */
    if (len >= 2 && a[0] == '"' && a[len - 1] == '"') {
        a++;
        len -= 2;
    }
    for (int i = 0; sim_pop_ops[i]; i++)
        if (strlen(sim_pop_ops[i]) == len && memcmp(sim_pop_ops[i], a, len) == 0)
            return i;
    return -1;
}

static int sim_pop_operation_of(const sim_request_t *req)
{
    return sim_pop_operation_from_action(req->header(req, "SOAPAction"));
}

static void sim_pop_problem(sim_pop_call_t *c, const char *fmt, const char *arg)
{
    if (c->problem[0] == '\0')
        snprintf(c->problem, sizeof c->problem, fmt, arg);
}

static const char *sim_pop_keep(sim_pop_call_t *c, char *s)
{
    if (s == NULL)
        return NULL;
    if (c->n_strings == SIM_POP_MAX_STRINGS) {
        free(s);
        sim_pop_problem(c, "%s", "Yêu cầu không hợp lệ: quá nhiều trường");
        return NULL;
    }
    c->strings[c->n_strings++] = s;
    return s;
}

static void sim_pop_call_free(sim_pop_call_t *c)
{
    for (size_t i = 0; i < c->n_strings; i++)
        free(c->strings[i]);
    c->n_strings = 0;
}

static int sim_pop_all_digits(const char *s, size_t n)
{
    return strlen(s) == n && strspn(s, "0123456789") == n;
}

/* The ICD README's identifier rule: 12 digits, province 001-096, century/sex digit 0-3. */
static int sim_pop_valid_id(const char *s)
{
    if (!sim_pop_all_digits(s, 12))
        return 0;
    int province = (s[0] - '0') * 100 + (s[1] - '0') * 10 + (s[2] - '0');
    return province >= 1 && province <= 96 && s[3] <= '3';
}

static int sim_pop_days_in_month(int y, int m)
{
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap ? 29 : days[m - 1];
}

/* yyyy-MM-dd or yyyy. Fills year, month, day (month 0 for year only). */
static int sim_pop_parse_date(const char *s, int *y, int *m, int *d)
{
    size_t n = strlen(s);
    if (n == 4 && sim_pop_all_digits(s, 4)) {
        *y = atoi(s);
        *m = *d = 0;
        return *y > 0;
    }
    if (n != 10 || s[4] != '-' || s[7] != '-')
        return 0;
    for (size_t i = 0; i < n; i++)
        if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9'))
            return 0;
    *y = atoi(s);
    *m = atoi(s + 5);
    *d = atoi(s + 8);
    return *y > 0 && *m >= 1 && *m <= 12 && *d >= 1 && *d <= sim_pop_days_in_month(*y, *m);
}

/* ---- reading the request, by namespace URI ---- */

static int sim_xml_is(const xmlNode *n, const char *ns, const char *name)
{
    return n != NULL && n->type == XML_ELEMENT_NODE && n->ns != NULL && n->ns->href != NULL &&
           strcmp((const char *)n->ns->href, ns) == 0 && strcmp((const char *)n->name, name) == 0;
}

static const xmlNode *sim_xml_child(const xmlNode *parent, const char *ns, const char *name, int *dup)
{
    const xmlNode *found = NULL;
    *dup = 0;
    for (const xmlNode *n = parent->children; n; n = n->next) {
        if (!sim_xml_is(n, ns, name))
            continue;
        if (found)
            *dup = 1;
        else
            found = n;
    }
    return found;
}

static const xmlNode *sim_xml_first_element(const xmlNode *parent, int *count)
{
    const xmlNode *first = NULL;
    *count = 0;
    for (const xmlNode *n = parent->children; n; n = n->next) {
        if (n->type != XML_ELEMENT_NODE)
            continue;
        if (first == NULL)
            first = n;
        (*count)++;
    }
    return first;
}

/* Trimmed text of an element that holds only text, or NULL when it holds elements. */
static char *sim_xml_text(const xmlNode *n)
{
    for (const xmlNode *k = n->children; k; k = k->next)
        if (k->type != XML_TEXT_NODE && k->type != XML_CDATA_SECTION_NODE && k->type != XML_COMMENT_NODE)
            return NULL;
    xmlChar *raw = xmlNodeGetContent(n);
    if (raw == NULL)
        return strdup("");
    size_t len;
    const char *t = sim_text_trim((const char *)raw, &len);
    char *out = strndup(t, len);
    xmlFree(raw);
    return out;
}

/*
 * The text of child (ns, name) of parent. Records the first problem (missing,
 * repeated, not plain text, empty) for the DC-400 fault and returns NULL then.
 */
static const char *sim_pop_field(sim_pop_call_t *c, const xmlNode *parent, const char *ns, const char *qname)
{
    if (parent == NULL)
        return NULL;
    const char *local = strchr(qname, ':') + 1;
    int dup;
    const xmlNode *n = sim_xml_child(parent, ns, local, &dup);
    if (n == NULL) {
        sim_pop_problem(c, "Yêu cầu không hợp lệ: thiếu phần tử %s", qname);
        return NULL;
    }
    if (dup) {
        sim_pop_problem(c, "Yêu cầu không hợp lệ: phần tử %s lặp lại", qname);
        return NULL;
    }
    const char *text = sim_pop_keep(c, sim_xml_text(n));
    if (text == NULL) {
        sim_pop_problem(c, "Yêu cầu không hợp lệ: phần tử %s phải chứa văn bản", qname);
        return NULL;
    }
    if (*text == '\0') {
        sim_pop_problem(c, "Yêu cầu không hợp lệ: phần tử %s trống", qname);
        return NULL;
    }
    return text;
}

static void sim_pop_expect(sim_pop_call_t *c, const char *value, const char *want, const char *qname)
{
    if (value != NULL && strcmp(value, want) != 0)
        sim_pop_problem(c, "Yêu cầu không hợp lệ: %s không đúng", qname);
}

static const xmlNode *sim_pop_party_node(sim_pop_call_t *c, const xmlNode *header, const char *qname,
                                         const char *object_type)
{
    int dup;
    const xmlNode *n = sim_xml_child(header, SIM_NS_XRD, strchr(qname, ':') + 1, &dup);
    if (n == NULL || dup) {
        sim_pop_problem(c, n ? "Yêu cầu không hợp lệ: phần tử %s lặp lại" : "Yêu cầu không hợp lệ: thiếu phần tử %s",
                        qname);
        return NULL;
    }
    xmlChar *type = xmlGetNsProp(n, (const xmlChar *)"objectType", (const xmlChar *)SIM_NS_ID);
    if (type == NULL || strcmp((const char *)type, object_type) != 0)
        sim_pop_problem(c, "Yêu cầu không hợp lệ: id:objectType của %s không đúng", qname);
    xmlFree(type);
    return n;
}

static void sim_pop_parse_header(sim_pop_call_t *c, const xmlNode *header)
{
    const xmlNode *client = sim_pop_party_node(c, header, "xrd:client", "SUBSYSTEM");
    c->client.instance = sim_pop_field(c, client, SIM_NS_ID, "id:xRoadInstance");
    c->client.member_class = sim_pop_field(c, client, SIM_NS_ID, "id:memberClass");
    c->client.member_code = sim_pop_field(c, client, SIM_NS_ID, "id:memberCode");
    c->client.subsystem_code = sim_pop_field(c, client, SIM_NS_ID, "id:subsystemCode");

    const xmlNode *service = sim_pop_party_node(c, header, "xrd:service", "SERVICE");
    c->service.instance = sim_pop_field(c, service, SIM_NS_ID, "id:xRoadInstance");
    c->service.member_class = sim_pop_field(c, service, SIM_NS_ID, "id:memberClass");
    c->service.member_code = sim_pop_field(c, service, SIM_NS_ID, "id:memberCode");
    c->service.subsystem_code = sim_pop_field(c, service, SIM_NS_ID, "id:subsystemCode");
    c->service.service_code = sim_pop_field(c, service, SIM_NS_ID, "id:serviceCode");
    c->service.service_version = sim_pop_field(c, service, SIM_NS_ID, "id:serviceVersion");

    c->id = sim_pop_field(c, header, SIM_NS_XRD, "xrd:id");
    c->user_id = sim_pop_field(c, header, SIM_NS_XRD, "xrd:userId");
    c->issue = sim_pop_field(c, header, SIM_NS_XRD, "xrd:issue");
    c->protocol_version = sim_pop_field(c, header, SIM_NS_XRD, "xrd:protocolVersion");
    if (c->problem[0] != '\0')
        return;
    /* Everything needed for an echo is present, even if a value below is wrong. */
    c->header_ok = 1;
    sim_pop_expect(c, c->protocol_version, "4.0", "xrd:protocolVersion");
    sim_pop_expect(c, c->service.instance, SIM_SERVICE_INSTANCE, "xrd:service/id:xRoadInstance");
    sim_pop_expect(c, c->service.member_class, SIM_SERVICE_CLASS, "xrd:service/id:memberClass");
    sim_pop_expect(c, c->service.member_code, SIM_SERVICE_MEMBER, "xrd:service/id:memberCode");
    sim_pop_expect(c, c->service.subsystem_code, SIM_SERVICE_SUBSYSTEM, "xrd:service/id:subsystemCode");
    sim_pop_expect(c, c->service.service_version, SIM_SERVICE_VERSION, "xrd:service/id:serviceVersion");
    if (c->op >= 0)
        sim_pop_expect(c, c->service.service_code, sim_pop_ops[c->op], "xrd:service/id:serviceCode");
}

static void sim_pop_parse_operation(sim_pop_call_t *c, const xmlNode *op)
{
    c->ma_yeu_cau = sim_pop_field(c, op, SIM_NS_DC, "dc:MaYeuCau");
    c->ma_dvc = sim_pop_field(c, op, SIM_NS_DC, "dc:MaDVC");
    c->ma_tich_hop = sim_pop_field(c, op, SIM_NS_DC, "dc:MaTichHop");
    c->ma_can_bo = sim_pop_field(c, op, SIM_NS_DC, "dc:MaCanBo");
    c->so_dinh_danh = sim_pop_field(c, op, SIM_NS_DC, "dc:SoDinhDanh");
    c->ho_va_ten = sim_pop_field(c, op, SIM_NS_DC, "dc:HoVaTen");
    int dup;
    const xmlNode *birth = sim_xml_child(op, SIM_NS_DC, "NgayThangNamSinh", &dup);
    if (birth == NULL || dup)
        sim_pop_problem(c, "Yêu cầu không hợp lệ: %s", "thiếu hoặc lặp phần tử dc:NgayThangNamSinh");
    else
        c->ngay_sinh = sim_pop_field(c, birth, SIM_NS_DC, "dc:NgayThangNam");
    if (c->problem[0] != '\0')
        return;

    int y, m, d;
    if (c->id && strcmp(c->ma_yeu_cau, c->id) != 0)
        sim_pop_problem(c, "Yêu cầu không hợp lệ: %s", "dc:MaYeuCau phải trùng với xrd:id");
    else if (!sim_pop_valid_id(c->so_dinh_danh))
        sim_pop_problem(c, "Yêu cầu không hợp lệ: %s", "số định danh cá nhân phải gồm 12 chữ số hợp lệ");
    else if (!sim_pop_parse_date(c->ngay_sinh, &y, &m, &d))
        sim_pop_problem(c, "Yêu cầu không hợp lệ: %s", "dc:NgayThangNam phải có dạng yyyy-MM-dd hoặc yyyy");
}

static void sim_pop_parse_body(sim_pop_call_t *c, const xmlNode *body)
{
    int count;
    const xmlNode *op = sim_xml_first_element(body, &count);
    if (op == NULL || count != 1) {
        sim_pop_problem(c, "Yêu cầu không hợp lệ: %s", "SOAP Body phải chứa đúng một thao tác");
        return;
    }
    int body_op = -1;
    for (int i = 0; sim_pop_ops[i]; i++)
        if (sim_xml_is(op, SIM_NS_DC, sim_pop_ops[i]))
            body_op = i;
    if (body_op < 0) {
        sim_pop_problem(c, "Yêu cầu không hợp lệ: thao tác %s không được hỗ trợ (kiểm tra namespace)",
                        (const char *)op->name);
        return;
    }
    if (c->op != body_op) {
        sim_pop_problem(c, "Yêu cầu không hợp lệ: %s", "SOAPAction không khớp với thao tác trong Body");
        return;
    }
    sim_pop_parse_operation(c, op);
}

static void sim_pop_parse_envelope(sim_pop_call_t *c, const xmlDoc *doc)
{
    const xmlNode *env = xmlDocGetRootElement(doc);
    if (!sim_xml_is(env, SIM_NS_SOAP, "Envelope")) {
        sim_pop_problem(c, "Yêu cầu không hợp lệ: %s", "không phải SOAP 1.1 Envelope");
        return;
    }
    int dup_h, dup_b;
    const xmlNode *header = sim_xml_child(env, SIM_NS_SOAP, "Header", &dup_h);
    const xmlNode *body = sim_xml_child(env, SIM_NS_SOAP, "Body", &dup_b);
    if (header == NULL || dup_h) {
        sim_pop_problem(c, "Yêu cầu không hợp lệ: %s", "thiếu SOAP Header với các trường X-Road");
        return;
    }
    sim_pop_parse_header(c, header);
    if (body == NULL || dup_b) {
        sim_pop_problem(c, "Yêu cầu không hợp lệ: %s", "thiếu SOAP Body");
        return;
    }
    sim_pop_parse_body(c, body);
}

/*
 * Parses with no network access and no entity expansion, and refuses any
 * DTD: SOAP 1.1 messages must not carry one, and refusing it closes the door
 * on entity tricks for good.
 */
static void sim_pop_parse(sim_pop_call_t *c)
{
    const sim_request_t *req = c->req;
    if (!sim_text_media_type_is(req->header(req, "Content-Type"), "text/xml")) {
        sim_pop_problem(c, "Yêu cầu không hợp lệ: %s", "Content-Type phải là text/xml; charset=utf-8");
        return;
    }
    if (c->op < 0) {
        sim_pop_problem(c, "Yêu cầu không hợp lệ: %s",
                        "SOAPAction phải là \"TraCuuThongTinCongDan\" hoặc \"XacThucThongTinCongDan\"");
        return;
    }
    if (req->body_len == 0 || req->body_len > INT_MAX) {
        sim_pop_problem(c, "Yêu cầu không hợp lệ: %s", "thân yêu cầu trống");
        return;
    }
    xmlDoc *doc = xmlReadMemory((const char *)req->body, (int)req->body_len, NULL, NULL,
                                XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    if (doc == NULL) {
        sim_pop_problem(c, "Yêu cầu không hợp lệ: %s", "XML không đúng cú pháp");
        return;
    }
    if (doc->intSubset != NULL || doc->extSubset != NULL)
        sim_pop_problem(c, "Yêu cầu không hợp lệ: %s", "không chấp nhận DTD trong thông điệp SOAP");
    else
        sim_pop_parse_envelope(c, doc);
    xmlFreeDoc(doc);
}

/* ---- writing the reply ---- */

static void sim_pop_hash(sim_pop_call_t *c)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int md_len = 0;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (ctx == NULL)
        return;
    EVP_DigestInit_ex(ctx, EVP_sha512(), NULL);
    EVP_DigestUpdate(ctx, c->req->body, c->req->body_len);
    if (c->bad_hash)
        EVP_DigestUpdate(ctx, "\n", 1); /* the hash of almost, but not exactly, the request */
    EVP_DigestFinal_ex(ctx, md, &md_len);
    EVP_MD_CTX_free(ctx);
    EVP_EncodeBlock((unsigned char *)c->hash_b64, md, (int)md_len);
}

/* For wrong_id: a well-formed UUID derived from, and different from, the request's id. */
static void sim_pop_make_echo_id(sim_pop_call_t *c)
{
    if (!c->wrong_id || c->id == NULL) {
        snprintf(c->echo_id, sizeof c->echo_id, "%s", c->id ? c->id : "");
        return;
    }
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int md_len = 0;
    EVP_Digest(c->id, strlen(c->id), md, &md_len, EVP_sha256(), NULL);
    md[6] = (unsigned char)((md[6] & 0x0f) | 0x40);
    md[8] = (unsigned char)((md[8] & 0x3f) | 0x80);
    char *o = c->echo_id;
    for (int i = 0; i < 16; i++) {
        o += sprintf(o, "%02x", md[i]);
        if (i == 3 || i == 5 || i == 7 || i == 9)
            *o++ = '-';
    }
    *o = '\0';
}

static void sim_pop_party(sim_buf_t *b, const char *tag, const char *type, const sim_xroad_party_t *p, int service)
{
    sim_buf_printf(b, "<x:%s ids:objectType=\"%s\">", tag, type);
    sim_buf_xml_element(b, "ids:xRoadInstance", p->instance);
    sim_buf_xml_element(b, "ids:memberClass", p->member_class);
    sim_buf_xml_element(b, "ids:memberCode", p->member_code);
    sim_buf_xml_element(b, "ids:subsystemCode", p->subsystem_code);
    if (service) {
        sim_buf_xml_element(b, "ids:serviceCode", p->service_code);
        sim_buf_xml_element(b, "ids:serviceVersion", p->service_version);
    }
    sim_buf_printf(b, "</x:%s>", tag);
}

/* Opens the envelope and, when the request's header was readable, echoes it. */
static void sim_pop_open(sim_buf_t *b, const sim_pop_call_t *c)
{
    sim_buf_puts(b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                    "<s:Envelope xmlns:s=\"" SIM_NS_SOAP "\" xmlns:x=\"" SIM_NS_XRD "\" xmlns:ids=\"" SIM_NS_ID "\">");
    if (!c->header_ok) {
        sim_buf_puts(b, "<s:Body>");
        return;
    }
    sim_buf_puts(b, "<s:Header>");
    sim_pop_party(b, "client", "SUBSYSTEM", &c->client, 0);
    sim_pop_party(b, "service", "SERVICE", &c->service, 1);
    sim_buf_xml_element(b, "x:id", c->echo_id);
    sim_buf_xml_element(b, "x:userId", c->user_id);
    sim_buf_xml_element(b, "x:issue", c->issue);
    sim_buf_xml_element(b, "x:protocolVersion", c->protocol_version);
    sim_buf_printf(b, "<x:requestHash algorithmId=\"%s\">%s</x:requestHash>", SIM_SHA512_URI, c->hash_b64);
    sim_buf_puts(b, "</s:Header><s:Body>");
}

static void sim_pop_close(sim_buf_t *b)
{
    sim_buf_puts(b, "</s:Body></s:Envelope>\n");
}

static void sim_pop_reply_xml(sim_reply_t *reply, int status)
{
    reply->status = status;
    reply->reason = status == 200 ? "OK" : "Internal Server Error";
    reply->content_type = "text/xml; charset=utf-8";
}

static void sim_pop_reply_dc_fault(const sim_pop_call_t *c, sim_reply_t *reply, const char *code, const char *detail)
{
    const sim_dc_fault_t *f = &sim_dc_faults[0];
    for (size_t i = 0; i < SIM_COUNT(sim_dc_faults); i++)
        if (strcmp(sim_dc_faults[i].code, code) == 0)
            f = &sim_dc_faults[i];
    sim_buf_t *b = &reply->body;
    sim_pop_open(b, c);
    /* faultcode, faultstring and detail are unqualified in SOAP 1.1; only MaLoi is in the dc namespace. */
    sim_buf_printf(b, "<s:Fault><faultcode>s:%s</faultcode>", f->faultcode);
    sim_buf_xml_element(b, "faultstring", detail && strcmp(f->code, "DC-400") == 0 ? detail : f->text);
    sim_buf_printf(b, "<detail><MaLoi xmlns=\"%s\">%s</MaLoi></detail></s:Fault>", SIM_NS_DC, f->code);
    sim_pop_close(b);
    sim_pop_reply_xml(reply, 500);
}

/* What the national platform itself says when the service behind it fails: no header, no MaLoi. */
static void sim_pop_reply_xroad_fault(sim_reply_t *reply)
{
    sim_buf_puts(&reply->body,
                 "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                 "<SOAP-ENV:Envelope xmlns:SOAP-ENV=\"" SIM_NS_SOAP "\"><SOAP-ENV:Body><SOAP-ENV:Fault>"
                 "<faultcode>Server.ServerProxy.ServiceFailed</faultcode>"
                 "<faultstring>Service failed: the service provider did not answer (simulated)</faultstring>"
                 "<faultactor></faultactor><detail><faultDetail>lienthong-sim</faultDetail></detail>"
                 "</SOAP-ENV:Fault></SOAP-ENV:Body></SOAP-ENV:Envelope>\n");
    sim_pop_reply_xml(reply, 500);
}

static void sim_pop_name(sim_buf_t *b, const sim_person_t *p)
{
    sim_buf_puts(b, "<HoVaTen>");
    sim_buf_xml_element(b, "Ho", p->family);
    sim_buf_xml_element(b, "ChuDem", p->middle);
    sim_buf_xml_element(b, "Ten", p->given);
    sim_buf_puts(b, "</HoVaTen>");
}

static void sim_pop_address(sim_buf_t *b, const char *tag, const sim_address_t *a)
{
    sim_address_view_t v;
    sim_address_view(a, &v);
    sim_buf_printf(b, "<%s>", tag);
    sim_buf_xml_element(b, "MaTinhThanh", v.province_code);
    sim_buf_xml_element(b, "MaQuanHuyen", v.district_code);
    sim_buf_xml_element(b, "MaPhuongXa", v.commune_code);
    sim_buf_xml_element(b, "ChiTiet", v.text);
    sim_buf_printf(b, "</%s>", tag);
}

static void sim_pop_code(sim_buf_t *b, const char *tag, unsigned value, int width)
{
    sim_buf_printf(b, "<%s>%0*u</%s>", tag, width, value, tag);
}

/* Optional fields are missing for some people and present-but-empty for others, as the ICD allows both. */
static int sim_pop_empty_not_missing(const sim_person_t *p, int digit)
{
    return (p->id[digit] - '0') % 2;
}

static void sim_pop_household(sim_buf_t *b, const sim_people_t *people, const sim_person_t *p)
{
    const sim_person_t *head = p->head >= 0 ? sim_people_at(people, (size_t)p->head) : NULL;
    if (head == NULL)
        return;
    sim_buf_puts(b, "<ChuHo>");
    sim_buf_xml_element(b, "SoDinhDanh", head->id);
    sim_pop_name(b, head);
    sim_buf_xml_element(b, "QuanHe", sim_person_relation(p));
    sim_buf_puts(b, "</ChuHo>");
}

static void sim_pop_citizen(sim_buf_t *b, const sim_people_t *people, const sim_person_t *p)
{
    char birth[16];
    sim_person_birth_text(p, 0, birth, sizeof birth);
    sim_buf_puts(b, "<CongDan>");
    sim_buf_xml_element(b, "SoDinhDanh", p->id);
    if (p->old_id[0] != '\0' || sim_pop_empty_not_missing(p, 10))
        sim_buf_xml_element(b, "SoCMND", p->old_id);
    sim_pop_name(b, p);
    sim_pop_code(b, "GioiTinh", p->sex, 1);
    sim_buf_printf(b, "<NgayThangNamSinh><NgayThangNam>%s</NgayThangNam></NgayThangNamSinh>", birth);
    sim_pop_code(b, "DanToc", p->ethnicity, 2);
    sim_pop_code(b, "TonGiao", p->religion, 2);
    sim_buf_xml_element(b, "QuocTich", "VN");
    if (p->has_note) /* not in the ICD: clients must ignore elements they do not know */
        sim_buf_xml_element(b, "GhiChu", "Thông tin được đồng bộ từ cơ sở dữ liệu cũ");
    sim_pop_code(b, "NhomMau", p->blood, 2);
    sim_pop_code(b, "TinhTrangHonNhan", p->marital, 1);
    sim_pop_address(b, "QueQuan", &p->origin);
    sim_pop_address(b, "ThuongTru", &p->permanent);
    if (p->current.shape != SIM_ADDR_NONE)
        sim_pop_address(b, "NoiOHienTai", &p->current);
    else if (sim_pop_empty_not_missing(p, 11))
        sim_buf_puts(b, "<NoiOHienTai/>");
    sim_pop_household(b, people, p);
    sim_buf_puts(b, "</CongDan>");
}

/* The ICD's three-way match: number, name (case and outer spaces ignored, diacritics not), birth date. */
static int sim_pop_matches(const sim_pop_call_t *c, const sim_person_t *p)
{
    if (p == NULL)
        return 0;
    char full[256];
    sim_person_full_name(p, full, sizeof full);
    char *want = sim_text_fold(full);
    char *got = sim_text_fold(c->ho_va_ten);
    int same_name = want && got && strcmp(want, got) == 0;
    free(want);
    free(got);
    if (!same_name)
        return 0;
    int y, m, d;
    sim_pop_parse_date(c->ngay_sinh, &y, &m, &d);
    if (sim_person_year_only(p))
        return m == 0 && y == p->birth.year;
    return m != 0 && y == p->birth.year && m == p->birth.month && d == p->birth.day;
}

static void sim_pop_answer(const sim_pop_call_t *c, const sim_people_t *people, sim_reply_t *reply)
{
    const sim_person_t *p = sim_people_find(people, c->so_dinh_danh);
    int match = sim_pop_matches(c, p);
    if (c->op == SIM_OP_LOOKUP && !match) {
        sim_pop_reply_dc_fault(c, reply, "DC-404", NULL);
        return;
    }
    sim_buf_t *b = &reply->body;
    sim_pop_open(b, c);
    sim_buf_printf(b, "<%sResponse xmlns=\"%s\">", sim_pop_ops[c->op], SIM_NS_DC);
    sim_buf_xml_element(b, "MaYeuCau", c->echo_id);
    if (c->op == SIM_OP_LOOKUP)
        sim_pop_citizen(b, people, p);
    else
        sim_buf_printf(b, "<KetQua>%s</KetQua>", match ? "true" : "false");
    sim_buf_printf(b, "</%sResponse>", sim_pop_ops[c->op]);
    sim_pop_close(b);
    sim_pop_reply_xml(reply, 200);
}

static void sim_pop_handle(void *state, const sim_people_t *people, const sim_request_t *req, const char *fault,
                           sim_reply_t *reply)
{
    if (strcmp(req->method, "POST") != 0) {
        reply->status = 405;
        reply->reason = "Method Not Allowed";
        reply->content_type = "text/plain; charset=utf-8";
        sim_buf_puts(&reply->body, "POST only\n");
        return;
    }
    if (fault && strcmp(fault, "xroad") == 0) {
        sim_pop_reply_xroad_fault(reply);
        return;
    }
    sim_pop_call_t c;
    memset(&c, 0, sizeof c);
    c.req = req;
    c.op = sim_pop_operation_of(req);
    c.wrong_id = fault && strcmp(fault, "wrong_id") == 0;
    c.bad_hash = fault && strcmp(fault, "bad_hash") == 0;
    sim_pop_parse(&c);
    sim_pop_hash(&c);
    sim_pop_make_echo_id(&c);
    if (fault && strncmp(fault, "DC-", 3) == 0)
        sim_pop_reply_dc_fault(&c, reply, fault, NULL);
    else if (c.problem[0] != '\0')
        sim_pop_reply_dc_fault(&c, reply, "DC-400", c.problem);
    else
        sim_pop_answer(&c, people, reply);
    sim_pop_call_free(&c);
}

const sim_service_t sim_population_service = {
    .name = "population",
    .path = "/ws/dancu/v1",
    .cert_name = "population-sim",
    .default_port = 9101,
    .ops = sim_pop_ops,
    .faults = sim_pop_faults,
    .operation_of = sim_pop_operation_of,
    .handle = sim_pop_handle,
};
