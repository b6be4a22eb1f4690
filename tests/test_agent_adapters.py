"""Tests of the built-in adapters' agent mode (suites/adapters, `open_agent_session`).

Each adapter with an agent mode is driven directly against servers that answer by routes
(servers/routes.py): a redirect to another port is followed and its final URL reported, a content
coding is decoded exactly when the adapter declares it, a cookie comes back exactly when it
declares a jar, `stream()` reads lazily in several pieces, and the client's redirect and decoding
errors get their kinds. Whole-profile behaviour is the suite's business (`pytest suites/ -k agent
--impl=NAME`); these tests pin down what each adapter claims about its client. A client that is not
installed skips its rows.
"""

from __future__ import annotations

import gzip
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from h1conform.servers import (
    CertKind,
    RecordedRequest,
    ScriptedServer,
    TestPKI,
    call,
    close,
    expect_request,
    handshake,
    send,
    serve,
    stall,
)
from h1conform.servers.routes import Answer
from h1conform.suites.harness.agent import (
    COOKIE_JAR,
    DECODES,
    FOLLOWS_REDIRECTS,
    RETRIES,
    AgentResponse,
    AgentSession,
)
from h1conform.suites.harness.agent_fixtures import Origin, ok, redirect
from h1conform.suites.harness.impls import ADAPTERS, resolve
from h1conform.suites.harness.wire import (
    FEATURE_PERSISTENT,
    ErrorKind,
    Failure,
    SessionHandle,
    TLSConfig,
    WireAdapter,
    WireRequest,
)

# Every built-in adapter but the http.client-API ones has an agent mode.
AGENT_ADAPTERS = sorted(ADAPTERS)
# How long a test waits for the server side (the client's own timeout is shorter).
BOUND = 10.0
# A client timeout that a test must not wait for.
LONG_TIMEOUT = 30.0


def _adapter(name: str) -> WireAdapter:
    pytest.importorskip(ADAPTERS[name].client)
    return resolve(name).wire


@pytest.fixture(params=AGENT_ADAPTERS)
def adapter(request: pytest.FixtureRequest) -> WireAdapter:
    return _adapter(request.param)


@pytest.fixture
def make_origin() -> Iterator[Callable[[], Origin]]:
    made: list[Origin] = []

    def make() -> Origin:
        routes: dict[str, Answer] = {}
        made.append(Origin(ScriptedServer("127.0.0.1", every_connection=[serve(routes)]), routes))
        return made[-1]

    yield make
    for origin in made:
        origin.server.close()


def _session(adapter: WireAdapter, timeout: float = 5.0, tls: TLSConfig | None = None) -> SessionHandle:
    opened = adapter.open_agent_session(timeout=timeout, tls=tls)
    assert isinstance(opened, AgentSession), opened
    return SessionHandle(adapter, opened)


def _response(outcome: object) -> AgentResponse:
    assert isinstance(outcome, AgentResponse), f"expected an AgentResponse, got {outcome}"
    return outcome


def test_declared_features_are_agent_features(adapter: WireAdapter) -> None:
    assert FOLLOWS_REDIRECTS in adapter.agent_features, adapter.agent_features
    assert adapter.agent_features <= {FOLLOWS_REDIRECTS, COOKIE_JAR, *DECODES.values(), RETRIES}


def test_redirect_to_another_port_is_followed(adapter: WireAdapter, make_origin: Callable[[], Origin]) -> None:
    first, other = make_origin(), make_origin()
    first.routes["/a"] = redirect(302, other.url("/b?x=1"))
    other.routes["/b"] = ok(b"landed")
    with _session(adapter) as session:
        response = _response(session.request("GET", first.url("/a")))
    assert (response.status, response.body) == (200, b"landed")
    assert response.url == other.url("/b?x=1"), f"the final URL reported: {response.url!r}"
    assert [request.target for request in other.requests] == [b"/b?x=1"]


def test_control_without_redirect_reports_the_request_url(adapter: WireAdapter,
                                                          make_origin: Callable[[], Origin]) -> None:
    origin = make_origin()
    origin.routes["/plain"] = ok(b"here")
    with _session(adapter) as session:
        response = _response(session.request("GET", origin.url("/plain")))
    assert response.body == b"here"
    if response.url is None:
        pytest.skip(f"{adapter.name} reports no URL for a response it was not redirected to (urllib3 1.26 for a POST)")
    assert response.url == origin.url("/plain"), f"the URL reported: {response.url!r}"


TEXT = b"decoded text " * 100
GZIPPED = gzip.compress(TEXT, mtime=0)


def _brotli(data: bytes) -> bytes:
    brotli = pytest.importorskip("brotli", reason="no brotli encoder to make a br body")
    return bytes(brotli.compress(data))


def _zstd(data: bytes) -> bytes:
    zstd = pytest.importorskip("backports.zstd", reason="no zstd encoder to make a zstd body")
    return bytes(zstd.compress(data))


# Each content coding's encoder ("deflate" is the zlib format, RFC 9110 8.4.1.2).
ENCODERS: dict[str, Callable[[bytes], bytes]] = {
    "gzip": lambda data: gzip.compress(data, mtime=0), "deflate": zlib.compress, "br": _brotli, "zstd": _zstd}


@pytest.mark.parametrize("coding", sorted(ENCODERS))
def test_coding_is_decoded_exactly_when_declared(adapter: WireAdapter, make_origin: Callable[[], Origin],
                                                 coding: str) -> None:
    # Fails if DECODES_<coding> is declared and the client hands over the coded octets, and if it
    # is not declared and the client decodes.
    coded = ENCODERS[coding](TEXT)
    origin = make_origin()
    origin.routes["/z"] = ok(coded, extra=b"Content-Encoding: %s\r\n" % coding.encode())
    with _session(adapter) as session:
        outcome = session.request("GET", origin.url("/z"))
    declared = DECODES[coding] in adapter.agent_features
    if not declared and isinstance(outcome, Failure):
        # libcurl, asked for every coding it has, refuses one it has no decoder for.
        assert outcome.kind is ErrorKind.DECODING, outcome
        return
    response = _response(outcome)
    assert response.body == (TEXT if declared else coded), (
        f"{adapter.name} declares {coding} decoding: {declared}; body received {response.body[:40]!r}")


def _sets_cookie(request: RecordedRequest) -> bytes:
    return ok(b"set", extra=b"Set-Cookie: flavour=oat; Path=/\r\n")


def test_cookie_comes_back_exactly_when_a_jar_is_declared(adapter: WireAdapter,
                                                          make_origin: Callable[[], Origin]) -> None:
    # "localhost", not an IP address: aiohttp's default jar ignores cookies from hosts named by IP.
    origin = make_origin()
    origin.routes["/set"] = _sets_cookie
    origin.routes["/again"] = ok(b"again")
    with _session(adapter) as session:
        _response(session.request("GET", origin.url("/set", host="localhost")))
        _response(session.request("GET", origin.url("/again", host="localhost")))
    sent = origin.requests[-1]
    assert sent.target == b"/again"
    declared = COOKIE_JAR in adapter.agent_features
    assert sent.header_values("cookie") == ([b"flavour=oat"] if declared else []), (
        f"{adapter.name} declares a cookie jar: {declared}; second request: {sent.raw!r}")


MIB = 2**20
PIECE = 65536


def test_stream_reads_lazily_in_pieces(adapter: WireAdapter) -> None:
    # The server sends the head and the first half of a 1 MiB body, then waits until the test holds
    # a first piece: a client that read the whole body before handing out a piece never gets the
    # second half (the server's wait runs out, and the test fails naming it).
    body = bytes(range(256)) * (MIB // 256)
    head = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body)
    first_piece = threading.Event()

    def after_first_piece(conn: object) -> None:
        if not first_piece.wait(BOUND):
            raise AssertionError(f"{adapter.name}'s stream() handed out no piece of the first {MIB // 2} bytes "
                                 f"within {BOUND} s: it does not read lazily")

    server = ScriptedServer("127.0.0.1")
    try:
        server.add_connection(expect_request(), send(head + body[: MIB // 2]), call(after_first_piece),
                              send(body[MIB // 2:]))
        received, pieces = bytearray(), 0
        with _session(adapter, timeout=BOUND * 2) as handle:
            session = handle.session
            assert isinstance(session, AgentSession)
            with session.stream(WireRequest("GET", server.url("/big")), PIECE) as chunks:
                for chunk in chunks:
                    assert 0 < len(chunk) <= PIECE, f"a piece of {len(chunk)} bytes for chunk_size {PIECE}"
                    pieces += 1
                    received += chunk
                    first_piece.set()
    finally:
        first_piece.set()
        server.close()
    assert bytes(received) == body, f"{len(received)} bytes received of {len(body)}"
    assert pieces >= MIB // PIECE, f"{pieces} pieces for {MIB} bytes read {PIECE} at a time"


def test_leaving_a_stream_early_releases_it_at_once(adapter: WireAdapter) -> None:
    # The server sends half the body and then nothing: leaving the stream after one piece must end
    # the transfer then (closing the connection), not when the client's own timeout runs out.
    body = bytes(MIB)
    server = ScriptedServer("127.0.0.1")
    try:
        server.add_connection(expect_request(), send(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % MIB
                                                     + body[: MIB // 2]), stall())
        with _session(adapter, timeout=LONG_TIMEOUT) as handle:
            session = handle.session
            assert isinstance(session, AgentSession)
            started = time.monotonic()
            with session.stream(WireRequest("GET", server.url("/")), PIECE) as chunks:
                assert next(chunks)
            left = time.monotonic() - started
        assert server.wait_idle(BOUND), "the connection was still open after the session closed"
    finally:
        server.close()
    assert left < LONG_TIMEOUT / 2, f"leaving the stream took {left:.1f} s: it waited for the client's timeout"


def test_stream_decodes(adapter: WireAdapter, make_origin: Callable[[], Origin]) -> None:
    if DECODES["gzip"] not in adapter.agent_features:
        pytest.skip(f"{adapter.name} does not decode gzip")
    body = bytes(range(256)) * 4096
    origin = make_origin()
    origin.routes["/z"] = ok(gzip.compress(body, mtime=0), extra=b"Content-Encoding: gzip\r\n")
    with _session(adapter) as handle:
        session = handle.session
        assert isinstance(session, AgentSession)
        with session.stream(WireRequest("GET", origin.url("/z")), PIECE) as chunks:
            assert b"".join(chunks) == body


def _retried_get(adapter: WireAdapter, server: ScriptedServer) -> bool:
    """Whether the client sent a GET again after its kept-alive connection closed upon it."""
    with _session(adapter) as session:
        _response(session.request("GET", server.url("/1")))
        outcome = session.request("GET", server.url("/2"))
    # Not the empty record of a next request that a kept-alive connection still awaits.
    sent = [request.target for request in server.requests if request.raw]
    if sent.count(b"/2") == 2:
        assert _response(outcome).body == b"answered", outcome
        assert len(server.connections) == 2, "the GET was sent again on a new connection"
        return True
    assert sent == [b"/1", b"/2"] and isinstance(outcome, Failure), (sent, outcome)
    return False


def test_retries_exactly_when_declared(adapter: WireAdapter) -> None:
    # The server reads a second GET on the kept connection and closes it unanswered (RFC 9112 9.3.1
    # lets a client retry an idempotent request then). A client declaring RETRIES sends it again on
    # a new connection; one that does not declare it fails.
    if FEATURE_PERSISTENT not in adapter.features:
        pytest.skip(f"{adapter.name} keeps no connection: there is none to close upon a second request")
    server = ScriptedServer("127.0.0.1", every_connection=[serve({"/2": ok(b"answered")})])
    try:
        server.add_connection(expect_request(), send(ok(b"first")), expect_request(), close())
        retried = _retried_get(adapter, server)
    finally:
        server.close()
    assert retried == (RETRIES in adapter.agent_features), (
        f"{adapter.name} declares RETRIES: {RETRIES in adapter.agent_features}; it sent the GET again: {retried}")


def test_proxy_from_the_environment_is_not_used(adapter: WireAdapter, make_origin: Callable[[], Origin],
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    # The proxy variables point at a server of the test's: a session that used them would send
    # its request there instead of to the origin.
    origin, proxy = make_origin(), make_origin()
    origin.routes["/direct"] = ok(b"direct")
    for name in ("http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.setenv(name, proxy.url("/"))
    for name in ("no_proxy", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
    with _session(adapter) as session:
        response = _response(session.request("GET", origin.url("/direct")))
    assert response.body == b"direct"
    assert proxy.server.connections_opened() == 0, "the session used the proxy named by the environment"


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> TestPKI:
    return TestPKI(tmp_path_factory.mktemp("agent-pki"))


@pytest.mark.parametrize("trusted", [True, False], ids=["ca-given", "control-no-ca"])
def test_https_trusts_the_ca_given(adapter: WireAdapter, pki: TestPKI, trusted: bool) -> None:
    # The session trusts the TLSConfig's CA, and nothing else: without it, the test CA is unknown
    # (no CA bundle from the environment makes it known).
    # Without the CA the server does not judge the handshake: libcurl completes it, then checks the
    # certificate it received and closes.
    script = [serve({"/": ok(b"tls")})] if trusted else [handshake(succeeds=None)]
    server = ScriptedServer("127.0.0.1", tls=pki.server(CertKind.GOOD), every_connection=script)
    try:
        tls = TLSConfig(ca_file=str(Path(pki.ca_file))) if trusted else None
        with _session(adapter, tls=tls) as session:
            outcome = session.request("GET", f"https://localhost:{server.port}/")
        # The server's side of the handshake may still be ending after the client gave up.
        server.connections_opened()
        assert server.wait_idle(BOUND), "the server's connections did not end after the session closed"
    finally:
        server.close()
    if trusted:
        assert _response(outcome).body == b"tls"
    else:
        assert isinstance(outcome, Failure) and outcome.kind is ErrorKind.TLS, outcome


def test_redirect_loop_is_a_redirect_error(adapter: WireAdapter, make_origin: Callable[[], Origin]) -> None:
    origin = make_origin()
    origin.routes["/loop"] = redirect(302, "/loop")
    with _session(adapter) as session:
        outcome = session.request("GET", origin.url("/loop"))
    assert isinstance(outcome, Failure) and outcome.kind is ErrorKind.REDIRECT, outcome
    assert 1 < len(origin.requests) <= 50, f"{len(origin.requests)} requests before giving up"


@pytest.mark.parametrize("location", [
    pytest.param("http://[::1", id="bad-ipv6"),
    pytest.param("http://127.0.0.1:99999/", id="port-out-of-range"),
])
def test_bad_location_is_a_redirect_error(adapter: WireAdapter, make_origin: Callable[[], Origin],
                                          location: str) -> None:
    origin = make_origin()
    origin.routes["/bad"] = redirect(302, location)
    with _session(adapter) as session:
        outcome = session.request("GET", origin.url("/bad"))
    if isinstance(outcome, AgentResponse):
        pytest.skip(f"{adapter.name} hands over the 302 with Location {location!r} (the suite reports it)")
    if outcome.kind is ErrorKind.CLOSED:
        pytest.skip(f"{adapter.name} takes Location {location!r} and tries to connect: {outcome} (the suite reports it)")
    assert isinstance(outcome, Failure) and outcome.kind is ErrorKind.REDIRECT, outcome


def test_non_http_location_is_a_redirect_error(adapter: WireAdapter, make_origin: Callable[[], Origin]) -> None:
    origin = make_origin()
    origin.routes["/file"] = redirect(302, "file:///etc/hostname")
    with _session(adapter) as session:
        outcome = session.request("GET", origin.url("/file"))
    if isinstance(outcome, AgentResponse) and outcome.status == 302:
        pytest.skip(f"{adapter.name} hands over the 302 to a file: URL (the suite reports it)")
    assert isinstance(outcome, Failure) and outcome.kind is ErrorKind.REDIRECT, outcome


@pytest.mark.parametrize("coded, kind", [
    pytest.param(GZIPPED, None, id="control-whole"),
    pytest.param(GZIPPED[:10] + b"not deflate data" * 4, ErrorKind.DECODING, id="corrupt"),
])
def test_corrupt_gzip_is_a_decoding_error(adapter: WireAdapter, make_origin: Callable[[], Origin],
                                          coded: bytes, kind: ErrorKind | None) -> None:
    if DECODES["gzip"] not in adapter.agent_features:
        pytest.skip(f"{adapter.name} does not decode gzip")
    origin = make_origin()
    origin.routes["/z"] = ok(coded, extra=b"Content-Encoding: gzip\r\n")
    with _session(adapter) as session:
        outcome = session.request("GET", origin.url("/z"))
    if kind is None:
        assert _response(outcome).body == TEXT
    else:
        assert isinstance(outcome, Failure) and outcome.kind is kind, outcome


def test_agent_session_close_is_idempotent(adapter: WireAdapter) -> None:
    session = adapter.open_agent_session(timeout=1.0)
    session.close()
    session.close()
