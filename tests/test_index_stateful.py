"""Random sequences of every online operation, checked against the oracle after each step."""

from __future__ import annotations

import numpy as np
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule
from reference_hamming import BruteForceIndex

from simdup.index import SimHashIndex

K = 3
# A few centres and their near neighbours: queries meet many items in many tables.
CENTRES = [0, 0xFFFF_0000_FFFF_0000, 0x0123_4567_89AB_CDEF, 0xFFFF_FFFF_FFFF_FFFF]
fingerprints = st.builds(lambda c, bits: CENTRES[c] ^ sum(1 << b for b in bits),
                         st.integers(0, len(CENTRES) - 1),
                         st.sets(st.integers(0, 63), max_size=K + 2))


class IndexMachine(RuleBasedStateMachine):
    @initialize(design=st.integers(0, 2))
    def start(self, design):
        tables = [None, [[(48, 16)], [(32, 16)], [(16, 16)], [(0, 16)]], [[]]][design]
        self.index = SimHashIndex(K, expected_n=100_000, design=tables)
        self.oracle = BruteForceIndex(K)
        self.next_id = 0

    @rule(fp=fingerprints)
    def add(self, fp):
        self.index.add(fp, self.next_id)
        self.oracle.add(fp, self.next_id)
        self.next_id += 1

    @rule(fps=st.lists(fingerprints, max_size=40))
    def add_many(self, fps):
        ids = list(range(self.next_id, self.next_id + len(fps)))
        self.index.add_many(np.array(fps, dtype=np.uint64), np.array(ids, dtype=np.uint64))
        for fp, i in zip(fps, ids):
            self.oracle.add(fp, i)
        self.next_id += len(fps)

    @rule(fp=fingerprints)
    def add_if_new(self, fp):
        want = self.oracle.query(fp)
        added, hits = self.index.add_if_new(fp, self.next_id)
        assert (added, hits) == (not want, want)
        if added:
            self.oracle.add(fp, self.next_id)
        self.next_id += 1

    @rule(data=st.data())
    def remove(self, data):
        if self.oracle.items:
            i = data.draw(st.sampled_from(sorted(self.oracle.items)))
            self.index.remove(i)
            self.oracle.remove(i)

    @rule()
    def flush(self):
        self.index._flush()

    @rule(fp=fingerprints)
    def query(self, fp):
        assert self.index.query(fp) == self.oracle.query(fp)

    @invariant()
    def same_size(self):
        if hasattr(self, "index"):
            assert len(self.index) == len(self.oracle)
            for c in CENTRES:
                assert self.index.query(c) == self.oracle.query(c)


IndexMachine.TestCase.settings = settings(max_examples=60, stateful_step_count=40,
                                          deadline=None)
test_index_state_machine = IndexMachine.TestCase
