"""Alert rules: the search syntax matched on one document, and evaluate_document's alerts."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from alerts.detection.evaluate import evaluate
from alerts.detection.rules import DocumentFacts, RuleSet, compile_rule, compiled_rules, matches
from core.models import Alert, AlertEvent, Rule
from tests.factories import make_document, make_source

TEXT = (
    "Phụ huynh Trường THCS Hoà Bình phản ánh lạm thu đầu năm học; "
    "Sở Giáo dục Đà Nẵng yêu cầu trả lại tiền."
)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("lam thu", True),
        ('"lạm thu"', True),
        ('"thu lạm"', False),
        ("hòa bình", True),  # classic tone placement finds the new-style "Hoà"
        ("da nang VÀ phu huynh", True),
        ("đà nẵng KHÔNG phụ huynh", False),
        ("bạo lực HOẶC lạm*", True),
        ('NOT "bạo lực"', True),
        ("", True),
        ("tuyển sinh", False),
    ],
)
def test_query_matching_is_like_search(query: str, expected: bool) -> None:
    assert matches(query, {}, DocumentFacts(text=TEXT)) is expected


def test_filters() -> None:
    facts = DocumentFacts(
        text=TEXT, topics=["hoc_phi_thu_chi"], risk="nong", sentiment="tieu_cuc", source_id=3,
        units=[7], reach=120,
    )  # fmt: skip
    assert matches("lạm thu", {"topics": ["hoc_phi_thu_chi", "khac"], "risks": ["nong"]}, facts)
    assert not matches("lạm thu", {"topics": ["day_them"]}, facts)
    assert not matches("lạm thu", {"sentiments": ["tich_cuc"]}, facts)
    assert matches("", {"sources": [3], "units": [7, 8]}, facts)
    assert not matches("", {"units": [8]}, facts)
    assert matches("", {"min_reach": 100}, facts)
    assert not matches("", {"min_reach": 500}, facts)
    social = DocumentFacts(text=TEXT, source_id=3, scope="social")
    assert matches("", {"scopes": ["social", "local"]}, social)
    assert not matches("", {"scopes": ["national"]}, social)


def test_one_alert_per_rule_and_story(session: Session) -> None:
    # given a rule and two documents of one story, plus an unrelated one
    source = make_source(session)
    rule = Rule(name="Lạm thu", query='"lạm thu"', filters={"risks": ["nong"]}, severity="high")
    broken = Rule(name="Hỏng", query='"*')
    session.add_all([rule, broken])
    first = make_document(session, source, "Phụ huynh phản ánh lạm thu", TEXT, risk="nong")
    copy = make_document(session, source, "Lạm thu ở trường THCS", TEXT, risk="nong")
    copy.story_id = first.story_id
    other = make_document(session, source, "Khai giảng năm học mới", "Học sinh vui vẻ đến trường.")
    session.commit()
    # when each document is evaluated (the first one twice, as a redelivered task would)
    for doc in (first, first, copy, other):
        evaluate(session, doc.id)
    # then one alert holds both documents, with one event per change
    (alert,) = session.scalars(select(Alert)).all()
    assert alert.rule_id == rule.id and alert.severity == "high" and alert.status == "new"
    assert alert.details["documents"] == [first.id, copy.id]
    kinds = [e.kind for e in session.scalars(select(AlertEvent).order_by(AlertEvent.id))]
    assert kinds == ["created", "document_added", "document_added"]


RULE_QUERIES = [
    '"lạm thu"', "lam thu", "hòa bình VÀ phụ huynh", "bạo lực HOẶC lạm*", 'NOT "bạo lực"',
    "", "tuyển sinh", "(sở HOẶC phòng) VÀ đà nẵng", '"thu lạm"', "trả* KHÔNG khai giảng",
    '"trường thcs" VÀ (hoa HOẶC hòa)', "-phụ huynh lạm",
]  # fmt: skip
TEXTS = [TEXT, "Khai giảng năm học mới ở Đà Nẵng", "Phòng GD&ĐT xử lý bạo lực học đường", ""]


def test_indexed_rule_set_agrees_with_matching_each_rule() -> None:
    rules = [compile_rule(i, f"r{i}", q, {}, None) for i, q in enumerate(RULE_QUERIES)]
    ruleset = RuleSet(rules)
    for text in TEXTS:
        facts = DocumentFacts(text=text)
        expected = [r.id for r in rules if matches(RULE_QUERIES[r.id], {}, facts)]
        assert [r.id for r in ruleset.matching(facts)] == expected, text


def test_compiled_rules_follow_edits(session: Session) -> None:
    # given a compiled rule set
    rule = Rule(name="Lạm thu", query='"lạm thu"')
    session.add(rule)
    session.commit()
    assert [r.id for r in compiled_rules(session).matching(DocumentFacts(text=TEXT))] == [rule.id]
    cached = compiled_rules(session)
    assert compiled_rules(session) is cached  # no edit: the same compiled set
    # when the rule is edited, disabled, or a broken one is added
    rule.query = '"khai giảng"'
    session.commit()
    assert compiled_rules(session).matching(DocumentFacts(text=TEXT)) == []
    session.add(Rule(name="Hỏng", query='"*'))
    rule.enabled = False
    session.commit()
    # then the next document sees the new set; the broken query never matches
    assert len(compiled_rules(session)) == 0
