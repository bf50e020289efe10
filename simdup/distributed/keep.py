"""Clusters and kept documents on Dask: each cluster in one partition picks its kept document; the cluster table.

A shuffle on the cluster label puts each cluster in one partition, which
picks the document to keep (the first, or the longest) and each member's
distance to it. The public table numbers the clusters 0, 1, ... in order of
their first document, as :func:`simdup.dedup`'s clusters file does.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import dask.dataframe as dd
import numpy as np
import numpy.typing as npt
import pandas as pd
from dask.delayed import delayed

from ..batch import cluster_winners
from .fingerprint import with_length_and_id
from .keys import ROW_MASK, Persist, aligned, empty_frame, positions


class Kept(NamedTuple):
    """The clusters' members and kept documents (all persisted).

    Attributes
    ----------
    clustered : dask DataFrame
        Members, by cluster: ``doc``, ``label``, ``kept``, ``distance``,
        ``size`` (and ``id``, ``kept_id``).
    removed : dask DataFrame
        The documents not kept, indexed by key, partitioned as the input.
    table : dask DataFrame
        The public cluster table (:attr:`DaskDedupResult.clusters`).
    """

    clustered: dd.DataFrame
    removed: dd.DataFrame
    table: dd.DataFrame


def choose_kept(members: dd.DataFrame, docs: dd.DataFrame, keep: str, with_id: bool, offsets: npt.NDArray[np.int64],
                npartitions: int, persist: Persist) -> Kept:
    """The document each cluster keeps and every member's distance to it.

    Parameters
    ----------
    members : dask DataFrame
        ``(doc, label)`` for every linked document.
    docs : dask DataFrame
        The fingerprinted documents, partitioned as the input (with
        ``length`` for keep="longest", ``id`` when the input names them).
    keep : {"first", "longest"}
    with_id : bool
        Whether ``docs`` has ids (then the tables have ``id`` and ``kept_id``).
    offsets : int64 array
        First position of each input partition, then the total.
    npartitions : int
        Partitions of the shuffles.
    persist : callable
    """
    n_input = len(offsets) - 1
    members = aligned(members, "doc", n_input)
    described = dd.map_partitions(_describe_members, members, docs, align_dataframes=False,
                                  meta=with_length_and_id(empty_frame(doc=np.int64, label=np.int64, fp=np.uint64),
                                                          keep == "longest", with_id))
    clustered = persist(described.shuffle(on="label", npartitions=npartitions).map_partitions(
        _keep_partition, keep, meta=_clustered_meta(with_id)))
    removed = persist(aligned(clustered[clustered["kept"] != clustered["doc"]][["doc"]], "doc", n_input))
    table = persist(_cluster_table(clustered, offsets, n_input, npartitions))
    return Kept(clustered, removed, table)


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


def _clustered_meta(with_id: bool) -> pd.DataFrame:
    meta = empty_frame(doc=np.int64, label=np.int64, kept=np.int64, distance=np.int32, size=np.int64)
    if with_id:
        meta["id"] = pd.Series([], dtype=object)
        meta["kept_id"] = pd.Series([], dtype=object)
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
    return meta


# -- on the workers -----------------------------------------------------------------------


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


def _public_clusters(part: pd.DataFrame, offsets: npt.NDArray[np.int64]) -> pd.DataFrame:
    part = part.sort_index()
    out: dict[str, Any] = {"position": positions(part.index.to_numpy(np.int64), offsets)}
    if "id" in part:
        out["id"] = pd.Series(part["id"].to_numpy(object), dtype=object)
    out.update({"label": positions(part["label"].to_numpy(np.int64), offsets),
                "cluster": part["cluster"].to_numpy(np.int64),
                "kept_position": positions(part["kept"].to_numpy(np.int64), offsets)})
    if "id" in part:
        out["kept_id"] = pd.Series(part["kept_id"].to_numpy(object), dtype=object)
    out["distance"] = part["distance"].to_numpy(np.int32)
    return pd.DataFrame(out)
