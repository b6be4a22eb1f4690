"""Builders for the literal messages scenarios send."""

from __future__ import annotations


def chunked_body(data: bytes, *sizes: int) -> bytes:
    """`data` in chunks of the given sizes, the rest in one more chunk, then the last chunk.

    chunked-body = *chunk last-chunk trailer-section CRLF  (RFC 9112 7.1), with no trailers.
    """
    framed, rest = b"", data
    for size in sizes:
        piece, rest = rest[:size], rest[size:]
        framed += b"%x\r\n%s\r\n" % (len(piece), piece)
    if rest:
        framed += b"%x\r\n%s\r\n" % (len(rest), rest)
    return framed + b"0\r\n\r\n"
