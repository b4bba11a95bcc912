/*
 * Telling systemd how start-up and shutdown go (Type=notify, WatchdogSec=): READY=1 once every listener is
 * bound, STOPPING=1 when the drain begins, and WATCHDOG=1 from a main-loop timer at half the interval systemd
 * asks for. Built with libsystemd when it is found (LT_HAVE_SYSTEMD); without it, or outside systemd
 * (no NOTIFY_SOCKET), every call does nothing.
 */
#ifndef LT_NOTIFY_H
#define LT_NOTIFY_H

#include <event2/event.h>

typedef struct lt_notify lt_notify_t;

/* Starts the watchdog timer on base when systemd asked for one. Never NULL. */
lt_notify_t *lt_notify_new(struct event_base *base);
void lt_notify_ready(lt_notify_t *n);
void lt_notify_stopping(lt_notify_t *n);
void lt_notify_free(lt_notify_t *n);

#endif
