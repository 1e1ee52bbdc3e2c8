"""Notification channels (email, Zalo OA, webhook) behind one `Notifier` protocol."""
