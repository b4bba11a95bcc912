/* systemd's readiness, stopping and watchdog notifications (lt_notify.h). */
#include "lt_notify.h"

#include <stdint.h>
#include <stdlib.h>
#include <sys/time.h>

#include "lt_log.h"

#ifdef LT_HAVE_SYSTEMD
#include <systemd/sd-daemon.h>
#endif

struct lt_notify {
    struct event *watchdog; /* NULL: systemd asked for none */
};

#ifdef LT_HAVE_SYSTEMD
static void on_watchdog(evutil_socket_t fd, short what, void *arg)
{
    /* A main loop that stops turning stops these, and systemd restarts the gateway. */
    sd_notify(0, "WATCHDOG=1");
}

static void start_watchdog(lt_notify_t *n, struct event_base *base)
{
    uint64_t usec = 0;
    if (sd_watchdog_enabled(0, &usec) <= 0 || usec == 0)
        return;
    uint64_t half = usec / 2;
    struct timeval tv = {.tv_sec = (time_t)(half / 1000000), .tv_usec = (suseconds_t)(half % 1000000)};
    n->watchdog = event_new(base, -1, EV_PERSIST, on_watchdog, n);
    event_add(n->watchdog, &tv);
    lt_log_info("systemd watchdog: every %llu ms", (unsigned long long)(half / 1000));
}
#endif

lt_notify_t *lt_notify_new(struct event_base *base)
{
    lt_notify_t *n = calloc(1, sizeof(*n));
#ifdef LT_HAVE_SYSTEMD
    start_watchdog(n, base);
#endif
    return n;
}

void lt_notify_ready(lt_notify_t *n)
{
#ifdef LT_HAVE_SYSTEMD
    sd_notify(0, "READY=1\nSTATUS=serving");
#endif
}

void lt_notify_stopping(lt_notify_t *n)
{
#ifdef LT_HAVE_SYSTEMD
    sd_notify(0, "STOPPING=1\nSTATUS=draining");
#endif
}

void lt_notify_free(lt_notify_t *n)
{
    if (n == NULL)
        return;
    if (n->watchdog != NULL)
        event_free(n->watchdog);
    free(n);
}
