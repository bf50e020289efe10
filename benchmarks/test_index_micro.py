"""pytest-benchmark micro-benchmarks of SimHashIndex.

Under the default ``--benchmark-disable`` each runs once (a one-second check);
time them with ``pytest benchmarks/test_index_micro.py --benchmark-enable``.
Size with SIMDUP_MICRO_N (default 1_000_000). Queries repeat, so caches are
warm: quote benchmarks/bench_index.py for throughput, not these.
"""

from __future__ import annotations

import os

import numpy as np
import pytest

from simdup.index import SimHashIndex

N = int(os.environ.get("SIMDUP_MICRO_N", "1000000"))
K = 3


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    fps = rng.integers(0, 2**64, N, dtype=np.uint64)
    queries = fps[rng.integers(0, N, 10_000)] ^ np.uint64(0b101)
    return fps, np.arange(N, dtype=np.uint64), queries


@pytest.fixture(scope="module")
def index(data):
    ix = SimHashIndex(K, expected_n=N)
    ix.add_many(data[0], data[1])
    return ix


def test_build(benchmark, data):
    def build():
        ix = SimHashIndex(K, expected_n=N)
        ix.add_many(data[0], data[1])
        return ix
    assert len(benchmark(build)) == N


def test_query_single(benchmark, index, data):
    qs = data[2][:1000].tolist()
    query = index.query

    def run():
        for q in qs:
            query(q)
    benchmark(run)


def test_query_many(benchmark, index, data):
    off, _, _ = benchmark(index.query_many, data[2])
    assert off[-1] >= len(data[2])


def test_online_add(benchmark):
    rng = np.random.default_rng(1)
    fps = rng.integers(0, 2**64, 20_000, dtype=np.uint64).tolist()

    def run():
        ix = SimHashIndex(K, expected_n=20_000)
        for i, f in enumerate(fps):
            ix.add(f, i)
    benchmark(run)
