"""The driver behind ci/bench (run that, not this): WebSocket echo throughput
of wsproto's example servers beside servers on other crates, and the memory
each idle connection costs them.

Every run starts the server afresh on CPU 0 and the rig's loadgen on CPU 1;
repetitions are interleaved (each repetition walks every cell, and each cell
every server in a rotated order) so drift hits all servers alike. Figures are
printed, never judged; a server that does not start, dies, or echoes wrongly
is reported and makes the exit code 1.
"""

import argparse
import math
import os
import re
import statistics
import subprocess
import sys
import time

# name -> (directory key, binary): "examples" are wsproto's, "rig" the peers.
SERVERS = {
    "wsproto-smol": ("examples", "echo_server"),
    "wsproto-tokio": ("examples", "tokio_echo_server"),
    "wsproto-async-std": ("examples", "async_std_echo_server"),
    "fastwebsockets": ("rig", "fastwebsockets_echo"),
    "tokio-websockets": ("rig", "tokio_websockets_echo"),
    "tokio-tungstenite": ("rig", "tungstenite_echo"),
}
MODES = ("pingpong", "pipelined")
PROFILES = {
    # CI runs this one: about 70 s after the build.
    "smoke": dict(sizes=[16, 64 << 10], conns=[1, 16], modes=list(MODES),
                  reps=1, warmup=0.25, duration=1.0, idle=500, retries=1),
    # The whole matrix: about 16 minutes.
    "full": dict(sizes=[16, 1 << 10, 64 << 10, 1 << 20], conns=[1, 16, 256],
                 modes=list(MODES), reps=3, warmup=0.5, duration=1.5, idle=2000, retries=2),
}
# The server and the loadgen each get a CPU of their own (the first two this
# process may use); with a single CPU they share it.
_cpus = sorted(os.sched_getaffinity(0))
SERVER_CPU, LOADGEN_CPU = str(_cpus[0]), str(_cpus[min(1, len(_cpus) - 1)])
LOADGEN_BUSY = 0.9  # loadgen CPU share from which a figure is flagged
DISTURBED = 0.1  # CPU share used by other processes from which a run is retried


class Failure(Exception):
    """A server or loadgen failure, with what is known about it."""


class StartFailure(Failure):
    """A server that did not start listening: nothing can be measured."""


def parse_args():
    p = argparse.ArgumentParser(prog="ci/bench", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--full", action="store_true",
                   help="the full matrix (3 reps); default: the smoke profile")
    p.add_argument("--servers", help="comma-separated, of: " + ",".join(SERVERS))
    p.add_argument("--sizes", help="payload sizes in bytes, comma-separated")
    p.add_argument("--conns", help="connection counts, comma-separated")
    p.add_argument("--modes", help="pingpong,pipelined (either or both)")
    p.add_argument("--reps", type=int, help="repetitions of every run")
    p.add_argument("--warmup", type=float, help="seconds of traffic before measuring")
    p.add_argument("--duration", type=float, help="seconds measured")
    p.add_argument("--inflight", type=int, default=8,
                   help="messages in flight per connection when pipelined (8)")
    p.add_argument("--idle-conns", type=int,
                   help="idle connections for the memory table (0: skip it)")
    p.add_argument("--text", action="store_true", help="send text messages, not binary")
    p.add_argument("--fragment", type=int, default=0,
                   help="send each message in frames of at most this many payload bytes "
                        "(servers echo whole messages)")
    p.add_argument("--read-payloads", action="store_true",
                   help="have the loadgen read every echo's payload, as a real client "
                        "would, instead of dropping payloads of 16 KiB or more in the "
                        "kernel (recv with MSG_TRUNC)")
    p.add_argument("--retries", type=int,
                   help="times a run is repeated while other processes take more than "
                        f"{DISTURBED * 100:.0f}%% of a core from the two CPUs (smoke 1, full 2)")
    p.add_argument("--examples", required=True, help=argparse.SUPPRESS)
    p.add_argument("--rig", required=True, help=argparse.SUPPRESS)
    a = p.parse_args()
    profile = PROFILES["full" if a.full else "smoke"]
    ints = lambda s: [int(x) for x in s.split(",")]
    a.profile = "full" if a.full else "smoke"
    a.sizes = ints(a.sizes) if a.sizes else profile["sizes"]
    a.conns = ints(a.conns) if a.conns else profile["conns"]
    a.modes = a.modes.split(",") if a.modes else profile["modes"]
    a.servers = a.servers.split(",") if a.servers else list(SERVERS)
    for key in ("reps", "warmup", "duration", "retries"):
        if getattr(a, key) is None:
            setattr(a, key, profile[key])
    if a.idle_conns is None:
        a.idle_conns = profile["idle"]
    for name in a.servers:
        if name not in SERVERS:
            p.error(f"unknown server {name}; known: {', '.join(SERVERS)}")
    for mode in a.modes:
        if mode not in MODES:
            p.error(f"unknown mode {mode}")
    return a


def free_port():
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def listening(port):
    """Whether something listens on 127.0.0.1:port (read from /proc, so the
    server sees no probe connection)."""
    want = "0100007F:%04X" % port
    with open("/proc/net/tcp") as f:
        return any(line.split()[1] == want and line.split()[3] == "0A"
                   for line in f.readlines()[1:])


def vm_rss_kib(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError as e:
        raise Failure(f"reading the server's VmRSS: {e}")
    raise Failure(f"no VmRSS for pid {pid}")


class Server:
    """One server process, pinned to SERVER_CPU, logging to target/bench-logs."""

    def __init__(self, name, binary, logdir):
        self.name, self.binary = name, binary
        self.log_path = os.path.join(logdir, name + ".log")
        self.proc = None

    def start(self):
        self.port = free_port()
        log = open(self.log_path, "ab")
        self.log_start = log.tell()
        log.write(f"--- start on port {self.port}\n".encode())
        log.flush()
        self.proc = subprocess.Popen(
            ["taskset", "-c", SERVER_CPU, self.binary, f"127.0.0.1:{self.port}"],
            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        deadline = time.monotonic() + 10
        while not listening(self.port):
            if self.proc.poll() is not None:
                raise StartFailure(f"{self.name} {self.exit_note()} before listening"
                              f"{self.log_tail()}")
            if time.monotonic() > deadline:
                self.kill()
                raise StartFailure(f"{self.name} did not listen on port {self.port} "
                              f"within 10 s{self.log_tail()}")
            time.sleep(0.02)

    def stop(self):
        """Ends the server; a Failure if it had already died."""
        if self.proc.poll() is not None:
            raise Failure(f"{self.name} {self.exit_note()} during the run{self.log_tail()}")
        self.kill()

    def failed(self, e):
        """`e` (a loadgen failure) with the server's fate and log added;
        the server is ended."""
        time.sleep(0.1)  # a crashing server may still be on its way out
        died = "" if self.proc.poll() is None else f"; {self.name} {self.exit_note()}"
        self.kill()
        return Failure(f"{e}{died}{self.log_tail()}")

    def exit_note(self):
        code = self.proc.returncode
        return f"was killed by signal {-code}" if code < 0 else f"exited with code {code}"

    def kill(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(2)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def log_tail(self, lines=5):
        """The last lines the server logged since it was started."""
        try:
            with open(self.log_path, errors="replace") as f:
                f.seek(self.log_start)
                tail = f.read().splitlines()[-lines:]
        except OSError:
            return ""
        return "".join("\n    log: " + line for line in tail)


def loadgen(a, server, *args, timeout):
    cmd = ["taskset", "-c", LOADGEN_CPU, os.path.join(a.rig, "loadgen"),
           "--url", f"ws://127.0.0.1:{server.port}/", *map(str, args)]
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise Failure(f"loadgen against {server.name} timed out after {timeout} s")
    if r.returncode != 0:
        raise Failure(f"loadgen against {server.name} failed (exit code {r.returncode}): "
                      f"{r.stderr.strip()}")
    return dict(kv.split("=", 1) for kv in r.stdout.split())


def echo_run(a, server, size, conns, mode, warmup, duration):
    """One measured run against a freshly started server."""
    server.start()
    try:
        out = loadgen(a, server, "--conns", conns, "--size", size, "--mode", mode,
                      "--inflight", a.inflight, "--warmup", warmup, "--duration", duration,
                      "--server-pid", server.proc.pid,
                      "--cpus", ",".join(sorted({SERVER_CPU, LOADGEN_CPU})),
                      *(["--text"] if a.text else []),
                      *(["--read-payloads"] if a.read_payloads else []),
                      *(["--fragment", a.fragment] if a.fragment else []),
                      timeout=warmup + duration + 60 + conns / 10)
    except Failure as e:
        raise server.failed(e)
    server.stop()
    out = {k: float(v) for k, v in out.items()}
    if out.get("msgs") and "server_cpu" in out:
        out["server_us_per_msg"] = out["server_cpu"] * out["secs"] / out["msgs"] * 1e6
    return out


def idle_memory(a, server):
    """Server RSS after one warm-up connection, and with a.idle_conns idle
    connections open."""
    server.start()
    try:
        loadgen(a, server, "--conns", 1, "--size", 16, "--warmup", 0, "--duration", 0.2,
                timeout=30)
        time.sleep(0.3)
        before = vm_rss_kib(server.proc.pid)
        cmd = ["taskset", "-c", LOADGEN_CPU, os.path.join(a.rig, "loadgen"),
               "--url", f"ws://127.0.0.1:{server.port}/", "--mode", "idle",
               "--conns", str(a.idle_conns)]
        p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
        ready = p.stdout.readline()
        if ready.startswith("ready"):
            time.sleep(0.5)
            after = vm_rss_kib(server.proc.pid)
        _, err = p.communicate(timeout=30)
        if not ready.startswith("ready") or p.returncode != 0:
            raise Failure(f"loadgen (idle) against {server.name} failed "
                          f"(exit code {p.returncode}): {err.strip()}")
    except Failure as e:
        raise server.failed(e)
    server.stop()
    return before, after


def size_label(n):
    for unit, shift in (("MiB", 20), ("KiB", 10)):
        if n >= 1 << shift and n % (1 << shift) == 0:
            return f"{n >> shift} {unit}"
    return f"{n} B"


def table(header, rows, align):
    out = ["| " + " | ".join(header) + " |",
           "|" + "|".join(":--" if x == "l" else "--:" for x in align) + "|"]
    out += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(out)


def print_versus_peers(a, cells, median):
    """Each wsproto server against the best of the other crates, cell by cell:
    the geometric mean of those ratios, the lowest, and the cells below 1.00."""
    ours = [n for n in a.servers if n.startswith("wsproto")]
    peers = [n for n in a.servers if not n.startswith("wsproto")]
    if not ours or not peers:
        return
    print("\nAgainst the best other crate in each cell (its messages/s over the "
          "fastest of " + ", ".join(peers) + "):\n")
    rows = []
    for name in ours:
        ratios, below = [], []
        for cell in cells:
            mine = median(cell, name, "msgs_per_sec")
            best = max((median(cell, p, "msgs_per_sec") or 0 for p in peers), default=0)
            if not mine or not best:
                continue
            ratios.append(mine / best)
            if mine < best:
                below.append(f"{size_label(cell[0])} x {cell[1]} {cell[2]} {mine / best:.2f}")
        if not ratios:
            continue
        g = math.exp(sum(map(math.log, ratios)) / len(ratios))
        rows.append([name, f"{g:.2f}", f"{min(ratios):.2f}", str(len(below)),
                     "; ".join(below) or "none"])
    print(table(["server", "geomean", "lowest", "cells below 1.00", "those cells"], rows, "lrrrl"))


def main():
    a = parse_args()
    logdir = os.path.join("target", "bench-logs")
    os.makedirs(logdir, exist_ok=True)
    servers = {}
    for name in a.servers:
        where, binary = SERVERS[name]
        path = os.path.join(getattr(a, where), binary)
        if not os.access(path, os.X_OK):
            sys.exit(f"bench: {path} is missing (ci/bench builds it)")
        servers[name] = Server(name, path, logdir)
    cells = [(s, c, m) for s in a.sizes for c in a.conns for m in a.modes]
    runs = len(cells) * len(servers) * a.reps
    per_run = a.warmup + a.duration + 0.25
    print(f"profile: {a.profile}; {len(cells)} cells x {len(servers)} servers x "
          f"{a.reps} reps; {a.warmup:g} s warm-up + {a.duration:g} s measured per run; "
          f"server on CPU {SERVER_CPU}, loadgen on CPU {LOADGEN_CPU}; pipelined keeps "
          f"{a.inflight} in flight per connection; {'text' if a.text else 'binary'} "
          f"messages{f' in frames of {a.fragment} B' if a.fragment else ''}; echo payloads "
          f"{'read' if a.read_payloads else 'of 16 KiB+ dropped unread (MSG_TRUNC)'}; logs in {logdir}/")
    print(f"bench: {runs} runs, about {runs * per_run:.0f} s", file=sys.stderr, flush=True)
    peers = {}
    try:
        with open(os.path.join("ci", "bench-rig", "Cargo.lock")) as f:
            lock = f.read()
        for crate in ("fastwebsockets", "tokio-websockets", "tokio-tungstenite"):
            m = re.search(r'name = "%s"\nversion = "([^"]+)"' % crate, lock)
            peers[crate] = m.group(1) if m else "?"
        print("peers: " + ", ".join(f"{k} {v}" for k, v in peers.items()))
    except OSError:
        pass
    print()

    results = {}  # (cell, server) -> list of loadgen outputs
    failures = []
    retried = 0
    started = time.monotonic()
    done = 0
    for rep in range(a.reps):
        for ci, cell in enumerate(cells):
            k = (rep + ci) % len(a.servers)
            for name in a.servers[k:] + a.servers[:k]:
                done += 1
                size, conns, mode = cell
                label = f"rep {rep + 1} {size_label(size)} x {conns} {mode} {name}"
                try:
                    out = echo_run(a, servers[name], size, conns, mode, a.warmup, a.duration)
                    # Other processes on our CPUs spoil a figure: run it again,
                    # keep the least disturbed.
                    for _ in range(a.retries):
                        if out.get("others_cpu", 0) < DISTURBED:
                            break
                        retried += 1
                        print(f"  {label}: other processes took {out['others_cpu']:.0%} of a "
                              "core, running it again", file=sys.stderr, flush=True)
                        again = echo_run(a, servers[name], size, conns, mode, a.warmup,
                                         a.duration)
                        out = min(out, again, key=lambda r: r.get("others_cpu", 0))
                except StartFailure as e:
                    sys.exit(f"bench: {e}")
                except Failure as e:
                    failures.append((cell, name, str(e)))
                    print(f"[{done}/{runs}] {label}: FAILED\n  {e}", file=sys.stderr, flush=True)
                    continue
                results.setdefault((cell, name), []).append(out)
                print(f"[{done}/{runs}] {label}: {out['msgs_per_sec']:,.0f} msgs/s "
                      f"(CPU server {out.get('server_cpu', 0):.0%}, "
                      f"loadgen {out.get('loadgen_cpu', 0):.0%}, "
                      f"others {out.get('others_cpu', 0):.0%}"
                      + (f"; TCP: {out['tcp_rto']:.0f} retransmission timeouts, "
                         f"{out.get('tcp_pruned', 0):.0f} queues pruned"
                         if out.get("tcp_rto", 0) > 0 else "")
                      + ")", file=sys.stderr, flush=True)
    elapsed = time.monotonic() - started
    failed = {(cell, name) for cell, name, _ in failures}

    def median(cell, name, key):
        if (cell, name) in failed or (cell, name) not in results:
            return None
        return statistics.median(r.get(key, 0.0) for r in results[(cell, name)])

    print(f"## Echo throughput (messages/s, median of {a.reps}; in parentheses the "
          f"ratio to the cell's best)\n")
    rows, ratios = [], {name: [] for name in a.servers}
    for cell in cells:
        rates = {name: median(cell, name, "msgs_per_sec") for name in a.servers}
        best = max((r for r in rates.values() if r), default=0)
        row = [size_label(cell[0]), str(cell[1]), cell[2]]
        for name in a.servers:
            r = rates[name]
            if r is None:
                row.append("FAIL")
                continue
            ratio = r / best if best else 0.0
            ratios[name].append(ratio)
            busy = median(cell, name, "loadgen_cpu") >= LOADGEN_BUSY
            disturbed = any(r.get("others_cpu", 0) >= DISTURBED for r in results[(cell, name)])
            stalled = any(r.get("tcp_rto", 0) > 0 for r in results[(cell, name)])
            row.append(f"{r:,.0f} ({ratio:.2f}){'*' if busy else ''}{'~' if disturbed else ''}"
                       f"{'!' if stalled else ''}")
        rows.append(row)
    geo = ["**geomean of ratios**", "", ""]
    for name in a.servers:
        rs = [r for r in ratios[name] if r > 0]
        g = math.exp(sum(map(math.log, rs)) / len(rs)) if rs else 0.0
        geo.append(f"**{g:.2f}**" + ("" if len(rs) == len(cells) else f" ({len(rs)}/{len(cells)} cells)"))
    rows.append(geo)
    print(table(["payload", "conns", "mode", *a.servers], rows, "rrl" + "r" * len(a.servers)))
    print_versus_peers(a, cells, median)
    disturbed = sum(r.get("others_cpu", 0) >= DISTURBED for rs in results.values() for r in rs)
    stalled_runs = [r for rs in results.values() for r in rs if r.get("tcp_rto", 0) > 0]
    stalled = len(stalled_runs)
    pruned = int(sum(r.get("tcp_pruned", 0) for r in stalled_runs))
    print(f"\n`*`: the loadgen used at least {LOADGEN_BUSY:.0%} of its core, so that "
          "figure may be bounded by the loadgen rather than the server. "
          f"`~`: other processes took at least {DISTURBED:.0%} of a core from the two "
          f"CPUs in a run kept for that figure. {retried} run(s) were repeated for that "
          f"reason; {disturbed} kept run(s) are marked. "
          "`!`: in a run kept for that figure the kernel retransmitted after a timeout "
          "(200 ms or more) on loopback, which it does only when short of TCP memory "
          "(`tcp_mem`) and pruning receive queues; such a figure measures the kernel's "
          f"recovery as much as the server ({stalled} kept run(s), {pruned} prunes in "
          "them).\n")

    print("## CPU in the measured window (server / loadgen, % of one core; and the "
          "server's CPU time per message, µs; medians)\n")
    rows = []
    for cell in cells:
        row = [size_label(cell[0]), str(cell[1]), cell[2]]
        for name in a.servers:
            s, l = median(cell, name, "server_cpu"), median(cell, name, "loadgen_cpu")
            us = median(cell, name, "server_us_per_msg")
            row.append("FAIL" if s is None else f"{s:.0%} / {l:.0%}, {us:,.2f} µs")
        rows.append(row)
    print(table(["payload", "conns", "mode", *a.servers], rows, "rrl" + "r" * len(a.servers)))
    print()

    if a.idle_conns > 0:
        print(f"## Memory per idle connection ({a.idle_conns} idle connections; server "
              "VmRSS after them minus after one warm-up connection)\n")
        rows = []
        for name in a.servers:
            try:
                before, after = idle_memory(a, servers[name])
            except Failure as e:
                failures.append((None, name, str(e)))
                print(f"idle memory {name}: FAILED\n  {e}", file=sys.stderr, flush=True)
                rows.append([name, "FAIL", "FAIL", "FAIL"])
                continue
            per_conn = (after - before) * 1024 / a.idle_conns
            rows.append([name, f"{before:,}", f"{after:,}", f"{per_conn:,.0f}"])
        print(table(["server", "RSS before (KiB)", f"RSS with {a.idle_conns} idle (KiB)",
                     "bytes per idle connection"], rows, "lrrr"))
        print()

    print(f"measured runs took {elapsed:.0f} s")
    if failures:
        print(f"\n{len(failures)} failure(s):", file=sys.stderr)
        for cell, name, msg in failures:
            where = f"{size_label(cell[0])} x {cell[1]} {cell[2]}" if cell else "idle memory"
            print(f"- {name}, {where}: {msg}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
