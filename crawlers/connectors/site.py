"""News sites without feeds (Source.kind "site"): a Scrapy crawl of the site's sitemaps and
listing pages, run in a child process so that a long-lived worker never restarts Twisted.

Source.config: {"sitemaps": [...], "listings": [...], "article_selector": "...",
"next_selector": "...", "max_pages": N (5), "since_days": N (2; 0 = no limit),
"concurrency": N (4)} (see crawlers.spiders.config for the rest). With no sitemaps and no
listings the site's robots.txt names its sitemaps."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import subprocess
import sys
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Any

from core.models import Source, utcnow
from core.settings import PROJECT_ROOT, Settings
from crawlers.connectors.base import CrawlOutput, FetchedItem, register_connector
from crawlers.http import FetchError, check_public_url
from crawlers.identity import canonical_url
from crawlers.spiders.config import CrawlJob

log = logging.getLogger(__name__)

# Time for the child to start and to shut down after its own CLOSESPIDER_TIMEOUT.
GRACE_S = 30.0
MAX_STDERR_CHARS = 1500
MAX_LISTED_ERRORS = 5


def run_job(job: CrawlJob) -> tuple[list[dict[str, Any]], str, int | None]:
    """Run the crawl child for `job`: (records, stderr, exit status or None on timeout)."""
    with tempfile.TemporaryDirectory(prefix="diemtin-site-") as tmp:
        config_path, output_path = Path(tmp) / "job.json", Path(tmp) / "items.jsonl"
        config_path.write_text(job.to_json(), encoding="utf-8")
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(PROJECT_ROOT), env.get("PYTHONPATH", "")) if p
        )
        command = [
            sys.executable, "-m", "crawlers.spiders.run",
            "--config", str(config_path), "--output", str(output_path),
        ]  # fmt: skip
        returncode: int | None
        try:
            proc = subprocess.run(
                command,
                cwd=PROJECT_ROOT,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                timeout=job.timeout_s + GRACE_S,
                check=False,
            )
            stderr, returncode = proc.stderr, proc.returncode
        except subprocess.TimeoutExpired as exc:
            # subprocess.run has killed the child; what it wrote so far is still usable.
            stderr, returncode = exc.stderr or b"", None
        records = _read_records(output_path)
    return records, stderr.decode("utf-8", "replace"), returncode


def _read_records(path: Path) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = []
    if not path.exists():
        return records
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            try:
                records.append(json.loads(line))
            except ValueError:
                continue  # a line cut short by a killed child
    return records


def _tail(text: str) -> str:
    text = text.strip()
    return ("…" + text[-MAX_STDERR_CHARS:]) if len(text) > MAX_STDERR_CHARS else text


def record_to_item(record: dict[str, Any]) -> FetchedItem:
    """One spider item as a FetchedItem."""
    published = record.get("published_at")
    meta: dict[str, Any] = {}
    if record.get("fetched_url") and record["fetched_url"] != record["url"]:
        meta["fetched_url"] = record["fetched_url"]
    for key in ("original_url", "published_from", "language", "via"):
        if record.get(key):
            meta[key] = record[key]
    if record.get("warnings"):
        meta["extraction_warnings"] = record["warnings"]
    return FetchedItem(
        url=record["url"],
        title=record.get("title") or "",
        lead=record.get("lead") or "",
        body=record.get("body") or "",
        author=record.get("author"),
        published_at=datetime.fromisoformat(published) if published else None,
        meta=meta,
    )


def _url_rank(url: str | None) -> tuple[bool, int, str]:
    url = url or ""
    return ("?" in url, len(url), url)


def dedupe_items(items: list[FetchedItem], errors: list[str]) -> list[FetchedItem]:
    """One item per canonical URL and per distinct article text, under its plainest URL.

    A page without a same-site canonical link, reached by two URLs (the sitemap's and a
    listing's '?ref=...'), comes back twice; picking the URL by a fixed rule (no query, then
    shortest) instead of by arrival order keeps its document id the same on every crawl."""
    by_url: dict[str, FetchedItem] = {}
    for item in items:
        try:
            by_url.setdefault(canonical_url(item.url or ""), item)
        except ValueError as exc:
            errors.append(f"{item.url}: {exc}")
    best: dict[str, FetchedItem] = {}
    for item in by_url.values():
        key = hashlib.sha1(
            "\x1f".join((item.title, item.lead, item.body)).encode("utf-8")
        ).hexdigest()
        current = best.get(key)
        if current is None or _url_rank(item.url) < _url_rank(current.url):
            best[key] = item
    return list(best.values())


def build_output(
    records: list[dict[str, Any]], stderr: str, returncode: int | None, job: CrawlJob
) -> tuple[CrawlOutput, dict[str, Any]]:
    """The CrawlOutput of a finished child; raises FetchError when the crawl as a whole failed."""
    output = CrawlOutput()
    stats: dict[str, Any] = {}
    for record in records:
        kind = record.get("type")
        if kind == "item":
            output.items.append(record_to_item(record))
        elif kind == "error":
            output.errors.append(f"{record.get('url')}: {record.get('message')}")
        elif kind == "stats":
            stats = record
    if returncode is None:
        limit = f"{job.timeout_s + GRACE_S:g}"
        if not output.items:
            raise FetchError(
                f"site crawl timed out after {limit}s. {_tail(stderr)}", retryable=True
            )
        output.errors.append(f"crawl stopped after {limit}s; kept {len(output.items)} items")
    elif returncode != 0:
        raise FetchError(
            f"site crawl process failed (exit {returncode}): {_tail(stderr)}", retryable=True
        )
    output.items = dedupe_items(output.items, output.errors)
    starts = stats.get("start_urls", 0)
    if not output.items and starts and stats.get("start_failures", 0) >= starts:
        listed = "; ".join(output.errors[:MAX_LISTED_ERRORS])
        raise FetchError(
            f"none of the site's sitemaps or listing pages could be used: {listed}",
            # A 404 or a selector that matches nothing will not heal by retrying soon.
            retryable=stats.get("start_failures_transient", 0) > 0,
        )
    return output, stats


class SiteConnector:
    """Crawls one news site (sitemaps + listing pages) with Scrapy in a child process."""

    kind = "site"

    def __init__(self) -> None:
        self.last_stats: dict[str, Any] = {}

    def fetch(self, source: Source, settings: Settings) -> CrawlOutput:
        """Crawl the site; per-page problems go to output.errors, a failed crawl raises."""
        try:
            job = CrawlJob.from_source(source.url, source.config or {}, settings, utcnow())
        except ValueError as exc:
            raise FetchError(f"invalid site config: {exc}") from exc
        # Refused here with the guard's own message, before a process is started for nothing;
        # the child checks every URL it requests again.
        for url in {source.url, *job.start_urls}:
            check_public_url(url, settings.http.private_networks)
        records, stderr, returncode = run_job(job)
        output, self.last_stats = build_output(records, stderr, returncode, job)
        log.info("site crawl of %s: %s", source.url, self.last_stats)
        return output


register_connector("site", SiteConnector)
