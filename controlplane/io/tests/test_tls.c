/* test_cp_tls: cp_tls between two in-memory endpoints (certificates from deploy/make-certs.sh,
 * path in $MAKE_CERTS): handshake and data both ways, wrong CA, no certificate, wrong id, id
 * extraction (URI SAN, CN, neither), context errors. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/ssl.h>

#include "cp_tls.h"

static char dir[64];

static const char *path(const char *sub, const char *name)
{
    static char buf[4][256];
    static int i;
    i = (i + 1) % 4;
    snprintf(buf[i], sizeof(buf[i]), "%s/%s/%s", dir, sub, name);
    return buf[i];
}

static int sh(const char *fmt, ...)
{
    char cmd[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof(cmd), fmt, ap);
    va_end(ap);
    return system(cmd);
}

static int setup(void **state)
{
    (void)state;
    const char *mk = getenv("MAKE_CERTS");
    if (mk == NULL)
        mk = "deploy/make-certs.sh";
    snprintf(dir, sizeof(dir), "/tmp/test_cp_tls.XXXXXX");
    if (mkdtemp(dir) == NULL)
        return -1;
    if (sh("%s %s/a 1 2 3 7 >/dev/null && %s %s/b 2 >/dev/null", mk, dir, mk, dir) != 0)
        return -1;
    /* CN only, and neither CN nor SAN, both signed by CA a */
    return sh("cd %s/a && openssl ecparam -name prime256v1 -genkey -noout -out x.key && "
              "for s in rumor-node-9:cn other-name:none; do "
              "openssl req -new -key x.key -subj /CN=${s%%:*} | openssl x509 -req -CA ca.crt "
              "-CAkey ca.key -CAcreateserial -days 2 -out ${s#*:}.crt 2>/dev/null; done", dir);
}

static int teardown(void **state)
{
    (void)state;
    return sh("rm -rf %s", dir);
}

static struct cp_tls_ctx *ctx(const char *sub, int id)
{
    char crt[32], key[32], e[256];
    struct cp_tls_ctx *c = NULL;
    snprintf(crt, sizeof(crt), "node-%d.crt", id);
    snprintf(key, sizeof(key), "node-%d.key", id);
    int rc = cp_tls_ctx_create(path(sub, crt), path(sub, key), path(sub, "ca.crt"), &c, e);
    if (rc)
        print_message("ctx: %s\n", e);
    assert_int_equal(rc, 0);
    assert_int_equal(cp_tls_ctx_self_id(c), id);
    return c;
}

static void move(struct cp_tls *from, struct cp_tls *to)
{
    uint8_t b[4096];
    size_t n;
    while ((n = cp_tls_take(from, b, sizeof(b))) > 0)
        assert_int_equal(cp_tls_feed(to, b, n), 0);
}

/* Shuttle ciphertext until both ends finished (0) or one failed (-EPROTO). */
static int pump(struct cp_tls *c, struct cp_tls *s)
{
    for (int i = 0; i < 20; i++) {
        int rc = cp_tls_handshake(c), rs = cp_tls_handshake(s);
        move(c, s);
        move(s, c);
        if (rc == -EPROTO || rs == -EPROTO)
            return -EPROTO;
        if (rc == 0 && rs == 0) {
            /* the server learns of a client certificate it refuses only here, and the
             * client of the server's alert only on its next read */
            uint8_t b[16];
            if (cp_tls_read(c, b, sizeof(b)) < 0 || cp_tls_read(s, b, sizeof(b)) < 0)
                return -EPROTO;
            return 0;
        }
    }
    return -ETIMEDOUT;
}

static void test_handshake_and_data(void **state)
{
    (void)state;
    struct cp_tls_ctx *c1 = ctx("a", 1), *c2 = ctx("a", 2);
    struct cp_tls *cl, *sv;
    assert_int_equal(cp_tls_new(c1, false, 2, &cl), 0);
    assert_int_equal(cp_tls_new(c2, true, 0, &sv), 0);
    assert_int_equal(cp_tls_peer_id(sv), 0);
    assert_int_equal(pump(cl, sv), 0);
    assert_true(cp_tls_done(cl) && cp_tls_done(sv));
    assert_int_equal(cp_tls_peer_id(cl), 2);
    assert_int_equal(cp_tls_peer_id(sv), 1);

    /* 1 MiB client -> server in odd pieces, then a reply */
    size_t total = 1u << 20, got = 0;
    uint8_t *src = malloc(total), *dst = malloc(total);
    for (size_t i = 0; i < total; i++)
        src[i] = (uint8_t)(i * 31 + 7);
    for (size_t off = 0; off < total;) {
        size_t n = total - off < 7777 ? total - off : 7777;
        assert_int_equal(cp_tls_write(cl, src + off, n), 0);
        off += n;
        move(cl, sv);
        long r;
        while ((r = cp_tls_read(sv, dst + got, total - got)) > 0)
            got += (size_t)r;
        assert_true(r == 0);
    }
    assert_int_equal(got, total);
    assert_memory_equal(src, dst, total);
    assert_int_equal(cp_tls_write(sv, (const uint8_t *)"ack", 3), 0);
    move(sv, cl);
    uint8_t b[8];
    assert_int_equal(cp_tls_read(cl, b, sizeof(b)), 3);
    assert_memory_equal(b, "ack", 3);
    assert_int_equal(cp_tls_read(cl, b, sizeof(b)), 0);
    /* a flipped ciphertext bit fails the record */
    assert_int_equal(cp_tls_write(cl, src, 100), 0);
    size_t n = cp_tls_take(cl, dst, total);
    dst[n / 2] ^= 1;
    assert_int_equal(cp_tls_feed(sv, dst, n), 0);
    assert_int_equal(cp_tls_read(sv, b, sizeof(b)), -EPROTO);
    assert_int_equal(cp_tls_failure(sv), CP_TLS_PROTO);
    free(src);
    free(dst);
    cp_tls_free(cl);
    cp_tls_free(sv);
    cp_tls_ctx_free(c1);
    cp_tls_ctx_free(c2);
}

static void test_wrong_ca(void **state)
{
    (void)state;
    struct cp_tls_ctx *good = ctx("a", 1), *other = ctx("b", 2);
    struct cp_tls *cl, *sv;
    /* a client of another CA (that trusts ours): the server refuses its certificate */
    struct cp_tls_ctx *b2 = NULL;
    char e[256], bundle[300];
    snprintf(bundle, sizeof(bundle), "%s/both.crt", dir);
    assert_int_equal(sh("cat %s %s > %s", path("a", "ca.crt"), path("b", "ca.crt"), bundle), 0);
    assert_int_equal(cp_tls_ctx_create(path("b", "node-2.crt"), path("b", "node-2.key"), bundle,
                                       &b2, e), 0);
    assert_int_equal(cp_tls_new(b2, false, 1, &cl), 0);
    assert_int_equal(cp_tls_new(good, true, 0, &sv), 0);
    assert_int_equal(pump(cl, sv), -EPROTO);
    print_message("server: %s\n", cp_tls_error(sv));
    assert_int_equal(cp_tls_failure(sv), CP_TLS_BADCERT);
    assert_int_equal(cp_tls_peer_id(sv), 0);
    cp_tls_free(cl);
    cp_tls_free(sv);
    cp_tls_ctx_free(b2);
    /* a client of another CA that trusts only its own: it refuses us first */
    assert_int_equal(cp_tls_new(other, false, 1, &cl), 0);
    assert_int_equal(cp_tls_new(good, true, 0, &sv), 0);
    assert_int_equal(pump(cl, sv), -EPROTO);
    assert_int_equal(cp_tls_failure(cl), CP_TLS_BADCERT);
    cp_tls_free(cl);
    cp_tls_free(sv);
    /* a server of another CA: the client refuses it */
    assert_int_equal(cp_tls_new(good, false, 2, &cl), 0);
    assert_int_equal(cp_tls_new(other, true, 0, &sv), 0);
    assert_int_equal(pump(cl, sv), -EPROTO);
    print_message("client: %s; server: %s\n", cp_tls_error(cl), cp_tls_error(sv));
    assert_int_equal(cp_tls_failure(cl), CP_TLS_BADCERT);
    cp_tls_free(cl);
    cp_tls_free(sv);
    cp_tls_ctx_free(good);
    cp_tls_ctx_free(other);
}

static void test_wrong_id(void **state)
{
    (void)state;
    struct cp_tls_ctx *c1 = ctx("a", 1), *c3 = ctx("a", 3);
    struct cp_tls *cl, *sv;
    /* we dial node 2 and node 3 answers */
    assert_int_equal(cp_tls_new(c1, false, 2, &cl), 0);
    assert_int_equal(cp_tls_new(c3, true, 0, &sv), 0);
    assert_int_equal(pump(cl, sv), -EPROTO);
    assert_int_equal(cp_tls_failure(cl), CP_TLS_WRONGID);
    assert_non_null(strstr(cp_tls_error(cl), "node 3, not 2"));
    cp_tls_free(cl);
    cp_tls_free(sv);
    cp_tls_ctx_free(c1);
    cp_tls_ctx_free(c3);
}

/* A client with no certificate at all (raw OpenSSL: cp_tls always has one). */
static void test_no_client_cert(void **state)
{
    (void)state;
    struct cp_tls_ctx *c2 = ctx("a", 2);
    struct cp_tls *sv;
    assert_int_equal(cp_tls_new(c2, true, 0, &sv), 0);
    SSL_CTX *raw = SSL_CTX_new(TLS_client_method());
    SSL_CTX_set_verify(raw, SSL_VERIFY_NONE, NULL);
    SSL *s = SSL_new(raw);
    BIO *rb = BIO_new(BIO_s_mem()), *wb = BIO_new(BIO_s_mem());
    BIO_set_mem_eof_return(rb, -1);
    SSL_set_bio(s, rb, wb);
    SSL_set_connect_state(s);
    int rs = -EAGAIN;
    uint8_t b[8192];
    for (int i = 0; i < 10 && rs == -EAGAIN; i++) {
        SSL_do_handshake(s);
        int n;
        while ((n = BIO_read(wb, b, sizeof(b))) > 0)
            cp_tls_feed(sv, b, (size_t)n);
        rs = cp_tls_handshake(sv);
        size_t m;
        while ((m = cp_tls_take(sv, b, sizeof(b))) > 0)
            BIO_write(rb, b, (int)m);
    }
    assert_int_equal(rs, -EPROTO);
    assert_int_equal(cp_tls_failure(sv), CP_TLS_NOCERT);
    assert_string_equal(cp_tls_fail_name(CP_TLS_NOCERT), "no_cert");
    SSL_free(s);
    SSL_CTX_free(raw);
    cp_tls_free(sv);
    cp_tls_ctx_free(c2);
}

static void test_id_extraction(void **state)
{
    (void)state;
    assert_int_equal(cp_tls_cert_file_id(path("a", "node-7.crt")), 7);
    assert_int_equal(cp_tls_cert_file_id(path("b", "node-2.crt")), 2);
    assert_int_equal(cp_tls_cert_file_id(path("a", "cn.crt")), 9);
    assert_int_equal(cp_tls_cert_file_id(path("a", "none.crt")), -ENOENT);
    assert_int_equal(cp_tls_cert_file_id(path("a", "ca.crt")), -ENOENT);
    assert_int_equal(cp_tls_cert_file_id(path("a", "node-7.key")), -EINVAL);
    assert_int_equal(cp_tls_cert_file_id(path("a", "missing.crt")), -ENOENT);
}

static void test_ctx_errors(void **state)
{
    (void)state;
    struct cp_tls_ctx *c = NULL;
    char e[256];
    /* key of another node */
    assert_int_equal(cp_tls_ctx_create(path("a", "node-1.crt"), path("a", "node-2.key"),
                                       path("a", "ca.crt"), &c, e), -EINVAL);
    assert_non_null(strstr(e, "does not match"));
    /* certificate of another CA than the bundle */
    assert_int_equal(cp_tls_ctx_create(path("b", "node-2.crt"), path("b", "node-2.key"),
                                       path("a", "ca.crt"), &c, e), -EINVAL);
    assert_non_null(strstr(e, "does not verify"));
    /* no id in the certificate */
    assert_int_equal(cp_tls_ctx_create(path("a", "none.crt"), path("a", "x.key"),
                                       path("a", "ca.crt"), &c, e), -EINVAL);
    assert_non_null(strstr(e, "names no node id"));
    assert_int_equal(cp_tls_ctx_create(path("a", "nope.crt"), path("a", "x.key"),
                                       path("a", "ca.crt"), &c, e), -EINVAL);
    assert_non_null(strstr(e, "nope.crt: cannot load certificate"));
    /* a bundle of both CAs (CA rotation) accepts both */
    char bundle[300];
    snprintf(bundle, sizeof(bundle), "%s/both.crt", dir);
    assert_int_equal(sh("cat %s %s > %s", path("a", "ca.crt"), path("b", "ca.crt"), bundle), 0);
    assert_int_equal(cp_tls_ctx_create(path("b", "node-2.crt"), path("b", "node-2.key"), bundle,
                                       &c, e), 0);
    struct cp_tls_ctx *c1 = ctx("a", 1);
    struct cp_tls *cl, *sv;
    assert_int_equal(cp_tls_new(c, false, 1, &cl), 0);
    assert_int_equal(cp_tls_new(c1, true, 0, &sv), 0);
    /* node 1 trusts only CA a: refuses node 2 of CA b; with the bundle on both it works */
    assert_int_equal(pump(cl, sv), -EPROTO);
    cp_tls_free(cl);
    cp_tls_free(sv);
    cp_tls_ctx_free(c1);
    assert_int_equal(cp_tls_ctx_create(path("a", "node-1.crt"), path("a", "node-1.key"), bundle,
                                       &c1, e), 0);
    assert_int_equal(cp_tls_new(c, false, 1, &cl), 0);
    assert_int_equal(cp_tls_new(c1, true, 0, &sv), 0);
    assert_int_equal(pump(cl, sv), 0);
    assert_int_equal(cp_tls_peer_id(sv), 2);
    cp_tls_free(cl);
    cp_tls_free(sv);
    cp_tls_ctx_free(c1);
    cp_tls_ctx_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_handshake_and_data),
        cmocka_unit_test(test_wrong_ca),
        cmocka_unit_test(test_wrong_id),
        cmocka_unit_test(test_no_client_cert),
        cmocka_unit_test(test_id_extraction),
        cmocka_unit_test(test_ctx_errors),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
