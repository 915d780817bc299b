/* libFuzzer target: the cp_plog loader. The input is one segment file (or two, split at an
 * 8-aligned "PLOGSPLT"); whatever it loads must read back, take an append, and load again
 * without a torn tail. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cp_loop.h"
#include "cp_plog.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct cp_loop *loop;
static char dir[64];

static void quiet(void *arg, const char *msg)
{
	(void)arg;
	(void)msg;
}

static void put_file(const char *name, const uint8_t *p, size_t n)
{
	char path[128];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || (n && write(fd, p, n) != (ssize_t)n))
		abort();
	close(fd);
}

static void clear_dir(void)
{
	DIR *d = opendir(dir);
	if (d == NULL)
		abort();
	struct dirent *de;
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			unlinkat(dirfd(d), de->d_name, 0);
	closedir(d);
}

/* at exit: the run leaves no directory behind (tmpfs is memory) */
static void remove_dir(void)
{
	clear_dir();
	rmdir(dir);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (loop == NULL) {
		/* tmpfs where there is one: the loader's logic is under test, not the disk, and
		 * the segment and directory syncs on a real disk made this target 3x slower */
		snprintf(dir, sizeof(dir), "%s/fuzz-cp-plog-XXXXXX",
			 access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
		if (cp_loop_create(64, &loop) || mkdtemp(dir) == NULL)
			abort();
		atexit(remove_dir);
	}
	size_t split = size;
	for (size_t o = 0; o + 8 <= size; o += 8)
		if (memcmp(data + o, "PLOGSPLT", 8) == 0) {
			split = o;
			break;
		}
	put_file("plog-00000000000000000001", data, split);
	if (split < size)
		put_file("plog-00000000000000000002", data + split + 8, size - split - 8);

	struct cp_plog_cfg cfg = { .segment_size = 4096, .max_span = 4096, .log = quiet };
	struct cp_plog *pl = NULL;
	char err[256];
	int rv = cp_plog_open(loop, dir, &cfg, &pl, err);
	if (rv != 0) {
		if (pl != NULL || (rv != -EUCLEAN && rv != -ERANGE))
			abort();
		if (strstr(err, "plog-0000000000000000000") == NULL || strstr(err, "offset") == NULL)
			abort();
		clear_dir();
		return 0;
	}
	/* Every indexed seq reads back (bounded: one record may index thousands). */
	static uint8_t buf[CP_PLOG_MAX_FRAME];
	unsigned reads = 0;
	for (uint16_t o = 1; o <= CP_PLOG_ORIGIN_MAX; o++) {
		uint64_t max = cp_plog_max_seq(pl, o);
		for (uint64_t s = cp_plog_next_seq(pl, o, 0); s && reads < 20000;
		     s = cp_plog_next_seq(pl, o, s), reads++) {
			uint64_t first = 0;
			int n = cp_plog_read(pl, o, s, buf, sizeof(buf), &first);
			if (n <= 0 || first > s || s > max || !cp_plog_has(pl, o, s))
				abort();
		}
	}
	/* The log takes an append where it stands and writes it. */
	uint64_t next = cp_plog_max_seq(pl, 1) + 1;
	const uint8_t frame[5] = "fuzz";
	int64_t t = cp_plog_append(pl, 1, next, 1, frame, sizeof(frame));
	if (t <= 0 && t != -ERANGE)
		abort();
	if (t > 0) {
		cp_plog_flush(pl);
		for (int i = 0; i < 1000 && cp_plog_durable(pl) < (uint64_t)t; i++)
			cp_loop_run_once(loop, 10000);
		if (cp_plog_durable(pl) < (uint64_t)t)
			abort();
	}
	cp_plog_close(pl);
	/* A second load finds exactly that, with nothing torn. */
	if (cp_plog_open(loop, dir, &cfg, &pl, err) != 0)
		abort();
	struct cp_plog_stats st;
	cp_plog_stats(pl, &st);
	if (st.torn_truncated != 0)
		abort();
	if (t > 0) {
		uint64_t first;
		if (cp_plog_read(pl, 1, next, buf, sizeof(buf), &first) != (int)sizeof(frame) ||
		    first != next || memcmp(buf, frame, sizeof(frame)) != 0)
			abort();
	}
	cp_plog_close(pl);
	clear_dir();
	return 0;
}
