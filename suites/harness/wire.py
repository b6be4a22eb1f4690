"""The wire profile: one uniform face for every HTTP client.

An adapter turns a client into `request(method, url, headers, body) -> response or error kind`.
Wire scenarios assert on what the server received and on the outcome: a `Response` (status,
reason, headers, fully read body) or a `Failure` whose `kind` is one of a few error kinds the
adapter maps its client's exceptions onto, the way httpcore maps exceptions at its boundaries.
This module does not depend on pytest: third parties implement `WireAdapter` against it.
"""

from __future__ import annotations

import abc
import enum
from collections.abc import Sequence
from dataclasses import dataclass, field
from types import TracebackType

Headers = Sequence[tuple[str, str]]


class ErrorKind(enum.Enum):
    PROTOCOL = "protocol-error"  # the response broke HTTP's syntax or framing rules
    INCOMPLETE = "incomplete-message"  # the connection ended before the message did
    CLOSED = "connection-closed"  # closed or reset before any response
    TIMEOUT = "timeout"  # the client's own timeout expired
    TLS = "tls-failure"  # handshake or certificate verification failed
    INVALID_INPUT = "invalid-input"  # the request was refused before anything was sent
    UNCLASSIFIED = "unclassified"  # an exception the adapter does not map: reported as such


class Unsupported(Exception):
    """Raised by an adapter for a request its client cannot express; the scenario is *unsupported*."""


class RefusedInput(Exception):
    """Raised by an adapter, from the client's exception, when the client refused the request
    before sending anything (a bad URL, method or header); classified as INVALID_INPUT."""


@dataclass(frozen=True)
class TLSConfig:
    """How a session verifies servers and authenticates itself over HTTPS; each adapter passes these
    settings to its client the client's own way (an SSLContext, `verify=`, a CA bundle option...)."""

    ca_file: str | None = None  # PEM file of the CAs to trust; None: the client's default trust store
    client_cert: str | None = None  # PEM file with the client's certificate chain and key (mutual TLS)
    check_hostname: bool = True  # False only where a scenario checks what happens without it


@dataclass(frozen=True)
class WireRequest:
    method: str
    url: str
    headers: Headers = ()
    body: bytes | None = None


@dataclass(frozen=True)
class Response:
    status: int
    reason: str
    headers: list[tuple[str, str]]
    body: bytes
    version: str | None = None  # "HTTP/1.1" when the client exposes it

    def header_values(self, name: str) -> list[str]:
        return [value for key, value in self.headers if key.lower() == name.lower()]


@dataclass(frozen=True)
class Failure:
    kind: ErrorKind
    exception: BaseException = field(compare=False)

    def __str__(self) -> str:
        return f"{self.kind.value}: {type(self.exception).__name__}: {self.exception}"


Outcome = Response | Failure


def expect_response(outcome: Outcome) -> Response:
    """The response, or an assertion error saying how the client failed instead."""
    if isinstance(outcome, Failure):
        raise AssertionError(f"expected a response, the client failed with {outcome}")
    return outcome


def expect_failure(outcome: Outcome, *kinds: ErrorKind) -> Failure:
    """The failure, which must be of one of `kinds`; an assertion error otherwise."""
    wanted = " or ".join(kind.value for kind in kinds)
    if isinstance(outcome, Response):
        raise AssertionError(f"expected {wanted}, the client accepted the response: status "
                             f"{outcome.status}, headers {outcome.headers}, body {outcome.body[:200]!r}")
    if outcome.kind not in kinds:
        raise AssertionError(f"expected {wanted}, the client failed with {outcome}")
    return outcome


@dataclass(frozen=True)
class Expected:
    """The outcomes a table row accepts: a response with one of `bodies`, or a failure of one of `kinds`.

    Where an RFC allows two behaviours (identical Content-Length values MAY be collapsed, so "5, 5"
    gives the body or an error), a row lists both and either passes.
    """

    bodies: tuple[bytes, ...] = ()
    kinds: tuple[ErrorKind, ...] = ()

    def describe(self) -> str:
        parts = [f"a response with body {' or '.join(repr(b) for b in self.bodies)}"] if self.bodies else []
        parts += [f"a failure of kind {' or '.join(k.value for k in self.kinds)}"] if self.kinds else []
        return " or ".join(parts)


def body(*bodies: bytes, or_fails: tuple[ErrorKind, ...] = ()) -> Expected:
    """Accept a response with one of these bodies (or, with `or_fails`, those failures)."""
    return Expected(bodies, or_fails)


def fails(*kinds: ErrorKind) -> Expected:
    """Accept only a failure of one of these kinds."""
    return Expected((), kinds)


def check(outcome: Outcome, expected: Expected, rule: str, sent: bytes) -> None:
    """Assert that `outcome` is one `expected` accepts; the message quotes the rule and what was sent."""
    shown = sent if len(sent) <= 160 else sent[:160] + b"..."
    if isinstance(outcome, Response):
        if not expected.bodies:
            raise AssertionError(f"{rule}\nexpected {expected.describe()}, but the client accepted the "
                                 f"response: status {outcome.status}, body {outcome.body[:200]!r}\nsent: {shown!r}")
        if outcome.body not in expected.bodies:
            raise AssertionError(f"{rule}\nexpected {expected.describe()}, got body {outcome.body[:200]!r}\n"
                                 f"sent: {shown!r}")
        return
    if outcome.kind not in expected.kinds:
        raise AssertionError(f"{rule}\nexpected {expected.describe()}, the client failed with {outcome}\n"
                             f"sent: {shown!r}")


class WireSession(abc.ABC):
    """A client session: requests made through it may share (reuse) connections."""

    @abc.abstractmethod
    def send(self, request: WireRequest) -> Response:
        """Perform the request, read the whole response, return it; raise the client's exceptions."""

    @abc.abstractmethod
    def close(self) -> None:
        """Release every connection of the session."""


class WireAdapter(abc.ABC):
    """Makes one HTTP client usable by wire scenarios."""

    name: str = "adapter"
    # Wire features this client can express; scenarios that need others are *unsupported*.
    features: frozenset[str] = frozenset()

    @abc.abstractmethod
    def open_session(self, *, timeout: float, tls: TLSConfig | None = None, proxy: str | None = None) -> WireSession:
        """A new session whose network operations give up after `timeout` seconds.

        `tls` configures HTTPS (None: the client's defaults). `proxy` ("http://host:port") sends
        every request through that proxy: http URLs in absolute form, https URLs through a CONNECT
        tunnel. An adapter whose client cannot honour either raises Unsupported.
        """

    @abc.abstractmethod
    def classify(self, exc: BaseException) -> ErrorKind | None:
        """The error kind for one of the client's exceptions; None if it is not the client's."""


class SessionHandle:
    """A session as scenarios see it: requests return outcomes instead of raising."""

    def __init__(self, adapter: WireAdapter, session: WireSession) -> None:
        self._adapter = adapter
        self._session = session

    def request(self, method: str, url: str, headers: Headers = (), body: bytes | None = None) -> Outcome:
        try:
            return self._session.send(WireRequest(method, url, tuple(headers), body))
        except Unsupported:
            raise
        except RefusedInput as refused:
            return Failure(ErrorKind.INVALID_INPUT, refused.__cause__ or refused)
        except Exception as exc:
            kind = self._adapter.classify(exc)
            return Failure(kind or ErrorKind.UNCLASSIFIED, exc)

    def close(self) -> None:
        self._session.close()

    def __enter__(self) -> SessionHandle:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


# Feature names adapters declare (see WireAdapter.features).
FEATURE_CUSTOM_METHODS = "custom-methods"  # any token as a method
FEATURE_DUPLICATE_HEADERS = "duplicate-headers"  # the same field name sent twice
FEATURE_REASON = "reason-phrase"  # the reason phrase is exposed
FEATURE_VERSION = "response-version"  # the response's HTTP version is exposed
FEATURE_TLS = "tls"  # https URLs, with TLSConfig's CA file and hostname check honoured
FEATURE_CLIENT_CERT = "client-certificate"  # TLSConfig.client_cert presented for mutual TLS
FEATURE_PROXY = "forward-proxy"  # http URLs through a proxy, in absolute form
FEATURE_TUNNEL = "connect-tunnel"  # https URLs through a proxy, in a CONNECT tunnel
FEATURE_PERSISTENT = "persistent-connections"  # requests of a session can share a connection (RFC 9112 9.3)
