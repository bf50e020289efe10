"""Deduper: documents in, near-duplicate decisions out (with a stand-in hasher)."""

from __future__ import annotations

import re
import threading
import time

import numpy as np
import pytest

from simdup._core import simhash_weighted, token_hashes
from simdup.deduper import Deduper
from simdup.index import SimHashIndex


class WordSimHash:
    """Stand-in for simdup.SimHasher: count-weighted SimHash of XXH64 word hashes."""

    def fingerprint(self, doc):
        if isinstance(doc, str):
            doc = doc.encode()
        hashes, counts = token_hashes(re.sub(rb"\s+", b" ", doc.lower()))
        return simhash_weighted(hashes, counts.astype(np.int64))


BASE = " ".join(f"word{i}" for i in range(300))
NEAR = BASE.replace("word17 ", "")        # one word of 300 removed
OTHER = " ".join(f"term{i}" for i in range(300))


@pytest.fixture
def dedup():
    return Deduper(WordSimHash(), k=3, expected_n=1000)


def test_near_duplicates_are_caught(dedup):
    h = WordSimHash()
    assert bin(h.fingerprint(BASE) ^ h.fingerprint(NEAR)).count("1") <= 3  # test premise
    assert dedup.is_duplicate("https://a.example/1", BASE) is False
    assert dedup.is_duplicate("https://b.example/copy", NEAR) is True
    assert dedup.is_duplicate("https://c.example/other", OTHER) is False
    assert len(dedup) == 2 and "https://b.example/copy" not in dedup
    (doc_id, dist), = dedup.duplicates(NEAR)
    assert doc_id == "https://a.example/1" and dist <= 3
    added, hits = dedup.add_if_new("https://b.example/copy", NEAR)
    assert not added and hits[0][0] == "https://a.example/1"


def test_ids_int_and_str(dedup):
    dedup.add(42, BASE)
    dedup.add("u", BASE)  # add stores even a duplicate
    assert 42 in dedup and "u" in dedup and "v" not in dedup
    assert {i for i, _ in dedup.duplicates(BASE)} == {42, "u"}
    with pytest.raises(ValueError, match="already"):
        dedup.add("u", OTHER)
    with pytest.raises(ValueError, match="already"):
        dedup.is_duplicate(42, OTHER)
    dedup.remove("u")
    assert "u" not in dedup and dedup.duplicates(BASE) == [(42, 0)]
    with pytest.raises(KeyError):
        dedup.remove("u")
    with pytest.raises(TypeError):
        dedup.add(1.5, BASE)
    with pytest.raises(ValueError):
        dedup.add(-1, BASE)


def test_bad_hashers():
    with pytest.raises(TypeError):
        Deduper(object())

    class Bad:
        def __init__(self, v):
            self.v = v

        def fingerprint(self, doc):
            return self.v

    with pytest.raises(TypeError):
        Deduper(Bad("x")).is_duplicate(1, "doc")
    with pytest.raises(ValueError):
        Deduper(Bad(2**64)).is_duplicate(1, "doc")
    with pytest.raises(TypeError):
        Deduper(WordSimHash(), index="not an index")


def test_shares_an_existing_index():
    index = SimHashIndex(3, expected_n=100)
    dedup = Deduper(WordSimHash(), index)
    dedup.add(7, BASE)
    assert index.query(WordSimHash().fingerprint(NEAR))[0][0] == 7


class FakeHasher:
    """Documents named "c/t" map to centre c with bit t flipped: variants within 2 bits."""

    def __init__(self, centres):
        self.centres = centres

    def fingerprint(self, doc):
        c, t = map(int, doc.split("/"))
        return self.centres[c] ^ (1 << t)


def test_racing_crawler_threads_keep_one_copy():
    centres = [int(x) for x in np.random.default_rng(0).integers(0, 2**64, 50, dtype=np.uint64)]
    dedup = Deduper(FakeHasher(centres), k=3, expected_n=1000)
    results: list[bool] = []

    def crawl(t):
        for c in range(len(centres)):
            results.append(dedup.is_duplicate(f"https://t{t}.example/{c}", f"{c}/{t}"))

    threads = [threading.Thread(target=crawl, args=(t,)) for t in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(dedup) == 50 and results.count(False) == 50


# ---------------------------------------------------------------- issue 13, item 11
# A stored page's string id must survive racing calls with the same id. The
# index below is slow on purpose (as a loaded index may be): it widens the
# windows in which the Deduper's bookkeeping and the index update could
# interleave; with them one atomic step, the delays only slow the test down.

class SlowIndex(SimHashIndex):
    before_add = 0.0
    after_remove = 0.0

    def add_if_new(self, fingerprint, id):
        time.sleep(self.before_add)
        return super().add_if_new(fingerprint, id)

    def remove(self, id):
        super().remove(id)
        time.sleep(self.after_remove)


class TableHasher:
    def __init__(self, table):
        self.table = table

    def fingerprint(self, doc):
        return self.table[doc]


def _race(*calls):
    barrier = threading.Barrier(len(calls))
    errors = []

    def run(call):
        barrier.wait()
        try:
            call()
        except ValueError as e:  # "already in the index": a legal outcome of a race
            errors.append(e)

    threads = [threading.Thread(target=run, args=(c,)) for c in calls]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return errors


def _all_named(dedup, docs):
    return all(isinstance(i, str) for doc in docs for i, _ in dedup.duplicates(doc))


def test_same_url_from_two_threads_keeps_its_name():
    rng = np.random.default_rng(5)
    base = int(rng.integers(0, 2**64, dtype=np.uint64))
    fresh = {f"fresh{r}": int(x) for r, x in enumerate(rng.integers(0, 2**64, 40, dtype=np.uint64))}
    index = SlowIndex(3, expected_n=1000)
    index.before_add = 0.002
    dedup = Deduper(TableHasher({"base": base, "copy": base ^ 1, **fresh}), index)
    dedup.add("https://a.example/base", "base")
    for r in range(40):
        url = f"https://a.example/{r}"
        # one thread offers a copy of base (refused), the other a new page (stored)
        _race(lambda url=url: dedup.is_duplicate(url, "copy"),
              lambda url=url, r=r: dedup.is_duplicate(url, f"fresh{r}"))
        assert url in dedup
        assert dedup.duplicates(f"fresh{r}") == [(url, 0)], f"round {r}"
    assert _all_named(dedup, ["base", *fresh])


def test_remove_racing_is_duplicate_keeps_the_name():
    rng = np.random.default_rng(6)
    docs = {f"d{r}": int(x) for r, x in enumerate(rng.integers(0, 2**64, 80, dtype=np.uint64))}
    index = SlowIndex(3, expected_n=1000)
    index.before_add, index.after_remove = 0.003, 0.001
    dedup = Deduper(TableHasher(docs), index)
    for r in range(40):
        url = f"https://b.example/{r}"
        dedup.add(url, f"d{2 * r}")
        _race(lambda url=url: dedup.remove(url),
              lambda url=url, r=r: dedup.is_duplicate(url, f"d{2 * r + 1}"))
        hits = dedup.duplicates(f"d{2 * r + 1}")
        assert hits in ([], [(url, 0)]), f"round {r}: {hits}"
        assert (url in dedup) == bool(hits)
    assert _all_named(dedup, docs)
