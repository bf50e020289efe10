"""Document keys: how the Dask pipeline names a document, and lines its tables up with the input's partitions.

A document is known inside the pipeline by ``(partition << ROW_BITS) | row``:
the key orders documents as their positions do, needs no pass to count
partition lengths first, and tells which input partition a document lives
in. A frame indexed by that key with one division per input partition
(:func:`aligned`) has partition ``p`` holding input partition ``p``'s
documents, so a partition function can read their text from the input.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import dask.dataframe as dd
import numpy as np
import numpy.typing as npt
import pandas as pd

ROW_BITS = 40
ROW_MASK = (1 << ROW_BITS) - 1
MAX_PARTITIONS = 1 << (63 - ROW_BITS)

Persist = Callable[[dd.DataFrame], dd.DataFrame]
"""Persists a frame and waits for it: how each phase keeps its tables on the workers."""


def doc_keys(partition: int, n: int) -> npt.NDArray[np.int64]:
    """The keys of the ``n`` documents of input partition ``partition``."""
    if n > ROW_MASK:
        raise ValueError(f"a partition holds at most {ROW_MASK} documents, got {n}")
    return (np.int64(partition) << ROW_BITS) | np.arange(n, dtype=np.int64)


def positions(keys: npt.NDArray[np.int64], offsets: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """Keys to 0-based positions in input order, given each input partition's first position."""
    return offsets[keys >> ROW_BITS] + (keys & ROW_MASK)


def aligned(frame: dd.DataFrame, column: str, n_input: int) -> dd.DataFrame:
    """``frame`` indexed by the document key in ``column``, partition p holding input partition p's documents."""
    divisions = [p << ROW_BITS for p in range(n_input)] + [(n_input << ROW_BITS) - 1]
    return frame.set_index(column, divisions=divisions)


def empty_frame(**columns: Any) -> pd.DataFrame:
    """An empty frame with these column dtypes: the ``meta`` Dask needs for a lazily built frame."""
    return pd.DataFrame({name: np.empty(0, dtype) for name, dtype in columns.items()})


def links_meta(jaccard: bool = False) -> pd.DataFrame:
    """The link table: ``i < j`` (keys), ``distance``, and ``jaccard`` once verified."""
    meta = empty_frame(i=np.int64, j=np.int64, distance=np.uint8)
    if jaccard:
        meta["jaccard"] = np.empty(0, np.float64)
    return meta
