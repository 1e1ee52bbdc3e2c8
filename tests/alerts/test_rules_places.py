"""Rules (saved searches) filter by địa bàn as the search does (?place=)."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from alerts.detection.evaluate import evaluate
from alerts.detection.rule_service import RuleFilters, RuleIn, check_rule
from alerts.detection.rules import DocumentFacts, matches
from core.models import Alert, Rule
from crawlers.locality import locate_texts, place_rows
from tests.factories import make_document, make_source


def test_place_filter_any_of_the_listed_places() -> None:
    about_qn = DocumentFacts(text="lạm thu", places=["51", "23425"])
    elsewhere = DocumentFacts(text="lạm thu", places=["01"])
    assert matches("lạm thu", {"places": ["51"]}, about_qn)
    assert matches("lạm thu", {"places": ["23425", "79"]}, about_qn)
    assert not matches("lạm thu", {"places": ["51"]}, elsewhere)
    assert not matches("lạm thu", {"places": ["51"]}, DocumentFacts(text="lạm thu"))


def test_unknown_place_codes_are_refused(session: Session) -> None:
    check_rule(RuleIn(name="Địa bàn", filters=RuleFilters(places=["51"])), session)
    with pytest.raises(ValueError, match="Không có địa bàn mã số 99"):
        check_rule(RuleIn(name="Sai", filters=RuleFilters(places=["99"])), session)


def test_a_place_rule_alerts_on_documents_about_that_place(session: Session) -> None:
    # given: a rule for Quảng Ngãi; one story there (by its old name), one in Hà Nội
    source = make_source(session)
    session.add(Rule(name="Lạm thu ở tỉnh", query="lạm thu", filters={"places": ["51"]}))
    docs = []
    for title in ("Lạm thu ở huyện Đăk Hà, tỉnh Kon Tum (cũ)", "Lạm thu ở phường Cầu Giấy, Hà Nội"):
        doc = make_document(session, source, title)
        doc.places = place_rows(locate_texts({doc.id: title}, None)[doc.id])
        docs.append(doc)
    session.commit()
    # when
    for doc in docs:
        evaluate(session, doc.id)
    # then: only the Quảng Ngãi story raised the rule's alert
    alerts = session.scalars(select(Alert).where(Alert.rule_id.is_not(None))).all()
    assert [a.details["documents"] for a in alerts] == [[docs[0].id]]
