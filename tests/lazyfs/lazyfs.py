#!/usr/bin/python3
# lazyfs: a FUSE passthrough that keeps unsynced file data in memory and drops it on SIGUSR1
# (a simulated power cut), in the spirit of LazyFS (VLDB 2024). See tests/lazyfs/README.md.
"""Usage: /usr/bin/python3 lazyfs.py --source DIR --mount MNT [--seed N] [--torn] [--log FILE]

SIGUSR1: power cut (drop unsynced data; --torn keeps a random prefix of each file's oldest
unsynced write). SIGUSR2: write every file's pending data to the source (like sync(1)).
SIGTERM/SIGINT: flush pending data (a clean shutdown syncs) and unmount."""

import argparse
import ctypes
import errno
import functools
import logging
import os
import random
import signal
import stat
import sys
import time

import pyfuse3
import trio

DEBUG = bool(os.environ.get('LAZYFS_DEBUG'))
TIMEOUT = 1.0  # kernel attr/entry cache; a cut invalidates the inodes it touched anyway
SYNC_FLAGS = os.O_SYNC | os.O_DSYNC
# Flags we never pass to the source: we do our own append/sync handling, O_DIRECT would
# impose alignment on our pwrites.
STRIP_FLAGS = (os.O_APPEND | SYNC_FLAGS | os.O_DIRECT | os.O_NOCTTY | os.O_NONBLOCK
               | getattr(os, 'O_PATH', 0))

_libc = ctypes.CDLL(None, use_errno=True)
_AT_FDCWD = -100


def renameat2(old, new, flags):
    if _libc.renameat2(_AT_FDCWD, old, _AT_FDCWD, new, ctypes.c_uint(flags)) != 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e))


def fsop(fn):
    """OSError from the source becomes the same errno for the caller."""
    @functools.wraps(fn)
    async def wrap(*a, **kw):
        try:
            return await fn(*a, **kw)
        except OSError as e:
            if DEBUG:
                logging.warning('%s%r: %s', fn.__name__, a[1:], e)
            raise pyfuse3.FUSEError(e.errno or errno.EIO) from None
        except pyfuse3.FUSEError as e:
            if DEBUG:
                logging.warning('%s%r: errno %d', fn.__name__, a[1:], e.errno)
            raise
    return wrap


class Node:
    """One file system object. Pending (unsynced) data lives here, per inode, so it follows
    renames and is shared by every handle, like a page cache."""
    __slots__ = ('ino', 'key', 'paths', 'ext', 'end', 'handles', 'dead')

    def __init__(self, ino, key, path):
        self.ino = ino
        self.key = key
        self.paths = {path} if path is not None else set()
        self.ext = []      # [offset, bytearray] oldest first; appends coalesce into the last
        self.end = 0       # max end of ext (0 when empty)
        self.handles = set()
        self.dead = False  # unlinked (nlink reached 0)

    def add(self, off, data):
        if self.ext:
            last = self.ext[-1]
            lo = last[0]
            lb = last[1]
            if lo <= off <= lo + len(lb):  # append to or overwrite within the newest write
                rel = off - lo
                lb[rel:rel + len(data)] = data
                self.end = max(self.end, lo + len(lb))
                return
        self.ext.append([off, bytearray(data)])
        self.end = max(self.end, off + len(data))

    def clip(self, size):
        """Drop pending data at or beyond size; returns bytes dropped."""
        dropped = 0
        keep = []
        for e in self.ext:
            off, b = e
            if off >= size:
                dropped += len(b)
            else:
                if off + len(b) > size:
                    dropped += off + len(b) - size
                    del b[size - off:]
                keep.append(e)
        self.ext = keep
        self.end = max((o + len(b) for o, b in keep), default=0)
        return dropped

    def pending_bytes(self):
        return sum(len(b) for _, b in self.ext)

    def overlay(self, buf, off):
        """Copy pending data over buf, which holds the file's bytes from off."""
        n = len(buf)
        for eo, eb in self.ext:
            lo = max(eo, off)
            hi = min(eo + len(eb), off + n)
            if lo < hi:
                buf[lo - off:hi - off] = eb[lo - eo:hi - eo]


class Handle:
    __slots__ = ('node', 'fd', 'append', 'sync')

    def __init__(self, node, fd, flags):
        self.node = node
        self.fd = fd
        self.append = bool(flags & os.O_APPEND)
        self.sync = bool(flags & SYNC_FLAGS)


def pwrite_all(fd, data, off):
    mv = memoryview(data)
    while mv:
        n = os.pwrite(fd, mv, off)
        mv = mv[n:]
        off += n


class LazyFS(pyfuse3.Operations):
    enable_writeback_cache = False  # every write must reach us, in order

    def __init__(self, source, seed, torn, log):
        super().__init__()
        self.source = os.fsencode(os.path.realpath(source))
        self.rng = random.Random(seed)
        self.torn = torn
        self.logf = log
        self.nodes = {}     # fuse inode -> Node
        self.by_key = {}    # source st_ino -> Node (one source file system)
        self.next_ino = pyfuse3.ROOT_INODE + 1
        self.handles = {}
        self.dirs = {}      # dir handle -> [inode, listing or None]
        self.next_fh = 1
        self.cuts = 0
        self.nursery = None  # set by run()
        self.stats = {'writes': 0, 'bytes': 0, 'fsyncs': 0, 'sync_writes': 0,
                      'synced_bytes': 0}
        st = os.lstat(self.source)
        root = Node(pyfuse3.ROOT_INODE, st.st_ino, self.source)
        self.nodes[root.ino] = root
        self.by_key[st.st_ino] = root

    def log(self, msg):
        self.logf.write('lazyfs %s: %s\n' % (time.strftime('%H:%M:%S'), msg))
        self.logf.flush()

    # ---- inode/path bookkeeping -------------------------------------------------------

    def node_for(self, st, path):
        n = self.by_key.get(st.st_ino)
        if n is None:
            n = Node(self.next_ino, st.st_ino, path)
            self.next_ino += 1
            self.nodes[n.ino] = n
            self.by_key[st.st_ino] = n
        else:
            n.paths.add(path)
        return n

    def node(self, ino):
        n = self.nodes.get(ino)
        if n is None:
            raise pyfuse3.FUSEError(errno.ENOENT)
        return n

    def path(self, n):
        for p in n.paths:
            return p
        if n.handles:  # unlinked but open
            return b'/proc/self/fd/%d' % self.handles[next(iter(n.handles))].fd
        raise pyfuse3.FUSEError(errno.ENOENT)

    def child(self, parent_ino, name):
        return os.path.join(self.path(self.node(parent_ino)), name)

    def stat_of(self, n):
        for p in list(n.paths):
            try:
                return os.lstat(p)
            except FileNotFoundError:
                n.paths.discard(p)
        if n.handles:
            return os.fstat(self.handles[next(iter(n.handles))].fd)
        raise pyfuse3.FUSEError(errno.ENOENT)

    def attrs(self, n, st=None):
        st = st or self.stat_of(n)
        a = pyfuse3.EntryAttributes()
        a.st_ino = n.ino
        a.generation = 0
        a.entry_timeout = TIMEOUT
        a.attr_timeout = TIMEOUT
        a.st_mode = st.st_mode
        a.st_nlink = st.st_nlink
        a.st_uid = st.st_uid
        a.st_gid = st.st_gid
        a.st_rdev = st.st_rdev
        a.st_size = max(st.st_size, n.end)
        a.st_blksize = st.st_blksize
        a.st_blocks = max(st.st_blocks, (a.st_size + 511) // 512) if n.ext else st.st_blocks
        a.st_atime_ns = st.st_atime_ns
        a.st_mtime_ns = st.st_mtime_ns
        a.st_ctime_ns = st.st_ctime_ns
        return a

    def unlinked(self, n, path, nlink_before):
        n.paths.discard(path)
        if nlink_before <= 1:
            n.dead = True
            if self.by_key.get(n.key) is n:
                del self.by_key[n.key]  # the source may reuse the inode number
            self.maybe_drop(n)

    def maybe_drop(self, n):
        if n.dead and not n.handles:
            n.ext = []
            n.end = 0
            self.nodes.pop(n.ino, None)

    def remap(self, old, new):
        """A directory moved: rewrite the paths below it."""
        po = old + b'/'
        for n in self.nodes.values():
            if any(p.startswith(po) for p in n.paths):
                n.paths = {new + p[len(old):] if p.startswith(po) else p for p in n.paths}

    def open_fd(self, path, flags, mode=0o644):
        want = flags & ~STRIP_FLAGS & ~os.O_ACCMODE
        try:
            return os.open(path, want | os.O_RDWR | os.O_CLOEXEC, mode)
        except (IsADirectoryError, PermissionError):
            return os.open(path, want | (flags & os.O_ACCMODE) | os.O_CLOEXEC, mode)

    def new_handle(self, n, fd, flags):
        fh = self.next_fh
        self.next_fh += 1
        self.handles[fh] = Handle(n, fd, flags)
        n.handles.add(fh)
        if flags & os.O_TRUNC:
            n.clip(0)
        return pyfuse3.FileInfo(fh=fh, keep_cache=False)

    # ---- syncing ----------------------------------------------------------------------

    def write_pending(self, n, fd):
        """Write n's pending data to the source (the disk); returns bytes written."""
        ext, n.ext, n.end = n.ext, [], 0
        total = 0
        for off, b in ext:
            pwrite_all(fd, b, off)
            total += len(b)
        return total

    async def sync_node(self, n, fd, datasync):
        total = self.write_pending(n, fd)
        self.stats['synced_bytes'] += total
        dfd = os.dup(fd)  # the handle may be released while the thread runs
        try:
            await trio.to_thread.run_sync(os.fdatasync if datasync else os.fsync, dfd)
        finally:
            os.close(dfd)

    def any_fd(self, n):
        if n.handles:
            return self.handles[next(iter(n.handles))].fd, False
        for p in n.paths:
            return os.open(p, os.O_WRONLY | os.O_CLOEXEC), True
        return None, False

    def flush_all(self, why):
        files = total = 0
        for n in list(self.nodes.values()):
            if not n.ext:
                continue
            fd, own = self.any_fd(n)
            if fd is None:
                continue
            try:
                total += self.write_pending(n, fd)
                os.fsync(fd)
                files += 1
            finally:
                if own:
                    os.close(fd)
        self.log('%s: flushed %d files, %d bytes' % (why, files, total))

    def rel(self, n):
        for p in n.paths:
            return os.fsdecode(os.path.relpath(p, self.source))
        return '(unlinked ino %d)' % n.ino

    async def invalidate(self, ino):
        try:
            await trio.to_thread.run_sync(pyfuse3.invalidate_inode, ino, False)
        except OSError as e:
            if e.errno != errno.ENOENT:
                self.log('invalidate ino %d: %s' % (ino, e))

    async def power_cut(self):
        self.cuts += 1
        files = dropped = kept = 0
        detail = []
        touched = []
        for n in list(self.nodes.values()):
            if not n.ext:
                continue
            files += 1
            d = n.pending_bytes()
            k = 0
            if self.torn:
                off, b = n.ext[0]
                k = self.rng.randint(0, len(b))
                if k:
                    fd, own = self.any_fd(n)
                    if fd is not None:
                        try:
                            pwrite_all(fd, b[:k], off)
                        finally:
                            if own:
                                os.close(fd)
                    else:
                        k = 0
            n.ext = []
            n.end = 0
            dropped += d - k
            kept += k
            detail.append('%s:%d:%d' % (self.rel(n), d - k, k))
            touched.append(n.ino)
        # The kernel still caches the dropped pages and sizes; invalidate from a thread, as
        # invalidation waits for pages locked by reads that we must keep serving meanwhile.
        for ino in touched:
            await self.invalidate(ino)
        self.log('cut %d files=%d dropped=%d torn_kept=%d detail=%s' %
                 (self.cuts, files, dropped, kept, ','.join(detail) or '-'))

    # ---- metadata: applied to the source at once (durable) -----------------------------

    @fsop
    async def lookup(self, parent_inode, name, ctx=None):
        pn = self.node(parent_inode)
        if name == b'.':
            return self.attrs(pn)
        pp = self.path(pn)
        if name == b'..':
            p = os.path.dirname(pp) if pp != self.source else pp
        else:
            p = os.path.join(pp, name)
        st = os.lstat(p)
        return self.attrs(self.node_for(st, p), st)

    @fsop
    async def getattr(self, inode, ctx=None):
        return self.attrs(self.node(inode))

    @fsop
    async def setattr(self, inode, attr, fields, fh, ctx):
        n = self.node(inode)
        h = self.handles.get(fh) if fh is not None else None
        target = h.fd if h else self.path(n)
        if fields.update_size:
            os.truncate(target, attr.st_size)
            n.clip(attr.st_size)
        if fields.update_mode:
            os.chmod(target, stat.S_IMODE(attr.st_mode))
        if fields.update_uid or fields.update_gid:
            os.chown(target, attr.st_uid if fields.update_uid else -1,
                     attr.st_gid if fields.update_gid else -1)
        if fields.update_atime or fields.update_mtime:
            st = self.stat_of(n)
            at = attr.st_atime_ns if fields.update_atime else st.st_atime_ns
            mt = attr.st_mtime_ns if fields.update_mtime else st.st_mtime_ns
            if h:
                os.utime(h.fd, ns=(at, mt))
            else:
                os.utime(self.path(n), ns=(at, mt), follow_symlinks=False)
        return self.attrs(n)

    @fsop
    async def readlink(self, inode, ctx):
        return os.readlink(self.path(self.node(inode)))

    def made(self, p, ctx):
        try:
            os.lchown(p, ctx.uid, ctx.gid)
        except PermissionError:
            pass
        st = os.lstat(p)
        return self.attrs(self.node_for(st, p), st)

    @fsop
    async def mknod(self, parent_inode, name, mode, rdev, ctx):
        p = self.child(parent_inode, name)
        os.mknod(p, mode & ~ctx.umask, rdev)
        return self.made(p, ctx)

    @fsop
    async def mkdir(self, parent_inode, name, mode, ctx):
        p = self.child(parent_inode, name)
        os.mkdir(p, mode & ~ctx.umask)
        return self.made(p, ctx)

    @fsop
    async def symlink(self, parent_inode, name, target, ctx):
        p = self.child(parent_inode, name)
        os.symlink(target, p)
        return self.made(p, ctx)

    @fsop
    async def link(self, inode, new_parent_inode, new_name, ctx):
        n = self.node(inode)
        p = self.child(new_parent_inode, new_name)
        os.link(self.path(n), p, follow_symlinks=False)
        n.paths.add(p)
        return self.attrs(n)

    @fsop
    async def unlink(self, parent_inode, name, ctx):
        p = self.child(parent_inode, name)
        st = os.lstat(p)
        os.unlink(p)
        n = self.by_key.get(st.st_ino)
        if n is not None:
            self.unlinked(n, p, st.st_nlink)

    @fsop
    async def rmdir(self, parent_inode, name, ctx):
        p = self.child(parent_inode, name)
        st = os.lstat(p)
        os.rmdir(p)
        n = self.by_key.get(st.st_ino)
        if n is not None:
            self.unlinked(n, p, 1)

    @fsop
    async def rename(self, parent_inode_old, name_old, parent_inode_new, name_new, flags, ctx):
        old = self.child(parent_inode_old, name_old)
        new = self.child(parent_inode_new, name_new)
        so = os.lstat(old)
        try:
            sn = os.lstat(new)
        except FileNotFoundError:
            sn = None
        renameat2(old, new, flags)
        no = self.by_key.get(so.st_ino)
        nn = self.by_key.get(sn.st_ino) if sn is not None else None
        if flags & pyfuse3.RENAME_EXCHANGE:
            tmp = old + b'\0'  # never a real path
            self.remap(old, tmp)
            self.remap(new, old)
            self.remap(tmp, new)
            if no is not None:
                no.paths.discard(old)
                no.paths.add(new)
            if nn is not None:
                nn.paths.discard(new)
                nn.paths.add(old)
            return
        if nn is not None and nn is not no:
            self.unlinked(nn, new, 1 if stat.S_ISDIR(sn.st_mode) else sn.st_nlink)
        if no is not None:
            no.paths.discard(old)
            no.paths.add(new)
        if stat.S_ISDIR(so.st_mode):
            self.remap(old, new)

    async def forget(self, inode_list):
        pass  # nodes are kept (no inode reuse); unlinked ones go in maybe_drop

    @fsop
    async def statfs(self, ctx):
        sv = os.statvfs(self.source)
        r = pyfuse3.StatvfsData()
        for a in ('f_bsize', 'f_frsize', 'f_blocks', 'f_bfree', 'f_bavail', 'f_files',
                  'f_ffree', 'f_favail', 'f_namemax'):
            setattr(r, a, getattr(sv, a))
        return r

    @fsop
    async def getxattr(self, inode, name, ctx):
        try:
            return os.getxattr(self.path(self.node(inode)), name, follow_symlinks=False)
        except OSError as e:
            if e.errno == errno.ENODATA:
                raise pyfuse3.FUSEError(pyfuse3.ENOATTR) from None
            raise

    @fsop
    async def setxattr(self, inode, name, value, ctx):
        os.setxattr(self.path(self.node(inode)), name, value, follow_symlinks=False)

    @fsop
    async def listxattr(self, inode, ctx):
        return [os.fsencode(x) for x in
                os.listxattr(self.path(self.node(inode)), follow_symlinks=False)]

    @fsop
    async def removexattr(self, inode, name, ctx):
        os.removexattr(self.path(self.node(inode)), name, follow_symlinks=False)

    # ---- directories ------------------------------------------------------------------

    @fsop
    async def opendir(self, inode, ctx):
        self.node(inode)
        fh = self.next_fh
        self.next_fh += 1
        self.dirs[fh] = [inode, None]
        return fh

    @fsop
    async def readdir(self, fh, start_id, token):
        d = self.dirs[fh]
        pp = self.path(self.node(d[0]))
        if d[1] is None or start_id == 0:
            d[1] = sorted(os.listdir(pp))
        names = d[1]
        for i in range(start_id, len(names)):
            p = os.path.join(pp, names[i])
            try:
                st = os.lstat(p)
            except FileNotFoundError:
                continue
            n = self.node_for(st, p)
            if not pyfuse3.readdir_reply(token, names[i], self.attrs(n, st), i + 1):
                break

    async def releasedir(self, fh):
        self.dirs.pop(fh, None)

    @fsop
    async def fsyncdir(self, fh, datasync):
        # Metadata is durable at once here; still sync the source directory for real.
        fd = os.open(self.path(self.node(self.dirs[fh][0])), os.O_RDONLY | os.O_DIRECTORY)
        try:
            await trio.to_thread.run_sync(os.fsync, fd)
        finally:
            os.close(fd)

    # ---- file data: kept in memory until fsync ----------------------------------------

    @fsop
    async def open(self, inode, flags, ctx):
        n = self.node(inode)
        fd = self.open_fd(self.path(n), flags)
        return self.new_handle(n, fd, flags)

    @fsop
    async def create(self, parent_inode, name, mode, flags, ctx):
        p = self.child(parent_inode, name)
        fd = self.open_fd(p, flags | os.O_CREAT, mode & ~ctx.umask)
        try:
            a = self.made(p, ctx)
        except BaseException:
            os.close(fd)
            raise
        n = self.nodes[a.st_ino]
        return self.new_handle(n, fd, flags), a

    @fsop
    async def read(self, fh, off, size):
        h = self.handles[fh]
        n = h.node
        data = os.pread(h.fd, size, off)
        if not n.ext or off + size <= n.ext[0][0] and len(n.ext) == 1:
            return data
        # logical size: source size or the end of pending data, whichever is larger
        end = max(os.fstat(h.fd).st_size, n.end)
        cnt = min(size, end - off)
        if cnt <= 0:
            return b''
        buf = bytearray(cnt)
        buf[:len(data)] = data
        n.overlay(buf, off)
        return bytes(buf)

    @fsop
    async def write(self, fh, off, buf):
        h = self.handles[fh]
        n = h.node
        if h.append:
            # The kernel picks the offset from its cached size; after a cut's invalidation
            # it refetches it, so this only guards against a stale size.
            real = max(os.fstat(h.fd).st_size, n.end)
            if real != off:
                self.log('O_APPEND write at %d, merged size is %d: using it' % (off, real))
                off = real
                self.nursery.start_soon(self.invalidate, n.ino)
        n.add(off, buf)
        self.stats['writes'] += 1
        self.stats['bytes'] += len(buf)
        if h.sync:  # O_SYNC/O_DSYNC handle: the write is durable on return
            self.stats['sync_writes'] += 1
            if DEBUG:
                self.log('sync-handle write ino %d off %d len %d' % (n.ino, off, len(buf)))
            await self.sync_node(n, h.fd, True)
        return len(buf)

    async def flush(self, fh):
        pass  # close(2) does not persist anything

    @fsop
    async def fsync(self, fh, datasync):
        h = self.handles[fh]
        self.stats['fsyncs'] += 1
        if DEBUG:
            self.log('fsync ino %d datasync=%d pending=%d' %
                     (h.node.ino, datasync, h.node.pending_bytes()))
        await self.sync_node(h.node, h.fd, datasync)

    async def release(self, fh):
        h = self.handles.pop(fh, None)
        if h is None:
            return
        os.close(h.fd)
        h.node.handles.discard(fh)
        self.maybe_drop(h.node)

    # ---- main loop --------------------------------------------------------------------

    async def signals(self, nursery):
        with trio.open_signal_receiver(signal.SIGUSR1, signal.SIGUSR2, signal.SIGTERM,
                                       signal.SIGINT) as sigs:
            async for s in sigs:
                if s == signal.SIGUSR1:
                    await self.power_cut()
                elif s == signal.SIGUSR2:
                    self.flush_all('SIGUSR2')
                else:
                    self.log('signal %d: stopping' % s)
                    pyfuse3.terminate()
                    return


async def run(fs):
    async with trio.open_nursery() as nursery:
        fs.nursery = nursery
        nursery.start_soon(fs.signals, nursery)
        await pyfuse3.main()
        nursery.cancel_scope.cancel()


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--source', required=True, help='directory holding the durable state')
    ap.add_argument('--mount', required=True, help='mount point')
    ap.add_argument('--seed', type=int, default=1, help='seed of the torn-write lengths')
    ap.add_argument('--torn', action='store_true',
                    help='a cut keeps a random prefix of each file\'s oldest unsynced write')
    ap.add_argument('--log', help='log file (default stderr)')
    args = ap.parse_args()
    logf = open(args.log, 'a') if args.log else sys.stderr
    # pyfuse3 reports handler exceptions through logging
    logging.basicConfig(stream=logf, level=logging.WARNING,
                        format='lazyfs %(asctime)s %(levelname)s: %(message)s')
    os.umask(0)  # modes come from the caller (with its umask applied)
    fs = LazyFS(args.source, args.seed, args.torn, logf)
    opts = set(pyfuse3.default_options)
    opts.add('fsname=lazyfs')
    opts.add('subtype=lazyfs')
    pyfuse3.init(fs, args.mount, opts)
    fs.log('serving %s on %s (seed %d%s), pid %d' %
           (args.source, args.mount, args.seed, ', torn' if args.torn else '', os.getpid()))
    ok = False
    try:
        trio.run(run, fs)
        ok = True
    finally:
        try:
            fs.flush_all('exit')
        except Exception as e:  # noqa: BLE001 - still unmount
            fs.log('exit flush failed: %s' % e)
        fs.log('stats %s' % ' '.join('%s=%d' % kv for kv in sorted(fs.stats.items())))
        pyfuse3.close(unmount=True)
        fs.log('unmounted%s' % ('' if ok else ' after an error'))


if __name__ == '__main__':
    main()
