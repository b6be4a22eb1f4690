"""Where a response body ends (RFC 9112 6.3) and how to read it: by length, chunked, or until close.

Each body kind reads from the response's buffered socket file and knows when it is complete.
A body that ends early raises IncompleteRead (RFC 9112 8: the client "MUST record the message as
incomplete"), whichever read method met the end, and memory only ever grows with the data that
actually arrived, whatever length the server announced (CVE-2025-13836).
"""

from __future__ import annotations

import io
from typing import Protocol

from ._constants import CHUNK_FRAMING_ALLOWANCE, MAX_CHUNK_FRAMING_DEBT, MAX_TRAILER_FIELDS
from ._errors import IncompleteRead, InvalidResponse, TooManyHeaders
from ._headers import read_fields, read_line
from ._syntax import CHUNK_SIZE, OWS

_HEXDIG = b"0123456789abcdefABCDEF"

# Up to this size a body of known length is read with one allocation of that size: it only
# reserves address space, and the kernel commits pages as received data is written into them, so
# resident memory still grows with the data that arrives. Beyond it (a server announcing 2**62
# octets, CVE-2025-13836), reads start at FIRST_READ_STEP and double as data keeps coming.
DIRECT_READ_LIMIT = 1 << 30
FIRST_READ_STEP = 1 << 20


class BufferedFile(Protocol):
    """What a body reads from: the socket's file (or a double's: io.BytesIO has no peek())."""

    def read(self, size: int | None = -1, /) -> bytes: ...
    def read1(self, size: int = -1, /) -> bytes: ...
    def readinto(self, buffer: memoryview, /) -> int: ...
    def readline(self, size: int = -1, /) -> bytes: ...
    def peek(self, size: int = 0, /) -> bytes: ...


class Body(Protocol):
    """A response body as it is read: one class per framing."""

    done: bool  # True once the whole body has been read

    def read(self, fp: BufferedFile, amt: int | None) -> bytes: ...
    def readinto(self, fp: BufferedFile, buffer: memoryview) -> int: ...
    def read1(self, fp: BufferedFile, amt: int) -> bytes: ...
    def readline(self, fp: BufferedFile, limit: int) -> bytes: ...
    def peek(self, fp: BufferedFile) -> bytes: ...


class CutHeadBody:
    """The connection ended inside the response head: whatever is read, the message is incomplete.

    RFC 9112 8: a client "MUST record the message as incomplete"; a response without its header
    section's end is not "received intact", whatever its framing would have been.
    """

    done = False

    def read(self, fp: BufferedFile, amt: int | None) -> bytes:
        raise IncompleteRead(b"")

    def readinto(self, fp: BufferedFile, buffer: memoryview) -> int:
        raise IncompleteRead(b"")

    def read1(self, fp: BufferedFile, amt: int) -> bytes:
        raise IncompleteRead(b"")

    def readline(self, fp: BufferedFile, limit: int) -> bytes:
        raise IncompleteRead(b"")

    def peek(self, fp: BufferedFile) -> bytes:
        raise IncompleteRead(b"")


class LengthBody:
    """Content-Length: exactly `remaining` more octets."""

    def __init__(self, length: int) -> None:
        self.remaining = length
        self.done = length == 0

    def read(self, fp: BufferedFile, amt: int | None) -> bytes:
        wanted = self.remaining if amt is None or amt < 0 else min(amt, self.remaining)
        data = read_upto(fp, wanted)
        self._advance(len(data), data, wanted)
        return data

    def readinto(self, fp: BufferedFile, buffer: memoryview) -> int:
        wanted = min(len(buffer), self.remaining)
        count = fp.readinto(buffer[:wanted])
        self._advance(count, bytes(buffer[:count]) if count < wanted else b"", wanted)
        return count

    def read1(self, fp: BufferedFile, amt: int) -> bytes:
        # read1 may return less than asked: never ask more than a read step, whatever was announced.
        wanted = min(self.remaining if amt < 0 else amt, self.remaining, FIRST_READ_STEP)
        data = fp.read1(wanted) if wanted else b""
        if wanted and not data:
            self._advance(0, b"", wanted)
        self.remaining -= len(data)
        self.done = self.remaining == 0
        return data

    def readline(self, fp: BufferedFile, limit: int) -> bytes:
        wanted = self.remaining if limit < 0 else min(limit, self.remaining)
        line = fp.readline(wanted) if wanted else b""
        # A line shorter than asked for ends with LF, or the connection ended.
        self._advance(len(line), line, len(line) if line.endswith(b"\n") else wanted)
        return line

    def peek(self, fp: BufferedFile) -> bytes:
        return fp.peek()[: self.remaining] if self.remaining else b""

    def _advance(self, count: int, partial: bytes, wanted: int) -> None:
        expected = self.remaining - count
        self.remaining = expected
        self.done = expected == 0
        if count < wanted:
            # RFC 9112 6.3: "If the sender closes the connection ... before the indicated number
            # of octets are received, the recipient MUST consider the message to be incomplete".
            raise IncompleteRead(partial, expected)


def read_upto(fp: BufferedFile, wanted: int) -> bytes:
    """`wanted` octets, fewer only at EOF; resident memory grows only with what arrives."""
    return fp.read(wanted) if wanted <= DIRECT_READ_LIMIT else _read_growing(fp, wanted)


def _read_growing(fp: BufferedFile, wanted: int) -> bytes:
    """Read `wanted` octets (or up to EOF) into a buffer that doubles as data arrives.

    BytesIO.getvalue() hands back its buffer without a copy when it is exactly full, so a large
    body costs no more copies than one read of a preallocated buffer would.
    """
    buffer = io.BytesIO()
    got = size = 0
    while got < wanted:
        if got == size:
            size = min(wanted, max(2 * size, FIRST_READ_STEP))
            buffer.seek(size - 1)
            buffer.write(b"\0")
        with buffer.getbuffer() as view:
            count = fp.readinto(view[got:size])
        if not count:
            buffer.truncate(got)
            break
        got += count
    return buffer.getvalue()


class UntilCloseBody:
    """No Content-Length, no chunked: the body is whatever comes until the server closes."""

    done = False

    def read(self, fp: BufferedFile, amt: int | None) -> bytes:
        if amt == 0:
            return b""
        data = fp.read() if amt is None or amt < 0 else fp.read(amt)
        if not data or amt is None or amt < 0:
            self.done = True
        return data

    def readinto(self, fp: BufferedFile, buffer: memoryview) -> int:
        count = fp.readinto(buffer)
        self.done = count == 0 and len(buffer) > 0
        return count

    def read1(self, fp: BufferedFile, amt: int) -> bytes:
        data = fp.read1(amt)
        self.done = not data and amt != 0
        return data

    def readline(self, fp: BufferedFile, limit: int) -> bytes:
        line = fp.readline(limit)
        self.done = not line and limit != 0
        return line

    def peek(self, fp: BufferedFile) -> bytes:
        return fp.peek()


class ChunkedBody:
    """Transfer-Encoding: chunked (RFC 9112 7.1).

        chunked-body = *chunk last-chunk trailer-section CRLF
        chunk        = chunk-size [ chunk-ext ] CRLF chunk-data CRLF
        last-chunk   = 1*("0") [ chunk-ext ] CRLF
    """

    def __init__(self) -> None:
        self.done = False
        self.chunk_left: int | None = None  # octets left in the current chunk; None: at a size line
        self.received: list[bytes] = []  # decoded so far by the current read, for IncompleteRead
        # The connection ended inside the trailer section: the body is complete (RFC 9112 8), the
        # connection is not reusable.
        self.trailers_cut = False
        # Framing octets received beyond CHUNK_FRAMING_ALLOWANCE a chunk and the data they carried.
        self.framing_debt = 0

    def read(self, fp: BufferedFile, amt: int | None) -> bytes:
        parts: list[bytes] = []
        wanted = -1 if amt is None or amt < 0 else amt
        self.received = parts
        while not self.done and wanted != 0:
            if self.chunk_left is None and hasattr(fp, "peek"):
                got = self._take_buffered_chunks(fp, parts, wanted)
                if got:
                    wanted = wanted - got if wanted > 0 else wanted
                    continue
            left = self._chunk_left(fp)
            if left == 0:
                break
            take = left if wanted < 0 else min(left, wanted)
            data = read_upto(fp, take)
            parts.append(data)
            self._consume(fp, len(data), take)
            if wanted > 0:
                wanted -= len(data)
        return b"".join(parts)

    def _take_buffered_chunks(self, fp: BufferedFile, parts: list[bytes], wanted: int) -> int:
        """Decode the complete chunks already buffered, in one pass; return the octets taken.

        The fast path for bodies of many small chunks: a few C-level calls per chunk instead of a
        readline and two reads. It stops at the first chunk that is not complete in
        the buffer, at the last chunk, or at anything unusual (a bare LF after the data, a bad
        size line), which the chunk-at-a-time path then reads, or refuses, by the same rules.
        """
        buffered = fp.peek()
        end_of_buffer = len(buffered)
        position = taken = 0
        find, starts_with, append = buffered.find, buffered.startswith, parts.append  # a hot loop
        limit = wanted if wanted >= 0 else end_of_buffer
        sizes: dict[bytes, int] = {}  # size lines seen in this buffer: senders repeat them
        while (line_end := find(b"\r\n", position)) >= 0:
            size_line = buffered[position:line_end]
            size = sizes.get(size_line)
            if size is None:
                # chunk-size = 1*HEXDIG, checked before int(), which would also take "0x5", "+5",
                # "5_0" and spaces; a line with extensions or anything else goes to the strict path.
                if not size_line or size_line.translate(None, _HEXDIG):
                    break
                size = int(size_line, 16)
                # A chunk whose framing costs more than its allowance is read on the strict path,
                # which accounts for it (0: not taken here).
                sizes[size_line] = size = size if len(size_line) + 4 - size <= CHUNK_FRAMING_ALLOWANCE else 0
            start = line_end + 2
            end = start + size
            if not size or end + 2 > end_of_buffer or taken + size > limit or not starts_with(b"\r\n", end):
                break
            append(buffered[start:end])
            taken += size
            position = end + 2
        if position:
            fp.read(position)  # consume what was decoded
            # Chunks taken here cost no more framing than their allowance: where their data
            # outweighs their framing, the difference pays the debt down.
            self.framing_debt = max(0, self.framing_debt - max(0, 2 * taken - position))
        return taken

    def read1(self, fp: BufferedFile, amt: int) -> bytes:
        if amt == 0:
            return b""
        left = self._chunk_left(fp)
        if left == 0:
            return b""
        take = min(left if amt < 0 else amt, left, FIRST_READ_STEP)
        data = fp.read1(take)
        self.received = [data]
        self._consume(fp, len(data), len(data) or take)
        return data

    def readinto(self, fp: BufferedFile, buffer: memoryview) -> int:
        data = self.read(fp, len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def readline(self, fp: BufferedFile, limit: int) -> bytes:
        parts: list[bytes] = []
        self.received = parts
        wanted = limit
        while wanted != 0:
            left = self._chunk_left(fp)
            if left == 0:
                break
            take = left if wanted < 0 else min(left, wanted)
            piece = fp.readline(take)
            parts.append(piece)
            ended = piece.endswith(b"\n")  # else it is `take` octets long, or the connection ended
            self._consume(fp, len(piece), len(piece) if ended else take)
            if ended:
                break
            wanted = wanted - len(piece) if wanted > 0 else wanted
        return b"".join(parts)

    def peek(self, fp: BufferedFile) -> bytes:
        left = self._chunk_left(fp)
        return fp.peek()[:left] if left else b""

    def _chunk_left(self, fp: BufferedFile) -> int:
        """Octets left in the current chunk, reading the next size line if needed; 0 at the end."""
        if self.chunk_left is None:
            size = self._read_size(fp)
            if size == 0:
                self._read_trailers(fp)
                self.done = True
                return 0
            self.chunk_left = size
        return self.chunk_left

    def _consume(self, fp: BufferedFile, count: int, take: int) -> None:
        assert self.chunk_left is not None
        if count < take:
            raise IncompleteRead(b"".join(self.received))
        self.chunk_left -= count
        if self.chunk_left == 0:
            self.chunk_left = None
            # chunk = chunk-size [ chunk-ext ] CRLF chunk-data CRLF: the CRLF after the data is
            # checked, not skipped; a bare LF is accepted as everywhere (RFC 9112 2.2).
            end = self._line(fp)
            if end != b"":
                # RFC 9112 8: when "decoding a supposedly chunked transfer coding fails", the
                # client "MUST record the message as incomplete"; the cause says why.
                raise IncompleteRead(b"".join(self.received)) from InvalidResponse(
                    f"chunk data not followed by CRLF: {end[:40]!r}")

    def _read_size(self, fp: BufferedFile) -> int:
        line = self._line(fp)
        # chunk-size = 1*HEXDIG ; chunk-ext = *( BWS ";" BWS ext-name [ BWS "=" BWS ext-val ] )
        # RFC 9112 7.1.1: "A recipient MUST ignore unrecognized chunk extensions."
        size, semicolon, _extensions = line.partition(b";")
        if semicolon:
            size = size.rstrip(OWS)
        if not CHUNK_SIZE.fullmatch(size):
            # RFC 9112 8: a chunked decoding failure makes the message incomplete.
            raise IncompleteRead(b"".join(self.received)) from InvalidResponse(
                f"invalid chunk size line {line[:80]!r}")
        # Python integers do not overflow (RFC 9112 7.1: recipients "MUST anticipate potentially
        # large hexadecimal numerals"), and reads never allocate more than arrives.
        octets = int(size, 16)
        # The size line and the CRLF after the data are framing; RFC 9110 2.3: parse "defensively".
        self.framing_debt = max(0, self.framing_debt + len(line) + 4 - octets - CHUNK_FRAMING_ALLOWANCE)
        if self.framing_debt > MAX_CHUNK_FRAMING_DEBT:
            raise IncompleteRead(b"".join(self.received)) from InvalidResponse(
                f"more than {MAX_CHUNK_FRAMING_DEBT} octets of chunk framing beyond the data it carries")
        return octets

    def _line(self, fp: BufferedFile) -> bytes:
        line = read_line(fp, "chunk size")
        if line is None:
            raise IncompleteRead(b"".join(self.received))
        return line

    def _read_trailers(self, fp: BufferedFile) -> None:
        # RFC 9112 7.1.2: a recipient "MAY selectively retain or discard the received trailer
        # fields" and "MUST NOT merge" them into the header section: they are read (at most
        # MAX_TRAILER_FIELDS lines, whatever they hold) and discarded, as http.client has no API
        # for them. RFC 9112
        # 8: the body is complete once the last chunk arrived, even if the trailer section is
        # cut short; that connection is not reused.
        try:
            _, complete = read_fields(fp, "trailer line", MAX_TRAILER_FIELDS)
        except TooManyHeaders:
            raise TooManyHeaders(f"got more than {MAX_TRAILER_FIELDS} trailer fields") from None
        self.trailers_cut = not complete
