"""The webhook notifier never reaches a refused address: not through a rebinding name
(public when checked, loopback when connecting), not through a redirect, not to the cloud
metadata address even when every network is allow-listed."""

from __future__ import annotations

import ssl
from pathlib import Path

import httpx
import pytest

from alerts.notify.notifiers.base import Message, PermanentError
from alerts.notify.notifiers.webhook import WebhookNotifier
from core.net import PinnedTransport, parse_networks
from core.settings import Settings
from tests.rebind import PUBLIC, Listener, rebinding


def _send(settings: Settings, target: str) -> str:
    notifier = WebhookNotifier(settings.copy_with(notify={"webhook_secret": "bi-mat"}))
    return notifier.send(Message(key="k1", target=target, subject="Cảnh báo", text="Nội dung"))


def test_webhook_to_a_rebinding_name_never_connects(settings: Settings) -> None:
    # given production's rule and a receiver name that turns into 127.0.0.1 after the check
    strict = settings.copy_with(http={"allowed_private_networks": ""})
    with Listener() as receiver, rebinding({"hook.test": [PUBLIC, "127.0.0.1"]}) as dns:
        # when / then: refused for good, and no POST reached the loopback receiver
        with pytest.raises(PermanentError, match="refused.*127.0.0.1"):
            _send(strict, receiver.url("/hook", host="hook.test"))
        assert dns.lookups["hook.test"] == 2
        assert receiver.connections == 0


def test_webhook_redirect_to_a_forbidden_address_is_not_followed(settings: Settings) -> None:
    # given an allowed receiver (127.0.0.1/32) that redirects to a forbidden one
    with Listener() as receiver, Listener("127.0.0.2") as forbidden:
        url = receiver.route("/hook", 307, Location=forbidden.url("/hook"))
        # when / then: the 307 is the receiver's answer; the signed body goes nowhere else
        with pytest.raises(PermanentError, match="HTTP 307"):
            _send(settings, url)
        assert receiver.connections == 1 and forbidden.connections == 0


@pytest.mark.parametrize(
    "target",
    ["http://169.254.169.254/latest/meta-data/", "http://[fe80::1]/hook", "http://0.0.0.0/hook"],
)
def test_webhook_to_metadata_refused_even_when_every_network_is_listed(
    settings: Settings, target: str
) -> None:
    # given an allow-list that names every address
    everything = settings.copy_with(http={"allowed_private_networks": "0.0.0.0/0 ::/0"})
    # when / then
    with pytest.raises(PermanentError, match="refused"):
        _send(everything, target)


def test_webhook_delivers_to_an_allow_listed_receiver(settings: Settings) -> None:
    # given a receiver on 127.0.0.1, which the test settings allow (127.0.0.1/32)
    with Listener() as receiver:
        url = receiver.route("/hook", 200, body=b'{"ok":true}')
        # when / then: the pinned client still delivers to an allowed address
        assert _send(settings, url) == "k1"
        assert receiver.connections == 1


def test_pinned_https_verifies_the_url_name_not_the_pinned_address(
    tls_files: tuple[Path, Path, Path],
) -> None:
    # given an https receiver whose certificate names localhost and 127.0.0.1, and a client
    # trusting its CA that connects to checked addresses only
    ca, cert, key = tls_files
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(cert, key)
    client_tls = ssl.create_default_context(cafile=str(ca))
    loopback = parse_networks("127.0.0.1/32")
    with (
        Listener(tls=server_tls) as receiver,
        rebinding({"other.test": ["127.0.0.1"]}),
        httpx.Client(transport=PinnedTransport(loopback, verify=client_tls)) as client,
    ):
        receiver.route("/hook", 200, body=b"ok")
        # when the URL names localhost, the pinned connection sends that name and verifies it
        assert client.get(receiver.url("/hook", host="localhost")).text == "ok"
        assert receiver.server_names == ["localhost"]
        # then a name the certificate does not carry fails, although it is pinned to an
        # address the certificate does carry
        with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
            client.get(receiver.url("/hook", host="other.test"))
