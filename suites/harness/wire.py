"""The wire profile: one uniform face for every HTTP client.

An adapter turns a client into `request(method, url, headers, body) -> response or error kind`.
Wire scenarios assert on what the server received and on the outcome: a `Response` (status,
reason, headers, fully read body) or a `Failure` whose `kind` is one of a few error kinds the
adapter maps its client's exceptions onto, the way httpcore maps exceptions at its boundaries.
This module does not depend on pytest: third parties implement `WireAdapter` against it.
"""

from __future__ import annotations

import abc
import dis
import enum
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import TYPE_CHECKING

from h1conform.suites.harness.errors import HarnessError

if TYPE_CHECKING:
    from h1conform.suites.harness.agent import AgentSession

Headers = Sequence[tuple[str, str]]

# How long a client under test waits on the network before its own timeout fires. Scenarios that
# want a client's timeout set a short one themselves; this one only bounds a client waiting on a
# server, which a loaded machine can leave without its turn for seconds: generous, so that it never
# fires first. A server that really stalls meets the scenario deadline (a timeout, with a reason),
# which does not count the time a server's thread waits for its turn.
CLIENT_TIMEOUT = 30.0


class ErrorKind(enum.Enum):
    PROTOCOL = "protocol-error"  # the response broke HTTP's syntax or framing rules
    INCOMPLETE = "incomplete-message"  # the connection ended before the message did
    CLOSED = "connection-closed"  # closed or reset before any response
    TIMEOUT = "timeout"  # the client's own timeout expired
    TLS = "tls-failure"  # handshake or certificate verification failed
    INVALID_INPUT = "invalid-input"  # the request was refused before anything was sent
    # The agent profile's (suites/harness/agent.py): what a client acting as a user agent reports.
    REDIRECT = "redirect-refused"  # a redirect not followed: too many hops, a bad Location, another scheme
    DECODING = "decoding-error"  # a content coding that could not be decoded, or too many of them
    UNCLASSIFIED = "unclassified"  # an exception the adapter does not map: reported as such


class RemoteClientError(Exception):
    """A client's error as its driver process reported it (suites/harness/drivers.py): the wire
    profile's kind the driver mapped it to, the client's own name for it (an exception class, an
    error code) and its message, verbatim."""

    def __init__(self, kind: ErrorKind, type_name: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.type_name = type_name


def exception_name(exc: BaseException) -> str:
    """The name of `exc`'s type; for an error a driver reported, the client's own name for it."""
    return exc.type_name if isinstance(exc, RemoteClientError) else type(exc).__name__


class Unsupported(Exception):
    """Raised by an adapter for a request its client cannot express; the scenario is *unsupported*."""


class RefusedInput(Exception):
    """Raised by an adapter, from the client's exception, when the client refused the request
    before sending anything (a bad URL, method or header); classified as INVALID_INPUT if that
    exception is one of the adapter's `validation_errors` (see `proven_refusal`)."""


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
        return f"{self.kind.value}: {exception_name(self.exception)}: {self.exception}"


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
    # The client's own exception classes that mean "refused the request before sending it". Only
    # these make an INVALID_INPUT outcome: an adapter that declares none can never pass a refusal row.
    validation_errors: tuple[type[BaseException], ...] = ()
    # Why this adapter can run nothing here (a driver whose toolchain is missing): every wire
    # scenario is then unsupported with this reason. None: it can run.
    unavailable: str | None = None
    # The agent profile (suites/harness/agent.py): what the client does by itself as a user agent
    # (follows redirects, decodes content codings, keeps cookies, retries). Empty: it has no agent
    # mode, and every agent scenario is unsupported with the reason `no_agent_mode`.
    agent_features: frozenset[str] = frozenset()
    no_agent_mode = "its adapter has no agent mode"

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

    def open_agent_session(self, *, timeout: float, tls: TLSConfig | None = None) -> AgentSession:
        """A session of the client as an application uses it: its own defaults for redirects,
        retries, content decoding and cookies (see `agent_features`)."""
        raise Unsupported(f"{self.name}: {self.no_agent_mode}")

    def declares_refusal(self, exc: BaseException) -> bool:
        """Whether `exc` is one of the errors by which the client refuses a request before sending it."""
        return isinstance(exc, self.validation_errors)


class SessionHandle:
    """A session as scenarios see it: requests return outcomes instead of raising."""

    def __init__(self, adapter: WireAdapter, session: WireSession) -> None:
        self._adapter = adapter
        self._session = session

    @property
    def session(self) -> WireSession:
        """The adapter's session itself (the agent profile streams a body through it)."""
        return self._session

    def request(self, method: str, url: str, headers: Headers = (), body: bytes | None = None) -> Outcome:
        try:
            response = self._session.send(WireRequest(method, url, tuple(headers), body))
        except (Unsupported, HarnessError):
            raise  # the scenario is unsupported, or the harness broke (a driver process): never the client's failure
        except Exception as exc:
            return self.failure(exc)
        if not isinstance(response, Response):
            raise HarnessError(f"the {self._adapter.name} adapter is broken: its send() returned "
                               f"{type(response).__name__}, not a Response")
        return response

    def failure(self, exc: Exception) -> Failure:
        """The client's exception as an outcome: its kind as the adapter classifies it."""
        if isinstance(exc, RefusedInput):
            return Failure(ErrorKind.INVALID_INPUT, proven_refusal(self._adapter, exc.__cause__ or exc))
        try:
            kind = self._adapter.classify(exc)
        except Exception as broken:
            raise HarnessError(f"the {self._adapter.name} adapter is broken: classifying "
                               f"{type(exc).__name__} raised {type(broken).__name__}: {broken}") from broken
        if kind is ErrorKind.INVALID_INPUT:
            return Failure(kind, proven_refusal(self._adapter, exc))
        return Failure(kind or ErrorKind.UNCLASSIFIED, exc)

    def close(self) -> None:
        self._session.close()

    def __enter__(self) -> SessionHandle:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


# Exceptions that say a program is wrong (a call that does not fit, a name that is missing), not
# that a client checked its input: an adapter calling a release of its client it does not fit.
_PROGRAMMING_ERRORS = (TypeError, AttributeError, NameError, ImportError, AssertionError)
# Where the harness's and the built-in adapters' code lives: an exception raised there is theirs
# (as is one raised in the module of the adapter's class).
_HARNESS_PACKAGE = __name__.rpartition(".harness.")[0] + "."


def proven_refusal(adapter: WireAdapter, exc: BaseException) -> BaseException:
    """`exc`, if it proves that the client refused the request: one of the adapter's
    `validation_errors`, not a programming error, raised by the client's code rather than by the
    adapter's. Otherwise a HarnessError naming the adapter: a broken adapter (or a release of the
    client it does not fit) must never pass as a client that refuses bad input. Scenarios also
    check that the server received nothing."""
    if not adapter.declares_refusal(exc):
        # A client's wrapper around its own refusal (urllib3 around http.client's InvalidURL).
        exc = next((link for link in causes(exc) if adapter.declares_refusal(link)), exc)
    declared = adapter.declares_refusal(exc) and not isinstance(exc, _PROGRAMMING_ERRORS)
    # An error reported by a driver was raised in the client's own process, never by this one's code.
    origin = "" if isinstance(exc, RemoteClientError) else _raise_statement_in(exc)
    adapters_own = bool(origin) and (origin.startswith(_HARNESS_PACKAGE) or origin == type(adapter).__module__)
    if declared and not adapters_own:
        return exc
    if declared:
        why = f"raised by the adapter's own code ({origin})"
    elif isinstance(exc, _PROGRAMMING_ERRORS):
        why = "a programming error, never a client's refusal"
    else:
        why = ("not one of the client's validation errors the adapter declares "
               f"({', '.join(cls.__name__ for cls in adapter.validation_errors) or 'none'})")
    raise HarnessError(f"the {adapter.name} adapter failed, not its client: {exception_name(exc)}: {exc} is {why}; "
                       "the adapter or this release of its client cannot run this scenario") from exc


def _raise_statement_in(exc: BaseException) -> str:
    """The module whose `raise` statement raised `exc`; "" if C code raised it (a client's
    extension, as pycurl's setopt) or if it cannot be told.

    The innermost frame of the traceback is where the exception appeared: at a raise statement
    when Python code raised it, at a call when C code did (the calling frame is then the innermost).
    """
    frame_tb = exc.__traceback__
    while frame_tb is not None and frame_tb.tb_next is not None:
        frame_tb = frame_tb.tb_next
    if frame_tb is None:
        return ""
    code = frame_tb.tb_frame.f_code.co_code
    raised_here = 0 <= frame_tb.tb_lasti < len(code) and code[frame_tb.tb_lasti] in _RAISE_OPCODES
    return str(frame_tb.tb_frame.f_globals.get("__name__", "")) if raised_here else ""


_RAISE_OPCODES = frozenset(dis.opmap[name] for name in ("RAISE_VARARGS", "RERAISE") if name in dis.opmap)


def causes(exc: BaseException) -> Iterator[BaseException]:
    """`exc`, then every exception it wraps, depth first, each once.

    Clients wrap their causes in several ways: `raise ... from` (`__cause__`), raising inside an
    `except` block (`__context__`), or passing the cause as an argument or attribute (urllib3's
    `MaxRetryError.reason`, `ProtocolError("Connection aborted.", cause)`, aiohttp's `os_error`).
    """
    seen: set[int] = set()
    stack = [exc]
    while stack:
        current = stack.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        wrapped = [current.__cause__, current.__context__, getattr(current, "reason", None),
                   getattr(current, "os_error", None), *current.args]
        stack.extend(reversed([item for item in wrapped if isinstance(item, BaseException)]))


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
# The response's field lines are exposed in the order received, names as sent. A client that keeps
# fields in a map (Go's net/http, Java's HttpClient) has no order to give: scenarios then compare
# the fields as a multiset, by name without case.
FEATURE_FIELD_ORDER = "field-order"

# Every wire feature: what a client that can express everything declares.
EVERY_FEATURE = frozenset({FEATURE_CUSTOM_METHODS, FEATURE_DUPLICATE_HEADERS, FEATURE_REASON, FEATURE_VERSION,
                           FEATURE_TLS, FEATURE_CLIENT_CERT, FEATURE_PROXY, FEATURE_TUNNEL, FEATURE_PERSISTENT,
                           FEATURE_FIELD_ORDER})


def comparable_fields(fields: Sequence[tuple[str, str]], features: frozenset[str]) -> list[tuple[str, str]]:
    """`fields` as a scenario compares them with what a client exposed: as they are for a client
    that keeps their order (`FEATURE_FIELD_ORDER`); else sorted, names in lower case."""
    if FEATURE_FIELD_ORDER in features:
        return list(fields)
    return sorted((name.lower(), value) for name, value in fields)
