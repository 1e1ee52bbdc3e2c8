"""alert detection: rule versions and one hot/misinfo alert per story

Revision ID: 0004a
Revises: 0004p
Create Date: 2026-11-23 09:45:00

rules.updated_at lets workers cache compiled rules and notice edits; a partial unique index
keeps one "hot" and one "misinfo" alert per story even with concurrent workers (PostgreSQL).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004a"
down_revision: str | None = "0004p"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ONE_PER_STORY = sa.text("kind IN ('hot', 'misinfo') AND story_id IS NOT NULL")


def upgrade() -> None:
    with op.batch_alter_table("rules", schema=None) as batch_op:
        batch_op.add_column(sa.Column("updated_at", sa.DateTime(), nullable=True))
    op.create_index(
        "ux_alerts_story_kind",
        "alerts",
        ["kind", "story_id"],
        unique=True,
        sqlite_where=_ONE_PER_STORY,
        postgresql_where=_ONE_PER_STORY,
    )


def downgrade() -> None:
    op.drop_index("ux_alerts_story_kind", table_name="alerts")
    with op.batch_alter_table("rules", schema=None) as batch_op:
        batch_op.drop_column("updated_at")
