from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from simdup import as_fingerprints, hamming, similarity

u64 = st.integers(0, 2**64 - 1)


@given(u64, u64)
def test_hamming_counts_differing_bits(a: int, b: int) -> None:
    expected = sum(((a >> i) & 1) != ((b >> i) & 1) for i in range(64))
    assert hamming(a, b) == expected
    assert similarity(a, b) == 1 - expected / 64


@given(st.lists(st.tuples(u64, u64), max_size=50))
def test_vectorised_hamming_matches_scalar(pairs: list[tuple[int, int]]) -> None:
    a = np.array([p[0] for p in pairs], dtype=np.uint64)
    b = np.array([p[1] for p in pairs], dtype=np.uint64)
    d = hamming(a, b)
    assert d.dtype == np.int32
    assert d.tolist() == [hamming(x, y) for x, y in pairs]
    assert similarity(a, b).tolist() == [similarity(x, y) for x, y in pairs]


def test_broadcasting_and_lists() -> None:
    a = np.array([0, 1, 2**64 - 1], dtype=np.uint64)
    assert hamming(a, np.uint64(0)).tolist() == [0, 1, 64]
    assert hamming([0, 3], [1, 0]).tolist() == [1, 2]
    assert similarity(0, 2**64 - 1) == 0.0


@pytest.mark.parametrize("bad", [-1, 2**64, 1.5, "1", None, True])
def test_scalar_out_of_range_or_wrong_type(bad: object) -> None:
    with pytest.raises((TypeError, ValueError)):
        hamming(bad, 0)  # type: ignore[arg-type]


def test_other_dtypes_are_checked_never_silently_cast() -> None:
    assert hamming(np.array([1, 2], dtype=np.int64), np.array([1, 2], dtype=np.uint64)).tolist() == [0, 0]
    with pytest.raises(ValueError, match="negative"):
        hamming(np.array([-1], dtype=np.int64), np.array([1], dtype=np.uint64))
    with pytest.raises(TypeError, match="integer dtype"):
        as_fingerprints(np.array([1.0]))
    with pytest.raises(TypeError, match="integer dtype"):
        as_fingerprints(np.array([True]))
    with pytest.raises(ValueError, match="2\\*\\*64"):
        as_fingerprints([-1])
    with pytest.raises(TypeError, match="integer"):
        as_fingerprints(["a"])
    with pytest.raises(TypeError, match="integers"):
        as_fingerprints([1, None])
    assert as_fingerprints([]).dtype == np.uint64
