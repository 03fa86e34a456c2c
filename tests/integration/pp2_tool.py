#!/usr/bin/env python3
"""pp2_tool.py: PROXY protocol helpers for t_proxy_out.sh (stdlib only).

It receives, records, decodes and sends PROXY protocol headers (HAProxy's
doc/proxy-protocol.txt), runs tshark on what it recorded, and plays a TLS
MQTT client that reports what it used. It only speaks to loopback ports it
is given and owns nothing but its sockets and the files it is told to write.

  recv --port P [--host H] --dir D [--forward PORT] [--timeout S]
      Listen on H:P (127.0.0.1 by default). Prints "ready" once listening.
      For every connection N (1, 2, ...): read one PROXY header (v2: 16 +
      its length field; v1: up to CRLF), write D/N.hdr (the header bytes),
      D/N.peer (the TCP peer "addr port"), D/N.pcap (the header as one
      TCP segment from the peer to H:P, LINKTYPE_RAW, for tshark) and
      D/N.dec (what "decode" prints; "error=..." when it cannot), then
      print "hdr N LEN". With --forward, relay the rest of the stream both ways
      to 127.0.0.1:PORT (a broker); else read and discard it. A connection
      that does not start with a PROXY signature gets D/N.bad. Runs until
      killed or --timeout.
  decode FILE
      Decode one header (a .hdr file) and print "key=value" lines: proto
      (v1/v2), cmd, family, src, sport, dst, dport, length (v2 length
      field), total, tlvs (types in order, hex), alpn, authority, crc,
      crc_valid (yes/no), unique_id, ssl (yes/no), ssl_client, ssl_verify,
      ssl_subs, ssl_version, ssl_cn, ssl_cipher, ssl_sig_alg, ssl_key_alg,
      ssl_group, ssl_sig_scheme, ssl_client_cert_sha256, custom TLVs as
      tlv_0xNN (text when printable, else hex:...) and again by name as
      x_dn, x_san_uri, x_san_dns, x_cert_sha256 (hex), x_serial,
      x_psk_identity, and names: the
      proxy_tlvs names of the TLVs present (customs from base 0xE0), in
      header order. Absent fields print no line.
  tshark PCAP
      Run tshark -r PCAP with its PROXY dissector (the heuristic proxy_tcp,
      tried first) and print what tshark
      decoded as "key=value" lines: proto, src, sport, dst, dport, length,
      ssl_client, ssl_verify, ssl_version, ssl_cn, ssl_cipher, ssl_sig_alg,
      ssl_key_alg, tlv_0xNN (hex of each top-level and SSL sub-TLV value, as
      tshark gives them), alpn, authority, crc, and crc_valid: CRC-32C over
      the header bytes tshark framed (tcp.payload, 16 + its length), CRC
      field zeroed, equals the value tshark decoded. malformed=yes when
      tshark flagged the frame. tshark 4.0 (Debian 12) walks the TLVs only
      while their offset is below the length field, i.e. 16 bytes short of
      the header's end: a TLV starting in the last 16 bytes is not shown.
  client --port P --ca CA [--host H] [--cert C --key K] [--sni NAME]
         [--alpn P] [--tls 1.2|1.3] [--ciphers LIST] [--resume]
         [--timeout S]
      TLS to H:P, MQTT 3.1.1 CONNECT, wait for CONNACK, DISCONNECT, close.
      Prints "local=ADDR lport=N version=.. cipher=.. alpn=.. sni=..
      connack=yes|no reused=yes|no". --resume does a second connection
      resuming the first one's session and prints a second line.
  send --port P (--v1 | --v2) [--bad-crc] [--timeout S]
      Send a hand-made header (source 127.0.0.9:4242) plus an MQTT CONNECT
      to 127.0.0.1:P; print "connack=yes|no": a control for receivers.

Exit status: 0 when it ran, 1 on a failure the caller asserts on (client:
no CONNACK; decode: not a header), 2 on a usage error.
"""

import argparse
import hashlib
import os
import select
import shutil
import socket
import ssl
import struct
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import wire  # noqa: E402

# proxy_tlvs names of what a header carries (VERSION comes with "ssl").
TLV_NAMES = {0x01: "alpn", 0x02: "authority", 0x03: "crc32c",
             0x05: "unique_id", 0x20: "ssl", 0x21: None, 0x22: "cn",
             0x23: "cipher", 0x24: "sig_alg", 0x25: "key_alg", 0x26: "group",
             0x27: "sig_scheme", 0x28: "client_cert"}
CUSTOM_NAMES = ["dn", "san_uri", "san_dns", "cert_sha256", "serial",
                "psk_identity"]
SSL_SUB_NAMES = {
    0x21: "ssl_version",
    0x22: "ssl_cn",
    0x23: "ssl_cipher",
    0x24: "ssl_sig_alg",
    0x25: "ssl_key_alg",
    0x26: "ssl_group",
    0x27: "ssl_sig_scheme",
}


def printable(b):
    try:
        s = b.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if all(c.isprintable() for c in s):
        return s
    return None


def show(b):
    s = printable(b)
    return s if s is not None else "hex:" + b.hex()


def decode(hdr, custom_base=0xE0):
    """The header's fields as an ordered list of (key, value)."""
    h = wire.parse_header(hdr)
    out = []
    if h.v1:
        out.append(("proto", "v1"))
        out.append(("family", h.family))
        if h.src is not None:
            out += [("src", h.src), ("dst", h.dst),
                    ("sport", h.sport), ("dport", h.dport)]
        out.append(("total", str(h.total)))
        return out
    if h.errors:
        raise ValueError(h.errors[0])
    out.append(("proto", "v%d" % h.version))
    out.append(("cmd", {0: "LOCAL", 1: "PROXY"}.get(h.command,
                                                     str(h.command))))
    if h.af in (1, 2) and h.transport != 1:
        out.append(("family", "0x%02x" % h.fam_byte))
    else:
        out.append(("family", h.family))
    if h.af:
        out += [("src", h.src), ("dst", h.dst)]
    if h.sport is not None:
        out += [("sport", str(h.sport)), ("dport", str(h.dport))]
    out.append(("length", str(h.length)))
    out.append(("total", str(h.total)))
    types = []
    subs_all = []
    for t in h.tlvs:
        v = t.value
        types.append("0x%02x" % t.type)
        if t.type == wire.PP2_TYPE_ALPN:
            out.append(("alpn", show(v)))
        elif t.type == wire.PP2_TYPE_AUTHORITY:
            out.append(("authority", show(v)))
        elif t.type == wire.PP2_TYPE_CRC32C:
            out.append(("crc", v.hex()))
        elif t.type == wire.PP2_TYPE_UNIQUE_ID:
            out.append(("unique_id", show(v)))
        elif t.type == wire.PP2_TYPE_SSL:
            out.append(("ssl", "yes"))
            out.append(("ssl_client", "0x%02x" % t.ssl.client))
            out.append(("ssl_verify", str(t.ssl.verify)))
            subs = []
            for sub in t.ssl.subs:
                st, sv = sub.type, sub.value
                subs.append("0x%02x" % st)
                if st in SSL_SUB_NAMES:
                    out.append((SSL_SUB_NAMES[st], show(sv)))
                elif st == 0x28:
                    out.append(("ssl_client_cert_sha256",
                                hashlib.sha256(sv).hexdigest()))
                else:
                    out.append(("tlv_0x%02x" % st, show(sv)))
            out.append(("ssl_subs", ",".join(subs)))
            subs_all += subs
        else:
            out.append(("tlv_0x%02x" % t.type, show(v)))
            if custom_base <= t.type < custom_base + len(CUSTOM_NAMES):
                name = CUSTOM_NAMES[t.type - custom_base]
                out.append(("x_" + name, v.hex() if name == "cert_sha256"
                            else show(v)))
    out.append(("tlvs", ",".join(types)))
    names = []
    for t in [int(x, 16) for x in types] + [int(x, 16) for x in subs_all]:
        n = TLV_NAMES.get(t)
        if n is None and custom_base <= t < custom_base + len(CUSTOM_NAMES):
            n = CUSTOM_NAMES[t - custom_base]
        if n is None and t == 0x21:
            continue
        names.append(n or "0x%02x" % t)
    out.append(("names", ",".join(names)))
    if h.crc_ok is not None:
        out.append(("crc_valid", "yes" if h.crc_ok else "no"))
    return out


# ------------------------------------------------------------------ pcap

def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def write_pcap(path, src, dst, payload):
    """One TCP segment src -> dst ((addr, port) pairs) carrying payload."""
    fam = socket.AF_INET6 if ":" in src[0] else socket.AF_INET
    s = socket.inet_pton(fam, src[0])
    d = socket.inet_pton(fam, dst[0])
    tcp = struct.pack("!HHIIBBHHH", src[1], dst[1], 1, 1, 5 << 4, 0x18,
                      65535, 0, 0)
    if fam == socket.AF_INET:
        pseudo = s + d + struct.pack("!BBH", 0, 6, len(tcp) + len(payload))
    else:
        pseudo = s + d + struct.pack("!I3xB", len(tcp) + len(payload), 6)
    c = csum(pseudo + tcp + payload)
    tcp = tcp[:16] + struct.pack("!H", c) + tcp[18:]
    if fam == socket.AF_INET:
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp) + len(payload),
                         1, 0x4000, 64, 6, 0, s, d)
        ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    else:
        ip = struct.pack("!IHBB16s16s", 6 << 28, len(tcp) + len(payload), 6,
                         64, s, d)
    pkt = ip + tcp + payload
    now = time.time()
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, 101))
        f.write(struct.pack("<IIII", int(now), int((now % 1) * 1e6),
                            len(pkt), len(pkt)))
        f.write(pkt)
    os.rename(tmp, path)


# ------------------------------------------------------------------ recv

_lock = threading.Lock()


def emit(line):
    with _lock:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


def write_file(path, data):
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
    os.rename(tmp, path)


def relay(a, b, deadline):
    socks = [a, b]
    open_ = {a: True, b: True}
    while any(open_.values()) and time.time() < deadline:
        r, _, _ = select.select([s for s in socks if open_[s]], [], [], 0.5)
        for s in r:
            other = b if s is a else a
            try:
                data = s.recv(65536)
            except OSError:
                data = b""
            if not data:
                open_[s] = False
                try:
                    other.shutdown(socket.SHUT_WR)
                except OSError:
                    pass
                if s is b:  # broker closed: done
                    return
                continue
            try:
                other.sendall(data)
            except OSError:
                return


def handle(conn, peer, n, args, me):
    deadline = time.time() + args.conn_timeout
    conn.settimeout(args.conn_timeout)
    buf = b""
    hl = 0
    try:
        while True:
            hl = wire.header_len(buf)
            if hl != 0:
                break
            data = conn.recv(65536)
            if not data:
                break
            buf += data
    except OSError:
        pass
    base = os.path.join(args.dir, str(n))
    write_file(base + ".peer", ("%s %d\n" % (peer[0], peer[1])).encode())
    if hl <= 0:
        write_file(base + ".bad", buf)
        emit("bad %d %d" % (n, len(buf)))
        conn.close()
        return
    hdr, rest = buf[:hl], buf[hl:]
    write_pcap(base + ".pcap", (peer[0], peer[1]), me, hdr)
    try:
        dec = "".join("%s=%s\n" % kv for kv in decode(hdr))
    except (ValueError, IndexError, struct.error) as e:
        dec = "error=%s\n" % e
    write_file(base + ".hdr", hdr)
    write_file(base + ".dec", dec.encode())
    emit("hdr %d %d" % (n, hl))
    conn.settimeout(None)
    try:
        if args.forward:
            up = socket.create_connection(("127.0.0.1", args.forward), 5)
            if rest:
                up.sendall(rest)
            relay(conn, up, deadline)
            up.close()
        else:
            while time.time() < deadline:
                r, _, _ = select.select([conn], [], [], 0.5)
                if r and not conn.recv(65536):
                    break
    except OSError:
        pass
    conn.close()


def cmd_recv(args):
    ls = wire.listen(args.host, args.port, 64)
    os.makedirs(args.dir, exist_ok=True)
    emit("ready")
    end = time.time() + args.timeout
    n = 0
    while time.time() < end:
        r, _, _ = select.select([ls], [], [], 0.5)
        if not r:
            continue
        conn, peer = ls.accept()
        n += 1
        t = threading.Thread(target=handle, daemon=True,
                             args=(conn, peer, n, args,
                                   (args.host, args.port)))
        t.start()
    return 0


# ------------------------------------------------------------------ tshark

TS_FIELDS = [
    "proxy.version", "proxy.v1.proto", "proxy.src.ipv4", "proxy.dst.ipv4",
    "proxy.src.ipv6", "proxy.dst.ipv6", "proxy.srcport", "proxy.dstport",
    "proxy.v2.cmd", "proxy.v2.addr_family", "proxy.v2.length",
    "proxy.v2.tlv.type", "proxy.v2.tlv.length", "proxy.v2.tlv.value",
    "proxy.v2.tlv.ssl.client", "proxy.v2.tlv.ssl.verify",
    "proxy.v2.tlv.ssl.version", "proxy.v2.tlv.ssl.cn",
    "proxy.v2.tlv.ssl.cipher", "proxy.v2.tlv.ssl.sig_alg",
    "proxy.v2.tlv.ssl.keu_alg", "tcp.payload", "_ws.malformed",
    "_ws.expert",
]


def cmd_tshark(args):
    # tshark 4.0 has the PROXY dissector only as the heuristic proxy_tcp
    # (no "-d tcp.port==P,proxy"): enable it and try it first.
    cmd = ["tshark", "-n", "-r", args.pcap, "-o", "tcp.try_heuristic_first:TRUE",
           "--enable-heuristic", "proxy_tcp", "-T", "fields",
           "-E", "occurrence=a", "-E", "aggregator=|", "-E", "separator=\t"]
    for f in TS_FIELDS:
        cmd += ["-e", f]
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=60)
    if p.returncode != 0:
        sys.stderr.write(p.stderr.decode("utf-8", "replace"))
        return 1
    lines = [l for l in p.stdout.decode("utf-8", "replace").split("\n") if l]
    if not lines:
        sys.stderr.write("tshark printed no packet\n")
        return 1
    vals = dict(zip(TS_FIELDS, lines[0].split("\t")))

    def get(k):
        return vals.get(k, "")

    def out(k, v):
        if v != "":
            print("%s=%s" % (k, v))

    ver = get("proxy.version")
    if get("proxy.v1.proto"):
        ver = ver or "1"
    out("proto", "v" + ver if ver else "")
    out("family", get("proxy.v1.proto"))
    cmd = get("proxy.v2.cmd")
    out("cmd", {"0": "LOCAL", "1": "PROXY"}.get(cmd, cmd))
    out("src", get("proxy.src.ipv4") or get("proxy.src.ipv6"))
    out("dst", get("proxy.dst.ipv4") or get("proxy.dst.ipv6"))
    out("sport", get("proxy.srcport"))
    out("dport", get("proxy.dstport"))
    out("length", get("proxy.v2.length"))
    out("ssl_client", get("proxy.v2.tlv.ssl.client"))
    v = get("proxy.v2.tlv.ssl.verify")
    out("ssl_verify", str(int(v, 0)) if v else "")
    for k, f in (("ssl_version", "version"), ("ssl_cn", "cn"),
                 ("ssl_cipher", "cipher"), ("ssl_sig_alg", "sig_alg"),
                 ("ssl_key_alg", "keu_alg")):
        out(k, get("proxy.v2.tlv.ssl." + f))
    types = [t for t in get("proxy.v2.tlv.type").split("|") if t]
    values = get("proxy.v2.tlv.value").split("|")
    types = [int(t, 0) for t in types]
    out("tlv_types", ",".join("0x%02x" % t for t in types))
    by_type = {}
    for i, t in enumerate(types):
        v = values[i] if i < len(values) else ""
        v = v.replace(":", "")
        by_type.setdefault(t, v)
        out("tlv_0x%02x" % t, v)
    if 0x01 in by_type:
        out("alpn", show(bytes.fromhex(by_type[0x01])))
    if 0x02 in by_type:
        out("authority", show(bytes.fromhex(by_type[0x02])))
    payload = bytes.fromhex(get("tcp.payload").replace(":", ""))
    if wire.PP2_TYPE_CRC32C in by_type:
        crc = by_type[wire.PP2_TYPE_CRC32C]
        out("crc", crc)
        length = get("proxy.v2.length")
        ok = "no"
        if length and len(crc) == 8:
            hdr = payload[: 16 + int(length, 0)]
            pos = hdr.find(bytes([wire.PP2_TYPE_CRC32C, 0, 4]) +
                           bytes.fromhex(crc))
            if pos >= 16:
                z = hdr[: pos + 3] + b"\0\0\0\0" + hdr[pos + 7:]
                if wire.crc32c(z) == int(crc, 16):
                    ok = "yes"
        out("crc_valid", ok)
    out("malformed", "yes" if get("_ws.malformed") else "")
    return 0


# ------------------------------------------------------------------ client

CONNECT = wire.connect("", keepalive=10)


def one_client(args, ctx, session=None):
    raw = socket.create_connection((args.host, args.port), args.timeout)
    local = raw.getsockname()
    s = ctx.wrap_socket(raw, server_hostname=args.sni or None,
                        session=session)
    s.settimeout(args.timeout)
    s.sendall(CONNECT)
    got = wire.recv_upto(s, 4)
    connack = got[:2] == b"\x20\x02" and len(got) == 4
    try:
        s.sendall(wire.DISCONNECT)
        # Let the session ticket (TLS 1.3) arrive, then close cleanly.
        s.settimeout(1.0)
        try:
            s.recv(1)
        except OSError:
            pass
    except OSError:
        pass
    fields = [
        ("local", local[0]), ("lport", str(local[1])),
        ("version", s.version() or "-"),
        ("cipher", (s.cipher() or ("-",))[0]),
        ("alpn", s.selected_alpn_protocol() or "-"),
        ("sni", args.sni or "-"),
        ("connack", "yes" if connack else "no"),
        ("reused", "yes" if s.session_reused else "no"),
    ]
    sess = s.session
    try:
        s.unwrap()
    except (OSError, ValueError):
        pass
    s.close()
    print(" ".join("%s=%s" % kv for kv in fields))
    sys.stdout.flush()
    return connack, sess


def cmd_client(args):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(args.ca)
    ctx.check_hostname = bool(args.sni)
    if args.cert:
        ctx.load_cert_chain(args.cert, args.key)
    if args.alpn:
        ctx.set_alpn_protocols([args.alpn])
    if args.ciphers:
        ctx.set_ciphers(args.ciphers)
    if args.tls == "1.2":
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    elif args.tls == "1.3":
        ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    ok, sess = one_client(args, ctx)
    if args.resume and ok:
        ok, _ = one_client(args, ctx, sess)
    return 0 if ok else 1


# ------------------------------------------------------------------ send

def cmd_send(args):
    src, dst, sport, dport = "127.0.0.9", "127.0.0.1", 4242, args.port
    if args.v1:
        hdr = wire.build_v1("TCP4", src, dst, sport, dport)
    else:
        hdr = wire.build_v2(0x21, 0x11,
                            wire.v2_addrs("tcp4", src, dst, sport, dport),
                            crc="bad" if args.bad_crc else "good")
    s = socket.create_connection(("127.0.0.1", args.port), args.timeout)
    s.settimeout(args.timeout)
    s.sendall(hdr + CONNECT)
    got = wire.recv_upto(s, 4)
    try:
        s.sendall(wire.DISCONNECT)
    except OSError:
        pass
    s.close()
    print("connack=%s" % ("yes" if got[:2] == b"\x20\x02" else "no"))
    return 0


def main():
    ap = argparse.ArgumentParser()
    sp = ap.add_subparsers(dest="cmd", required=True)
    p = sp.add_parser("recv")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--dir", required=True)
    p.add_argument("--forward", type=int, default=0)
    p.add_argument("--timeout", type=float, default=600)
    p.add_argument("--conn-timeout", type=float, default=30)
    p = sp.add_parser("decode")
    p.add_argument("file")
    p = sp.add_parser("tshark")
    p.add_argument("pcap")
    p = sp.add_parser("client")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--ca", required=True)
    p.add_argument("--cert")
    p.add_argument("--key")
    p.add_argument("--sni")
    p.add_argument("--alpn")
    p.add_argument("--tls", choices=["1.2", "1.3"])
    p.add_argument("--ciphers")
    p.add_argument("--resume", action="store_true")
    p.add_argument("--timeout", type=float, default=10)
    p = sp.add_parser("send")
    p.add_argument("--port", type=int, required=True)
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument("--v1", action="store_true")
    g.add_argument("--v2", action="store_true")
    p.add_argument("--bad-crc", action="store_true")
    p.add_argument("--timeout", type=float, default=10)
    args = ap.parse_args()
    if args.cmd == "recv":
        return cmd_recv(args)
    if args.cmd == "decode":
        with open(args.file, "rb") as f:
            data = f.read()
        try:
            for k, v in decode(data):
                print("%s=%s" % (k, v))
        except ValueError as e:
            print("error=%s" % e)
            return 1
        return 0
    if args.cmd == "tshark":
        if not shutil.which("tshark"):
            sys.stderr.write("no tshark\n")
            return 2
        return cmd_tshark(args)
    if args.cmd == "client":
        return cmd_client(args)
    if args.cmd == "send":
        return cmd_send(args)
    return 2


if __name__ == "__main__":
    sys.exit(main())
