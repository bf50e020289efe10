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

    Accepts a ``uint64`` array as is, and a sequence of Python ints in
    ``[0, 2**64)``. Other dtypes raise ``TypeError`` rather than being cast,
    since casting signed or float values would silently change them.
    """
    if isinstance(values, np.ndarray):
        if values.dtype != np.uint64:
            raise TypeError(
                f"{name} must have dtype uint64, got {values.dtype} "
                "(convert with .astype(np.uint64) if the values are non-negative integers)"
            )
        return values
    try:
        array = np.asarray(values, dtype=object)
    except Exception as exc:
        raise TypeError(f"{name} must be uint64 values: {exc}") from None
    if array.dtype == object and array.size:
        flat = array.ravel()
        if not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in flat):
            raise TypeError(f"{name} must be integers")
        if not all(0 <= int(v) <= _MAX for v in flat):
            raise ValueError(f"{name} must be in [0, 2**64)")
    return np.asarray(array.astype(np.uint64) if array.size else np.empty(array.shape, np.uint64))


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
