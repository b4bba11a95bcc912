/*
 * sim_text: NFC checks and the case-insensitive, diacritic-sensitive name fold.
 */
#include "sim_text.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <utf8proc.h>

int sim_text_is_nfc(const char *s)
{
    utf8proc_uint8_t *nfc = NULL;
    utf8proc_ssize_t n =
        utf8proc_map((const utf8proc_uint8_t *)s, 0, &nfc, UTF8PROC_NULLTERM | UTF8PROC_STABLE | UTF8PROC_COMPOSE);
    if (n < 0)
        return 0;
    int same = strcmp((const char *)nfc, s) == 0;
    free(nfc);
    return same;
}

/* XML whitespace plus the no-break space a pasted name sometimes carries. */
static size_t sim_text_space_len(const unsigned char *p, const unsigned char *end)
{
    if (p < end && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n'))
        return 1;
    if (end - p >= 2 && p[0] == 0xC2 && p[1] == 0xA0)
        return 2;
    return 0;
}

static size_t sim_text_space_before(const unsigned char *start, const unsigned char *end)
{
    if (end > start && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r' || end[-1] == '\n'))
        return 1;
    if (end - start >= 2 && end[-2] == 0xC2 && end[-1] == 0xA0)
        return 2;
    return 0;
}

const char *sim_text_trim(const char *s, size_t *len)
{
    const unsigned char *p = (const unsigned char *)s;
    const unsigned char *end = p + strlen(s);
    size_t n;
    while ((n = sim_text_space_len(p, end)) > 0)
        p += n;
    while ((n = sim_text_space_before(p, end)) > 0)
        end -= n;
    *len = (size_t)(end - p);
    return (const char *)p;
}

char *sim_text_fold(const char *s)
{
    size_t len;
    const char *t = sim_text_trim(s, &len);
    utf8proc_uint8_t *out = NULL;
    utf8proc_ssize_t n = utf8proc_map((const utf8proc_uint8_t *)t, (utf8proc_ssize_t)len, &out,
                                      UTF8PROC_STABLE | UTF8PROC_COMPOSE | UTF8PROC_CASEFOLD);
    if (n < 0)
        return NULL;
    return (char *)out;
}

int sim_text_media_type_is(const char *ct, const char *type)
{
    if (ct == NULL)
        return 0;
    size_t len, want = strlen(type);
    const char *t = sim_text_trim(ct, &len);
    const char *semi = memchr(t, ';', len);
    size_t type_len = semi ? (size_t)(semi - t) : len;
    while (type_len > 0 && (t[type_len - 1] == ' ' || t[type_len - 1] == '\t'))
        type_len--;
    if (type_len != want || strncasecmp(t, type, want) != 0)
        return 0;
    const char *cs = semi ? strcasestr(semi, "charset=") : NULL;
    if (cs == NULL)
        return 1;
    cs += 8;
    if (*cs == '"')
        cs++;
    return strncasecmp(cs, "utf-8", 5) == 0;
}
