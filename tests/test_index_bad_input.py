"""Bad input to SimHashIndex gives TypeError / ValueError / KeyError, never a crash."""

from __future__ import annotations

import numpy as np
import pytest

from simdup.index import SimHashIndex


@pytest.fixture
def index():
    ix = SimHashIndex(3, expected_n=1000)
    ix.add(1, 1)
    return ix


@pytest.mark.parametrize("k", [-1, 17, 100])
def test_k_out_of_range(k):
    with pytest.raises(ValueError, match="k must be in"):
        SimHashIndex(k)


@pytest.mark.parametrize("k", [3.0, "3", None, True])
def test_k_wrong_type(k):
    with pytest.raises(TypeError):
        SimHashIndex(k)


@pytest.mark.parametrize("fp", [-1, 2**64, 2**70])
def test_fingerprint_outside_uint64(index, fp):
    for call in (index.query, lambda f: index.add(f, 99), lambda f: index.add_if_new(f, 99)):
        with pytest.raises(ValueError, match="uint64"):
            call(fp)
    assert len(index) == 1


@pytest.mark.parametrize("fp", [1.0, "1", b"1", None, True, [1]])
def test_fingerprint_wrong_type(index, fp):
    with pytest.raises(TypeError):
        index.query(fp)
    with pytest.raises(TypeError):
        index.add(fp, 5)


def test_numpy_scalars_are_integers(index):
    assert index.query(np.uint64(1)) == [(1, 0)]
    index.add(np.int32(5), np.uint8(6))
    assert 6 in index


def test_ids(index):
    with pytest.raises(ValueError, match="already"):
        index.add(7, 1)
    with pytest.raises(ValueError, match="uint64"):
        index.add(7, -3)
    with pytest.raises(TypeError):
        index.add(7, "a")
    assert "a" not in index and -3 not in index and 2**64 not in index


@pytest.mark.parametrize("bad", [2, -1, "x", 2**64, None])
def test_remove_unknown_id(index, bad):
    with pytest.raises(KeyError):
        index.remove(bad)
    assert len(index) == 1


def test_remove_twice(index):
    index.remove(1)
    with pytest.raises(KeyError):
        index.remove(1)


@pytest.mark.parametrize("arr, exc", [
    (np.array([1.0, 2.0]), TypeError),
    (np.array([True, False]), TypeError),
    (np.array(["1"]), TypeError),
    (np.array([-1, 2], dtype=np.int64), ValueError),
    ([2**64], ValueError),
    ([-1], ValueError),
    ([1, "a"], TypeError),
    (np.zeros((2, 2), dtype=np.uint64), ValueError),
])
def test_batch_dtypes(index, arr, exc):
    with pytest.raises(exc):
        index.query_many(arr)
    n = len(arr)
    with pytest.raises(exc):
        index.add_many(arr, np.arange(10, 10 + n, dtype=np.uint64))
    with pytest.raises(exc):
        index.add_many(np.arange(n, dtype=np.uint64), arr)
    assert len(index) == 1


def test_batch_other_integer_dtypes_accepted(index):
    index.add_many(np.array([3, 4], dtype=np.int16), np.array([30, 40], dtype=np.uint32))
    off, ids, dist = index.query_many(np.array([3], dtype=np.uint8))
    assert off.tolist() == [0, 3]
    assert list(zip(ids.tolist(), dist.tolist())) == [(30, 0), (1, 1), (40, 3)]


def test_add_many_is_all_or_nothing(index):
    with pytest.raises(ValueError, match="twice"):
        index.add_many([5, 6, 7], [10, 11, 10])
    with pytest.raises(ValueError, match="already"):
        index.add_many([5, 6], [10, 1])
    with pytest.raises(ValueError, match="ids"):
        index.add_many([5, 6], [10])
    big = np.arange(5000, dtype=np.uint64)
    with pytest.raises(ValueError, match="already"):  # the segment path checks too
        index.add_many(big, big)
    assert len(index) == 1 and 10 not in index and index.query(5) == [(1, 1)]


def test_empty_index_queries_are_empty_not_errors():
    ix = SimHashIndex(3)
    assert ix.query(0) == []
    off, ids, dist = ix.query_many(np.arange(3, dtype=np.uint64))
    assert off.tolist() == [0, 0, 0, 0] and len(ids) == len(dist) == 0
    off, ids, dist = ix.query_many([])
    assert off.tolist() == [0]
    ix.add_many([], [])
    assert len(ix) == 0
