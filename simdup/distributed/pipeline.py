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
import dask.bag as db
import dask.dataframe as dd
import numpy as np
from dask.delayed import delayed

from .._validation import check_k
from ..batch import DEFAULT_K, DEFAULT_SHINGLE_SIZE, DEFAULT_VERIFY, MAX_K, ShingleSize, check_shingle_size, \
    check_verify, summarize
from ..clustering import REFERENCE
from ..hasher import SimHasher
from ..index import SimHashIndex
from .components import linked_components
from .fingerprint import fingerprint, fit
from .join import candidate_links
from .keep import choose_kept, edge_rows, reference_base
from .keys import MAX_PARTITIONS, Persist
from .partitions import Collection, Layout, layout_of
from .reference import ReferenceFingerprints, reference_edges, reference_ids, reference_matches
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
    against: SimHashIndex | Collection | None = None,
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
    against : SimHashIndex, or dask DataFrame or Bag, optional
        A reference, as for :func:`simdup.dedup`: every document that is a
        near-duplicate of a reference document is removed, with its whole
        cluster. An index holds fingerprints of a fitted ``hasher`` (by
        default ``SimHasher.default()``): matches within ``min(k, index.k)``
        bits, not verified. A collection of reference documents, laid out
        as the input (the same columns), is fingerprinted with the same
        hasher (fitted on input and reference when not fitted) and its
        matches verified on text as links are.

    Returns
    -------
    DaskDedupResult
        Its ``clusters`` table says why each document was removed.

    Raises
    ------
    TypeError
        The input or ``against`` is not a Dask collection (or an index).
    ValueError
        A parameter out of range, or an index as ``against`` with a hasher
        that is not fitted.
    """
    # Shingle sets travel as bytes and ids as objects: Dask must not turn them into strings.
    with dask.config.set({"dataframe.convert-string": False}):
        return _dedup(collection, k, text_column, id_column, content_type_column, hasher, keep, verify,
                      shingle_size, npartitions, max_local_links, progress, against)


def _dedup(collection: Collection, k: int, text_column: str | None, id_column: str | None,
           content_type_column: str | None, hasher: SimHasher | None, keep: str, verify: float | None,
           shingle_size: ShingleSize, npartitions: int | None, max_local_links: int,
           progress: PhaseCallback | None, against: SimHashIndex | Collection | None) -> DaskDedupResult:
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
    index = against if isinstance(against, SimHashIndex) else None
    reference_layout, reference_parts = None, None
    if index is not None:
        hasher = SimHasher.default() if hasher is None else hasher
        if not hasher.__sklearn_is_fitted__():
            raise ValueError("an index as `against` holds fingerprints of a fitted hasher: pass that hasher, fitted")
    elif against is not None:
        if not isinstance(against, (dd.DataFrame, db.Bag)):
            raise TypeError(f"against must be a SimHashIndex or a dask DataFrame or Bag, got {type(against).__name__}")
        try:
            reference_layout = layout_of(against, text_column, id_column, content_type_column)
        except ValueError as exc:  # laid out unlike the input
            raise ValueError(f"against: {exc}") from None
        reference_parts = against.to_delayed()
        if not 1 <= len(reference_parts) < MAX_PARTITIONS:
            raise ValueError(f"the reference must have 1 to {MAX_PARTITIONS - 1} partitions, "
                             f"got {len(reference_parts)}")
    hasher = SimHasher() if hasher is None else hasher
    hasher._check_params()
    shuffle_parts = int(npartitions or max(len(parts), _cluster_threads()))
    phases = _Phases(progress)

    if not hasher.__sklearn_is_fitted__():
        with phases("fit"):
            # A reference of documents is fitted on with the input (one hasher for both), as simdup.dedup does.
            more = [] if reference_parts is None or reference_layout is None else [(reference_parts, reference_layout)]
            hasher = fit(parts, hasher, layout, more)  # None: nothing to fit on, and the result is empty

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
    n = int(offsets[-1])
    edges = edge_rows(links, verified)

    described, names = None, None
    if against is not None and n:  # (as simdup.dedup: an empty input has no reference to describe)
        with phases("reference"):
            edges, described, names = _reference(docs, against, index, k, verify, shingle_size, parts, layout,
                                                 reference_parts, reference_layout, model, len(offsets) - 1, edges,
                                                 phases.persist)
    n_edges = int(edges.map_partitions(len, meta=(None, "int64")).sum().compute())

    with phases("cluster"):
        # Reference nodes are numbered past every document, so a component's label is a document.
        members = linked_components(edges, n_edges, max_local_links, shuffle_parts, phases.persist)
        members = members[members["doc"] < reference_base(len(offsets) - 1)]
        kept = choose_kept(members, edges, docs, keep, layout.id is not None, offsets, shuffle_parts,
                           phases.persist, names)
        clustered = kept.clustered
        head = clustered["doc"] == clustered["label"]
        counts = dask.compute(clustered["doc"].count(), clustered["size"].max(), (head & (clustered["size"] > 1)).sum(),
                              (docs["n_tokens"] == 0).sum(), (clustered["kept"] == clustered["doc"]).sum(),
                              (clustered["reason"] == REFERENCE).sum(), (clustered["kept"] < 0).sum())

    removed_count = int(counts[0]) - int(counts[4])
    if described is not None:
        described = {**described, "matched": int(counts[5]), "removed_in_reference_clusters": int(counts[6])}
    summary = summarize(documents=n, kept=n - removed_count, clusters=int(counts[2]),
                        largest_cluster=max(int(counts[1]) if counts[0] else 0, 1 if n else 0),
                        token_less_documents=int(counts[3]), pairs=n_links, timings=phases.timings,
                        candidate_pairs=n_candidates, reference=described)
    return dask_dedup_result(collection, docs, links, verified, kept.table, kept.removed, offsets, summary)


def _reference(docs: dd.DataFrame, against: SimHashIndex | Collection, index: SimHashIndex | None, k: int,
               verify: float | None, shingle_size: ShingleSize, parts: list[Any], layout: Layout,
               reference_parts: list[Any] | None, reference_layout: Layout | None, model: Any, n_input: int,
               edges: dd.DataFrame, persist: Persist) -> tuple[dd.DataFrame, dict[str, Any], dict[int, Any] | None]:
    """The links with each document's reference match added, the reference described, and its ids (or None)."""
    if index is not None:
        within = min(k, index.k)
        matches = reference_matches(docs, ReferenceFingerprints.of_index(index), within)
        described = {"kind": "index", "documents": len(index), "k": within, "verified": False}
        reference_docs, reference_offsets = None, None
    else:
        assert reference_parts is not None and reference_layout is not None
        reference_docs, reference_offsets = fingerprint(reference_parts, model, reference_layout, False, persist)
        gathered = reference_docs[["fp", "n_tokens"]].compute()
        held = ReferenceFingerprints.of_documents(gathered["fp"].to_numpy(np.uint64),
                                                  gathered["n_tokens"].to_numpy(np.int64), k)
        matches = reference_matches(docs, held, k, parts, layout, reference_parts, reference_layout,
                                    reference_offsets, model, verify, shingle_size, persist)
        described = {"kind": "documents", "documents": int(reference_offsets[-1]), "k": k,
                     "verified": verify is not None}
    matches = persist(matches)
    nodes = np.unique(np.asarray(matches["ref"].compute(), dtype=np.uint64))
    names = None
    if reference_docs is not None and reference_layout is not None and reference_layout.id is not None:
        assert reference_offsets is not None
        names = reference_ids(reference_docs, nodes, reference_offsets)
    edges = dd.concat([edges, reference_edges(matches, nodes, reference_base(n_input))])
    return edges, described, names


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
