/* The strict request-head check (RFC 9112 sections 2 to 6, refusing what it lets a recipient tolerate). */
#include "lt_http_head.h"

#include <string.h>
#include <strings.h>

size_t lt_http_head_end(const char *buf, size_t len, size_t *scanned)
{
    size_t i = *scanned;
    for (; i < len; i++) {
        if (buf[i] != '\n')
            continue;
        if (i == 0 || buf[i - 1] != '\r')
            return i + 1; /* a bare LF: let the check refuse it now */
        /* CRLF CRLF, or a head that opens with a blank line (refused as a malformed request line) */
        if (i == 1 || (i >= 3 && buf[i - 2] == '\n' && buf[i - 3] == '\r'))
            return i + 1;
    }
    *scanned = len;
    return 0;
}

/* RFC 9110 section 5.6.2: the characters of a token (method, field name). */
static bool is_tchar(unsigned char c)
{
    if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
        return true;
    return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static lt_head_verdict_t refuse(lt_http_head_t *out, int status, const char *code, const char *detail)
{
    out->status = status;
    out->code = code;
    out->detail = detail;
    return LT_HEAD_BAD;
}

/* method SP request-target SP HTTP-version: one space each, a token method, a target without control
 * characters or spaces, and HTTP/1.0 or HTTP/1.1. */
static lt_head_verdict_t check_request_line(const char *p, size_t n, bool *http11, lt_http_head_t *out)
{
    size_t i = 0;
    while (i < n && is_tchar((unsigned char)p[i]))
        i++;
    if (i == 0 || i >= n || p[i] != ' ')
        return refuse(out, 400, "bad_request_line", "the request line must be: method, target, HTTP version");
    size_t target = ++i;
    while (i < n && (unsigned char)p[i] > 0x20 && (unsigned char)p[i] != 0x7f)
        i++;
    if (i == target || i >= n || p[i] != ' ')
        return refuse(out, 400, "bad_request_line", "the request target must be one word of visible characters");
    out->method = p;
    out->method_len = target - 1;
    out->target = p + target;
    out->target_len = i - target;
    i++;
    if (n - i != 8 || memcmp(p + i, "HTTP/1.", 7) != 0 || (p[i + 7] != '0' && p[i + 7] != '1'))
        return refuse(out, 400, "bad_request_line", "this gateway speaks HTTP/1.0 and HTTP/1.1");
    *http11 = p[i + 7] == '1';
    return LT_HEAD_MORE;
}

/* 1*DIGIT, nothing else: no sign, no list, no spaces inside; bounded so that it fits a long long. */
static bool parse_length(const char *v, size_t n, long long *out)
{
    if (n == 0 || n > 15)
        return false;
    long long x = 0;
    for (size_t i = 0; i < n; i++) {
        if (v[i] < '0' || v[i] > '9')
            return false;
        x = x * 10 + (v[i] - '0');
    }
    *out = x;
    return true;
}

typedef struct {
    int content_lengths, hosts, transfer_encodings;
    long long content_length;
} seen_t;

static bool name_is(const char *name, size_t n, const char *want)
{
    return n == strlen(want) && strncasecmp(name, want, n) == 0;
}

/* One field line, its CRLF already cut: name ":" OWS value OWS, the name a token right up to the colon, the
 * value free of control characters (NUL, a lone CR or LF, DEL) but for tabs. */
static lt_head_verdict_t check_field(const char *p, size_t n, seen_t *seen, lt_http_head_t *out)
{
    if (p[0] == ' ' || p[0] == '\t')
        return refuse(out, 400, "obsolete_line_folding", "a header line may not continue the one before (obs-fold)");
    size_t i = 0;
    while (i < n && is_tchar((unsigned char)p[i]))
        i++;
    if (i == 0 || i >= n || p[i] != ':')
        return refuse(out, 400, "bad_header_name",
                      "a header name must be a token directly followed by ':' (no space, no control character)");
    size_t name_len = i++;
    while (i < n && (p[i] == ' ' || p[i] == '\t'))
        i++;
    size_t end = n;
    while (end > i && (p[end - 1] == ' ' || p[end - 1] == '\t'))
        end--;
    for (size_t k = i; k < end; k++) {
        unsigned char c = (unsigned char)p[k];
        if ((c < 0x20 && c != '\t') || c == 0x7f)
            return refuse(out, 400, "bad_header_value",
                          "a header value may not hold a control character (NUL, CR, LF)");
    }
    const char *value = p + i;
    size_t value_len = end - i;
    if (name_is(p, name_len, "Content-Length")) {
        if (++seen->content_lengths > 1)
            return refuse(out, 400, "duplicate_content_length", "the request has more than one Content-Length");
        if (!parse_length(value, value_len, &seen->content_length))
            return refuse(out, 400, "invalid_content_length", "Content-Length must be a decimal number of bytes");
    } else if (name_is(p, name_len, "Host")) {
        if (++seen->hosts > 1)
            return refuse(out, 400, "duplicate_host", "the request has more than one Host");
    } else if (name_is(p, name_len, "Transfer-Encoding")) {
        seen->transfer_encodings++;
    } else if (name_is(p, name_len, "X-Request-Id")) {
        out->request_id = value;
        out->request_id_len = value_len;
    }
    return LT_HEAD_MORE;
}

/* Before the head is complete, only its size can already be wrong. */
static lt_head_verdict_t check_partial(const char *buf, size_t len, const lt_http_head_limits_t *lim,
                                       lt_http_head_t *out)
{
    const char *eol = memchr(buf, '\n', len);
    size_t line = eol ? (size_t)(eol - buf) : len;
    if (line > lim->max_request_line + 1)
        return refuse(out, 414, "request_line_too_long", "the request line is longer than this gateway reads");
    if (len > lim->max_head_bytes)
        return refuse(out, 431, "headers_too_large", "the request headers are larger than this gateway reads");
    return LT_HEAD_MORE;
}

static lt_head_verdict_t check_framing(const seen_t *seen, bool http11, lt_http_head_t *out)
{
    if (seen->transfer_encodings > 0 && seen->content_lengths > 0)
        return refuse(out, 400, "transfer_encoding_with_content_length",
                      "a request may not carry both Transfer-Encoding and Content-Length");
    /* RFC 9112 section 6.3: a server may ask for a length instead of reading a coded body. */
    if (seen->transfer_encodings > 0)
        return refuse(out, 411, "length_required", "send the body with a Content-Length, not a transfer coding");
    if (http11 && seen->hosts == 0)
        return refuse(out, 400, "missing_host", "an HTTP/1.1 request must carry a Host header");
    out->content_length = seen->content_lengths ? seen->content_length : 0;
    return LT_HEAD_OK;
}

lt_head_verdict_t lt_http_head_check(const char *buf, size_t len, size_t head_len, const lt_http_head_limits_t *lim,
                                     lt_http_head_t *out)
{
    memset(out, 0, sizeof(*out));
    if (head_len == 0)
        return check_partial(buf, len, lim, out);
    if (head_len > lim->max_head_bytes)
        return refuse(out, 431, "headers_too_large", "the request headers are larger than this gateway reads");
    seen_t seen = {0};
    bool http11 = false;
    size_t pos = 0, fields = 0;
    while (pos < head_len) {
        const char *line = buf + pos;
        const char *lf = memchr(line, '\n', head_len - pos);
        size_t n = (size_t)(lf - line); /* the head ends with LF: lf is never NULL */
        if (n == 0 || line[n - 1] != '\r')
            return refuse(out, 400, "bare_line_feed", "every line of the request head must end with CRLF");
        n--; /* without its CR */
        if (pos == 0) {
            if (n > lim->max_request_line)
                return refuse(out, 414, "request_line_too_long", "the request line is longer than this gateway reads");
            if (check_request_line(line, n, &http11, out) == LT_HEAD_BAD)
                return LT_HEAD_BAD;
        } else if (n > 0) {
            if (memchr(line, '\r', n) != NULL)
                return refuse(out, 400, "bad_header_value",
                              "a header value may not hold a control character (NUL, CR, LF)");
            if (++fields > lim->max_headers)
                return refuse(out, 431, "too_many_headers",
                              "the request has more header fields than this gateway reads");
            if (check_field(line, n, &seen, out) == LT_HEAD_BAD)
                return LT_HEAD_BAD;
        }
        pos += n + 2;
    }
    out->nfields = fields;
    return check_framing(&seen, http11, out);
}

const char *lt_http_field_find(const lt_http_field_t *fields, size_t nfields, const char *name)
{
    for (size_t i = 0; i < nfields; i++)
        if (strcasecmp(fields[i].name, name) == 0)
            return fields[i].value;
    return NULL;
}

static char *trim_value(char *v, char *end)
{
    while (v < end && (*v == ' ' || *v == '\t'))
        v++;
    while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
        end--;
    *end = '\0';
    return v;
}

void lt_http_head_split(char *head, size_t head_len, lt_http_field_t *fields, lt_http_head_parts_t *out)
{
    memset(out, 0, sizeof(*out));
    out->fields = fields;
    char *line = head, *stop = head + head_len;
    char *eol = memchr(line, '\r', (size_t)(stop - line));
    /* the request line: "METHOD SP target SP HTTP/1.x", each part checked already */
    char *sp1 = memchr(line, ' ', (size_t)(eol - line));
    char *sp2 = memchr(sp1 + 1, ' ', (size_t)(eol - sp1 - 1));
    *sp1 = *sp2 = *eol = '\0';
    out->method = line;
    out->target = sp1 + 1;
    out->minor_version = eol[-1] - '0';
    for (line = eol + 2; line < stop && *line != '\r'; line = eol + 2) {
        eol = memchr(line, '\r', (size_t)(stop - line));
        char *colon = memchr(line, ':', (size_t)(eol - line));
        *colon = '\0';
        fields[out->nfields].name = line;
        fields[out->nfields].value = trim_value(colon + 1, eol);
        out->nfields++;
    }
}

bool lt_http_list_has(const char *value, const char *token)
{
    size_t n = strlen(token);
    for (const char *p = value; p != NULL && *p != '\0';) {
        p += strspn(p, " \t,");
        size_t len = strcspn(p, ",");
        size_t word = len;
        while (word > 0 && (p[word - 1] == ' ' || p[word - 1] == '\t'))
            word--;
        if (word == n && strncasecmp(p, token, n) == 0)
            return true;
        p += len;
    }
    return false;
}
