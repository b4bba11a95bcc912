/* Ordinary log lines, journald-aware, with identifier masking. */
#include "lt_log.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static _Atomic int current_level = LT_LOG_INFO;
static _Atomic int current_format = LT_LOG_FORMAT_JSON;
static char instance_name[128] = "lienthong";
static const char *level_names[] = {
    [LT_LOG_ERROR] = "error", [LT_LOG_WARN] = "warn", [LT_LOG_INFO] = "info", [LT_LOG_DEBUG] = "debug"};

void lt_log_set_level(lt_log_level_t level)
{
    current_level = level;
}

void lt_log_set_format(lt_log_format_t format)
{
    current_format = format;
}

int lt_log_parse_format(const char *name, lt_log_format_t *out)
{
    if (strcmp(name, "json") == 0)
        *out = LT_LOG_FORMAT_JSON;
    else if (strcmp(name, "text") == 0)
        *out = LT_LOG_FORMAT_TEXT;
    else
        return -1;
    return 0;
}

void lt_log_set_instance(const char *name)
{
    snprintf(instance_name, sizeof(instance_name), "%s", name);
}

int lt_log_parse_level(const char *name, lt_log_level_t *out)
{
    for (int l = LT_LOG_ERROR; l <= LT_LOG_DEBUG; l++) {
        if (level_names[l] != NULL && strcmp(level_names[l], name) == 0) {
            *out = (lt_log_level_t)l;
            return 0;
        }
    }
    return -1;
}

/* systemd sets JOURNAL_STREAM when stderr is connected to journald. */
static int stderr_is_journal(void)
{
    static int cached = -1;
    if (cached < 0)
        cached = getenv("JOURNAL_STREAM") != NULL;
    return cached;
}

/* 2026-11-23T07:15:00.123Z: UTC, so that lines from every host and zone sort together. */
static void format_time(char out[32])
{
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    size_t n = strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out + n, 32 - n, ".%03ldZ", ts.tv_nsec / 1000000);
}

/* One write per line keeps lines from different worker threads whole. */
static void write_line(lt_log_level_t level, const char *body, size_t len)
{
    char prefix[8] = "";
    if (stderr_is_journal())
        snprintf(prefix, sizeof(prefix), "<%d>", (int)level);
    size_t plen = strlen(prefix);
    char *line = malloc(plen + len + 2);
    if (line == NULL)
        return;
    memcpy(line, prefix, plen);
    memcpy(line + plen, body, len);
    line[plen + len] = '\n';
    fwrite(line, 1, plen + len + 1, stderr);
    free(line);
}

/* JSON: {"time", "level", "instance", then the record's own keys}; journald adds its own time, text keeps ours. */
static void emit(lt_log_level_t level, const char *msg, const char *what, const json_t *fields)
{
    char at[32];
    format_time(at);
    if (current_format == LT_LOG_FORMAT_JSON) {
        json_t *o = json_pack("{s:s, s:s, s:s}", "time", at, "level", level_names[level], "instance", instance_name);
        if (what != NULL)
            json_object_set_new(o, "record", json_string(what));
        if (msg != NULL) {
            json_t *m = json_string(msg); /* NULL for text that is not UTF-8: say so rather than lose the line */
            json_object_set_new(o, "msg", m != NULL ? m : json_string("(a message that is not UTF-8)"));
        }
        if (fields != NULL)
            json_object_update(o, (json_t *)fields);
        char *text = json_dumps(o, JSON_COMPACT);
        json_decref(o);
        if (text != NULL)
            write_line(level, text, strlen(text));
        free(text);
        return;
    }
    char line[2048];
    int n = stderr_is_journal() ? 0 : snprintf(line, sizeof(line), "%s %s ", at, level_names[level]);
    if (msg != NULL)
        n += snprintf(line + n, sizeof(line) - (size_t)n, "%s", msg);
    if (what != NULL) {
        n += snprintf(line + n, sizeof(line) - (size_t)n, "%s", what);
        const char *k;
        json_t *v;
        json_object_foreach((json_t *)fields, k, v)
        {
            if ((size_t)n >= sizeof(line) - 1)
                break;
            char *value = json_is_string(v) ? NULL : json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
            n += snprintf(line + n, sizeof(line) - (size_t)n, " %s=%s", k, value ? value : json_string_value(v));
            free(value);
        }
    }
    size_t len = (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1;
    write_line(level, line, len);
}

void lt_log(lt_log_level_t level, const char *fmt, ...)
{
    if ((int)level > current_level)
        return;
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    emit(level, msg, NULL, NULL);
}

bool lt_log_enabled(lt_log_level_t level)
{
    return (int)level <= current_level;
}

void lt_log_record(lt_log_level_t level, const char *what, const json_t *fields)
{
    if ((int)level > current_level)
        return;
    emit(level, NULL, what, fields);
}

const char *lt_log_mask(const char *id, char *buf, size_t buflen)
{
    if (buflen == 0)
        return buf;
    if (id == NULL) {
        snprintf(buf, buflen, "-");
        return buf;
    }
    size_t len = strlen(id);
    size_t keep_head = len >= 8 ? 3 : 0, keep_tail = len >= 8 ? 2 : 0;
    size_t out = 0;
    for (size_t i = 0; i < len && out + 1 < buflen; i++)
        buf[out++] = (i < keep_head || i >= len - keep_tail) ? id[i] : '*';
    buf[out] = '\0';
    return buf;
}
