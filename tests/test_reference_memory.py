"""Resident memory of the reference grows with the data received, not with the length announced.

CVE-2025-13836: a server announcing a huge Content-Length (or chunk size) and sending a few octets
must not make the client allocate the announced size. Measured in a fresh interpreter, as the
growth of its peak resident set (ru_maxrss) while reading such a response.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

MEASURE = r"""
import resource, socket, sys, threading
from h1conform import reference

head = sys.argv[1].encode().decode("unicode_escape").encode("latin-1")
listener = socket.create_server(("127.0.0.1", 0))

def serve():
    conn, _ = listener.accept()
    conn.recv(65536)
    conn.sendall(head + b"hello")
    conn.close()

threading.Thread(target=serve, daemon=True).start()
client = reference.HTTPConnection("127.0.0.1", listener.getsockname()[1], timeout=10)
client.request("GET", "/")
response = client.getresponse()
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
try:
    response.read()
except reference.IncompleteRead as exc:
    outcome = f"IncompleteRead {len(exc.partial)}"
else:
    outcome = "no error"
growth = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
client.close()
listener.close()
print(outcome, growth)
"""

LIMIT_KIB = 16 * 1024  # far below any of the announced sizes


@pytest.mark.parametrize("head", [
    pytest.param("HTTP/1.1 200 OK\\r\\nContent-Length: 5\\r\\n\\r\\n", id="control-exact-length"),
    pytest.param("HTTP/1.1 200 OK\\r\\nContent-Length: 1073741824\\r\\n\\r\\n", id="content-length-1GiB"),
    pytest.param("HTTP/1.1 200 OK\\r\\nContent-Length: 4611686018427387904\\r\\n\\r\\n", id="content-length-2-pow-62"),
    pytest.param("HTTP/1.1 200 OK\\r\\nTransfer-Encoding: chunked\\r\\n\\r\\n4000000000000000\\r\\n",
                 id="chunk-size-2-pow-62"),
])
def test_memory_grows_with_data_received(head: str) -> None:
    result = subprocess.run([sys.executable, "-c", MEASURE, head], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    outcome, growth = result.stdout.rsplit(" ", 1)
    expected = "no error" if head.endswith("Content-Length: 5\\r\\n\\r\\n") else "IncompleteRead 5"
    assert outcome == expected
    assert int(growth) < LIMIT_KIB, f"reading 5 octets grew resident memory by {growth} KiB"
