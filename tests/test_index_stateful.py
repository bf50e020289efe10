"""Random sequences of every online operation, checked against the oracle after each step.

Ids are random uint64s (not only small counters), and the sequences include
save / load round trips (mapped and read into memory, checksums verified or
not, saving over the very file the index is mapped from), batch adds and
queries with token counts, and membership tests of stored, removed and
never-stored ids, all checked against a brute-force dict (reference_hamming).
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
not_ids = st.sampled_from([-1, 2**64, 2**70, 1.5, "7", None])  # never an id: `in` is False, remove a KeyError


class IndexMachine(RuleBasedStateMachine):
    @initialize(design=st.integers(0, 2), population=st.integers(0, 300) | st.just(0), seed=st.integers(0, 2**32 - 1))
    def start(self, design, population, seed):
        tables = [None, [[(48, 16)], [(32, 16)], [(16, 16)], [(0, 16)]], [[]]][design]
        self.index = SimHashIndex(K, expected_n=100_000, design=tables)
        self.oracle = BruteForceIndex(K)
        # A first population (random ids, fingerprints around the centres), so saves and loads
        # also see indexes of a few hundred items in segments.
        rng = np.random.default_rng(seed)
        first_ids = np.unique(rng.integers(0, 2**64, population, dtype=np.uint64))
        first_fps = [CENTRES[int(rng.integers(len(CENTRES)))] ^ sum(1 << int(b) for b in
                     rng.choice(64, int(rng.integers(0, K + 3)), replace=False)) for _ in first_ids]
        self.index.add_many(np.array(first_fps, dtype=np.uint64), first_ids)
        self.index._flush()
        for fp, i in zip(first_fps, first_ids.tolist()):
            self.oracle.add(fp, i)
        self.dir = Path(tempfile.mkdtemp(prefix="simdup-stateful-"))
        self.saves = 0
        self.path: Path | None = None  # the file the index was last loaded from
        self.removed: set[int] = set()  # ids removed once (they may come back)

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
        if i in self.oracle.items:  # even when a near-duplicate exists
            with pytest.raises(ValueError, match="already"):
                self.index.add_if_new(fp, i)
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
            self.removed.add(i)

    @rule(i=ids | not_ids)
    def remove_absent(self, i):
        if i not in self.oracle.items:
            with pytest.raises(KeyError):
                self.index.remove(i)

    @rule(items=st.dictionaries(ids, st.tuples(fingerprints, st.integers(0, 3)), max_size=30))
    def add_many_with_token_counts(self, items):
        """Items with 0 tokens are left out (token-less documents are never near-duplicates)."""
        batch_ids = np.array(list(items), dtype=np.uint64)
        fps = np.array([fp for fp, _ in items.values()], dtype=np.uint64)
        tokens = np.array([t for _, t in items.values()], dtype=np.int64)
        if any(i in self.oracle.items for i, (_, t) in items.items() if t > 0):
            with pytest.raises(ValueError, match="already"):
                self.index.add_many(fps, batch_ids, n_tokens=tokens)
            return
        self.index.add_many(fps, batch_ids, n_tokens=tokens)
        for i, (fp, t) in items.items():
            if t > 0:
                self.oracle.add(fp, i)

    @rule(fps=st.lists(fingerprints, min_size=1, max_size=10), i=ids, data=st.data())
    def add_many_with_a_repeated_id(self, fps, i, data):
        at = data.draw(st.integers(0, len(fps)))
        batch = [(i * 7 + n) % 2**64 for n in range(len(fps))]  # distinct ...
        batch.insert(at, batch[0])  # ... but one, twice
        fps = fps[:1] + fps
        with pytest.raises(ValueError):
            self.index.add_many(np.array(fps, dtype=np.uint64), np.array(batch, dtype=np.uint64))
        # all or nothing: the invariants check that nothing was added

    @rule(i=ids | not_ids)
    def contains(self, i):
        assert (i in self.index) == (i in self.oracle.items)

    @rule()
    def flush(self):
        self.index._flush()

    @precondition(lambda self: self.saves < 4)  # saves cost file I/O: a few per sequence
    @rule(mmap=st.booleans(), verify=st.sampled_from([None, True, False]), over_source=st.booleans())
    def save_and_load(self, mmap, verify, over_source):
        """Save, then load: read into memory or mapped, checksums checked or not (None: ``not mmap``).

        ``over_source`` saves over the file the index was loaded from, which it may still map.
        """
        self.saves += 1
        path = self.path if over_source and self.path is not None else self.dir / f"ix{self.saves}"
        k, tables = self.index.k, self.index.plan.tables
        self.index.save(path)
        self.index = SimHashIndex.load(path, mmap=mmap, verify=verify)
        self.path = path
        assert self.index.k == k and self.index.plan.tables == tables

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

    @rule(queries=st.lists(st.tuples(fingerprints, st.integers(0, 2)), max_size=20))
    def query_many_with_token_counts(self, queries):
        """A query with 0 tokens matches nothing."""
        fps = np.array([fp for fp, _ in queries], dtype=np.uint64)
        tokens = np.array([t for _, t in queries], dtype=np.int64)
        offsets, got_ids, dist = self.index.query_many(fps, n_tokens=tokens)
        assert offsets.tolist()[0] == 0 and len(offsets) == len(queries) + 1
        for q, (fp, t) in enumerate(queries):
            lo, hi = offsets[q], offsets[q + 1]
            want = self.oracle.query(fp) if t > 0 else []
            assert list(zip(got_ids[lo:hi].tolist(), dist[lo:hi].tolist())) == want

    def teardown(self):
        if hasattr(self, "dir"):
            shutil.rmtree(self.dir, ignore_errors=True)

    @invariant()
    def same_as_the_oracle(self):
        if hasattr(self, "index"):
            assert len(self.index) == len(self.oracle)
            for c in CENTRES:
                assert self.index.query(c) == self.oracle.query(c)
            assert all(i in self.index for i in self.oracle.items)
            assert not any(i in self.index for i in self.removed - set(self.oracle.items))


IndexMachine.TestCase.settings = settings(max_examples=60, stateful_step_count=40,
                                          deadline=None)
test_index_state_machine = IndexMachine.TestCase


class IndexMachineLong(IndexMachine):
    """The same machine, longer sequences and many more of them (pytest --run-slow)."""


IndexMachineLong.TestCase.settings = settings(max_examples=200, stateful_step_count=80, deadline=None)
test_index_state_machine_long = pytest.mark.slow(IndexMachineLong.TestCase)
