/*
 * The Redis backend of the payment store: each operation is one Lua script (EVALSHA, falling back to EVAL when
 * Redis has lost its script cache), so instances sharing one Redis never record a payment twice. Each conn has its
 * own lt_redis_t on its own loop. Key layout and scripts: lt_pay_redis.c and docs/payment-store.md.
 */
#ifndef LT_PAY_REDIS_H
#define LT_PAY_REDIS_H

#include "lt_pay_backend.h"

typedef struct lt_pay_redis lt_pay_redis_t;

/* Resolves the address and reads the password file (start-up may block; loops never do). Connects per conn. */
lt_pay_redis_t *lt_pay_redis_open(const lt_payments_conf_t *conf, lt_error_t *err);

extern const lt_pay_backend_ops_t lt_pay_redis_ops;

#endif
