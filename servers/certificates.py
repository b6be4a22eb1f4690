"""The certificates TLS scenarios need, all from one test CA (trustme), written to PEM files.

    pki = TestPKI(tmp_dir)                      # one CA; its certificate in pki.ca_file
    ScriptedServer(tls=pki.server(CertKind.GOOD))
    ScriptedServer(tls=pki.server(CertKind.EXPIRED))
    ScriptedServer(tls=pki.server(CertKind.GOOD, require_client_cert=True))
    context.load_cert_chain(pki.client_cert_file)

Every server certificate names the loopback host, `localhost`, `127.0.0.1` and `::1`, except where
being wrong is the point. Certificates are made on first use and cached, so a session pays for
each kind once.
"""

from __future__ import annotations

import datetime
import enum
import ipaddress
import threading
from collections.abc import Callable
from pathlib import Path

import trustme
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from h1conform.servers.tls import ServerTLS

LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")
WRONG_HOST = "wrong-host.example"


class CertKind(enum.Enum):
    """The certificates a TLS server can present; the value is a readable id for tables."""

    GOOD = "good"  # signed by the test CA, for localhost, 127.0.0.1 and ::1
    WRONG_HOST = "wrong-host"  # signed by the test CA, for wrong-host.example only
    EXPIRED = "expired"  # not_after a day ago
    NOT_YET_VALID = "not-yet-valid"  # not_before a day ahead
    SELF_SIGNED = "self-signed"  # its own issuer, for the loopback names
    UNKNOWN_CA = "unknown-ca"  # signed by another CA, for the loopback names
    CHAIN_COMPLETE = "chain-complete"  # signed by an intermediate of the test CA; the server sends both
    CHAIN_INCOMPLETE = "chain-incomplete"  # the same leaf, sent without its intermediate
    NAME_ONLY = "name-only"  # signed by the test CA, for the DNS name localhost only (no IP address)
    IP_ONLY = "ip-only"  # signed by the test CA, for 127.0.0.1 and ::1 only (no DNS name)
    CN_ONLY = "cn-only"  # subject CN=localhost, no subjectAltName at all
    CN_NOT_IN_SAN = "cn-not-in-san"  # subject CN=localhost, subjectAltName DNS:wrong-host.example

    def __str__(self) -> str:
        return self.value


class TestPKI:
    """A test CA and the certificates made from it, as files under `directory`."""

    __test__ = False  # not a pytest test class

    def __init__(self, directory: Path | str) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.ca = trustme.CA(organization_name="h1conform test CA")
        self.ca_file = self._write("ca.pem", self.ca.cert_pem.bytes())
        self._lock = threading.Lock()
        self._files: dict[str, Path] = {}
        self._intermediate: trustme.CA | None = None

    # -- what servers and clients use -------------------------------------------------------------

    def server(self, kind: CertKind = CertKind.GOOD, *, require_client_cert: bool = False) -> ServerTLS:
        """Server TLS settings presenting a certificate of `kind`; with `require_client_cert`, the server
        demands a client certificate signed by the test CA."""
        chain = self._file(f"server-{kind.value}.pem", lambda: self._server_pem(kind))
        return ServerTLS(cert_chain=chain, client_ca=self.ca_file if require_client_cert else None,
                         name=kind.value + (" (client certificate required)" if require_client_cert else ""))

    def make_all(self) -> list[Path]:
        """Make every certificate now (else each is made on first use), so that a session pays for
        them before its scenarios start: their making is then no scenario's time. Returns their files."""
        servers = [Path(self.server(kind).cert_chain) for kind in CertKind]
        return [*servers, self.client_cert_file, self.untrusted_client_cert_file]

    @property
    def client_cert_file(self) -> Path:
        """PEM with a client certificate (signed by the test CA) and its key, for load_cert_chain()."""
        return self._file("client.pem", lambda: self.ca.issue_cert(
            "client.h1conform.test", common_name="h1conform test client").private_key_and_cert_chain_pem.bytes())

    @property
    def untrusted_client_cert_file(self) -> Path:
        """PEM with a client certificate and key signed by a CA the servers do not trust."""
        return self._file("client-untrusted.pem", lambda: trustme.CA().issue_cert(
            "client.h1conform.test", common_name="untrusted client").private_key_and_cert_chain_pem.bytes())

    # -- making them ------------------------------------------------------------------------------

    def _file(self, name: str, make: Callable[[], bytes]) -> Path:
        with self._lock:
            path = self._files.get(name)
            if path is None:
                path = self._files[name] = self._write(name, make())
            return path

    def _write(self, name: str, data: bytes) -> Path:
        path = self.directory / name
        path.write_bytes(data)
        return path

    def _server_pem(self, kind: CertKind) -> bytes:
        """Key, leaf and the chain the server sends, in one PEM."""
        now = datetime.datetime.now(datetime.timezone.utc)
        day = datetime.timedelta(days=1)
        if kind is CertKind.GOOD:
            return self.ca.issue_cert(*LOOPBACK_NAMES).private_key_and_cert_chain_pem.bytes()
        if kind is CertKind.WRONG_HOST:
            return self.ca.issue_cert(WRONG_HOST).private_key_and_cert_chain_pem.bytes()
        if kind is CertKind.NAME_ONLY:
            return self.ca.issue_cert("localhost").private_key_and_cert_chain_pem.bytes()
        if kind is CertKind.IP_ONLY:
            return self.ca.issue_cert("127.0.0.1", "::1").private_key_and_cert_chain_pem.bytes()
        if kind is CertKind.EXPIRED:
            leaf = self.ca.issue_cert(*LOOPBACK_NAMES, not_before=now - 30 * day, not_after=now - day)
            return leaf.private_key_and_cert_chain_pem.bytes()
        if kind is CertKind.NOT_YET_VALID:
            leaf = self.ca.issue_cert(*LOOPBACK_NAMES, not_before=now + day, not_after=now + 30 * day)
            return leaf.private_key_and_cert_chain_pem.bytes()
        if kind is CertKind.UNKNOWN_CA:
            return trustme.CA(organization_name="unknown CA").issue_cert(
                *LOOPBACK_NAMES).private_key_and_cert_chain_pem.bytes()
        if kind in (CertKind.CHAIN_COMPLETE, CertKind.CHAIN_INCOMPLETE):
            if self._intermediate is None:
                self._intermediate = self.ca.create_child_ca()
            leaf = self._intermediate.issue_cert(*LOOPBACK_NAMES)
            pems = [blob.bytes() for blob in leaf.cert_chain_pems]
            sent = pems if kind is CertKind.CHAIN_COMPLETE else pems[:1]
            return leaf.private_key_pem.bytes() + b"".join(sent)
        if kind is CertKind.SELF_SIGNED:
            return _self_signed()
        if kind is CertKind.CN_ONLY:
            return self._signed_by_ca(common_name="localhost", san=None)
        if kind is CertKind.CN_NOT_IN_SAN:
            return self._signed_by_ca(common_name="localhost", san=[WRONG_HOST])
        raise ValueError(f"unknown certificate kind {kind!r}")  # pragma: no cover

    def _signed_by_ca(self, *, common_name: str, san: list[str] | None) -> bytes:
        """A server certificate trustme cannot make: its names exactly as given (CN, SAN or none)."""
        ca_key = serialization.load_pem_private_key(self.ca.private_key_pem.bytes(), password=None)
        ca_cert = x509.load_pem_x509_certificate(self.ca.cert_pem.bytes())
        assert isinstance(ca_key, ec.EllipticCurvePrivateKey)
        key = ec.generate_private_key(ec.SECP256R1())
        builder = _leaf_builder(common_name, san, key, ca_cert.subject)
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        return _pem(key, builder.sign(ca_key, hashes.SHA256()))


def _leaf_builder(common_name: str, san: list[str] | None, key: ec.EllipticCurvePrivateKey,
                  issuer: x509.Name) -> x509.CertificateBuilder:
    now = datetime.datetime.now(datetime.timezone.utc)
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=True,
                                     data_encipherment=False, key_agreement=False, key_cert_sign=False,
                                     crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
    )
    if san is not None:
        builder = builder.add_extension(x509.SubjectAlternativeName([_general_name(name) for name in san]),
                                        critical=False)
    return builder


def _general_name(name: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(name))
    except ValueError:
        return x509.DNSName(name)


def _self_signed() -> bytes:
    """A certificate for the loopback names that is its own issuer (a CA certificate, as such
    certificates usually are), trusted by nobody."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.SubjectAlternativeName([_general_name(n) for n in LOOPBACK_NAMES]), critical=False)
        .sign(key, hashes.SHA256())
    )
    return _pem(key, cert)


def _pem(key: ec.EllipticCurvePrivateKey, cert: x509.Certificate) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()) + cert.public_bytes(serialization.Encoding.PEM)
