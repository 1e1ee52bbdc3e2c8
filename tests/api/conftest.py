"""Fixtures for the web app: a TestClient on a migrated database, signed in per role."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from api.main import create_app
from core.models import User
from core.settings import Settings
from tests.factories import login_as


@pytest.fixture
def app_client(settings: Settings, session: Session) -> Iterator[TestClient]:
    """An anonymous client of the app on the test database."""
    with TestClient(create_app(settings), base_url="http://testserver") as c:
        yield c


@pytest.fixture
def signed_in(app_client: TestClient) -> Callable[..., User]:
    """`signed_in(role, unit_id=None)` signs the app client in as a new user with that role."""

    def sign(role: str = "press_officer", unit_id: int | None = None, **_: Any) -> User:
        return login_as(app_client, role, unit_id)

    return sign
