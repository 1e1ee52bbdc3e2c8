"""document revisions and page availability

Revision ID: 0005
Revises: 0004a
Create Date: 2026-12-07 00:40:00

Placeholder in the chain (0005 crawl fidelity, 0006 embedded default, 0007 security); the
issue that needs schema changes fills its own revision in.
"""

from collections.abc import Sequence

revision: str = "0005"
down_revision: str | None = "0004a"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
