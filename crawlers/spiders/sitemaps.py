"""Sitemap parsing: sitemap indexes, urlsets and Google News sitemaps (news:publication_date),
read with a hardened XML parser (no entities, no network, recovering from broken markup)."""

from __future__ import annotations

import gzip
import io
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import urljoin

import lxml.etree

from crawlers.dates import parse_vn_datetime

# A sitemap may hold 50,000 URLs (50 MB); a bigger one is not a sitemap we should trust.
MAX_SITEMAP_BYTES = 50 * 1024 * 1024


@dataclass
class SitemapEntry:
    """One <url> or <sitemap> entry: where, and when it last changed (aware UTC) if said."""

    loc: str
    when: datetime | None = None


@dataclass
class Sitemap:
    """A parsed sitemap: kind is 'index', 'urlset' or 'invalid'."""

    kind: str
    entries: list[SitemapEntry] = field(default_factory=list)


def _local(tag: object) -> str:
    return tag.rsplit("}", 1)[-1].lower() if isinstance(tag, str) else ""


def _gunzip(body: bytes) -> bytes:
    with gzip.GzipFile(fileobj=io.BytesIO(body)) as fh:
        data = fh.read(MAX_SITEMAP_BYTES + 1)
    if len(data) > MAX_SITEMAP_BYTES:
        raise ValueError(f"gzipped sitemap expands beyond {MAX_SITEMAP_BYTES} bytes")
    return data


def parse_sitemap(body: bytes, *, now: datetime) -> Sitemap:
    """Entries of a sitemap document (gzip allowed); kind 'invalid' when it is not one."""
    if body[:2] == b"\x1f\x8b":
        try:
            body = _gunzip(body)
        except (OSError, EOFError, ValueError):
            return Sitemap("invalid")
    parser = lxml.etree.XMLParser(
        recover=True, resolve_entities=False, no_network=True, remove_comments=True
    )
    try:
        root = lxml.etree.fromstring(body, parser=parser)
    except lxml.etree.XMLSyntaxError:
        return Sitemap("invalid")
    if root is None:
        return Sitemap("invalid")
    kind = {"sitemapindex": "index", "urlset": "urlset"}.get(_local(root.tag))
    if kind is None:
        return Sitemap("invalid")
    entries = []
    for node in root:
        values: dict[str, str] = {}
        for child in node.iter():
            name = _local(child.tag)
            # news:publication_date sits two levels down; the first of each name wins.
            if name and child.text and child.text.strip() and name not in values:
                values[name] = child.text.strip()
        loc = values.get("loc")
        if not loc:
            continue
        raw_when = values.get("publication_date") or values.get("lastmod")
        # W3C datetimes without a zone are read as local time, like the rest of the page.
        when = parse_vn_datetime(raw_when, now=now) if raw_when else None
        entries.append(SitemapEntry(loc=loc, when=when))
    return Sitemap(kind, entries)


def sitemaps_in_robots(text: str, base_url: str) -> list[str]:
    """The 'Sitemap:' URLs of a robots.txt."""
    found = []
    for line in text.splitlines():
        name, sep, value = line.partition(":")
        if sep and name.strip().lower() == "sitemap" and value.strip():
            found.append(urljoin(base_url, value.strip()))
    return found
