"""The distributed self-join: identical fingerprints collapsed by one shuffle, then the batch mode as a shuffle.

Identical fingerprints meet in one partition (a shuffle on the fingerprint);
each group's first document stands for it and is linked to the others (a
star). Then the batch mode of Manku, Jain and Das Sarma: for each permuted
table ``t`` of :func:`simdup.batch.join_masks`, every distinct fingerprint is
routed by ``(t, fingerprint & mask_t)``, so the fingerprints sharing a
table's key bits meet in one partition, where the core sorts them on the key
and compares within runs of equal keys. A pair is reported only by the first
table whose key it agrees on, so no pair is reported twice, across tables or
partitions, and the links need no deduplication.
"""

from __future__ import annotations

from math import ceil

import dask.dataframe as dd
import numpy as np
import numpy.typing as npt
import pandas as pd

from .. import _core
from ..batch import group_identical, join_masks
from .keys import Persist, empty_frame, links_meta

JOIN_ROWS_PER_PARTITION = 2_000_000  # rows of the self-join shuffle per output partition
# A row through a Dask shuffle costs about this many comparisons in the join
# kernel (benchmarks/bench_dask.py measured 139 to 174); the table design weighs
# it, which favours fewer tables with longer runs than on one machine.
SHUFFLE_ROW_COST = 150.0


def candidate_links(docs: dd.DataFrame, k: int, npartitions: int, persist: Persist) -> tuple[dd.DataFrame, int]:
    """The links within ``k`` bits among documents with tokens (persisted), and how many there are.

    ``docs`` has the document keys ``doc`` and fingerprints ``fp``; the links
    are ``i < j`` (keys) with their ``distance``.
    """
    candidates = docs[docs["n_tokens"] > 0][["fp", "doc"]]
    grouped = persist(candidates.shuffle(on="fp", npartitions=npartitions))
    distinct = persist(grouped.map_partitions(_distinct_fingerprints, meta=empty_frame(fp=np.uint64, doc=np.int64)))
    stars = grouped.map_partitions(_star_links, meta=links_meta())
    n_distinct = int(distinct.map_partitions(len, meta=(None, "int64")).sum().compute())
    masks = join_masks(k, n_distinct, SHUFFLE_ROW_COST)
    join_parts = max(npartitions, ceil(len(masks) * n_distinct / JOIN_ROWS_PER_PARTITION))
    keyed = distinct.map_partitions(_table_keys, masks, meta=empty_frame(table=np.int32, key=np.uint64,
                                                                         fp=np.uint64, doc=np.int64))
    joined = keyed.shuffle(on=["table", "key"], npartitions=join_parts).map_partitions(
        _join_partition, masks, k, meta=links_meta())
    links = persist(dd.concat([stars, joined]))
    return links, int(links.map_partitions(len, meta=(None, "int64")).sum().compute())


# -- on the workers -----------------------------------------------------------------------


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
