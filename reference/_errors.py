"""The exceptions: the stdlib's own classes, plus precise subclasses for what stdlib never detects.

Re-exporting `http.client`'s classes (rather than copying their shapes) is what makes the reference
a drop-in: `except http.client.IncompleteRead` catches the reference's IncompleteRead because it is
the same class, with the same attributes (`partial`, `expected`, `line`, ...) and hierarchy
(`RemoteDisconnected` is both a `ConnectionResetError` and a `BadStatusLine`).
"""

from __future__ import annotations

import http.client
from http.client import (
    BadStatusLine,
    CannotSendHeader,
    CannotSendRequest,
    HTTPException,
    ImproperConnectionState,
    IncompleteRead,
    InvalidURL,
    NotConnected,
    RemoteDisconnected,
    ResponseNotReady,
    UnimplementedFileMode,
    UnknownProtocol,
    UnknownTransferEncoding,
)

error = HTTPException  # the stdlib's backwards-compatible alias


class LineTooLong(http.client.LineTooLong):
    """A status line, field line or chunk line longer than the reference's limit for it."""

    def __init__(self, line_type: str, *, limit: int = 65536) -> None:
        HTTPException.__init__(self, f"got more than {limit} bytes when reading {line_type}")


class InvalidResponse(HTTPException):
    """The response breaks HTTP/1.1's grammar or framing rules (RFC 9110 / RFC 9112).

    Raised where stdlib guesses: an invalid or conflicting Content-Length, a bad chunk size, a
    missing CRLF after chunk data, a bare CR or NUL in a field, whitespace before a colon... The
    connection is closed, because its framing can no longer be trusted (RFC 9112 6.3).
    """


class TooManyHeaders(HTTPException):
    """More header, trailer or interim-response fields than the reference accepts."""


__all__ = [
    "BadStatusLine", "CannotSendHeader", "CannotSendRequest", "HTTPException", "ImproperConnectionState",
    "IncompleteRead", "InvalidResponse", "InvalidURL", "LineTooLong", "NotConnected", "RemoteDisconnected",
    "ResponseNotReady", "TooManyHeaders", "UnimplementedFileMode", "UnknownProtocol",
    "UnknownTransferEncoding", "error",
]
