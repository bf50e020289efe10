"""The spider of the real crawls (``scrapy runspider tests/scrapy_spider.py -a base=URL``).

It crawls the site of ``tests/scrapy_site.py`` from its hub, following the
site's own links only, and yields one record per request: the parsed page
(with simdup's mark, if any), or the reason it was dropped or failed.
``-a stats=FILE`` writes the crawl's stats as JSON at close.
"""

from __future__ import annotations

import json
import time

import scrapy
from scrapy import signals
from scrapy.exceptions import IgnoreRequest
from scrapy.http import HtmlResponse
from scrapy.spidermiddlewares.httperror import HttpError

FOLLOW = ("/a/", "/b/", "/raw/", "/data.json", "/missing/")


class SiteSpider(scrapy.Spider):
    name = "simdup_site"

    def __init__(self, base: str, stats: str | None = None, skip_hub: str = "1", **kwargs):
        super().__init__(**kwargs)
        self.base = base.rstrip("/")
        self.stats_path = stats
        self.skip_hub = skip_hub == "1"
        self.seen: list[float] = []  # when each request came back (parsed or failed): for the benchmark

    async def start(self):
        # The hub lists the pages; it must be parsed on every run, unchanged or not.
        yield scrapy.Request(self.base + "/", meta={"simdup_skip": self.skip_hub},
                             callback=self.parse, errback=self.failed)

    def parse(self, response):
        self.seen.append(time.perf_counter())
        record = {"url": response.url, "status": response.status}
        if "simdup_duplicate_of" in response.meta:
            record["duplicate_of"] = response.meta["simdup_duplicate_of"]
            record["distance"] = response.meta["simdup_distance"]
        yield record
        if isinstance(response, HtmlResponse):
            for href in response.css("a::attr(href)").getall():
                if href.startswith(FOLLOW):  # the real pages link to the web: stay on the site
                    yield response.follow(href, callback=self.parse, errback=self.failed)

    @classmethod
    def from_crawler(cls, crawler, *args, **kwargs):
        spider = super().from_crawler(crawler, *args, **kwargs)
        # After every spider_closed handler (simdup saves there): the final stats.
        crawler.signals.connect(spider.write_stats, signal=signals.engine_stopped)
        return spider

    def failed(self, failure):
        self.seen.append(time.perf_counter())
        url = failure.request.url
        if failure.check(HttpError):  # an IgnoreRequest too, but Scrapy's (404), not simdup's
            yield {"url": url, "error": f"HTTP {failure.value.response.status}"}
        elif failure.check(IgnoreRequest):
            yield {"url": url, "dropped": str(failure.value)}
        else:
            yield {"url": url, "error": failure.type.__name__}

    def write_stats(self):
        if self.stats_path:
            stats = dict(self.crawler.stats.get_stats())
            if len(self.seen) > 1:  # from the first page back to the last: no start-up, no idle wait
                stats["spider/seconds_first_to_last"] = self.seen[-1] - self.seen[0]
                stats["spider/requests_done"] = len(self.seen)
            with open(self.stats_path, "w", encoding="utf-8") as f:
                json.dump(stats, f, default=str)
