"""sources and units on the 2025 map

Revision ID: 0010
Revises: 0008
Create Date: 2026-12-07 04:00:00

A source says which province's press it is (its 2025 province code; none for the national
press and social media), so the inbox and reports can tell local coverage apart. A unit says
where it is on the 2-level map: its province and its commune or ward (2025 codes, see
core.geo.data); `district` keeps what an old registry said.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("sources", sa.Column("province", sa.String(10), nullable=True))
    op.create_index("ix_sources_province", "sources", ["province"])
    op.add_column("units", sa.Column("province", sa.String(10), nullable=True))
    op.add_column("units", sa.Column("commune", sa.String(10), nullable=True))
    op.create_index("ix_units_commune", "units", ["commune"])


def downgrade() -> None:
    op.drop_index("ix_units_commune", table_name="units")
    with op.batch_alter_table("units") as batch:
        batch.drop_column("commune")
        batch.drop_column("province")
    op.drop_index("ix_sources_province", table_name="sources")
    with op.batch_alter_table("sources") as batch:
        batch.drop_column("province")
