#!/usr/bin/env python3
"""How the full runs in BENCHMARKS.md agree: each cell's ratios, run by run.

    ci/across_runs.py [--runs N] [LABEL=LOG ...]

Reads the throughput table of the newest N (default 6) full runs in
BENCHMARKS.md (`### ci/bench --full ... at REV` sections), plus any
`ci/bench` output given as LABEL=LOG (put first, as the newest). Prints:

1. per cell, wsproto-smol's ratio to the best other crate in each run, and
   per run the geometric mean and the cells below 1.00;
2. per ping-pong cell, every server's median ratio to the best of the other
   servers: a cell where no server stays at or above 1.00 is one whose
   winner changes from run to run.

Figures only; it judges nothing.
"""
import math
import os
import re
import statistics
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PEERS = ["fastwebsockets", "tokio-websockets", "tokio-tungstenite"]
OURS = "wsproto-smol"
SECTION = re.compile(
    r"### `ci/bench --full[^`]*` at (\w+)[^\n]*\n(.*?)(?=\n### |\n## |\Z)", re.S)
ROW = re.compile(r"\| \d+ (?:B|KiB|MiB) \| \d+ \| \w+ \|")


def throughput(text):
    """{cell: {server: msgs/s}} from the first table of a run's text (the
    throughput table: its header is the first `| payload |` line)."""
    header, rows = None, {}
    for line in text.splitlines():
        if header is None:
            if line.startswith("| payload |"):
                header = [c.strip() for c in line.strip("|").split("|")]
            continue
        if not ROW.match(line):
            if rows:
                break
            continue
        cells = [c.strip() for c in line.strip("|").split("|")]
        rows[" ".join(cells[:3])] = {
            server: float(re.match(r"[\d,]+", value).group(0).replace(",", ""))
            for server, value in zip(header[3:], cells[3:])
        }
    return rows


def main():
    args = sys.argv[1:]
    runs_wanted = 6
    if args[:1] == ["--runs"]:
        runs_wanted, args = int(args[1]), args[2:]
    runs = [(label, open(path).read()) for label, path in (a.split("=", 1) for a in args)]
    with open(os.path.join(ROOT, "BENCHMARKS.md")) as f:
        runs += [(m.group(1), m.group(2)) for m in SECTION.finditer(f.read())]
    tables = []
    for label, text in runs:
        table = throughput(text)
        if table and len(tables) < runs_wanted:
            tables.append((label, table))
    if not tables:
        sys.exit("no full-run tables found")
    cells = list(tables[0][1])
    servers = list(tables[0][1][cells[0]])

    print(f"{OURS} against the best other crate, runs newest first: "
          + ", ".join(label for label, _ in tables))
    by_run = [[] for _ in tables]
    for cell in cells:
        ratios = []
        for i, (_, table) in enumerate(tables):
            row = table.get(cell, {})
            best = max((row.get(p, 0) for p in PEERS), default=0)
            ratio = row[OURS] / best if best and OURS in row else float("nan")
            ratios.append(ratio)
            by_run[i].append(ratio)
        print(f"  {cell:22s} " + " ".join(f"{r:5.2f}" for r in ratios))
    for i, (label, _) in enumerate(tables):
        found = [r for r in by_run[i] if r == r]
        mean = math.exp(sum(math.log(r) for r in found) / len(found))
        print(f"  {label}: geomean {mean:.2f}, {sum(r < 1 for r in found)} cells below 1.00")

    print("\nping-pong cells: each server's median over runs of its ratio to the "
          "best of the other servers")
    print(f"  {'cell':22s} " + " ".join(f"{s[:12]:>12s}" for s in servers))
    for cell in cells:
        if "pingpong" not in cell:
            continue
        medians = []
        for server in servers:
            ratios = [t[cell][server] / max(t[cell][o] for o in servers if o != server)
                      for _, t in tables if cell in t]
            medians.append(statistics.median(ratios))
        print(f"  {cell:22s} " + " ".join(f"{m:12.2f}" for m in medians))


if __name__ == "__main__":
    main()
