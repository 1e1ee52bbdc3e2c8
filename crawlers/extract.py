"""Article extraction from a news page: trafilatura for the body, our own rules for metadata.

The body comes from trafilatura (main-content detection) run on a tree from which we have
already cut what Vietnamese news templates wrap around an article (crawlers.pagetree:
navigation, breadcrumbs, captions, related links and sections, comments, ads, the lead and
the byline), so neither its heuristics nor ours alone decide. Lead, author and canonical URL
come from the page's own metadata, which is more reliable than any text heuristic; the title
is the article's visible <h1> (og:title when it has none), and the publish time is the
metadata's unless the article's own byline shows another (crawlers.pubtime). Text is kept as
published: NFC and whitespace only, never tone-mark placement or case."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

import lxml.etree
import lxml.html
import trafilatura
from lxml.html import HtmlElement

from core.text import clean
from crawlers.encoding import decode_html
from crawlers.pagetree import class_tokens, in_chrome, strip_boilerplate
from crawlers.pubtime import article_scope, publish_time
from crawlers.spiders.config import site_of

__all__ = ["ExtractedArticle", "ExtractionError", "extract_article"]

# Fewer letters than this in lead and body together is debris (an error page, a broken
# template), not an article.
MIN_ARTICLE_LETTERS = 40


class ExtractionError(ValueError):
    """The page has no article text at all (or is not HTML)."""


@dataclass
class ExtractedArticle:
    """What one article page says about itself."""

    title: str
    lead: str
    body: str
    author: str | None
    # Aware UTC, or None when the page gives no usable date.
    published_at: datetime | None
    # Where this article lives: its same-site <link rel=canonical>, else the page URL.
    canonical_url: str
    # A cross-site <link rel=canonical>: the original of a syndicated copy.
    original_url: str | None = None
    language: str | None = None
    # Which part of the page gave the publish time: meta, json-ld, time, text.
    published_from: str | None = None
    # Images whose alt text and captions were kept out of the body.
    images_ignored: int = 0
    warnings: list[str] = field(default_factory=list)


_XML_DECL_RE = re.compile(r"^\s*<\?xml[^>]*\?>", re.I)
_SPACE_RE = re.compile(r"\s+")
# Agency tags at the start of a lead: "TTO - ", "(Dân trí) - ", "(GDĐX) - ", "VOV.VN - ".
_AGENCY_TAG_RE = re.compile(r"^(?:\([^()\n]{1,20}\)|[A-ZĐ][A-Za-zĐ0-9.&]{1,12})\s*[-–—]\s+")
_BYLINE_PREFIX_RE = re.compile(r"^(?:tác giả|bài và ảnh|bài, ảnh|ảnh|theo)\s*:?\s*", re.I)
_CANONICAL_XPATH = "//link[contains(concat(' ', normalize-space(@rel), ' '), ' canonical ')]/@href"
_TITLE_SEPARATORS = (" - ", " | ", " – ", " — ", " :: ")
# An <h1> shorter than this is a section name ("Giáo dục"), not a headline.
_MIN_HEADLINE_WORDS = 4
_VIETNAMESE_LETTERS = frozenset("ăâđêôơưạảấầẩẫậắằẳẵặẹẻẽếềểễệỉịọỏốồổỗộớờởỡợụủứừửữựỳỵỷỹ")

_LEAD_TOKENS = frozenset({"sapo", "lead", "summary", "chapeau", "excerpt", "description"})
_AUTHOR_TOKENS = ("author", "tacgia", "byline")
_ARTICLE_TYPES = frozenset(
    {"newsarticle", "article", "reportagenews", "blogposting", "analysisnewsarticle",
     "opinionnewsarticle", "backgroundnewsarticle", "webpage", "liveblogposting"}
)  # fmt: skip


def _text(value: str | None) -> str:
    return clean(_SPACE_RE.sub(" ", value)) if value else ""


def _parse(text: str) -> lxml.html.HtmlElement:
    # lxml refuses str input that carries an XML encoding declaration.
    text = _XML_DECL_RE.sub("", text, count=1)
    if not text.strip():
        raise ExtractionError("empty page")
    parser = lxml.html.HTMLParser(encoding="utf-8", remove_comments=True, remove_pis=True)
    try:
        root = lxml.html.document_fromstring(text.encode("utf-8", "replace"), parser=parser)
    except (lxml.etree.ParserError, ValueError) as exc:
        raise ExtractionError(f"not an HTML page: {exc}") from exc
    if root is None:
        raise ExtractionError("not an HTML page")
    return root


def _meta(root: lxml.html.HtmlElement) -> dict[str, str]:
    found: dict[str, str] = {}
    for el in root.iter("meta"):
        key = (el.get("property") or el.get("name") or el.get("itemprop") or "").strip().lower()
        content = el.get("content")
        if key and content and content.strip() and key not in found:
            found[key] = content.strip()
    return found


def _json_ld_objects(root: lxml.html.HtmlElement) -> Iterator[dict[str, Any]]:
    for script in root.xpath('//script[contains(translate(@type, "LDJSON", "ldjson"), "ld+json")]'):
        raw = (script.text or "").strip()
        if not raw:
            continue
        try:
            data = json.loads(raw, strict=False)
        except ValueError:
            continue  # broken JSON-LD is common; the other sources still work
        stack = [data]
        while stack:
            node = stack.pop()
            if isinstance(node, list):
                stack.extend(reversed(node))
            elif isinstance(node, dict):
                yield node
                if isinstance(node.get("@graph"), list):
                    stack.extend(reversed(node["@graph"]))


def _article_ld(root: lxml.html.HtmlElement) -> dict[str, Any]:
    for node in _json_ld_objects(root):
        types = node.get("@type")
        names = types if isinstance(types, list) else [types]
        if any(isinstance(t, str) and t.lower() in _ARTICLE_TYPES for t in names):
            return node
    return {}


def _ld_author(value: Any) -> str:
    if isinstance(value, str):
        return _text(value)
    if isinstance(value, dict):
        return _text(str(value.get("name") or ""))
    if isinstance(value, list):
        return ", ".join(n for n in (_ld_author(v) for v in value) if n)
    return ""


def _strip_site_name(title: str, site_names: set[str]) -> str:
    for sep in _TITLE_SEPARATORS:
        head, found, tail = title.rpartition(sep)
        if found and head and tail.strip() in site_names:
            return head.strip()
    return title


def _visible(el: lxml.html.HtmlElement) -> bool:
    style = (el.get("style") or "").replace(" ", "").lower()
    return el.get("hidden") is None and "display:none" not in style


def _home_link(el: HtmlElement) -> bool:
    """A logo: the element's one link goes to the home page."""
    hrefs = [a.get("href") or "" for a in el.iter("a")]
    return len(hrefs) == 1 and urlsplit(hrefs[0]).path in ("", "/")


def _headline_element(root: lxml.html.HtmlElement, site_names: set[str]) -> HtmlElement | None:
    """The article's own visible <h1>: not the logo, not a sidebar's heading."""
    found = []
    for h in root.iter("h1"):
        text = _text(h.text_content())
        if not text or text in site_names or in_chrome(h) or not _visible(h):
            continue
        if any(not _visible(a) for a in (h, *h.iterancestors())) or _home_link(h):
            continue
        found.append(h)
    if not found:
        return None
    in_article = [h for h in found if next(h.iterancestors("article"), None) is not None]
    return max(in_article or found, key=lambda h: len(_text(h.text_content())))


def _title(
    root: lxml.html.HtmlElement,
    meta: dict[str, str],
    ld: dict[str, Any],
    headline: HtmlElement | None,
) -> str:
    site_names = {s for s in (meta.get("og:site_name"), meta.get("application-name")) if s}
    og = _text(meta.get("og:title") or meta.get("twitter:title"))
    h1 = _text(headline.text_content()) if headline is not None else ""
    # The headline readers see wins over og:title: outlets retitle the page after an outcry
    # and leave the share title behind. A section name in <h1> ("Giáo dục") is no headline.
    if h1 and (not og or len(h1.split()) >= _MIN_HEADLINE_WORDS):
        return h1
    if og:
        return _strip_site_name(og, site_names)
    if h1:
        return h1
    ld_headline = _text(str(ld.get("headline") or ""))
    if ld_headline:
        return ld_headline
    page_title = _text(root.findtext(".//title"))
    for sep in _TITLE_SEPARATORS:
        if sep in page_title:
            return page_title.rsplit(sep, 1)[0].strip()
    return page_title


def _lead_element(root: lxml.html.HtmlElement) -> lxml.html.HtmlElement | None:
    for el in root.xpath("//body//*[@class or @id]"):
        if not _LEAD_TOKENS.intersection(class_tokens(el)):
            continue
        if el.tag in ("meta", "img", "a") or el.find(".//img") is not None or in_chrome(el):
            continue
        if len(_text(el.text_content())) >= 20:
            return el
    return None


def _clean_lead(text: str) -> str:
    return _AGENCY_TAG_RE.sub("", text, count=1).strip()


def _author(root: lxml.html.HtmlElement, meta: dict[str, str], ld: dict[str, Any]) -> str | None:
    candidates = [meta.get("author"), meta.get("article:author"), meta.get("dc.creator")]
    for value in candidates:
        name = _text(value)
        if name and not name.startswith(("http://", "https://")) and len(name) <= 100:
            return name
    name = _ld_author(ld.get("author"))
    if name and len(name) <= 200:
        return name
    xpath = "//body//*[@rel='author' or @itemprop='author' or @class]"
    for el in root.xpath(xpath):
        tokens = class_tokens(el)
        if not (
            el.get("rel") == "author"
            or el.get("itemprop") == "author"
            or any(t.startswith(_AUTHOR_TOKENS) for t in tokens)
        ):
            continue
        # A byline block holding an author element holds the date too; the inner one names.
        if any(
            any(t.startswith(_AUTHOR_TOKENS) for t in class_tokens(d))
            for d in el.iterdescendants()
            if isinstance(d.tag, str)
        ):
            continue
        name = _BYLINE_PREFIX_RE.sub("", _text(el.text_content()))
        if 1 < len(name) <= 100:
            return name
    return None


def _canonical(
    root: lxml.html.HtmlElement, meta: dict[str, str], url: str
) -> tuple[str, str | None]:
    hrefs = root.xpath(_CANONICAL_XPATH)
    href = (hrefs[0] if hrefs else meta.get("og:url") or "").strip()
    if not href:
        return url, None
    resolved = urljoin(url, href)
    parts = urlsplit(resolved)
    # A canonical link to the home page is a template bug, not a statement about the article.
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.path in ("", "/"):
        return url, None
    if site_of(resolved) == site_of(url):
        return resolved, None
    # Another site's URL: the page declares itself a copy. It stays a document of its own
    # (each outlet counts when a story spreads); the original is recorded.
    return url, resolved


def _language(root: lxml.html.HtmlElement, meta: dict[str, str], text: str) -> str | None:
    raw = root.get("lang") or meta.get("content-language") or meta.get("og:locale") or ""
    code = raw.strip().lower().replace("_", "-").split("-")[0]
    if code.isalpha() and 2 <= len(code) <= 3:
        return code
    if _VIETNAMESE_LETTERS.intersection(text.lower()):
        return "vi"
    return None


def _has_letters(*texts: str) -> bool:
    count = 0
    for text in texts:
        for ch in text:
            if ch.isalpha():
                count += 1
                if count >= MIN_ARTICLE_LETTERS:
                    return True
    return False


def _paragraphs(text: str | None) -> list[str]:
    return [p for p in (_text(line) for line in (text or "").splitlines()) if p]


def _same(a: str, b: str) -> bool:
    return _SPACE_RE.sub(" ", a).strip().casefold() == _SPACE_RE.sub(" ", b).strip().casefold()


def _body(root: lxml.html.HtmlElement, url: str) -> list[str]:
    text = trafilatura.extract(
        root,
        url=url,
        # No fallback extractors: our pre-cleaning makes the main pass reliable, and the
        # fallbacks triple the cost per page.
        fast=True,
        include_comments=False,
        include_tables=True,
        include_images=False,
        include_links=False,
        deduplicate=False,
        output_format="txt",
    )
    return _paragraphs(text)


def extract_article(
    html: bytes | str, *, url: str, now: datetime, encoding: str | None = None
) -> ExtractedArticle:
    """Extract one article page; raises ExtractionError when it has no article text at all.

    `encoding` is the HTTP header's charset, if any; `now` anchors relative dates."""
    text = decode_html(html, encoding) if isinstance(html, bytes) else html
    root = _parse(text)
    meta = _meta(root)
    ld = _article_ld(root)
    site_names = {s for s in (meta.get("og:site_name"), meta.get("application-name")) if s}
    headline = _headline_element(root, site_names)
    title = _title(root, meta, ld, headline)
    lead_el = _lead_element(root)
    lead = _clean_lead(_text(lead_el.text_content())) if lead_el is not None else ""
    if not lead:
        lead = _text(meta.get("og:description") or meta.get("description"))
    author = _author(root, meta, ld)
    warnings: list[str] = []
    scope = article_scope(headline)
    published_at, published_from, date_el = publish_time(
        root, meta, ld, scope, now=now, warnings=warnings
    )
    canonical, original = _canonical(root, meta, url)
    language = _language(root, meta, title + lead)

    # Shown above the article, kept out of its body: headline, lead, dateline.
    keep_out = [el for el in (lead_el, date_el) if el is not None]
    keep_out += list(root.iter("h1"))
    declared = [u for u in (canonical, original) if u and u != url]
    images = strip_boilerplate(root, keep_out, urls=[url, *declared])
    paragraphs = _body(root, url)
    if not paragraphs:
        # Our cleaning may have cut a site's whole article wrapper; retry on the raw page.
        paragraphs = _body(_parse(text), url)
        if paragraphs:
            warnings.append("body found only without template cleaning")
    while paragraphs and (_same(paragraphs[0], title) or (lead and _same(paragraphs[0], lead))):
        paragraphs.pop(0)
    if paragraphs and lead and _same(_clean_lead(paragraphs[0]), lead):
        paragraphs.pop(0)
    body = "\n\n".join(paragraphs)
    if not _has_letters(lead, body):
        raise ExtractionError(f"no article text found at {url}")
    if published_at is None:
        warnings.append("no publish time found")
    return ExtractedArticle(
        title=title,
        lead=lead,
        body=body,
        author=author,
        published_at=published_at,
        canonical_url=canonical,
        original_url=original,
        language=language,
        published_from=published_from,
        images_ignored=images,
        warnings=warnings,
    )
