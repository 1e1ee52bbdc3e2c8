"""Register a province's sources from the catalogue: its own press and Sở portal (scope
"local", the province's code) and the national education press (scope "national").

An entry with a feed becomes an `rss` source; one with a sitemap a `site` source on it; one
with only a homepage is looked at (crawlers.catalogue.discover) and becomes whatever it
offers, at worst a `site` source reading its homepage. Nothing is dropped: the report lists
every entry with what became of it."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.models import Source
from core.settings import Settings
from crawlers.catalogue import Catalogue, Entry, load_catalogue
from crawlers.catalogue.discover import HEADLINE_LINKS, Found, discover


@dataclass(frozen=True, slots=True)
class Registered:
    """What became of one catalogue entry."""

    name: str
    kind: str
    url: str
    scope: str
    province: str | None
    status: str  # created | existing
    how: str
    verified: bool


@dataclass(slots=True)
class RegisterReport:
    province: str | None
    sources: list[Registered] = field(default_factory=list)

    @property
    def created(self) -> int:
        return sum(1 for s in self.sources if s.status == "created")


def plan_entry(entry: Entry, *, settings: Settings) -> Found:
    """How `entry` is crawled: its feed, its sitemap, or what its homepage offers."""
    if entry.rss:
        return Found("rss", entry.rss, {}, "RSS trong danh mục")
    if entry.sitemap:
        return Found(
            "site", entry.homepage, {"sitemaps": [entry.sitemap]}, "sitemap trong danh mục"
        )
    return discover(entry.homepage, settings=settings)


def register_province_sources(
    session: Session,
    province: str,
    *,
    settings: Settings,
    look: bool = True,
    catalogue: Catalogue | None = None,
) -> RegisterReport:
    """Add the catalogue's sources for `province` (a 2025 Province.code) that are missing by
    name, and commit. With `look` off (no network on the install day), homepage-only entries
    are added as `site` sources reading their homepage, without fetching anything."""
    catalogue = catalogue or load_catalogue()
    if province not in catalogue.provinces:
        raise ValueError(f"Danh mục chưa có báo chí của tỉnh/thành mã {province}.")
    return _register(session, catalogue.for_province(province), province, settings, look)


def ensure_start_sources(
    session: Session, *, settings: Settings, province: str | None
) -> RegisterReport:
    """What a fresh install starts with: the province's press and the national education
    press, or the national press alone while no province is chosen (the admin pages ask).
    Nothing is fetched: it runs at every start, possibly with no network."""
    catalogue = load_catalogue()
    if province is not None and province in catalogue.provinces:
        return register_province_sources(session, province, settings=settings, look=False)
    return _register(session, list(catalogue.national), None, settings, look=False)


def _register(
    session: Session, entries: list[Entry], province: str | None, settings: Settings, look: bool
) -> RegisterReport:
    existing = {s.name: s for s in session.scalars(select(Source))}
    report = RegisterReport(province=province)
    for entry in entries:
        known = existing.get(entry.name)
        if known is not None:
            # An admin may have edited or disabled it: left as it is, only the place filled in.
            if known.province is None and entry.province is not None:
                known.province = entry.province
            report.sources.append(_row(entry, known.kind, known.url, "existing", "đã có"))
            continue
        if look or entry.rss or entry.sitemap:
            found = plan_entry(entry, settings=settings)
        else:
            found = Found(
                "site",
                entry.homepage,
                {"listings": [entry.homepage], "article_selector": HEADLINE_LINKS},
                "chưa dò trang chủ: thu thập từ trang chủ",
            )
        session.add(
            Source(
                name=entry.name,
                url=found.url,
                kind=found.kind,
                scope=entry.scope,
                province=entry.province,
                config=found.config,
                poll_interval_s=settings.crawl.default_poll_interval_s,
                next_poll_at=None,
            )
        )
        report.sources.append(_row(entry, found.kind, found.url, "created", found.how))
    session.commit()
    return report


def _row(entry: Entry, kind: str, url: str, status: str, how: str) -> Registered:
    return Registered(
        name=entry.name,
        kind=kind,
        url=url,
        scope=entry.scope,
        province=entry.province,
        status=status,
        how=how,
        verified=entry.verified,
    )


def registered_sources(session: Session, province: str) -> list[Source]:
    """The sources of `province` (its own press) and the national ones, by scope and name."""
    stmt = select(Source).where((Source.province == province) | (Source.scope == "national"))
    return sorted(session.scalars(stmt), key=lambda s: (s.scope != "local", s.name))
