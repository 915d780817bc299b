#!/usr/bin/env python3
"""A client that subscribes to a node's streams three times on one connection (ordered, gossip)
and then does not read: the node must cut it off once its queue passes the bound, without
harming anything else (both subscriptions die with the connection, while the node is inside a
reply to one of them). Exits 0 when the node closed the connection, 1 when it never did.

usage: stuck_watcher.py SOCKET SECONDS"""
import select
import socket
import sys
import time

s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
s.connect(sys.argv[1])
# three subscriptions: three times the data, past the node's bound even for a short load
s.sendall(b'{"cmd":"watch","gossip":true}\n{"cmd":"watch"}\n{"cmd":"watch","gossip":true}\n')
# tell the caller once all three subscriptions are in place (it starts the load then)
got = b""
while got.count(b"\n") < 3:
    got += s.recv(4096)
print("subscribed", flush=True)
end = time.time() + float(sys.argv[2])
p = select.poll()  # hang-up shows even with unread data queued in front of it
p.register(s, select.POLLRDHUP | select.POLLHUP | select.POLLERR)
while time.time() < end:  # stuck: read nothing while the load runs
    if p.poll(200):
        break
# drain: EOF (b"") means the node closed us; a read timeout means it never did
s.settimeout(10)
got = len(got)
while True:
    try:
        b = s.recv(1 << 20)
    except socket.timeout:
        print("stuck watcher: the node never closed the connection (%d bytes read)" % got)
        sys.exit(1)
    except OSError:
        b = b""
    if not b:
        break
    got += len(b)
print("stuck watcher: node closed the connection after %d buffered bytes" % got)
sys.exit(0)
