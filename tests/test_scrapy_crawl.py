"""Real Scrapy crawls of a local site with planted near-duplicates (tests/scrapy_site.py).

Each crawl runs in a subprocess (``scrapy runspider tests/scrapy_spider.py``):
Twisted's reactor cannot restart within one pytest process. The site is
served from this process on 127.0.0.1 at a free port. A crawl takes about
3 seconds.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("scrapy", reason="the crawl tests need Scrapy (pip install -e \".[test]\" or \"simdup[scrapy]\")")

import scrapy_site  # noqa: E402  (tests/ is on sys.path, as for reference_hamming)

MIDDLEWARE = '{"simdup.scrapy.SimdupDownloaderMiddleware": 540}'


@pytest.fixture(scope="module")
def site():
    return scrapy_site.build_site()


@pytest.fixture(scope="module")
def base(site):
    with scrapy_site.Server(site) as url:
        yield url


def crawl(base: str, tmp: Path, name: str, *settings: str, check: bool = True,
          timeout: float = 120) -> tuple[list[dict], dict, subprocess.CompletedProcess]:
    """Run the spider once; its records (one per request), its final stats, the process."""
    items, stats = tmp / f"{name}.jsonl", tmp / f"{name}.stats.json"
    args = [sys.executable, "-m", "scrapy", "runspider", str(scrapy_site.SPIDER), "-a", f"base={base}",
            "-a", f"stats={stats}", "-O", str(items), "-s", "TELNETCONSOLE_ENABLED=0", "-s", "LOG_LEVEL=DEBUG",
            "-s", "CONCURRENT_REQUESTS=4"]
    for s in settings:
        args += ["-s", s]
    run = subprocess.run(args, capture_output=True, text=True, timeout=timeout, cwd=tmp)
    if not check:
        return [], {}, run
    assert run.returncode == 0, run.stderr[-3000:]
    assert "Traceback" not in run.stderr, run.stderr[-3000:]
    records = [json.loads(line) for line in items.read_text().splitlines()]
    return records, json.loads(stats.read_text()), run


def _by_kind(records: list[dict], base: str) -> tuple[dict[str, dict], dict[str, str], set[str]]:
    """Parsed pages (path -> record), dropped pages (path -> reason), errors (paths)."""
    path = lambda url: url[len(base):]  # noqa: E731
    parsed = {path(r["url"]): r for r in records if "status" in r}
    dropped = {path(r["url"]): r["dropped"] for r in records if "dropped" in r}
    errors = {path(r["url"]) for r in records if "error" in r}
    assert len(parsed) + len(dropped) + len(errors) == len(records), "a page was requested twice"
    return parsed, dropped, errors


def test_a_crawl_drops_the_planted_duplicates_and_the_next_crawl_what_the_first_saw(site, base, tmp_path):
    index = tmp_path / "crawl.idx"
    records, stats, run = crawl(base, tmp_path, "first", f"DOWNLOADER_MIDDLEWARES={MIDDLEWARE}",
                                f"SIMDUP_INDEX_PATH={index}")
    parsed, dropped, errors = _by_kind(records, base)
    # exactly the planted copies are dropped, each as a copy of its own original
    assert set(dropped) == set(site.duplicates)
    for copy, original in site.duplicates.items():
        assert dropped[copy].startswith(f"near-duplicate of {base}{original} (")
    # every original is parsed: distinct articles in one template are not copies of each other
    assert set(parsed) == {"/", "/data.json", *site.originals}
    assert errors == {"/missing/1", "/missing/2"}  # 404 pages are not fingerprinted (two alike would match)
    assert stats["simdup/pages_fingerprinted"] == len(site.originals) + len(site.duplicates)
    assert stats["simdup/pages_stored"] == len(site.originals) == stats["simdup/index_size"]
    assert stats["simdup/duplicates_dropped"] == len(site.duplicates)
    assert stats["simdup/index_saves"] == 1 and "simdup/duplicates_marked" not in stats
    assert f"Dropped near-duplicate {base}/b/0: {base}/a/0 at " in run.stderr  # one DEBUG line per drop
    assert run.stderr.count("Dropped near-duplicate") == len(site.duplicates)
    # the index and its URLs are saved, nothing else is left behind (no temp file, no lock)
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("crawl.idx")) == \
        ["crawl.idx", "crawl.idx.names.json"]
    names = json.loads((tmp_path / "crawl.idx.names.json").read_text())["names"]
    assert sorted(names.values()) == sorted(base + p for p in site.originals)

    # The next day's crawl with the saved index: every page the first one kept is dropped
    # as already seen (a copy of itself); the planted copies are never reached (their
    # originals, which link them, are dropped before parsing).
    records, stats, _ = crawl(base, tmp_path, "second", f"DOWNLOADER_MIDDLEWARES={MIDDLEWARE}",
                              f"SIMDUP_INDEX_PATH={index}")
    parsed, dropped, errors = _by_kind(records, base)
    assert set(dropped) == set(site.originals)
    for page in site.originals:
        assert dropped[page].startswith(f"near-duplicate of {base}{page} (0 bits)")
    assert set(parsed) == {"/", "/data.json"}
    assert stats["simdup/duplicates_dropped"] == len(site.originals) and "simdup/pages_stored" not in stats
    assert stats["simdup/index_size"] == len(site.originals)


def test_mark_mode_through_the_addon_parses_every_page_and_marks_the_copies(site, base, tmp_path):
    records, stats, run = crawl(base, tmp_path, "mark", 'ADDONS={"simdup.scrapy.SimdupAddon": 0}',
                                "SIMDUP_ACTION=mark")
    parsed, dropped, errors = _by_kind(records, base)
    assert not dropped and errors == {"/missing/1", "/missing/2"}
    assert set(parsed) == {"/", "/data.json", *site.originals, *site.duplicates}
    marked = {p: r for p, r in parsed.items() if "duplicate_of" in r}
    assert set(marked) == set(site.duplicates)
    for copy, original in site.duplicates.items():
        assert marked[copy]["duplicate_of"] == base + original and 0 <= marked[copy]["distance"] <= 3
    assert stats["simdup/duplicates_marked"] == len(site.duplicates)
    assert "simdup/duplicates_dropped" not in stats and "simdup/index_saves" not in stats  # no path: not saved
    assert "Dropped near-duplicate" not in run.stderr


def test_one_index_file_has_one_owner_and_crawls_with_their_own_files_run_side_by_side(site, base, tmp_path):
    from simdup.scrapy import _PathLock

    shared = tmp_path / "shared.idx"
    held = _PathLock(shared, "SIMDUP_INDEX_PATH")  # another crawl (this process) holds the file
    try:
        _, _, run = crawl(base, tmp_path, "refused", f"DOWNLOADER_MIDDLEWARES={MIDDLEWARE}",
                          f"SIMDUP_INDEX_PATH={shared}", check=False)
        assert run.returncode != 0 and "ValueError: SIMDUP_INDEX_PATH" in run.stderr
        assert "is in use by another crawl" in run.stderr
        assert not (tmp_path / "refused.jsonl").exists() or not (tmp_path / "refused.jsonl").read_text().strip()
        assert not shared.exists()
    finally:
        held.release()
    assert not (tmp_path / "shared.idx.lock").exists()
    # two crawls at once, one file each: both complete and save
    procs = []
    for name in ("left", "right"):
        args = [sys.executable, "-m", "scrapy", "runspider", str(scrapy_site.SPIDER), "-a", f"base={base}",
                "-O", str(tmp_path / f"{name}.jsonl"), "-s", "TELNETCONSOLE_ENABLED=0", "-s", "LOG_LEVEL=INFO",
                "-s", f"DOWNLOADER_MIDDLEWARES={MIDDLEWARE}", "-s", f"SIMDUP_INDEX_PATH={tmp_path / name}.idx"]
        procs.append(subprocess.Popen(args, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    for p in procs:
        _, err = p.communicate(timeout=120)
        assert p.returncode == 0 and "Traceback" not in err, err[-2000:]
    for name in ("left", "right"):
        names = json.loads((tmp_path / f"{name}.idx.names.json").read_text())["names"]
        assert len(names) == len(site.originals)
