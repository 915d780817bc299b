/* cp_olog: ordered.log, the operator's export of the applied order (one JSON line per global
 * sequence, format in controlplane/README.md). Written through a bounded buffer, synced before
 * every snapshot is taken so that a crash never leaves a hole the Raft log cannot refill, and
 * never read back for recovery (the payload log, cp_plog, owns that). A jump of the applied
 * order (a snapshot installed from the leader) is written as one marker line. */
#ifndef CP_OLOG_H
#define CP_OLOG_H

#include <stddef.h>
#include <stdint.h>

struct cp_olog {
	int fd;
	uint64_t last_gseq;          /* highest gseq in the file (markers included) */
	char *buf;                   /* lines not yet written */
	size_t len, cap;
	uint64_t end;                /* file size: what is written */
	uint64_t wb_from;            /* written from here on, and no write-out started for it
					(a page boundary once one was started) */
	uint64_t lines, markers, write_errors, torn_bytes;
	uint64_t writebacks;         /* write-outs started (CP_OLOG_WRITEBACK) */
};

/* Written bytes past which the page cache's write-out of them is started (not waited for):
 * the fdatasync before a snapshot then finds little left to write. Without it that sync
 * wrote everything since the last snapshot and held the event loop for tens of ms. */
#define CP_OLOG_WRITEBACK (1u << 20)

/* Open (create) @path for appending. A last line without its newline (a torn write) is cut
 * off and the cut is reported in @errmsg (256 bytes, "" when nothing was cut). last_gseq is
 * taken from the last complete line. @buf_max bounds the buffer (0: 256 KiB).
 * Returns 0 or -errno (-ENOMEM). */
int cp_olog_open(struct cp_olog *l, const char *path, size_t buf_max, char *errmsg);

/* Append the line of @gseq (@line without its newline). Lines at or below last_gseq are
 * ignored (a restart's replay). When @gseq is not last_gseq + 1 the missing range is first
 * written as a marker line {"gseq":G-1,"gap_from":F,"note":...}. Writes the buffer when it
 * is full. Returns 1 when appended, 0 when ignored, or -errno of a failed write (the line
 * stays buffered and is written by the next call). */
int cp_olog_append(struct cp_olog *l, uint64_t gseq, const char *line, size_t len);

/* The marker for gseqs last_gseq + 1..@through (a snapshot installed them), if @through is
 * past last_gseq: the file then ends where the state machine is, before any event follows.
 * Returns 1 when written, 0 when nothing was missing, or -errno as cp_olog_append. */
int cp_olog_mark(struct cp_olog *l, uint64_t through);

/* Write what is buffered (write(2) to the page cache); past CP_OLOG_WRITEBACK bytes since
 * the last one, start their write-out (sync_file_range, no wait). Returns 0 or -errno. */
int cp_olog_flush(struct cp_olog *l);

/* cp_olog_flush + fdatasync. Returns 0 or -errno. */
int cp_olog_sync(struct cp_olog *l);

/* Sync and close. */
void cp_olog_close(struct cp_olog *l);

#endif
