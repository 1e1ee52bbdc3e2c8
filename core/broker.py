"""The embedded broker: kombu's SQLAlchemy transport, made to redeliver the messages of a
worker that died.

kombu's transport marks a delivered message row invisible and never looks at it again: an
ack deletes nothing, and only a clean shutdown puts unacked messages back. A SIGKILLed or
crashed worker therefore loses its tasks, which defeats task_acks_late. Here a delivered row
is a lease: its timestamp is renewed while the worker lives (every few polls), the row is
deleted on ack, made visible again on reject/restore, and a row whose lease is older than
`visibility_timeout` is handed to the next worker that polls. Unlike Redis's visibility
timeout, a long task is never run twice while its worker is alive."""

from __future__ import annotations

import logging
import threading
import time
from datetime import datetime, timedelta
from json import loads
from queue import Empty
from typing import Any

from kombu.transport import TRANSPORT_ALIASES
from kombu.transport import redis as kredis
from kombu.transport import sqlalchemy as sqla
from kombu.utils.encoding import bytes_to_str
from sqlalchemy import create_engine, or_, text, update

log = logging.getLogger(__name__)

DEFAULT_VISIBILITY_TIMEOUT_S = 120.0
# Transport options that are not create_engine() arguments (kombu's list, plus ours).
_NOT_ENGINE = frozenset(
    ("queue_tablename", "message_tablename", "callback", "errback", "max_retries")
    + ("interval_start", "interval_step", "interval_max", "retry_errors", "visibility_timeout")
)


class Channel(sqla.Channel):
    """A SQLAlchemy channel whose delivered messages are leases (see the module docstring)."""

    def __init__(self, connection: Any, **kwargs: Any) -> None:
        options = connection.client.transport_options
        self.visibility_timeout = float(
            options.get("visibility_timeout") or DEFAULT_VISIBILITY_TIMEOUT_S
        )
        # A quarter of the timeout: three renewals may be late before the lease lapses.
        self.renew_every = self.visibility_timeout / 4
        # delivery tag -> message row id; acks come from pool threads, hence the lock.
        self._leases: dict[str, int] = {}
        self._leases_lock = threading.Lock()
        self._renewed_at = time.monotonic()
        super().__init__(connection, **kwargs)

    def _engine_from_config(self) -> Any:
        # kombu passes its options minus a fixed list to create_engine(); ours must go too.
        client = self.connection.client
        options = {k: v for k, v in client.transport_options.items() if k not in _NOT_ENGINE}
        return create_engine(client.hostname, **options)

    def _engine(self) -> Any:
        return self._open()[0]

    def _get(self, queue: str, timeout: float | None = None) -> dict[str, Any]:
        obj = self._get_or_create(queue)
        if self.session.bind.name == "sqlite":
            self.session.execute(text("BEGIN IMMEDIATE TRANSACTION"))
        try:
            # kombu stamps rows with naive local time (its onupdate default); so do we.
            now = datetime.now()
            expired = now - timedelta(seconds=self.visibility_timeout)
            msg = (
                self.session.query(self.message_cls)
                .with_for_update()
                .filter(self.message_cls.queue_id == obj.id)
                .filter(
                    or_(
                        self.message_cls.visible != False,  # noqa: E712 (SQL, not Python)
                        self.message_cls.sent_at < expired,
                    )
                )
                .order_by(self.message_cls.sent_at, self.message_cls.id)
                .limit(1)
                .first()
            )
            if msg is None:
                raise Empty()
            if msg.visible is False:
                log.warning("redelivering message %s: its worker's lease expired", msg.id)
            msg.visible = False
            # Set explicitly: onupdate does not fire when `visible` was already False.
            msg.sent_at = now
            payload: dict[str, Any] = loads(bytes_to_str(msg.payload))
            with self._leases_lock:
                self._leases[payload["properties"]["delivery_tag"]] = msg.id
            return payload
        finally:
            self.session.commit()

    def _forget(self, delivery_tag: str) -> int | None:
        with self._leases_lock:
            return self._leases.pop(delivery_tag, None)

    def basic_ack(self, delivery_tag: str, multiple: bool = False) -> None:
        super().basic_ack(delivery_tag, multiple)
        row = self._forget(delivery_tag)
        if row is not None:
            table = self.message_cls.__table__
            with self._engine().begin() as conn:
                conn.execute(table.delete().where(table.c.id == row))

    def basic_reject(self, delivery_tag: str, requeue: bool = False) -> None:
        # With requeue, QoS.reject calls _restore (below), which reuses the row.
        super().basic_reject(delivery_tag, requeue)
        row = self._forget(delivery_tag)
        if row is not None and not requeue:
            table = self.message_cls.__table__
            with self._engine().begin() as conn:
                conn.execute(table.delete().where(table.c.id == row))

    def _restore(self, message: Any) -> None:
        row = self._forget(message.delivery_tag)
        if row is None:
            super()._restore(message)
            return
        # Put the same row back instead of a copy: the copy and the stale lease would
        # otherwise both be delivered.
        table = self.message_cls.__table__
        with self._engine().begin() as conn:
            conn.execute(
                update(table).where(table.c.id == row).values(visible=True, timestamp=None)
            )

    def drain_events(self, timeout: float | None = None, callback: Any = None) -> Any:
        if time.monotonic() - self._renewed_at >= self.renew_every:
            self._renew_leases()
        return super().drain_events(timeout=timeout, callback=callback)

    def _renew_leases(self) -> None:
        self._renewed_at = time.monotonic()
        with self._leases_lock:
            rows = list(self._leases.values())
        if not rows:
            return
        table = self.message_cls.__table__
        try:
            with self._engine().begin() as conn:
                conn.execute(
                    update(table).where(table.c.id.in_(rows)).values(timestamp=datetime.now())
                )
        except Exception:
            # The next poll tries again; a lease has three more renewals before it lapses.
            log.warning("renewing %d broker leases failed", len(rows), exc_info=True)


class Transport(sqla.Transport):
    """kombu's SQLAlchemy transport with leased, redeliverable messages."""

    Channel = Channel


class RedisQoS(kredis.QoS):
    """kombu's Redis QoS that survives the broker dying while a task runs.

    When Redis goes away with a message unacknowledged, the consumer closes its channel and
    kombu (5.7) then tries to reach Redis through that torn-down channel twice: to push the
    message back, and to ack it when the task finishes. Both raise AttributeError (on
    `None.hostname`, `None.client`), which the worker treats as unrecoverable: it exits
    (tests/scale/test_outages.py reproduces it). The message is still in Redis's unacked set,
    so the worker that reconnects redelivers it after the visibility timeout (tasks are
    idempotent); skipping the doomed calls is all that is needed.
    """

    def _gone(self) -> bool:
        transport = getattr(self.channel, "connection", None)
        return getattr(transport, "client", None) is None

    def restore_unacked(self, client: Any = None) -> None:
        if client is None and self._gone():
            log.warning(
                "broker connection gone: %d unacknowledged message(s) stay in Redis and are "
                "redelivered after the visibility timeout",
                len(self._delivered or ()),
            )
            return
        super().restore_unacked(client)

    def ack(self, delivery_tag: Any) -> None:
        if self._gone():
            log.warning("broker connection gone: a finished task's ack is dropped (redelivered)")
            virtual_ack(self, delivery_tag)
            return
        super().ack(delivery_tag)

    def reject(self, delivery_tag: Any, requeue: bool = False) -> None:
        if self._gone():
            log.warning("broker connection gone: a reject is dropped (redelivered)")
            virtual_ack(self, delivery_tag)
            return
        super().reject(delivery_tag, requeue=requeue)


def virtual_ack(qos: kredis.QoS, delivery_tag: Any) -> None:
    """Forget a delivery locally only (kombu's in-memory bookkeeping, no Redis call)."""
    kredis.virtual.QoS.ack(qos, delivery_tag)


class RedisChannel(kredis.Channel):
    QoS = RedisQoS


class RedisTransport(kredis.Transport):
    """kombu's Redis transport with RedisQoS."""

    Channel = RedisChannel


def install() -> None:
    """Make "sqla+..." and "redis://" broker URLs use these transports (before connecting)."""
    TRANSPORT_ALIASES["sqla"] = TRANSPORT_ALIASES["sqlalchemy"] = "core.broker:Transport"
    TRANSPORT_ALIASES["redis"] = TRANSPORT_ALIASES["rediss"] = "core.broker:RedisTransport"
