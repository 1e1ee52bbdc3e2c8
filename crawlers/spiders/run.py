"""The child process of a site crawl: runs one NewsSiteSpider in a fresh Twisted reactor and
writes what it finds as JSON lines (items, per-page errors, then one stats line).

    python -m crawlers.spiders.run --config JOB.json [--output ITEMS.jsonl]

--config is a CrawlJob as JSON, or the path of a file holding it. Run by
crawlers.connectors.site; never import this into a long-lived process and call main()."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import IO, Any

from crawlers.spiders.config import CrawlJob


def run_crawl(job: CrawlJob, out: IO[str]) -> dict[str, Any]:
    """Crawl `job`'s site, writing each item and error as one JSON line; returns the stats."""
    # Imported here: `--help` and config errors should not pay for Twisted and Scrapy.
    from scrapy import signals
    from scrapy.crawler import CrawlerProcess

    from crawlers.spiders.news import NewsSiteSpider
    from crawlers.spiders.settings import scrapy_settings

    process = CrawlerProcess(settings=scrapy_settings(job))
    crawler = process.create_crawler(NewsSiteSpider)

    def write(item: Any) -> None:
        out.write(json.dumps(dict(item), ensure_ascii=False) + "\n")

    crawler.signals.connect(write, signal=signals.item_scraped)
    process.crawl(crawler, job=job)
    process.start()
    spider = crawler.spider
    stats: dict[str, Any] = spider.summary() if isinstance(spider, NewsSiteSpider) else {}
    stats["type"] = "stats"
    if crawler.stats is not None:
        stats["finish_reason"] = crawler.stats.get_value("finish_reason")
        stats["requests"] = crawler.stats.get_value("downloader/request_count", 0)
    out.write(json.dumps(stats) + "\n")
    out.flush()
    return stats


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; the exit status is 0 when the crawl ran (even if pages failed)."""
    parser = argparse.ArgumentParser(description="Crawl one news site (child process).")
    parser.add_argument("--config", required=True, help="CrawlJob JSON, or a path to it")
    parser.add_argument("--output", help="JSON-lines file to write (default: stdout)")
    args = parser.parse_args(argv)
    raw = args.config
    if not raw.lstrip().startswith("{"):
        raw = Path(raw).read_text(encoding="utf-8")
    job = CrawlJob.from_json(raw)
    if args.output:
        with open(args.output, "w", encoding="utf-8") as out:
            run_crawl(job, out)
    else:
        run_crawl(job, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
