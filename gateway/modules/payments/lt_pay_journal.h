/*
 * The journal backend of the payment store: the live state in memory under one mutex, every change appended as
 * one JSON line to <journal_dir>/journal.<generation>, made durable by a writer thread (group commit: one
 * fdatasync per batch), replayed at start-up and compacted into <journal_dir>/snapshot. See docs/payment-store.md.
 */
#ifndef LT_PAY_JOURNAL_H
#define LT_PAY_JOURNAL_H

#include "lt_pay_backend.h"

typedef struct lt_pay_journal lt_pay_journal_t;

/* Takes the directory's lock (a second process is refused), replays, starts the writer thread. */
lt_pay_journal_t *lt_pay_journal_open(const char *dir, long long compact_bytes, lt_error_t *err);

extern const lt_pay_backend_ops_t lt_pay_journal_ops;

#endif
