"""A small, correct HTTP/1.1 client with the complete public API of `http.client`.

Use it where you use `http.client` today (`import reference as client`): same classes, methods,
attributes, exceptions (the stdlib's own exception classes, so `except http.client.X` catches
them) and constants. Where RFC 9110 / RFC 9112 and stdlib disagree, the reference follows the RFC
and the documented API; every such choice is listed in `reference/CHOICES.md`.
"""

from __future__ import annotations

from h1conform.reference._connection import HTTPConnection, HTTPSConnection

# The status constants (OK, NOT_FOUND, ...), as http.client defines them.
from h1conform.reference._constants import *  # noqa: F403,E402
from h1conform.reference._constants import HTTP_PORT, HTTPS_PORT, responses
from h1conform.reference._errors import (
    BadStatusLine,
    CannotSendHeader,
    CannotSendRequest,
    HTTPException,
    ImproperConnectionState,
    IncompleteRead,
    InvalidResponse,
    InvalidURL,
    LineTooLong,
    NotConnected,
    RemoteDisconnected,
    ResponseNotReady,
    TooManyHeaders,
    UnimplementedFileMode,
    UnknownProtocol,
    UnknownTransferEncoding,
    error,
)
from h1conform.reference._headers import HTTPMessage, parse_headers
from h1conform.reference._response import HTTPResponse

__all__ = [
    "HTTPResponse", "HTTPConnection", "HTTPSConnection", "HTTPException", "NotConnected", "UnknownProtocol",
    "UnknownTransferEncoding", "UnimplementedFileMode", "IncompleteRead", "InvalidURL",
    "ImproperConnectionState", "CannotSendRequest", "CannotSendHeader", "ResponseNotReady", "BadStatusLine",
    "LineTooLong", "RemoteDisconnected", "error", "responses", "HTTPMessage", "parse_headers",
    "HTTP_PORT", "HTTPS_PORT", "InvalidResponse", "TooManyHeaders",
]
