/*
 * lienthong-audit verify: walks the chain line by line over every file given, in order.
 *
 * Each line's prev must be the SHA-256 of the line before it and its seq one more than that line's. The first bad
 * line is named:
 *   - a line that is not a record (not JSON with prev and seq): that line;
 *   - a seq that does not follow (a line removed, inserted or moved): that line;
 *   - a prev that is not the hash of the line before, while seq follows: the line before was edited when the
 *     line after still agrees with this one (it recorded this line's hash), else this line is the one altered.
 * An unfinished last line of a file (a write that never completed) is reported but is not part of the chain: the
 * next line must follow the last whole one.
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "audit_files.h"
#include "audit_tool.h"

typedef struct {
    const char *file;
    long long line;
} where_t;

typedef struct {
    bool have; /* a whole line is in the chain */
    char hash[LT_AUDIT_HASH_HEX + 1];
    uint64_t seq;
    where_t at;
    /* A prev that did not match while seq followed: who is at fault depends on the next line. */
    bool suspect;
    where_t before, suspect_at;
    char first_prev[LT_AUDIT_HASH_HEX + 1];
    uint64_t first_seq;
    long long records, torn;
} chain_t;

static int bad(where_t w, const char *why)
{
    printf("%s:%lld: %s\n", w.file, w.line, why);
    printf("verify: the trail is NOT intact\n");
    return EXIT_BAD;
}

/* The next line decides a pending suspect; returns EXIT_BAD when it is decided, 0 when the line clears no one. */
static int decide_suspect(chain_t *c, bool parsed, const char *prev, uint64_t seq)
{
    char why[512];
    if (parsed && seq == c->seq + 1 && strcmp(prev, c->hash) == 0) {
        snprintf(why, sizeof(why),
                 "this line is not what was written: the line after it (%s:%lld) recorded another hash for it "
                 "(the line was edited)",
                 c->suspect_at.file, c->suspect_at.line);
        return bad(c->before, why);
    }
    snprintf(why, sizeof(why),
             "its prev is not the hash of the line before it (%s:%lld): this line was inserted or altered",
             c->before.file, c->before.line);
    return bad(c->suspect_at, why);
}

static int check_line(chain_t *c, where_t w, const char *line, size_t len)
{
    char prev[LT_AUDIT_HASH_HEX + 1], why[256];
    uint64_t seq = 0;
    bool parsed = len > 0 && lt_audit_line_chain(line, len, prev, &seq) == 0;
    if (c->suspect)
        return decide_suspect(c, parsed, prev, seq);
    if (!parsed)
        return bad(w, "not an audit record (a JSON object with prev and seq)");
    if (!c->have) {
        memcpy(c->first_prev, prev, sizeof(prev));
        c->first_seq = seq;
    } else if (seq != c->seq + 1) {
        snprintf(why, sizeof(why), "record %llu follows record %llu: records were removed, inserted or reordered here",
                 (unsigned long long)seq, (unsigned long long)c->seq);
        return bad(w, why);
    } else if (strcmp(prev, c->hash) != 0) {
        c->suspect = true;
        c->before = c->at;
        c->suspect_at = w;
    }
    lt_audit_hash(line, len, c->hash);
    c->seq = seq;
    c->at = w;
    c->have = true;
    c->records++;
    return 0;
}

static int verify_file(chain_t *c, const char *path)
{
    line_reader_t r;
    if (reader_open(&r, path) != 0)
        return EXIT_BAD;
    int rc = 0;
    while (rc == 0 && reader_next(&r)) {
        where_t w = {path, r.number};
        if (!r.complete) {
            fprintf(
                stderr,
                "%s:%lld: warning: an unfinished last line (%zu bytes of a write that never completed): not part of "
                "the chain\n",
                path, r.number, r.len);
            c->torn++;
            continue;
        }
        rc = check_line(c, w, r.line, r.len);
    }
    if (rc == 0 && ferror(r.f)) {
        fprintf(stderr, "lienthong-audit: %s: read error\n", path);
        rc = EXIT_BAD;
    }
    reader_close(&r);
    return rc;
}

static void report_intact(const chain_t *c, size_t nfiles)
{
    printf("verify: intact: %lld record%s in %zu file%s", c->records, c->records == 1 ? "" : "s", nfiles,
           nfiles == 1 ? "" : "s");
    if (c->records == 0) {
        printf("\n");
        return;
    }
    printf(", records %llu to %llu\n", (unsigned long long)c->first_seq, (unsigned long long)c->seq);
    if (c->first_seq == 1 && strcmp(c->first_prev, lt_audit_genesis) == 0)
        printf("from the trail's first record\n");
    else
        printf("continuing from record %llu (hash %s): verify with the files before these to check that link\n",
               (unsigned long long)c->first_seq - 1, c->first_prev);
    /* The last line has no successor to vouch for it: compare this with the head the gateway logged. */
    printf("head: record %llu, hash %s\n", (unsigned long long)c->seq, c->hash);
}

int cmd_verify(int argc, char **argv)
{
    if (argc < 2 || argv[1][0] == '-') {
        fprintf(stderr, "Usage: lienthong-audit verify FILE|DIR...\n");
        return EXIT_USAGE;
    }
    file_list_t files;
    if (files_expand(argv + 1, argc - 1, &files) != 0)
        return EXIT_BAD;
    chain_t c = {0};
    int rc = 0;
    for (size_t i = 0; i < files.n && rc == 0; i++)
        rc = verify_file(&c, files.paths[i]);
    if (rc == 0 && c.suspect) {
        char why[512];
        snprintf(why, sizeof(why),
                 "the next line (%s:%lld) recorded another hash for this one: this line was edited, or that line's "
                 "prev was",
                 c.suspect_at.file, c.suspect_at.line);
        rc = bad(c.before, why);
    }
    if (rc == 0)
        report_intact(&c, files.n);
    files_free(&files);
    return rc;
}
