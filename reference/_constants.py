"""Ports, status constants and reason phrases, as http.client exposes them."""

from __future__ import annotations

from http import HTTPStatus

HTTP_PORT = 80
HTTPS_PORT = 443

# http.client exposes every HTTPStatus member as a module constant (OK, NOT_FOUND, ...).
globals().update(HTTPStatus.__members__)

# Status code -> reason phrase, from the running Python's HTTPStatus (3.13 uses RFC 9110's names).
responses: dict[int, str] = {status.value: status.phrase for status in HTTPStatus}

__all__ = ["HTTP_PORT", "HTTPS_PORT", "responses", *HTTPStatus.__members__]
