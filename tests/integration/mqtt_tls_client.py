#!/usr/bin/env python3
"""mqtt_tls_client.py: many MQTT 3.1.1 clients over TLS at once (asyncio).

Each client connects to mqgate with TLS (verified against --ca), sends
CONNECT and waits for CONNACK, SUBSCRIBEs (QoS 0) to a topic of its own and
waits for SUBACK. Once every client has got that far (all connections are
open at the same time) each PUBLISHes (QoS 0) a unique message to its topic,
waits for that message to come back, sends DISCONNECT and closes TLS with a
close_notify. It only speaks to the given port and owns its own sockets.

Output on stdout, for the shell test to assert on:
  error CLIENT PHASE DETAIL          one line per failed client (first 20)
  summary clients=N connected=N subscribed=N ok=N failed=N elapsed_ms=N
With --hold DIR it prints "holding subscribed=N" once every client is
subscribed (or has failed) and waits for DIR/go before publishing, so the
caller can look at the daemon while all connections are open.
Exit status: 0 when every client succeeded, 1 otherwise, 2 on usage errors.
The whole run is bounded by --timeout.
"""

import argparse
import asyncio
import os
import ssl
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import wire  # noqa: E402


class Run:
    def __init__(self, args):
        self.args = args
        self.n = args.clients
        self.connected = 0
        self.subscribed = 0
        self.ok = 0
        self.errors = []
        self.settled = 0  # subscribed or failed before that
        self.all_settled = asyncio.Event()
        self.go = asyncio.Event()
        self.handshake_slots = asyncio.Semaphore(args.connect_concurrency)
        ctx = ssl.create_default_context(cafile=args.ca)
        if args.cert:
            ctx.load_cert_chain(args.cert, args.key)
        self.ctx = ctx
        self.tag = "%d-%d" % (os.getpid(), int(time.time() * 1000) % 100000)

    def settle(self):
        self.settled += 1
        if self.settled == self.n:
            self.all_settled.set()

    async def client(self, i):
        phase = "connect"
        writer = None
        settled = False
        try:
            async with self.handshake_slots:
                reader, writer = await asyncio.open_connection(
                    self.args.host, self.args.port, ssl=self.ctx,
                    server_hostname=self.args.servername)
            self.connected += 1
            phase = "connack"
            writer.write(wire.connect("mqgate-%s-%d" % (self.tag, i)))
            first, body = await wire.read_packet_async(reader)
            if first != 0x20 or body != b"\x00\x00":
                raise ValueError("CONNACK %02x %s" % (first, body.hex()))
            phase = "suback"
            topic = "mqgate-test/%s/%d" % (self.tag, i)
            writer.write(wire.subscribe(1, topic))
            first, body = await wire.read_packet_async(reader)
            if first != 0x90 or body != b"\x00\x01\x00":
                raise ValueError("SUBACK %02x %s" % (first, body.hex()))
            self.subscribed += 1
            settled = True
            self.settle()
            phase = "wait-all"
            await self.go.wait()
            phase = "publish"
            payload = ("msg-%s-%d-%s" % (self.tag, i, os.urandom(8).hex())
                       ).encode()
            writer.write(wire.publish(topic, payload))
            while True:
                first, body = await wire.read_packet_async(reader)
                if first & 0xF0 != 0x30:
                    continue
                got_topic, got = wire.parse_publish(first, body,
                                                    errors="strict")
                if got_topic != topic or got != payload:
                    raise ValueError("got %r on %r" % (got, got_topic))
                break
            phase = "disconnect"
            writer.write(wire.DISCONNECT)
            await writer.drain()
            writer.close()
            await writer.wait_closed()
            writer = None
            self.ok += 1
        except Exception as e:
            self.errors.append((i, phase, "%s:%s" % (type(e).__name__, e)))
            if not settled:
                self.settle()
        finally:
            if writer is not None:
                writer.close()

    async def release(self):
        await self.all_settled.wait()
        if self.args.hold:
            print("holding subscribed=%d" % self.subscribed, flush=True)
            path = os.path.join(self.args.hold, "go")
            while not os.path.exists(path):
                await asyncio.sleep(0.02)
        self.go.set()

    async def main(self):
        tasks = [asyncio.ensure_future(self.client(i)) for i in range(self.n)]
        rel = asyncio.ensure_future(self.release())
        try:
            await asyncio.wait_for(asyncio.gather(*tasks), self.args.timeout)
        except asyncio.TimeoutError:
            for i, t in enumerate(tasks):
                if not t.done():
                    self.errors.append((i, "timeout", "-"))
        rel.cancel()


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--ca", required=True)
    p.add_argument("--cert", help="client certificate (PEM)")
    p.add_argument("--key", help="client key (PEM)")
    p.add_argument("--servername", default="localhost")
    p.add_argument("--clients", type=int, default=500)
    p.add_argument("--connect-concurrency", type=int, default=64,
                   help="TLS handshakes in flight at once")
    p.add_argument("--timeout", type=float, default=40.0)
    p.add_argument("--hold", metavar="DIR",
                   help="wait for DIR/go once everyone is subscribed")
    args = p.parse_args()

    run = Run(args)
    start = time.monotonic()
    asyncio.run(run.main())
    elapsed = int((time.monotonic() - start) * 1000)
    errors = sorted(run.errors)
    for i, phase, detail in errors[:20]:
        print("error %d %s %s" % (i, phase, detail.replace("\n", " ")))
    print("summary clients=%d connected=%d subscribed=%d ok=%d failed=%d "
          "elapsed_ms=%d" % (run.n, run.connected, run.subscribed, run.ok,
                             len(errors), elapsed))
    return 0 if run.ok == run.n and not errors else 1


if __name__ == "__main__":
    sys.exit(main())
