"""The file a response reads from: `sock.makefile("rb", ...)`, and for a plain socket the same
buffered file over a raw stream that counts the octets it delivered.

The count is what lets the response tell, without reading and without a system call, whether the
file holds octets beyond the end of a message (RFC 9112 9.2: stray data, never a response): the
buffered file's position is what was consumed, the count what the socket gave it.
"""

from __future__ import annotations

import io
import socket
from typing import Any

# Read-ahead of the response's file: large enough that many small chunks or lines cost one system
# call, small enough not to matter per connection.
READ_BUFFER_SIZE = 65536


class CountingRaw(io.RawIOBase):
    """A socket's raw stream (its makefile("rb", 0)) that counts the octets it delivered."""

    def __init__(self, raw: Any) -> None:
        super().__init__()
        self._raw = raw
        self.delivered = 0

    def readinto(self, buffer: Any) -> int | None:
        count: int | None = self._raw.readinto(buffer)
        if count:
            self.delivered += count
        return count

    def readable(self) -> bool:
        return True

    def fileno(self) -> int:
        return self._raw.fileno()  # type: ignore[no-any-return]

    def tell(self) -> int:
        # What the buffered file above asks to know its own position (consumed octets).
        return self.delivered

    def close(self) -> None:
        if not self.closed:
            try:
                self._raw.close()  # releases the socket's file reference, as makefile()'s file does
            finally:
                super().close()


def open_response_file(sock: Any) -> tuple[Any, CountingRaw | None]:
    """The response's file, and its counting raw stream when the reference made it.

    Anything but a plain socket (a test double, a wrapper, a socket class with its own
    makefile()) gets `makefile("rb", READ_BUFFER_SIZE)`, called positionally as http.client calls
    it: socket doubles define makefile(mode, bufsize=None).
    """
    if isinstance(sock, socket.socket) and type(sock).makefile is socket.socket.makefile:
        raw = CountingRaw(sock.makefile("rb", 0))
        return io.BufferedReader(raw, READ_BUFFER_SIZE), raw
    return sock.makefile("rb", READ_BUFFER_SIZE), None


def buffered_beyond(fp: io.BufferedReader, raw: CountingRaw) -> int:
    """Octets the file has read from the socket but not handed out."""
    return raw.delivered - fp.tell()
