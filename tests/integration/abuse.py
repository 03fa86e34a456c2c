#!/usr/bin/python3
"""abuse.py: misbehaving clients and upstreams for the mqgate integration
tests (t_badinput.sh, t_limits.sh, t_drain.sh). Each subcommand plays one
peer, prints what it observed as "key=value" lines on stdout and exits 0
when the peer behaved as the test expects. Stdlib only. It owns only its
own sockets; every wait is bounded, and a helper left running in the
background dies with its parent shell or after --lifetime seconds.

  abuse.py [--ca FILE] [--timeout S] [--lifetime S] CMD HOST PORT [ARG...]

Clients (the server is expected to end each connection within --timeout):
  garbage  H P [SIZE]     random non-TLS bytes; wait for the close
  raw      H P FILE       the bytes of FILE in plaintext; wait for the close
  silent   H P            connect, send nothing; prints elapsed_ms
  halfhello H P           half a real ClientHello, then a TCP reset
  rstafter H P            TLS + MQTT CONNECT/CONNACK, then a TCP reset
  bighello H P SIZE       SIZE bytes shaped like one huge ClientHello
  mix      H P N CONC     N bad connections of mixed kinds, CONC at a time
  hold     H P N          N TLS+MQTT clients, kept open until killed
  refused  H P N          N TCP connects at once; all must be closed by the
                          server without any byte
  tlsfail  H P            a TLS handshake that must fail (EOF/reset)
  idle     H P            TLS+MQTT, then silence until the server closes;
                          prints elapsed_ms (from the CONNACK)
  chatty   H P INTERVAL DURATION
                          TLS+MQTT, PINGREQ every INTERVAL s for DURATION
                          s, each answered; then DISCONNECT
Fake upstreams:
  fakeup   H P            accept, read the first bytes, close; forever
  blackhole H P           a listener whose accept queue is full, so that
                          connects to it never complete; prints ready=1
                          (or ready=0 when the kernel does not drop SYNs)
"""

import argparse
import ctypes
import os
import random
import select
import signal
import socket
import ssl
import struct
import sys
import threading
import time

PR_SET_PDEATHSIG = 1

OPTS = None


def out(**kv):
    print(" ".join("%s=%s" % (k, v) for k, v in kv.items()), flush=True)


def die_with_parent():
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    except (OSError, AttributeError):
        pass


def now():
    return time.monotonic()


def tcp(host, port):
    s = socket.create_connection((host, port), timeout=OPTS.timeout)
    s.settimeout(OPTS.timeout)
    return s


def rst_close(s):
    """Close with SO_LINGER 0, so the peer gets a RST instead of a FIN."""
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                 struct.pack("ii", 1, 0))
    s.close()


def wait_closed(s, limit=None):
    """Read until the peer closes. Returns (closed, nbytes, elapsed_s);
    closed is False when limit seconds passed first."""
    limit = OPTS.timeout if limit is None else limit
    t0 = now()
    n = 0
    while True:
        left = limit - (now() - t0)
        if left <= 0:
            return False, n, now() - t0
        s.settimeout(left)
        try:
            b = s.recv(65536)
        except socket.timeout:
            return False, n, now() - t0
        except (ConnectionResetError, ConnectionAbortedError):
            return True, n, now() - t0
        if not b:
            return True, n, now() - t0
        n += len(b)


def tls_context():
    ctx = ssl.create_default_context(cafile=OPTS.ca) if OPTS.ca else \
        ssl.create_default_context()
    if not OPTS.ca:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    return ctx


def mqtt_connect_packet(client_id, keepalive=60):
    cid = client_id.encode()
    var = b"\x00\x04MQTT\x04\x02" + struct.pack(">H", keepalive)
    payload = struct.pack(">H", len(cid)) + cid
    body = var + payload
    assert len(body) < 128
    return bytes([0x10, len(body)]) + body


def recv_exact(s, n):
    buf = b""
    while len(buf) < n:
        b = s.recv(n - len(buf))
        if not b:
            raise EOFError("connection closed after %d of %d bytes"
                           % (len(buf), n))
        buf += b
    return buf


def tls_mqtt(host, port, keepalive=60):
    """TLS handshake + MQTT CONNECT; returns the SSL socket after a good
    CONNACK."""
    raw = tcp(host, port)
    ctx = tls_context()
    s = ctx.wrap_socket(raw, server_hostname="localhost")
    s.settimeout(OPTS.timeout)
    cid = "abuse-%d-%d" % (os.getpid(), random.randrange(1 << 30))
    s.sendall(mqtt_connect_packet(cid, keepalive))
    ack = recv_exact(s, 4)
    if ack != b"\x20\x02\x00\x00":
        raise RuntimeError("bad CONNACK %r" % ack)
    return s


def client_hello():
    """The first flight of a real TLS client, taken from a memory BIO."""
    ctx = tls_context()
    inc, outg = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(inc, outg, server_hostname="localhost")
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return outg.read()


def garbage_bytes(size):
    b = bytearray(os.urandom(size))
    # Never a TLS record type (0x14..0x18) or an SSLv2-style header (high
    # bit), so that the server fails at once instead of waiting for more.
    b[0] = random.choice([c for c in range(0x20, 0x7f)])
    return bytes(b)


# ------------------------------------------------------------ clients


def cmd_garbage(a):
    size = int(a.args[0]) if a.args else 512
    s = tcp(a.host, a.port)
    try:
        s.sendall(garbage_bytes(size))
    except (BrokenPipeError, ConnectionResetError):
        pass
    closed, n, el = wait_closed(s)
    s.close()
    out(closed=int(closed), received=n, elapsed_ms=int(el * 1000))
    return 0 if closed else 1


def cmd_raw(a):
    with open(a.args[0], "rb") as f:
        data = f.read()
    s = tcp(a.host, a.port)
    try:
        s.sendall(data)
    except (BrokenPipeError, ConnectionResetError):
        pass
    closed, n, el = wait_closed(s)
    s.close()
    out(closed=int(closed), received=n, elapsed_ms=int(el * 1000))
    return 0 if closed else 1


def cmd_silent(a):
    s = tcp(a.host, a.port)
    out(port=s.getsockname()[1])
    closed, n, el = wait_closed(s)
    s.close()
    out(closed=int(closed), received=n, elapsed_ms=int(el * 1000))
    return 0 if closed else 1


def cmd_halfhello(a):
    hello = client_hello()
    s = tcp(a.host, a.port)
    out(port=s.getsockname()[1], hello_len=len(hello))
    s.sendall(hello[:len(hello) // 2])
    # Let the server read the fragment before the reset arrives.
    select.select([s], [], [], 0.2)
    rst_close(s)
    return 0


def cmd_rstafter(a):
    s = tls_mqtt(a.host, a.port)
    out(port=s.getsockname()[1], connack=1)
    # Python's SSLSocket.close() sends no close_notify; with linger 0 the
    # kernel sends a RST.
    rst_close(s)
    return 0


def cmd_bighello(a):
    size = int(a.args[0])
    # Record header: handshake, TLS 1.0, max length; handshake header:
    # ClientHello claiming (size - 9) bytes, capped to 24 bits; then junk
    # records of the same shape.
    msg_len = min(size - 9, 0xFFFFFF)
    head = b"\x16\x03\x01\x40\x00" + b"\x01" + msg_len.to_bytes(3, "big") + \
        b"\x03\x03"
    chunk = os.urandom(16384)
    s = tcp(a.host, a.port)
    sent = 0
    closed = False
    result = {}

    def reader():
        c, n, el = wait_closed(s)
        result.update(closed=c, n=n)

    t = threading.Thread(target=reader, daemon=True)
    t.start()
    try:
        s.sendall(head)
        sent = len(head)
        while sent < size:
            piece = chunk[:min(len(chunk), size - sent)]
            s.sendall(piece)
            sent += len(piece)
    except (BrokenPipeError, ConnectionResetError, socket.timeout):
        pass
    t.join(OPTS.timeout)
    closed = result.get("closed", False)
    s.close()
    out(closed=int(closed), sent=sent)
    return 0 if closed else 1


def one_bad(kind, host, port, hello):
    """One bad connection of the given kind; True when it ended as
    expected (closed by the server, or reset by us)."""
    try:
        s = tcp(host, port)
    except OSError:
        return False
    try:
        if kind == "garbage":
            try:
                s.sendall(garbage_bytes(random.randrange(1, 2048)))
            except (BrokenPipeError, ConnectionResetError):
                pass
            return wait_closed(s)[0]
        if kind == "rst":
            rst_close(s)
            return True
        if kind == "halfrst":
            s.sendall(hello[:random.randrange(1, len(hello))])
            rst_close(s)
            return True
        if kind == "silent":
            return wait_closed(s)[0]
        if kind == "fin":
            s.sendall(hello[:len(hello) // 2])
            s.shutdown(socket.SHUT_WR)
            return wait_closed(s)[0]
        raise ValueError(kind)
    finally:
        try:
            s.close()
        except OSError:
            pass


def cmd_mix(a):
    n, conc = int(a.args[0]), int(a.args[1])
    kinds = ["garbage", "rst", "halfrst", "silent", "fin"]
    hello = client_hello()
    plan = [kinds[i % len(kinds)] for i in range(n)]
    random.shuffle(plan)
    lock = threading.Lock()
    good = {k: 0 for k in kinds}
    bad = {k: 0 for k in kinds}
    idx = [0]

    def worker():
        while True:
            with lock:
                if idx[0] >= len(plan):
                    return
                k = plan[idx[0]]
                idx[0] += 1
            r = one_bad(k, a.host, a.port, hello)
            with lock:
                (good if r else bad)[k] += 1

    ts = [threading.Thread(target=worker) for _ in range(conc)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    out(total=n, ok=sum(good.values()), failed=sum(bad.values()),
        **{"ok_" + k: good[k] for k in kinds})
    return 0 if sum(bad.values()) == 0 else 1


def cmd_hold(a):
    n = int(a.args[0])
    socks = []
    for i in range(n):
        try:
            socks.append(tls_mqtt(a.host, a.port))
        except (OSError, EOFError, RuntimeError, ssl.SSLError) as e:
            out(held=len(socks), error="%s" % str(e).replace(" ", "_"))
            return 1
    out(held=len(socks),
        ports=",".join(str(s.getsockname()[1]) for s in socks))
    # Stay until killed (SIGTERM ends the process; the kernel closes the
    # sockets) or the lifetime alarm fires.
    while True:
        time.sleep(3600)


def cmd_refused(a):
    n = int(a.args[0])
    socks = []
    failed_connect = 0
    for i in range(n):
        try:
            socks.append(tcp(a.host, a.port))
        except OSError:
            failed_connect += 1
    closed = 0
    data = 0
    for s in socks:
        c, nb, el = wait_closed(s)
        closed += int(c)
        data += nb
        s.close()
    out(connected=len(socks), connect_failed=failed_connect, closed=closed,
        bytes=data)
    return 0 if closed == len(socks) and data == 0 else 1


def cmd_tlsfail(a):
    raw = tcp(a.host, a.port)
    ctx = tls_context()
    try:
        s = ctx.wrap_socket(raw, server_hostname="localhost")
    except (ssl.SSLError, OSError) as e:
        out(handshake=0, error=type(e).__name__)
        return 0
    s.close()
    out(handshake=1)
    return 1


def cmd_idle(a):
    s = tls_mqtt(a.host, a.port, keepalive=600)
    out(port=s.getsockname()[1])
    t0 = now()
    closed = False
    while now() - t0 < OPTS.timeout:
        s.settimeout(max(0.01, OPTS.timeout - (now() - t0)))
        try:
            b = s.recv(4096)
        except socket.timeout:
            break
        except (ssl.SSLError, OSError):
            closed = True
            break
        if not b:
            closed = True
            break
    el = now() - t0
    s.close()
    out(closed=int(closed), elapsed_ms=int(el * 1000))
    return 0 if closed else 1


def cmd_chatty(a):
    interval, duration = float(a.args[0]), float(a.args[1])
    s = tls_mqtt(a.host, a.port, keepalive=600)
    out(port=s.getsockname()[1])
    t0 = now()
    pings = 0
    try:
        while now() - t0 < duration:
            time.sleep(interval)
            s.sendall(b"\xc0\x00")
            if recv_exact(s, 2) != b"\xd0\x00":
                raise RuntimeError("no PINGRESP")
            pings += 1
        s.sendall(b"\xe0\x00")
    except (OSError, EOFError, RuntimeError, ssl.SSLError) as e:
        out(pings=pings, error=type(e).__name__,
            elapsed_ms=int((now() - t0) * 1000))
        return 1
    out(pings=pings, elapsed_ms=int((now() - t0) * 1000))
    s.close()
    return 0


# ------------------------------------------------------------ upstreams


def cmd_fakeup(a):
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((a.host, a.port))
    ls.listen(16)
    out(listening=1)
    while True:
        c, _ = ls.accept()
        c.settimeout(OPTS.timeout)
        try:
            b = c.recv(4096)
            out(accepted=1, first_bytes=len(b))
        except OSError:
            pass
        c.close()


def cmd_blackhole(a):
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((a.host, a.port))
    ls.listen(0)
    # Fill the accept queue (Linux queues backlog + 1), then check that one
    # more connect hangs: its SYN is dropped while the queue is full.
    fillers = []
    for i in range(8):
        f = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        f.setblocking(False)
        try:
            f.connect((a.host, a.port))
        except BlockingIOError:
            pass
        fillers.append(f)
        _, w, _ = select.select([], [f], [], 0.5)
        if not w:
            out(ready=1, queued=len(fillers) - 1)
            while True:
                time.sleep(3600)
    out(ready=0, queued=len(fillers))
    return 1


CMDS = {
    "garbage": cmd_garbage, "raw": cmd_raw, "silent": cmd_silent,
    "halfhello": cmd_halfhello, "rstafter": cmd_rstafter,
    "bighello": cmd_bighello, "mix": cmd_mix, "hold": cmd_hold,
    "refused": cmd_refused, "tlsfail": cmd_tlsfail, "idle": cmd_idle,
    "chatty": cmd_chatty, "fakeup": cmd_fakeup, "blackhole": cmd_blackhole,
}


def main():
    global OPTS
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--ca", help="CA file to verify the server with")
    p.add_argument("--timeout", type=float, default=10.0,
                   help="bound on every wait, seconds")
    p.add_argument("--lifetime", type=int, default=300,
                   help="exit after this many seconds whatever happens")
    p.add_argument("cmd", choices=sorted(CMDS))
    p.add_argument("host")
    p.add_argument("port", type=int)
    p.add_argument("args", nargs="*")
    OPTS = p.parse_args()
    die_with_parent()
    signal.signal(signal.SIGALRM, lambda *x: os._exit(3))
    signal.alarm(OPTS.lifetime)
    signal.signal(signal.SIGTERM, lambda *x: os._exit(0))
    try:
        return CMDS[OPTS.cmd](OPTS)
    except (OSError, EOFError, RuntimeError, ssl.SSLError) as e:
        out(error=type(e).__name__, message=str(e).replace(" ", "_"))
        return 2


if __name__ == "__main__":
    sys.exit(main())
