"""The window of SimHashIndex and Deduper: limits, eviction order, persistence, bad input, threads.

The random sequences against a model are in test_index_window_stateful.py;
these are the cases worth naming.
"""

from __future__ import annotations

import json
import math
import struct
import subprocess
import sys
import threading

import numpy as np
import pytest

import simdup
from simdup import Deduper, SimHasher, SimHashIndex
from simdup._core import HammingIndex
from simdup.index import _file as _index_file
from simdup.index._names import names_path


class Clock:
    def __init__(self, t: float = 100.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def _spread(i: int) -> int:
    """Fingerprints far apart (over 3 bits): each query finds its own item only."""
    return int(simdup._core.xxh64(i.to_bytes(8, "little")))


# ------------------------------------------------------------------ limits and order

def test_size_window_keeps_the_last_n_and_evicts_oldest_first():
    ix = SimHashIndex(3, expected_n=100, window_size=3)
    evicted: list[int] = []
    ix.add_eviction_callback(lambda ids: evicted.extend(ids.tolist()))
    for i in range(10):
        ix.add(_spread(i), i)
        assert len(ix) == min(i + 1, 3)
    assert evicted == list(range(7))
    assert [i for i in range(10) if i in ix] == [7, 8, 9]
    for i in range(10):  # an evicted fingerprint is never an answer
        assert ix.query(_spread(i)) == ([(i, 0)] if i >= 7 else [])
    offsets, ids, _ = ix.query_many(np.array([_spread(i) for i in range(10)], np.uint64))
    assert ids.tolist() == [7, 8, 9] and offsets.tolist() == [0] * 8 + [1, 2, 3]


def test_time_window_boundary_and_queries_never_see_old_items():
    clock = Clock(100.0)
    ix = SimHashIndex(3, expected_n=100, window_seconds=10, clock=clock)
    ix.add(_spread(1), 1)
    clock.t = 105.0
    ix.add(_spread(2), 2)
    clock.t = 109.999
    assert ix.query(_spread(1)) == [(1, 0)]
    clock.t = 110.0  # added at 100: its 10 seconds are up at 110 exactly
    assert ix.query(_spread(1)) == [] and ix.query(_spread(2)) == [(2, 0)]
    assert 1 not in ix and len(ix) == 1
    clock.t = 1000.0
    assert ix.query_many(np.array([_spread(2)], np.uint64))[1].size == 0
    assert len(ix) == 0 and HammingIndex.__len__(ix) == 0


def test_time_window_evicts_before_an_add_so_an_old_id_is_free_again():
    clock = Clock()
    ix = SimHashIndex(3, expected_n=100, window_seconds=5, clock=clock)
    ix.add(_spread(1), 1)
    with pytest.raises(ValueError, match="already"):
        ix.add(_spread(1), 1)
    clock.t += 5
    ix.add(_spread(1), 1)  # the old one was evicted first
    assert ix.add_if_new(_spread(1), 2) == (False, [(1, 0)])
    clock.t += 5
    assert ix.add_if_new(_spread(1), 2) == (True, [])  # item 1 is gone: no match


def test_both_limits():
    clock = Clock()
    ix = SimHashIndex(3, expected_n=100, window_size=4, window_seconds=10, clock=clock)
    for i in range(6):
        ix.add(_spread(i), i)
        clock.t += 3
    assert [i for i in range(6) if i in ix] == [3, 4, 5]  # size left 2..5; time then took 2 (added at 106)


def test_add_many_beyond_the_window_keeps_its_last_items_and_stays_all_or_nothing():
    ix = SimHashIndex(3, expected_n=100, window_size=5)
    ix.add_many(np.array([_spread(i) for i in range(12)], np.uint64), np.arange(12, dtype=np.uint64))
    assert [i for i in range(12) if i in ix] == list(range(7, 12))
    with pytest.raises(ValueError, match="appears twice"):
        ix.add_many(np.array([1, 2], np.uint64), np.array([50, 50], np.uint64))
    with pytest.raises(ValueError, match="already"):
        ix.add_many(np.array([1, 2], np.uint64), np.array([60, 11], np.uint64))
    assert [i for i in range(100) if i in ix] == list(range(7, 12))
    # token-less documents are not stored, so they take no place in the window
    ix.add_many(np.array([1, 2], np.uint64), np.array([70, 71], np.uint64), n_tokens=np.array([0, 4]))
    assert 70 not in ix and 71 in ix and len(ix) == 5


def test_an_id_removed_and_added_again_takes_its_new_place():
    ix = SimHashIndex(3, expected_n=100, window_size=3)
    for i in (1, 2, 3):
        ix.add(_spread(i), i)
    ix.remove(1)
    ix.add(_spread(1) ^ 1, 1)  # back, newest; its first entry is still queued, dead
    ix.add(_spread(4), 4)
    assert [i for i in (1, 2, 3, 4) if i in ix] == [1, 3, 4]  # 2 went, not the new 1
    ix.add(_spread(5), 5)
    assert [i for i in range(7) if i in ix] == [1, 4, 5]  # the new 1 is older than 4 and 5
    ix.add(_spread(6), 6)
    assert [i for i in range(7) if i in ix] == [4, 5, 6]
    with pytest.raises(KeyError):
        ix.remove(2)


def test_the_latest_time_survives_a_save_even_when_its_item_is_gone(tmp_path):
    clock = Clock(100.0)
    ix = SimHashIndex(3, expected_n=100, window_seconds=10, clock=clock)
    ix.add(_spread(1), 1)
    clock.t = 105.0
    ix.add(_spread(2), 2)
    ix.remove(2)
    clock.t = 101.0  # the clock stepped back below the removed item's time
    ix.save(tmp_path / "w")
    back = SimHashIndex.load(tmp_path / "w", clock=clock)
    back.add(_spread(3), 3)
    assert back._window.export()[1].tolist() == [100.0, 105.0]  # not 101: times never go back


def test_clock_going_back_does_not_reorder():
    clock = Clock(100.0)
    ix = SimHashIndex(3, expected_n=100, window_seconds=10, clock=clock)
    ix.add(_spread(1), 1)
    clock.t = 50.0  # the wall clock stepped back
    ix.add(_spread(2), 2)  # stored as added at 100, not 50
    _, times = ix._window.export()
    assert times.tolist() == [100.0, 100.0]
    clock.t = 110.0
    assert len(ix) == 0


def test_set_window_on_a_filled_index_and_removing_it():
    ix = SimHashIndex(3, expected_n=100)
    ix.add_many(np.array([_spread(i) for i in range(10)], np.uint64), np.arange(10, dtype=np.uint64))
    evicted = ix.set_window(4)
    assert len(evicted) == 6 and len(ix) == 4 and ix.window_size == 4
    kept = {i for i in range(10) if i in ix}
    assert kept.isdisjoint(evicted.tolist()) and len(kept) == 4
    for i in range(10, 14):
        ix.add(_spread(i), i)
    assert {i for i in range(14) if i in ix} == set(range(10, 14))  # the older items first, whatever their order
    assert ix.set_window(None, None).size == 0 and ix.window_size is None
    for i in range(14, 20):
        ix.add(_spread(i), i)
    assert len(ix) == 10  # no limit any more


def test_a_time_window_routes_query_through_the_clock_only_when_set():
    ix = SimHashIndex(3, expected_n=10)
    assert "query" not in ix.__dict__  # the compiled query, no Python layer in between
    ix.set_window(seconds=5)
    assert "query" in ix.__dict__
    ix.set_window(size=5)
    assert "query" not in ix.__dict__


# --------------------------------------------------------------- memory stays bounded

def test_a_long_run_keeps_memory_bounded():
    ix = SimHashIndex(3, expected_n=1000, window_size=1000)
    rng = np.random.default_rng(0)
    sizes = []
    for start in range(0, 60_000, 500):
        ix.add_many(rng.integers(0, 2**64, 500, dtype=np.uint64),
                    np.arange(start, start + 500, dtype=np.uint64))
        stats = ix._stats()
        sizes.append(sum(stats["segments"]) + stats["buffered"])
    for i in range(200):  # and online adds
        ix.add(int(rng.integers(0, 2**63)), 100_000 + i)
    assert len(ix) == 1000
    # Tombstones are compacted: the core never holds more than about twice the window.
    assert max(sizes) <= 2 * 1000 + 1024
    assert ix._window.nbytes <= 16 * 4 * 1000
    assert ix.nbytes < 300_000


# ------------------------------------------------------------------- persistence

@pytest.mark.parametrize("mmap", [False, True])
def test_save_and_load_keep_the_window(tmp_path, mmap):
    clock = Clock(100.0)
    ix = SimHashIndex(3, expected_n=100, window_size=5, window_seconds=60, clock=clock)
    for i in range(8):
        ix.add(_spread(i), i)
        clock.t += 10
    ix.remove(5)
    ix.save(tmp_path / "w.idx")
    clock2 = Clock(clock.t)
    back = SimHashIndex.load(tmp_path / "w.idx", mmap=mmap, clock=clock2)
    assert (back.window_size, back.window_seconds, back.clock) == (5, 60.0, clock2)
    ids, times = back._window.export()
    assert ids.tolist() == [3, 4, 6, 7] and times.tolist() == [130.0, 140.0, 160.0, 170.0]
    clock2.t = 200.0  # 3 was added at 130 and 4 at 140: their 60 s are up at 190 and 200
    assert [i for i in range(8) if i in back] == [6, 7]
    for i in range(8, 12):
        back.add(_spread(i), i)
    assert [i for i in range(12) if i in back] == [7, 8, 9, 10, 11]


def test_an_unwindowed_save_has_no_window_and_the_version_is_2(tmp_path):
    SimHashIndex(3).save(tmp_path / "p")
    raw = (tmp_path / "p").read_bytes()
    _, version, hlen, _ = struct.unpack("<8sIIQ", raw[:24])
    header = json.loads(raw[24:24 + hlen])
    assert version == _index_file.FORMAT_VERSION == 2 and "window" not in header
    assert SimHashIndex.load(tmp_path / "p").window_size is None


def _with_version(path, version):
    data = bytearray(path.read_bytes())
    data[8:12] = struct.pack("<I", version)
    path.write_bytes(bytes(data))


def test_a_version_1_file_still_loads_and_may_get_a_window(tmp_path):
    ix = SimHashIndex(3, expected_n=100)
    ix.add_many(np.array([_spread(i) for i in range(10)], np.uint64), np.arange(10, dtype=np.uint64))
    ix.save(tmp_path / "old.idx")
    _with_version(tmp_path / "old.idx", 1)  # the header checksum covers the header only
    back = SimHashIndex.load(tmp_path / "old.idx", verify=True)
    assert len(back) == 10 and back.query(_spread(3)) == [(3, 0)] and back.window_size is None
    back.set_window(8)
    assert len(back) == 8
    back.save(tmp_path / "new.idx")
    assert SimHashIndex.load(tmp_path / "new.idx").window_size == 8


def test_a_version_1_file_with_a_window_is_damage(tmp_path):
    SimHashIndex(3, window_size=3).save(tmp_path / "w")
    _with_version(tmp_path / "w", 1)
    with pytest.raises(ValueError, match="a window in a version 1 file"):
        SimHashIndex.load(tmp_path / "w")


def _rewrite_window(path, window):
    raw = path.read_bytes()
    hlen = int.from_bytes(raw[12:16], "little")
    header = json.loads(raw[24:24 + hlen])
    header["window"] = window
    new = json.dumps(header).encode()
    prelude = _index_file._PRELUDE.pack(_index_file.MAGIC, 2, len(new), simdup._core.xxh64(new))
    body = raw[_index_file._align(24 + hlen):]
    path.write_bytes(prelude + new + b"\0" * (_index_file._align(24 + len(new)) - 24 - len(new)) + body)


@pytest.mark.parametrize("window", [
    {"size": 0, "seconds": None, "last": None}, {"size": True, "seconds": None, "last": None},
    {"size": 2.5, "seconds": None, "last": None}, {"size": None, "seconds": None, "last": None},
    {"size": None, "seconds": -1, "last": None}, {"size": None, "seconds": "5", "last": None},
    {"size": 3, "seconds": None}, {"size": 3, "seconds": None, "last": None, "extra": 1},
    {"size": 3, "seconds": None, "last": "now"}, {"size": 3, "seconds": None, "last": True},
    [3, None], None, "window"])
def test_a_damaged_window_header_is_a_clear_error(tmp_path, window):
    ix = SimHashIndex(3, window_size=3)
    ix.add(1, 1)
    ix.save(tmp_path / "w")
    _rewrite_window(tmp_path / "w", window)
    with pytest.raises(ValueError, match="corrupted or truncated index file"):
        SimHashIndex.load(tmp_path / "w")


def test_damaged_window_arrays_are_caught(tmp_path):
    clock = Clock()
    ix = SimHashIndex(3, window_size=10, window_seconds=100, clock=clock)
    for i in range(4):
        ix.add(_spread(i), i)
        clock.t += 1
    ix.save(tmp_path / "w")
    header, parts = _index_file.read(tmp_path / "w", mmap=False, verify=True)
    meta = {k: v for k, v in header.items() if k not in ("sections", "data_bytes")}
    # times out of order
    bad = dict(parts, win_times=parts["win_times"][::-1].copy())
    _index_file.write(tmp_path / "t", bad, meta)
    with pytest.raises(ValueError, match="window times are not sorted"):
        SimHashIndex.load(tmp_path / "t")
    # another id than the index holds (checksums valid: a writer's bug, not a flipped bit)
    ids = parts["win_ids"].copy()
    ids[0] = 999
    _index_file.write(tmp_path / "i", dict(parts, win_ids=ids), meta)
    with pytest.raises(ValueError, match="the window lists other ids"):
        SimHashIndex.load(tmp_path / "i")


# ------------------------------------------------------------------- bad arguments

@pytest.mark.parametrize("kwargs, error, match", [
    ({"window_size": 0}, ValueError, "window_size must be >= 1"),
    ({"window_size": -5}, ValueError, "window_size"),
    ({"window_size": True}, TypeError, "window_size must be an int"),
    ({"window_size": 2.0}, TypeError, "window_size must be an int"),
    ({"window_seconds": 0}, ValueError, "window_seconds must be a finite number > 0"),
    ({"window_seconds": -1.0}, ValueError, "window_seconds"),
    ({"window_seconds": math.nan}, ValueError, "window_seconds"),
    ({"window_seconds": math.inf}, ValueError, "window_seconds"),
    ({"window_seconds": "60"}, TypeError, "window_seconds must be a number"),
    ({"window_seconds": True}, TypeError, "window_seconds"),
    ({"window_seconds": 5, "clock": 12}, TypeError, "clock must be a callable"),
])
def test_bad_window_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        SimHashIndex(3, **kwargs)
    with pytest.raises(error, match=match):
        Deduper(SimHasher.default(), **kwargs)
    ix = SimHashIndex(3)
    if "clock" not in kwargs:
        with pytest.raises(error, match=match):
            ix.set_window(kwargs.get("window_size"), kwargs.get("window_seconds"))


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_a_clock_returning_no_time_is_refused(value):
    ix = SimHashIndex(3, window_seconds=5, clock=lambda: value)
    with pytest.raises(ValueError, match="clock returned"):
        ix.add(1, 1)
    assert HammingIndex.__len__(ix) == 0


def test_eviction_callbacks_register_and_unregister():
    ix = SimHashIndex(3, window_size=1)
    got: list[list[int]] = []

    def cb(ids):
        got.append(ids.tolist())

    with pytest.raises(TypeError, match="callable"):
        ix.add_eviction_callback(3)  # type: ignore[arg-type]
    ix.add_eviction_callback(cb)
    ix.add(1, 1)
    ix.add(2, 2)
    ix.remove_eviction_callback(cb)
    ix.add(3, 3)
    assert got == [[1]]
    with pytest.raises(ValueError):
        ix.remove_eviction_callback(cb)


# ------------------------------------------------------------------------ threads

def test_concurrent_queries_never_see_an_item_evicted_before_they_started():
    n = 50
    ix = SimHashIndex(3, expected_n=1000, window_size=n)
    done = threading.Event()
    published = [-1]  # the last id whose add returned
    errors: list[str] = []

    def writer():
        for i in range(5000):
            ix.add(0, i)  # every item has fingerprint 0: query(0) lists the window
            published[0] = i
        done.set()

    def reader():
        while not done.is_set():
            start = published[0]
            ids = [i for i, _ in ix.query(0)]
            # A query sees the index between single writes: after add(i)
            # returned, everything up to i - n is gone; mid-add it may see
            # the new item before its eviction (n + 1 items).
            if ids and (min(ids) <= start - n or len(ids) > n + 1):
                errors.append(f"start {start}: {len(ids)} ids from {min(ids)}")

    threads = [threading.Thread(target=writer)] + [threading.Thread(target=reader) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors[:3]
    assert sorted(i for i, _ in ix.query(0)) == list(range(5000 - n, 5000))


def test_deduper_threads_with_a_window_keep_names_and_items_equal():
    dedup = Deduper(_Spread(), k=3, window_size=40)

    def worker(base):
        for i in range(300):
            dedup.is_duplicate(f"u{base + i}", str(base + i))

    threads = [threading.Thread(target=worker, args=(b,)) for b in (0, 1000, 2000)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(dedup) == 40 and len(dedup._names) == 40
    assert all(key in dedup.index for key in dedup._names)


# ------------------------------------------------------------------------- Deduper

class _Spread:
    """A fingerprinter that maps the text of an int to a far-apart fingerprint."""

    def fingerprint(self, doc):
        return _spread(int(doc))


def test_deduper_window_forgets_the_names_of_evicted_pages():
    dedup = Deduper(_Spread(), k=3, window_size=2)
    for i in range(5):
        assert dedup.add_if_new(f"https://x/{i}", str(i)) == (True, [])
    assert len(dedup._names) == 2 and set(dedup._names.values()) == {"https://x/3", "https://x/4"}
    assert dedup.duplicates("4") == [("https://x/4", 0)] and dedup.duplicates("1") == []
    assert "https://x/1" not in dedup
    with pytest.raises(KeyError):
        dedup.remove("https://x/1")


def test_deduper_time_window_through_the_index():
    clock = Clock()
    dedup = Deduper(_Spread(), k=3, window_seconds=30, clock=clock)
    dedup.add("a", "1")
    clock.t += 30
    assert dedup.is_duplicate("b", "1") is False and len(dedup._names) == 1  # "a" expired
    assert dedup.duplicates("1") == [("b", 0)]


def test_deduper_window_goes_with_the_index():
    with pytest.raises(ValueError, match="give them to the SimHashIndex"):
        Deduper(_Spread(), SimHashIndex(3), window_size=5)
    dedup = Deduper(_Spread(), SimHashIndex(3, window_size=1))
    dedup.add("a", "1")
    dedup.add("b", "2")
    assert dedup._names == {simdup._core.xxh64(b"b"): "b"}


def test_replace_compares_with_the_earlier_version_and_replaces_it_when_changed():
    dedup = Deduper(_Spread(), k=3)
    assert dedup.add_if_new("p", "1") == (True, [])
    with pytest.raises(ValueError, match="already"):
        dedup.add_if_new("p", "1")
    assert dedup.add_if_new("p", "1", replace=True) == (False, [("p", 0)])  # unchanged: seen
    assert dedup.add_if_new("q", "2") == (True, [])
    assert dedup.add_if_new("p", "2", replace=True) == (False, [("q", 0)])  # now a copy of q: p stays "1"
    assert dedup.duplicates("1") == [("p", 0)]
    assert dedup.add_if_new("p", "3", replace=True) == (True, [])  # changed: replaced
    assert dedup.duplicates("1") == [] and dedup.duplicates("3") == [("p", 0)] and len(dedup) == 2
    assert dedup.add_if_new("new", "4", replace=True) == (True, [])  # replace of an unknown id: a plain add


def test_content_type_reaches_the_hasher():
    hasher = SimHasher.default()
    page = "<html><head><title>Caf\u00e9</title></head><body><p>" + "Caf\u00e9 cr\u00e8me br\u00fbl\u00e9e " * 20 + \
        "</p></body></html>"
    body = page.encode("cp1252")
    dedup = Deduper(hasher)
    assert dedup.fingerprint(body, "text/html; charset=windows-1252") == hasher.fingerprint(page)
    assert dedup.add_if_new("a", body, "text/html; charset=windows-1252") == (True, [])
    assert dedup.duplicates(page) == [("a", 0)]

    class Plain:
        def fingerprint(self, doc):
            return 5

    with pytest.raises(TypeError):
        Deduper(Plain()).fingerprint("x", "text/html")  # a fingerprinter without the argument says so


def test_deduper_save_and_load(tmp_path):
    clock = Clock()
    dedup = Deduper(_Spread(), k=3, window_size=3, window_seconds=100, clock=clock)
    for i in range(5):
        dedup.add(f"https://x/{i}", str(i))
        clock.t += 1
    dedup.add(7, "7")  # an int id has no name
    dedup.save(tmp_path / "crawl.idx", model=tmp_path / "model.npz")
    meta = json.loads(names_path(tmp_path / "crawl.idx").read_text())
    assert meta["model"] == str(tmp_path / "model.npz") and meta["unnamed"] == 1
    assert sorted(meta["names"].values()) == ["https://x/3", "https://x/4"]
    back = Deduper.load(tmp_path / "crawl.idx", _Spread(), clock=clock)
    assert back.duplicates("4") == [("https://x/4", 0)] and back.duplicates("7") == [(7, 0)]
    assert back.index.window_size == 3 and len(back) == 3
    back.add("https://x/9", "9")
    assert back.duplicates("3") == [] and len(back._names) == 2  # the window goes on where it was
    clock.t += 200
    assert len(back) == 0 and back._names == {}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["crawl.idx", "crawl.idx.names.json"]  # no temp file left


def test_deduper_load_keeps_what_both_files_agree_on(tmp_path):
    """A save stopped between its two renames: new names beside the old index."""
    path = tmp_path / "crawl.idx"
    dedup = Deduper(_Spread(), k=3, window_size=3)
    for i in range(3):
        dedup.add(f"u{i}", str(i))
    dedup.save(path)
    old_index = path.read_bytes()
    for i in range(3, 5):  # u0, u1 evicted; u3, u4 added
        dedup.add(f"u{i}", str(i))
    dedup.save(path)
    path.write_bytes(old_index)  # as if the process died before the index's rename
    back = Deduper.load(path, _Spread())
    assert set(back._names.values()) == {"u2"} and len(back) == 1  # u0, u1 gone (unnamed); u3, u4 lost
    assert back.duplicates("0") == [] and back.duplicates("2") == [("u2", 0)]


def test_deduper_load_errors(tmp_path):
    path = tmp_path / "crawl.idx"
    Deduper(_Spread()).save(path)
    names_path(path).unlink()
    with pytest.raises(FileNotFoundError, match="names.json"):
        Deduper.load(path, _Spread())
    names_path(path).write_text("{not json")
    with pytest.raises(ValueError, match="not valid JSON"):
        Deduper.load(path, _Spread())
    names_path(path).write_text(json.dumps({"model": None, "names": {"zz": "a"}}))
    with pytest.raises(ValueError, match="16-digit hex id"):
        Deduper.load(path, _Spread())
    names_path(path).write_text(json.dumps({"model": None, "names": {"0000000000000001": "a"}}))
    with pytest.raises(ValueError, match="do not hash to their ids"):
        Deduper.load(path, _Spread())
    with pytest.raises(FileNotFoundError):
        Deduper.load(tmp_path / "absent.idx", _Spread())


def test_the_cli_reads_an_index_a_deduper_saved(tmp_path):
    """Same files as `simdup index build`: `simdup index query` names the matches."""
    pages = {"https://a.example/1": "Crude oil prices rose three percent on Tuesday as traders fretted about supply",
             "https://a.example/2": "The central bank kept interest rates unchanged and hinted at cuts next year"}
    dedup = Deduper(SimHasher.default(), k=3, window_size=10)
    for url, text in pages.items():
        dedup.add(url, text)
    dedup.save(tmp_path / "crawl.idx")
    corpus = tmp_path / "q.jsonl"
    corpus.write_text(json.dumps({"id": "query-1", "text": pages["https://a.example/2"]}) + "\n")
    run = subprocess.run([sys.executable, "-m", "simdup.cli", "index", "query", str(tmp_path / "crawl.idx"),
                          str(corpus)], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert run.stdout.split("\t")[:2] == ["query-1", "https://a.example/2"]
