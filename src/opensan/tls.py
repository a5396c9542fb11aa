"""The server's TLS certificate: PEM files an administrator gives, or the array's own.

A real array serves HTTPS from its first start, as QSAN's arrays do: with a self-signed
certificate it makes then and keeps in its state dir, so that a client that trusted it once
(its file as a CA file, or its fingerprint) goes on trusting it at every later start. Given or
kept, the files are checked before the server starts, and a problem is one line that names the
file (TlsProblem).
"""

from __future__ import annotations

import ipaddress
import os
import socket
import ssl
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

# The array's own certificate and key, in its state dir.
CERT_FILE = "tls-cert.pem"
KEY_FILE = "tls-key.pem"
# Arrays make certificates that outlive them; ten years, like theirs, and nobody renews them.
VALIDITY = timedelta(days=3650)
_WILDCARDS = {"", "0.0.0.0", "::"}


class TlsProblem(ValueError):
    """A certificate or key that cannot be served, said in one line that names the file."""


@dataclass(frozen=True)
class Certificate:
    """A certificate and key that belong together, how a client recognises them, and what
    the server secures its connections with."""

    cert_file: Path
    key_file: Path
    fingerprint: str  # SHA-256 of the certificate (DER), as "AB:CD:...", as browsers show it
    not_after: datetime
    context: ssl.SSLContext = field(repr=False, compare=False)


def fingerprint(certificate: x509.Certificate) -> str:
    return certificate.fingerprint(hashes.SHA256()).hex(":").upper()


def load(cert_file: Path, key_file: Path) -> Certificate:
    """The certificate (the server's first, then any chain) and its unencrypted private key,
    checked to belong together; raises TlsProblem."""
    cert_pem, key_pem = _read(cert_file, "certificate"), _read(key_file, "key")
    try:
        chain = x509.load_pem_x509_certificates(cert_pem)
    except ValueError:
        raise TlsProblem(f"TLS certificate {cert_file} is not a PEM certificate") from None
    try:
        key = serialization.load_pem_private_key(key_pem, password=None)
    except TypeError:  # cryptography's word for a key that needs a passphrase
        raise TlsProblem(f"TLS key {key_file} is encrypted; give it without a passphrase"
                         ) from None
    except (ValueError, UnsupportedAlgorithm):
        raise TlsProblem(f"TLS key {key_file} is not a PEM private key") from None
    if _public(chain[0].public_key()) != _public(key.public_key()):
        raise TlsProblem(f"TLS key {key_file} is not the key of certificate {cert_file}")
    return Certificate(cert_file, key_file, fingerprint(chain[0]), chain[0].not_valid_after_utc,
                       _server_context(cert_file, key_file))


def kept(state_dir: Path, listen_host: str) -> Certificate:
    """The array's own certificate in state_dir: made at the first start, the same after.

    It is made for the address the server listens on, localhost, 127.0.0.1, ::1, this
    machine's name and the addresses that name has; a later start keeps it whatever it
    listens on (delete both files for a new one). The certificate is written last: a start
    cut short before it leaves no certificate, and the next start makes the pair anew. Raises
    OSError when the state dir cannot hold them, TlsProblem when the kept ones are unusable.
    """
    cert_file, key_file = state_dir / CERT_FILE, state_dir / KEY_FILE
    if not cert_file.exists():
        state_dir.mkdir(parents=True, exist_ok=True)
        make(cert_file, key_file, _names(listen_host))
    try:
        return load(cert_file, key_file)
    except TlsProblem as problem:
        raise TlsProblem(f"{problem}; delete {cert_file} and {key_file} to make new ones"
                         ) from None


def make(cert_file: Path, key_file: Path, names: Iterable[str]) -> None:
    """Write a new self-signed certificate for these names, and its key (mode 0600) first."""
    certificate, key = _self_signed(names)
    _write(key_file, key.private_bytes(serialization.Encoding.PEM,
                                       serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()), 0o600)
    _write(cert_file, certificate.public_bytes(serialization.Encoding.PEM), 0o644)


def _self_signed(names: Iterable[str]) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    """A self-signed server certificate (ECDSA P-256) for these names and addresses: its own
    trust anchor, for clients that are given it as their CA file."""
    names = list(dict.fromkeys(names))
    key = ec.generate_private_key(ec.SECP256R1())
    public = key.public_key()
    subject = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "OpenSAN"),
                         x509.NameAttribute(NameOID.COMMON_NAME, names[0][:64])])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject).issuer_name(subject).public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(hours=1))  # a client whose clock is a little behind
        .not_valid_after(now + VALIDITY)
        .add_extension(x509.SubjectAlternativeName([_general_name(n) for n in names]),
                       critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(
            digital_signature=True, content_commitment=False, key_encipherment=False,
            data_encipherment=False, key_agreement=False, key_cert_sign=False, crl_sign=False,
            encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(public),
                       critical=False)
        .sign(key, hashes.SHA256())
    )
    return certificate, key


# TLS 1.2's suites of Mozilla's "intermediate" configuration: forward secret, AEAD only (TLS
# 1.3's are all of that kind).
_CIPHERS = "ECDHE+AESGCM:ECDHE+CHACHA20:DHE+AESGCM:DHE+CHACHA20"


def _server_context(cert_file: Path, key_file: Path) -> ssl.SSLContext:
    """TLS 1.2 or later, forward secret AEAD suites, HTTP/1.1 only (the server speaks no
    HTTP/2)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.set_ciphers(_CIPHERS)
    context.set_alpn_protocols(["http/1.1"])
    try:
        context.load_cert_chain(cert_file, key_file)
    except (OSError, ssl.SSLError) as error:
        raise TlsProblem(f"cannot serve TLS certificate {cert_file} with key {key_file}: "
                         f"{error.strerror or error}") from None
    return context


def _names(listen_host: str) -> list[str]:
    """The names a client may reach this server by; the first becomes the common name."""
    hostname = socket.gethostname()
    try:
        addresses = [str(info[4][0]) for info in socket.getaddrinfo(hostname, None)]
    except OSError:  # a name that does not resolve: the certificate still names it
        addresses = []
    names = [hostname, "localhost", "127.0.0.1", "::1", *addresses]
    if listen_host not in _WILDCARDS:
        names.insert(0, listen_host)
    return [name for name in names if name.isascii() and "%" not in name]  # no IPv6 zones


def _general_name(name: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(name))
    except ValueError:
        return x509.DNSName(name)


def _public(key: PublicKeyTypes) -> bytes:
    return key.public_bytes(serialization.Encoding.DER,
                            serialization.PublicFormat.SubjectPublicKeyInfo)


def _read(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as error:
        raise TlsProblem(f"cannot read TLS {what} {path}: {error.strerror}") from None


def _write(path: Path, content: bytes, mode: int) -> None:
    """Write the file whole and durably under its name, with this mode from the start."""
    temporary = path.with_name(path.name + ".new")
    with os.fdopen(os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode), "wb") as file:
        os.fchmod(file.fileno(), mode)  # a file left by an earlier attempt keeps its mode
        file.write(content)
        file.flush()
        os.fsync(file.fileno())
    os.replace(temporary, path)
