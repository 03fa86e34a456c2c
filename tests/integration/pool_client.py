#!/usr/bin/env python3
"""pool_client.py: MQTT 3.1.1 clients and a mute broker for t_pool.sh.

  conn --port P --ca CA [--host H] [--threads N] [--timeout S] ITEM...
      One TLS connection per ITEM: CONNECT (clean session, keepalive 0)
      with the item's client id, wait for CONNACK, send DISCONNECT, close.
      ITEM is ID or ID@SRC: SRC is the local address to connect from
      (e.g. 127.0.0.12); an empty ID ("@127.0.0.12") sends an empty
      client id. Items come from the arguments and, with --file F, from F
      (one a line). Prints one line per item, in item order:
          ITEM connack=0xNN          the broker answered
          ITEM error=WORD            no CONNACK: closed, timeout, refused...
      then "summary items=N ok=N failed=N" where ok counts CONNACK 0x00.
      Exit status 0 when every item got CONNACK 0x00, else 1.

  hold --port P --ca CA [--host H] [--timeout S] --id ID
      One connection as above that stays open (keepalive 0: no PINGREQ is
      needed): prints "connack=0xNN" once answered, then waits. It prints
      "closed" and exits 3 when the other side closes; SIGTERM ends it
      quietly (exit 0) by closing the socket.

  mute --port P [--host H] [--reply HEX]
      A "broker" that accepts TCP, reads whatever comes and never answers
      (with --reply: answers every CONNECT with the bytes HEX, such as a
      CONNACK refusing it, and nothing else). Prints "listening" once
      bound, then "connect id=ID" for every MQTT CONNECT it reads (the
      client id parsed from it) and "eof" when a client closes.

stdlib only (and wire.py); every client wait is bounded by --timeout
(default 10 s).
"""

import argparse
import os
import select
import signal
import socket
import ssl
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import wire  # noqa: E402


def recv_exact(s, n):
    buf = b""
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            raise EOFError
        buf += chunk
    return buf


def tls_context(ca):
    ctx = ssl.create_default_context(cafile=ca)
    ctx.check_hostname = False  # the point here is the pool, not the name
    return ctx


def open_client(args, ctx, client_id, src):
    """Connect, CONNECT, read CONNACK. Returns (socket, "connack=0xNN")."""
    raw = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    raw.settimeout(args.timeout)
    try:
        if src:
            raw.bind((src, 0))
        raw.connect((args.host, args.port))
        s = ctx.wrap_socket(raw, server_hostname=args.host)
    except Exception:
        raw.close()
        raise
    try:
        s.sendall(wire.connect(client_id, keepalive=0))
        hdr = recv_exact(s, 2)
        if hdr[0] != 0x20 or hdr[1] != 2:
            raise ValueError("not-connack")
        body = recv_exact(s, 2)
    except Exception:
        s.close()
        raise
    return s, "connack=0x%02x" % body[1]


def err_word(e):
    if isinstance(e, EOFError):
        return "closed"
    if isinstance(e, (socket.timeout, TimeoutError)):
        return "timeout"
    if isinstance(e, ConnectionRefusedError):
        return "refused"
    if isinstance(e, ConnectionResetError):
        return "reset"
    if isinstance(e, ssl.SSLError):
        return "tls:" + (e.reason or "error").lower()
    if isinstance(e, ValueError):
        return str(e)
    return type(e).__name__.lower()


def cmd_conn(args):
    items = list(args.items)
    if args.file:
        with open(args.file) as f:
            items += [line.rstrip("\n") for line in f if line.strip()]
    ctx = tls_context(args.ca)
    results = [None] * len(items)
    lock = threading.Lock()
    nxt = [0]

    def worker():
        while True:
            with lock:
                i = nxt[0]
                nxt[0] += 1
            if i >= len(items):
                return
            cid, _, src = items[i].partition("@")
            try:
                s, res = open_client(args, ctx, cid, src)
                try:
                    s.sendall(wire.DISCONNECT)
                except Exception:
                    pass
                s.close()
            except Exception as e:  # noqa: BLE001 - reported, not raised
                res = "error=" + err_word(e)
            results[i] = res

    threads = [threading.Thread(target=worker)
               for _ in range(max(1, min(args.threads, len(items) or 1)))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ok = 0
    for item, res in zip(items, results):
        print("%s %s" % (item, res))
        ok += res == "connack=0x00"
    print("summary items=%d ok=%d failed=%d" % (len(items), ok,
                                                len(items) - ok))
    return 0 if ok == len(items) else 1


def cmd_hold(args):
    stop = [False]

    def on_term(_sig, _frm):
        stop[0] = True

    signal.signal(signal.SIGTERM, on_term)
    ctx = tls_context(args.ca)
    try:
        s, res = open_client(args, ctx, args.id, None)
    except Exception as e:  # noqa: BLE001
        print("error=" + err_word(e), flush=True)
        return 1
    print(res, flush=True)
    s.setblocking(False)
    while not stop[0]:
        try:
            r, _, _ = select.select([s], [], [], 0.2)
        except InterruptedError:
            continue
        if not r:
            continue
        try:
            data = s.recv(4096)
        except (ssl.SSLWantReadError, BlockingIOError):
            continue
        except Exception:  # noqa: BLE001
            data = b""
        if not data:
            print("closed", flush=True)
            return 3
    s.close()
    return 0


def cmd_mute(args):
    ls = wire.listen(args.host, args.port, 64)
    print("listening", flush=True)
    conns = {}
    while True:
        r, _, _ = select.select([ls] + list(conns), [], [])
        for s in r:
            if s is ls:
                c, _ = ls.accept()
                conns[c] = b""
                continue
            try:
                data = s.recv(4096)
            except OSError:
                data = b""
            if not data:
                print("eof", flush=True)
                conns.pop(s, None)
                s.close()
                continue
            if conns[s] is None:
                continue  # its CONNECT was reported already
            buf = conns[s] + data
            conns[s] = buf
            cid = parse_connect_id(buf)
            if cid is not None:
                print("connect id=%s" % cid, flush=True)
                conns[s] = None
                if args.reply:
                    try:
                        s.sendall(bytes.fromhex(args.reply))
                    except OSError:
                        pass


def parse_connect_id(buf):
    """The client id of an MQTT 3.1.1 CONNECT at the start of buf, or None
    while it is incomplete (or not one)."""
    try:
        p = wire.split_packet(buf)
    except ValueError:
        return None
    if p is None or p[0] != 0x10:
        return None
    body = p[1]
    i = 2 + int.from_bytes(body[:2], "big") + 4  # name, level, flags, ka
    n = int.from_bytes(body[i:i + 2], "big")
    return body[i + 2:i + 2 + n].decode("utf-8", "replace")


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    for name in ("conn", "hold", "mute"):
        p = sub.add_parser(name)
        p.add_argument("--host", default="127.0.0.1")
        p.add_argument("--port", type=int, required=True)
        p.add_argument("--timeout", type=float, default=10.0)
        if name != "mute":
            p.add_argument("--ca", required=True)
        if name == "conn":
            p.add_argument("--threads", type=int, default=1)
            p.add_argument("--file")
            p.add_argument("items", nargs="*")
        if name == "hold":
            p.add_argument("--id", required=True)
        if name == "mute":
            p.add_argument("--reply")
    args = ap.parse_args()
    return {"conn": cmd_conn, "hold": cmd_hold, "mute": cmd_mute}[args.cmd](
        args)


if __name__ == "__main__":
    sys.exit(main())
