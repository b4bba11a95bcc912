/*
 * Ordinary logs: one line per event on stderr, a JSON object by default
 * ({"time", "level", "instance", "msg"} and, for records, their own fields),
 * or `key=value` text for a terminal (`log_format`), with a syslog priority
 * prefix ("<6>") when stderr is journald, so systemd keeps the level. Ordinary logs
 * never carry personal data: pass identifiers through lt_log_mask() first. The
 * audit trail is the one place where full identifiers live.
 */
#ifndef LT_LOG_H
#define LT_LOG_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

typedef enum { LT_LOG_ERROR = 3, LT_LOG_WARN = 4, LT_LOG_INFO = 6, LT_LOG_DEBUG = 7 } lt_log_level_t;

typedef enum { LT_LOG_FORMAT_JSON, LT_LOG_FORMAT_TEXT } lt_log_format_t;

void lt_log_set_level(lt_log_level_t level);
void lt_log_set_format(lt_log_format_t format);
int lt_log_parse_format(const char *name, lt_log_format_t *out); /* "json", "text" */
/* The gateway instance's name, on every JSON line (set once at start-up, before any thread logs). */
void lt_log_set_instance(const char *name);
int lt_log_parse_level(const char *name, lt_log_level_t *out); /* "error", "warn", "info", "debug" */
void lt_log(lt_log_level_t level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Would a line of this level be written? For a caller to skip building a record no one will read. */
bool lt_log_enabled(lt_log_level_t level);

/* A structured record (the access log): `fields` (borrowed) become the line's own keys in JSON, or `key=value`
 * pairs after `what` in text. */
void lt_log_record(lt_log_level_t level, const char *what, const json_t *fields);

#define lt_log_error(...) lt_log(LT_LOG_ERROR, __VA_ARGS__)
#define lt_log_warn(...)  lt_log(LT_LOG_WARN, __VA_ARGS__)
#define lt_log_info(...)  lt_log(LT_LOG_INFO, __VA_ARGS__)
#define lt_log_debug(...) lt_log(LT_LOG_DEBUG, __VA_ARGS__)

/*
 * Masks an identifier for ordinary logs: keeps the first 3 and last 2
 * characters of anything 8 characters or longer ("001******45"), and
 * stars out shorter values entirely. Writes into buf (always NUL-terminated)
 * and returns buf.
 */
const char *lt_log_mask(const char *id, char *buf, size_t buflen);

#endif
