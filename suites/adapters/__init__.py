"""Wire adapters for third-party and stdlib HTTP clients: `--impl=urllib3`, `requests`, `httpx`,
`aiohttp`, `pycurl` and `urllib` (urllib.request).

Each module exposes `WIRE_ADAPTER`, a `h1conform.suites.harness.wire.WireAdapter` that drives its client the way
everyday code does (one client object per session, so keep-alive is the client's own), with nothing
retried, no redirect followed and no setting read from the environment. Each maps its client's
exceptions onto the wire profile's error kinds (`_common` walks the exception chains the clients wrap
their causes in) and declares in `features` only what its client can express: scenarios that need
more are reported unsupported, never passed.

The clients are optional: h1conform's `clients` extra installs them all (`pip install -e '.[clients]'` in
a checkout, or `pip install 'h1conform[clients] @ git+https://<git-host>/<owner>/h1conform.git'`: it is on
no package index); `h1conform.suites.harness.impls` maps each name to its module and says what to
install when the client is missing.
"""
