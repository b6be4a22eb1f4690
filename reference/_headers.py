"""Reading a response head: the status line and the header (or trailer) section, strictly.

RFC 9112 2.2: "A recipient MUST parse an HTTP message as a sequence of octets in an encoding that
is a superset of US-ASCII", so every line is parsed as bytes with the grammar of RFC 9110/9112 and
only then decoded (ISO-8859-1, as http.client does, so that obs-text survives). Anything the
grammar does not allow is refused with InvalidResponse instead of being guessed at.
"""

from __future__ import annotations

import http.client
from typing import IO, Protocol

from h1conform.reference._errors import IncompleteRead, InvalidResponse, LineTooLong, TooManyHeaders
from h1conform.reference._syntax import OWS, TOKEN

# Limits on what a server can make the client hold. http.client uses the same figures (65536,
# 100) but counts the blank line as a header; here exactly MAX_HEADERS fields are accepted.
MAX_LINE = 65536  # octets in one status, field or chunk line
MAX_HEADERS = 100  # field lines in one header or trailer section
MAX_INTERIM = 100  # 1xx responses before the final one

HTTPMessage = http.client.HTTPMessage  # the stdlib's class, so isinstance checks keep working

Field = tuple[str, str]


class LineReader(Protocol):
    def readline(self, size: int = -1, /) -> bytes: ...


def read_line(fp: LineReader, what: str) -> bytes | None:
    """One line without its terminator; None at EOF. Longer than MAX_LINE: LineTooLong."""
    line = fp.readline(MAX_LINE + 1)
    if len(line) > MAX_LINE:
        raise LineTooLong(what, limit=MAX_LINE)
    if not line.endswith(b"\n"):
        if line:  # the connection ended inside the line
            raise IncompleteRead(line)
        return None
    # RFC 9112 2.2: the terminator is CRLF, but "a recipient MAY recognize a single LF as a line
    # terminator and ignore any preceding CR".
    line = line[:-2] if line.endswith(b"\r\n") else line[:-1]
    if b"\r" in line:
        # RFC 9112 2.2: "A recipient of such a bare CR MUST consider that element to be invalid
        # or replace each bare CR with SP"; the reference considers it invalid.
        raise InvalidResponse(f"bare CR in the {what}: {line[:80]!r}")
    return line


def read_fields(fp: LineReader, what: str = "header line") -> list[Field]:
    """Read a header or trailer section up to and including its blank line."""
    fields: list[tuple[bytes, bytes]] = []
    while True:
        line = read_line(fp, what)
        if line is None:
            # RFC 9112 8: a message whose connection closed before its end is incomplete.
            raise IncompleteRead(b"")
        if not line:
            break
        if line[0] in b" \t":
            if not fields:
                # RFC 9112 2.2: whitespace between the start-line and the first field: a
                # recipient "MUST either reject the message as invalid or consume each
                # whitespace-preceded line without further processing"; rejected here.
                raise InvalidResponse(f"whitespace before the first field line: {line[:80]!r}")
            # RFC 9112 5.2: "A user agent that receives an obs-fold in a response message ...
            # MUST replace each received obs-fold with one or more SP octets".
            name, value = fields[-1]
            fields[-1] = (name, (value + b" " + line.strip(OWS)).strip(OWS))
            continue
        if len(fields) == MAX_HEADERS:
            raise TooManyHeaders(f"got more than {MAX_HEADERS} headers")
        fields.append(_split_field(line))
    return [(name.decode("latin-1"), value.decode("latin-1")) for name, value in fields]


def _split_field(line: bytes) -> tuple[bytes, bytes]:
    # RFC 9112 5: field-line = field-name ":" OWS field-value OWS
    name, colon, value = line.partition(b":")
    if not colon:
        raise InvalidResponse(f"field line without a colon: {line[:80]!r}")
    if not TOKEN.fullmatch(name):
        # RFC 9112 5.1: "No whitespace is allowed between the field name and colon"; a name is a
        # token (RFC 9110 5.1). Stdlib silently moves every later header into the body here.
        raise InvalidResponse(f"invalid field name {name[:80]!r}")
    value = value.strip(OWS)
    if b"\x00" in value:
        # RFC 9110 5.5: field values containing NUL "are invalid and dangerous"; a recipient MUST
        # either reject the message or replace them with SP. Rejected here.
        raise InvalidResponse(f"NUL in the value of {name.decode('latin-1')}")
    return name, value


def build_message(fields: list[Field], message_class: type[HTTPMessage] = HTTPMessage) -> HTTPMessage:
    """An HTTPMessage holding `fields` in order, duplicates kept (what http.client returns)."""
    message = message_class()
    for name, value in fields:
        message.set_raw(name, value)
    return message


def parse_headers(fp: IO[bytes], _class: type[HTTPMessage] = HTTPMessage) -> HTTPMessage:
    """Parse a header section from a binary file object (http.client.parse_headers).

    Unlike the stdlib's, this refuses what RFC 9112 does not allow (see read_fields).
    """
    return build_message(read_fields(fp), _class)
