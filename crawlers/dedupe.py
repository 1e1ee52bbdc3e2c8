"""Near-duplicate clustering of documents into stories: a new document joins the story whose
anchor fingerprint it matches (crawlers.story_index), or starts one; a story's counts, time
range and title follow its documents. Why MinHash: crawlers.fingerprint."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session

from core.models import Document, Story
from crawlers.fingerprint import Fingerprint
from crawlers.story_index import find_story, index_story, keep_story, unindex_story


def document_time(doc: Document) -> datetime:
    """When a document happened for story purposes: its publish time, else its fetch time."""
    return doc.published_at or doc.fetched_at


def refresh_story(session: Session, story: Story) -> None:
    """Recompute a story's counts, time range and title from its documents (after a flush)."""
    doc_time = func.coalesce(Document.published_at, Document.fetched_at)
    count, outlets, first, last = session.execute(
        select(
            func.count(Document.id),
            func.count(func.distinct(Document.source_id)),
            func.min(doc_time),
            func.max(doc_time),
        ).where(Document.story_id == story.id)
    ).one()
    story.doc_count, story.outlet_count = int(count), int(outlets)
    if first is not None:
        story.first_seen_at, story.last_seen_at = first, last
    earliest = session.execute(
        select(Document.title, Document.lead)
        .where(Document.story_id == story.id)
        .order_by(doc_time, Document.fetched_at, Document.id)
        .limit(1)
    ).first()
    if earliest is not None:
        story.title = earliest.title or earliest.lead[:300]


def _new_story(session: Session, doc: Document, fp: Fingerprint) -> Story:
    at = document_time(doc)
    story = Story(
        title=doc.title or doc.lead[:300],
        first_seen_at=at,
        last_seen_at=at,
        doc_count=1,
        outlet_count=1,
        simhash=fp.simhash,
    )
    doc.story = story
    session.flush()
    index_story(session, story, fp)
    return story


def attach(session: Session, doc: Document, fp: Fingerprint) -> bool:
    """Put a new document (added, not yet flushed) into the closest story or a new one;
    True when it joined an existing story."""
    # The lookup must not flush the half-built document.
    with session.no_autoflush:
        match = find_story(session, fp, document_time(doc))
        story = session.get(Story, match[0]) if match else None
    if story is None:
        _new_story(session, doc, fp)
        return False
    doc.story = story
    session.flush()
    grow_story(session, story, doc)
    keep_story(session, story)
    return True


def grow_story(session: Session, story: Story, doc: Document) -> None:
    """refresh_story for one document just added (flushed): constant work however big the
    story (recounting 3,000 copies per copy was quadratic)."""
    at = document_time(doc)
    seen_outlet = session.scalar(
        select(
            exists().where(
                Document.story_id == story.id,
                Document.source_id == doc.source_id,
                Document.id != doc.id,
            )
        )
    )
    story.doc_count += 1
    story.outlet_count += 0 if seen_outlet else 1
    if at < story.first_seen_at:
        story.first_seen_at = at
        story.title = doc.title or doc.lead[:300]
    if at > story.last_seen_at:
        story.last_seen_at = at


def reattach(session: Session, doc: Document, fp: Fingerprint) -> None:
    """After a document's text changed: keep it in its story while it still matches,
    otherwise move it to the story it now matches or to a new one."""
    old = doc.story
    if old is not None and old.doc_count <= 1:
        # Alone in its story: the story's fingerprint follows the new text.
        old.simhash = fp.simhash
        session.flush()
        refresh_story(session, old)
        unindex_story(session, old.id)
        index_story(session, old, fp)
        return
    with session.no_autoflush:
        match = find_story(session, fp, document_time(doc))
        target = session.get(Story, match[0]) if match else None
    if target is None:
        _new_story(session, doc, fp)
    elif target is not old:
        doc.story = target
        session.flush()
        refresh_story(session, target)
        keep_story(session, target)
    if old is not None:
        session.flush()
        refresh_story(session, old)
