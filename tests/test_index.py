"""Exactness of SimHashIndex against a brute-force oracle, and its planner."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from index_helpers import brute_force_many, clustered, flip, reuters_fingerprints
from reference_hamming import BruteForceIndex

from simdup._core import INDEX_BUFFER_CAP
from simdup.index import SimHashIndex
from simdup.index.plan import MAX_K, candidate_plans, covers, make_plan, plan_index

# Designs small enough to build quickly for every k the index supports.
DESIGNS = {k: [p for p in candidate_plans(k) if p.n_tables <= 40] for k in range(MAX_K + 1)}
HYP = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _check_same(index, oracle, queries):
    for q in queries:
        assert index.query(q) == oracle.query(q), f"query {q:#x}"
    offsets, ids, dist = index.query_many(np.array(queries, dtype=np.uint64))
    for i, q in enumerate(queries):
        got = list(zip(ids[offsets[i]:offsets[i + 1]].tolist(),
                       dist[offsets[i]:offsets[i + 1]].tolist()))
        assert got == oracle.query(q)


@st.composite
def workload(draw, kmax=MAX_K):
    k = draw(st.integers(0, kmax))
    design = draw(st.sampled_from(DESIGNS[k]))
    seed = draw(st.integers(0, 2**32 - 1))
    n = draw(st.integers(0, 300))
    kind = draw(st.sampled_from(["uniform", "clustered", "duplicates"]))
    rng = np.random.default_rng(seed)
    if kind == "uniform":
        fps = [int(x) for x in rng.integers(0, 2**64, size=n, dtype=np.uint64)]
    elif kind == "clustered":
        fps = clustered(rng, n, k, centers=int(rng.integers(1, 6)))
    else:  # few distinct values, many ids each
        fps = [int(x) for x in rng.choice(rng.integers(0, 2**64, size=3, dtype=np.uint64), n)]
    queries = [flip(fps[int(rng.integers(n))], rng, int(rng.integers(0, k + 3))) if n else 0
               for _ in range(15)]
    queries += [int(x) for x in rng.integers(0, 2**64, size=3, dtype=np.uint64)]
    # flush the insert buffer into a segment every so many adds (0: never)
    flush_every = draw(st.sampled_from([0, 1, 7, 50, 1000]))
    return k, design, fps, queries, flush_every


@HYP
@given(workload())
def test_bulk_matches_oracle(case):
    k, design, fps, queries, flush_every = case
    index = SimHashIndex(k, design=design)
    oracle = BruteForceIndex(k)
    ids = np.random.default_rng(len(fps)).permutation(10 * len(fps) + 1)[:len(fps)] * 7919
    cut = len(fps) // 3
    index.add_many(np.array(fps[:cut], dtype=np.uint64), ids[:cut].astype(np.uint64))
    if flush_every:
        index._flush()
    index.add_many(np.array(fps[cut:], dtype=np.uint64), ids[cut:].astype(np.uint64))
    for fp, i in zip(fps, ids.tolist()):
        oracle.add(fp, i)
    assert len(index) == len(fps)
    if flush_every:
        assert index._stats()["buffered"] == 0 or len(fps) - cut < INDEX_BUFFER_CAP
    _check_same(index, oracle, queries)


@HYP
@given(workload(kmax=8))
def test_online_adds_and_removes_match_oracle(case):
    k, design, fps, queries, flush_every = case
    index = SimHashIndex(k, design=design)
    oracle = BruteForceIndex(k)
    rng = np.random.default_rng(len(fps))
    for i, fp in enumerate(fps):
        index.add(fp, i)
        oracle.add(fp, i)
        if flush_every and i % flush_every == 0:
            index._flush()
    for j, i in enumerate(rng.permutation(len(fps))[: len(fps) // 3].tolist()):
        index.remove(i)
        oracle.remove(i)
        if flush_every and j % flush_every == 0:
            index._flush()
    assert len(index) == len(oracle)
    _check_same(index, oracle, queries)


@pytest.mark.parametrize("k", range(MAX_K + 1))
def test_every_candidate_design_is_exact_by_construction(k):
    for plan in candidate_plans(k):
        assert covers(plan.tables, k), plan.describe()
        assert all(p <= 64 for p in plan.key_bits)


def test_covers_detects_a_missing_table():
    plan = plan_index(3, 1_000_000)
    assert covers(plan.tables, 3)
    assert not covers(plan.tables[:-1], 3)
    assert not covers(plan.tables, 4)
    with pytest.raises(ValueError, match="misses"):
        make_plan(3, plan.tables[:-1])


def test_planner_meets_memory_budget_and_prefers_long_keys_when_allowed():
    small = plan_index(3, 1_000_000)
    assert small.bytes_per_fingerprint <= 48
    big = plan_index(3, 100_000_000, memory_budget=16 * 2**30)
    assert big.memory_bytes <= 16 * 2**30
    assert big.cost_ns < plan_index(3, 100_000_000).cost_ns
    assert min(big.key_bits) > 16
    with pytest.raises(ValueError, match="no design fits"):
        plan_index(3, 1_000_000, memory_budget=1000)


def test_planned_memory_matches_the_built_index():
    rng = np.random.default_rng(1)
    n = 200_000
    index = SimHashIndex(3, expected_n=n)
    index.add_many(rng.integers(0, 2**64, n, dtype=np.uint64), np.arange(n, dtype=np.uint64))
    assert index.nbytes == pytest.approx(index.plan.memory_bytes, rel=0.01)
    assert index.nbytes / n <= 48


@pytest.mark.parametrize("k", range(9))
def test_real_fingerprints_every_k(k):
    fps = reuters_fingerprints()
    ids = np.arange(len(fps), dtype=np.uint64) * 3 + 1
    index = SimHashIndex(k, expected_n=len(fps))
    assert index.plan.name != "scan" or k >= 12
    index.add_many(fps, ids)
    rng = np.random.default_rng(k)
    pick = rng.choice(len(fps), 150, replace=False)
    queries = np.array([flip(int(fps[i]), rng, int(rng.integers(0, k + 2))) for i in pick],
                       dtype=np.uint64)
    got = index.query_many(queries)
    want = brute_force_many(fps, ids, queries, k)
    for a, b in zip(got, want):
        np.testing.assert_array_equal(a, b)
    assert got[0][-1] >= len(queries)  # each query finds at least its source document


def test_duplicates_under_many_ids_all_returned():
    index = SimHashIndex(3, expected_n=10_000)
    index.add_many(np.full(500, 12345, dtype=np.uint64), np.arange(500, dtype=np.uint64))
    index.add(12345 ^ 0b111, 10_000)
    hits = index.query(12345)
    assert hits == [(i, 0) for i in range(500)] + [(10_000, 3)]


def test_growth_past_the_buffer_makes_geometric_segments():
    k = 3
    index = SimHashIndex(k, expected_n=100_000)
    oracle = BruteForceIndex(k)
    rng = np.random.default_rng(5)
    fps = clustered(rng, 6000, k, centers=40)
    for i, fp in enumerate(fps):
        index.add(fp, i)
        oracle.add(fp, i)
    stats = index._stats()
    assert stats["buffered"] < INDEX_BUFFER_CAP and 1 <= len(stats["segments"]) <= 4
    sizes = stats["segments"]
    assert all(a > 8 * b for a, b in itertools.pairwise(sizes)) or len(sizes) == 1
    for i in range(0, 6000, 3):  # a third removed: segments compact past half deleted
        index.remove(i)
        oracle.remove(i)
    for i in range(1, 6000, 3):
        index.remove(i)
        oracle.remove(i)
    assert len(index) == len(oracle) == 2000
    assert sum(index._stats()["segments"]) + index._stats()["buffered"] < 4500
    _check_same(index, oracle, [flip(fp, rng, 2) for fp in fps[:200]])


def test_online_api_roundtrip():
    index = SimHashIndex(3, expected_n=1000)
    assert index.query(5) == [] and len(index) == 0 and 7 not in index
    offsets, ids, dist = index.query_many(np.array([1, 2], dtype=np.uint64))
    assert offsets.tolist() == [0, 0, 0] and ids.size == 0 and dist.dtype == np.uint8
    assert index.add_if_new(0xFF, 7) == (True, [])
    assert 7 in index and len(index) == 1
    assert index.add_if_new(0xFF ^ 0b101, 8) == (False, [(7, 2)])
    assert 8 not in index
    assert index.add_if_new(0xFF ^ 0b1111, 8) == (True, [])
    index.remove(7)
    assert index.k == 3 and 7 not in index and 8 in index and len(index) == 1
    assert index.query(0xFF) == []  # 7 is gone, and 8 is 4 bits away: beyond k
    assert index.query(0xFF ^ 0b1) == [(8, 3)]
    assert index.add_if_new(0xFF ^ 0b11, 9) == (False, [(8, 2)])  # 7 no longer answers either
    assert index.query(0xFF ^ 0b1111) == [(8, 0)]
    index.add(0xFF, 7)  # an id can come back after removal
    assert index.query(0xFF) == [(7, 0)]
    index.query_many([0xFF])  # plain lists are accepted


def test_explicit_design():
    tables = [[(48, 16)], [(32, 16)], [(16, 16)], [(0, 16)]]
    index = SimHashIndex(3, design=tables)
    assert index.plan.key_bits == (16, 16, 16, 16)
    index.add(0, 1)
    assert index.query(0b111) == [(1, 3)]
    assert index.query(0b1111) == []
    with pytest.raises(ValueError, match="misses"):
        SimHashIndex(4, design=tables)
    with pytest.raises(ValueError, match="overlap"):
        SimHashIndex(0, design=[[(0, 40), (30, 34)]])
    with pytest.raises(ValueError):
        SimHashIndex(3, design=[[(60, 16)]])
