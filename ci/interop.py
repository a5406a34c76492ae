#!/usr/bin/env python3
"""Interop against an independent implementation: the Python `websockets`
library drives our servers (many concurrent clients) and serves our clients.

    interop.py server URL [CONNECTIONS [MODE...]]
        CONNECTIONS concurrent clients echo-test a server, once per MODE:
        none (no compression, the default), deflate (websockets' default
        permessage-deflate offer), or one of the parameter sets below. With
        compression, each client checks on its side that permessage-deflate
        was negotiated with the expected parameters.
    interop.py echo-server PORT [none|deflate]
        an echo server for our echo_client (it logs what each connection
        negotiated)
    interop.py make-certs DIR
        a private CA (DIR/ca.pem) and a certificate it signs for localhost
        and 127.0.0.1 (DIR/server.pem, key DIR/server.key), made with
        `trustme`, plus one for another name (DIR/other.pem, DIR/other.key)
    interop.py tls-echo-server PORT CERT KEY
        the echo server over TLS, for our echo_client's wss:// check
    interop.py fuzz-server PORT [default|strict]
        a stand-in for the Autobahn fuzzingserver's three endpoints
        (/getCaseCount, /runCase, /updateReports), with permessage-deflate
        enabled, for our autobahn_client: each case sends messages and checks
        the echoes and that deflate was negotiated. Exits non-zero if a case
        failed, once the client has asked for its reports.
"""
import asyncio
import os
import ssl
import sys
import urllib.parse

import websockets
from websockets.extensions.permessage_deflate import (
    ClientPerMessageDeflateFactory,
    ServerPerMessageDeflateFactory,
)

# Client modes: websockets' offer (None: compression="deflate"), the
# Sec-WebSocket-Extensions our servers must answer (DeflateConfig::default()
# on their side), and what websockets must then have agreed to.
MODES = {
    "deflate": (
        None,
        "permessage-deflate",
        dict(remote_no_context_takeover=False, local_no_context_takeover=False,
             remote_max_window_bits=15, local_max_window_bits=15),
    ),
    "no-context-takeover": (
        dict(server_no_context_takeover=True, client_no_context_takeover=True),
        "permessage-deflate; server_no_context_takeover",
        dict(remote_no_context_takeover=True, local_no_context_takeover=True),
    ),
    # websockets inflates with exactly the window it asked for: a server
    # that used a larger one would fail these.
    "windows-10": (
        dict(server_max_window_bits=10, client_max_window_bits=10),
        "permessage-deflate; server_max_window_bits=10",
        dict(remote_max_window_bits=10, local_max_window_bits=10),
    ),
    "server-window-9": (
        dict(server_max_window_bits=9),
        "permessage-deflate; server_max_window_bits=9",
        dict(remote_max_window_bits=9, local_max_window_bits=15),
    ),
    # zlib cannot deflate with 8 bits: our servers then send uncompressed.
    "server-window-8": (
        dict(server_max_window_bits=8),
        "permessage-deflate; server_max_window_bits=8",
        dict(remote_max_window_bits=8),
    ),
    "client-window-9": (
        dict(client_max_window_bits=9),
        "permessage-deflate",
        dict(local_max_window_bits=9),
    ),
}


def payloads() -> list:
    text = "wörld 𝄞 compressible " * 5000
    return [
        "hello",
        "",
        "wörld 𝄞" * 10,
        b"\x00\x01\x02",
        os.urandom(65536),
        "x" * 70000,
        text,
        text,  # again: with context takeover it refers to the first copy
        b"",
        bytes(range(256)) * 64,
    ]


def check_negotiation(ws, mode: str) -> None:
    exts = ws.protocol.extensions
    header = ws.response.headers.get("Sec-WebSocket-Extensions")
    if mode == "none":
        assert not exts and header is None, f"unexpected extensions: {header!r}"
        return
    _, expected_header, agreed = MODES[mode]
    assert header == expected_header, f"{mode}: server answered {header!r}, expected {expected_header!r}"
    assert len(exts) == 1 and exts[0].name == "permessage-deflate", f"{mode}: negotiated {exts!r}"
    for attr, value in agreed.items():
        got = getattr(exts[0], attr)
        assert got == value, f"{mode}: {attr} is {got!r}, expected {value!r}"


async def one_client(url: str, n: int, mode: str) -> None:
    if mode == "none":
        kwargs = dict(compression=None)
    elif MODES[mode][0] is None:
        kwargs = dict(compression="deflate")
    else:
        kwargs = dict(compression=None, extensions=[ClientPerMessageDeflateFactory(**MODES[mode][0])])
    if url.startswith("wss://"):
        # Our TLS servers are checked against the CA named by INTEROP_CA.
        kwargs["ssl"] = ssl.create_default_context(cafile=os.environ["INTEROP_CA"])
    async with websockets.connect(url, max_size=None, **kwargs) as ws:
        check_negotiation(ws, mode)
        for i, payload in enumerate(payloads()):
            await ws.send(payload)
            echo = await ws.recv()
            assert echo == payload, f"connection {n}: message {i} came back different"
        # A fragmented message (websockets sends an iterable as fragments).
        parts = ["frag", "mented ", "y" * 5000, "", "é" * 100]
        await ws.send(parts)
        echo = await ws.recv()
        assert echo == "".join(parts), f"connection {n}: the fragmented message came back different"
        # One whose last fragment is empty (a server echoing fragment by
        # fragment must then send an empty final fragment), and a message
        # after it, which only decodes if that fragment left the compression
        # context in step.
        for message in (["ends with an empty fragment; " * 3, ""], [b"\x01" * 100, b""], "after"):
            await ws.send(message)
            echo = await ws.recv()
            expected = message if not isinstance(message, list) else message[0]
            assert echo == expected, f"connection {n}: {expected[:20]!r}... came back different"
        pong = await ws.ping(b"are you there")
        await asyncio.wait_for(pong, 5)
        await ws.close(code=1000, reason="done")
        assert ws.close_code == 1000, f"connection {n}: close code {ws.close_code}"


async def test_server(url: str, connections: int, modes: list) -> None:
    failed = False
    for mode in modes:
        if mode != "none" and mode not in MODES:
            sys.exit(f"unknown mode {mode}; known: none, {', '.join(MODES)}")
        results = await asyncio.gather(
            *(one_client(url, n, mode) for n in range(connections)), return_exceptions=True
        )
        failures = [r for r in results if isinstance(r, BaseException)]
        for f in failures[:5]:
            print("interop: failure:", repr(f))
        print(f"interop: {url} [{mode}]: {connections - len(failures)}/{connections} concurrent clients OK")
        failed = failed or bool(failures)
    if failed:
        sys.exit(1)


async def echo_server(port: int, mode: str) -> None:
    async def echo(ws):
        exts = [e.name for e in ws.protocol.extensions]
        print(f"connection: offer={ws.request.headers.get('Sec-WebSocket-Extensions')!r} extensions={exts}", flush=True)
        async for message in ws:
            await ws.send(message)

    compression = "deflate" if mode == "deflate" else None
    async with websockets.serve(echo, "127.0.0.1", port, compression=compression, max_size=None):
        print("ready", flush=True)
        await asyncio.Future()


def make_certs(out: str) -> None:
    import trustme

    ca = trustme.CA()
    ca.cert_pem.write_to_path(os.path.join(out, "ca.pem"))
    for name, hosts in (("server", ["localhost", "127.0.0.1"]), ("other", ["other.example"])):
        cert = ca.issue_cert(*hosts)
        cert.private_key_pem.write_to_path(os.path.join(out, f"{name}.key"))
        with open(os.path.join(out, f"{name}.pem"), "wb") as f:
            for blob in cert.cert_chain_pems:
                f.write(blob.bytes())


async def tls_echo_server(port: int, cert: str, key: str) -> None:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)

    async def echo(ws):
        async for message in ws:
            await ws.send(message)

    async with websockets.serve(echo, "127.0.0.1", port, ssl=context, max_size=None):
        print("ready", flush=True)
        await asyncio.Future()


def fuzz_cases() -> list:
    """Each case: messages the server sends, one at a time, expecting each
    back. A list of str/bytes is sent as one fragmented message."""
    text = "le texte se répète, " * 3000
    return [
        ["hello", "", b"", "héllo 😀"],
        [text, text, text],
        [os.urandom(70000), bytes(200000)],
        [["frag", "mented ", "z" * 10000], [b"a", b"", b"b" * 3000]],
        ["x" * (1 << 20), os.urandom(1 << 20)],
        ["short"] * 50 + [text[:500]] * 50,
    ]


async def fuzz_server(port: int, mode: str) -> None:
    if mode == "default":
        # websockets' own defaults: server_max_window_bits=12,
        # client_max_window_bits=12 (our client must honour the latter).
        kwargs = dict(compression="deflate")
        expected_response = "permessage-deflate; server_max_window_bits=12; client_max_window_bits=12"
    elif mode == "strict":
        kwargs = dict(compression=None, extensions=[ServerPerMessageDeflateFactory(
            server_no_context_takeover=True, client_no_context_takeover=True,
            server_max_window_bits=10, client_max_window_bits=9,
        )])
        expected_response = None  # checked through the agreed parameters
    else:
        sys.exit(f"unknown fuzz-server mode {mode}")
    cases = fuzz_cases()
    results: dict = {}
    done = asyncio.get_running_loop().create_future()

    async def handler(ws):
        url = urllib.parse.urlsplit(ws.request.path)
        query = urllib.parse.parse_qs(url.query)
        if url.path == "/getCaseCount":
            await ws.send(str(len(cases)))
        elif url.path == "/runCase":
            case = int(query["case"][0])
            try:
                offer = ws.request.headers.get("Sec-WebSocket-Extensions")
                exts = ws.protocol.extensions
                assert len(exts) == 1 and exts[0].name == "permessage-deflate", \
                    f"deflate not negotiated (offer {offer!r})"
                response = ws.response.headers.get("Sec-WebSocket-Extensions")
                if expected_response is not None:
                    assert response == expected_response, f"answered {response!r}"
                if mode == "strict":
                    e = exts[0]
                    assert (e.local_no_context_takeover, e.remote_no_context_takeover,
                            e.local_max_window_bits, e.remote_max_window_bits) == (True, True, 10, 9), \
                        f"agreed {vars(e)!r}"
                for i, message in enumerate(cases[case - 1]):
                    await ws.send(message)
                    echo = await asyncio.wait_for(ws.recv(), 10)
                    expected = message if not isinstance(message, list) else (
                        "".join(message) if isinstance(message[0], str) else b"".join(message))
                    assert echo == expected, f"message {i} came back different"
                results[case] = "ok"
            except Exception as e:  # noqa: BLE001 - reported below
                results[case] = f"FAIL {e!r}"
            print(f"case {case}: {results[case]}", flush=True)
        elif url.path == "/updateReports":
            if not done.done():
                done.set_result(None)
        await ws.close()

    async with websockets.serve(handler, "127.0.0.1", port, max_size=None, **kwargs):
        print("ready", flush=True)
        await asyncio.wait_for(done, 300)
    missing = [c for c in range(1, len(cases) + 1) if c not in results]
    failures = {c: r for c, r in results.items() if r != "ok"}
    print(f"interop: autobahn_client against a websockets server [{mode}]: "
          f"{len(cases) - len(missing) - len(failures)}/{len(cases)} cases OK")
    for c, r in failures.items():
        print(f"interop: case {c}: {r}")
    if missing:
        print(f"interop: cases never run: {missing}")
    if missing or failures:
        sys.exit(1)


if __name__ == "__main__":
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    if sys.argv[1] == "server":
        connections = int(sys.argv[3]) if len(sys.argv) > 3 else 200
        asyncio.run(test_server(sys.argv[2], connections, sys.argv[4:] or ["none"]))
    elif sys.argv[1] == "echo-server":
        asyncio.run(echo_server(int(sys.argv[2]), sys.argv[3] if len(sys.argv) > 3 else "none"))
    elif sys.argv[1] == "make-certs":
        make_certs(sys.argv[2])
    elif sys.argv[1] == "tls-echo-server":
        asyncio.run(tls_echo_server(int(sys.argv[2]), sys.argv[3], sys.argv[4]))
    elif sys.argv[1] == "fuzz-server":
        asyncio.run(fuzz_server(int(sys.argv[2]), sys.argv[3] if len(sys.argv) > 3 else "default"))
    else:
        sys.exit(__doc__)
