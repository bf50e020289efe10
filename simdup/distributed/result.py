"""DaskDedupResult: what :func:`simdup.dask.dedup` returns, its tables on the workers, and the kept documents."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import dask
import dask.bag as db
import dask.dataframe as dd
import numpy as np
import numpy.typing as npt
import pandas as pd
from dask.delayed import Delayed, delayed

from ..batch import DedupResult, Pairs
from ..clustering import REASONS, Evidence
from .keys import ROW_MASK, empty_frame, links_meta, positions
from .partitions import Collection


@dataclass
class DaskDedupResult:
    """Outcome of :func:`simdup.dask.dedup`: tables on the workers, and a summary.

    Positions are 0-based document numbers in input order (partition by
    partition), the indices :func:`simdup.dedup` would use.

    Attributes
    ----------
    documents : dask DataFrame
        One row per input document, partitioned as the input: ``position``,
        ``fingerprint`` (uint64), ``n_tokens``.
    clusters : dask DataFrame
        One row per document in a cluster of two or more (a reference
        document counts), by position: ``position``, ``label`` (position of
        the cluster's first document, as :attr:`DedupResult.labels`),
        ``cluster`` (clusters numbered 0, 1, ... in order of their first
        document), ``kept_position`` (-1: the cluster is kept in the
        reference), ``distance`` (bits from the kept document's
        fingerprint, -1 for a cluster kept in the reference), and the
        evidence, as :attr:`DedupResult.evidence`: ``matched_position``
        (the document whose link put this one in the cluster, -1 for none),
        ``match_distance`` (-1 for none), ``match_jaccard`` (NaN when not
        verified), ``reason`` (a name of :data:`simdup.clustering.REASONS`);
        ``kept_reference`` and ``matched_reference`` (with ``against``: the
        reference document kept, and the one matched for reason
        "reference", as positions among the reference documents or index
        ids; 0 elsewhere); and with an ``id_column``, ``id``, ``kept_id``
        and ``matched_id`` (a reference document's id when the reference
        has them, else None).
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
        evidence = Evidence(np.full(n, -1, np.int64), np.full(n, -1, np.int32), np.full(n, np.nan),
                            np.zeros(n, np.uint8))
        evidence.match[position] = members["matched_position"].to_numpy(np.int64)
        evidence.distance[position] = members["match_distance"].to_numpy(np.int32)
        evidence.jaccard[position] = members["match_jaccard"].to_numpy(np.float64)
        evidence.reason[position] = pd.Categorical(members["reason"], categories=REASONS).codes
        reference = self.summary.get("reference")
        kept_reference = None
        if reference is not None:
            kept_reference = np.zeros(n, np.uint64)
            kept_reference[position] = members["kept_reference"].to_numpy(np.uint64)
            matched = np.zeros(n, np.uint64)
            matched[position] = members["matched_reference"].to_numpy(np.uint64)
            evidence = evidence._replace(reference=matched)
            reference = {key: reference[key] for key in ("kind", "documents", "k", "verified")}
        return DedupResult(fps, docs["n_tokens"].to_numpy(np.int64), labels, representative,
                           representative == np.arange(n), distance, pairs, jaccard,
                           dict(self.summary["timings"]), evidence, kept_reference, reference)


def dask_dedup_result(collection: Collection, docs: dd.DataFrame, links: dd.DataFrame, verified: bool,
                      clusters: dd.DataFrame, removed: dd.DataFrame, offsets: npt.NDArray[np.int64],
                      summary: dict[str, Any]) -> DaskDedupResult:
    """The result, its tables by position (the pipeline's are by document key)."""
    documents = docs.map_partitions(_public_documents, offsets,
                                    meta=empty_frame(position=np.int64, fingerprint=np.uint64, n_tokens=np.int64))
    public_links = links.map_partitions(_public_links, offsets, verified, meta=links_meta(jaccard=verified))
    return DaskDedupResult(documents, clusters, public_links, summary, collection, removed, offsets)


# -- on the workers -----------------------------------------------------------------------


def _public_documents(part: pd.DataFrame, offsets: npt.NDArray[np.int64]) -> pd.DataFrame:
    return pd.DataFrame({"position": positions(part["doc"].to_numpy(np.int64), offsets),
                         "fingerprint": part["fp"].to_numpy(np.uint64),
                         "n_tokens": part["n_tokens"].to_numpy(np.int64)})


def _public_links(part: pd.DataFrame, offsets: npt.NDArray[np.int64], with_jaccard: bool) -> pd.DataFrame:
    out = {"i": positions(part["i"].to_numpy(np.int64), offsets),
           "j": positions(part["j"].to_numpy(np.int64), offsets),
           "distance": part["distance"].to_numpy(np.uint8)}
    if with_jaccard:
        out["jaccard"] = part["jaccard"].to_numpy(np.float64)
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
