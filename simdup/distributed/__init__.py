"""Batch dedup on Dask: the pipeline of :func:`simdup.dedup` over a Dask collection (``pip install "simdup[dask]"``)."""

from __future__ import annotations

from .pipeline import DaskDedupResult, dedup

__all__ = ["DaskDedupResult", "dedup"]
