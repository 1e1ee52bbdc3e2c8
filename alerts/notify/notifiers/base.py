"""The `Notifier` protocol, its errors and the registry of channels by name."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

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


_REGISTRY: dict[str, Callable[[Settings], Notifier]] = {}


Factory = Callable[[Settings], Notifier]


def register(channel: str) -> Callable[[Factory], Factory]:
    """Register a notifier factory under a channel name ("email", "zalo", "webhook")."""

    def decorator(factory: Factory) -> Factory:
        _REGISTRY[channel] = factory
        return factory

    return decorator


def channels() -> list[str]:
    """The registered channel names."""
    _load_builtins()
    return sorted(_REGISTRY)


def get_notifier(channel: str, settings: Settings) -> Notifier:
    """The notifier for a channel; PermanentError for an unknown one."""
    _load_builtins()
    try:
        factory = _REGISTRY[channel]
    except KeyError:
        raise PermanentError(f"unknown notification channel {channel!r}") from None
    return factory(settings)


def _load_builtins() -> None:
    # Imported for their @register side effect; late so base.py has no import cycle.
    from alerts.notify.notifiers import email, webhook, zalo  # noqa: F401
