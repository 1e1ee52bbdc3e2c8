"""Forecast replay: does "Chủ đề đang lên" name the topics that grow most the following week?

No press archive of a year or more exists in this repository (demo and fixture sites hold
days, not years), so this builds one: `--weeks` (default 120, 2.3 school years) of
synthetic-but-realistic stored documents in a temporary SQLite database, migrated like
production, written as rows (Document + Classification) with our own text:
- each topic has its usual weekly volume (2-14 items over 12 outlets, Poisson);
- the school calendar (alerts/reporting/school_calendar.yaml) lifts its events' topics
  x2-x3.5 each year, the dates moving by up to 5 days from year to year;
- stories break at random (about one a fortnight): a topic jumps x3-x6 for 1-3 weeks, fading;
- a third of the items are unrelated news (relevance 0.1), which the forecast must ignore.
Then for each week after the first year (the baseline needs last year), as of that week's
end: the rising list (alerts.reporting.forecast.rising_topics over education items read back
with the shared relevance query) vs the truth, the top 5 topics by surprise (the same
excess-over-usual measure) in the FOLLOWING 7 days. precision@5 = named-and-true / named,
over weeks with a non-empty list; the naive list "last week's 5 biggest topics" is printed
for comparison. Prints precision@5 last.

    python bench/forecast.py [--weeks 120] [--seed 7]
"""

from __future__ import annotations

import argparse
import math
import os
import random
import sys
import tempfile
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
OUTLETS = 12
HEADS = ["Phụ huynh", "Học sinh", "Giáo viên", "Sở GDĐT", "Nhà trường", "Hiệu trưởng"]


def _poisson(rng: random.Random, lam: float) -> int:
    # Knuth's method; lam stays small (< 60) here.
    limit, k, p = math.exp(-lam), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


def synthesize(weeks: int, seed: int, end: date) -> list[tuple[datetime, int, list[str], float]]:
    """(published_at, outlet, topics, relevance) of every synthetic item, day by day."""
    from alerts.reporting.calendar import load_calendar
    from core.taxonomy import TOPIC_NAMES

    rng = random.Random(seed)
    topics = [t for t in TOPIC_NAMES if t != "khac"]
    usual = {t: rng.uniform(2, 14) / 7 for t in topics}  # per day
    start = end - timedelta(weeks=weeks)
    lifts: dict[tuple[str, date], float] = {}
    for year in range(start.year - 1, end.year + 1):
        for ev in load_calendar():
            shift = timedelta(days=rng.randint(-5, 5))
            first = date.fromisoformat(f"{year}-{ev.start}") + shift
            last = date.fromisoformat(f"{year + (ev.end < ev.start)}-{ev.end}") + shift
            factor = rng.uniform(2, 3.5)
            for i in range((last - first).days + 1):
                for t in ev.topics:
                    key = (t, first + timedelta(days=i))
                    lifts[key] = max(lifts.get(key, 1.0), factor)
    stories: list[tuple[str, date, int, float]] = []
    day = start
    while day < end:
        if rng.random() < 1 / 14:
            stories.append((rng.choice(topics), day, rng.randint(7, 21), rng.uniform(3, 6)))
        day += timedelta(days=1)
    out = []
    day = start
    while day < end:
        for t in topics:
            lam = usual[t] * lifts.get((t, day), 1.0)
            for story_topic, first, length, peak in stories:
                age = (day - first).days
                if story_topic == t and 0 <= age < length:
                    lam *= 1 + (peak - 1) * (1 - age / length)  # fades over its weeks
            for _ in range(_poisson(rng, lam)):
                at = datetime(day.year, day.month, day.day, rng.randint(0, 23), tzinfo=TZ)
                more = [rng.choice(topics)] if rng.random() < 0.15 else []
                out.append((at.astimezone(UTC), rng.randrange(OUTLETS), [t, *more], 0.9))
        for _ in range(_poisson(rng, 2.5 * sum(usual.values()) / 5)):
            at = datetime(day.year, day.month, day.day, rng.randint(0, 23), tzinfo=TZ)
            out.append((at.astimezone(UTC), rng.randrange(OUTLETS), [rng.choice(topics)], 0.1))
        day += timedelta(days=1)
    return out


def store(rows: list[tuple[datetime, int, list[str], float]]) -> None:
    """Write the items as stored documents with one classification each."""
    from sqlalchemy import insert

    from core import db
    from core.models import Classification, Document, Source

    with db.session_scope() as s:
        sources = [Source(name=f"Báo Thử {i}", url=f"http://127.0.0.1:9/{i}") for i in range(12)]
        s.add_all(sources)
        s.flush()
        docs, cls = [], []
        for k, (at, outlet, topics, relevance) in enumerate(rows):
            doc_id = str(uuid.uuid4())
            docs.append({
                "id": doc_id, "source_id": sources[outlet].id, "published_at": at,
                "title": f"{HEADS[k % len(HEADS)]} nói về {topics[0]} ({k})", "body": "",
                "fetched_at": at, "updated_at": at, "content_hash": doc_id, "meta": {},
            })  # fmt: skip
            cls.append({"document_id": doc_id, "model_version": "bench", "topics": topics,
                        "relevance": relevance, "created_at": at})  # fmt: skip
            if len(docs) == 5000 or k == len(rows) - 1:
                s.execute(insert(Document), docs)
                s.execute(insert(Classification), cls)
                docs, cls = [], []


def replay(end: date, weeks: int) -> None:
    from alerts.reporting.forecast import load_items, rising_topics, surprise, topic_stats
    from core import db

    first = datetime.combine(end - timedelta(weeks=weeks), datetime.min.time(), TZ)
    last = datetime.combine(end, datetime.min.time(), TZ)
    with db.session_scope() as s:
        t0 = time.perf_counter()
        items = load_items(s, first, last, min_relevance=0.5)
        everything = load_items(s, first, last, min_relevance=None)
        print(f"read back: {len(items)} education items of {len(everything)} stored "
              f"({time.perf_counter() - t0:.1f} s)")  # fmt: skip
    hits = named = naive_hits = naive_named = weeks_run = 0
    at = first + timedelta(weeks=54)
    t0 = time.perf_counter()
    while at + timedelta(days=7) <= last:
        rising, _ = rising_topics(items, at, TZ)
        nxt, _ = topic_stats(items, at + timedelta(days=7), TZ)
        scored = sorted(nxt.items(), key=lambda kv: -surprise(kv[1][0], kv[1][2]))
        truth = {t for t, (c, _, u, _) in scored[:5] if c > u}
        now_stats, _ = topic_stats(items, at, TZ)
        naive = [t for t, _ in sorted(now_stats.items(), key=lambda kv: -kv[1][0])[:5]]
        if rising:
            hits += len({r.topic for r in rising} & truth)
            named += len(rising)
        naive_hits += len(set(naive) & truth)
        naive_named += len(naive)
        weeks_run += 1
        at += timedelta(days=7)
    took = time.perf_counter() - t0
    print(f"weeks replayed: {weeks_run} ({took / max(weeks_run, 1) * 1000:.0f} ms per week)")
    print(f"naive 'last week's 5 biggest' precision@5: {naive_hits / max(naive_named, 1):.2f}")
    print(f"rising-topic list length: {named / max(weeks_run, 1):.1f} topics per week")
    print(f"precision@5: {hits / max(named, 1):.2f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--weeks", type=int, default=120)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        os.environ.update({
            "DIEMTIN_DATA_DIR": tmp, "DIEMTIN_ENVIRONMENT": "test",
            "DIEMTIN_SECRET_KEY": "bench-secret", "DIEMTIN_DATABASE_URL": "",
        })  # fmt: skip
        from core import db

        db.migrate()
        end = date(2026, 12, 7)
        t0 = time.perf_counter()
        rows = synthesize(args.weeks, args.seed, end)
        store(rows)
        print(f"synthetic archive: {args.weeks} weeks, {len(rows)} items "
              f"({time.perf_counter() - t0:.1f} s; no real archive in the repository)")  # fmt: skip
        replay(end, args.weeks)


if __name__ == "__main__":
    main()
