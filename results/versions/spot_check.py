"""urllib3's advisories reproduced with urllib3 alone, without h1conform: run it with the Python of each release.

    ~/.cache/h1conform/versions/urllib3-1.26.16/bin/python results/versions/spot_check.py
    .venv/bin/python results/versions/spot_check.py        # the current release

Two `http.server` origins on 127.0.0.1 (two ports) and a `urllib3.PoolManager()` with its defaults, as an
application uses it. One line of JSON: what the second origin received after a cross-origin 302 of a
request with a Cookie header (CVE-2023-43804), after a 303 of a POST with a body (CVE-2023-45803); how
large the first piece of `stream(65536)` of a gzip bomb (256 MiB of zeros) is and how much Python memory
reading it took (CVE-2025-66471); and what a body in 10 chained gzip codings gives (CVE-2025-66418).
"""

import gzip
import http.server
import json
import threading
import tracemalloc
import zlib

import urllib3

received: list[tuple[str, str, dict[str, str], bytes]] = []  # (method, path, headers, body) at /landed
compressor = zlib.compressobj(9, zlib.DEFLATED, 31)  # gzip framing
BOMB = compressor.compress(bytes(256 << 20)) + compressor.flush()
CHAIN = b"hello"
for _ in range(10):
    CHAIN = gzip.compress(CHAIN)


class Origin(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.path == "/landed":
            received.append((self.command, self.path, dict(self.headers), body))
        other = f"http://127.0.0.1:{SECOND.server_port}/landed"
        status, fields, payload = {
            "/cookie": (302, {"Location": other}, b""),
            "/see-other": (303, {"Location": other}, b""),
            "/bomb": (200, {"Content-Encoding": "gzip"}, BOMB),
            "/chain": (200, {"Content-Encoding": ", ".join(["gzip"] * 10)}, CHAIN),
        }.get(self.path, (200, {}, b"ok"))
        self.send_response(status)
        for name, value in {**fields, "Content-Length": str(len(payload))}.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)

    do_POST = do_GET


def serve() -> http.server.ThreadingHTTPServer:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Origin)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


FIRST, SECOND = serve(), serve()
first = f"http://127.0.0.1:{FIRST.server_port}"
pool = urllib3.PoolManager()
found: dict[str, object] = {"urllib3": urllib3.__version__}

pool.request("GET", f"{first}/cookie", headers={"Cookie": "session=secret"})
found["cookie at the other origin"] = received[-1][2].get("Cookie")

pool.request("POST", f"{first}/see-other", body=b"card=4111", headers={"Content-Type": "text/plain"})
method, _, fields, body = received[-1]
found["after the 303"] = f"{method}, body {body!r}, Content-Length {fields.get('Content-Length')}"

tracemalloc.start()
response = pool.request("GET", f"{first}/bomb", preload_content=False)
piece = next(response.stream(65536))
found["bomb: first piece of stream(65536)"] = len(piece)
found["bomb: Python memory peak, MiB"] = round(tracemalloc.get_traced_memory()[1] / 2**20, 1)
tracemalloc.stop()
del piece
response.release_conn()

try:
    found["10 chained gzip codings"] = f"decoded to {pool.request('GET', f'{first}/chain').data!r}"
except urllib3.exceptions.HTTPError as refused:
    found["10 chained gzip codings"] = f"refused: {type(refused).__name__}: {refused}"
print(json.dumps(found))
