"""Each channel against a local server that speaks its real wire format."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Callable

import pytest

from alerts.notify.notifiers.base import InlineImage, Message, PermanentError, TransientError
from alerts.notify.notifiers.email import EmailNotifier, message_id
from alerts.notify.notifiers.webhook import WebhookNotifier, verify
from alerts.notify.notifiers.zalo import ZaloNotifier
from core.settings import Settings
from tests.alerts.conftest import FakeApi, HttpCall, SmtpServer, parts

TITLE = "Phụ huynh phản ánh <script>alert(1)</script> lạm thu"


def test_email_starttls_auth_multipart(notify_settings: Settings, smtp_server: SmtpServer) -> None:
    # given a message with a Vietnamese subject, HTML, text and an inline image
    msg = Message(
        key="alert:1:lvl:0:email:hieu.truong@truong.edu.vn",
        target="hieu.truong@truong.edu.vn",
        subject=f"[Khẩn] Tình huống nóng: {TITLE}\r\nBcc: ke-gian@example.com",
        text="Nội dung thư",
        html='<p>Nội dung thư</p><img src="cid:bieu-do">',
        images=[InlineImage(cid="bieu-do", data=b"\x89PNG\r\n\x1a\nfake")],
    )
    # when it is sent over STARTTLS with AUTH
    delivery = EmailNotifier(notify_settings).send(msg)
    # then the server received one UTF-8 message with both parts and a stable Message-ID
    (got,) = smtp_server.messages
    assert got["Subject"] == f"[Khẩn] Tình huống nóng: {TITLE} Bcc: ke-gian@example.com"
    assert got["Bcc"] is None and got["To"] == "hieu.truong@truong.edu.vn"
    assert got["Message-ID"] == delivery == message_id(msg.key, notify_settings.smtp.sender)
    assert delivery.endswith("@so-gddt.vn>")
    text, html = parts(got)
    assert text.strip() == "Nội dung thư" and "<p>Nội dung thư</p>" in html
    images = [p for p in got.walk() if p.get_content_type() == "image/png"]
    assert len(images) == 1 and images[0]["Content-ID"] == "<bieu-do>"
    assert smtp_server.inbox.envelopes[0] == ("diemtin@so-gddt.vn", ["hieu.truong@truong.edu.vn"])


def test_email_errors(notify_settings: Settings, smtp_server: SmtpServer) -> None:
    msg = Message(key="k", target="a@b.vn", subject="S", text="T")
    # a temporary refusal is transient, a permanent one is not
    smtp_server.inbox.refuse = ["451 4.3.0 Try again later"]
    with pytest.raises(TransientError):
        EmailNotifier(notify_settings).send(msg)
    smtp_server.inbox.refuse = ["554 5.7.1 Rejected"]
    with pytest.raises(PermanentError):
        EmailNotifier(notify_settings).send(msg)
    # wrong credentials and a bad address are permanent; no server is transient
    with pytest.raises(PermanentError, match="authentication"):
        EmailNotifier(notify_settings.copy_with(smtp={"password": "sai"})).send(msg)
    for bad in ("x\r\n@y", "a@b@c", "x@", "@b.vn"):
        with pytest.raises(PermanentError, match="not an email"):
            EmailNotifier(notify_settings).send(Message(key="k", target=bad, subject="", text=""))
    smtp_server.stop()
    with pytest.raises(TransientError):
        EmailNotifier(notify_settings).send(msg)
    assert smtp_server.messages == []


def zalo_server(fake_api: Callable[..., FakeApi], error: int = 0) -> FakeApi:
    """A Zalo OA API that checks the request like the real one and answers `error`."""

    def respond(call: HttpCall) -> tuple[int, dict[str, str], object]:
        if call.path != "/v3.0/oa/message/cs":
            return 404, {}, {"error": 404, "message": "not found"}
        if call.headers.get("access_token") != "zalo-token-thu":
            return 200, {}, {"error": -216, "message": "Access token is invalid"}
        body = call.json()
        if not (body["recipient"]["user_id"] and body["message"]["text"]):
            return 200, {}, {"error": -201, "message": "Parameters are invalid"}
        if error:
            return 200, {}, {"error": error, "message": "error"}
        data = {"message_id": "3f1c7a9e", "user_id": body["recipient"]["user_id"]}
        return 200, {}, {"error": 0, "message": "Success", "data": data}

    return fake_api(respond)


def test_zalo_wire_format(notify_settings: Settings, fake_api: Callable[..., FakeApi]) -> None:
    api = zalo_server(fake_api)
    settings = notify_settings.copy_with(notify={"zalo_api_base": api.url})
    msg = Message(key="k", target="8063947237857451397", subject="S", text="Tin nóng: " + TITLE)
    assert ZaloNotifier(settings).send(msg) == "3f1c7a9e"
    (call,) = api.calls
    assert call.headers["access_token"] == "zalo-token-thu"
    assert call.headers["Content-Type"].startswith("application/json")
    assert call.json() == {
        "recipient": {"user_id": "8063947237857451397"},
        "message": {"text": "Tin nóng: " + TITLE},
    }
    # an expired token is permanent; the API's rate limit is transient
    expired = settings.copy_with(notify={"zalo_access_token": "het-han"})
    with pytest.raises(PermanentError, match="-216"):
        ZaloNotifier(expired).send(msg)
    limited = settings.copy_with(notify={"zalo_api_base": zalo_server(fake_api, -32).url})
    with pytest.raises(TransientError, match="-32"):
        ZaloNotifier(limited).send(msg)
    with pytest.raises(PermanentError, match="not a Zalo user id"):
        ZaloNotifier(settings).send(Message(key="k", target="abc", subject="", text="x"))


def test_webhook_signed(notify_settings: Settings, fake_api: Callable[..., FakeApi]) -> None:
    seen: set[str] = set()

    def respond(call: HttpCall) -> tuple[int, dict[str, str], object]:
        # the receiver checks the signature on its own, as a third party would
        ts = call.headers["X-Diemtin-Timestamp"]
        mac = hmac.new(b"bi-mat-webhook", ts.encode() + b"." + call.body, hashlib.sha256)
        if call.headers["X-Diemtin-Signature"] != "sha256=" + mac.hexdigest():
            return 401, {}, {"error": "bad signature"}
        if abs(time.time() - int(ts)) > 300:
            return 401, {}, {"error": "stale"}
        key = call.headers["Idempotency-Key"]
        duplicate = key in seen
        seen.add(key)
        return 200, {}, {"ok": True, "duplicate": duplicate}

    api = fake_api(respond)
    msg = Message(
        key="alert:7:lvl:1:webhook:x", target=api.url + "/hook", subject="Tin nóng",
        text=TITLE, payload={"event": "alert", "alert": {"id": 7, "title": TITLE}},
    )  # fmt: skip
    assert WebhookNotifier(notify_settings).send(msg) == msg.key
    WebhookNotifier(notify_settings).send(msg)
    first, second = api.calls
    body = first.json()
    assert body["event"] == "alert" and body["alert"]["title"] == TITLE and body["key"] == msg.key
    assert first.headers["Idempotency-Key"] == second.headers["Idempotency-Key"] == msg.key
    assert verify("bi-mat-webhook", first.headers["X-Diemtin-Timestamp"], first.body,
                  first.headers["X-Diemtin-Signature"])  # fmt: skip
    assert not verify("khac", first.headers["X-Diemtin-Timestamp"], first.body,
                      first.headers["X-Diemtin-Signature"])  # fmt: skip
    # a wrong secret is refused by the receiver: permanent; a 503 is transient
    with pytest.raises(PermanentError, match="401"):
        WebhookNotifier(notify_settings.copy_with(notify={"webhook_secret": "sai"})).send(msg)
    down = fake_api(lambda call: (503, {"Retry-After": "120"}, {"error": "maintenance"}))
    with pytest.raises(TransientError) as exc:
        WebhookNotifier(notify_settings).send(
            Message(key="k", target=down.url, subject="", text="")
        )
    assert exc.value.retry_after_s == 120
    assert json.loads(down.calls[0].body)["key"] == "k"


def test_webhook_refuses_the_departments_own_network(
    notify_settings: Settings, fake_api: Callable[..., FakeApi]
) -> None:
    # given production settings (no private targets) and a receiver on loopback
    api = fake_api(lambda call: (200, {}, {"ok": True}))
    strict = notify_settings.copy_with(http={"allowed_private_networks": ""})
    # when / then: loopback, private ranges and the cloud metadata address are refused for
    # good, before any connection is made
    for target in (
        api.url + "/hook",
        "http://10.0.0.8/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]:8080/hook",
    ):
        with pytest.raises(PermanentError, match="refused"):
            WebhookNotifier(strict).send(Message(key="k", target=target, subject="", text=""))
    assert api.calls == []
