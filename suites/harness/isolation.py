"""Keeps the clients under test on loopback and independent of the machine they run on.

HTTP clients read settings from the environment: proxies (HTTP_PROXY, HTTPS_PROXY, ALL_PROXY,
NO_PROXY, in upper and lower case; libcurl and urllib.request read them even when told nothing),
CA bundles (SSL_CERT_FILE and SSL_CERT_DIR for OpenSSL and the ssl module, REQUESTS_CA_BUNDLE,
CURL_CA_BUNDLE), credentials (.netrc, found through NETRC or HOME) and a file to log TLS secrets to
(SSLKEYLOGFILE). A proxy variable would send a scenario's requests off the machine, a CA variable
would change what a TLS scenario verifies against. So, while a scenario test runs (its setup, call
and teardown), and while the suite's plugin imports the implementations under test (`isolated()`,
for clients that read the environment at import), those variables are removed and NETRC points at
an empty file; everything is put back afterwards. Other tests of the same run, a project's own,
see the environment as it was given. The built-in adapters also switch off their client's
environment lookups where the client allows it (requests, httpx and aiohttp `trust_env=False`,
libcurl's PROXY "" and NETRC_IGNORED, urllib's explicit ProxyHandler), so a variable set during a
scenario (by a test's monkeypatch) reaches nothing.

Registered by suites/plugin.py when a run asks for the suite.
"""

from __future__ import annotations

import os
from collections.abc import Generator, Iterator
from contextlib import contextmanager

import pytest

from h1conform.suites.harness.scenario import MARKER

_PROXY_NAMES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "FTP_PROXY", "SOCKS_PROXY")
# Variables removed while a scenario runs, in every case spelling that clients look up.
NEUTRALISED = (
    *_PROXY_NAMES, *(name.lower() for name in _PROXY_NAMES),
    "SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSLKEYLOGFILE",
)
# Variables set while a scenario runs: no client finds credentials in a .netrc.
PINNED = {"NETRC": os.devnull}



@contextmanager
def isolated(environ: os._Environ[str] | dict[str, str] = os.environ) -> Iterator[None]:
    """The environment neutralised for the duration of the block, then put back."""
    saved = isolate(environ)
    try:
        yield
    finally:
        restore(environ, saved)


def isolate(environ: os._Environ[str] | dict[str, str]) -> dict[str, str | None]:
    """Neutralise the variables in `environ`; return what to give `restore` to undo it."""
    saved: dict[str, str | None] = {}
    for name in NEUTRALISED:
        if name in environ:
            saved[name] = environ.pop(name)
    for name, value in PINNED.items():
        saved.setdefault(name, environ.get(name))
        environ[name] = value
    return saved


def restore(environ: os._Environ[str] | dict[str, str], saved: dict[str, str | None]) -> None:
    for name, value in saved.items():
        if value is None:
            environ.pop(name, None)
        else:
            environ[name] = value


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Generator[None, object, object]:
    # tryfirst: around every other wrapper, so the whole of the test (its fixtures too) runs isolated.
    if item.get_closest_marker(MARKER) is None:
        return (yield)
    with isolated():
        return (yield)
