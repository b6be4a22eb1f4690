"""Two exchanges in one session, where the second shows where the first response ended.

A client that keeps connections sends the second request on the first connection, and its answer
comes intact only if the client found the first response's end itself (the server keeps the
connection open). A client may instead announce in its first request that it will close the
connection (`Connection: close`; undici does after every HEAD), and then MUST NOT send another
request on it (RFC 9112 9.6): its second request goes on a new connection, which is served too.
What it announced decides what is checked, so that a client is judged on the first response's
end and never on a choice RFC 9112 leaves to it.
"""

from __future__ import annotations

from h1conform.servers import WHOLE, Delivery, ScriptedServer, Step, respond, respond_if_sent


def script_two_exchanges(server: ScriptedServer, first: list[Step], second_response: bytes,
                         delivery: Delivery = WHOLE) -> None:
    """The first connection runs `first` then answers a second request with `second_response`
    if the client sends one there; a second connection, for a client that announced the close of
    the first, answers it too."""
    server.add_connection(*first, respond_if_sent(second_response, delivery))
    server.add_connection(respond(second_response, delivery), optional=True)


def check_same_connection(server: ScriptedServer, rule: str) -> None:
    """The two requests shared the first connection, unless the first announced its close."""
    if b"close" in server.connection(0).requests[0].connection_options:
        return
    assert len(server.connections) == 1, (
        f"{rule}: the next response must follow on the same connection (the client did not announce its close); "
        f"it opened {len(server.connections)} connections")
