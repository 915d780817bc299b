/* Tests of the origin seq reservation file (dp_seqstate): fresh start, reopen resumes above
 * the old reservation, one write per block, corrupt / foreign / truncated files refused, the
 * ahead thread's reservations. */
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

#include "dp_seqstate.h"
#include "rumor_be.h"
#include "rumor_crc32c.h"

static char dir[64];
static char file[128];

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/dp_seqstate.XXXXXX");
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(file, sizeof(file), "%s/%s", dir, DP_SEQSTATE_FILE);
	return 0;
}

static int teardown(void **state)
{
	char tmp[160];

	(void)state;
	snprintf(tmp, sizeof(tmp), "%s.tmp", file);
	unlink(tmp);
	unlink(file);
	rmdir(dir);
	return 0;
}

/* The reservation on disk, read as a reopen would (the state is reopened at once). */
static uint64_t on_disk(uint16_t node)
{
	struct dp_seqstate r;
	uint64_t start = 0;

	assert_int_equal(dp_seqstate_open(&r, dir, node, 1, &start, NULL, 0), 0);
	dp_seqstate_close(&r);
	return start;
}

/* With the ahead thread the stamping side never persists while it stays behind the thread:
 * past half of the reservation the next block is made in the background; stamps that outrun
 * it persist inline as before (counted in waits); checkpoint stops the thread and lowers. */
static void test_ahead(void **state)
{
	struct dp_seqstate s;
	uint64_t start = 0;

	(void)state;
	assert_int_equal(dp_seqstate_open(&s, dir, 4, 100, &start, NULL, 0), 0);
	assert_int_equal(dp_seqstate_start_ahead(&s), 0);
	assert_int_equal(dp_seqstate_reserve(&s, 40), 0); /* first half: nothing asked */
	assert_int_equal(s.asked, 100);
	for (uint64_t upto = 51; upto <= 400; upto++) { /* one seq at a time, like stamps */
		for (int t = 0; t < 2000 && upto > __atomic_load_n(&s.reserved, __ATOMIC_ACQUIRE) - 1;
		     t++)
			usleep(1000); /* the thread keeps ahead of a stamp rate it can follow */
		assert_int_equal(dp_seqstate_reserve(&s, upto), 0);
		assert_true(upto <= __atomic_load_n(&s.reserved, __ATOMIC_ACQUIRE));
	}
	assert_int_equal(s.waits, 0);
	for (int t = 0; t < 2000 && __atomic_load_n(&s.reserved, __ATOMIC_ACQUIRE) < 500; t++)
		usleep(1000);
	assert_int_equal(__atomic_load_n(&s.reserved, __ATOMIC_ACQUIRE), 500);
	/* outrunning it: inline, after its persist in flight */
	assert_int_equal(dp_seqstate_reserve(&s, 2050), 0);
	assert_int_equal(s.waits, 1);
	assert_int_equal(s.reserved, 2100);
	assert_int_equal(dp_seqstate_checkpoint(&s, 2050), 0);
	assert_false(s.ahead);
	dp_seqstate_close(&s);
	assert_int_equal(on_disk(4), 2050);
}

static void test_resume(void **state)
{
	struct dp_seqstate s;
	uint64_t start = 99;
	char err[200];

	(void)state;
	assert_int_equal(dp_seqstate_open(&s, dir, 3, 100, &start, err, sizeof(err)), 0);
	assert_int_equal(start, 0);
	assert_int_equal(s.reserved, 100);
	assert_int_equal(s.persists, 1);
	/* inside the block: no I/O */
	assert_int_equal(dp_seqstate_reserve(&s, 100), 0);
	assert_int_equal(s.persists, 1);
	/* crossing: next multiple of the block above */
	assert_int_equal(dp_seqstate_reserve(&s, 101), 0);
	assert_int_equal(s.reserved, 200);
	assert_int_equal(dp_seqstate_reserve(&s, 450), 0);
	assert_int_equal(s.reserved, 500);
	assert_int_equal(s.persists, 3);
	dp_seqstate_close(&s);
	/* restart: resumes above everything ever reserved */
	assert_int_equal(dp_seqstate_open(&s, dir, 3, 100, &start, err, sizeof(err)), 0);
	assert_int_equal(start, 500);
	assert_int_equal(s.reserved, 600);
	dp_seqstate_close(&s);
	assert_int_equal(dp_seqstate_open(&s, dir, 3, 0, &start, err, sizeof(err)), 0);
	assert_int_equal(start, 600);
	assert_int_equal(s.reserved, 600 + DP_SEQSTATE_BLOCK);
	/* clean stop after stamping 601..610: the next run resumes at 611 */
	assert_int_equal(dp_seqstate_checkpoint(&s, 610), 0);
	dp_seqstate_close(&s);
	assert_int_equal(dp_seqstate_open(&s, dir, 3, 100, &start, err, sizeof(err)), 0);
	assert_int_equal(start, 610);
	dp_seqstate_close(&s);
}

static void write_file(const void *p, size_t len)
{
	FILE *f = fopen(file, "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(p, 1, len, f), len);
	fclose(f);
}

static void test_refuse(void **state)
{
	struct dp_seqstate s;
	uint8_t rec[32];
	uint64_t start;
	char err[200];
	FILE *f;

	(void)state;
	assert_int_equal(dp_seqstate_open(&s, dir, 4, 10, &start, err, sizeof(err)), 0);
	dp_seqstate_close(&s);
	f = fopen(file, "rb");
	assert_non_null(f);
	assert_int_equal(fread(rec, 1, sizeof(rec), f), sizeof(rec));
	fclose(f);
	/* another node's file */
	err[0] = '\0';
	assert_int_equal(dp_seqstate_open(&s, dir, 5, 10, &start, err, sizeof(err)), -EBADMSG);
	assert_non_null(strstr(err, "node 4"));
	assert_int_equal(s.dirfd, -1);
	/* one flipped bit in the reservation */
	rec[17] ^= 0x10;
	write_file(rec, sizeof(rec));
	err[0] = '\0';
	assert_int_equal(dp_seqstate_open(&s, dir, 4, 10, &start, err, sizeof(err)), -EBADMSG);
	assert_non_null(strstr(err, "corrupt"));
	rec[17] ^= 0x10;
	/* truncated */
	write_file(rec, 20);
	assert_int_equal(dp_seqstate_open(&s, dir, 4, 10, &start, err, sizeof(err)), -EBADMSG);
	/* intact again: accepted */
	write_file(rec, sizeof(rec));
	assert_int_equal(dp_seqstate_open(&s, dir, 4, 10, &start, err, sizeof(err)), 0);
	assert_int_equal(start, 10);
	dp_seqstate_close(&s);
	/* missing directory */
	assert_true(dp_seqstate_open(&s, "/nonexistent/rumor", 4, 10, &start, err,
				     sizeof(err)) < 0);
}

static uint32_t crc32_ieee(const uint8_t *p, size_t len)
{
	uint32_t c = 0xFFFFFFFFu;

	for (size_t i = 0; i < len; i++) {
		c ^= p[i];
		for (int k = 0; k < 8; k++)
			c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1u)));
	}
	return ~c;
}

/* A version 1 file (CRC-32, before the one CRC32C) written by the previous release: read, so
 * the upgraded node resumes above its reservation, and rewritten as version 2 (CRC32C). */
static void test_version1_upgrade(void **state)
{
	struct dp_seqstate s;
	uint8_t rec[32] = { 'R', 'U', 'M', 'O', 'R', 'S', 'E', 'Q', 1, 0, 0, 0, 4, 0 };
	uint64_t start = 0;
	char err[200];
	FILE *f;

	(void)state;
	rumor_le_st64(rec + 16, 500);
	uint32_t c = crc32_ieee(rec, 24);
	rumor_le_st32(rec + 24, c);
	write_file(rec, sizeof(rec));
	assert_int_equal(dp_seqstate_open(&s, dir, 4, 10, &start, err, sizeof(err)), 0);
	assert_int_equal(start, 500); /* the first seq stamped is 501 */
	dp_seqstate_close(&s);
	f = fopen(file, "rb");
	assert_non_null(f);
	assert_int_equal(fread(rec, 1, sizeof(rec), f), sizeof(rec));
	fclose(f);
	assert_int_equal(rec[8], 2);
	c = rumor_crc32c(0, rec, 24);
	assert_int_equal(rumor_le_ld32(rec + 24), c);
	/* a version 1 file whose CRC-32 is wrong is still corrupt */
	rec[8] = 1;
	write_file(rec, sizeof(rec));
	assert_int_equal(dp_seqstate_open(&s, dir, 4, 10, &start, err, sizeof(err)), -EBADMSG);
}

static void test_none(void **state)
{
	struct dp_seqstate s;

	(void)state;
	dp_seqstate_none(&s);
	assert_int_equal(dp_seqstate_reserve(&s, UINT64_MAX), 0);
	dp_seqstate_close(&s);
	dp_seqstate_close(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_resume, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ahead, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refuse, setup, teardown),
		cmocka_unit_test_setup_teardown(test_version1_upgrade, setup, teardown),
		cmocka_unit_test(test_none),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
