/* client_cert_shim: makes a TLS client that cannot present a client certificate (wrk) present one.
 *
 * Loaded with LD_PRELOAD, it wraps SSL_CTX_new: every context the program creates gets the certificate chain in
 * LT_SHIM_CERT and the private key in LT_SHIM_KEY (PEM files) before the program sees it. Without those variables
 * it changes nothing. A key that does not load stops the program, so that a benchmark never measures refusals.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>

SSL_CTX *SSL_CTX_new(const SSL_METHOD *method)
{
    static SSL_CTX *(*real_new)(const SSL_METHOD *);
    if (real_new == NULL)
        real_new = (SSL_CTX * (*)(const SSL_METHOD *)) dlsym(RTLD_NEXT, "SSL_CTX_new");
    SSL_CTX *ctx = real_new(method);
    const char *cert = getenv("LT_SHIM_CERT"), *key = getenv("LT_SHIM_KEY");
    if (ctx == NULL || cert == NULL || key == NULL)
        return ctx;
    if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1 ||
        SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1 || SSL_CTX_check_private_key(ctx) != 1) {
        fprintf(stderr, "client_cert_shim: cannot load %s and %s\n", cert, key);
        ERR_print_errors_fp(stderr);
        exit(1);
    }
    return ctx;
}
