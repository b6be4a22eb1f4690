"""A small, correct HTTP/1.1 client with the complete public API of `http.client`.

Use it where you use `http.client` today (`import reference as client`): same classes, methods,
attributes, exceptions (the stdlib's own exception classes, so `except http.client.X` catches
them) and constants. Where RFC 9110 / RFC 9112 and stdlib disagree, the reference follows the RFC
and the documented API; every such choice is listed in `reference/CHOICES.md`.
"""

from __future__ import annotations

from ._connection import HTTPConnection, HTTPSConnection

# The status constants (OK, NOT_FOUND, ...), as http.client defines them.
from ._constants import *  # noqa: F403,E402

# Public names left out of __all__ (as in http.client) are re-exported explicitly ("X as X").
from ._constants import HTTP_PORT as HTTP_PORT
from ._constants import HTTPS_PORT as HTTPS_PORT
from ._constants import MAX_HEADERS, MAX_LINE, responses
from ._errors import (
    BadStatusLine,
    CannotSendHeader,
    CannotSendRequest,
    HTTPException,
    ImproperConnectionState,
    IncompleteRead,
    InvalidURL,
    LineTooLong,
    NotConnected,
    RemoteDisconnected,
    ResponseNotReady,
    UnimplementedFileMode,
    UnknownProtocol,
    UnknownTransferEncoding,
    error,
)
from ._errors import InvalidResponse as InvalidResponse  # the reference's own exceptions
from ._errors import TooManyHeaders as TooManyHeaders
from ._headers import HTTPMessage as HTTPMessage
from ._headers import parse_headers as parse_headers
from ._response import HTTPResponse

# http.client's limits, under its names: code that raises them (`http.client._MAXHEADERS = 1000`)
# is honoured, as every read looks them up here.
_MAXLINE = MAX_LINE
_MAXHEADERS = MAX_HEADERS

# The names `from http.client import *` gives, no more: the reference's extras (InvalidResponse,
# TooManyHeaders, parse_headers, HTTPMessage, the ports) are imported by name, as in http.client.
__all__ = [
    "HTTPResponse", "HTTPConnection", "HTTPException", "NotConnected", "UnknownProtocol",
    "UnknownTransferEncoding", "UnimplementedFileMode", "IncompleteRead", "InvalidURL",
    "ImproperConnectionState", "CannotSendRequest", "CannotSendHeader", "ResponseNotReady", "BadStatusLine",
    "LineTooLong", "RemoteDisconnected", "error", "responses", "HTTPSConnection",
]
