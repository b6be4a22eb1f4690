"""The scenario deadline: it fires after a budget without progress, restarts when bytes move, pauses
for the harness's work, gives a Hypothesis property a budget per example, and says what the client
was doing."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from h1conform.servers import ScriptedServer, expect_request, pause, send, stall
from h1conform.suites.harness.deadline import ScenarioTimeout, deadline, deadline_paused, scenario_deadline
from h1conform.suites.harness.progress import ServersWatch

BUDGET = 0.2
LONGER = 2.0  # how long a hanging block would run if the deadline did not stop it


class Progress:
    """A watch whose progress the test makes, in a thread, every `every` seconds for `during` seconds."""

    def __init__(self) -> None:
        self.at: float | None = None
        self.done = threading.Event()

    def last_progress(self) -> float | None:
        return self.at

    def activity(self) -> str:
        return "doing what the test says"

    def run(self, every: float, during: float) -> threading.Thread:
        def bump() -> None:
            end = time.monotonic() + during
            while time.monotonic() < end:
                self.at = time.monotonic()
                time.sleep(every)  # the pace of a fake client's bytes, not an ordering
            self.done.set()

        thread = threading.Thread(target=bump, daemon=True)
        thread.start()
        return thread


def test_it_fires_after_the_budget_without_progress() -> None:
    started = time.monotonic()
    with pytest.raises(ScenarioTimeout, match=r"no progress for 0\.2 s while running \(--scenario-timeout\)"):
        with deadline(BUDGET):
            threading.Event().wait(LONGER)
    assert time.monotonic() - started < LONGER


def test_control_a_block_within_its_budget_finishes() -> None:
    with deadline(LONGER):
        threading.Event().wait(BUDGET / 4)


def test_progress_restarts_it() -> None:
    # Progress every 20 ms for five budgets: the block outlives its budget and is not interrupted.
    progress = Progress()
    with deadline(BUDGET, progress):
        thread = progress.run(every=0.02, during=5 * BUDGET)
        assert progress.done.wait(LONGER * 5)
    thread.join()


def test_control_without_progress_the_same_block_times_out() -> None:
    progress = Progress()
    with pytest.raises(ScenarioTimeout, match="doing what the test says"):
        with deadline(BUDGET, progress):
            progress.done.wait(5 * BUDGET)


def test_once_progress_stops_it_fires_a_budget_later() -> None:
    progress = Progress()
    with pytest.raises(ScenarioTimeout):
        with deadline(BUDGET, progress):
            thread = progress.run(every=0.02, during=2 * BUDGET)
            threading.Event().wait(LONGER * 5)
    thread.join()
    assert progress.at is not None
    assert time.monotonic() - progress.at < LONGER, "it fired soon after the last progress, not at the block's end"


def test_a_paused_deadline_does_not_fire_and_restarts_whole() -> None:
    # The paused block outlasts the budget; after it, the block gets a whole budget again.
    with deadline(BUDGET):
        with deadline_paused():
            threading.Event().wait(3 * BUDGET)
        threading.Event().wait(BUDGET / 2)


def test_control_the_same_block_unpaused_times_out() -> None:
    with pytest.raises(ScenarioTimeout):
        with deadline(BUDGET):
            threading.Event().wait(3 * BUDGET)
            threading.Event().wait(BUDGET / 2)


def test_without_a_deadline_pausing_does_nothing() -> None:
    with deadline_paused():
        pass


# -- a Hypothesis property: a budget per example ------------------------------------------------------


def property_test(example_wait: float) -> Callable[[], None]:
    @settings(max_examples=4, database=None, deadline=None, derandomize=True)
    @given(st.integers(0, 3))
    def each(number: int) -> None:
        threading.Event().wait(example_wait)

    return each


def test_a_property_gets_a_budget_per_example() -> None:
    # Four examples of 0.6 budget each: together they outlast one budget, none does alone.
    test = property_test(BUDGET * 0.6)
    with scenario_deadline(test, BUDGET, Progress()):
        test()
    assert test.hypothesis.inner_test.__name__ == "each", "the wrapper is removed after the call"  # type: ignore[attr-defined]


def test_control_one_budget_for_all_examples_times_out() -> None:
    test = property_test(BUDGET * 0.6)
    with pytest.raises(ScenarioTimeout):
        with deadline(BUDGET):
            test()


def test_a_hanging_example_still_times_out() -> None:
    test = property_test(LONGER)
    started = time.monotonic()
    with pytest.raises(ScenarioTimeout):
        with scenario_deadline(test, BUDGET, Progress()):
            test()
    assert time.monotonic() - started < LONGER


# -- what the client was doing, as the scenario's servers saw it ---------------------------------------


@pytest.fixture
def server() -> Iterator[ScriptedServer]:
    with ScriptedServer() as server:
        yield server


def hang_reading(sock: socket.socket, server: ScriptedServer, *, closing: bool = False) -> str:
    """Block in recv() under a deadline watching `server`; the ScenarioTimeout's reason."""
    with pytest.raises(ScenarioTimeout) as caught:
        with deadline(BUDGET, ServersWatch([server], closing=closing)):
            sock.recv(100)
    return str(caught.value)


def connected(server: ScriptedServer, data: bytes = b"") -> socket.socket:
    sock = socket.create_connection((server.host, server.port), timeout=LONGER * 5)
    sock.sendall(data)
    assert server.wait_connections(1)
    return sock


def test_reason_connecting(server: ScriptedServer) -> None:
    with pytest.raises(ScenarioTimeout, match=r"while connecting \(no connection accepted yet\)"):
        with deadline(BUDGET, ServersWatch([server])):
            threading.Event().wait(LONGER)


def test_reason_sending_the_request_before_any_byte(server: ScriptedServer) -> None:
    server.add_connection(stall())
    with connected(server) as sock:
        assert "while sending the request on connection 0 (connected, nothing sent yet)" in hang_reading(sock, server)


def until(done: Callable[[], bool]) -> None:
    """Until the server's thread has recorded what the test sent (no event says it: polled, bounded)."""
    end = time.monotonic() + LONGER * 5
    while not done():
        assert time.monotonic() < end, "the server's thread did not record the bytes"
        threading.Event().wait(0.01)


def test_reason_sending_the_request(server: ScriptedServer) -> None:
    server.add_connection(stall())
    with connected(server, b"GET / HTTP/1.1\r\n") as sock:
        until(lambda: bool(server.connections[0].received))
        assert "while sending the request on connection 0 (16 bytes arrived so far)" in hang_reading(sock, server)


def test_reason_waiting_for_the_status_line(server: ScriptedServer) -> None:
    server.add_connection(expect_request(), stall())
    with connected(server, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n") as sock:
        until(lambda: bool(server.requests and server.requests[0].complete))
        assert "while waiting for the status line on connection 0" in hang_reading(sock, server)


def test_a_server_at_work_is_no_lack_of_progress(server: ScriptedServer) -> None:
    # The server pauses three budgets before it answers: its time, not the client's.
    server.add_connection(expect_request(), pause(3 * BUDGET), send(b"HTTP/1.1 204 No Content\r\n\r\n"))
    with connected(server, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n") as sock:
        with deadline(BUDGET, ServersWatch([server])):
            assert sock.recv(100).startswith(b"HTTP/1.1 204")


def test_reason_reading_the_response(server: ScriptedServer) -> None:
    server.add_connection(expect_request(), send(b"HTTP/1.1 200 OK\r\n"), stall())
    with connected(server, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n") as sock:
        assert sock.recv(100) == b"HTTP/1.1 200 OK\r\n"
        assert "while reading the response on connection 0 (the server sent 17 bytes)" in hang_reading(sock, server)


def test_reason_reading_or_closing_after_the_whole_response(server: ScriptedServer) -> None:
    server.add_connection(expect_request(), send(b"HTTP/1.1 200 OK\r\n"))
    with connected(server, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n") as sock:
        assert sock.recv(100) == b"HTTP/1.1 200 OK\r\n"
        until(lambda: server.connections[0].script_done)
        assert ("while reading the response on connection 0 (all 17 bytes sent), or closing"
                in hang_reading(sock, server))


def test_reason_closing(server: ScriptedServer) -> None:
    server.add_connection(stall())
    with connected(server) as sock:
        assert "while closing its connections" in hang_reading(sock, server, closing=True)
