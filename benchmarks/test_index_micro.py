"""pytest-benchmark micro-benchmarks of SimHashIndex.

Under the default ``--benchmark-disable`` each runs once (a one-second check);
time them with ``pytest benchmarks/test_index_micro.py --benchmark-enable``.
Size with SIMDUP_MICRO_N (default 1_000_000). Queries repeat, so caches are
warm: quote benchmarks/bench_index.py for throughput, not these.

Each checks what it timed against a numpy brute force (XOR and popcount over
every stored fingerprint) on a sample of the queries, and that every query
finds the fingerprint it was made from (2 bits away).
"""

from __future__ import annotations

import os

import numpy as np
import pytest

from simdup.index import SimHashIndex

N = int(os.environ.get("SIMDUP_MICRO_N", "1000000"))
K = 3
CHECKED = 40  # queries compared with the brute force (each scans all N)


def brute_force(fps: np.ndarray, ids: np.ndarray, q: int, k: int = K) -> list[tuple[int, int]]:
    """Every stored (id, distance) within ``k`` of ``q``, by distance then id, as ``query`` returns them."""
    d = np.bitwise_count(fps ^ np.uint64(q))
    sel = np.flatnonzero(d <= k)
    return sorted(zip(ids[sel].tolist(), d[sel].tolist()), key=lambda h: (h[1], h[0]))


def check_queries(index: SimHashIndex, fps: np.ndarray, ids: np.ndarray, queries: np.ndarray,
                  sources: np.ndarray, hits: list[list[tuple[int, int]]]) -> None:
    """``hits[x]`` answers ``queries[x]``: it holds its source, 2 bits away, and equals the brute force."""
    assert len(hits) == len(queries)
    for x, h in enumerate(hits):
        assert (int(ids[sources[x]]), 2) in h, f"query {x} misses its source"
    for x in np.random.default_rng(7).choice(len(queries), min(CHECKED, len(queries)), replace=False).tolist():
        assert hits[x] == brute_force(fps, ids, int(queries[x])), f"query {x}"


def as_lists(offsets: np.ndarray, ids: np.ndarray, dist: np.ndarray) -> list[list[tuple[int, int]]]:
    return [list(zip(ids[a:b].tolist(), dist[a:b].tolist())) for a, b in zip(offsets[:-1], offsets[1:])]


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    fps = rng.integers(0, 2**64, N, dtype=np.uint64)
    sources = rng.integers(0, N, 10_000)
    queries = fps[sources] ^ np.uint64(0b101)
    ids = rng.permutation(N).astype(np.uint64) * np.uint64(2654435761)  # not the row numbers
    return fps, ids, queries, sources


@pytest.fixture(scope="module")
def index(data):
    ix = SimHashIndex(K, expected_n=N)
    ix.add_many(data[0], data[1])
    return ix


def test_build(benchmark, data):
    fps, ids, queries, sources = data

    def build():
        ix = SimHashIndex(K, expected_n=N)
        ix.add_many(fps, ids)
        return ix
    ix = benchmark(build)
    assert len(ix) == N
    check_queries(ix, fps, ids, queries[:200], sources[:200], [ix.query(int(q)) for q in queries[:200]])


def test_query_single(benchmark, index, data):
    fps, ids, queries, sources = data
    qs = queries[:1000].tolist()
    query = index.query

    def run():
        return [query(q) for q in qs]
    check_queries(index, fps, ids, queries[:1000], sources[:1000], benchmark(run))


def test_query_many(benchmark, index, data):
    fps, ids, queries, sources = data
    offsets, got_ids, dist = benchmark(index.query_many, queries)
    assert offsets.shape == (len(queries) + 1,) and offsets[0] == 0 and offsets[-1] == len(got_ids) == len(dist)
    check_queries(index, fps, ids, queries, sources, as_lists(offsets, got_ids, dist))


def test_online_add(benchmark):
    rng = np.random.default_rng(1)
    n = 20_000
    fps = rng.integers(0, 2**64, n, dtype=np.uint64)
    ids = np.arange(n, dtype=np.uint64)
    fp_list = fps.tolist()

    def run():
        ix = SimHashIndex(K, expected_n=n)
        for i, f in enumerate(fp_list):
            ix.add(f, i)
        return ix
    ix = benchmark(run)
    assert len(ix) == n
    sources = rng.integers(0, n, 500)
    queries = fps[sources] ^ np.uint64(0b11000)
    check_queries(ix, fps, ids, queries, sources, [ix.query(int(q)) for q in queries])
