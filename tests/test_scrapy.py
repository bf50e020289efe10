"""simdup.scrapy in one process: settings, the middleware and the pipeline on made-up responses, persistence, locks.

The real crawls are in test_scrapy_crawl.py; these call the components
directly (no reactor), through a crawler from ``scrapy.utils.test.get_crawler``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

pytest.importorskip("scrapy", reason="simdup.scrapy needs Scrapy (pip install -e \".[test]\" or \"simdup[scrapy]\")")

import scrapy  # noqa: E402
from scrapy.exceptions import DropItem, IgnoreRequest, NotConfigured  # noqa: E402
from scrapy.http import HtmlResponse, Request, TextResponse  # noqa: E402
from scrapy.settings import Settings  # noqa: E402
from scrapy.utils.test import get_crawler  # noqa: E402

from simdup import SimHasher  # noqa: E402
from simdup.index._names import names_path  # noqa: E402
from simdup.scrapy import (  # noqa: E402
    SimdupAddon,
    SimdupDownloaderMiddleware,
    SimdupPipeline,
    _PathLock,
    read_settings,
)

ARTICLES = [
    "Crude oil prices rose three percent on Tuesday as traders worried that supply from the Gulf would "
    "stay tight through the winter, while refiners reported strong demand for diesel in Europe and Asia.",
    "The central bank kept interest rates unchanged on Wednesday and signalled that it could cut them "
    "later this year if inflation keeps falling toward its target, economists at several banks said.",
    "A team of biologists discovered a new species of tree frog in the cloud forests of Ecuador, the "
    "university announced, adding that the tiny amphibian sings at a pitch too high for most people.",
    "The city council approved a plan to turn the old railway depot into a park with playgrounds, a "
    "market hall and bicycle paths, after residents gathered thousands of signatures for the project.",
]


def page(text: str, template: int = 0) -> bytes:
    nav = ["<nav><a href='/'>Home</a> <a href='/news'>News</a> <a href='/about'>About</a></nav>",
           "<div class='menu'><a href='/x'>Markets</a> | <a href='/y'>Weather</a></div>"][template]
    return (f"<html><head><title>News</title></head><body>{nav}<article><h1>Story</h1><p>{text}</p>"
            f"<p>{text}</p></article><footer>Copyright 2024</footer></body></html>").encode()


def crawler(**settings):
    """A crawler with these settings at project priority (no reactor: components are called directly)."""
    return get_crawler(settings_dict=settings)


def respond(mw, url: str, body: bytes, *, status: int = 200, cls=HtmlResponse, meta=None,
            content_type: str = "text/html; charset=utf-8"):
    req = Request(url, meta=meta or {})
    resp = cls(url, body=body, status=status, request=req, headers={"Content-Type": content_type})
    return req, mw.process_response(req, resp)


# ---------------------------------------------------------------------------- settings

def test_disabled_is_not_configured():
    for value in (False, "False", "0", "off"):
        with pytest.raises(NotConfigured):
            SimdupDownloaderMiddleware.from_crawler(crawler(SIMDUP_ENABLED=value))
        with pytest.raises(NotConfigured):
            SimdupPipeline.from_crawler(crawler(SIMDUP_ENABLED=value, SIMDUP_FIELD="text"))


@pytest.mark.parametrize("name, value, message", [
    ("SIMDUP_ENABLED", "maybe", "SIMDUP_ENABLED must be true or false"),
    ("SIMDUP_K", "three", "SIMDUP_K must be an integer"),
    ("SIMDUP_K", 17, r"SIMDUP_K must be in \[0, 16\]"),
    ("SIMDUP_K", -1, "SIMDUP_K must be in"),
    ("SIMDUP_K", 2.5, "SIMDUP_K must be an integer"),
    ("SIMDUP_K", True, "SIMDUP_K must be an integer"),
    ("SIMDUP_ACTION", "delete", "SIMDUP_ACTION must be 'drop' or 'mark'"),
    ("SIMDUP_ACTION", 1, "SIMDUP_ACTION must be 'drop' or 'mark'"),
    ("SIMDUP_WINDOW_SIZE", 0, "SIMDUP_WINDOW_SIZE must be >= 1"),
    ("SIMDUP_WINDOW_SIZE", "many", "SIMDUP_WINDOW_SIZE must be an integer"),
    ("SIMDUP_WINDOW_SECONDS", 0, "SIMDUP_WINDOW_SECONDS must be a finite number of seconds > 0"),
    ("SIMDUP_WINDOW_SECONDS", "a day", "SIMDUP_WINDOW_SECONDS must be a number of seconds"),
    ("SIMDUP_WINDOW_SECONDS", "inf", "SIMDUP_WINDOW_SECONDS must be a finite number"),
    ("SIMDUP_SAVE_INTERVAL", -5, "SIMDUP_SAVE_INTERVAL must be a finite number of seconds >= 0"),
    ("SIMDUP_SAVE_INTERVAL", "nan", "SIMDUP_SAVE_INTERVAL must be a finite number"),
    ("SIMDUP_EXPECTED_N", -1, "SIMDUP_EXPECTED_N must be >= 0"),
    ("SIMDUP_MODEL", "/nonexistent/model.npz", "SIMDUP_MODEL: /nonexistent/model.npz is not a file"),
    ("SIMDUP_INDEX_PATH", "/nonexistent/dir/crawl.idx", "SIMDUP_INDEX_PATH: .* must name a file in an existing"),
    ("SIMDUP_INDEX_PATH", 5, "SIMDUP_INDEX_PATH must be a file path"),
    ("SIMDUP_ITEM_INDEX_PATH", "/", "SIMDUP_ITEM_INDEX_PATH: / must name a file"),
    ("SIMDUP_FIELD", 3, "SIMDUP_FIELD must be an item field name"),
])
def test_a_bad_setting_is_a_value_error_naming_it(name, value, message):
    with pytest.raises(ValueError, match=message):
        SimdupDownloaderMiddleware.from_crawler(crawler(**{name: value}))


def test_settings_from_the_command_line_are_strings():
    config = read_settings(Settings({"SIMDUP_K": "5", "SIMDUP_WINDOW_SIZE": "1000", "SIMDUP_WINDOW_SECONDS": "86400",
                                     "SIMDUP_SAVE_INTERVAL": "0", "SIMDUP_ACTION": " Mark ", "SIMDUP_ENABLED": "1"}))
    assert (config.k, config.window_size, config.window_seconds, config.save_interval, config.action) == \
        (5, 1000, 86400.0, 0.0, "mark")
    assert config.expected_n == 1000  # planned for the window
    defaults = read_settings(Settings({}))
    assert (defaults.k, defaults.action, defaults.index_path, defaults.window_size, defaults.save_interval) == \
        (3, "drop", None, None, 300.0)


def test_the_pipeline_needs_a_field():
    with pytest.raises(ValueError, match="SIMDUP_FIELD must name the item field"):
        SimdupPipeline.from_crawler(crawler())


def test_a_model_that_is_not_one(tmp_path):
    bad = tmp_path / "model.npz"
    bad.write_bytes(b"not a model")
    with pytest.raises(ValueError, match="SIMDUP_MODEL: "):
        SimdupDownloaderMiddleware.from_crawler(crawler(SIMDUP_MODEL=str(bad)))


# -------------------------------------------------------------------------- middleware

def test_drop_raises_ignore_request_and_counts():
    c = crawler()
    mw = SimdupDownloaderMiddleware.from_crawler(c)
    _, resp = respond(mw, "https://a.example/1", page(ARTICLES[0]))
    assert isinstance(resp, HtmlResponse)
    respond(mw, "https://a.example/2", page(ARTICLES[1]))
    with pytest.raises(IgnoreRequest, match=r"near-duplicate of https://a.example/1 \(\d+ bits\)"):
        respond(mw, "https://b.example/copy", page(ARTICLES[0], template=1))
    stats = c.stats.get_stats()
    assert stats["simdup/pages_fingerprinted"] == 3 and stats["simdup/pages_stored"] == 2
    assert stats["simdup/duplicates_dropped"] == 1
    assert "https://b.example/copy" not in mw.deduper  # a dropped copy is not stored


def test_mark_sets_the_meta_and_lets_the_page_through():
    c = crawler(SIMDUP_ACTION="mark")
    mw = SimdupDownloaderMiddleware.from_crawler(c)
    req, _ = respond(mw, "https://a.example/1", page(ARTICLES[0]))
    assert "simdup_duplicate_of" not in req.meta
    req, resp = respond(mw, "https://b.example/copy", page(ARTICLES[0], template=1))
    assert req.meta["simdup_duplicate_of"] == "https://a.example/1" and 0 <= req.meta["simdup_distance"] <= 3
    assert resp.meta is req.meta  # what the spider reads
    assert c.stats.get_value("simdup/duplicates_marked") == 1


def test_what_passes_untouched():
    c = crawler()
    mw = SimdupDownloaderMiddleware.from_crawler(c)
    body = page(ARTICLES[0])
    respond(mw, "https://a.example/1", body)
    # the same page again, but: an error status, not HTML, exempted by the spider, a redirect
    assert respond(mw, "https://a.example/404", body, status=404)[1].status == 404
    assert respond(mw, "https://a.example/t.txt", body, cls=TextResponse, content_type="text/plain")[1]
    assert respond(mw, "https://a.example/hub", body, meta={"simdup_skip": True})[1]
    assert respond(mw, "https://a.example/r", body, status=301)[1]
    assert c.stats.get_value("simdup/pages_fingerprinted") == 1
    # a page without text is never a duplicate, and not stored
    respond(mw, "https://a.example/empty1", b"<html><body><script>x()</script></body></html>")
    respond(mw, "https://a.example/empty2", b"<html><body><script>x()</script></body></html>")
    assert c.stats.get_value("simdup/pages_without_text") == 2 and len(mw.deduper) == 1


def test_a_page_fetched_again_is_a_copy_of_itself_unless_it_changed():
    mw = SimdupDownloaderMiddleware.from_crawler(crawler(SIMDUP_ACTION="mark"))
    respond(mw, "https://a.example/home", page(ARTICLES[0]))
    req, _ = respond(mw, "https://a.example/home", page(ARTICLES[0]))
    assert req.meta["simdup_duplicate_of"] == "https://a.example/home"
    req, _ = respond(mw, "https://a.example/home", page(ARTICLES[2]))  # new content: replaces the old
    assert "simdup_duplicate_of" not in req.meta
    assert mw.deduper.duplicates(page(ARTICLES[0])) == []
    assert mw.deduper.duplicates(page(ARTICLES[2])) == [("https://a.example/home", 0)]


def test_the_charset_of_the_content_type_header_is_used():
    mw = SimdupDownloaderMiddleware.from_crawler(crawler(SIMDUP_ACTION="mark"))
    text = "Caf\u00e9 cr\u00e8me br\u00fbl\u00e9e, la cr\u00e8me de la cr\u00e8me, d\u00e9j\u00e0 vu. " * 10
    respond(mw, "https://a.example/utf8", page(text))
    body = page(text).decode().encode("cp1252")  # no <meta charset>: only the header says cp1252
    req, _ = respond(mw, "https://b.example/cp1252", body, content_type="text/html; charset=windows-1252")
    assert req.meta["simdup_distance"] == 0


def test_window_settings_bound_the_index():
    c = crawler(SIMDUP_WINDOW_SIZE=2, SIMDUP_ACTION="mark")
    mw = SimdupDownloaderMiddleware.from_crawler(c)
    for i, text in enumerate(ARTICLES):
        respond(mw, f"https://a.example/{i}", page(text))
    assert len(mw.deduper) == 2 and c.stats.get_value("simdup/evicted") == 2
    req, _ = respond(mw, "https://b.example/0", page(ARTICLES[0]))  # evicted: no longer a duplicate
    assert "simdup_duplicate_of" not in req.meta


# ---------------------------------------------------------------------------- persistence

def test_saved_at_close_and_loaded_by_the_next_crawl(tmp_path):
    path = tmp_path / "crawl.idx"
    c = crawler(SIMDUP_INDEX_PATH=str(path))
    mw = SimdupDownloaderMiddleware.from_crawler(c)
    assert (tmp_path / "crawl.idx.lock").exists() and not path.exists()
    respond(mw, "https://a.example/1", page(ARTICLES[0]))
    mw.spider_closed()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["crawl.idx", "crawl.idx.names.json"]
    assert c.stats.get_value("simdup/index_saves") == 1 and c.stats.get_value("simdup/index_size") == 1
    mw2 = SimdupDownloaderMiddleware.from_crawler(crawler(SIMDUP_INDEX_PATH=str(path)))
    with pytest.raises(IgnoreRequest, match="near-duplicate of https://a.example/1"):
        respond(mw2, "https://b.example/copy", page(ARTICLES[0], template=1))
    mw2.spider_closed()


def test_saved_periodically(tmp_path):
    path = tmp_path / "crawl.idx"
    c = crawler(SIMDUP_INDEX_PATH=str(path), SIMDUP_SAVE_INTERVAL=0.05)
    mw = SimdupDownloaderMiddleware.from_crawler(c)
    respond(mw, "https://a.example/1", page(ARTICLES[0]))
    assert not path.exists()  # the interval has not passed yet
    time.sleep(0.06)
    respond(mw, "https://a.example/2", page(ARTICLES[1]))
    assert path.exists() and c.stats.get_value("simdup/index_saves") == 1
    names = json.loads(names_path(path).read_text())["names"]
    assert sorted(names.values()) == ["https://a.example/1", "https://a.example/2"]
    mw.spider_closed()
    assert c.stats.get_value("simdup/index_saves") == 2


def test_a_saved_index_of_another_k_or_model_is_refused(tmp_path):
    path = tmp_path / "crawl.idx"
    mw = SimdupDownloaderMiddleware.from_crawler(crawler(SIMDUP_INDEX_PATH=str(path)))
    respond(mw, "https://a.example/1", page(ARTICLES[0]))
    mw.spider_closed()
    with pytest.raises(ValueError, match="SIMDUP_K is 5 but .* was built with k=3"):
        SimdupDownloaderMiddleware.from_crawler(crawler(SIMDUP_INDEX_PATH=str(path), SIMDUP_K=5))
    model = tmp_path / "model.npz"
    SimHasher(use_idf=False).save(model)
    with pytest.raises(ValueError, match="SIMDUP_MODEL: .* holds fingerprints of the embedded model"):
        SimdupDownloaderMiddleware.from_crawler(crawler(SIMDUP_INDEX_PATH=str(path), SIMDUP_MODEL=str(model)))
    assert not (tmp_path / "crawl.idx.lock").exists()  # a refused start leaves no lock behind
    names_path(path).unlink()
    with pytest.raises(ValueError, match="SIMDUP_INDEX_PATH: .* has no names file"):
        SimdupDownloaderMiddleware.from_crawler(crawler(SIMDUP_INDEX_PATH=str(path)))


def test_a_model_file_is_used_and_recorded(tmp_path):
    model = tmp_path / "model.npz"
    SimHasher(use_idf=False).save(model)
    path = tmp_path / "crawl.idx"
    mw = SimdupDownloaderMiddleware.from_crawler(crawler(SIMDUP_INDEX_PATH=str(path), SIMDUP_MODEL=str(model)))
    assert mw.deduper.hasher.use_idf is False
    respond(mw, "https://a.example/1", page(ARTICLES[0]))
    mw.spider_closed()
    assert json.loads(names_path(path).read_text())["model"] == str(model)
    again = SimdupDownloaderMiddleware.from_crawler(crawler(SIMDUP_INDEX_PATH=str(path), SIMDUP_MODEL=str(model)))
    assert len(again.deduper) == 1
    again.spider_closed()


def test_window_settings_apply_to_a_loaded_index(tmp_path):
    path = tmp_path / "crawl.idx"
    mw = SimdupDownloaderMiddleware.from_crawler(crawler(SIMDUP_INDEX_PATH=str(path)))
    for i, text in enumerate(ARTICLES):
        respond(mw, f"https://a.example/{i}", page(text))
    mw.spider_closed()
    mw = SimdupDownloaderMiddleware.from_crawler(crawler(SIMDUP_INDEX_PATH=str(path), SIMDUP_WINDOW_SIZE=3))
    assert len(mw.deduper) == 3 and mw.deduper.index.window_size == 3
    mw.spider_closed()
    mw = SimdupDownloaderMiddleware.from_crawler(crawler(SIMDUP_INDEX_PATH=str(path)))
    assert mw.deduper.index.window_size is None and len(mw.deduper) == 3  # removing the window keeps the items
    mw.spider_closed()


# -------------------------------------------------------------------------------- locks

def test_one_owner_per_index_file(tmp_path):
    path = tmp_path / "crawl.idx"
    mw = SimdupDownloaderMiddleware.from_crawler(crawler(SIMDUP_INDEX_PATH=str(path)))
    with pytest.raises(ValueError, match="SIMDUP_INDEX_PATH: .* another simdup component of this process"):
        SimdupPipeline.from_crawler(crawler(SIMDUP_INDEX_PATH=str(path), SIMDUP_FIELD="text"))
    # the pipeline's own file: fine
    pipe = SimdupPipeline.from_crawler(crawler(SIMDUP_INDEX_PATH=str(path), SIMDUP_FIELD="text",
                                               SIMDUP_ITEM_INDEX_PATH=str(tmp_path / "items.idx")))
    # another process is refused, naming this one
    code = ("from pathlib import Path; from simdup.scrapy import _PathLock\n"
            f"_PathLock(Path({str(path)!r}), 'SIMDUP_INDEX_PATH')")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert run.returncode != 0 and f"in use by another crawl (process {os.getpid()})" in run.stderr
    mw.spider_closed()
    pipe.close_spider()
    assert not (tmp_path / "crawl.idx.lock").exists() and not (tmp_path / "items.idx.lock").exists()
    _PathLock(path, "SIMDUP_INDEX_PATH").release()  # free again


def test_a_lock_left_by_a_killed_crawl_does_not_block(tmp_path):
    path = tmp_path / "crawl.idx"
    code = ("import os; from pathlib import Path; from simdup.scrapy import _PathLock\n"
            f"_PathLock(Path({str(path)!r}), 'SIMDUP_INDEX_PATH'); os._exit(0)")  # dies holding it
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
    assert (tmp_path / "crawl.idx.lock").exists()
    mw = SimdupDownloaderMiddleware.from_crawler(crawler(SIMDUP_INDEX_PATH=str(path)))
    mw.spider_closed()
    assert not (tmp_path / "crawl.idx.lock").exists()


# ---------------------------------------------------------------------------- pipeline

class Article(scrapy.Item):
    url = scrapy.Field()
    text = scrapy.Field()
    simdup_duplicate_of = scrapy.Field()
    simdup_distance = scrapy.Field()


class Bare(scrapy.Item):
    url = scrapy.Field()
    text = scrapy.Field()


def test_pipeline_drops_items_with_a_near_duplicate_text():
    c = crawler(SIMDUP_FIELD="text")
    pipe = SimdupPipeline.from_crawler(c)
    assert pipe.process_item({"url": "u1", "text": ARTICLES[0]})["url"] == "u1"
    pipe.process_item({"url": "u2", "text": ARTICLES[1]})
    with pytest.raises(DropItem, match=r"near-duplicate of u1 \(0 bits\)"):
        pipe.process_item({"url": "u3", "text": ARTICLES[0]})
    # paragraphs as a list (from .getall()) are one text
    with pytest.raises(DropItem, match="near-duplicate of u2"):
        pipe.process_item(Article(url="u4", text=[ARTICLES[1]]))
    assert pipe.process_item({"url": "u5"}) == {"url": "u5"}  # no text: passes
    with pytest.raises(TypeError, match="item field 'text' \\(SIMDUP_FIELD\\) holds int"):
        pipe.process_item({"url": "u6", "text": 5})
    stats = c.stats.get_stats()
    assert stats["simdup/items_fingerprinted"] == 4 and stats["simdup/items_stored"] == 2
    assert stats["simdup/duplicate_items_dropped"] == 2 and stats["simdup/items_without_text"] == 1


def test_pipeline_marks_items_and_names_them_by_their_text_without_an_id():
    c = crawler(SIMDUP_FIELD="text", SIMDUP_ACTION="mark", SIMDUP_ID_FIELD="link")
    pipe = SimdupPipeline.from_crawler(c)
    first = pipe.process_item({"text": ARTICLES[2]})
    assert "simdup_duplicate_of" not in first
    second = pipe.process_item(Article(text=ARTICLES[2]))
    assert second["simdup_duplicate_of"].startswith("text:") and second["simdup_distance"] == 0
    linked = pipe.process_item({"link": "https://x/1", "text": ARTICLES[3]})
    assert "simdup_duplicate_of" not in linked
    assert pipe.process_item({"link": "https://x/2", "text": ARTICLES[3]})["simdup_duplicate_of"] == "https://x/1"
    with pytest.raises(TypeError, match="Bare has no fields simdup_duplicate_of"):
        pipe.process_item(Bare(url="u", text=ARTICLES[3]))
    assert c.stats.get_value("simdup/duplicate_items_marked") == 2


def test_pipeline_persists_in_its_own_file(tmp_path):
    c = crawler(SIMDUP_FIELD="text", SIMDUP_ITEM_INDEX_PATH=str(tmp_path / "items.idx"))
    pipe = SimdupPipeline.from_crawler(c)
    pipe.process_item({"url": "u1", "text": ARTICLES[0]})
    pipe.close_spider()
    again = SimdupPipeline.from_crawler(crawler(SIMDUP_FIELD="text",
                                                SIMDUP_ITEM_INDEX_PATH=str(tmp_path / "items.idx")))
    with pytest.raises(DropItem, match="near-duplicate of u1"):
        again.process_item({"url": "u9", "text": ARTICLES[0]})
    again.close_spider()


# ------------------------------------------------------------------------------- add-on

def test_addon_enables_the_middleware_and_the_pipeline_when_a_field_is_set():
    settings = Settings({"DOWNLOADER_MIDDLEWARES": {}, "ITEM_PIPELINES": {}})
    SimdupAddon().update_settings(settings)
    assert list(settings.getdict("DOWNLOADER_MIDDLEWARES").values()) == [540]
    assert settings.getdict("ITEM_PIPELINES") == {}
    settings = Settings({"SIMDUP_FIELD": "text"})
    SimdupAddon().update_settings(settings)
    assert list(settings.getdict("ITEM_PIPELINES").values()) == [300]
