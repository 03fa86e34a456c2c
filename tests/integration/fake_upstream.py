#!/usr/bin/env python3
"""fake_upstream.py: both ends of one mqgate connection, for byte-level tests.

It plays the upstream broker (a plain TCP server on --listen) and the TLS
client (to mqgate on --connect, verified against --ca) in one process, so
that a scenario sees every byte, FIN, close_notify and RST on both sides.
It only speaks to mqgate on loopback and owns nothing but its two sockets.
Results go to stdout as "key value" lines that the shell test asserts on;
events the shell must wait for (stalls) are printed as they happen.

Usage: fake_upstream.py --listen PORT --connect PORT --ca CA.crt
                        [--timeout S] [--ctl DIR] [--stall-ms MS]
                        [--size BYTES] [--rcvbuf BYTES] CASE
Cases:
  client-unwrap-queued / client-fin-queued
                  the client half-closes while mqgate still holds --size
                  bytes for it; they must all arrive, then a clean end
  client-unwrap   client: "ping", close_notify; upstream: "ping", EOF,
                  "pong", close; client: "pong", clean TLS EOF
  client-shutwr   the same, with a TCP shutdown(SHUT_WR) instead of the
                  close_notify
  upstream-fin    upstream: "hello", shutdown(SHUT_WR); client: "hello",
                  clean TLS EOF, then "bye" and close_notify; upstream:
                  "bye", EOF
  client-rst      both sides exchange a little, then the client resets
                  (SO_LINGER 0); reports how the upstream saw the end
  upstream-rst    the same with the upstream resetting
  slow-client     upstream writes --size bytes as fast as it can while the
                  client reads nothing until DIR/go exists
  slow-upstream   client writes --size bytes while the upstream reads
                  nothing until DIR/go exists
The slow-* cases print "stalled <who> sent=N" once the writer's socket has
not been writable for --stall-ms (or "unstalled <who> sent=N" when it sent
everything without ever blocking), then wait for DIR/go and print
"at_go sent=N" before the reader drains everything.
Exit status: 0 when the scenario ran (its results decide pass/fail), 2 on
a usage error, 3 when the overall --timeout expired.
"""

import argparse
import errno
import hashlib
import os
import select
import signal
import socket
import ssl
import struct
import sys
import threading
import time

HOST = "127.0.0.1"
CHUNK = 64 * 1024

_out_lock = threading.Lock()


def emit(key, value):
    """One result line, flushed at once (the shell may be waiting on it)."""
    with _out_lock:
        sys.stdout.write("%s %s\n" % (key, value))
        sys.stdout.flush()


class Deadline:
    def __init__(self, seconds):
        self.end = time.monotonic() + seconds

    def left(self):
        return max(0.0, self.end - time.monotonic())

    def expired(self):
        return self.left() <= 0.0


def describe_exc(e):
    if isinstance(e, ssl.SSLZeroReturnError):
        return "clean"
    if isinstance(e, ssl.SSLEOFError):
        return "eof_without_close_notify"
    if isinstance(e, ConnectionResetError):
        return "reset"
    if isinstance(e, (socket.timeout, TimeoutError)):
        return "timeout"
    if isinstance(e, ssl.SSLError):
        return "ssl_error:" + (e.reason or str(e)).replace(" ", "_")
    if isinstance(e, OSError) and e.errno is not None:
        return "oserror:" + errno.errorcode.get(e.errno, str(e.errno))
    return "error:" + type(e).__name__


class TlsClient:
    """A TLS client over an SSLObject and memory BIOs, so that the TCP
    socket stays ours: we can send close_notify and keep reading, or shut
    down the TCP write side under a live TLS session."""

    def __init__(self, port, ca, deadline, rcvbuf=None):
        self.dl = deadline
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.settimeout(max(0.01, deadline.left()))
        self.sock.connect((HOST, port))
        ctx = ssl.create_default_context(cafile=ca)
        self.inc = ssl.MemoryBIO()
        self.outg = ssl.MemoryBIO()
        self.obj = ctx.wrap_bio(self.inc, self.outg,
                                server_hostname="localhost")
        self.tcp_eof = False

    def _timeout(self):
        left = self.dl.left()
        if left <= 0:
            raise socket.timeout("deadline")
        return left

    def flush(self):
        data = self.outg.read()
        if data:
            self.sock.settimeout(self._timeout())
            self.sock.sendall(data)

    def feed(self):
        """Move one recv() worth of bytes into the TLS engine."""
        self.sock.settimeout(self._timeout())
        data = self.sock.recv(CHUNK * 4)
        if data:
            self.inc.write(data)
        else:
            self.tcp_eof = True
            self.inc.write_eof()

    def handshake(self):
        while True:
            try:
                self.obj.do_handshake()
                self.flush()
                return
            except ssl.SSLWantReadError:
                self.flush()
                self.feed()

    def write(self, data):
        self.obj.write(data)
        self.flush()

    def read(self, n=CHUNK * 4):
        """Plaintext bytes; raises SSLZeroReturnError at close_notify,
        SSLEOFError at a bare TCP EOF, OSError/timeout otherwise."""
        while True:
            try:
                data = self.obj.read(n)
            except ssl.SSLWantReadError:
                self.flush()
                self.feed()
                continue
            if not data:
                # _ssl returns b"" for a close_notify as long as we have
                # not sent ours; after unwrap() it raises instead.
                raise ssl.SSLZeroReturnError(ssl.SSL_ERROR_ZERO_RETURN,
                                             "close_notify")
            return data

    def read_exact(self, n):
        buf = b""
        while len(buf) < n:
            buf += self.read(n - len(buf))
        return buf

    def read_to_end(self):
        """(bytes read, how the stream ended)."""
        buf = b""
        while True:
            try:
                buf += self.read()
            except Exception as e:  # the end is what we report
                return buf, describe_exc(e)

    def send_close_notify(self):
        """ssl unwrap(): queue our close_notify; the peer's comes later."""
        try:
            self.obj.unwrap()
        except ssl.SSLWantReadError:
            pass
        self.flush()

    def tcp_eof_after(self):
        """After the TLS stream ended: wait for the TCP FIN (or RST)."""
        try:
            while not self.tcp_eof:
                self.feed()
            return "fin"
        except Exception as e:
            return describe_exc(e)

    def reset(self):
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                             struct.pack("ii", 1, 0))
        self.sock.close()

    def close(self):
        self.sock.close()


class Upstream(threading.Thread):
    """Accepts one connection and runs fn(conn) on it in a thread."""

    def __init__(self, port, deadline, fn):
        super().__init__(daemon=True)
        self.dl = deadline
        self.fn = fn
        self.exc = None
        self.ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.ls.bind((HOST, port))
        self.ls.listen(4)

    def run(self):
        try:
            self.ls.settimeout(max(0.01, self.dl.left()))
            conn, _ = self.ls.accept()
            self.ls.close()
            conn.settimeout(max(0.01, self.dl.left()))
            self.fn(conn)
        except Exception as e:
            self.exc = e
            emit("upstream_exception", describe_exc(e))

    def finish(self):
        self.join(max(0.01, self.dl.left()))
        if self.is_alive():
            emit("upstream_thread", "timeout")


def recv_to_end(conn, dl):
    """(bytes, 'fin' | 'reset' | 'timeout' | ...) reading until the end."""
    buf = b""
    try:
        while True:
            conn.settimeout(max(0.01, dl.left()))
            data = conn.recv(CHUNK)
            if not data:
                return buf, "fin"
            buf += data
    except Exception as e:
        return buf, describe_exc(e)


def recv_exact(conn, n, dl):
    buf = b""
    while len(buf) < n:
        conn.settimeout(max(0.01, dl.left()))
        data = conn.recv(n - len(buf))
        if not data:
            raise EOFError("EOF after %d of %d bytes" % (len(buf), n))
        buf += data
    return buf


def show(data):
    return data.decode("ascii", "backslashreplace") if data else "(none)"


# ---------------------------------------------------------------- half-close

def case_client_close(args, dl, how):
    def up(conn):
        data, end = recv_to_end(conn, dl)
        emit("upstream_recv", show(data))
        emit("upstream_end", end)
        if end == "fin":
            conn.sendall(b"pong")
            conn.shutdown(socket.SHUT_WR)
            _, end2 = recv_to_end(conn, dl)
            emit("upstream_end_after_reply", end2)
        conn.close()

    u = Upstream(args.listen, dl, up)
    u.start()
    c = TlsClient(args.connect, args.ca, dl)
    c.handshake()
    emit("client_tls", c.obj.version())
    c.write(b"ping")
    if how == "unwrap":
        c.send_close_notify()
    else:
        c.sock.shutdown(socket.SHUT_WR)
    data, end = c.read_to_end()
    emit("client_recv", show(data))
    emit("client_end", end)
    emit("client_tcp_end", c.tcp_eof_after() if end == "clean" else "-")
    u.finish()
    c.close()


def case_client_close_queued(args, dl, how):
    """The client ends its side while mqgate still holds bytes for it: the
    upstream sends args.size bytes to a client that reads nothing until
    at least 1 MiB has left the upstream, then half-closes and reads."""
    sent_enough = threading.Event()

    def up(conn):
        data = recv_exact(conn, 4, dl)
        emit("upstream_recv", show(data))
        chunk = b"q" * 65536
        sent = 0
        while sent < args.size:
            n = min(len(chunk), args.size - sent)
            conn.sendall(chunk[:n])
            sent += n
            if sent >= 1024 * 1024:
                sent_enough.set()
        sent_enough.set()
        conn.shutdown(socket.SHUT_WR)
        _, end = recv_to_end(conn, dl)
        emit("upstream_end", end)
        conn.close()

    u = Upstream(args.listen, dl, up)
    u.start()
    c = TlsClient(args.connect, args.ca, dl, rcvbuf=4096)
    c.handshake()
    c.write(b"ping")
    if not sent_enough.wait(max(dl.left(), 0)):
        emit("client_exception", "upstream_never_sent_1MiB")
        return
    if how == "unwrap":
        c.send_close_notify()
    else:
        c.sock.shutdown(socket.SHUT_WR)
    data, end = c.read_to_end()
    emit("client_recv_len", len(data))
    emit("client_end", end)
    u.finish()
    c.close()


def case_upstream_fin(args, dl):
    def up(conn):
        conn.sendall(b"hello")
        conn.shutdown(socket.SHUT_WR)
        data, end = recv_to_end(conn, dl)
        emit("upstream_recv", show(data))
        emit("upstream_end", end)
        conn.close()

    u = Upstream(args.listen, dl, up)
    u.start()
    c = TlsClient(args.connect, args.ca, dl)
    c.handshake()
    data, end = c.read_to_end()
    emit("client_recv", show(data))
    emit("client_end", end)
    try:
        c.write(b"bye")
        c.send_close_notify()
        emit("client_write_after_eof", "ok")
    except Exception as e:
        emit("client_write_after_eof", describe_exc(e))
    u.finish()
    emit("client_tcp_end", c.tcp_eof_after())
    c.close()


def case_rst(args, dl, who):
    up_ready = threading.Event()
    client_gone = threading.Event()

    def up(conn):
        got = recv_exact(conn, 3, dl)
        emit("upstream_recv", show(got))
        conn.sendall(b"xyz")
        up_ready.set()
        if who == "upstream":
            # Wait until the client has our bytes: the reset must hit an
            # established, spliced stream.
            client_gone.wait(dl.left())
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                            struct.pack("ii", 1, 0))
            conn.close()
            emit("upstream_reset", "sent")
            return
        data, end = recv_to_end(conn, dl)
        emit("upstream_end", end)
        conn.close()

    u = Upstream(args.listen, dl, up)
    u.start()
    c = TlsClient(args.connect, args.ca, dl)
    c.handshake()
    c.write(b"abc")
    got = c.read_exact(3)
    emit("client_recv", show(got))
    up_ready.wait(dl.left())
    if who == "client":
        c.reset()
        emit("client_reset", "sent")
        u.finish()
        return
    client_gone.set()
    data, end = c.read_to_end()
    emit("client_end", end)
    u.finish()
    c.close()


# ---------------------------------------------------------------- backpressure

def wait_go(args, dl):
    """Wait (bounded) until the shell creates DIR/go."""
    path = os.path.join(args.ctl, "go")
    while not os.path.exists(path):
        if dl.expired():
            raise socket.timeout("no go file")
        time.sleep(0.02)


class Sender:
    """Sends `size` random bytes over a non-blocking socket via write_fn
    (which returns how much it took) and reports the first stall."""

    def __init__(self, who, size, stall_ms):
        self.who = who
        self.size = size
        self.stall = stall_ms / 1000.0
        self.sent = 0
        self.sha = hashlib.sha256()
        self.stalled = False
        self.lock = threading.Lock()

    def chunks(self):
        while self.sent < self.size:
            data = os.urandom(min(CHUNK, self.size - self.sent))
            self.sha.update(data)
            yield data

    def note_blocked(self, since):
        if not self.stalled and time.monotonic() - since >= self.stall:
            self.stalled = True
            emit("stalled", "%s sent=%d" % (self.who, self.sent))

    def done(self):
        if not self.stalled:
            emit("unstalled", "%s sent=%d" % (self.who, self.sent))
        emit(self.who + "_sent", self.sent)
        emit(self.who + "_sent_sha256", self.sha.hexdigest())


def send_nonblocking(sock, data, sender, dl, extra=None):
    """Send all of data; select() for writability, noting stalls."""
    view = memoryview(data)
    blocked_since = None
    while view:
        if dl.expired():
            raise socket.timeout("deadline while sending")
        try:
            n = sock.send(view)
            view = view[n:]
            blocked_since = None
            if extra is not None:
                extra(n)
            continue
        except BlockingIOError:
            pass
        if blocked_since is None:
            blocked_since = time.monotonic()
        select.select([], [sock], [], 0.05)
        sender.note_blocked(blocked_since)


def case_slow_client(args, dl):
    snd = Sender("upstream", args.size, args.stall_ms)

    def up(conn):
        conn.setblocking(False)
        for data in snd.chunks():
            def count(n, snd=snd):
                snd.sent += n
            send_nonblocking(conn, data, snd, dl, count)
        snd.done()
        conn.setblocking(True)
        conn.shutdown(socket.SHUT_WR)
        data, end = recv_to_end(conn, dl)
        emit("upstream_end", end)
        conn.close()

    u = Upstream(args.listen, dl, up)
    c = TlsClient(args.connect, args.ca, dl, rcvbuf=args.rcvbuf)
    u.start()
    c.handshake()
    wait_go(args, dl)
    emit("at_go", "sent=%d" % snd.sent)
    sha = hashlib.sha256()
    total = 0
    end = None
    while end is None:
        try:
            data = c.read()
            sha.update(data)
            total += len(data)
        except Exception as e:
            end = describe_exc(e)
    emit("client_recv", total)
    emit("client_recv_sha256", sha.hexdigest())
    emit("client_end", end)
    c.send_close_notify()
    u.finish()
    c.close()


def case_slow_upstream(args, dl):
    snd = Sender("client", args.size, args.stall_ms)

    def up(conn):
        wait_go(args, dl)
        emit("at_go", "sent=%d" % snd.sent)
        sha = hashlib.sha256()
        total = 0
        end = None
        while end is None:
            try:
                conn.settimeout(max(0.01, dl.left()))
                data = conn.recv(CHUNK * 4)
                if not data:
                    end = "fin"
                sha.update(data)
                total += len(data)
            except Exception as e:
                end = describe_exc(e)
        emit("upstream_recv", total)
        emit("upstream_recv_sha256", sha.hexdigest())
        emit("upstream_end", end)
        conn.close()

    u = Upstream(args.listen, dl, up)
    if args.rcvbuf:
        u.ls.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, args.rcvbuf)
    c = TlsClient(args.connect, args.ca, dl)
    u.start()
    c.handshake()
    c.sock.setblocking(False)
    # The plaintext counts once its TLS records are all in the kernel.
    for data in snd.chunks():
        c.obj.write(data)
        send_nonblocking(c.sock, c.outg.read(), snd, dl)
        snd.sent += len(data)
    snd.done()
    c.sock.setblocking(True)
    c.send_close_notify()
    data, end = c.read_to_end()
    emit("client_end", end)
    u.finish()
    c.close()


CASES = {
    "client-unwrap": lambda a, d: case_client_close(a, d, "unwrap"),
    "client-unwrap-queued":
        lambda a, d: case_client_close_queued(a, d, "unwrap"),
    "client-fin-queued":
        lambda a, d: case_client_close_queued(a, d, "fin"),
    "client-shutwr": lambda a, d: case_client_close(a, d, "shutwr"),
    "upstream-fin": case_upstream_fin,
    "client-rst": lambda a, d: case_rst(a, d, "client"),
    "upstream-rst": lambda a, d: case_rst(a, d, "upstream"),
    "slow-client": case_slow_client,
    "slow-upstream": case_slow_upstream,
}


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--listen", type=int, required=True,
                   help="port of the fake upstream (127.0.0.1)")
    p.add_argument("--connect", type=int, required=True,
                   help="mqgate's TLS port (127.0.0.1)")
    p.add_argument("--ca", required=True, help="CA that signed mqgate's cert")
    p.add_argument("--timeout", type=float, default=20.0)
    p.add_argument("--ctl", default=".", help="directory of the go file")
    p.add_argument("--stall-ms", type=int, default=500)
    p.add_argument("--size", type=int, default=64 * 1024 * 1024)
    p.add_argument("--rcvbuf", type=int, default=0,
                   help="SO_RCVBUF of the slow reader (0 = kernel default)")
    p.add_argument("case", choices=sorted(CASES))
    args = p.parse_args()

    # Safety net: whatever blocks, the process ends shortly after the
    # deadline with a line saying so.
    def on_alarm(signum, frame):
        emit("result", "timeout")
        sys.stdout.flush()
        os._exit(3)

    signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(int(args.timeout) + 2)
    dl = Deadline(args.timeout)
    try:
        CASES[args.case](args, dl)
    except Exception as e:
        emit("client_exception", describe_exc(e) + ":" + str(e).replace(" ", "_"))
    emit("result", "done")
    return 0


if __name__ == "__main__":
    sys.exit(main())
