/* cp_olog: lines survive a reopen, a torn last line is cut and reported, a restart's replay is
 * not written twice, a jump is one marker line, a failed write loses no line, write-out is
 * started every CP_OLOG_WRITEBACK bytes. */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "cp_olog.h"

static char path[64];

static int setup(void **state)
{
	(void)state;
	snprintf(path, sizeof(path), "/tmp/test_olog.%d", (int)getpid());
	unlink(path);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	unlink(path);
	return 0;
}

static size_t slurp(char *out, size_t cap)
{
	int fd = open(path, O_RDONLY);
	ssize_t n = read(fd, out, cap - 1);
	close(fd);
	assert_true(n >= 0);
	out[n] = 0;
	return (size_t)n;
}

static void add(struct cp_olog *l, uint64_t g, int expect)
{
	char line[64];
	int n = snprintf(line, sizeof(line), "{\"gseq\":%llu,\"origin\":1}", (unsigned long long)g);
	assert_int_equal(cp_olog_append(l, g, line, (size_t)n), expect);
}

static void reopen_continues(void **state)
{
	struct cp_olog l;
	char msg[256], text[1024];

	(void)state;
	assert_int_equal(cp_olog_open(&l, path, 64, msg), 0);
	assert_int_equal(l.last_gseq, 0);
	for (uint64_t g = 1; g <= 5; g++)
		add(&l, g, 1);
	cp_olog_close(&l);
	assert_int_equal(cp_olog_open(&l, path, 64, msg), 0);
	assert_string_equal(msg, "");
	assert_int_equal(l.last_gseq, 5);
	add(&l, 4, 0); /* replayed after a restart: not written twice */
	add(&l, 6, 1);
	cp_olog_close(&l);
	slurp(text, sizeof(text));
	const char *p = text;
	for (int g = 1; g <= 6; g++) {
		char want[64];
		snprintf(want, sizeof(want), "{\"gseq\":%d,\"origin\":1}\n", g);
		assert_memory_equal(p, want, strlen(want));
		p += strlen(want);
	}
	assert_int_equal(*p, 0);
}

static void torn_line_cut(void **state)
{
	struct cp_olog l;
	char msg[256], text[1024];

	(void)state;
	assert_int_equal(cp_olog_open(&l, path, 0, msg), 0);
	add(&l, 1, 1);
	add(&l, 2, 1);
	cp_olog_close(&l);
	int fd = open(path, O_WRONLY | O_APPEND);
	assert_int_equal(write(fd, "{\"gseq\":3,\"ori", 14), 14);
	close(fd);
	assert_int_equal(cp_olog_open(&l, path, 0, msg), 0);
	assert_non_null(strstr(msg, "torn last line of 14 bytes"));
	assert_int_equal(l.last_gseq, 2);
	add(&l, 3, 1);
	cp_olog_close(&l);
	slurp(text, sizeof(text));
	assert_string_equal(text, "{\"gseq\":1,\"origin\":1}\n{\"gseq\":2,\"origin\":1}\n"
				  "{\"gseq\":3,\"origin\":1}\n");
}

static void jump_is_marked(void **state)
{
	struct cp_olog l;
	char msg[256], text[1024];

	(void)state;
	assert_int_equal(cp_olog_open(&l, path, 0, msg), 0);
	add(&l, 1, 1);
	add(&l, 10, 1); /* 2..9 came inside a snapshot */
	cp_olog_close(&l);
	slurp(text, sizeof(text));
	assert_non_null(strstr(text, "\n{\"gseq\":9,\"gap_from\":2,"));
	assert_non_null(strstr(text, "}\n{\"gseq\":10,\"origin\":1}\n"));
	assert_int_equal(cp_olog_open(&l, path, 0, msg), 0);
	assert_int_equal(l.last_gseq, 10);
	assert_int_equal(l.markers, 0);
	cp_olog_close(&l);
}

/* A snapshot installed with no event after it: the file ends at its gseq at once (a node
 * joining an idle cluster; cp_node's restore hook). */
static void mark_without_event(void **state)
{
	struct cp_olog l;
	char msg[256], text[1024];

	(void)state;
	assert_int_equal(cp_olog_open(&l, path, 0, msg), 0);
	assert_int_equal(cp_olog_mark(&l, 40), 1);
	assert_int_equal(cp_olog_mark(&l, 40), 0); /* nothing missing */
	assert_int_equal(cp_olog_mark(&l, 7), 0);
	add(&l, 41, 1);
	cp_olog_close(&l);
	slurp(text, sizeof(text));
	assert_true(strncmp(text, "{\"gseq\":40,\"gap_from\":1,", 24) == 0);
	assert_non_null(strstr(text, "}\n{\"gseq\":41,\"origin\":1}\n"));
	assert_int_equal(cp_olog_open(&l, path, 0, msg), 0);
	assert_int_equal(l.last_gseq, 41);
	cp_olog_close(&l);
}

static void failed_write_keeps_lines(void **state)
{
	struct cp_olog l;
	char msg[256], text[4096];

	(void)state;
	assert_int_equal(cp_olog_open(&l, path, 64, msg), 0);
	int good = l.fd;
	l.fd = open("/dev/full", O_WRONLY); /* every write: ENOSPC */
	assert_true(l.fd >= 0);
	for (uint64_t g = 1; g <= 20; g++)
		add(&l, g, 1);
	assert_true(l.write_errors > 0);
	assert_int_equal(cp_olog_flush(&l), -28 /* ENOSPC */);
	close(l.fd);
	l.fd = good; /* the disk has room again */
	cp_olog_close(&l);
	slurp(text, sizeof(text));
	const char *p = text;
	for (int g = 1; g <= 20; g++) {
		char want[64];
		snprintf(want, sizeof(want), "{\"gseq\":%d,\"origin\":1}\n", g);
		assert_memory_equal(p, want, strlen(want));
		p += strlen(want);
	}
}

/* The write-out starts once per CP_OLOG_WRITEBACK bytes written, from the file's end at open
 * (a reopened file's old bytes are not started again), and the lines are all there. */
static void writeback_every_mib(void **state)
{
	struct cp_olog l;
	char msg[256];
	struct stat st;
	uint64_t g = 0;

	(void)state;
	assert_int_equal(cp_olog_open(&l, path, 4096, msg), 0);
	assert_int_equal(l.end, 0);
	while (l.writebacks < 3) {
		add(&l, ++g, 1);
		/* not before a MiB more since the last one, nor much later */
		assert_true(l.end - l.wb_from < CP_OLOG_WRITEBACK);
		assert_true(l.end < (l.writebacks + 1) * ((uint64_t)CP_OLOG_WRITEBACK + 4096));
	}
	assert_true(l.end >= 3 * (uint64_t)CP_OLOG_WRITEBACK);
	/* whole pages: the partial last one is left for the next write-out */
	assert_int_equal(l.wb_from % 4096, 0);
	assert_true(l.wb_from <= l.end && l.end - l.wb_from < 4096);
	assert_int_equal(cp_olog_flush(&l), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal((uint64_t)st.st_size, l.end);
	cp_olog_close(&l);
	assert_int_equal(cp_olog_open(&l, path, 4096, msg), 0);
	assert_int_equal(l.last_gseq, g);
	assert_int_equal(l.end, (uint64_t)st.st_size);
	assert_int_equal(l.wb_from, l.end);
	add(&l, ++g, 1);
	assert_int_equal(cp_olog_flush(&l), 0);
	assert_int_equal(l.writebacks, 0); /* under a MiB since the reopen */
	cp_olog_close(&l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(reopen_continues, setup, teardown),
		cmocka_unit_test_setup_teardown(torn_line_cut, setup, teardown),
		cmocka_unit_test_setup_teardown(jump_is_marked, setup, teardown),
		cmocka_unit_test_setup_teardown(mark_without_event, setup, teardown),
		cmocka_unit_test_setup_teardown(failed_write_keeps_lines, setup, teardown),
		cmocka_unit_test_setup_teardown(writeback_every_mib, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
