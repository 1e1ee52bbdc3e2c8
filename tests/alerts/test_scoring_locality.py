"""Locality in story scoring: the Department's own province outranks the same story
elsewhere; a bordering province's story is context to watch ("theo dõi")."""

from __future__ import annotations

from sqlalchemy.orm import Session

from alerts.detection.scoring import reasons, score_story
from alerts.detection.story_alerts import story_signals
from alerts.units.matcher import get_matcher
from core.geo.choice import set_province
from core.models import Story
from crawlers.locality import locate_texts, place_rows
from tests.factories import make_document, make_source

TEXT = "Một học sinh lớp 8 bị nhóm bạn đánh hội đồng ngay trong sân trường {where}."


def _story(session: Session, where: str) -> Story:
    source = make_source(session, f"Báo {where}", scope="local")
    text = TEXT.format(where=where)
    doc = make_document(
        session, source, text, topics=["bao_luc_hoc_duong"], risk="nong", sentiment="tieu_cuc"
    )
    doc.classifications[0].risk_score = 0.8
    # as ingest stores them (crawlers.locality)
    doc.places = place_rows(locate_texts({doc.id: text}, None)[doc.id])
    story = Story(title=text)
    session.add(story)
    session.flush()
    doc.story_id = story.id
    session.flush()
    return story


def test_own_province_outranks_a_neighbour_which_outranks_elsewhere(session: Session) -> None:
    # given: the Department serves Quảng Ngãi (Kon Tum merged into it); Đà Nẵng borders it
    set_province(session, "Quảng Ngãi")
    own_old_name = _story(session, "ở xã Đăk Hà, tỉnh Kon Tum (cũ)")
    neighbour = _story(session, "ở phường Hội An, TP. Đà Nẵng")
    elsewhere = _story(session, "ở phường Cầu Giấy, Hà Nội")
    session.commit()
    matcher = get_matcher(session, "")
    # when
    scores = {
        name: score_story(story_signals(session, story.id, matcher))
        for name, story in (("own", own_old_name), ("near", neighbour), ("far", elsewhere))
    }
    # then
    assert scores["own"].score > scores["near"].score > scores["far"].score
    assert scores["own"].facts["names_province"] is True
    assert "Nêu tên tỉnh/thành phố" in reasons(scores["own"])
    assert scores["near"].facts["near_province"] is True
    assert "Xảy ra ở tỉnh lân cận (theo dõi)" in reasons(scores["near"])
    assert not scores["far"].facts["names_province"] and not scores["far"].facts["near_province"]
