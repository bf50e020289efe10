"""Lookups of values in a sorted array: where each one is, and whether it is there at all."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt


def find_sorted(haystack: npt.NDArray, values: npt.NDArray) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.bool_]]:
    """``(at, found)``: ``haystack[at[x]] == values[x]`` exactly where ``found[x]``.

    ``haystack`` is sorted ascending. Where a value is absent, ``at`` is still
    a valid position (clipped to the last; 0 for an empty haystack, which
    finds nothing), so arrays parallel to ``haystack`` can be indexed by
    ``at`` and the result masked with ``found``. One binary search per value,
    vectorised: no Python call per value.
    """
    if not len(haystack):
        return np.zeros(len(values), np.intp), np.zeros(len(values), bool)
    at = np.minimum(np.searchsorted(haystack, values), len(haystack) - 1)
    return at, haystack[at] == values
