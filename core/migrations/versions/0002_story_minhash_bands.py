"""story minhash bands: the LSH index of near-duplicate clustering

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24 09:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # One row per (story, band): the band's MinHash values packed into `bucket`. The primary
    # key serves the lookup by (band, bucket); the story_id index serves loading a story's
    # signature and the cascade when a story is deleted; expires_at serves the pruning.
    op.create_table(
        "story_minhash_bands",
        sa.Column("band", sa.SmallInteger(), nullable=False),
        sa.Column("bucket", sa.BigInteger(), nullable=False),
        sa.Column("story_id", sa.Integer(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["story_id"], ["stories.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("band", "bucket", "story_id"),
    )
    with op.batch_alter_table("story_minhash_bands", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_story_minhash_bands_expires_at"), ["expires_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_story_minhash_bands_story_id"), ["story_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("story_minhash_bands", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_story_minhash_bands_story_id"))
        batch_op.drop_index(batch_op.f("ix_story_minhash_bands_expires_at"))

    op.drop_table("story_minhash_bands")
