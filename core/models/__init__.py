"""The domain model shared by every layer: SQLAlchemy 2 tables for sources, documents, stories,
classifications, alerts, rules, users, units and subscriptions.

This package is the public import surface (`from core.models import Document`); importing it
registers every table on `Base.metadata`, which Alembic's env.py compares against.
"""

from core.models.alerts import (
    Alert,
    AlertEvent,
    AlertStatus,
    Fact,
    Notification,
    Rule,
    Subscription,
)
from core.models.base import AppSetting, Base, HealthProbe, UTCDateTime, utcnow
from core.models.documents import (
    Classification,
    CrawlRun,
    Document,
    DocumentPlace,
    DocumentRevision,
    DocumentUnit,
    LabelCorrection,
    Source,
    SourceKind,
    Story,
    StoryMinhashBand,
)
from core.models.users import ApiToken, AuditLog, LoginAttempt, Role, Unit, User, WebSession

__all__ = [
    "Alert",
    "AlertEvent",
    "AlertStatus",
    "ApiToken",
    "AppSetting",
    "AuditLog",
    "Base",
    "Classification",
    "CrawlRun",
    "Document",
    "DocumentPlace",
    "DocumentRevision",
    "DocumentUnit",
    "Fact",
    "HealthProbe",
    "LabelCorrection",
    "LoginAttempt",
    "Notification",
    "Role",
    "Rule",
    "Source",
    "SourceKind",
    "Story",
    "StoryMinhashBand",
    "Subscription",
    "UTCDateTime",
    "Unit",
    "User",
    "WebSession",
    "utcnow",
]
