"""SSRF on every hop: the allow-list and the addresses it never opens, even when listed;
a rebinding name (public on the first lookup, loopback next) and a redirect to a refused
address never reach the refused listener, in the httpx fetcher, the article enricher and
the Scrapy site crawler alike (the webhook: tests/alerts/test_webhook_ssrf.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from core.models import Source
from core.net import parse_networks
from core.settings import PROJECT_ROOT, Settings
from crawlers.connectors.base import CrawlOutput, FetchedItem
from crawlers.enrich import enrich_from_pages
from crawlers.http import BlockedURLError, check_public_url, fetch
from crawlers.spiders.config import CrawlJob
from tests.rebind import ENV, PUBLIC, Listener, rebinding

# The second host the tests play "forbidden" with: loopback, but not in the allow-list.
FORBIDDEN_HOST = "127.0.0.2"
ARTICLE = (
    "<html><head><title>Bài viết</title></head><body><article><h1>Bài viết</h1>"
    + "<p>Sở Giáo dục và Đào tạo tổ chức hội nghị tổng kết năm học tại thành phố.</p>" * 8
    + "</article></body></html>"
).encode()


LOOPBACK_ONLY = parse_networks("127.0.0.1/32")


@pytest.mark.parametrize(
    ("url", "loopback_listed"),
    [
        ("http://127.0.0.1/rss.xml", True),
        ("http://10.1.2.3/feed", False),
        ("http://192.168.1.10/", False),
        ("http://169.254.169.254/latest/meta-data/", False),
        ("http://[::1]/", False),
        ("http://0.0.0.0/", False),
        ("http://100.64.0.1/", False),
        ("http://127.0.0.2/", False),
    ],
)
def test_guard_refuses_internal_addresses_outside_the_allow_list(
    url: str, loopback_listed: bool
) -> None:
    # when / then: nothing internal passes without an allow-list, and 127.0.0.1/32 opens
    # exactly 127.0.0.1
    with pytest.raises(BlockedURLError):
        check_public_url(url)
    if loopback_listed:
        check_public_url(url, LOOPBACK_ONLY)
    else:
        with pytest.raises(BlockedURLError):
            check_public_url(url, LOOPBACK_ONLY)


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/",
        "http://100.100.100.200/latest/meta-data/",
        "http://0.0.0.0:8000/",
        "http://224.0.0.1/",
        "http://255.255.255.255/",
        "http://[fe80::1]/",
        "http://[::]/",
        "http://[ff02::1]/",
        "http://[fd00:ec2::254]/",
        "http://[::ffff:169.254.169.254]/",
    ],
)
def test_metadata_link_local_and_multicast_refused_even_when_listed(url: str) -> None:
    # given an allow-list that names every address there is
    everything = parse_networks("0.0.0.0/0, ::/0")
    # when / then
    with pytest.raises(BlockedURLError):
        check_public_url(url, everything)
    check_public_url("http://10.1.2.3/", everything)


def test_allow_list_setting_rejects_host_names() -> None:
    # when / then: a name could be re-pointed, so only addresses and CIDRs are accepted
    with pytest.raises(ValueError, match="not an IP address or CIDR"):
        Settings(_env_file=None, http={"allowed_private_networks": "127.0.0.1/32 intranet.local"})
    listed = Settings(_env_file=None, http={"allowed_private_networks": "127.0.0.1, 10.8.0.0/16"})
    assert [str(n) for n in listed.http.private_networks] == ["127.0.0.1/32", "10.8.0.0/16"]


def test_deprecated_allow_private_urls_means_loopback_only() -> None:
    # given the old switch, which used to turn every address check off
    old = Settings(_env_file=None, http={"allow_private_urls": True})
    # when / then: it now opens loopback only
    check_public_url("http://127.0.0.1/", old.http.private_networks)
    check_public_url("http://[::1]/", old.http.private_networks)
    for url in ("http://10.1.2.3/", "http://169.254.169.254/", "http://127.0.0.2/"):
        with pytest.raises(BlockedURLError):
            check_public_url(url, old.http.private_networks)


@pytest.fixture
def strict(settings: Settings) -> Settings:
    """Production's rule: no private network allowed."""
    return settings.copy_with(http={"allowed_private_networks": ""})


def test_rebinding_name_gets_no_connection_to_loopback(strict: Settings) -> None:
    # given a name that is public when checked and 127.0.0.1 when connected
    with Listener() as target, rebinding({"rebind.test": [PUBLIC, "127.0.0.1"]}) as dns:
        target.route("/feed.xml", body=b"<rss/>")
        # when
        with pytest.raises(BlockedURLError, match="127.0.0.1"):
            fetch(target.url("/feed.xml", host="rebind.test"), settings=strict)
        # then the second answer was refused, and nothing reached the listener
        assert dns.lookups["rebind.test"] == 2
        assert target.connections == 0


def test_connection_goes_to_the_address_that_was_checked(settings: Settings) -> None:
    # given a name whose first answer is the allowed 127.0.0.1 and every later one a
    # forbidden loopback address with a listener of its own on the same port
    with Listener() as allowed:
        allowed.route("/feed.xml", body=b"<rss>allowed</rss>")
        with (
            Listener(FORBIDDEN_HOST, allowed.port) as forbidden,
            rebinding({"rebind.test": ["127.0.0.1", FORBIDDEN_HOST]}),
        ):
            # when the pre-check and the connection each resolve the name
            url = f"http://rebind.test:{allowed.port}/feed.xml"
            with pytest.raises(BlockedURLError, match=FORBIDDEN_HOST):
                fetch(url, settings=settings)
            # then the connection never went to the address the check did not see
            assert forbidden.connections == 0


@pytest.mark.parametrize(
    "location",
    [
        "http://169.254.169.254/latest/meta-data/",
        "http://[fe80::1]/",
        "http://0.0.0.0:{port}/",
        "http://{forbidden}:{port}/bi-mat",
        "http://rebind.test:{port}/bi-mat",
    ],
)
def test_redirect_to_a_refused_address_is_not_followed(settings: Settings, location: str) -> None:
    # given an allowed listener that redirects to a refused target (a forbidden listener
    # stands in for the metadata service: 127.0.0.2 is not in the allow-list 127.0.0.1/32)
    with (
        Listener() as allowed,
        Listener(FORBIDDEN_HOST) as forbidden,
        rebinding({"rebind.test": [PUBLIC, FORBIDDEN_HOST]}),
    ):
        target = location.format(forbidden=FORBIDDEN_HOST, port=forbidden.port)
        url = allowed.route("/bai.html", 302, Location=target)
        # when / then
        with pytest.raises(BlockedURLError):
            fetch(url, settings=settings)
        assert allowed.connections == 1 and forbidden.connections == 0


def test_enricher_does_not_follow_a_redirect_to_a_refused_address(
    session: Session, settings: Settings
) -> None:
    # given a feed item whose page redirects to a forbidden address
    with Listener() as allowed, Listener(FORBIDDEN_HOST) as forbidden:
        page = allowed.route("/bai.html", 302, Location=forbidden.url("/bai.html"))
        forbidden.route("/bai.html", body=ARTICLE, Content_Type="text/html; charset=utf-8")
        source = Source(name="Báo thử", kind="rss", url=allowed.url("/rss.xml"))
        session.add(source)
        session.commit()
        output = CrawlOutput(items=[FetchedItem(url=page, title="Bài viết", body="Tóm tắt")])
        # when
        done = enrich_from_pages(session, source, output, settings)
        # then the item keeps the feed's summary and says why
        assert done == 0 and output.items[0].body == "Tóm tắt"
        assert "refusing '127.0.0.2'" in output.errors[0]
        assert forbidden.connections == 0


def _crawl(job: CrawlJob, tmp_path: Path, answers: dict[str, list[str]]) -> list[dict]:
    """Run the site crawl's child process with the rebinding installed in it."""
    config, output = tmp_path / "job.json", tmp_path / "items.jsonl"
    config.write_text(job.to_json(), encoding="utf-8")
    env = {**os.environ, ENV: json.dumps(answers), "PYTHONPATH": str(PROJECT_ROOT)}
    command = [sys.executable, "-m", "tests.rebind", "--config", str(config),
               "--output", str(output)]  # fmt: skip
    proc = subprocess.run(
        command, cwd=PROJECT_ROOT, env=env, capture_output=True, timeout=90, check=False
    )
    assert proc.returncode == 0, proc.stderr.decode()[-2000:]
    return [json.loads(line) for line in output.read_text(encoding="utf-8").splitlines()]


def _job(start: str, allowed: list[str]) -> CrawlJob:
    return CrawlJob(
        source_url=start, sitemaps=[start], start_delay_s=0, timeout_s=40,
        now=datetime.now(UTC).isoformat(),
        download_timeout_s=5, user_agent="diemtin-test", allowed_private_networks=allowed,
    )  # fmt: skip


def test_site_crawl_of_a_rebinding_name_never_connects(tmp_path: Path) -> None:
    # given a sitemap served on 127.0.0.1 under a name that is public only when first checked
    with Listener() as target:
        target.route("/sitemap.xml", body=b"<urlset/>")
        start = target.url("/sitemap.xml", host="rebind.test")
        # when the Scrapy crawl runs (no private network allowed)
        records = _crawl(_job(start, []), tmp_path, {"rebind.test": [PUBLIC, "127.0.0.1"]})
        # then the sitemap failed and no connection reached the listener
        assert target.connections == 0
        errors = [r for r in records if r.get("type") == "error"]
        assert errors and all("rebind.test" in e["url"] for e in errors)
        assert "refusing 'rebind.test': 127.0.0.1 is a non-public address" in errors[0]["message"]
        assert records[-1]["type"] == "stats" and records[-1]["start_failures"] == 1


def test_site_crawl_does_not_follow_redirects_to_refused_addresses(tmp_path: Path) -> None:
    # given an allowed site whose sitemap and robots.txt redirect to a forbidden listener,
    # directly and through a rebinding name
    with Listener() as allowed, Listener(FORBIDDEN_HOST) as forbidden:
        allowed.route("/robots.txt", 302, Location=forbidden.url("/robots.txt"))
        allowed.route("/a.xml", 302, Location=forbidden.url("/a.xml"))
        allowed.route("/b.xml", 301, Location=forbidden.url("/b.xml", host="rebind.test"))
        forbidden.route("/a.xml", body=b"<urlset/>")
        forbidden.route("/b.xml", body=b"<urlset/>")
        job = _job(allowed.url("/a.xml"), ["127.0.0.1/32"])
        job.sitemaps.append(allowed.url("/b.xml"))
        # when
        records = _crawl(job, tmp_path, {"rebind.test": [PUBLIC, FORBIDDEN_HOST]})
        # then the allowed site was asked, the forbidden one never connected to
        assert allowed.connections >= 2
        assert forbidden.connections == 0
        assert len([r for r in records if r.get("type") == "error"]) >= 2
