"""Scrapy with and without simdup's middleware, and the memory of a windowed index over a long run (issue 16).

Crawl: the local site of ``tests/scrapy_site.py`` (real pages from
``../shared/data/web_pages_trafilatura.jsonl.gz`` as they are, articles from
them in one site template, planted near-duplicates), served from this
process on 127.0.0.1; the spider ``tests/scrapy_spider.py`` crawls it in a
subprocess with ``scrapy runspider``, without simdup, and with the
middleware (mark, then drop), in turn, ``--repeats`` times each. Pages/s is
responses received over the time from the first response to the last; the overhead per
page is the difference of the best times, mark mode (every page parsed,
as without simdup) against none, over the pages simdup fingerprinted. The middleware's own cost per page is also timed in
process (``process_response`` on every page of the site, no Scrapy engine).

Memory: ``--adds`` fingerprints added one at a time to (a) a
``SimHashIndex(window_size=--window)``, (b) a ``Deduper`` with the same
window and URL ids (its names are evicted too), (c) a ``SimHashIndex``
without a window, each in a fresh process; RSS (``VmRSS``) and
``index.nbytes`` every tenth of the run.

    python benchmarks/bench_scrapy.py                  # ~3 min: 2M adds, window 100k
    python benchmarks/bench_scrapy.py --tiny           # seconds: the smoke test
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

MIDDLEWARE = '{"simdup.scrapy.SimdupDownloaderMiddleware": 540}'
SECONDS = "spider/seconds_first_to_last"


def rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


# ------------------------------------------------------------------------------ crawl

def crawl_once(base: str, tmp: Path, action: str | None, concurrency: int) -> dict:
    stats = tmp / "stats.json"
    args = [sys.executable, "-m", "scrapy", "runspider", str(ROOT / "tests" / "scrapy_spider.py"),
            "-a", f"base={base}", "-a", f"stats={stats}", "-s", "TELNETCONSOLE_ENABLED=0", "-s", "LOG_LEVEL=WARNING",
            "-s", f"CONCURRENT_REQUESTS={concurrency}", "-s", f"CONCURRENT_REQUESTS_PER_DOMAIN={concurrency}"]
    if action:
        # in memory: saving is not what is timed
        args += ["-s", f"DOWNLOADER_MIDDLEWARES={MIDDLEWARE}", "-s", f"SIMDUP_ACTION={action}"]
    run = subprocess.run(args, capture_output=True, text=True, cwd=tmp, timeout=1800)
    if run.returncode != 0:
        raise SystemExit(f"crawl failed:\n{run.stderr[-3000:]}")
    return json.loads(stats.read_text())


def bench_crawl(args: argparse.Namespace) -> None:
    import scrapy_site

    from simdup.scrapy import SimdupDownloaderMiddleware

    if not scrapy_site.PAGES.exists():
        print(f"## Crawl: skipped, the site is built from {scrapy_site.PAGES}, which is absent\n")
        return
    site = scrapy_site.build_site(n_articles=args.articles, n_raw=args.raw)
    html_pages = [p for p, (ctype, _) in site.pages.items() if ctype.startswith("text/html") and p != "/"]
    mb = sum(len(site.pages[p][1]) for p in html_pages) / 1e6
    print(f"## Crawl: {len(site.originals)} pages ({args.articles} articles in one template, {args.raw} real "
          f"pages), {len(site.duplicates)} planted copies, {mb:.1f} MB of HTML; "
          f"CONCURRENT_REQUESTS={args.concurrency}, best of {args.repeats}\n")

    # The middleware alone, in this process: every page once, in crawl order (originals first).
    from scrapy.http import HtmlResponse, Request
    from scrapy.utils.test import get_crawler

    mw = SimdupDownloaderMiddleware.from_crawler(get_crawler(settings_dict={"SIMDUP_ACTION": "mark"}))
    order = site.originals + list(site.duplicates)
    bodies = {p: site.pages[p.split("?")[0]][1] for p in order}
    t = time.perf_counter()
    for p in order:
        url = "http://127.0.0.1" + p
        req = Request(url)
        mw.process_response(req, HtmlResponse(url, body=bodies[p], request=req,
                                              headers={"Content-Type": "text/html; charset=utf-8"}))
    alone = (time.perf_counter() - t) / len(order)
    marked = mw.crawler.stats.get_value("simdup/duplicates_marked", 0)
    print(f"middleware alone (process_response, in process): {alone * 1e3:.2f} ms/page over {len(order)} pages "
          f"({marked} of {len(site.duplicates)} planted copies found)\n")

    with tempfile.TemporaryDirectory() as tmp, scrapy_site.Server(site) as base:
        best: dict[str, dict] = {}
        for _ in range(args.repeats):
            for action in ("", "mark", "drop"):
                st = crawl_once(base, Path(tmp), action, args.concurrency)
                if action not in best or st[SECONDS] < best[action][SECONDS]:
                    best[action] = st
    print("Seconds from the first response to the last (Scrapy's start-up and idle wait left out).\n")
    print("| crawl | requests done | seconds | pages/s | fingerprinted | marked | dropped |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for action, label in (("", "without simdup"), ("mark", "with simdup, mark"), ("drop", "with simdup, drop")):
        st = best[action]
        n, s = st["spider/requests_done"], st[SECONDS]
        print(f"| {label} | {n} | {s:.2f} | {n / s:,.0f} | {st.get('simdup/pages_fingerprinted', 0)} | "
              f"{st.get('simdup/duplicates_marked', 0)} | {st.get('simdup/duplicates_dropped', 0)} |")
    # mark: the same pages crawled and parsed as without simdup, so the difference is simdup's
    fingerprinted = best["mark"]["simdup/pages_fingerprinted"]
    overhead = (best["mark"][SECONDS] - best[""][SECONDS]) / fingerprinted
    print(f"\noverhead (mark against without): {overhead * 1e3:.2f} ms per fingerprinted page "
          f"({fingerprinted} pages); drop also spares the spider the copies and their links\n")


# ----------------------------------------------------------------------------- memory

def memory_worker(kind: str, adds: int, window: int) -> None:
    """One run in a fresh process: a JSON line per checkpoint."""
    import numpy as np

    from simdup import Deduper, SimHashIndex

    rng = np.random.default_rng(0)
    fps = rng.integers(0, 2**64, adds, dtype=np.uint64).tolist()
    start_rss = rss_mb()
    if kind == "deduper":
        class Given:  # fingerprints made elsewhere: the run measures the index, not the hasher
            def fingerprint(self, doc):
                return fps[int(doc)]
        dedup = Deduper(Given(), k=3, window_size=window, expected_n=window)
        index = dedup.index
        add = lambda i: dedup.add_if_new(f"https://site-{i % 997}.example/articles/{i}.html", str(i))  # noqa: E731
    else:
        index = SimHashIndex(3, expected_n=window if kind == "window" else adds,
                             window_size=window if kind == "window" else None)
        add = lambda i: index.add_if_new(fps[i], i)  # noqa: E731
    step = max(1, adds // 10)
    t = time.perf_counter()
    for i in range(adds):
        add(i)
        if (i + 1) % step == 0:
            print(json.dumps({"adds": i + 1, "len": len(index), "nbytes": index.nbytes,
                              "rss_mb": rss_mb() - start_rss, "seconds": time.perf_counter() - t}), flush=True)


def bench_memory(args: argparse.Namespace) -> None:
    print(f"## Memory: {args.adds:,} add_if_new calls, one at a time, random fingerprints, k=3\n")
    print("RSS is the process's growth from just before the first add (the fingerprints, 8 bytes each "
          "as a Python list of ints, are allocated before).\n")
    for kind, label in (("window", f"SimHashIndex(window_size={args.window:,})"),
                        ("deduper", f"Deduper(window_size={args.window:,}), URL ids"),
                        ("none", "SimHashIndex, no window")):
        run = subprocess.run([sys.executable, __file__, "--memory-worker", kind, str(args.adds), str(args.window)],
                             capture_output=True, text=True, timeout=3600)
        if run.returncode != 0:
            raise SystemExit(f"memory run failed:\n{run.stderr[-3000:]}")
        rows = [json.loads(line) for line in run.stdout.splitlines()]
        print(f"### {label}\n")
        print("| adds | items | index.nbytes | RSS growth | adds/s |")
        print("|---:|---:|---:|---:|---:|")
        for r in rows:
            print(f"| {r['adds']:,} | {r['len']:,} | {r['nbytes'] / 1e6:.1f} MB | {r['rss_mb']:.1f} MB | "
                  f"{r['adds'] / r['seconds']:,.0f} |")
        print()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--articles", type=int, default=100, help="articles in the site template (each with a copy)")
    p.add_argument("--raw", type=int, default=400, help="real pages served as they are")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--concurrency", type=int, default=16)
    p.add_argument("--adds", type=int, default=2_000_000)
    p.add_argument("--window", type=int, default=100_000)
    p.add_argument("--tiny", action="store_true", help="a few seconds: 6 articles, 4 pages, 20k adds")
    p.add_argument("--skip-crawl", action="store_true")
    p.add_argument("--skip-memory", action="store_true")
    p.add_argument("--memory-worker", nargs=3, metavar=("KIND", "ADDS", "WINDOW"), help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.memory_worker:
        kind, adds, window = args.memory_worker
        memory_worker(kind, int(adds), int(window))
        return
    if args.tiny:
        args.articles, args.raw, args.repeats, args.adds, args.window = 6, 4, 1, 20_000, 1_000
    print(f"# bench_scrapy: Python {sys.version.split()[0]}, {os.cpu_count()} cores\n")
    if not args.skip_crawl:
        bench_crawl(args)
    if not args.skip_memory:
        bench_memory(args)


if __name__ == "__main__":
    main()
