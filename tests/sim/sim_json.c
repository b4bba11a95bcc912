/*
 * sim_json: JSON replies, JSON bodies and secret files (see sim_json.h).
 */
#include "sim_json.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void sim_json_reply(sim_reply_t *reply, int status, const char *reason, json_t *doc)
{
    char *text = doc ? json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(doc);
    reply->status = status;
    reply->reason = reason;
    reply->content_type = "application/json";
    if (text != NULL) {
        sim_buf_puts(&reply->body, text);
        sim_buf_puts(&reply->body, "\n");
        free(text);
    }
}

void sim_json_error(sim_reply_t *reply, int status, const char *reason, const char *message)
{
    sim_json_reply(reply, status, reason, json_pack("{s:s}", "error", message));
}

json_t *sim_json_body_object(const sim_request_t *req, char *err, size_t errlen)
{
    if (req->body_len == 0)
        return json_object();
    json_error_t jerr;
    json_t *doc = json_loadb((const char *)req->body, req->body_len, JSON_REJECT_DUPLICATES, &jerr);
    if (doc == NULL || !json_is_object(doc)) {
        snprintf(err, errlen, "body must be a JSON object%s%s", doc ? "" : ": ", doc ? "" : jerr.text);
        json_decref(doc);
        return NULL;
    }
    return doc;
}

static int sim_secret_space(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

int sim_secret_load(const char *path, unsigned char *out, size_t cap, size_t *len, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        snprintf(err, errlen, "cannot open the secret %s", path);
        return -1;
    }
    unsigned char buf[1024];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    size_t start = 0;
    while (start < n && sim_secret_space(buf[start]))
        start++;
    while (n > start && sim_secret_space(buf[n - 1]))
        n--;
    int ok = n > start && n - start <= cap;
    if (ok) {
        memcpy(out, buf + start, n - start);
        *len = n - start;
    } else {
        snprintf(err, errlen, "%s must hold one secret of 1-%zu bytes", path, cap);
    }
    OPENSSL_cleanse(buf, sizeof buf);
    return ok ? 0 : -1;
}

int sim_json_print_line(FILE *out, json_t *doc)
{
    char *text = doc ? json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    int bad = text == NULL || fprintf(out, "%s\n", text) < 0;
    free(text);
    json_decref(doc);
    return bad ? -1 : 0;
}
