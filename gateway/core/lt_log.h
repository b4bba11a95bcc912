/*
 * Ordinary logs: one line per event on stderr, with a syslog priority prefix
 * ("<6>") when stderr is journald, so systemd keeps the level. Ordinary logs
 * never carry personal data: pass identifiers through lt_mask() first. The
 * audit trail is the one place where full identifiers live.
 */
#ifndef LT_LOG_H
#define LT_LOG_H

#include <stddef.h>

typedef enum { LT_LOG_ERROR = 3, LT_LOG_WARN = 4, LT_LOG_INFO = 6, LT_LOG_DEBUG = 7 } lt_log_level_t;

void lt_log_set_level(lt_log_level_t level);
int lt_log_parse_level(const char *name, lt_log_level_t *out); /* "error", "warn", "info", "debug" */
void lt_log(lt_log_level_t level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

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
const char *lt_mask(const char *id, char *buf, size_t buflen);

#endif
