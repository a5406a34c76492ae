#!/usr/bin/env python3
"""Interleaved A/B of echo-server binaries: msgs/s and the server's CPU.

    ci/ab.py "SIZE CONNS MODE;..." LABEL=BINARY [LABEL=BINARY ...]

Each repetition starts every binary in turn (pinned to CPU 0, listening on
127.0.0.1) and runs the rig's load generator (pinned to CPU 1) over every
cell, so that drift hits all binaries alike. Prints, per cell and binary,
the median msgs/s with every run, and the server's user and system time
per message (from /proc/PID/stat), which on a noisy machine moves far less
than msgs/s. Figures only; never fails on them. Build the load generator
first (`ci/bench` does, into target/bench-rig).

Environment: REPS (default 5), DUR (seconds measured, default 1.5),
EXTRA (more loadgen arguments, e.g. --read-payloads), LOADGEN (its path).
"""
import os
import re
import socket
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LOADGEN = os.environ.get("LOADGEN", os.path.join(ROOT, "target/bench-rig/release/loadgen"))
REPS = int(os.environ.get("REPS", "5"))
DUR = os.environ.get("DUR", "1.5")
WARMUP = 0.3
EXTRA = os.environ.get("EXTRA", "").split()
TICK = os.sysconf("SC_CLK_TCK")


def cpu(pid):
    """(minor faults, user ticks, system ticks) of `pid`."""
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return int(fields[7]), int(fields[11]), int(fields[12])


def wait_listening(port, seconds=5):
    """Returns once something accepts on `port`; exits after `seconds`."""
    for _ in range(int(seconds / 0.05)):
        try:
            socket.create_connection(("127.0.0.1", port)).close()
            return
        except OSError:
            time.sleep(0.05)
    sys.exit(f"nothing listens on port {port}")


def parse_args(usage):
    """The cells ([SIZE, CONNS, MODE] lists) and the (label, binary) pairs
    of the command line; exits with `usage` when they are missing."""
    if len(sys.argv) < 3:
        sys.exit(usage)
    cells = [c.split() for c in sys.argv[1].split(";") if c.strip()]
    servers = [a.split("=", 1) for a in sys.argv[2:]]
    return cells, servers


def main():
    cells, servers = parse_args(__doc__)
    port = 19100
    results = {}
    for _ in range(REPS):
        for label, binary in servers:
            port += 1
            server = subprocess.Popen(["taskset", "-c", "0", binary, f"127.0.0.1:{port}"],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            wait_listening(port)
            for size, conns, mode in cells:
                before = cpu(server.pid)
                out = subprocess.run(
                    ["taskset", "-c", "1", LOADGEN, "--url", f"ws://127.0.0.1:{port}/",
                     "--conns", conns, "--size", size, "--mode", mode,
                     "--warmup", str(WARMUP), "--duration", DUR] + EXTRA,
                    capture_output=True, text=True)
                after = cpu(server.pid)
                m = re.search(r"msgs_per_sec=([\d.]+)", out.stdout)
                rate = float(m.group(1)) if m else 0.0
                if not m:
                    # A failed run counts as 0 msgs/s; say why.
                    print(f"{label} {size} {conns} {mode}: loadgen failed "
                          f"(exit {out.returncode}): {out.stderr.strip()[-500:]}", file=sys.stderr)
                # The server's time counts the warm-up too.
                msgs = rate * (float(DUR) + WARMUP) or 1
                results.setdefault((size, conns, mode), {}).setdefault(label, []).append((
                    rate,
                    (after[1] - before[1]) / TICK / msgs * 1e6,
                    (after[2] - before[2]) / TICK / msgs * 1e6,
                    (after[0] - before[0]) / msgs,
                ))
            server.kill()
            server.wait()
    for cell, by_label in results.items():
        print(" ".join(cell))
        for label, runs in by_label.items():
            rates = sorted(r[0] for r in runs)
            med = lambda i: statistics.median(r[i] for r in runs)
            print(f"  {label:12s} median {statistics.median(rates):>10.0f}  "
                  f"runs {[round(r) for r in rates]}  usr {med(1):.2f} sys {med(2):.2f} "
                  f"us/msg  minflt {med(3):.3f}/msg")


if __name__ == "__main__":
    main()
