"""Reading a response head: the status line and the header (or trailer) section, strictly.

RFC 9112 2.2: "A recipient MUST parse an HTTP message as a sequence of octets in an encoding that
is a superset of US-ASCII", so every line is parsed as bytes with the grammar of RFC 9110/9112 and
only then decoded (ISO-8859-1, as http.client does, so that obs-text survives). Anything the
grammar does not allow and that would change how the message is framed or understood is refused
with InvalidResponse instead of being guessed at.
"""

from __future__ import annotations

import http.client
import sys
from typing import IO, Protocol

from ._constants import MAX_HEADERS, MAX_LINE
from ._errors import IncompleteRead, InvalidResponse, TooManyHeaders
from ._syntax import FIELD_NAME, OWS

HTTPMessage = http.client.HTTPMessage  # the stdlib's class, so isinstance checks keep working

Field = tuple[str, str]


class LineReader(Protocol):
    def readline(self, size: int = -1, /) -> bytes: ...


def max_line() -> int:
    """The package's `_MAXLINE`, as the caller may have set it."""
    return getattr(sys.modules.get(__package__ or ""), "_MAXLINE", MAX_LINE)


def max_headers() -> int:
    """The package's `_MAXHEADERS`, as the caller may have set it."""
    return getattr(sys.modules.get(__package__ or ""), "_MAXHEADERS", MAX_HEADERS)


def line_too_long(what: str, limit: int) -> http.client.LineTooLong:
    """http.client's LineTooLong, its message naming the limit in force."""
    error = http.client.LineTooLong(what)
    error.args = (f"got more than {limit} bytes when reading {what}",)
    return error


def read_raw_line(fp: LineReader, what: str) -> bytes:
    """One line with its terminator, b"" at EOF (a line cut by EOF has none); LineTooLong beyond the limit."""
    limit = max_line()
    line = fp.readline(limit + 1)
    if len(line) > limit:
        raise line_too_long(what, limit)
    return line


def strip_terminator(line: bytes, what: str) -> bytes:
    """A line without its CRLF (or LF); InvalidResponse for a bare CR left in it."""
    # RFC 9112 2.2: the terminator is CRLF, but "a recipient MAY recognize a single LF as a line
    # terminator and ignore any preceding CR".
    line = line[:-2] if line.endswith(b"\r\n") else line[:-1]
    if b"\r" in line:
        # RFC 9112 2.2: "A recipient of such a bare CR MUST consider that element to be invalid
        # or replace each bare CR with SP"; the reference considers it invalid.
        raise InvalidResponse(f"bare CR in the {what}: {line[:80]!r}")
    return line


def read_line(fp: LineReader, what: str) -> bytes | None:
    """One line without its terminator; None at EOF, IncompleteRead for a line cut by EOF."""
    line = read_raw_line(fp, what)
    if not line.endswith(b"\n"):
        if line:  # the connection ended inside the line
            raise IncompleteRead(line)
        return None
    return strip_terminator(line, what)


def read_fields(fp: LineReader, what: str = "header line", limit: int | None = None) -> tuple[list[Field], bool]:
    """Read a header or trailer section up to and including its blank line.

    Returns the fields and whether the section was complete: False when the connection ended
    before the blank line (a line it cut is left out). The lines are counted as they come and
    parsed once the section is read, so that a flood of lines is TooManyHeaders whatever they hold.
    At most `limit` field lines (default: the package's `_MAXHEADERS`; stdlib counts the blank
    line as a header, here exactly that many fields are accepted).
    """
    limit = max_headers() if limit is None else limit
    lines: list[bytes] = []
    count = 0
    while True:
        line = read_raw_line(fp, what)
        if not line.endswith(b"\n") or line == b"\r\n" or line == b"\n":
            fields = parse_lines([strip_terminator(line, what) for line in lines], what)
            return fields, line.endswith(b"\n")
        if line[0] not in b" \t":  # an obs-fold line continues a field: no field of its own
            if count == limit:
                raise TooManyHeaders(f"got more than {limit} headers")
            count += 1
        lines.append(line)


def buffered_head(fp: object) -> tuple[bytes, list[bytes]] | None:
    """The status line and field lines of a response head that `fp` holds whole, consumed from it.

    The fast path for the usual head: all of it in what one read brought, every line ended by
    CRLF, no obs-fold, within the limits. Anything else returns None without consuming anything,
    and the head is read line by line (which also judges what this path does not take).
    """
    peek = getattr(fp, "peek", None)
    if peek is None:
        return None
    buffered: bytes = peek()  # what the file holds, or one read's worth if it holds nothing
    end = buffered.find(b"\r\n\r\n")
    if end < 0 or end >= max_line():
        return None
    head = buffered[:end]
    lines = head.split(b"\r\n")
    ends = len(lines) - 1
    if (head.count(b"\r") != ends or head.count(b"\n") != ends or ends > max_headers()
            or b"\r\n " in head or b"\r\n\t" in head):
        return None
    fp.read(end + 4)  # type: ignore[attr-defined]
    return lines[0], lines[1:]


def parse_lines(lines: list[bytes], what: str) -> list[Field]:
    """The fields of a section's lines (without their terminators), in order."""
    fields: list[tuple[bytes, bytes]] = []
    for line in lines:
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
        fields.append(_split_field(line))
    return [(name.decode("latin-1"), value.decode("latin-1")) for name, value in fields]


def _split_field(line: bytes) -> tuple[bytes, bytes]:
    # RFC 9112 5: field-line = field-name ":" OWS field-value OWS
    name, colon, value = line.partition(b":")
    if not colon:
        raise InvalidResponse(f"field line without a colon: {line[:80]!r}")
    if not FIELD_NAME.fullmatch(name):
        # RFC 9112 5.1: "No whitespace is allowed between the field name and colon"; a name with
        # whitespace or a non-ASCII octet is refused: stdlib silently moves every later header
        # into the body there. Other visible characters are kept as stdlib keeps them.
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

    Unlike the stdlib's, this refuses what RFC 9112 does not allow (see read_fields), and a
    section that the end of the file cuts short is IncompleteRead.
    """
    fields, complete = read_fields(fp)
    if not complete:
        raise IncompleteRead(b"")
    return build_message(fields, _class)
