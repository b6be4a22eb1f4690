"""Agent scenarios for content codings (RFC 9110 8.4): what a client that decodes gzip, deflate, br
and zstd by itself does with a bomb, a chain of codings, and a coding that is broken or cut short.

Content-Encoding lists the codings "in the order in which they were applied" (RFC 9110 8.4), and a
user agent that advertises a coding in Accept-Encoding decodes it for the application. RFC 9110
sets no bound on the decoded size nor on the number of codings: those bounds are what advisories
asked for after clients decoded without them (urllib3 CVE-2025-66471: its streaming API decoded a
whole network read at once, whatever piece the application asked for; CVE-2026-44432: the rest of
a brotli body at the second read; CVE-2025-66418 and curl's CVE-2022-32206: chains of any length;
aiohttp CVE-2025-69223: automatic decompression without a bound). Those scenarios are SHOULD,
levelled by the advisories they cite.

The bombs decode to 1 GiB of zeros. brotli and zstd make that from a few KB; deflate (and so gzip)
cannot do better than about 1032:1, so their bombs are about 1 MiB on the wire (still 1 GiB
decoded), and gzip applied twice makes 1 GiB from under 2 KB. The server holds and sends the
compressed bytes only.
"""

from __future__ import annotations

import functools
import importlib
import struct
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import ModuleType

import pytest

from h1conform.servers import expect_request
from h1conform.servers.steps import flood
from h1conform.suites.harness import AGENT, MUST, SHOULD, ErrorKind, Failure, Response, Unsupported, scenario, variant
from h1conform.suites.harness.agent import DECODES, AgentClient, MemoryPeak
from h1conform.suites.harness.agent_fixtures import Origins
from h1conform.suites.harness.deadline import deadline, deadline_paused

MiB = 1 << 20
PIECE = 64 * 1024  # what the application asks the streaming API for at a time
BOMB_MIBS = 1024  # each bomb decodes to 1 GiB of zeros
# How much of a bomb the application reads: four times the memory bound, so that a client whose
# memory grows with what it decoded (not with what one piece holds) crosses the bound too.
READ_LIMIT = 128 * MiB
# Decoding may cost this much more memory than streaming as many bytes with no coding at all (the
# baseline: what the client's streaming itself holds, its runtime's uncollected garbage included:
# under 1 MiB for the Python clients, up to about 12 MiB for Node.js's fetch). Over the baseline, a client decoding 64 KiB pieces
# holds one piece, its decoder's window (32 KiB for deflate, 4 MiB for these brotli bombs (lgwin
# 22), 2 MiB for these zstd ones) and its network buffers (a gzip bomb is 1 MiB in all): far under
# 32 MiB. The behaviour the advisories describe decodes a whole network read at once (64 KiB of a
# deflate bomb is 64 MiB decoded) or the whole body (1 GiB).
MEMORY_MARGIN = 32 * MiB
# Decoding moves no byte on the network, so the scenario deadline (no progress for --scenario-timeout
# seconds, 5 by default) would stop a client that works: reading a bomb gets this many times that
# in all instead (a minute by default). A client that decodes all 1 GiB at once, and then fails the
# bound, needs 5 to 25 seconds for it on a loaded two-core machine (httpx: 3 GiB of allocations).
DECODING_TIME_FACTOR = 12

# The control bodies: varied (a wrong decoder cannot make them by luck) and exactly as long as what
# a stream result keeps of its start (agent.HEAD_KEPT), so that all of a control body is compared.
CONTROL_BODY = b"".join(b"line %05d of the control body, in a content coding\n" % n for n in range(1300))[:64 * 1024]
CODINGS = ("gzip", "deflate", "br", "zstd")
CODING_ERRORS = (ErrorKind.DECODING, ErrorKind.PROTOCOL)

BOMB_CVES = ["CVE-2025-66471", "CVE-2026-44432", "CVE-2025-69223"]
CHAIN_CVES = ["CVE-2025-66418", "CVE-2022-32206"]


# -- encoders ----------------------------------------------------------------------------------------

def _encoder_module(*names: str) -> ModuleType:
    """The first importable of `names`; skip if none is: a missing encoder is the suite's lack here,
    not the client's."""
    for name in names:
        try:
            return importlib.import_module(name)
        except ImportError:
            continue
    pytest.skip(f"the suite cannot encode this coding: none of {list(names)} is importable")


def _zstd() -> ModuleType:
    return _encoder_module("compression.zstd", "backports.zstd")


def encode(coding: str, data: bytes) -> bytes:
    """`data` in one content coding (RFC 9110 8.4.1): gzip, deflate (the zlib format), br or zstd."""
    if coding in ("gzip", "deflate"):
        encoder = zlib.compressobj(9, zlib.DEFLATED, 31 if coding == "gzip" else 15)
        return encoder.compress(data) + encoder.flush()
    if coding == "br":
        return bytes(_encoder_module("brotli").compress(data))
    if coding == "zstd":
        return bytes(_zstd().compress(data))
    raise ValueError(f"no encoder for {coding!r}")


def _deflate_zeros(mibs: int) -> bytes:
    """Raw deflate data of `mibs` MiB of zeros, built from one compressed MiB: after a full flush
    the compressor forgets its history, so every MiB compresses to the same bytes."""
    encoder = zlib.compressobj(9, zlib.DEFLATED, -15)
    one = encoder.compress(bytes(MiB)) + encoder.flush(zlib.Z_FULL_FLUSH)
    return one * mibs + encoder.flush()


def _zeros_checksum(checksum: Callable[[bytes, int], int], start: int, mibs: int) -> int:
    value, zeros = start, bytes(MiB)
    for _ in range(mibs):
        value = checksum(zeros, value)
    return value


@functools.cache
def bomb(coding: str) -> bytes:
    """1 GiB of zeros in `coding`, built once per process without holding the decoded GiB."""
    if coding == "gzip":
        trailer = struct.pack("<II", _zeros_checksum(zlib.crc32, 0, BOMB_MIBS), (BOMB_MIBS * MiB) & 0xFFFFFFFF)
        return b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff" + _deflate_zeros(BOMB_MIBS) + trailer
    if coding == "deflate":  # the zlib format (RFC 1950): header, deflate data, Adler-32
        return b"\x78\xda" + _deflate_zeros(BOMB_MIBS) + struct.pack(">I", _zeros_checksum(zlib.adler32, 1, BOMB_MIBS))
    if coding == "br":
        encoder = _encoder_module("brotli").Compressor(quality=5, lgwin=22)
        return b"".join(encoder.process(bytes(MiB)) for _ in range(BOMB_MIBS)) + encoder.finish()
    if coding == "zstd":
        encoder = _zstd().ZstdCompressor(level=3)
        return b"".join(encoder.compress(bytes(MiB)) for _ in range(BOMB_MIBS)) + encoder.flush()
    if coding == "gzip, gzip":
        return encode("gzip", bomb("gzip"))
    raise ValueError(f"no bomb in {coding!r}")


def coded_response(content_encoding: str, coded: bytes) -> bytes:
    return (b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Encoding: %s\r\n"
            b"Content-Length: %d\r\n\r\n%s" % (content_encoding.encode("ascii"), len(coded), coded))


def require_codings(agent: AgentClient, content_encoding: str) -> None:
    for coding in {name.strip() for name in content_encoding.split(",")}:
        agent.require(DECODES[coding], f"the body's Content-Encoding lists {coding}")


@contextmanager
def decoding_time(request: pytest.FixtureRequest) -> Iterator[None]:
    """The read of a bomb's body under a deadline of DECODING_TIME_FACTOR scenario deadlines in all
    (see above); none when the run has no scenario deadline."""
    with deadline(DECODING_TIME_FACTOR * request.config.getoption("scenario_timeout")):
        yield


# -- the bombs ---------------------------------------------------------------------------------------

BOMB_ROWS = [variant(coding, True, id=coding) for coding in CODINGS] + [
    variant("gzip, gzip", True, id="gzip-gzip")] + [
    variant(coding, False, id=f"control-{coding}") for coding in CODINGS] + [
    variant("gzip, gzip", False, id="control-gzip-gzip")]


@scenario("agent.coding.bomb", refs=["RFC9110-8.4-p5-s1"], level=SHOULD, profile=AGENT, cves=BOMB_CVES + CHAIN_CVES)
@pytest.mark.parametrize(("content_encoding", "is_bomb"), BOMB_ROWS)
def test_a_bomb_streams_in_bounded_memory(origins: Origins, agent: AgentClient, request: pytest.FixtureRequest,
                                          content_encoding: str, is_bomb: bool) -> None:
    """Read through the client's streaming API, 64 KiB at a time, a body that decodes to 1 GiB:
    while READ_LIMIT bytes of zeros come out (or the client refuses the bomb as a decoding error),
    the client's memory stays within MEMORY_MARGIN of what it uses to stream READ_LIMIT bytes with
    no coding. Control: a small body in the same codings streams to its exact content under the
    same bound."""
    require_codings(agent, content_encoding)
    baseline = _streaming_baseline(origins, agent)
    bound = baseline.most + MEMORY_MARGIN
    with deadline_paused():  # building a bomb is the harness's work (a second or two, once per process)
        coded = bomb(content_encoding) if is_bomb else _encode_all(content_encoding, CONTROL_BODY)
    origin = origins.http()
    origin.routes["/body"] = coded_response(content_encoding, coded)
    with decoding_time(request):
        result = agent.stream("GET", origin.url("/body"), chunk_size=PIECE, limit=READ_LIMIT)
    if "," in content_encoding and result.failure is None and result.head == coded[:len(result.head)] \
            and result.received == len(coded):
        raise Unsupported(f"the client hands over a body in Content-Encoding: {content_encoding} undecoded "
                          "(it decodes one coding, not a chain)")
    what = (f"{len(coded)} bytes in Content-Encoding: {content_encoding} "
            f"({'1 GiB of zeros' if is_bomb else f'{len(CONTROL_BODY)} bytes'} decoded)")
    read = (f"the client handed over {result.received} decoded bytes in {result.pieces} pieces, "
            f"using {result.memory} (bound {bound / MiB:.1f} MiB: {baseline.most / MiB:.1f} MiB to stream as much "
            f"with no coding, plus {MEMORY_MARGIN // MiB} MiB)")
    if is_bomb and isinstance(result.failure, Failure):
        assert result.failure.kind in CODING_ERRORS, (
            f"a bomb is read in bounded pieces or refused as a decoding error; reading {what}, the client "
            f"failed with {result.failure} after {result.received} bytes")
    elif is_bomb:
        assert result.received >= READ_LIMIT, (
            f"the body decodes to 1 GiB, but the stream ended silently after {result.received} bytes: {read}")
        assert result.head == bytes(len(result.head)), f"the decoded start is not zeros: {result.head[:64]!r}"
    else:
        assert result.failure is None, f"reading {what}, the client failed with {result.failure}"
        assert (result.received, result.head) == (len(CONTROL_BODY), CONTROL_BODY), (
            f"reading {what}: expected its exact content, got {result.received} bytes starting "
            f"{result.head[:80]!r}")
    assert result.memory.most < bound, (
        f"streaming a body in {PIECE // 1024} KiB pieces should not hold much more than a piece: reading "
        f"{what}, {read}. The client decodes more than the application asked for at once")


def _streaming_baseline(origins: Origins, agent: AgentClient) -> MemoryPeak:
    """The memory the client uses to stream READ_LIMIT bytes with no content coding, 64 KiB at a
    time, the server sending them as they are read. Measured on the second of two such reads: the
    first grows a fresh process's heap (a driver's Node.js process grows by some 60 MiB the first
    time), and counting that growth would let a client hide as much decoding behind it."""
    for _ in range(2):
        origin = origins.http()
        head = b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: %d\r\n\r\n" % READ_LIMIT
        origin.server.add_connection(expect_request(), flood(head, bytes(PIECE), READ_LIMIT // PIECE))
        result = agent.stream("GET", origin.url("/plain"), chunk_size=PIECE, limit=READ_LIMIT)
        assert result.failure is None and result.received == READ_LIMIT, (
            f"streaming {READ_LIMIT // MiB} MiB with no content coding (to measure what streaming itself costs) "
            f"should work; the client got {result.received} bytes, then {result.failure}")
    return result.memory


def _encode_all(content_encoding: str, data: bytes) -> bytes:
    """`data` with each coding of the Content-Encoding list applied in order."""
    for coding in content_encoding.split(","):
        data = encode(coding.strip(), data)
    return data


# -- chains ------------------------------------------------------------------------------------------

CHAIN_BODY = b"the content under a chain of codings\n" * 8
# The longest chain a client may still decode whole; beyond, it is refused (see the scenario).
BOUNDED_CHAIN = 10


@scenario("agent.coding.chain", refs=["RFC9110-8.4-p5-s1"], level=SHOULD, profile=AGENT, cves=CHAIN_CVES)
@pytest.mark.parametrize("layers", [variant(2, id="control-gzip-x2"), variant(10, id="gzip-x10"),
                                    variant(100, id="gzip-x100")])
def test_a_chain_of_codings_is_decoded_whole_or_refused(origins: Origins, agent: AgentClient, layers: int) -> None:
    """gzip applied 10 and 100 times, each listed in Content-Encoding.

    RFC 9110 sets no limit on the number of codings; the advisories call an unbounded chain the
    flaw, and their fixes bound it (urllib3 and curl now refuse more than five codings). So a chain
    of 10 may be decoded to its exact content or refused as a decoding error, while a chain of 100,
    past any bound a client would choose, must be refused (or handed over undecoded under the
    field that says so, by a client that decodes no chain). Never conformant: a body decoded part
    of the way under a field that no longer says how it is coded, a crash (an unclassified error)
    or a hang. What a chain costs in memory is agent.coding.bomb[gzip-gzip]'s to measure.
    Control: a chain of two decodes."""
    content_encoding = ", ".join(["gzip"] * layers)
    require_codings(agent, content_encoding)
    coded = _encode_all(content_encoding, CHAIN_BODY)
    origin = origins.http()
    origin.routes["/chain"] = coded_response(content_encoding, coded)
    outcome = agent.request("GET", origin.url("/chain"))
    sent = f"{len(coded)} bytes in Content-Encoding: gzip x{layers}, decoding to {CHAIN_BODY[:40]!r}..."
    undecoded = isinstance(outcome, Response) and outcome.body == coded \
        and _field(outcome, "content-encoding") == content_encoding
    if layers == 2:
        if undecoded:
            raise Unsupported("the client hands over a chain of two codings undecoded, under its Content-Encoding "
                              "field (it decodes one coding, not a chain)")
        assert isinstance(outcome, Response) and outcome.body == CHAIN_BODY, (
            f"a chain of two codings decodes to the content; sent {sent}, got {_shown(outcome)}")
        return
    if isinstance(outcome, Failure):
        assert outcome.kind in CODING_ERRORS, (
            f"a chain of codings is decoded or refused as a decoding error; sent {sent}, the client failed "
            f"with {outcome}")
        return
    if layers > BOUNDED_CHAIN:
        assert undecoded, (
            f"a client bounds the chain of codings it decodes (the advisories' fix: urllib3 and curl refuse "
            f"more than five); sent {sent}, the client decoded it all and returned {_shown(outcome)}"
            if outcome.body == CHAIN_BODY else
            f"a chain of codings ends in a decoding error, or the coded body under its Content-Encoding "
            f"field; sent {sent}, got {_shown(outcome)}")
        return
    assert outcome.body == CHAIN_BODY or undecoded, (
        f"a chain of codings ends in its exact content, a decoding error, or the coded body under its "
        f"Content-Encoding field; sent {sent}, got {_shown(outcome)}")


def _field(response: Response, name: str) -> str | None:
    values = [value for field, value in response.headers if field.lower() == name]
    return ", ".join(values) if values else None


def _shown(outcome: Response | Failure) -> str:
    if isinstance(outcome, Failure):
        return f"the failure {outcome}"
    field = _field(outcome, "content-encoding")
    if field is not None and len(field) > 60:
        field = f"{field[:40]}... ({field.count(',') + 1} codings)"
    return (f"a {outcome.status} response with Content-Encoding {field!r} and "
            f"{len(outcome.body)} bytes of body starting {outcome.body[:60]!r}")


# -- broken and cut-short codings --------------------------------------------------------------------

def _truncated(coding: str) -> tuple[str, bytes]:
    coded = encode(coding, CONTROL_BODY)
    return coding, coded[: len(coded) // 2]


def _whole(coding: str) -> tuple[str, bytes]:
    return coding, encode(coding, CONTROL_BODY)


def _garbage(coding: str) -> tuple[str, bytes]:
    """A gzip header (RFC 1952: magic, deflate, no flags) then bytes that are not deflate data."""
    return coding, b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff" + b"\xff not deflate data \xff" * 8


def _unknown(coding: str) -> tuple[str, bytes]:
    return "x-nonsense", encode(coding, CONTROL_BODY)


BROKEN_ROWS = ([variant(_truncated, coding, id=f"truncated-{coding}") for coding in CODINGS]
               + [variant(_garbage, "gzip", id="garbage-after-gzip-header"),
                  variant(_unknown, "gzip", id="unknown-coding")]
               + [variant(_whole, coding, id=f"control-{coding}") for coding in CODINGS])


@scenario("agent.coding.broken", refs=["RFC9112-8-p2-s1", "RFC9110-8.4-p5-s1"], level=MUST, profile=AGENT)
@pytest.mark.parametrize(("make", "coding"), BROKEN_ROWS)
def test_a_broken_coding_is_an_error(origins: Origins, agent: AgentClient,
                                     make: Callable[[str], tuple[str, bytes]], coding: str) -> None:
    """A coded body whose coding is cut short (the framing is complete: Content-Length counts the
    bytes sent) or is not the coding named must end as an error, never as a response whose body is
    what the decoder made of it before it stopped.

    RFC 9110 8.4 defines the representation as its coded form, so a coding cut short is an
    incomplete representation even when the message framing is complete; RFC 9112 8 has a client
    record a message as incomplete when decoding fails. A coding the client does not know
    ("x-nonsense") may be refused, or handed over undecoded under its field (RFC 9110 8.4 lists
    the codings applied: the field then still tells the application); decoding it by guessing, or
    dropping the field, is not conformant. Controls: the whole stream in each coding decodes."""
    agent.require(DECODES[coding], f"the body is in Content-Encoding: {coding}")
    content_encoding, coded = make(coding)
    origin = origins.http()
    origin.routes["/coded"] = coded_response(content_encoding, coded)
    outcome = agent.request("GET", origin.url("/coded"))
    sent = f"{len(coded)} bytes in Content-Encoding: {content_encoding} (starting {coded[:24]!r})"
    if make is _whole:
        assert isinstance(outcome, Response) and outcome.body == CONTROL_BODY, (
            f"a whole {coding} stream decodes to its content; sent {sent}, got {_shown(outcome)}")
    elif make is _unknown:
        kept = isinstance(outcome, Response) and outcome.body == coded and _field(outcome, "content-encoding") == content_encoding
        refused = isinstance(outcome, Failure) and outcome.kind in CODING_ERRORS
        assert kept or refused, (
            f"a coding the client does not know is refused, or handed over undecoded under its "
            f"Content-Encoding field; sent {sent}, got {_shown(outcome)}")
    else:
        assert isinstance(outcome, Failure) and outcome.kind in (*CODING_ERRORS, ErrorKind.INCOMPLETE), (
            f"a coding that cannot be decoded to its end is an error (decoding, protocol or incomplete), "
            f"never a response with what was decoded before it broke; sent {sent}, got {_shown(outcome)}")
