"""suites/harness/reuse.py: a second exchange on the first connection, unless the client announced
its close; and RecordedRequest.connection_options, which it reads."""

from __future__ import annotations

import pytest
from raw_sockets import TIMEOUT, connect, recv_exactly

from h1conform.servers import ScriptedServer, respond
from h1conform.suites.harness.reuse import check_same_connection, script_two_exchanges

FIRST = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfirst"
NEXT = b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nnext"


def _get(target: bytes, connection: bytes | None = None) -> bytes:
    field = b"Connection: " + connection + b"\r\n" if connection is not None else b""
    return b"GET " + target + b" HTTP/1.1\r\nHost: x\r\n" + field + b"\r\n"


def _two_exchanges(server: ScriptedServer, connection: bytes | None, new_connection: bool) -> None:
    """A client that asks for / (with `connection` as its Connection field) then /next, on the
    same connection or on a new one."""
    script_two_exchanges(server, respond(FIRST), NEXT)
    first = connect(server)
    try:
        first.sendall(_get(b"/", connection))
        recv_exactly(first, len(FIRST))
        if new_connection:
            first.close()
            with connect(server) as second:
                second.sendall(_get(b"/next"))
                assert recv_exactly(second, len(NEXT)) == NEXT
        else:
            first.sendall(_get(b"/next"))
            assert recv_exactly(first, len(NEXT)) == NEXT
    finally:
        first.close()
    assert server.wait_connections(2 if new_connection else 1, TIMEOUT)
    for index in range(len(server.connections)):
        assert server.connection(index).wait_finished(TIMEOUT)


@pytest.mark.parametrize("connection, new_connection", [
    pytest.param(None, False, id="kept"),
    pytest.param(b"keep-alive, Close", True, id="announced-close-new-connection"),
    pytest.param(b"close", False, id="announced-close-kept-anyway"),
])
def test_the_second_exchange_is_judged_by_what_the_client_announced(connection: bytes | None,
                                                                    new_connection: bool) -> None:
    with ScriptedServer() as server:
        _two_exchanges(server, connection, new_connection)
        check_same_connection(server, "rule")
    assert [request.target for request in server.requests] == [b"/", b"/next"]


def test_a_new_connection_without_announcing_the_close_fails() -> None:
    with ScriptedServer() as server:
        _two_exchanges(server, None, True)
        with pytest.raises(AssertionError, match="rule: the next response must follow on the same connection"):
            check_same_connection(server, "rule")


def test_the_unused_second_connection_is_no_error() -> None:
    # A client that keeps the first connection never opens the optional second one.
    with ScriptedServer() as server:
        _two_exchanges(server, None, False)
    assert server.errors == [] and len(server.connections) == 1


def test_connection_options_are_every_field_line_as_one_list() -> None:
    with ScriptedServer() as server:
        server.add_connection(respond(FIRST))
        with connect(server) as sock:
            sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: Keep-Alive, ,TE\r\nConnection:\tclose \r\n\r\n")
            recv_exactly(sock, len(FIRST))
        assert server.connection(0).wait_finished(TIMEOUT)
    assert server.requests[0].connection_options == [b"keep-alive", b"te", b"close"]
