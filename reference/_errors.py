"""The exceptions: the stdlib's own classes, plus precise subclasses for what stdlib never detects.

Re-exporting `http.client`'s classes (rather than copying their shapes) is what makes the reference
a drop-in: `except http.client.IncompleteRead` catches the reference's IncompleteRead because it is
the same class, with the same attributes (`partial`, `expected`, `line`, ...) and hierarchy
(`RemoteDisconnected` is both a `ConnectionResetError` and a `BadStatusLine`).
"""

from __future__ import annotations

from http.client import (
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
)

error = HTTPException  # the stdlib's backwards-compatible alias


class InvalidResponse(HTTPException):
    """The response breaks HTTP/1.1's grammar or framing rules (RFC 9110 / RFC 9112).

    Raised where stdlib guesses: an invalid or conflicting Content-Length, a bare CR or NUL in a
    field, whitespace before a colon... The connection is closed, because its framing can no
    longer be trusted (RFC 9112 6.3). (A chunked body that cannot be decoded is IncompleteRead,
    as RFC 9112 8 calls it incomplete.)
    """


class TooManyHeaders(HTTPException):
    """More header, trailer or interim-response fields than the reference accepts."""


__all__ = [
    "BadStatusLine", "CannotSendHeader", "CannotSendRequest", "HTTPException", "ImproperConnectionState",
    "IncompleteRead", "InvalidResponse", "InvalidURL", "LineTooLong", "NotConnected", "RemoteDisconnected",
    "ResponseNotReady", "TooManyHeaders", "UnimplementedFileMode", "UnknownProtocol",
    "UnknownTransferEncoding", "error",
]
