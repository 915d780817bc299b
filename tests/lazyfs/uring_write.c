/* uring_write: writes one string at an offset through io_uring, the way rumor's controlplane
 * does (cp_loop.c), so test_lazyfs.sh can check what lazyfs makes durable.
 * Usage: uring_write fdatasync|rwf_dsync|nosync PATH OFFSET STRING */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc != 5) {
		fprintf(stderr, "usage: %s fdatasync|rwf_dsync|nosync PATH OFFSET STRING\n", argv[0]);
		return 2;
	}
	const char *mode = argv[1];
	int fd = open(argv[2], O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0) {
		perror("open");
		return 1;
	}
	struct io_uring ring;
	int rc = io_uring_queue_init(8, &ring, 0);
	if (rc < 0) {
		fprintf(stderr, "io_uring_queue_init: %s\n", strerror(-rc));
		return 1;
	}
	struct iovec iov = { .iov_base = argv[4], .iov_len = strlen(argv[4]) };
	off_t off = strtoll(argv[3], NULL, 10);
	int n = 1;
	struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);
	if (strcmp(mode, "rwf_dsync") == 0) {
		io_uring_prep_writev2(sqe, fd, &iov, 1, off, RWF_DSYNC);
	} else {
		io_uring_prep_writev(sqe, fd, &iov, 1, off);
		if (strcmp(mode, "fdatasync") == 0) {
			sqe->flags |= IOSQE_IO_LINK; /* the fsync runs only after the write succeeded */
			io_uring_prep_fsync(io_uring_get_sqe(&ring), fd, IORING_FSYNC_DATASYNC);
			n = 2;
		}
	}
	rc = io_uring_submit(&ring);
	if (rc != n) {
		fprintf(stderr, "io_uring_submit: %d\n", rc);
		return 1;
	}
	int bad = 0;
	for (int i = 0; i < n; i++) {
		struct io_uring_cqe *cqe;
		rc = io_uring_wait_cqe(&ring, &cqe);
		if (rc < 0) {
			fprintf(stderr, "io_uring_wait_cqe: %s\n", strerror(-rc));
			return 1;
		}
		if (cqe->res < 0) {
			fprintf(stderr, "cqe %d: %s\n", i, strerror(-cqe->res));
			bad = 1;
		}
		io_uring_cqe_seen(&ring, cqe);
	}
	io_uring_queue_exit(&ring);
	close(fd);
	return bad;
}
