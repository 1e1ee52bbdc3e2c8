"""Cutting what a Vietnamese news template wraps around an article out of its page tree.

crawlers.extract runs trafilatura on what is left. Three kinds of text look like boilerplate
to a class-name rule and are not: words in inline links ("vụ <a class=tag>tranh chấp</a>
hợp đồng"), the captions of a photo story, and the items of a list story whose wrappers carry
names like 'item-related'. Three kinds of boilerplate carry no tell-tale class: a section
under a "Tin liên quan" / "Cùng chuyên mục" heading, a run of related headlines after the
last paragraph, and a banner for the paper's international edition."""

from __future__ import annotations

import re
from urllib.parse import urljoin

import lxml.html

from crawlers.spiders.config import site_of

__all__ = [
    "class_tokens",
    "in_chrome",
    "in_template_block",
    "is_boilerplate",
    "strip_boilerplate",
]

_SPACE_RE = re.compile(r"\s+")
_SPLIT_CLASS_RE = re.compile(r"[\s_-]+")

# Tags that never hold article text.
_DROP_TAGS = (
    "script", "style", "noscript", "template", "iframe", "object", "embed", "svg", "canvas",
    "nav", "header", "footer", "aside", "form", "button", "select", "figure", "figcaption",
    "video", "audio", "picture",
)  # fmt: skip
# class/id tokens of boilerplate blocks; prefixes catch 'related-news', 'PhotoCMS_Caption'.
_BOILERPLATE_PREFIXES = (
    "related", "relate", "caption", "breadcrumb", "advert", "banner", "quangcao", "sidebar",
    "social", "share", "comment", "binhluan", "tinlienquan", "lienquan", "tinkhac", "navbar",
    "navigation", "menu", "footer", "author", "tacgia", "byline", "subscribe", "newsletter",
    "popup", "cookie",
)  # fmt: skip
_BOILERPLATE_TOKENS = frozenset({"ads", "ad", "nav", "tags", "tag", "keywords", "print", "rating"})
_BOILERPLATE_TYPES = ("related", "photo", "video", "vote")
# Class names that say "other articles"; such a block is cut only when links lead it or fill
# it, since list stories name their own items 'item-related' too.
_BYLINE_PREFIXES = ("author", "tacgia", "byline")
_RELATED_PREFIXES = ("related", "relate", "tinlienquan", "lienquan", "tinkhac")
# Inline tags: inside running text their words are the sentence's, whatever their class.
_INLINE_TAGS = frozenset(
    {"a", "span", "strong", "b", "em", "i", "u", "mark", "small", "sub", "sup", "abbr", "cite",
     "q", "font", "code", "s", "label", "time", "bdi", "dfn", "var"}
)  # fmt: skip
_TEXT_BLOCKS = frozenset({"p", "li", "td", "th", "dd", "dt", "blockquote", "h2", "h3", "h4"})
# Headings of sections of other articles, compared without case and trailing punctuation.
_RELATED_LABELS = frozenset(
    {"tin liên quan", "bài liên quan", "bài viết liên quan", "tin cùng chuyên mục",
     "cùng chuyên mục", "bài cùng chuyên mục", "tin cùng chủ đề", "cùng chủ đề", "xem thêm",
     "đọc thêm", "tin khác", "các tin khác", "tin mới", "tin mới nhất", "tin mới hơn",
     "tin cũ hơn", "đọc nhiều", "xem nhiều", "đọc nhiều nhất", "tin nổi bật",
     "có thể bạn quan tâm", "bạn có thể quan tâm", "tin đọc nhiều", "tin xem nhiều"}
)  # fmt: skip
_LABEL_TRIM = " \t\n:>»›|-–—.…"
# A headline has this many words at least; a keyword link ("tranh chấp") fewer.
_HEADLINE_WORDS = 4
# A photo story: this many captioned pictures, whose captions hold this share of its text.
_PHOTO_STORY_CAPTIONS = 3
_PHOTO_STORY_SHARE = 0.4
_EDITION_RE = re.compile(r"\binternational\b|\benglish\b|(?:bản|bằng) tiếng anh", re.I)
_BANNER_MAX_CHARS = 300
_BANNER_DEPTH = 4


def _norm(text: str | None) -> str:
    return _SPACE_RE.sub(" ", text or "").strip()


def class_tokens(el: lxml.html.HtmlElement) -> list[str]:
    """The lower-cased words of an element's class and id."""
    raw = f"{el.get('class') or ''} {el.get('id') or ''}".lower()
    return [t for t in _SPLIT_CLASS_RE.split(raw) if t]


def in_chrome(el: lxml.html.HtmlElement) -> bool:
    """Whether the element sits in the page's header, navigation, footer or an aside."""
    return any(a.tag in ("header", "nav", "footer", "aside") for a in el.iterancestors())


def is_boilerplate(el: lxml.html.HtmlElement) -> bool:
    """Whether the element's class, id or type names a template block."""
    tokens = class_tokens(el)
    kind = (el.get("type") or "").lower()
    return bool(
        _BOILERPLATE_TOKENS.intersection(tokens)
        or any(t.startswith(_BOILERPLATE_PREFIXES) for t in tokens)
        or (el.tag == "div" and kind.startswith(_BOILERPLATE_TYPES))
    )


def _in_running_text(el: lxml.html.HtmlElement) -> bool:
    if el.tag not in _INLINE_TAGS:
        return False
    parent = el.getparent()
    # A link that is its paragraph's whole text is a headline, not part of a sentence.
    if parent is None or _norm(parent.text_content()) == _norm(el.text_content()):
        return False
    return bool(parent.tag in _TEXT_BLOCKS or _norm(el.tail) or _norm(parent.text))


def _headline_link(el: lxml.html.HtmlElement) -> lxml.html.HtmlElement | None:
    """The link that leads the element as a headline leads a teaser: first, alone on its line."""
    for a in el.iter("a"):
        words = _norm(a.text_content())
        if not words:
            continue
        if len(words.split()) < _HEADLINE_WORDS or _norm(a.tail):
            return None
        # Checked last: the element's whole text is the costly part.
        return a if _norm(el.text_content()).startswith(words) else None
    return None


def _link_share(el: lxml.html.HtmlElement) -> float:
    text = len(_norm(el.text_content()))
    linked = sum(len(_norm(a.text_content())) for a in el.iter("a"))
    return linked / text if text else 1.0


def in_template_block(el: lxml.html.HtmlElement, stop: lxml.html.HtmlElement | None) -> bool:
    """Whether a boilerplate class or a teaser item (headline link first) holds the element,
    looking up to `stop`: a date there belongs to another article."""
    for anc in (el, *el.iterancestors()):
        if anc is stop or anc.tag in ("body", "html"):
            return False
        if anc.tag == "a" or _headline_link(anc) is not None:
            return True
        # The article's own byline is named 'author'/'byline' too; that is where its date is.
        tokens = [t for t in class_tokens(anc) if not t.startswith(_BYLINE_PREFIXES)]
        if _BOILERPLATE_TOKENS.intersection(tokens) or any(
            t.startswith(_BOILERPLATE_PREFIXES) for t in tokens
        ):
            return True
    return False


def _label(el: lxml.html.HtmlElement) -> bool:
    text = _norm(el.text_content()).strip(_LABEL_TRIM).lower()
    return len(text) <= 40 and text in _RELATED_LABELS


def _labelled_links(el: lxml.html.HtmlElement, label: str) -> bool:
    """Whether the block is a label and links only: "Tin liên quan: <a>…</a>, <a>…</a>"."""
    links = [_norm(a.text_content()) for a in el.iter("a")]
    rest = _norm(el.text_content()).replace(_norm(label), "", 1)
    for text in links:
        rest = rest.replace(text, "", 1)
    return any(len(t.split()) >= _HEADLINE_WORDS for t in links) and not rest.strip(
        _LABEL_TRIM + ",;"
    )


def _label_block(el: lxml.html.HtmlElement) -> lxml.html.HtmlElement:
    """The outermost element around a label that says nothing else (<p><b>label</b></p>)."""
    text = _norm(el.text_content())
    while (parent := el.getparent()) is not None and _norm(parent.text_content()) == text:
        el = parent
    return el


def _related_sections(
    root: lxml.html.HtmlElement, protected: set[lxml.html.HtmlElement]
) -> list[lxml.html.HtmlElement]:
    doomed: list[lxml.html.HtmlElement] = []
    # Labels are short text nodes: looking at text nodes spares building every block's text.
    labels = []
    for node in root.xpath("//body//text()[string-length(normalize-space()) <= 40]"):
        el = node.getparent()
        if el is not None and (node.is_tail or el.tag == "a"):
            el = el.getparent()  # the block the words sit in
        # The node's own words first: most short text is not a label, and the block's text
        # costs more to build.
        words = _norm(node).strip(_LABEL_TRIM).lower()
        if el is None or words not in _RELATED_LABELS:
            continue
        if _label(el):
            labels.append(el)
        elif el.tag in _TEXT_BLOCKS and _labelled_links(el, node):
            doomed.append(el)  # "Xem thêm: <a>headline</a>" as one paragraph
    for el in labels:
        label = _label_block(el)
        parent = label.getparent()
        if parent is None:
            continue
        rest = [c for c in parent if c is not label and isinstance(c.tag, str)]
        if (
            parent not in protected
            and rest
            and all(_headline_link(c) is not None or not _norm(c.text_content()) for c in rest)
        ):
            doomed.append(parent)  # a box: the label and its headlines
            continue
        # The label sits in the article's own column: it and the headlines right after it go.
        doomed.append(label)
        sibling = label.getnext()
        while sibling is not None and _headline_link(sibling) is not None:
            doomed.append(sibling)
            sibling = sibling.getnext()
    return doomed


def _headline_runs(
    root: lxml.html.HtmlElement, protected: set[lxml.html.HtmlElement]
) -> list[lxml.html.HtmlElement]:
    """Unlabelled lists of related headlines: two or more sibling items, each led by one."""
    doomed: list[lxml.html.HtmlElement] = []
    for parent in root.xpath("//body//*[count(*[descendant-or-self::a]) >= 2]"):
        run: list[lxml.html.HtmlElement] = []
        for child in [*parent, None]:
            if child is not None and isinstance(child.tag, str) and child not in protected:
                if _headline_link(child) is not None:
                    run.append(child)
                    continue
                if not _norm(child.text_content()) and child.tag in ("br", "hr", "div"):
                    continue
            if len(run) >= 2:
                doomed.extend(run)
            run = []
    return doomed


def _edition_banners(root: lxml.html.HtmlElement, urls: list[str]) -> list[lxml.html.HtmlElement]:
    """Short blocks that send the reader to the paper's other edition (an English one): all
    their links go to another host of the same site. `urls`: the page's address and the one
    it declares (a page saved and served elsewhere knows its site only from the latter)."""
    sites = {site_of(u) for u in urls}

    def sister(link: str) -> bool:
        other = site_of(link)
        return other not in sites and any(
            other.endswith("." + site) or site.endswith("." + other) for site in sites
        )

    doomed = []
    for a in root.iter("a"):
        href = (a.get("href") or "").strip()
        # Only an absolute link can lead to another host (and most links are relative).
        if not href.startswith(("http:", "https:", "//")) or not sister(urljoin(urls[0], href)):
            continue
        # The outermost short block around the link whose links all go to the other edition.
        banner = None
        for anc in list(a.iterancestors())[:_BANNER_DEPTH]:
            if anc.tag not in ("div", "p", "section", "table", "td", "tr", "tbody"):
                continue
            text = _norm(anc.text_content())
            if len(text) > _BANNER_MAX_CHARS:
                break
            hrefs = [urljoin(urls[0], x.get("href") or "") for x in anc.iter("a")]
            if _EDITION_RE.search(text) and all(sister(h) for h in hrefs):
                banner = anc
        if banner is not None:
            doomed.append(banner)
    return doomed


def _image_table(img: lxml.html.HtmlElement) -> lxml.html.HtmlElement | None:
    table = next(img.iterancestors("table"), None)
    return table if table is not None and len(table.xpath(".//tr")) <= 3 else None


def _captions(root: lxml.html.HtmlElement) -> list[lxml.html.HtmlElement]:
    """Picture blocks with a caption in the page's own column (not a teaser thumbnail)."""
    found: list[lxml.html.HtmlElement] = []
    for img in root.xpath("//body//img"):
        block = next(img.iterancestors("figure"), None)
        if block is None:
            block = _image_table(img)
        if block is None or block in found or in_chrome(block):
            continue
        if any(is_boilerplate(a) for a in block.iterancestors()):
            continue
        if _norm(block.text_content()):
            found.append(block)
    return found


def _keep_captions(root: lxml.html.HtmlElement) -> bool:
    """Turn a photo story's captioned pictures into paragraphs; whether it is one."""
    blocks = _captions(root)
    if len(blocks) < _PHOTO_STORY_CAPTIONS:
        return False
    caption_chars = sum(len(_norm(b.text_content())) for b in blocks)
    inside = set(blocks)
    other_chars = sum(
        len(_norm(p.text_content()))
        for p in root.xpath("//body//p")
        if not in_chrome(p) and not any(a in inside for a in p.iterancestors())
    )
    if caption_chars < _PHOTO_STORY_SHARE * (caption_chars + other_chars):
        return False
    for block in blocks:
        # Each caption paragraph becomes a plain <p> the class rules and trafilatura keep.
        lines = [_norm(t.text_content()) for t in block.xpath(".//figcaption|.//p|.//td")]
        lines = [t for t in dict.fromkeys(lines) if t] or [_norm(block.text_content())]
        for line in lines:
            para = lxml.html.Element("p")
            para.text = line
            block.addprevious(para)
        block.drop_tree()
    return True


def strip_boilerplate(
    root: lxml.html.HtmlElement, keep_out: list[lxml.html.HtmlElement], *, urls: list[str]
) -> int:
    """Cut template blocks out of the tree; returns how many images went with them.

    `urls`: the page's address first, then any it declares as its own (canonical)."""
    images = len(root.xpath("//body//img"))
    # Blocks holding the headline or the lead hold the article too, whatever their class
    # says (VnExpress's main column is 'sidebar-1').
    # (A set of the elements themselves: lxml proxies are only stable while referenced.)
    protected = {a for el in keep_out for a in el.iterancestors()}
    _keep_captions(root)
    doomed = list(keep_out)
    doomed += [el for el in root.iter(*_DROP_TAGS)]
    for el in root.xpath("//body//*[@class or @id or @type]"):
        if not is_boilerplate(el) or el in protected or _in_running_text(el):
            continue
        tokens = class_tokens(el)
        related_only = not _BOILERPLATE_TOKENS.intersection(tokens) and all(
            t.startswith(_RELATED_PREFIXES) or not t.startswith(_BOILERPLATE_PREFIXES)
            for t in tokens
        )
        if related_only and _headline_link(el) is None and _link_share(el) < 0.5:
            # A list story's item, named like a related box but holding text; trafilatura
            # would cut it for its name, so the name goes.
            for attr in ("class", "id"):
                el.attrib.pop(attr, None)
            continue
        doomed.append(el)
    doomed += _related_sections(root, protected)
    doomed += _headline_runs(root, protected)
    doomed += _edition_banners(root, urls)
    for img in root.xpath("//body//img"):
        # Image tables (<table class="image"><tr><td><img>...caption) hold no article text.
        table = _image_table(img)
        doomed.append(table if table is not None else img)
    for el in doomed:
        if el.getparent() is not None:
            el.drop_tree()
    return images
