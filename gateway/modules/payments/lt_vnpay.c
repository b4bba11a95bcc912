/* Signing and verification for the payment gateway (icd/payment.md), and vnp_OrderInfo's ASCII folding. */
#include "lt_vnpay.h"

#include <ctype.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

void lt_vnp_params_free(lt_vnp_params_t *ps)
{
    for (size_t i = 0; i < ps->n; i++) {
        free(ps->items[i].name);
        free(ps->items[i].value);
    }
    ps->n = 0;
}

int lt_vnp_params_add(lt_vnp_params_t *ps, const char *name, const char *value)
{
    if (ps->n >= LT_VNP_MAX_PARAMS)
        return -1;
    ps->items[ps->n].name = strdup(name);
    ps->items[ps->n].value = strdup(value ? value : "");
    ps->n++;
    return 0;
}

const char *lt_vnp_params_get(const lt_vnp_params_t *ps, const char *name)
{
    for (size_t i = 0; i < ps->n; i++)
        if (strcmp(ps->items[i].name, name) == 0)
            return ps->items[i].value;
    return NULL;
}

/* ---- decoding ------------------------------------------------------------- */

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = (char)tolower((unsigned char)c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Decodes [s, s+len) into a malloc'd string; NULL on a bad escape or a NUL byte. */
static char *form_decode(const char *s, size_t len)
{
    char *out = malloc(len + 1), *o = out;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '+') {
            *o++ = ' ';
        } else if (s[i] == '%') {
            int hi = i + 2 < len ? hex_value(s[i + 1]) : -1;
            int lo = i + 2 < len ? hex_value(s[i + 2]) : -1;
            if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
                free(out);
                return NULL;
            }
            *o++ = (char)(hi * 16 + lo);
            i += 2;
        } else {
            *o++ = s[i];
        }
    }
    *o = '\0';
    return out;
}

int lt_vnp_parse_query(const char *query, lt_vnp_params_t *out)
{
    out->n = 0;
    const char *p = query ? query : "";
    while (*p != '\0') {
        size_t len = strcspn(p, "&");
        const char *eq = memchr(p, '=', len);
        if (len > 0) {
            size_t nlen = eq ? (size_t)(eq - p) : len;
            char *name = form_decode(p, nlen);
            char *value = eq ? form_decode(eq + 1, len - nlen - 1) : strdup("");
            int bad = name == NULL || value == NULL || name[0] == '\0' || lt_vnp_params_get(out, name) != NULL ||
                      out->n >= LT_VNP_MAX_PARAMS;
            if (!bad) {
                out->items[out->n].name = name;
                out->items[out->n].value = value;
                out->n++;
            } else {
                free(name);
                free(value);
                lt_vnp_params_free(out);
                return -1;
            }
        }
        p += len;
        if (*p == '&')
            p++;
    }
    return 0;
}

/* ---- encoding and signing -------------------------------------------------- */

char *lt_vnp_encode(const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = strlen(s);
    char *out = malloc(n * 3 + 1), *o = out;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (isalnum(*p) || *p == '-' || *p == '_' || *p == '.') {
            *o++ = (char)*p;
        } else if (*p == ' ') {
            *o++ = '+';
        } else {
            *o++ = '%';
            *o++ = hex[*p >> 4];
            *o++ = hex[*p & 15];
        }
    }
    *o = '\0';
    return out;
}

static bool is_signed_param(const lt_vnp_param_t *p)
{
    return strncmp(p->name, "vnp_", 4) == 0 && p->value[0] != '\0' && strcmp(p->name, "vnp_SecureHash") != 0 &&
           strcmp(p->name, "vnp_SecureHashType") != 0;
}

static int by_name(const void *a, const void *b)
{
    const lt_vnp_param_t *const *x = a, *const *y = b;
    return strcmp((*x)->name, (*y)->name); /* byte order: strcmp compares as unsigned char */
}

char *lt_vnp_hash_data(const lt_vnp_params_t *ps)
{
    const lt_vnp_param_t *signed_params[LT_VNP_MAX_PARAMS];
    size_t n = 0;
    for (size_t i = 0; i < ps->n; i++)
        if (is_signed_param(&ps->items[i]))
            signed_params[n++] = &ps->items[i];
    qsort(signed_params, n, sizeof(signed_params[0]), by_name);
    size_t cap = 1, len = 0;
    for (size_t i = 0; i < n; i++)
        cap += 3 * (strlen(signed_params[i]->name) + strlen(signed_params[i]->value)) + 2;
    char *out = malloc(cap);
    out[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        char *name = lt_vnp_encode(signed_params[i]->name), *value = lt_vnp_encode(signed_params[i]->value);
        len += (size_t)snprintf(out + len, cap - len, "%s%s=%s", i ? "&" : "", name, value);
        free(name);
        free(value);
    }
    return out;
}

void lt_vnp_hmac_hex(const unsigned char *secret, size_t secret_len, const char *data, size_t data_len,
                     char out[LT_VNP_HASH_HEX + 1])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int mac_len = 0;
    HMAC(EVP_sha512(), secret, (int)secret_len, (const unsigned char *)data, data_len, mac, &mac_len);
    for (unsigned i = 0; i < mac_len; i++) {
        out[2 * i] = hex[mac[i] >> 4];
        out[2 * i + 1] = hex[mac[i] & 15];
    }
    out[2 * mac_len] = '\0';
}

char *lt_vnp_signed_query(const lt_vnp_params_t *ps, const unsigned char *secret, size_t secret_len)
{
    char *data = lt_vnp_hash_data(ps);
    char hash[LT_VNP_HASH_HEX + 1];
    lt_vnp_hmac_hex(secret, secret_len, data, strlen(data), hash);
    size_t cap = strlen(data) + sizeof(hash) + 32;
    char *out = malloc(cap);
    snprintf(out, cap, "%s&vnp_SecureHash=%s", data, hash);
    free(data);
    return out;
}

bool lt_vnp_hash_equal(const char *a, const char *b)
{
    if (strlen(a) != LT_VNP_HASH_HEX || strlen(b) != LT_VNP_HASH_HEX)
        return false;
    char la[LT_VNP_HASH_HEX], lb[LT_VNP_HASH_HEX];
    for (size_t i = 0; i < LT_VNP_HASH_HEX; i++) {
        la[i] = (char)tolower((unsigned char)a[i]);
        lb[i] = (char)tolower((unsigned char)b[i]);
    }
    return CRYPTO_memcmp(la, lb, LT_VNP_HASH_HEX) == 0;
}

bool lt_vnp_verify(const lt_vnp_params_t *ps, const unsigned char *secret, size_t secret_len)
{
    const char *given = lt_vnp_params_get(ps, "vnp_SecureHash");
    if (given == NULL)
        return false;
    char *data = lt_vnp_hash_data(ps);
    char expected[LT_VNP_HASH_HEX + 1];
    lt_vnp_hmac_hex(secret, secret_len, data, strlen(data), expected);
    free(data);
    return lt_vnp_hash_equal(given, expected);
}

void lt_vnp_pipe_hash(const char *const *fields, size_t n, const unsigned char *secret, size_t secret_len,
                      char out[LT_VNP_HASH_HEX + 1])
{
    size_t cap = 1;
    for (size_t i = 0; i < n; i++)
        cap += strlen(fields[i] ? fields[i] : "") + 1;
    char *data = malloc(cap);
    size_t len = 0;
    data[0] = '\0';
    for (size_t i = 0; i < n; i++)
        len += (size_t)snprintf(data + len, cap - len, "%s%s", i ? "|" : "", fields[i] ? fields[i] : "");
    lt_vnp_hmac_hex(secret, secret_len, data, len, out);
    free(data);
}

/* ---- vnp_OrderInfo ---------------------------------------------------------- */

static bool kept_in_order_info(utf8proc_int32_t c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-' ||
           c == '_';
}

size_t lt_vnp_fold_ascii(const char *utf8, char *out, size_t max)
{
    utf8proc_uint8_t *decomposed = NULL;
    /* Canonical decomposition with the combining marks stripped: "Nguyễn" → "Nguyen". */
    utf8proc_ssize_t n = utf8proc_map((const utf8proc_uint8_t *)utf8, 0, &decomposed,
                                      UTF8PROC_NULLTERM | UTF8PROC_DECOMPOSE | UTF8PROC_STRIPMARK);
    size_t len = 0;
    bool pending_space = false;
    for (utf8proc_ssize_t i = 0; n > 0 && i < n && len < max;) {
        utf8proc_int32_t c;
        utf8proc_ssize_t step = utf8proc_iterate(decomposed + i, n - i, &c);
        if (step <= 0)
            break;
        i += step;
        if (c == 0x0111 || c == 0x0110) /* đ and Đ are letters of their own, with no decomposition */
            c = c == 0x0111 ? 'd' : 'D';
        if (utf8proc_category(c) == UTF8PROC_CATEGORY_ZS || c == '\t' || c == '\n' || c == '\r') {
            pending_space = len > 0;
            continue;
        }
        if (!kept_in_order_info(c))
            continue;
        if (pending_space && len + 1 < max)
            out[len++] = ' ';
        pending_space = false;
        out[len++] = (char)c;
    }
    out[len] = '\0';
    free(decomposed);
    return len;
}
