"""Building a request: checking what the caller gives, and encoding the request line, fields and body.

Everything here refuses input that would break the grammar of RFC 9110 / RFC 9112 *before* a byte
is sent: "A sender MUST NOT generate protocol elements that do not match the grammar defined by the
corresponding ABNF rules" (RFC 9110 2.2). A refused element raises ValueError (InvalidURL for a URL
or host, as http.client does), never goes on the wire half-checked.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Protocol, TypeGuard, Union
from urllib.parse import urlsplit

from ._errors import InvalidURL
from ._syntax import CONTROL_IN_METHOD, DIGITS, FIELD_VALUE, FORBIDDEN_IN_REQUEST_LINE, OWS, TOKEN

if TYPE_CHECKING:
    from collections.abc import Buffer  # bytes, bytearray, memoryview, array.array...


class SupportsRead(Protocol):
    """A file object, binary or text: what `request(body=...)` reads blocksize at a time."""

    def read(self, size: int = -1, /) -> bytes | str: ...


def is_file(obj: object) -> TypeGuard[SupportsRead]:
    """http.client's test for a file body: anything with a read() method."""
    return hasattr(obj, "read")


# What request() and endheaders() accept as a body (the http.client documentation's list).
Body = Union[str, "Buffer", SupportsRead, Iterable["Buffer"], None]
# What putheader() accepts as a value: str (sent Latin-1), bytes-like (as is), int (decimal).
FieldValue = Union[str, "Buffer", int]

# RFC 9110 8.6: "A user agent SHOULD send Content-Length in a request when the method defines a
# meaning for enclosed content and it is not sending Transfer-Encoding" -- the methods for which
# http.client sends `Content-Length: 0` when there is no body.
METHODS_EXPECTING_BODY = frozenset({"PATCH", "POST", "PUT"})


# -- request line ------------------------------------------------------------------------------


def check_method(method: str) -> None:
    """ValueError unless `method` is a token (RFC 9110 9.1: method = token)."""
    if method.isascii() and TOKEN.fullmatch(method.encode("ascii")):
        return
    # CVE-2020-26116: a method with CR/LF would inject fields; with SP or DEL it breaks the
    # request line. Stdlib refuses only \x00-\x1f, with this message, which callers match on.
    control = CONTROL_IN_METHOD.search(method)
    if control:
        raise ValueError(f"method can't contain control characters. {method!r} "
                         f"(found at least {control.group()!r}); a method is a token (RFC 9110 9.1)")
    raise ValueError(f"method must be a token (RFC 9110 9.1), got {method!r}")


def check_no_ctl(text: str) -> None:
    """InvalidURL if `text` (a URL or host) holds a CTL, SP or DEL (CVE-2019-9740, CVE-2019-18348)."""
    found = FORBIDDEN_IN_REQUEST_LINE.search(text)
    if found:
        # http.client's message, word for word: callers match on it.
        raise InvalidURL(f"URL can't contain control characters. {text!r} (found at least {found.group()!r})")


def request_target(method: str, url: str) -> str:
    """The request-target to send for `url` (checked for CTLs by the caller); InvalidURL for a
    target RFC 9110 forbids a sender to generate."""
    # RFC 9112 3.2.1: "If the target URI's path component is empty, the client MUST send "/" as
    # the path within the origin-form of request-target." (stdlib sends "?a=1" as is)
    if not url or url.startswith("?"):
        url = "/" + url
    # RFC 9110 7.1: the asterisk-form is for OPTIONS: "These forms MUST NOT be used with other methods."
    if url == "*" and method != "OPTIONS":
        raise InvalidURL(f"the asterisk-form '*' is only used with OPTIONS, not with {method!r} (RFC 9110 7.1)")
    scheme, separator, rest = url.partition("://")
    if not (separator and scheme.lower() in ("http", "https")):
        return url
    end = min((i for i in map(rest.find, "/?#") if i >= 0), default=len(rest))
    _, at, host_port = rest[:end].rpartition("@")
    host = host_port if host_port.startswith("[") else host_port.partition(":")[0]
    # RFC 9110 4.2.1 / 4.2.2: "A sender MUST NOT generate an "http" [or "https"] URI with an empty
    # host identifier."
    if not host:
        raise InvalidURL(f"an {scheme} URI needs a host: {url!r} (RFC 9110 4.2.1)")
    # RFC 9110 4.2.4: "A sender MUST NOT generate the userinfo subcomponent (and its "@"
    # delimiter) when an "http" or "https" URI reference is generated within a message as a
    # target URI" (stdlib sends it, and puts it in Host as well).
    return f"{scheme}://{host_port}{rest[end:]}" if at else url


def split_host_port(host: str, port: int | None, default_port: int) -> tuple[str, int]:
    """(host, port) from `HTTPConnection(host, port)`, "host:port" and "[v6]:port" included."""
    if port is None:
        colon = host.rfind(":")
        bracket = host.rfind("]")
        # An IPv6 literal without brackets ("::1") has no port: stdlib would read "1" as one.
        unbracketed_v6 = bracket < 0 and host.count(":") > 1
        if colon > bracket and not unbracketed_v6:
            digits = host[colon + 1:]
            if not digits:  # "example.org:" means the default port (RFC 3986 3.2.3)
                port = default_port
            elif DIGITS.fullmatch(digits.encode("utf-8", "surrogatepass")):
                port = int(digits)
            else:
                raise InvalidURL(f"nonnumeric port: '{digits}'")
            host = host[:colon]
        else:
            port = default_port
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    return host, port


def host_bytes(host: str) -> bytes:
    """`host` as it goes into Host or a CONNECT target: ASCII or IDNA, IPv6 literal in brackets."""
    if ":" in host:  # an IPv6 literal: RFC 3986 3.2.2 IP-literal = "[" IPv6address "]"
        return b"[" + host.encode("ascii") + b"]"
    try:
        return host.encode("ascii")
    except UnicodeEncodeError:
        return host.encode("idna")


def host_field(host: str, port: int, default_port: int | None) -> bytes:
    """A Host value: uri-host [ ":" port ], the port left out when it is `default_port`."""
    value = host_bytes(host)
    # RFC 6874 4: the zone id of a link-local address is meaningful only on the client; it is not
    # sent in Host ("[fe80::1%eth0]" -> "[fe80::1]").
    if value.startswith(b"[") and b"%" in value:
        value = value[:value.index(b"%")] + b"]"
    return value if port == default_port else value + b":%d" % port


def absolute_form_host(url: str) -> bytes | None:
    """Host for an absolute-form `url` ("http://user@example.org:8080/x"), or None for other forms."""
    if url.startswith(("/", "*")):
        return None
    parts = urlsplit(url)
    if not (parts.scheme and parts.netloc):
        return None
    # RFC 9112 3.2: "If the target URI includes an authority component, then a client MUST send
    # a field value for Host that is identical to that authority component, excluding any
    # userinfo subcomponent and its "@" delimiter".
    value = parts.netloc.rpartition("@")[2].encode("ascii")  # the target was checked to be ASCII
    if value.startswith(b"[") and b"%" in value:  # RFC 6874 4, as for host_field
        value = value[:value.index(b"%")] + value[value.index(b"]"):]
    return value


# -- fields ------------------------------------------------------------------------------------


def field_name(name: str | bytes) -> bytes:
    """`name` as bytes; ValueError unless it is a token (RFC 9110 5.1: field-name = token)."""
    raw = name.encode("utf-8", "surrogatepass") if isinstance(name, str) else bytes(name)
    if not TOKEN.fullmatch(raw):  # a non-ASCII str can never match: its UTF-8 octets are >= 0x80
        raise ValueError(f"Invalid header name {name!r}")
    return raw


def field_value(value: FieldValue) -> bytes:
    """One value as bytes, surrounding whitespace removed; ValueError unless it is a field-value."""
    if isinstance(value, str):
        raw = value.encode("latin-1")
    elif isinstance(value, int):
        raw = b"%d" % value
    else:
        try:
            raw = bytes(memoryview(value))
        except TypeError:
            raise TypeError(f"header value must be str, bytes-like or int, got {type(value).__name__}") from None
    # RFC 9112 5: field-line = field-name ":" OWS field-value OWS -- the OWS is not the value's.
    raw = raw.strip(OWS)
    # RFC 9110 5.5: field-value = *field-content, and "Field values containing CR, LF, or NUL
    # characters are invalid and dangerous" (CVE-2016-5699: CRLF injects a field). RFC 9112 5.2:
    # "A sender MUST NOT generate a message that includes line folding", so no "\r\n " either.
    if not FIELD_VALUE.fullmatch(raw):
        raise ValueError(f"Invalid header value {raw!r}")
    return raw


def field_line(name: str | bytes, values: tuple[FieldValue, ...]) -> bytes:
    """b"Name: value" for putheader(name, *values), several values joined as one list."""
    encoded = field_name(name)
    # RFC 9112 5.2: a sender MUST NOT generate obs-fold (stdlib joins values with "\r\n\t").
    # RFC 9110 5.3 makes "a, b" the same field value as the two lines, and RFC 9110 5.6.1.1
    # forbids generating empty list elements, hence empty values are left out of a list.
    parts = [field_value(value) for value in values]
    joined = b", ".join(part for part in parts if part) if len(parts) > 1 else b"".join(parts)
    return encoded + b": " + joined


# -- body --------------------------------------------------------------------------------------


def content_length(body: Body, method: str) -> int | None:
    """The Content-Length request() sends for `body`, or None when the body goes chunked (or none)."""
    if body is None:
        # RFC 9110 8.6: no content and a method that anticipates some: Content-Length: 0.
        return 0 if method.upper() in METHODS_EXPECTING_BODY else None
    if is_file(body):  # a file: its length is unknown until read
        return None
    if isinstance(body, str):
        return len(body)  # Latin-1: one octet per character
    try:
        return memoryview(body).nbytes  # type: ignore[arg-type]
    except TypeError:
        return None  # an iterable


def encode_str_body(body: str) -> bytes:
    """A str body encoded ISO-8859-1 (http.client's documented rule), or UnicodeEncodeError with a hint."""
    try:
        return body.encode("latin-1")
    except UnicodeEncodeError as exc:
        raise UnicodeEncodeError(
            exc.encoding, exc.object, exc.start, exc.end,
            f"Body ({body[exc.start:exc.end]!r:.20}) is not valid Latin-1. "
            "Use body.encode('utf-8') if you want to send it encoded in UTF-8.") from None


def body_pieces(body: Body, blocksize: int, debug: bool) -> Iterator[Buffer]:
    """The pieces of a request body in sending order: a file read blocksize at a time, a bytes-like
    object whole, an iterable item by item. Empty pieces are dropped (in chunked coding an empty
    chunk would end the body, RFC 9112 7.1).

    The body's kind is checked now, so that a body of the wrong type is refused before the head is
    sent; the pieces are produced lazily, as they are sent.
    """
    pieces: Iterable[Buffer]
    if body is None:
        pieces = ()
    elif is_file(body):  # a file first: an mmap is both, and its position must count
        pieces = read_blocks(body, blocksize, "reading a readable" if debug else None)
    elif isinstance(body, str):
        pieces = (encode_str_body(body),)
    else:
        try:
            memoryview(body)  # type: ignore[arg-type]
            pieces = (body,)  # type: ignore[assignment]
        except TypeError:
            try:
                pieces = iter(body)  # type: ignore[arg-type]
            except TypeError:
                raise TypeError("message_body should be a bytes-like object or an iterable, "
                                f"got {type(body)!r}") from None
    return _non_empty(pieces, debug)


def _non_empty(pieces: Iterable[Buffer], debug: bool) -> Iterator[Buffer]:
    for piece in pieces:
        if isinstance(piece, str):
            raise TypeError(f"an iterable body must give bytes-like objects, got str {piece[:20]!r}")
        if not memoryview(piece).nbytes:
            if debug:
                print("Zero length chunk ignored")
            continue
        yield piece


def read_blocks(file: SupportsRead, blocksize: int, debug_label: str | None) -> Iterator[bytes]:
    """A file's data, blocksize at a time; a text file's str encoded ISO-8859-1.

    `debug_label` is the debug line printed first (None: no debug output).
    """
    is_text = isinstance(file, io.TextIOBase)
    if debug_label:
        print(debug_label)
        if is_text:
            print("encoding file using iso-8859-1")
    while block := file.read(blocksize):
        yield block.encode("iso-8859-1") if isinstance(block, str) else block


def chunk(piece: Buffer) -> bytes:
    """One chunk of the chunked coding (RFC 9112 7.1):

        chunk = chunk-size [ chunk-ext ] CRLF chunk-data CRLF ;  chunk-size = 1*HEXDIG

    The size counts octets (memoryview.nbytes), not items: an array of shorts is twice its len().
    """
    view = memoryview(piece)
    return b"".join((b"%X\r\n" % view.nbytes, view, b"\r\n"))


# RFC 9112 7.1: last-chunk = 1*("0") [ chunk-ext ] CRLF, then an empty trailer section and CRLF.
LAST_CHUNK = b"0\r\n\r\n"
