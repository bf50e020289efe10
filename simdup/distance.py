"""Hamming distance and similarity of 64-bit fingerprints, scalar or vectorised."""

from __future__ import annotations

from typing import Union, overload

import numpy as np
import numpy.typing as npt

FingerprintArray = npt.NDArray[np.uint64]
FingerprintLike = Union[int, np.integer, FingerprintArray, "list[int]"]

_MAX = (1 << 64) - 1


def as_fingerprints(values: object, name: str = "fingerprints") -> FingerprintArray:
    """Return ``values`` as a ``uint64`` array, or raise a clear error.

    Accepts numpy arrays of any integer dtype and sequences of Python ints;
    the values must lie in ``[0, 2**64)``. Nothing is converted silently: a
    negative value raises instead of wrapping around, and a float, bool or
    string dtype raises instead of being cast.

    Raises
    ------
    TypeError
        A non-integer dtype, or a sequence holding non-integers.
    ValueError
        A value outside ``[0, 2**64)``.
    """
    a = np.asarray(values) if not isinstance(values, np.ndarray) else values
    if a.size == 0 and a.dtype.kind == "f" and not isinstance(values, np.ndarray):
        a = a.astype(np.uint64)  # an empty list
    if a.dtype.kind == "O":
        items = a.ravel().tolist()
        if not all((type(v) is int or isinstance(v, np.integer)) and not isinstance(v, bool) for v in items):
            raise TypeError(f"{name} must be integers")
        if any(v < 0 or v > _MAX for v in items):
            raise ValueError(f"{name} must be in [0, 2**64)")
        a = np.array(items, dtype=np.uint64).reshape(a.shape)
    if a.dtype.kind not in "ui":
        raise TypeError(f"{name} must have an integer dtype, got {a.dtype}")
    if a.dtype.kind == "i" and a.size and a.min() < 0:
        raise ValueError(f"{name} must be in [0, 2**64), got a negative value")
    return a.astype(np.uint64, copy=False)


def _as_int(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an int fingerprint, got {type(value).__name__}")
    value = int(value)
    if not 0 <= value <= _MAX:
        raise ValueError(f"{name} must be in [0, 2**64), got {value}")
    return value


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
        return (_as_int(a, "a") ^ _as_int(b, "b")).bit_count()
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
