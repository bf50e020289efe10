"""Argument checks shared by every module: integers, 64-bit unsigned values, fingerprint arrays, ``k``.

One rule each, so that the online index, the batch join, the planner and the
Deduper accept and refuse the same values with the same messages:

* an *integer* is a Python or numpy integer, never a bool (``True`` is an
  ``int`` to Python, never a count or a threshold to us) nor a float;
* a *uint64* (one fingerprint or id) is an integer in ``[0, 2**64)``; nothing
  wraps around or is cast silently;
* ``k`` is an integer in ``[0, max_k]``, where ``max_k`` is what the caller's
  algorithm supports (the batch self-join and the index differ).

The compiled index applies the same uint64 rule to its own arguments
(``_index.pxi``).
"""

from __future__ import annotations

import operator
from typing import TypeGuard, Union

import numpy as np
import numpy.typing as npt

FingerprintArray = npt.NDArray[np.uint64]
FingerprintLike = Union[int, np.integer, FingerprintArray, "list[int]"]

UINT64_MAX = (1 << 64) - 1


def is_int(value: object) -> TypeGuard[int | np.integer]:
    """True for a Python or numpy integer; False for a bool (Python or numpy) and anything else."""
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def check_int(value: object, name: str, lo: int, hi: int | None = None) -> int:
    """``value`` as a Python int in ``[lo, hi]``, or a clear error.

    The one rule for integer arguments (``k``, ``n_threads``, ``expected_n``,
    ...): see :func:`is_int`.

    Raises
    ------
    TypeError
        Not an integer, or a bool.
    ValueError
        Outside ``[lo, hi]`` (``hi=None``: no upper bound).
    """
    if not is_int(value):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    value = int(value)
    if value < lo or (hi is not None and value > hi):
        bounds = f"[{lo}, {hi}]" if hi is not None else f">= {lo}"
        raise ValueError(f"{name} must be {'in ' if hi is not None else ''}{bounds}, got {value}")
    return value


def check_k(k: object, max_k: int) -> int:
    """``k``, the largest Hamming distance asked for, as an int in ``[0, max_k]``.

    Raises
    ------
    TypeError
        Not an integer, or a bool.
    ValueError
        Outside ``[0, max_k]``.
    """
    return check_int(k, "k", 0, max_k)


def check_uint64(value: object, name: str = "fingerprint") -> int:
    """``value`` as a Python int in ``[0, 2**64)``: one fingerprint or id.

    Anything with ``__index__`` (Python and numpy integers) is accepted, bools
    are not.

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
    if not 0 <= v <= UINT64_MAX:
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
        if items and (min(items) < 0 or max(items) > UINT64_MAX):
            raise ValueError(f"{name} must be in [0, 2**64), got "
                             f"{min(items) if min(items) < 0 else max(items)}")
        return np.array(items, dtype=np.uint64).reshape(obj.shape)
    if a.dtype.kind not in "ui":
        raise TypeError(f"{name} must have an integer dtype, got {a.dtype}")
    if a.dtype.kind == "i" and a.size and a.min() < 0:
        raise ValueError(f"{name} must be in [0, 2**64), got a negative value")
    return a.astype(np.uint64, copy=False)


def as_fingerprint_vector(values: object, name: str = "fingerprints") -> FingerprintArray:
    """:func:`as_fingerprints`, one-dimensional and C-contiguous: what the compiled loops take.

    Raises
    ------
    TypeError, ValueError
        As :func:`as_fingerprints`; ``ValueError`` for any other shape than ``(n,)``.
    """
    a = as_fingerprints(values, name)
    if a.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {a.shape}")
    return np.ascontiguousarray(a)


def check_flag(value: object, name: str) -> bool:
    """``value`` as a bool, or ``ValueError``: a string such as "no" is not a flag.

    (A ``ValueError``, not a ``TypeError``, as for any other estimator
    parameter: scikit-learn's convention.)
    """
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name} must be True or False, got {value!r}")
    return bool(value)
