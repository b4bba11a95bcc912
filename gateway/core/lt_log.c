/* Ordinary log lines, journald-aware, with identifier masking. */
#include "lt_log.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static _Atomic int current_level = LT_LOG_INFO;
static const char *level_names[] = {
    [LT_LOG_ERROR] = "error", [LT_LOG_WARN] = "warn", [LT_LOG_INFO] = "info", [LT_LOG_DEBUG] = "debug"};

void lt_log_set_level(lt_log_level_t level)
{
    current_level = level;
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

void lt_log(lt_log_level_t level, const char *fmt, ...)
{
    if ((int)level > current_level)
        return;
    char line[2048];
    size_t n = 0;
    if (stderr_is_journal()) {
        n = (size_t)snprintf(line, sizeof(line), "<%d>", (int)level);
    } else {
        struct timespec ts;
        struct tm tm;
        clock_gettime(CLOCK_REALTIME, &ts);
        gmtime_r(&ts.tv_sec, &tm);
        n = strftime(line, sizeof(line), "%Y-%m-%dT%H:%M:%S", &tm);
        n += (size_t)snprintf(line + n, sizeof(line) - n, ".%03ldZ %s ", ts.tv_nsec / 1000000, level_names[level]);
    }
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(line + n, sizeof(line) - n - 1, fmt, ap);
    va_end(ap);
    if (m < 0)
        m = 0;
    n += (size_t)m;
    if (n > sizeof(line) - 2)
        n = sizeof(line) - 2;
    line[n++] = '\n';
    /* One write per line keeps lines from different worker threads whole. */
    fwrite(line, 1, n, stderr);
}

const char *lt_mask(const char *id, char *buf, size_t buflen)
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
