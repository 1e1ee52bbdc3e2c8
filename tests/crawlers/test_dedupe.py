"""Near-duplicate clustering: MinHash signatures on our own Vietnamese fixture articles, and
stories maintained by the ingest pipeline on a real SQLite database."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pytest
from alembic import command
from sqlalchemy import func, inspect, select
from sqlalchemy.orm import Session

from core import db
from core.models import Document, Source, Story, utcnow
from core.text import normalize
from crawlers.connectors.base import FetchedItem
from crawlers.fingerprint import (
    MIN_SIMILARITY,
    MIN_SIMILARITY_SHORT,
    SHORT_SHINGLES,
    band_buckets,
    fingerprint,
    minhash,
    shingles,
    similarity,
    unpack_buckets,
)
from crawlers.identity import canonical_url, document_id
from crawlers.pipeline import ingest
from crawlers.story_index import BANDS_KEPT_FOR, bands_table, prune_bands
from tests.crawlers.conftest import FIXTURES

DATA = json.loads((FIXTURES / "dedupe" / "articles.json").read_text(encoding="utf-8"))
GROUPS = {g["name"]: g for g in DATA["groups"]}


def hamming(a: int, b: int) -> int:
    """Differing bits of two 64-bit SimHashes (signed or unsigned): only this test measures it."""
    return ((a ^ b) & ((1 << 64) - 1)).bit_count()


T0 = datetime(2026, 3, 12, 1, 0, tzinfo=UTC)


def _article(group: str, kind: str) -> dict[str, Any]:
    g = GROUPS[group]
    if kind == "copy":
        return {**g["original"], "body": [*g["original"]["body"], g["copy_suffix"]]}
    return dict(g[kind])


def _fp(a: dict[str, Any]):  # noqa: ANN202 (a test helper)
    return fingerprint(normalize(a["title"]), normalize(a["lead"]), normalize("\n".join(a["body"])))


@pytest.mark.parametrize("group", sorted(GROUPS))
def test_copies_and_rewrites_are_similar_other_articles_are_not(group: str) -> None:
    # given
    original = _fp(_article(group, "original"))
    # when
    copy = similarity(original.signature, _fp(_article(group, "copy")).signature)
    rewrite = similarity(original.signature, _fp(_article(group, "rewrite")).signature)
    same_topic = similarity(original.signature, _fp(_article(group, "same_topic")).signature)
    # then
    assert copy >= 0.9
    assert rewrite >= MIN_SIMILARITY + 0.1
    assert same_topic <= MIN_SIMILARITY - 0.2


def test_simhash_alone_could_not_separate_rewrites() -> None:
    # given: the measurement behind choosing MinHash, kept as a check
    fps = {(g, k): _fp(_article(g, k)) for g in GROUPS for k in ("original", "rewrite")}
    # when
    distances = [hamming(fps[g, "original"].simhash, fps[g, "rewrite"].simhash) for g in GROUPS]
    # then: rewrites sit past 4 bands x 16 bits' guarantee (<= 3), near unrelated pairs (~32)
    assert min(distances) > 3


def test_short_posts_join_only_near_copies() -> None:
    # given
    short = {k: fingerprint(normalize(v), "", "") for k, v in DATA["short"].items()}
    post = short["post"]
    # when / then
    assert post.shingle_count < SHORT_SHINGLES and post.min_similarity == MIN_SIMILARITY_SHORT
    assert similarity(post.signature, short["repost_without_diacritics"].signature) == 1.0
    assert similarity(post.signature, short["other_school"].signature) < MIN_SIMILARITY_SHORT
    assert similarity(post.signature, short["other_post"].signature) < MIN_SIMILARITY


def test_signatures_are_stable_and_pack_into_bands() -> None:
    # given
    grams = shingles("Sở Giáo dục và Đào tạo công bố lịch thi vào lớp 10")
    # when
    signature = minhash(grams)
    buckets = band_buckets(signature)
    # then: stored values must never change between versions or processes
    assert buckets[:2] == [661567919209341674, 69242980678059109]
    assert np.array_equal(unpack_buckets(np.array(buckets)), signature)
    assert all(0 <= b < 2**63 for b in buckets)
    assert shingles("Hai từ") == ["hai tu"] and shingles("") == []


# ----------------------------------------------------------------- stories in the DB


@pytest.fixture
def outlets(session: Session) -> list[Source]:
    sources = [Source(name=f"Báo {n}", url=f"https://bao{n}.example.vn/rss") for n in "ABC"]
    session.add_all(sources)
    session.commit()
    return sources


def _item(group: str, kind: str, slug: str, at: datetime) -> FetchedItem:
    a = _article(group, kind)
    return FetchedItem(
        url=f"https://bao.example.vn/{slug}.html",
        title=a["title"],
        lead=a["lead"],
        body="\n\n".join(a["body"]),
        published_at=at,
    )


def _story_of(session: Session, slug: str) -> Story:
    doc = session.get(Document, document_id(canonical_url(f"https://bao.example.vn/{slug}.html")))
    assert doc is not None and doc.story is not None
    return doc.story


def _count(session: Session, what: Any) -> int:
    return int(session.scalar(select(func.count()).select_from(what)) or 0)


def test_copy_and_rewrite_from_other_outlets_join_one_story(
    session: Session, outlets: list[Source]
) -> None:
    # given
    a, b, c = outlets
    g = "tuyen_sinh_lop_10"
    # when: the rewrite is crawled last but was published first
    ingest(session, a, [_item(g, "original", "goc", T0), _item(g, "same_topic", "khac", T0)])
    ingest(session, b, [_item(g, "copy", "ban-sao", T0 + timedelta(hours=2))])
    stats = ingest(session, c, [_item(g, "rewrite", "viet-lai", T0 - timedelta(minutes=30))])
    # then
    story = _story_of(session, "goc")
    assert stats.joined == 1 and stats.new == 1
    assert _story_of(session, "ban-sao").id == _story_of(session, "viet-lai").id == story.id
    assert (story.doc_count, story.outlet_count) == (3, 3)
    assert story.first_seen_at == T0 - timedelta(minutes=30)
    assert story.last_seen_at == T0 + timedelta(hours=2)
    assert story.title == GROUPS[g]["rewrite"]["title"]
    assert _story_of(session, "khac").id != story.id
    assert _count(session, Story) == 2


def test_reingesting_the_same_items_changes_nothing(
    session: Session, outlets: list[Source]
) -> None:
    # given
    a, b, _ = outlets
    g = "lam_thu_dau_nam"
    ingest(session, a, [_item(g, "original", "goc", T0)])
    ingest(session, b, [_item(g, "copy", "ban-sao", T0), _item(g, "rewrite", "viet-lai", T0)])
    before = [(s.id, s.doc_count, s.outlet_count, s.title) for s in session.scalars(select(Story))]
    bands = _count(session, bands_table)
    # when
    again = ingest(
        session, b, [_item(g, "copy", "ban-sao", T0), _item(g, "rewrite", "viet-lai", T0)]
    )
    # then
    after = [(s.id, s.doc_count, s.outlet_count, s.title) for s in session.scalars(select(Story))]
    assert (again.new, again.updated, again.unchanged) == (0, 0, 2)
    assert after == before == [(1, 3, 2, GROUPS[g]["original"]["title"])]
    assert _count(session, bands_table) == bands == 64


def test_copies_outside_the_window_start_a_new_story(
    session: Session, outlets: list[Source]
) -> None:
    # given: last year's report and this year's, word for word
    a, b, _ = outlets
    g = "bao_luc_hoc_duong"
    ingest(session, a, [_item(g, "original", "nam-ngoai", T0 - timedelta(days=365))])
    # when
    ingest(session, b, [_item(g, "copy", "nam-nay", T0)])
    # then
    assert _story_of(session, "nam-ngoai").id != _story_of(session, "nam-nay").id


def test_copies_in_one_batch_and_one_outlet_count_one_outlet(
    session: Session, outlets: list[Source]
) -> None:
    # given: one outlet lists the same article under two URLs
    g = "tuyen_sinh_lop_10"
    items = [_item(g, "original", "muc-1", T0), _item(g, "copy", "muc-2", T0)]
    # when
    stats = ingest(session, outlets[0], items)
    # then
    story = _story_of(session, "muc-1")
    assert (stats.new, stats.joined) == (2, 1)
    assert (story.doc_count, story.outlet_count) == (2, 1)


def test_short_social_posts_about_different_schools_stay_apart(
    session: Session, outlets: list[Source]
) -> None:
    # given
    posts = [
        FetchedItem(url=None, native_id=key, title="", lead="", body=text, published_at=T0)
        for key, text in DATA["short"].items()
    ]
    # when
    ingest(session, outlets[0], posts)
    # then: only the repost without diacritics joins the post
    sizes = sorted(s.doc_count for s in session.scalars(select(Story)))
    assert sizes == [1, 1, 2]


def test_a_document_rewritten_into_other_news_leaves_its_story(
    session: Session, outlets: list[Source]
) -> None:
    # given: an original with a syndicated copy
    a, b, _ = outlets
    g = "lam_thu_dau_nam"
    ingest(session, a, [_item(g, "original", "goc", T0)])
    ingest(session, b, [_item(g, "copy", "ban-sao", T0)])
    # when: outlet B replaces the copy's text with an unrelated article
    ingest(session, b, [_item("bao_luc_hoc_duong", "original", "ban-sao", T0)])
    # then
    old, moved = _story_of(session, "goc"), _story_of(session, "ban-sao")
    assert old.id != moved.id
    assert (old.doc_count, old.outlet_count) == (1, 1)
    assert moved.doc_count == 1 and moved.title == GROUPS["bao_luc_hoc_duong"]["original"]["title"]


def test_bands_of_stories_that_stopped_growing_are_pruned(
    session: Session, outlets: list[Source]
) -> None:
    # given: a story indexed now (its articles are old: a backfill still clusters)
    a, b, _ = outlets
    g = "tuyen_sinh_lop_10"
    ingest(session, a, [_item(g, "original", "goc", T0)])
    assert _count(session, bands_table) == 64
    # when: a month and a day later
    pruned = prune_bands(session, utcnow() + BANDS_KEPT_FOR + timedelta(days=1))
    session.commit()
    ingest(session, b, [_item(g, "copy", "ban-sao", T0)])
    # then: the story is no longer findable; its documents and counts are untouched
    assert pruned == 64
    assert _story_of(session, "goc").id != _story_of(session, "ban-sao").id
    assert _story_of(session, "goc").doc_count == 1


def test_band_table_migration_goes_down_and_up(session: Session) -> None:
    # given
    session.close()
    cfg = db.alembic_config()
    # when
    command.downgrade(cfg, "0001")
    down = set(inspect(db.get_engine()).get_table_names())
    command.upgrade(cfg, "head")
    up = set(inspect(db.get_engine()).get_table_names())
    # then
    assert "story_minhash_bands" not in down and "stories" in down
    assert "story_minhash_bands" in up
