"""Generic webhook: a JSON POST signed with HMAC-SHA256 over "<timestamp>.<body>"."""

from __future__ import annotations

import hashlib
import hmac
import json
import time

import httpx

from alerts.notify.notifiers.base import Message, Notifier, PermanentError, TransientError, register
from core.net import BlockedURLError, FetchError, check_public_url, pinned_client
from core.settings import Settings

# Replies that mean "try again later" rather than "this request is wrong".
RETRYABLE_STATUS = frozenset({408, 409, 425, 429})


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The X-Diemtin-Signature value: "sha256=" + hex HMAC of "<timestamp>.<body>"."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify(
    secret: str, timestamp: str, body: bytes, signature: str, max_age_s: float = 300
) -> bool:
    """Receiver side: signature matches and the timestamp is fresh (replay protection)."""
    try:
        fresh = abs(time.time() - int(timestamp)) <= max_age_s
    except ValueError:
        return False
    return fresh and hmac.compare_digest(sign(secret, timestamp, body), signature)


class WebhookNotifier:
    """POSTs {event, key, subject, text, url, ...payload} to the subscription's URL."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def send(self, message: Message) -> str:
        """POST one event; returns the idempotency key (the receiver dedupes on it)."""
        if not self.settings.notify.webhook_secret:
            raise PermanentError("DIEMTIN_WEBHOOK_SECRET is not set")
        if not message.target.startswith(("https://", "http://")):
            raise PermanentError(f"not an http(s) URL: {message.target!r}")
        # The target is stored data: never let it reach the Department's own network
        # (loopback, private ranges, cloud metadata), as the crawlers never do. Checked here
        # for a clear error; the pinned client checks again when it connects.
        allowed = self.settings.http.private_networks
        try:
            check_public_url(message.target, allowed)
        except BlockedURLError as exc:
            raise PermanentError(f"webhook target refused: {exc}") from exc
        except FetchError as exc:
            raise TransientError(f"webhook target: {exc}") from exc
        body = json.dumps(
            {"key": message.key, "subject": message.subject, "text": message.text,
             **message.payload},
            ensure_ascii=False, separators=(",", ":"),
        ).encode()  # fmt: skip
        timestamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": self.settings.http.user_agent,
            "X-Diemtin-Timestamp": timestamp,
            "X-Diemtin-Signature": sign(self.settings.notify.webhook_secret, timestamp, body),
            "Idempotency-Key": message.key,
        }
        try:
            # Connects only to the address it checked (a rebinding name cannot swap in a
            # loopback address after the check) and never through an environment proxy,
            # which would see signed payloads. Redirects are not followed.
            with pinned_client(allowed, timeout=self.settings.http.timeout_s) as client:
                resp = client.post(message.target, content=body, headers=headers)
        except BlockedURLError as exc:
            raise PermanentError(f"webhook target refused: {exc}") from exc
        except FetchError as exc:
            raise TransientError(f"webhook target: {exc}") from exc
        except httpx.HTTPError as exc:
            raise TransientError(f"webhook unreachable: {type(exc).__name__}") from exc
        if resp.is_success:
            return message.key
        if resp.status_code >= 500 or resp.status_code in RETRYABLE_STATUS:
            retry_after = resp.headers.get("Retry-After", "")
            raise TransientError(
                f"webhook HTTP {resp.status_code}",
                retry_after_s=float(retry_after) if retry_after.isdigit() else None,
            )
        raise PermanentError(f"webhook HTTP {resp.status_code}")


@register("webhook")
def _factory(settings: Settings) -> Notifier:
    return WebhookNotifier(settings)
