/* cp_fileio: small file helpers the io modules share: a whole pread, the 256-byte error
 * message buffer of their load functions, their recovery-note logging, opening their directory. */
#ifndef CP_FILEIO_H
#define CP_FILEIO_H

#include <stddef.h>
#include <sys/types.h>

/* pread exactly @len bytes at @off. Returns 0, -EIO at end of file, or -errno. */
int cp_read_full(int fd, void *buf, size_t len, off_t off);

/* Create the directory @dir if missing (mode 0755) and open it for fsync and *at calls.
 * Returns the fd or -errno, with @errmsg naming the failed call. */
int cp_open_dir(const char *dir, char *errmsg);

/* Format into @errmsg (256 bytes; NULL: nothing). */
void cp_errf(char *errmsg, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A recovery note to @log(@arg, text), or to stderr when @log is NULL. */
void cp_note(void (*log)(void *arg, const char *msg), void *arg, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
