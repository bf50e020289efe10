"""Random sequences of every online operation, checked against the oracle after each step.

Ids are random uint64s (not only small counters), and the sequences include
save / load round trips (mapped and read into memory) and batch queries.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)
from reference_hamming import BruteForceIndex

from simdup.index import SimHashIndex

K = 3
# A few centres and their near neighbours: queries meet many items in many tables.
CENTRES = [0, 0xFFFF_0000_FFFF_0000, 0x0123_4567_89AB_CDEF, 0xFFFF_FFFF_FFFF_FFFF]
fingerprints = st.builds(lambda c, bits: CENTRES[c] ^ sum(1 << b for b in bits),
                         st.integers(0, len(CENTRES) - 1),
                         st.sets(st.integers(0, 63), max_size=K + 2))
ids = st.integers(0, 2**64 - 1) | st.integers(0, 50)  # random, and small ones that collide


class IndexMachine(RuleBasedStateMachine):
    @initialize(design=st.integers(0, 2))
    def start(self, design):
        tables = [None, [[(48, 16)], [(32, 16)], [(16, 16)], [(0, 16)]], [[]]][design]
        self.index = SimHashIndex(K, expected_n=100_000, design=tables)
        self.oracle = BruteForceIndex(K)
        self.dir = Path(tempfile.mkdtemp(prefix="simdup-stateful-"))
        self.saves = 0

    @rule(fp=fingerprints, i=ids)
    def add(self, fp, i):
        if i in self.oracle.items:
            with pytest.raises(ValueError, match="already"):
                self.index.add(fp, i)
            return
        self.index.add(fp, i)
        self.oracle.add(fp, i)

    @rule(items=st.dictionaries(ids, fingerprints, max_size=40))
    def add_many(self, items):
        batch_ids = np.array(list(items), dtype=np.uint64)
        fps = np.array(list(items.values()), dtype=np.uint64)
        if any(i in self.oracle.items for i in items):
            with pytest.raises(ValueError, match="already"):
                self.index.add_many(fps, batch_ids)
            return  # all or nothing: the invariants check nothing was added
        self.index.add_many(fps, batch_ids)
        for i, fp in items.items():
            self.oracle.add(fp, i)

    @rule(fp=fingerprints, i=ids)
    def add_if_new(self, fp, i):
        if i in self.oracle.items:
            return
        want = self.oracle.query(fp)
        added, hits = self.index.add_if_new(fp, i)
        assert (added, hits) == (not want, want)
        if added:
            self.oracle.add(fp, i)

    @rule(data=st.data())
    def remove(self, data):
        if self.oracle.items:
            i = data.draw(st.sampled_from(sorted(self.oracle.items)))
            self.index.remove(i)
            self.oracle.remove(i)

    @rule(i=ids)
    def remove_absent(self, i):
        if i not in self.oracle.items:
            with pytest.raises(KeyError):
                self.index.remove(i)

    @rule()
    def flush(self):
        self.index._flush()

    @precondition(lambda self: self.saves < 4)  # saves cost file I/O: a few per sequence
    @rule(mmap=st.booleans())
    def save_and_load(self, mmap):
        self.saves += 1
        path = self.dir / f"ix{self.saves}"
        self.index.save(path)
        self.index = SimHashIndex.load(path, mmap=mmap, verify=True)

    @rule(fp=fingerprints)
    def query(self, fp):
        assert self.index.query(fp) == self.oracle.query(fp)

    @rule(fps=st.lists(fingerprints, max_size=20))
    def query_many(self, fps):
        offsets, got_ids, dist = self.index.query_many(np.array(fps, dtype=np.uint64))
        assert len(offsets) == len(fps) + 1
        for q, fp in enumerate(fps):
            lo, hi = offsets[q], offsets[q + 1]
            assert list(zip(got_ids[lo:hi].tolist(), dist[lo:hi].tolist())) == self.oracle.query(fp)

    def teardown(self):
        if hasattr(self, "dir"):
            shutil.rmtree(self.dir, ignore_errors=True)

    @invariant()
    def same_size(self):
        if hasattr(self, "index"):
            assert len(self.index) == len(self.oracle)
            for c in CENTRES:
                assert self.index.query(c) == self.oracle.query(c)
            for i in list(self.oracle.items)[:5]:
                assert i in self.index


IndexMachine.TestCase.settings = settings(max_examples=60, stateful_step_count=40,
                                          deadline=None)
test_index_state_machine = IndexMachine.TestCase
