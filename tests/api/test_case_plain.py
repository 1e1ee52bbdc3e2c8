"""Cases a press officer reads without training (issue 18): why a case was flagged in one
Vietnamese sentence with named factors, one row per story with its reasons, and the columns
an officer triages by."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from alerts.detection.scoring import DocSignal, reasons, score_story
from core.models import Alert, DocumentUnit, Rule, Source
from tests.e2e.repr_guard import problems, text_of
from tests.factories import login_as, make_alert, make_document, make_source, make_unit

NOW = datetime.now(UTC).replace(microsecond=0)


def _hot(session: Session, source: Source, docs: list, **signal: object) -> Alert:
    """A hot case scored by the product's scoring on these documents' signals."""
    signals = [
        DocSignal(
            d.id, NOW - timedelta(minutes=10 * i), d.source_id,
            scope=session.get(Source, d.source_id).scope or "national",  # type: ignore[union-attr]
            risk="nong", risk_score=0.95, sentiment="tieu_cuc",
            topics=["bao_luc_hoc_duong"], **signal,  # type: ignore[arg-type]
        )
        for i, d in enumerate(docs)
    ]  # fmt: skip
    result = score_story(signals)
    return make_alert(
        session, docs[0].title, kind="hot", severity=result.severity, score=result.score,
        documents=docs, details=result.details() | {"reasons": reasons(result)},
    )  # fmt: skip


def test_why_flagged_is_one_sentence_named_factors_and_a_formatted_toggle(
    app_client: TestClient, session: Session
) -> None:
    # given a hot case on one local paper's article about school violence naming the province
    local = make_source(session, "Báo Địa Phương Thử", scope="local")
    doc = make_document(
        session, local, "Học sinh bị đánh trước cổng trường", topics=["bao_luc_hoc_duong"],
        sentiment="tieu_cuc", risk="nong",
    )  # fmt: skip
    alert = _hot(session, local, [doc], names_province=True)
    session.commit()
    login_as(app_client, "press_officer")
    # when the officer opens the case
    page = app_client.get(f"/canh-bao/{alert.id}").text
    # then one sentence says why, as a press officer would
    sentence = (
        "Nội dung nóng về bạo lực học đường, sắc thái tiêu cực, nêu tên tỉnh/thành phố, "
        "1 nguồn, chưa lan sang báo trung ương."
    )
    assert f'<p class="why-sentence" id="why-sentence">{sentence}</p>' in page
    # the factors are a labelled bar list with Vietnamese names
    assert '<th scope="row">Mức độ nóng của nội dung</th>' in page
    assert '<meter min="0" max="100" value="95">' in page
    assert '<th scope="row">Phạm vi lan truyền</th>' in page
    # the raw figures only behind "Chi tiết kỹ thuật", named and formatted
    toggle = page.split('<details class="technical"', 1)[1].split("</details>", 1)[0]
    assert "<summary>Chi tiết kỹ thuật</summary>" in toggle
    assert "<dt>Đường lan truyền</dt><dd>Báo địa phương</dd>" in toggle
    assert "<dt>Nêu tên tỉnh/thành phố</dt><dd>có</dd>" in toggle
    assert "<dt>Chủ đề</dt><dd>Bạo lực học đường</dd>" in toggle
    assert f"<dt>Điểm hiện tại</dt><dd>{str(alert.score).replace('.', ',')}</dd>" in toggle
    # and nowhere a Python repr or an English key
    assert problems(text_of(page)) == []
    body = app_client.get(f"/api/v1/cases/{alert.id}").json()
    assert body["why"] == sentence and body["severity_label"] == "Trung bình"
    assert body["factors"][0] == {"name": "Mức độ nóng của nội dung", "value": 0.95, "percent": 95}


def test_one_story_is_one_inbox_row_with_its_cases_as_reasons(
    app_client: TestClient, session: Session
) -> None:
    # given one article that matched a rule (high) and made the story hot (medium)
    local = make_source(session, "Báo Địa Phương Thử", scope="local")
    doc = make_document(session, local, "Phụ huynh phản ánh lạm thu", topics=["hoc_phi_thu_chi"])
    hot = _hot(session, local, [doc], names_province=True)
    rule = Rule(name="Lạm thu", query='"lạm thu"', severity="high")
    session.add(rule)
    session.flush()
    ruled = Alert(
        kind="rule", rule_id=rule.id, story_id=hot.story_id, title=hot.title, severity="high",
        details={"documents": [doc.id]}, created_at=NOW, updated_at=NOW,
    )  # fmt: skip
    session.add(ruled)
    session.commit()
    login_as(app_client, "press_officer")
    # when the officer opens the inbox
    page = app_client.get("/hop-thu").text
    # then the story is one row, led by its graver case, with both cases as reasons
    assert page.count('<tr class="case') == 1
    assert f'data-id="{ruled.id}" data-story="{hot.story_id}"' in page
    assert "<li>Khớp quy tắc «Lạm thu»</li>" in page
    assert f"<li>Vấn đề nóng: điểm {str(hot.score).replace('.', ',')}</li>" in page
    assert f'<a href="/canh-bao/{hot.id}">Tình huống nóng (Trung bình)</a>' in page
    # and the banner counts stories, not cases
    assert 'data-status="new">Mới <b>1</b>' in page
    listed = app_client.get("/api/v1/cases").json()
    assert [c["id"] for c in listed["items"]] == [ruled.id] and listed["counts"]["new"] == 1
    assert [r["id"] for r in listed["items"][0]["related"]] == [hot.id]
    # the other case's page links back, labelled by kind
    other = app_client.get(f"/canh-bao/{hot.id}").text
    assert f'<a href="/canh-bao/{ruled.id}">Cảnh báo theo từ khóa (Cao)</a>' in other
    # a filter that only the hot case passes shows the story once, as that case
    only_hot = app_client.get("/api/v1/cases?kind=hot").json()["items"]
    assert [c["id"] for c in only_hot] == [hot.id]


def test_inbox_row_shows_kind_outlets_scope_sentiment_spread_and_unit(
    app_client: TestClient, session: Session
) -> None:
    # given a story carried by a national paper and a forum, naming a school, today
    national = make_source(session, "Báo Trung Ương Thử", scope="national")
    forum = make_source(session, "Diễn Đàn Phụ Huynh Thử", scope="social")
    school = make_unit(session, "Trường THCS Hòa Bình")
    docs = [
        make_document(
            session, src, f"Học sinh bị đánh, bài {i}", topics=["bao_luc_hoc_duong"],
            sentiment="tieu_cuc" if i else "trung_tinh", published_at=NOW - timedelta(hours=i),
        )
        for i, src in enumerate([national, forum, forum])
    ]  # fmt: skip
    session.add(DocumentUnit(document_id=docs[0].id, unit_id=school.id))
    alert = _hot(session, national, docs)
    session.commit()
    login_as(app_client, "press_officer")
    # when the officer opens the inbox
    page = app_client.get("/hop-thu").text
    row = page.split(f'data-id="{alert.id}"', 1)[1].split("</tr>", 1)[0]
    # then the row carries what an officer triages by
    assert '<td class="kind">Tình huống nóng</td>' in row
    assert "Diễn Đàn Phụ Huynh Thử, Báo Trung Ương Thử" in row
    assert '<span class="tag scope-national">Báo trung ương</span>' in row
    assert '<span class="tag scope-social">Mạng xã hội</span>' in row
    assert '<td class="sentiment">Tiêu cực</td>' in row
    assert '2 nguồn, 3 tin <b class="rising">Đang lên</b>' in row
    assert '<td class="unit">Trường THCS Hòa Bình</td>' in row
    assert problems(text_of(page)) == []
    (item,) = app_client.get("/api/v1/cases").json()["items"]
    assert (item["kind_label"], item["sentiment"], item["source_count"], item["rising"]) == (
        "Tình huống nóng", "tieu_cuc", 2, True,
    )  # fmt: skip
    assert item["scopes"] == ["national", "social"] and item["unit_name"] == "Trường THCS Hòa Bình"


def test_a_case_below_the_threshold_says_so_with_one_severity_everywhere(
    app_client: TestClient, session: Session
) -> None:
    # given a hot case whose score fell to 19.8 after relabelling (still open)
    local = make_source(session, "Báo Địa Phương Thử", scope="local")
    doc = make_document(session, local, "Tin đã được phân loại lại")
    alert = _hot(session, local, [doc])
    alert.score, alert.severity = 19.8, "low"
    alert.details = alert.details | {"score": 19.8, "severity": "low"}
    session.commit()
    login_as(app_client, "press_officer")
    # then the header, the inbox, the API and the why all say the same
    page = app_client.get(f"/canh-bao/{alert.id}").text
    assert '<span class="sev sev-low">Thấp</span>' in page
    assert 'id="below-threshold">Điểm đã giảm dưới ngưỡng' in page
    assert "(điểm đã giảm dưới ngưỡng 40).</p>" in page
    assert "Trung bình" not in text_of(page)
    inbox = app_client.get("/hop-thu").text
    assert '<span class="sev">Thấp</span>' in inbox
    assert "<li>Vấn đề nóng: điểm 19,8 (điểm đã giảm dưới ngưỡng)</li>" in inbox
    body = app_client.get(f"/api/v1/cases/{alert.id}").json()
    assert (body["severity"], body["severity_label"], body["below_threshold"]) == (
        "low", "Thấp", True,
    )  # fmt: skip
    assert body["status"] == "new"


def test_misinfo_and_spike_rows_give_their_figures_as_reasons(
    app_client: TestClient, session: Session
) -> None:
    # given a repeated refuted claim and a topic spike (no story, no documents)
    forum = make_source(session, "Diễn Đàn Thử", scope="social")
    rumour = make_document(session, forum, "Trường thu 5 triệu đồng?")
    misinfo = make_alert(session, "Lặp lại thông tin đã được bác bỏ", kind="misinfo",
                         score=0.951, documents=[rumour],
                         details={"similarity": 0.951, "documents": [rumour.id]})  # fmt: skip
    spike = make_alert(session, "Tin về Dạy thêm tăng", kind="spike", severity="medium",
                       score=4.0, details={"count": 12, "ratio": 4.0})  # fmt: skip
    session.commit()
    login_as(app_client, "press_officer")
    items = {c["id"]: c for c in app_client.get("/api/v1/cases").json()["items"]}
    # then each row says what it measured, in words
    assert items[misinfo.id]["reasons"] == ["Giống thông tin đã bác bỏ 95%"]
    assert items[spike.id]["reasons"] == ["12 tin trong 24 giờ, gấp 4 lần cùng kỳ"]
    # and a row with no documents shows no "0 nguồn"
    page = app_client.get("/hop-thu").text
    row = page.split(f'data-id="{spike.id}"', 1)[1].split("</tr>", 1)[0]
    assert '<td class="spread"></td>' in row


def test_a_unit_focal_row_counts_only_its_units_documents(
    app_client: TestClient, session: Session
) -> None:
    # given a story naming a school in one article, carried by another outlet without it
    school = make_unit(session, "Trường Tiểu học Thử")
    mine = make_source(session, "Báo Có Trường", scope="local")
    other = make_source(session, "Báo Không Liên Quan", scope="national")
    docs = [make_document(session, mine, "Bài nêu tên trường"),
            make_document(session, other, "Bài không nêu tên trường")]  # fmt: skip
    session.add(DocumentUnit(document_id=docs[0].id, unit_id=school.id))
    _hot(session, mine, docs)
    session.commit()
    # when the school's focal point reads the inbox
    login_as(app_client, "unit_focal", school.id)
    (item,) = app_client.get("/api/v1/cases").json()["items"]
    # then the row's outlets are those of the articles it may read, as on the case page
    assert item["outlets"] == ["Báo Có Trường"] and item["scopes"] == ["local"]
    assert item["source_count"] == 1
