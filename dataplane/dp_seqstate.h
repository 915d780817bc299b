/* Origin sequence reservation across restarts (a restarted origin must not stamp a seq twice): a small state file
 * holds a reserved high-water mark; seqs are stamped only at or below it, and it is moved up
 * one block at a time (one write + fsync per block, never per event). With
 * dp_seqstate_start_ahead, a thread of its own moves it up half a block before the stamps
 * reach it, so the lcore that stamps never waits for those fsyncs. No DPDK calls. */
#ifndef DP_SEQSTATE_H
#define DP_SEQSTATE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DP_SEQSTATE_FILE "origin-seq"
#define DP_SEQSTATE_BLOCK 4096u /* seqs per persisted reservation: a kill -9 skips at most this many */

struct dp_seqstate {
	int dirfd;          /* -1: nothing persisted (no state dir): everything is reserved */
	uint16_t node;
	uint64_t reserved;  /* seqs <= reserved may be stamped (written by the ahead thread:
			     * read it with __atomic_load_n) */
	uint64_t block;
	uint64_t persists;  /* successful writes since open (tests, stats) */
	uint64_t waits;     /* reserves that waited for a persist or did one inline */
	/* dp_seqstate_start_ahead: the thread, and what it is asked to persist */
	bool ahead;
	bool busy, stop;    /* under mu: a persist in progress; the thread must end */
	uint64_t want;      /* under mu: the reservation the thread should make */
	uint64_t asked;     /* the stamping side's last request */
	int ahead_err;      /* under mu: the thread's last failure (0: none) */
	pthread_t thr;
	pthread_mutex_t mu;
	pthread_cond_t cv;
};

/* No state dir: every seq is "reserved", nothing is ever written. */
void dp_seqstate_none(struct dp_seqstate *s);

/* Open DIR/origin-seq (DIR must exist) for @node. A missing file means a fresh node (old
 * reservation 0). Stores the old reservation in *@start (the first seq to stamp is
 * *start + 1) and persists *start + @block (0: DP_SEQSTATE_BLOCK) before returning, so no
 * seq above the old reservation is stamped before the new one is durable.
 * Returns 0 or: -EINVAL (bad args), -EBADMSG (file corrupt, wrong size, unknown version or
 * written by another node id: refuse to start), -EOVERFLOW (reservation would wrap),
 * other negative errno from open/read/write/fsync/rename. On error a reason is written to
 * @err (if not NULL) and nothing is left open. */
int dp_seqstate_open(struct dp_seqstate *s, const char *dir, uint16_t node, uint64_t block,
		     uint64_t *start, char *err, size_t errlen);

/* Make sure seqs up to @upto may be stamped. Fast (no I/O) while upto <= reserved; else
 * persists the smallest multiple of the block above @upto's block (tmp file, fsync, rename,
 * dir fsync): blocking I/O, rare (once per block; with the ahead thread only when the stamps
 * outrun it, after waiting for its persist in flight). With the thread, a @upto in the last
 * half of the reservation asks it for the next block. Returns 0, or a negative errno (the
 * old reservation stays; the caller must not stamp above it). */
int dp_seqstate_reserve(struct dp_seqstate *s, uint64_t upto);

/* Start the thread that persists reservations ahead (after dp_seqstate_open; nothing to do on
 * a none state). Before it, each block's fsyncs ran on the stamping lcore: one took 66 ms
 * under load (perf trace), the whole dataplane stalled meanwhile. Returns 0 or -errno of
 * pthread_create (the state goes on without it). */
int dp_seqstate_start_ahead(struct dp_seqstate *s);

/* Clean shutdown: nothing above @last will be stamped in this run, so lower the durable
 * reservation to @last (when below it) and the next run resumes at last + 1 without a gap.
 * Only call when no seq above @last was stamped (the ahead thread is stopped first).
 * Returns 0 or a negative errno (the old, higher reservation stays: still safe). */
int dp_seqstate_checkpoint(struct dp_seqstate *s, uint64_t last);

/* Close the directory handle (the file stays). Safe on a none/closed state. */
void dp_seqstate_close(struct dp_seqstate *s);

#endif
