#!/usr/bin/env python3
"""Memory per idle connection as a client that is not the rig's loadgen
opens them: an asyncio client, many handshakes in flight at once.

    ci/idle_rss.py BINARY [--conns N] [--port P] [--one-at-a-time]
                          [--deflate] [--message]

Starts BINARY (an echo server taking `127.0.0.1:PORT`) on CPU 0, opens one
warm-up connection, then N more (100 every 10 ms, or each after the last
one's handshake with --one-at-a-time), optionally offering
permessage-deflate and sending one 64-byte message on each; prints the
server's VmRSS growth per connection 0.5 s and 6 s after the last opened.
Concurrent handshakes leave their transient allocations as holes between
the connections that stay, which one-at-a-time opening hides. Figures
only; never fails on them. Needs `ulimit -n` above N + 100.
"""
import argparse
import asyncio
import base64
import os
import subprocess
import time

from bench import vm_rss_kib


async def connection(a, opened, hold):
    r, w = await asyncio.open_connection("127.0.0.1", a.port)
    key = base64.b64encode(os.urandom(16)).decode()
    ext = ("Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n"
           if a.deflate else "")
    w.write((f"GET / HTTP/1.1\r\nHost: 127.0.0.1:{a.port}\r\nUpgrade: websocket\r\n"
             f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
             f"Sec-WebSocket-Version: 13\r\n{ext}\r\n").encode())
    await w.drain()
    head = await r.readuntil(b"\r\n\r\n")
    if b" 101 " not in head.split(b"\r\n", 1)[0]:
        raise RuntimeError(f"handshake refused: {head!r}")
    if a.message:
        payload, mask = b"idle connection " * 4, os.urandom(4)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        w.write(bytes([0x82, 0x80 | len(payload)]) + mask + masked)
        await w.drain()
        head = await r.readexactly(2)
        await r.readexactly(head[1] & 0x7F)
    opened.set()
    await hold.wait()
    w.close()


async def run(a, pid):
    hold = asyncio.Event()
    warm = asyncio.Event()
    tasks = [asyncio.create_task(connection(a, warm, hold))]
    await warm.wait()
    await asyncio.sleep(0.5)
    before = vm_rss_kib(pid)
    for i in range(a.conns):
        opened = asyncio.Event()
        tasks.append(asyncio.create_task(connection(a, opened, hold)))
        if a.one_at_a_time:
            await opened.wait()
        elif i % 100 == 99:
            await asyncio.sleep(0.01)
    start = time.monotonic()
    for at in (0.5, 6.0):
        await asyncio.sleep(max(0.0, at - (time.monotonic() - start)))
        after = vm_rss_kib(pid)
        print(f"{os.path.basename(a.binary)} conns={a.conns} "
              f"{'one-at-a-time' if a.one_at_a_time else 'concurrent'} "
              f"deflate={a.deflate} message={a.message} t={at}s: "
              f"{before} -> {after} KiB, {(after - before) * 1024 / a.conns:.0f} B per connection",
              flush=True)
    hold.set()
    for t in tasks:
        t.cancel()


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("binary")
    p.add_argument("--conns", type=int, default=2000)
    p.add_argument("--port", type=int, default=9190)
    p.add_argument("--one-at-a-time", action="store_true")
    p.add_argument("--deflate", action="store_true")
    p.add_argument("--message", action="store_true")
    a = p.parse_args()
    server = subprocess.Popen(["taskset", "-c", "0", a.binary, f"127.0.0.1:{a.port}"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(0.5)
        asyncio.run(run(a, server.pid))
    finally:
        server.kill()
        server.wait()


if __name__ == "__main__":
    main()
