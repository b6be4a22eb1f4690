"""Throughput and peak memory of two http.client-API modules, side by side in one run, on loopback.

    python benchmarks/bench_client.py [--quick] [--impl-a stdlib] [--impl-b reference]

Workloads (default size; --quick size), each read with the module's own API:
  large     (a) one Content-Length body, read()                      64 MiB; 8 MiB         MB/s
  readinto  (a) the same body, readinto() a buffer the caller reuses  64 MiB; 8 MiB         MB/s
  chunked   (b) one chunked body of small chunks, read()             100k x 64 B; 30k      MB/s of payload
  small     (c) tiny keep-alive GETs on one connection               20k; 5k               requests/s
  tls       (d) tiny keep-alive GETs over TLS (trustme, loopback)    10k; 3k               requests/s

The server (bench_server.py) is a separate process, so its CPU never competes with the client's for
a GIL; it sends pre-built bytes with sendall, identical for every implementation. The run is made of
rounds (--repeat: 7; --quick 4). In each round every workload runs once per entry: A, B, and A
again as A' (the noise check: A against itself), each in a fresh worker process (this file with
--worker) that connects, makes one warm-up request, then times a few responses on that connection
(large, readinto: 10, --quick 30; chunked: 5; small, tls: all the GETs, once). The order of the
entries rotates from round to round.

Table: A and B are the best timed run over all rounds (--stat median: the median). "B/A best" is
their ratio; "B/A rounds" the median of the per-round ratios (each round's B against the same
round's A, so slow drift of a busy machine cancels) with their range; "A'/A rounds" the same for A
against itself: a B/A within that range is noise. mem: the largest growth of a worker's resident set
over its timed runs: its peak (ru_maxrss) after them minus its size just before them (after imports,
connect, warm-up and, for readinto, the caller's buffer).

Ceilings, measured in the same rounds with a bare socket and no HTTP parsing: for (a), the same
response read with recv_into into one buffer reused for every response (readinto's ceiling), and
into fresh memory for each response (read()'s: it must return new bytes); for (c), the same round
trips.
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
import ssl
import statistics
import subprocess
import sys
import tempfile
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
ENTRIES = ("A", "B", "A'")  # A' is A measured again: the noise check


@dataclass(frozen=True)
class Workload:
    name: str
    title: str
    unit: str  # "MB/s" or "req/s"
    target: float  # wanted ratio: B/A, or for readinto B against the reused-buffer ceiling
    iterations: int  # timed responses per worker process, one connection (all of (c)'s GETs count as one)
    quick_iterations: int  # the same with --quick


LARGE = Workload("large", "(a) Content-Length body, read()", "MB/s", 1.0, iterations=10, quick_iterations=30)
READINTO = Workload("readinto", "(a) the same, readinto() reused buffer", "MB/s", 0.85, iterations=10,
                    quick_iterations=30)
CHUNKED = Workload("chunked", "(b) chunked, small chunks, read()", "MB/s", 1.5, iterations=5, quick_iterations=5)
SMALL = Workload("small", "(c) small keep-alive GETs", "req/s", 1.3, iterations=1, quick_iterations=1)
TLS = Workload("tls", "(d) small keep-alive GETs, TLS", "req/s", 1.0, iterations=1, quick_iterations=1)
WORKLOADS = (LARGE, READINTO, CHUNKED, SMALL, TLS)


@dataclass(frozen=True)
class Sizes:
    large: int  # bytes
    chunk_count: int
    chunk_size: int
    requests: int
    tls_requests: int
    repeat: int  # rounds: worker processes per entry and workload


DEFAULT = Sizes(large=64 * MIB, chunk_count=100_000, chunk_size=64, requests=20_000, tls_requests=10_000, repeat=7)
QUICK = Sizes(large=8 * MIB, chunk_count=30_000, chunk_size=64, requests=5_000, tls_requests=3_000, repeat=4)


@dataclass(frozen=True)
class Target:
    """Where a worker connects: the plain port, the TLS port and the CA that signed its certificate."""

    port: int
    tls_port: int
    ca_file: str


# --------------------------------------------------------------------------------------------
# Worker: one measurement, in its own process


def max_rss_bytes() -> int:
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss if sys.platform == "darwin" else rss * 1024  # bytes on macOS, KiB elsewhere


def current_rss_bytes() -> int:
    """The resident set size now (Linux: /proc/self/statm); elsewhere the peak so far.

    The workload's growth is measured from the RSS now, not from the peak: memory the process
    freed before the workload (imports, start-up) would otherwise hide part of the growth.
    """
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return max_rss_bytes()


def run_worker(module_name: str, workload: str, target: Target, sizes: Sizes, iterations: int) -> dict[str, object]:
    """Time `iterations` runs of `workload` on one connection; peak memory growth over all of them."""
    if module_name == RAW:
        return run_raw_round_trips(target.port, sizes)
    if module_name in (RAW_LARGE_REUSED, RAW_LARGE_FRESH):
        return run_raw_large(target.port, sizes, iterations, fresh=module_name == RAW_LARGE_FRESH)
    client = importlib.import_module(module_name)
    if workload == "tls":
        context = ssl.create_default_context(cafile=target.ca_file)  # the same context for every module
        conn = client.HTTPSConnection("127.0.0.1", target.tls_port, timeout=60, context=context)
    else:
        conn = client.HTTPConnection("127.0.0.1", target.port, timeout=60)
    conn.connect()
    conn.request("GET", "/small")  # warm-up: first-call costs and lazy imports stay out of the figures
    if conn.getresponse().read() != b"ok":
        raise SystemExit(f"{module_name}: warm-up response body is wrong")
    # The caller's buffer for readinto: allocated and touched (bytearray writes zeros) before timing.
    buffer = bytearray(sizes.large) if workload == "readinto" else bytearray()
    gc.collect()
    baseline = current_rss_bytes()
    seconds = []
    for _ in range(iterations):
        start = time.perf_counter()
        if workload in ("small", "tls"):
            amount = small_gets(conn, sizes.requests if workload == "small" else sizes.tls_requests)
            expected = sizes.requests if workload == "small" else sizes.tls_requests
        elif workload == "readinto":
            conn.request("GET", "/large")
            amount = read_into(conn.getresponse(), buffer)
            expected = sizes.large
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


def small_gets(conn: Any, count: int) -> int:
    """`count` GETs of /small on `conn`; how many answered "ok"."""
    answered = 0
    for _ in range(count):
        conn.request("GET", "/small")
        if conn.getresponse().read() == b"ok":
            answered += 1
    return answered


def read_into(response: Any, buffer: bytearray) -> int:
    """The whole body into `buffer` with readinto(), as many calls as it takes; the octets read."""
    got = 0
    with memoryview(buffer) as view:
        while count := response.readinto(view[got:]):
            got += count
    response.close()
    return got


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
# Parent: certificates, server, scheduling, table


def make_certificates(directory: Path) -> tuple[Path, Path, Path]:
    """A trustme CA and a certificate for 127.0.0.1 it signed: (CA, server chain, server key)."""
    import trustme  # a dependency of h1conform, imported only where (d) needs it

    ca = trustme.CA()
    server = ca.issue_cert("127.0.0.1", "localhost")
    paths = directory / "ca.pem", directory / "server-chain.pem", directory / "server-key.pem"
    ca.cert_pem.write_to_path(str(paths[0]))
    server.cert_chain_pems[0].write_to_path(str(paths[1]))
    for pem in server.cert_chain_pems[1:]:
        pem.write_to_path(str(paths[1]), append=True)
    server.private_key_pem.write_to_path(str(paths[2]))
    return paths


class Server:
    def __init__(self, sizes: Sizes, chain: Path, key: Path) -> None:
        self.process = subprocess.Popen(
            [sys.executable, str(HERE / "bench_server.py"), str(sizes.large), str(sizes.chunk_count),
             str(sizes.chunk_size), str(chain), str(key)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        assert self.process.stdout is not None
        ports = self.process.stdout.readline().split()
        if len(ports) != 2:
            raise SystemExit("the benchmark server did not start")
        self.port, self.tls_port = (int(port) for port in ports)

    def stop(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()  # the server exits when its stdin closes
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def worker_command(module: str, workload: str, target: Target, sizes: Sizes, iterations: int) -> list[str]:
    return [sys.executable, str(Path(__file__).resolve()), "--worker", workload, "--module", module,
            "--port", str(target.port), "--tls-port", str(target.tls_port), "--ca", target.ca_file,
            "--large", str(sizes.large), "--chunks", str(sizes.chunk_count),
            "--chunk-size", str(sizes.chunk_size), "--requests", str(sizes.requests),
            "--tls-requests", str(sizes.tls_requests), "--iterations", str(iterations)]


def measure(module: str, workload: Workload, target: Target, sizes: Sizes, iterations: int) -> dict[str, Any]:
    done = subprocess.run(worker_command(module, workload.name, target, sizes, iterations), capture_output=True,
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


def paired(workload: Workload, top: list[dict[str, Any]], bottom: list[dict[str, Any]], stat: str) -> list[float]:
    """Per round: the round's `top` worker against its `bottom` worker (each its `stat` timed run)."""
    return [summarise(speeds(workload, [t]), stat) / summarise(speeds(workload, [b]), stat)
            for t, b in zip(top, bottom, strict=True)]


def rounds_text(ratios: list[float]) -> str:
    return f"{statistics.median(ratios):.2f}x ({min(ratios):.2f}-{max(ratios):.2f})"


def describe(workload: Workload, sizes: Sizes) -> str:
    if workload.name in ("large", "readinto"):
        return f"{sizes.large / MIB:g} MiB"
    if workload.name == "chunked":
        return f"{sizes.chunk_count} x {sizes.chunk_size} B"
    return f"{sizes.requests if workload.name == 'small' else sizes.tls_requests} GETs"


def print_table(rows: list[tuple[str, ...]]) -> None:  # the first row is the header
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    rows.insert(1, tuple("-" * width for width in widths))
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="smaller sizes, fewer runs")
    parser.add_argument("--impl-a", default="stdlib", help="baseline: 'stdlib' (http.client, the default) "
                        "or any importable module with the http.client API")
    parser.add_argument("--impl-b", default="reference", help="compared: 'reference' (the default) or a module")
    parser.add_argument("--repeat", type=int, help=f"rounds (default {DEFAULT.repeat}; --quick {QUICK.repeat})")
    parser.add_argument("--stat", choices=("best", "median"), default="best",
                        help="which timed run of a worker counts (default: best)")
    parser.add_argument("--workload", action="append", choices=[w.name for w in WORKLOADS],
                        help="run only this workload (repeatable)")
    parser.add_argument("--json", metavar="FILE", help="also write every worker's raw result to FILE")
    # worker mode (internal)
    for option in ("--worker", "--module", "--ca"):
        parser.add_argument(option, help=argparse.SUPPRESS)
    for option in ("--port", "--tls-port", "--large", "--chunks", "--chunk-size", "--requests", "--tls-requests",
                   "--iterations"):
        parser.add_argument(option, type=int, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.worker:
        sizes = Sizes(args.large, args.chunks, args.chunk_size, args.requests, args.tls_requests, 1)
        target = Target(args.port, args.tls_port, args.ca)
        print(json.dumps(run_worker(args.module, args.worker, target, sizes, args.iterations)))
        return 0

    base = QUICK if args.quick else DEFAULT
    sizes = replace(base, repeat=args.repeat or base.repeat)
    modules = {"A": ALIASES.get(args.impl_a, args.impl_a), "B": ALIASES.get(args.impl_b, args.impl_b)}
    modules["A'"] = modules["A"]
    origins = {entry: check_importable(modules[entry]) for entry in ("A", "B")}
    workloads = [w for w in WORKLOADS if not args.workload or w.name in args.workload]
    iterations = {w.name: w.quick_iterations if args.quick else w.iterations for w in WORKLOADS}

    print(f"Python {platform.python_version()} ({platform.python_implementation()}), {platform.platform()}, "
          f"{os.cpu_count()} CPUs")
    print(f"A = A' = {modules['A']} ({origins['A']})")
    print(f"B = {modules['B']} ({origins['B']})")
    print(f"{sizes.repeat} rounds; a round runs each workload in a fresh worker process per entry (A, B, A'), in an "
          "order that rotates. A worker times " + ", ".join(f"{w.name}: {iterations[w.name]}" for w in workloads)
          + " response(s) on one connection.")
    print(f"A, B: the {args.stat} timed run of all rounds (MB = 10^6 bytes of body). B/A best: their ratio. "
          f"B/A rounds: median (range) of the per-round ratios; A'/A rounds: the same for A against itself, "
          "the noise. mem: the largest growth of a worker's resident set over its timed runs (peak after "
          "minus size before), MiB.")
    print(flush=True)

    results: dict[tuple[str, str], list[dict[str, Any]]] = {}
    raw: list[dict[str, Any]] = []
    ceilings: dict[str, list[dict[str, Any]]] = {RAW_LARGE_REUSED: [], RAW_LARGE_FRESH: []}
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bench-tls-") as tmp:
        ca, chain, key = make_certificates(Path(tmp))
        server = Server(sizes, chain, key)
        target = Target(server.port, server.tls_port, str(ca))
        try:
            for run in range(sizes.repeat):
                for number, workload in enumerate(workloads):
                    shift = (run + number) % len(ENTRIES)
                    for entry in ENTRIES[shift:] + ENTRIES[:shift]:
                        results.setdefault((workload.name, entry), []).append(
                            measure(modules[entry], workload, target, sizes, iterations[workload.name]))
                if any(w.name == "small" for w in workloads):
                    raw.append(measure(RAW, SMALL, target, sizes, 1))
                if any(w.name in ("large", "readinto") for w in workloads):
                    for name, runs in ceilings.items():
                        runs.append(measure(name, LARGE, target, sizes, iterations["large"]))
                print(f"  round {run + 1}/{sizes.repeat} done ({time.perf_counter() - started:.1f} s)",
                      file=sys.stderr)
        finally:
            server.stop()

    ceiling = {name: summarise(speeds(LARGE, runs), args.stat) for name, runs in ceilings.items() if runs}
    rows: list[tuple[str, ...]] = [("workload", "size", "A", "B", "B/A best", "B/A rounds", "target",
                                    "A'/A rounds (noise)", "mem A", "mem B", "mem target")]
    for workload in workloads:
        a, b, again = (results[(workload.name, entry)] for entry in ENTRIES)
        best = [summarise(speeds(workload, runs), args.stat) for runs in (a, b)]
        per_round = paired(workload, b, a, args.stat)
        memory = [max(0, *(r["memory"] for r in runs)) / MIB for runs in (a, b)]  # a shrinking set grew by 0
        if workload.name == "readinto":
            share = best[1] / ceiling[RAW_LARGE_REUSED]
            target_text = f"B/ceiling {share:.2f} >= {workload.target:g} {'ok' if share >= workload.target else 'MISS'}"
        else:
            verdict = "ok" if statistics.median(per_round) >= workload.target else "MISS"
            target_text = f"B/A >= {workload.target:g}x {verdict}"
        rows.append((
            workload.title, describe(workload, sizes),
            f"{best[0]:,.0f} {workload.unit}", f"{best[1]:,.0f} {workload.unit}",
            f"{best[1] / best[0]:.2f}x", rounds_text(per_round), target_text,
            rounds_text(paired(workload, again, a, args.stat)),
            f"{memory[0]:.1f}", f"{memory[1]:.1f}",
            # ru_maxrss moves in pages and allocator arenas: within 0.5 MiB counts as equal
            f"B <= A {'ok' if memory[1] <= memory[0] + 0.5 else 'MISS'}",
        ))
    print_table(rows)
    if args.json:
        with open(args.json, "w") as out:
            json.dump({"python": platform.python_version(), "impls": modules, "sizes": vars(sizes),
                       "results": {f"{name}:{entry}": value for (name, entry), value in results.items()},
                       "raw_socket": raw, "ceilings": ceilings}, out, indent=1)
    if ceiling:
        print(f"\n(a) ceilings on this machine: a bare socket reading the same response with recv_into, once per "
              f"round, gets {ceiling[RAW_LARGE_REUSED]:,.0f} MB/s into one reused buffer (readinto's ceiling) and "
              f"{ceiling[RAW_LARGE_FRESH]:,.0f} MB/s into fresh memory (read()'s: it returns new bytes) "
              f"({args.stat}).")
    if raw:
        floor = summarise(speeds(SMALL, raw), args.stat)
        print(f"\n(c) ceiling on this machine: a bare socket doing the same GETs without parsing, once per round, "
              f"gets {floor:,.0f} req/s ({args.stat}).")
    print(f"Total {time.perf_counter() - started:.1f} s.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
