"""Document identity: the one spelling of an article URL, and ids derived from it.

Document id = uuid5 of the canonical URL, so a re-crawl updates a document and never
duplicates it (architecture.md)."""

from __future__ import annotations

import hashlib
import re
import uuid
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

# Click and campaign trackers: they make one article look like many.
TRACKING_PARAMS = frozenset(
    {
        "fbclid", "gclid", "gclsrc", "dclid", "gbraid", "wbraid", "msclkid", "yclid",
        "twclid", "igshid", "mc_cid", "mc_eid", "_ga", "_gl", "_hsenc", "_hsmi", "mkt_tok",
        # Zalo appends these to every shared link.
        "zarsrc", "gidzl",
    }
)  # fmt: skip
TRACKING_PREFIXES = ("utm_",)
MOBILE_HOST_PREFIXES = ("m.", "mobile.", "amp.")
DEFAULT_PORTS = {"http": 80, "https": 443}
_AMP_PATH_RE = re.compile(r"(?:/amp/?|\.amp)$", re.IGNORECASE)


def canonical_url(url: str) -> str:
    """The one spelling of an article URL: trackers, fragments, AMP/mobile variants removed."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").rstrip(".")
    if scheme not in DEFAULT_PORTS or not host:
        raise ValueError(f"not an absolute http(s) URL: {url!r}")
    port = parts.port  # raises ValueError on a malformed port
    for prefix in MOBILE_HOST_PREFIXES:
        # 'm.vn' is a domain of its own; only strip a prefix in front of a real domain.
        if host.startswith(prefix) and host.count(".") >= 2:
            host = host[len(prefix) :]
            break
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    netloc = host if port in (None, DEFAULT_PORTS[scheme]) else f"{host}:{port}"

    path = _AMP_PATH_RE.sub("", parts.path) or "/"
    if len(path) > 1:
        path = path.rstrip("/") or "/"

    params = [
        (k, v)
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
        if k.lower() not in TRACKING_PARAMS
        and not k.lower().startswith(TRACKING_PREFIXES)
        and not (k.lower() == "amp" and v.lower() in ("", "1", "true"))
    ]
    query = urlencode(sorted(params))
    return urlunsplit((scheme, netloc, path, query, ""))


def document_id(
    canonical_url: str | None = None,
    source_id: int | None = None,
    native_id: str | None = None,
) -> str:
    """uuid5 of the canonical URL, or of 'source_id:native_id' for items without a URL."""
    if canonical_url:
        return str(uuid.uuid5(uuid.NAMESPACE_URL, canonical_url))
    if source_id is not None and native_id:
        return str(uuid.uuid5(uuid.NAMESPACE_URL, f"{source_id}:{native_id}"))
    raise ValueError("an item needs a URL or a native id")


def content_hash(title: str, lead: str, body: str) -> str:
    """sha256 of the stored text; equal hashes mean nothing worth re-indexing changed."""
    return hashlib.sha256("\x1f".join((title, lead, body)).encode("utf-8")).hexdigest()
