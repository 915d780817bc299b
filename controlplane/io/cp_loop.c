/* cp_loop: io_uring event loop. user_data carries the request pointer; its low bits
 * tag linked first halves and timers, so one ring serves every kind of operation. */
#include "cp_loop.h"

#include <errno.h>
#include <liburing.h>
#include <stdlib.h>
#include <time.h>

#define TAG_LINKED 1u
#define TAG_TIMER 2u
#define TAG_MASK 3u
#define UD_IGNORE ((uint64_t)0)

struct cp_loop {
    struct io_uring ring;
    unsigned inflight;
    bool stop;
    struct cp_loop_req *defer_head, *defer_tail;
    cp_loop_hook_fn hook;
    void *hook_arg;
    cp_loop_poll_fn poll;
    void *poll_arg;
    uint64_t poll_min, poll_max, poll_cur, poll_next;
    int wake_fd;               /* readable: run the idle poll now (-1: none) */
    bool wake_armed;
    bool poll_covered;         /* the poll's source will write wake_fd (cp_loop_idle_covered) */
    struct cp_loop_req wake_req;
    uint64_t wake_buf;
};

uint64_t cp_loop_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

uint64_t cp_loop_now_ms(void)
{
    return cp_loop_now_us() / 1000u;
}

int cp_loop_create(unsigned entries, struct cp_loop **out)
{
    struct cp_loop *l = calloc(1, sizeof(*l));
    if (l == NULL)
        return -ENOMEM;
    int rv = io_uring_queue_init(entries ? entries : 256, &l->ring, 0);
    if (rv < 0) {
        free(l);
        return rv;
    }
    l->wake_fd = -1;
    *out = l;
    return 0;
}

void cp_loop_destroy(struct cp_loop *loop)
{
    if (loop == NULL)
        return;
    io_uring_queue_exit(&loop->ring);
    free(loop);
}

void cp_loop_stop(struct cp_loop *loop)
{
    loop->stop = true;
}

unsigned cp_loop_inflight(const struct cp_loop *loop)
{
    return loop->inflight;
}

void cp_loop_set_hook(struct cp_loop *loop, cp_loop_hook_fn fn, void *arg)
{
    loop->hook = fn;
    loop->hook_arg = arg;
}

int cp_loop_set_idle_poll(struct cp_loop *loop, cp_loop_poll_fn fn, void *arg,
                          uint64_t min_us, uint64_t max_us)
{
    if (fn != NULL && (min_us == 0 || min_us > max_us))
        return -EINVAL;
    loop->poll = fn;
    loop->poll_arg = arg;
    loop->poll_min = min_us;
    loop->poll_max = max_us;
    loop->poll_cur = min_us;
    loop->poll_next = 0;
    return 0;
}

static void wake_arm(struct cp_loop *loop);

/* The idle poll's safety net while its source promised the wake fd (cp_loop_idle_covered).
 * Polling at the backoff's longest interval instead woke rumor-cp once more per millisecond
 * on an idle node: 3 idle nodes' processes took 140-160 ms of CPU per second with it, 110-120
 * without. */
#define CP_LOOP_COVERED_POLL_US 100000u

static void wake_cb(struct cp_loop_req *req, int res)
{
    struct cp_loop *loop = req->data;

    loop->wake_armed = false;
    if (res <= 0 || loop->wake_fd < 0) {
        loop->poll_next = 0; /* not after a covered poll's long wait */
        return; /* cancelled (fd removed) or broken: the idle poll's backoff remains */
    }
    loop->poll_cur = loop->poll_min;
    loop->poll_next = 0; /* this iteration, after the completions */
    wake_arm(loop);
}

static void wake_arm(struct cp_loop *loop)
{
    loop->wake_req.data = loop;
    if (cp_loop_read(loop, &loop->wake_req, loop->wake_fd, &loop->wake_buf,
                     sizeof(loop->wake_buf), 0, wake_cb) == 0)
        loop->wake_armed = true;
}

int cp_loop_set_idle_wake_fd(struct cp_loop *loop, int fd)
{
    if (loop->wake_armed && fd != loop->wake_fd)
        cp_loop_cancel(loop, &loop->wake_req);
    if (loop->wake_armed && fd >= 0 && fd != loop->wake_fd)
        return -EBUSY; /* the old read is still being cancelled */
    loop->wake_fd = fd;
    if (fd >= 0 && !loop->wake_armed)
        wake_arm(loop);
    return fd >= 0 && !loop->wake_armed ? -EBUSY : 0;
}

void cp_loop_idle_covered(struct cp_loop *loop)
{
    loop->poll_covered = true;
}

uint64_t cp_loop_idle_interval_us(const struct cp_loop *loop)
{
    return loop->poll_cur;
}

void cp_loop_defer(struct cp_loop *loop, struct cp_loop_req *req, int res, cp_loop_cb cb)
{
    req->cb = cb;
    req->priv = res;
    req->next = NULL;
    if (loop->defer_tail)
        loop->defer_tail->next = req;
    else
        loop->defer_head = req;
    loop->defer_tail = req;
}

static struct io_uring_sqe *get_sqe(struct cp_loop *loop)
{
    struct io_uring_sqe *sqe = io_uring_get_sqe(&loop->ring);
    if (sqe == NULL) {
        io_uring_submit(&loop->ring);
        sqe = io_uring_get_sqe(&loop->ring);
    }
    return sqe;
}

static int prep(struct cp_loop *loop, struct cp_loop_req *req, cp_loop_cb cb,
                struct io_uring_sqe **sqe)
{
    *sqe = get_sqe(loop);
    if (*sqe == NULL)
        return -EBUSY;
    req->cb = cb;
    req->priv2 = 0;
    io_uring_sqe_set_data64(*sqe, (uint64_t)(uintptr_t)req);
    loop->inflight++;
    return 0;
}

int cp_loop_read(struct cp_loop *loop, struct cp_loop_req *req, int fd, void *buf,
                 unsigned len, uint64_t off, cp_loop_cb cb)
{
    struct io_uring_sqe *sqe;
    int rv = prep(loop, req, cb, &sqe);
    if (rv == 0)
        io_uring_prep_read(sqe, fd, buf, len, off);
    return rv;
}

int cp_loop_write(struct cp_loop *loop, struct cp_loop_req *req, int fd, const void *buf,
                  unsigned len, uint64_t off, cp_loop_cb cb)
{
    struct io_uring_sqe *sqe;
    int rv = prep(loop, req, cb, &sqe);
    if (rv == 0)
        io_uring_prep_write(sqe, fd, buf, len, off);
    return rv;
}

int cp_loop_writev(struct cp_loop *loop, struct cp_loop_req *req, int fd,
                   const struct iovec *iov, unsigned n, uint64_t off, cp_loop_cb cb)
{
    struct io_uring_sqe *sqe;
    int rv = prep(loop, req, cb, &sqe);
    if (rv == 0)
        io_uring_prep_writev(sqe, fd, iov, n, off);
    return rv;
}

int cp_loop_writev_sync(struct cp_loop *loop, struct cp_loop_req *req, int fd,
                        const struct iovec *iov, unsigned n, uint64_t off, bool rwf_dsync,
                        cp_loop_cb cb)
{
    int64_t total = 0;
    for (unsigned i = 0; i < n; i++)
        total += (int64_t)iov[i].iov_len;
    if (rwf_dsync) {
        struct io_uring_sqe *sqe;
        int rv = prep(loop, req, cb, &sqe);
        if (rv == 0) {
            io_uring_prep_writev2(sqe, fd, iov, n, off, RWF_DSYNC);
            io_uring_sqe_set_data64(sqe, (uint64_t)(uintptr_t)req | TAG_LINKED);
            req->priv = total;
            req->priv2 = 1; /* single-part: report from the write itself */
        }
        return rv;
    }
    if (io_uring_sq_space_left(&loop->ring) < 2)
        io_uring_submit(&loop->ring);
    if (io_uring_sq_space_left(&loop->ring) < 2)
        return -EBUSY;
    struct io_uring_sqe *w = io_uring_get_sqe(&loop->ring);
    struct io_uring_sqe *f = io_uring_get_sqe(&loop->ring);
    io_uring_prep_writev(w, fd, iov, n, off);
    w->flags |= IOSQE_IO_LINK;
    io_uring_sqe_set_data64(w, (uint64_t)(uintptr_t)req | TAG_LINKED);
    io_uring_prep_fsync(f, fd, IORING_FSYNC_DATASYNC);
    io_uring_sqe_set_data64(f, (uint64_t)(uintptr_t)req);
    req->cb = cb;
    req->priv = total;
    req->priv2 = 2;
    loop->inflight += 2;
    return 0;
}

int cp_loop_fsync(struct cp_loop *loop, struct cp_loop_req *req, int fd, bool datasync,
                  cp_loop_cb cb)
{
    struct io_uring_sqe *sqe;
    int rv = prep(loop, req, cb, &sqe);
    if (rv == 0)
        io_uring_prep_fsync(sqe, fd, datasync ? IORING_FSYNC_DATASYNC : 0);
    return rv;
}

int cp_loop_openat(struct cp_loop *loop, struct cp_loop_req *req, int dfd, const char *path,
                   int flags, unsigned mode, cp_loop_cb cb)
{
    struct io_uring_sqe *sqe;
    int rv = prep(loop, req, cb, &sqe);
    if (rv == 0)
        io_uring_prep_openat(sqe, dfd, path, flags, mode);
    return rv;
}

int cp_loop_renameat(struct cp_loop *loop, struct cp_loop_req *req, int olddfd,
                     const char *oldpath, int newdfd, const char *newpath, cp_loop_cb cb)
{
    struct io_uring_sqe *sqe;
    int rv = prep(loop, req, cb, &sqe);
    if (rv == 0)
        io_uring_prep_renameat(sqe, olddfd, oldpath, newdfd, newpath, 0);
    return rv;
}

int cp_loop_unlinkat(struct cp_loop *loop, struct cp_loop_req *req, int dfd, const char *path,
                     int flags, cp_loop_cb cb)
{
    struct io_uring_sqe *sqe;
    int rv = prep(loop, req, cb, &sqe);
    if (rv == 0)
        io_uring_prep_unlinkat(sqe, dfd, path, flags);
    return rv;
}

int cp_loop_poll(struct cp_loop *loop, struct cp_loop_req *req, int fd, unsigned events,
                 cp_loop_cb cb)
{
    struct io_uring_sqe *sqe;
    int rv = prep(loop, req, cb, &sqe);
    if (rv == 0)
        io_uring_prep_poll_add(sqe, fd, events);
    return rv;
}

int cp_loop_accept(struct cp_loop *loop, struct cp_loop_req *req, int fd, cp_loop_cb cb)
{
    struct io_uring_sqe *sqe;
    int rv = prep(loop, req, cb, &sqe);
    if (rv == 0)
        io_uring_prep_accept(sqe, fd, NULL, NULL, SOCK_CLOEXEC);
    return rv;
}

int cp_loop_connect(struct cp_loop *loop, struct cp_loop_req *req, int fd,
                    const struct sockaddr *addr, socklen_t len, cp_loop_cb cb)
{
    struct io_uring_sqe *sqe;
    int rv = prep(loop, req, cb, &sqe);
    if (rv == 0)
        io_uring_prep_connect(sqe, fd, addr, len);
    return rv;
}

int cp_loop_recv(struct cp_loop *loop, struct cp_loop_req *req, int fd, void *buf,
                 unsigned len, cp_loop_cb cb)
{
    struct io_uring_sqe *sqe;
    int rv = prep(loop, req, cb, &sqe);
    if (rv == 0)
        io_uring_prep_recv(sqe, fd, buf, len, 0);
    return rv;
}

int cp_loop_send(struct cp_loop *loop, struct cp_loop_req *req, int fd, const void *buf,
                 unsigned len, cp_loop_cb cb)
{
    struct io_uring_sqe *sqe;
    int rv = prep(loop, req, cb, &sqe);
    if (rv == 0)
        io_uring_prep_send(sqe, fd, buf, len, MSG_NOSIGNAL);
    return rv;
}

int cp_loop_sendv(struct cp_loop *loop, struct cp_loop_req *req, int fd,
                  const struct iovec *iov, unsigned n, cp_loop_cb cb)
{
    struct io_uring_sqe *sqe;
    int rv = prep(loop, req, cb, &sqe);
    if (rv == 0) {
        req->msg = (struct msghdr){ .msg_iov = (struct iovec *)iov, .msg_iovlen = n };
        io_uring_prep_sendmsg(sqe, fd, &req->msg, MSG_NOSIGNAL);
    }
    return rv;
}

int cp_loop_cancel(struct cp_loop *loop, struct cp_loop_req *req)
{
    struct io_uring_sqe *sqe = get_sqe(loop);
    if (sqe == NULL)
        return -EBUSY;
    io_uring_prep_cancel64(sqe, (uint64_t)(uintptr_t)req, 0);
    io_uring_sqe_set_data64(sqe, UD_IGNORE);
    loop->inflight++;
    return 0;
}

static void ts_from_us(struct __kernel_timespec *ts, uint64_t us)
{
    ts->tv_sec = (long long)(us / 1000000u);
    ts->tv_nsec = (long long)(us % 1000000u) * 1000;
}

static int timer_arm(struct cp_loop *loop, struct cp_loop_timer *t)
{
    uint64_t now = cp_loop_now_us();
    ts_from_us(&t->ts, t->deadline_us > now ? t->deadline_us - now : 0);
    struct io_uring_sqe *sqe = get_sqe(loop);
    if (sqe == NULL)
        return -EBUSY;
    io_uring_prep_timeout(sqe, &t->ts, 0, 0);
    io_uring_sqe_set_data64(sqe, (uint64_t)(uintptr_t)t | TAG_TIMER);
    t->inflight = true;
    loop->inflight++;
    return 0;
}

int cp_loop_timer_start(struct cp_loop *loop, struct cp_loop_timer *t, uint64_t ms,
                        uint64_t period_ms, cp_loop_timer_cb cb)
{
    uint64_t old = t->deadline_us;
    bool was_active = t->active;
    t->loop = loop;
    t->cb = cb;
    t->deadline_us = cp_loop_now_us() + ms * 1000u;
    t->period_us = period_ms * 1000u;
    t->active = true;
    if (!t->inflight)
        return timer_arm(loop, t);
    /* A pending kernel timeout re-arms itself on expiry when the deadline moved later;
     * only an earlier deadline (or a stop in progress) needs a kernel update. */
    if (was_active && t->deadline_us >= old)
        return 0;
    if (!was_active)
        return 0; /* the -ECANCELED completion re-arms (see complete_timer) */
    struct io_uring_sqe *sqe = get_sqe(loop);
    if (sqe == NULL)
        return -EBUSY;
    ts_from_us(&t->ts, ms * 1000u);
    io_uring_prep_timeout_update(sqe, &t->ts, (uint64_t)(uintptr_t)t | TAG_TIMER, 0);
    io_uring_sqe_set_data64(sqe, UD_IGNORE);
    loop->inflight++;
    return 0;
}

void cp_loop_timer_stop(struct cp_loop_timer *t)
{
    if (!t->active)
        return;
    t->active = false;
    if (!t->inflight)
        return;
    struct io_uring_sqe *sqe = get_sqe(t->loop);
    if (sqe == NULL)
        return; /* the expiry will find it inactive */
    io_uring_prep_timeout_remove(sqe, (uint64_t)(uintptr_t)t | TAG_TIMER, 0);
    io_uring_sqe_set_data64(sqe, UD_IGNORE);
    t->loop->inflight++;
}

bool cp_loop_timer_idle(const struct cp_loop_timer *t)
{
    return !t->inflight;
}

static void complete_timer(struct cp_loop *loop, struct cp_loop_timer *t)
{
    t->inflight = false;
    if (!t->active)
        return;
    uint64_t now = cp_loop_now_us();
    if (now + 50 < t->deadline_us) { /* moved later, or woken early */
        timer_arm(loop, t);
        return;
    }
    if (t->period_us) {
        t->deadline_us += t->period_us;
        if (t->deadline_us < now)
            t->deadline_us = now + t->period_us; /* don't burst after a stall */
        timer_arm(loop, t);
    } else {
        t->active = false;
    }
    t->cb(t);
}

static void complete(struct cp_loop *loop, uint64_t ud, int res)
{
    loop->inflight--;
    if (ud == UD_IGNORE)
        return;
    if ((ud & TAG_MASK) == TAG_TIMER) {
        complete_timer(loop, (struct cp_loop_timer *)(uintptr_t)(ud & ~(uint64_t)TAG_MASK));
        return;
    }
    struct cp_loop_req *req = (struct cp_loop_req *)(uintptr_t)(ud & ~(uint64_t)TAG_MASK);
    if ((ud & TAG_MASK) == TAG_LINKED) {
        int r = res < 0 ? res : (res != req->priv ? -EIO : 0);
        if (req->priv2 == 1) {
            req->cb(req, r);
            return;
        }
        req->priv = r; /* the fsync's completion reports */
        return;
    }
    if (req->priv2 == 2) { /* fsync half of a linked pair: a failed write wins */
        req->priv2 = 0;
        if (req->priv < 0)
            res = (int)req->priv;
        else if (res > 0)
            res = 0;
    }
    req->cb(req, res);
}

int cp_loop_run_once(struct cp_loop *loop, uint64_t timeout_us)
{
    struct io_uring_cqe *cqe;
    uint64_t now = 0;
    if (loop->defer_head != NULL)
        timeout_us = 0;
    if (loop->poll != NULL) {
        now = cp_loop_now_us();
        uint64_t wait = loop->poll_next > now ? loop->poll_next - now : 0;
        if (wait < timeout_us)
            timeout_us = wait;
    }
    int rv;
    if (timeout_us == 0) {
        io_uring_submit(&loop->ring);
        rv = 0;
    } else {
        struct __kernel_timespec ts;
        ts_from_us(&ts, timeout_us);
        rv = io_uring_submit_and_wait_timeout(&loop->ring, &cqe, 1, &ts, NULL);
        if (rv == -ETIME || rv == -EINTR)
            rv = 0;
    }
    if (rv < 0 && rv != -EBUSY && rv != -EAGAIN)
        return rv;
    struct io_uring_cqe *batch[64];
    for (;;) {
        unsigned got = io_uring_peek_batch_cqe(&loop->ring, batch, 64);
        if (got == 0)
            break;
        for (unsigned i = 0; i < got; i++) {
            uint64_t ud = batch[i]->user_data;
            int res = batch[i]->res;
            io_uring_cqe_seen(&loop->ring, batch[i]);
            complete(loop, ud, res);
        }
    }
    /* Deferred callbacks queued by the callbacks above run in the same iteration. */
    struct cp_loop_req *d = loop->defer_head;
    loop->defer_head = loop->defer_tail = NULL;
    while (d != NULL) {
        struct cp_loop_req *next = d->next;
        d->cb(d, (int)d->priv);
        d = next;
    }
    if (loop->poll != NULL) {
        now = cp_loop_now_us();
        if (now >= loop->poll_next) {
            loop->poll_covered = false;
            unsigned work = loop->poll(loop->poll_arg);
            bool covered = loop->poll_covered && loop->wake_armed;
            if (covered)
                loop->poll_cur = loop->poll_max;
            else if (work > 0)
                loop->poll_cur = loop->poll_min;
            else if (loop->poll_cur < loop->poll_max)
                loop->poll_cur = loop->poll_cur * 2 > loop->poll_max ? loop->poll_max
                                                                     : loop->poll_cur * 2;
            loop->poll_next = now + (covered ? CP_LOOP_COVERED_POLL_US : loop->poll_cur);
        }
    }
    if (loop->hook != NULL)
        loop->hook(loop->hook_arg);
    return 0;
}

int cp_loop_run(struct cp_loop *loop)
{
    loop->stop = false;
    while (!loop->stop) {
        int rv = cp_loop_run_once(loop, 1000000);
        if (rv < 0)
            return rv;
    }
    return 0;
}
