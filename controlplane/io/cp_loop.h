/* cp_loop: the controlplane's single io_uring event loop (no threads). Every operation
 * is a caller-owned request struct with a callback, as in libraft's raft_io. */
#ifndef CP_LOOP_H
#define CP_LOOP_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <linux/time_types.h>

struct cp_loop;
struct cp_loop_req;

/* Completion callback: res is the kernel's result (>= 0 or -errno), as io_uring gives it. */
typedef void (*cp_loop_cb)(struct cp_loop_req *req, int res);

/* One in-flight operation. The caller owns the memory and must keep it (and any buffer
 * passed with it) alive until the callback ran. A request carries one operation at a
 * time. `data` is free for the caller. */
struct cp_loop_req {
    void *data;
    cp_loop_cb cb;
    struct cp_loop_req *next; /* private: deferred list */
    struct __kernel_timespec ts; /* private */
    struct msghdr msg; /* private */
    int64_t priv, priv2; /* private */
};

/* Timer on io_uring timeouts. Caller-owned; zero it before first use. */
struct cp_loop_timer;
typedef void (*cp_loop_timer_cb)(struct cp_loop_timer *t);
struct cp_loop_timer {
    void *data;
    cp_loop_timer_cb cb;
    /* private */
    struct cp_loop *loop;
    uint64_t deadline_us, period_us;
    bool active, inflight;
    struct __kernel_timespec ts;
};

/* Owner work run once per loop iteration (after completions). */
typedef void (*cp_loop_hook_fn)(void *arg);
/* Poll something without an fd (e.g. a DPDK ring). Returns how much work it did; 0 means
 * idle, which lets the loop sleep longer before the next call. */
typedef unsigned (*cp_loop_poll_fn)(void *arg);

/* Create a loop with an io_uring of `entries` SQEs (0 picks 256).
 * Errors: -ENOMEM, or the -errno of io_uring_queue_init (e.g. -ENOSYS without io_uring). */
int cp_loop_create(unsigned entries, struct cp_loop **out);
/* Destroy. Only when nothing is in flight any more (the owner closed its users). */
void cp_loop_destroy(struct cp_loop *loop);

/* Run until cp_loop_stop() is called. Returns 0, or -errno if io_uring waiting failed. */
int cp_loop_run(struct cp_loop *loop);
/* Run one iteration, waiting at most timeout_us for a completion (0: do not wait). */
int cp_loop_run_once(struct cp_loop *loop, uint64_t timeout_us);
/* Make cp_loop_run return after the current iteration. Safe from callbacks. */
void cp_loop_stop(struct cp_loop *loop);
/* Number of submitted operations whose completion has not been handled yet. */
unsigned cp_loop_inflight(const struct cp_loop *loop);

/* CLOCK_MONOTONIC. Only the loop and timers use these; logic above takes time through
 * raft_io->time so tests can drive it. */
uint64_t cp_loop_now_us(void);
uint64_t cp_loop_now_ms(void);

/* Per-iteration hook (NULL to remove). */
void cp_loop_set_hook(struct cp_loop *loop, cp_loop_hook_fn fn, void *arg);
/* Adaptive polling of fd-less work: fn runs at least every `interval`, which drops to
 * min_us when fn reports work and doubles up to max_us while it reports none.
 * fn NULL removes it. Errors: -EINVAL if min_us == 0 or min_us > max_us. */
int cp_loop_set_idle_poll(struct cp_loop *loop, cp_loop_poll_fn fn, void *arg,
                          uint64_t min_us, uint64_t max_us);
/* An fd (an eventfd) that becomes readable when the idle poll has work: each read that
 * completes runs the poll in that iteration and resets its interval, so the backoff is
 * only a safety net. -1 removes it (cancels the read). Returns 0 or -EBUSY. */
int cp_loop_set_idle_wake_fd(struct cp_loop *loop, int fd);
/* Called by the idle poll: its source has nothing left and will write the wake fd
 * (cp_loop_set_idle_wake_fd) when it has, so the next poll waits the longest interval. */
void cp_loop_idle_covered(struct cp_loop *loop);
/* Current idle-poll interval (for tests and stats). */
uint64_t cp_loop_idle_interval_us(const struct cp_loop *loop);

/* Run cb(req, res) from the loop at the next iteration (never synchronously): how
 * callbacks of synchronous work are delivered. Never fails. */
void cp_loop_defer(struct cp_loop *loop, struct cp_loop_req *req, int res, cp_loop_cb cb);

/* Operations. All return 0 when queued (the callback then runs exactly once), or a
 * negative errno and no callback. They can fail only with -EBUSY if the submission queue
 * is full even after flushing it. */
int cp_loop_read(struct cp_loop *loop, struct cp_loop_req *req, int fd, void *buf,
                 unsigned len, uint64_t off, cp_loop_cb cb);
int cp_loop_write(struct cp_loop *loop, struct cp_loop_req *req, int fd, const void *buf,
                  unsigned len, uint64_t off, cp_loop_cb cb);
/* iov must stay valid until the callback. */
int cp_loop_writev(struct cp_loop *loop, struct cp_loop_req *req, int fd,
                   const struct iovec *iov, unsigned n, uint64_t off, cp_loop_cb cb);
/* writev at off followed by fdatasync, linked: cb sees the fsync's result (or the write's
 * error, or -EIO for a short write). rwf_dsync uses one RWF_DSYNC write instead. */
int cp_loop_writev_sync(struct cp_loop *loop, struct cp_loop_req *req, int fd,
                        const struct iovec *iov, unsigned n, uint64_t off, bool rwf_dsync,
                        cp_loop_cb cb);
int cp_loop_fsync(struct cp_loop *loop, struct cp_loop_req *req, int fd, bool datasync,
                  cp_loop_cb cb);
int cp_loop_openat(struct cp_loop *loop, struct cp_loop_req *req, int dfd, const char *path,
                   int flags, unsigned mode, cp_loop_cb cb);
/* Path operations relative to directory fds. The kernel reads the path strings when the
 * ring is submitted (the next cp_loop_run_once), so keep them valid until the callback. */
int cp_loop_renameat(struct cp_loop *loop, struct cp_loop_req *req, int olddfd,
                     const char *oldpath, int newdfd, const char *newpath, cp_loop_cb cb);
int cp_loop_unlinkat(struct cp_loop *loop, struct cp_loop_req *req, int dfd, const char *path,
                     int flags, cp_loop_cb cb);
int cp_loop_poll(struct cp_loop *loop, struct cp_loop_req *req, int fd, unsigned events,
                 cp_loop_cb cb);
int cp_loop_accept(struct cp_loop *loop, struct cp_loop_req *req, int fd, cp_loop_cb cb);
/* addr must stay valid until cb. */
int cp_loop_connect(struct cp_loop *loop, struct cp_loop_req *req, int fd,
                    const struct sockaddr *addr, socklen_t len, cp_loop_cb cb);
int cp_loop_recv(struct cp_loop *loop, struct cp_loop_req *req, int fd, void *buf,
                 unsigned len, cp_loop_cb cb);
int cp_loop_send(struct cp_loop *loop, struct cp_loop_req *req, int fd, const void *buf,
                 unsigned len, cp_loop_cb cb);
/* sendmsg of an iovec array (MSG_NOSIGNAL); iov must stay valid until cb. */
int cp_loop_sendv(struct cp_loop *loop, struct cp_loop_req *req, int fd,
                  const struct iovec *iov, unsigned n, cp_loop_cb cb);
/* Ask the kernel to cancel the operation carried by req; its callback still runs
 * (usually with -ECANCELED). Returns 0 or -EBUSY. */
int cp_loop_cancel(struct cp_loop *loop, struct cp_loop_req *req);

/* Timers. start arms (or re-arms) t to fire after ms milliseconds, then every period_ms
 * if period_ms > 0. stop disarms; the callback will not run after stop returns. The
 * struct may be reused or freed once cp_loop_timer_idle() is true (stop + one iteration).
 * Errors: -EBUSY (submission queue full). */
int cp_loop_timer_start(struct cp_loop *loop, struct cp_loop_timer *t, uint64_t ms,
                        uint64_t period_ms, cp_loop_timer_cb cb);
void cp_loop_timer_stop(struct cp_loop_timer *t);
bool cp_loop_timer_idle(const struct cp_loop_timer *t);

#endif
