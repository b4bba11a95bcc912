#include "lt_process.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "lt_date.h"

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void lt_process_reloaded(lt_process_t *p, int status)
{
    atomic_store(&p->last_reload_status, status);
    atomic_store(&p->last_reload_ms, wall_ms());
}

json_t *lt_process_time(const lt_process_t *p, int64_t unix_ms)
{
    if (unix_ms <= 0)
        return json_null();
    char buf[32];
    lt_date_format_zone(unix_ms, p != NULL ? p->zone_offset_s : LT_DATE_VN_OFFSET_S, buf);
    return json_string(buf);
}

static json_t *zone_name(long offset_s)
{
    char buf[32];
    lt_date_format_zone(0, offset_s, buf);
    return json_string(buf + 19); /* the offset after "1970-01-01T07:00:00" */
}

json_t *lt_process_json(const lt_process_t *p, int64_t now_ms)
{
    int64_t reloaded = atomic_load(&p->last_reload_ms);
    json_t *reload = reloaded > 0 ? json_pack("{s:o, s:I, s:i}", "at", lt_process_time(p, reloaded), "ago_s",
                                              (json_int_t)((now_ms - reloaded) / 1000), "status",
                                              atomic_load(&p->last_reload_status))
                                  : json_null();
    return json_pack("{s:s, s:s, s:o, s:I, s:o, s:o, s:b}", "name", p->instance ? p->instance : "", "version",
                     LT_VERSION, "started_at", lt_process_time(p, p->started_ms), "uptime_s",
                     (json_int_t)((now_ms - p->started_ms) / 1000), "last_reload", reload, "time_zone",
                     zone_name(p->zone_offset_s), "drained", atomic_load(&p->drained));
}

/* ---- /metrics -------------------------------------------------------------------------------------------------- */

/* The kernel's boot time (btime of /proc/stat), for the start time below; 0 when it cannot be read. */
static long long boot_time(void)
{
    FILE *f = fopen("/proc/stat", "r");
    if (f == NULL)
        return 0;
    char line[256];
    long long btime = 0;
    while (fgets(line, sizeof(line), f) != NULL)
        if (sscanf(line, "btime %lld", &btime) == 1)
            break;
    fclose(f);
    return btime;
}

/* From /proc/self/stat, after the parenthesised name: utime and stime (fields 14, 15), starttime (22), vsize (23)
 * and rss (24). The start time is the kernel's, as other exporters give it: when the process was created. */
static int read_stat(double *cpu_s, double *start_s, double *vsize, double *rss)
{
    FILE *f = fopen("/proc/self/stat", "r");
    if (f == NULL)
        return -1;
    char line[1024];
    size_t n = fread(line, 1, sizeof(line) - 1, f);
    fclose(f);
    line[n] = '\0';
    const char *rest = strrchr(line, ')');
    unsigned long utime, stime, vs;
    unsigned long long start;
    long rs;
    /* state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime cutime cstime priority nice
     * threads itrealvalue starttime vsize rss */
    if (rest == NULL || sscanf(rest + 2,
                               "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu %*d %*d %*d %*d %*d %*d "
                               "%llu %lu %ld",
                               &utime, &stime, &start, &vs, &rs) != 5)
        return -1;
    double hz = (double)sysconf(_SC_CLK_TCK);
    *cpu_s = (double)(utime + stime) / hz;
    *start_s = (double)boot_time() + (double)start / hz;
    *vsize = (double)vs;
    *rss = (double)rs * (double)sysconf(_SC_PAGESIZE);
    return 0;
}

static long open_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    if (d == NULL)
        return -1;
    long n = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;)
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    return n - 1; /* the directory's own descriptor */
}

static void gauge(lt_buf_t *b, const char *name, const char *type, const char *help, double v)
{
    lt_mbuf_family(b, name, type, help);
    lt_buf_printf(b, "%s %.17g\n", name, v);
}

void lt_process_metrics(const lt_process_t *p, lt_buf_t *b)
{
    double cpu, start, vsize, rss;
    if (read_stat(&cpu, &start, &vsize, &rss) == 0) {
        gauge(b, "process_cpu_seconds_total", "counter", "Total user and system CPU time spent in seconds.", cpu);
        gauge(b, "process_resident_memory_bytes", "gauge", "Resident memory size in bytes.", rss);
        gauge(b, "process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.", vsize);
        gauge(b, "process_start_time_seconds", "gauge", "Start time of the process since unix epoch in seconds.",
              start);
    }
    long fds = open_fds();
    if (fds >= 0)
        gauge(b, "process_open_fds", "gauge", "Number of open file descriptors.", (double)fds);
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0)
        gauge(b, "process_max_fds", "gauge", "Maximum number of open file descriptors.", (double)rl.rlim_cur);
    gauge(b, "lienthong_drained", "gauge",
          "1 while an operator has drained this instance (/readyz answers 503, requests are still served).",
          atomic_load(&p->drained) ? 1 : 0);
    int64_t reloaded = atomic_load(&p->last_reload_ms);
    gauge(b, "lienthong_last_reload_timestamp_seconds", "gauge",
          "When the configuration was last reloaded (0: not since start).", (double)(reloaded / 1000));
}
