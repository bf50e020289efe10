"""The public name of batch dedup on Dask: ``simdup.dask.dedup``; the code lives in :mod:`simdup.distributed`."""

from __future__ import annotations

from .distributed.pipeline import *  # noqa: F401,F403
from .distributed.pipeline import SHUFFLE_ROW_COST, DaskDedupResult, dedup  # noqa: F401
