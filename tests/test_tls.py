"""The server's TLS certificate (opensan/tls.py): the one an array makes at its first start and
keeps, and the checks of PEM files an administrator gives."""

from __future__ import annotations

import hashlib
import socket
import ssl
import stat
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from opensan import tls
from opensan.tls import CERT_FILE, KEY_FILE, TlsProblem


def sans(cert_file: Path) -> set[str]:
    certificate = x509.load_pem_x509_certificate(cert_file.read_bytes())
    names = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return {str(name.value) for name in names}


def write_pair(directory: Path, names: list[str], stem: str = "server") -> tuple[Path, Path]:
    cert_file, key_file = directory / f"{stem}-cert.pem", directory / f"{stem}-key.pem"
    tls.make(cert_file, key_file, names)
    return cert_file, key_file


def test_the_first_start_makes_a_certificate_the_next_keeps_it(tmp_path: Path) -> None:
    state = tmp_path / "state"
    made = tls.kept(state, "192.0.2.7")
    assert (made.cert_file, made.key_file) == (state / CERT_FILE, state / KEY_FILE)
    assert stat.S_IMODE(made.key_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(made.cert_file.stat().st_mode) == 0o644
    assert {"192.0.2.7", "localhost", "127.0.0.1", "::1", socket.gethostname()} <= sans(
        made.cert_file)
    assert made.not_after - datetime.now(UTC) > timedelta(days=3640)
    pem = made.cert_file.read_bytes()
    again = tls.kept(state, "127.0.0.1")  # another address later: the certificate stays
    assert again.fingerprint == made.fingerprint and made.cert_file.read_bytes() == pem
    assert sorted(p.name for p in state.iterdir()) == [CERT_FILE, KEY_FILE]


def test_a_wildcard_address_is_not_a_name(tmp_path: Path) -> None:
    names = sans(tls.kept(tmp_path, "0.0.0.0").cert_file)
    assert "0.0.0.0" not in names and "localhost" in names


def test_the_fingerprint_is_the_certificate_s_sha_256(tmp_path: Path) -> None:
    made = tls.kept(tmp_path, "127.0.0.1")
    der = ssl.PEM_cert_to_DER_cert(made.cert_file.read_text())
    assert made.fingerprint == ":".join(f"{b:02X}" for b in hashlib.sha256(der).digest())


def test_a_key_without_its_certificate_is_made_anew(tmp_path: Path) -> None:
    """A start cut short after the key: no client can trust a certificate never written."""
    (tmp_path / KEY_FILE).write_text("half")
    made = tls.kept(tmp_path, "127.0.0.1")
    assert made.key_file.read_text().startswith("-----BEGIN PRIVATE KEY-----")


def test_a_certificate_without_its_key_is_refused_not_replaced(tmp_path: Path) -> None:
    made = tls.kept(tmp_path, "127.0.0.1")
    made.key_file.unlink()
    with pytest.raises(TlsProblem) as raised:
        tls.kept(tmp_path, "127.0.0.1")
    assert f"cannot read TLS key {made.key_file}" in str(raised.value)
    assert f"delete {made.cert_file} and {made.key_file}" in str(raised.value)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[int, tls.Certificate]]:
    """A TLS server with the context the array serves with, answering one connection."""
    certificate = tls.kept(tmp_path / "state", "127.0.0.1")
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(10)

    def answer() -> None:
        connection, _ = listener.accept()
        try:
            with certificate.context.wrap_socket(connection, server_side=True) as secured:
                secured.sendall(b"hello\n")
        except OSError:  # the client refused the certificate
            connection.close()

    thread = threading.Thread(target=answer, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1], certificate
    finally:
        thread.join(10)
        listener.close()


@pytest.mark.parametrize("name", ["127.0.0.1", "localhost"])
def test_a_client_that_trusts_the_file_verifies_the_server(
        server: tuple[int, tls.Certificate], name: str) -> None:
    port, certificate = server
    client = ssl.create_default_context(cafile=certificate.cert_file)
    client.verify_flags |= ssl.VERIFY_X509_STRICT  # Python 3.13's default
    with socket.create_connection(("127.0.0.1", port)) as raw, \
            client.wrap_socket(raw, server_hostname=name) as secured:
        assert secured.recv(6) == b"hello\n"
        assert secured.version() in ("TLSv1.2", "TLSv1.3")
        assert tls.fingerprint(x509.load_der_x509_certificate(
            secured.getpeercert(binary_form=True) or b"")) == certificate.fingerprint


def test_a_client_without_the_file_refuses_the_server(server: tuple[int, tls.Certificate]) -> None:
    port, _ = server
    with socket.create_connection(("127.0.0.1", port)) as raw, pytest.raises(
            ssl.SSLCertVerificationError):
        ssl.create_default_context().wrap_socket(raw, server_hostname="127.0.0.1")


def test_given_files_that_belong_together_are_served(tmp_path: Path) -> None:
    cert_file, key_file = write_pair(tmp_path, ["san01.example", "192.0.2.10"])
    certificate = tls.load(cert_file, key_file)
    assert certificate.fingerprint == tls.fingerprint(
        x509.load_pem_x509_certificate(cert_file.read_bytes()))
    assert sans(cert_file) == {"san01.example", "192.0.2.10"}


def test_given_files_that_cannot_be_served_are_named(tmp_path: Path) -> None:
    cert_file, key_file = write_pair(tmp_path, ["a.example"])
    other_cert, other_key = write_pair(tmp_path, ["b.example"], stem="other")
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("not a pem\n")
    key = serialization.load_pem_private_key(key_file.read_bytes(), password=None)
    encrypted = tmp_path / "encrypted.pem"
    encrypted.write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"passphrase")))
    missing = tmp_path / "missing.pem"
    cases = {
        (missing, key_file): f"cannot read TLS certificate {missing}: No such file or directory",
        (cert_file, missing): f"cannot read TLS key {missing}: No such file or directory",
        (garbage, key_file): f"TLS certificate {garbage} is not a PEM certificate",
        (cert_file, garbage): f"TLS key {garbage} is not a PEM private key",
        (cert_file, cert_file): f"TLS key {cert_file} is not a PEM private key",
        (cert_file, encrypted): f"TLS key {encrypted} is encrypted; give it without a passphrase",
        (cert_file, other_key): f"TLS key {other_key} is not the key of certificate {cert_file}",
        (other_cert, key_file): f"TLS key {key_file} is not the key of certificate {other_cert}",
    }
    for (cert, key_path), said in cases.items():
        with pytest.raises(TlsProblem) as raised:
            tls.load(cert, key_path)
        assert str(raised.value) == said
