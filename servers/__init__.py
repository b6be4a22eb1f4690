"""In-process fake servers that scenarios run clients against.

`ScriptedServer` is a loopback TCP server whose connections follow scripts of steps (expect a
request, send bytes in chosen segments, pause, half-close, close, reset, stall). It records every
byte received and parses each request with h11, an independent strict parser.

`ScriptedServer(tls=ServerTLS(...))` serves TLS (certificates of every kind from `TestPKI`); its
connections' `tls` records say what the client offered and how the handshake and the closure went.
"""

from h1conform.servers.certificates import CertKind, TestPKI
from h1conform.servers.clienthello import ClientHello
from h1conform.servers.connection import ConnectionRecord, ScriptError, ServerConnection
from h1conform.servers.proxy import (
    ESTABLISHED,
    at,
    expect_connect,
    proxy_auth_required,
    relay,
    tunnel,
)
from h1conform.servers.requests import RecordedRequest
from h1conform.servers.routes import Routes, serve
from h1conform.servers.scripted import ScriptedServer, ServerError, ServerStuck, ServerThread, ipv6_available
from h1conform.servers.steps import (
    BYTEWISE,
    WHOLE,
    Delivery,
    Step,
    call,
    close,
    close_notify,
    expect_body,
    expect_client_hello,
    expect_request,
    half_close,
    handshake,
    pause,
    reset,
    respond,
    respond_if_sent,
    send,
    send_raw,
    send_segments,
    split_at,
    stall,
)
from h1conform.servers.tls import ServerTLS, TLSRecord

__all__ = [
    "BYTEWISE", "WHOLE", "ConnectionRecord", "Delivery", "RecordedRequest", "ScriptError",
    "ScriptedServer", "ServerConnection", "ServerError", "ServerStuck", "ServerThread", "Step", "call", "close", "expect_body",
    "expect_request", "half_close", "ipv6_available", "pause", "reset", "respond", "respond_if_sent", "send",
    "send_segments", "split_at", "stall",
    # a server answering every request by its target (servers/routes.py)
    "Routes", "serve",
    # the scripted CONNECT proxy (servers/proxy.py)
    "ESTABLISHED", "at", "expect_connect", "proxy_auth_required", "relay", "tunnel",
    # TLS servers (servers/tls.py, servers/certificates.py)
    "CertKind", "ClientHello", "ServerTLS", "TLSRecord", "TestPKI", "close_notify", "expect_client_hello",
    "handshake", "send_raw",
]
