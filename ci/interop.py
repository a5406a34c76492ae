#!/usr/bin/env python3
"""Interop against an independent implementation: the Python `websockets`
library drives our servers (many concurrent clients) and serves our client.

    interop.py server URL [CONNECTIONS]   many clients echo-test a server
    interop.py echo-server PORT           an echo server for our client
"""
import asyncio
import os
import sys

import websockets


async def one_client(url: str, n: int) -> None:
    payloads = ["hello", "", "wörld 𝄞" * 10, b"\x00\x01\x02", os.urandom(65536), "x" * 70000]
    async with websockets.connect(url, max_size=None, compression=None) as ws:
        for i, payload in enumerate(payloads):
            await ws.send(payload)
            echo = await ws.recv()
            assert echo == payload, f"connection {n}: message {i} came back different"
        pong = await ws.ping(b"are you there")
        await asyncio.wait_for(pong, 5)
        await ws.close(code=1000, reason="done")
        assert ws.close_code == 1000, f"connection {n}: close code {ws.close_code}"


async def test_server(url: str, connections: int) -> None:
    results = await asyncio.gather(*(one_client(url, n) for n in range(connections)), return_exceptions=True)
    failures = [r for r in results if isinstance(r, BaseException)]
    for f in failures[:5]:
        print("interop: failure:", repr(f))
    print(f"interop: {url}: {connections - len(failures)}/{connections} concurrent clients OK")
    if failures:
        sys.exit(1)


async def echo_server(port: int) -> None:
    async def echo(ws):
        async for message in ws:
            await ws.send(message)

    async with websockets.serve(echo, "127.0.0.1", port, compression=None):
        print("ready", flush=True)
        await asyncio.Future()


if __name__ == "__main__":
    if sys.argv[1] == "server":
        asyncio.run(test_server(sys.argv[2], int(sys.argv[3]) if len(sys.argv) > 3 else 200))
    elif sys.argv[1] == "echo-server":
        asyncio.run(echo_server(int(sys.argv[2])))
    else:
        sys.exit(__doc__)
