"""Deduper: documents in, near-duplicate decisions out (with a stand-in hasher)."""

from __future__ import annotations

import re
import threading

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
