/* The API's Unix stream socket, both ends: rumor-cp listens, rumorctl, rumor-load and
 * librumor connect. */
#ifndef RUMOR_SOCK_H
#define RUMOR_SOCK_H

/* Connected socket to @path (close-on-exec). Returns the fd, -ENAMETOOLONG or -errno of
 * socket/connect (-ENOENT: nobody listens there). */
int rumor_sock_connect(const char *path);

/* Listening socket at @path, replacing a stale socket file. Returns the fd, -ENAMETOOLONG or
 * -errno of socket/bind/listen. */
int rumor_sock_listen(const char *path, int backlog);

#endif
