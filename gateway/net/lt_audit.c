/*
 * The audit trail's writer (lt_audit.h).
 *
 * Every record runs in two halves, as the payment journal's operations do:
 *   1. On the submitting loop: the record is serialised (lt_audit_format_body) and queued for the writer, unless
 *      the trail cannot take it (then the caller answers 503 at once).
 *   2. The writer thread takes everything queued as one batch, chains each record after the previous line
 *      (prev = SHA-256 of that line), writes the batch with one write() and, with fsync "always", one
 *      fdatasync(); then it hands each record's answer to its loop's ready list and wakes that loop
 *      (event_active), where the callback runs.
 * A failed write is cut back (ftruncate) to the last whole line, the file is closed, and the records of the batch
 * fail: their requests answer 503. The writer then tries a new file every second; the chain continues from the
 * last line it wrote, so verify sees no gap unless lines really were lost.
 */
#include "lt_audit.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lt_log.h"

#define RETRY_MS       1000 /* how often a trail that cannot be written is tried again, and the file checked */
#define TAIL_READ_MAX  (4 << 20)
#define FILE_PREFIX    LT_AUDIT_FILE_PREFIX
#define FILE_SUFFIX    LT_AUDIT_FILE_SUFFIX
#define INDEX_SUFFIX   ".idx"
#define NAME_MAX_AUDIT 128

/* ---- records on their way ----------------------------------------------------------------------------------- */

typedef struct item {
    struct item *next;
    lt_audit_loop_t *loop;
    lt_audit_done_fn done;
    void *arg;
    char *body; /* the record's JSON object without prev and seq */
    size_t body_len;
    char *subject; /* for the index and the unusual-reading counts; NULL: none */
    int client;    /* index in config->clients, -1: not a listed client */
    bool reads;    /* a 2xx answer about a subject: counts as reading it */
    bool accepted;
    off_t offset; /* where its line starts in the file, once written */
} item_t;

typedef struct {
    item_t *head, *tail;
} item_queue_t;

static void q_push(item_queue_t *q, item_t *it)
{
    it->next = NULL;
    if (q->tail != NULL)
        q->tail->next = it;
    else
        q->head = it;
    q->tail = it;
}

static item_t *q_pop(item_queue_t *q)
{
    item_t *it = q->head;
    if (it != NULL) {
        q->head = it->next;
        if (q->head == NULL)
            q->tail = NULL;
    }
    return it;
}

static void item_free(item_t *it)
{
    free(it->body);
    free(it->subject);
    free(it);
}

/* ---- the unusual-reading counts -------------------------------------------------------------------------------- */

/* One client's distinct subjects in the current hour: an open-addressing set of tags, filled to threshold + 1. */
typedef struct {
    int64_t hour;
    uint64_t *set;
    size_t cap, n;
    int64_t over_hour; /* the last hour it went over the threshold; -1: never */
    long long unusual_hours;
} reader_t;

/* ---- the trail -------------------------------------------------------------------------------------------------- */

struct lt_audit {
    const lt_config_t *config;
    const lt_audit_conf_t *conf;
    unsigned char key[LT_AUDIT_KEY_LEN];
    EVP_MAC_CTX *tagger;  /* keyed with key once, on the writer's thread (its only user) */
    EVP_MD_CTX *chain_md; /* the chain's SHA-256, reused from line to line by the writer */
    int lock_fd;
    pthread_t writer;
    bool started;
    _Atomic bool available;

    pthread_mutex_t lock; /* the queue, and what status reads of the writer's state */
    pthread_cond_t wake;
    item_queue_t queue;
    long long queued;
    bool stop;
    char file[NAME_MAX_AUDIT]; /* the current file's name, "" while there is none */
    uint64_t seq;              /* the last record written */
    char head[LT_AUDIT_HASH_HEX + 1];
    char why[200]; /* why the trail cannot be written */

    /* The writer's alone. */
    int fd, idx_fd;
    char path[PATH_MAX];
    off_t bytes;
    int64_t file_day;
    bool dirty; /* written since the last fdatasync */
    int64_t last_sync_ms, last_check_ms, last_attempt_ms;

    _Atomic unsigned long long written, refused_unavailable, refused_queue_full, failed, fsyncs, rotations;

    pthread_mutex_t track_lock;
    reader_t *readers; /* per config->clients */
};

struct lt_audit_loop {
    lt_audit_t *a;
    struct event *wake;
    pthread_mutex_t lock;
    item_queue_t ready;
    int pending; /* submitted, answer not yet delivered: this loop's thread only */
    bool *alive; /* set while on_wake runs, so that a callback may free the handle */
};

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

bool lt_audit_available(const lt_audit_t *a)
{
    return a != NULL && atomic_load(&a->available);
}

/* ---- files ------------------------------------------------------------------------------------------------------ */

static int write_all(int fd, const char *data, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, data, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            if (n == 0)
                errno = EIO;
            return -1;
        }
        data += n;
        len -= (size_t)n;
    }
    return 0;
}

static void path_in(const lt_audit_t *a, const char *name, char out[PATH_MAX])
{
    snprintf(out, PATH_MAX, "%s/%s", a->conf->dir, name);
}

/* audit-<yyyyMMddTHHmmssSSS>-<first seq>.jsonl: the time (Vietnam) first, so that names sort by it. */
static void trail_name(int64_t now_ms, uint64_t first_seq, char out[NAME_MAX_AUDIT])
{
    time_t local = (time_t)(now_ms / 1000) + 7 * 3600;
    struct tm tm;
    gmtime_r(&local, &tm);
    snprintf(out, NAME_MAX_AUDIT, FILE_PREFIX "%04d%02d%02dT%02d%02d%02d%03d-%012llu" FILE_SUFFIX, tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(now_ms % 1000),
             (unsigned long long)first_seq);
}

static void index_path(const char *trail_path, char out[PATH_MAX])
{
    size_t n = strlen(trail_path) - strlen(FILE_SUFFIX);
    snprintf(out, PATH_MAX, "%.*s" INDEX_SUFFIX, (int)n, trail_path);
}

static void set_why(lt_audit_t *a, const char *what, int errnum)
{
    pthread_mutex_lock(&a->lock);
    snprintf(a->why, sizeof(a->why), "%s: %s", what, strerror(errnum));
    pthread_mutex_unlock(&a->lock);
}

static void fsync_dir(const lt_audit_t *a)
{
    int dfd = open(a->conf->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
}

/* Closes the current file: what was written is made durable first (unless fsync is "never"). */
static void close_file(lt_audit_t *a)
{
    if (a->fd >= 0) {
        if (a->dirty && a->conf->fsync != LT_AUDIT_FSYNC_NEVER && fdatasync(a->fd) == 0)
            atomic_fetch_add(&a->fsyncs, 1);
        close(a->fd);
    }
    if (a->idx_fd >= 0)
        close(a->idx_fd);
    a->fd = a->idx_fd = -1;
    a->dirty = false;
    pthread_mutex_lock(&a->lock);
    a->file[0] = '\0';
    pthread_mutex_unlock(&a->lock);
}

/*
 * The trail cannot be written: refuse new records until a new file opens. The chain stays where it was. cut: the
 * lines written after a->bytes were never acknowledged, so they are cut off (should that fail too, a torn line
 * remains at the end of this file: verify reports it, and the chain goes on after the last whole line).
 */
static void go_unavailable(lt_audit_t *a, const char *what, int errnum, bool cut)
{
    if (cut && a->fd >= 0 && ftruncate(a->fd, a->bytes) != 0)
        lt_log_warn("audit trail: cannot cut %s back to its last whole line: %s", a->path, strerror(errno));
    close_file(a);
    set_why(a, what, errnum);
    if (atomic_exchange(&a->available, false))
        lt_log_error("audit trail: %s: %s; personal-data routes answer 503 until the trail can be written again", what,
                     strerror(errnum));
    a->last_attempt_ms = mono_ms();
}

/* Opens a new trail file and its index. The first record it will hold is seq + 1. */
static int open_new_file(lt_audit_t *a, const char **what)
{
    char name[NAME_MAX_AUDIT], ipath[PATH_MAX];
    int64_t now = lt_audit_now_ms();
    trail_name(now, a->seq + 1, name);
    path_in(a, name, a->path);
    *what = "create a trail file";
    int fd = open(a->path, O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0)
        return -1;
    index_path(a->path, ipath);
    a->idx_fd = open(ipath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (a->idx_fd < 0)
        lt_log_warn("audit trail: cannot create the index %s: %s; lienthong-audit who-read will scan the file", ipath,
                    strerror(errno));
    if (a->conf->fsync != LT_AUDIT_FSYNC_NEVER)
        fsync_dir(a); /* the new name is durable before any record is acknowledged in it */
    a->fd = fd;
    a->bytes = 0;
    a->dirty = false;
    a->file_day = lt_audit_local_day(now);
    a->last_sync_ms = mono_ms();
    pthread_mutex_lock(&a->lock);
    snprintf(a->file, sizeof(a->file), "%s", name);
    pthread_mutex_unlock(&a->lock);
    return 0;
}

/* Is the name still our file? A file removed, renamed or replaced (or its directory) takes the trail down. */
static bool current_file_is_ours(const lt_audit_t *a)
{
    struct stat by_name, by_fd;
    return stat(a->path, &by_name) == 0 && fstat(a->fd, &by_fd) == 0 && by_name.st_dev == by_fd.st_dev &&
           by_name.st_ino == by_fd.st_ino;
}

static void check_current_file(lt_audit_t *a)
{
    a->last_check_ms = mono_ms();
    if (a->fd >= 0 && !current_file_is_ours(a))
        go_unavailable(a, "the current trail file was removed or replaced", ENOENT, false);
}

/* While unavailable: a new file, at most once a second. */
static void try_recover(lt_audit_t *a)
{
    if (a->fd >= 0 || mono_ms() - a->last_attempt_ms < RETRY_MS)
        return;
    a->last_attempt_ms = mono_ms();
    const char *what;
    if (open_new_file(a, &what) != 0) {
        set_why(a, what, errno);
        return;
    }
    atomic_store(&a->available, true);
    lt_log_info("audit trail: writing again, to %s (the chain continues after record %llu)", a->path,
                (unsigned long long)a->seq);
}

static void log_head(const lt_audit_t *a, const char *when)
{
    /* The head in the ordinary log, which lives elsewhere: a trail cut short at its end can be told by it. */
    lt_log_info("audit trail: %s: record %llu, hash %s", when, (unsigned long long)a->seq, a->head);
}

static void rotate(lt_audit_t *a)
{
    const char *what;
    close_file(a);
    atomic_fetch_add(&a->rotations, 1);
    log_head(a, "rotated");
    if (open_new_file(a, &what) != 0)
        go_unavailable(a, what, errno, false);
}

/* ---- the writer ------------------------------------------------------------------------------------------------- */

/* Does a line of `next` bytes belong in a new file, after `pending` bytes not yet written to this one? A file
 * always takes its first line, however long. */
static bool rotation_due(const lt_audit_t *a, size_t pending, size_t next)
{
    long long held = (long long)a->bytes + (long long)pending;
    if (held == 0)
        return false;
    if (held + (long long)next > a->conf->rotate_bytes)
        return true;
    return a->conf->rotate_daily && lt_audit_local_day(lt_audit_now_ms()) != a->file_day;
}

static void note_reading(lt_audit_t *a, const item_t *it, const char tag[LT_AUDIT_TAG_HEX + 1]);

/* Index lines for the chunk's records that have a subject. A failed index write ends this file's index. */
static void write_index(lt_audit_t *a, item_t *from, item_t *to)
{
    lt_buf_t idx = {0};
    for (item_t *it = from; it != to; it = it->next) {
        if (!it->accepted || it->subject == NULL)
            continue;
        char tag[LT_AUDIT_TAG_HEX + 1], line[LT_AUDIT_TAG_HEX + 32];
        if (a->tagger == NULL)
            a->tagger = lt_audit_tagger_new(a->key);
        lt_audit_subject_tag_with(a->tagger, it->subject, tag);
        int n = snprintf(line, sizeof(line), "%s %lld\n", tag, (long long)it->offset);
        lt_buf_add(&idx, line, (size_t)n);
        if (it->reads)
            note_reading(a, it, tag);
    }
    if (idx.len > 0 && a->idx_fd >= 0 && write_all(a->idx_fd, idx.data, idx.len) != 0) {
        lt_log_warn("audit trail: index write failed: %s; who-read scans the rest of this file", strerror(errno));
        close(a->idx_fd);
        a->idx_fd = -1;
    }
    lt_buf_free(&idx);
}

/*
 * Chains and writes the records from `from` up to (not including) the first that belongs in the next file, as one
 * write and, with fsync "always", one fdatasync. Returns the first record not written (the next file's).
 */
static item_t *write_chunk(lt_audit_t *a, item_t *from)
{
    lt_buf_t chunk = {0};
    char head[LT_AUDIT_HASH_HEX + 1];
    memcpy(head, a->head, sizeof(head));
    uint64_t seq = a->seq;
    unsigned long long n = 0;
    item_t *it = from;
    for (; it != NULL; it = it->next) {
        size_t need = lt_audit_line_size(it->body_len);
        if (chunk.len > 0 && rotation_due(a, chunk.len, need))
            break;
        lt_buf_reserve(&chunk, need);
        size_t len = lt_audit_format_line(head, seq + 1, it->body, it->body_len, chunk.data + chunk.len, need);
        it->accepted = len > 0; /* always, with a body from lt_audit_format_body */
        if (len == 0)
            continue;
        it->offset = a->bytes + (off_t)chunk.len;
        if (a->chain_md == NULL)
            a->chain_md = EVP_MD_CTX_new();
        lt_audit_hash_with(a->chain_md, chunk.data + chunk.len, len - 1, head);
        chunk.len += len;
        seq++;
        n++;
    }
    int rc = chunk.len > 0 ? write_all(a->fd, chunk.data, chunk.len) : 0;
    const char *what = "write";
    if (rc == 0 && chunk.len > 0 && a->conf->fsync == LT_AUDIT_FSYNC_ALWAYS) {
        what = "fdatasync";
        if ((rc = fdatasync(a->fd)) == 0)
            atomic_fetch_add(&a->fsyncs, 1);
    }
    if (rc != 0) {
        int errnum = errno;
        for (item_t *f = from; f != it; f = f->next)
            f->accepted = false;
        go_unavailable(a, what, errnum, true); /* nobody was told of these lines: cut them off */
    } else if (chunk.len > 0) {
        a->bytes += (off_t)chunk.len;
        a->dirty = a->conf->fsync != LT_AUDIT_FSYNC_ALWAYS;
        write_index(a, from, it);
        pthread_mutex_lock(&a->lock);
        memcpy(a->head, head, sizeof(head));
        a->seq = seq;
        pthread_mutex_unlock(&a->lock);
        atomic_fetch_add(&a->written, n);
    }
    lt_buf_free(&chunk);
    return it;
}

static void fail_from(item_t *it)
{
    for (; it != NULL; it = it->next)
        it->accepted = false;
}

static void write_batch(lt_audit_t *a, item_t *batch)
{
    if (a->fd >= 0)
        check_current_file(a);
    try_recover(a);
    item_t *it = batch;
    while (it != NULL) {
        if (a->fd < 0) {
            fail_from(it);
            return;
        }
        if (rotation_due(a, 0, lt_audit_line_size(it->body_len))) {
            rotate(a);
            continue;
        }
        it = write_chunk(a, it);
    }
}

/* The wake-up is raised under the loop's lock. Otherwise the loop could take this item, see nothing pending,
 * and free its wake event before the writer raised it. */
static void push_ready(lt_audit_loop_t *loop, item_t *it)
{
    pthread_mutex_lock(&loop->lock);
    q_push(&loop->ready, it);
    event_active(loop->wake, EV_TIMEOUT, 0);
    pthread_mutex_unlock(&loop->lock);
}

static void deliver(lt_audit_t *a, item_t *batch)
{
    while (batch != NULL) {
        item_t *it = batch;
        batch = it->next;
        if (!it->accepted)
            atomic_fetch_add(&a->failed, 1);
        push_ready(it->loop, it);
    }
}

/* Between batches: fdatasync for "interval", the check that the file is still ours, a new file after a failure. */
static void housekeeping(lt_audit_t *a)
{
    int64_t now = mono_ms();
    if (a->fd >= 0 && a->dirty && a->conf->fsync == LT_AUDIT_FSYNC_INTERVAL &&
        now - a->last_sync_ms >= a->conf->fsync_interval_ms) {
        a->last_sync_ms = now;
        if (fdatasync(a->fd) != 0) {
            go_unavailable(a, "fdatasync", errno, false); /* its records were acknowledged: they stay */
        } else {
            a->dirty = false;
            atomic_fetch_add(&a->fsyncs, 1);
        }
    }
    if (a->fd >= 0 && now - a->last_check_ms >= RETRY_MS)
        check_current_file(a);
    try_recover(a);
}

static void next_wake(const lt_audit_t *a, struct timespec *ts)
{
    int64_t wait = RETRY_MS;
    if (a->fd >= 0 && a->dirty && a->conf->fsync == LT_AUDIT_FSYNC_INTERVAL) {
        int64_t left = a->conf->fsync_interval_ms - (mono_ms() - a->last_sync_ms);
        wait = left < 1 ? 1 : left < wait ? left : wait;
    }
    clock_gettime(CLOCK_MONOTONIC, ts);
    ts->tv_sec += (time_t)(wait / 1000);
    ts->tv_nsec += (long)(wait % 1000) * 1000000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

static void *writer_main(void *arg)
{
    lt_audit_t *a = arg;
    pthread_mutex_lock(&a->lock);
    for (;;) {
        if (a->queue.head == NULL && !a->stop) {
            struct timespec until;
            next_wake(a, &until);
            pthread_cond_timedwait(&a->wake, &a->lock, &until);
        }
        item_t *batch = a->queue.head;
        a->queue.head = a->queue.tail = NULL;
        a->queued = 0;
        bool stop = a->stop;
        pthread_mutex_unlock(&a->lock);
        if (batch != NULL)
            write_batch(a, batch);
        housekeeping(a);
        deliver(a, batch);
        pthread_mutex_lock(&a->lock);
        if (stop && a->queue.head == NULL)
            break;
    }
    pthread_mutex_unlock(&a->lock);
    close_file(a);
    log_head(a, "closed");
    return NULL;
}

/* ---- the unusual-reading counts -------------------------------------------------------------------------------- */

static uint64_t tag_bits(const char tag[LT_AUDIT_TAG_HEX + 1])
{
    char first[17];
    memcpy(first, tag, 16);
    first[16] = '\0';
    uint64_t v = strtoull(first, NULL, 16);
    return v != 0 ? v : 1; /* 0 marks an empty slot */
}

/* Adds the tag to the set; false when it was there. */
static bool set_add(reader_t *r, uint64_t v)
{
    size_t mask = r->cap - 1;
    for (size_t i = (size_t)v & mask;; i = (i + 1) & mask) {
        if (r->set[i] == v)
            return false;
        if (r->set[i] == 0) {
            r->set[i] = v;
            r->n++;
            return true;
        }
    }
}

static void note_reading(lt_audit_t *a, const item_t *it, const char tag[LT_AUDIT_TAG_HEX + 1])
{
    long long limit = a->conf->unusual_subjects_per_hour;
    if (limit <= 0 || it->client < 0 || a->readers == NULL)
        return;
    int64_t hour = lt_audit_local_hour(lt_audit_now_ms());
    pthread_mutex_lock(&a->track_lock);
    reader_t *r = &a->readers[it->client];
    if (r->set == NULL) {
        for (r->cap = 16; r->cap < 2 * (size_t)(limit + 1); r->cap *= 2)
            ;
        r->set = calloc(r->cap, sizeof(uint64_t));
        r->hour = hour;
    }
    if (r->hour != hour) {
        memset(r->set, 0, r->cap * sizeof(uint64_t));
        r->n = 0;
        r->hour = hour;
    }
    /* Once over the threshold this hour the set stops growing: its size is all the alert needs. */
    if ((long long)r->n <= limit && set_add(r, tag_bits(tag)) && (long long)r->n == limit + 1) {
        r->over_hour = hour;
        r->unusual_hours++;
        lt_log_warn("audit: unusual reading: client %s read more than %lld distinct subjects this hour",
                    a->config->clients[it->client].id, limit);
    }
    pthread_mutex_unlock(&a->track_lock);
}

/* Is the client flagged now: over the threshold this hour or the one before? */
static bool reader_flagged(const reader_t *r, int64_t hour)
{
    return r->over_hour >= 0 && (r->over_hour == hour || r->over_hour == hour - 1);
}

static size_t reader_subjects(const reader_t *r, int64_t hour)
{
    return r->set != NULL && r->hour == hour ? r->n : 0;
}

/* ---- start-up ----------------------------------------------------------------------------------------------- */

static int fail(lt_error_t *err, const char *fmt, const char *a, const char *b)
{
    return lt_error_set(err, LT_ERR_INTERNAL, "audit", fmt, a, b);
}

/* mkdir -p, each new level 0700. */
static int make_dirs(const char *dir)
{
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s", dir);
    for (char *p = path + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(path, 0700) != 0 && errno != EEXIST)
            return -1;
        *p = '/';
    }
    return mkdir(path, 0700) != 0 && errno != EEXIST ? -1 : 0;
}

int lt_audit_check(const lt_audit_conf_t *conf, lt_error_t *err)
{
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s", conf->dir);
    struct stat st;
    /* The directory, or the nearest part of its path that exists (the rest would be created). */
    while (stat(path, &st) != 0) {
        char *slash = strrchr(path, '/');
        if (slash == NULL || slash == path)
            return fail(err, "audit.dir %s: no part of this path exists%s", conf->dir, "");
        *slash = '\0';
    }
    if (!S_ISDIR(st.st_mode))
        return fail(err, "audit.dir %s: %s is not a directory", conf->dir, path);
    if (access(path, W_OK | X_OK) != 0)
        return fail(err, "audit.dir %s: %s is not writable by this process", conf->dir, path);
    return 0;
}

static int take_lock(lt_audit_t *a, lt_error_t *err)
{
    char path[PATH_MAX];
    path_in(a, "lock", path);
    a->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (a->lock_fd < 0)
        return fail(err, "cannot open %s: %s", path, strerror(errno));
    if (flock(a->lock_fd, LOCK_EX | LOCK_NB) != 0)
        return fail(err, "audit.dir %s is in use by another gateway (%s is locked); each instance needs its own",
                    a->conf->dir, path);
    char pid[32];
    int n = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
    if (ftruncate(a->lock_fd, 0) != 0 || write_all(a->lock_fd, pid, (size_t)n) != 0) {
        /* the pid is for people; the flock is what counts */
    }
    return 0;
}

static int hex_value(int c)
{
    return c >= '0' && c <= '9'   ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
}

/* index.key: 64 hex digits. Made (0600) on first start; the same key must stay for the index to keep working. */
static int load_index_key(lt_audit_t *a, lt_error_t *err)
{
    char path[PATH_MAX], text[LT_AUDIT_KEY_LEN * 2 + 2] = "";
    path_in(a, "index.key", path);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT) {
        if (RAND_bytes(a->key, sizeof(a->key)) != 1)
            return fail(err, "cannot draw a random index key%s%s", "", "");
        for (size_t i = 0; i < sizeof(a->key); i++)
            snprintf(text + 2 * i, 3, "%02x", a->key[i]);
        text[2 * sizeof(a->key)] = '\n';
        fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        int rc = fd >= 0 ? write_all(fd, text, sizeof(a->key) * 2 + 1) : -1;
        if (rc == 0)
            rc = fsync(fd);
        if (fd >= 0)
            close(fd);
        return rc == 0 ? 0 : fail(err, "cannot write %s: %s", path, strerror(errno));
    }
    if (fd < 0)
        return fail(err, "cannot read %s: %s", path, strerror(errno));
    ssize_t n = read(fd, text, sizeof(text) - 1);
    close(fd);
    for (size_t i = 0; n >= 64 && i < sizeof(a->key); i++) {
        int hi = hex_value(text[2 * i]), lo = hex_value(text[2 * i + 1]);
        if (hi < 0 || lo < 0)
            n = -1;
        else
            a->key[i] = (unsigned char)(hi << 4 | lo);
    }
    return n >= 64 ? 0 : fail(err, "%s: must hold 64 hex digits%s", path, "");
}

static int compare_names(const void *x, const void *y)
{
    return strcmp(*(char *const *)x, *(char *const *)y);
}

/* The trail files in the directory, sorted (so in the trail's order). */
static char **list_trail_files(const lt_audit_t *a, size_t *n)
{
    DIR *d = opendir(a->conf->dir);
    char **names = NULL;
    size_t cap = 0;
    *n = 0;
    for (struct dirent *e; d != NULL && (e = readdir(d)) != NULL;) {
        if (!lt_audit_is_trail_name(e->d_name))
            continue;
        if (*n == cap)
            names = realloc(names, (cap = cap ? cap * 2 : 16) * sizeof(char *));
        names[(*n)++] = strdup(e->d_name);
    }
    if (d != NULL)
        closedir(d);
    if (*n > 0)
        qsort(names, *n, sizeof(char *), compare_names);
    return names;
}

/* The last whole line of a file (malloc'd, without its newline), or NULL when it has none. *torn: bytes after it. */
static char *last_line(const char *path, size_t *len, off_t *torn, lt_error_t *err, int *rc)
{
    *rc = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        *rc = fail(err, "cannot read %s: %s", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return NULL;
    }
    off_t size = st.st_size, want = size < TAIL_READ_MAX ? size : TAIL_READ_MAX;
    char *tail = malloc((size_t)want + 1);
    ssize_t got = pread(fd, tail, (size_t)want, size - want);
    close(fd);
    if (got != (ssize_t)want) {
        free(tail);
        *rc = fail(err, "cannot read %s: %s", path, strerror(errno));
        return NULL;
    }
    off_t end = want; /* one past the last newline */
    while (end > 0 && tail[end - 1] != '\n')
        end--;
    *torn = want - end;
    if (end == 0) {
        free(tail);
        if (want == TAIL_READ_MAX && size > want)
            *rc = fail(err, "%s: its last line is longer than any record: run lienthong-audit verify%s", path, "");
        return NULL;
    }
    off_t start = end - 1;
    while (start > 0 && tail[start - 1] != '\n')
        start--;
    *len = (size_t)(end - 1 - start);
    memmove(tail, tail + start, *len);
    tail[*len] = '\0';
    return tail;
}

/* Where the chain stands: the last whole line of the newest file that has one. An empty newest file (a start that
 * wrote nothing) is removed: it holds no record, so the chain loses nothing. */
static int find_chain_head(lt_audit_t *a, lt_error_t *err)
{
    memcpy(a->head, lt_audit_genesis, sizeof(a->head));
    a->seq = 0;
    size_t n;
    char **names = list_trail_files(a, &n);
    int rc = 0;
    bool found = false;
    for (size_t i = n; i-- > 0 && !found && rc == 0;) {
        char path[PATH_MAX];
        path_in(a, names[i], path);
        size_t len = 0;
        off_t torn = 0;
        char *line = last_line(path, &len, &torn, err, &rc);
        if (line == NULL) {
            struct stat st;
            if (rc == 0 && i == n - 1 && stat(path, &st) == 0 && st.st_size == 0) {
                unlink(path);
                char ipath[PATH_MAX];
                index_path(path, ipath);
                unlink(ipath);
            }
            continue;
        }
        char prev[LT_AUDIT_HASH_HEX + 1];
        if (lt_audit_line_chain(line, len, prev, &a->seq) != 0)
            rc = fail(err, "%s: its last line is not an audit record: run lienthong-audit verify on %s", path,
                      a->conf->dir);
        else
            lt_audit_hash(line, len, a->head);
        if (torn > 0)
            lt_log_warn("audit trail: %s ends with %lld bytes of an unfinished line (a write that never completed); "
                        "the chain continues after record %llu",
                        names[i], (long long)torn, (unsigned long long)a->seq);
        free(line);
        found = true;
    }
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    return rc;
}

static void free_audit(lt_audit_t *a)
{
    if (a->lock_fd >= 0)
        close(a->lock_fd);
    for (size_t i = 0; a->readers != NULL && i < a->config->nclients; i++)
        free(a->readers[i].set);
    free(a->readers);
    EVP_MAC_CTX_free(a->tagger);
    EVP_MD_CTX_free(a->chain_md);
    pthread_mutex_destroy(&a->lock);
    pthread_mutex_destroy(&a->track_lock);
    pthread_cond_destroy(&a->wake);
    free(a);
}

lt_audit_t *lt_audit_new(const lt_config_t *config, lt_error_t *err)
{
    lt_audit_t *a = calloc(1, sizeof(*a));
    a->config = config;
    a->conf = &config->audit;
    a->lock_fd = a->fd = a->idx_fd = -1;
    pthread_mutex_init(&a->lock, NULL);
    pthread_mutex_init(&a->track_lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&a->wake, &ca);
    pthread_condattr_destroy(&ca);
    a->readers = calloc(config->nclients + 1, sizeof(reader_t));
    for (size_t i = 0; i < config->nclients; i++)
        a->readers[i].over_hour = -1;
    const char *what = NULL;
    if (make_dirs(a->conf->dir) != 0) {
        fail(err, "cannot create audit.dir %s: %s", a->conf->dir, strerror(errno));
    } else if (take_lock(a, err) == 0 && load_index_key(a, err) == 0 && find_chain_head(a, err) == 0) {
        if (open_new_file(a, &what) == 0) {
            atomic_store(&a->available, true);
            lt_log_info("audit trail: writing to %s (fsync %s); the chain continues after record %llu", a->path,
                        lt_config_audit_fsync_name(a->conf->fsync), (unsigned long long)a->seq);
            pthread_create(&a->writer, NULL, writer_main, a);
            a->started = true;
            return a;
        }
        fail(err, "audit.dir %s: cannot create a trail file: %s", a->conf->dir, strerror(errno));
    }
    free_audit(a);
    return NULL;
}

void lt_audit_free(lt_audit_t *a)
{
    if (a == NULL)
        return;
    if (a->started) {
        pthread_mutex_lock(&a->lock);
        a->stop = true;
        pthread_cond_signal(&a->wake);
        pthread_mutex_unlock(&a->lock);
        pthread_join(a->writer, NULL);
    }
    close_file(a);
    free_audit(a);
}

/* ---- loops ---------------------------------------------------------------------------------------------------- */

static void on_wake(evutil_socket_t fd, short what, void *arg)
{
    lt_audit_loop_t *loop = arg;
    bool alive = true;
    loop->alive = &alive;
    for (;;) {
        pthread_mutex_lock(&loop->lock);
        item_t *it = q_pop(&loop->ready);
        pthread_mutex_unlock(&loop->lock);
        if (it == NULL)
            break;
        loop->pending--;
        lt_audit_done_fn done = it->done;
        void *done_arg = it->arg;
        bool accepted = it->accepted;
        item_free(it);
        done(done_arg, accepted);
        if (!alive)
            return;
    }
    loop->alive = NULL;
}

lt_audit_loop_t *lt_audit_loop_new(lt_audit_t *a, struct event_base *base)
{
    if (a == NULL)
        return NULL;
    lt_audit_loop_t *loop = calloc(1, sizeof(*loop));
    loop->a = a;
    pthread_mutex_init(&loop->lock, NULL);
    loop->wake = event_new(base, -1, 0, on_wake, loop);
    return loop;
}

void lt_audit_loop_free(lt_audit_loop_t *loop)
{
    if (loop == NULL)
        return;
    if (loop->pending > 0) {
        /* The writer still holds records of this loop and will hand them back: keep the handle (a forced stop). */
        lt_log_warn("audit trail: a loop stopped with %d record(s) unanswered", loop->pending);
        return;
    }
    if (loop->alive != NULL)
        *loop->alive = false;
    event_free(loop->wake);
    pthread_mutex_destroy(&loop->lock);
    free(loop);
}

bool lt_audit_loop_available(const lt_audit_loop_t *loop)
{
    return loop != NULL && lt_audit_available(loop->a);
}

static int client_index(const lt_config_t *c, const char *id)
{
    for (size_t i = 0; id != NULL && i < c->nclients; i++)
        if (strcmp(c->clients[i].id, id) == 0)
            return (int)i;
    return -1;
}

int lt_audit_submit(lt_audit_loop_t *loop, const lt_audit_record_t *rec, lt_audit_done_fn done, void *arg)
{
    lt_audit_t *a = loop->a;
    if (!atomic_load(&a->available)) {
        atomic_fetch_add(&a->refused_unavailable, 1);
        return -1;
    }
    lt_audit_record_t r = *rec;
    if (r.time_ms == 0)
        r.time_ms = lt_audit_now_ms();
    item_t *it = calloc(1, sizeof(*it));
    it->body = lt_audit_format_body(&r, a->conf->instance, &it->body_len);
    it->subject = rec->subject != NULL ? strdup(rec->subject) : NULL;
    it->client = client_index(a->config, rec->client);
    it->reads = rec->subject != NULL && rec->status >= 200 && rec->status < 300;
    it->loop = loop;
    it->done = done;
    it->arg = arg;
    if (it->body == NULL) {
        item_free(it);
        atomic_fetch_add(&a->refused_unavailable, 1);
        return -1;
    }
    pthread_mutex_lock(&a->lock);
    if (a->queued >= a->conf->queue_max) {
        pthread_mutex_unlock(&a->lock);
        item_free(it);
        atomic_fetch_add(&a->refused_queue_full, 1);
        return -1;
    }
    q_push(&a->queue, it);
    a->queued++;
    pthread_cond_signal(&a->wake);
    pthread_mutex_unlock(&a->lock);
    loop->pending++;
    return 0;
}

/* ---- status and metrics ----------------------------------------------------------------------------------------- */

static json_t *unusual_json(lt_audit_t *a, char *reason, size_t reason_len)
{
    json_t *list = json_array();
    int64_t hour = lt_audit_local_hour(lt_audit_now_ms());
    pthread_mutex_lock(&a->track_lock);
    for (size_t i = 0; i < a->config->nclients; i++) {
        const reader_t *r = &a->readers[i];
        if (!reader_flagged(r, hour))
            continue;
        char at[LT_AUDIT_TIME_LEN];
        lt_audit_format_time((r->over_hour * 3600 - 7 * 3600) * 1000, at);
        json_array_append_new(list, json_pack("{s:s, s:I, s:s}", "client", a->config->clients[i].id, "subjects",
                                              (json_int_t)reader_subjects(r, hour), "hour", at));
        if (reason[0] == '\0')
            snprintf(reason, reason_len,
                     "unusual reading: client %s read more than %lld distinct subjects in the hour from %.16s",
                     a->config->clients[i].id, a->conf->unusual_subjects_per_hour, at);
    }
    pthread_mutex_unlock(&a->track_lock);
    return list;
}

json_t *lt_audit_status(lt_audit_t *a)
{
    if (a == NULL)
        return json_pack("{s:b, s:s, s:s}", "configured", false, "color", "amber", "reason",
                         "no audit section: personal-data operations are not audited");
    char file[NAME_MAX_AUDIT], head[LT_AUDIT_HASH_HEX + 1], why[200], reason[300] = "";
    pthread_mutex_lock(&a->lock);
    memcpy(file, a->file, sizeof(file));
    memcpy(head, a->head, sizeof(head));
    memcpy(why, a->why, sizeof(why));
    uint64_t seq = a->seq;
    long long queued = a->queued;
    pthread_mutex_unlock(&a->lock);
    bool available = lt_audit_available(a);
    json_t *unusual = unusual_json(a, reason, sizeof(reason));
    const char *color = !available ? "red" : json_array_size(unusual) > 0 ? "amber" : "green";
    if (!available)
        snprintf(reason, sizeof(reason), "the trail cannot be written (%s): personal-data routes answer 503", why);
    json_t *st =
        json_pack("{s:b, s:s, s:b, s:s, s:s?, s:I, s:I, s:s, s:I, s:s, s:I, s:o}", "configured", true, "color", color,
                  "available", available, "dir", a->conf->dir, "file", file[0] ? file : NULL, "records",
                  (json_int_t)atomic_load(&a->written), "seq", (json_int_t)seq, "head", head, "queue",
                  (json_int_t)queued, "fsync", lt_config_audit_fsync_name(a->conf->fsync), "unusual_subjects_per_hour",
                  (json_int_t)a->conf->unusual_subjects_per_hour, "unusual", unusual);
    if (reason[0] != '\0')
        json_object_set_new(st, "reason", json_string(reason));
    return st;
}

static void client_sample(lt_buf_t *b, const char *name, const char *client, long long v)
{
    lt_buf_printf(b, "%s{client=\"", name);
    lt_mbuf_label_value(b, client);
    lt_buf_printf(b, "\"} %lld\n", v);
}

static void render_readers(lt_audit_t *a, lt_buf_t *b)
{
    int64_t hour = lt_audit_local_hour(lt_audit_now_ms());
    const lt_config_t *c = a->config;
    lt_mbuf_family(b, "lienthong_audit_client_subjects", "gauge",
                   "Distinct subjects whose records the client received this hour (counted up to the threshold + 1).");
    pthread_mutex_lock(&a->track_lock);
    for (size_t i = 0; i < c->nclients; i++)
        client_sample(b, "lienthong_audit_client_subjects", c->clients[i].id,
                      (long long)reader_subjects(&a->readers[i], hour));
    lt_mbuf_family(b, "lienthong_audit_unusual_reading", "gauge",
                   "1 while the client read more than audit.unusual_subjects_per_hour subjects this hour or the last.");
    for (size_t i = 0; i < c->nclients; i++)
        client_sample(b, "lienthong_audit_unusual_reading", c->clients[i].id, reader_flagged(&a->readers[i], hour));
    lt_mbuf_family(b, "lienthong_audit_unusual_windows_total", "counter",
                   "Clock hours in which the client read more than audit.unusual_subjects_per_hour subjects.");
    for (size_t i = 0; i < c->nclients; i++)
        client_sample(b, "lienthong_audit_unusual_windows_total", c->clients[i].id, a->readers[i].unusual_hours);
    pthread_mutex_unlock(&a->track_lock);
}

void lt_audit_metrics(lt_audit_t *a, lt_buf_t *b)
{
    lt_mbuf_family(b, "lienthong_audit_available", "gauge",
                   "1 while the audit trail takes records; 0: personal-data routes answer 503 (or no trail).");
    lt_buf_printf(b, "lienthong_audit_available %d\n", lt_audit_available(a));
    if (a == NULL)
        return;
    lt_mbuf_family(b, "lienthong_audit_records_total", "counter", "Records written to the audit trail.");
    lt_buf_printf(b, "lienthong_audit_records_total %llu\n", atomic_load(&a->written));
    lt_mbuf_family(b, "lienthong_audit_refused_total", "counter",
                   "Records the trail could not take, by why; each one's request was answered 503.");
    lt_buf_printf(b, "lienthong_audit_refused_total{reason=\"unavailable\"} %llu\n",
                  atomic_load(&a->refused_unavailable));
    lt_buf_printf(b, "lienthong_audit_refused_total{reason=\"queue_full\"} %llu\n",
                  atomic_load(&a->refused_queue_full));
    lt_buf_printf(b, "lienthong_audit_refused_total{reason=\"write_failed\"} %llu\n", atomic_load(&a->failed));
    lt_mbuf_family(b, "lienthong_audit_fsyncs_total", "counter", "fdatasync calls on the audit trail.");
    lt_buf_printf(b, "lienthong_audit_fsyncs_total %llu\n", atomic_load(&a->fsyncs));
    lt_mbuf_family(b, "lienthong_audit_rotations_total", "counter", "Trail files closed for a new one.");
    lt_buf_printf(b, "lienthong_audit_rotations_total %llu\n", atomic_load(&a->rotations));
    pthread_mutex_lock(&a->lock);
    long long queued = a->queued;
    pthread_mutex_unlock(&a->lock);
    lt_mbuf_family(b, "lienthong_audit_queue_depth", "gauge", "Records waiting for the trail's writer.");
    lt_buf_printf(b, "lienthong_audit_queue_depth %lld\n", queued);
    render_readers(a, b);
}
