"""Keeps the clients under test on loopback and independent of the machine they run on.

HTTP clients read settings from the environment: proxies (HTTP_PROXY, HTTPS_PROXY, ALL_PROXY,
NO_PROXY, in upper and lower case; libcurl and urllib.request read them even when told nothing),
CA bundles (SSL_CERT_FILE and SSL_CERT_DIR for OpenSSL and the ssl module, REQUESTS_CA_BUNDLE,
CURL_CA_BUNDLE), credentials (.netrc, found through NETRC or HOME) and a file to log TLS secrets to
(SSLKEYLOGFILE). A proxy variable would send a scenario's requests off the machine, a CA variable
would change what a TLS scenario verifies against. This plugin removes those variables for the
whole run, points NETRC at an empty file, and puts everything back when the run ends (an
in-process pytester run leaves its caller's environment as it found it). The built-in adapters
also switch off their client's environment lookups where the client allows it (requests, httpx
and aiohttp `trust_env=False`, libcurl's PROXY "" and NETRC_IGNORED, urllib's explicit
ProxyHandler), so a variable set after this plugin ran (by a test's monkeypatch) reaches nothing.

Registered by suites/plugin.py (`pytest_plugins`). xdist workers inherit the controller's cleaned
environment and clean their own as well.
"""

from __future__ import annotations

import os

import pytest

_PROXY_NAMES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "FTP_PROXY", "SOCKS_PROXY")
# Variables removed for the run, in every case spelling that clients look up.
NEUTRALISED = (
    *_PROXY_NAMES, *(name.lower() for name in _PROXY_NAMES),
    "SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSLKEYLOGFILE",
)
# Variables set for the run: no client finds credentials in a .netrc.
PINNED = {"NETRC": os.devnull}

_SAVED_KEY = pytest.StashKey[dict[str, str | None]]()


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


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    # tryfirst: before the suite's plugin resolves --impl, which imports the clients.
    config.stash[_SAVED_KEY] = isolate(os.environ)


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    saved = config.stash.get(_SAVED_KEY, None)
    if saved is not None:
        restore(os.environ, saved)
