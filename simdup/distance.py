"""Hamming distance and similarity of 64-bit fingerprints, scalar or vectorised."""

from __future__ import annotations

import operator
from typing import Union, overload

import numpy as np
import numpy.typing as npt

FingerprintArray = npt.NDArray[np.uint64]
FingerprintLike = Union[int, np.integer, FingerprintArray, "list[int]"]

_MAX = (1 << 64) - 1


def check_int(value: object, name: str, lo: int, hi: int | None = None) -> int:
    """``value`` as a Python int in ``[lo, hi]``, or a clear error.

    The one rule for integer parameters (``k``, ``n_threads``, ``expected_n``,
    ...): Python and numpy integers are accepted, bools are not (``True`` is
    an ``int`` to Python, never a count or a threshold to us), nor floats.

    Raises
    ------
    TypeError
        Not an integer, or a bool.
    ValueError
        Outside ``[lo, hi]`` (``hi=None``: no upper bound).
    """
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    value = int(value)
    if value < lo or (hi is not None and value > hi):
        bounds = f"[{lo}, {hi}]" if hi is not None else f">= {lo}"
        raise ValueError(f"{name} must be {'in ' if hi is not None else ''}{bounds}, got {value}")
    return value


def check_uint64(value: object, name: str = "fingerprint") -> int:
    """``value`` as a Python int in ``[0, 2**64)``: one fingerprint or id.

    Anything with ``__index__`` (Python and numpy integers) is accepted, bools
    are not; the compiled index applies the same rule to its arguments.

    Raises
    ------
    TypeError
        Not an integer, or a bool.
    ValueError
        Outside the uint64 range.
    """
    if isinstance(value, (bool, np.bool_)) or not hasattr(type(value), "__index__"):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__}")
    v = operator.index(value)  # type: ignore[arg-type]
    if not 0 <= v <= _MAX:
        raise ValueError(f"{name} {v} is outside the uint64 range [0, 2**64)")
    return v


def as_fingerprints(values: object, name: str = "fingerprints") -> FingerprintArray:
    """Return ``values`` as a ``uint64`` array, or raise a clear error.

    Accepts numpy arrays of any integer dtype, integer scalars and (nested)
    sequences of Python or numpy ints; the values must lie in ``[0, 2**64)``.
    Nothing is converted silently: a negative value raises instead of
    wrapping around, and a float, bool or string (dtype or element) raises
    instead of being cast.

    Raises
    ------
    TypeError
        A non-integer dtype, or a sequence holding non-integers (bools included).
    ValueError
        A value outside ``[0, 2**64)``, or a ragged nested sequence.
    """
    if isinstance(values, np.ndarray) and values.dtype.kind != "O":
        a = values
    elif isinstance(values, (bool, np.bool_, int, np.integer)):
        return np.asarray(check_uint64(values, name), dtype=np.uint64)
    else:
        # Not np.asarray: it makes a float64 array of a list mixing ints >= 2**63
        # with smaller ones (no integer dtype holds both), and an int array of
        # bools. Python ints are exact; check them as objects, with C loops.
        if isinstance(values, (list, tuple)) and set(map(type, values)) == {int}:
            try:  # the common case, a flat list of ints: numpy checks the range
                return np.array(values, dtype=np.uint64)
            except OverflowError:
                pass  # fall through for the message naming the value
        try:
            obj = np.array(values, dtype=object)
        except ValueError as e:  # ragged nesting
            raise ValueError(f"{name} must be a flat or rectangular sequence of ints: {e}") from None
        items = obj.ravel().tolist()
        kinds = set(map(type, items))
        if not all(t is int or issubclass(t, np.integer) for t in kinds):
            bad = next(t for t in kinds if not (t is int or issubclass(t, np.integer)))
            raise TypeError(f"{name} must be integers, got {bad.__name__}")
        if kinds - {int}:
            items = [int(v) for v in items]  # numpy scalars compare exactly as Python ints
        if items and (min(items) < 0 or max(items) > _MAX):
            raise ValueError(f"{name} must be in [0, 2**64), got "
                             f"{min(items) if min(items) < 0 else max(items)}")
        return np.array(items, dtype=np.uint64).reshape(obj.shape)
    if a.dtype.kind not in "ui":
        raise TypeError(f"{name} must have an integer dtype, got {a.dtype}")
    if a.dtype.kind == "i" and a.size and a.min() < 0:
        raise ValueError(f"{name} must be in [0, 2**64), got a negative value")
    return a.astype(np.uint64, copy=False)


def _as_int(value: object, name: str) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an int fingerprint, got {type(value).__name__}")
    return check_uint64(value, name)


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
