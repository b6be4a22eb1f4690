"""What a scenario may cite: RFC requirement sentences and entries of the http.client documentation.

RFC requirements come from `suites/spec/client-requirements.tsv`, the project's copy of
shared/spec/client-requirements.tsv (a test keeps the two identical), so that an installed suite
can validate and quote them, and from `suites/spec/agent-requirements.tsv`, the sentences of
RFC 6265 (cookies) that the agent profile cites. Documentation entries are the names the Python 3.12/3.13
`http.client` page documents, spelled as dotted names (`http.client.HTTPResponse.read`).
"""

from __future__ import annotations

import csv
import functools
from dataclasses import dataclass
from importlib import resources


@dataclass(frozen=True)
class Requirement:
    id: str  # e.g. RFC9112-6.3-p2-s7
    level: str  # the BCP 14 keyword as written: MUST, MUST NOT, SHOULD, ...
    applies: str  # "client" when the sentence binds a client
    testable: str  # yes, partly, no, or "-"
    topic: str
    text: str

    @property
    def rfc(self) -> str:
        return self.id.split("-", 1)[0]


# The tables of citable sentences: RFC 9110 and RFC 9112 (shared/spec's), then the user agent's
# other specifications (RFC 6265's cookie rules), in the same columns.
TABLES = ("client-requirements.tsv", "agent-requirements.tsv")


@functools.cache
def requirements() -> dict[str, Requirement]:
    """Every requirement sentence of RFC 9110 and RFC 9112, and of the agent profile's other RFCs, by id."""
    found: dict[str, Requirement] = {}
    for name in TABLES:
        table = resources.files("h1conform.suites.spec").joinpath(name).read_text("utf-8")
        rows = csv.DictReader(table.splitlines(), delimiter="\t", quoting=csv.QUOTE_NONE)
        found.update((row["id"], Requirement(**row)) for row in rows)
    return found


# The documented public API of http.client (Python 3.12 and 3.13). HTTPResponse.peek, read1 and
# readline come from the io.BufferedIOBase interface the page says HTTPResponse implements;
# http.client.connect and http.client.send are the two audit events the page lists.
DOCUMENTED_API: frozenset[str] = frozenset(
    "http.client." + name
    for name in """
    HTTPConnection HTTPSConnection HTTPResponse HTTPMessage parse_headers
    HTTPException NotConnected InvalidURL UnknownProtocol UnknownTransferEncoding
    UnimplementedFileMode IncompleteRead ImproperConnectionState CannotSendRequest
    CannotSendHeader ResponseNotReady BadStatusLine LineTooLong RemoteDisconnected
    HTTP_PORT HTTPS_PORT responses
    HTTPConnection.request HTTPConnection.getresponse HTTPConnection.set_debuglevel
    HTTPConnection.set_tunnel HTTPConnection.get_proxy_response_headers HTTPConnection.connect
    HTTPConnection.close HTTPConnection.blocksize HTTPConnection.putrequest
    HTTPConnection.putheader HTTPConnection.endheaders HTTPConnection.send
    HTTPResponse.read HTTPResponse.readinto HTTPResponse.getheader HTTPResponse.getheaders
    HTTPResponse.fileno HTTPResponse.msg HTTPResponse.version HTTPResponse.url
    HTTPResponse.headers HTTPResponse.status HTTPResponse.reason HTTPResponse.debuglevel
    HTTPResponse.closed HTTPResponse.geturl HTTPResponse.info HTTPResponse.getcode
    HTTPResponse.peek HTTPResponse.read1 HTTPResponse.readline
    HTTPMessage.get_all
    connect send
    """.split()
)


def is_documented(ref: str) -> bool:
    return ref in DOCUMENTED_API


def unknown_references(refs: tuple[str, ...]) -> list[str]:
    """The refs that name neither a known requirement sentence nor a documented API entry."""
    known = requirements()
    return [ref for ref in refs if ref not in known and not is_documented(ref)]
