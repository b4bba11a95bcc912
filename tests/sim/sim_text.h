/*
 * sim_text: the Unicode rules the national systems apply to names.
 *
 * Names travel as NFC (ICD README). The population service compares names
 * ignoring case and surrounding spaces but not diacritics, so "nguyễn văn an"
 * matches "Nguyễn Văn An" and "Nguyen Van An" does not.
 */
#ifndef SIM_TEXT_H
#define SIM_TEXT_H

#include <stddef.h>

/* 1 when s is valid UTF-8 already in NFC. */
int sim_text_is_nfc(const char *s);
/* NFC + case fold of s without its surrounding ASCII and Unicode spaces; malloc'd, NULL on invalid UTF-8. */
char *sim_text_fold(const char *s);
/* Pointer and length of s without surrounding whitespace. */
const char *sim_text_trim(const char *s, size_t *len);

/* 1 when the Content-Type value ct has media type `type` (case-insensitive) and, if it names a charset,
 * that charset is UTF-8: every ICD fixes the encoding. */
int sim_text_media_type_is(const char *ct, const char *type);

#endif
