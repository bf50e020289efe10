"""The Dask pipeline of :func:`simdup.dask.dedup`: arguments checked, then the phases in order, each timed.

Each phase is a module of :mod:`simdup.distributed` and one Dask computation
whose tables stay on the workers; this module runs them on the active
scheduler, persists what the next phase reads, and builds the summary with
:func:`simdup.batch.summarize`, as :func:`simdup.dedup` does.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any

import dask
import dask.dataframe as dd
import numpy as np
from dask.delayed import delayed

from .._validation import check_k
from ..batch import DEFAULT_K, DEFAULT_SHINGLE_SIZE, DEFAULT_VERIFY, MAX_K, ShingleSize, check_shingle_size, \
    check_verify, summarize
from ..hasher import SimHasher
from .components import linked_components
from .fingerprint import fingerprint, fit
from .join import candidate_links
from .keep import choose_kept
from .keys import MAX_PARTITIONS
from .partitions import Collection, layout_of
from .result import DaskDedupResult, dask_dedup_result
from .verify import verify as verified_links

PhaseCallback = Callable[[str], Any]
DEFAULT_MAX_LOCAL_LINKS = 20_000_000  # 320 MB of links on the client


def dedup(
    collection: Collection,
    k: int = DEFAULT_K,
    *,
    text_column: str | None = "text",
    id_column: str | None = None,
    content_type_column: str | None = None,
    hasher: SimHasher | None = None,
    keep: str = "first",
    verify: float | None = DEFAULT_VERIFY,
    shingle_size: ShingleSize = DEFAULT_SHINGLE_SIZE,
    npartitions: int | None = None,
    max_local_links: int = DEFAULT_MAX_LOCAL_LINKS,
    progress: PhaseCallback | None = None,
) -> DaskDedupResult:
    """Find near-duplicate documents of a Dask collection and choose one to keep per cluster.

    The same result as :func:`simdup.dedup` on the same documents (in
    partition order) and parameters, computed on the workers.

    Parameters
    ----------
    collection : dask DataFrame or Bag
        A DataFrame with the documents in ``text_column``; or a Bag of
        documents (str or bytes, or ``(page, content_type)`` pairs for HTML
        input) or of dicts holding them under ``text_column``. Dask turns a
        DataFrame's object columns into strings unless it is built under
        ``dask.config.set({"dataframe.convert-string": False})``: do that
        for a column of bytes (HTML pages whose charset is to be detected).
    k : int, default=8
        Documents whose fingerprints differ in at most ``k`` bits are
        candidate near-duplicates (0 to 10).
    text_column : str, default="text"
        Column (or dict key) of the text. For a Bag of plain documents pass None.
    id_column : str, optional
        Column (or dict key) naming each document; gives :attr:`DaskDedupResult.clusters`
        its ``id`` and ``kept_id`` columns.
    content_type_column : str, optional
        For HTML input: column with each page's HTTP ``Content-Type``.
    hasher : SimHasher, optional
        Fitted on the collection first unless already fitted; by default a
        ``SimHasher()`` fitted on the collection. The fitted model is sent to
        every worker, so its vocabulary must fit in a worker's memory (12
        bytes a term); fit on a sample and pass the hasher for corpora whose
        vocabulary does not.
    keep : {"first", "longest"}, default="first"
        Which document of a cluster is kept: the earliest, or the longest
        (the earliest among equals).
    verify : float or None, default=0.8
        Keep only links whose shingle Jaccard (:func:`simdup.batch.shingle_sets`)
        is at least this; None links every candidate.
    shingle_size : int or (int, int), default=(3, 5)
        Verification shingle sizes (words, characters), as in :func:`simdup.dedup`.
    npartitions : int, optional
        Partitions of the shuffles; by default the larger of the input's
        partitions and the cluster's threads.
    max_local_links : int, default=20_000_000
        Up to this many links the clusters are found on the client (fast);
        above it, on the workers without gathering the links.
    progress : callable, optional
        Called with each phase's name as it starts.

    Returns
    -------
    DaskDedupResult
    """
    # Shingle sets travel as bytes and ids as objects: Dask must not turn them into strings.
    with dask.config.set({"dataframe.convert-string": False}):
        return _dedup(collection, k, text_column, id_column, content_type_column, hasher, keep, verify,
                      shingle_size, npartitions, max_local_links, progress)


def _dedup(collection: Collection, k: int, text_column: str | None, id_column: str | None,
           content_type_column: str | None, hasher: SimHasher | None, keep: str, verify: float | None,
           shingle_size: ShingleSize, npartitions: int | None, max_local_links: int,
           progress: PhaseCallback | None) -> DaskDedupResult:
    k = check_k(k, MAX_K)
    check_verify(verify)
    check_shingle_size(shingle_size)
    if keep not in ("first", "longest"):
        raise ValueError(f'keep must be "first" or "longest" in simdup.dask, got {keep!r}')
    if isinstance(max_local_links, bool) or not isinstance(max_local_links, (int, np.integer)) or max_local_links < 0:
        raise ValueError(f"max_local_links must be an int >= 0, got {max_local_links!r}")
    if npartitions is not None and (isinstance(npartitions, bool) or not isinstance(npartitions, (int, np.integer))
                                    or npartitions < 1):
        raise ValueError(f"npartitions must be an int >= 1 or None, got {npartitions!r}")
    layout = layout_of(collection, text_column, id_column, content_type_column)
    parts = collection.to_delayed()
    if not 1 <= len(parts) < MAX_PARTITIONS:
        raise ValueError(f"the collection must have 1 to {MAX_PARTITIONS - 1} partitions, got {len(parts)}")
    hasher = SimHasher() if hasher is None else hasher
    hasher._check_params()
    shuffle_parts = int(npartitions or max(len(parts), _cluster_threads()))
    phases = _Phases(progress)

    if not hasher.__sklearn_is_fitted__():
        with phases("fit"):
            hasher = fit(parts, hasher, layout)  # None: the input is empty, and so is the result

    with phases("fingerprint"):
        model = delayed(hasher, pure=True) if hasher is not None else None
        docs, offsets = fingerprint(parts, model, layout, keep == "longest", phases.persist)

    with phases("join"):
        links, n_candidates = candidate_links(docs, k, shuffle_parts, phases.persist)

    verified = verify is not None and n_candidates > 0  # as simdup.dedup: no candidates, no check
    if verified:
        with phases("verify"):
            assert verify is not None and model is not None
            links = verified_links(links, parts, model, layout, verify, shingle_size, shuffle_parts, phases.persist)
    n_links = int(links.map_partitions(len, meta=(None, "int64")).sum().compute())

    with phases("cluster"):
        members = linked_components(links, n_links, max_local_links, shuffle_parts, phases.persist)
        kept = choose_kept(members, docs, keep, layout.id is not None, offsets, shuffle_parts, phases.persist)
        clustered = kept.clustered
        counts = dask.compute(clustered["doc"].count(), clustered["size"].max(), (clustered["doc"] ==
                              clustered["label"]).sum(), (docs["n_tokens"] == 0).sum())

    removed_count = int(counts[0]) - int(counts[2])
    n = int(offsets[-1])
    summary = summarize(documents=n, kept=n - removed_count, clusters=int(counts[2]),
                        largest_cluster=max(int(counts[1]) if counts[0] else 0, 1 if n else 0),
                        token_less_documents=int(counts[3]), pairs=n_links, timings=phases.timings,
                        candidate_pairs=n_candidates)
    return dask_dedup_result(collection, docs, links, verified, kept.table, kept.removed, offsets, summary)


class _Phases:
    """Times each phase and tells ``progress``; persists frames on the active scheduler."""

    def __init__(self, progress: PhaseCallback | None) -> None:
        self.progress = progress
        self.timings: dict[str, float] = {}

    def __call__(self, name: str) -> _Phases:
        self._name = name
        return self

    def __enter__(self) -> None:
        if self.progress is not None:
            self.progress(self._name)
        self._start = time.perf_counter()

    def __exit__(self, *exc: object) -> None:
        self.timings[self._name] = self.timings.get(self._name, 0.0) + time.perf_counter() - self._start

    @staticmethod
    def persist(frame: dd.DataFrame) -> dd.DataFrame:
        frame = frame.persist()
        client = _client()
        if client is not None:
            from dask.distributed import wait  # (Dask's `distributed`, by the name that is not this package's)

            wait(frame)
        return frame


def _client() -> Any:
    try:
        from dask.distributed import get_client
    except ImportError:  # pragma: no cover - distributed is part of the extra
        return None
    try:
        return get_client()
    except ValueError:
        return None


def _cluster_threads() -> int:
    client = _client()
    if client is not None:
        return max(1, sum(client.nthreads().values()))
    return os.cpu_count() or 1
