"""Near-duplicate filtering for Scrapy crawls (``pip install "simdup[scrapy]"``).

Two components, each enabled in a project's ``settings.py``:

:class:`SimdupDownloaderMiddleware`
    Fingerprints the main content of every HTML response (status 2xx) and,
    for a near-duplicate of a page already seen in this crawl or in an
    earlier one, drops it before the spider parses it (``IgnoreRequest``)
    or marks it (``response.meta["simdup_duplicate_of"]`` and
    ``["simdup_distance"]``)::

        DOWNLOADER_MIDDLEWARES = {"simdup.scrapy.SimdupDownloaderMiddleware": 540}
        SIMDUP_INDEX_PATH = "crawl.idx"       # kept between runs; omit for this crawl only

:class:`SimdupPipeline`
    The same for items, on the text of one item field (``DropItem`` or
    item fields ``simdup_duplicate_of`` / ``simdup_distance``)::

        ITEM_PIPELINES = {"simdup.scrapy.SimdupPipeline": 300}
        SIMDUP_FIELD = "text"

Or both through the add-on: ``ADDONS = {"simdup.scrapy.SimdupAddon": 0}``
(the middleware always, the pipeline when ``SIMDUP_FIELD`` is set).

Settings
--------
================================  ===========  ==================================================
``SIMDUP_ENABLED``                True         False: the components are not loaded (NotConfigured)
``SIMDUP_K``                      3            largest distance, in bits, of a near-duplicate (0-16)
``SIMDUP_ACTION``                 ``"drop"``   ``"drop"`` or ``"mark"``
``SIMDUP_INDEX_PATH``             None         index file kept between runs (the middleware's)
``SIMDUP_ITEM_INDEX_PATH``        None         the pipeline's index file (default SIMDUP_INDEX_PATH)
``SIMDUP_FIELD``                  None         item field holding the text (the pipeline needs it)
``SIMDUP_ID_FIELD``               ``"url"``    item field naming the item (else its text's hash)
``SIMDUP_WINDOW_SIZE``            None         remember only the last N pages
``SIMDUP_WINDOW_SECONDS``         None         remember only the pages of the last T seconds
``SIMDUP_SAVE_INTERVAL``          300          seconds between saves during a crawl (0: at close only)
``SIMDUP_MODEL``                  None         a model file (``simdup fit``); default the embedded one
``SIMDUP_EXPECTED_N``             1,000,000    size the index is planned for (default the window size)
================================  ===========  ==================================================

``request.meta["simdup_skip"] = True`` exempts a request (a hub page
whose links the spider must follow even when it has not changed).

What counts: a page (or item) is a duplicate when a stored one lies within
``SIMDUP_K`` bits. The first of a group is stored, and is kept; the copies
are dropped or marked and not stored. A URL fetched again (the next day's
crawl) is compared with everything, its own earlier version included:
unchanged, it is a duplicate of itself (``simdup_duplicate_of`` is its own
URL); changed beyond ``k`` bits, its new version replaces the old. Dropping
happens before parsing, so the links of a dropped page are not followed.
Pages without text (no tokens) are never duplicates and never stored.

Stats: ``simdup/pages_fingerprinted``, ``simdup/pages_stored``,
``simdup/pages_without_text``, ``simdup/duplicates_dropped``,
``simdup/duplicates_marked``; for the pipeline ``simdup/items_fingerprinted``,
``simdup/items_stored``, ``simdup/items_without_text``,
``simdup/duplicate_items_dropped``, ``simdup/duplicate_items_marked``; and
``simdup/index_saves``, ``simdup/evicted``, ``simdup/index_size``.
Each drop is logged at DEBUG.

Persistence: the index is loaded at start (if the file exists), saved
atomically every ``SIMDUP_SAVE_INTERVAL`` seconds (checked as pages arrive)
and when the spider closes; the URLs are saved beside it
(``PATH.names.json``, the file ``simdup index`` writes; ``simdup index query
PATH pages/`` reads it). A saved index of another ``k`` or model is
refused; the window settings apply to a loaded index (they may change
between runs). Saving blocks the crawl while it writes: about 45 bytes an
item, so a 10M-page index takes seconds, a 100k window milliseconds.

Processes: one index file has one owner. A crawl holds an exclusive lock
(``PATH.lock``, removed at close; the OS releases it if the process dies)
from start to close, so a second crawl, or a second component, on the same
path fails at startup naming it, instead of the two overwriting each other's
saves. Parallel crawls use one file each; near-duplicates are mostly found
within a site, so partition the crawl by site. One process is usually
enough: the index answers over a million queries a second, and
fingerprinting (a few ms a page, in the reactor thread) bounds a crawl at
a few hundred pages a second per process.
"""

from __future__ import annotations

import logging
import math
import os
import time
from collections.abc import Hashable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

try:
    from itemadapter import ItemAdapter
    from scrapy import signals
    from scrapy.exceptions import DropItem, IgnoreRequest, NotConfigured
    from scrapy.http import HtmlResponse
except ImportError as exc:  # pragma: no cover - exercised without scrapy only
    raise ImportError("simdup.scrapy needs Scrapy: pip install \"simdup[scrapy]\"") from exc

import numpy as np

from simdup._core import xxh64
from simdup.deduper import Deduper
from simdup.hasher import SimHasher
from simdup.index._names import read_names
from simdup.index.plan import MAX_K

__all__ = ["SimdupAddon", "SimdupDownloaderMiddleware", "SimdupPipeline"]

logger = logging.getLogger(__name__)

MIDDLEWARE_PRIORITY = 540
"""Below RetryMiddleware (550), MetaRefresh (580), HttpCompression (590) and
Redirect (600): responses reach us decompressed, final, and not to be retried."""


# ----------------------------------------------------------------------------- settings

@dataclass(frozen=True)
class Config:
    """The SIMDUP_* settings, checked."""

    k: int
    action: str
    index_path: Path | None
    item_index_path: Path | None
    field: str | None
    id_field: str
    window_size: int | None
    window_seconds: float | None
    save_interval: float
    model: Path | None
    expected_n: int


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _int(settings: Any, name: str, default: int | None, lo: int, hi: int | None = None) -> int | None:
    """An int setting (numbers from ``-s NAME=5`` arrive as strings); None when blank and allowed."""
    value = settings.get(name, default)
    if _blank(value):
        if default is None:
            return None
        value = default
    if isinstance(value, str):
        try:
            value = int(value.strip())
        except ValueError:
            raise ValueError(f"{name} must be an integer, got {value!r}") from None
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"{name} must be an integer, got {value!r}")
    value = int(value)
    if value < lo or (hi is not None and value > hi):
        raise ValueError(f"{name} must be {'in [%d, %d]' % (lo, hi) if hi is not None else f'>= {lo}'}, "
                         f"got {value}")
    return value


def _seconds(settings: Any, name: str, default: float | None, *, zero: bool) -> float | None:
    value = settings.get(name, default)
    if _blank(value):
        return default
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            raise ValueError(f"{name} must be a number of seconds, got {value!r}") from None
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ValueError(f"{name} must be a number of seconds, got {value!r}")
    value = float(value)
    if not math.isfinite(value) or value < 0 or (value == 0 and not zero):
        raise ValueError(f"{name} must be a finite number of seconds {'>= 0' if zero else '> 0'}, got {value}")
    return value


def _path(settings: Any, name: str) -> Path | None:
    value = settings.get(name)
    if _blank(value):
        return None
    if not isinstance(value, (str, os.PathLike)):
        raise ValueError(f"{name} must be a file path, got {value!r}")
    return Path(value)


def _name(settings: Any, name: str, default: str | None) -> str | None:
    value = settings.get(name, default)
    if _blank(value):
        return default
    if not isinstance(value, str):
        raise ValueError(f"{name} must be an item field name, got {value!r}")
    return value


def read_settings(settings: Any) -> Config:
    """The SIMDUP_* settings, checked: ``NotConfigured`` when disabled, ``ValueError`` naming a bad one."""
    enabled = settings.get("SIMDUP_ENABLED", True)
    if isinstance(enabled, str):
        low = enabled.strip().lower()
        if low not in ("true", "false", "1", "0", "yes", "no", "on", "off"):
            raise ValueError(f"SIMDUP_ENABLED must be true or false, got {enabled!r}")
        enabled = low in ("true", "1", "yes", "on")
    elif not isinstance(enabled, (bool, int)) or enabled not in (0, 1):
        raise ValueError(f"SIMDUP_ENABLED must be true or false, got {enabled!r}")
    if not enabled:
        raise NotConfigured("SIMDUP_ENABLED is off")
    action = settings.get("SIMDUP_ACTION", "drop")
    if not isinstance(action, str) or action.strip().lower() not in ("drop", "mark"):
        raise ValueError(f"SIMDUP_ACTION must be 'drop' or 'mark', got {action!r}")
    window_size = _int(settings, "SIMDUP_WINDOW_SIZE", None, 1)
    window_seconds = _seconds(settings, "SIMDUP_WINDOW_SECONDS", None, zero=False)
    expected = _int(settings, "SIMDUP_EXPECTED_N", window_size or 1_000_000, 0)
    model = _path(settings, "SIMDUP_MODEL")
    if model is not None and not model.is_file():
        raise ValueError(f"SIMDUP_MODEL: {model} is not a file (a model written by `simdup fit` or SimHasher.save)")
    index_path = _path(settings, "SIMDUP_INDEX_PATH")
    item_index_path = _path(settings, "SIMDUP_ITEM_INDEX_PATH")
    for name, p in (("SIMDUP_INDEX_PATH", index_path), ("SIMDUP_ITEM_INDEX_PATH", item_index_path)):
        if p is not None and (p.is_dir() or not p.parent.is_dir()):
            raise ValueError(f"{name}: {p} must name a file in an existing directory")
    return Config(
        k=_int(settings, "SIMDUP_K", 3, 0, MAX_K),  # type: ignore[arg-type]
        action=action.strip().lower(),
        index_path=index_path,
        item_index_path=item_index_path,
        field=_name(settings, "SIMDUP_FIELD", None),
        id_field=_name(settings, "SIMDUP_ID_FIELD", "url"),  # type: ignore[arg-type]
        window_size=window_size,
        window_seconds=window_seconds,
        save_interval=_seconds(settings, "SIMDUP_SAVE_INTERVAL", 300.0, zero=True),  # type: ignore[arg-type]
        model=model,
        expected_n=expected,  # type: ignore[arg-type]
    )


# ------------------------------------------------------------------------- the store

class _PathLock:
    """An exclusive lock on an index path for one crawl: ``PATH.lock``, flock'ed, holding the owner's pid.

    The lock file is removed at release. A process that dies holds nothing
    (the OS drops flock locks with the descriptor); its file stays until
    the next owner removes it. Removing the file while others may open it
    is safe because an opener checks, once it holds the lock, that the
    path still names the file it locked (else it retries on the new one).
    """

    def __init__(self, index_path: Path, setting: str) -> None:
        self.path = index_path.with_name(index_path.name + ".lock")
        self.fd: int | None = None
        try:
            import fcntl
        except ImportError:  # pragma: no cover - not POSIX: no lock
            logger.warning("simdup: no file locks on this platform; use %s from one crawl at a time", setting)
            return
        while True:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = os.read(fd, 32).decode("ascii", "replace").strip() or "unknown"
                os.close(fd)
                if holder == str(os.getpid()):
                    raise ValueError(
                        f"{setting}: {index_path} is already used by another simdup component of this "
                        "process (the middleware and the pipeline, or two crawlers): give each its own "
                        "file (SIMDUP_ITEM_INDEX_PATH for the pipeline)") from None
                raise ValueError(
                    f"{setting}: {index_path} is in use by another crawl (process {holder}); "
                    "an index file has one owner: give each crawl its own file") from None
            try:
                st = os.stat(self.path)
                same = (st.st_ino, st.st_dev) == (os.fstat(fd).st_ino, os.fstat(fd).st_dev)
            except FileNotFoundError:
                same = False
            if same:
                break
            os.close(fd)  # the previous owner removed the file we opened: lock the new one
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self.fd = fd

    def release(self) -> None:
        if self.fd is None:
            return
        try:
            os.unlink(self.path)  # while still locked: nobody can hold a lock on it now
        except FileNotFoundError:
            pass
        os.close(self.fd)
        self.fd = None


class _Store:
    """A Deduper, where it is saved, when it was last saved, and the lock on its path."""

    def __init__(self, config: Config, path: Path | None, setting: str, stats: Any) -> None:
        self.config = config
        self.path = path
        self.stats = stats
        self.lock = _PathLock(path, setting) if path is not None else None
        try:
            hasher = SimHasher.load(config.model) if config.model is not None else SimHasher.default()
        except (OSError, ValueError) as exc:
            self.close(save=False)
            raise ValueError(f"SIMDUP_MODEL: {exc}") from None
        try:
            self.dedup = self._open(hasher, setting)
        except BaseException:
            self.close(save=False)
            raise
        self.dedup.index.add_eviction_callback(self._count_evicted)
        self.last_save = time.monotonic()
        self.dirty = False

    def _open(self, hasher: SimHasher, setting: str) -> Deduper:
        c = self.config
        if self.path is None or not self.path.exists():
            return Deduper(hasher, k=c.k, expected_n=c.expected_n,
                           window_size=c.window_size, window_seconds=c.window_seconds)
        try:
            meta = read_names(self.path)
        except FileNotFoundError:
            raise ValueError(f"{setting}: {self.path} has no names file beside it "
                             f"({self.path.name}.names.json): not an index a crawl saved") from None
        except ValueError as exc:
            raise ValueError(f"{setting}: {exc}") from None
        model = meta.get("model")
        wanted = None if c.model is None else os.path.abspath(c.model)
        if model != wanted:
            raise ValueError(f"SIMDUP_MODEL: {self.path} holds fingerprints of "
                             f"{model or 'the embedded model'}, not of {wanted or 'the embedded model'}")
        try:
            dedup = Deduper.load(self.path, hasher)
        except ValueError as exc:
            raise ValueError(f"{setting}: {exc}") from None
        if dedup.index.k != c.k:
            raise ValueError(f"SIMDUP_K is {c.k} but {self.path} was built with k={dedup.index.k} "
                             "(set SIMDUP_K to it, or start a new index file)")
        if (dedup.index.window_size, dedup.index.window_seconds) != (c.window_size, c.window_seconds):
            dedup.index.set_window(c.window_size, c.window_seconds)  # the settings win
        return dedup

    def _count_evicted(self, ids: Any) -> None:
        if self.stats is not None:
            self.stats.inc_value("simdup/evicted", len(ids))

    def match(self, kind: str, doc_id: Hashable, doc: str | bytes, content_type: str | None
              ) -> tuple[Hashable, int] | None:
        """Store ``doc``, or find the page it near-duplicates: ``(its id, distance)``, else None.

        Counted under ``simdup/{kind}_fingerprinted``, ``_stored`` and
        ``_without_text`` (``kind`` is "pages" or "items"); saves when due.
        """
        self.stats.inc_value(f"simdup/{kind}_fingerprinted")
        added, matches = self.dedup.add_if_new(doc_id, doc, content_type, replace=True)
        self.dirty = self.dirty or added
        self.maybe_save()
        if added or not matches:
            self.stats.inc_value(f"simdup/{kind}_stored" if added else f"simdup/{kind}_without_text")
            return None
        return matches[0]

    def maybe_save(self) -> None:
        """Save when the interval has passed since the last save and pages were stored since.

        Evictions alone do not call for a save: the saved times evict the same items at the next load.
        """
        interval = self.config.save_interval
        if (self.path is not None and interval and self.dirty
                and time.monotonic() - self.last_save >= interval):
            self.save()

    def save(self) -> None:
        if self.path is None:
            return
        self.dedup.save(self.path, model=self.config.model)
        self.last_save = time.monotonic()
        self.dirty = False
        if self.stats is not None:
            self.stats.inc_value("simdup/index_saves")

    def close(self, save: bool = True) -> None:
        try:
            if save:
                if self.stats is not None:
                    self.stats.set_value("simdup/index_size", len(self.dedup))
                self.save()
        finally:
            if self.lock is not None:
                self.lock.release()
                self.lock = None


def _content_type(response: Any) -> str | None:
    value = response.headers.get(b"Content-Type")
    return value.decode("latin-1") if value else None


# ------------------------------------------------------------------------- components

class SimdupDownloaderMiddleware:
    """Drop (or mark) HTML responses whose main content near-duplicates a page already seen.

    See the module docstring for the settings. Only responses that are
    :class:`scrapy.http.HtmlResponse` with status 2xx are fingerprinted;
    robots.txt, feeds, images, redirects and error pages pass untouched.
    """

    def __init__(self, crawler: Any, config: Config) -> None:
        self.crawler = crawler
        self.config = config
        self.stats = crawler.stats
        self.store = _Store(config, config.index_path, "SIMDUP_INDEX_PATH", self.stats)
        crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler: Any) -> SimdupDownloaderMiddleware:
        return cls(crawler, read_settings(crawler.settings))

    @property
    def deduper(self) -> Deduper:
        """The Deduper behind the middleware (its index, its names)."""
        return self.store.dedup

    def process_response(self, request: Any, response: Any, spider: Any = None) -> Any:
        if (request.meta.get("simdup_skip") or not isinstance(response, HtmlResponse)
                or not 200 <= response.status < 300):
            return response
        found = self.store.match("pages", response.url, response.body, _content_type(response))
        if found is None:
            return response
        match, distance = found
        if self.config.action == "drop":
            self.stats.inc_value("simdup/duplicates_dropped")
            logger.debug("Dropped near-duplicate %s: %s at %d bits", response.url, match, distance,
                         extra={"spider": spider or getattr(self.crawler, "spider", None)})
            raise IgnoreRequest(f"near-duplicate of {match} ({distance} bits)")
        self.stats.inc_value("simdup/duplicates_marked")
        # request.meta: it becomes response.meta once Scrapy ties the two, after
        # the middlewares (response.meta raises here in Scrapy 2.19).
        request.meta["simdup_duplicate_of"] = match
        request.meta["simdup_distance"] = distance
        return response

    def spider_closed(self, spider: Any = None) -> None:
        self.store.close()


class SimdupPipeline:
    """Drop (or mark) items whose ``SIMDUP_FIELD`` text near-duplicates an item already seen.

    Items are named by ``SIMDUP_ID_FIELD`` (default ``url``), or by the hash
    of their text when they lack it. Marking sets the item fields
    ``simdup_duplicate_of`` and ``simdup_distance`` (a :class:`scrapy.Item`
    must declare them). The index file is ``SIMDUP_ITEM_INDEX_PATH``, else
    ``SIMDUP_INDEX_PATH`` (which the middleware uses too: with both
    enabled, set ``SIMDUP_ITEM_INDEX_PATH``, or the second to start is refused).
    """

    def __init__(self, crawler: Any, config: Config) -> None:
        if config.field is None:
            raise ValueError("SIMDUP_FIELD must name the item field holding the text to compare "
                             "(SimdupPipeline is enabled)")
        self.crawler = crawler
        self.config = config
        self.stats = crawler.stats
        path, setting = config.item_index_path, "SIMDUP_ITEM_INDEX_PATH"
        if path is None:
            path, setting = config.index_path, "SIMDUP_INDEX_PATH"
        self.store = _Store(config, path, setting, self.stats)

    @classmethod
    def from_crawler(cls, crawler: Any) -> SimdupPipeline:
        return cls(crawler, read_settings(crawler.settings))

    @property
    def deduper(self) -> Deduper:
        return self.store.dedup

    def process_item(self, item: Any, spider: Any = None) -> Any:
        adapter = ItemAdapter(item)
        field = self.config.field
        assert field is not None
        text = adapter.get(field)
        if isinstance(text, (list, tuple)) and all(isinstance(t, str) for t in text):
            text = "\n".join(text)  # paragraphs from .getall()
        if text is None:
            self.stats.inc_value("simdup/items_without_text")
            return item
        if not isinstance(text, (str, bytes)):
            raise TypeError(f"item field {field!r} (SIMDUP_FIELD) holds {type(text).__name__}, not text")
        doc_id = adapter.get(self.config.id_field)
        if not isinstance(doc_id, str) or not doc_id:
            body = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else text
            doc_id = f"text:{xxh64(body):016x}"
        found = self.store.match("items", doc_id, text, None)
        if found is None:
            return item
        match, distance = found
        if self.config.action == "drop":
            self.stats.inc_value("simdup/duplicate_items_dropped")
            logger.debug("Dropped near-duplicate item %s: %s at %d bits", doc_id, match, distance,
                         extra={"spider": spider or getattr(self.crawler, "spider", None)})
            raise DropItem(f"near-duplicate of {match} ({distance} bits)")
        try:
            adapter["simdup_duplicate_of"] = match
            adapter["simdup_distance"] = distance
        except KeyError:
            raise TypeError(f"{type(item).__name__} has no fields simdup_duplicate_of and simdup_distance: "
                            "declare them to mark items (SIMDUP_ACTION='mark')") from None
        self.stats.inc_value("simdup/duplicate_items_marked")
        return item

    def close_spider(self, spider: Any = None) -> None:
        self.store.close()


class SimdupAddon:
    """A Scrapy add-on: ``ADDONS = {"simdup.scrapy.SimdupAddon": 0}`` enables the middleware,
    and the pipeline when ``SIMDUP_FIELD`` is set."""

    def update_settings(self, settings: Any) -> None:
        settings.set_in_component_priority_dict(
            "DOWNLOADER_MIDDLEWARES", SimdupDownloaderMiddleware, MIDDLEWARE_PRIORITY)
        if not _blank(settings.get("SIMDUP_FIELD")):
            settings.set_in_component_priority_dict("ITEM_PIPELINES", SimdupPipeline, 300)
