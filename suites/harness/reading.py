"""Reading a response body through one of the http.client read methods, as api scenarios do."""

from __future__ import annotations

from typing import Any

READERS = ("read", "read-amt", "readinto", "read1", "readline", "iterate")
MAX_CALLS = 100  # a reader that never returns b"" at the end stops here instead of looping forever


def read_with(response: Any, reader: str, size: int = 7) -> bytes:
    """The body as `reader` gives it, called until it returns nothing (at most MAX_CALLS times)."""
    got = b""
    for _ in range(MAX_CALLS):
        if reader == "read":
            piece = response.read()
        elif reader == "read-amt":
            piece = response.read(size)
        elif reader == "readinto":
            buffer = bytearray(size)
            piece = bytes(buffer[: response.readinto(buffer)])
        elif reader == "read1":
            piece = response.read1(size)
        elif reader == "readline":
            piece = response.readline()
        elif reader == "iterate":
            piece = b"".join(response)
        else:
            raise ValueError(f"unknown reader {reader!r}; one of {READERS}")
        got += piece
        if not piece:
            break
    return got
