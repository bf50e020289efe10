"""Hamming distance and similarity of 64-bit fingerprints, scalar or vectorised."""

from __future__ import annotations

from typing import overload

import numpy as np
import numpy.typing as npt

from ._validation import FingerprintLike, as_fingerprints, check_uint64


@overload
def hamming(a: int, b: int) -> int: ...  # type: ignore[overload-overlap]
@overload
def hamming(a: FingerprintLike, b: FingerprintLike) -> npt.NDArray[np.int32]: ...
def hamming(a, b):
    """Number of differing bits between fingerprints.

    Parameters
    ----------
    a, b : int or array-like of uint64
        Two ints give an int. Arrays (``uint64``, or lists of ints) broadcast
        against each other and give an ``int32`` array.

    Examples
    --------
    >>> hamming(0b1011, 0b0001)
    2
    """
    if isinstance(a, (int, np.integer)) and isinstance(b, (int, np.integer)):
        return (check_uint64(a, "a") ^ check_uint64(b, "b")).bit_count()
    x, y = as_fingerprints(a, "a"), as_fingerprints(b, "b")
    return np.bitwise_count(np.bitwise_xor(x, y)).astype(np.int32)


@overload
def similarity(a: int, b: int) -> float: ...  # type: ignore[overload-overlap]
@overload
def similarity(a: FingerprintLike, b: FingerprintLike) -> npt.NDArray[np.float64]: ...
def similarity(a, b):
    """``1 - hamming(a, b) / 64``: 1.0 for equal fingerprints, 0.0 for complements."""
    d = hamming(a, b)
    return 1.0 - d / 64.0
