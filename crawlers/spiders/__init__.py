"""Scrapy spiders for news sites without feeds. A crawl always runs in a child process
(`python -m crawlers.spiders.run`), so a long-lived worker never has to restart Twisted's
reactor; crawlers.connectors.site starts it and reads its items."""
