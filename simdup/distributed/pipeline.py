"""Batch dedup on Dask, for corpora larger than one machine (``pip install "simdup[dask]"``).

:func:`dedup` runs the pipeline of :func:`simdup.dedup` over a Dask
DataFrame or Bag on the active scheduler (a ``dask.distributed`` cluster, or
Dask's local threads) and finds the same clusters and keeps the same
documents. Each phase is one Dask computation whose tables stay on the
workers:

1. **fit** (only for an unfitted hasher): each partition counts the documents
   holding each token; the counts are merged in a tree of tasks and the IDF
   table is built on the client, exactly as :meth:`SimHasher.fit` would from
   all the documents. The fitted model is then one task input, sent once to
   each worker.
2. **fingerprint**: each partition through the compiled core.
3. **identical fingerprints**: a shuffle on the fingerprint; each group's
   first document stands for it and is linked to the others (a star).
4. **self-join**, the batch mode of Manku, Jain and Das Sarma as a shuffle:
   for each permuted table ``t`` of :func:`simdup.batch.join_masks`, every
   distinct fingerprint is routed by ``(t, fingerprint & mask_t)``, so the
   fingerprints sharing a table's key bits meet in one partition, where the
   core sorts them on the key and compares within runs of equal keys. A pair
   is reported only by the first table whose key it agrees on, so no pair is
   reported twice, across tables or partitions, and the links need no
   deduplication.
5. **verify** (``verify`` not None): the shingle sets of linked documents are
   computed in their own partitions and joined onto the links (two
   shuffles); each partition checks its links' Jaccard.
6. **clusters**: connected components of the links, by union-find on the
   client while there are at most ``max_local_links`` links (16 bytes each),
   else by large-star/small-star rounds on the workers
   (:mod:`simdup.dask_components`), which never gather the links.
7. **keep**: a shuffle on the cluster puts each cluster in one partition,
   which picks the document to keep and each member's distance to it.

The input is read once per pass that needs the text (fit, fingerprint, the
two halves of verification, and writing the kept documents), each pass
holding only the partitions its running tasks use; ``persist()`` the input
first when it fits in the cluster's memory and reading is slow.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from math import ceil
from typing import Any

import numpy as np
import numpy.typing as npt

try:
    import dask
    import dask.bag as db
    import dask.dataframe as dd
    import pandas as pd
    from dask.delayed import Delayed, delayed
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError('simdup.dask needs Dask: pip install "simdup[dask]"') from exc

from .. import _core
from .._validation import check_k
from .components import components
from ..batch import (
    DEFAULT_K,
    DEFAULT_SHINGLE_SIZE,
    DEFAULT_VERIFY,
    MAX_K,
    DedupResult,
    Pairs,
    ShingleSize,
    check_shingle_size,
    check_verify,
    cluster_winners,
    clusters,
    document_length,
    group_identical,
    join_masks,
    relink_failed,
    shingle_sets,
    summarize,
    verify_links,
)
from ..hasher import SimHasher

__all__ = ["DaskDedupResult", "dedup"]

Collection = dd.DataFrame | db.Bag
PhaseCallback = Callable[[str], Any]

# A document is known inside the pipeline by (partition << ROW_BITS) | row: the
# key orders documents as their positions do, needs no pass to count partition
# lengths first, and tells which input partition a document lives in.
ROW_BITS = 40
ROW_MASK = (1 << ROW_BITS) - 1
MAX_PARTITIONS = 1 << (63 - ROW_BITS)
JOIN_ROWS_PER_PARTITION = 2_000_000  # rows of the self-join shuffle per output partition
DEFAULT_MAX_LOCAL_LINKS = 20_000_000  # 320 MB of links on the client
# A row through a Dask shuffle costs about this many comparisons in the join
# kernel (benchmarks/bench_dask.py measured 139 to 174); the table design weighs
# it, which favours fewer tables with longer runs than on one machine.
SHUFFLE_ROW_COST = 150.0


@dataclass(frozen=True)
class _Layout:
    """Where each partition of the input keeps its documents."""

    is_bag: bool
    text: str | None
    id: str | None
    content_type: str | None


@dataclass
class DaskDedupResult:
    """Outcome of :func:`dedup`: tables on the workers, and a summary.

    Positions are 0-based document numbers in input order (partition by
    partition), the indices :func:`simdup.dedup` would use.

    Attributes
    ----------
    documents : dask DataFrame
        One row per input document, partitioned as the input: ``position``,
        ``fingerprint`` (uint64), ``n_tokens``.
    clusters : dask DataFrame
        One row per document in a cluster of two or more, by position:
        ``position``, ``label`` (position of the cluster's first document,
        as :attr:`DedupResult.labels`), ``cluster`` (clusters numbered 0, 1,
        ... in order of their first document), ``kept_position``,
        ``distance`` (bits from the kept document's fingerprint), and with an
        ``id_column``, ``id`` and ``kept_id``.
    links : dask DataFrame
        The near-duplicate links after verification: ``i < j`` (positions),
        ``distance``, and ``jaccard`` when verification ran.
    summary : dict
        Counts and seconds per phase, as :attr:`DedupResult.summary`.
    """

    documents: dd.DataFrame
    clusters: dd.DataFrame
    links: dd.DataFrame
    summary: dict[str, Any]
    collection: Collection = field(repr=False)
    _removed: dd.DataFrame = field(repr=False)
    _offsets: npt.NDArray[np.int64] = field(repr=False)

    @property
    def kept(self) -> Collection:
        """The input without its near-duplicates (same type and partitions, lazy)."""
        return self.select_kept(self.collection)

    def select_kept(self, collection: Collection) -> Collection:
        """Drop the removed documents' rows from any collection partitioned like the input.

        ``collection`` must have the input's partitions with the same number of
        rows each (the raw records a corpus was parsed from, say).
        """
        parts = collection.to_delayed()
        flags = self.keep_flags()
        if len(parts) != len(flags):
            raise ValueError(f"the collection has {len(parts)} partitions; the deduplicated input had {len(flags)}")
        kept = [delayed(_select_rows)(part, keep) for part, keep in zip(parts, flags)]
        if isinstance(collection, db.Bag):
            return db.from_delayed(kept)
        with dask.config.set({"dataframe.convert-string": False}):  # the input's columns as they were
            return dd.from_delayed(kept, meta=collection._meta, verify_meta=False)

    def keep_flags(self) -> list[Delayed]:
        """One lazy boolean array per input partition: True for the documents kept."""
        return [delayed(_keep_flags)(removed, n)
                for removed, n in zip(self._removed.to_delayed(), np.diff(self._offsets).tolist())]

    def to_local(self) -> DedupResult:
        """The whole result as a :class:`~simdup.DedupResult` of numpy arrays (gathers every document)."""
        docs, members, links = dask.compute(self.documents, self.clusters, self.links)
        fps = docs["fingerprint"].to_numpy(np.uint64)
        n = len(fps)
        labels = np.arange(n, dtype=np.int64)
        representative = labels.copy()
        distance = np.zeros(n, dtype=np.int32)
        position = members["position"].to_numpy(np.int64)
        labels[position] = members["label"].to_numpy(np.int64)
        representative[position] = members["kept_position"].to_numpy(np.int64)
        distance[position] = members["distance"].to_numpy(np.int32)
        links = links.sort_values(["i", "j"])
        pairs = Pairs(links["i"].to_numpy(np.int64), links["j"].to_numpy(np.int64),
                      links["distance"].to_numpy(np.uint8))
        jaccard = links["jaccard"].to_numpy(np.float64) if "jaccard" in links else None
        return DedupResult(fps, docs["n_tokens"].to_numpy(np.int64), labels, representative,
                           representative == np.arange(n), distance, pairs, jaccard,
                           dict(self.summary["timings"]))


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
    layout = _layout(collection, text_column, id_column, content_type_column)
    parts = collection.to_delayed()
    if not 1 <= len(parts) < MAX_PARTITIONS:
        raise ValueError(f"the collection must have 1 to {MAX_PARTITIONS - 1} partitions, got {len(parts)}")
    hasher = SimHasher() if hasher is None else hasher
    hasher._check_params()
    shuffle_parts = int(npartitions or max(len(parts), _cluster_threads()))
    phases = _Phases(progress)

    if not hasher.__sklearn_is_fitted__():
        with phases("fit"):
            counted = [delayed(_count_terms)(part, hasher, layout) for part in parts]
            vocabulary, df, n_docs = _tree_reduce(counted, _merge_counts).compute()
            if n_docs == 0:
                hasher = None  # nothing to fit; an empty input gives an empty result below
            else:
                hasher._fit_frequencies(vocabulary, df, n_docs)

    with phases("fingerprint"):
        model = delayed(hasher, pure=True) if hasher is not None else None
        docs = phases.persist(dd.from_delayed(
            [delayed(_fingerprint_partition)(part, p, model, layout, keep == "longest") for p, part in enumerate(parts)],
            meta=_docs_meta(keep == "longest", layout.id is not None), verify_meta=False))
        lengths = np.array(docs.map_partitions(len, meta=(None, "int64")).compute(), dtype=np.int64)
        offsets = np.r_[0, np.cumsum(lengths)].astype(np.int64)

    with phases("join"):
        candidates = docs[docs["n_tokens"] > 0][["fp", "doc"]]
        grouped = phases.persist(candidates.shuffle(on="fp", npartitions=shuffle_parts))
        distinct = phases.persist(grouped.map_partitions(_distinct_fingerprints, meta=_frame(fp=np.uint64,
                                                                                             doc=np.int64)))
        stars = grouped.map_partitions(_star_links, meta=_links_meta())
        n_distinct = int(distinct.map_partitions(len, meta=(None, "int64")).sum().compute())
        masks = join_masks(k, n_distinct, SHUFFLE_ROW_COST)
        join_parts = max(shuffle_parts, ceil(len(masks) * n_distinct / JOIN_ROWS_PER_PARTITION))
        keyed = distinct.map_partitions(_table_keys, masks, meta=_frame(table=np.int32, key=np.uint64,
                                                                        fp=np.uint64, doc=np.int64))
        joined = keyed.shuffle(on=["table", "key"], npartitions=join_parts).map_partitions(
            _join_partition, masks, k, meta=_links_meta())
        links = phases.persist(dd.concat([stars, joined]))
        n_candidates = int(links.map_partitions(len, meta=(None, "int64")).sum().compute())

    verified = verify is not None and n_candidates > 0  # as simdup.dedup: no candidates, no check
    if verified:
        with phases("verify"):
            assert verify is not None and model is not None
            links = _verify(links, parts, model, layout, verify, shingle_size, shuffle_parts, phases.persist)
    n_links = int(links.map_partitions(len, meta=(None, "int64")).sum().compute())

    with phases("cluster"):
        if n_links <= max_local_links:
            local = links[["i", "j"]].compute()
            nodes = _local_components(local["i"].to_numpy(np.int64), local["j"].to_numpy(np.int64))
            members = dd.from_pandas(nodes, npartitions=max(1, min(shuffle_parts, len(nodes) // 100_000 + 1)))
        else:
            members = components(links[["i", "j"]], shuffle_parts, phases.persist).rename(
                columns={"node": "doc"})
        members = _aligned(members, "doc", len(parts))
        described = dd.map_partitions(_describe_members, members, docs, align_dataframes=False,
                                      meta=_members_meta(keep == "longest", layout.id is not None))
        clustered = phases.persist(described.shuffle(on="label", npartitions=shuffle_parts).map_partitions(
            _keep_partition, keep, meta=_clustered_meta(layout.id is not None)))
        removed = phases.persist(_aligned(clustered[clustered["kept"] != clustered["doc"]][["doc"]], "doc",
                                          len(parts)))
        table = phases.persist(_cluster_table(clustered, offsets, len(parts), shuffle_parts))
        counts = dask.compute(clustered["doc"].count(), clustered["size"].max(), (clustered["doc"] ==
                              clustered["label"]).sum(), (docs["n_tokens"] == 0).sum())

    removed_count = int(counts[0]) - int(counts[2])
    n = int(offsets[-1])
    summary = summarize(documents=n, kept=n - removed_count, clusters=int(counts[2]),
                        largest_cluster=max(int(counts[1]) if counts[0] else 0, 1 if n else 0),
                        token_less_documents=int(counts[3]), pairs=n_links, timings=phases.timings,
                        candidate_pairs=n_candidates)
    documents = docs.map_partitions(_public_documents, offsets,
                                    meta=_frame(position=np.int64, fingerprint=np.uint64, n_tokens=np.int64))
    public_links = links.map_partitions(_public_links, offsets, verified, meta=_links_meta(jaccard=verified))
    return DaskDedupResult(documents, table, public_links, summary, collection, removed, offsets)


# -- the phases -----------------------------------------------------------------------


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
            from distributed import wait

            wait(frame)
        return frame


def _client() -> Any:
    try:
        from distributed import get_client
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


def _verify(links: dd.DataFrame, parts: list[Delayed], model: Delayed, layout: _Layout, threshold: float,
            shingle_size: ShingleSize, npartitions: int, persist: Callable[[dd.DataFrame], dd.DataFrame]) -> dd.DataFrame:
    """The links whose shingle Jaccard reaches ``threshold``, with a ``jaccard`` column.

    As :func:`simdup.batch.verify_links`: the star links of identical
    fingerprints that fail are relinked among their group's failed members
    (:func:`simdup.batch.relink_failed`) and checked again, round after round.
    A failed star link keeps its member's shingle set, and a shuffle on the
    hub puts each group in one partition, so those rounds run there without
    reading the input again.
    """
    checked = _jaccard(links, parts, model, layout, shingle_size, threshold, persist)
    passed = checked[checked["jaccard"] >= threshold][["i", "j", "distance", "jaccard"]]
    failed = checked[(checked["jaccard"] < threshold) & (checked["distance"] == 0)]
    relinked = failed.shuffle(on="i", npartitions=npartitions).map_partitions(
        _relink_partition, threshold, meta=_links_meta(jaccard=True))
    return persist(dd.concat([passed, relinked]))


def _jaccard(links: dd.DataFrame, parts: list[Delayed], model: Delayed, layout: _Layout, shingle_size: ShingleSize,
             threshold: float, persist: Callable[[dd.DataFrame], dd.DataFrame]) -> dd.DataFrame:
    """``links`` with the shingle Jaccard of their documents (persisted).

    Each link goes to the partition of its document ``i``, which shingles
    ``i`` from its own text and attaches the set; then to the partition of
    ``j``, which shingles ``j`` and compares. One shuffle carries shingle
    sets, and no document's text leaves its partition. The first pass is
    persisted before the second starts, so each reads its input partition
    anew rather than every partition waiting in memory for the shuffle.
    """
    n_input = len(parts)
    by_i = _aligned(links, "i", n_input).to_delayed()
    with_i = dd.from_delayed([delayed(_attach_shingles)(part, lk, model, layout, shingle_size)
                              for part, lk in zip(parts, by_i)],
                             meta=_links_meta().assign(terms_i=pd.Series([], dtype=object)), verify_meta=False)
    by_j = persist(_aligned(with_i, "j", n_input)).to_delayed()
    return persist(dd.from_delayed([delayed(_check_links)(part, lk, model, layout, shingle_size, threshold)
                                    for part, lk in zip(parts, by_j)],
                                   meta=_links_meta(jaccard=True).assign(terms_j=pd.Series([], dtype=object)),
                                   verify_meta=False))


def _relink_partition(part: pd.DataFrame, threshold: float) -> pd.DataFrame:
    """Failed star links, whole groups (shuffled on the hub ``i``): the later rounds of verification."""
    i, j, d = part["i"].to_numpy(np.int64), part["j"].to_numpy(np.int64), part["distance"].to_numpy(np.uint8)
    sets = dict(zip(j.tolist(), part["terms_j"].tolist()))  # a member is in one star: j is unique here
    pairs = Pairs(*relink_failed(i, j, d, np.zeros(len(i), bool)))
    kept, jaccard = verify_links(pairs, threshold, lambda a, b: _jaccard_of_blobs([sets[x] for x in a.tolist()],
                                                                                  [sets[x] for x in b.tolist()]))
    return pd.DataFrame({"i": kept.i, "j": kept.j, "distance": kept.distance, "jaccard": jaccard})


def _local_components(i: npt.NDArray[np.int64], j: npt.NDArray[np.int64]) -> pd.DataFrame:
    """``(doc, label)`` of every linked document, by union-find over the linked documents only."""
    nodes, inverse = np.unique(np.concatenate([i, j]), return_inverse=True)
    labels = clusters(len(nodes), inverse[:len(i)], inverse[len(i):])
    return pd.DataFrame({"doc": nodes, "label": nodes[labels]})


def _cluster_table(clustered: dd.DataFrame, offsets: npt.NDArray[np.int64], n_input: int,
                   npartitions: int) -> dd.DataFrame:
    """The public cluster table: positions, dense cluster numbers, sorted by position."""
    by_doc = _aligned(clustered, "doc", n_input)
    # A cluster's number is how many clusters start before its first document (the label).
    heads = by_doc.map_partitions(_heads, meta=_frame(label=np.int64))
    counts = heads.map_partitions(len, meta=(None, "int64")).compute()
    starts = np.r_[0, np.cumsum(counts)][:-1].astype(np.int64)
    numbered = dd.from_delayed([delayed(_number_heads)(part, int(start)) for part, start in
                                zip(heads.to_delayed(), starts)],
                               meta=_frame(label=np.int64, cluster=np.int64), verify_meta=False)
    with_numbers = by_doc.reset_index().merge(numbered, on="label", how="inner", npartitions=npartitions)
    return _aligned(with_numbers, "doc", n_input).map_partitions(
        _public_clusters, offsets, meta=_public_clusters_meta("id" in clustered.columns))


# -- partition functions (run on the workers) ---------------------------------------------


def _layout(collection: object, text: str | None, id_column: str | None, content_type: str | None) -> _Layout:
    if isinstance(collection, dd.DataFrame):
        columns = list(collection.columns)
        for name, value in (("text_column", text), ("id_column", id_column), ("content_type_column", content_type)):
            if value is not None and value not in columns:
                raise ValueError(f"{name}={value!r} is not a column; columns: {', '.join(map(str, columns))}")
        if text is None:
            raise ValueError("text_column is required for a DataFrame")
        return _Layout(False, text, id_column, content_type)
    if isinstance(collection, db.Bag):
        if content_type is not None:
            raise ValueError("content_type_column is for DataFrames; a Bag holds (page, content_type) pairs")
        if text is None and id_column is not None:
            raise ValueError("id_column needs a Bag of dicts (with text_column); a Bag of documents has no ids")
        return _Layout(True, text, id_column, None)
    raise TypeError(f"expected a dask DataFrame or Bag, got {type(collection).__name__}")


def _documents(part: Any, layout: _Layout) -> tuple[list[Any], list[Any] | None]:
    """The documents of one input partition, and their ids."""
    if not layout.is_bag:
        texts = part[layout.text].tolist()
        ids = part[layout.id].tolist() if layout.id else None
        if layout.content_type:
            texts = [(t, c if isinstance(c, str) else None) for t, c in zip(texts, part[layout.content_type])]
        return texts, ids
    items = list(part)
    if layout.text is None:
        return items, None
    try:
        texts = [item[layout.text] for item in items]
        ids = [item.get(layout.id) for item in items] if layout.id else None
    except (KeyError, TypeError, AttributeError):
        raise ValueError(f"every Bag item must be a dict with a {layout.text!r} key "
                         "(or pass text_column=None for a Bag of documents)") from None
    return texts, ids


def _doc_keys(partition: int, n: int) -> npt.NDArray[np.int64]:
    if n > ROW_MASK:
        raise ValueError(f"a partition holds at most {ROW_MASK} documents, got {n}")
    return (np.int64(partition) << ROW_BITS) | np.arange(n, dtype=np.int64)


def _count_terms(part: Any, hasher: SimHasher, layout: _Layout
                 ) -> tuple[npt.NDArray[np.uint64], npt.NDArray[np.int64], int]:
    """Each distinct token of the partition with the number of its documents that hold it."""
    texts, _ = _documents(part, layout)
    lo, hi = hasher._check_params()
    _, terms = _core.doc_terms(hasher._prepare(texts), lo, hi, hasher._preparer().flags)
    vocabulary, df = np.unique(terms, return_counts=True)
    return vocabulary, df.astype(np.int64), len(texts)


def _merge_counts(*counts: tuple[np.ndarray, np.ndarray, int]) -> tuple[np.ndarray, np.ndarray, int]:
    terms = np.concatenate([c[0] for c in counts])
    df = np.concatenate([c[1] for c in counts])
    order = np.argsort(terms, kind="stable")
    terms, df = terms[order], df[order]
    head = np.r_[True, terms[1:] != terms[:-1]] if len(terms) else np.zeros(0, bool)
    summed = np.add.reduceat(df, np.flatnonzero(head)) if len(terms) else df
    return terms[head], summed.astype(np.int64), sum(c[2] for c in counts)


def _tree_reduce(items: list[Delayed], combine: Callable[..., Any], fan_in: int = 8) -> Delayed:
    while len(items) > 1:
        items = [delayed(combine)(*items[s:s + fan_in]) for s in range(0, len(items), fan_in)]
    return items[0]


def _fingerprint_partition(part: Any, partition: int, hasher: SimHasher | None, layout: _Layout,
                           with_length: bool) -> pd.DataFrame:
    texts, ids = _documents(part, layout)
    fps, n_tokens = np.empty(0, np.uint64), np.empty(0, np.int64)
    if texts and hasher is not None:  # (no hasher: the input is empty, so nothing was fitted)
        fps, n_tokens = hasher.transform(texts, return_n_tokens=True)
    columns: dict[str, Any] = {"doc": _doc_keys(partition, len(fps)), "fp": fps, "n_tokens": n_tokens}
    if with_length:
        columns["length"] = np.array([document_length(t) for t in texts], dtype=np.int64)
    if ids is not None:
        columns["id"] = pd.Series(ids, dtype=object)
    return pd.DataFrame(columns)


def _distinct_fingerprints(part: pd.DataFrame) -> pd.DataFrame:
    unique, first, _, _ = group_identical(part["fp"].to_numpy(np.uint64), part["doc"].to_numpy(np.int64))
    return pd.DataFrame({"fp": unique, "doc": first})


def _star_links(part: pd.DataFrame) -> pd.DataFrame:
    _, _, hub, member = group_identical(part["fp"].to_numpy(np.uint64), part["doc"].to_numpy(np.int64))
    return pd.DataFrame({"i": hub, "j": member, "distance": np.zeros(len(hub), np.uint8)})


def _table_keys(part: pd.DataFrame, masks: npt.NDArray[np.uint64]) -> pd.DataFrame:
    """One row per (table, fingerprint): the key is the fingerprint's bits under the table's mask."""
    fps, docs = part["fp"].to_numpy(np.uint64), part["doc"].to_numpy(np.int64)
    tables = len(masks)
    return pd.DataFrame({"table": np.repeat(np.arange(tables, dtype=np.int32), len(fps)),
                         "key": np.tile(fps, tables) & np.repeat(masks, len(fps)),
                         "fp": np.tile(fps, tables), "doc": np.tile(docs, tables)})


def _join_partition(part: pd.DataFrame, masks: npt.NDArray[np.uint64], k: int) -> pd.DataFrame:
    """Pairs within ``k`` among rows of equal key, per table; a pair only from its first table."""
    table = part["table"].to_numpy(np.int32)
    order = np.argsort(table, kind="stable")
    table, fps, docs = table[order], part["fp"].to_numpy(np.uint64)[order], part["doc"].to_numpy(np.int64)[order]
    bounds = np.flatnonzero(np.r_[True, table[1:] != table[:-1], True]) if len(table) else np.zeros(1, np.intp)
    out_i, out_j, out_d = [np.empty(0, np.int64)], [np.empty(0, np.int64)], [np.empty(0, np.uint8)]
    for lo, hi in zip(bounds[:-1].tolist(), bounds[1:].tolist()):
        t = int(table[lo])
        i, j, d = _core.self_join(np.ascontiguousarray(fps[lo:hi]), masks[:t + 1], k, t)
        a, b = docs[lo:hi][i], docs[lo:hi][j]
        out_i.append(np.minimum(a, b))
        out_j.append(np.maximum(a, b))
        out_d.append(d)
    return pd.DataFrame({"i": np.concatenate(out_i), "j": np.concatenate(out_j), "distance": np.concatenate(out_d)})


def _shingles(part: Any, keys: npt.NDArray[np.int64], hasher: SimHasher, layout: _Layout,
              shingle_size: ShingleSize) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.uint64]]:
    texts, _ = _documents(part, layout)
    return shingle_sets(hasher, [texts[r] for r in (keys & ROW_MASK).tolist()], shingle_size)


def _object_array(items: list[Any]) -> npt.NDArray[np.object_]:
    out = np.empty(len(items), dtype=object)  # (np.array would nest sequences)
    out[:] = items
    return out


def _blobs(indptr: npt.NDArray[np.int64], terms: npt.NDArray[np.uint64]) -> list[bytes]:
    return [terms[a:b].tobytes() for a, b in zip(indptr[:-1].tolist(), indptr[1:].tolist())]


def _attach_shingles(part: Any, links: pd.DataFrame, hasher: SimHasher, layout: _Layout,
                     shingle_size: ShingleSize) -> pd.DataFrame:
    """Links whose ``i`` is in this partition (the index), with ``i``'s shingle set as bytes."""
    i = links.index.to_numpy(np.int64)
    keys, inverse = np.unique(i, return_inverse=True)
    blobs = _blobs(*_shingles(part, keys, hasher, layout, shingle_size))
    return pd.DataFrame({"i": i, "j": links["j"].to_numpy(np.int64), "distance": links["distance"].to_numpy(np.uint8),
                         "terms_i": pd.Series(_object_array(blobs)[inverse], dtype=object)})


def _check_links(part: Any, links: pd.DataFrame, hasher: SimHasher, layout: _Layout, shingle_size: ShingleSize,
                 threshold: float) -> pd.DataFrame:
    """Links whose ``j`` is in this partition (the index), with their Jaccard.

    A failed star link (distance 0) also keeps ``j``'s shingle set for the
    next rounds; other links drop it.
    """
    j = links.index.to_numpy(np.int64)
    keys, inverse = np.unique(j, return_inverse=True)
    indptr, terms = _shingles(part, keys, hasher, layout, shingle_size)
    # One CSR: j's sets (rows 0..len(keys)-1), then each link's i set.
    i_ptr, i_terms = _csr_of_blobs(links["terms_i"].tolist())
    all_ptr = np.r_[indptr, indptr[-1] + i_ptr[1:]].astype(np.int64)
    rows_i = len(keys) + np.arange(len(links), dtype=np.int64)
    jaccard = _core.jaccard_pairs(all_ptr, np.concatenate([terms, i_terms]), rows_i, inverse.astype(np.int64))
    distance = links["distance"].to_numpy(np.uint8)
    failed_star = np.flatnonzero((jaccard < threshold) & (distance == 0))
    terms_j = np.full(len(j), None, dtype=object)
    terms_j[failed_star] = [terms[indptr[x]:indptr[x + 1]].tobytes() for x in inverse[failed_star].tolist()]
    return pd.DataFrame({"i": links["i"].to_numpy(np.int64), "j": j, "distance": distance, "jaccard": jaccard,
                         "terms_j": pd.Series(terms_j, dtype=object)})


def _csr_of_blobs(blobs: list[bytes]) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.uint64]]:
    """Term sets carried as bytes (from :func:`_blobs`) back to CSR ``(indptr, terms)``."""
    sizes = np.fromiter(map(len, blobs), dtype=np.int64, count=len(blobs)) // 8
    terms = np.frombuffer(b"".join(blobs), dtype=np.uint64)  # contiguous, read-only: the kernels only read
    return np.r_[0, np.cumsum(sizes)].astype(np.int64), terms


def _jaccard_of_blobs(a: list[bytes], b: list[bytes]) -> npt.NDArray[np.float64]:
    """Jaccard of the sorted term sets ``a[e]`` and ``b[e]`` (uint64 as bytes)."""
    indptr, terms = _csr_of_blobs(a + b)
    rows = np.arange(len(a), dtype=np.int64)
    return _core.jaccard_pairs(indptr, terms, rows, rows + len(a))


def _describe_members(members: pd.DataFrame, docs: pd.DataFrame) -> pd.DataFrame:
    """Members of one input partition with their fingerprint (length, id) from that partition's documents."""
    keys = members.index.to_numpy(np.int64)
    rows = keys & ROW_MASK
    out = {"doc": keys, "label": members["label"].to_numpy(np.int64), "fp": docs["fp"].to_numpy(np.uint64)[rows]}
    if "length" in docs:
        out["length"] = docs["length"].to_numpy(np.int64)[rows]
    if "id" in docs:
        out["id"] = pd.Series(docs["id"].to_numpy(object)[rows], dtype=object)
    return pd.DataFrame(out)


def _keep_partition(part: pd.DataFrame, keep: str) -> pd.DataFrame:
    """Whole clusters: the kept document of each, and every member's distance to it."""
    docs, labels = part["doc"].to_numpy(np.int64), part["label"].to_numpy(np.int64)
    fps = part["fp"].to_numpy(np.uint64)
    if keep == "longest":
        kept = cluster_winners(labels, -part["length"].to_numpy(np.int64), docs)
    else:
        kept = labels
    order = np.argsort(docs)
    kept_row = order[np.searchsorted(docs, kept, sorter=order)]
    _, inverse, sizes = np.unique(labels, return_inverse=True, return_counts=True)
    out = {"doc": docs, "label": labels, "kept": kept,
           "distance": np.bitwise_count(fps ^ fps[kept_row]).astype(np.int32), "size": sizes[inverse]}
    if "id" in part:
        ids = part["id"].to_numpy(object)
        out["id"] = pd.Series(ids, dtype=object)
        out["kept_id"] = pd.Series(ids[kept_row], dtype=object)
    return pd.DataFrame(out)


def _heads(part: pd.DataFrame) -> pd.DataFrame:
    labels = part["label"].to_numpy(np.int64)
    return pd.DataFrame({"label": np.sort(labels[labels == part.index.to_numpy(np.int64)])})


def _number_heads(part: pd.DataFrame, start: int) -> pd.DataFrame:
    return pd.DataFrame({"label": part["label"].to_numpy(np.int64),
                         "cluster": start + np.arange(len(part), dtype=np.int64)})


def _positions(keys: npt.NDArray[np.int64], offsets: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    return offsets[keys >> ROW_BITS] + (keys & ROW_MASK)


def _public_documents(part: pd.DataFrame, offsets: npt.NDArray[np.int64]) -> pd.DataFrame:
    return pd.DataFrame({"position": _positions(part["doc"].to_numpy(np.int64), offsets),
                         "fingerprint": part["fp"].to_numpy(np.uint64),
                         "n_tokens": part["n_tokens"].to_numpy(np.int64)})


def _public_links(part: pd.DataFrame, offsets: npt.NDArray[np.int64], with_jaccard: bool) -> pd.DataFrame:
    out = {"i": _positions(part["i"].to_numpy(np.int64), offsets),
           "j": _positions(part["j"].to_numpy(np.int64), offsets),
           "distance": part["distance"].to_numpy(np.uint8)}
    if with_jaccard:
        out["jaccard"] = part["jaccard"].to_numpy(np.float64)
    return pd.DataFrame(out)


def _public_clusters(part: pd.DataFrame, offsets: npt.NDArray[np.int64]) -> pd.DataFrame:
    part = part.sort_index()
    out: dict[str, Any] = {"position": _positions(part.index.to_numpy(np.int64), offsets)}
    if "id" in part:
        out["id"] = pd.Series(part["id"].to_numpy(object), dtype=object)
    out.update({"label": _positions(part["label"].to_numpy(np.int64), offsets),
                "cluster": part["cluster"].to_numpy(np.int64),
                "kept_position": _positions(part["kept"].to_numpy(np.int64), offsets)})
    if "id" in part:
        out["kept_id"] = pd.Series(part["kept_id"].to_numpy(object), dtype=object)
    out["distance"] = part["distance"].to_numpy(np.int32)
    return pd.DataFrame(out)


def _keep_flags(removed: pd.DataFrame, n: int) -> npt.NDArray[np.bool_]:
    keep = np.ones(n, dtype=bool)
    keep[removed.index.to_numpy(np.int64) & ROW_MASK] = False
    return keep


def _select_rows(part: Any, keep: npt.NDArray[np.bool_]) -> Any:
    if len(part) != len(keep):
        raise ValueError(f"a partition has {len(part)} rows where the deduplicated input had {len(keep)}")
    if isinstance(part, pd.DataFrame):
        return part.iloc[np.flatnonzero(keep)]
    return [item for item, kept in zip(part, keep.tolist()) if kept]


# -- frames and partitioning ----------------------------------------------------------


def _aligned(frame: dd.DataFrame, column: str, n_input: int) -> dd.DataFrame:
    """``frame`` indexed by the document key in ``column``, partition p holding input partition p's documents."""
    divisions = [p << ROW_BITS for p in range(n_input)] + [(n_input << ROW_BITS) - 1]
    return frame.set_index(column, divisions=divisions)


def _frame(**columns: Any) -> pd.DataFrame:
    return pd.DataFrame({name: np.empty(0, dtype) for name, dtype in columns.items()})


def _docs_meta(with_length: bool, with_id: bool) -> pd.DataFrame:
    return _with_length_and_id(_frame(doc=np.int64, fp=np.uint64, n_tokens=np.int64), with_length, with_id)


def _with_length_and_id(meta: pd.DataFrame, with_length: bool, with_id: bool) -> pd.DataFrame:
    if with_length:
        meta["length"] = np.empty(0, np.int64)
    if with_id:
        meta["id"] = pd.Series([], dtype=object)
    return meta


def _links_meta(jaccard: bool = False) -> pd.DataFrame:
    meta = _frame(i=np.int64, j=np.int64, distance=np.uint8)
    if jaccard:
        meta["jaccard"] = np.empty(0, np.float64)
    return meta


def _members_meta(with_length: bool, with_id: bool) -> pd.DataFrame:
    return _with_length_and_id(_frame(doc=np.int64, label=np.int64, fp=np.uint64), with_length, with_id)


def _clustered_meta(with_id: bool) -> pd.DataFrame:
    meta = _frame(doc=np.int64, label=np.int64, kept=np.int64, distance=np.int32, size=np.int64)
    if with_id:
        meta["id"] = pd.Series([], dtype=object)
        meta["kept_id"] = pd.Series([], dtype=object)
    return meta


def _public_clusters_meta(with_id: bool) -> pd.DataFrame:
    meta = _frame(position=np.int64)
    if with_id:
        meta["id"] = pd.Series([], dtype=object)
    for name, dtype in (("label", np.int64), ("cluster", np.int64), ("kept_position", np.int64)):
        meta[name] = np.empty(0, dtype)
    if with_id:
        meta["kept_id"] = pd.Series([], dtype=object)
    meta["distance"] = np.empty(0, np.int32)
    return meta
