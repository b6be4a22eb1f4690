"""h1conform driver (protocol 1, docs/driver-protocol.md) for the curl command-line tool.

Runs one `curl` process per request, so requests never share a connection: the driver does not
declare `persistent-connections`. Everything curl is told goes in its argument vector as bytes,
which keeps every byte of methods, URLs and header values except NUL (a C string cannot hold it:
such a request is unsupported). curl writes the response heads to one file (`-D`), the body to
another (`-o`), and its response code and connection count to standard output (`-w`); all of them
live in one temporary directory, removed when the driver exits. Standard library only.

Agent mode (docs/driver-protocol.md, section 4): an agent session is curl as a user runs it to
fetch a page: `-L` (follow redirects, curl's default limit of 50), `--compressed` (ask for and
decode every coding this curl was built with) and the cookie engine on a file of the session's
(`-b FILE -c FILE`: read before each request, written after it; removed at close), the final URL
from `-w %{url_effective}`. A streamed read has curl write the decoded body into a pipe the driver
reads `chunk_size` at a time; at the limit curl is killed, and the answer carries curl's peak
resident set (its rusage): curl, not the driver, decodes.
"""

from __future__ import annotations

import base64
import itertools
import json
import os
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

NAME = "curl-cli"
# `field-order`: the -D file holds the response's field lines as received, names as sent.
FEATURES = ["custom-methods", "duplicate-headers", "reason-phrase", "response-version", "tls",
            "client-certificate", "forward-proxy", "connect-tunnel", "field-order"]

# The exit code of the curl tool is libcurl's CURLcode (man curl, "EXIT CODES").
CODE_NAMES = {
    1: "CURLE_UNSUPPORTED_PROTOCOL", 2: "CURLE_FAILED_INIT", 3: "CURLE_URL_MALFORMAT",
    5: "CURLE_COULDNT_RESOLVE_PROXY", 6: "CURLE_COULDNT_RESOLVE_HOST", 7: "CURLE_COULDNT_CONNECT",
    8: "CURLE_WEIRD_SERVER_REPLY", 18: "CURLE_PARTIAL_FILE", 23: "CURLE_WRITE_ERROR",
    26: "CURLE_READ_ERROR", 27: "CURLE_OUT_OF_MEMORY", 28: "CURLE_OPERATION_TIMEDOUT",
    35: "CURLE_SSL_CONNECT_ERROR", 43: "CURLE_BAD_FUNCTION_ARGUMENT", 47: "CURLE_TOO_MANY_REDIRECTS",
    52: "CURLE_GOT_NOTHING",
    53: "CURLE_SSL_ENGINE_NOTFOUND", 54: "CURLE_SSL_ENGINE_SETFAILED", 55: "CURLE_SEND_ERROR",
    56: "CURLE_RECV_ERROR", 58: "CURLE_SSL_CERTPROBLEM", 59: "CURLE_SSL_CIPHER",
    60: "CURLE_PEER_FAILED_VERIFICATION", 64: "CURLE_USE_SSL_FAILED", 66: "CURLE_SSL_ENGINE_INITFAILED",
    77: "CURLE_SSL_CACERT_BADFILE", 80: "CURLE_SSL_SHUTDOWN_FAILED", 82: "CURLE_SSL_CRL_BADFILE",
    83: "CURLE_SSL_ISSUER_ERROR", 90: "CURLE_SSL_PINNEDPUBKEYNOTMATCH", 91: "CURLE_SSL_INVALIDCERTSTATUS",
    97: "CURLE_PROXY", 98: "CURLE_SSL_CLIENTCERT",
}
# curl's refusals of a request it cannot build: a URL its parser rejects (a space or a control
# character in it), a scheme it does not know. They count as refusals only when curl made no
# connection (see `_kind`).
VALIDATION_ERRORS = ["CURLE_URL_MALFORMAT", "CURLE_UNSUPPORTED_PROTOCOL"]
REFUSAL_CODES = {3, 1}
TLS_CODES = {35, 53, 54, 58, 59, 60, 64, 66, 77, 80, 82, 83, 90, 91, 98}
KIND_BY_CODE = {
    28: "timeout",
    7: "connection-closed",  # nothing listens
    52: "connection-closed",  # "Empty reply from server": closed before any byte of a response
    55: "connection-closed",  # the request could not be sent: the server closed or reset
    18: "incomplete-message",  # "transfer closed with N bytes remaining to read"
    8: "protocol-error",  # "Weird server reply": a status line or field curl cannot parse
    97: "protocol-error",  # the proxy's answer to CONNECT was not usable
    61: "protocol-error",  # a transfer coding curl does not know, or one with parameters
}
# What curl does as a user agent, with -L and a cookie file, beside the codings it decodes (see
# `agent_features`); it retries nothing without --retry.
AGENT_BASICS = ["follows-redirects", "cookie-jar"]
# The content codings --compressed decodes, by the feature of `curl --version` that brings them.
CODINGS_BY_BUILD_FEATURE = {"libz": ["decodes-gzip", "decodes-deflate"], "brotli": ["decodes-br"],
                            "zstd": ["decodes-zstd"]}
HEAD_KEPT = 65536  # octets of a streamed body its answer carries
# The only environment variable curl is given (see `_environment`).
ENVIRONMENT_PASSED = ("PATH",)
WHITESPACE = " \t"


class ProtocolMisuse(Exception):
    """The suite sent something the protocol does not allow: the driver stops (the suite reports it)."""


class Unsupported(Exception):
    """A request or session curl's command line cannot express."""


@dataclass(frozen=True)
class Session:
    timeout: float
    tls: dict | None
    proxy: str | None
    cookies: Path | None = None  # an agent session's cookie file (None: a wire session, no redirects)

    @property
    def agent(self) -> bool:
        return self.cookies is not None


@dataclass(frozen=True)
class Files:
    """Where one request's files go inside the driver's temporary directory."""

    head: Path
    body: Path
    upload: Path

    def remove(self) -> None:
        for path in (self.head, self.body, self.upload):
            path.unlink(missing_ok=True)


def curl_version_lines() -> list[str]:
    """What `curl --version` says: "curl 7.88.1 (x86_64-pc-linux-gnu) libcurl/7.88.1 ...", then
    its release date, protocols and features."""
    result = subprocess.run(["curl", "--version"], capture_output=True, env=_environment(), check=True)
    return result.stdout.decode("latin-1").splitlines()


def agent_features(version_lines: list[str]) -> list[str]:
    """The agent features of this curl: redirects, cookies, and the codings its build decodes."""
    built = next((line.split(":", 1)[1].split() for line in version_lines if line.startswith("Features:")), [])
    return AGENT_BASICS + [feature for name in built for feature in CODINGS_BY_BUILD_FEATURE.get(name, [])]


def _environment() -> dict[str, str]:
    # Only PATH: curl reads proxies (http_proxy...), CA bundles (CURL_CA_BUNDLE, SSL_CERT_FILE...),
    # a TLS key log (SSLKEYLOGFILE) and its config file's location (CURL_HOME, HOME) from it.
    return {name: os.environ[name] for name in ENVIRONMENT_PASSED if name in os.environ}


def open_session(command: dict, cookies: Path) -> Session:
    """The session `command` opens; `cookies` is where an agent session keeps its cookie file."""
    tls = command["tls"]
    if tls is not None and not tls["check_hostname"]:
        # --insecure turns off the certificate check as well, and the tool has no option that
        # turns off only the hostname check (libcurl's CURLOPT_SSL_VERIFYHOST alone).
        raise Unsupported("curl's command line cannot skip only the hostname check (--insecure skips the "
                          "certificate check too)")
    if tls is not None and tls["client_cert"] is not None and ":" in tls["client_cert"]:
        raise Unsupported("curl reads a colon in --cert as the start of a password")
    return Session(command["timeout"], tls, command["proxy"], cookies if command.get("agent") else None)


def _latin1(text: str) -> bytes:
    # The protocol's strings carry one byte per character (U+0000 to U+00FF).
    return text.encode("latin-1")


def _header_argument(name: bytes, value: bytes) -> bytes:
    if name.startswith(b"@"):
        raise Unsupported("curl reads -H @name as a file of headers")
    if b":" in name:
        # -H splits at the first colon: 'X:Y: v' would be the field X with the value 'Y: v'.
        raise Unsupported("curl's -H 'Name: value' cannot carry a name with ':'")
    if value.strip(b" \t"):
        return name + b": " + value
    if value:
        raise Unsupported("curl cannot send a value of only whitespace (\"Name: \" removes the field)")
    if b";" in name:
        raise Unsupported("curl's empty-value syntax \"Name;\" cannot carry a name with ';'")
    # "Name;" is curl's syntax for a field with an empty value ("Name:" would remove the field).
    return name + b";"


def curl_arguments(session: Session, command: dict, files: Files, empty_dir: Path,
                   body_to: Path | None = None) -> list[bytes]:
    """curl's arguments for `command`; the body goes to `files.body`, or to `body_to` if given."""
    method, url = _latin1(command["method"]), _latin1(command["url"])
    headers = [(_latin1(name), _latin1(value)) for name, value in command["headers"]]
    if any(b"\0" in part for part in (method, url, *(n + v for n, v in headers))):
        raise Unsupported("curl takes its arguments as C strings: it cannot send a NUL byte")
    arguments = [b"curl", b"-q",  # -q first: ignore ~/.curlrc
                 b"--http1.1", b"--no-progress-meter", b"--globoff",  # [ ] { } in URLs are not patterns
                 b"--connect-timeout", str(session.timeout).encode(), b"--max-time", str(session.timeout).encode(),
                 b"-D", bytes(files.head), b"-o", bytes(body_to or files.body),
                 b"-w", b"%{response_code} %{num_connects}" + (b" %{url_effective}" if session.agent else b"")]
    if session.cookies is not None:
        cookies = bytes(session.cookies)
        arguments += [b"--location", b"--compressed", b"--cookie", cookies, b"--cookie-jar", cookies]
    arguments += _proxy_arguments(session.proxy, url)
    arguments += _tls_arguments(session.tls, empty_dir)
    for name, value in headers:
        arguments += [b"-H", _header_argument(name, value)]
    arguments += _method_and_body(method, command["body"], headers, files.upload, session.agent)
    arguments += [b"--url", url]
    return arguments


def _proxy_arguments(proxy: str | None, url: bytes) -> list[bytes]:
    if proxy is None:
        return [b"--noproxy", b"*"]
    # The proxy's answer to CONNECT is not the response: keep it out of the head file.
    tunnel = [b"--proxytunnel", b"--suppress-connect-headers"] if url[:8].lower() == b"https://" else []
    return [b"--proxy", _latin1(proxy), *tunnel]


def _tls_arguments(tls: dict | None, empty_dir: Path) -> list[bytes]:
    if tls is None:
        return []
    arguments = []
    if tls["ca_file"] is not None:
        # Trust only this file: an empty --capath replaces the build's default CA directory.
        arguments += [b"--cacert", os.fsencode(tls["ca_file"]), b"--capath", bytes(empty_dir)]
    if tls["client_cert"] is not None:
        cert = os.fsencode(tls["client_cert"])
        arguments += [b"--cert", cert, b"--key", cert, b"--cert-type", b"PEM"]
    return arguments


def _method_and_body(method: bytes, body: str | None, headers: list[tuple[bytes, bytes]],
                     upload: Path, agent: bool) -> list[bytes]:
    if method == b"HEAD":
        if body is not None:
            raise Unsupported("curl's --head sends no body")
        # --head: curl reads no body after the head (-X HEAD would wait for one).
        return [b"--head"]
    if agent and method == b"PUT" and body is not None:
        # As a user uploads with curl (-T): curl then follows a 303 with GET and a 301/302 with
        # the PUT and its body, where -X PUT would force PUT onto every hop (its documented
        # effect). "Expect:" keeps the request as the other PUTs of the suite send it.
        upload.write_bytes(base64.b64decode(body))
        return [b"-T", bytes(upload), b"-H", b"Expect:"]
    arguments = []
    if body is not None:
        upload.write_bytes(base64.b64decode(body))
        arguments += [b"--data-binary", b"@" + bytes(upload)]
        if not any(name.lower() == b"content-type" for name, _ in headers):
            # --data-binary is the tool's form post: it adds "Content-Type:
            # application/x-www-form-urlencoded", a field this request did not ask for.
            arguments += [b"-H", b"Content-Type:"]
    inferred = b"POST" if body is not None else b"GET"
    if method != inferred:  # -X for what curl infers only makes it print a note
        arguments += [b"-X", method]
    return arguments


def run_request(session: Session, command: dict, files: Files, empty_dir: Path) -> dict:
    arguments = curl_arguments(session, command, files, empty_dir)
    result = subprocess.run(arguments, stdin=subprocess.DEVNULL, capture_output=True, env=_environment())
    heads = files.head.read_bytes().decode("latin-1") if files.head.exists() else ""
    if result.returncode != 0:
        return {"error": _error(result, heads, session.agent)}
    # -w wrote "CODE CONNECTS", and " URL" in an agent session.
    written = result.stdout.decode("latin-1").split(" ", 2)
    code, url = written[0], written[2] if session.agent else None
    head = last_head(heads)
    # --head writes the head into the -o file: a HEAD response has no body.
    body = b"" if command["method"] == "HEAD" or not files.body.exists() else files.body.read_bytes()
    response = {"status": int(code), "reason": head.reason, "version": head.version, "headers": head.fields,
                "body": base64.b64encode(body).decode("ascii")}
    if url:
        response["url"] = url
    return {"response": response}


def run_stream(session: Session, command: dict, files: Files, empty_dir: Path) -> dict:
    """An agent session's streamed read: curl writes the decoded body into a pipe, read here
    `chunk_size` octets at a time and dropped, until `limit` octets or the end; then curl is
    killed (the response released) and reaped with its resource usage, for its peak memory."""
    chunk_size, limit = command["stream"]["chunk_size"], command["stream"]["limit"]
    read_end, write_end = os.pipe()
    try:
        arguments = curl_arguments(session, command, files, empty_dir, body_to=Path(f"/dev/fd/{write_end}"))
        process = subprocess.Popen(arguments, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, env=_environment(), pass_fds=(write_end,))
    except BaseException:
        os.close(read_end)
        raise
    finally:
        os.close(write_end)
    received, pieces, head, ended = 0, 0, bytearray(), False
    try:
        with open(read_end, "rb", buffering=0) as body:
            while received < limit and not ended:
                piece = body.read(chunk_size)
                ended = not piece
                received, pieces = received + len(piece), pieces + bool(piece)
                head += piece[:HEAD_KEPT - len(head)]
        if not ended:
            # At the limit: curl may still be decoding the rest. Not Popen.kill(), whose poll()
            # would reap curl and lose its resource usage; unreaped, its pid is still curl's.
            os.kill(process.pid, signal.SIGKILL)
        assert process.stdout is not None and process.stderr is not None
        written, message = process.stdout.read(), process.stderr.read()
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
    finally:
        if process.returncode is None:  # the driver is being stopped: curl goes too
            process.kill()
            process.wait()
        process.stdout.close()
        process.stderr.close()
    if process.returncode > 0:
        heads = files.head.read_bytes().decode("latin-1") if files.head.exists() else ""
        completed = subprocess.CompletedProcess(arguments, process.returncode, written, message)
        return {"error": _error(completed, heads, session.agent)}
    # ru_maxrss is in KiB on Linux: curl's peak resident set over its whole life.
    return {"streamed": {"received": received, "pieces": pieces, "head": base64.b64encode(head).decode("ascii"),
                         "child_peak_resident": usage.ru_maxrss * 1024}}


@dataclass
class Head:
    """One response head as curl wrote it: the status line and the fields, in order."""

    status_line: str = ""
    fields: list[list[str]] = field(default_factory=list)  # [name, value] pairs
    complete: bool = False

    @property
    def version(self) -> str | None:
        return self.status_line.split(" ", 1)[0] or None

    @property
    def reason(self) -> str:
        parts = self.status_line.split(" ", 2)
        return parts[2] if len(parts) > 2 else ""


def last_head(text: str) -> Head:
    """The last response head curl wrote to the -D file, after any 1xx head.

    curl writes each line as it received it, ended by LF (CR LF if the server sent that). Heads
    follow each other, each ended by an empty line; the lines after the final head's empty line
    that do not start a new head are trailer fields, which are not the response's header fields.
    """
    head = Head()
    for line in text.split("\n")[:-1]:
        line = line.removesuffix("\r")
        if head.complete:
            if line.startswith("HTTP/"):
                head = Head(status_line=line)
        elif not head.status_line:
            head.status_line = line
        elif not line:
            head.complete = True
        elif line[:1] in (" ", "\t") and head.fields:
            # obs-fold: curl gives the continuation line as it came; join it to the field before.
            name, value = head.fields[-1]
            head.fields[-1] = [name, value + " " + line.strip(WHITESPACE)]
        else:
            name, _, value = line.partition(":")
            head.fields.append([name, value.strip(WHITESPACE)])
    return head


def _error(result: subprocess.CompletedProcess, heads: str, agent: bool) -> dict:
    message = result.stderr.decode("latin-1").rstrip("\n")
    code = result.returncode
    if code < 0:
        return {"kind": "unclassified", "type": f"signal {-code}", "message": message}
    connected = _connections(result.stdout) != 0
    kind = _agent_kind(code, message, connected) if agent else None
    return {"kind": kind or _kind(code, message, connected, response_started=bool(heads)),
            "type": CODE_NAMES.get(code, f"CURLcode {code}"), "message": message}


def _connections(written: bytes) -> int | None:
    """How many connections curl made (-w's %{num_connects}), None if it did not say."""
    fields = written.split(b" ", 2)  # an agent session's -w adds the final URL
    return int(fields[1]) if len(fields) >= 2 and fields[1].isdigit() else None


def _kind(code: int, message: str, connected: bool, response_started: bool) -> str:
    if code in REFUSAL_CODES:
        if not connected:
            return "invalid-input"
        # After connecting, CURLE_UNSUPPORTED_PROTOCOL is a response's HTTP version curl does not
        # support ("Unsupported HTTP version in response", or HTTP/0.9 it does not accept).
        return "protocol-error" if code == 1 else "unclassified"
    if code in TLS_CODES:
        return "tls-failure"
    if code == 56:
        return _receive_error_kind(message.lower(), response_started)
    if code == 43 and response_started:
        # libcurl 7.88 stops its response parser with CURLE_BAD_FUNCTION_ARGUMENT, its code for
        # any bad parameter, on a chunked body it cannot decode ("Failed reading the
        # chunked-encoded stream") or a folded line with no field before it.
        return "protocol-error"
    if code == 27 and connected:
        # libcurl 7.88 refuses a response head line longer than its limit (CURL_MAX_HTTP_HEADER,
        # 100 KiB) with its buffer's error, CURLE_OUT_OF_MEMORY (later versions: CURLE_TOO_LARGE).
        return "protocol-error"
    return KIND_BY_CODE.get(code, "unclassified")


def _agent_kind(code: int, message: str, connected: bool) -> str | None:
    """The kind of an agent session's failure where it differs from the wire profile's, else None."""
    if code == 47:  # CURLE_TOO_MANY_REDIRECTS: more than --max-redirs (50 by default)
        return "redirect-refused"
    if code in REFUSAL_CODES and connected and ("redirect" in message or "not supported or disabled" in message):
        # After a connection, only a Location leads curl to a URL it refuses: "The redirect target
        # URL could not be parsed: ..." (CURLE_URL_MALFORMAT, or CURLE_UNSUPPORTED_PROTOCOL for a
        # scheme it does not know), 'Protocol "file" not supported or disabled in libcurl' (a
        # scheme outside --proto-redir's default). An unsupported HTTP version stays a protocol error.
        return "redirect-refused"
    if code == 61 and "transfer" not in message.lower():
        # CURLE_BAD_CONTENT_ENCODING names both codings: a content coding's failure ("Error while
        # processing content unencoding", "Unrecognized content encoding type", "Reject response
        # due to more than N content encodings") is the decoding's; a transfer coding's stays a
        # protocol error.
        return "decoding-error"
    return None


def _receive_error_kind(message: str, response_started: bool) -> str:
    # CURLE_RECV_ERROR covers every failed read; its text is all that tells them apart.
    if "unexpected eof" in message:
        # A TLS connection that ended without close_notify while curl still expected data: the
        # transport's end, as a TCP FIN is for plain HTTP (RFC 9112 9.8).
        return "incomplete-message" if response_started else "connection-closed"
    if "ssl" in message or "tls" in message:
        return "tls-failure"
    if "reset" in message or "connection" in message:
        return "connection-closed"
    return "protocol-error"  # e.g. a malformed chunked encoding, or a head over curl's size limit


def handle(command: dict, sessions: dict[str, Session], directory: Path) -> dict:
    operation = command.get("op")
    if operation == "open":
        sessions[command["session"]] = open_session(command, directory / f"cookies-{next(_cookie_files)}")
        return {"ok": True}
    if operation == "close":
        session = sessions.pop(command["session"], None)  # no connection outlives its curl process
        if session is not None and session.cookies is not None:
            session.cookies.unlink(missing_ok=True)
        return {"ok": True}
    if operation == "request":
        if command["session"] not in sessions:
            raise ProtocolMisuse(f"request in a session that is not open: {command['session']!r}")
        session = sessions[command["session"]]
        files = Files(directory / "head", directory / "body", directory / "upload")
        try:
            if "stream" in command:
                if not session.agent:
                    raise ProtocolMisuse("a stream request in a session that is not an agent's")
                return run_stream(session, command, files, directory / "empty")
            return run_request(session, command, files, directory / "empty")
        finally:
            files.remove()
    raise ProtocolMisuse(f"unknown op: {operation!r}")


_cookie_files = itertools.count(1)


def answer(message: dict) -> None:
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


def serve(directory: Path) -> None:
    (directory / "empty").mkdir()
    version_lines = curl_version_lines()
    answer({"type": "hello", "protocol": 1, "name": NAME, "client": "curl (command line)",
            "version": version_lines[0], "features": FEATURES, "validation_errors": VALIDATION_ERRORS,
            "agent_features": agent_features(version_lines)})
    sessions: dict[str, Session] = {}
    for line in sys.stdin.buffer:
        try:
            command = json.loads(line)
        except ValueError as garbage:
            raise ProtocolMisuse(f"not a JSON line: {garbage}") from garbage
        try:
            reply = handle(command, sessions, directory)
        except Unsupported as why:
            reply = {"unsupported": str(why)}
        answer({"id": command["id"], **reply})


def _stop(signum: int, frame: object) -> None:
    # Ends the driver through SystemExit, so that the temporary directory is removed and a running
    # curl is killed (subprocess.run kills its child on any exception).
    raise SystemExit(128 + signum)


def main() -> int:
    signal.signal(signal.SIGTERM, _stop)
    with tempfile.TemporaryDirectory(prefix="h1conform-curl-") as directory:
        try:
            serve(Path(directory))
        except ProtocolMisuse as misuse:
            print(f"{NAME}: {misuse}", file=sys.stderr)
            return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
