"""A windowed SimHashIndex against a brute-force model that evicts the same items, in the same order.

The model expires exactly when the index does (every rule that calls the
index; never a rule that does not), and the invariant reads the index
through the compiled base class, which never expires: so a method that
forgot to evict first is caught.

Random sequences of adds (single, batch, check-and-insert), removals (so a
removed id may come back while its old entry is still queued), clock steps
(forward, nothing, and backwards: stored times must not go back), limit
changes, explicit expiry, and save / load round trips. After every step the
index must hold exactly the model's items, answer queries as the oracle
does, and report each eviction (callback) exactly as the model makes it.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule
from reference_hamming import BruteForceIndex

from simdup._core import HammingIndex
from simdup.index import SimHashIndex

K = 3
CENTRES = [0, 0xFFFF_0000_FFFF_0000, 0x0123_4567_89AB_CDEF]
fingerprints = st.builds(lambda c, bits: CENTRES[c] ^ sum(1 << b for b in bits),
                         st.integers(0, len(CENTRES) - 1), st.sets(st.integers(0, 63), max_size=K + 2))
ids = st.integers(0, 30) | st.integers(0, 2**64 - 1)  # small ones come back after removal or eviction
sizes = st.sampled_from([None, 1, 2, 5, 12])
seconds = st.sampled_from([None, 1.0, 2.5, 6.0])


class Clock:
    """The machine's clock: rules move it (also backwards)."""

    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


class WindowModel:
    """The window's contract, obviously: a list of (id, time) in insertion order over the oracle."""

    def __init__(self, size, secs) -> None:
        self.size, self.seconds = size, secs
        self.oracle = BruteForceIndex(K)
        self.order: list[tuple[int, float]] = []  # live items only, oldest first
        self.last = float("-inf")
        self.evicted: list[int] = []

    def now(self, clock: float) -> float:
        return max(clock, self.last)

    def expire(self, clock: float) -> None:
        """Evict the items added at or before now - seconds, and the oldest beyond size."""
        cut = self.now(clock) - self.seconds if self.seconds is not None else float("-inf")
        while self.order and self.order[0][1] <= cut:
            self._evict_oldest()
        while self.size is not None and len(self.order) > self.size:
            self._evict_oldest()

    def _evict_oldest(self) -> None:
        i, _ = self.order.pop(0)
        self.oracle.remove(i)
        self.evicted.append(i)

    def add(self, fp: int, i: int, clock: float) -> None:
        t = self.now(clock)
        self.oracle.add(fp, i)
        self.order.append((i, t))
        self.last = t

    def remove(self, i: int) -> None:
        self.oracle.remove(i)
        self.order = [(j, t) for j, t in self.order if j != i]


class WindowMachine(RuleBasedStateMachine):
    @initialize(size=sizes, secs=seconds, design=st.integers(0, 1))
    def start(self, size, secs, design):
        if size is None and secs is None:
            size = 3
        tables = [None, [[]]][design]  # the planner's design, and one linear scan
        self.clock = Clock()
        self.index = SimHashIndex(K, expected_n=1000, design=tables, window_size=size,
                                  window_seconds=secs, clock=self.clock)
        self.model = WindowModel(size, secs)
        self.seen: list[int] = []
        self.index.add_eviction_callback(lambda evicted: self.seen.extend(evicted.tolist()))
        self.dir = Path(tempfile.mkdtemp(prefix="simdup-window-"))
        self.saves = 0

    # ------------------------------------------------------------ writes

    @rule(fp=fingerprints, i=ids)
    def add(self, fp, i):
        self.model.expire(self.clock.t)  # the index evicts old items before refusing a stored id
        if i in self.model.oracle.items:
            with pytest.raises(ValueError, match="already"):
                self.index.add(fp, i)
            return
        self.index.add(fp, i)
        self.model.add(fp, i, self.clock.t)
        self.model.expire(self.clock.t)

    @rule(items=st.dictionaries(ids, fingerprints, max_size=15))
    def add_many(self, items):
        self.model.expire(self.clock.t)
        batch = np.array(list(items), dtype=np.uint64)
        fps = np.array(list(items.values()), dtype=np.uint64)
        if any(i in self.model.oracle.items for i in items):
            with pytest.raises(ValueError, match="already"):
                self.index.add_many(fps, batch)
            return
        self.index.add_many(fps, batch)
        for i, fp in items.items():
            self.model.add(fp, i, self.clock.t)
        self.model.expire(self.clock.t)

    @rule(fp=fingerprints, i=ids)
    def add_if_new(self, fp, i):
        self.model.expire(self.clock.t)  # old items are gone before the check: never a match
        if i in self.model.oracle.items:
            with pytest.raises(ValueError, match="already"):
                self.index.add_if_new(fp, i)
            return
        want = self.model.oracle.query(fp)
        assert self.index.add_if_new(fp, i) == (not want, want)
        if not want:
            self.model.add(fp, i, self.clock.t)
            self.model.expire(self.clock.t)

    @rule(data=st.data())
    def remove(self, data):
        if not self.model.order:
            return  # nothing to pick (and, as the index is not called, nothing expires)
        i = data.draw(st.sampled_from([j for j, _ in self.model.order]))
        self.remove_any(i)

    @rule(i=ids)
    def remove_any(self, i):
        self.model.expire(self.clock.t)  # a removal, too, sees only the window's items
        if i in self.model.oracle.items:
            self.index.remove(i)
            self.model.remove(i)
        else:  # never stored, removed, or its time is up
            with pytest.raises(KeyError):
                self.index.remove(i)

    # ------------------------------------------------------- clock, limits

    @rule(dt=st.sampled_from([0.0, 0.5, 1.0, 2.5, 7.0]))  # 0: items added at the same time
    def tick(self, dt):
        self.clock.t += dt

    @rule(dt=st.sampled_from([0.5, 3.0]))
    def clock_goes_back(self, dt):
        self.clock.t -= dt

    @rule(size=sizes, secs=seconds)
    def set_window(self, size, secs):
        if size is None and secs is None:
            return  # removing the window is tested on its own (the model would lose the order)
        self.model.size, self.model.seconds = size, secs
        before = len(self.model.evicted)
        self.model.expire(self.clock.t)
        got = self.index.set_window(size, secs)
        assert got.tolist() == self.model.evicted[before:]

    @rule()
    def expire(self):
        before = len(self.model.evicted)
        self.model.expire(self.clock.t)
        assert self.index.expire().tolist() == self.model.evicted[before:]

    @precondition(lambda self: self.saves < 3)
    @rule(mmap=st.booleans())
    def save_and_load(self, mmap):
        self.saves += 1
        path = self.dir / f"ix{self.saves}"
        self.model.expire(self.clock.t)
        self.index.save(path)
        self.index = SimHashIndex.load(path, mmap=mmap, verify=True, clock=self.clock)
        assert (self.index.window_size, self.index.window_seconds) == (self.model.size, self.model.seconds)
        self.index.add_eviction_callback(lambda evicted: self.seen.extend(evicted.tolist()))

    # ------------------------------------------------------------- reads

    @rule(fp=fingerprints)
    def query(self, fp):
        self.model.expire(self.clock.t)
        assert self.index.query(fp) == self.model.oracle.query(fp)

    @rule(fps=st.lists(fingerprints, max_size=10))
    def query_many(self, fps):
        self.model.expire(self.clock.t)
        offsets, got, dist = self.index.query_many(np.array(fps, dtype=np.uint64))
        for q, fp in enumerate(fps):
            lo, hi = offsets[q], offsets[q + 1]
            assert list(zip(got[lo:hi].tolist(), dist[lo:hi].tolist())) == self.model.oracle.query(fp)

    @rule(i=ids)
    def contains(self, i):
        self.model.expire(self.clock.t)
        assert (i in self.index) == (i in self.model.oracle.items)

    def teardown(self):
        if hasattr(self, "dir"):
            shutil.rmtree(self.dir, ignore_errors=True)

    @invariant()
    def same_items_same_order(self):
        # Through the compiled base class only: the index's own len / query /
        # in would evict first, and hide a rule that forgot to.
        if not hasattr(self, "index"):
            return
        assert HammingIndex.__len__(self.index) == len(self.model.order)
        assert self.seen == self.model.evicted  # the same items evicted, in the same order
        for c in CENTRES:
            assert HammingIndex.query(self.index, c) == self.model.oracle.query(c)
        ids_in_order, times = self.index._window.export()
        assert list(zip(ids_in_order.tolist(), times.tolist())) == self.model.order
        if self.model.size is not None:
            assert HammingIndex.__len__(self.index) <= self.model.size


WindowMachine.TestCase.settings = settings(max_examples=80, stateful_step_count=40, deadline=None)
test_window_state_machine = WindowMachine.TestCase
