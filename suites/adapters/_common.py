"""What the client adapters share: exception-chain walking, the stdlib's exception kinds, header
lists, URL pieces and TLS contexts. Nothing here knows a third-party client.
"""

from __future__ import annotations

import http.client
from collections.abc import Callable
from typing import Any

from h1conform.suites.harness.agent import DECODES, AgentSession
from h1conform.suites.harness.api_adapter import HTTPClientAPIAdapter, split_url, ssl_context
from h1conform.suites.harness.wire import (
    EVERY_FEATURE,
    ErrorKind,
    Headers,
    TLSConfig,
    Unsupported,
    WireAdapter,
    WireRequest,
    WireSession,
    causes,
)

__all__ = ["EVERY_FEATURE", "STDLIB_VALIDATION_ERRORS", "ClientAdapter", "causes", "classify_chain", "close_leftovers",
           "decoded_codings", "find_cause", "has_duplicate_names", "http_version", "no_duplicates", "raised_in", "refused_location",
           "split_url", "ssl_context", "stdlib_kind"]

# http.client's exceptions, socket timeouts, ssl errors and resets, as the http.client-API adapter
# maps them: most clients end up raising (or wrapping) one of these.
_STDLIB = HTTPClientAPIAdapter(http.client, "stdlib")
# http.client's own refusals (ValueError, InvalidURL), for clients that build requests with it.
STDLIB_VALIDATION_ERRORS = _STDLIB.validation_errors

Classifier = Callable[[BaseException], ErrorKind | None]
SessionFactory = Callable[[float, TLSConfig | None, str | None], WireSession]
AgentSessionFactory = Callable[[float, TLSConfig | None], AgentSession]


def _unknown(exc: BaseException) -> ErrorKind | None:
    return None


class ClientAdapter(WireAdapter):
    """A built-in adapter: sessions made by `session(timeout, tls, proxy)`, agent sessions by
    `agent_session(timeout, tls)` (None: no agent mode), and exceptions classified along their
    chain by `classify_chain(exc, kind, fallback)`. Subclasses set `name`, `features` and
    `agent_features`."""

    def __init__(self, session: SessionFactory, kind: Classifier = _unknown, fallback: Classifier = _unknown,
                 agent_session: AgentSessionFactory | None = None) -> None:
        self._session = session
        self._kind = kind
        self._fallback = fallback
        self._agent_session = agent_session

    def open_session(self, *, timeout: float, tls: TLSConfig | None = None, proxy: str | None = None) -> WireSession:
        return self._session(timeout, tls, proxy)

    def open_agent_session(self, *, timeout: float, tls: TLSConfig | None = None) -> AgentSession:
        if self._agent_session is None:
            return super().open_agent_session(timeout=timeout, tls=tls)
        return self._agent_session(timeout, tls)

    def classify(self, exc: BaseException) -> ErrorKind | None:
        if any(getattr(link, _FROM_LOCATION, False) for link in causes(exc)):
            return ErrorKind.REDIRECT
        return classify_chain(exc, self._kind, self._fallback)


# Set by an agent session on a client's refusal of a URL that came from a Location (see refused_location).
_FROM_LOCATION = "h1conform_from_location"


def raised_in(exc: BaseException) -> str:
    """The name of the module whose code raised `exc` (its traceback's innermost frame); "" if unknown."""
    frame_tb = exc.__traceback__
    while frame_tb is not None and frame_tb.tb_next is not None:
        frame_tb = frame_tb.tb_next
    return str(frame_tb.tb_frame.f_globals.get("__name__", "")) if frame_tb is not None else ""


def refused_location(exc: BaseException) -> None:
    """Mark `exc`, a client's refusal of a URL (malformed, or of a scheme it does not speak), as a
    refusal of the Location of a redirect it received: ErrorKind.REDIRECT, not INVALID_INPUT (which
    says the request itself was refused before anything was sent). Only an agent session that saw
    the redirect response arrive calls it; clients whose redirect errors have classes of their own
    (aiohttp's RedirectClientError) need no mark."""
    setattr(exc, _FROM_LOCATION, True)


def find_cause(exc: BaseException, kind: type[BaseException] | tuple[type[BaseException], ...]) -> BaseException | None:
    """The first exception of the chain (see `causes`) that is an instance of `kind`."""
    return next((link for link in causes(exc) if isinstance(link, kind)), None)


def stdlib_kind(exc: BaseException) -> ErrorKind | None:
    """The kind of one stdlib exception (http.client's classes, timeouts, ssl errors, resets)."""
    return _STDLIB.classify(exc)


def classify_chain(exc: BaseException, specific: Classifier, fallback: Classifier = _unknown) -> ErrorKind | None:
    """The kind of the first exception of the chain that `specific` (the client's precise classes)
    or `stdlib_kind` knows; else what `fallback` (the client's generic wrapper classes) says of the
    innermost wrapper it knows, the closest to the cause."""
    chain = list(causes(exc))
    for link in chain:
        kind = specific(link) or stdlib_kind(link)
        if kind is not None:
            return kind
    return next((kind for kind in map(fallback, reversed(chain)) if kind is not None), None)


def close_leftovers(exc: BaseException, kinds: tuple[type[Any], ...]) -> None:
    """Close every object of `kinds` that the frames of the chain's tracebacks still hold.

    For a client that, on some errors, drops an open object instead of closing it: urllib3 2.8
    leaves open the http.client response whose Content-Length it rejects (its socket is "closed"
    but its file still holds the descriptor). Left alone, the descriptor would be reported as a
    ResourceWarning whenever the exception is collected, in whatever scenario runs then.
    """
    for link in causes(exc):
        frame_tb = link.__traceback__
        while frame_tb is not None:
            for value in list(frame_tb.tb_frame.f_locals.values()):
                if isinstance(value, kinds):
                    value.close()
            frame_tb = frame_tb.tb_next


def has_duplicate_names(headers: Headers) -> bool:
    names = [name.lower() for name, _ in headers]
    return len(names) != len(set(names))


def no_duplicates(request: WireRequest, client: str) -> None:
    """Raise Unsupported for a request that repeats a header name: the client keeps headers in a
    mapping and cannot send the same name twice."""
    if has_duplicate_names(request.headers):
        raise Unsupported(f"{client} keeps request headers in a mapping: it cannot send a field name twice")


def decoded_codings(accept_encoding: str) -> frozenset[str]:
    """The agent features (DECODES_...) of the content codings a client advertises in its
    Accept-Encoding ("gzip, deflate, br"): what it decodes, optional codecs included or not."""
    offered = {coding.split(";", 1)[0].strip().lower() for coding in accept_encoding.split(",")}
    return frozenset(feature for coding, feature in DECODES.items() if coding in offered)


def http_version(number: object) -> str | None:
    """"HTTP/1.1" for http.client's 11 (or aiohttp's HttpVersion(1, 1)); None if unknown."""
    if isinstance(number, tuple) and len(number) == 2:
        return f"HTTP/{number[0]}.{number[1]}"
    return {9: "HTTP/0.9", 10: "HTTP/1.0", 11: "HTTP/1.1"}.get(number) if isinstance(number, int) else None
