/*
 * The audit trail (floor 3): one record per personal-data operation, appended as a chained JSON line
 * (lt_audit_format.h) to files in audit.dir by one writer thread, so that no event loop ever waits on the disk.
 * Lookups, payments and the refusals of the HTTP layer all write to it through their loop's handle.
 *
 * A record is never silently dropped. lt_audit_submit either refuses at once (the trail cannot take records:
 * the current file is gone or unwritable, or the queue is full) or promises one answer, on the submitting loop:
 * accepted (written, and with fsync "always" made durable by fdatasync) or failed. The caller holds its reply until
 * that answer and sends 503 audit_unavailable instead when the record was refused or failed (lt_request_audit).
 *
 * Files in audit.dir (each created 0600, the directory 0700):
 *   lock                                 flock'd by the running gateway: one writer per directory
 *   index.key                            the key of the index tags (32 random bytes, hex), made on first start
 *   audit-<yyyyMMddTHHmmss>-<seq>.jsonl  the trail: a new file at start-up, after rotate_bytes, at midnight
 *                                        (Vietnam time) and after a failure; <seq> is its first record's, so
 *                                        names sort in the trail's order
 *   audit-...idx                         beside each trail file: "<subject tag> <byte offset>" per record that
 *                                        has a subject, for lienthong-audit who-read. It names no one.
 * The chain continues across files and restarts: a new file's first line carries the hash of the last line of
 * the file before it.
 *
 * While the trail cannot take records (its file was removed or replaced, a write or fdatasync failed) the writer
 * tries a new file every second; the chain continues from the last line it wrote.
 *
 * A second part watches for unusual reading: a client that was released records of more than
 * audit.unusual_subjects_per_hour distinct subjects within one clock hour (Vietnam time) is flagged on /metrics
 * and /status. Memory is bounded: per client, a set of at most that many + 1 subject tags for the current hour.
 */
#ifndef LT_AUDIT_H
#define LT_AUDIT_H

#include <event2/event.h>
#include <jansson.h>
#include <stdbool.h>

#include "lt_audit_format.h"
#include "lt_config.h"
#include "lt_error.h"
#include "lt_mbuf.h"

typedef struct lt_audit lt_audit_t;
typedef struct lt_audit_loop lt_audit_loop_t;

/* What the writer says of a record: accepted (written, durable as the fsync policy says) or not. */
typedef void (*lt_audit_done_fn)(void *arg, bool accepted);

/* What --check-config can check without taking the directory: it is a directory this process may write, or can
 * be created. */
int lt_audit_check(const lt_audit_conf_t *conf, lt_error_t *err);

/* Start-up (it may block): creates the directory, takes its lock, reads or makes the index key, finds where the
 * chain stands, opens a new file and starts the writer thread. NULL with err when any of it fails. */
lt_audit_t *lt_audit_new(const lt_config_t *config, lt_error_t *err);
/* After every loop that submitted has stopped: writes what is queued, fsyncs, joins the writer. */
void lt_audit_free(lt_audit_t *a);

/* Can the trail take records now? Any thread. */
bool lt_audit_available(const lt_audit_t *a);
/* {"configured", "color", "reason"?, "available", "dir", "file", "records", "seq", "head", "queue", "fsync",
 * "unusual": [{"client", "subjects", "hour"}]}: any thread. a NULL: the section is absent (amber). */
json_t *lt_audit_status(lt_audit_t *a);
/* The lienthong_audit_* families (docs/operations.md, "Metrics"); a NULL: none. */
void lt_audit_metrics(lt_audit_t *a, lt_buf_t *out);

/* ---- one loop ------------------------------------------------------------------------------------------------ */

/* The handle of one event loop: the writer answers its records through an event on that loop. */
lt_audit_loop_t *lt_audit_loop_new(lt_audit_t *a, struct event_base *base);
/* After the loop stopped with none of its records outstanding (a draining worker waits for their answers). */
void lt_audit_loop_free(lt_audit_loop_t *loop);
bool lt_audit_loop_available(const lt_audit_loop_t *loop);

/*
 * Hands one record to the writer. Returns 0: done will be called exactly once, on this loop, never inside this call.
 * Returns -1 when the trail cannot take it now (unavailable, or audit.queue_max records already wait): done is not
 * called, and the record is counted as refused.
 */
int lt_audit_submit(lt_audit_loop_t *loop, const lt_audit_record_t *rec, lt_audit_done_fn done, void *arg);

#endif
