/*
 * lienthong-audit: which trail files the command line names, and their lines one at a time.
 */
#ifndef AUDIT_FILES_H
#define AUDIT_FILES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* The trail files named on the command line: a directory stands for its audit-*.jsonl, in name order (the
 * trail's order); files are taken as given. */
typedef struct {
    char **paths;
    size_t n;
} file_list_t;

int files_expand(char *const *args, int nargs, file_list_t *out);
void files_free(file_list_t *files);

/* One line of a trail file at a time (getline), without its newline; `complete`: it had one. */
typedef struct {
    FILE *f;
    char *line;
    size_t cap;
    size_t len;
    long long number;
    long long offset; /* of the current line */
    long long next_offset;
    bool complete;
} line_reader_t;

int reader_open(line_reader_t *r, const char *path);
bool reader_next(line_reader_t *r);
void reader_close(line_reader_t *r);

#endif
