/*
 * Text helpers for Vietnamese names and addresses. The national systems compare
 * names byte for byte after their own normalisation, so the gateway sends and
 * returns text composed as NFC (icd/README.md): "Nguyễn" typed on a keyboard
 * that produces combining marks must reach them in the same form as one typed
 * with precomposed letters. All results live in the arena.
 */
#ifndef LT_TEXT_H
#define LT_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lt_arena.h"

/* True when s is well-formed UTF-8 (no overlongs, surrogates or code points above U+10FFFF). */
bool lt_text_is_utf8(const char *s);

/* s composed as NFC; NULL when s is NULL or not valid UTF-8. */
char *lt_text_nfc(lt_arena_t *a, const char *s);
/* Is cp one of the characters lt_text_nfc copies without utf8proc (text made only of them is already NFC)? */
bool lt_text_nfc_inert(int32_t cp);

/* s without leading and trailing ASCII whitespace (space, tab, CR, LF, VT, FF); NULL in, NULL out. */
char *lt_text_trim(lt_arena_t *a, const char *s);

/* s trimmed, with every inner run of ASCII whitespace replaced by one space; NULL in, NULL out. */
char *lt_text_squeeze(lt_arena_t *a, const char *s);

/* The non-NULL, non-empty parts joined by sep ("" when there are none). */
char *lt_text_join(lt_arena_t *a, const char *const *parts, size_t n, const char *sep);

/* Copies at most max bytes of s without cutting a UTF-8 sequence in two. */
char *lt_text_truncate_utf8(lt_arena_t *a, const char *s, size_t max);

/* 1..max characters, each a letter or digit (ASCII) or one of `extra`: identifiers that travel in headers. */
bool lt_text_is_token(const char *s, size_t max, const char *extra);
/* 1..max bytes of text with no control character (below 0x20, or 0x7f), and not only blanks. */
bool lt_text_is_header_text(const char *s, size_t max);

#endif
