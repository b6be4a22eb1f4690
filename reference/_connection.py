"""HTTPConnection and HTTPSConnection: http.client's connection API, sending what RFC 9112 allows.

The state machine is http.client's: a connection is *idle*, then *request-started* after
putrequest(), then *request-sent* after endheaders(), and idle again once getresponse() has read
the response head. Out-of-order calls raise the same exceptions (CannotSendRequest,
CannotSendHeader, ResponseNotReady), and the automatic fields and body framing are the ones
http.client chooses. Where http.client would send something RFC 9110 / RFC 9112 forbid, the
reference refuses or sends the correct form instead; `reference/CHOICES.md` lists each case.
"""

from __future__ import annotations

import errno
import os
import select
import socket
import ssl
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Protocol

from ._constants import HTTP_PORT, HTTPS_PORT
from ._errors import CannotSendHeader, CannotSendRequest, IncompleteRead, NotConnected, ResponseNotReady
from ._headers import HTTPMessage
from ._request import (
    LAST_CHUNK,
    Body,
    FieldValue,
    absolute_form_host,
    body_pieces,
    check_method,
    check_no_ctl,
    chunk,
    content_length,
    encode_str_body,
    field_line,
    host_field,
    is_file,
    read_blocks,
    request_target,
    split_host_port,
)
from ._response import HTTPResponse

if TYPE_CHECKING:
    from collections.abc import Buffer

# The sentinel socket.create_connection() understands as "the global default timeout" (callers
# such as urllib pass this very object, so it must be the same one).
_DEFAULT_TIMEOUT: float | None = socket._GLOBAL_DEFAULT_TIMEOUT  # type: ignore[attr-defined]

# The connection states, with http.client's names (they are the exceptions' arguments).
_IDLE = "Idle"
_REQ_STARTED = "Request-started"
_REQ_SENT = "Request-sent"


class HeaderItems(Protocol):
    """What request(headers=...) takes: a mapping of names to values, or anything iterable over
    the names with an items() method (so that a name can be given twice)."""

    def __iter__(self) -> Iterator[str | bytes]: ...

    def items(self) -> Iterable[tuple[str | bytes, FieldValue]]: ...


def _is_host_line(line: bytes) -> bool:
    # Names are checked tokens, so a line is a Host field exactly when it starts with "host:".
    return line[:5].lower() == b"host:"


def _asks_to_close(lines: list[bytes]) -> bool:
    """True if the field lines carry the "close" connection option (RFC 9110 7.6.1: a token list)."""
    return any(option.strip(b" \t").lower() == b"close"
               for line in lines if line[:11].lower() == b"connection:"
               for option in line[11:].split(b","))


class HTTPConnection:
    """One HTTP/1.1 connection to `host`:`port`, opened on the first request and kept alive.

    `host` may carry the port ("example.org:8080", "[::1]:8080"); `timeout` applies to connecting
    and to every socket operation; `source_address` is the (host, port) to connect from;
    `blocksize` is how much of a file body is read (and sent) at a time.
    """

    response_class: type[HTTPResponse] = HTTPResponse
    default_port: int = HTTP_PORT
    auto_open: int = 1  # 0: raise NotConnected instead of connecting when sending
    debuglevel: int = 0

    def __init__(self, host: str, port: int | None = None, timeout: float | None = _DEFAULT_TIMEOUT,
                 source_address: tuple[str, int] | None = None, blocksize: int = 8192) -> None:
        self.timeout = timeout
        self.source_address = source_address
        self.blocksize = blocksize
        self.sock: socket.socket | None = None
        # The seams that test doubles, recorders and subclasses use, as http.client has them: the
        # function that opens the socket, and the list of the request's lines (the request line,
        # then one element per field line) until it is sent.
        self._create_connection: Callable[..., socket.socket] = socket.create_connection
        self._buffer: list[bytes] = []
        self.host, self.port = split_host_port(host, port, self.default_port)
        self._validate_host(self.host)  # CVE-2019-18348: no CR, LF or SP smuggled in through the host
        self._state = _IDLE
        # After a failed getresponse() the socket is closed but stays in `sock` (where http.client
        # leaves it, and where callers look); the next send opens a new connection.
        self._sock_closed = False
        self._response: HTTPResponse | None = None  # the last response, while it is being read
        self._sent_close = False  # the request in flight carried the "close" connection option
        self._body_cut = False  # the request in flight was cut short by an early closing response
        self._server_is_http10 = False  # the last response came as HTTP/1.0: no chunked requests
        self._method: str | None = None
        self._tunnel_host: str | None = None
        self._tunnel_port: int | None = None
        self._tunnel_headers: dict[str, str] = {}  # the CONNECT request's fields, Host included
        self._proxy_headers: HTTPMessage | None = None

    # -- connecting ----------------------------------------------------------------------------

    def set_debuglevel(self, level: int) -> None:
        """Print what is sent and received when `level` > 0."""
        self.debuglevel = level

    def set_tunnel(self, host: str, port: int | None = None, headers: Mapping[str, str] | None = None) -> None:
        """Reach `host`:`port` through the proxy this connection was made for, with HTTP CONNECT.

        `headers` are sent with the CONNECT request only (e.g. Proxy-Authorization); a Host field
        `host:port` is added unless given. Must be called before the connection is opened.
        """
        if self.sock:
            raise RuntimeError("Can't set up tunnel for established connection")
        host, port = split_host_port(host, port, self.default_port)
        # CVE-2026-1502: the tunnel host goes into the CONNECT request line and its Host field.
        self._validate_host(host)
        tunnel_headers = dict(headers or {})
        for name, value in tunnel_headers.items():
            field_line(name, (value,))  # refused now, not when the CONNECT is sent
        if not any(name.lower() == "host" for name in tunnel_headers):
            # RFC 9110 9.3.6: "There is no default port; a client MUST send the port number".
            tunnel_headers["Host"] = host_field(host, port, None).decode("ascii")
        self._tunnel_host, self._tunnel_port, self._tunnel_headers = host, port, tunnel_headers

    def get_proxy_response_headers(self) -> HTTPMessage | None:
        """The header fields of the proxy's response to CONNECT; None if no CONNECT was sent."""
        return self._proxy_headers

    def connect(self) -> None:
        """Open the connection (and the tunnel, if set_tunnel() was called)."""
        sys.audit("http.client.connect", self, self.host, self.port)
        self.sock = self._create_connection((self.host, self.port), self.timeout, self.source_address)
        self._sock_closed = False
        try:
            # Requests are sent whole, so Nagle's delay would only slow them down.
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError as exc:
            if exc.errno != errno.ENOPROTOOPT:
                self.close()
                raise
        if self._tunnel_host:
            self._tunnel()

    def _tunnel(self) -> None:
        assert self._tunnel_host is not None and self._tunnel_port is not None
        # RFC 9112 3.2.3: "When making a CONNECT request to establish a tunnel through one or more
        # proxies, a client MUST send only the host and port of the tunnel destination as the
        # request-target" (authority-form), and RFC 9110 9.3.6: always with the port.
        target = host_field(self._tunnel_host, self._tunnel_port, None)
        # Host first (RFC 9110 7.2), and the whole CONNECT request in one send.
        fields = sorted((field_line(name, (value,)) for name, value in self._tunnel_headers.items()),
                        key=lambda line: not _is_host_line(line))
        self.send(b"\r\n".join([b"CONNECT " + target + b" HTTP/1.1", *fields, b"", b""]))
        response = self._new_response("CONNECT")
        try:
            response.begin()
            self._proxy_headers = response.msg
            if response._head_cut:
                raise IncompleteRead(b"")  # RFC 9112 8: an incomplete reply is no reply
            # RFC 9110 9.3.6: "Any 2xx (Successful) response indicates that the sender (and all
            # inbound proxies) will switch to tunnel mode" (stdlib accepts only 200).
            if not 200 <= int(response.status) < 300:
                raise OSError(f"Tunnel connection failed: {response.status} {response.reason.strip()}")
        except BaseException:
            self.close()  # half a tunnel is no connection
            raise
        finally:
            response.close()

    def close(self) -> None:
        """Close the connection; a response being read keeps its own hold on the socket."""
        self._state = _IDLE
        del self._buffer[:]  # in place: a caller's own list stays the connection's
        self._sock_closed = False
        sock, self.sock = self.sock, None
        response, self._response = self._response, None
        try:
            if sock is not None:
                sock.close()
        finally:
            if response is not None:
                response.close()

    # -- sending -------------------------------------------------------------------------------

    def send(self, data: Body) -> None:
        """Send `data` as is: bytes-like, a file (read blocksize at a time), or an iterable of bytes."""
        if self.sock is None or self._sock_closed:
            if not self.auto_open:
                raise NotConnected()
            self.connect()
        sock = self.sock
        assert sock is not None
        if self.debuglevel > 0:
            print("send:", repr(data))
        if is_file(data):
            for block in read_blocks(data, self.blocksize, "sending a readable" if self.debuglevel > 0 else None):
                sys.audit("http.client.send", self, block)
                sock.sendall(block)
            return
        if isinstance(data, str) or data is None:
            raise TypeError(f"data should be a bytes-like object or an iterable, got {type(data)!r}")
        try:
            memoryview(data)  # type: ignore[arg-type]
        except TypeError:
            if not isinstance(data, Iterable):
                raise TypeError(f"data should be a bytes-like object or an iterable, got {type(data)!r}") from None
            for item in data:
                sys.audit("http.client.send", self, item)
                sock.sendall(item)
            return
        sys.audit("http.client.send", self, data)
        _send_all(sock, data)  # type: ignore[arg-type]

    def putrequest(self, method: str, url: str, skip_host: bool = False, skip_accept_encoding: bool = False) -> None:
        """Start a request: `method url HTTP/1.1`, then Host and Accept-Encoding: identity unless skipped.

        Raises ValueError for a method that is not a token and InvalidURL for a URL with a control
        character or space, an http(s) URL without a host, or "*" with another method than OPTIONS,
        before anything changes. Userinfo in an http(s) URL is not sent (RFC 9110 4.2.4).
        """
        if self._response is not None and self._response.isclosed():
            self._response = None  # the previous response was read: forget it
        if self._state != _IDLE:
            raise CannotSendRequest(self._state)
        self._validate_method(method)
        url = url or "/"
        self._validate_path(url)
        target = request_target(method, url)
        request_line = self._encode_request(f"{method} {target} HTTP/1.1")
        fields = []
        if not skip_host:
            fields.append(b"Host: " + self._host_value(method, target))
        if not skip_accept_encoding:
            # http.client does not decode content codings, so it asks for none.
            fields.append(b"Accept-Encoding: identity")
        self._state = _REQ_STARTED
        self._method = method
        del self._buffer[:]
        for line in (request_line, *fields):
            self._output(line)

    # The checks and the encoding of putrequest(), as overridable methods: http.client's seams
    # (bpo-38216, bpo-36274), which subclasses use to send what the checks would refuse.

    def _validate_method(self, method: str) -> None:
        """ValueError unless `method` is a token (RFC 9110 9.1)."""
        check_method(method)

    def _validate_path(self, url: str) -> None:
        """InvalidURL if `url` holds a control character, SP or DEL (CVE-2019-9740)."""
        check_no_ctl(url)

    def _validate_host(self, host: str) -> None:
        """InvalidURL if `host` holds a control character, SP or DEL (CVE-2019-18348)."""
        check_no_ctl(host)

    def _encode_request(self, request: str) -> bytes:
        """The request line as bytes: ASCII, which also keeps CVE-2019-9740's characters out."""
        return request.encode("ascii")

    def _output(self, line: bytes) -> None:
        """Add a line (the request line or a field line) to the request being built."""
        self._buffer.append(line)

    def _host_value(self, method: str, target: str) -> bytes:
        # RFC 9112 3.2: "A client MUST send a Host header field in all HTTP/1.1 request messages";
        # "identical to that authority component" of the target URI: for an absolute-form target,
        # its authority without userinfo; for CONNECT's authority-form, the target itself.
        if method == "CONNECT" and not target.startswith("/") and "://" not in target:
            return target.encode("ascii")
        authority = absolute_form_host(target)
        if authority is not None:
            return authority
        if self._tunnel_host is not None and self._tunnel_port is not None:
            return host_field(self._tunnel_host, self._tunnel_port, self.default_port)
        return host_field(self.host, self.port, self.default_port)

    def putheader(self, header: str | bytes, *values: FieldValue) -> None:
        """Add the field `header: values` to the request (several values are sent as one list).

        Raises ValueError for a name that is not a token or a value with CR, LF, NUL or another
        control character (RFC 9110 5.1, 5.5).
        """
        if self._state != _REQ_STARTED:
            raise CannotSendHeader()
        self._output(field_line(header, values))

    def endheaders(self, message_body: Body = None, *, encode_chunked: bool = False) -> None:
        """Send the request head, then `message_body` if given (chunk-encoded if `encode_chunked`)."""
        if self._state != _REQ_STARTED:
            raise CannotSendHeader()
        names = {line.partition(b":")[0].lower() for line in self._buffer[1:]}
        if b"content-length" in names and b"transfer-encoding" in names:
            # RFC 9112 6.2: "A sender MUST NOT send a Content-Length header field in any message
            # that contains a Transfer-Encoding header field." Nothing was sent: start again.
            self._forget_request()
            raise ValueError("a request cannot have both Content-Length and Transfer-Encoding (RFC 9112 6.2)")
        try:
            pieces = body_pieces(message_body, self.blocksize, self.debuglevel > 0)  # checks the body's type
        except BaseException:
            self._forget_request()  # refused before anything was sent
            raise
        self._state = _REQ_SENT
        self._send_output(message_body is not None, pieces, encode_chunked)

    def _send_output(self, has_body: bool, pieces: Iterable[Buffer], encode_chunked: bool) -> None:
        # RFC 9110 7.2: "A user agent that sends Host SHOULD send it as the first field in the
        # header section of a request" -- also when the caller gave it after other fields.
        request_line, *fields = self._buffer
        hosts: list[bytes] = []
        others: list[bytes] = []
        for line in fields:
            (hosts if _is_host_line(line) else others).append(line)
        head = b"\r\n".join([request_line, *hosts, *others, b"", b""])
        self._sent_close = _asks_to_close(others)
        del self._buffer[:]
        if isinstance(self._response, HTTPResponse):
            # A response still being read is followed on the wire by this request's response:
            # those octets are not stray data (RFC 9112 9.2 is about a connection with none
            # outstanding).
            self._response.another_response_follows = True
        self._drop_if_not_idle()
        self._body_cut = False
        self.send(head)
        if not has_body:
            return
        for index, piece in enumerate(pieces):
            # RFC 9112 9.5: a client sending a body SHOULD monitor the connection for an error
            # response, and cease sending once one says the server is closing. Checked between
            # pieces only: a bytes body is one piece, sent whole.
            if index and self.sock is not None and _closing_response_waiting(self.sock):
                if self.debuglevel > 0:
                    print("the server answered and is closing: the rest of the body is not sent")
                self._body_cut = True  # the framing is broken: the connection ends with the response
                return
            self.send(chunk(piece) if encode_chunked else piece)
        if encode_chunked:
            self.send(LAST_CHUNK)

    def _drop_if_not_idle(self) -> None:
        """Close a kept-alive connection that has something to read before the request is sent.

        RFC 9112 9.2: "If a client receives data on a connection that doesn't have outstanding
        requests, the client MUST NOT consider that data to be a valid response; the client SHOULD
        close the connection". Readable also means the server closed the idle connection (RFC
        9112 9.5 lets it close at any time); either way the request goes on a new connection
        (stdlib sends it on the dead one and reports RemoteDisconnected, or reads the stray bytes
        as the response). With a response still unread, the socket is readable with that response:
        then stdlib's behaviour stays (the request is sent; getresponse() says ResponseNotReady).
        """
        sock = self.sock
        if sock is None or self._sock_closed or self._response is not None or not _has_input(sock):
            return
        if self.debuglevel > 0:
            print("idle connection closed by the server or with stray data: reconnecting")
        self.sock = None
        sock.close()

    def request(self, method: str, url: str, body: Body = None, headers: HeaderItems = {},  # noqa: B006
                *, encode_chunked: bool = False) -> None:
        """Send a whole request: putrequest(), the framing fields, the caller's `headers`, the body.

        `body` is None, str (sent ISO-8859-1), bytes-like (with Content-Length), a file or an
        iterable of bytes (sent with Transfer-Encoding: chunked unless `headers` has a
        Content-Length, or has a Transfer-Encoding and the caller encodes unless `encode_chunked`).
        For None, Content-Length: 0 is sent for POST, PUT and PATCH. A caller's Host or
        Accept-Encoding replaces the automatic one. Nothing is sent if anything is refused.
        Between the pieces of a file or iterable body the connection is watched: once the server
        has sent a final response that closes the connection (such as 413 with Connection:
        close), the rest of the body is not sent, request() returns and getresponse() reads that
        response (RFC 9112 9.5); the connection then ends with it.
        """
        names = {(name.decode("latin-1") if isinstance(name, bytes) else name).lower() for name in headers}
        if "content-length" in names and "transfer-encoding" in names:
            raise ValueError("a request cannot have both Content-Length and Transfer-Encoding (RFC 9112 6.2)")
        self.putrequest(method, url, skip_host="host" in names, skip_accept_encoding="accept-encoding" in names)
        try:
            if "content-length" in names:
                encode_chunked = False  # the caller sends the body as it is, with its length
            elif "transfer-encoding" not in names:
                # RFC 9112 6.3: a user agent that sends content MUST send a valid Content-Length or
                # use chunked; the length of a file or iterable is unknown, so chunked it is.
                length = content_length(body, method)
                if length is not None:
                    self.putheader("Content-Length", length)
                    encode_chunked = False
                elif body is not None and self._server_is_http10:
                    # RFC 9112 6.1: "A client MUST NOT send a request containing Transfer-Encoding
                    # unless it knows the server will handle HTTP/1.1 requests", knowledge that
                    # may come from "the version of a prior received response". That was 1.0:
                    # the body is read whole and sent with its length.
                    body = b"".join(body_pieces(body, self.blocksize, self.debuglevel > 0))
                    self.putheader("Content-Length", len(body))
                    encode_chunked = False
                elif body is not None:
                    if self.debuglevel > 0:
                        print(f"Unable to determine size of {body!r}")
                    self.putheader("Transfer-Encoding", "chunked")
                    encode_chunked = True
            for name, value in headers.items():
                self.putheader(name, value)
            if isinstance(body, str):
                body = encode_str_body(body)  # refused before anything is sent
        except BaseException:
            self._forget_request()  # nothing was sent: the connection is as it was
            raise
        self.endheaders(body, encode_chunked=encode_chunked)

    def _close_socket(self) -> None:
        """Close the socket, keeping it in `sock` as http.client does; the next send reconnects."""
        self._state = _IDLE
        del self._buffer[:]
        if self.sock is not None:
            self._sock_closed = True
            self.sock.close()

    def _forget_request(self) -> None:
        """Drop the request being built (it was refused before anything was sent)."""
        self._state = _IDLE
        del self._buffer[:]

    # -- receiving -----------------------------------------------------------------------------

    def _new_response(self, method: str | None) -> HTTPResponse:
        assert self.sock is not None
        if self.debuglevel > 0:
            return self.response_class(self.sock, self.debuglevel, method=method)
        return self.response_class(self.sock, method=method)

    def getresponse(self) -> HTTPResponse:
        """Read the response head of the request sent and return the response, its body unread.

        Raises ResponseNotReady if no request was sent or the previous response is not read
        yet. If the response ends the connection, the connection is closed here (the response
        keeps reading from the socket); the next request opens a new one.
        """
        if self._response is not None and self._response.isclosed():
            self._response = None
        if self._state != _REQ_SENT or self._response is not None:
            raise ResponseNotReady(self._state)
        response = self._new_response(self._method)
        try:
            response.begin()
        except ConnectionError:
            response.close()
            self.close()  # as http.client does: `sock` is None
            raise
        except BaseException:
            # Whatever else broke the head (a protocol error, a timeout), the connection's framing
            # can no longer be trusted, so it is not reused (stdlib keeps it open, only for
            # CannotSendRequest to follow); `sock` still names the closed socket, as with stdlib.
            response.close()
            self._close_socket()
            raise
        self._state = _IDLE
        self._server_is_http10 = response.version == 10
        # RFC 9112 9.6: "A client that sends a "close" connection option MUST NOT send further
        # requests on that connection ... and MUST close the connection after reading the
        # corresponding response message."
        if response.will_close or self._sent_close or self._body_cut:
            self.close()  # the response now owns the socket
        else:
            self._response = response  # remembered until it has been read
        return response


def _send_all(sock: socket.socket, data: Buffer) -> None:
    """`sock.sendall(data)`, in one system call where the socket takes it all at once.

    A socket with a timeout polls before every send (CPython's socket module), which is a second
    system call per request on a kept-alive connection. A plain `socket.socket` (a subclass may
    record or change what is sent: it gets `sendall`) takes bytes with one write(2) while its
    send buffer has room; whatever it does not take goes through `sendall`, which waits within
    the socket's timeout and raises as it does.
    """
    if type(sock) is not socket.socket or not isinstance(data, (bytes, bytearray)):
        sock.sendall(data)
        return
    try:
        sent = os.write(sock.fileno(), data)
    except BlockingIOError:
        sent = 0
    if sent < len(data):
        sock.sendall(memoryview(data)[sent:])


def _has_input(sock: socket.socket) -> bool:
    """True if an idle socket can be read now (bytes, a close or an error are all waiting).

    Only a socket that has a file descriptor can be polled. Libraries put other objects in
    `conn.sock` (test doubles, SSH channels, UNIX-socket adapters, recorders): when `fileno()` is
    missing or fails, the check steps aside and the request is sent as http.client sends it.
    """
    if isinstance(sock, ssl.SSLSocket) and sock.pending():
        return True
    try:
        fd = sock.fileno()
    except (AttributeError, OSError, ValueError):  # io.UnsupportedOperation is both of the latter
        return False
    if not isinstance(fd, int):
        return False
    try:
        if hasattr(select, "poll"):  # poll has no FD_SETSIZE limit
            poller = select.poll()
            poller.register(fd, select.POLLIN)
            readable = bool(poller.poll(0))
        else:  # pragma: no cover - Windows
            readable = bool(select.select([fd], [], [], 0)[0])
    except (OSError, ValueError):
        return True  # a closed socket (fileno() -1) is no connection to reuse
    if not readable or not isinstance(sock, ssl.SSLSocket):
        return readable
    # With TLS, readable may only mean records without application data (TLS 1.3 session
    # tickets): read without blocking to tell them from data or a close.
    timeout = sock.gettimeout()
    sock.settimeout(0)
    try:
        sock.recv(1)
    except ssl.SSLWantReadError:
        return False
    except OSError:
        return True
    finally:
        sock.settimeout(timeout)
    return True  # data, or b"" for the close


# How much of an early response is looked at for its head: a larger head is not recognised, and
# the body is then sent on as stdlib sends it.
_PEEK_SIZE = 16384


def _closing_response_waiting(sock: socket.socket) -> bool:
    """True if the server has sent, while the request body is still going out, the whole head of
    a final response with the "close" connection option (such as 413 with Connection: close).

    The bytes are only peeked at: getresponse() reads them. A response without "close" lets the
    body go on (RFC 9110 7.5: the client continues sending without an explicit indication to the
    contrary), as do an interim 1xx, a FIN or an error (the sending then fails as it would).
    TLS sockets cannot peek and step aside, as do sockets `_has_input` cannot poll.
    """
    if isinstance(sock, ssl.SSLSocket) or not _has_input(sock):
        return False
    try:
        data = sock.recv(_PEEK_SIZE, socket.MSG_PEEK)
    except (AttributeError, OSError, TypeError, ValueError):
        return False
    head, found, _ = data.partition(b"\r\n\r\n")
    if not found:
        return False
    status_line, *fields = head.split(b"\r\n")
    status = status_line.split(b" ")[1:2]
    if not status or status[0][:1] in (b"", b"1"):
        return False
    return _asks_to_close(fields)


class HTTPSConnection(HTTPConnection):
    """An HTTPConnection over TLS, verifying the server's certificate and host name by default.

    `context` is the ssl.SSLContext to use; the default one comes from ssl.create_default_context()
    (certificates and host name checked, never against the subject's common name) and offers ALPN
    "http/1.1". The name sent in SNI and checked against the certificate is the host, or the
    tunnel's host when tunnelling. Closing the connection sends a TLS closure alert first.
    """

    default_port: int = HTTPS_PORT

    def __init__(self, host: str, port: int | None = None, *, timeout: float | None = _DEFAULT_TIMEOUT,
                 source_address: tuple[str, int] | None = None, context: ssl.SSLContext | None = None,
                 blocksize: int = 8192) -> None:
        super().__init__(host, port, timeout, source_address, blocksize)
        self._context = context if context is not None else _default_context()

    def connect(self) -> None:
        """Open the TCP connection (and tunnel), then the TLS session over it."""
        super().connect()
        assert self.sock is not None
        try:
            sock = self._context.wrap_socket(self.sock, server_hostname=self._tunnel_host or self.host)
            if type(sock) is ssl.SSLSocket:
                # The very object wrap_socket() made, now also sending close_notify when it is
                # really closed (a caller's own sslsocket_class is left alone).
                sock.__class__ = _ClosureAlertSocket
            self.sock = sock
            if self._context.check_hostname:
                _refuse_common_name_only(sock)
        except BaseException:
            self.close()
            raise


def _default_context() -> ssl.SSLContext:
    context = ssl.create_default_context()  # CERT_REQUIRED and check_hostname: PEP 476
    context.set_alpn_protocols(["http/1.1"])
    # RFC 9110 4.3.4: "A reference identity of type CN-ID MUST NOT be used by clients."
    context.hostname_checks_common_name = False
    if getattr(context, "post_handshake_auth", None) is not None:
        # TLS 1.3 post-handshake client authentication, where OpenSSL supports it.
        context.post_handshake_auth = True
    return context


def _refuse_common_name_only(sock: ssl.SSLSocket) -> None:
    """Refuse a certificate that names no DNS name or IP address in subjectAltName.

    OpenSSL then falls back to the subject's common name when the context allows it
    (hostname_checks_common_name, True in ssl.create_default_context()); RFC 9110 4.3.4 forbids
    that: "A reference identity of type CN-ID MUST NOT be used by clients."
    """
    certificate = sock.getpeercert() or {}
    names = certificate.get("subjectAltName", ())
    if not any(isinstance(name, tuple) and name[0] in ("DNS", "IP Address") for name in names):
        message = ("certificate verify failed: the certificate has no DNS or IP subjectAltName; its "
                   "subject common name is not an identity (RFC 9110 4.3.4)")
        error = ssl.SSLCertVerificationError(1, message)
        error.verify_code = 62  # X509_V_ERR_HOSTNAME_MISMATCH
        error.verify_message = message
        raise error


class _ClosureAlertSocket(ssl.SSLSocket):
    """An SSLSocket that sends a TLS closure alert when it is really closed (by the connection or,
    later, by the response still reading from it).

    RFC 9112 9.8: "Clients MUST send a closure alert before closing the connection. Clients that do
    not expect to receive any more data MAY choose not to wait for the server's closure alert":
    the alert is sent without blocking and the server's is not waited for.
    """

    def _real_close(self) -> None:
        if self.fileno() != -1 and self.version() is not None:  # a TLS session to close
            try:
                self.settimeout(0)
                self.unwrap()
            except (OSError, ValueError):
                pass  # ssl.SSLWantReadError: sent; the server's alert is not waited for
        super()._real_close()  # type: ignore[misc]
