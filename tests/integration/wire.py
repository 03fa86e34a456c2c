"""wire.py: the wire formats the integration test helpers share (stdlib only).

Imported by pp2_tool.py, pp_send.py, mqtt_raw.py and mqtt_tls_client.py
(each puts its own directory first on sys.path). No command line, no I/O
beyond the sockets it is handed.

PROXY protocol (HAProxy's doc/proxy-protocol.txt):
  crc32c(data)              CRC-32C (Castagnoli), as PP2_TYPE_CRC32C uses it
  header_len(buf)           framing: bytes of the header at the start of buf
  parse_header(hdr)         one v1 line or v2 header -> ProxyHeader
  tlv(), v2_addrs(), build_v2(), build_v1()   hand-made headers
MQTT (3.1, 3.1.1, 5.0; QoS 0 is all the tests need):
  varint(), mstr(), packet(), connect_body(), connect(), subscribe(),
  publish(), DISCONNECT; read_varint(), split_packet(), parse_publish(),
  read_packet_async()
Sockets: listen(), recv_upto().
"""

import socket
import struct

# ------------------------------------------------------------ PROXY protocol

SIG = b"\r\n\r\n\x00\r\nQUIT\n"
V1_MAX = 107  # the longest v1 line, CRLF included

PP2_TYPE_ALPN = 0x01
PP2_TYPE_AUTHORITY = 0x02
PP2_TYPE_CRC32C = 0x03
PP2_TYPE_NOOP = 0x04
PP2_TYPE_UNIQUE_ID = 0x05
PP2_TYPE_SSL = 0x20

FAMILY_BYTES = {"unspec": 0x00, "tcp4": 0x11, "tcp6": 0x21, "unix": 0x31}
# Address family (high nibble of byte 13): name, address block length.
_AF = {1: ("TCP4", 12), 2: ("TCP6", 36), 3: ("UNIX", 216)}


def crc32c(data, crc=0):
    crc ^= 0xFFFFFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 & -(crc & 1))
    return crc ^ 0xFFFFFFFF


def header_len(buf, v1_max=V1_MAX):
    """Length of the PROXY header at the start of buf: 0 = need more,
    -1 = not a PROXY header (or a v1 line with no CRLF within v1_max
    bytes)."""
    if buf[:1] == b"P":
        if not b"PROXY "[: len(buf)].startswith(buf[:6]):
            return -1
        i = buf.find(b"\r\n")
        if i < 0:
            return 0 if len(buf) < v1_max else -1
        return i + 2
    n = min(len(buf), 12)
    if buf[:n] != SIG[:n]:
        return -1
    if len(buf) < 16:
        return 0
    total = 16 + struct.unpack("!H", buf[14:16])[0]
    return total if len(buf) >= total else 0


class Tlv:
    """One TLV: type, value, offset (of its type byte in the header, or in
    the SSL TLV's value for a sub-TLV), truncated (the value runs past the
    end: value holds what there is). crc_ok: for a complete
    PP2_TYPE_CRC32C, whether it matches (False when not 4 bytes). ssl: for
    a PP2_TYPE_SSL of 5 bytes or more, an Ssl."""

    __slots__ = ("type", "value", "offset", "truncated", "crc_ok", "ssl")

    def __init__(self, t, value, offset, truncated=False):
        self.type = t
        self.value = value
        self.offset = offset
        self.truncated = truncated
        self.crc_ok = None
        self.ssl = None


class Ssl:
    """PP2_TYPE_SSL: client bits, verify result, sub-TLVs (Tlv list)."""

    __slots__ = ("client", "verify", "subs")

    def __init__(self, client, verify, subs):
        self.client = client
        self.verify = verify
        self.subs = subs


def tlv_walk(buf, start, end):
    """TLVs in buf[start:end] -> (list of Tlv, where the walk stopped,
    error or None). A TLV whose value runs past end is kept (truncated)
    and ends the walk; so do 1 or 2 bytes left over."""
    items = []
    i = start
    while i < end:
        if i + 3 > end:
            return items, i, "TLV header overruns at %d" % (i - start)
        t = buf[i]
        n = struct.unpack("!H", buf[i + 1 : i + 3])[0]
        if i + 3 + n > end:
            items.append(Tlv(t, bytes(buf[i + 3 : end]), i, True))
            return items, i + 3 + n, "TLV 0x%02x overruns" % t
        items.append(Tlv(t, bytes(buf[i + 3 : i + 3 + n]), i))
        i += 3 + n
    return items, i, None


class ProxyHeader:
    """A parsed PROXY header. Fields (None when absent):
    version      1 (text line) or the v2 version nibble
    v1           True for a text line
    total        bytes in the header
    v1 lines:    words (the line split on spaces), family (words[1] or
                 ""), src, dst, sport, dport (text, with six words)
    v2 headers:  ver_cmd (byte 12), command (its low nibble), fam_byte
                 (byte 13), transport (its low nibble), af (1 TCP4, 2 TCP6,
                 3 UNIX: the address block read; 0 none), family ("TCP4",
                 "TCP6", "UNIX" or "UNSPEC" after af), length (the length
                 field), src, dst (text: inet_ntop, or the UNIX path),
                 src_raw, dst_raw (address bytes), sport, dport (int),
                 tlvs (Tlv list, header order), overrun (the TLV walk did
                 not end exactly at the header's end), crc_ok (the last
                 CRC32C TLV matched; None without one), errors (in the
                 order a reader meets them: address block beyond the
                 length, TLV or SSL sub-TLV overruns, a short SSL TLV)."""

    def __init__(self):
        self.version = None
        self.v1 = False
        self.total = 0
        self.words = None
        self.ver_cmd = self.command = None
        self.fam_byte = self.transport = None
        self.af = 0
        self.family = None
        self.length = None
        self.src = self.dst = self.sport = self.dport = None
        self.src_raw = self.dst_raw = None
        self.tlvs = []
        self.overrun = False
        self.crc_ok = None
        self.errors = []


def _parse_v1(hdr):
    h = ProxyHeader()
    h.version, h.v1, h.total = 1, True, len(hdr)
    if not hdr.endswith(b"\r\n"):
        raise ValueError("v1 line without CRLF")
    h.words = hdr[:-2].decode("ascii", "replace").split(" ")
    h.family = h.words[1] if len(h.words) > 1 else ""
    if len(h.words) == 6:
        h.src, h.dst, h.sport, h.dport = h.words[2:6]
    return h


def parse_header(hdr, strict_family=False):
    """hdr is exactly one header (see header_len). Raises ValueError when
    it is no header at all (no signature, v1 without CRLF, v2 length field
    not matching len(hdr)) or its address block cannot be read; anything
    else wrong is listed in .errors and parsing goes on. Addresses are read
    by the address family nibble whatever the transport; with
    strict_family only for the family bytes 0x11, 0x21 and 0x31 (anything
    else: no address block, TLVs from byte 16)."""
    if hdr[:6] == b"PROXY ":
        return _parse_v1(hdr)
    if hdr[:12] != SIG:
        raise ValueError("no PROXY signature")
    h = ProxyHeader()
    h.ver_cmd, h.fam_byte = hdr[12], hdr[13]
    h.version, h.command = h.ver_cmd >> 4, h.ver_cmd & 0xF
    h.transport = h.fam_byte & 0xF
    h.length = struct.unpack("!H", hdr[14:16])[0]
    h.total = len(hdr)
    if len(hdr) != 16 + h.length:
        raise ValueError("length field %d but %d bytes" % (h.length, len(hdr)))
    if strict_family:
        h.af = {0x11: 1, 0x21: 2, 0x31: 3}.get(h.fam_byte, 0)
    else:
        h.af = h.fam_byte >> 4 if h.fam_byte >> 4 in _AF else 0
    h.family, alen = _AF.get(h.af, ("UNSPEC", 0))
    body = hdr[16:]
    if h.af == 3:
        h.src_raw, h.dst_raw = body[0:108], body[108:216]
        h.src = h.src_raw.rstrip(b"\0").decode("utf-8", "replace")
        h.dst = h.dst_raw.rstrip(b"\0").decode("utf-8", "replace")
    elif h.af:
        fam, n = ((socket.AF_INET, 4) if h.af == 1 else (socket.AF_INET6, 16))
        h.src_raw, h.dst_raw = body[0:n], body[n : 2 * n]
        h.src = socket.inet_ntop(fam, h.src_raw)
        h.dst = socket.inet_ntop(fam, h.dst_raw)
        h.sport = struct.unpack("!H", body[2 * n : 2 * n + 2])[0]
        h.dport = struct.unpack("!H", body[2 * n + 2 : 2 * n + 4])[0]
    if alen > h.length:
        h.errors.append("length %d below the addresses (%d)"
                        % (h.length, alen))
    h.tlvs, stop, err = tlv_walk(hdr, 16 + alen, len(hdr))
    h.overrun = stop != len(hdr)
    for t in h.tlvs:
        if t.truncated:
            break
        if t.type == PP2_TYPE_CRC32C:
            pos = t.offset + 3
            zeroed = hdr[:pos] + b"\0" * len(t.value) + hdr[pos + len(t.value):]
            t.crc_ok = (len(t.value) == 4 and
                        crc32c(zeroed) == struct.unpack("!I", t.value)[0])
            h.crc_ok = t.crc_ok
        elif t.type == PP2_TYPE_SSL:
            if len(t.value) < 5:
                h.errors.append("PP2_TYPE_SSL shorter than 5 bytes")
                continue
            subs, _, sub_err = tlv_walk(t.value, 5, len(t.value))
            t.ssl = Ssl(t.value[0], struct.unpack("!I", t.value[1:5])[0],
                        subs)
            if sub_err:
                h.errors.append(sub_err)
    if err:
        h.errors.append(err)
    return h


def tlv(t, v):
    return bytes([t]) + struct.pack("!H", len(v)) + v


def v2_addrs(family, src, dst, sport, dport):
    """The address block for family "tcp4", "tcp6" or "unix" (paths
    NUL-padded to 108 bytes); b"" for any other."""
    if family in ("tcp4", "tcp6"):
        fam = socket.AF_INET if family == "tcp4" else socket.AF_INET6
        return (socket.inet_pton(fam, src) + socket.inet_pton(fam, dst) +
                struct.pack("!HH", sport, dport))
    if family == "unix":
        return src.encode().ljust(108, b"\0") + dst.encode().ljust(108, b"\0")
    return b""


def build_v2(ver_cmd=0x21, fam_byte=0x11, body=b"", crc=None, length=None,
             pad_to=None):
    """A v2 header: body (addresses and TLVs), then with pad_to a NOOP TLV
    making the header pad_to bytes, then with crc ("good" or "bad") a
    CRC32C TLV, right or wrong by one bit. length overrides the length
    field (the CRC covers the header as sent)."""
    if pad_to:
        n = pad_to - 16 - len(body) - (7 if crc else 0) - 3
        if n < 0:
            raise ValueError("pad_to too small")
        body += tlv(PP2_TYPE_NOOP, b"\0" * n)
    crc_at = None
    if crc:
        crc_at = 16 + len(body) + 3
        body += tlv(PP2_TYPE_CRC32C, b"\0\0\0\0")
    if length is None:
        length = len(body)
    hdr = bytearray(SIG + bytes([ver_cmd, fam_byte]) +
                    struct.pack("!H", length) + body)
    if crc_at is not None:
        c = crc32c(bytes(hdr))
        if crc == "bad":
            c ^= 0x1
        hdr[crc_at : crc_at + 4] = struct.pack("!I", c)
    return bytes(hdr)


def build_v1(family, src, dst, sport, dport):
    return ("PROXY %s %s %s %s %s\r\n" % (family, src, dst, sport, dport)
            ).encode()


# ------------------------------------------------------------ MQTT

DISCONNECT = b"\xe0\x00"


def varint(n):
    out = bytearray()
    while True:
        b = n % 128
        n //= 128
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def mstr(s):
    """A length-prefixed string (str is UTF-8 encoded, bytes go as is)."""
    b = s.encode() if isinstance(s, str) else s
    return len(b).to_bytes(2, "big") + b


def packet(first, body):
    return bytes([first]) + varint(len(body)) + body


def connect_body(client_id="", keepalive=60, proto=4, user=None,
                 password=None, name=None, flags_or=0):
    """CONNECT's variable header and payload: proto 3 ("MQIsdp" level 3),
    4 (3.1.1) or 5 (no properties), clean session, name overriding the
    protocol name, flags_or or'ed into the connect flags."""
    if proto == 3:
        head = mstr(name or "MQIsdp") + b"\x03"
    else:
        head = mstr(name or "MQTT") + bytes([proto])
    flags = 0x02 | flags_or  # clean session / clean start
    if user is not None:
        flags |= 0x80
    if password is not None:
        flags |= 0x40
    body = head + bytes([flags]) + keepalive.to_bytes(2, "big")
    if proto == 5:
        body += b"\x00"  # no properties
    body += mstr(client_id)
    if user is not None:
        body += mstr(user)
    if password is not None:
        body += mstr(password)
    return body


def connect(client_id="", keepalive=60, **kw):
    return packet(0x10, connect_body(client_id, keepalive, **kw))


def subscribe(pid, topic, qos=0, v5=False):
    return packet(0x82, pid.to_bytes(2, "big") + (b"\x00" if v5 else b"") +
                  mstr(topic) + bytes([qos]))


def publish(topic, payload, v5=False):
    """A QoS 0 PUBLISH (MQTT 5: no properties)."""
    return packet(0x30, mstr(topic) + (b"\x00" if v5 else b"") + payload)


def read_varint(buf, i):
    """(value, next index), None when incomplete, ValueError when > 4."""
    n, mult = 0, 1
    for k in range(4):
        if i + k >= len(buf):
            return None
        b = buf[i + k]
        n += (b & 0x7F) * mult
        if not b & 0x80:
            return n, i + k + 1
        mult *= 128
    raise ValueError("bad remaining length")


def split_packet(buf):
    """(first, body, rest) or None when buf holds no complete packet;
    ValueError when the Remaining Length is longer than 4 bytes."""
    if len(buf) < 2:
        return None
    r = read_varint(buf, 1)
    if r is None:
        return None
    n, i = r
    if len(buf) < i + n:
        return None
    return buf[0], bytes(buf[i:i + n]), bytes(buf[i + n:])


def parse_publish(first, body, v5=False, errors="replace"):
    """(topic, payload) of a PUBLISH; errors as for bytes.decode."""
    tlen = int.from_bytes(body[:2], "big")
    topic = body[2:2 + tlen]
    i = 2 + tlen
    if (first >> 1) & 3:
        i += 2
    if v5:
        plen, i = read_varint(body, i)
        i += plen
    return topic.decode(errors=errors), body[i:]


async def read_packet_async(reader):
    """(first byte, body) of the next packet from an asyncio StreamReader."""
    first = (await reader.readexactly(1))[0]
    head = b""
    r = None
    while r is None:
        head += await reader.readexactly(1)
        r = read_varint(head, 0)
    n = r[0]
    body = await reader.readexactly(n) if n else b""
    return first, body


# ------------------------------------------------------------ sockets

def listen(host, port, backlog):
    """A listening TCP socket on host:port (IPv6 when host has a ':')."""
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    ls = socket.socket(fam, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((host, port))
    ls.listen(backlog)
    return ls


def recv_upto(s, n):
    """Up to n bytes from s: fewer at EOF or on a socket error."""
    got = b""
    try:
        while len(got) < n:
            d = s.recv(n - len(got))
            if not d:
                break
            got += d
    except OSError:
        pass
    return got
