#!/usr/bin/env python3
"""pp_send.py: both sides of PROXY protocol input tests (t_proxy_in.sh).

  pp_send.py [--timeout S] [--lifetime S] client HOST PORT [OPTIONS]
  pp_send.py [--timeout S] [--lifetime S] recv HOST PORT

client: connect to mqgate (optionally from --bind ADDR), send a PROXY
header built from the options (or a raw ClientHello, or nothing), then
either run TLS + MQTT 3.1.1 CONNECT and wait for the CONNACK (--tls), or
just wait for the server to close. Prints one line:
  port=LOCALPORT result=connack|closed|timeout|reset got=N elapsed_ms=N hdr_len=N
got counts the raw bytes the server sent; elapsed_ms runs from the last
byte sent to the close (or the CONNACK). Exit 0 when result is --want.

Header options:
  --v2 proxy|local        a v2 header; --fam tcp4|tcp6|unix|unspec,
                          --src/--dst ADDR, --sport/--dport N
  --tlv TYPE=HEX          a TLV (TYPE 0x.. or decimal), repeatable
  --crc good|bad          append a CRC32C TLV (right or wrong value)
  --ver-cmd 0xNN          override byte 12 (version/command)
  --fam-byte 0xNN         override byte 13 (family/transport)
  --len N                 override the length field (bytes after the first
                          16); the bytes sent are still the real ones
  --pad-to N              add a NOOP TLV so that the header is N bytes
  --send N                send only the first N bytes of the header
  --v1 TEXT               a v1 line; CRLF appended
  --hex HEX               these bytes as the header
  --raw-hello             no header: a TLS ClientHello in the clear
  --split MS              send the header one byte per write, MS ms apart
  --same-write            header and ClientHello in one write (with --tls)
  --rst                   reset the connection (SO_LINGER 0) right after
                          sending; result=reset
  --tls                   TLS (verified against --ca, SNI localhost) and
                          MQTT CONNECT/CONNACK/DISCONNECT after the header

recv: a fake upstream broker on HOST:PORT. For each connection it reads a
PROXY header (v1 or v2), prints one line
  hdr ver=2 cmd=proxy|local fam=tcp4|tcp6|unix|unspec src=A sport=N dst=A
      dport=N crc=ok|bad|none tlvs=TT:HEX,... next=HEX
(v1: ver=1 fam=tcp4|tcp6|unknown ...; no header: "nohdr first=HEX"),
where next is the first byte after the header, then answers an MQTT
CONNECT with a CONNACK and reads until EOF. Prints listening=1 when ready.

Stdlib only; every wait is bounded; only its own sockets.
"""

import argparse
import ctypes
import ipaddress
import os
import signal
import socket
import ssl
import struct
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import wire  # noqa: E402

CONNECT = wire.connect("t", keepalive=10)


def out(line):
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def die_with_parent():
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM, 0, 0, 0)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def num(s):
    return int(s, 0)


# ------------------------------------------------------------ header

def build_v2(o):
    cmd = 0x21 if o.v2 == "proxy" else 0x20
    if o.ver_cmd is not None:
        cmd = o.ver_cmd
    fam = wire.FAMILY_BYTES[o.fam] if o.fam_byte is None else o.fam_byte
    body = wire.v2_addrs(o.fam, o.src, o.dst, o.sport, o.dport)
    for t in o.tlv:
        k, _, v = t.partition("=")
        body += wire.tlv(num(k), bytes.fromhex(v))
    try:
        return wire.build_v2(cmd, fam, body, crc=o.crc, length=o.len,
                             pad_to=o.pad_to)
    except ValueError:
        sys.exit("--pad-to too small")


def build_header(o):
    if o.hex:
        h = bytes.fromhex(o.hex)
    elif o.v2:
        h = build_v2(o)
    elif o.v1 is not None:
        h = o.v1.encode() + b"\r\n"
    else:
        h = b""
    if o.send is not None:
        h = h[:o.send]
    return h


# ------------------------------------------------------------ client

class Closed(Exception):
    pass


class Conn:
    """A socket with a deadline; counts what the server sent."""

    def __init__(self, sock, deadline):
        self.s = sock
        self.deadline = deadline
        self.got = 0

    def recv(self):
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise socket.timeout()
        self.s.settimeout(left)
        try:
            d = self.s.recv(65536)
        except (ConnectionResetError, BrokenPipeError):
            raise Closed("rst")
        if not d:
            raise Closed("eof")
        self.got += len(d)
        return d

    def send(self, data):
        try:
            self.s.sendall(data)
        except (ConnectionResetError, BrokenPipeError):
            raise Closed("rst")


def send_split(c, data, ms):
    for i in range(len(data)):
        c.send(data[i:i + 1])
        time.sleep(ms / 1000.0)


def tls_pump(c, obj, outgoing, incoming, step):
    """Run step() until it stops asking for data; flush output each time."""
    while True:
        try:
            r = step()
            data = outgoing.read()
            if data:
                c.send(data)
            return r
        except ssl.SSLWantReadError:
            data = outgoing.read()
            if data:
                c.send(data)
            try:
                incoming.write(c.recv())
            except Closed:
                incoming.write_eof()
                raise


def client(o):
    family = socket.AF_INET6 if ":" in o.host else socket.AF_INET
    s = socket.socket(family, socket.SOCK_STREAM)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    if o.bind:
        s.bind((o.bind, 0))
    s.settimeout(o.timeout)
    s.connect((o.host, o.port))
    port = s.getsockname()[1]
    deadline = time.monotonic() + o.timeout
    c = Conn(s, deadline)
    hdr = build_header(o)
    result = "timeout"
    err = "-"
    t_sent = time.monotonic()
    obj = incoming = outgoing = None
    t_done = None
    try:
        hello = b""
        if o.tls or o.raw_hello:
            ctx = ssl.create_default_context(cafile=o.ca)
            incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
            obj = ctx.wrap_bio(incoming, outgoing, server_hostname="localhost")
            try:
                obj.do_handshake()
            except ssl.SSLWantReadError:
                pass
            hello = outgoing.read()
        if o.raw_hello:
            c.send(hello)
        elif o.same_write:
            c.send(hdr + hello)
        else:
            if o.split:
                send_split(c, hdr, o.split)
            elif hdr:
                c.send(hdr)
            if o.tls:
                c.send(hello)
        t_sent = time.monotonic()
        if o.rst:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                         struct.pack("ii", 1, 0))
            result = "reset"
        elif o.tls:
            tls_pump(c, obj, outgoing, incoming, obj.do_handshake)
            obj.write(CONNECT)
            c.send(outgoing.read())
            buf = b""
            while len(buf) < 4:
                d = tls_pump(c, obj, outgoing, incoming,
                             lambda: obj.read(4 - len(buf)))
                if not d:
                    raise Closed("tls_eof")
                buf += d
            if buf[0] != 0x20:
                err = "not_connack:" + buf.hex()
                raise Closed("bad")
            result = "connack"
            t_done = time.monotonic()
            obj.write(wire.DISCONNECT)
            try:
                obj.unwrap()
            except (ssl.SSLWantReadError, ssl.SSLError):
                pass
            c.send(outgoing.read())
            try:
                s.shutdown(socket.SHUT_WR)
                c.deadline = min(c.deadline, time.monotonic() + 2)
                while True:
                    c.recv()
            except (Closed, OSError):
                pass
        else:
            while True:
                c.recv()
    except Closed as e:
        result = "closed"
        err = str(e)
    except ssl.SSLError as e:
        result = "closed"
        err = "ssl:" + (e.reason or str(e)).replace(" ", "_")
    except socket.timeout:
        result = "timeout"
    except OSError as e:
        result = "closed"
        err = "oserror:%d" % (e.errno or 0)
    elapsed = int(((t_done or time.monotonic()) - t_sent) * 1000)
    s.close()
    out("port=%d result=%s got=%d elapsed_ms=%d hdr_len=%d err=%s" %
        (port, result, c.got, elapsed, len(hdr), err))
    return 0 if o.want is None or o.want == result else 1


# ------------------------------------------------------------ receiver

def ntop(fam, b):
    return str(ipaddress.ip_address(b)) if fam else b.rstrip(b"\0").decode(
        "ascii", "replace")


def parse_header(buf):
    """Return (line, header length), (None, 0) when more is needed, or
    ("nohdr ...", -1) when buf does not start with a header."""
    n = wire.header_len(buf, v1_max=108)
    if n == 0:
        return (None, 0)
    if n < 0:
        if buf.startswith(b"PROXY "):
            return ("nohdr v1_too_long", -1)
        return ("nohdr first=%s" % buf[:16].hex(), -1)
    h = wire.parse_header(buf[:n], strict_family=True)
    if h.v1:
        w = h.words
        if w[1] == "UNKNOWN":
            return ("hdr ver=1 fam=unknown", n)
        if len(w) != 6:
            return ("nohdr v1_bad=%s" % "_".join(w), -1)
        return ("hdr ver=1 fam=%s src=%s sport=%s dst=%s dport=%s" %
                (w[1].lower(), h.src, h.sport, h.dst, h.dport), n)
    cmd = {0x21: "proxy", 0x20: "local"}.get(h.ver_cmd, "0x%02x" % h.ver_cmd)
    if h.af:
        famname = h.family.lower()
    else:
        famname = "unspec" if h.fam_byte == 0 else "0x%02x" % h.fam_byte
    f = ""
    if h.af == 3:
        f = "src=%s dst=%s" % (ntop(0, h.src_raw), ntop(0, h.dst_raw))
    elif h.af:
        f = "src=%s sport=%d dst=%s dport=%d" % (
            ntop(h.af, h.src_raw), h.sport, ntop(h.af, h.dst_raw), h.dport)
    tlvs = []
    crc = "none"
    for t in h.tlvs:
        if t.type == wire.PP2_TYPE_CRC32C and len(t.value) == 4 \
                and not t.truncated:
            crc = "ok" if t.crc_ok else "bad"
        tlvs.append("%02X:%s" % (t.type, t.value.hex()))
    if h.overrun:
        tlvs.append("OVERRUN")
    return ("hdr ver=2 cmd=%s fam=%s %s crc=%s tlvs=%s" %
            (cmd, famname, f, crc, ",".join(tlvs) or "-"), n)


def serve_one(s, timeout, lock):
    s.settimeout(timeout)
    buf = b""
    line = None
    hlen = 0
    try:
        while True:
            if line is None:
                line, hlen = parse_header(buf)
                if line is not None and hlen < 0:
                    with lock:
                        out(line)
                    return
            if line is not None and len(buf) > hlen:
                with lock:
                    out("%s next=%02X" % (line, buf[hlen]))
                break
            d = s.recv(65536)
            if not d:
                if line is not None:
                    with lock:
                        out("%s next=-" % line)
                return
            buf += d
        rest = buf[hlen:]
        while True:
            try:
                p = wire.split_packet(rest)
            except ValueError:  # > 4 length bytes: never complete
                p = None
            if p:
                if p[0] >> 4 == 1:
                    s.sendall(b"\x20\x02\x00\x00")
                elif p[0] >> 4 == 12:
                    s.sendall(b"\xd0\x00")
                rest = p[2]
                continue
            d = s.recv(65536)
            if not d:
                return
            rest += d
    except OSError:
        pass
    finally:
        s.close()


def recv(o):
    ls = wire.listen(o.host, o.port, 64)
    lock = threading.Lock()
    out("listening=1")
    end = time.monotonic() + o.lifetime
    while time.monotonic() < end:
        ls.settimeout(max(0.1, end - time.monotonic()))
        try:
            s, _ = ls.accept()
        except socket.timeout:
            break
        threading.Thread(target=serve_one, args=(s, o.timeout, lock),
                         daemon=True).start()
    return 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--timeout", type=float, default=10)
    ap.add_argument("--lifetime", type=float, default=300)
    ap.add_argument("--ca")
    ap.add_argument("--bind")
    ap.add_argument("--v2", choices=["proxy", "local"])
    ap.add_argument("--fam", choices=list(wire.FAMILY_BYTES), default="tcp4")
    ap.add_argument("--src", default="127.0.0.1")
    ap.add_argument("--dst", default="127.0.0.1")
    ap.add_argument("--sport", type=int, default=1)
    ap.add_argument("--dport", type=int, default=1)
    ap.add_argument("--tlv", action="append", default=[])
    ap.add_argument("--crc", choices=["good", "bad"])
    ap.add_argument("--ver-cmd", type=num)
    ap.add_argument("--fam-byte", type=num)
    ap.add_argument("--len", type=int)
    ap.add_argument("--pad-to", type=int)
    ap.add_argument("--send", type=int)
    ap.add_argument("--v1")
    ap.add_argument("--hex")
    ap.add_argument("--raw-hello", action="store_true")
    ap.add_argument("--split", type=float)
    ap.add_argument("--same-write", action="store_true")
    ap.add_argument("--tls", action="store_true")
    ap.add_argument("--rst", action="store_true")
    ap.add_argument("--want", choices=["connack", "closed", "timeout",
                                       "reset"])
    ap.add_argument("cmd", choices=["client", "recv"])
    ap.add_argument("host")
    ap.add_argument("port", type=int)
    o = ap.parse_args()
    if o.same_write:
        o.tls = True
    if (o.tls or o.raw_hello) and not o.ca:
        ap.error("--ca is needed for TLS")
    die_with_parent()
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    return client(o) if o.cmd == "client" else recv(o)


if __name__ == "__main__":
    sys.exit(main())
