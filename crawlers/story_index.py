"""The story index: each story's MinHash bands in `story_minhash_bands`, looked up to find the
story a new document's fingerprint belongs to, limited to stories active in a window."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy import bindparam, delete, func, insert, select, union_all, update
from sqlalchemy.orm import Session

from core.models import Story, StoryMinhashBand, utcnow
from crawlers.fingerprint import BANDS, Fingerprint, band_buckets, similarity, unpack_buckets

# Only stories active within this window of a document's time are candidates, so a yearly
# "khai giảng" report never joins last year's story.
WINDOW = timedelta(days=7)
# A story stays findable this long after it last grew (in wall-clock time, so a backfill of
# old articles clusters too); then its bands are deleted and the table stays small.
BANDS_KEPT_FOR = timedelta(days=30)
# Stories whose bands one prune deletes (64 rows each).
PRUNE_STORIES = 500

bands_table = StoryMinhashBand.__table__


# Thousands of near-identical items that are not similar enough to join (short posts naming
# different schools, a template with one word changed) share band buckets: every lookup
# verified all of them, quadratic in their number (49 % of a 25-minute ingest of 3,000).
# Each band now offers only its newest CANDIDATES_PER_BAND stories in the window, and only
# the MAX_CANDIDATES stories sharing the most bands (the likeliest matches) are verified.
# A true copy shares nearly every band, and its bands that hold its own distinguishing
# shingles are shared with few others, so it still surfaces.
CANDIDATES_PER_BAND = 8
MAX_CANDIDATES = 32


@dataclass
class MatchStats:
    """What story lookups cost in this process (tests and benches read it)."""

    lookups: int = 0
    comparisons: int = 0
    most_in_one_lookup: int = 0

    def reset(self) -> None:
        """Start counting afresh."""
        self.lookups = self.comparisons = self.most_in_one_lookup = 0


match_stats = MatchStats()


def _band_candidates(band: int) -> Any:
    # (band, bucket, story_id) is the primary key: newest-first is a bounded index range.
    return (
        select(bands_table.c.story_id)
        .join(Story, Story.id == bands_table.c.story_id)
        .where(
            bands_table.c.band == band,
            bands_table.c.bucket == bindparam(f"k{band}"),
            Story.last_seen_at >= bindparam("lo"),
            Story.first_seen_at <= bindparam("hi"),
        )
        .order_by(bands_table.c.story_id.desc())
        .limit(CANDIDATES_PER_BAND)
        .subquery(f"b{band}")
    )


# Built once: constructing 64 subqueries per lookup cost more than running the query.
_per_band = union_all(*(select(sub.c.story_id) for sub in map(_band_candidates, range(BANDS))))
_hits = _per_band.subquery("hits")
_CANDIDATES = (
    select(_hits.c.story_id)
    .group_by(_hits.c.story_id)
    .order_by(func.count().desc(), _hits.c.story_id)
    .limit(MAX_CANDIDATES)
)


def find_story(session: Session, fp: Fingerprint, at: datetime) -> tuple[int, float] | None:
    """(story id, similarity) of the most similar story active around `at`, if one is close
    enough; ties go to the oldest story. At most MAX_CANDIDATES stories are verified."""
    if fp.signature is None:
        return None
    params: dict[str, object] = {f"k{i}": k for i, k in enumerate(band_buckets(fp.signature))}
    params |= {"lo": at - WINDOW, "hi": at + WINDOW}
    candidates = list(session.scalars(_CANDIDATES, params))
    match_stats.lookups += 1
    if not candidates:
        return None
    rows = session.execute(
        select(bands_table.c.story_id, bands_table.c.band, bands_table.c.bucket).where(
            bands_table.c.story_id.in_(candidates)
        )
    ).all()
    stored: dict[int, np.ndarray] = {}
    for story_id, band, bucket in rows:
        # A story missing a band (never expected) just scores lower there.
        stored.setdefault(story_id, np.full(BANDS, -1, dtype=np.int64))[band] = bucket
    match_stats.comparisons += len(stored)
    match_stats.most_in_one_lookup = max(match_stats.most_in_one_lookup, len(stored))
    best: tuple[int, float] | None = None
    for story_id in sorted(stored):
        score = similarity(fp.signature, unpack_buckets(stored[story_id]))
        if score >= fp.min_similarity and (best is None or score > best[1]):
            best = (story_id, score)
    return best


def _expiry(story: Story) -> datetime:
    return max(utcnow(), story.last_seen_at) + BANDS_KEPT_FOR


def index_story(session: Session, story: Story, fp: Fingerprint) -> None:
    """Make a story findable by its anchor document's fingerprint."""
    if fp.signature is None:
        return
    expires = _expiry(story)
    session.execute(
        insert(bands_table),
        [
            {"band": band, "bucket": bucket, "story_id": story.id, "expires_at": expires}
            for band, bucket in enumerate(band_buckets(fp.signature))
        ],
    )


def keep_story(session: Session, story: Story) -> None:
    """Extend a growing story's findability."""
    session.execute(
        update(bands_table)
        .where(bands_table.c.story_id == story.id)
        .values(expires_at=_expiry(story))
    )


def unindex_story(session: Session, story_id: int) -> None:
    """Forget a story's bands (it lost its documents)."""
    session.execute(delete(bands_table).where(bands_table.c.story_id == story_id))


def prune_bands(session: Session, now: datetime, *, stories: int = PRUNE_STORIES) -> int:
    """Delete the bands of (at most `stories`) stories that stopped growing BANDS_KEPT_FOR
    ago; rows deleted. Bounded: a month of stories at once held the write lock for seconds;
    the rest go at the next call."""
    expired = (
        select(bands_table.c.story_id)
        .where(bands_table.c.expires_at < now)
        .distinct()
        .limit(stories)
        .scalar_subquery()
    )
    result = session.execute(
        delete(bands_table).where(
            bands_table.c.story_id.in_(expired), bands_table.c.expires_at < now
        )
    )
    return int(getattr(result, "rowcount", 0) or 0)
