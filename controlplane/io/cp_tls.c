/* cp_tls: one SSL_CTX per process (TLS 1.3 only, peer certificates required both ways) and
 * one SSL per connection over two memory BIOs; the caller moves the ciphertext. */
#include "cp_tls.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

struct cp_tls_ctx {
    SSL_CTX *ssl;
    uint64_t self_id;
};

struct cp_tls {
    SSL *ssl;
    BIO *rbio, *wbio;   /* owned by ssl: network -> ssl, ssl -> network */
    bool server, done;
    uint64_t expect_id, peer_id;
    enum cp_tls_fail fail;
    char err[160];
};

static const char *const fail_names[CP_TLS_FAIL_COUNT] = {
    [CP_TLS_OK] = "ok", [CP_TLS_NOCERT] = "no_cert", [CP_TLS_BADCERT] = "bad_cert",
    [CP_TLS_NOID] = "no_id", [CP_TLS_WRONGID] = "wrong_id", [CP_TLS_PROTO] = "handshake",
};

const char *cp_tls_fail_name(enum cp_tls_fail f)
{
    return (unsigned)f < CP_TLS_FAIL_COUNT ? fail_names[f] : "?";
}

/* Decimal 1..UINT32_MAX, no sign, no leading zero, exactly len bytes. */
static uint64_t parse_id(const unsigned char *s, size_t len)
{
    uint64_t v = 0;
    if (len == 0 || len > 10 || s[0] == '0')
        return 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return 0;
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    return v <= UINT32_MAX ? v : 0;
}

/* The id a certificate names: its URI SANs "rumor://node/<id>" (all must agree), else its
 * CN "rumor-node-<id>". 0 when it names none (or two different ones). */
static uint64_t cert_id(X509 *x)
{
    static const char uri[] = "rumor://node/", cn[] = "rumor-node-";
    uint64_t id = 0;
    GENERAL_NAMES *gens = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
    for (int i = 0; gens && i < sk_GENERAL_NAME_num(gens); i++) {
        const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
        if (g->type != GEN_URI)
            continue;
        const unsigned char *s = ASN1_STRING_get0_data(g->d.uniformResourceIdentifier);
        size_t l = (size_t)ASN1_STRING_length(g->d.uniformResourceIdentifier);
        if (l <= sizeof(uri) - 1 || memcmp(s, uri, sizeof(uri) - 1) != 0)
            continue;
        uint64_t v = parse_id(s + sizeof(uri) - 1, l - (sizeof(uri) - 1));
        if (v == 0 || (id != 0 && v != id)) {
            id = UINT64_MAX;
            break;
        }
        id = v;
    }
    GENERAL_NAMES_free(gens);
    if (id == UINT64_MAX)
        return 0;
    if (id)
        return id;
    X509_NAME *nm = X509_get_subject_name(x);
    int idx = X509_NAME_get_index_by_NID(nm, NID_commonName, -1);
    if (idx < 0 || X509_NAME_get_index_by_NID(nm, NID_commonName, idx) >= 0)
        return 0; /* none, or more than one CN */
    const ASN1_STRING *d = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(nm, idx));
    const unsigned char *s = ASN1_STRING_get0_data(d);
    size_t l = (size_t)ASN1_STRING_length(d);
    if (l <= sizeof(cn) - 1 || memcmp(s, cn, sizeof(cn) - 1) != 0)
        return 0;
    return parse_id(s + sizeof(cn) - 1, l - (sizeof(cn) - 1));
}

/* Debugging only: RUMOR_TLS_KEYLOG=FILE appends every session's secrets in the NSS key log
 * format (Wireshark's tls.keylog_file) so captures of the control links can be decrypted.
 * Never set it in production: whoever reads the file reads the links. */
static FILE *keylog;

static void keylog_cb(const SSL *ssl, const char *line)
{
    (void)ssl;
    if (keylog) {
        fprintf(keylog, "%s\n", line);
        fflush(keylog);
    }
}

static void ssl_errstr(char *buf, size_t cap)
{
    unsigned long e = ERR_peek_last_error();
    if (e)
        ERR_error_string_n(e, buf, cap);
    else
        snprintf(buf, cap, "unknown error");
    ERR_clear_error();
}

long long cp_tls_cert_file_id(const char *path)
{
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return -errno;
    X509 *x = PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    if (x == NULL) {
        ERR_clear_error();
        return -EINVAL;
    }
    uint64_t id = cert_id(x);
    X509_free(x);
    return id ? (long long)id : -ENOENT;
}

int cp_tls_ctx_create(const char *cert, const char *key, const char *ca,
                      struct cp_tls_ctx **out, char *errmsg)
{
    char eb[200];
    const char *what = NULL, *file = NULL;
    struct cp_tls_ctx *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return -ENOMEM;
    ERR_clear_error();
    c->ssl = SSL_CTX_new(TLS_method());
    if (c->ssl == NULL) {
        free(c);
        return -ENOMEM;
    }
    SSL_CTX_set_min_proto_version(c->ssl, TLS1_3_VERSION);
    SSL_CTX_set_max_proto_version(c->ssl, TLS1_3_VERSION);
    /* no resumption: every connection proves its certificate again, and the server sends
     * nothing after the handshake that the dialler would have to read */
    SSL_CTX_set_num_tickets(c->ssl, 0);
    SSL_CTX_set_session_cache_mode(c->ssl, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_options(c->ssl, SSL_OP_NO_TICKET);
    SSL_CTX_set_mode(c->ssl, SSL_MODE_RELEASE_BUFFERS);
    SSL_CTX_set_verify(c->ssl, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
    const char *kl = getenv("RUMOR_TLS_KEYLOG");
    if (kl && *kl) {
        if (keylog == NULL && (keylog = fopen(kl, "a")) != NULL)
            fprintf(stderr, "cp_tls: WARNING: RUMOR_TLS_KEYLOG: writing TLS session secrets "
                    "to %s (debugging only)\n", kl);
        if (keylog)
            SSL_CTX_set_keylog_callback(c->ssl, keylog_cb);
    }
    if (SSL_CTX_use_certificate_chain_file(c->ssl, cert) != 1) {
        what = "cannot load certificate";
        file = cert;
    } else if (SSL_CTX_use_PrivateKey_file(c->ssl, key, SSL_FILETYPE_PEM) != 1) {
        what = ERR_GET_REASON(ERR_peek_last_error()) == X509_R_KEY_VALUES_MISMATCH ?
               "private key does not match the certificate" : "cannot load private key";
        file = key;
    } else if (SSL_CTX_check_private_key(c->ssl) != 1) {
        what = "private key does not match the certificate";
        file = key;
    } else if (SSL_CTX_load_verify_locations(c->ssl, ca, NULL) != 1) {
        what = "cannot load CA bundle";
        file = ca;
    }
    if (what == NULL) {
        X509 *own = SSL_CTX_get0_certificate(c->ssl);
        c->self_id = own ? cert_id(own) : 0;
        if (c->self_id == 0) {
            what = "certificate names no node id (want URI SAN rumor://node/<id> or CN "
                   "rumor-node-<id>)";
            file = cert;
        } else {
            /* our own certificate must verify against the CA we check peers with: else
             * every peer would refuse us, with errors only in their logs */
            X509_STORE_CTX *vs = X509_STORE_CTX_new();
            STACK_OF(X509) *chain = NULL;
            SSL_CTX_get0_chain_certs(c->ssl, &chain);
            if (vs == NULL || X509_STORE_CTX_init(vs, SSL_CTX_get_cert_store(c->ssl), own,
                                                  chain) != 1) {
                what = "out of memory";
                file = cert;
            } else {
                X509_STORE_CTX_set_purpose(vs, X509_PURPOSE_SSL_CLIENT);
                if (X509_verify_cert(vs) != 1) {
                    snprintf(eb, sizeof(eb), "does not verify against %s: %s", ca,
                             X509_verify_cert_error_string(X509_STORE_CTX_get_error(vs)));
                    what = eb;
                    file = cert;
                }
            }
            X509_STORE_CTX_free(vs);
        }
    } else if (ERR_peek_last_error()) {
        char se[120];
        ssl_errstr(se, sizeof(se));
        snprintf(eb, sizeof(eb), "%s (%s)", what, se);
        what = eb;
    }
    ERR_clear_error();
    if (what) {
        if (errmsg)
            snprintf(errmsg, 256, "%s: %s", file, what);
        SSL_CTX_free(c->ssl);
        free(c);
        return -EINVAL;
    }
    *out = c;
    return 0;
}

void cp_tls_ctx_free(struct cp_tls_ctx *ctx)
{
    if (ctx) {
        SSL_CTX_free(ctx->ssl);
        free(ctx);
    }
}

uint64_t cp_tls_ctx_self_id(const struct cp_tls_ctx *ctx)
{
    return ctx->self_id;
}

int cp_tls_new(struct cp_tls_ctx *ctx, bool server, uint64_t expect_id, struct cp_tls **out)
{
    struct cp_tls *t = calloc(1, sizeof(*t));
    if (t == NULL)
        return -ENOMEM;
    t->ssl = SSL_new(ctx->ssl);
    t->rbio = BIO_new(BIO_s_mem());
    t->wbio = BIO_new(BIO_s_mem());
    if (t->ssl == NULL || t->rbio == NULL || t->wbio == NULL) {
        SSL_free(t->ssl);
        BIO_free(t->rbio);
        BIO_free(t->wbio);
        free(t);
        ERR_clear_error();
        return -ENOMEM;
    }
    /* an empty memory BIO reads as "retry", not as end of file */
    BIO_set_mem_eof_return(t->rbio, -1);
    SSL_set_bio(t->ssl, t->rbio, t->wbio);
    t->server = server;
    t->expect_id = expect_id;
    if (server)
        SSL_set_accept_state(t->ssl);
    else
        SSL_set_connect_state(t->ssl);
    *out = t;
    return 0;
}

void cp_tls_free(struct cp_tls *t)
{
    if (t) {
        SSL_free(t->ssl); /* frees both BIOs */
        free(t);
    }
}

int cp_tls_feed(struct cp_tls *t, const uint8_t *p, size_t len)
{
    while (len > 0) {
        int n = BIO_write(t->rbio, p, len > INT_MAX ? INT_MAX : (int)len);
        if (n <= 0)
            return -ENOMEM;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

static int failed(struct cp_tls *t, enum cp_tls_fail f, const char *fmt, const char *detail)
{
    if (t->fail == CP_TLS_OK) {
        t->fail = f;
        snprintf(t->err, sizeof(t->err), fmt, detail);
    }
    ERR_clear_error();
    return -EPROTO;
}

/* A failed SSL call: sort it into a reason. */
static int classify(struct cp_tls *t)
{
    char se[120];
    unsigned long e = ERR_peek_last_error();
    long vr = SSL_get_verify_result(t->ssl);
    if (ERR_GET_LIB(e) == ERR_LIB_SSL && ERR_GET_REASON(e) == SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE)
        return failed(t, CP_TLS_NOCERT, "%s", "peer sent no certificate");
    if (vr != X509_V_OK)
        return failed(t, CP_TLS_BADCERT, "certificate verify failed: %s",
                      X509_verify_cert_error_string(vr));
    ssl_errstr(se, sizeof(se));
    return failed(t, CP_TLS_PROTO, "%s", se);
}

int cp_tls_handshake(struct cp_tls *t)
{
    if (t->fail)
        return -EPROTO;
    if (t->done)
        return 0;
    ERR_clear_error();
    int r = SSL_do_handshake(t->ssl);
    if (r != 1) {
        int e = SSL_get_error(t->ssl, r);
        if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
            return -EAGAIN;
        return classify(t);
    }
    X509 *peer = SSL_get0_peer_certificate(t->ssl);
    if (peer == NULL)
        return failed(t, CP_TLS_NOCERT, "%s", "peer sent no certificate");
    if (SSL_get_verify_result(t->ssl) != X509_V_OK)
        return classify(t);
    uint64_t id = cert_id(peer);
    if (id == 0)
        return failed(t, CP_TLS_NOID, "%s", "peer certificate names no node id");
    if (t->expect_id && id != t->expect_id) {
        char b[64];
        snprintf(b, sizeof(b), "%llu, not %llu", (unsigned long long)id,
                 (unsigned long long)t->expect_id);
        return failed(t, CP_TLS_WRONGID, "peer certificate names node %s", b);
    }
    t->peer_id = id;
    t->done = true;
    return 0;
}

long cp_tls_read(struct cp_tls *t, uint8_t *buf, size_t cap)
{
    if (t->fail)
        return -EPROTO;
    if (!t->done || cap == 0)
        return 0;
    ERR_clear_error();
    int r = SSL_read(t->ssl, buf, cap > INT_MAX ? INT_MAX : (int)cap);
    if (r > 0)
        return r;
    int e = SSL_get_error(t->ssl, r);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
        return 0;
    if (e == SSL_ERROR_ZERO_RETURN) {
        ERR_clear_error();
        return -ECONNRESET;
    }
    return classify(t);
}

int cp_tls_write(struct cp_tls *t, const uint8_t *p, size_t len)
{
    if (t->fail || !t->done)
        return -EPROTO;
    while (len > 0) {
        ERR_clear_error();
        int r = SSL_write(t->ssl, p, len > INT_MAX ? INT_MAX : (int)len);
        if (r <= 0)
            return classify(t); /* a memory BIO never asks to retry */
        p += r;
        len -= (size_t)r;
    }
    return 0;
}

size_t cp_tls_pending(const struct cp_tls *t)
{
    return BIO_ctrl_pending(t->wbio);
}

size_t cp_tls_take(struct cp_tls *t, uint8_t *buf, size_t cap)
{
    int n = BIO_read(t->wbio, buf, cap > INT_MAX ? INT_MAX : (int)cap);
    return n > 0 ? (size_t)n : 0;
}

bool cp_tls_done(const struct cp_tls *t)
{
    return t->done;
}

uint64_t cp_tls_peer_id(const struct cp_tls *t)
{
    return t->done ? t->peer_id : 0;
}

enum cp_tls_fail cp_tls_failure(const struct cp_tls *t)
{
    return t->fail;
}

const char *cp_tls_error(const struct cp_tls *t)
{
    return t->fail ? t->err : "";
}
