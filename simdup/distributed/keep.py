"""Clusters, kept documents and evidence on Dask: each cluster in one partition settles as :func:`simdup.clustering.settle`.

A shuffle on the cluster label puts each cluster in one partition, with its
links: members and links travel as rows of one frame, so they cannot land in
different partitions. Each partition then applies
:func:`~simdup.clustering.settle`'s rules to its clusters: the document to
keep (the first, or the longest; none for a cluster holding a reference
document, which keeps the smallest reference key matched in it), each
member's distance to it, and each member's evidence, the link to its parent
in the breadth-first forest from the kept documents
(:func:`simdup._core.spanning_parents`, on local node numbers that order as
the positions do, so the parents are the local run's). The public table
numbers the clusters 0, 1, ... in order of their first document, as
:func:`simdup.dedup`'s clusters file does.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import dask.dataframe as dd
import numpy as np
import numpy.typing as npt
import pandas as pd
from dask.delayed import delayed

from .. import _core
from .._sorted import find_sorted
from ..clustering import KEPT, NEAR_DUPLICATE, REASONS, REFERENCE, SAME_FINGERPRINT, cluster_winners
from .fingerprint import with_length_and_id
from .keys import ROW_BITS, ROW_MASK, Persist, aligned, empty_frame, positions


class Kept(NamedTuple):
    """The clusters' members and kept documents (all persisted).

    Attributes
    ----------
    clustered : dask DataFrame
        Members, by cluster: ``doc``, ``label``, ``kept`` (-1: kept in the
        reference), ``distance``, ``size`` (documents of the cluster), the
        evidence ``match`` (-1: none), ``match_distance``, ``match_jaccard``,
        ``reason`` (a code of :data:`~simdup.clustering.REASONS`),
        ``kept_reference`` and ``matched_reference`` (reference keys, 0
        elsewhere), and with ids ``id``, ``kept_id``, ``matched_id``.
    removed : dask DataFrame
        The documents not kept, indexed by key, partitioned as the input.
    table : dask DataFrame
        The public cluster table (:attr:`DaskDedupResult.clusters`).
    """

    clustered: dd.DataFrame
    removed: dd.DataFrame
    table: dd.DataFrame


def choose_kept(members: dd.DataFrame, edges: dd.DataFrame, docs: dd.DataFrame, keep: str, with_id: bool,
                offsets: npt.NDArray[np.int64], npartitions: int, persist: Persist,
                reference: dict[int, Any] | None = None) -> Kept:
    """The document each cluster keeps, every member's distance to it, and every member's evidence.

    Parameters
    ----------
    members : dask DataFrame
        ``(doc, label)`` for every linked document (reference nodes left out).
    edges : dask DataFrame
        The links (:func:`edge_rows`): ``i``, ``j``, ``distance``, ``jaccard``
        (NaN: not verified) and ``ref``, the reference key of a link to a
        reference node (``j`` at least ``reference_base(n_input)``).
    docs : dask DataFrame
        The fingerprinted documents, partitioned as the input (with
        ``length`` for keep="longest", ``id`` when the input names them).
    keep : {"first", "longest"}
    with_id : bool
        Whether ``docs`` has ids (then the tables have ``id``, ``kept_id`` and
        ``matched_id``).
    offsets : int64 array
        First position of each input partition, then the total.
    npartitions : int
        Partitions of the shuffles.
    persist : callable
    reference : dict, optional
        A dict from the reference keys matched to their documents' ids
        (``kept_id`` and ``matched_id`` of the reference's documents; None:
        the reference has no ids).
    """
    n_input = len(offsets) - 1
    members = aligned(members, "doc", n_input)
    with_length = keep == "longest"
    meta = _rows_meta(with_length, with_id)
    described = dd.map_partitions(_describe_members, members, docs, with_length, with_id, align_dataframes=False,
                                  meta=meta)
    labelled = edges.merge(members.reset_index().rename(columns={"doc": "i"}), on="i", how="inner",
                           npartitions=npartitions).map_partitions(_edge_rows, with_length, with_id, meta=meta)
    # One frame, one shuffle: a cluster's members and its links land in the same partition.
    rows = dd.concat([described, labelled])
    clustered = persist(rows.shuffle(on="label", npartitions=npartitions).map_partitions(
        _keep_partition, keep, reference_base(n_input), None if reference is None else delayed(reference, pure=True),
        meta=_clustered_meta(with_id)))
    removed = persist(aligned(clustered[clustered["kept"] != clustered["doc"]][["doc"]], "doc", n_input))
    table = persist(_cluster_table(clustered, offsets, n_input, npartitions))
    return Kept(clustered, removed, table)


def reference_base(n_input: int) -> int:
    """The first node number of reference documents: past every document key of ``n_input`` partitions."""
    return n_input << ROW_BITS


def edge_rows(links: dd.DataFrame, verified: bool) -> dd.DataFrame:
    """Links in the form :func:`choose_kept` takes (a ``jaccard`` of NaN when not verified, ``ref`` 0)."""
    return links.map_partitions(_edges, verified, meta=edges_meta())


def edges_meta() -> pd.DataFrame:
    """The links :func:`choose_kept` takes: ``i``, ``j`` (keys; a reference node past every document), ``distance``,
    ``jaccard``, ``ref`` (the reference key of a link to a reference node)."""
    return empty_frame(i=np.int64, j=np.int64, distance=np.uint8, jaccard=np.float64, ref=np.uint64)


def _cluster_table(clustered: dd.DataFrame, offsets: npt.NDArray[np.int64], n_input: int,
                   npartitions: int) -> dd.DataFrame:
    """The public cluster table: positions, dense cluster numbers, sorted by position."""
    by_doc = aligned(clustered, "doc", n_input)
    # A cluster's number is how many clusters start before its first document (the label).
    heads = by_doc.map_partitions(_heads, meta=empty_frame(label=np.int64))
    counts = heads.map_partitions(len, meta=(None, "int64")).compute()
    starts = np.r_[0, np.cumsum(counts)][:-1].astype(np.int64)
    numbered = dd.from_delayed([delayed(_number_heads)(part, int(start)) for part, start in
                                zip(heads.to_delayed(), starts)],
                               meta=empty_frame(label=np.int64, cluster=np.int64), verify_meta=False)
    with_numbers = by_doc.reset_index().merge(numbered, on="label", how="inner", npartitions=npartitions)
    return aligned(with_numbers, "doc", n_input).map_partitions(
        _public_clusters, offsets, meta=_public_clusters_meta("id" in clustered.columns))


def _rows_meta(with_length: bool, with_id: bool) -> pd.DataFrame:
    """Members (``j`` -1) and links (``doc`` is ``i``) in one frame, shuffled together on ``label``."""
    return with_length_and_id(empty_frame(label=np.int64, doc=np.int64, j=np.int64, fp=np.uint64, distance=np.uint8,
                                          jaccard=np.float64, ref=np.uint64), with_length, with_id)


def _clustered_meta(with_id: bool) -> pd.DataFrame:
    meta = empty_frame(doc=np.int64, label=np.int64, kept=np.int64, distance=np.int32, size=np.int64,
                       match=np.int64, match_distance=np.int32, match_jaccard=np.float64, reason=np.uint8,
                       kept_reference=np.uint64, matched_reference=np.uint64)
    if with_id:
        for name in ("id", "kept_id", "matched_id"):
            meta[name] = pd.Series([], dtype=object)
    return meta


def _public_clusters_meta(with_id: bool) -> pd.DataFrame:
    meta = empty_frame(position=np.int64)
    if with_id:
        meta["id"] = pd.Series([], dtype=object)
    for name, dtype in (("label", np.int64), ("cluster", np.int64), ("kept_position", np.int64)):
        meta[name] = np.empty(0, dtype)
    if with_id:
        meta["kept_id"] = pd.Series([], dtype=object)
    meta["distance"] = np.empty(0, np.int32)
    meta["matched_position"] = np.empty(0, np.int64)
    if with_id:
        meta["matched_id"] = pd.Series([], dtype=object)
    meta["match_distance"] = np.empty(0, np.int32)
    meta["match_jaccard"] = np.empty(0, np.float64)
    meta["reason"] = pd.Series([], dtype=object)
    meta["kept_reference"] = np.empty(0, np.uint64)
    meta["matched_reference"] = np.empty(0, np.uint64)
    return meta


# -- on the workers -----------------------------------------------------------------------


def _edges(part: pd.DataFrame, verified: bool) -> pd.DataFrame:
    n = len(part)
    return pd.DataFrame({"i": part["i"].to_numpy(np.int64), "j": part["j"].to_numpy(np.int64),
                         "distance": part["distance"].to_numpy(np.uint8),
                         "jaccard": part["jaccard"].to_numpy(np.float64) if verified else np.full(n, np.nan),
                         "ref": np.zeros(n, np.uint64)})


def _describe_members(members: pd.DataFrame, docs: pd.DataFrame, with_length: bool, with_id: bool) -> pd.DataFrame:
    """Members of one input partition with their fingerprint (length, id) from that partition's documents."""
    keys = members.index.to_numpy(np.int64)
    rows = keys & ROW_MASK
    n = len(keys)
    out: dict[str, Any] = {"label": members["label"].to_numpy(np.int64), "doc": keys, "j": np.full(n, -1, np.int64),
                           "fp": docs["fp"].to_numpy(np.uint64)[rows], "distance": np.zeros(n, np.uint8),
                           "jaccard": np.full(n, np.nan), "ref": np.zeros(n, np.uint64)}
    if with_length:
        out["length"] = docs["length"].to_numpy(np.int64)[rows]
    if with_id:
        out["id"] = pd.Series(docs["id"].to_numpy(object)[rows], dtype=object)
    return pd.DataFrame(out)


def _edge_rows(part: pd.DataFrame, with_length: bool, with_id: bool) -> pd.DataFrame:
    """Links with the label of their documents, as rows of the members' frame (``doc`` is ``i``)."""
    n = len(part)
    out: dict[str, Any] = {"label": part["label"].to_numpy(np.int64), "doc": part["i"].to_numpy(np.int64),
                           "j": part["j"].to_numpy(np.int64), "fp": np.zeros(n, np.uint64),
                           "distance": part["distance"].to_numpy(np.uint8),
                           "jaccard": part["jaccard"].to_numpy(np.float64), "ref": part["ref"].to_numpy(np.uint64)}
    if with_length:
        out["length"] = np.zeros(n, np.int64)
    if with_id:
        out["id"] = pd.Series(np.full(n, None, dtype=object), dtype=object)
    return pd.DataFrame(out)


def _keep_partition(part: pd.DataFrame, keep: str, base: int, reference_ids: dict[int, Any] | None
                    ) -> pd.DataFrame:
    """Whole clusters with their links: the kept document of each, every member's distance to it, its evidence.

    The rules of :func:`simdup.clustering.settle`, on local node numbers:
    the members in key order (the order of their positions), then the
    reference nodes in key order (``j >= base``), as the local run numbers
    them after the documents.
    """
    member = part["j"].to_numpy(np.int64) < 0
    members, links = part[member].sort_values("doc"), part[~member]
    docs, labels = members["doc"].to_numpy(np.int64), members["label"].to_numpy(np.int64)
    fps = members["fp"].to_numpy(np.uint64)
    n = len(docs)
    li, lj = links["doc"].to_numpy(np.int64), links["j"].to_numpy(np.int64)
    link_distance, link_jaccard = links["distance"].to_numpy(np.uint8), links["jaccard"].to_numpy(np.float64)
    link_ref = links["ref"].to_numpy(np.uint64)
    to_reference = lj >= base
    nodes = np.unique(lj[to_reference])  # reference nodes: numbered as their keys order
    local_i = np.searchsorted(docs, li)
    local_j = np.where(to_reference, n + np.searchsorted(nodes, lj), np.searchsorted(docs, lj))

    kept = cluster_winners(labels, -members["length"].to_numpy(np.int64), docs) if keep == "longest" else labels
    # A cluster holding a reference node keeps the smallest reference key matched in it.
    kept_reference = np.zeros(n, np.uint64)
    if to_reference.any():
        ref_labels, ref_keys = links["label"].to_numpy(np.int64)[to_reference], link_ref[to_reference]
        order = np.lexsort((ref_keys, ref_labels))
        ref_labels, ref_keys = ref_labels[order], ref_keys[order]
        first = np.r_[True, ref_labels[1:] != ref_labels[:-1]]
        ref_labels, ref_keys = ref_labels[first], ref_keys[first]
        at, in_reference = find_sorted(ref_labels, labels)
        kept = np.where(in_reference, -1, kept)
        kept_reference[in_reference] = ref_keys[at[in_reference]]
    local = kept >= 0
    kept_row = np.searchsorted(docs, kept)
    roots = np.zeros(n + len(nodes), np.uint8)
    roots[kept_row[local]] = 1
    roots[n:] = 1
    parent, edge = _core.spanning_parents(n + len(nodes), np.ascontiguousarray(local_i, np.int64),
                                          np.ascontiguousarray(local_j, np.int64), roots)
    parent, edge = parent[:n], edge[:n]

    distance = np.full(n, -1, np.int32)
    distance[local] = np.bitwise_count(fps[local] ^ fps[kept_row[local]]).astype(np.int32)
    reason = np.where(kept == docs, KEPT, 0).astype(np.uint8)
    match = np.full(n, -1, np.int64)
    match_distance = np.full(n, -1, np.int32)
    match_jaccard = np.full(n, np.nan)
    matched_reference = np.zeros(n, np.uint64)
    linked = parent >= 0
    e = edge[linked]
    match_distance[linked] = link_distance[e]
    match_jaccard[linked] = link_jaccard[e]
    from_reference = np.zeros(n, bool)
    from_reference[linked] = parent[linked] >= n
    by_link = linked & ~from_reference
    match[by_link] = docs[parent[by_link]]
    reason[by_link] = np.where(link_distance[edge[by_link]] == 0, SAME_FINGERPRINT, NEAR_DUPLICATE)
    matched_reference[from_reference] = link_ref[edge[from_reference]]
    reason[from_reference] = REFERENCE

    _, inverse, sizes = np.unique(labels, return_inverse=True, return_counts=True)
    out: dict[str, Any] = {"doc": docs, "label": labels, "kept": kept, "distance": distance,
                           "size": sizes[inverse].astype(np.int64), "match": match, "match_distance": match_distance,
                           "match_jaccard": match_jaccard, "reason": reason, "kept_reference": kept_reference,
                           "matched_reference": matched_reference}
    if "id" in part:
        ids = members["id"].to_numpy(object)
        out["id"] = pd.Series(ids, dtype=object)
        out["kept_id"] = pd.Series(_named(ids, kept_row, local, kept_reference, reference_ids), dtype=object)
        match_row = np.searchsorted(docs, match)
        out["matched_id"] = pd.Series(_named(ids, match_row, by_link, matched_reference, reference_ids,
                                             from_reference), dtype=object)
    return pd.DataFrame(out)


def _named(ids: npt.NDArray[np.object_], rows: npt.NDArray[np.intp], local: npt.NDArray[np.bool_],
           keys: npt.NDArray[np.uint64], reference_ids: dict[int, Any] | None,
           from_reference: npt.NDArray[np.bool_] | None = None) -> npt.NDArray[np.object_]:
    """Ids of members ``rows`` where ``local``; of reference documents ``keys`` where ``from_reference``
    (by default: wherever not ``local``), when the reference has ids; None elsewhere."""
    out = np.full(len(rows), None, dtype=object)
    out[local] = ids[rows[local]]
    from_reference = ~local if from_reference is None else from_reference
    if reference_ids is not None and from_reference.any():
        out[from_reference] = [reference_ids.get(key) for key in keys[from_reference].tolist()]
    return out


def _heads(part: pd.DataFrame) -> pd.DataFrame:
    labels = part["label"].to_numpy(np.int64)
    return pd.DataFrame({"label": np.sort(labels[labels == part.index.to_numpy(np.int64)])})


def _number_heads(part: pd.DataFrame, start: int) -> pd.DataFrame:
    return pd.DataFrame({"label": part["label"].to_numpy(np.int64),
                         "cluster": start + np.arange(len(part), dtype=np.int64)})


def _public_clusters(part: pd.DataFrame, offsets: npt.NDArray[np.int64]) -> pd.DataFrame:
    part = part.sort_index()
    out: dict[str, Any] = {"position": positions(part.index.to_numpy(np.int64), offsets)}
    if "id" in part:
        out["id"] = pd.Series(part["id"].to_numpy(object), dtype=object)
    out.update({"label": positions(part["label"].to_numpy(np.int64), offsets),
                "cluster": part["cluster"].to_numpy(np.int64),
                "kept_position": _positions_or_none(part["kept"].to_numpy(np.int64), offsets)})
    if "id" in part:
        out["kept_id"] = pd.Series(part["kept_id"].to_numpy(object), dtype=object)
    out["distance"] = part["distance"].to_numpy(np.int32)
    out["matched_position"] = _positions_or_none(part["match"].to_numpy(np.int64), offsets)
    if "id" in part:
        out["matched_id"] = pd.Series(part["matched_id"].to_numpy(object), dtype=object)
    out.update({"match_distance": part["match_distance"].to_numpy(np.int32),
                "match_jaccard": part["match_jaccard"].to_numpy(np.float64),
                "reason": pd.Series(np.asarray(REASONS, dtype=object)[part["reason"].to_numpy(np.uint8)],
                                    dtype=object),
                "kept_reference": part["kept_reference"].to_numpy(np.uint64),
                "matched_reference": part["matched_reference"].to_numpy(np.uint64)})
    return pd.DataFrame(out)


def _positions_or_none(keys: npt.NDArray[np.int64], offsets: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """Positions of ``keys``, -1 for a key of -1 (no document)."""
    return np.where(keys >= 0, positions(np.maximum(keys, 0), offsets), -1)
