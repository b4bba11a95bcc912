/*
 * Reading listeners.admin (lt_config.h, docs/operations.md "The admin listener"): a loopback bind, the token file
 * that admin changes must present, and the extra Host names it answers to.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lt_bind.h"
#include "lt_conf.h"
#include "lt_config.h"

typedef struct {
    char *bind, *token_file;
    const json_t *hosts;
} admin_t;

static const lt_conf_field_t admin_fields[] = {
    {LT_CONF_FIELD(admin_t, bind, LT_CONF_STRING, false), .default_str = "127.0.0.1:9090"},
    {LT_CONF_FIELD(admin_t, token_file, LT_CONF_FILE, false)},
    {LT_CONF_FIELD(admin_t, hosts, LT_CONF_ARRAY, false)},
    LT_CONF_END,
};

static bool is_loopback(const struct sockaddr *sa)
{
    if (sa->sa_family == AF_INET)
        return (ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr) >> 24) == 127;
    if (sa->sa_family != AF_INET6)
        return false;
    const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;
    return IN6_IS_ADDR_LOOPBACK(a) || (IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127);
}

/*
 * The admin listener speaks plain HTTP, and a token sent in clear over a network is a token given away: so it
 * listens on loopback only, and operators reach it from elsewhere through SSH or a local reverse proxy.
 */
static int check_bind(const char *bind, lt_error_t *err)
{
    struct sockaddr_storage ss;
    socklen_t sslen;
    char why[200];
    if (lt_bind_parse(bind, &ss, &sslen, why, sizeof(why)) != 0)
        return lt_error_set(err, LT_ERR_INTERNAL, "config", "listeners.admin.bind: %s", why);
    if (!is_loopback((const struct sockaddr *)&ss))
        return lt_error_set(err, LT_ERR_INTERNAL, "config",
                            "listeners.admin.bind: '%s' is not a loopback address: the admin listener is plain HTTP "
                            "and binds only 127.0.0.0/8 or [::1]; reach it from elsewhere through SSH or a local "
                            "reverse proxy (docs/operations.md, \"The admin listener\")",
                            bind);
    return 0;
}

/* A Host name as a browser or a proxy sends it: a DNS name or an address ([v6] in brackets), with an optional port. */
static bool is_host_name(const char *s)
{
    size_t n = strlen(s), i = 0;
    if (n == 0 || n > 255)
        return false;
    if (s[0] == '[') {
        for (i = 1; i < n && (isxdigit((unsigned char)s[i]) || s[i] == ':' || s[i] == '.'); i++)
            ;
        if (i == 1 || i >= n || s[i++] != ']')
            return false;
    } else {
        for (; i < n && (isalnum((unsigned char)s[i]) || s[i] == '-' || s[i] == '.'); i++)
            ;
        if (i == 0)
            return false;
    }
    if (i == n)
        return true;
    if (s[i++] != ':' || i == n || n - i > 5)
        return false;
    for (; i < n; i++)
        if (!isdigit((unsigned char)s[i]))
            return false;
    return true;
}

static int read_hosts(lt_admin_conf_t *a, const json_t *hosts, lt_error_t *err)
{
    a->hosts = calloc(json_array_size(hosts) + 1, sizeof(char *));
    size_t i;
    const json_t *v;
    json_array_foreach(hosts, i, v)
    {
        const char *s = json_string_value(v);
        if (s == NULL || !is_host_name(s))
            return lt_error_set(err, LT_ERR_INTERNAL, "config",
                                "listeners.admin.hosts[%zu]: must be a host name with an optional port, e.g. "
                                "admin.gw1.example or admin.gw1.example:8080",
                                i);
        a->hosts[a->nhosts++] = strdup(s);
    }
    return 0;
}

int lt_config_load_admin(lt_config_t *c, const json_t *admin, lt_error_t *err)
{
    admin_t raw = {0};
    json_t *empty = json_object();
    int rc = lt_conf_read(admin ? admin : empty, "listeners.admin", admin_fields, &raw, err);
    json_decref(empty);
    c->admin.bind = raw.bind;
    c->admin.token_file = raw.token_file;
    if (rc != 0)
        return -1;
    if (check_bind(c->admin.bind, err) != 0)
        return -1;
    if (raw.hosts != NULL && read_hosts(&c->admin, raw.hosts, err) != 0)
        return -1;
    if (c->admin.token_file != NULL) {
        unsigned char digest[LT_ADMIN_TOKEN_DIGEST_LEN];
        if (lt_admin_token_file_digest(c->admin.token_file, digest, err) != 0)
            return -1;
    }
    return 0;
}

void lt_config_free_admin(lt_config_t *c)
{
    free(c->admin.bind);
    free(c->admin.token_file);
    for (size_t i = 0; i < c->admin.nhosts; i++)
        free(c->admin.hosts[i]);
    free(c->admin.hosts);
    memset(&c->admin, 0, sizeof(c->admin));
}

/* RFC 6750's b64token: what a Bearer credential may hold, so the token fits in the header as it is. */
static bool is_b64token(const char *s, size_t n)
{
    size_t i = 0;
    while (i < n && (isalnum((unsigned char)s[i]) || strchr("-._~+/", s[i]) != NULL))
        i++;
    if (i == 0)
        return false;
    while (i < n && s[i] == '=')
        i++;
    return i == n;
}

/* The file's bytes, up to cap; -1 with err when it cannot be used as a secret. */
static int read_secret_file(const char *path, char *buf, size_t cap, size_t *len, lt_error_t *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return lt_error_set(err, LT_ERR_INTERNAL, "config", "listeners.admin.token_file: cannot open '%s': %s", path,
                            strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return lt_error_set(err, LT_ERR_INTERNAL, "config", "listeners.admin.token_file: '%s' is not a regular file",
                            path);
    }
    /* Whoever reads the token may purge, reload and re-drive: like an SSH key, other users must not read it. */
    if ((st.st_mode & (S_IROTH | S_IWOTH)) != 0) {
        close(fd);
        return lt_error_set(err, LT_ERR_INTERNAL, "config",
                            "listeners.admin.token_file: '%s' is readable or writable by every user: chmod o-rwx it",
                            path);
    }
    ssize_t n = read(fd, buf, cap);
    close(fd);
    if (n < 0)
        return lt_error_set(err, LT_ERR_INTERNAL, "config", "listeners.admin.token_file: cannot read '%s': %s", path,
                            strerror(errno));
    *len = (size_t)n;
    return 0;
}

int lt_admin_token_file_digest(const char *path, unsigned char digest[LT_ADMIN_TOKEN_DIGEST_LEN], lt_error_t *err)
{
    char buf[LT_ADMIN_TOKEN_MAX + 64];
    size_t n = 0;
    if (read_secret_file(path, buf, sizeof(buf), &n, err) != 0)
        return -1;
    size_t start = 0;
    while (start < n && isspace((unsigned char)buf[start]))
        start++;
    while (n > start && isspace((unsigned char)buf[n - 1]))
        n--;
    size_t len = n - start;
    int rc = 0;
    if (n == sizeof(buf) || len < LT_ADMIN_TOKEN_MIN || len > LT_ADMIN_TOKEN_MAX || !is_b64token(buf + start, len))
        rc = lt_error_set(err, LT_ERR_INTERNAL, "config",
                          "listeners.admin.token_file: '%s' must hold one token of %d to %d characters of "
                          "A-Z a-z 0-9 - . _ ~ + / (and = at the end), e.g. made with `openssl rand -hex 32`",
                          path, LT_ADMIN_TOKEN_MIN, LT_ADMIN_TOKEN_MAX);
    else
        lt_admin_token_digest(buf + start, len, digest);
    OPENSSL_cleanse(buf, sizeof(buf));
    return rc;
}

void lt_admin_token_digest(const char *token, size_t len, unsigned char digest[LT_ADMIN_TOKEN_DIGEST_LEN])
{
    unsigned int n = 0;
    EVP_Digest(token, len, digest, &n, EVP_sha256(), NULL);
}
