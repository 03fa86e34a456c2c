#!/usr/bin/env python3
"""mqtt_raw.py: hand-made MQTT packets over TLS, for t_mqtt_identity.sh.

Subcommands:
  client       connect to mqgate over TLS (verified against --ca, optional
               client certificate) or plain TCP (--plain), send ONE write
               (a CONNECT built from the options, a malformed variant of it,
               optionally followed by a SUBSCRIBE and a PUBLISH; or --raw
               bytes), then read what comes back until the connection ends
  build        write the same CONNECT (plus --disconnect: a DISCONNECT) to
               stdout, for openssl s_client
  echo-server  a plain TCP echo server on 127.0.0.1:--port (the upstream of
               the pass-through test); prints "listening PORT" once bound

CONNECT options (client and build):
  --proto 3|4|5     MQTT 3.1 ("MQIsdp" level 3), 3.1.1, 5.0 (default 4)
  --id ID           client identifier (default empty)
  --user U --password P
  --case NAME       ok (default) or a malformed CONNECT:
      reserved-flag   connect flags bit 0 set
      rl-short        Remaining Length 3 bytes short: the client id runs
                      past the end of the packet
      rl-long         Remaining Length 2 bytes long, followed by a PINGREQ,
                      whose 2 bytes become trailing bytes of the CONNECT
      varint5         a Remaining Length of 5 bytes (> 4 allowed)
      bad-name        protocol name "MQTX" instead of "MQTT"
      not-connect     a PUBLISH instead of a CONNECT
      truncated       only the first 12 bytes of the CONNECT; then wait
  --then-sub TOPIC --then-pub TEXT
                    append SUBSCRIBE(TOPIC, QoS 0) and PUBLISH(TOPIC, QoS 0,
                    TEXT + MQTT-looking binary bytes) to the same write;
                    the client then waits for that PUBLISH to come back

The client prints "key value" lines for the shell test to assert on:
  connack 0xRC        the CONNACK's reason code (MQTT 5) or return code
  connack_bytes HEX   the whole CONNACK packet
  suback HEX          the SUBACK's body
  publish_back yes|no the PUBLISH came back with the same topic and payload
  packet 0xTYPE       any other packet received
  echo match|mismatch (--raw) the bytes came back unchanged
  received N          bytes received in all
  end WHAT            eof | reset | timeout | disconnected (we sent
                      DISCONNECT and closed after a CONNACK 0 and what we
                      waited for) | handshake-failed
  ms N                milliseconds from the write to the end
Exit status: 0 when it ran (the lines decide), 2 on usage errors.
Every wait is bounded by --timeout. It only talks to the given port.
"""

import argparse
import os
import socket
import ssl
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import wire  # noqa: E402

PAYLOAD_TAIL = b"\x00\x10\x0c\x00\x04MQTT\x05\xc2\xff\xff\x82\xe0\x00" + \
    bytes(range(256))


def connect_body(a, name=None, flags_or=0):
    return wire.connect_body(a.id, a.keepalive, proto=a.proto, user=a.user,
                             password=a.password, name=name,
                             flags_or=flags_or)


def build(a):
    """The bytes of the single write."""
    if a.raw is not None:
        return bytes.fromhex(a.raw)
    case = a.case
    if case == "reserved-flag":
        out = wire.packet(0x10, connect_body(a, flags_or=0x01))
    elif case == "bad-name":
        out = wire.packet(0x10, connect_body(a, name="MQTX"))
    elif case == "rl-short":
        body = connect_body(a)
        out = b"\x10" + wire.varint(len(body) - 3) + body
    elif case == "rl-long":
        body = connect_body(a)
        out = b"\x10" + wire.varint(len(body) + 2) + body + b"\xc0\x00"
    elif case == "varint5":
        out = b"\x10\xff\xff\xff\xff\x01" + connect_body(a)
    elif case == "not-connect":
        out = wire.publish("devices/x", b"hello")
    elif case == "truncated":
        out = wire.packet(0x10, connect_body(a))[:12]
    else:
        out = wire.packet(0x10, connect_body(a))
    if a.then_sub:
        v5 = a.proto == 5
        out += wire.subscribe(1, a.then_sub, v5=v5)
        out += wire.publish(a.then_sub, pub_payload(a), v5=v5)
    return out


def pub_payload(a):
    return (a.then_pub or "").encode() + PAYLOAD_TAIL


def out(key, value):
    print("%s %s" % (key, value), flush=True)


def connect_sock(a):
    s = socket.create_connection((a.host, a.port), timeout=a.timeout)
    if a.plain:
        return s
    ctx = ssl.create_default_context(cafile=a.ca)
    if a.cert:
        ctx.load_cert_chain(a.cert, a.key)
    return ctx.wrap_socket(s, server_hostname=a.servername)


def client(a):
    data = build(a)
    try:
        s = connect_sock(a)
    except (ssl.SSLError, OSError) as e:
        out("end", "handshake-failed %s" % str(e).replace("\n", " "))
        return 0
    t0 = time.monotonic()
    deadline = t0 + a.timeout
    s.sendall(data)
    buf = b""
    received = 0
    got_connack = None
    want_publish = bool(a.then_sub)
    echo = b""
    end = None
    try:
        while end is None:
            left = deadline - time.monotonic()
            if left <= 0:
                end = "timeout"
                break
            s.settimeout(left)
            try:
                chunk = s.recv(65536)
            except (socket.timeout, TimeoutError):
                end = "timeout"
                break
            except (ConnectionResetError, BrokenPipeError):
                end = "reset"
                break
            except ssl.SSLZeroReturnError:
                end = "eof"
                break
            except ssl.SSLEOFError:
                end = "eof"
                break
            if not chunk:
                end = "eof"
                break
            received += len(chunk)
            if a.raw is not None:
                echo += chunk
                if len(echo) >= len(data):
                    out("echo", "match" if echo == data else "mismatch")
                    end = "disconnected"
                continue
            buf += chunk
            while True:
                p = wire.split_packet(buf)
                if p is None:
                    break
                first, body, buf = p
                if first == 0x20 and got_connack is None:
                    got_connack = body[1] if len(body) > 1 else -1
                    out("connack", "0x%02x" % (got_connack & 0xFF))
                    out("connack_bytes", (wire.packet(first, body)).hex())
                    if got_connack == 0 and not want_publish:
                        end = "disconnected"
                elif first == 0x90:
                    out("suback", body.hex())
                elif first & 0xF0 == 0x30 and want_publish:
                    topic, payload = wire.parse_publish(first, body,
                                                        a.proto == 5)
                    ok = topic == a.then_sub and payload == pub_payload(a)
                    out("publish_back", "yes" if ok else "no")
                    if not ok:
                        out("publish_got", "%s %s" % (topic, payload.hex()))
                    end = "disconnected"
                else:
                    out("packet", "0x%02x" % first)
                if end is not None:
                    break
    except ValueError as e:
        out("garbage", str(e))
        end = "garbage"
    if a.raw is not None and end != "disconnected":
        out("echo", "mismatch got=%d" % len(echo))
    ms = int((time.monotonic() - t0) * 1000)
    if end == "disconnected":
        try:
            if a.raw is None:
                s.sendall(wire.DISCONNECT)
            s.close()
        except OSError:
            pass
    else:
        s.close()
    out("received", received)
    out("end", end)
    out("ms", ms)
    return 0


def echo_server(a):
    ls = wire.listen("127.0.0.1", a.port, 16)
    out("listening", a.port)
    stop = time.monotonic() + a.lifetime

    def serve(c, n):
        got = 0
        c.settimeout(a.lifetime)
        try:
            while True:
                d = c.recv(65536)
                if not d:
                    break
                got += len(d)
                c.sendall(d)
        except OSError:
            pass
        finally:
            c.close()
        out("conn", "%d received=%d" % (n, got))

    n = 0
    ls.settimeout(1)
    while time.monotonic() < stop:
        try:
            c, _ = ls.accept()
        except (socket.timeout, TimeoutError):
            continue
        n += 1
        out("accepted", n)
        threading.Thread(target=serve, args=(c, n), daemon=True).start()
    return 0


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sp = p.add_subparsers(dest="cmd", required=True)
    cl = sp.add_parser("client")
    bd = sp.add_parser("build")
    for q in (cl, bd):
        q.add_argument("--proto", type=int, choices=(3, 4, 5), default=4)
        q.add_argument("--id", default="")
        q.add_argument("--user")
        q.add_argument("--password")
        q.add_argument("--keepalive", type=int, default=60)
        q.add_argument("--case", default="ok", choices=(
            "ok", "reserved-flag", "rl-short", "rl-long", "varint5",
            "bad-name", "not-connect", "truncated"))
        q.add_argument("--then-sub")
        q.add_argument("--then-pub")
        q.add_argument("--raw", help="hex bytes to send instead (echo)")
    bd.add_argument("--disconnect", action="store_true")
    cl.add_argument("--host", default="127.0.0.1")
    cl.add_argument("--port", type=int, required=True)
    cl.add_argument("--ca")
    cl.add_argument("--cert")
    cl.add_argument("--key")
    cl.add_argument("--servername", default="localhost")
    cl.add_argument("--plain", action="store_true")
    cl.add_argument("--timeout", type=float, default=5.0)
    es = sp.add_parser("echo-server")
    es.add_argument("--port", type=int, required=True)
    es.add_argument("--lifetime", type=float, default=600.0)
    a = p.parse_args()
    if a.cmd == "client":
        if not a.plain and not a.ca:
            p.error("--ca is needed for TLS")
        return client(a)
    if a.cmd == "build":
        b = build(a)
        if a.disconnect:
            b += wire.DISCONNECT
        sys.stdout.buffer.write(b)
        return 0
    return echo_server(a)


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BrokenPipeError:
        os._exit(0)
