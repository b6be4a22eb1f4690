"""The table of request faults that suites/test_fault_rows.py turns into rows: each class of fault
(octets that no part of a request may contain), each part of a request a caller controls, and the
cells that older scenarios already try. Apart from the scenarios so that tests/ can check the table
against what the suite collects.
"""

from __future__ import annotations

from dataclasses import dataclass

# Each class of fault: the octets put inside a valid element.
FAULTS = {
    "nul": "\x00",
    "cr": "\r",
    "cr-sp": "\r ",
    "lf": "\n",
    "lf-sp": "\n ",
    "crlf": "\r\n",
    "del": "\x7f",
    "obs-fold": "\r\n ",
    "obs-fold-htab": "\r\n\t",
}


@dataclass(frozen=True)
class Part:
    """A part of a request that a caller controls: its valid value, where a fault goes into it, and
    the exception http.client refuses it with."""

    name: str
    valid: str
    at: int
    refusal: str  # "ValueError", "InvalidURL" or TUNNEL_REFUSAL

    def with_fault(self, fault: str) -> str:
        return self.valid[:self.at] + FAULTS[fault] + self.valid[self.at:]


TUNNEL_REFUSAL = "ValueError or InvalidURL"  # http.client documents neither for set_tunnel()

# Parts given to request() or putrequest() / putheader().
METHOD = Part("method", "GET", 1, "ValueError")
PATH = Part("path", "/a/b", 2, "InvalidURL")
QUERY = Part("query", "/p?q=v", 4, "InvalidURL")
FIELD_NAME = Part("field-name", "X-Name", 2, "ValueError")
FIELD_VALUE = Part("field-value", "value", 3, "ValueError")
HOST_FIELD = Part("host-field", "origin.example:8080", 6, "ValueError")  # a Host field the caller gives
# The host given to HTTPConnection (it becomes the Host field).
HOST = Part("host", "origin.example", 6, "InvalidURL")
# What set_tunnel() is given: the tunnel host (the CONNECT target) and the CONNECT request's fields,
# refused by set_tunnel() or by connect() before the CONNECT request is sent.
TUNNEL_HOST = Part("tunnel-host", "origin.example", 6, TUNNEL_REFUSAL)
TUNNEL_FIELD_NAME = Part("tunnel-field-name", "X-Tunnel", 2, TUNNEL_REFUSAL)
TUNNEL_FIELD_VALUE = Part("tunnel-field-value", "value", 3, TUNNEL_REFUSAL)
TUNNEL_HOST_FIELD = Part("tunnel-host-field", "origin.example:8080", 6, TUNNEL_REFUSAL)

PARTS = (METHOD, PATH, QUERY, FIELD_NAME, FIELD_VALUE, HOST_FIELD, HOST, TUNNEL_HOST, TUNNEL_FIELD_NAME,
         TUNNEL_FIELD_VALUE, TUNNEL_HOST_FIELD)

# (part, class) -> the rows of older scenarios that already try it (every `how` they have).
COVERED_ELSEWHERE: dict[tuple[str, str], tuple[str, ...]] = {
    ("method", "cr"): ("request.line.method.refused-api[request-cr]", "request.line.method.refused-api[putrequest-cr]"),
    ("method", "crlf"): ("request.line.method.refused-api[request-crlf-injection]",
                         "request.line.method.refused-api[putrequest-crlf-injection]"),
    ("method", "del"): ("request.line.method.refused-api[request-del]", "request.line.method.refused-api[putrequest-del]"),
    **{("path", fault): (f"request.line.target.refused-api[request-{row}]", f"request.line.target.refused-api[putrequest-{row}]")
       for fault, row in (("nul", "nul"), ("cr", "cr"), ("lf", "lf"), ("crlf", "crlf-injection"), ("del", "del"))},
    ("query", "crlf"): ("request.line.target.refused-api[request-crlf-in-query]",
                        "request.line.target.refused-api[putrequest-crlf-in-query]"),
    **{("field-name", fault): (f"request.headers.name.refused-api[request-{row}]",
                               f"request.headers.name.refused-api[putheader-{row}]")
       for fault, row in (("nul", "nul"), ("crlf", "crlf-injection"))},
    **{("field-value", fault): (f"request.headers.value.refused-api[request-{row}]",
                                f"request.headers.value.refused-api[putheader-{row}]")
       for fault, row in (("nul", "nul"), ("cr", "bare-cr"), ("lf", "lf-injection"), ("crlf", "crlf-injection"),
                          ("obs-fold", "obs-fold"))},
    **{("host", fault): (f"request.host.refused[constructor-{row}]", f"request.host.refused[host-port-string-{row}]")
       for fault, row in (("nul", "nul"), ("lf", "lf"), ("crlf", "crlf-injection"), ("del", "del"))},
    ("tunnel-host", "lf"): ("tunnel.injection[host-lf]",),
    ("tunnel-host", "crlf"): ("tunnel.injection[host-crlf]",),
    ("tunnel-field-name", "crlf"): ("tunnel.injection[header-name-crlf]",),
    ("tunnel-field-value", "lf"): ("tunnel.injection[header-value-lf]",),
    ("tunnel-field-value", "crlf"): ("tunnel.injection[header-value-crlf]",),
    ("tunnel-host-field", "crlf"): ("tunnel.injection[caller-host-crlf]",),
}
