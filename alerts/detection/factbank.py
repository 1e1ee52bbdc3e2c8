"""Fact bank matching: a new document that repeats a claim the Department already refuted.

Meaning, not words: the claim and the document's sentences are embedded with the e5 encoder
("query: " on both sides, e5's prefix for symmetric similarity) and compared by cosine.
Fact embeddings are computed lazily (NULL, or made by another model version), stored on
the row and kept in an in-process cache keyed by the fact's updated_at."""

from __future__ import annotations

import hashlib
import logging
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.models import Document, Fact
from core.settings import Settings, get_settings

log = logging.getLogger(__name__)

PREFIX = "query: "
# Sentences of the document compared with the claims (title and lead first).
MAX_CHUNKS = 8
MAX_CHUNK_CHARS = 400
_SENTENCE_RE = re.compile(r"(?<=[.!?…])\s+|\n+")


class Embedder(Protocol):
    """Sentence embeddings: L2-normalised float32 rows, one per text."""

    def __call__(self, texts: Sequence[str]) -> np.ndarray: ...

    def name(self) -> str: ...


class E5Embedder:
    """The e5 encoder the classifier uses (classifier/encoder.py), loaded on first use."""

    def __init__(self, settings: Settings | None = None, encoder_dir: Any = None) -> None:
        self.settings = settings or get_settings()
        self.encoder_dir = encoder_dir
        self._loaded: tuple[Any, Any] | None = None
        self._lock = threading.Lock()
        self.model_name = ""

    def _load(self) -> tuple[Any, Any]:
        with self._lock:
            if self._loaded is None:
                # alerts/ otherwise reads only storage; the fact bank is the one place that
                # needs the encoder itself (docs/decisions.md), so it is imported lazily:
                # torch adds ~12 s to every alerts worker's start (python -X importtime).
                from classifier.encoder import load_encoder, read_manifest
                from classifier.encoder_install import ensure_encoder

                where = self.encoder_dir or ensure_encoder(self.settings)
                self._loaded = load_encoder(where)
                source = read_manifest(where).get("source", {})
                self.model_name = f"e5-small@{str(source.get('sha256', ''))[:12]}"
            return self._loaded

    def __call__(self, texts: Sequence[str]) -> np.ndarray:
        from classifier.encoder import embed  # lazily, as in _load

        model, tokenizer = self._load()
        return embed(model, tokenizer, list(texts), PREFIX, max_length=128)

    def name(self) -> str:
        """The model version stored beside fact embeddings."""
        self._load()
        return self.model_name


_embedder: Embedder | None = None


def default_embedder() -> Embedder:
    """The process-wide e5 embedder."""
    global _embedder
    if _embedder is None:
        _embedder = E5Embedder()
    return _embedder


def set_embedder(embedder: Embedder | None) -> None:
    """Use this embedder from now on (tests and tools that built the encoder elsewhere)."""
    global _embedder
    _embedder = embedder
    _fact_cache.clear()


@dataclass(frozen=True, slots=True)
class FactMatch:
    """The refuted claim a document repeats, and how closely."""

    fact_id: int
    similarity: float
    statement: str
    correction: str
    sentence: str

    def details(self) -> dict[str, Any]:
        """The JSON kept on the misinfo alert."""
        return {
            "fact_id": self.fact_id,
            "similarity": round(self.similarity, 4),
            "statement": self.statement,
            "correction": self.correction,
            "matched_sentence": self.sentence,
        }


# (db url, fact id) -> (updated_at, model name, vector)
_fact_cache: dict[tuple[str, int], tuple[datetime, str, np.ndarray]] = {}


def embedding_version(model: str, statement: str) -> str:
    """What a stored embedding was made from: the model and the statement's text, so an
    edited statement (by any process, however it was saved) is re-embedded."""
    return f"{model}#{hashlib.sha256(statement.encode()).hexdigest()[:12]}"


def fact_vectors(session: Session, embedder: Embedder) -> list[tuple[Fact, np.ndarray]]:
    """Active refuted facts with their embeddings (computed and stored where missing)."""
    facts = list(session.scalars(select(Fact).where(Fact.active.is_(True), Fact.kind == "refuted")))
    if not facts:
        return []
    where = str(session.get_bind().engine.url)
    model = embedder.name()
    out: list[tuple[Fact, np.ndarray]] = []
    stale: list[Fact] = []
    for fact in facts:
        cached = _fact_cache.get((where, fact.id))
        version = embedding_version(model, fact.statement)
        if cached and cached[0] == fact.updated_at and cached[1] == version:
            out.append((fact, cached[2]))
        elif fact.embedding and fact.embedding_model == version:
            vec = np.frombuffer(fact.embedding, dtype=np.float32)
            _fact_cache[(where, fact.id)] = (fact.updated_at, version, vec)
            out.append((fact, vec))
        else:
            stale.append(fact)
    if stale:
        vectors = embedder([f.statement for f in stale])
        for fact, vec in zip(stale, vectors, strict=True):
            # Stored so other workers need not recompute it; updated_at stays (no edit).
            fact.embedding = vec.astype(np.float32).tobytes()
            fact.embedding_model = embedding_version(model, fact.statement)
            _fact_cache[(where, fact.id)] = (fact.updated_at, fact.embedding_model, vec)
            out.append((fact, vec))
    return out


def document_chunks(doc: Document | Any) -> list[str]:
    """The pieces of a document compared with the claims: title, title + lead, sentences."""
    chunks = [doc.title] if doc.title else []
    if doc.lead:
        chunks.append(f"{doc.title}. {doc.lead}" if doc.title else doc.lead)
    for sentence in _SENTENCE_RE.split(f"{doc.lead}\n{doc.body}"):
        sentence = sentence.strip()
        if len(sentence) >= 20 and sentence not in chunks:
            chunks.append(sentence[:MAX_CHUNK_CHARS])
        if len(chunks) >= MAX_CHUNKS:
            break
    return chunks


def match_document(
    session: Session,
    doc: Document,
    *,
    embedder: Embedder | None = None,
    threshold: float | None = None,
) -> FactMatch | None:
    """The refuted claim this document repeats most closely, if above the threshold."""
    embedder = embedder or default_embedder()
    facts = fact_vectors(session, embedder)
    chunks = document_chunks(doc)
    if not facts or not chunks:
        return None
    limit = get_settings().alerts.fact_similarity_threshold if threshold is None else threshold
    matrix = np.stack([v for _, v in facts])
    sims = embedder(chunks) @ matrix.T  # [chunks, facts]
    best_chunk, best_fact = np.unravel_index(int(np.argmax(sims)), sims.shape)
    similarity = float(sims[best_chunk, best_fact])
    if similarity < limit:
        return None
    fact = facts[int(best_fact)][0]
    return FactMatch(fact.id, similarity, fact.statement, fact.correction, chunks[best_chunk])


def has_refuted_facts(session: Session) -> bool:
    """Whether fact matching has anything to do (it costs an encoder pass per document)."""
    return (
        session.scalar(
            select(Fact.id).where(Fact.active.is_(True), Fact.kind == "refuted").limit(1)
        )
        is not None
    )
