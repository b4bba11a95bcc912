/*
 * lienthong-audit who-read: every record about one subject, for a citizen's request to know who processed their
 * data (Law 91/2025/QH15, Decree 13/2023).
 *
 * Beside each trail file the gateway keeps an index (audit-...idx): one "<tag> <byte offset>" line per record
 * that has a subject, where tag = HMAC-SHA256(index.key, subject) cut to 16 bytes, so the index names no one. Only
 * the lines the index points at are read, then whatever the index does not cover yet (the file's tail, or the whole
 * file without an index) is scanned for the identifier. Every candidate is parsed and its subject compared in
 * full, so a tag shared by two subjects shows neither's records to the other, and an index cut short (a crash, a
 * failed write) hides nothing. The index is not part of the chain: --scan reads every line, for an index that
 * may have been tampered with.
 */
#include <errno.h>
#include <jansson.h>
#include <libgen.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "audit_files.h"
#include "audit_tool.h"

typedef struct {
    const char *id;
    int64_t from_ms, to_ms; /* [from, to) */
    bool json, scan;
    json_t *found; /* the records, in trail order */
} query_t;

typedef struct {
    long long *offsets;
    size_t n;
    long long covered; /* the index covers the file up to this byte */
} hits_t;

static int hex_value(int c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* <dir>/index.key: 64 hex digits. -1 when absent or unreadable (then the file is scanned). */
static int load_key(const char *trail_path, unsigned char key[LT_AUDIT_KEY_LEN])
{
    char copy[PATH_MAX], path[PATH_MAX + 16], text[80] = "";
    snprintf(copy, sizeof(copy), "%s", trail_path);
    snprintf(path, sizeof(path), "%s/index.key", dirname(copy));
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return -1;
    size_t n = fread(text, 1, sizeof(text) - 1, f);
    fclose(f);
    for (size_t i = 0; i < LT_AUDIT_KEY_LEN; i++) {
        int hi = n >= 64 ? hex_value(text[2 * i]) : -1, lo = n >= 64 ? hex_value(text[2 * i + 1]) : -1;
        if (hi < 0 || lo < 0)
            return -1;
        key[i] = (unsigned char)(hi << 4 | lo);
    }
    return 0;
}

/* The offsets the index gives for tag, and how far it covers. A malformed line ends what the index is trusted for. */
static void read_index(const char *trail_path, const char tag[LT_AUDIT_TAG_HEX + 1], hits_t *hits)
{
    char path[PATH_MAX];
    size_t n = strlen(trail_path);
    snprintf(path, sizeof(path), "%.*s.idx", (int)(n > 6 ? n - 6 : n), trail_path);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return;
    char *line = NULL, t[LT_AUDIT_TAG_HEX + 2];
    size_t cap = 0;
    long long off, last = -1;
    int used;
    while (getline(&line, &cap, f) > 0) {
        if (sscanf(line, "%33s %lld%n", t, &off, &used) != 2 || strlen(t) != LT_AUDIT_TAG_HEX || off <= last ||
            line[used] != '\n')
            break;
        last = off;
        if (strcmp(t, tag) == 0) {
            hits->offsets = realloc(hits->offsets, (hits->n + 1) * sizeof(long long));
            hits->offsets[hits->n++] = off;
        }
    }
    free(line);
    fclose(f);
    hits->covered = last; /* refined by the caller to the end of that line */
}

static json_t *pick(const json_t *rec, const char *key)
{
    json_t *v = json_object_get(rec, key);
    return v != NULL ? json_incref(v) : json_null();
}

/* A candidate line: kept when it is a record about the subject, within the time range. */
static void consider(query_t *q, const char *line, size_t len)
{
    json_t *rec = json_loadb(line, len, 0, NULL);
    const char *subject = json_string_value(json_object_get(rec, "subject"));
    const char *time = json_string_value(json_object_get(rec, "time"));
    int64_t at;
    if (subject != NULL && strcmp(subject, q->id) == 0 && time != NULL && lt_audit_parse_time(time, &at) == 0 &&
        at >= q->from_ms && at < q->to_ms) {
        static const char *const keys[] = {"time",      "instance",  "client",     "officer",    "purpose",
                                           "procedure", "operation", "status",     "cache",      "code",
                                           "released",  "withheld",  "request_id", "message_id", NULL};
        json_t *out = json_object();
        for (const char *const *k = keys; *k != NULL; k++)
            json_object_set_new(out, *k, pick(rec, *k));
        json_array_append_new(q->found, out);
    }
    json_decref(rec);
}

/* The line that starts at off (getline from there). */
static ssize_t line_at(FILE *f, long long off, char **line, size_t *cap)
{
    if (fseeko(f, (off_t)off, SEEK_SET) != 0)
        return -1;
    return getline(line, cap, f);
}

static void scan_from(query_t *q, FILE *f, long long from)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    if (fseeko(f, (off_t)from, SEEK_SET) != 0)
        return;
    size_t idlen = strlen(q->id);
    while ((n = getline(&line, &cap, f)) > 0)
        if (line[n - 1] == '\n' && memmem(line, (size_t)n, q->id, idlen) != NULL)
            consider(q, line, (size_t)n - 1);
    free(line);
}

static int who_read_file(query_t *q, const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        fprintf(stderr, "lienthong-audit: %s: %s\n", path, strerror(errno));
        return -1;
    }
    hits_t hits = {.covered = -1};
    unsigned char key[LT_AUDIT_KEY_LEN];
    if (!q->scan && load_key(path, key) == 0) {
        char tag[LT_AUDIT_TAG_HEX + 1];
        lt_audit_subject_tag(key, q->id, tag);
        read_index(path, tag, &hits);
    }
    char *line = NULL;
    size_t cap = 0;
    for (size_t i = 0; i < hits.n; i++) {
        ssize_t n = line_at(f, hits.offsets[i], &line, &cap);
        if (n > 0 && line[n - 1] == '\n')
            consider(q, line, (size_t)n - 1);
    }
    long long from = 0;
    if (hits.covered >= 0) {
        ssize_t n = line_at(f, hits.covered, &line, &cap);
        from = n > 0 ? hits.covered + n : 0; /* an index pointing past the file is no index */
    }
    free(line);
    free(hits.offsets);
    scan_from(q, f, from);
    fclose(f);
    return 0;
}

static void print_text(const json_t *found)
{
    size_t i;
    const json_t *r;
    json_array_foreach(found, i, r)
    {
        const char *code = json_string_value(json_object_get(r, "code"));
        printf("%s  %s  officer %s  purpose %s  %s  %lld %s%s%s", json_string_value(json_object_get(r, "time")),
               json_string_value(json_object_get(r, "client")),
               json_is_string(json_object_get(r, "officer")) ? json_string_value(json_object_get(r, "officer")) : "-",
               json_is_string(json_object_get(r, "purpose")) ? json_string_value(json_object_get(r, "purpose")) : "-",
               json_string_value(json_object_get(r, "operation")),
               (long long)json_integer_value(json_object_get(r, "status")),
               json_string_value(json_object_get(r, "cache")), code ? " " : "", code ? code : "");
        size_t k;
        const json_t *field;
        printf("  released:");
        json_array_foreach(json_object_get(r, "released"), k, field)
            printf("%s%s", k ? "," : " ", json_string_value(field));
        if (json_array_size(json_object_get(r, "released")) == 0)
            printf(" none");
        if (json_array_size(json_object_get(r, "withheld")) > 0) {
            printf("  withheld:");
            json_array_foreach(json_object_get(r, "withheld"), k, field)
                printf("%s%s", k ? "," : " ", json_string_value(field));
        }
        printf("  request %s\n", json_string_value(json_object_get(r, "request_id")));
    }
    printf("%zu record%s\n", json_array_size(found), json_array_size(found) == 1 ? "" : "s");
}

/* --to with a date alone means up to the end of that day. */
static int parse_bound(const char *s, bool upper, int64_t *ms)
{
    if (lt_audit_parse_time(s, ms) != 0)
        return -1;
    if (upper)
        *ms += strlen(s) == 10 ? 86400000 : 1;
    return 0;
}

static int usage_error(const char *why)
{
    fprintf(stderr,
            "lienthong-audit who-read: %s\nUsage: lienthong-audit who-read ID [--from T] [--to T] [--json] "
            "[--scan] FILE|DIR...\n",
            why);
    return EXIT_USAGE;
}

int cmd_who_read(int argc, char **argv)
{
    query_t q = {.from_ms = INT64_MIN, .to_ms = INT64_MAX};
    char **paths = calloc((size_t)argc + 1, sizeof(char *));
    int npaths = 0, rc = EXIT_OK;
    for (int i = 1; i < argc && rc == EXIT_OK; i++) {
        const char *a = argv[i];
        if ((strcmp(a, "--from") == 0 || strcmp(a, "--to") == 0) && i + 1 < argc) {
            bool upper = strcmp(a, "--to") == 0;
            if (parse_bound(argv[++i], upper, upper ? &q.to_ms : &q.from_ms) != 0)
                rc = usage_error("--from and --to take 2026-11-22 or 2026-11-22T08:00[:00][.000][Z|+07:00]");
        } else if (strcmp(a, "--json") == 0) {
            q.json = true;
        } else if (strcmp(a, "--scan") == 0) {
            q.scan = true;
        } else if (a[0] == '-' && a[1] != '\0') {
            rc = usage_error("unknown option");
        } else if (q.id == NULL) {
            q.id = a;
        } else {
            paths[npaths++] = argv[i];
        }
    }
    if (rc == EXIT_OK && (q.id == NULL || q.id[0] == '\0' || npaths == 0))
        rc = usage_error("give the identifier and the trail's files or directory");
    file_list_t files = {0};
    if (rc == EXIT_OK && files_expand(paths, npaths, &files) != 0)
        rc = EXIT_BAD;
    q.found = json_array();
    for (size_t i = 0; rc == EXIT_OK && i < files.n; i++)
        if (who_read_file(&q, files.paths[i]) != 0)
            rc = EXIT_BAD;
    if (rc == EXIT_OK && q.json) {
        json_dumpf(q.found, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        printf("\n");
    } else if (rc == EXIT_OK) {
        print_text(q.found);
    }
    json_decref(q.found);
    files_free(&files);
    free(paths);
    return rc;
}
