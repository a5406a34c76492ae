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

Environment: REPS (default 2), DUR (seconds, default 4), LOADGEN (its path),
LINES (print, for each cell and binary's last run, the N source files and
the N source lines with the most instructions of their own per message;
build the binaries with line tables for that, e.g.
`CARGO_PROFILE_RELEASE_DEBUG=line-tables-only cargo build --release
--examples --all-features`: inlined code is then counted where it was
written, not in the function it was inlined into).
"""
import collections
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
LINES = int(os.environ.get("LINES", "0"))


def measure(binary, size, conns, mode, port, out_dir):
    """Instructions per message of one run."""
    pattern = os.path.join(out_dir, f"cg.{port}")
    server = subprocess.Popen(
        # Pinned as ci/bench pins it: a server that sizes its thread pool
        # by the CPUs it may use then runs as it does there.
        ["taskset", "-c", "0", "valgrind", "--tool=callgrind", f"--callgrind-out-file={pattern}.%p",
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
    # The dump after zeroing: PATTERN.PID.PART with the highest PART (one
    # file per dump, every thread in it).
    parts = [f for f in glob.glob(f"{pattern}.*")
             if os.path.getsize(f) > 0 and re.search(r"\.\d+\.\d+$", f)]
    dump = max(parts, key=lambda f: int(f.rsplit(".", 1)[1]))
    total = 0
    for line in open(dump):
        if line.startswith("summary:") or line.startswith("totals:"):
            total = max(total, int(line.split()[1]))
    lines = self_cost_by_line(dump) if LINES else collections.Counter()
    return total / msgs, msgs, lines


def self_cost_by_line(dump):
    """Instructions by (source file, line) of a callgrind dump, each counted
    where it executed (calls' inclusive costs left out)."""
    names = {}  # compressed file names: "(id) name" first, "(id)" after

    def file_name(spec):
        m = re.match(r"\((\d+)\)(?: (.*))?$", spec)
        if not m:
            return spec
        if m.group(2) is not None:
            names[m.group(1)] = m.group(2)
        return names.get(m.group(1), "?")

    costs = collections.Counter()
    current, function_file, line_no, after_calls = "?", "?", 0, False
    for raw in open(dump):
        raw = raw.rstrip("\n")
        key = raw.split("=", 1)[0]
        if key in ("fl", "fi", "fe"):
            current = file_name(raw[3:])
            if key == "fl":
                function_file = current
        elif key == "fn":
            current = function_file
        elif key in ("cfi", "cfl"):
            file_name(raw[4:])  # may define a name used later
        elif key == "calls":
            after_calls = True  # the next cost line is the call's, inclusive
        elif raw and (raw[0].isdigit() or raw[0] in "+-*"):
            fields = raw.split()
            pos = fields[0]
            if pos == "*":
                pass
            elif pos[0] in "+-":
                line_no += int(pos)
            else:
                line_no = int(pos)
            if after_calls:
                after_calls = False
                continue
            if len(fields) > 1:
                costs[(current, line_no)] += int(fields[1])
    return costs


def short(path):
    """A source path without the registry's or the toolchain's prefix."""
    path = re.sub(r".*/registry/src/[^/]+/", "", path)
    path = re.sub(r".*/rustc/[0-9a-f]+/library/", "std:", path)
    return path.replace(ROOT + "/", "")


def print_lines(lines, msgs):
    """The top LINES files and lines of `lines`, per message."""
    by_file = collections.Counter()
    for (path, _), cost in lines.items():
        by_file[short(path)] += cost
    for path, cost in by_file.most_common(LINES):
        print(f"      {cost / msgs:8,.0f}  {path}")
    print()
    for (path, line_no), cost in lines.most_common(LINES):
        print(f"      {cost / msgs:8,.0f}  {short(path)}:{line_no}")


def main():
    cells, servers = parse_args(__doc__)
    port = 19400
    results = {}
    with tempfile.TemporaryDirectory() as out_dir:
        for _ in range(REPS):
            for cell in cells:
                for label, binary in servers:
                    port += 1
                    per_msg, msgs, lines = measure(binary, *cell, port, out_dir)
                    results.setdefault((tuple(cell), label), []).append((per_msg, msgs, lines))
    for cell in cells:
        print(" ".join(cell))
        for label, _ in servers:
            runs = results[(tuple(cell), label)]
            figures = ", ".join(f"{p:,.0f} ({m:,} msgs)" for p, m, _ in runs)
            print(f"  {label:12} instructions/msg {figures}")
            if LINES:
                _, msgs, lines = runs[-1]
                print(f"    the last run's own instructions per message, by file and by line:")
                print_lines(lines, msgs)


if __name__ == "__main__":
    main()
