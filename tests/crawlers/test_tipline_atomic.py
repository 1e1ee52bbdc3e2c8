"""A tip the client is told failed is not stored; one it is told succeeded is stored, with its
audit row, in one transaction; a retried submission (same Idempotency-Key) is stored once."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, text

from api.main import create_app
from core import db
from core.models import AuditLog, Document, Source
from core.settings import Settings
from tests.conftest import TEST_DATABASE
from tests.factories import login_as

TIP = {
    "text": "Phụ huynh phản ánh trường mầm non Sao Mai thu tiền bán trú sai quy định.",
    "submitted_by": "Phụ huynh qua Zalo OA",
    "channel": "zalo",
}
# A real failure of the audit write, inside the database (a trigger), after the tip's own
# rows were written in the same request: what a full disk or a constraint would do.
FAIL_AUDIT = {
    "sqlite": [
        "CREATE TRIGGER fail_audit BEFORE INSERT ON audit_log "
        "BEGIN SELECT RAISE(ABORT, 'audit write failed'); END"
    ],
    "postgresql": [
        "CREATE FUNCTION fail_audit() RETURNS trigger AS $$ BEGIN "
        "RAISE EXCEPTION 'audit write failed'; END $$ LANGUAGE plpgsql",
        "CREATE TRIGGER fail_audit BEFORE INSERT ON audit_log "
        "FOR EACH ROW EXECUTE FUNCTION fail_audit()",
    ],
}
HEAL_AUDIT = {
    "sqlite": ["DROP TRIGGER fail_audit"],
    "postgresql": ["DROP TRIGGER fail_audit ON audit_log", "DROP FUNCTION fail_audit()"],
}


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    db.migrate()
    with TestClient(create_app(settings), raise_server_exceptions=False) as c:
        login_as(c, "press_officer")
        yield c


def counts() -> tuple[int, int, int]:
    """(documents, submissions recorded on them, tip audit rows)."""
    with db.new_session(read_only=True) as s:
        docs = s.scalars(select(Document)).all()
        subs = sum(len((d.meta or {}).get("submissions") or []) for d in docs)
        audits = s.scalar(
            select(func.count()).select_from(AuditLog).where(AuditLog.action == "tip.create")
        )
        return len(docs), subs, int(audits or 0)


def run_sql(statements: list[str]) -> None:
    with db.get_engine().begin() as conn:
        for stmt in statements:
            conn.execute(text(stmt))


def test_tip_whose_audit_row_fails_is_not_stored_and_its_retry_is_stored_once(
    client: TestClient,
) -> None:
    # given an audit write that fails inside the database
    run_sql(FAIL_AUDIT[TEST_DATABASE])
    headers = {"Idempotency-Key": "bieu-mau-7f3a"}
    # when a tip is submitted
    r = client.post("/api/v1/tips", json=TIP, headers=headers)
    # then the client is told it failed, and nothing of it was stored
    assert r.status_code >= 400
    assert counts() == (0, 0, 0)
    # when the write works again and the client retries the same submission twice
    run_sql(HEAL_AUDIT[TEST_DATABASE])
    first = client.post("/api/v1/tips", json=TIP, headers=headers)
    again = client.post("/api/v1/tips", json=TIP, headers=headers)
    # then it is stored once, with one audit row, and both answers agree
    assert first.status_code == again.status_code == 201, first.text + again.text
    assert first.json() == again.json()
    assert first.json()["duplicate"] is False
    assert counts() == (1, 1, 1)


def test_same_post_from_another_submission_is_recorded_not_replayed(client: TestClient) -> None:
    # given a tip stored under one key
    assert (
        client.post("/api/v1/tips", json=TIP, headers={"Idempotency-Key": "a"}).status_code == 201
    )
    # when the same post comes in as a new submission (another key, or none)
    second = client.post("/api/v1/tips", json=TIP, headers={"Idempotency-Key": "b"})
    third = client.post("/api/v1/tips", json=TIP)
    # then one document records three submissions, each audited
    assert second.json()["duplicate"] is True and third.json()["duplicate"] is True
    assert counts() == (1, 3, 3)


def test_first_tips_arriving_together_all_succeed(settings: Settings) -> None:
    # given a fresh database (no tipline source yet) and eight tips sent at the same moment
    from crawlers.tipline import TIPLINE_SOURCE_NAME, submit_tip

    db.migrate()
    errors: list[BaseException] = []
    go = threading.Barrier(8)

    def send(i: int) -> None:
        go.wait()
        try:
            with db.session_scope() as s:
                submit_tip(s, text=f"Tin báo cùng lúc số {i}: trường thu tiền sai quy định.",
                           submitted_by="Phụ huynh", channel="zalo", settings=settings)  # fmt: skip
        except BaseException as exc:  # noqa: BLE001 (collected for the assertion)
            errors.append(exc)

    threads = [threading.Thread(target=send, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # then every tip is stored, under one tipline source (one created it, the rest found it)
    assert errors == []
    with db.new_session(read_only=True) as s:
        sources = s.scalar(
            select(func.count()).select_from(Source).where(Source.name == TIPLINE_SOURCE_NAME)
        )
        docs = s.scalar(select(func.count()).select_from(Document))
    assert (sources, docs) == (1, 8)
