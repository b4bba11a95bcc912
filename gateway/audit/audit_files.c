/*
 * lienthong-audit: the trail files named on the command line, and reading them one line at a time. Shared by
 * verify and who-read.
 */
#include "audit_files.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "lt_audit_format.h"

/* ---- the files named ---------------------------------------------------------------------------------------- */

static void add_path(file_list_t *out, const char *path)
{
    out->paths = realloc(out->paths, (out->n + 1) * sizeof(char *));
    out->paths[out->n++] = strdup(path);
}

static int compare_names(const void *x, const void *y)
{
    return strcmp(*(char *const *)x, *(char *const *)y);
}

static int add_dir(file_list_t *out, const char *dir)
{
    DIR *d = opendir(dir);
    if (d == NULL) {
        fprintf(stderr, "lienthong-audit: %s: %s\n", dir, strerror(errno));
        return -1;
    }
    char **names = NULL;
    size_t n = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;)
        if (lt_audit_is_trail_name(e->d_name)) {
            names = realloc(names, (n + 1) * sizeof(char *));
            names[n++] = strdup(e->d_name);
        }
    closedir(d);
    if (n > 0)
        qsort(names, n, sizeof(char *), compare_names);
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(dir) + strlen(names[i]) + 2;
        char *path = malloc(len);
        snprintf(path, len, "%s/%s", dir, names[i]);
        add_path(out, path);
        free(path);
        free(names[i]);
    }
    free(names);
    return 0;
}

int files_expand(char *const *args, int nargs, file_list_t *out)
{
    memset(out, 0, sizeof(*out));
    for (int i = 0; i < nargs; i++) {
        struct stat st;
        if (stat(args[i], &st) != 0) {
            fprintf(stderr, "lienthong-audit: %s: %s\n", args[i], strerror(errno));
            return -1;
        }
        if (S_ISDIR(st.st_mode) ? add_dir(out, args[i]) != 0 : (add_path(out, args[i]), 0))
            return -1;
    }
    return 0;
}

void files_free(file_list_t *files)
{
    for (size_t i = 0; i < files->n; i++)
        free(files->paths[i]);
    free(files->paths);
    memset(files, 0, sizeof(*files));
}

/* ---- reading lines ----------------------------------------------------------------------------------------- */

int reader_open(line_reader_t *r, const char *path)
{
    memset(r, 0, sizeof(*r));
    r->f = fopen(path, "rb");
    if (r->f == NULL) {
        fprintf(stderr, "lienthong-audit: %s: %s\n", path, strerror(errno));
        return -1;
    }
    return 0;
}

bool reader_next(line_reader_t *r)
{
    ssize_t n = getline(&r->line, &r->cap, r->f);
    if (n <= 0)
        return false;
    r->offset = r->next_offset;
    r->next_offset += n;
    r->number++;
    r->complete = r->line[n - 1] == '\n';
    r->len = (size_t)n - (r->complete ? 1 : 0);
    r->line[r->len] = '\0';
    return true;
}

void reader_close(line_reader_t *r)
{
    if (r->f != NULL)
        fclose(r->f);
    free(r->line);
    memset(r, 0, sizeof(*r));
}
