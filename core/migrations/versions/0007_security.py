"""security hardening

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07 00:40:00

Placeholder in the chain (0005 crawl fidelity, 0006 embedded default, 0007 security); the
issue that needs schema changes fills its own revision in.
"""

from collections.abc import Sequence

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
