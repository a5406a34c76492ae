#!/usr/bin/env python3
"""Instructions per echoed message, counted by callgrind: a figure that,
unlike msgs/s on a shared machine, barely moves between runs.

    ci/callgrind.py "SIZE CONNS MODE;..." LABEL=BINARY [LABEL=BINARY ...]

For each cell and binary (REPS times, interleaved), starts the echo server
under `valgrind --tool=callgrind`, zeroes its counters once it listens,
drives it with the rig's load generator for DUR seconds, dumps the counters
and prints the server's instructions (all threads) divided by the messages
the load generator counted. The server runs some 50x slower under valgrind,
so per-message costs that batching amortizes (one look at the reactor for
many messages) weigh differently than at full speed: compare binaries with
one another, not with the figures of `ci/bench`. Figures only; never fails
on them. Build the load generator first (`ci/bench` does).

Environment: REPS (default 2), DUR (seconds, default 4), LOADGEN (its path).
"""
import glob
import os
import re
import subprocess
import tempfile

from ab import parse_args, wait_listening

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LOADGEN = os.environ.get("LOADGEN", os.path.join(ROOT, "target/bench-rig/release/loadgen"))
REPS = int(os.environ.get("REPS", "2"))
DUR = os.environ.get("DUR", "4")


def measure(binary, size, conns, mode, port, out_dir):
    """Instructions per message of one run."""
    pattern = os.path.join(out_dir, f"cg.{port}")
    server = subprocess.Popen(
        ["valgrind", "--tool=callgrind", f"--callgrind-out-file={pattern}.%p",
         binary, f"127.0.0.1:{port}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        # valgrind takes seconds to start a program.
        wait_listening(port, seconds=20)
        # The probe connection and start-up are not the cells' work.
        subprocess.run(["callgrind_control", "-z", str(server.pid)],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        out = subprocess.run(
            ["taskset", "-c", "1", LOADGEN, "--url", f"ws://127.0.0.1:{port}/",
             "--conns", conns, "--size", size, "--mode", mode, "--warmup", "0",
             "--duration", DUR, "--read-payloads"],
            check=True, capture_output=True, text=True).stdout
        subprocess.run(["callgrind_control", "-d", str(server.pid)],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    finally:
        server.kill()
        server.wait()
    msgs = int(re.search(r"\bmsgs=(\d+)", out).group(1))
    dumps = [f for f in glob.glob(f"{pattern}.*") if os.path.getsize(f) > 0]
    total = 0
    for dump in dumps:
        # The dump after zeroing: the file with the highest part number.
        if not re.search(r"\.\d+\.\d+$", dump):
            continue
        for line in open(dump):
            if line.startswith("summary:") or line.startswith("totals:"):
                total = max(total, int(line.split()[1]))
    return total / msgs, msgs


def main():
    cells, servers = parse_args(__doc__)
    port = 19400
    results = {}
    with tempfile.TemporaryDirectory() as out_dir:
        for _ in range(REPS):
            for cell in cells:
                for label, binary in servers:
                    port += 1
                    per_msg, msgs = measure(binary, *cell, port, out_dir)
                    results.setdefault((tuple(cell), label), []).append((per_msg, msgs))
    for cell in cells:
        print(" ".join(cell))
        for label, _ in servers:
            runs = results[(tuple(cell), label)]
            figures = ", ".join(f"{p:,.0f} ({m:,} msgs)" for p, m in runs)
            print(f"  {label:12} instructions/msg {figures}")


if __name__ == "__main__":
    main()
