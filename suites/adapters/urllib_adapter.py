"""Wire adapter for urllib.request (`--impl=urllib`): one `OpenerDirector` per session.

The opener is built by hand from urllib's own handlers: a `ProxyHandler` with the session's proxy
only (an empty one otherwise: no proxy from the environment), `HTTPHandler`, `HTTPSHandler` with the
session's `ssl.SSLContext`, and `UnknownHandler`. Without `HTTPRedirectHandler` and
`HTTPErrorProcessor`, every status comes back as a response (no redirect followed, no HTTPError
raised for 4xx/5xx). urllib.request opens a connection per request and asks for `Connection: close`:
keep-alive scenarios show that. Request headers are a dict keyed by `str.capitalize()`d names, so a
field name given twice cannot be sent (Unsupported).

Agent mode (the agent profile): the opener an application gets from `build_opener()`, with its
default handlers (redirects followed by HTTPRedirectHandler: at most 10, the same URL at most 4
times; to http, https and ftp URLs only; a POST turned into GET on 301, 302 and 303; other
methods and 307/308 of a POST not followed: the 3xx is the answer), plus `HTTPCookieProcessor`
with a `CookieJar`: urllib.request's own cookie handling, which an application switches on with
that one handler (RFC 6265 state management is what the profile checks, and the stdlib has it).
Three defaults are replaced: `ProxyHandler({})` (no proxy from the environment), `HTTPSHandler`
with the scenario's CA, and no response is raised as an exception to the scenario: an
`HTTPError` (a 4xx, 5xx, or a 3xx not followed) is the response it carries, as an application
reads it; only HTTPRedirectHandler's refusals (a loop, too many hops, a scheme it does not
follow) are failures. urllib.request decodes no content coding (http.client sends
`Accept-Encoding: identity`) and retries nothing. A handler that only watches responses notes
whether a redirect came, so that a URL refused after one is classified as a refused redirect.
`stream()` is `response.read(chunk_size)` in a loop.
"""

from __future__ import annotations

import http.client
import http.cookiejar
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from typing import Any

from h1conform.suites.adapters._common import (
    EVERY_FEATURE,
    STDLIB_VALIDATION_ERRORS,
    ClientAdapter,
    close_leftovers,
    http_version,
    no_duplicates,
    refused_location,
    ssl_context,
)
from h1conform.suites.harness.agent import COOKIE_JAR, FOLLOWS_REDIRECTS, AgentResponse, AgentSession
from h1conform.suites.harness.wire import (
    FEATURE_DUPLICATE_HEADERS,
    FEATURE_PERSISTENT,
    ErrorKind,
    RefusedInput,
    Response,
    TLSConfig,
    WireRequest,
    WireSession,
)


class _Session(WireSession):
    def __init__(self, timeout: float, tls: TLSConfig | None, proxy: str | None) -> None:
        self._timeout = timeout
        self._opener = urllib.request.OpenerDirector()
        proxies = {"http": proxy, "https": proxy} if proxy is not None else {}
        for handler in (urllib.request.ProxyHandler(proxies), urllib.request.UnknownHandler(),
                        urllib.request.HTTPHandler(), urllib.request.HTTPSHandler(context=ssl_context(tls))):
            self._opener.add_handler(handler)

    def send(self, request: WireRequest) -> Response:
        no_duplicates(request, "urllib.request")
        try:
            prepared = urllib.request.Request(request.url, data=request.body, headers=dict(request.headers),
                                              method=request.method)
        except ValueError as refused:
            raise RefusedInput(str(refused)) from refused
        try:
            response = self._opener.open(prepared, timeout=self._timeout)
        except ValueError as refused:
            # http.client's checks of the URL (InvalidURL), method and header fields, made while
            # building the request line and header section, before any byte is sent.
            raise RefusedInput(str(refused)) from refused
        except urllib.error.URLError as error:
            if isinstance(error.reason, str) and error.reason.startswith("unknown url type"):
                raise RefusedInput(error.reason) from error
            raise
        with response:
            body = response.read()
        return Response(response.status, response.reason, list(response.headers.items()), body,
                        http_version(response.version))

    def close(self) -> None:
        self._opener.close()


class _RedirectWatch(urllib.request.BaseHandler):
    """Watches the responses going through the opener (before HTTPErrorProcessor hands a 3xx to
    HTTPRedirectHandler) and notes whether a redirect came."""

    def __init__(self) -> None:
        self.redirected = False

    def http_response(self, request: urllib.request.Request, response: Any) -> Any:
        self.redirected = self.redirected or response.status in _REDIRECTS
        return response

    https_response = http_response


_REDIRECTS = frozenset({301, 302, 303, 307, 308})
# HTTPRedirectHandler's refusals are HTTPErrors carrying the 3xx, their message changed to say why.
_REFUSED_REDIRECT = (urllib.request.HTTPRedirectHandler.inf_msg, "is not allowed")


class _AgentSession(AgentSession):
    """build_opener()'s opener with a cookie jar (see the module's docstring)."""

    def __init__(self, timeout: float, tls: TLSConfig | None) -> None:
        self._timeout = timeout
        self._watch = _RedirectWatch()
        self._opener = urllib.request.build_opener(
            urllib.request.ProxyHandler({}), urllib.request.HTTPSHandler(context=ssl_context(tls)),
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()), self._watch)

    def _open(self, request: WireRequest) -> Any:
        """The response, or the HTTPError that carries it."""
        no_duplicates(request, "urllib.request")
        self._watch.redirected = False
        try:
            prepared = urllib.request.Request(request.url, data=request.body, headers=dict(request.headers),
                                              method=request.method)
            return self._opener.open(prepared, timeout=self._timeout)
        except urllib.error.HTTPError as error:
            if error.code in _REDIRECTS and any(why in str(error.reason) for why in _REFUSED_REDIRECT):
                error.close()
                refused_location(error)
                raise
            return error
        except BaseException as exc:
            # A Location urllib.parse or http.client could not take, or of a scheme no handler has.
            if self._watch.redirected and (isinstance(exc, ValueError) or (
                    isinstance(exc, urllib.error.URLError) and "unknown url type" in str(exc.reason))):
                refused_location(exc)
            # HTTPRedirectHandler leaves the redirect's response open when the Location it read fails.
            close_leftovers(exc, (http.client.HTTPResponse,))
            raise

    def send(self, request: WireRequest) -> AgentResponse:
        with self._open(request) as response:
            body = response.read()
        return AgentResponse(response.status, response.reason, list(response.headers.items()), body,
                             http_version(getattr(response, "version", getattr(response.fp, "version", None))),
                             url=response.geturl())

    @contextmanager
    def stream(self, request: WireRequest, chunk_size: int) -> Iterator[Iterator[bytes]]:
        with self._open(request) as response:
            yield iter(partial(response.read, chunk_size), b"")

    def close(self) -> None:
        self._opener.close()


def _fallback(exc: BaseException) -> ErrorKind | None:
    # A URLError whose reason told nothing more precise (a refused connection...).
    return ErrorKind.CLOSED if isinstance(exc, urllib.error.URLError) else None


class UrllibAdapter(ClientAdapter):
    name = "urllib"
    # Not FEATURE_DUPLICATE_HEADERS: request headers are a dict.
    # urllib.request sends "Connection: close" with every request (RFC9112-9.3-p4-s1 lets a client
    # that does not keep connections do so): scenarios that need a reused connection are unsupported.
    features = EVERY_FEATURE - {FEATURE_DUPLICATE_HEADERS, FEATURE_PERSISTENT}
    # urllib.request's and http.client's checks of the URL, method and fields (ValueError,
    # InvalidURL), and the URLError it raises for a URL of unknown type (only that one is refused).
    validation_errors = (*STDLIB_VALIDATION_ERRORS, urllib.error.URLError)


    # No DECODES_...: urllib.request decodes no content coding. No RETRIES: it repeats nothing.
    agent_features = frozenset({FOLLOWS_REDIRECTS, COOKIE_JAR})


WIRE_ADAPTER = UrllibAdapter(_Session, fallback=_fallback, agent_session=_AgentSession)
