"""The migrations and the models describe the same schema: every table of core.models reaches
Base.metadata (the package's __init__ imports each module) and no column, index or type drifts."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.orm import Session

from core.models import Base


def test_migrated_database_matches_the_models(session: Session) -> None:
    # given a database upgraded to head by the migrations
    connection = session.connection()
    # when alembic compares it with the models' metadata, as `alembic revision --autogenerate`
    diffs = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    # then there is nothing to migrate
    assert diffs == []


def test_every_migrated_table_has_a_model(session: Session) -> None:
    tables = set(inspect(session.connection()).get_table_names()) - {"alembic_version"}
    assert tables == set(Base.metadata.tables)
