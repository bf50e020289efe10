"""Batch dedup on Dask under its public name: ``simdup.dask.dedup``, re-exported from :mod:`simdup.distributed`.

``import simdup.dask`` and ``simdup.dask.dedup(...)`` are the documented
way in, and stay so; the code lives in :mod:`simdup.distributed`, split by
phase. This module defines nothing of its own: its names are the same
objects as there (``simdup.dask.dedup is simdup.distributed.dedup``).

Why a module named ``dask`` remains at all: ``import simdup.dask`` needs a
module of that name, and users already import it. Nothing inside simdup
imports it, so no module of the package depends on the name that shadows
the ``dask`` package, and :mod:`simdup.distributed` imports Dask itself
without ambiguity.
"""

from __future__ import annotations

from .distributed import (
    DEFAULT_MAX_LOCAL_LINKS,
    JOIN_ROWS_PER_PARTITION,
    MAX_PARTITIONS,
    ROW_BITS,
    ROW_MASK,
    SHUFFLE_ROW_COST,
    Collection,
    DaskDedupResult,
    PhaseCallback,
    dedup,
)

__all__ = ["DaskDedupResult", "dedup"]
