"""province profile and document locality

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07 04:05:00

app_settings: settings an admin changes at run time and every process must agree on (the
Department's province, chosen with `diemtin province set` or the admin pages' first-run
form), key -> JSON value.

document_places: which 2025 provinces and communes a document is about (core.geo.locate),
one row per place: codes of core.geo.data, `kind` "province" or "commune". A table, not a
JSON column, so reports count documents per commune in SQL and the indexer reads it as it
reads document_units. Existing documents are located by `diemtin province locate`.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "app_settings",
        sa.Column("key", sa.String(100), primary_key=True),
        sa.Column("value", sa.JSON(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
    )
    op.create_table(
        "document_places",
        sa.Column(
            "document_id",
            sa.String(36),
            sa.ForeignKey("documents.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("code", sa.String(10), primary_key=True),
        sa.Column("kind", sa.String(10), nullable=False),
    )
    op.create_index("ix_document_places_code", "document_places", ["code"])


def downgrade() -> None:
    op.drop_index("ix_document_places_code", table_name="document_places")
    op.drop_table("document_places")
    op.drop_table("app_settings")
