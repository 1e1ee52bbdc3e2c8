"""Notification: recipients, the outbox, channels (notifiers/), bundles and the daily digest."""
