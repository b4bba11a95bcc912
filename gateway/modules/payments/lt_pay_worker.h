/*
 * The payments module on one worker: what its handlers (lt_payments on the api
 * listener, lt_callbacks on the callbacks listener) use on that loop.
 */
#ifndef LT_PAY_WORKER_H
#define LT_PAY_WORKER_H

#include <event2/event.h>

#include "lt_pay_service.h"
#include "lt_pay_store.h"

typedef struct lt_pay_worker {
    lt_pay_service_t *svc;   /* shared by every loop, read-only */
    lt_pay_conn_t *conn;     /* this loop's store conn */
    struct event_base *base; /* this worker's loop */
} lt_pay_worker_t;

#endif
