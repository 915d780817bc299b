/* cp_tls: TLS 1.3 sessions for the control links, without sockets: OpenSSL 3 over memory
 * BIOs, so cp_net moves the ciphertext on its io_uring loop and never blocks in OpenSSL.
 * Identity: a node's certificate names its id as URI SAN "rumor://node/<id>" (preferred) or,
 * without one, as subject CN "rumor-node-<id>"; both ends verify the other against the CA. */
#ifndef CP_TLS_H
#define CP_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cp_tls_ctx;
struct cp_tls;

/* Why a session failed (counted by cp_net per reason). */
enum cp_tls_fail {
    CP_TLS_OK = 0,
    CP_TLS_NOCERT,     /* the peer presented no certificate */
    CP_TLS_BADCERT,    /* its certificate does not verify (other CA, expired, ...) */
    CP_TLS_NOID,       /* it verifies but names no rumor node id */
    CP_TLS_WRONGID,    /* it names another node than the one we dialled */
    CP_TLS_PROTO,      /* not TLS 1.3, garbage, alert, anything else */
    CP_TLS_FAIL_COUNT
};

/* Short name of a reason ("no_cert", "bad_cert", ...), for logs and status keys. */
const char *cp_tls_fail_name(enum cp_tls_fail f);

/* Load this node's certificate chain, private key and the CA bundle (PEM files; the bundle
 * may hold several CAs, e.g. old and new during a CA rotation). Errors: -EINVAL (unreadable
 * or bad file, key does not match the certificate, certificate names no node id), -ENOMEM;
 * errmsg (256 bytes, may be NULL) says which file and why. */
int cp_tls_ctx_create(const char *cert, const char *key, const char *ca,
                      struct cp_tls_ctx **out, char *errmsg);
void cp_tls_ctx_free(struct cp_tls_ctx *ctx);
/* The node id our own certificate names. */
uint64_t cp_tls_ctx_self_id(const struct cp_tls_ctx *ctx);

/* New session: server (we accepted) or client (we dialled expect_id, which the server's
 * certificate must name). Errors: -ENOMEM. */
int cp_tls_new(struct cp_tls_ctx *ctx, bool server, uint64_t expect_id, struct cp_tls **out);
void cp_tls_free(struct cp_tls *t);

/* Ciphertext received from the network (all of it is taken). Then call cp_tls_handshake until
 * it returns 0, and cp_tls_read afterwards. Errors: -ENOMEM. */
int cp_tls_feed(struct cp_tls *t, const uint8_t *p, size_t len);
/* Drive the handshake: 0 done (peer verified, cp_tls_peer_id valid), -EAGAIN needs more
 * input (send what cp_tls_pending has first), -EPROTO failed (cp_tls_failure says why). */
int cp_tls_handshake(struct cp_tls *t);
/* Decrypted bytes into buf: > 0 bytes, 0 nothing buffered, -ECONNRESET the peer closed the
 * session (close_notify), -EPROTO failed. */
long cp_tls_read(struct cp_tls *t, uint8_t *buf, size_t cap);
/* Encrypt all of p (only after the handshake). 0 or -EPROTO / -ENOMEM. */
int cp_tls_write(struct cp_tls *t, const uint8_t *p, size_t len);
/* Ciphertext waiting to be sent, and taking (copying out) up to cap bytes of it. */
size_t cp_tls_pending(const struct cp_tls *t);
size_t cp_tls_take(struct cp_tls *t, uint8_t *buf, size_t cap);

bool cp_tls_done(const struct cp_tls *t);
/* The verified peer's node id (0 before the handshake completed). */
uint64_t cp_tls_peer_id(const struct cp_tls *t);
enum cp_tls_fail cp_tls_failure(const struct cp_tls *t);
/* Human-readable detail of the failure ("certificate verify failed: unable to get local
 * issuer certificate", ...). */
const char *cp_tls_error(const struct cp_tls *t);

/* The node id a PEM certificate file names (for tools and tests): > 0, or -errno. */
long long cp_tls_cert_file_id(const char *path);

#endif
