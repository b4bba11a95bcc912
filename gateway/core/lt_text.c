/* Text helpers: NFC via utf8proc, whitespace trimming, joining. */
#include "lt_text.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

bool lt_text_is_utf8(const char *s)
{
    if (s == NULL)
        return false;
    const utf8proc_uint8_t *p = (const utf8proc_uint8_t *)s;
    utf8proc_ssize_t left = (utf8proc_ssize_t)strlen(s);
    while (left > 0) {
        utf8proc_int32_t cp;
        /* utf8proc_iterate rejects overlong forms, surrogates and values past U+10FFFF. */
        utf8proc_ssize_t n = utf8proc_iterate(p, left, &cp);
        if (n <= 0)
            return false;
        p += n;
        left -= n;
    }
    return true;
}

/*
 * The Latin letters Vietnamese is written in: ASCII, Latin-1, Latin Extended-A and -B (U+0000-U+024F) and Latin
 * Extended Additional (U+1E00-U+1EFF, where ệ, ở, ự live). Each is a starter that NFC leaves as it is and that
 * composes with no neighbour from the same ranges, so text made only of them is already NFC. unit.test_text
 * checks that against utf8proc for every such character and every pair of them.
 */
bool lt_text_nfc_inert(int32_t cp)
{
    return (cp >= 0 && cp <= 0x24F) || (cp >= 0x1E00 && cp <= 0x1EFF);
}

/* Valid UTF-8 made only of inert characters (NFC as it is)? Anything else is for utf8proc to decide. */
static bool is_inert_text(const char *s)
{
    const utf8proc_uint8_t *p = (const utf8proc_uint8_t *)s;
    for (;;) {
        if (*p == '\0')
            return true;
        if (*p < 0x80) {
            p++;
            continue;
        }
        utf8proc_int32_t cp;
        utf8proc_ssize_t n = utf8proc_iterate(p, -1, &cp);
        if (n <= 0 || !lt_text_nfc_inert(cp))
            return false; /* invalid UTF-8 too: utf8proc_map refuses it */
        p += n;
    }
}

char *lt_text_nfc(lt_arena_t *a, const char *s)
{
    if (s == NULL)
        return NULL;
    /* Most fields of an answer are codes, numbers, dates and Vietnamese names, which are NFC as they come (the
     * national systems send precomposed letters): a copy costs far less than utf8proc's decompose-and-recompose. */
    if (is_inert_text(s))
        return lt_arena_strdup(a, s);
    utf8proc_uint8_t *out = NULL;
    utf8proc_ssize_t n =
        utf8proc_map((const utf8proc_uint8_t *)s, 0, &out, UTF8PROC_NULLTERM | UTF8PROC_STABLE | UTF8PROC_COMPOSE);
    if (n < 0)
        return NULL;
    char *copy = lt_arena_strndup(a, (const char *)out, (size_t)n);
    free(out);
    return copy;
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

char *lt_text_trim(lt_arena_t *a, const char *s)
{
    if (s == NULL)
        return NULL;
    while (is_space(*s))
        s++;
    size_t n = strlen(s);
    while (n > 0 && is_space(s[n - 1]))
        n--;
    return lt_arena_strndup(a, s, n);
}

char *lt_text_squeeze(lt_arena_t *a, const char *s)
{
    char *t = lt_text_trim(a, s);
    if (t == NULL)
        return NULL;
    char *w = t;
    for (const char *r = t; *r != '\0'; r++) {
        if (is_space(*r)) {
            if (w > t && w[-1] == ' ')
                continue;
            *w++ = ' ';
        } else {
            *w++ = *r;
        }
    }
    *w = '\0';
    return t;
}

char *lt_text_join(lt_arena_t *a, const char *const *parts, size_t n, const char *sep)
{
    size_t seplen = strlen(sep), total = 1;
    for (size_t i = 0; i < n; i++)
        if (parts[i] != NULL && parts[i][0] != '\0')
            total += strlen(parts[i]) + seplen;
    char *out = lt_arena_alloc(a, total), *w = out;
    for (size_t i = 0; i < n; i++) {
        if (parts[i] == NULL || parts[i][0] == '\0')
            continue;
        if (w > out) {
            memcpy(w, sep, seplen);
            w += seplen;
        }
        size_t len = strlen(parts[i]);
        memcpy(w, parts[i], len);
        w += len;
    }
    *w = '\0';
    return out;
}

char *lt_text_truncate_utf8(lt_arena_t *a, const char *s, size_t max)
{
    if (s == NULL)
        return NULL;
    size_t n = strlen(s);
    if (n > max) {
        n = max;
        /* Back off continuation bytes (10xxxxxx) so the cut lands on a sequence start. */
        while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
            n--;
    }
    return lt_arena_strndup(a, s, n);
}

bool lt_text_is_token(const char *s, size_t max, const char *extra)
{
    size_t n = strlen(s);
    if (n == 0 || n > max)
        return false;
    for (const char *p = s; *p; p++)
        if (!isalnum((unsigned char)*p) && strchr(extra, *p) == NULL)
            return false;
    return true;
}

bool lt_text_is_header_text(const char *s, size_t max)
{
    size_t n = strlen(s);
    if (n == 0 || n > max)
        return false;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p < 0x20 || *p == 0x7f)
            return false;
    return strspn(s, " \t") < n;
}
