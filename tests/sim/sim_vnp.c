/*
 * sim_vnp: the payment ICD's signing rules (§1 "Signature" and §4 "Query").
 */
#include "sim_vnp.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *sim_vnp_strdup(const char *s)
{
    char *d = strdup(s);
    if (d == NULL)
        abort(); /* a test stand-in has no better answer (see sim_buf.h) */
    return d;
}

void sim_vnp_params_init(sim_vnp_params_t *ps)
{
    memset(ps, 0, sizeof *ps);
}

void sim_vnp_params_free(sim_vnp_params_t *ps)
{
    for (size_t i = 0; i < ps->n; i++) {
        free(ps->items[i].name);
        free(ps->items[i].value);
    }
    free(ps->items);
    sim_vnp_params_init(ps);
}

static void sim_vnp_params_take(sim_vnp_params_t *ps, char *name, char *value)
{
    if (ps->n == ps->cap) {
        size_t cap = ps->cap ? ps->cap * 2 : 16;
        sim_vnp_param_t *items = realloc(ps->items, cap * sizeof *items);
        if (items == NULL)
            abort();
        ps->items = items;
        ps->cap = cap;
    }
    ps->items[ps->n].name = name;
    ps->items[ps->n].value = value;
    ps->n++;
}

void sim_vnp_params_add(sim_vnp_params_t *ps, const char *name, const char *value)
{
    sim_vnp_params_take(ps, sim_vnp_strdup(name), sim_vnp_strdup(value));
}

const char *sim_vnp_params_get(const sim_vnp_params_t *ps, const char *name)
{
    for (size_t i = 0; i < ps->n; i++)
        if (strcmp(ps->items[i].name, name) == 0)
            return ps->items[i].value;
    return NULL;
}

/* ---- form decoding ---- */

static int sim_vnp_hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Decodes len bytes of s ('+' is a space, %XX a byte) into a new string; NULL on a bad escape or an encoded NUL. */
static char *sim_vnp_decode(const char *s, size_t len)
{
    char *out = malloc(len + 1);
    if (out == NULL)
        abort();
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '+') {
            out[o++] = ' ';
        } else if (s[i] != '%') {
            out[o++] = s[i];
        } else {
            int hi = i + 2 < len ? sim_vnp_hex_digit(s[i + 1]) : -1;
            int lo = hi >= 0 ? sim_vnp_hex_digit(s[i + 2]) : -1;
            if (lo < 0 || (hi == 0 && lo == 0)) {
                free(out);
                return NULL;
            }
            out[o++] = (char)(hi * 16 + lo);
            i += 2;
        }
    }
    out[o] = '\0';
    return out;
}

/* Decodes one name=value pair (no '=' means an empty value) and appends it; -1 with err on failure. */
static int sim_vnp_parse_pair(sim_vnp_params_t *ps, const char *pair, size_t len, char *err, size_t errlen)
{
    const char *eq = memchr(pair, '=', len);
    size_t name_len = eq ? (size_t)(eq - pair) : len;
    char *name = sim_vnp_decode(pair, name_len);
    char *value = eq ? sim_vnp_decode(eq + 1, len - name_len - 1) : sim_vnp_strdup("");
    if (name == NULL || value == NULL) {
        snprintf(err, errlen, "malformed percent-encoding in \"%.*s\"", (int)(len > 60 ? 60 : len), pair);
        goto fail;
    }
    if (sim_vnp_params_get(ps, name) != NULL) {
        snprintf(err, errlen, "parameter %.60s appears more than once", name);
        goto fail;
    }
    sim_vnp_params_take(ps, name, value);
    return 0;
fail:
    free(name);
    free(value);
    return -1;
}

int sim_vnp_params_parse(sim_vnp_params_t *ps, const char *text, size_t len, char *err, size_t errlen)
{
    size_t start = 0;
    while (start < len) {
        const char *amp = memchr(text + start, '&', len - start);
        size_t end = amp ? (size_t)(amp - text) : len;
        if (end > start && sim_vnp_parse_pair(ps, text + start, end - start, err, errlen) < 0)
            return -1;
        start = end + 1;
    }
    return 0;
}

/* ---- encoding and hash data ---- */

static int sim_vnp_unreserved(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
           c == '.';
}

void sim_vnp_encode(sim_buf_t *out, const char *s, size_t len)
{
    static const char hex[] = "0123456789ABCDEF";
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (sim_vnp_unreserved(c)) {
            sim_buf_append(out, &s[i], 1);
        } else if (c == ' ') {
            sim_buf_append(out, "+", 1);
        } else {
            char esc[3] = {'%', hex[c >> 4], hex[c & 15]};
            sim_buf_append(out, esc, 3);
        }
    }
}

static int sim_vnp_signed_param(const sim_vnp_param_t *p)
{
    return strncmp(p->name, "vnp_", 4) == 0 && p->value[0] != '\0' && strcmp(p->name, "vnp_SecureHash") != 0 &&
           strcmp(p->name, "vnp_SecureHashType") != 0;
}

/* strcmp compares as unsigned char: exactly the ICD's "ascending byte order". */
static int sim_vnp_by_name(const void *a, const void *b)
{
    const sim_vnp_param_t *const *pa = a, *const *pb = b;
    return strcmp((*pa)->name, (*pb)->name);
}

void sim_vnp_hash_data(const sim_vnp_params_t *ps, sim_buf_t *out)
{
    const sim_vnp_param_t **sorted = calloc(ps->n ? ps->n : 1, sizeof *sorted);
    if (sorted == NULL)
        abort();
    size_t n = 0;
    for (size_t i = 0; i < ps->n; i++)
        if (sim_vnp_signed_param(&ps->items[i]))
            sorted[n++] = &ps->items[i];
    qsort(sorted, n, sizeof *sorted, sim_vnp_by_name);
    sim_buf_append(out, "", 0); /* data is a string even when nothing is signed */
    for (size_t i = 0; i < n; i++) {
        if (i > 0)
            sim_buf_append(out, "&", 1);
        sim_vnp_encode(out, sorted[i]->name, strlen(sorted[i]->name));
        sim_buf_append(out, "=", 1);
        sim_vnp_encode(out, sorted[i]->value, strlen(sorted[i]->value));
    }
    free(sorted);
}

void sim_vnp_hmac_hex(const unsigned char *key, size_t keylen, const char *data, size_t len,
                      char hex[SIM_VNP_HASH_HEX + 1])
{
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int maclen = 0;
    if (HMAC(EVP_sha512(), key, (int)keylen, (const unsigned char *)data, len, mac, &maclen) == NULL ||
        maclen * 2 != SIM_VNP_HASH_HEX)
        abort(); /* OpenSSL without SHA-512 is no platform this runs on */
    for (unsigned i = 0; i < maclen; i++)
        snprintf(hex + 2 * i, 3, "%02x", mac[i]);
}

void sim_vnp_sign(const sim_vnp_params_t *ps, const unsigned char *key, size_t keylen, char hex[SIM_VNP_HASH_HEX + 1])
{
    sim_buf_t data;
    sim_buf_init(&data);
    sim_vnp_hash_data(ps, &data);
    sim_vnp_hmac_hex(key, keylen, data.data, data.len, hex);
    sim_buf_free(&data);
}

void sim_vnp_signed_query(const sim_vnp_params_t *ps, const unsigned char *key, size_t keylen, sim_buf_t *out)
{
    sim_buf_t data;
    sim_buf_init(&data);
    sim_vnp_hash_data(ps, &data);
    char hex[SIM_VNP_HASH_HEX + 1];
    sim_vnp_hmac_hex(key, keylen, data.data, data.len, hex);
    sim_buf_append(out, data.data, data.len);
    sim_buf_printf(out, "%svnp_SecureHash=%s", data.len ? "&" : "", hex);
    sim_buf_free(&data);
}

static unsigned char sim_vnp_lower(unsigned char c)
{
    return c >= 'A' && c <= 'Z' ? (unsigned char)(c + 32) : c;
}

int sim_vnp_hash_equal(const char *given, const char *want)
{
    if (strlen(given) != SIM_VNP_HASH_HEX || strlen(want) != SIM_VNP_HASH_HEX)
        return 0;
    unsigned diff = 0;
    for (size_t i = 0; i < SIM_VNP_HASH_HEX; i++)
        diff |= (unsigned)(sim_vnp_lower((unsigned char)given[i]) ^ sim_vnp_lower((unsigned char)want[i]));
    return diff == 0;
}

void sim_vnp_pipe_sign(const char *const *values, size_t n, const unsigned char *key, size_t keylen,
                       char hex[SIM_VNP_HASH_HEX + 1])
{
    sim_buf_t data;
    sim_buf_init(&data);
    sim_buf_append(&data, "", 0);
    for (size_t i = 0; i < n; i++) {
        if (i > 0)
            sim_buf_append(&data, "|", 1);
        sim_buf_puts(&data, values[i] ? values[i] : "");
    }
    sim_vnp_hmac_hex(key, keylen, data.data, data.len, hex);
    sim_buf_free(&data);
}
