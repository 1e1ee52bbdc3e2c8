"""Zalo Official Account: a customer-care text message (Message API v3, /v3.0/oa/message/cs)."""

from __future__ import annotations

import httpx

from alerts.notify.notifiers.base import Message, Notifier, PermanentError, TransientError, register
from core.settings import Settings

# Zalo caps a text message at 2000 characters.
MAX_TEXT = 2000
# Error codes worth retrying: -32 (the OA's rate limit) and -100 (unknown error, "try again
# later"). Everything else (-216/-124 invalid or expired access token, -201 bad parameter,
# -213 user does not follow the OA, -230 user has not interacted recently, ...) needs a
# person to act, so it is permanent; HTTP 429/5xx and network errors are transient.
TRANSIENT_CODES = frozenset({-32, -100})


class ZaloNotifier:
    """Sends the plain-text part to a Zalo user id (the subscription target)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def send(self, message: Message) -> str:
        """Send one text message; returns Zalo's message_id."""
        token = self.settings.notify.zalo_access_token
        if not token:
            raise PermanentError("DIEMTIN_ZALO_ACCESS_TOKEN is not set")
        if not message.target.strip().isdigit():
            raise PermanentError(f"not a Zalo user id: {message.target!r}")
        text = message.text if len(message.text) <= MAX_TEXT else message.text[: MAX_TEXT - 1] + "…"
        url = self.settings.notify.zalo_api_base.rstrip("/") + "/v3.0/oa/message/cs"
        body = {"recipient": {"user_id": message.target.strip()}, "message": {"text": text}}
        try:
            resp = httpx.post(
                url,
                json=body,
                headers={"access_token": token},
                timeout=self.settings.http.timeout_s,
                trust_env=False,
            )
        except httpx.HTTPError as exc:
            raise TransientError(f"Zalo API unreachable: {type(exc).__name__}") from exc
        if resp.status_code == 429 or resp.status_code >= 500:
            raise TransientError(f"Zalo API HTTP {resp.status_code}")
        try:
            data = resp.json()
            code = int(data.get("error", -1))
        except (ValueError, AttributeError, TypeError) as exc:
            raise TransientError(f"Zalo API sent no JSON (HTTP {resp.status_code})") from exc
        if code == 0:
            return str((data.get("data") or {}).get("message_id", ""))
        # The reply never contains the token, so its message is safe to store.
        text_err = f"Zalo error {code}: {str(data.get('message', ''))[:200]}"
        if code in TRANSIENT_CODES:
            raise TransientError(text_err)
        raise PermanentError(text_err)


@register("zalo")
def _factory(settings: Settings) -> Notifier:
    return ZaloNotifier(settings)
