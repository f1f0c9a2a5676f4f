"""STARTTLS against a real aiosmtpd: certificates are checked, nothing goes out in clear."""

from __future__ import annotations

import asyncio
import shutil
import ssl
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from email.message import EmailMessage
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from notifications.relay import deliver
from notifications.sender import SmtpSender
from storage import Database
from tests.integration.test_mail_smtp import queue, statuses
from tests.mailkit import T0, Handler, free_port, mail_settings, new_db

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None,
                                reason="the openssl command is needed to make test certificates")


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A test CA and a server certificate for 127.0.0.1 signed by it."""
    d = tmp_path_factory.mktemp("certs")
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj",
             "/CN=rollout test CA", "-keyout", "ca.key", "-out", "ca.pem", cwd=d)
    _openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1",
             "-keyout", "server.key", "-out", "server.csr", cwd=d)
    (d / "san.ext").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    _openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
             "-CAcreateserial", "-days", "2", "-extfile", "san.ext", "-out", "server.pem", cwd=d)
    return d


def _accept_anyone(*_args: object) -> AuthResult:
    return AuthResult(success=True)


@contextmanager
def _server(certs: Path, **smtp: object) -> Iterator[tuple[Handler, int]]:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(certs / "server.pem", certs / "server.key")
    handler, port = Handler(), free_port()
    ctrl = Controller(handler, hostname="127.0.0.1", port=port, tls_context=context, **smtp)
    ctrl.start()
    try:
        yield handler, port
    finally:
        ctrl.stop()


@pytest.fixture
def tls_server(certs: Path) -> Iterator[tuple[Handler, int]]:
    """An SMTP server that refuses mail until the client has switched to TLS."""
    with _server(certs, require_starttls=True) as server:
        yield server


@pytest.fixture
def lax_server(certs: Path) -> Iterator[tuple[Handler, int]]:
    """A server that offers STARTTLS but would also take a login and mail in clear."""
    with _server(certs, require_starttls=False, authenticator=_accept_anyone,
                 auth_require_tls=False) as server:
        yield server


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    d = new_db(tmp_path)
    yield d
    d.dispose()


def test_starttls_with_a_trusted_certificate_delivers(
        db: Database, tmp_path: Path, certs: Path, tls_server: tuple[Handler, int],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """With starttls on and the server's CA trusted, the message goes out over TLS."""
    handler, port = tls_server
    monkeypatch.setenv("SSL_CERT_FILE", str(certs / "ca.pem"))
    settings = mail_settings(tmp_path, port)
    settings = replace(settings, smtp=replace(settings.smtp, starttls=True))
    ids = queue(db)
    deliver(db, settings, T0)
    assert statuses(db) == [("sent", 1)]
    assert handler.message_ids() == ids


def test_closing_a_tls_session_releases_its_socket(
        tmp_path: Path, certs: Path, tls_server: tuple[Handler, int],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """When the sender's close() returns, the socket under TLS is closed, not left to the GC.

    The TLS shutdown runs on the event loop after close(); a relay whose loop ended first left
    an unclosed transport behind (a ResourceWarning that failed a CI run)."""
    handler, port = tls_server
    monkeypatch.setenv("SSL_CERT_FILE", str(certs / "ca.pem"))
    settings = mail_settings(tmp_path, port)
    sender = SmtpSender(replace(settings.smtp, starttls=True))
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = settings.sender, "a@example.org", "Проверка"
    msg["Message-ID"] = "<close-test@rollout.test>"
    msg.set_content("Текст письма")

    async def send_and_close() -> tuple[str, int]:
        outcome = await sender.send(msg, settings.sender, ["a@example.org"], 1)
        sock = sender._smtp.transport.get_extra_info("socket")  # type: ignore[union-attr]
        await sender.close()
        return outcome.status, sock.fileno()

    status, fileno = asyncio.run(send_and_close())
    assert status == "sent"
    assert fileno == -1
    assert handler.message_ids() == ["<close-test@rollout.test>"]


def test_untrusted_certificate_sends_nothing(
        db: Database, tmp_path: Path, certs: Path, tls_server: tuple[Handler, int],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A certificate the client cannot verify stops delivery; the message stays unsent."""
    handler, port = tls_server
    monkeypatch.setenv("SSL_CERT_FILE", str(certs / "server.key"))  # trusts no CA at all
    settings = mail_settings(tmp_path, port)
    settings = replace(settings, smtp=replace(settings.smtp, starttls=True))
    queue(db)
    deliver(db, settings, T0)
    assert handler.received == []
    assert statuses(db)[0][0] != "sent"


def test_credentials_force_starttls(
        db: Database, tmp_path: Path, certs: Path, lax_server: tuple[Handler, int],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """With a username set, STARTTLS is required even if the file does not ask for it."""
    handler, port = lax_server
    monkeypatch.setenv("SSL_CERT_FILE", str(certs / "server.key"))
    settings = mail_settings(tmp_path, port)
    settings = replace(settings, smtp=replace(settings.smtp, starttls=False, username="relay",
                                              password="secret"))
    queue(db)
    deliver(db, settings, T0)
    # The server would have taken the login and the message in clear; the client insisted on
    # TLS, could not verify the certificate, and sent nothing.
    assert handler.received == []
    assert statuses(db)[0][0] != "sent"
