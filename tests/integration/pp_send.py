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

SIG = b"\r\n\r\n\x00\r\nQUIT\n"
CONNECT = bytes.fromhex("100d00044d5154540402000a000174")
DISCONNECT = b"\xe0\x00"


def out(line):
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def die_with_parent():
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM, 0, 0, 0)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def crc32c(data, crc=0):
    crc ^= 0xFFFFFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


def num(s):
    return int(s, 0)


# ------------------------------------------------------------ header

FAMS = {"unspec": 0x00, "tcp4": 0x11, "tcp6": 0x21, "unix": 0x31}


def addr_bytes(fam, a, port_src, b, port_dst):
    if fam == "tcp4":
        return (ipaddress.IPv4Address(a).packed +
                ipaddress.IPv4Address(b).packed +
                struct.pack("!HH", port_src, port_dst))
    if fam == "tcp6":
        return (ipaddress.IPv6Address(a).packed +
                ipaddress.IPv6Address(b).packed +
                struct.pack("!HH", port_src, port_dst))
    if fam == "unix":
        return a.encode().ljust(108, b"\0") + b.encode().ljust(108, b"\0")
    return b""


def tlv(t, v):
    return bytes([t]) + struct.pack("!H", len(v)) + v


def build_v2(o):
    cmd = 0x21 if o.v2 == "proxy" else 0x20
    if o.ver_cmd is not None:
        cmd = o.ver_cmd
    fam = FAMS[o.fam] if o.fam_byte is None else o.fam_byte
    body = addr_bytes(o.fam, o.src, o.sport, o.dst, o.dport)
    for t in o.tlv:
        k, _, v = t.partition("=")
        body += tlv(num(k), bytes.fromhex(v))
    if o.pad_to:
        extra = 7 if o.crc else 0
        n = o.pad_to - 16 - len(body) - extra - 3
        if n < 0:
            sys.exit("--pad-to too small")
        body += tlv(0x04, b"\0" * n)
    crc_at = None
    if o.crc:
        crc_at = 16 + len(body) + 3
        body += tlv(0x03, b"\0\0\0\0")
    length = len(body) if o.len is None else o.len
    hdr = bytearray(SIG + bytes([cmd, fam]) + struct.pack("!H", length) + body)
    if crc_at is not None:
        c = crc32c(bytes(hdr))
        if o.crc == "bad":
            c ^= 0x1
        hdr[crc_at:crc_at + 4] = struct.pack("!I", c)
    return bytes(hdr)


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
            obj.write(DISCONNECT)
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
    ("nohdr ...", 0) when buf does not start with a header."""
    if buf.startswith(b"PROXY "):
        i = buf.find(b"\r\n")
        if i < 0:
            return (None, 0) if len(buf) < 108 else ("nohdr v1_too_long", -1)
        w = buf[:i].decode("ascii", "replace").split(" ")
        if w[1] == "UNKNOWN":
            return ("hdr ver=1 fam=unknown", i + 2)
        if len(w) != 6:
            return ("nohdr v1_bad=%s" % "_".join(w), -1)
        return ("hdr ver=1 fam=%s src=%s sport=%s dst=%s dport=%s" %
                (w[1].lower(), w[2], w[4], w[3], w[5]), i + 2)
    if len(buf) < 16:
        if SIG.startswith(buf[:12]) or b"PROXY ".startswith(buf[:6]):
            return (None, 0)
        return ("nohdr first=%s" % buf[:16].hex(), -1)
    if buf[:12] != SIG:
        return ("nohdr first=%s" % buf[:16].hex(), -1)
    vc, fb = buf[12], buf[13]
    length = struct.unpack("!H", buf[14:16])[0]
    if len(buf) < 16 + length:
        return (None, 0)
    h = buf[:16 + length]
    cmd = {0x21: "proxy", 0x20: "local"}.get(vc, "0x%02x" % vc)
    famname = {0x11: "tcp4", 0x21: "tcp6", 0x31: "unix", 0x00: "unspec"}.get(
        fb, "0x%02x" % fb)
    p = 16
    f = ""
    if famname == "tcp4":
        f = "src=%s sport=%d dst=%s dport=%d" % (
            ntop(4, h[16:20]), struct.unpack("!H", h[24:26])[0],
            ntop(4, h[20:24]), struct.unpack("!H", h[26:28])[0])
        p = 28
    elif famname == "tcp6":
        f = "src=%s sport=%d dst=%s dport=%d" % (
            ntop(6, h[16:32]), struct.unpack("!H", h[48:50])[0],
            ntop(6, h[32:48]), struct.unpack("!H", h[50:52])[0])
        p = 52
    elif famname == "unix":
        f = "src=%s dst=%s" % (ntop(0, h[16:124]), ntop(0, h[124:232]))
        p = 232
    tlvs = []
    crc = "none"
    while p + 3 <= len(h):
        t = h[p]
        n = struct.unpack("!H", h[p + 1:p + 3])[0]
        v = h[p + 3:p + 3 + n]
        if t == 0x03 and n == 4:
            z = bytearray(h)
            z[p + 3:p + 7] = b"\0\0\0\0"
            crc = "ok" if crc32c(bytes(z)) == struct.unpack("!I", v)[0] \
                else "bad"
        tlvs.append("%02X:%s" % (t, v.hex()))
        p += 3 + n
    if p != len(h):
        tlvs.append("OVERRUN")
    return ("hdr ver=2 cmd=%s fam=%s %s crc=%s tlvs=%s" %
            (cmd, famname, f, crc, ",".join(tlvs) or "-"), len(h))


def mqtt_packet_len(buf):
    """Length of the first complete MQTT packet in buf, or 0."""
    mult, n, i = 1, 0, 1
    while i < len(buf) and i <= 4:
        b = buf[i]
        n += (b & 0x7F) * mult
        mult *= 128
        i += 1
        if not b & 0x80:
            return i + n if len(buf) >= i + n else 0
    return 0


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
            n = mqtt_packet_len(rest)
            if n:
                if rest[0] >> 4 == 1:
                    s.sendall(b"\x20\x02\x00\x00")
                elif rest[0] >> 4 == 12:
                    s.sendall(b"\xd0\x00")
                rest = rest[n:]
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
    family = socket.AF_INET6 if ":" in o.host else socket.AF_INET
    ls = socket.socket(family, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((o.host, o.port))
    ls.listen(64)
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
    ap.add_argument("--fam", choices=list(FAMS), default="tcp4")
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
