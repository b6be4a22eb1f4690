"""Throughput and peak memory of two http.client-API modules, side by side in one run, on loopback.

    python benchmarks/bench_client.py [--quick] [--impl-a stdlib] [--impl-b reference]

Workloads (default size; --quick size), each read with the module's own API:
  large    (a) one Content-Length body, read()              64 MiB; 8 MiB            MB/s
  chunked  (b) one chunked body of small chunks, read()     100k x 64 B; 30k x 64 B  MB/s of payload
  small    (c) tiny keep-alive GETs on one connection       20k; 5k                  requests/s

The server (bench_server.py) is a separate process, so its CPU never competes with the client's for
a GIL; it sends pre-built bytes with sendall, identical for both implementations. The run is made of
rounds (--repeat: 7; --quick 4). In each round every workload runs once per implementation, A and B
back to back, alternating which goes first, each in a fresh worker process (this file with
--worker) that connects, makes one warm-up request, then times a few responses on that connection
(large: 10, --quick 30; chunked: 5; small: all the GETs, once).

Table: A and B are the best timed run over all rounds (--stat median: the median); B/A their ratio,
next to the target; "per round" the range of B/A computed within each round (paired, so slow drift of
a busy machine cancels); spread (max - min) / median of all timed runs, a noise indicator; mem the
largest growth of a worker's ru_maxrss (peak resident set size) over its timed runs, i.e. the peak
minus the peak reached before the workload started (after imports, connect and warm-up).
"""

from __future__ import annotations

import argparse
import gc
import importlib
import json
import mmap
import os
import platform
import resource
import socket
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
ALIASES = {"stdlib": "http.client", "reference": "h1conform.reference"}
MIB = 1 << 20
RAW = "raw-socket"  # worker module name for the round-trip floor (not a valid module name)
# Worker module names for (a)'s ceilings: a bare socket reading the same response with recv_into,
# into one buffer reused for every response, or into fresh memory for each one.
RAW_LARGE_REUSED = "raw-large-reused"
RAW_LARGE_FRESH = "raw-large-fresh"


@dataclass(frozen=True)
class Workload:
    name: str
    title: str
    unit: str  # "MB/s" or "req/s"
    target: float  # wanted ratio b/a
    iterations: int  # timed responses per worker process, one connection (all of (c)'s GETs count as one)
    quick_iterations: int  # the same with --quick


WORKLOADS = (
    Workload("large", "(a) Content-Length body, read()", "MB/s", 1.5, iterations=10, quick_iterations=30),
    Workload("chunked", "(b) chunked, small chunks, read()", "MB/s", 1.5, iterations=5, quick_iterations=5),
    Workload("small", "(c) small keep-alive GETs", "req/s", 1.0, iterations=1, quick_iterations=1),
)


@dataclass(frozen=True)
class Sizes:
    large: int  # bytes
    chunk_count: int
    chunk_size: int
    requests: int
    repeat: int  # rounds: worker processes per implementation and workload


DEFAULT = Sizes(large=64 * MIB, chunk_count=100_000, chunk_size=64, requests=20_000, repeat=7)
QUICK = Sizes(large=8 * MIB, chunk_count=30_000, chunk_size=64, requests=5_000, repeat=4)


# --------------------------------------------------------------------------------------------
# Worker: one measurement, in its own process


def max_rss_bytes() -> int:
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss if sys.platform == "darwin" else rss * 1024  # bytes on macOS, KiB elsewhere


def run_worker(module_name: str, workload: str, port: int, sizes: Sizes, iterations: int) -> dict[str, object]:
    """Time `iterations` runs of `workload` on one connection; peak memory growth over all of them."""
    if module_name == RAW:
        return run_raw_round_trips(port, sizes)
    if module_name in (RAW_LARGE_REUSED, RAW_LARGE_FRESH):
        return run_raw_large(port, sizes, iterations, fresh=module_name == RAW_LARGE_FRESH)
    client = importlib.import_module(module_name)
    conn = client.HTTPConnection("127.0.0.1", port, timeout=60)
    conn.connect()
    conn.request("GET", "/small")  # warm-up: first-call costs and lazy imports stay out of the figures
    if conn.getresponse().read() != b"ok":
        raise SystemExit(f"{module_name}: warm-up response body is wrong")
    gc.collect()
    baseline = max_rss_bytes()
    seconds = []
    for _ in range(iterations):
        start = time.perf_counter()
        if workload == "small":
            amount = 0
            for _ in range(sizes.requests):
                conn.request("GET", "/small")
                if conn.getresponse().read() == b"ok":
                    amount += 1
            expected = sizes.requests
        else:
            conn.request("GET", "/" + workload)
            data = conn.getresponse().read()
            amount = len(data)
            expected = sizes.large if workload == "large" else sizes.chunk_count * sizes.chunk_size
            del data
        seconds.append(time.perf_counter() - start)
        if amount != expected:
            raise SystemExit(f"{module_name} {workload}: got {amount}, expected {expected}")
    peak = max_rss_bytes()
    conn.close()
    return {"seconds": seconds, "amount": amount, "memory": peak - baseline}


def run_raw_round_trips(port: int, sizes: Sizes) -> dict[str, object]:
    """Workload (c) with a bare socket and no parsing: the round-trip floor of this machine."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=60)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    request = b"GET /small HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
    start = time.perf_counter()
    for _ in range(sizes.requests):
        sock.sendall(request)
        if not sock.recv(65536).endswith(b"ok"):  # the whole response is one small segment
            raise SystemExit("raw round trip: unexpected response")
    elapsed = time.perf_counter() - start
    sock.close()
    return {"seconds": [elapsed], "amount": sizes.requests, "memory": 0}


def run_raw_large(port: int, sizes: Sizes, iterations: int, *, fresh: bool) -> dict[str, object]:
    """Workload (a) with a bare socket: recv_into until the whole response is in, no parsing.

    `fresh`: each response goes into new memory, an anonymous mmap, which is what malloc gives
    CPython for a block this large (so what every read() returning new bytes must write into);
    otherwise into one buffer allocated and touched before the timed runs.
    """
    sock = socket.create_connection(("127.0.0.1", port), timeout=60)
    request = b"GET /large HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
    total = len(b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: %d\r\n\r\n"
                % sizes.large) + sizes.large
    reused = bytearray(total)  # bytearray() writes zeros: its pages are in memory before timing
    seconds = []
    for _ in range(iterations):
        start = time.perf_counter()
        buffer = mmap.mmap(-1, total) if fresh else reused
        with memoryview(buffer) as view:
            sock.sendall(request)
            received = 0
            while received < total:
                count = sock.recv_into(view[received:])
                if not count:
                    raise SystemExit("raw large read: the server closed early")
                received += count
        seconds.append(time.perf_counter() - start)
        if fresh:
            buffer.close()
    sock.close()
    return {"seconds": seconds, "amount": sizes.large, "memory": 0}


# --------------------------------------------------------------------------------------------
# Parent: server, scheduling, table


class Server:
    def __init__(self, sizes: Sizes) -> None:
        self.process = subprocess.Popen(
            [sys.executable, str(HERE / "bench_server.py"), str(sizes.large), str(sizes.chunk_count),
             str(sizes.chunk_size)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line.strip():
            raise SystemExit("the benchmark server did not start")
        self.port = int(line)

    def stop(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()  # the server exits when its stdin closes
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def worker_command(module: str, workload: str, port: int, sizes: Sizes, iterations: int) -> list[str]:
    return [sys.executable, str(Path(__file__).resolve()), "--worker", workload, "--module", module,
            "--port", str(port), "--large", str(sizes.large), "--chunks", str(sizes.chunk_count),
            "--chunk-size", str(sizes.chunk_size), "--requests", str(sizes.requests),
            "--iterations", str(iterations)]


def measure(module: str, workload: Workload, port: int, sizes: Sizes, iterations: int) -> dict[str, Any]:
    done = subprocess.run(worker_command(module, workload.name, port, sizes, iterations), capture_output=True,
                          text=True, env=worker_env(), timeout=600)
    if done.returncode != 0:
        raise SystemExit(f"{module} failed on {workload.name} (exit {done.returncode}):\n"
                         f"{done.stderr.strip()[-2000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def worker_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return env


def check_importable(module: str) -> str:
    """Where `module` is loaded from; exits with the import error if it cannot be used."""
    code = ("import importlib, sys; m = importlib.import_module(sys.argv[1]); "
            "assert hasattr(m, 'HTTPConnection'), 'no HTTPConnection'; print(getattr(m, '__file__', m.__name__))")
    done = subprocess.run([sys.executable, "-c", code, module], capture_output=True, text=True, env=worker_env())
    if done.returncode != 0:
        last = done.stderr.strip().splitlines()[-1:] or ["unknown error"]
        raise SystemExit(f"cannot use {module!r} as an implementation: {last[0]}")
    return done.stdout.strip()


def speeds(workload: Workload, results: list[dict[str, Any]]) -> list[float]:
    """Throughput of every timed run: MB/s (10**6 bytes) of body, or requests/s."""
    scale = 1.0 if workload.unit == "req/s" else 1e-6
    return [r["amount"] * scale / seconds for r in results for seconds in r["seconds"]]


def summarise(values: list[float], stat: str) -> float:
    return max(values) if stat == "best" else statistics.median(values)


def spread(values: list[float]) -> float:
    return (max(values) - min(values)) / statistics.median(values) if len(values) > 1 else 0.0


def describe(workload: Workload, sizes: Sizes) -> str:
    if workload.name == "large":
        return f"{sizes.large / MIB:g} MiB"
    if workload.name == "chunked":
        return f"{sizes.chunk_count} x {sizes.chunk_size} B"
    return f"{sizes.requests} GETs"


def print_table(rows: list[tuple[str, ...]]) -> None:  # the first row is the header
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    rows.insert(1, tuple("-" * width for width in widths))
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="smaller sizes, fewer runs (about 15 s)")
    parser.add_argument("--impl-a", default="stdlib", help="baseline: 'stdlib' (http.client, the default) "
                        "or any importable module with the http.client API")
    parser.add_argument("--impl-b", default="reference", help="compared: 'reference' (the default) or a module")
    parser.add_argument("--repeat", type=int, help=f"worker processes per implementation and workload "
                        f"(default {DEFAULT.repeat}; --quick {QUICK.repeat})")
    parser.add_argument("--stat", choices=("best", "median"), default="best",
                        help="which timed run the table shows (default: best)")
    parser.add_argument("--workload", action="append", choices=[w.name for w in WORKLOADS],
                        help="run only this workload (repeatable)")
    parser.add_argument("--json", metavar="FILE", help="also write every worker's raw result to FILE")
    # worker mode (internal)
    for option in ("--worker", "--module"):
        parser.add_argument(option, help=argparse.SUPPRESS)
    for option in ("--port", "--large", "--chunks", "--chunk-size", "--requests", "--iterations"):
        parser.add_argument(option, type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.worker:
        sizes = Sizes(args.large, args.chunks, args.chunk_size, args.requests, 1)
        print(json.dumps(run_worker(args.module, args.worker, args.port, sizes, args.iterations)))
        return 0

    base = QUICK if args.quick else DEFAULT
    sizes = replace(base, repeat=args.repeat or base.repeat)
    impls = [ALIASES.get(args.impl_a, args.impl_a), ALIASES.get(args.impl_b, args.impl_b)]
    origins = [check_importable(module) for module in impls]
    workloads = [w for w in WORKLOADS if not args.workload or w.name in args.workload]
    iterations = {w.name: w.quick_iterations if args.quick else w.iterations for w in WORKLOADS}

    print(f"Python {platform.python_version()} ({platform.python_implementation()}), {platform.platform()}, "
          f"{os.cpu_count()} CPUs")
    print(f"A = {impls[0]} ({origins[0]})")
    print(f"B = {impls[1]} ({origins[1]})")
    print(f"{sizes.repeat} rounds; a round runs each workload in a fresh worker process per implementation, "
          "A and B back to back, alternating which goes first. A worker times "
          + ", ".join(f"{w.name}: {iterations[w.name]}" for w in workloads) + " response(s) on one connection.")
    print(f"A, B: the {args.stat} timed run of all rounds (MB = 10^6 bytes of body); B/A: their ratio. "
          "Per round: the range of B/A within each round (paired, so slow drift of the machine cancels). "
          "Spread: (max - min) / median of all timed runs. "
          "mem: the largest growth of a worker's ru_maxrss (peak RSS) over its timed runs, MiB.")
    print(flush=True)

    results: dict[tuple[str, int], list[dict[str, Any]]] = {}
    raw: list[dict[str, Any]] = []
    ceilings: dict[str, list[dict[str, Any]]] = {RAW_LARGE_REUSED: [], RAW_LARGE_FRESH: []}
    server = Server(sizes)
    started = time.perf_counter()
    try:
        for run in range(sizes.repeat):
            for number, workload in enumerate(workloads):
                order = (0, 1) if (run + number) % 2 == 0 else (1, 0)
                for index in order:
                    results.setdefault((workload.name, index), []).append(
                        measure(impls[index], workload, server.port, sizes, iterations[workload.name]))
            if any(w.name == "small" for w in workloads):
                raw.append(measure(RAW, WORKLOADS[2], server.port, sizes, 1))
            if any(w.name == "large" for w in workloads):
                for name, runs in ceilings.items():
                    runs.append(measure(name, WORKLOADS[0], server.port, sizes, iterations["large"]))
            print(f"  round {run + 1}/{sizes.repeat} done ({time.perf_counter() - started:.1f} s)", file=sys.stderr)
    finally:
        server.stop()

    rows: list[tuple[str, ...]] = [("workload", "size", "A", "B", "B/A", "target", "per round", "spread A", "spread B", "mem A", "mem B",
             "mem target")]
    for workload in workloads:
        runs = [speeds(workload, results[(workload.name, i)]) for i in (0, 1)]
        figures = [summarise(values, args.stat) for values in runs]
        paired = [summarise(speeds(workload, [b]), args.stat) / summarise(speeds(workload, [a]), args.stat)
                  for a, b in zip(results[(workload.name, 0)], results[(workload.name, 1)], strict=True)]
        memory = [max(r["memory"] for r in results[(workload.name, i)]) / MIB for i in (0, 1)]
        ratio = figures[1] / figures[0]
        rows.append((
            workload.title, describe(workload, sizes),
            f"{figures[0]:,.0f} {workload.unit}", f"{figures[1]:,.0f} {workload.unit}",
            f"{ratio:.2f}x", f">= {workload.target:g}x {'ok' if ratio >= workload.target else 'MISS'}",
            f"{min(paired):.2f}-{max(paired):.2f}x",
            f"{spread(runs[0]):.0%}", f"{spread(runs[1]):.0%}",
            f"{memory[0]:.1f}", f"{memory[1]:.1f}",
            # ru_maxrss moves in pages and allocator arenas: within 0.5 MiB counts as equal
            f"B <= A {'ok' if memory[1] <= memory[0] + 0.5 else 'MISS'}",
        ))
    print_table(rows)
    if args.json:
        with open(args.json, "w") as out:
            json.dump({"python": platform.python_version(), "impls": impls, "sizes": vars(sizes),
                       "results": {f"{name}:{'AB'[i]}": value for (name, i), value in results.items()},
                       "raw_socket": raw}, out, indent=1)
    if ceilings[RAW_LARGE_REUSED]:
        reused, fresh = (summarise(speeds(WORKLOADS[0], ceilings[name]), args.stat)
                         for name in (RAW_LARGE_REUSED, RAW_LARGE_FRESH))
        print(f"\n(a) ceilings on this machine: a bare socket reading the same response with recv_into, once per "
              f"round, gets {reused:,.0f} MB/s into one reused buffer and {fresh:,.0f} MB/s into fresh memory "
              f"({args.stat}). read() returns new bytes, so the second is (a)'s ceiling for any client.")
    if raw:
        floor = summarise(speeds(WORKLOADS[2], raw), args.stat)
        print(f"\n(c) ceiling on this machine: a bare socket doing the same GETs without parsing, once per round, "
              f"gets {floor:,.0f} req/s ({args.stat}).")
    print(f"Total {time.perf_counter() - started:.1f} s.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
