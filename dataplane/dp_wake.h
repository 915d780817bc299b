/* dp_wake: how rumor-dp and rumor-cp wake each other on an idle node, so that neither polls
 * a ring on a timer while the other has put work in it (shared by rumor_dp.c, dp_client.c). */
#ifndef DP_WAKE_H
#define DP_WAKE_H

#include <stdatomic.h>
#include <stdint.h>

#define DP_WAKE_MZ "rumor_wake"

/* In a memzone rumor-dp reserves. A side about to sleep sets its flag, then looks at its
 * ring once more; the other side, after an enqueue, reads the flag (both with a full fence
 * in between, so one of them sees the other) and, if set, clears it and writes the
 * sleeper's eventfd: one syscall per wake-up, none while both are busy. */
struct dp_wake {
	_Atomic uint32_t dp_sleeping; /* rumor-dp waits in ppoll: write dp_efd after enqueuing */
	_Atomic uint32_t cp_sleeping; /* rumor-cp may wait in io_uring: write cp_efd */
	int32_t pid;                  /* rumor-dp's: the fds below are in its table */
	int32_t dp_efd, cp_efd;       /* eventfds (rumor-cp takes copies with pidfd_getfd) */
};

#endif
