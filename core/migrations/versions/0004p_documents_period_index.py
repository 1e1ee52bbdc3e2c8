"""covering index for period figures

Revision ID: 0004p
Revises: 0003
Create Date: 2026-11-23 10:12:00

The dashboard and the monthly report read (published_at, source_id, id) of every document in
a period; with this index SQLite never reads the article rows (published_at sits after the
body, so each row read pulls the whole article off disk).
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0004p"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_documents_period", "documents", ["published_at", "source_id", "id"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_documents_period", table_name="documents")
