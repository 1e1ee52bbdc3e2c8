"""Pages a press officer reads without training (issue 18), in headless Chromium.

The inbox and case flows with a story that is both a rule case and a hot case; then a crawl
over every page an admin can reach from the navigation (and the links on those pages), each
checked by tests/e2e/repr_guard.py for Python reprs and English keys, with a screenshot of
each kind of page under test-artifacts/."""

from __future__ import annotations

import re
from collections import deque
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urljoin, urlsplit

import pytest
from sqlalchemy.orm import Session

from alerts.detection.scoring import DocSignal, reasons, score_story
from core.models import Alert, AlertEvent, DocumentUnit, Fact, Rule, Source, Subscription
from tests.e2e.conftest import shot
from tests.e2e.repr_guard import assert_no_repr, problems, text_of
from tests.factories import (
    browser_login,
    make_alert,
    make_document,
    make_source,
    make_unit,
    make_user,
)

pytestmark = pytest.mark.slow
NOW = datetime.now(UTC).replace(microsecond=0)
# English by design (API field names are English), or not pages: downloads, sign-out, JSON.
SKIP = re.compile(r"^/(docs|redoc|openapi\.json|api/|static/|dang-xuat)|\.(csv|docx|xlsx|ico)$")
MAX_PAGES = 80
PER_PATTERN = 2


def _seed(session: Session) -> dict[str, Any]:
    """A small press-office world: three outlet scopes, a unit, a story that is a rule case
    and a hot case, a refuted claim repeated, a spike, a subscription."""
    national = make_source(session, "Báo Trung Ương Thử", scope="national")
    local = make_source(session, "Báo Địa Phương Thử", scope="local")
    forum = make_source(session, "Diễn Đàn Phụ Huynh Thử", scope="social")
    school = make_unit(session, "Trường THCS Hòa Bình")
    docs = [
        make_document(
            session, src, f"Học sinh Trường THCS Hòa Bình bị đánh hội đồng, tin {i + 1}",
            "Phụ huynh phản ánh học sinh bị bạo lực học đường và lạm thu đầu năm.",
            topics=["bao_luc_hoc_duong", "hoc_phi_thu_chi"], sentiment="tieu_cuc", risk="nong",
            published_at=NOW - timedelta(hours=i),
        )
        for i, src in enumerate([local, forum, national])
    ]  # fmt: skip
    for d in docs:
        session.add(DocumentUnit(document_id=d.id, unit_id=school.id))
    signals = [
        DocSignal(
            d.id, NOW - timedelta(hours=i), d.source_id,
            scope=session.get(Source, d.source_id).scope or "national",  # type: ignore[union-attr]
            risk="nong", risk_score=0.93, sentiment="tieu_cuc",
            topics=["bao_luc_hoc_duong", "hoc_phi_thu_chi"], reach=800, unit_ids=[school.id],
        )
        for i, d in enumerate(docs)
    ]  # fmt: skip
    result = score_story(signals)
    hot = make_alert(
        session, docs[0].title, kind="hot", severity=result.severity, score=result.score,
        documents=docs, unit_id=school.id,
        details=result.details() | {"reasons": reasons(result), "peak_severity": result.severity},
    )  # fmt: skip
    rule = Rule(name="Lạm thu", query='"lạm thu"', severity="critical")
    fact = Fact(
        kind="refuted", statement="Trường thu 5 triệu đồng mỗi học sinh",
        correction="Sở GDĐT khẳng định không có khoản thu này.",
    )  # fmt: skip
    session.add_all([rule, fact])
    session.flush()
    ruled = Alert(
        kind="rule", rule_id=rule.id, story_id=hot.story_id, title=hot.title,
        severity="critical", unit_id=school.id, details={"documents": [d.id for d in docs]},
        created_at=NOW, updated_at=NOW,
    )  # fmt: skip
    rumour = make_document(session, forum, "Trường thu 5 triệu đồng mỗi học sinh?")
    misinfo = make_alert(
        session, "Lặp lại thông tin đã được bác bỏ: Trường thu 5 triệu đồng", kind="misinfo",
        severity="high", score=0.95, fact_id=fact.id, documents=[rumour],
        details={"fact_id": fact.id, "similarity": 0.95, "statement": fact.statement,
                 "correction": fact.correction, "matched_sentence": rumour.title,
                 "documents": [rumour.id], "misinformation": 0.7},
    )  # fmt: skip
    spike = make_alert(
        session, "Tin về Bạo lực học đường tăng gấp 4 lần cùng kỳ", kind="spike",
        severity="medium", score=4.0,
        details={"dimension": "topic", "key": "bao_luc_hoc_duong", "label": "Bạo lực học đường",
                 "day": NOW.date().isoformat(), "count": 12, "baseline_mean": 3.0,
                 "baseline_std": 1.0, "ratio": 4.0, "z": 9.0, "samples": 8, "period": None,
                 "window_hours": 24.0, "message": "Tin về Bạo lực học đường tăng gấp 4 lần"},
    )  # fmt: skip
    session.add(ruled)
    session.flush()
    session.add_all([
        AlertEvent(alert_id=hot.id, kind="created", data={"score": result.score}),
        AlertEvent(alert_id=hot.id, kind="rescored",
                   data={"from": "medium", "to": result.severity, "score": result.score}),
    ])  # fmt: skip
    admin = make_user(session, "admin", username="tranquan", full_name="Trần Văn Quản")
    officer = make_user(session, "press_officer", username="nguyenlan", full_name="Nguyễn Thị Lan")
    session.add(Subscription(user_id=officer.id, kind="digest", target="lan@sogd.example.vn"))
    session.commit()
    return {"hot": hot, "ruled": ruled, "misinfo": misinfo, "spike": spike, "admin": admin,
            "officer": officer, "school": school, "forum_id": forum.id}  # fmt: skip


def test_inbox_and_case_page_read_without_training(
    server: str, session: Session, page: Any
) -> None:
    world = _seed(session)
    hot, ruled = world["hot"], world["ruled"]
    browser_login(page, server, world["officer"].username)
    # the story is one row, led by its rule case, with the hot score as a reason
    rows = page.locator(f'tr.case[data-story="{hot.story_id}"]')
    assert rows.count() == 1
    row = rows.inner_text()
    for shown in ("Khớp quy tắc «Lạm thu»", "Vấn đề nóng: điểm", "Báo Trung Ương Thử",
                  "Báo địa phương", "Mạng xã hội", "Tiêu cực", "3 nguồn, 3 tin", "Đang lên",
                  "Trường THCS Hòa Bình", "Cảnh báo theo từ khóa"):  # fmt: skip
        assert shown in row, shown
    assert page.locator('#counts a[data-status="new"] b').inner_text() == "3"
    # a case arriving while the inbox is open gets the same columns (built by inbox.js)
    forum = session.get(Source, world["forum_id"])
    assert forum is not None
    late_doc = make_document(session, forum, "Phụ huynh phản ánh dạy thêm trái phép",
                             sentiment="tieu_cuc", published_at=NOW)  # fmt: skip
    late = make_alert(session, late_doc.title, kind="hot", severity="high", score=60.0,
                      documents=[late_doc])  # fmt: skip
    session.commit()
    live = page.locator(f'tr.case[data-id="{late.id}"]')
    live.wait_for(timeout=15_000)
    assert "Diễn Đàn Phụ Huynh Thử" in live.inner_text() and "Mạng xã hội" in live.inner_text()
    assert "Vấn đề nóng: điểm 60" in live.inner_text() and "Tiêu cực" in live.inner_text()
    assert_no_repr(page, "/hop-thu")
    shot(page, "hop-thu-mot-dong-moi-tin")
    # the officer opens the hot case from the row's link
    page.click(f'tr.case[data-id="{ruled.id}"] .related a[href="/canh-bao/{hot.id}"]')
    page.wait_for_url(f"{server}/canh-bao/{hot.id}")
    sentence = page.locator("#why-sentence").inner_text()
    assert sentence.startswith("Nội dung nóng về bạo lực học đường và học phí, thu chi")
    assert "nêu tên Trường THCS Hòa Bình" in sentence and "đã lên báo trung ương" in sentence
    assert page.locator("#factors th").first.inner_text() == "Mức độ nóng của nội dung"
    # raw figures only once the officer opens "Chi tiết kỹ thuật"
    assert not page.locator("#technical dl").is_visible()
    page.click("#technical summary")
    assert page.locator("#technical dl").is_visible()
    assert "Đường lan truyền" in page.locator("#technical dl").inner_text()
    assert "Cảnh báo theo từ khóa (Khẩn cấp)" in page.locator("#related").inner_text()
    assert "Mức độ đổi theo điểm mới" in page.locator("#history").inner_text()
    shot(page, "canh-bao-vi-sao")
    assert_no_repr(page, f"/canh-bao/{hot.id}")


def _pattern(url: str) -> str:
    parts = urlsplit(url)
    keys = ",".join(sorted({k for k, _ in parse_qsl(parts.query)}))
    return re.sub(r"/[0-9a-f-]{6,}|/\d+", "/N", parts.path) + "?" + keys


def test_every_signed_in_page_shows_no_repr_or_english_key(
    server: str, session: Session, page: Any
) -> None:
    world = _seed(session)
    browser_login(page, server, world["admin"].username)
    start = ["/hop-thu", f"/canh-bao/{world['hot'].id}", f"/canh-bao/{world['misinfo'].id}",
             f"/canh-bao/{world['spike'].id}", "/?q=học sinh"]  # fmt: skip
    start += [a.get_attribute("href") for a in page.locator("nav a").all()]
    queue, seen, per = deque(start), set(), {}  # type: ignore[var-annotated]
    found: dict[str, list[str]] = {}
    visited = []
    while queue and len(visited) < MAX_PAGES:
        url = urljoin(server + "/", queue.popleft())
        parts = urlsplit(url)
        if parts.netloc != urlsplit(server).netloc or SKIP.search(parts.path) or url in seen:
            continue
        seen.add(url)
        pattern = _pattern(url)
        if per.get(pattern, 0) >= PER_PATTERN:
            continue
        per[pattern] = per.get(pattern, 0) + 1
        response = page.goto(url)
        if response is None or "text/html" not in (response.headers.get("content-type") or ""):
            continue
        assert response.status < 400, (url, response.status)
        visited.append(url)
        bad = problems(text_of(page.content()))
        if bad:
            found[url] = bad[:5]
        if per[pattern] == 1:
            slug = re.sub(r"[^a-z0-9]+", "-", pattern.lower()).strip("-")
            shot(page, "trang-" + (slug or "tim-kiem"))
        for href in page.eval_on_selector_all(
            "main a[href], header a[href], nav a[href]",
            "els => els.map(a => a.getAttribute('href'))",
        ):
            if href and not href.startswith(("#", "mailto:", "javascript:")):
                queue.append(urljoin(url, href))
    assert len(visited) >= 10, visited
    assert not found, "pages show program values:\n" + "\n".join(
        f"{u}\n  " + "\n  ".join(b) for u, b in found.items()
    )
