"""Story matching stays linear when thousands of items are alike (issue 15: 3,000
near-identical items made one ingest transaction run 25 minutes, half of it in find_story)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.models import Document, Source, Story
from crawlers.connectors.base import FetchedItem
from crawlers.pipeline import ingest
from crawlers.story_index import MAX_CANDIDATES, match_stats

T0 = datetime(2026, 3, 12, 1, 0, tzinfo=UTC)
SHORT, LONG = 750, 750


def _short(i: int, accents: bool = True) -> FetchedItem:
    # Under 20 shingles: posts naming different schools must stay apart (Jaccard ~0.65),
    # yet they share most band buckets, so every one is a candidate for every other.
    text = (
        f"Trường Tiểu học số {i} xã Hòa Bình cho học sinh nghỉ học ngày mai do mưa lớn"
        if accents
        else f"Truong Tieu hoc so {i} xa Hoa Binh cho hoc sinh nghi hoc ngay mai do mua lon"
    )
    key = f"bai-{i}" if accents else f"dang-lai-{i}"
    return FetchedItem(url=None, native_id=key, title="", lead="", body=text, published_at=T0)


LONG_BODY = (
    "Sở Giáo dục và Đào tạo tỉnh vừa ban hành kế hoạch tuyển sinh vào lớp 10 năm học mới. "
    "Theo kế hoạch, kỳ thi diễn ra trong hai ngày với ba môn bắt buộc là Ngữ văn, Toán và "
    "Ngoại ngữ. Thí sinh đăng ký nguyện vọng trực tuyến từ đầu tháng năm. Các trường trung "
    "học phổ thông công lập công bố chỉ tiêu và điểm chuẩn sau khi có kết quả chấm thi. "
    "Phụ huynh cần theo dõi thông báo chính thức của nhà trường để tránh thông tin sai lệch."
)


def _long(i: int) -> FetchedItem:
    # One outlet's copy of the same article, with its own edition number: joins the story.
    return FetchedItem(
        url=f"https://bao.example.vn/tuyen-sinh-{i}.html",
        title="Kế hoạch tuyển sinh lớp 10 năm học mới",
        lead=f"Bản tin số {i} của chuyên mục giáo dục.",
        body=LONG_BODY,
        published_at=T0 + timedelta(minutes=i % 600),
    )


def test_near_identical_items_cost_linear_comparisons_and_still_cluster(
    session: Session,
) -> None:
    # given two outlets and ~1,500 near-identical items, interleaved as a busy day brings them
    social = Source(name="Nhóm phụ huynh", url="https://social.example.vn/g", kind="facebook")
    paper = Source(name="Báo Thử", url="https://bao.example.vn/rss")
    session.add_all([social, paper])
    session.commit()
    match_stats.reset()
    per_third = []
    for third in range(3):
        before = match_stats.comparisons
        for start in range(third * 250, (third + 1) * 250, 50):
            ingest(session, social, [_short(i) for i in range(start, start + 50)])
            ingest(session, paper, [_long(i) for i in range(start, start + 50)])
        per_third.append(match_stats.comparisons - before)
    # and a repost (no diacritics) of one of the first posts, after 1,500 alike items
    ingest(session, social, [_short(3, accents=False)])

    # then each lookup verified a bounded number of stories: linear in all
    assert match_stats.lookups >= SHORT + LONG
    # (the cap was reached: unbounded, these lookups would have verified more)
    assert match_stats.most_in_one_lookup == MAX_CANDIDATES
    assert match_stats.comparisons <= MAX_CANDIDATES * match_stats.lookups
    # quadratic growth would make the last third cost ~1.7x the middle one (and 280k
    # comparisons for the short posts alone); bounded, the thirds cost about the same
    assert per_third[2] <= 1.2 * per_third[1], per_third
    # and the clusters are right: every school's post alone, the repost with its post,
    # every copy of the article in one story with the right counts
    short_sizes = session.scalars(
        select(Story.doc_count)
        .join(Document, Document.story_id == Story.id)
        .where(Document.source_id == social.id)
        .distinct()
    ).all()
    assert sorted(short_sizes) == [1, 2]
    assert (
        session.scalar(
            select(func.count(func.distinct(Document.story_id))).where(
                Document.source_id == social.id
            )
        )
        == SHORT
    )
    long_stories = session.scalars(
        select(Story).join(Document).where(Document.source_id == paper.id).distinct()
    ).all()
    assert [(s.doc_count, s.outlet_count) for s in long_stories] == [(LONG, 1)]
    assert long_stories[0].first_seen_at == T0
    assert long_stories[0].last_seen_at == T0 + timedelta(minutes=599)
