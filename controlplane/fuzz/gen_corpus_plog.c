/* Writes the seed corpus of fuzz_cp_plog: small valid segment files made with cp_plog's own
 * record encoder. usage: cp_fuzz_gen_corpus_plog DIR (not built by default). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cp_plog.h"

static uint8_t out[4096];
static size_t n;

static void rec(uint16_t origin, uint64_t first, uint16_t count, const char *frame)
{
	struct cp_plog_rec r = { .origin = origin, .count = count, .len = (uint32_t)strlen(frame),
				 .first_seq = first, .frame = (const uint8_t *)frame };
	int k = cp_plog_rec_encode(&r, out + n, sizeof(out) - n);
	if (k < 0)
		abort();
	n += (size_t)k;
}

static void save(const char *d, const char *name)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", d, name);
	FILE *f = fopen(path, "wb");
	if (f == NULL || fwrite(out, 1, n, f) != n || fclose(f) != 0)
		abort();
	n = 0;
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: %s DIR\n", argv[0]);
		return 2;
	}
	/* One segment: two origins, out of order, a partial overlap. */
	rec(1, 1, 3, "frame one-three");
	rec(2, 5, 1, "origin two, seq five");
	rec(1, 3, 2, "overlaps seq 3");
	rec(1023, 1, 1, "x");
	save(argv[1], "one_segment");
	/* Two segments (split marker between them). */
	rec(1, 1, 2, "closed segment");
	rec(3, 10, 4, "more");
	memcpy(out + n, "PLOGSPLT", 8);
	n += 8;
	rec(1, 3, 1, "open segment");
	rec(3, 1, 9, "catch-up from below");
	save(argv[1], "two_segments");
	/* A torn tail: the last record's body cut short. */
	rec(4, 1, 1, "kept");
	rec(4, 2, 1, "torn by a crash mid-write");
	n -= 12;
	save(argv[1], "torn_tail");
	return 0;
}
