/*
 * The journal engine (lt_journal.h): the lock, group commit on a writer thread, answers gated on durability,
 * replay at start-up and compaction. Generalised from the payment store's journal (docs/payment-store.md): the
 * files and every crash point are the same, the records are the store's.
 */
#include "lt_journal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lt_log.h"

typedef struct {
    lt_journal_op_t *head, *tail;
} op_queue_t;

struct lt_journal {
    char *dir, *name, *config_key;
    lt_journal_hooks_t hooks;
    int dir_fd, lock_fd, journal_fd;
    unsigned gen; /* journal.<gen> is the one being appended to */
    long long compact_bytes;
    off_t journal_bytes; /* the writer's alone */
    pthread_t writer;
    bool writer_started;
    _Atomic bool broken;

    pthread_mutex_t lock; /* the store's tables and everything below */
    pthread_cond_t wake;  /* the writer waits on it */
    uint64_t last_seq, durable_seq;
    lt_buf_t pending;   /* records appended but not yet written */
    op_queue_t waiting; /* operations whose answer waits for a record to be durable */
    bool stop;
    char broken_why[200];
};

struct lt_journal_conn {
    lt_journal_t *j;
    struct event *wake; /* activated (from any thread) when ready has operations */
    pthread_mutex_t lock;
    op_queue_t ready;
    bool *alive; /* set while the wake callback runs, so that an answer may free the conn */
};

/* ---- queues ------------------------------------------------------------------------------- */

static void q_push(op_queue_t *q, lt_journal_op_t *op)
{
    op->next = NULL;
    if (q->tail != NULL)
        q->tail->next = op;
    else
        q->head = op;
    q->tail = op;
}

static lt_journal_op_t *q_pop(op_queue_t *q)
{
    lt_journal_op_t *op = q->head;
    if (op != NULL) {
        q->head = op->next;
        if (q->head == NULL)
            q->tail = NULL;
    }
    return op;
}

/* ---- answering ------------------------------------------------------------------------------ */

/* The wake-up is raised under the conn's lock. Otherwise the loop could take this op, find nothing pending, and
 * free its wake event before the writer raised it. */
static void push_ready(lt_journal_conn_t *c, lt_journal_op_t *op)
{
    pthread_mutex_lock(&c->lock);
    q_push(&c->ready, op);
    event_active(c->wake, EV_TIMEOUT, 0);
    pthread_mutex_unlock(&c->lock);
}

void lt_journal_submit(lt_journal_t *j, lt_journal_op_t *op)
{
    op->failure = NULL;
    if (op->seq > j->durable_seq && atomic_load(&j->broken))
        op->failure = j->broken_why; /* it saw something that will never be durable */
    if (op->seq <= j->durable_seq || op->failure != NULL)
        push_ready(op->conn, op);
    else
        q_push(&j->waiting, op);
}

/* With the lock held, after durable_seq moved or the journal broke: every parked operation that can be answered. */
static void release_waiting(lt_journal_t *j)
{
    op_queue_t still = {0};
    for (lt_journal_op_t *op; (op = q_pop(&j->waiting)) != NULL;) {
        if (op->seq <= j->durable_seq) {
            push_ready(op->conn, op);
        } else if (atomic_load(&j->broken)) {
            op->failure = j->broken_why;
            push_ready(op->conn, op);
        } else {
            q_push(&still, op);
        }
    }
    j->waiting = still;
}

/* On the conn's loop: answers one operation at a time, so that an answer may free the conn. */
static void on_wake(evutil_socket_t fd, short what, void *arg)
{
    lt_journal_conn_t *c = arg;
    bool alive = true;
    c->alive = &alive;
    for (;;) {
        pthread_mutex_lock(&c->lock);
        lt_journal_op_t *op = q_pop(&c->ready);
        pthread_mutex_unlock(&c->lock);
        if (op == NULL)
            break;
        op->answer(op, op->failure);
        if (!alive)
            return;
    }
    c->alive = NULL;
}

lt_journal_conn_t *lt_journal_conn_new(lt_journal_t *j, struct event_base *base)
{
    lt_journal_conn_t *c = calloc(1, sizeof(*c));
    c->j = j;
    pthread_mutex_init(&c->lock, NULL);
    c->wake = event_new(base, -1, 0, on_wake, c);
    return c;
}

void lt_journal_conn_free(lt_journal_conn_t *c)
{
    if (c == NULL)
        return;
    if (c->alive != NULL)
        *c->alive = false;
    lt_journal_t *j = c->j;
    /* Under the journal's lock nobody else can be handing this conn an answer: the writer only does so holding it. */
    pthread_mutex_lock(&j->lock);
    op_queue_t keep = {0};
    for (lt_journal_op_t *op; (op = q_pop(&j->waiting)) != NULL;) {
        if (op->conn == c)
            op->discard(op);
        else
            q_push(&keep, op);
    }
    j->waiting = keep;
    pthread_mutex_unlock(&j->lock);
    for (lt_journal_op_t *op; (op = q_pop(&c->ready)) != NULL;)
        op->discard(op);
    event_free(c->wake);
    pthread_mutex_destroy(&c->lock);
    free(c);
}

/* ---- appending -------------------------------------------------------------------------------- */

void lt_journal_lock(lt_journal_t *j)
{
    pthread_mutex_lock(&j->lock);
}

void lt_journal_unlock(lt_journal_t *j)
{
    pthread_mutex_unlock(&j->lock);
}

const char *lt_journal_broken(const lt_journal_t *j)
{
    return atomic_load(&j->broken) ? j->broken_why : NULL;
}

uint64_t lt_journal_append(lt_journal_t *j, const char *line)
{
    lt_buf_adds(&j->pending, line);
    lt_buf_add(&j->pending, "\n", 1);
    pthread_cond_signal(&j->wake);
    return ++j->last_seq;
}

uint64_t lt_journal_last_seq(const lt_journal_t *j)
{
    return j->last_seq;
}

bool lt_journal_ok(const lt_journal_t *j)
{
    return !atomic_load(&j->broken);
}

/* ---- files ------------------------------------------------------------------------------------- */

static char *path_in(const lt_journal_t *j, const char *name)
{
    size_t n = strlen(j->dir) + strlen(name) + 2;
    char *p = malloc(n);
    snprintf(p, n, "%s/%s", j->dir, name);
    return p;
}

static char *journal_path(const lt_journal_t *j, unsigned gen)
{
    char name[32];
    snprintf(name, sizeof(name), "journal.%u", gen);
    return path_in(j, name);
}

static int write_all(int fd, const char *data, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, data, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        data += n;
        len -= (size_t)n;
    }
    return 0;
}

/* With the lock held: from now on the journal answers only what is already durable. */
static void go_broken(lt_journal_t *j, const char *what, int errnum)
{
    snprintf(j->broken_why, sizeof(j->broken_why), "%s: %s: %s", j->name, what, strerror(errnum));
    lt_log_error("%s; changes are refused until a restart replays the journal", j->broken_why);
    atomic_store(&j->broken, true);
    lt_buf_free(&j->pending); /* their operations fail below; their records never reach the disk */
    release_waiting(j);
}

/*
 * Writes the snapshot and switches to journal.<next_gen>. The order makes every crash point safe:
 *   1. create journal.<next_gen>, empty. Nothing names it yet: a crash leaves an orphan that start-up deletes.
 *   2. write snapshot.tmp and fsync it, so its bytes are on disk before any name points at them.
 *   3. rename snapshot.tmp → snapshot: atomic. Before it, start-up reads the old snapshot + journal.<gen>, which
 *      are intact; after it, the new snapshot + journal.<next_gen>.
 *   4. fsync the directory: the rename and journal.<next_gen>'s entry are durable before any record is committed
 *      to journal.<next_gen>, before the records folded into the snapshot are answered, and before step 5.
 *   5. unlink journal.<gen>, superseded (a crash before it leaves an orphan that start-up deletes).
 * Returns the new journal's fd, or -1 with errno and *what set.
 */
static int write_snapshot_files(lt_journal_t *j, unsigned next_gen, const lt_buf_t *snap, const char **what)
{
    char *jpath = journal_path(j, next_gen), *tmp = path_in(j, "snapshot.tmp"), *final = path_in(j, "snapshot");
    int fd = -1, tfd = -1, rc = -1;
    *what = "create the next journal";
    if ((fd = open(jpath, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0600)) < 0)
        goto out;
    *what = "write snapshot.tmp";
    if ((tfd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) < 0 ||
        write_all(tfd, snap->data, snap->len) || fsync(tfd) != 0)
        goto out;
    *what = "rename snapshot.tmp";
    if (rename(tmp, final) != 0)
        goto out;
    *what = "fsync the journal directory";
    if (fsync(j->dir_fd) != 0)
        goto out;
    char *old = journal_path(j, j->gen);
    unlink(old);
    free(old);
    rc = 0;
out:;
    int saved = errno;
    if (tfd >= 0)
        close(tfd);
    if (rc != 0 && fd >= 0) {
        close(fd);
        fd = -1;
    }
    free(jpath);
    free(tmp);
    free(final);
    errno = saved;
    return fd;
}

/* On the writer thread, lock held. The lock is held only while the store serializes its state (memory work); the
 * disk work runs without it. Records still pending are folded into the snapshot. */
static void compact(lt_journal_t *j)
{
    unsigned next_gen = j->gen + 1;
    lt_buf_t body = {0}, snap = {0};
    size_t records = j->hooks.serialize(j->hooks.owner, &body);
    char header[160];
    snprintf(header, sizeof(header), "{\"snapshot\":1,\"next_journal\":%u,\"records\":%zu}\n", next_gen, records);
    lt_buf_adds(&snap, header);
    if (body.len > 0)
        lt_buf_add(&snap, body.data, body.len);
    lt_buf_free(&body);
    lt_buf_free(&j->pending);
    uint64_t upto = j->last_seq;
    pthread_mutex_unlock(&j->lock);

    const char *what = NULL;
    int fd = write_snapshot_files(j, next_gen, &snap, &what);
    int errnum = errno;
    size_t bytes = snap.len;
    lt_buf_free(&snap);

    pthread_mutex_lock(&j->lock);
    if (fd < 0) {
        go_broken(j, what, errnum);
        return;
    }
    close(j->journal_fd);
    j->journal_fd = fd;
    j->gen = next_gen;
    j->journal_bytes = 0;
    j->durable_seq = upto;
    release_waiting(j);
    lt_log_info("%s: compacted %zu records into a %zu-byte snapshot; now appending to journal.%u", j->name, records,
                bytes, next_gen);
}

static bool compaction_due(const lt_journal_t *j)
{
    return !atomic_load(&j->broken) && j->journal_bytes >= j->compact_bytes;
}

/* Group commit: everything appended while the last batch was being written goes out in one write, one fdatasync. */
static void commit_pending(lt_journal_t *j)
{
    lt_buf_t batch = j->pending;
    memset(&j->pending, 0, sizeof(j->pending));
    uint64_t upto = j->last_seq;
    pthread_mutex_unlock(&j->lock);

    const char *what = "write";
    int rc = write_all(j->journal_fd, batch.data, batch.len);
    if (rc == 0) {
        what = "fdatasync";
        rc = fdatasync(j->journal_fd);
    }
    int errnum = errno;

    pthread_mutex_lock(&j->lock);
    if (rc != 0) {
        go_broken(j, what, errnum);
    } else {
        j->journal_bytes += (off_t)batch.len;
        j->durable_seq = upto;
        release_waiting(j);
    }
    lt_buf_free(&batch);
}

static void *writer_main(void *arg)
{
    lt_journal_t *j = arg;
    pthread_mutex_lock(&j->lock);
    for (;;) {
        while (!j->stop && j->pending.len == 0 && !compaction_due(j))
            pthread_cond_wait(&j->wake, &j->lock);
        if (j->pending.len > 0)
            commit_pending(j);
        if (compaction_due(j))
            compact(j);
        if (j->stop && j->pending.len == 0)
            break;
    }
    pthread_mutex_unlock(&j->lock);
    return NULL;
}

/* ---- start-up: lock, snapshot, replay -------------------------------------------------------- */

static int open_fail(lt_error_t *err, const char *fmt, const char *a, const char *b, const char *c)
{
    return lt_error_set(err, LT_ERR_INTERNAL, "config", fmt, a, b, c);
}

static int take_lock(lt_journal_t *j, lt_error_t *err)
{
    char *path = path_in(j, "lock");
    j->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (j->lock_fd < 0) {
        open_fail(err, "%s: cannot open '%s': %s", j->config_key, path, strerror(errno));
        free(path);
        return -1;
    }
    free(path);
    if (flock(j->lock_fd, LOCK_EX | LOCK_NB) != 0) {
        char holder[32] = "";
        ssize_t n = pread(j->lock_fd, holder, sizeof(holder) - 1, 0);
        holder[n > 0 ? n : 0] = '\0';
        holder[strcspn(holder, "\n")] = '\0';
        return lt_error_set(err, LT_ERR_INTERNAL, "config",
                            "%s '%s' is in use by another gateway (pid %s): one process per journal", j->config_key,
                            j->dir, holder[0] ? holder : "unknown");
    }
    char pid[32];
    int len = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
    if (ftruncate(j->lock_fd, 0) != 0 || pwrite(j->lock_fd, pid, (size_t)len, 0) != len)
        lt_log_warn("%s: cannot write the pid into %s/lock", j->name, j->dir);
    return 0;
}

/* Reads a whole file; 1 when it does not exist. */
static int read_file(const char *path, lt_buf_t *out)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? 1 : -1;
    char chunk[65536];
    ssize_t n;
    while ((n = read(fd, chunk, sizeof(chunk))) > 0 || (n < 0 && errno == EINTR))
        if (n > 0)
            lt_buf_add(out, chunk, (size_t)n);
    int saved = errno;
    close(fd);
    errno = saved;
    return n < 0 ? -1 : 0;
}

static int bad_line(lt_journal_t *j, lt_error_t *err, const char *path, int lineno, const char *why)
{
    return lt_error_set(err, LT_ERR_INTERNAL, "config", "%s: '%s' line %d: %s; refusing to start", j->name, path,
                        lineno, why);
}

/* The snapshot's header: {"snapshot":1,"next_journal":G,"records":N}. A header written before the engine was shared
 * counts its records by kind ({"payments":N,"events":M}): their sum is the count. */
static int read_snapshot_header(const char *line, size_t len, json_int_t *next, json_int_t *records)
{
    json_t *hdr = json_loadb(line, len, 0, NULL);
    *next = json_integer_value(json_object_get(hdr, "next_journal"));
    *records = 0;
    const char *key;
    json_t *v;
    bool counted = json_is_integer(json_object_get(hdr, "records"));
    json_object_foreach(hdr, key, v)
    {
        bool count =
            counted ? strcmp(key, "records") == 0 : strcmp(key, "snapshot") != 0 && strcmp(key, "next_journal") != 0;
        if (count && json_is_integer(v))
            *records += json_integer_value(v);
    }
    bool ok = hdr != NULL && *next > 0;
    json_decref(hdr);
    return ok ? 0 : -1;
}

static int load_snapshot(lt_journal_t *j, lt_error_t *err)
{
    char *path = path_in(j, "snapshot");
    lt_buf_t b = {0};
    int rc = read_file(path, &b);
    if (rc != 0) {
        if (rc < 0)
            open_fail(err, "%s: cannot read '%s': %s", j->name, path, strerror(errno));
        free(path);
        lt_buf_free(&b);
        return rc < 0 ? -1 : 0;
    }
    char *nl = b.data ? memchr(b.data, '\n', b.len) : NULL;
    json_int_t next = 0, expected = 0, seen = 0;
    rc = nl != NULL ? read_snapshot_header(b.data, (size_t)(nl - b.data), &next, &expected) : -1;
    if (rc != 0)
        bad_line(j, err, path, 1, "not a snapshot header");
    size_t off = nl ? (size_t)(nl - b.data) + 1 : b.len;
    for (int lineno = 2; rc == 0 && off < b.len; lineno++, seen++) {
        char *end = memchr(b.data + off, '\n', b.len - off);
        const char *why = "incomplete line";
        if (end == NULL || j->hooks.replay(j->hooks.owner, b.data + off, (size_t)(end - b.data) - off, &why) != 0) {
            rc = bad_line(j, err, path, lineno, why);
            break;
        }
        off = (size_t)(end - b.data) + 1;
    }
    /* A snapshot is fsynced before it is renamed into place: fewer records than its header says is corruption. */
    if (rc == 0 && seen != expected)
        rc = open_fail(err, "%s: '%s' is truncated (fewer records than its header says)%s", j->name, path, "");
    j->gen = (unsigned)next;
    free(path);
    lt_buf_free(&b);
    return rc;
}

static bool all_nul(const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != '\0')
            return false;
    return true;
}

/* A crash mid-write leaves at most the end of the last batch half-written; that batch was never acknowledged (its
 * fdatasync had not returned), so dropping it loses nothing anyone was told. Anything bad before the end is real
 * corruption, and start-up stops rather than guess. */
static int replay_journal(lt_journal_t *j, lt_error_t *err)
{
    char *path = journal_path(j, j->gen);
    lt_buf_t b = {0};
    int rc = read_file(path, &b);
    if (rc < 0)
        open_fail(err, "%s: cannot read '%s': %s", j->name, path, strerror(errno));
    rc = rc < 0 ? -1 : 0; /* a journal that does not exist yet is empty */
    size_t off = 0;
    for (int lineno = 1; rc == 0 && off < b.len; lineno++) {
        char *end = memchr(b.data + off, '\n', b.len - off);
        bool last = end == NULL || (size_t)(end - b.data) + 1 == b.len;
        const char *why = "incomplete line";
        if (end != NULL && j->hooks.replay(j->hooks.owner, b.data + off, (size_t)(end - b.data) - off, &why) == 0) {
            off = (size_t)(end - b.data) + 1;
            continue;
        }
        /* Only an unfinished last line (or the zero bytes a file system leaves) is a torn write. A whole line that
         * does not parse is damage, even at the end. */
        if (!last || (end != NULL && !all_nul(b.data + off, (size_t)(end - b.data) - off))) {
            rc = bad_line(j, err, path, lineno, why);
            break;
        }
        lt_log_warn("%s: '%s' line %d is torn (%s, %zu bytes; a crash mid-write); truncating it", j->name, path, lineno,
                    why, b.len - off);
        if (truncate(path, (off_t)off) != 0)
            rc = open_fail(err, "%s: cannot truncate '%s': %s", j->name, path, strerror(errno));
        b.len = off;
    }
    j->journal_bytes = (off_t)b.len;
    free(path);
    lt_buf_free(&b);
    return rc;
}

/*
 * What an interrupted compaction can leave, given its order (new empty journal.G+1, snapshot.tmp, rename, fsync
 * the directory, unlink journal.G): snapshot.tmp; an empty journal.G+1 (crash before the rename); journal.G-1
 * (crash after it, whose records the snapshot holds). Any other journal is not ours to delete: it may hold
 * acknowledged records (a snapshot lost or restored from an old backup), so start-up stops instead.
 */
static bool is_compaction_leftover(const lt_journal_t *j, unsigned g, const char *path)
{
    struct stat st;
    return g < j->gen || (g == j->gen + 1 && stat(path, &st) == 0 && st.st_size == 0);
}

static int remove_leftovers(lt_journal_t *j, lt_error_t *err)
{
    char *tmp = path_in(j, "snapshot.tmp");
    unlink(tmp);
    free(tmp);
    DIR *d = opendir(j->dir);
    int rc = 0;
    for (struct dirent *de; rc == 0 && d != NULL && (de = readdir(d)) != NULL;) {
        unsigned g;
        char extra;
        if (sscanf(de->d_name, "journal.%u%c", &g, &extra) != 1 || g == j->gen)
            continue;
        char *p = path_in(j, de->d_name);
        if (is_compaction_leftover(j, g, p)) {
            lt_log_warn("%s: removing %s, left by an interrupted compaction", j->name, p);
            unlink(p);
        } else {
            char live[32];
            snprintf(live, sizeof(live), "journal.%u", j->gen);
            rc = open_fail(err,
                           "%s: '%s' is not the live journal (the snapshot names %s) and may hold acknowledged "
                           "records; refusing to start",
                           j->name, p, live);
        }
        free(p);
    }
    if (d != NULL)
        closedir(d);
    return rc;
}

/* mkdir -p: a fresh deployment names a directory whose parents may not exist yet. */
static int make_dirs(const char *dir)
{
    char path[PATH_MAX];
    if (snprintf(path, sizeof(path), "%s", dir) >= (int)sizeof(path)) {
        errno = ENAMETOOLONG;
        return -1;
    }
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

static int open_dir(lt_journal_t *j, lt_error_t *err)
{
    if (make_dirs(j->dir) != 0)
        return open_fail(err, "%s: cannot create '%s': %s", j->config_key, j->dir, strerror(errno));
    j->dir_fd = open(j->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (j->dir_fd < 0)
        return open_fail(err, "%s: cannot open '%s': %s", j->config_key, j->dir, strerror(errno));
    return 0;
}

static int open_journal_for_append(lt_journal_t *j, lt_error_t *err)
{
    char *path = journal_path(j, j->gen);
    j->journal_fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    int rc = j->journal_fd < 0 || fsync(j->dir_fd) != 0
                 ? open_fail(err, "%s: cannot open '%s': %s", j->name, path, strerror(errno))
                 : 0;
    free(path);
    return rc;
}

static void free_journal(lt_journal_t *j)
{
    lt_buf_free(&j->pending);
    if (j->journal_fd >= 0)
        close(j->journal_fd);
    if (j->dir_fd >= 0)
        close(j->dir_fd);
    if (j->lock_fd >= 0)
        close(j->lock_fd); /* releases the flock */
    pthread_mutex_destroy(&j->lock);
    pthread_cond_destroy(&j->wake);
    free(j->dir);
    free(j->name);
    free(j->config_key);
    free(j);
}

lt_journal_t *lt_journal_open(const lt_journal_conf_t *conf, const lt_journal_hooks_t *hooks, lt_error_t *err)
{
    lt_journal_t *j = calloc(1, sizeof(*j));
    j->dir = strdup(conf->dir);
    j->name = strdup(conf->name ? conf->name : "journal");
    j->config_key = strdup(conf->config_key ? conf->config_key : "journal_dir");
    j->hooks = *hooks;
    j->dir_fd = j->lock_fd = j->journal_fd = -1;
    j->compact_bytes = conf->compact_bytes > 0 ? conf->compact_bytes : 64LL << 20;
    pthread_mutex_init(&j->lock, NULL);
    pthread_cond_init(&j->wake, NULL);
    if (open_dir(j, err) != 0 || take_lock(j, err) != 0 || load_snapshot(j, err) != 0 ||
        remove_leftovers(j, err) != 0 || replay_journal(j, err) != 0 || open_journal_for_append(j, err) != 0) {
        free_journal(j);
        return NULL;
    }
    pthread_create(&j->writer, NULL, writer_main, j);
    j->writer_started = true;
    return j;
}

void lt_journal_close(lt_journal_t *j)
{
    if (j == NULL)
        return;
    pthread_mutex_lock(&j->lock);
    j->stop = true;
    pthread_cond_signal(&j->wake);
    pthread_mutex_unlock(&j->lock);
    if (j->writer_started)
        pthread_join(j->writer, NULL);
    free_journal(j);
}
