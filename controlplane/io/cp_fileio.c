/* Shared file helpers of the io modules (cp_disk, cp_plog). */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cp_fileio.h"

int cp_read_full(int fd, void *buf, size_t len, off_t off)
{
    uint8_t *p = buf;
    while (len > 0) {
        ssize_t r = pread(fd, p, len, off);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        if (r == 0)
            return -EIO;
        p += r;
        len -= (size_t)r;
        off += r;
    }
    return 0;
}

void cp_errf(char *errmsg, const char *fmt, ...)
{
    if (errmsg == NULL)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(errmsg, 256, fmt, ap);
    va_end(ap);
}

void cp_note(void (*log)(void *arg, const char *msg), void *arg, const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    if (log)
        log(arg, buf);
    else
        fprintf(stderr, "%s\n", buf);
}

int cp_open_dir(const char *dir, char *errmsg)
{
    if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
        int e = errno;
        cp_errf(errmsg, "mkdir %s: %s", dir, strerror(e));
        return -e;
    }
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0) {
        int e = errno;
        cp_errf(errmsg, "open %s: %s", dir, strerror(e));
        return -e;
    }
    return dfd;
}
