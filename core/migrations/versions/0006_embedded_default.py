"""embedded default under load: sweep and health columns

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07 00:40:00

documents.evaluated_at: when alert evaluation last committed for the document; the sweep
(beat) queues evaluation again for documents stored but never evaluated (a task lost to a
lock or a crash). Existing documents count as evaluated: they were, by the old tasks, and
re-evaluating a whole history at the first sweep would hold the alert queue for hours.

health_probe: one row that /healthz rewrites to prove the database can be written (a full
disk or a read-only file let every read succeed while every write failed).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("documents", sa.Column("evaluated_at", sa.DateTime(), nullable=True))
    op.execute("UPDATE documents SET evaluated_at = updated_at")
    op.create_index("ix_documents_unevaluated", "documents", ["evaluated_at"], unique=False)
    op.create_table(
        "health_probe",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("written_at", sa.DateTime(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("health_probe")
    op.drop_index("ix_documents_unevaluated", table_name="documents")
    with op.batch_alter_table("documents") as batch:
        batch.drop_column("evaluated_at")
