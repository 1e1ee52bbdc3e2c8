"""The `Notifier` protocol, its errors and the registry of channels by name."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from core.registry import Registry
from core.settings import Settings


class NotifyError(Exception):
    """A message could not be delivered."""


class TransientError(NotifyError):
    """Worth retrying later: the server is down, busy or rate limiting."""

    def __init__(self, message: str, retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class PermanentError(NotifyError):
    """Retrying cannot help (bad address, revoked token): the message is marked failed."""


@dataclass(slots=True)
class InlineImage:
    """An image shown inside the HTML part, referenced as cid:<cid>."""

    cid: str
    data: bytes
    subtype: str = "png"


@dataclass(slots=True)
class Message:
    """One message to one recipient, as the outbox hands it to a channel."""

    # The outbox dedupe key: stable across retries, so receivers can drop duplicates.
    key: str
    target: str
    subject: str
    text: str
    html: str = ""
    payload: dict[str, Any] = field(default_factory=dict)
    images: list[InlineImage] = field(default_factory=list)


class Notifier(Protocol):
    """A delivery channel: returns the provider's delivery id or raises a NotifyError."""

    def send(self, message: Message) -> str: ...


Factory = Callable[[Settings], Notifier]
# Built-in channels register themselves when imported; each is imported on first use, so a
# worker that only sends email never loads the others (core.registry).
NOTIFIERS: Registry[Factory] = Registry(
    "notification channel",
    {
        "email": "alerts.notify.notifiers.email",
        "webhook": "alerts.notify.notifiers.webhook",
        "zalo": "alerts.notify.notifiers.zalo",
    },
)


def register(channel: str) -> Callable[[Factory], Factory]:
    """Register a notifier factory under a channel name ("email", "zalo", "webhook")."""

    def decorator(factory: Factory) -> Factory:
        return NOTIFIERS.register(channel, factory)

    return decorator


def get_notifier(channel: str, settings: Settings) -> Notifier:
    """The notifier for a channel; PermanentError for an unknown one."""
    try:
        factory = NOTIFIERS.get(channel)
    except KeyError:
        raise PermanentError(f"unknown notification channel {channel!r}") from None
    return factory(settings)
