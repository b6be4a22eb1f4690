"""Ports, status constants and reason phrases, as http.client exposes them; and the limits on what
a server can make the client read or hold."""

from __future__ import annotations

from http import HTTPStatus

HTTP_PORT = 80
HTTPS_PORT = 443

# Limits on what a server (or a proxy) can make the client read or hold (RFC 9110 2.3: "parse a
# received protocol element defensively, with only marginal expectations that the element will ...
# fit within a reasonable buffer size"). http.client's figures under its names where it has them:
# the package exposes MAX_LINE and MAX_HEADERS as `_MAXLINE` and `_MAXHEADERS`, which callers may
# raise (`http.client._MAXHEADERS = 1000`) and every read honours. Not in __all__: not re-exported.
MAX_LINE = 65536  # octets in one line: status line (reason phrase included), field line, chunk-size line
MAX_HEADERS = 100  # field lines in a header section: final or interim response, proxy's CONNECT reply
MAX_TRAILER_FIELDS = 100  # field lines in a trailer section, and lines after the last chunk (stdlib: none)
MAX_INTERIM_RESPONSES = 100  # 1xx responses before the final one (stdlib: none before gh-150743)
# Chunk framing (size lines, extensions, CRLFs) is free up to this many octets a chunk beyond the
# data the chunk carries; what exceeds it is owed, and a body owing more than MAX_CHUNK_FRAMING_DEBT
# is refused: chunks carrying next to no data under long extensions never reach the last chunk
# (CVE-2023-39326). One chunk line as long as MAX_LINE still fits.
CHUNK_FRAMING_ALLOWANCE = 32
MAX_CHUNK_FRAMING_DEBT = 65536

# http.client exposes every HTTPStatus member as a module constant (OK, NOT_FOUND, ...).
globals().update(HTTPStatus.__members__)

# Status code -> reason phrase, from the running Python's HTTPStatus (3.13 uses RFC 9110's names).
responses: dict[int, str] = {status.value: status.phrase for status in HTTPStatus}

__all__ = ["HTTP_PORT", "HTTPS_PORT", "responses", *HTTPStatus.__members__]
