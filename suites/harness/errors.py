"""The harness's own failures, kept apart from the client's.

A scenario's verdict must depend on the client alone. When the harness itself cannot go on (a wait
on one of its own server threads that runs out, a server that fails for its own reasons), the
scenario ends with the verdict `error` and this reason, never as the client's `fail`.
"""

from __future__ import annotations

# How long the harness waits on its own threads (a server reaching a step, a connection closing on
# the server side). Only a broken harness runs out of it: it is no measure of the client's speed,
# so it is generous enough for any loaded machine.
HARNESS_WAIT = 60.0


class HarnessError(Exception):
    """The harness broke, not the client: the scenario's verdict is `error`, with this message."""
