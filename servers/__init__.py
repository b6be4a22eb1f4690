"""In-process fake servers that scenarios run clients against.

`ScriptedServer` is a loopback TCP server whose connections follow scripts of steps (expect a
request, send bytes in chosen segments, pause, half-close, close, reset, stall). It records every
byte received and parses each request with h11, an independent strict parser.
"""

from servers.connection import ConnectionRecord, ScriptError, ServerConnection
from servers.requests import RecordedRequest
from servers.scripted import ScriptedServer, ServerError, ipv6_available
from servers.steps import (
    BYTEWISE,
    WHOLE,
    Delivery,
    Step,
    call,
    close,
    expect_body,
    expect_request,
    half_close,
    pause,
    reset,
    respond,
    send,
    send_segments,
    split_at,
    stall,
)

__all__ = [
    "BYTEWISE", "WHOLE", "ConnectionRecord", "Delivery", "RecordedRequest", "ScriptError",
    "ScriptedServer", "ServerConnection", "ServerError", "Step", "call", "close", "expect_body",
    "expect_request", "half_close", "ipv6_available", "pause", "reset", "respond", "send",
    "send_segments", "split_at", "stall",
]
