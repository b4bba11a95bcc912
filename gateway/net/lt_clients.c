/* Matching a verified peer certificate to a listed client. */
#include "lt_clients.h"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <string.h>

/* The issuer's name in RFC 2253 form, as `openssl x509 -noout -issuer -nameopt RFC2253` prints it. */
static void issuer_text(X509 *peer, char *out, size_t outlen)
{
    out[0] = '\0';
    BIO *bio = BIO_new(BIO_s_mem());
    if (bio == NULL)
        return;
    if (X509_NAME_print_ex(bio, X509_get_issuer_name(peer), 0, XN_FLAG_RFC2253) >= 0) {
        int n = BIO_read(bio, out, (int)outlen - 1);
        out[n > 0 ? n : 0] = '\0';
    }
    BIO_free(bio);
}

static bool cn_is(X509 *peer, const char *want)
{
    char cn[256];
    int n = X509_NAME_get_text_by_NID(X509_get_subject_name(peer), NID_commonName, cn, sizeof(cn));
    return n > 0 && (size_t)n == strlen(cn) && strcmp(cn, want) == 0;
}

static bool san_is(X509 *peer, const char *want)
{
    GENERAL_NAMES *names = X509_get_ext_d2i(peer, NID_subject_alt_name, NULL, NULL);
    bool found = false;
    for (int i = 0; names != NULL && i < sk_GENERAL_NAME_num(names) && !found; i++) {
        const GENERAL_NAME *g = sk_GENERAL_NAME_value(names, i);
        const ASN1_IA5STRING *s = g->type == GEN_DNS     ? g->d.dNSName
                                  : g->type == GEN_URI   ? g->d.uniformResourceIdentifier
                                  : g->type == GEN_EMAIL ? g->d.rfc822Name
                                                         : NULL;
        /* The length check refuses a name with an embedded NUL that would otherwise compare equal. */
        found = s != NULL && (size_t)s->length == strlen(want) && memcmp(s->data, want, (size_t)s->length) == 0;
    }
    GENERAL_NAMES_free(names);
    return found;
}

void lt_clients_fingerprint(X509 *peer, char out[65])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    out[0] = '\0';
    if (peer == NULL || X509_digest(peer, EVP_sha256(), md, &n) != 1)
        return;
    for (unsigned int i = 0; i < n && i < 32; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
}

/* fingerprint is computed on the first entry that matches by it ("" until then): most entries match by name. */
static bool entry_matches(const lt_client_conf_t *cl, X509 *peer, const char *issuer, char fingerprint[65])
{
    if (strcmp(cl->issuer, issuer) != 0)
        return false;
    switch (cl->match) {
    case LT_CLIENT_BY_CN:
        return cn_is(peer, cl->match_value);
    case LT_CLIENT_BY_SAN:
        return san_is(peer, cl->match_value);
    case LT_CLIENT_BY_FINGERPRINT:
        if (fingerprint[0] == '\0')
            lt_clients_fingerprint(peer, fingerprint);
        return strcmp(cl->match_value, fingerprint) == 0;
    }
    return false;
}

const lt_client_conf_t *lt_clients_match(const lt_config_t *config, X509 *peer)
{
    if (peer == NULL)
        return NULL;
    char issuer[512], fingerprint[65] = "";
    issuer_text(peer, issuer, sizeof(issuer));
    for (size_t i = 0; i < config->nclients; i++)
        if (entry_matches(&config->clients[i], peer, issuer, fingerprint))
            return &config->clients[i];
    return NULL;
}
