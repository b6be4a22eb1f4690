"""Instructions per kept-alive request, counted by valgrind's callgrind: the same figure whatever
else the machine is doing, so it can be read on a loaded machine where bench_client.py's
timings cannot.

    python benchmarks/count_instructions.py                       # stdlib against reference, 2000 GETs
    python benchmarks/count_instructions.py --requests 500 --impl-b mypkg.client

For each module, a client process makes one warm-up GET of /small on a kept-alive connection to
bench_server.py, then N more, under callgrind; the same with N = 0 gives what start-up and the
warm-up cost. Their difference over N is the client's user-space instructions per request (the
kernel's work and the server's are not counted: they are the same for both modules). Needs
valgrind (Debian's package); about a minute per module.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
_COLLECTED = re.compile(rb"Collected : (\d+)")

CLIENT = """
import importlib, sys
module = importlib.import_module(sys.argv[1])
conn = module.HTTPConnection("127.0.0.1", int(sys.argv[2]))
for _ in range(1 + int(sys.argv[3])):
    conn.request("GET", "/small")
    if conn.getresponse().read() != b"ok":
        raise SystemExit("unexpected response")
conn.close()
"""


def instructions(module: str, port: int, requests: int, folder: Path) -> int:
    script = folder / "client.py"
    script.write_text(CLIENT)
    done = subprocess.run(["valgrind", "--tool=callgrind", f"--callgrind-out-file={folder / 'callgrind.out'}",
                           sys.executable, str(script), module, str(port), str(requests)],
                          capture_output=True, timeout=3600, check=False)
    found = _COLLECTED.search(done.stderr)
    if done.returncode != 0 or found is None:
        raise SystemExit(f"{module}: the client failed under valgrind (exit {done.returncode}): "
                         f"{done.stderr.decode(errors='replace').strip()[-500:]}")
    return int(found.group(1))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--impl-a", default="http.client")
    parser.add_argument("--impl-b", default="h1conform.reference")
    parser.add_argument("--requests", type=int, default=2000)
    options = parser.parse_args()
    if shutil.which("valgrind") is None:
        print("valgrind is not installed (apt-get install valgrind)", file=sys.stderr)
        return 2
    server = subprocess.Popen([sys.executable, str(HERE / "bench_server.py"), "1024", "1", "1"],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        assert server.stdout is not None
        port = int(server.stdout.readline().split()[0])
        per_request = {}
        with tempfile.TemporaryDirectory() as folder:
            for module in (options.impl_a, options.impl_b):
                full = instructions(module, port, options.requests, Path(folder))
                base = instructions(module, port, 0, Path(folder))
                per_request[module] = (full - base) / options.requests
                print(f"{module:24} {per_request[module]:>12,.0f} instructions per request")
        ratio = per_request[options.impl_b] / per_request[options.impl_a]
        print(f"{options.impl_b} / {options.impl_a}: {ratio:.3f}")
    finally:
        if server.stdin is not None:
            server.stdin.close()
        server.wait(timeout=10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
