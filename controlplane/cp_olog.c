/* ordered.log writer: bounded buffer, torn-tail cut at open, gap markers, sync on demand. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cp_olog.h"

#define TAIL_READ 65536
#define BUF_HARD_MAX (64u << 20)
#define CP_OLOG_PAGE 4096u /* write-out granule: the page cache's page */

/* gseq of one complete line, 0 if it has none */
static uint64_t line_gseq(const char *p, const char *end)
{
	static const char key[] = "{\"gseq\":";
	size_t k = sizeof(key) - 1;

	if ((size_t)(end - p) <= k || memcmp(p, key, k) != 0)
		return 0;
	return strtoull(p + k, NULL, 10);
}

/* Cut a torn last line and find the last gseq. */
static int scan_tail(struct cp_olog *l, char *errmsg)
{
	struct stat st;
	char *tail;
	off_t from;
	ssize_t got;

	if (fstat(l->fd, &st) < 0)
		return -errno;
	if (st.st_size == 0)
		return 0;
	if (!(tail = malloc(TAIL_READ + 1)))
		return -ENOMEM;
	from = st.st_size > TAIL_READ ? st.st_size - TAIL_READ : 0;
	got = pread(l->fd, tail, (size_t)(st.st_size - from), from);
	if (got < 0) {
		free(tail);
		return -errno;
	}
	tail[got] = 0;
	char *end = tail + got;
	char *nl = memrchr(tail, '\n', (size_t)got);
	if (!nl && from > 0) {
		free(tail);
		snprintf(errmsg, 256, "ordered.log: last line longer than %d bytes", TAIL_READ);
		return -EUCLEAN;
	}
	off_t keep = nl ? from + (nl - tail) + 1 : 0;
	if (keep != st.st_size) {
		l->torn_bytes = (uint64_t)(st.st_size - keep);
		if (ftruncate(l->fd, keep) < 0 || fdatasync(l->fd) < 0) {
			free(tail);
			return -errno;
		}
		snprintf(errmsg, 256, "ordered.log: cut a torn last line of %" PRIu64
			 " bytes at offset %lld", l->torn_bytes, (long long)keep);
		end = nl ? nl + 1 : tail;
	}
	/* the last complete line: from after the newline before it */
	if (end > tail) {
		char *last_end = end - 1; /* its newline */
		char *start = memrchr(tail, '\n', (size_t)(last_end - tail));
		start = start ? start + 1 : tail;
		l->last_gseq = line_gseq(start, last_end);
	}
	free(tail);
	return 0;
}

static int sync_parent(const char *path)
{
	char dir[4096];
	const char *slash = strrchr(path, '/');
	size_t n = slash ? (size_t)(slash - path) : 1;
	int fd, rc = 0;

	if (n >= sizeof(dir))
		return -ENAMETOOLONG;
	memcpy(dir, slash ? path : ".", n);
	dir[n ? n : 1] = 0;
	if (slash == path)
		strcpy(dir, "/");
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return -errno;
	if (fsync(fd) < 0)
		rc = -errno;
	close(fd);
	return rc;
}

int cp_olog_open(struct cp_olog *l, const char *path, size_t buf_max, char *errmsg)
{
	char dummy[256];
	int rc;

	if (!errmsg)
		errmsg = dummy;
	errmsg[0] = 0;
	memset(l, 0, sizeof(*l));
	l->cap = buf_max ? buf_max : 256u << 10;
	l->fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0600);
	if (l->fd >= 0) {
		if ((rc = sync_parent(path)) < 0) { /* a new file: its name must survive too */
			cp_olog_close(l);
			return rc;
		}
	} else if (errno == EEXIST) {
		l->fd = open(path, O_RDWR | O_APPEND | O_CLOEXEC);
	}
	if (l->fd < 0)
		return -errno;
	if (!(l->buf = malloc(l->cap))) {
		close(l->fd);
		l->fd = -1;
		return -ENOMEM;
	}
	if ((rc = scan_tail(l, errmsg)) < 0) {
		cp_olog_close(l);
		return rc;
	}
	off_t end = lseek(l->fd, 0, SEEK_END);
	if (end < 0) {
		rc = -errno;
		cp_olog_close(l);
		return rc;
	}
	l->end = l->wb_from = (uint64_t)end;
	return 0;
}

int cp_olog_flush(struct cp_olog *l)
{
	size_t off = 0;

	while (off < l->len) {
		ssize_t w = write(l->fd, l->buf + off, l->len - off);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			int rc = -errno;
			l->write_errors++;
			memmove(l->buf, l->buf + off, l->len - off);
			l->len -= off;
			return rc;
		}
		off += (size_t)w;
		l->end += (uint64_t)w;
	}
	l->len = 0;
	if (l->end - l->wb_from >= CP_OLOG_WRITEBACK) {
		/* Whole pages only: the next line goes into the last, partial one, and a write
		 * into a page under write-out waits for it (4 ms seen) */
		uint64_t to = l->end & ~(uint64_t)(CP_OLOG_PAGE - 1);

		/* a failure only leaves more for the fdatasync */
		if (sync_file_range(l->fd, (off_t)l->wb_from, (off_t)(to - l->wb_from),
				    SYNC_FILE_RANGE_WRITE) == 0)
			l->writebacks++;
		l->wb_from = to;
	}
	return 0;
}

int cp_olog_sync(struct cp_olog *l)
{
	int rc = cp_olog_flush(l);
	if (rc < 0)
		return rc;
	return fdatasync(l->fd) < 0 ? -errno : 0;
}

void cp_olog_close(struct cp_olog *l)
{
	if (l->fd >= 0) {
		cp_olog_sync(l);
		close(l->fd);
	}
	l->fd = -1;
	free(l->buf);
	l->buf = NULL;
	l->len = 0;
}

static int put(struct cp_olog *l, const char *p, size_t len)
{
	if (l->len + len + 1 > l->cap) {
		int rc = cp_olog_flush(l);
		/* a failed write keeps what it could not write; the buffer grows (bounded) so
		 * that the line is not lost while the disk refuses */
		if (rc < 0 && l->cap >= BUF_HARD_MAX)
			return rc;
	}
	if (l->len + len + 1 > l->cap) {
		size_t cap = l->cap * 2 > l->len + len + 1 ? l->cap * 2 : l->len + len + 1;
		char *b = realloc(l->buf, cap);
		if (!b)
			return -ENOMEM;
		l->buf = b;
		l->cap = cap;
	}
	memcpy(l->buf + l->len, p, len);
	l->buf[l->len + len] = '\n';
	l->len += len + 1;
	return 0;
}

int cp_olog_mark(struct cp_olog *l, uint64_t through)
{
	char m[192];
	int rc, ml;

	if (l->fd < 0)
		return -EBADF;
	if (through <= l->last_gseq)
		return 0;
	ml = snprintf(m, sizeof(m), "{\"gseq\":%" PRIu64 ",\"gap_from\":%" PRIu64 ",\"note\":\"gseqs %"
		      PRIu64 "..%" PRIu64 " were installed by snapshot and are not in this file\"}",
		      through, l->last_gseq + 1, l->last_gseq + 1, through);
	if ((rc = put(l, m, (size_t)ml)) < 0)
		return rc;
	l->markers++;
	l->last_gseq = through;
	return 1;
}

int cp_olog_append(struct cp_olog *l, uint64_t gseq, const char *line, size_t len)
{
	int rc;

	if (l->fd < 0)
		return -EBADF;
	if (gseq <= l->last_gseq)
		return 0;
	if (gseq > l->last_gseq + 1 && (rc = cp_olog_mark(l, gseq - 1)) < 0)
		return rc;
	if ((rc = put(l, line, len)) < 0)
		return rc;
	l->last_gseq = gseq;
	l->lines++;
	return 1;
}
